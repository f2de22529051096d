"""``ls.fit(..., calibrate=...)`` end to end: acceptance of issue 6.

* an over-confident network on the synthetic mortality sample is calibrated by every method:
  test ECE drops by at least half and AUC-ROC moves by less than 0.005;
* the calibrator never sees test rows (poisoned test labels leave it unchanged);
* the calibrator is in the returned and logged pipeline, with figures under ``calibration/``;
* on SUPPORT, recalibrated DeepSurv has a lower test ICI at the median follow-up horizon.

Measured numbers are recorded in ``docs/calibration.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from torch import nn

import lightsaber as ls
from lightsaber.calibration import CalibrationError, ProbabilityCalibrator, SurvivalRecalibrator
from lightsaber.losses.cox import cox_ph_loss
from lightsaber.metrics import integrated_calibration_index, survival_at_times
from lightsaber.models import MLP, ClassifierNet, SurvivalNet
from tests.conftest import shared_file


class Overconfident(nn.Module):
    """An MLP trained as usual whose logits are multiplied by ``scale`` at prediction time."""

    def __init__(self, in_features: int, out_features: int = 1, scale: float = 4.0) -> None:
        super().__init__()
        self.mlp = MLP(in_features, out_features, hidden=(16,))
        self.scale = scale

    def forward(self, static):
        out = self.mlp(static)
        return out if self.training else self.scale * out


@pytest.fixture(scope="module")
def sample():
    cohort = ls.datasets.load_sample_mortality()
    return cohort, cohort.split(val=0.15, test=0.3, calibration=0.25, stratify="label", seed=7)


def _net():
    return ClassifierNet(Overconfident, max_epochs=30, lr=1e-2, random_state=0,
                         early_stopping=None)


@pytest.mark.parametrize("method", ["sigmoid", "isotonic", "temperature", "beta"])
def test_overconfident_net_is_calibrated_by_each_method(method, sample):
    cohort, splits = sample
    run = ls.fit(_net(), cohort, splits, calibrate=method, track=False, progress=False)
    test = run.metrics["test"]
    print(f"{method}: ECE {test['uncalibrated_ece']:.4f} -> {test['ece']:.4f}, "
          f"AUC {test['uncalibrated_auc_roc']:.4f} -> {test['auc_roc']:.4f}")
    assert test["ece"] <= 0.5 * test["uncalibrated_ece"]
    assert abs(test["auc_roc"] - test["uncalibrated_auc_roc"]) < 0.005
    assert test["brier"] < test["uncalibrated_brier"]
    assert test["log_loss"] < test["uncalibrated_log_loss"]
    assert run.calibration.fitted_on == "calibration"
    # the pipeline carries the calibrator: predictions on a cohort are the calibrated ones
    test_cohort = splits.cohorts(cohort)["test"]
    np.testing.assert_allclose(run.pipeline.predict(test_cohort), run.predictions["test"])


def _poisoned(cohort, splits):
    static = cohort.static.copy()
    label = cohort.target("classification").copy()
    label[splits.indices["test"]] = 1 - label[splits.indices["test"]]
    frame = pd.concat([pd.Series(cohort.ids, name="pid"), static], axis=1)
    frame["died"] = label
    return ls.Cohort(frame, id="pid", label="died")


@pytest.mark.parametrize("with_calibration_split", [True, False])
def test_calibrator_never_sees_test_rows(sample, with_calibration_split):
    cohort, _ = sample
    flat = ls.Cohort(pd.concat([pd.Series(cohort.ids, name="pid"), cohort.static], axis=1)
                     .assign(died=cohort.target("classification")), id="pid", label="died")
    splits = flat.split(val=0.2, test=0.3, calibration=0.2 if with_calibration_split else 0.0,
                        stratify="label", seed=3)
    poisoned = _poisoned(flat, splits)
    runs = [ls.fit(LogisticRegression(max_iter=2000), c, splits, calibrate="sigmoid",
                   track=False) for c in (flat, poisoned)]
    clean, dirty = (r.pipeline.calibrator.summary() for r in runs)
    assert clean == dirty  # same a, b, n: test labels played no part
    assert runs[0].calibration.fitted_on == ("calibration" if with_calibration_split else "val")
    assert runs[0].metrics["test"]["ece"] != runs[1].metrics["test"]["ece"]  # poison is real


def test_tracked_run_logs_calibrated_pipeline_metrics_and_figures(sample, store_uri,
                                                                 monkeypatch):
    import mlflow.pyfunc
    from mlflow.tracking import MlflowClient

    cohort, splits = sample
    run = ls.fit(LogisticRegression(max_iter=2000), cohort, splits, calibrate="isotonic",
                 tracking_uri=store_uri, experiment="calibration")
    client = MlflowClient(tracking_uri=store_uri)
    logged = client.get_run(run.run_id).data
    assert logged.metrics["test_ece"] == pytest.approx(run.metrics["test"]["ece"])
    assert "test_uncalibrated_ece" in logged.metrics
    assert logged.params["calibration.method"] == "isotonic"
    names = {f.path for f in client.list_artifacts(run.run_id, "calibration")}
    assert {"calibration/summary.json", "calibration/reliability_test.png"} <= names
    test_cohort = splits.cohorts(cohort)["test"]
    frame = run.pipeline.input_frame(test_cohort)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store_uri)  # for the runs:/ URI below
    served = mlflow.pyfunc.load_model(f"runs:/{run.run_id}/model").predict(frame)
    np.testing.assert_allclose(served["probability"], run.predictions["test"], rtol=1e-6)


def test_bad_method_fails_before_training(sample):
    cohort, splits = sample
    with pytest.raises(CalibrationError, match=r"calibrate must be one of .*got 'cloglog'"):
        ls.fit(_net(), cohort, splits, calibrate="cloglog", track=False)


def _support():
    base = ls.datasets.load_deepsurv(shared_file("data", "deepsurv", "support_train_test.h5"))
    y = base.target("survival")
    frame = base.static.copy()
    frame["time"], frame["event"] = y["time"], y["event"].astype(int)
    part = base.column("split").to_numpy().astype(object)
    train = np.flatnonzero(part == "train")  # the published test set stays as it is
    u = np.random.default_rng(0).random(train.size)
    part[train[u < 0.15]] = "val"
    part[train[(u >= 0.15) & (u < 0.4)]] = "calibration"
    frame["split"] = part
    frame.insert(0, "row_id", np.arange(len(frame)))
    cohort = ls.Cohort(frame, id="row_id", duration="time", event="event", meta=["split"])
    return cohort, ls.Splits.from_column(cohort, "split")


@pytest.mark.slow
def test_recalibrated_deepsurv_on_support_has_lower_test_ici(store_uri):
    cohort, splits = _support()
    deepsurv = SurvivalNet(MLP, loss=cox_ph_loss, module__hidden=(32,), max_epochs=20, lr=1e-2,
                           batch_size=512, random_state=0, early_stopping=None)
    run = ls.fit(deepsurv, cohort, splits, calibrate="cloglog", tracking_uri=store_uri,
                 experiment="calibration", log_model=False, progress=False)
    parts = splits.cohorts(cohort)
    y_train, y_test = parts["train"].target("survival"), parts["test"].target("survival")
    horizon = float(np.median(y_train["time"]))  # median follow-up
    X_test = run.pipeline.transform(parts["test"])
    grid = np.unique(np.r_[np.quantile(y_train["time"][y_train["event"]],
                                       np.linspace(0.05, 0.95, 50)), horizon])
    raw = run.model.predict_survival_matrix(X_test, grid)
    new = run.pipeline.calibrator.predict_survival(run.model, X_test, grid)
    assert np.isfinite(new).all() and new.min() >= 0 and new.max() <= 1
    assert (np.diff(new, axis=1) <= 1e-12).all()
    ici_raw = integrated_calibration_index(y_test, survival_at_times(raw, grid, [horizon])[:, 0],
                                           horizon).ici
    ici_new = integrated_calibration_index(y_test, survival_at_times(new, grid, [horizon])[:, 0],
                                           horizon).ici
    print(f"SUPPORT ICI at t={horizon:g}: raw {ici_raw:.4f} -> recalibrated {ici_new:.4f}; "
          f"c-index {run.metrics['test']['c_index']:.4f}; ls.fit test ici_at_horizon "
          f"{run.metrics['test']['uncalibrated_ici_at_horizon']:.4f} -> "
          f"{run.metrics['test']['ici_at_horizon']:.4f}")
    assert ici_new < ici_raw
    assert run.metrics["test"]["ici_at_horizon"] < run.metrics["test"][
        "uncalibrated_ici_at_horizon"]
    from mlflow.tracking import MlflowClient

    names = {f.path for f in MlflowClient(tracking_uri=store_uri).list_artifacts(
        run.run_id, "calibration")}
    assert {"calibration/survival_calibration_test.png", "calibration/summary.json"} <= names
    assert isinstance(run.pipeline.calibrator, SurvivalRecalibrator)
    assert not isinstance(run.pipeline.calibrator, ProbabilityCalibrator)
