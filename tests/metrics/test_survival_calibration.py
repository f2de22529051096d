"""D-calibration, calibration at a horizon and ICI.

References: the D-calibration histogram is hand-derived (Haider et al. 2020, section 4.2),
checked against a per-patient loop written from the paper's definition, and its statistic
compared with ``scipy.stats.chisquare``; per-group observed risks with scikit-survival 0.28
``kaplan_meier_estimator``; the ICI's Cox fit with scikit-survival 0.28
``CoxPHSurvivalAnalysis(ties="breslow")`` (same likelihood, with ties) and with lifelines 0.30
``CoxPHFitter`` (times without ties, where its Efron likelihood equals Breslow's).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.nonparametric import kaplan_meier_estimator
from sksurv.util import Surv

from lightsaber.metrics import (
    MetricError,
    calibration_at_horizon,
    d_calibration,
    integrated_calibration_index,
)
from lightsaber.metrics._cox import fit_cox, rcs_basis
from lightsaber.metrics.survival import survival_at_times


def _exponential_cohort(seed: int, n: int = 1000, censor: bool = True):
    """True model: hazard exp(x); S(t | x) = exp(-t exp(x)) on a fine grid."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = rng.exponential(np.exp(-x))
    c = rng.exponential(2.0, n) if censor else np.full(n, np.inf)
    event, time = t <= c, np.minimum(t, c)
    grid = np.linspace(0, np.quantile(time, 0.999), 400)
    surv = np.exp(-np.outer(np.exp(x), grid))
    return event, time, x, grid, surv


def _d_calibration_loop(event, time, s_at_time, n_bins=10):
    """Haider et al. (2020), section 4.2, one patient at a time."""
    counts = np.zeros(n_bins)
    width = 1.0 / n_bins
    for e, s in zip(event, s_at_time, strict=True):
        b = min(int(s * n_bins), n_bins - 1)
        if e:
            counts[b] += 1
        elif s <= 0:
            counts[0] += 1
        else:
            counts[b] += (s - b * width) / s
            for lower in range(b):
                counts[lower] += width / s
    return counts


def test_d_calibration_hand_derived_histogram():
    # S(T) of the events: 0.3 (bin 0), 0.6 and 0.85 (bin 1); the patient censored at t = 2
    # with S(2) = 0.8 adds (0.8 - 0.5) / 0.8 = 0.375 to bin 1 and 0.5 / 0.8 = 0.625 to bin 0
    y = ([1, 1, 0, 1], [1.0, 2.0, 2.0, 3.0])
    surv = [[0.3, 0.2, 0.1], [0.9, 0.6, 0.2], [0.9, 0.8, 0.7], [0.95, 0.9, 0.85]]
    res = d_calibration(y, surv, [1.0, 2.0, 3.0], n_bins=2)
    np.testing.assert_allclose(res.counts, [1.625, 2.375], atol=1e-12)
    chi = stats.chisquare(res.counts, f_exp=[2.0, 2.0])
    assert res.statistic == pytest.approx(chi.statistic, abs=1e-12)
    assert res.p_value == pytest.approx(chi.pvalue, abs=1e-12)


def test_d_calibration_censored_contributions_sum_to_one_per_patient():
    event, time, _, grid, surv = _exponential_cohort(1, n=300)
    res = d_calibration((event, time), surv, grid)
    assert res.counts.sum() == pytest.approx(300, abs=1e-9)
    assert res.proportions.sum() == pytest.approx(1.0, abs=1e-12)
    chi = stats.chisquare(res.counts)
    assert res.statistic == pytest.approx(chi.statistic, abs=1e-9)
    assert res.p_value == pytest.approx(chi.pvalue, abs=1e-12)


def test_d_calibration_equals_per_patient_loop_on_random_and_real_data(deepsurv, helpers):
    event, time, _, grid, surv = _exponential_cohort(6, n=400)
    s_t = np.array([survival_at_times(surv[i:i + 1], grid, [time[i]])[0, 0] for i in range(400)])
    np.testing.assert_allclose(d_calibration((event, time), surv, grid).counts,
                               _d_calibration_loop(event, time, s_t), atol=1e-9)
    data = deepsurv("support_train_test.h5")
    e_tr, t_tr, x_tr = data["train"]
    e, t, x = data["test"]
    grid = np.unique(t_tr[e_tr])
    surv = helpers.km_power_survival(e_tr, t_tr, helpers.linear_risk(x_tr, x), grid)
    s_t = np.array([survival_at_times(surv[i:i + 1], grid, [t[i]])[0, 0]
                    for i in range(t.shape[0])])
    res = d_calibration((e, t), surv, grid)
    np.testing.assert_allclose(res.counts, _d_calibration_loop(e, t, s_t), atol=1e-9)
    assert res.statistic == pytest.approx(stats.chisquare(res.counts).statistic, rel=1e-12)


def test_d_calibration_separates_true_and_wrong_models():
    event, time, x, grid, surv = _exponential_cohort(2)
    assert d_calibration((event, time), surv, grid).p_value > 0.05  # the true model
    wrong = np.exp(-np.outer(np.exp(2 * x), grid))  # hazards too extreme
    assert d_calibration((event, time), wrong, grid).p_value < 1e-6


