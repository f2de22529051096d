"""ls.fit on competing risks: per-cause metrics tracked and read back, the refusals, and PBC2.

The sample cohort is ``load_sample_mortality(competing=True)`` (death vs discharge, nobody
censored), flattened as in ``tests/training/test_fit.py``. Its default one-hot encoding keeps
every level, which is collinear in an unpenalised Cox model (no intercept), so the models here
carry a small ridge penalty (``alpha=0.1``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sksurv.linear_model import CoxPHSurvivalAnalysis

import lightsaber as ls
from lightsaber.exceptions import EvaluationError, FitError, MetricSkippedWarning, TuningError
from lightsaber.models import CauseSpecificCox, FineGray
from lightsaber.training.fit import fit
from tests.conftest import shared_file

METRICS = ("cause_specific_auc", "ibs_competing", "wolbers_c")
SPLITS = ("train", "val", "test")


@pytest.fixture(scope="module")
def sample():
    cohort = ls.datasets.load_sample_mortality(competing=True)
    return cohort, cohort.split(val=0.15, test=0.15, stratify="event", seed=7)


@pytest.fixture
def store(store, monkeypatch):
    """A fresh sqlite store (tests/mlflow_fixtures.py) in the working directory."""
    monkeypatch.chdir(store)
    return store


def _client(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _all_runs(uri):
    client = _client(uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(ids) if ids else []


def _check_cifs(prediction, n_rows, codes):
    assert sorted(prediction.cif) == codes
    for code in codes:
        cif = prediction.cif[code]
        assert cif.shape == (n_rows, prediction.times.size)
        assert np.all((cif >= 0) & (cif <= 1))
        assert np.all(np.diff(cif, axis=1) >= 0)  # non-decreasing in time
        np.testing.assert_array_equal(prediction.risk[code], cif[:, -1])


def _synthetic(parts, n=300, seed=0):
    """Two causes and censoring; ``parts`` assigns each row's split (meta column ``part``)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    t1 = rng.exponential(np.exp(-x[:, 0]))
    t2 = rng.exponential(2 * np.exp(x[:, 1]))
    c = rng.exponential(3, n)
    status = np.select([t1 <= np.minimum(t2, c), t2 <= c], [1, 2], 0)
    frame = pd.DataFrame({"id": np.arange(n), "x0": x[:, 0], "x1": x[:, 1],
                          "days": np.minimum.reduce([t1, t2, c]), "status": status})
    frame["part"] = parts(frame)
    cohort = ls.Cohort(frame, id="id", duration="days", event="status",
                       causes={1: "death", 2: "discharge"}, meta=["part"])
    return cohort, ls.Splits.from_column(cohort, "part")


def _parts(frame, val_causes=(0, 1, 2), test_causes=(0, 1, 2)):
    """train / val / test by position, keeping only the listed status codes in val and test."""
    part = np.where(frame.index % 3 == 0, "val", np.where(frame.index % 3 == 1, "test", "train"))
    part[(part == "val") & ~frame["status"].isin(val_causes)] = "train"
    part[(part == "test") & ~frame["status"].isin(test_causes)] = "train"
    return part


