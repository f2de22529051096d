"""Time-dependent AUC, Brier, IBS, IBLL and MAE against their references.

References: scikit-survival 0.28 ``cumulative_dynamic_auc`` / ``brier_score`` /
``integrated_brier_score`` (same definitions, tolerance 1e-9); pycox 0.3
``evaluation.ipcw.binomial_log_likelihood(..., reduce=False)`` summed and divided by n for the
NBLL (pycox itself divides by the sum of weights, and its integrated version calls
``scipy.integrate.simps``, removed from SciPy); scikit-learn 1.9 ``mean_absolute_error``; R
values from the torchsurv fixtures ``benchmark_auc.json`` / ``benchmark_brier_score.json``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pycox.evaluation import EvalSurv, ipcw
from sklearn.metrics import mean_absolute_error
from sksurv.metrics import brier_score as sk_brier
from sksurv.metrics import cumulative_dynamic_auc as sk_auc
from sksurv.metrics import integrated_brier_score as sk_ibs
from sksurv.util import Surv

from lightsaber.metrics import (
    MetricError,
    brier_score,
    cumulative_dynamic_auc,
    integrated_brier_score,
    integrated_negative_binomial_log_likelihood,
    mae_event_time,
    negative_binomial_log_likelihood,
    survival_at_times,
)
from tests.conftest import shared_file


def _times(time, event, k, rng):
    """k distinct observed times inside [first event, max time), the grid edges included."""
    inside = np.unique(time[(time >= time[event].min()) & (time < time.max())])
    picks = rng.choice(inside, size=min(k, inside.shape[0]), replace=False)
    return np.unique(np.r_[picks, inside[0], inside[-1]])


def _both(ref, ours):
    """Compare where the reference is defined. scikit-survival also needs G at event times
    after the last evaluation time (and may refuse); ours does not, see the relaxation test.
    Where the censoring estimate G is 0 scikit-survival weighs rows 0 (a biased number) and ours
    refuses: see test_brier_where_censoring_estimate_is_zero_is_an_error."""
    try:
        expected = ref()
    except ValueError:
        return False
    try:
        value = ours()
    except MetricError as err:
        if "G estimated on y_train is 0 from time" in str(err):
            return False
        raise
    np.testing.assert_allclose(value, expected, rtol=0, atol=1e-9)
    return True


def _compare_all(train, y, risk, risk_2d, surv, times) -> int:
    compared = _both(lambda: sk_auc(train, y, risk, times)[0],
                     lambda: cumulative_dynamic_auc(y, risk, times, y_train=train).auc)
    _both(lambda: sk_auc(train, y, risk, times)[1],
          lambda: cumulative_dynamic_auc(y, risk, times, y_train=train).mean_auc)
    _both(lambda: sk_auc(train, y, risk_2d, times)[0],
          lambda: cumulative_dynamic_auc(y, risk_2d, times, y_train=train).auc)
    compared += _both(lambda: sk_brier(train, y, surv, times)[1],
                      lambda: brier_score(y, surv, times, y_train=train))
    _both(lambda: sk_ibs(train, y, surv, times),
          lambda: integrated_brier_score(y, surv, times, y_train=train))
    return compared


@pytest.mark.parametrize("seed", range(10))
def test_auc_brier_ibs_equal_sksurv_random(helpers, seed):
    rng = np.random.default_rng(seed)
    event, time, risk = helpers.simulate(seed, n=150, censored_tail=seed % 2 == 0)
    e_tr, t_tr, _ = helpers.simulate(seed + 50, n=300, censored_tail=seed % 3 == 0)
    y, y_tr = Surv.from_arrays(event, time), Surv.from_arrays(e_tr, t_tr)
    times = _times(time, event, 6, rng)
    surv = rng.uniform(size=(time.shape[0], times.shape[0]))
    risk_2d = np.round(rng.normal(size=(time.shape[0], times.shape[0])), 1)  # with ties
    compared = 0
    for train in (y, y_tr):
        compared += _compare_all(train, y, risk, risk_2d, surv, times)
    assert compared >= 2  # the test data itself is always a valid censoring fit


@pytest.mark.parametrize("name", ["whas_train_test.h5", "support_train_test.h5",
                                  "metabric_IHC4_clinical_train_test.h5",
                                  "gbsg_cancer_train_test.h5"])
def test_auc_brier_ibs_on_deepsurv_data(deepsurv, helpers, name):
    data = deepsurv(name)
    e_tr, t_tr, x_tr = data["train"]
    e, t, x = data["test"]
    y_tr, y = Surv.from_arrays(e_tr, t_tr), Surv.from_arrays(e, t)
    # evaluation times inside both follow-ups, with the earliest possible and a late one
    hi = min(t.max(), t_tr.max())
    times = np.unique(np.r_[np.quantile(t[e], [0.1, 0.3, 0.5, 0.7]), t[e].min(),
                            t[t < hi].max()])
    times = times[times < hi]
    risk = helpers.linear_risk(x_tr, x)
    surv = helpers.km_power_survival(e_tr, t_tr, risk, times)
    for train in (y_tr, y):
        ref_auc, ref_mean = sk_auc(train, y, risk, times)
        ours = cumulative_dynamic_auc(y, risk, times, y_train=train)
        np.testing.assert_allclose(ours.auc, ref_auc, rtol=0, atol=1e-9)
        assert ours.mean_auc == pytest.approx(ref_mean, abs=1e-9)
        np.testing.assert_allclose(brier_score(y, surv, times, y_train=train),
                                   sk_brier(train, y, surv, times)[1], rtol=0, atol=1e-9)
        assert integrated_brier_score(y, surv, times, y_train=train) == pytest.approx(
            sk_ibs(train, y, surv, times), abs=1e-9)


def test_relaxed_followup_rule_gives_sksurv_value_on_equivalent_data():
    # scikit-survival evaluates G(T_i) for *every* test event, even after the last evaluation
    # time, and refuses when G is undefined there. Those rows only ever act as controls, so we
    # compute; the value equals sksurv's on the same data with those times pulled inside the
    # training follow-up (still after the last evaluation time).
    rng = np.random.default_rng(0)
    y_tr = Surv.from_arrays(np.r_[True, rng.random(49) < 0.5], np.r_[0.1, rng.uniform(0, 5, 49)])
    time = rng.uniform(0, 8, 80)
    event = rng.random(80) < 0.6
    event[np.argmin(time)] = True
    y = Surv.from_arrays(event, time)
    times = np.array([1.0, 2.0, 3.0])
    risk = rng.normal(size=80)
    surv = rng.uniform(size=(80, 3))
    with pytest.raises(ValueError):
        sk_auc(y_tr, y, risk, times)
    pulled = np.where(time > 3.5, np.minimum(time, 3.5 + (time - 3.5) / 10), time)
    assert (pulled[time > 3.5] > 3.0).all() and pulled.max() < y_tr["time"].max()
    y_pulled = Surv.from_arrays(event, pulled)
    ours = cumulative_dynamic_auc(y, risk, times, y_train=y_tr)
    np.testing.assert_allclose(ours.auc, sk_auc(y_tr, y_pulled, risk, times)[0], atol=1e-12)
    np.testing.assert_allclose(brier_score(y, surv, times, y_train=y_tr),
                               sk_brier(y_tr, y_pulled, surv, times)[1], atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_nbll_equals_pycox_scores(seed):
    # continuous times: G(T_i-) (pycox) = G(T_i) (ours) at event times; y_train = y is pycox's
    # censor_surv='km' (Kaplan-Meier of the censoring on the evaluation data)
    rng = np.random.default_rng(seed)
    n = 200
    time = rng.exponential(5, n)
    event = rng.random(n) < 0.6
    grid = np.sort(time)
    surv = np.sort(rng.uniform(size=(n, n)), axis=1)[:, ::-1].copy()
    times = np.quantile(time[event], [0.05, 0.3, 0.5, 0.7, 0.9])
    ev = EvalSurv(pd.DataFrame(surv.T, index=grid), time, event.astype(int), censor_surv="km")
    scores, _ = ipcw.binomial_log_likelihood(
        times, time, event.astype(int), surv.T, ev.censor_surv.surv.values, grid,
        ev.censor_surv.index_surv, np.inf, False, "post", "post")
    expected = -scores.sum(axis=1) / n
    at = survival_at_times(surv, grid, times)
    ours = negative_binomial_log_likelihood((event, time), at, times, y_train=(event, time))
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-9)
    ibll = integrated_negative_binomial_log_likelihood((event, time), at, times,
                                                       y_train=(event, time))
    assert ibll == pytest.approx(np.trapezoid(expected, times) / (times[-1] - times[0]),
                                 abs=1e-9)


def test_nbll_on_deepsurv_equals_pycox(deepsurv, helpers):
    data = deepsurv("whas_train_test.h5")
    e_tr, t_tr, x_tr = data["train"]
    e, t, x = data["test"]
    # the WHAS test split has no time shared by an event and a censoring, so pycox's G(T-)
    # equals our G(T) at every event (SUPPORT, METABRIC and GBSG have such ties)
    assert np.intersect1d(t[e], t[~e]).size == 0
    grid = np.unique(t)
    surv = helpers.km_power_survival(e_tr, t_tr, helpers.linear_risk(x_tr, x), grid)
    times = np.quantile(t[e], [0.1, 0.4, 0.7])
    ev = EvalSurv(pd.DataFrame(surv.T, index=grid), t, e.astype(int), censor_surv="km")
    scores, _ = ipcw.binomial_log_likelihood(
        times, t, e.astype(int), surv.T, ev.censor_surv.surv.values, grid,
        ev.censor_surv.index_surv, np.inf, False, "post", "post")
    ours = negative_binomial_log_likelihood((e, t), survival_at_times(surv, grid, times), times,
                                            y_train=(e, t))
    np.testing.assert_allclose(ours, -scores.sum(axis=1) / t.shape[0], rtol=0, atol=1e-9)


def test_nbll_equals_brute_force_with_ties(helpers):
    # with event/censoring ties pycox's G(T-) differs by design: check the formula directly
    event, time, _ = helpers.simulate(4, n=90)
    times = np.quantile(time[event], [0.2, 0.5, 0.8])
    times = np.unique(times[times < time.max()])
    rng = np.random.default_rng(4)
    surv = rng.uniform(0.01, 0.99, (90, times.shape[0]))
    from sksurv.nonparametric import CensoringDistributionEstimator

    g = CensoringDistributionEstimator().fit(Surv.from_arrays(event, time))
    expected = []
    for j, t in enumerate(times):
        s = surv[:, j]
        case = (time <= t) & event
        control = time > t
        g_case = np.where(case, g.predict_proba(np.where(case, time, t)), 1.0)
        expected.append(-np.mean(np.log(1 - s) * case / g_case
                                 + np.log(s) * control / g.predict_proba([t])[0]))
    ours = negative_binomial_log_likelihood((event, time), surv, times, y_train=(event, time))
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12)


def _r_cases(name):
    return json.loads(shared_file("reference", "r_fixtures", name).read_text())


def test_auc_matches_r_riskregression_and_survauc():
    for k, case in enumerate(_r_cases("benchmark_auc.json")):
        e = np.asarray(case["test_status"], bool)
        t = np.asarray(case["test_time"], float)
        e_tr = np.asarray(case["train_status"], bool)
        t_tr = np.asarray(case["train_time"], float)
        risk = np.asarray(case["estimate"], float)
        times = np.asarray(case["times"], float)
        # riskRegression::Score(metrics="auc", cens.method="ipcw") fits the censoring on the
        # evaluation data (our y_train = y); it differs from the sksurv definition by < 6e-4
        # on these cases (tie conventions at event times)
        ours_te = cumulative_dynamic_auc((e, t), risk, times, y_train=(e, t))
        np.testing.assert_allclose(ours_te.auc, case["auc_cd_Uno_riskRegression"], atol=6e-4)
        if k < 3:
            # survAUC::AUC.uno(Surv(train), Surv(test), lp, times): censoring from the train
            # split, same definition as ours (differences = the 4-decimal rounding). On the
            # gbsg cases (k >= 3) survAUC differs by up to 0.02: its train follow-up ends
            # before the test follow-up and it extrapolates G; we do not test that case.
            ours_tr = cumulative_dynamic_auc((e, t), risk, times, y_train=(e_tr, t_tr))
            np.testing.assert_allclose(ours_tr.auc, case["auc_cd_survAUC"], atol=5e-5 + 1e-12)
            assert ours_tr.mean_auc == pytest.approx(case["iauc_cd_survAUC"][0], abs=5e-5)


def test_brier_close_to_r_survmetrics():
    # SurvMetrics::Brier (torchsurv's bug-fixed copy) estimates G on the evaluation data (our
    # y_train = y) but weights cases by G(T_i-): up to 3.4e-4 apart from the sksurv definition
    # on these data. IBS differs more (SurvMetrics integrates differently) and is not compared.
    for case in _r_cases("benchmark_brier_score.json"):
        e = np.asarray(case["test_status"], bool)
        t = np.asarray(case["test_time"], float)
        surv = np.asarray(case["estimate"], float)
        times = np.asarray(case["times"], float)
        ours = brier_score((e, t), surv, times, y_train=(e, t))
        np.testing.assert_allclose(ours, case["brier_score_survMetrics"], atol=4e-4)


def test_mae_event_time_equals_sklearn(helpers):
    event, time, _ = helpers.simulate(2, n=100)
    pred = np.random.default_rng(2).exponential(size=100)
    expected = mean_absolute_error(time[event], pred[event])
    assert mae_event_time((event, time), pred) == pytest.approx(expected, abs=1e-12)


def test_mae_event_time_on_deepsurv_equals_sklearn(deepsurv, helpers):
    data = deepsurv("whas_train_test.h5")
    e, t, x = data["test"]
    pred = np.median(t) * np.exp(-0.3 * helpers.linear_risk(data["train"][2], x))
    assert mae_event_time((e, t), pred) == pytest.approx(
        mean_absolute_error(t[e], pred[e]), abs=1e-12)


def test_survival_at_times_steps():
    surv = np.array([[0.9, 0.5, 0.2]])
    grid = [1.0, 2.0, 4.0]
    out = survival_at_times(surv, grid, [0.0, 1.0, 1.5, 2.0, 3.9, 4.0, 10.0])
    assert out.tolist() == [[1.0, 0.9, 0.9, 0.5, 0.5, 0.2, 0.2]]


# --- bad input ------------------------------------------------------------------------------


def test_time_grid_outside_follow_up():
    y = ([1, 0, 1, 0], [1.0, 2.0, 3.0, 4.0])
    surv = np.full((4, 2), 0.5)
    with pytest.raises(MetricError, match=r"within the follow-up of y, \[1, 4\)"):
        brier_score(y, surv, [2.0, 4.0], y_train=y)  # the last follow-up time is excluded
    with pytest.raises(MetricError, match="within the follow-up"):
        integrated_brier_score(y, surv, [0.5, 2.0], y_train=y)
    with pytest.raises(MetricError, match="within the follow-up"):
        cumulative_dynamic_auc(y, [1.0, 2.0, 3.0, 4.0], [2.0, 7.0], y_train=y)


def test_time_grid_must_be_increasing_and_long_enough():
    y = ([1, 0, 1, 0], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(MetricError, match="strictly increasing"):
        brier_score(y, np.full((4, 2), 0.5), [3.0, 2.0], y_train=y)
    with pytest.raises(MetricError, match="at least 2 time point"):
        integrated_brier_score(y, np.full((4, 1), 0.5), [2.0], y_train=y)


def test_auc_needs_a_case_at_each_time():
    y = ([0, 1, 1, 0], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(MetricError, match="no event at or before time 1.5"):
        cumulative_dynamic_auc(y, [1.0, 2.0, 3.0, 4.0], [1.5, 2.5], y_train=y)


def test_survival_shape_and_range_errors():
    y = ([1, 0, 1, 0], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(MetricError, match=r"shape \(n_samples, n_times\) = \(4, 2\)"):
        brier_score(y, np.full((2, 4), 0.5), [2.0, 3.0], y_train=y)
    with pytest.raises(MetricError, match="outside"):
        brier_score(y, np.full((4, 2), 1.5), [2.0, 3.0], y_train=y)
    with pytest.raises(MetricError, match="NaN"):
        brier_score(y, np.full((4, 2), np.nan), [2.0, 3.0], y_train=y)


def test_mae_rejects_nan_and_wrong_length():
    with pytest.raises(MetricError, match="predicted_time has 1 NaN"):
        mae_event_time(([1, 0], [1.0, 2.0]), [np.nan, 1.0])
    with pytest.raises(MetricError, match="predicted_time has 3 rows"):
        mae_event_time(([1, 0], [1.0, 2.0]), [1.0, 1.0, 1.0])


def test_brier_where_censoring_estimate_is_zero_is_an_error():
    # Training follow-up ends at 50 with everyone left censored (G = 0 from 50 on); a test split
    # followed longer. scikit-survival weighs the rows with G = 0 by 0 but keeps them in the
    # divisor: a constant 0.5 prediction, whose Brier score is 0.25 at every time, scores less.
    rng = np.random.default_rng(0)
    t = np.minimum(rng.exponential(30, 200), 50.0)
    e = (rng.random(200) < 0.6) & (t < 50)
    train = Surv.from_arrays(e, t)
    test = Surv.from_arrays(rng.random(200) < 0.6, rng.exponential(30, 200))
    surv = np.full((200, 2), 0.5)
    biased = sk_brier(train, test, surv, [20.0, 55.0])[1]
    assert biased[0] == pytest.approx(0.25, abs=0.02) and biased[1] < 0.2  # 0.156
    with pytest.raises(MetricError, match=r"G estimated on y_train is 0 from time 50 on "
                                          r"\(needed at time 55\).*times below 50"):
        brier_score(test, surv, [20.0, 55.0], y_train=train)
    with pytest.raises(MetricError, match="is 0 from time 50"):
        integrated_brier_score(test, surv, [20.0, 55.0], y_train=train)
    # where G > 0 the value is scikit-survival's
    assert brier_score(test, surv[:, :1], [20.0], y_train=train)[0] == pytest.approx(
        sk_brier(train, test, surv[:, :1], [20.0])[1][0], abs=1e-12)
