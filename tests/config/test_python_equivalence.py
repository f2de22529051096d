"""The same experiment written in Python and in YAML gives the same metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

import lightsaber as ls
from lightsaber.cli import main
from lightsaber.config import load_config, prepare, run_fit
from lightsaber.models import MLP, SurvivalNet
from tests.config.conftest import write_config

WHAS = {"_target_": "lightsaber.data.datasets.load_sksurv", "name": "whas500"}


def test_deepsurv_python_and_yaml_agree(tmp_path):
    config = {
        "data": WHAS, "split": {"val": 0.2, "test": 0.2, "stratify": "event", "seed": 3},
        "model": {"_target_": "lightsaber.models.SurvivalNet",
                  "network": {"_target_": "lightsaber.models.MLP", "hidden": [8]},
                  "loss": "cox_efron"},
        "trainer": {"max_epochs": 3, "lr": 0.01, "batch_size": 64, "early_stopping": 2},
        "metrics": ["c_index", "ibs"], "seed": 5,
    }
    yaml_run = run_fit(prepare(load_config(write_config(tmp_path, config))), track=False,
                       progress=False)

    cohort = ls.datasets.load_sksurv("whas500")
    splits = cohort.split(val=0.2, test=0.2, stratify="event", seed=3)
    model = SurvivalNet(MLP, module__hidden=[8], loss="cox_efron", max_epochs=3, lr=0.01,
                        batch_size=64, random_state=5)
    py_run = ls.fit(model, cohort, splits, early_stopping=2, metrics=["c_index", "ibs"],
                    track=False, progress=False)
    assert yaml_run.metrics == py_run.metrics


def test_gradient_boosting_python_and_cli_agree(cohort_dir, capsys, static_frame, target_frame):
    config = {
        "data": {"static": "static.csv", "targets": "targets.csv", "id": "pid",
                 "label": "label"},
        "split": {"val": 0.25, "test": 0.25, "stratify": "label", "seed": 2},
        "model": {"_target_": "sklearn.ensemble.HistGradientBoostingClassifier",
                  "max_iter": 20, "min_samples_leaf": 3},
        "metrics": ["auc_roc", "brier"],
        "tracking": {"enabled": False},
    }
    path = write_config(cohort_dir, config)
    assert main(["fit", str(path), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "not tracked" in printed and not (cohort_dir / "mlflow.db").exists()
    yaml_run = run_fit(prepare(load_config(path)), progress=False)

    cohort = ls.Cohort(static_frame, target_frame, id="pid", label="label")
    splits = cohort.split(val=0.25, test=0.25, stratify="label", seed=2)
    model = HistGradientBoostingClassifier(max_iter=20, min_samples_leaf=3, random_state=0)
    py_run = ls.fit(model, cohort, splits, metrics=["auc_roc", "brier"], track=False)
    assert yaml_run.metrics == py_run.metrics
    assert f"auc_roc {py_run.metrics['test']['auc_roc']:.4f}" in printed


# cloglog recalibration of an already well calibrated Cox model makes the val IBS worse here
# (0.157 -> 0.167): ls.fit says so, and this test is about the horizons reaching the calibrator.
@pytest.mark.filterwarnings("ignore::lightsaber.exceptions.CalibrationWarning")
def test_survival_recalibration_at_configured_horizons(tmp_path):
    config = {
        "data": WHAS, "split": {"val": 0.2, "test": 0.2, "calibration": 0.2, "seed": 3},
        "model": {"_target_": "sksurv.linear_model.CoxPHSurvivalAnalysis", "alpha": 0.1},
        "trainer": {},
        "calibration": {"method": "cloglog", "horizons": [365.0, 730.0]},
        "metrics": ["c_index", "ibs"],
    }
    experiment = prepare(load_config(write_config(tmp_path, config)))
    assert experiment.fit_kwargs()["calibrate"].horizons == [365.0, 730.0]
    run = run_fit(experiment, track=False, progress=False)
    assert "uncalibrated_ibs" in run.metrics["test"]


def test_evaluation_times_and_label_coding_in_yaml(tmp_path):
    from lightsaber.exceptions import ConfigError

    config = {"data": WHAS, "split": {"seed": 3},
              "model": {"_target_": "sksurv.linear_model.CoxPHSurvivalAnalysis", "alpha": 0.1},
              "evaluation": {"times": [180.0, 365.0, 730.0]}, "metrics": ["ibs"]}
    experiment = prepare(load_config(write_config(tmp_path, config)))
    assert experiment.fit_kwargs()["times"] == [180.0, 365.0, 730.0]
    run = run_fit(experiment, track=False, progress=False)
    assert run.times.tolist() == [180.0, 365.0, 730.0]
    with pytest.raises(ConfigError, match="evaluation.times"):
        load_config(write_config(tmp_path, {**config, "evaluation": {"times": [365.0, 180.0]}}))
    sample = {"_target_": "lightsaber.data.datasets.load_sample_mortality", "n_patients": 200}
    with pytest.raises(ConfigError, match="evaluation.times"):
        prepare(load_config(write_config(tmp_path, {
            "data": sample, "model": {"_target_": "sklearn.linear_model.LogisticRegression"},
            "task": "classification", "evaluation": {"times": [1.0, 2.0]}})))
    frame = pd.DataFrame({"pid": range(60), "x": np.arange(60) % 7,
                          "outcome": np.where(np.arange(60) % 3 == 0, "died", "alive")})
    frame.to_csv(tmp_path / "cohort.csv", index=False)
    data = {"static": str(tmp_path / "cohort.csv"), "id": "pid", "label": "outcome"}
    model = {"_target_": "sklearn.linear_model.LogisticRegression"}
    with pytest.raises(ConfigError, match="holds text.*positive="):
        prepare(load_config(write_config(tmp_path, {"data": data, "model": model})))
    coded = prepare(load_config(write_config(tmp_path, {"data": {**data, "positive": "died"},
                                                         "model": model})))
    assert coded.cohort.y_label.sum() == 20