def test_cause_specific_cox_every_cause_metric_tracked_and_read_back(sample, store):
    import mlflow.pyfunc

    from lightsaber.tracking.predictions import load_predictions

    cohort, splits = sample
    run = fit(CauseSpecificCox(alpha=0.1), cohort, splits, experiment="competing",
              progress=False)
    assert run.task == "competing"
    names = {f"{m}_{c}" for m in METRICS for c in ("death", "discharge")}
    for split in SPLITS:
        assert set(run.metrics[split]) == names
    assert run.metrics["test"]["wolbers_c_death"] > 0.65
    assert run.metrics["test"]["cause_specific_auc_death"] > 0.65
    logged = _client(run.tracking_uri).get_run(run.run_id)
    assert logged.info.status == "FINISHED" and logged.data.tags["task"] == "competing"
    for split in SPLITS:
        for name, value in run.metrics[split].items():
            assert logged.data.metrics[f"{split}_{name}"] == pytest.approx(value, rel=1e-12)
    assert "test_wolbers_c_death" in logged.data.metrics
    for split in SPLITS:
        _check_cifs(run.predictions[split], len(splits[split]), [1, 2])
        total = run.predictions[split].cif[1] + run.predictions[split].cif[2]
        assert np.all(total <= 1 + 1e-12)
    # the logged predictions re-evaluate to the same metrics, and bootstrap per cause
    predictions = load_predictions(run.run_id, tracking_uri=run.tracking_uri)
    assert predictions.task == "competing"
    assert predictions.causes == {1: "death", 2: "discharge"}
    assert predictions.evaluate("test") == pytest.approx(run.metrics["test"], rel=1e-12)
    np.testing.assert_array_equal(predictions.prediction("test").cif[2],
                                  run.predictions["test"].cif[2])
    ci = predictions.bootstrap("test", "wolbers_c_death", n_resamples=50)
    assert ci.metric == "wolbers_c_death" and ci.low <= ci.estimate <= ci.high
    assert ci.estimate == pytest.approx(run.metrics["test"]["wolbers_c_death"], rel=1e-12)
    # the pyfunc model (the risks of every cause) is logged and serves what the pipeline predicts
    loaded = mlflow.pyfunc.load_model(f"{logged.info.artifact_uri}/model")
    test = cohort.subset(splits.test[:20])
    served = loaded.predict(run.pipeline.input_frame(test))
    np.testing.assert_allclose(served["risk_death"], run.pipeline.predict(test), rtol=1e-9)


def test_fine_gray_reports_its_own_cause(sample, store):
    cohort, splits = sample
    run = fit(FineGray(cause=1, alpha=0.1), cohort, splits, experiment="competing",
              progress=False, log_model=False)
    names = {f"{m}_death" for m in METRICS}
    logged = _client(run.tracking_uri).get_run(run.run_id).data.metrics
    for split in SPLITS:
        assert set(run.metrics[split]) == names  # no discharge metric: FG models cause 1 only
        _check_cifs(run.predictions[split], len(splits[split]), [1])
        for name, value in run.metrics[split].items():
            assert logged[f"{split}_{name}"] == pytest.approx(value, rel=1e-12)
    assert run.metrics["test"]["wolbers_c_death"] > 0.65
    assert not any("discharge" in key for key in logged)


@pytest.mark.parametrize("model", [LogisticRegression(max_iter=500),
                                   CoxPHSurvivalAnalysis(alpha=0.1)])
def test_single_event_model_on_a_competing_cohort_is_refused(sample, model):
    cohort, splits = sample
    with pytest.raises(FitError, match="treat the other causes as censoring") as info:
        fit(model, cohort, splits, track=False)
    text = str(info.value)
    assert "'death'" in text and "'discharge'" in text and "CauseSpecificCox" in text
    assert "status == 1" in text  # the deliberate alternative: one cause as the event


def test_competing_model_on_a_single_event_cohort_points_at_causes():
    cohort = ls.datasets.load_sample_mortality(n_patients=200)
    with pytest.raises(FitError, match=r"declares no competing causes.*causes=\{1: 'death'"):
        fit(CauseSpecificCox(), cohort, cohort.split(seed=0), track=False)


def test_a_cause_missing_from_train_fails_before_any_run(store):
    uri = f"sqlite:///{store / 'mlflow.db'}"

    def no_discharge_in_train(frame):
        part = _parts(frame)
        part[(part == "train") & (frame["status"] == 2)] = "test"
        return part

    cohort, splits = _synthetic(no_discharge_in_train)
    with pytest.raises(FitError, match=r"train split has no 'discharge' event \(cause 2\)") as info:
        fit(CauseSpecificCox(), cohort, splits, tracking_uri=uri, experiment="missing")
    assert "'death': " in str(info.value) and "'discharge': 0" in str(info.value)
    assert _all_runs(uri) == []  # nothing logged, not even a failed run


