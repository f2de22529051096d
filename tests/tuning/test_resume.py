"""A study killed with SIGKILL at random points resumes to exactly the trials asked for."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from lightsaber.tuning.store import StudyStore

REPO = Path(__file__).resolve().parents[2]
ROLE_TAG = "lightsaber.role"


def _finished(db: Path) -> int:
    """Trials whose outcome is recorded (read with sqlite directly: cheap enough to poll)."""
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute(
                "SELECT count(*) FROM runs JOIN tags USING (run_uuid) WHERE tags.key = ? AND "
                "tags.value = 'trial' AND runs.status IN ('FINISHED', 'FAILED')",
                (ROLE_TAG,)).fetchone()[0]
    except sqlite3.OperationalError:  # schema not there yet, or locked for a moment
        return 0


def _start(uri: str, out: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with log.open("ab") as sink:
        return subprocess.Popen([sys.executable, "-m", "tests.tuning.run_study", uri, "killed",
                                 str(out)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                stderr=sink)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def _snapshot(store: StudyStore, parent: str) -> dict[str, dict]:
    finished, _ = store.load_trials(parent, "auc_roc", _space())
    return {o.run_id: {"vals": o.vals, "metrics": o.metrics, "number": o.number}
            for o in finished}


def _space():
    from lightsaber.tuning import space_from_dict
    from tests.tuning.helpers import SPACE

    return space_from_dict(SPACE)


def test_sigkill_then_resume_finishes_exactly_the_trials_asked(store: Path) -> None:
    db = store / "mlflow.db"
    uri = f"sqlite:///{db}"
    out = store / "result.json"
    log = store / "study.log"
    kill_points = sorted(np.random.default_rng(2024).choice(np.arange(2, 18), 3,
                                                             replace=False).tolist())
    seen: dict[str, dict] = {}
    for point in kill_points:
        process = _start(uri, out, log)
        deadline = time.monotonic() + 120
        while _finished(db) < point and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, _tail(log)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        study = StudyStore("resume", uri)
        parent = study.find_parent("killed")
        assert parent is not None
        snapshot = _snapshot(study, parent)
        assert len(snapshot) >= point
        for run_id, before in seen.items():  # every earlier finished trial kept as it was
            assert snapshot[run_id] == before
        seen = snapshot
    assert not out.exists()

    process = _start(uri, out, log)
    assert process.wait(timeout=300) == 0, _tail(log)
    result = json.loads(out.read_text())
    study = StudyStore("resume", uri)
    final = _snapshot(study, result["run_id"])
    assert result["n"] == 20 and len(final) == 20
    assert sorted(o["number"] for o in final.values()) == list(range(20))
    configs = [json.dumps(o["vals"], sort_keys=True) for o in final.values()]
    assert len(set(configs)) == 20
    for run_id, before in seen.items():
        assert final[run_id] == before
    assert all(np.isfinite(o["metrics"]["val_auc_roc"]) for o in final.values())
    # one parent run, every trial run closed
    runs = study.client.search_runs([study.experiment_id])
    assert all(r.info.status != "RUNNING" for r in runs)
    assert sum(r.data.tags.get("lightsaber.role") == "study" for r in runs) == 1
