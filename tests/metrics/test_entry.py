"""Delayed entry (left truncation) in the Kaplan-Meier estimates and Harrell's C.

References
----------
* lifelines 0.30 ``KaplanMeierFitter().fit(time, event, entry=entry)`` (at risk at ``t``:
  ``entry < t <= time``), its ``survival_function_at_times``: measured max |delta| 4e-15 over
  200 random data sets with tied times and entries equal to event times (acceptance 1e-10).
* ``_brute_force_pairs``: Harrell's C counts from the definition, every (event, partner) pair
  by comparison (O(n^2)): comparable when the partner left later, or was censored at the same
  time, and had entered before the event (``entry_j < T_i``); scikit-survival's tied-risk
  tolerance. The counts must agree exactly.
* lifelines ``concordance_index(time, -risk, event)`` with every entry 0 (times > 0), which is
  the same as no entry (equal to the last bit, with tied times and risks).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import concordance_index

from lightsaber.metrics import MetricError, concordance_summary, harrell_c
from lightsaber.metrics._km import censoring_kaplan_meier, kaplan_meier
from tests.conftest import shared_file


def _simulate(seed: int, n: int | None = None):
    """(event, time, entry, risk): tied times and risks; some entries equal to event times."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 250)) if n is None else n
    if seed % 2:
        time = rng.integers(1, 15, n).astype(float)
        entry = np.maximum(0.0, time - rng.integers(1, 8, n))
    else:
        time = rng.exponential(size=n) + 0.5
        entry = time * rng.uniform(0.0, 0.95, n)
    if seed % 3 == 0:
        entry[rng.random(n) < 0.5] = 0.0
    event = rng.random(n) < 0.6
    event[0] = True
    risk = np.round(rng.normal(size=n), 1) + np.where(rng.random(n) < 0.05, 1e-9, 0.0)
    return event, time, entry, risk


def _lifelines_km(time, event, entry):
    with warnings.catch_warnings():  # lifelines warns about left truncation it handles
        warnings.simplefilter("ignore")
        return KaplanMeierFitter().fit(time, event, entry=entry)


@pytest.mark.parametrize("seed", range(40))
def test_kaplan_meier_with_entry_matches_lifelines(seed):
    event, time, entry, _ = _simulate(seed)
    at = np.unique(np.r_[time, entry, time + 1e-3])
    at = at[at <= time.max()]
    reference = _lifelines_km(time, event, entry).survival_function_at_times(at).to_numpy()
    np.testing.assert_allclose(kaplan_meier(event, time, entry)(at), reference, rtol=0,
                               atol=1e-10)


@pytest.mark.parametrize("seed", range(0, 40, 2))
def test_censoring_kaplan_meier_with_entry_matches_lifelines_without_tied_times(seed):
    """Continuous times: no event ties a censoring, where the two tie conventions differ."""
    event, time, entry, _ = _simulate(seed)
    event[0] = False
    at = np.unique(np.r_[time, entry])
    at = at[at <= time.max()]
    reference = _lifelines_km(time, ~event, entry).survival_function_at_times(at).to_numpy()
    np.testing.assert_allclose(censoring_kaplan_meier(event, time, entry)(at), reference,
                               rtol=0, atol=1e-10)


@pytest.mark.parametrize("seed", range(1, 40, 2))
def test_censoring_kaplan_meier_with_entry_equals_the_product_limit_with_ties(seed):
    """Tied times: at risk ``entry < c <= time``, less the events at ``c`` (they come first)."""
    event, time, entry, _ = _simulate(seed)
    g = censoring_kaplan_meier(event, time, entry)
    expected, survival = [], 1.0
    for c in np.unique(time):
        at_risk = (entry < c) & (time >= c) & ~(event & (time == c))
        censored = int((~event & (time == c)).sum())
        if censored:
            survival *= 1.0 - censored / at_risk.sum()
        expected.append(survival)
    np.testing.assert_allclose(g(np.unique(time)), expected, rtol=0, atol=1e-13)


@pytest.mark.parametrize("below", [-np.inf, 0.0])
def test_entry_below_every_time_gives_the_estimate_without_entry(below):
    event, time, _, _ = _simulate(3)
    entry = np.full(time.shape, below)  # times >= 1
    for estimate in (kaplan_meier, censoring_kaplan_meier):
        with_entry, without = estimate(event, time, entry), estimate(event, time)
        assert np.array_equal(with_entry.unique_time, without.unique_time)
        assert np.array_equal(with_entry.prob, without.prob)


