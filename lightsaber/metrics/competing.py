"""Competing-risks metrics: Aalen-Johansen CIF, cause-specific AUC and Brier, Wolbers' C.

:func:`cumulative_incidence` (Aalen-Johansen), :func:`cause_specific_auc` (time-dependent
AUC), :func:`brier_score_competing` / :func:`integrated_brier_score_competing` (IPCW Brier
score of a predicted cumulative incidence) and :func:`wolbers_c` (truncated cause-specific
concordance).

Conventions
-----------
* **Outcome**: ``status`` 0 = censored, 1..K = the cause that ended follow-up, and ``time``;
  a structured array or a ``(status, time)`` tuple, validated by
  :func:`lightsaber.data.targets.check_competing_target`. ``cause`` (default 1) is the cause
  of interest and must occur in ``y``.
* **Predictions** are cause-``k`` cumulative incidences ``F_k(t | x_i)`` (the probability of a
  cause-``k`` event by ``t``): one row per patient, one column per evaluation time. Higher =
  earlier cause-``k`` event, so they rank patients directly.
* **Inverse probability of censoring weights** use ``G``, the Kaplan-Meier estimate of the
  censoring distribution (censorings are the "events"; an event tied with a censoring is
  taken to happen first), fitted on ``y_train`` when given and otherwise on ``y`` itself
  (riskRegression's and pec's convention, where the censoring model is fitted on the data
  passed to ``Score`` / ``cindex``; lightsaber's survival metrics require ``y_train``). A
  patient with an event of any cause at ``T_i <= t`` is weighted ``1 / G(T_i-)`` (the left
  limit, ``prodlim::predictSurvIndividual(lag = 1)``), a patient still event-free at ``t``
  ``1 / G(t)``; patients censored by ``t`` get weight 0.
* **Evaluation times** must be finite, strictly increasing and lie in ``[min(time),
  max(time))`` of ``y`` (the rule of :mod:`lightsaber.metrics.survival`).
* **Undefined results raise** :class:`~lightsaber.exceptions.MetricError`, naming the
  argument, the value and a fix: no cause-``k`` case by ``t``, no control, ``G = 0`` where a
  weight is needed (e.g. ``y_train`` with shorter follow-up). Nothing returns NaN. An
  unusable outcome raises :class:`~lightsaber.exceptions.TargetError` (the outcome checker's).
* **Ties in the predictions** are exact (``==``), as in R: tied CIFs form one ROC step, and
  count one half in the concordance.

References (tested in ``tests/metrics/test_competing.py`` against fixtures made with R 4.2.2,
riskRegression 2022.11.28, prodlim 2019.11.13 and pec 2022.05.04):
:func:`cumulative_incidence` equals ``prodlim(Hist(time, status) ~ 1)`` with
``predict(..., type = "cuminc")``; :func:`cause_specific_auc` and
:func:`brier_score_competing` equal ``riskRegression::Score(..., cens.model = "km")``;
:func:`wolbers_c` equals ``pec::cindex(..., cens.model = "marginal")``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lightsaber.data.targets import check_competing_target, make_competing_target
from lightsaber.exceptions import MetricError
from lightsaber.metrics._km import StepFunction, censoring_kaplan_meier
from lightsaber.metrics._pairs import event_counts, prepare_pairs, weighted_less_in_prefix
from lightsaber.metrics.validation import (
    check_probability,
    check_risk,
    check_time_grid,
    check_times_within_followup,
)

__all__ = [
    "brier_score_competing",
    "cause_specific_auc",
    "cumulative_incidence",
    "integrated_brier_score_competing",
    "wolbers_c",
]


# --- validation --------------------------------------------------------------------------


def _as_competing(y: Any, name: str = "y") -> np.ndarray:
    """Validate a competing-risks outcome; a tuple's messages name ``name[0]`` / ``name[1]``."""
    if isinstance(y, tuple):
        if len(y) != 2:
            raise MetricError(
                f"{name} as a tuple must be (status, time); got a tuple of {len(y)} items."
            )
        out = make_competing_target(y[0], y[1], status_name=f"{name}[0] (status)",
                                    duration_name=f"{name}[1] (time)")
    else:
        out = check_competing_target(y)
    if out.shape[0] == 0:
        raise MetricError(f"{name} is empty; a competing-risks metric needs at least one row.")
    return out


