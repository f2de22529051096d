"""Four processes fitting at once into one tracking store: every run completes, no lock errors.

sqlite serialises writers with a file lock; a writer that finds it taken waits up to the
connection's busy timeout (Python's ``sqlite3`` default, 5 s, which MLflow keeps) before
``database is locked``. lightsaber sends per-epoch metrics in batches at most once per second
per run (``TrackedRun.log_metrics``), so each process holds the lock for milliseconds at a time
and four trainers stay far below that timeout. Creating a *new* store is another matter:
MLflow creates and migrates the schema without a lock, so lightsaber holds an exclusive
``flock`` on the database folder while it opens a sqlite store. See ``docs/reliability.md``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.reliability._procs import start_child, wait_all
from tests.reliability.conftest import run_statuses

WORKERS = 4


def _run_workers(uri: str, experiment: str, folder: Path) -> list[dict]:
    logs = [folder / f"worker-{i}.log" for i in range(WORKERS)]
    outs = [folder / f"worker-{i}.json" for i in range(WORKERS)]
    children = [start_child(["concurrent", uri, experiment, str(i), str(outs[i])], logs[i])
                for i in range(WORKERS)]
    texts = wait_all(children, logs)
    for text in texts:
        assert "locked" not in text.lower() and "Traceback" not in text, text
    return [json.loads(out.read_text()) for out in outs]


def _check_complete(client, results: list[dict]) -> None:
    assert len({r["run_id"] for r in results}) == WORKERS
    for result in results:
        run = client.get_run(result["run_id"])
        assert run.info.status == "FINISHED"
        assert "test_c_index" in run.data.metrics
        history = client.get_metric_history(result["run_id"], "train_loss")
        assert sorted(m.step for m in history) == list(range(1, 26))  # every epoch arrived
        assert {a.path for a in client.list_artifacts(result["run_id"])} >= {
            "model", "split_manifest.json"}


@pytest.mark.slow
@pytest.mark.parametrize("fresh", [True, False], ids=["new-store", "existing-store"])
def test_four_processes_share_one_sqlite_store(tmp_path: Path, template_store: Path,
                                               fresh: bool):
    """``new-store``: the four also race to create the schema (see ``_sqlite_open_lock``)."""
    from mlflow import MlflowClient

    db = tmp_path / "mlflow.db"
    if not fresh:
        shutil.copyfile(template_store, db)
    uri = f"sqlite:///{db}"
    results = _run_workers(uri, "concurrent-sqlite", tmp_path)
    assert run_statuses(db) == ["FINISHED"] * WORKERS
    _check_complete(MlflowClient(tracking_uri=uri), results)


@pytest.mark.slow
def test_four_processes_share_one_mlflow_server(tmp_path: Path, mlflow_server: str):
    from mlflow import MlflowClient

    results = _run_workers(mlflow_server, f"concurrent-server-{tmp_path.name}", tmp_path)
    _check_complete(MlflowClient(tracking_uri=mlflow_server), results)
