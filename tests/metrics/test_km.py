"""The vectorised Kaplan-Meier estimates behind every IPCW metric.

References: scikit-survival 0.28 ``SurvivalFunctionEstimator`` / ``CensoringDistributionEstimator``
(exact equality), R ``survival::survfit`` (``benchmark_kaplan_meier.json``) and
``pec::ipcw(method = "marginal", subjectTimesLag = 0)`` (``benchmark_ipcw.json``), both rounded
to 4 decimals in the torchsurv fixtures.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sksurv.nonparametric import CensoringDistributionEstimator, SurvivalFunctionEstimator
from sksurv.util import Surv

from lightsaber.metrics import MetricError
from lightsaber.metrics._km import censoring_kaplan_meier, censoring_left_limits, kaplan_meier
from tests.conftest import shared_file


@pytest.mark.parametrize("seed", range(20))
def test_equal_to_sksurv_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 80))
    time = rng.integers(0, 10, n).astype(float) if seed % 2 else rng.exponential(size=n)
    event = rng.random(n) < rng.uniform(0.1, 1.0)
    event[0] = True
    if seed % 5 == 0:
        event[:] = True  # no censoring: G = 1 everywhere
    y = Surv.from_arrays(event, time)
    at = np.r_[np.linspace(time.min() - 1, time.max(), 25), time]
    s_ref, g_ref = SurvivalFunctionEstimator().fit(y), CensoringDistributionEstimator().fit(y)
    km, g = kaplan_meier(event, time), censoring_kaplan_meier(event, time)
    assert np.array_equal(km.unique_time, s_ref.unique_time_)
    assert np.array_equal(km.prob, s_ref.prob_)
    assert np.array_equal(g.unique_time, g_ref.unique_time_)
    assert np.array_equal(g.prob, g_ref.prob_)
    assert np.array_equal(km(at), s_ref.predict_proba(at))
    assert np.array_equal(g(at), g_ref.predict_proba(at))


def test_beyond_follow_up_raises_unless_the_estimate_reached_zero():
    g = censoring_kaplan_meier(np.array([True, False, True]), np.array([1.0, 2.0, 3.0]))
    with pytest.raises(MetricError, match="undefined after the last observed time 3"):
        g(np.array([4.0]))
    km = kaplan_meier(np.array([True, True]), np.array([1.0, 2.0]))  # reaches 0 at t = 2
    assert km(np.array([5.0])).tolist() == [0.0]


@pytest.mark.parametrize("seed", range(10))
def test_censoring_left_limits_differ_from_the_censoring_km_only_past_a_tie(seed):
    """``G(T_i-)``: scikit-survival's convention up to an event tied with a censoring."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 60))
    time = rng.exponential(size=n)  # distinct, except the tie made here
    event = rng.random(n) < 0.6
    time[:2], event[:2] = np.median(time), [True, False]
    uniq = np.unique(time)
    before = np.r_[uniq[0] - 1, uniq[:-1]][np.searchsorted(uniq, time)]  # the previous time
    sksurv_left = censoring_kaplan_meier(event, time)(before)
    got = censoring_left_limits(event, time)
    upto = time <= time[0]
    np.testing.assert_array_equal(got[upto], sksurv_left[upto])
    # past the tie the event stays at risk here (survfit, crr) but is removed first there
    assert np.all(got[~upto] > sksurv_left[~upto])


def _cases(name):
    return json.loads(shared_file("reference", "r_fixtures", name).read_text())


def test_kaplan_meier_matches_r_survfit():
    for case in _cases("benchmark_kaplan_meier.json"):
        km = kaplan_meier(np.asarray(case["status"], bool), np.asarray(case["time"], float))
        ours = km(np.asarray(case["times"], float))
        np.testing.assert_allclose(ours, case["surv_prob_survival"], rtol=0, atol=5e-5 + 1e-12)


def test_censoring_weights_match_r_pec_ipcw():
    # pec::ipcw(..., method = "marginal", subjectTimes = TRUE, subjectTimesLag = 0): the fixture
    # stores 1 / G(times) and 1 / G(T_i) (0 where G = 0)
    for case in _cases("benchmark_ipcw.json"):
        event = np.asarray(case["status"], bool)
        time = np.asarray(case["time"], float)
        g = censoring_kaplan_meier(event, time)
        np.testing.assert_allclose(1 / g(np.asarray(case["times"], float)), case["ipcw_times"],
                                   rtol=0, atol=5e-5 + 1e-12)
        g_subject = g(time)
        inverse = np.divide(1.0, g_subject, out=np.zeros_like(g_subject), where=g_subject > 0)
        np.testing.assert_allclose(inverse, case["ipcw_subjectimes"], rtol=0, atol=5e-5 + 1e-12)
