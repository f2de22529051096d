"""load_pipeline: a run that logged no model is a clear RegistryError, without temporary paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.linear_model import LogisticRegression

import lightsaber as ls
from lightsaber.exceptions import RegistryError
from lightsaber.serving import load_pipeline


def test_a_run_without_a_model_is_named_and_no_temporary_path_is_shown(tmp_path: Path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cohort = ls.datasets.load_sample_mortality(n_patients=200)
    splits = cohort.split(val=0.2, test=0.2, stratify="label", seed=0)
    run = ls.fit(LogisticRegression(max_iter=500), cohort, splits, experiment="load",
                 tracking_uri=uri, log_model=False, progress=False)
    with pytest.raises(RegistryError, match="holds no logged model") as info:
        load_pipeline(run.run_id, tracking_uri=uri)
    assert "/tmp" not in str(info.value) and "tmp" not in str(info.value).split(run.run_id)[-1]
    logged = ls.fit(LogisticRegression(max_iter=500), cohort, splits, experiment="load",
                    tracking_uri=uri, progress=False)
    assert load_pipeline(logged.run_id, tracking_uri=uri).task == "classification"
    with pytest.raises(RegistryError, match="holds no logged model"):
        load_pipeline(str(tmp_path), tracking_uri=uri)  # a folder that is not a model
