"""``mlflow models serve`` on a lightsaber model: answers like the in-process pipeline, and its
error responses and log hold column names and dtypes, never patient ids or values."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import lightsaber as ls
from lightsaber.tracking.model_registry import register_best
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


def _post_raw(url: str, body: str, content_type: str = "application/json") -> tuple[int, str]:
    """Status and body text of a POST, error statuses included."""
    request = urllib.request.Request(url, data=body.encode(), method="POST",
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@contextmanager
def _served(store: Path, store_uri: str, model_uri: str) -> Iterator[tuple[str, Path]]:
    """``mlflow models serve --env-manager local`` on ``model_uri``: (base url, log file).

    The log holds the server's stdout and stderr; it is complete once the block has ended.
    """
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
            [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri,
             "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
            cwd=store, env=env, stdout=sink, stderr=sink, stdin=subprocess.DEVNULL,
            start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None \
                and not _get(f"{url}/ping"):
            time.sleep(0.5)
        assert _get(f"{url}/ping"), log.read_text(errors="replace")[-3000:]
        yield url, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=20)
    assert process.poll() is not None


def _split_body(frame: pd.DataFrame) -> str:
    return json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split", index=False))})


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

    with _served(store, store_uri, "models:/served/1") as (url, _):
        answer = _post(f"{url}/invocations", _split_body(frame))
        served = np.array([row["probability"] for row in answer["predictions"]])
        assert served.shape == expected.shape
        np.testing.assert_allclose(served, expected, rtol=0, atol=1e-6)
        # one patient at a time works too (the long format: all rows of that patient)
        one = frame[frame["patient_id"] == test.ids[0]]
        single = _post(f"{url}/invocations", _split_body(one))["predictions"]
        assert len(single) == 1
        assert abs(single[0]["probability"] - expected[0]) < 1e-6


#: Recognisable values of the privacy test: none may come back in a response or the log.
SECRET_AGE = 123.456789
SECRET_TEXT = "SECRET-VALUE-42"
SECRET_EXTRA = 7.7777771


def _distinctive_cohort() -> ls.Cohort:
    """The sample cohort with ids ``PATIENT-ZX81-0000``... and ages of 123.456789."""
    base = ls.datasets.load_sample_mortality(n_patients=300)
    ids = {old: f"PATIENT-ZX81-{i:04d}" for i, old in enumerate(base.ids)}
    static = base.static.copy()
    static.insert(0, "patient_id", [ids[i] for i in base.ids])
    static.loc[::3, "age"] = SECRET_AGE
    static["died"] = base.targets[base.label].to_numpy()
    long = base.longitudinal.copy()
    long["patient_id"] = long["patient_id"].map(ids)
    return ls.Cohort(static, id="patient_id", label="died", longitudinal=long, time="hour")


@pytest.mark.slow
def test_served_errors_name_columns_and_never_echo_ids_or_values(store_uri, store):
    cohort = _distinctive_cohort()
    splits = cohort.split(val=0.2, test=0.2, stratify="label", seed=0)
    run = ls.fit(LogisticRegression(max_iter=500), cohort, splits, experiment="private",
                 tracking_uri=store_uri, progress=False)
    frame = run.pipeline.input_frame(cohort.subset(splits.test[:6]))
    assert (frame["age"] == SECRET_AGE).any() and frame["patient_id"].str.contains("ZX81").all()
    good = _split_body(frame)
    bad = {  # name: (body, content type, what the answer must name)
        "missing column": (_split_body(frame.drop(columns=["age"])), "application/json",
                           ["'age'"]),
        "mistyped column": (_split_body(frame.assign(bmi=SECRET_TEXT)), "application/json",
                            ["'bmi'", "numeric"]),
        "malformed JSON": (good[:-30], "application/json", ["not valid JSON"]),
        "missing and mistyped, records": (
            json.dumps({"dataframe_records": json.loads(
                frame.drop(columns=["sex"]).assign(heart_rate=SECRET_TEXT)
                .to_json(orient="records"))}),
            "application/json", ["'sex'", "'heart_rate'"]),
        "integer column with a missing value": (
            _split_body(frame.assign(n_comorbidities=[None] + [1] * (len(frame) - 1))),
            "application/json", ["'n_comorbidities'", "long"]),
        "mistyped column, CSV": (frame.assign(age=SECRET_TEXT).to_csv(index=False), "text/csv",
                                 ["'age'"]),
        "not a table": (json.dumps({"dataframe_split": {"data": json.loads(good)[
            "dataframe_split"]["data"], "columns": ["patient_id"]}}), "application/json",
                        ["'dataframe_split'"]),
    }
    bodies = {}
    with _served(store, store_uri, f"runs:/{run.run_id}/model") as (url, log):
        for name, (body, content_type, named) in bad.items():
            status, text = _post_raw(f"{url}/invocations", body, content_type)
            assert status == 400, (name, status, text[:300])
            for column in named:
                assert column in json.loads(text)["message"], (name, text[:500])
            bodies[name] = text
        # extra columns are ignored; the answer holds predictions only
        status, text = _post_raw(f"{url}/invocations",
                                 _split_body(frame.assign(extra=SECRET_EXTRA)))
        assert status == 200 and len(json.loads(text)["predictions"]) == 6
        bodies["extra column"] = text
        status, text = _post_raw(f"{url}/invocations", good)  # the server is still fine
        assert status == 200
    needles = [*pd.unique(frame["patient_id"]), "ZX81", f"{SECRET_AGE}", SECRET_TEXT,
               f"{SECRET_EXTRA}"]
    server_log = log.read_text(errors="replace")
    assert "Uvicorn running" in server_log or "Application startup" in server_log, server_log
    leaks = [(where, needle) for where, text in [*bodies.items(), ("server log", server_log)]
             for needle in needles if needle in text]
    assert leaks == []