def test_calibration_at_horizon_groups_use_kaplan_meier_per_group():
    event, time, x, grid, surv = _exponential_cohort(3)
    h = 0.5
    s_h = np.exp(-np.exp(x) * h)
    cal = calibration_at_horizon((event, time), s_h, h, n_groups=10)
    order = np.argsort(1 - s_h, kind="stable")
    for g, rows in enumerate(np.array_split(order, 10)):
        ut, prob = kaplan_meier_estimator(event[rows], time[rows])
        km_h = prob[np.searchsorted(ut, h, side="right") - 1]
        assert cal.observed_risk[g] == pytest.approx(1 - km_h, abs=1e-12)
        assert cal.predicted_risk[g] == pytest.approx((1 - s_h[rows]).mean(), abs=1e-12)
        assert cal.n[g] == rows.shape[0]
    assert np.all(np.diff(cal.predicted_risk) >= 0)
    assert np.abs(cal.observed_risk - cal.predicted_risk).max() < 0.08  # true model


def _ici_basis(s_h):
    cll = np.log(-np.log(np.clip(s_h, 1e-12, 1 - 1e-12)))  # as the library clips
    return rcs_basis(cll, np.quantile(cll, [0.1, 0.5, 0.9]))


def _check_cox_against_sksurv(basis, event, time, horizon):
    ours = fit_cox(basis, event, time)
    ref = CoxPHSurvivalAnalysis(ties="breslow", tol=1e-12, n_iter=1000).fit(
        basis, Surv.from_arrays(event, time))
    np.testing.assert_allclose(ours.coef, ref.coef_, rtol=0, atol=1e-8)
    expected = np.array([f(horizon) for f in ref.predict_survival_function(basis)])
    np.testing.assert_allclose(ours.survival_at(basis, horizon), expected, rtol=0, atol=1e-9)


def test_ici_cox_fit_equals_sksurv_breslow_with_ties(helpers):
    event, time, risk = helpers.simulate(8, n=400)  # tied times
    h = float(np.median(time))
    _check_cox_against_sksurv(_ici_basis(np.exp(-np.exp(risk / 2) * 0.4)), event, time, h)


@pytest.mark.parametrize("name", ["whas_train_test.h5", "gbsg_cancer_train_test.h5"])
def test_ici_cox_fit_equals_sksurv_breslow_on_deepsurv(deepsurv, helpers, name):
    data = deepsurv(name)
    e_tr, t_tr, x_tr = data["train"]
    e, t, x = data["test"]
    h = float(np.median(t[e]))
    s_h = helpers.km_power_survival(e_tr, t_tr, helpers.linear_risk(x_tr, x), np.array([h]))
    _check_cox_against_sksurv(_ici_basis(s_h[:, 0]), e, t, h)
    # and the observed-risk table on real data uses Kaplan-Meier per group
    cal = calibration_at_horizon((e, t), s_h[:, 0], h, n_groups=5)
    rows = np.array_split(np.argsort(1 - s_h[:, 0], kind="stable"), 5)[0]
    ut, prob = kaplan_meier_estimator(e[rows], t[rows])
    km_h = prob[np.searchsorted(ut, min(h, t[rows].max()), side="right") - 1]
    assert cal.observed_risk[0] == pytest.approx(1 - km_h, abs=1e-12)


def test_ici_cox_fit_equals_lifelines():
    lifelines = pytest.importorskip("lifelines")
    rng = np.random.default_rng(4)
    n = 600
    x = rng.normal(size=n)
    t = rng.exponential(np.exp(-0.8 * x))
    c = rng.exponential(2, n)
    event, time = t <= c, np.minimum(t, c)
    knots = np.quantile(x, [0.1, 0.5, 0.9])
    basis = rcs_basis(x, knots)
    ours = fit_cox(basis, event, time)
    frame = pd.DataFrame(basis, columns=["lin", "spline"]).assign(T=time, E=event)
    # lifelines' default convergence (precision 1e-7) stops ~1e-6 short of the optimum; ours
    # iterates to a log-likelihood change below 1e-10
    ref = lifelines.CoxPHFitter().fit(frame, "T", "E", fit_options={"precision": 1e-12})
    np.testing.assert_allclose(ours.coef, ref.params_.to_numpy(), rtol=0, atol=1e-7)
    # lifelines interpolates its baseline linearly between event times: compare at one
    h = float(np.sort(time[event])[event.sum() // 2])
    expected = ref.predict_survival_function(frame[["lin", "spline"]], times=[h]).to_numpy()
    np.testing.assert_allclose(ours.survival_at(basis, h), expected.ravel(), atol=1e-5)


def test_ici_small_for_the_true_model_and_large_for_a_wrong_one():
    event, time, x, _, _ = _exponential_cohort(5, n=2000)
    h = 0.5
    good = integrated_calibration_index((event, time), np.exp(-np.exp(x) * h), h)
    bad = integrated_calibration_index((event, time), np.exp(-np.exp(x) * h * 3), h)
    assert good.ici < 0.03 < 0.1 < bad.ici
    assert good.e50 <= good.e90 <= good.emax


def test_horizon_errors():
    y = ([1, 0, 1, 0], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(MetricError, match=r"horizon must lie within the follow-up of y, \[1, 4"):
        calibration_at_horizon(y, [0.9, 0.8, 0.7, 0.6], 4.0)
    with pytest.raises(MetricError, match=r"survival_at_horizon has NaN .* \(rows 1\)"):
        integrated_calibration_index(y, [0.9, np.nan, 0.7, 0.6], 2.0)
    with pytest.raises(MetricError, match="vary between patients"):
        integrated_calibration_index(y, [0.5] * 4, 2.0)
    with pytest.raises(MetricError, match="n_groups"):
        calibration_at_horizon(y, [0.9, 0.8, 0.7, 0.6], 2.0, n_groups=5)
    with pytest.raises(MetricError, match="n_bins"):
        d_calibration(y, np.full((4, 1), 0.5), [1.0], n_bins=1)
