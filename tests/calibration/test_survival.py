"""SurvivalRecalibrator and horizon outcomes on simulated data with a known truth.

Truth: exponential event times with hazard ``exp(x)``, independent exponential censoring. A model
that predicts ``exp(2x)`` is over-dispersed by construction; recalibration must bring its
predicted event probabilities back towards ``1 - exp(-exp(x) t)``.
"""

from __future__ import annotations

import numpy as np
import pytest

from lightsaber.calibration import (
    CalibrationError,
    SurvivalRecalibrator,
    assess_survival_calibration,
    horizon_outcomes,
)
from lightsaber.data.targets import make_survival_target
from lightsaber.metrics import integrated_calibration_index, survival_at_times

GRID = np.linspace(0.05, 2.0, 40)


def _cohort(n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = rng.exponential(np.exp(-x))
    c = rng.exponential(2.0, size=n)
    y = make_survival_target(t <= c, np.minimum(t, c))
    return x, y


def _assert_survival_curves(surv: np.ndarray) -> None:
    """scikit-survival's invariant: finite, in [0, 1], non-increasing in time."""
    assert np.isfinite(surv).all()
    assert surv.min() >= 0.0 and surv.max() <= 1.0
    assert (np.diff(surv, axis=1) <= 1e-12).all()


def test_horizon_outcomes_weighted_share_equals_kaplan_meier():
    from lightsaber.metrics._km import kaplan_meier

    _, y = _cohort(500, 0)
    for h in (0.3, 0.7, 1.2):
        outcome, weight = horizon_outcomes(y, h)
        km = kaplan_meier(y["event"], y["time"])
        assert weight @ outcome / weight.sum() == pytest.approx(1 - km(np.array([h]))[0],
                                                                abs=1e-9)


@pytest.mark.parametrize("method", ["cloglog", "isotonic"])
def test_recalibration_lowers_ici_on_new_data_and_keeps_curves_valid(method):
    x, y = _cohort(3000, 1)
    x_new, y_new = _cohort(3000, 2)
    over = np.exp(-np.outer(np.exp(2 * x), GRID))
    over_new = np.exp(-np.outer(np.exp(2 * x_new), GRID))
    recal = SurvivalRecalibrator(method).fit(over, y, times=GRID)
    new = recal.transform(over_new, GRID)
    _assert_survival_curves(new)
    h = 0.5
    before = integrated_calibration_index(y_new, survival_at_times(over_new, GRID, [h])[:, 0], h)
    after = integrated_calibration_index(y_new, survival_at_times(new, GRID, [h])[:, 0], h)
    assert after.ici < 0.5 * before.ici


def test_cloglog_slope_recovers_the_overdispersion():
    x, y = _cohort(4000, 3)
    over = np.exp(-np.outer(np.exp(2 * x), GRID))
    recal = SurvivalRecalibrator(horizons=[0.25, 0.5, 1.0]).fit(over, y, times=GRID)
    for fitted in recal.summary()["maps"]:
        assert fitted["slope"] == pytest.approx(0.5, abs=0.05)


def test_predictions_at_other_times_agree_with_the_grid():
    class Model:  # a survival "model" exposing curves on request
        def predict(self, X):
            return np.asarray(X)[:, 0]

        def predict_survival_matrix(self, X, times):
            return np.exp(-np.outer(np.exp(2 * np.asarray(X)[:, 0]), times))

        has_survival_curves_ = True

    x, y = _cohort(1000, 4)
    over = np.exp(-np.outer(np.exp(2 * x), GRID))
    recal = SurvivalRecalibrator().fit(over, y, times=GRID)
    X = x[:20, None]
    on_grid = recal.transform(Model().predict_survival_matrix(X, GRID), GRID)
    np.testing.assert_allclose(recal.predict_survival(Model(), X, GRID[::-1]), on_grid[:, ::-1])
    frame = recal.event_probability_frame(Model(), X)
    assert list(frame.columns) == [f"event_probability_{h:g}" for h in recal.horizons_]
    assert frame.shape == (20, 5)


def test_errors_name_the_argument():
    x, y = _cohort(300, 5)
    over = np.exp(-np.outer(np.exp(x), GRID))
    with pytest.raises(CalibrationError, match="method must be one of"):
        SurvivalRecalibrator("platt").fit(over, y, times=GRID)
    with pytest.raises(CalibrationError, match=r"horizons must lie within the time grid"):
        SurvivalRecalibrator(horizons=[1e6]).fit(over, y, times=GRID)
    with pytest.raises(CalibrationError, match="horizon must lie inside the follow-up"):
        SurvivalRecalibrator(horizons=[1.9]).fit(over[y["time"] < 1.5], y[y["time"] < 1.5],
                                                 times=GRID)
    with pytest.raises(CalibrationError, match="survival must have shape"):
        SurvivalRecalibrator().fit(over[:, :5], y, times=GRID)


def test_assessment_reports_groups_ici_and_d_calibration():
    x, y = _cohort(800, 6)
    truth = np.exp(-np.outer(np.exp(x), GRID))
    res = assess_survival_calibration(y, truth, GRID, [0.25, 0.5], n_groups=5)
    summary = res.summary()
    assert [h["horizon"] for h in summary["horizons"]] == [0.25, 0.5]
    assert all(len(h["observed_risk"]) == 5 for h in summary["horizons"])
    assert all(h["ici"] < 0.05 for h in summary["horizons"])
    assert 0 <= summary["d_calibration"]["p_value"] <= 1
