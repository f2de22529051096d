"""``mlflow models serve`` on a registered lightsaber model answers like the in-process pipeline."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import lightsaber as ls
from lightsaber.registry import register_best
from tests.mlflow_fixtures import _free_port

START_TIMEOUT_S = 240.0


def _get(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _post(url: str, body: str) -> dict:
    request = urllib.request.Request(url, data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return json.loads(response.read())


@pytest.mark.slow
def test_registered_model_served_by_mlflow_matches_in_process(store_uri, store):
    cohort = ls.datasets.load_sample_mortality(n_patients=300)
    splits = cohort.split(val=0.2, test=0.2, stratify="label", seed=0)
    run = ls.fit(LogisticRegression(max_iter=500), cohort, splits, experiment="serve",
                 tracking_uri=store_uri, progress=False)
    info = register_best("served", experiment="serve", metric="auc_roc",
                         tracking_uri=store_uri)
    assert info.uri == "models:/served/1" and info.run_id == run.run_id

    test = cohort.subset(splits.test)
    frame = run.pipeline.input_frame(test)
    expected = run.pipeline.predict_frame(frame)["probability"].to_numpy()

    log = store / "serve.log"
    # mlflow starts `uvicorn` by name: the environment's bin folder goes first on PATH, as
    # with an activated virtual environment
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, "MLFLOW_TRACKING_URI": store_uri,
           "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/served/1",
             "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
            cwd=store, env=env, stdout=sink, stderr=sink, stdin=subprocess.DEVNULL,
            start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None \
                and not _get(f"{url}/ping"):
            time.sleep(0.5)
        assert _get(f"{url}/ping"), log.read_text(errors="replace")[-3000:]
        body = json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split",
                                                                       index=False))})
        answer = _post(f"{url}/invocations", body)
        served = np.array([row["probability"] for row in answer["predictions"]])
        assert served.shape == expected.shape
        np.testing.assert_allclose(served, expected, rtol=0, atol=1e-6)
        # one patient at a time works too (the long format: all rows of that patient)
        one = frame[frame["patient_id"] == test.ids[0]]
        body = json.dumps({"dataframe_split": json.loads(one.to_json(orient="split",
                                                                     index=False))})
        single = _post(f"{url}/invocations", body)["predictions"]
        assert len(single) == 1
        assert abs(single[0]["probability"] - expected[0]) < 1e-6
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=20)
    assert process.poll() is not None
