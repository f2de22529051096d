"""Faults: signals during a checkpoint write, a full disk, and a tracking server that dies."""

from __future__ import annotations

import errno
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from skorch.callbacks import Callback
from sksurv.util import Surv

import lightsaber as ls
from lightsaber.exceptions import CheckpointError, PredictionError, TrackingError
from lightsaber.models import MLP, SurvivalNet
from lightsaber.models.skorch.checkpoint import load_weights, restore_checkpoint
from lightsaber.serving import predict_file
from tests.mlflow_fixtures import _free_port, _healthy, _stop, server_command
from tests.reliability.conftest import make_frames, run_statuses

REPO = Path(__file__).resolve().parents[2]


def _xy(n: int = 120, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype("float32")
    y = Surv.from_arrays(rng.random(n) < 0.7, rng.exponential(np.exp(-X[:, 0])))
    return X, y


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


# --------------------------------------------------------------------------- checkpoints
@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
@pytest.mark.parametrize("variant", ["atomic", "plain"])
def test_signal_during_a_checkpoint_write_never_leaves_a_partial_checkpoint(
        tmp_path: Path, sig: signal.Signals, variant: str):
    """Kill the trainer half way through writing weights; the weights file stays loadable.

    ``plain`` is skorch's in-place ``Checkpoint``: it leaves a truncated file, which
    :func:`load_weights` refuses (so a partial checkpoint is never loaded either way), and
    which shows this test can tell an atomic write from an in-place one.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    log = tmp_path / "child.log"
    with log.open("wb") as sink:
        child = subprocess.Popen([sys.executable, "-m", "tests.reliability.checkpoint_child",
                                  str(tmp_path), variant], cwd=REPO, env=env, stdout=sink,
                                 stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "writing").exists():
            assert child.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "the child never reached its second write"
            time.sleep(0.05)
        child.send_signal(sig)
        assert child.wait(timeout=30) == -sig
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    weights = tmp_path / "checkpoint" / "params.pt"
    if variant == "plain":
        with pytest.raises(CheckpointError, match="could not read weights"):
            load_weights(weights)
        return
    state = load_weights(weights)  # the first, complete checkpoint
    assert state and all(torch.isfinite(v).all() for v in state.values())
    leftovers = [p.name for p in weights.parent.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) <= 1  # the interrupted temporary file; never read by anything


def test_truncated_or_foreign_weights_are_refused(tmp_path: Path):
    path = tmp_path / "params.pt"
    torch.save({"w": torch.arange(100.0)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated") as info:
        load_weights(path)
    assert info.value.__cause__ is not None
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_weights(tmp_path / "missing.pt")


class _Payload:
    """Unpickling this runs code: what an attacker would put into a weights file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_weights_loading_runs_no_code_from_the_file(tmp_path: Path):
    marker = tmp_path / "pwned"
    path = tmp_path / "params.pt"
    torch.save({"w": torch.ones(1), "x": _Payload(marker)}, path)
    with pytest.raises(CheckpointError, match="refused for safety"):
        load_weights(path)
    assert not marker.exists()
    # skorch's own loader (used by net.load_params) is safe by default too.
    net = SurvivalNet(MLP, module__hidden=(2,), max_epochs=1)
    assert net.torch_load_kwargs is None  # skorch then passes weights_only=True
    with open(path, "wb") as f:
        pickle.dump(_Payload(marker), f, protocol=2)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    assert not marker.exists()


def test_disk_full_while_checkpointing_is_a_clear_error(tmp_path: Path, monkeypatch):
    X, y = _xy()
    folder = tmp_path / "ckpt"
    net = SurvivalNet(MLP, module__hidden=(4,), max_epochs=2, checkpoint_dir=str(folder))
    net.fit(X[:80], y[:80], val=(X[80:], y[80:]))
    before = (folder / "params.pt").read_bytes()
    monkeypatch.setattr(torch, "save", _enospc)
    with pytest.raises(CheckpointError) as info:
        net.fit(X[:80], y[:80], val=(X[80:], y[80:]))
    message = str(info.value)
    assert "No space left on device" in message and str(folder / "params.pt") in message
    assert any(str(folder) in note for note in info.value.__notes__)
    assert isinstance(info.value, OSError) and info.value.__cause__.errno == errno.ENOSPC
    assert (folder / "params.pt").read_bytes() == before  # previous checkpoint untouched
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.undo()
    restored = restore_checkpoint(net.fit(X[:80], y[:80], val=(X[80:], y[80:])), folder)
    assert restored.predict(X[:3]).shape == (3,)


def test_disk_full_while_logging_artifacts_fails_the_run_clearly(store: Path, store_uri: str,
                                                                 monkeypatch):
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

    static, targets, _ = make_frames()
    cohort = ls.Cohort(static, targets, id="pid", label="label")
    splits = cohort.split(val=0.25, test=0.25, seed=0)
    monkeypatch.setattr(LocalArtifactRepository, "log_artifact", _enospc)
    with pytest.raises(TrackingError) as info:
        ls.fit(LogisticRegression(), cohort, splits, tracking_uri=store_uri, log_model=False)
    assert "No space left on device" in str(info.value)
    assert "split_manifest.json" in str(info.value)  # the first artifact: names what failed
    assert run_statuses(store / "mlflow.db") == ["FAILED"]


def test_disk_full_while_writing_predictions_leaves_no_file(tmp_path: Path, monkeypatch):
    static, targets, _ = make_frames()
    cohort = ls.Cohort(static, targets, id="pid", label="label")
    run = ls.fit(LogisticRegression(), cohort, cohort.split(seed=0), track=False)
    frame = run.pipeline.input_frame(cohort)
    monkeypatch.setattr(pd.DataFrame, "to_csv", _enospc)
    out = tmp_path / "predictions.csv"
    with pytest.raises(PredictionError, match="No space left on device") as info:
        predict_file(run.pipeline, frame, out)
    assert str(out) in str(info.value)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- tracking server
class _KillServer(Callback):
    """Kill the server's process group at the end of epoch ``at``, then let a flush come due."""

    def __init__(self, pgid: int, at: int = 2) -> None:
        self.pgid = pgid
        self.at = at

    def on_epoch_end(self, net, **kwargs) -> None:
        if len(net.history) == self.at:
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            time.sleep(1.2)  # past FLUSH_SECONDS: the next epoch's metrics are sent at once


@pytest.fixture
def private_server(tmp_path: Path):
    """A server of our own (the session's shared one must survive): yields (url, process)."""
    root = tmp_path / "server"
    root.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true",
               MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with (root / "server.log").open("ab") as sink:
        process = subprocess.Popen(server_command(port, root), cwd=root, env=env, stdout=sink,
                                   stderr=sink, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None and not _healthy(url):
        time.sleep(0.25)
    if not _healthy(url):
        _stop(process)
        pytest.fail(f"private mlflow server did not start: {(root / 'server.log').read_text()}")
    try:
        yield url, process
    finally:
        _stop(process)


@pytest.mark.slow
def test_tracking_server_dying_mid_training_fails_clearly_and_keeps_the_checkpoint(
        private_server, tmp_path: Path, monkeypatch):
    url, process = private_server
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    static, targets, _ = make_frames(n=200)
    cohort = ls.Cohort(static, targets, id="pid", duration="days", event="died")
    splits = cohort.split(val=0.25, test=0.25, seed=0)
    folder = tmp_path / "checkpoint"
    net = SurvivalNet(MLP, module__hidden=(8,), max_epochs=50, early_stopping=None,
                      checkpoint_dir=str(folder), callbacks=[("kill", _KillServer(process.pid))])
    start = time.monotonic()
    with pytest.raises(TrackingError) as info:
        ls.fit(net, cohort, splits, tracking_uri=url, experiment="dies", progress=False)
    elapsed = time.monotonic() - start
    assert process.wait(timeout=10) is not None
    assert elapsed < 60, f"gave up only after {elapsed:.0f} s"  # bounded retries
    assert url in str(info.value)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert str(folder) in notes  # where the local checkpoint is
    assert "not closed cleanly" in notes  # and that the run could not be marked FAILED
    state = load_weights(folder / "params.pt")
    assert state


# --------------------------------------------------------------------------- studies
@pytest.mark.slow
def test_sigterm_during_a_study_then_resume_finishes_it(store: Path):
    """SIGTERM (what a scheduler sends first) mid-study; the rerun resumes to 20 trials.

    The SIGKILL case, at several random points, is ``tests/tuning/test_resume.py``.
    """
    pytest.importorskip("lightsaber.tuning")
    from tests.tuning.test_resume import _finished, _start, _tail

    db = store / "mlflow.db"
    uri = f"sqlite:///{db}"
    out, log = store / "result.json", store / "study.log"
    process = _start(uri, out, log)
    deadline = time.monotonic() + 180
    while _finished(db) < 4 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, _tail(log)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == -signal.SIGTERM
    assert not out.exists()
    process = _start(uri, out, log)
    assert process.wait(timeout=300) == 0, _tail(log)
    import json

    result = json.loads(out.read_text())
    assert result["n"] == 20
    assert "RUNNING" not in run_statuses(db)