def _brute_force_pairs(event, time, entry, risk, tol=1e-8):
    concordant = tied = comparable = 0
    for i in np.flatnonzero(event):
        partner = ((time > time[i]) | ((time == time[i]) & ~event)) & (entry < time[i])
        close = np.absolute(risk[partner] - risk[i]) <= tol
        concordant += int(((risk[partner] < risk[i]) & ~close).sum())
        tied += int(close.sum())
        comparable += int(partner.sum())
    return concordant, tied, comparable


@pytest.mark.parametrize("seed", range(40))
def test_harrell_with_entry_counts_equal_brute_force(seed):
    event, time, entry, risk = _simulate(seed)
    concordant, tied, comparable = _brute_force_pairs(event, time, entry, risk)
    if comparable == 0:
        with pytest.raises(MetricError, match="no comparable pairs"):
            harrell_c((event, time), risk, entry=entry)
        return
    result = concordance_summary((event, time), risk, entry=entry)
    assert (result.concordant, result.tied_risk, result.comparable) == (
        concordant, tied, comparable)
    assert result.discordant == comparable - concordant - tied
    assert result.cindex == (concordant + 0.5 * tied) / comparable
    assert harrell_c((event, time), risk, entry=entry) == result.cindex


def test_harrell_with_entry_on_pbc2_counting_process_rows():
    """PBC2 visits as (visit_k, visit_k+1] rows, risk = log bilirubin at the visit."""
    frame = pd.read_csv(shared_file("data", "auton", "pbc2.csv"))
    frame = frame.sort_values(["id", "year"], kind="stable")
    stop = frame.groupby("id")["year"].shift(-1).fillna(frame["years"]).to_numpy()
    last = (frame.groupby("id").cumcount(ascending=False) == 0).to_numpy()
    event = (frame["status2"].to_numpy() == 1) & last
    entry, risk = frame["year"].to_numpy(), np.log(frame["serBilir"].to_numpy())
    result = concordance_summary((event, stop), risk, entry=entry)
    assert (result.concordant, result.tied_risk, result.comparable) == _brute_force_pairs(
        event, stop, entry, risk)
    # without entry, rows of later visits would wrongly be compared with earlier deaths
    assert result.comparable < concordance_summary((event, stop), risk).comparable


@pytest.mark.parametrize("seed", range(10))
def test_harrell_with_zero_entry_equals_lifelines_and_no_entry(seed):
    event, time, _, risk = _simulate(seed, n=300)
    risk = np.round(risk, 1)  # exact ties only: lifelines has no tolerance (sksurv's is 1e-8)
    zero = np.zeros(time.shape)
    ours = harrell_c((event, time), risk, entry=zero)
    assert ours == harrell_c((event, time), risk)
    assert ours == pytest.approx(concordance_index(time, -risk, event), rel=0, abs=1e-15)
    assert concordance_summary((event, time), risk, entry=np.full(time.shape, -np.inf)) == (
        concordance_summary((event, time), risk))


@pytest.mark.parametrize("entry, count", [([0.0, 2.0, 0.0], 1), ([0.0, 2.5, 3.0], 2),
                                          ([np.nan, 0.0, 0.0], 1)])
def test_entry_not_before_time_is_refused(entry, count):
    with pytest.raises(MetricError, match=rf"entry must be earlier than the follow-up time.*"
                                          rf"{count} of 3 row\(s\).*add a small offset"):
        harrell_c(([1, 1, 0], [1.0, 2.0, 3.0]), [3.0, 1.0, 2.0], entry=entry)
    with pytest.raises(MetricError, match=rf"{count} of 3 row\(s\)"):
        kaplan_meier(np.array([True, True, False]), np.array([1.0, 2.0, 3.0]), entry)


def test_entry_of_the_wrong_shape_or_type_is_refused():
    y, risk = ([1, 1, 0], [1.0, 2.0, 3.0]), [3.0, 1.0, 2.0]
    with pytest.raises(MetricError, match=r"entry must have shape \(3,\)"):
        harrell_c(y, risk, entry=[0.0, 0.0])
    with pytest.raises(MetricError, match="entry must be numeric"):
        harrell_c(y, risk, entry=["a", "b", "c"])


def test_no_comparable_pair_after_entry_is_reported():
    """Both partners entered after the only event: no pairs left."""
    with pytest.raises(MetricError, match="no comparable pairs.*not yet entered"):
        harrell_c(([1, 0, 0], [1.0, 2.0, 3.0]), [3.0, 1.0, 2.0], entry=[0.0, 1.0, 1.5])