def _check_cause(cause: Any, y: np.ndarray) -> int:
    if isinstance(cause, (bool, np.bool_)) or not isinstance(cause, (int, np.integer)) \
            or cause < 1:
        raise MetricError(
            f"cause must be a positive integer cause code (0 means censored); got {cause!r}."
        )
    seen = sorted(set(y["status"][y["status"] > 0].tolist()))
    if int(cause) not in seen:
        raise MetricError(
            f"cause={int(cause)} does not occur in y (causes seen: {seen}); pass one of them as "
            "cause=... (R's prodlim and riskRegression refuse an unobserved cause too)."
        )
    return int(cause)


def _check_cif(cif: Any, n: int, k: int, *, probability: bool) -> np.ndarray:
    """A ``(n, k)`` float matrix of predicted CIFs (a vector is accepted when ``k == 1``)."""
    try:
        arr = np.asarray(cif, dtype=np.float64)
    except (TypeError, ValueError):
        raise MetricError(
            f"cif must be numeric; got values of dtype {np.asarray(cif).dtype}."
        ) from None
    if arr.ndim == 1 and k == 1:
        arr = arr.reshape(-1, 1)
    if arr.shape != (n, k):
        hint = (" A vector is accepted only with one evaluation time." if arr.ndim == 1 else
                " Pass one row per patient of y and one column per time (transpose it?).")
        raise MetricError(
            f"cif must have shape (n_samples, n_times) = ({n}, {k}); got shape {arr.shape}."
            + hint
        )
    if probability:
        return check_probability(arr, n, name="cif")
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        rows = ", ".join(str(i) for i in np.flatnonzero(bad)[:5])
        raise MetricError(
            f"cif has NaN or infinite values in {int(bad.sum())} row(s) (rows {rows}); "
            "expected predicted cumulative incidences."
        )
    return arr


def _left_limit(g: StepFunction, time: np.ndarray) -> np.ndarray:
    """``G(t-)``: the value at the last jump time strictly before ``t`` (1 before the first)."""
    g(time)  # raises beyond the follow-up of the data ``g`` was fitted on
    idx = np.searchsorted(g.unique_time, time, side="left") - 1
    return np.where(idx >= 0, g.prob[np.maximum(idx, 0)], 1.0)


def _zero_weight_error(where: str, time: float, fitted_on: str) -> MetricError:
    return MetricError(
        f"the censoring survival function G estimated on {fitted_on} is 0 {where} {time:g}, so "
        "the inverse-probability-of-censoring weights are undefined there: every patient "
        f"still followed in {fitted_on} was censored by then. Evaluate at earlier times, or "
        "fit the censoring distribution on data with longer follow-up (y_train=...)."
    )


def _setup(y: Any, cif: Any, times: Any, cause: Any, y_train: Any, *, probability: bool,
           min_times: int = 1):
    """Validate everything; return outcome, CIF matrix, times, cause, ``G(t)``, ``G(T_i-)``."""
    y = _as_competing(y)
    cause = _check_cause(cause, y)
    times = check_time_grid(times, min_size=min_times)
    check_times_within_followup(times, y)
    est = _check_cif(cif, y.shape[0], times.shape[0], probability=probability)
    fitted_on = "y" if y_train is None else "y_train"
    train = y if y_train is None else _as_competing(y_train, "y_train")
    g = censoring_kaplan_meier(train["status"] > 0, train["time"])
    g_times = g(times)
    if (g_times == 0).any():
        raise _zero_weight_error("at the evaluation time", float(times[g_times == 0][0]),
                                 fitted_on)
    status, time = y["status"], y["time"]
    # read only for rows with an event at T_i <= t, where G(T_i-) >= G(t) > 0 (checked above)
    g_minus = np.ones(y.shape[0])
    needed = (status > 0) & (time <= times[-1])
    g_minus[needed] = _left_limit(g, time[needed])
    return y, est, times, cause, g_times, g_minus


# --- Aalen-Johansen -----------------------------------------------------------------------


