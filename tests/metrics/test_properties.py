"""Hypothesis property tests (derandomised: the same examples on every run).

Properties: Harrell's, Uno's and Antolini's C lie in [0, 1]; Harrell's C is invariant to
strictly increasing transforms of the risk and to row permutations; reversing the risk gives
1 - C when no two risks tie; the IBS lies in [0, 1] (IPCW weights fitted on the evaluation data
with continuous times sum to n, so each Brier score is a weighted mean of squares <= 1).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lightsaber.metrics import MetricError, antolini_c, harrell_c, integrated_brier_score, uno_c

SETTINGS = settings(derandomize=True, max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def survival_data(draw, distinct_risk: bool = False, min_size: int = 2, max_size: int = 40):
    n = draw(st.integers(min_size, max_size))
    time = np.array(draw(st.lists(st.integers(0, 12), min_size=n, max_size=n)), dtype=float)
    event = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if distinct_risk:
        risk = np.array(draw(st.permutations(list(range(n)))), dtype=float)
    else:
        risk = np.array(draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n)), dtype=float)
    return event, time, risk


def _c(event, time, risk, **kw):
    try:
        return harrell_c((event, time), risk, **kw)
    except MetricError:
        return None


@SETTINGS
@given(survival_data())
def test_c_index_in_unit_interval(data):
    event, time, risk = data
    c = _c(event, time, risk)
    assume(c is not None)
    assert 0.0 <= c <= 1.0
    if event.any():
        try:
            u = uno_c((event, time), risk, y_train=(event, time), tau=float(time.max()))
        except MetricError:
            u = None
        assert u is None or 0.0 <= u <= 1.0


@SETTINGS
@given(survival_data(), st.sampled_from(["affine", "exp", "cube"]))
def test_c_index_invariant_to_monotone_transforms(data, transform):
    event, time, risk = data
    c = _c(event, time, risk, tied_tol=0.0)
    assume(c is not None)
    f = {"affine": lambda r: 3.0 * r - 7.0, "exp": np.exp, "cube": lambda r: r ** 3 + r}[transform]
    assert _c(event, time, f(risk), tied_tol=0.0) == c
    # with the default 1e-8 tolerance: integer risks stay > 1e-8 apart under these transforms
    assert _c(event, time, f(risk)) == c


@SETTINGS
@given(survival_data(), st.randoms(use_true_random=False))
def test_c_index_invariant_to_row_permutation(data, random):
    event, time, risk = data
    c = _c(event, time, risk)
    assume(c is not None)
    perm = np.array(random.sample(range(event.shape[0]), event.shape[0]))
    assert _c(event[perm], time[perm], risk[perm]) == c


@SETTINGS
@given(survival_data(distinct_risk=True))
def test_reversing_distinct_risks_gives_one_minus_c(data):
    event, time, risk = data
    c = _c(event, time, risk)
    assume(c is not None)
    # discordant / comparable vs 1 - concordant / comparable: equal up to one rounding
    assert abs(_c(event, time, -risk) - (1.0 - c)) <= 2e-16


@SETTINGS
@given(survival_data(min_size=3), st.integers(1, 4))
def test_antolini_in_unit_interval(data, n_grid):
    event, time, risk = data
    grid = np.unique(np.linspace(0, 12, n_grid + 1)[1:])
    surv = np.exp(-np.outer(np.exp(risk / 3), grid / 6))
    try:
        c = antolini_c((event, time), surv, grid)
    except MetricError:
        assume(False)
    assert 0.0 <= c <= 1.0


@SETTINGS
@given(st.integers(5, 60), st.integers(0, 10_000), st.integers(2, 6))
def test_ibs_in_unit_interval(n, seed, n_times):
    rng = np.random.default_rng(seed)
    time = rng.exponential(size=n)  # continuous: no event/censoring ties
    event = rng.random(n) < 0.6
    assume(event.any())
    inside = np.sort(time)[1:-1]
    assume(inside.shape[0] >= 2)
    times = np.unique(rng.choice(inside, size=min(n_times, inside.shape[0]), replace=False))
    assume(times.shape[0] >= 2 and times[0] >= time.min())
    # adversarial curves (S = 1 for early events, 0 for later controls) and random ones
    worst = (time[:, None] <= times[None, :]).astype(float)
    for surv in (worst, rng.uniform(size=(n, times.shape[0]))):
        try:
            ibs = integrated_brier_score((event, time), surv, times, y_train=(event, time))
        except MetricError:
            assume(False)
        assert -1e-12 <= ibs <= 1.0 + 1e-12
