"""Against a real `mlflow server` on 127.0.0.1: train, then read the run back over HTTP."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import lightsaber as ls
from lightsaber.models import MLP, SurvivalNet


@pytest.mark.slow
def test_fit_against_a_real_tracking_server(mlflow_server, tmp_path, monkeypatch):
    import mlflow.pyfunc
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    cohort = ls.datasets.load_sample_mortality()
    splits = cohort.split(val=0.15, test=0.15, stratify="label", seed=7)
    client = MlflowClient(tracking_uri=mlflow_server)
    for model in (LogisticRegression(max_iter=2000), SurvivalNet(MLP, max_epochs=5)):
        run = ls.fit(model, cohort, splits, tracking_uri=mlflow_server, experiment="server",
                     progress=False)
        logged = client.get_run(run.run_id)
        assert logged.info.status == "FINISHED"
        for split, values in run.metrics.items():
            for name, value in values.items():
                assert logged.data.metrics[f"{split}_{name}"] == pytest.approx(value)
        artifacts = {a.path for a in client.list_artifacts(run.run_id)}
        assert {"model", "split_manifest.json", "config.json", "environment.json"} <= artifacts
        monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
        loaded = mlflow.pyfunc.load_model(f"runs:/{run.run_id}/model")
        monkeypatch.delenv("MLFLOW_TRACKING_URI")
        test = cohort.subset(splits.test[:10])
        served = loaded.predict(run.pipeline.input_frame(test))
        np.testing.assert_allclose(served.iloc[:, 0].to_numpy(), run.pipeline.predict(test),
                                   rtol=1e-6)
        assert np.isfinite(served.to_numpy()).all()
    assert not (tmp_path / "mlflow.db").exists(), "the server run wrote to the local store"