def cumulative_incidence(y: Any, times: Any, *, cause: int = 1) -> np.ndarray:
    """Aalen-Johansen estimate of the cumulative incidence of ``cause`` at ``times``.

    ``F_k(t) = sum_{u <= t} S(u-) d_k(u) / n(u)``: ``S`` the Kaplan-Meier estimate of being
    free of every cause, ``d_k(u)`` the cause-``k`` events at ``u`` and ``n(u)`` the number at
    risk. A right-continuous step function: the value at ``t`` includes the events at ``t``.
    The same arithmetic as ``prodlim(Hist(time, status) ~ 1)`` with ``predict(fit, times,
    cause = k, type = "cuminc")`` (R prodlim 2019.11.13), to ~1e-16.

    Parameters
    ----------
    y : structured array or tuple
        Competing-risks outcome: ``status`` (0 censored, 1..K causes) and ``time``.
    times : array-like of shape (n_times,)
        Strictly increasing, non-negative times, at most the last follow-up time (later when
        everyone had an event: the estimate is then constant).
    cause : int, default 1
        The cause of interest; it must occur in ``y``.

    Returns
    -------
    numpy.ndarray of shape (n_times,)
        Non-decreasing values in ``[0, 1]``. Summed over all causes and added to the
        Kaplan-Meier overall survival they give 1.

    Raises
    ------
    MetricError
        Bad ``times`` or ``cause``, times after the last follow-up time.
    TargetError
        An unusable outcome (see :func:`~lightsaber.data.targets.check_competing_target`).

    Examples
    --------
    >>> y = ([1, 2, 0, 1, 2], [1.0, 2.0, 3.0, 4.0, 5.0])
    >>> cumulative_incidence(y, [0.5, 1.0, 4.0, 5.0], cause=1).tolist()
    [0.0, 0.2, 0.5, 0.5]
    >>> cumulative_incidence(y, [4.0, 5.0], cause=2).tolist()
    [0.2, 0.5]
    """
    y = _as_competing(y)
    cause = _check_cause(cause, y)
    times = check_time_grid(times)
    if times.min() < 0:
        raise MetricError(
            f"times must be non-negative (durations since the index date); got "
            f"{times.min():g}."
        )
    status, time = y["status"], y["time"]
    uniq, inverse, counts = np.unique(time, return_inverse=True, return_counts=True)
    n_any = np.bincount(inverse[status > 0], minlength=uniq.shape[0])
    n_cause = np.bincount(inverse[status == cause], minlength=uniq.shape[0])
    at_risk = time.shape[0] - np.r_[0, np.cumsum(counts)][:-1]
    surv = np.cumprod(1.0 - n_any / at_risk)  # prodlim's pl_step: S *= 1 - d / n
    surv_before = np.r_[1.0, surv[:-1]]
    cif = np.cumsum(surv_before * (n_cause / at_risk))  # prodlim: I += S(u-) * d_k / n
    if times.max() > uniq[-1] and surv[-1] > 0:
        raise MetricError(
            f"times must not exceed the last follow-up time of y, {uniq[-1]:g}; got "
            f"{times.max():g}. The Aalen-Johansen estimate is undefined after it (R's prodlim "
            "returns NA): restrict the times to the follow-up."
        )
    idx = np.searchsorted(uniq, times, side="right") - 1
    return np.where(idx >= 0, cif[np.maximum(idx, 0)], 0.0)


# --- AUC ----------------------------------------------------------------------------------


