"""Competing risks from YAML: ``data.causes``, the competing models, metrics and refusals.

The cohort files hold 240 synthetic patients (ids ``SECRET-PATIENT-*``, never to appear in a
message): two covariates, cause 1 driven by ``x0``, cause 2 by ``x1``, independent censoring.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from lightsaber.cli import main
from lightsaber.config import load_config, prepare, run_fit
from lightsaber.config.evaluate import evaluate_run
from lightsaber.exceptions import CalibrationWarning, ConfigError
from tests.config.conftest import DELETE, patched, write_config

METRICS = ("cause_specific_auc", "ibs_competing", "wolbers_c")
CAUSES = {1: "death", 2: "discharge"}

BASE = {
    "data": {"static": "static.csv", "targets": "targets.csv", "id": "pid",
             "duration": "days", "event": "status", "causes": {1: "death", 2: "discharge"}},
    "split": {"val": 0.25, "test": 0.25, "stratify": "event", "seed": 1},
    "model": {"_target_": "lightsaber.models.CauseSpecificCox", "alpha": 0.1},
    "metrics": list(METRICS),
    "tracking": {"experiment": "config-competing", "log_model": True},
}
NET = {"model": {"_target_": "lightsaber.models.DeepHitCompeting", "cuts": 10,
                 "network": {"_target_": "lightsaber.models.MLP", "hidden": [8]}},
       "trainer": {"max_epochs": 2, "batch_size": 64}}


@pytest.fixture
def competing_dir(tmp_path, monkeypatch):
    """tmp_path holding static.csv / targets.csv of a competing-risks cohort, as the cwd."""
    rng = np.random.default_rng(0)
    n = 240
    ids = np.array([f"SECRET-PATIENT-{i:04d}" for i in range(n)])
    x = rng.normal(size=(n, 2))
    t1 = rng.exponential(np.exp(-x[:, 0]))
    t2 = rng.exponential(2 * np.exp(-x[:, 1]))
    c = rng.exponential(3, n)
    status = np.select([t1 <= np.minimum(t2, c), t2 <= c], [1, 2], 0)
    pd.DataFrame({"pid": ids, "x0": x[:, 0], "x1": x[:, 1]}).to_csv(tmp_path / "static.csv",
                                                                    index=False)
    pd.DataFrame({"pid": ids, "days": np.minimum.reduce([t1, t2, c]).round(4),
                  "status": status}).to_csv(tmp_path / "targets.csv", index=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def _names():
    return {f"{m}_{c}" for m in METRICS for c in CAUSES.values()}


def test_causes_reach_the_cohort_and_every_cause_is_scored(competing_dir):
    experiment = prepare(load_config(BASE))
    assert experiment.task == "competing"
    assert experiment.cohort.causes == CAUSES and experiment.cohort.task == "competing"
    assert experiment.metrics == list(METRICS)
    run = run_fit(experiment, track=False, progress=False)
    for split in ("train", "val", "test"):
        assert set(run.metrics[split]) == _names()
    assert run.metrics["test"]["wolbers_c_death"] > 0.6


def test_fine_gray_reports_its_own_cause(competing_dir):
    config = patched(BASE, {"model": {"_target_": "lightsaber.models.FineGray", "cause": 2,
                                      "alpha": 0.1}, "task": "competing"})
    run = run_fit(prepare(load_config(config)), track=False, progress=False)
    assert set(run.metrics["test"]) == {f"{m}_discharge" for m in METRICS}


def test_causes_as_a_list_of_codes_and_from_an_override(competing_dir):
    experiment = prepare(load_config(patched(BASE, {"data.causes": [1, 2], "metrics": None})))
    assert experiment.cohort.causes == {1: "cause1", 2: "cause2"}
    path = write_config(competing_dir, BASE)
    config = load_config(path, overrides=["data.causes={2: home}"])
    assert config.data.causes == {1: "death", 2: "home"}


def test_cli_validate_fit_evaluate_on_the_logged_config(competing_dir, store_uri, capsys):
    path = write_config(competing_dir, BASE)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "config OK: competing experiment, model CauseSpecificCox, 240 patients" in out
    assert main(["fit", str(path), "--no-progress", "--tracking-uri", store_uri]) == 0
    out = capsys.readouterr().out
    assert "fitted CauseSpecificCox (competing), run " in out
    assert "test  cause_specific_auc_death" in out and "wolbers_c_discharge" in out
    run_id = out.split("run ", 1)[1].split()[0]
    from mlflow.tracking import MlflowClient

    logged = MlflowClient(tracking_uri=store_uri).get_run(run_id).data.metrics
    test = {k.removeprefix("test_"): v for k, v in logged.items() if k.startswith("test_")}
    assert set(test) == _names()
    # the logged config.json holds the causes with string keys; they load back as codes
    scores = evaluate_run(run_id, tracking_uri=store_uri, splits=("val", "test"))
    assert scores["test"] == pytest.approx(test, rel=1e-12)
    assert main(["evaluate", "--run", run_id, "--split", "test", "--tracking-uri",
                 store_uri]) == 0
    out = capsys.readouterr().out
    assert f"evaluated run {run_id} (competing)" in out and "SECRET-PATIENT" not in out


def test_deep_competing_recipe_from_yaml(competing_dir):
    config = patched(BASE, {**NET, "model.loss": "deephit_competing",
                            "trainer.early_stopping": 1, "trainer.monitor": "loss",
                            "evaluation": {"times": [0.25, 0.5, 1.0]}})
    experiment = prepare(load_config(config))
    assert experiment.task == "competing" and type(experiment.model).__name__ == \
        "DeepHitCompeting"
    assert experiment.fit_kwargs()["times"] == [0.25, 0.5, 1.0]
    run = run_fit(experiment, track=False, progress=False)
    assert set(run.metrics["test"]) == _names()
    assert run.times.tolist() == [0.25, 0.5, 1.0]
    assert len(run.history) <= 2


def test_recalibration_at_configured_horizons(competing_dir, store_uri):
    config = patched(BASE, {"split.calibration": 0.2, "split.val": 0.2, "split.test": 0.2,
                            "calibration": {"method": "cloglog", "horizons": [0.25, 0.5]},
                            "tracking.tracking_uri": store_uri})
    experiment = prepare(load_config(config))
    calibrate = experiment.fit_kwargs()["calibrate"]
    assert type(calibrate).__name__ == "CompetingRecalibrator"
    assert calibrate.method == "cloglog" and calibrate.horizons == [0.25, 0.5]
    with warnings.catch_warnings():  # whether it helps on 48 calibration rows is not the point
        warnings.simplefilter("ignore", CalibrationWarning)
        run = run_fit(experiment, progress=False)
    assert set(run.metrics["test"]) >= _names()
    test = run.metrics["test"]
    assert test["ibs_competing_death"] != test["uncalibrated_ibs_competing_death"]
    # lightsaber evaluate scores the logged pipeline, recalibrator included, as ls.fit did
    scores = evaluate_run(run.run_id, tracking_uri=run.tracking_uri)
    assert scores["test"] == pytest.approx({k: run.metrics["test"][k] for k in _names()},
                                           rel=1e-12)


def _refused(config, path, *fragments):
    with pytest.raises(ConfigError) as info:
        prepare(load_config(config))
    assert info.value.path == path, str(info.value)
    text = str(info.value)
    for fragment in fragments:
        assert fragment in text, text
    assert "SECRET-PATIENT" not in text
    return text


REFUSALS = [
    ("survival metric on a competing experiment", {"metrics": ["wolbers_c", "c_index"]},
     "metrics[1]", ("evaluates survival models, not competing",
                    "cause_specific_auc, ibs_competing, wolbers_c")),
    ("metric named with its cause", {"metrics": ["wolbers_c_death"]}, "metrics[0]",
     ("list 'wolbers_c'", "reported as wolbers_c_death")),
    ("single-event model on competing causes",
     {"model": {"_target_": "sksurv.linear_model.CoxPHSurvivalAnalysis"}, "metrics": None},
     "model._target_", ("treat the other causes as censoring", "CauseSpecificCox")),
    ("classifier on competing causes",
     {"model": {"_target_": "sklearn.linear_model.LogisticRegression"}, "metrics": None},
     "model._target_", ("LogisticRegression is a classification model",)),
    ("monitor a metric on a competing net", {**NET, "trainer.monitor": "wolbers_c"},
     "trainer.monitor", ("validation loss only", "allowed: 'loss' (their metrics")),
    ("classifier calibration method", {"calibration.method": "sigmoid"}, "calibration.method",
     ("does not apply to a competing model", "cloglog, isotonic")),
    ("tuning", {"tuning": {"space": {"alpha": {"loguniform": [0.01, 1.0]}}}}, "tuning",
     ("not yet supported for competing risks",)),
    ("custom metric", {"metrics": [{"_target_": "lightsaber.metrics.wolbers_c",
                                    "name": "mine"}]}, "metrics[0]",
     ("custom metrics are not yet supported for competing",)),
    ("single-event loss on a competing net", {**NET, "model.loss": "deephit"}, "model.loss",
     ("a single-event loss cannot train a competing model", "deephit_competing")),
    ("invalid competing-model hyperparameter", {"model.alpha": -1.0}, "model.alpha",
     ("alpha must be a finite number >= 0",)),
    ("undeclared cause code", {"data.causes": {1: "death"}}, "data.causes",
     ("status",)),
    ("causes without an event column", {"data.event": DELETE, "data.duration": DELETE},
     "data.causes", ("data.duration / data.event are not set",)),
]


@pytest.mark.parametrize(("name", "patch", "path", "fragments"), REFUSALS,
                         ids=[r[0] for r in REFUSALS])
def test_refusals_name_the_key(competing_dir, name, patch, path, fragments):
    _refused(patched(BASE, patch), path, *fragments)


def test_single_event_cohort_refuses_competing_models_and_losses(competing_dir):
    pd.read_csv("targets.csv").assign(died=lambda f: (f["status"] > 0).astype(int)).to_csv(
        "targets.csv", index=False)
    single = patched(BASE, {"data.causes": DELETE, "data.event": "died", "metrics": None})
    _refused(single, "data.causes", "needs the cohort's causes", "{1: death, 2: discharge}")
    _refused(patched(single, {"task": "competing", "model": {
        "_target_": "sksurv.linear_model.CoxPHSurvivalAnalysis"}}), "data.causes")
    net = patched(single, {"model": {"_target_": "lightsaber.models.SurvivalNet",
                                     "loss": "deephit_competing",
                                     "network": {"_target_": "lightsaber.models.MLP"}},
                           "trainer": {"max_epochs": 1}})
    _refused(net, "model.loss", "a competing-risks loss cannot train a survival model", "cox")


def test_cli_refusal_exits_2_and_writes_nothing(competing_dir, capsys):
    path = write_config(competing_dir, patched(BASE, {"metrics": ["c_index"]}))
    assert main(["fit", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lightsaber: error: invalid config") and "metrics[0]:" in err
    assert "Traceback" not in err and "SECRET-PATIENT" not in err
    assert not (competing_dir / "mlflow.db").exists()