def test_a_cause_absent_from_a_split_is_skipped_warned_and_tagged(store):
    from lightsaber.tracking.run_warnings import SKIPPED_TAG

    cohort, splits = _synthetic(lambda f: _parts(f, val_causes=(0, 1)))
    with pytest.warns(MetricSkippedWarning, match="_discharge' was not computed on the val "
                                                  "split: the split has no discharge event"):
        run = fit(CauseSpecificCox(), cohort, splits, experiment="skips")
    assert set(run.skipped["val"]) == {f"{m}_discharge" for m in METRICS}
    assert set(run.metrics["val"]) == {f"{m}_death" for m in METRICS}
    assert len(run.metrics["test"]) == 6
    tags = _client(run.tracking_uri).get_run(run.run_id).data.tags
    assert "wolbers_c_discharge" in tags[SKIPPED_TAG]


def test_no_metric_on_the_final_split_fails_the_run(store):
    uri = f"sqlite:///{store / 'mlflow.db'}"
    cohort, splits = _synthetic(lambda f: _parts(f, test_causes=(0, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetricSkippedWarning)
        with pytest.raises(EvaluationError, match="no metric could be computed on the test"):
            fit(FineGray(cause=1), cohort, splits, tracking_uri=uri, experiment="empty")
    assert [r.info.status for r in _all_runs(uri)] == ["FAILED"]


def test_tuning_is_refused_for_competing_risks(sample):
    from lightsaber.tuning import LogUniform

    cohort, splits = sample
    with pytest.raises(TuningError, match="not yet supported for competing risks"):
        ls.tune(CauseSpecificCox(), cohort, splits, {"alpha": LogUniform(0.01, 1.0)},
                max_trials=2, progress=False)


def _pbc2_competing():
    """PBC2 at the first visit: death (1) vs transplant (2), the covariates of the R fixture."""
    frame = pd.read_csv(shared_file("data", "auton", "pbc2.csv"))
    first = frame.sort_values(["id", "year"], kind="stable").groupby("id").first().reset_index()
    table = pd.DataFrame({
        "id": first["id"], "years": first["years"],
        "status": first["status"].map({"alive": 0, "dead": 1, "transplanted": 2}),
        "age": first["age"], "log_bili": np.log(first["serBilir"]),
        "albumin": first["albumin"], "protime": first["prothrombin"],
        "edema": (first["edema"] != "No edema").astype(int)})
    return ls.Cohort(table, id="id", duration="years", event="status",
                     causes={1: "death", 2: "transplant"})


def test_pbc2_naive_censoring_overstates_death_and_cause_specific_cox_does_not():
    """8-year death CIF on PBC2 (312 patients, 140 deaths, 29 transplants).

    Measured (numpy 2, scikit-survival 0.28): Aalen-Johansen 0.3931; naive 1 - Kaplan-Meier
    of death with transplants censored 0.4114 (+0.018: a transplanted patient cannot die of
    PBC afterwards, the naive estimate assumes they still might); CauseSpecificCox fitted by
    ls.fit on train (seed-0 split, 186/63/63), mean predicted 8-year death CIF over all 312
    patients 0.3902.
    """
    from sksurv.nonparametric import kaplan_meier_estimator

    from lightsaber.metrics import cumulative_incidence

    cohort = _pbc2_competing()
    y = cohort.y_competing
    assert np.bincount(y["status"]).tolist() == [143, 140, 29]
    aalen_johansen = cumulative_incidence(y, [8.0], cause=1)[0]
    time, survival = kaplan_meier_estimator(y["status"] == 1, y["time"])
    naive = 1.0 - survival[np.searchsorted(time, 8.0, side="right") - 1]
    assert aalen_johansen == pytest.approx(0.3931, abs=5e-5)
    assert naive == pytest.approx(0.4114, abs=5e-5)
    assert naive - aalen_johansen > 0.015
    splits = cohort.split(val=0.2, test=0.2, stratify="event", seed=0)
    run = fit(CauseSpecificCox(), cohort, splits, track=False, times=[1, 2, 4, 6, 8])
    predicted = np.concatenate([run.predictions[s].cif[1][:, -1] for s in SPLITS])
    assert predicted.size == cohort.n_patients
    assert predicted.mean() == pytest.approx(0.3902, abs=5e-4)
    assert abs(predicted.mean() - aalen_johansen) < 0.01 < naive - predicted.mean()
    assert run.metrics["test"]["wolbers_c_death"] > 0.7