def cause_specific_auc(y: Any, cif: Any, times: Any, *, cause: int = 1,
                       y_train: Any = None) -> np.ndarray:
    """Cause-specific time-dependent AUC with IPCW (Blanche et al. 2013, definition 2).

    At each time ``t`` a **case** had a cause-``k`` event by ``t`` (weight ``1 / G(T_i-)``);
    the **controls** are everyone else not censored by ``t``: still event-free at ``t``
    (``1 / G(t)``) or with another cause by ``t`` (``1 / G(T_i-)``). AUC(t) is the area under
    the weighted ROC curve of the predicted CIF at ``t`` (trapezoids; tied predictions form one
    step). The definition and numbers of ``riskRegression::Score(..., metrics = "auc",
    cens.model = "km")`` (riskRegression 2022.11.28).

    Parameters
    ----------
    y : structured array or tuple
        Evaluation outcome: ``status`` (0 censored, 1..K causes) and ``time``.
    cif : array-like of shape (n_samples, n_times)
        Predicted cause-``k`` cumulative incidence of each patient at each time (any finite
        score that is higher for an earlier cause-``k`` event works); a vector when there is
        one time.
    times : array-like of shape (n_times,)
        Strictly increasing times in ``[min(time), max(time))`` of ``y``.
    cause : int, default 1
        The cause of interest; it must occur in ``y``.
    y_train : structured array or tuple, optional
        Outcome the censoring distribution is fitted on; by default ``y`` itself (R's
        convention).

    Returns
    -------
    numpy.ndarray of shape (n_times,)
        One AUC per time.

    Raises
    ------
    MetricError
        Bad inputs; a time with no cause-``k`` case or no control; ``G = 0`` where a weight is
        needed.
    TargetError
        An unusable outcome (see :func:`~lightsaber.data.targets.check_competing_target`).

    Examples
    --------
    >>> y = ([1, 2, 1, 0, 1, 0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> cif = [[0.5, 0.7], [0.6, 0.3], [0.3, 0.6], [0.1, 0.2], [0.2, 0.25], [0.1, 0.1]]
    >>> cause_specific_auc(y, cif, [2.5, 5.5]).round(4).tolist()
    [0.8, 0.8286]
    """
    y, est, times, cause, g_times, g_minus = _setup(y, cif, times, cause, y_train,
                                                    probability=False)
    status, time = y["status"], y["time"]
    auc = np.empty(times.shape[0])
    for j, t in enumerate(times):
        by_t = time <= t
        case = by_t & (status == cause)
        other = by_t & (status > 0) & (status != cause)
        w_case = np.where(case, 1.0 / g_minus, 0.0)
        w_control = np.where(other, 1.0 / g_minus, 0.0) + (time > t) / g_times[j]
        if not case.any():
            raise MetricError(
                f"no cause-{cause} event at or before time {t:g} in y: AUC(t) has no case "
                f"there. Choose times after the first cause-{cause} event time "
                f"({time[status == cause].min():g})."
            )
        if not (w_control > 0).any():  # unreachable while t < max(time), kept as a guard
            raise MetricError(
                f"no control at time {t:g}: every patient of y not censored by then had a "
                f"cause-{cause} event, so AUC(t) is undefined. Choose earlier times."
            )
        order = np.argsort(-est[:, j], kind="stable")
        ranked = est[order, j]
        keep = np.r_[ranked[1:] != ranked[:-1], True]  # last row of each run of tied risks
        tp = np.cumsum(w_case[order])
        fp = np.cumsum(w_control[order])
        tp = np.r_[0.0, tp[keep] / tp[-1]]
        fp = np.r_[0.0, fp[keep] / fp[-1]]
        auc[j] = float(np.sum(np.diff(fp) * (tp[1:] + tp[:-1]) / 2.0))
    return auc


# --- Brier score --------------------------------------------------------------------------


def _brier(y: np.ndarray, est: np.ndarray, times: np.ndarray, cause: int, g_times: np.ndarray,
           g_minus: np.ndarray) -> np.ndarray:
    status, time = y["status"], y["time"]
    out = np.empty(times.shape[0])
    for j, t in enumerate(times):
        f = est[:, j]
        by_t = time <= t
        case = by_t & (status == cause)
        other = by_t & (status > 0) & (status != cause)
        residual = (np.where(case, np.square(1.0 - f) / g_minus, 0.0)
                    + np.where(other, np.square(f) / g_minus, 0.0)
                    + np.where(time > t, np.square(f) / g_times[j], 0.0))
        out[j] = residual.sum() / time.shape[0]
    return out


def brier_score_competing(y: Any, cif: Any, times: Any, *, cause: int = 1,
                          y_train: Any = None) -> np.ndarray:
    """IPCW Brier score of predicted cause-``k`` cumulative incidences (Gerds & Schumacher).

    ``BS(t) = mean_i[ (1 - F_i(t))^2 1(T_i <= t, cause k) / G(T_i-)
    + F_i(t)^2 1(T_i <= t, another cause) / G(T_i-) + F_i(t)^2 1(T_i > t) / G(t) ]``; patients
    censored by ``t`` contribute 0 (and stay in the divisor ``n``). The definition and
    numbers of ``riskRegression::Score(..., metrics = "brier", cens.model = "km")``
    (riskRegression 2022.11.28). Its ``"Null model"`` row is this score for the Aalen-Johansen
    CIF of ``y`` itself, ``cumulative_incidence(y, times)`` repeated for every patient.

    Parameters
    ----------
    y : structured array or tuple
        Evaluation outcome: ``status`` (0 censored, 1..K causes) and ``time``.
    cif : array-like of shape (n_samples, n_times)
        Predicted cause-``k`` cumulative incidences in ``[0, 1]``; a vector when there is one
        time.
    times : array-like of shape (n_times,)
        Strictly increasing times in ``[min(time), max(time))`` of ``y``.
    cause : int, default 1
        The cause of interest; it must occur in ``y``.
    y_train : structured array or tuple, optional
        Outcome the censoring distribution is fitted on; by default ``y`` itself (R's
        convention).

    Returns
    -------
    numpy.ndarray of shape (n_times,)
        One Brier score per time (lower is better).

    Raises
    ------
    MetricError
        Bad inputs (a CIF outside ``[0, 1]``, wrong shape, bad times); ``G = 0`` where a weight
        is needed.
    TargetError
        An unusable outcome (see :func:`~lightsaber.data.targets.check_competing_target`).

    Examples
    --------
    >>> y = ([1, 2, 1, 0, 1, 0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> cif = [[0.5, 0.7], [0.6, 0.3], [0.3, 0.6], [0.1, 0.2], [0.2, 0.25], [0.1, 0.1]]
    >>> brier_score_competing(y, cif, [2.5, 5.5]).round(4).tolist()
    [0.1267, 0.1998]
    """
    y, est, times, cause, g_times, g_minus = _setup(y, cif, times, cause, y_train,
                                                    probability=True)
    return _brier(y, est, times, cause, g_times, g_minus)


