"""Table of malformed configs: each names its exact key path, exits 2 and writes nothing."""

from __future__ import annotations

import pytest

from lightsaber.cli import main
from lightsaber.config import load_config, prepare
from lightsaber.exceptions import ConfigError
from tests.config.conftest import BASE, DELETE, patched, write_config

COX = "sksurv.linear_model.CoxPHSurvivalAnalysis"
SK_TRAINER = {"trainer": {}, "model": {"_target_": COX}}

CASES = [
    ("misspelt section", {"trainr": {"max_epochs": 2}}, "trainr"),
    ("misspelt trainer key", {"trainer.max_epoch": 3}, "trainer.max_epoch"),
    ("misspelt data key", {"data.statik": "static.csv"}, "data.statik"),
    ("wrong type", {"trainer.max_epochs": "ten"}, "trainer.max_epochs"),
    ("negative epochs", {"trainer.max_epochs": -3}, "trainer.max_epochs"),
    ("zero batch size", {"trainer.batch_size": 0}, "trainer.batch_size"),
    ("fraction not a number", {"split.val": "half"}, "split.val"),
    ("fraction too large", {"split.test": 1.5}, "split.test"),
    ("unknown target module", {"model._target_": "nosuch.Model"}, "model._target_"),
    ("unknown target attribute", {"model._target_": "lightsaber.models.SurvivalNett"},
     "model._target_"),
    ("unknown network target", {"model.network._target_": "lightsaber.models.MLQ"},
     "model.network._target_"),
    ("misspelt network argument", {"model.network.hiden": [4]}, "model.network.hiden"),
    ("misspelt model argument", {"model.batch_sise": 8}, "model.batch_sise"),
    ("missing file", {"data.static": "nope.csv"}, "data.static"),
    ("missing column", {"data.event": "dead"}, "data.event"),
    ("missing feature column", {"data.features": ["age", "lab_c"]}, "data.features[1]"),
    ("missing required key", {"data.id": DELETE}, "data.id"),
    ("unknown metric", {"metrics": ["c_idx"]}, "metrics[0]"),
    ("metric of another task", {"metrics": ["c_index", "auc_roc"]}, "metrics[1]"),
    ("unknown loss", {"model.loss": "coxx"}, "model.loss"),
    ("unknown search-space parameter",
     {"tuning": {"space": {"lrr": {"loguniform": [1e-4, 1e-2]}}}}, "tuning.space.lrr"),
    ("unknown distribution", {"tuning": {"space": {"lr": {"logunifrom": [1e-4, 1e-2]}}}},
     "tuning.space.lr"),
    ("empty search space", {"tuning": {"space": {}}}, "tuning.space"),
    ("no trials", {"tuning": {"space": {"lr": [0.1]}, "max_trials": 0}}, "tuning.max_trials"),
    ("unknown calibration method", {"calibration.method": "platt"}, "calibration.method"),
    ("horizons for classifier calibration",
     {"calibration": {"method": "sigmoid", "horizons": [30.0]}}, "calibration.horizons"),
    ("unknown device", {"trainer.device": "tpu"}, "trainer.device"),
    ("net setting for a scikit-survival model", {**SK_TRAINER, "trainer": {"lr": 0.1}},
     "trainer.lr"),
    ("network for a scikit-survival model",
     {"model": {"_target_": COX, "network": {"_target_": "lightsaber.models.MLP"}},
      "trainer": {}}, "model.network"),
    ("invalid scikit-learn hyperparameter",
     {"model": {"_target_": COX, "alpha": -1.0}, "trainer": {}}, "model.alpha"),
    ("interpolation to a missing key", {"trainer.max_epochs": "${trainer.epochs}"},
     "trainer.max_epochs"),
    ("unknown runtime value", {"model.network.dropout": "${runtime:n_feat}"},
     "model.network.dropout"),
    ("unknown monitor", {"trainer.monitor": "c_idx"}, "trainer.monitor"),
    ("adapter quantity not provided",
     {"model.loss": {"_target_": "lightsaber.losses.cox_ph_loss",
                     "_adapter_": {"arguments": {"prediction": "risk"}}}},
     "model.loss._adapter_.arguments.prediction"),
    ("stratify by an unknown column", {"split.stratify": "ward"}, "split.stratify"),
    ("missing project folder", {"project": "no_such_folder"}, "project"),
    ("data function returning no cohort", {"data": {"_target_": "builtins.dict"}},
     "data._target_"),
    ("classifier without a label",
     {"model": {"_target_": "sklearn.linear_model.LogisticRegression"}, "trainer": {},
      "metrics": ["auc_roc"]}, "data.label"),
    ("tag not a string", {"tracking.tags": {"team": [1, 2]}}, "tracking.tags.team"),
]


def test_table_has_enough_cases():
    assert len(CASES) >= 25
    assert len({name for name, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("name", "patch", "path"), CASES, ids=[c[0] for c in CASES])
def test_error_names_the_exact_key_path(cohort_dir, name, patch, path):
    with pytest.raises(ConfigError) as info:
        prepare(load_config(patched(BASE, patch)))
    assert info.value.path == path
    assert "SECRET-PATIENT" not in str(info.value)


@pytest.mark.parametrize(("name", "patch", "path"), CASES, ids=[c[0] for c in CASES])
def test_cli_exits_2_with_one_message_and_writes_nothing(cohort_dir, capsys, name, patch, path):
    config = write_config(cohort_dir, patched(BASE, patch))
    assert main(["fit", str(config), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lightsaber: error: invalid config")
    assert f"{path}:" in err
    assert "Traceback" not in err and "SECRET-PATIENT" not in err
    assert not (cohort_dir / "mlflow.db").exists()
    assert not (cohort_dir / "mlruns").exists()


def test_misspelt_key_suggests_the_right_one(cohort_dir):
    with pytest.raises(ConfigError, match="did you mean 'max_epochs'"):
        load_config(patched(BASE, {"trainer.max_epoch": 3}))
    with pytest.raises(ConfigError, match="did you mean 'hidden'"):
        prepare(load_config(patched(BASE, {"model.network.hiden": [4]})))


def test_missing_column_lists_the_columns_present_not_values(cohort_dir):
    with pytest.raises(ConfigError) as info:
        prepare(load_config(patched(BASE, {"data.event": "dead"})))
    message = str(info.value)
    assert "'dead'" in message and "died" in message and "did you mean 'died'" in message


def test_several_problems_are_reported_together():
    with pytest.raises(ConfigError) as info:
        load_config(patched(BASE, {"trainer.max_epochs": -1, "split.val": "x"}))
    assert set(info.value.paths) == {"trainer.max_epochs", "split.val"}
