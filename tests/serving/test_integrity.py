"""Model integrity: a logged model whose files changed after logging is refused before unpickling.

``ls.fit`` records the sha256 of every file of ``model/`` in the run tag
``lightsaber.model_digests``; ``load_pipeline`` (run id, ``runs:/``, ``models:/``) and
``lightsaber predict`` check them before MLflow unpickles ``python_model.pkl``. See
``docs/security.md``.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from sklearn.linear_model import LogisticRegression

import lightsaber as ls
from lightsaber.exceptions import ModelIntegrityError, TrackingError, UnverifiedModelWarning
from lightsaber.serving import load_pipeline
from lightsaber.tracking.client import tracking_client
from lightsaber.tracking.integrity import digests_tag, model_digests
from lightsaber.tracking.model_registry import register_run
from lightsaber.tracking.tags import MODEL_DIGESTS


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """One logged, registered model; each test restores whatever it tampers with."""
    tmp = tmp_path_factory.mktemp("integrity")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    cohort = ls.datasets.load_sample_mortality(n_patients=200)
    splits = cohort.split(val=0.2, test=0.2, stratify="label", seed=0)
    old = Path.cwd()
    os.chdir(tmp)  # wherever the store puts its artifacts, keep them in tmp
    try:
        run = ls.fit(LogisticRegression(max_iter=500), cohort, splits, experiment="integrity",
                     tracking_uri=uri, log_model=True, progress=False)
        register_run(run.run_id, "integrity", tracking_uri=uri, alias="champion")
        client, _ = tracking_client(uri)
        artifact_uri = client.get_run(run.run_id).info.artifact_uri
    finally:
        os.chdir(old)
    parsed = urlparse(artifact_uri)
    root = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(artifact_uri)
    if not root.is_absolute():
        root = tmp / root
    model = root / "model"
    assert (model / "python_model.pkl").is_file()
    data = tmp / "in.csv"
    run.pipeline.input_frame(cohort).head(20).to_csv(data, index=False)
    return {"uri": uri, "run_id": run.run_id, "model": model, "tmp": tmp, "data": data,
            "client": client}


@pytest.fixture
def restore(logged):
    """Put the logged model folder back as it was after the test."""
    backup = logged["tmp"] / "backup"
    shutil.copytree(logged["model"], backup)
    yield logged["model"]
    shutil.rmtree(logged["model"])
    shutil.copytree(backup, logged["model"])
    shutil.rmtree(backup)


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


class _Payload:
    """Unpickling this writes a marker file: proof that the pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return Path.write_text, (self.marker, "the pickle ran")


def test_the_run_records_every_model_file_and_the_untouched_model_loads(logged):
    tag = logged["client"].get_run(logged["run_id"]).data.tags[MODEL_DIGESTS]
    record = json.loads(tag)
    assert tag == json.dumps(record, separators=(",", ":"), sort_keys=True)  # compact
    assert record == {"sha256": model_digests(logged["model"])}
    assert {"MLmodel", "python_model.pkl"} <= set(record["sha256"])
    for source in (logged["run_id"], f"runs:/{logged['run_id']}/model", "models:/integrity/1",
                   "models:/integrity@champion"):
        pipeline = load_pipeline(source, tracking_uri=logged["uri"])  # no warning (-W error)
        assert pipeline.task == "classification"


@pytest.mark.parametrize(("change", "file", "what"), [
    ("flip", "python_model.pkl", "was changed"),
    ("flip", "MLmodel", "was changed"),
    ("add", "sitecustomize.py", "was added"),
    ("remove", "python_env.yaml", "is missing"),
])
def test_a_changed_model_file_is_refused_naming_it(logged, restore, change, file, what):
    path = restore / file
    if change == "flip":
        _flip_one_byte(path)
    elif change == "add":
        path.write_text("import os\n")
    else:
        path.unlink()
    for source in (logged["run_id"], "models:/integrity/1"):
        with pytest.raises(ModelIntegrityError, match=f"'{file}' {what}") as info:
            load_pipeline(source, tracking_uri=logged["uri"])
        assert logged["run_id"] in str(info.value)


def test_a_malicious_pickle_never_runs(logged, restore):
    marker = logged["tmp"] / "pwned"
    payload = pickle.dumps(_Payload(marker))
    pickle.loads(payload)  # the payload is live: unpickling it does write the marker
    assert marker.exists()
    marker.unlink()
    (restore / "python_model.pkl").write_bytes(payload)
    for source in (logged["run_id"], "models:/integrity@champion"):
        with pytest.raises(ModelIntegrityError, match="'python_model.pkl' was changed"):
            load_pipeline(source, tracking_uri=logged["uri"])
    out = logged["tmp"] / "preds.csv"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, "-m", "lightsaber", "predict", "--model",
         f"runs:/{logged['run_id']}/model", "--data", str(logged["data"]), "--out", str(out),
         "--tracking-uri", logged["uri"]],
        capture_output=True, text=True, timeout=120, env=env, cwd=logged["tmp"])
    assert done.returncode != 0, done.stderr  # the CLI reports it as a failed run (exit 1)
    assert "python_model.pkl" in done.stderr and "changed after it was logged" in done.stderr
    assert not marker.exists() and not out.exists()


def test_the_cli_predicts_with_the_untouched_model(logged):
    from lightsaber.cli import main

    out = logged["tmp"] / "ok.csv"
    assert main(["predict", "--model", "models:/integrity/1", "--data", str(logged["data"]),
                 "--out", str(out), "--tracking-uri", logged["uri"]]) == 0
    assert out.is_file()


def test_models_that_cannot_be_verified_load_with_a_warning(logged, tmp_path):
    client, run_id = logged["client"], logged["run_id"]
    tag = client.get_run(run_id).data.tags[MODEL_DIGESTS]
    client.delete_tag(run_id, MODEL_DIGESTS)  # as a run logged before digests were recorded
    try:
        with pytest.warns(UnverifiedModelWarning, match="without model digests"):
            load_pipeline(run_id, tracking_uri=logged["uri"])
    finally:
        client.set_tag(run_id, MODEL_DIGESTS, tag)
    local = tmp_path / "model"
    shutil.copytree(logged["model"], local)
    with pytest.warns(UnverifiedModelWarning, match="local folder"):
        assert load_pipeline(str(local)).task == "classification"


def test_an_altered_digest_tag_is_refused(logged):
    client, run_id = logged["client"], logged["run_id"]
    tag = client.get_run(run_id).data.tags[MODEL_DIGESTS]
    client.set_tag(run_id, MODEL_DIGESTS, "not json")
    try:
        with pytest.raises(ModelIntegrityError, match="not a digest record"):
            load_pipeline(run_id, tracking_uri=logged["uri"])
    finally:
        client.set_tag(run_id, MODEL_DIGESTS, tag)


def test_too_many_files_fail_loudly_instead_of_truncating():
    digests = {f"file_{i:03d}.bin": "0" * 64 for i in range(100)}
    with pytest.raises(TrackingError, match="never truncated"):
        digests_tag(digests)
    assert len(digests_tag(dict(list(digests.items())[:10]))) < 1000