def integrated_brier_score_competing(y: Any, cif: Any, times: Any, *, cause: int = 1,
                                     y_train: Any = None) -> float:
    """Integrated cause-``k`` Brier score: the mean of :func:`brier_score_competing` over times.

    The trapezoid integral of ``BS(t)`` over ``times``, divided by ``times[-1] - times[0]`` —
    the convention of lightsaber's :func:`~lightsaber.metrics.integrated_brier_score` (and
    scikit-survival's). riskRegression's ``summary = "ibs"`` integrates a step function from 0
    instead, so its numbers differ.

    Parameters
    ----------
    y : structured array or tuple
        Evaluation outcome: ``status`` (0 censored, 1..K causes) and ``time``.
    cif : array-like of shape (n_samples, n_times)
        Predicted cause-``k`` cumulative incidences in ``[0, 1]``.
    times : array-like of shape (n_times,)
        At least two strictly increasing times in ``[min(time), max(time))`` of ``y``.
    cause : int, default 1
        The cause of interest; it must occur in ``y``.
    y_train : structured array or tuple, optional
        Outcome the censoring distribution is fitted on; by default ``y`` itself.

    Returns
    -------
    float

    Raises
    ------
    MetricError
        As :func:`brier_score_competing`, or fewer than two times.
    TargetError
        An unusable outcome (see :func:`~lightsaber.data.targets.check_competing_target`).

    Examples
    --------
    >>> y = ([1, 2, 1, 0, 1, 0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> cif = [[0.5, 0.7], [0.6, 0.3], [0.3, 0.6], [0.1, 0.2], [0.2, 0.25], [0.1, 0.1]]
    >>> round(integrated_brier_score_competing(y, cif, [2.5, 5.5]), 4)
    0.1632
    """
    y, est, times, cause, g_times, g_minus = _setup(y, cif, times, cause, y_train,
                                                    probability=True, min_times=2)
    scores = _brier(y, est, times, cause, g_times, g_minus)
    return float(np.trapezoid(scores, times) / (times[-1] - times[0]))


# --- concordance --------------------------------------------------------------------------


