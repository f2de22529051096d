"""Against a real `mlflow server` on 127.0.0.1: log through tracked_run, read back over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightsaber.tracking import tracked_run


@pytest.mark.slow
def test_run_logged_to_a_server_reads_back_over_http(mlflow_server, tmp_path, monkeypatch):
    from mlflow import MlflowClient

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    manifest = {"splits": {"train": {"n_patients": 70, "ids_sha256": "ab" * 32},
                           "test": {"n_patients": 30, "ids_sha256": "cd" * 32}}}
    with tracked_run("server", tracking_uri=mlflow_server, run_name="over-http",
                     tags={"task": "classification"}) as run:
        run.log_params({"model": {"hidden": (8, 8)}, "lr": 0.01})
        for epoch in range(5):
            run.log_metrics({"train_loss": 1.0 / (epoch + 1)}, step=epoch)
        run.log_split_metrics({"test": {"auc_roc": 0.75}})
        run.log_manifest(manifest)
        run.log_config({"experiment": "server"})
        run.log_environment()
    assert run.artifact_uri.startswith("mlflow-artifacts:/")

    client = MlflowClient(tracking_uri=mlflow_server)
    logged = client.get_run(run.run_id)
    assert logged.info.status == "FINISHED" and logged.info.run_name == "over-http"
    assert logged.data.tags["task"] == "classification"
    assert logged.data.params["model.hidden"] == "(8, 8)"
    assert logged.data.params["split.train.n_patients"] == "70"
    assert logged.data.metrics["test_auc_roc"] == 0.75
    history = client.get_metric_history(run.run_id, "train_loss")
    assert [m.step for m in history] == list(range(5))
    names = {a.path for a in client.list_artifacts(run.run_id)}
    assert names == {"split_manifest.json", "config.json", "environment.json"}
    local = client.download_artifacts(run.run_id, "split_manifest.json", str(tmp_path))
    assert json.loads(Path(local).read_text()) == manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["split_manifest.json"]  # no local store


@pytest.mark.slow
def test_failed_run_on_a_server_is_failed(mlflow_server):
    from mlflow import MlflowClient

    with pytest.raises(RuntimeError), tracked_run("server", tracking_uri=mlflow_server) as run:
        raise RuntimeError("diverged")
    logged = MlflowClient(tracking_uri=mlflow_server).get_run(run.run_id)
    assert logged.info.status == "FAILED"
    assert logged.data.tags["error_message"] == "diverged"
