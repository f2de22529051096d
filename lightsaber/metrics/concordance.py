"""Concordance indices: Harrell's C, Uno's C (IPCW) and Antolini's time-dependent C.

Conventions
-----------
* **Risk, higher = earlier event.** Harrell's and Uno's C take a risk score (what ``predict``
  of a survival estimator returns). A predicted survival *time* must be negated first. Every
  score passes :func:`lightsaber.metrics.validation.check_risk` (no NaN, no inf, right length).
* **Comparable pairs** (scikit-survival's rule): ``(i, j)`` is comparable when ``i`` had an
  event and ``j`` left later, or ``j`` was censored at the same time (an event at ``t`` is
  taken to precede a censoring at ``t``). Two events at the same time are not comparable.
* **Delayed entry** (``entry=``, left truncation): ``j`` must also be at risk at ``T_i``,
  ``entry_j < T_i``; a sample that entered the study after ``i``'s event cannot be compared
  with it. Every row needs ``entry < time``. Without ``entry`` (or with every entry below every
  time) the rule above is unchanged.
* **Tied risks** — ``|risk_i - risk_j| <= tied_tol`` (default ``1e-8``, scikit-survival's) —
  count one half.
* Antolini's C compares predicted *survival probabilities* ``S_j(T_i) > S_i(T_i)`` (strictly;
  ties count zero) with pycox's ``EvalSurv.concordance_td('antolini')`` step rule: the survival
  curve at time ``t`` is the column of the last grid time ``<= t`` (the first column before the
  grid starts).

Implementation: own O(n log n) pair counting (see :mod:`lightsaber.metrics._pairs`), because
scikit-survival's reference implementations are O(n^2) (22 s at n = 1e5). Equality with
``sksurv.metrics.concordance_index_censored`` (exact), ``concordance_index_ipcw`` (1e-9) and
pycox (1e-9) is tested in ``tests/metrics/test_concordance.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lightsaber._moved import renamed_keywords
from lightsaber.exceptions import MetricError
from lightsaber.metrics._km import censoring_kaplan_meier, check_entry
from lightsaber.metrics._pairs import count_less_in_prefix, event_counts, prepare_pairs
from lightsaber.metrics.validation import (
    as_survival_target,
    check_risk,
    check_survival_matrix,
    check_time_grid,
)

__all__ = [
    "ConcordanceResult",
    "antolini_c",
    "concordance_summary",
    "harrell_c",
    "uno_c",
]


@dataclass(frozen=True)
class ConcordanceResult:
    """A concordance index with the pair counts behind it.

    Attributes
    ----------
    cindex : float
        The (possibly weighted) concordance index.
    concordant, discordant, tied_risk : int
        Unweighted numbers of comparable pairs in each category.
    tied_time : int
        Comparable pairs of an event and a censoring at the same time.
    comparable : int
        Number of comparable pairs.
    """

    cindex: float
    concordant: int
    discordant: int
    tied_risk: int
    tied_time: int
    comparable: int


def check_tol(tied_tol: float) -> float:
    tol = float(tied_tol)
    if not np.isfinite(tol) or tol < 0:
        raise MetricError(f"tied_tol must be a finite number >= 0; got {tied_tol!r}.")
    return tol


def _no_pairs(n: int, n_events: int, extra: str = "") -> MetricError:
    return MetricError(
        f"no comparable pairs among {n} samples with {n_events} event(s){extra}: a concordance "
        "index needs at least one event followed by a later (or same-time censored) sample."
    )


def _summary(y: np.ndarray, risk: np.ndarray, weights: np.ndarray | None, tol: float,
             extra: str = "", entry: np.ndarray | None = None) -> ConcordanceResult:
    event, time = y["event"], y["time"]
    prepared = prepare_pairs(event, time, risk, tol, entry)
    conc, tied, comp = event_counts(prepared)
    if weights is None:
        numerator = float(conc.sum()) + 0.5 * float(tied.sum())
        denominator = float(comp.sum())
    else:
        w = weights[prepared.events]
        numerator = float(np.dot(w, conc) + 0.5 * np.dot(w, tied))
        denominator = float(np.dot(w, comp))
    if denominator <= 0:
        raise _no_pairs(time.shape[0], int(event.sum()), extra)
    return ConcordanceResult(
        cindex=numerator / denominator,
        concordant=int(conc.sum()),
        discordant=int(comp.sum() - conc.sum() - tied.sum()),
        tied_risk=int(tied.sum()),
        tied_time=prepared.tied_time,
        comparable=int(comp.sum()),
    )


def concordance_summary(y: Any, risk: Any, *, entry: Any = None,
                        tied_tol: float = 1e-8) -> ConcordanceResult:
    """Harrell's C with its pair counts (scikit-survival's ``concordance_index_censored``).

    Parameters
    ----------
    y : structured array or tuple
        Survival outcome: scikit-survival structured array or ``(event, time)``.
    risk : array-like of shape (n_samples,)
        Risk scores, higher = earlier event.
    entry : array-like of shape (n_samples,), optional
        Entry (left-truncation) times, each ``< time``: a pair ``(i, j)`` is comparable only
        if ``j`` was at risk at ``i``'s event time, ``entry_j < T_i``.
    tied_tol : float, default 1e-8
        Risks closer than this (absolute) are tied.

    Returns
    -------
    ConcordanceResult

    Examples
    --------
    >>> r = concordance_summary(([1, 1, 0], [1.0, 2.0, 3.0]), [3.0, 1.0, 2.0])
    >>> r.cindex, r.concordant, r.discordant, r.comparable
    (0.6666666666666666, 2, 1, 3)
    >>> r = concordance_summary(([1, 1, 0], [1.0, 2.0, 3.0]), [3.0, 1.0, 2.0],
    ...                         entry=[0.0, 0.0, 1.5])  # row 2 enters after the event at 1
    >>> r.cindex, r.concordant, r.discordant, r.comparable
    (0.5, 1, 1, 2)
    """
    y = as_survival_target(y, allow_all_censored=True)
    risk = check_risk(risk, y.shape[0])
    tol = check_tol(tied_tol)
    if entry is None:
        return _summary(y, risk, None, tol)
    entry = check_entry(entry, y["time"])
    return _summary(y, risk, None, tol, " after removing pairs whose partner had not yet entered",
                    entry)


def harrell_c(y: Any, risk: Any, *, entry: Any = None, tied_tol: float = 1e-8) -> float:
    """Harrell's concordance index (scikit-survival's tie conventions).

    ``C = (concordant + tied_risk / 2) / comparable`` over comparable pairs (see the module
    docstring). Equal to ``sksurv.metrics.concordance_index_censored(...)[0]`` exactly, in
    O(n log n) instead of O(n^2).

    Parameters
    ----------
    y : structured array or tuple
        Survival outcome: scikit-survival structured array or ``(event, time)``.
    risk : array-like of shape (n_samples,)
        Risk scores, higher = earlier event.
    entry : array-like of shape (n_samples,), optional
        Entry (left-truncation) times, each ``< time``. A pair ``(i, j)`` (``i``'s event
        first) is comparable only if ``j`` was at risk at ``T_i``: ``entry_j < T_i <= T_j``.
        Still O(n log n).
    tied_tol : float, default 1e-8
        Risks closer than this (absolute) are tied and count one half.

    Returns
    -------
    float

    Raises
    ------
    MetricError
        NaN/inf risk, mismatched lengths, an entry not before its time, no comparable pairs.

    Examples
    --------
    >>> harrell_c(([1, 1, 0], [1.0, 2.0, 3.0]), [3.0, 1.0, 2.0])
    0.6666666666666666
    >>> harrell_c(([1, 1, 0], [1.0, 2.0, 3.0]), [3.0, 1.0, 2.0], entry=[0.0, 0.0, 1.5])
    0.5
    """
    return concordance_summary(y, risk, entry=entry, tied_tol=tied_tol).cindex


def uno_c(
    y: Any, risk: Any, *, y_train: Any, tau: float | None = None, tied_tol: float = 1e-8
) -> float:
    """Uno's concordance index with inverse probability of censoring weights.

    Each comparable pair whose first member is an event at ``T_i < tau`` gets weight
    ``G(T_i)^-2``, ``G`` the Kaplan-Meier estimate of the censoring distribution fitted on
    ``y_train`` (scikit-survival's ``concordance_index_ipcw``; pass ``y_train=y`` to fit it on
    the evaluation data, as R's survC1 does). Equal to scikit-survival to ~1e-15.

    Parameters
    ----------
    y : structured array or tuple
        Survival outcome of the evaluation data.
    risk : array-like of shape (n_samples,)
        Risk scores, higher = earlier event.
    y_train : structured array or tuple
        Outcome the censoring distribution is fitted on (the training split).
    tau : float, optional
        Truncation time: only events before ``tau`` count as first members. Choose it inside
        the training follow-up, where the censoring survival ``G`` is positive.
    tied_tol : float, default 1e-8
        Risk-tie tolerance.

    Returns
    -------
    float

    Raises
    ------
    MetricError
        Bad risk, event times before ``tau`` beyond the training follow-up, ``G = 0`` at an
        event time, no comparable pairs.

    Examples
    --------
    >>> y = ([1, 1, 0, 1, 0], [1.0, 2.0, 3.0, 4.0, 5.0])
    >>> round(uno_c(y, [5.0, 3.0, 4.0, 1.0, 0.0], y_train=y), 4)
    0.8919
    """
    y = as_survival_target(y, allow_all_censored=True)
    train = as_survival_target(y_train, name="y_train")
    risk = check_risk(risk, y.shape[0])
    tol = check_tol(tied_tol)
    event, time = y["event"], y["time"]
    use = event.copy()
    extra = ""
    if tau is not None:
        tau = float(tau)
        if not np.isfinite(tau):
            raise MetricError(f"tau must be a finite time; got {tau!r}.")
        use &= time < tau
        extra = f" before tau={tau:g}"
    g = censoring_kaplan_meier(train["event"], train["time"])(time[use])
    if (g == 0).any():
        raise MetricError(
            "the censoring survival function G estimated on y_train is 0 at "
            f"{int((g == 0).sum())} event time(s) (from {time[use][g == 0].min():g}); inverse "
            "weights are infinite. Choose a smaller tau."
        )
    weights = np.zeros(time.shape[0])
    weights[use] = np.square(1.0 / g)
    return _summary(y, risk, weights, tol, extra).cindex


def _column_at(grid: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Column of the last grid time <= t, clipped to 0 (pycox ``idx_at_times``, 'post')."""
    return (np.searchsorted(grid, times, side="right") - 1).clip(0, grid.shape[0] - 1)


@renamed_keywords(time_grid="times")
def antolini_c(y: Any, survival: Any, times: Any) -> float:
    """Antolini's time-dependent concordance index ``C^td``.

    For each comparable pair (event ``i`` first), concordant when the model gives ``j`` a
    strictly higher survival probability at ``T_i`` than ``i``:
    ``S_j(T_i) > S_i(T_i)``. ``C^td = concordant / comparable``. Matches pycox's
    ``EvalSurv(surv.T, time, event).concordance_td('antolini')`` (tested to 1e-9), without
    numba and without the pycox dependency.

    Parameters
    ----------
    y : structured array or tuple
        Survival outcome.
    survival : array-like of shape (n_samples, n_times)
        Predicted survival probabilities on ``times``, one row per patient.
    times : array-like of shape (n_times,)
        Strictly increasing times of the columns.

    Returns
    -------
    float

    Raises
    ------
    MetricError
        Bad shapes or probabilities, no comparable pairs.

    Examples
    --------
    >>> surv = [[0.9, 0.2], [0.95, 0.8], [0.99, 0.9]]
    >>> antolini_c(([1, 1, 0], [1.0, 2.0, 3.0]), surv, [1.0, 2.0])
    1.0
    """
    y = as_survival_target(y, allow_all_censored=True)
    grid = check_time_grid(times, name="times")
    surv = check_survival_matrix(survival, y.shape[0], grid.shape[0])
    event, time = y["event"], y["time"]
    n = time.shape[0]
    # comparable prefix in decreasing key order (same rule as Harrell's C); risk is irrelevant
    prepared = prepare_pairs(event, time, np.zeros(n), 0.0)
    order, events, ends = prepared.order, prepared.events, prepared.ends
    denominator = float(ends.sum())
    if denominator <= 0:
        raise _no_pairs(n, int(event.sum()))
    cols = _column_at(grid, time[events])
    surv_sorted = surv[order]  # rows in prefix order
    concordant = 0
    by_col = np.argsort(cols, kind="stable")
    bounds = np.flatnonzero(np.diff(cols[by_col])) + 1
    brute: list[np.ndarray] = []
    nbits = max(1, n.bit_length())
    for group in np.split(by_col, bounds):
        if group.size > 8 * nbits:  # many events read this column: dominance count
            col = surv_sorted[:, cols[group[0]]]
            uniq, codes = np.unique(-col, return_inverse=True)
            thresholds = np.searchsorted(uniq, -surv[events[group], cols[group[0]]], "left")
            concordant += int(
                count_less_in_prefix(codes, uniq.shape[0], ends[group], thresholds).sum()
            )
        else:
            brute.append(group)
    if brute:
        rest = np.concatenate(brute)
        position = np.arange(n)
        step = max(1, 2_000_000 // n)
        for start in range(0, rest.shape[0], step):
            chunk = rest[start:start + step]
            own = surv[events[chunk], cols[chunk]]
            partner = surv_sorted[:, cols[chunk]]  # (n, chunk)
            hit = (partner > own) & (position[:, None] < ends[chunk])
            concordant += int(hit.sum())
    return concordant / denominator