def wolbers_c(y: Any, risk: Any, *, cause: int = 1, tau: float | None = None) -> float:
    """Truncated cause-specific concordance of Wolbers et al. (2009), as ``pec::cindex``.

    A pair ``(i, j)`` is comparable when ``i`` had a cause-``k`` event at ``T_i <= tau`` and
    ``j`` either left later (``T_j > T_i``, or was censored at ``T_i``; weight
    ``1 / (G(T_i-) G(T_i))``) or had another cause at ``T_j <= T_i`` (weight
    ``1 / (G(T_i-) G(T_j-))``). It is concordant when ``risk_i > risk_j``; tied risks count
    one half. ``C = weighted concordant / weighted comparable``. ``G`` is the Kaplan-Meier
    estimate of the censoring distribution of ``y`` itself — what ``pec::cindex(..., cause = k,
    cens.model = "marginal")`` (pec 2022.05.04) computes with ``eval.times = tau``, in
    O(n log n) instead of O(n^2).

    Parameters
    ----------
    y : structured array or tuple
        Evaluation outcome: ``status`` (0 censored, 1..K causes) and ``time``.
    risk : array-like of shape (n_samples,)
        Higher = earlier cause-``k`` event, e.g. the predicted cause-``k`` CIF at ``tau``.
    cause : int, default 1
        The cause of interest; it must occur in ``y``.
    tau : float, optional
        Truncation time: only cause-``k`` events at ``T_i <= tau`` (pec's rule; lightsaber's
        :func:`~lightsaber.metrics.uno_c` uses ``T_i < tau``) are first members. ``None``
        uses every cause-``k`` event (pec's default, the last event time).

    Returns
    -------
    float

    Raises
    ------
    MetricError
        Bad risk, ``cause`` or ``tau``; no comparable pair; ``G(T_i) = 0`` for a case with a
        partner (a cause-``k`` event tied with censorings at the last follow-up time).
    TargetError
        An unusable outcome (see :func:`~lightsaber.data.targets.check_competing_target`).

    Examples
    --------
    >>> y = ([1, 2, 1, 0, 1, 0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> risk = [0.7, 0.3, 0.6, 0.2, 0.25, 0.1]
    >>> round(wolbers_c(y, risk), 4)  # 15/17: the case at 5 ranks below the cause-2 event
    0.8824
    >>> wolbers_c(y, risk, tau=3.0)
    1.0
    """
    y = _as_competing(y)
    cause = _check_cause(cause, y)
    risk = check_risk(risk, y.shape[0])
    status, time = y["status"], y["time"]
    extra = ""
    if tau is not None:
        try:
            tau = float(tau)
        except (TypeError, ValueError):
            raise MetricError(f"tau must be a finite time or None; got {tau!r}.") from None
        if not np.isfinite(tau):
            raise MetricError(f"tau must be a finite time or None; got {tau!r}.")
        extra = f" at or before tau={tau:g}"
    is_case = (status == cause) & (time <= (np.inf if tau is None else tau))
    if not is_case.any():
        raise MetricError(
            f"no cause-{cause} event{extra} in y: the concordance has no comparable pair. "
            f"Choose tau at or after the first cause-{cause} event time "
            f"({time[status == cause].min():g})."
        )
    event = status > 0
    g = censoring_kaplan_meier(event, time)
    pairs = prepare_pairs(event, time, risk, 0.0)  # exact ties, as pec
    conc_a, tied_a, comp_a = event_counts(pairs)
    sel = is_case[pairs.events]
    rows = pairs.events[sel]
    conc_a, tied_a, comp_a = conc_a[sel], tied_a[sel], comp_a[sel]
    g_minus = _left_limit(g, time[rows])
    g_at = g(time[rows])
    if ((g_at == 0) & (comp_a > 0)).any():
        raise _zero_weight_error("at the cause-specific event time",
                                 float(time[rows][(g_at == 0) & (comp_a > 0)].min()), "y")
    w_a = np.where(comp_a > 0, 1.0 / (g_minus * np.where(g_at > 0, g_at, 1.0)), 0.0)
    # partners with another cause at T_j <= T_i: a weighted count over a time-sorted prefix
    codes = np.empty(time.shape[0], dtype=np.int64)
    codes[pairs.order] = pairs.codes
    others = np.flatnonzero(event & (status != cause))
    others = others[np.argsort(time[others], kind="stable")]
    w_j = 1.0 / _left_limit(g, time[others])
    ends = np.searchsorted(time[others], time[rows], side="right")
    lower, upper = pairs.lower[sel], pairs.upper[sel]
    below = weighted_less_in_prefix(codes[others], pairs.n_codes,
                                    np.r_[ends, ends], np.r_[lower, upper], w_j)
    conc_b, upto_b = below[:rows.size], below[rows.size:]
    comp_b = np.r_[0.0, np.cumsum(w_j)][ends]
    numerator = (np.dot(w_a, conc_a + 0.5 * tied_a)
                 + np.dot(1.0 / g_minus, conc_b + 0.5 * (upto_b - conc_b)))
    denominator = np.dot(w_a, comp_a) + np.dot(1.0 / g_minus, comp_b)
    if denominator <= 0:
        raise MetricError(
            f"no comparable pair among {time.shape[0]} samples with {int(is_case.sum())} "
            f"cause-{cause} event(s){extra}: each needs a later (or same-time censored) sample "
            "or an earlier other-cause event to be compared with."
        )
    return float(numerator / denominator)
