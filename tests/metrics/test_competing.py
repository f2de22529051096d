"""Competing-risks metrics against R, brute-force definitions and their invariants.

Reference values: ``../shared/reference/competing_risks/{melanoma,pbc2}.json``, made by
``make_fixtures.R`` there with R 4.2.2, riskRegression 2022.11.28, prodlim 2019.11.13 and pec
2022.05.04 (see its README). The R calls, per fixture:

* ``aalen_johansen_train_cause{1,2}``: ``predict(prodlim(Hist(time, status) ~ 1, data =
  train), times, cause = k, type = "cuminc")``;
* ``score_auc_cause1`` / ``score_brier_cause1`` / ``score_brier_null_cause1``:
  ``Score(list(model = cif1), Hist(time, status) ~ 1, data = test, times, cause = 1,
  metrics = c("auc", "brier"), cens.model = "km", null.model = TRUE)``, ``cif1`` the
  ``csc_cif_cause1_test`` matrix. The censoring KM is fitted on ``data`` (the test rows), and
  the "Null model" is ``riskRegression:::getNullModel``'s ``prodlim(Hist(time, status) ~ 1,
  data)`` — the Aalen-Johansen CIF of the *test* rows (checked below: the train-rows AJ is
  off by > 3e-3);
* ``pec_cindex_cause1_at_last_time``: ``pec::cindex(list(model = cif1[, last]), Hist(time,
  status) ~ 1, data = test, eval.times = max(times), cause = 1, cens.model = "marginal")``.

Measured agreement (float64, this implementation): every key within 6e-15.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lightsaber.data.targets import make_competing_target
from lightsaber.exceptions import TargetError
from lightsaber.metrics import (
    MetricError,
    brier_score_competing,
    cause_specific_auc,
    cumulative_incidence,
    integrated_brier_score_competing,
    wolbers_c,
)
from lightsaber.metrics._km import censoring_kaplan_meier, kaplan_meier
from tests.conftest import shared_file

FIXTURES = ("melanoma", "pbc2")
SETTINGS = settings(derandomize=True, max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _load(name: str) -> dict:
    path = shared_file("reference", "competing_risks", f"{name}.json")
    data = json.loads(path.read_text())

    def outcome(split: str) -> tuple[np.ndarray, np.ndarray]:
        rows = data[split]
        return np.asarray(rows["status"], dtype=np.int64), np.asarray(rows["time"], float)

    data["y_train"], data["y_test"] = outcome("train"), outcome("test")
    data["times"] = np.asarray(data["times"], dtype=float)
    data["cif1"] = np.asarray(data["csc_cif_cause1_test"], dtype=float)
    return data


@pytest.fixture(params=FIXTURES)
def ref(request) -> dict:
    return _load(request.param)


# --- R reference values ---------------------------------------------------------------------


@pytest.mark.parametrize("cause", [1, 2])
def test_aalen_johansen_matches_prodlim(ref, cause):
    ours = cumulative_incidence(ref["y_train"], ref["times"], cause=cause)
    expected = ref[f"aalen_johansen_train_cause{cause}"]
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-9)


def test_cause_specific_auc_matches_riskregression_score(ref):
    ours = cause_specific_auc(ref["y_test"], ref["cif1"], ref["times"], cause=1)
    np.testing.assert_allclose(ours, ref["score_auc_cause1"], rtol=0, atol=1e-6)


def test_brier_matches_riskregression_score(ref):
    ours = brier_score_competing(ref["y_test"], ref["cif1"], ref["times"], cause=1)
    np.testing.assert_allclose(ours, ref["score_brier_cause1"], rtol=0, atol=1e-6)


def test_null_model_brier_matches_riskregression_score(ref):
    y, times = ref["y_test"], ref["times"]
    null = np.tile(cumulative_incidence(y, times, cause=1), (y[0].shape[0], 1))
    ours = brier_score_competing(y, null, times, cause=1)
    np.testing.assert_allclose(ours, ref["score_brier_null_cause1"], rtol=0, atol=1e-6)


def test_null_model_is_the_aalen_johansen_of_the_evaluation_rows_not_train(ref):
    """Guards the reading of ``getNullModel``: the train-rows AJ does not reproduce R."""
    y, times = ref["y_test"], ref["times"]
    train_aj = cumulative_incidence(ref["y_train"], times, cause=1)
    ours = brier_score_competing(y, np.tile(train_aj, (y[0].shape[0], 1)), times, cause=1)
    assert np.abs(ours - ref["score_brier_null_cause1"]).max() > 3e-3


def test_wolbers_c_matches_pec_cindex(ref):
    ours = wolbers_c(ref["y_test"], ref["cif1"][:, -1], cause=1, tau=ref["times"][-1])
    assert ours == pytest.approx(ref["pec_cindex_cause1_at_last_time"], abs=1e-6)


def test_integrated_brier_is_the_trapezoid_mean_of_the_r_brier_scores(ref):
    """Derivation: lightsaber's IBS convention applied to Score's Brier curve."""
    times = ref["times"]
    expected = np.trapezoid(ref["score_brier_cause1"], times) / (times[-1] - times[0])
    ours = integrated_brier_score_competing(ref["y_test"], ref["cif1"], times, cause=1)
    assert ours == pytest.approx(expected, abs=1e-6)


def test_censoring_fitted_on_y_by_default(ref):
    y, cif, times = ref["y_test"], ref["cif1"], ref["times"]
    for metric in (cause_specific_auc, brier_score_competing):
        assert np.array_equal(metric(y, cif, times), metric(y, cif, times, y_train=y))
    with_train = brier_score_competing(y, cif, times, y_train=ref["y_train"])
    assert not np.allclose(with_train, brier_score_competing(y, cif, times), atol=1e-6)


def test_structured_array_and_tuple_agree(ref):
    status, time = ref["y_test"]
    structured = make_competing_target(status, time)
    times, cif = ref["times"], ref["cif1"]
    assert np.array_equal(cause_specific_auc(structured, cif, times),
                          cause_specific_auc((status, time), cif, times))
    assert wolbers_c(structured, cif[:, -1]) == wolbers_c((status, time), cif[:, -1])


# --- brute-force definitions ----------------------------------------------------------------


def _g_minus_and_g(status, time):
    g = censoring_kaplan_meier(status > 0, time)
    uniq = g.unique_time
    idx = np.searchsorted(uniq, time, side="left") - 1
    return np.where(idx >= 0, g.prob[np.maximum(idx, 0)], 1.0), g


def _pec_ccr(status, time, risk, cause, tau):
    """A line-by-line transliteration of pec 2022.05.04 ``src/ccr.c`` (marginal weights)."""
    g_minus, g = _g_minus_and_g(status, time)
    g_at = g(time)
    num = den = 0.0
    n = time.shape[0]
    for i in range(n):
        if not (time[i] <= tau and status[i] == cause):
            continue
        for j in range(n):
            if j == i:
                continue
            if time[i] < time[j] or (time[j] == time[i] and status[j] == 0):
                w = 1.0 / (g_minus[i] * g_at[i])
            elif status[j] > 0 and status[j] != cause:
                w = 1.0 / (g_minus[i] * g_minus[j])
            else:
                continue
            den += w
            if risk[i] > risk[j]:
                num += w
            elif risk[i] == risk[j]:
                num += w / 2
    return num / den


def _pairwise_auc(status, time, f, t, cause):
    """Definition 2 of Blanche et al. (2013) as a weighted Mann-Whitney statistic."""
    g_minus, g = _g_minus_and_g(status, time)
    case = (time <= t) & (status == cause)
    other = (time <= t) & (status > 0) & (status != cause)
    w_case = case / g_minus
    w_ctrl = other / g_minus + (time > t) / g(np.array([t]))[0]
    score = (f[:, None] > f[None, :]) + 0.5 * (f[:, None] == f[None, :])
    return float(w_case @ score @ w_ctrl / (w_case.sum() * w_ctrl.sum()))


@st.composite
def competing_data(draw, min_size: int = 2, max_size: int = 40):
    n = draw(st.integers(min_size, max_size))
    time = np.array(draw(st.lists(st.integers(0, 12), min_size=n, max_size=n)), dtype=float)
    status = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.int64)
    status[draw(st.integers(0, n - 1))] = 1  # cause 1 occurs
    risk = np.array(draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)), dtype=float) / 6
    return status, time, risk


@SETTINGS
@given(competing_data(), st.sampled_from([None, 3.0, 8.0]))
def test_wolbers_c_equals_the_pec_pair_loop(data, tau):
    status, time, risk = data
    try:
        ours = wolbers_c((status, time), risk, tau=tau)
    except MetricError:
        assume(False)
    expected = _pec_ccr(status, time, risk, 1, np.inf if tau is None else tau)
    assert ours == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert 0.0 <= ours <= 1.0


@SETTINGS
@given(competing_data(min_size=3), st.integers(0, 10))
def test_auc_equals_the_weighted_mann_whitney_statistic(data, at):
    status, time, risk = data
    t = float(np.unique(time)[min(at, np.unique(time).size - 1)])
    cif = np.clip(risk + 0.05 * (time > t), 0, 1)  # ties in the scores and across times
    try:
        ours = cause_specific_auc((status, time), cif, [t])
    except MetricError:
        assume(False)
    assert ours[0] == pytest.approx(_pairwise_auc(status, time, cif, t, 1), rel=1e-12)


# --- invariants ---------------------------------------------------------------------------


def _grid(time: np.ndarray, k: int = 6) -> np.ndarray:
    return np.unique(np.r_[0.0, np.linspace(0.0, time.max(), k), time])


@SETTINGS
@given(competing_data())
def test_aalen_johansen_is_a_distribution_split_over_causes(data):
    status, time, _ = data
    y, grid = (status, time), _grid(time)
    causes = np.unique(status[status > 0])
    cifs = np.array([cumulative_incidence(y, grid, cause=int(k)) for k in causes])
    assert ((cifs >= 0) & (cifs <= 1)).all()
    assert (np.diff(cifs, axis=1) >= 0).all()
    overall = kaplan_meier(status > 0, time)(grid)
    np.testing.assert_allclose(cifs.sum(axis=0) + overall, 1.0, rtol=0, atol=1e-12)
    assert (cifs.sum(axis=0) <= 1.0 + 1e-12).all()


@SETTINGS
@given(competing_data(min_size=4), st.randoms(use_true_random=False))
def test_metrics_are_invariant_to_row_order(data, random):
    status, time, risk = data
    n = time.shape[0]
    perm = np.array(random.sample(range(n), n))
    # from the first cause-1 event (a case exists) to before the last time (a control exists)
    inside = np.unique(time[(time >= time[status == 1].min()) & (time < time.max())])
    assume(inside.size >= 2)
    times = inside[[0, -1]]
    cif = np.clip(np.outer(risk, [0.5, 1.0]), 0, 1)
    y, y_perm = (status, time), (status[perm], time[perm])
    grid = _grid(time)
    np.testing.assert_allclose(cumulative_incidence(y, grid),
                               cumulative_incidence(y_perm, grid), rtol=1e-13, atol=1e-15)
    for metric in (cause_specific_auc, brier_score_competing, integrated_brier_score_competing):
        np.testing.assert_allclose(metric(y_perm, cif[perm], times), metric(y, cif, times),
                                   rtol=1e-12, atol=1e-15)
    try:
        c = wolbers_c(y, risk)
    except MetricError:
        return
    assert wolbers_c(y_perm, risk[perm]) == pytest.approx(c, rel=1e-12, abs=1e-15)


# --- errors -------------------------------------------------------------------------------

Y = ([1, 2, 1, 0, 1, 0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
CIF = np.array([[0.5, 0.7], [0.6, 0.3], [0.3, 0.6], [0.1, 0.2], [0.2, 0.25], [0.1, 0.1]])
TIMES = [2.5, 5.5]
METRICS = (cause_specific_auc, brier_score_competing, integrated_brier_score_competing)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize(("times", "match"), [
    ([5.5, 2.5], "times must be strictly increasing"),
    ([2.5, 2.5], "times must be strictly increasing"),
    ([2.5, np.nan], "times has NaN or infinite values"),
    ([2.5, 6.0], r"times must lie within the follow-up of y, \[1, 6\)"),
    ([0.5, 2.5], r"times must lie within the follow-up of y"),
    ([[2.5, 5.5]], "times must be one-dimensional"),
])
def test_bad_times(metric, times, match):
    cif = CIF if np.size(times) == 2 else CIF[:, :1]
    with pytest.raises(MetricError, match=match):
        metric(Y, cif, times)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize(("cif", "match"), [
    (CIF[:, :1], r"cif must have shape \(n_samples, n_times\) = \(6, 2\); got shape \(6, 1\)"),
    (CIF.T, r"got shape \(2, 6\).*transpose"),
    (CIF[:, 0], "A vector is accepted only with one evaluation time"),
    (np.where(CIF == 0.3, np.nan, CIF), "cif has NaN or infinite values in 2 row"),
    ([["a", "b"]] * 6, "cif must be numeric"),
])
def test_bad_cif(metric, cif, match):
    with pytest.raises(MetricError, match=match):
        metric(Y, cif, TIMES)


def test_a_vector_is_accepted_with_one_time():
    assert np.array_equal(cause_specific_auc(Y, CIF[:, 1], [5.5]),
                          cause_specific_auc(Y, CIF[:, 1:], [5.5]))
    assert np.array_equal(brier_score_competing(Y, CIF[:, 1], [5.5]),
                          brier_score_competing(Y, CIF[:, 1:], [5.5]))


def test_brier_needs_probabilities_auc_takes_any_score():
    with pytest.raises(MetricError, match=r"cif has 1 value\(s\) outside \[0, 1\]"):
        brier_score_competing(Y, CIF * np.r_[1, 1, 1, 1, 1, 20][:, None], TIMES)
    assert np.allclose(cause_specific_auc(Y, CIF * 10 - 3, TIMES), cause_specific_auc(Y, CIF,
                                                                                        TIMES))


def test_integrated_brier_needs_two_times():
    with pytest.raises(MetricError, match="times needs at least 2 time point"):
        integrated_brier_score_competing(Y, CIF[:, :1], [2.5])


@pytest.mark.parametrize(("cause", "match"), [
    (0, "cause must be a positive integer cause code .0 means censored.; got 0"),
    (True, "cause must be a positive integer"),
    (1.0, "cause must be a positive integer"),
    (3, r"cause=3 does not occur in y \(causes seen: \[1, 2\]\)"),
])
def test_bad_cause(cause, match):
    for call in (lambda: cumulative_incidence(Y, [2.0], cause=cause),
                 lambda: cause_specific_auc(Y, CIF, TIMES, cause=cause),
                 lambda: brier_score_competing(Y, CIF, TIMES, cause=cause),
                 lambda: wolbers_c(Y, CIF[:, 1], cause=cause)):
        with pytest.raises(MetricError, match=match):
            call()


def test_auc_without_a_case_by_t_raises():
    with pytest.raises(MetricError, match=r"no cause-2 event at or before time 1.5 in y.*"
                                          r"after the first cause-2 event time \(2\)"):
        cause_specific_auc(Y, CIF, [1.5, 5.5], cause=2)


def test_zero_censoring_survival_in_y_train_raises():
    short = ([1, 0], [1.0, 2.0])  # everyone still followed at 2 is censored: G(2) = 0
    for metric in (cause_specific_auc, brier_score_competing):
        with pytest.raises(MetricError, match="G estimated on y_train is 0 at the evaluation "
                                              "time 2.5.*y_train=..."):
            metric(Y, CIF, TIMES, y_train=short)


def test_y_train_with_shorter_follow_up_raises():
    with pytest.raises(MetricError, match="undefined after the last observed time 3"):
        brier_score_competing(Y, CIF, TIMES, y_train=([1, 0, 1], [1.0, 2.0, 3.0]))


def test_cumulative_incidence_bad_times():
    with pytest.raises(MetricError, match="must not exceed the last follow-up time of y, 6"):
        cumulative_incidence(Y, [2.0, 7.0])
    with pytest.raises(MetricError, match="times must be non-negative"):
        cumulative_incidence(Y, [-1.0, 2.0])
    with pytest.raises(MetricError, match="times must be strictly increasing"):
        cumulative_incidence(Y, [3.0, 2.0])
    # after the last time the estimate is defined when everyone had an event
    assert cumulative_incidence(([1, 2], [1.0, 2.0]), [5.0]).tolist() == [0.5]


def test_wolbers_errors():
    with pytest.raises(MetricError, match="tau must be a finite time or None; got nan"):
        wolbers_c(Y, CIF[:, 1], tau=float("nan"))
    with pytest.raises(MetricError, match="tau must be a finite time or None; got 'soon'"):
        wolbers_c(Y, CIF[:, 1], tau="soon")
    with pytest.raises(MetricError, match=r"no cause-1 event at or before tau=0.5 in y.*"
                                          r"first cause-1 event time \(1\)"):
        wolbers_c(Y, CIF[:, 1], tau=0.5)
    with pytest.raises(MetricError, match="risk has 5 rows but the outcome has 6"):
        wolbers_c(Y, CIF[:5, 1])
    with pytest.raises(MetricError, match="no comparable pair among 2 samples"):
        wolbers_c(([1, 1], [1.0, 1.0]), [0.2, 0.4])
    # a cause-1 event tied with a censoring at the last time: G(T_i) = 0, pec gives NaN
    with pytest.raises(MetricError, match="G estimated on y is 0 at the cause-specific event "
                                          "time 2"):
        wolbers_c(([1, 0, 1], [1.0, 2.0, 2.0]), [0.1, 0.2, 0.3])


def test_bad_outcomes():
    with pytest.raises(MetricError, match=r"y as a tuple must be \(status, time\)"):
        cumulative_incidence(([1], [1.0], [0]), [1.0])
    with pytest.raises(MetricError, match="y is empty"):
        brier_score_competing(([], []), np.zeros((0, 1)), [1.0])
    with pytest.raises(TargetError, match="all 2 samples are censored"):
        cumulative_incidence(([0, 0], [1.0, 2.0]), [1.0])
    with pytest.raises(TargetError, match="y_train.0. .status."):
        brier_score_competing(Y, CIF, TIMES, y_train=([1, -1], [1.0, 2.0]))
