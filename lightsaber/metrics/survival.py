"""Time-dependent survival metrics: cumulative/dynamic AUC, Brier score, IBS, IBLL, MAE.

Conventions
-----------
* **Inverse probability of censoring weights** use ``G``, the Kaplan-Meier estimate of the
  censoring distribution fitted on ``y_train`` (the training split), evaluated as
  scikit-survival does: a case (event at ``T_i <= t``) is weighted ``1 / G(T_i)``, a control
  (``T_i > t``) ``1 / G(t)``. Pass ``y_train=y`` to fit ``G`` on the evaluation data instead.
* **Evaluation times** must be strictly increasing and lie in ``[min(time), max(time))`` of
  the evaluation outcome ``y`` (scikit-survival's rule).
* **Where ``G`` is 0** (everyone still followed was censored, e.g. administrative censoring at
  the end of a study) the IPCW weights are undefined: the Brier score, IBS and NBLL raise a
  :class:`MetricError` naming the time (scikit-survival returns a biased number there).
* **Risk, higher = earlier event** for the AUC (a vector, or one column per time).
  **Survival probabilities** ``S_i(t)`` for Brier/IBS/IBLL: one row per patient, one column per
  evaluation time.

Implementation: own vectorised code, checked against ``sksurv.metrics.cumulative_dynamic_auc``,
``brier_score`` and ``integrated_brier_score`` to 1e-9 (``tests/metrics/test_survival.py``).
It is justified by speed — one sort of the risk shared by all times and a vectorised censoring
Kaplan-Meier (scikit-survival argsorts an ``n x n_times`` matrix and counts in a Python loop)
— and by the IBLL, which scikit-survival lacks and pycox integrates with a SciPy function that
no longer exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lightsaber.exceptions import MetricError
from lightsaber.metrics._km import censoring_kaplan_meier, kaplan_meier
from lightsaber.metrics.validation import (
    as_survival_target,
    check_risk,
    check_survival_matrix,
    check_time_grid,
    check_times_within_followup,
)

__all__ = [
    "TimeDependentAUC",
    "brier_score",
    "cumulative_dynamic_auc",
    "integrated_auc",
    "integrated_brier_score",
    "integrated_negative_binomial_log_likelihood",
    "mae_event_time",
    "negative_binomial_log_likelihood",
    "survival_at_times",
]

_CHUNK = 4_000_000  # elements per temporary (n_samples x n_times) block


@dataclass(frozen=True)
class TimeDependentAUC:
    """Cumulative/dynamic AUC at each time and its integrated mean.

    Attributes
    ----------
    times : numpy.ndarray
        Evaluation times.
    auc : numpy.ndarray
        AUC(t): cases ``T_i <= t`` with an event, controls ``T_j > t``.
    mean_auc : float
        Mean AUC weighted by the Kaplan-Meier drop of ``y`` between times (Lambert & Chevret
        2016; scikit-survival's ``mean_auc``).
    """

    times: np.ndarray
    auc: np.ndarray
    mean_auc: float


def survival_at_times(survival: Any, times: Any, at: Any = None, **old: Any) -> np.ndarray:
    """Read survival curves given on a grid at other times (right-continuous steps).

    ``S(t)`` is the column of the last grid time ``<= t``, and 1 before the first grid time.

    Parameters
    ----------
    survival : array-like of shape (n_samples, n_grid)
        Survival probabilities on ``times``.
    times : array-like of shape (n_grid,)
        Strictly increasing times of the ``survival`` columns (the grid).
    at : array-like of shape (n_times,)
        Times to read the curves at.
    **old
        ``time_grid=`` (the grid) and ``times=`` (the times to read at) as keywords: the names
        before the architecture pass, accepted with a DeprecationWarning.

    Returns
    -------
    numpy.ndarray of shape (n_samples, n_times)

    Examples
    --------
    >>> survival_at_times([[0.9, 0.5]], [1.0, 3.0], [0.5, 1.0, 2.0, 4.0]).tolist()
    [[1.0, 0.9, 0.9, 0.5]]
    """
    if "time_grid" in old:  # survival_at_times(survival, time_grid=..., times=...)
        from lightsaber._moved import renamed

        renamed("time_grid", "times", "survival_at_times()")
        times, at = old.pop("time_grid"), times
    if old or at is None:
        raise TypeError(f"survival_at_times() needs survival, times and at; got unexpected "
                        f"{sorted(old)}" if old else "survival_at_times() missing 'at'")
    grid = check_time_grid(times, name="times")
    surv = np.asarray(survival, dtype=np.float64)
    if surv.ndim != 2:
        raise MetricError(
            f"survival must have shape (n_samples, n_grid); got shape {surv.shape}."
        )
    surv = check_survival_matrix(surv, surv.shape[0], grid.shape[0])
    at = np.atleast_1d(np.asarray(at, dtype=np.float64))
    idx = np.searchsorted(grid, at, side="right") - 1
    padded = np.concatenate((np.ones((surv.shape[0], 1)), surv), axis=1)
    return padded[:, idx + 1]


def _setup(y: Any, times: Any, y_train: Any, *, min_times: int = 1):
    y = as_survival_target(y)
    train = as_survival_target(y_train, name="y_train")
    times = check_time_grid(times, min_size=min_times)
    check_times_within_followup(times, y)
    return y, train, times


def cumulative_dynamic_auc(
    y: Any, risk: Any, times: Any, *, y_train: Any, tied_tol: float = 1e-8
) -> TimeDependentAUC:
    """Cumulative/dynamic time-dependent AUC with IPCW (Uno et al. 2007, Hung & Chiang 2010).

    At each time ``t`` a case is an event at ``T_i <= t`` (weight ``1 / G(T_i)``), a control a
    sample still event-free, ``T_j > t``. Tied risks (within ``tied_tol``) form one ROC step.
    Same definition and numbers as ``sksurv.metrics.cumulative_dynamic_auc``.

    Parameters
    ----------
    y : structured array or tuple
        Evaluation outcome.
    risk : array-like of shape (n_samples,) or (n_samples, n_times)
        Risk scores (higher = earlier event); one column per time for time-dependent risks.
    times : array-like of shape (n_times,)
        Strictly increasing times in ``[min(time), max(time))``.
    y_train : structured array or tuple
        Outcome the censoring distribution is fitted on.
    tied_tol : float, default 1e-8
        Risk-tie tolerance.

    Returns
    -------
    TimeDependentAUC

    Raises
    ------
    MetricError
        Bad inputs, times outside the follow-up, a time with no case.

    Examples
    --------
    >>> y = ([1, 1, 0, 1, 0, 1], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> res = cumulative_dynamic_auc(y, [6, 2, 1, 5, 3, 0.5], [1.5, 3.5], y_train=y)
    >>> res.auc.round(4).tolist(), round(res.mean_auc, 4)
    ([1.0, 0.6667], 0.8333)
    """
    y, train, times = _setup(y, times, y_train)
    n, k = y.shape[0], times.shape[0]
    arr = np.asarray(risk, dtype=np.float64) if np.ndim(risk) == 2 else None
    if arr is None:
        est = check_risk(risk, n)
    else:
        if arr.shape != (n, k):
            raise MetricError(
                f"risk must have shape (n_samples,) or (n_samples, n_times) = ({n}, {k}); "
                f"got shape {arr.shape}."
            )
        est = check_risk(arr.ravel(), name="risk").reshape(n, k)
    event, time = y["event"], y["time"]
    weights = np.zeros(n)
    g = censoring_kaplan_meier(train["event"], train["time"])
    needed = event & (time <= times[-1])
    g_t = g(time[needed])
    if (g_t == 0).any():
        raise MetricError(
            "the censoring survival function G estimated on y_train is 0 at an event time "
            "before the last evaluation time; choose earlier times."
        )
    weights[needed] = 1.0 / g_t
    auc = np.empty(k)
    if est.ndim == 1:
        order = np.argsort(-est)
        sorted_est = est[order]
        keep = np.r_[np.absolute(np.diff(sorted_est)) > tied_tol, True]  # last of a tie run
        t_sorted, e_sorted, w_sorted = time[order], event[order], weights[order]
        step = max(1, _CHUNK // max(n, 1))
        for lo in range(0, k, step):
            tt = times[lo:lo + step]
            case = (t_sorted[:, None] <= tt) & e_sorted[:, None]
            control = t_sorted[:, None] > tt
            auc[lo:lo + step] = _auc_columns(case * w_sorted[:, None], control, keep, tt)
    else:
        for j in range(k):
            order = np.argsort(-est[:, j])
            sorted_est = est[order, j]
            keep = np.r_[np.absolute(np.diff(sorted_est)) > tied_tol, True]
            tt = times[j:j + 1]
            case = (time[order, None] <= tt) & event[order, None]
            control = time[order, None] > tt
            auc[j] = _auc_columns(case * weights[order, None], control, keep, tt)[0]
    if k == 1:
        mean_auc = float(auc[0])
    else:
        s = kaplan_meier(event, time)(times)
        d = -np.diff(np.r_[1.0, s])
        mean_auc = float((auc * d).sum() / (1.0 - s[-1]))
    return TimeDependentAUC(times=times, auc=auc, mean_auc=mean_auc)


def _auc_columns(
    weighted_case: np.ndarray, control: np.ndarray, keep: np.ndarray, times: np.ndarray
) -> np.ndarray:
    tp = np.cumsum(weighted_case, axis=0)
    fp = np.cumsum(control, axis=0)
    total_tp, total_fp = tp[-1], fp[-1]
    if (total_tp == 0).any():
        bad = times[total_tp == 0][0]
        raise MetricError(
            f"no event at or before time {bad:g}: AUC(t) has no case there. Choose times after "
            "the first event time."
        )
    if (total_fp == 0).any():  # unreachable with times < max(time), kept as a guard
        raise MetricError("no sample is event-free after an evaluation time: no control.")
    tp = np.concatenate((np.zeros((1, tp.shape[1])), tp[keep] / total_tp))
    fp = np.concatenate((np.zeros((1, fp.shape[1])), fp[keep] / total_fp))
    return np.trapezoid(tp, fp, axis=0)


def integrated_auc(y: Any, risk: Any, times: Any, *, y_train: Any) -> float:
    """Integrated (mean) cumulative/dynamic AUC over ``times``; see :func:`cumulative_dynamic_auc`.

    Examples
    --------
    >>> y = ([1, 1, 0, 1, 0, 1], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> round(integrated_auc(y, [6, 2, 1, 5, 3, 0.5], [1.5, 3.5], y_train=y), 4)
    0.8333
    """
    return cumulative_dynamic_auc(y, risk, times, y_train=y_train).mean_auc


def _ipcw_scores(y, survival, times, train, loss):
    """Mean over patients of IPCW-weighted ``loss(S, is_case)`` at each time."""
    n, k = y.shape[0], times.shape[0]
    est = check_survival_matrix(survival, n, k)
    event, time = y["event"], y["time"]
    g = censoring_kaplan_meier(train["event"], train["time"])
    prob_cens_t = g(times)
    prob_cens_y = np.ones(n)  # only read where the row is a case at some time
    needed = event & (time <= times[-1])
    prob_cens_y[needed] = g(time[needed])
    _require_positive_weights(g, times, prob_cens_t, time[needed], prob_cens_y[needed])
    out = np.empty(k)
    step = max(1, _CHUNK // max(n, 1))
    for lo in range(0, k, step):
        tt = times[lo:lo + step]
        s = est[:, lo:lo + step]
        case = ((time[:, None] <= tt) & event[:, None]).astype(int)
        control = (time[:, None] > tt).astype(int)
        case_loss, control_loss = loss(s)
        out[lo:lo + step] = np.mean(
            case_loss * case / prob_cens_y[:, None]
            + control_loss * control / prob_cens_t[lo:lo + step], axis=0
        )
    return out


def _require_positive_weights(g: Any, times: np.ndarray, g_times: np.ndarray,
                              case_times: np.ndarray, g_cases: np.ndarray) -> None:
    """Raise :class:`MetricError` where the censoring estimate ``G`` is 0 (IPCW undefined).

    scikit-survival gives such rows weight 0 but keeps them in the divisor, which biases the
    score towards 0 (a constant 0.5 prediction can score 0.10 instead of 0.25); here it is an
    error that names the first such time.
    """
    zero = g_times == 0
    if zero.any():
        asked = float(times[np.flatnonzero(zero)[0]])
    elif (g_cases == 0).any():
        asked = float(np.min(case_times[g_cases == 0]))
    else:
        return
    reached = float(g.unique_time[np.flatnonzero(g.prob == 0)[0]])
    raise MetricError(
        f"the censoring survival function G estimated on y_train is 0 from time {reached:g} "
        f"on (needed at time {asked:g}), so the inverse-probability-of-censoring weights are "
        "undefined there: every patient still followed was censored by then (e.g. at the end "
        f"of the study). Evaluate at times below {reached:g}, or fit the censoring "
        "distribution on data with longer follow-up (y_train=...)."
    )


def brier_score(y: Any, survival: Any, times: Any, *, y_train: Any) -> np.ndarray:
    """Time-dependent Brier score with IPCW (Graf et al. 1999), scikit-survival's definition.

    ``BS(t) = mean_i[ S_i(t)^2 1(T_i <= t, event) / G(T_i) + (1 - S_i(t))^2 1(T_i > t) / G(t) ]``.

    Parameters
    ----------
    y : structured array or tuple
        Evaluation outcome.
    survival : array-like of shape (n_samples, n_times)
        Predicted survival probabilities at ``times``.
    times : array-like of shape (n_times,)
        Strictly increasing times in ``[min(time), max(time))``.
    y_train : structured array or tuple
        Outcome the censoring distribution is fitted on.

    Returns
    -------
    numpy.ndarray of shape (n_times,)

    Examples
    --------
    >>> y = ([1, 0, 1, 0], [1.0, 2.0, 3.0, 4.0])
    >>> brier_score(y, [[0.2], [0.9], [0.6], [0.8]], [2.5], y_train=y).round(4).tolist()
    [0.085]
    """
    y, train, times = _setup(y, times, y_train)
    return _ipcw_scores(y, survival, times, train, lambda s: (np.square(s), np.square(1.0 - s)))


def integrated_brier_score(y: Any, survival: Any, times: Any, *, y_train: Any) -> float:
    """Integrated Brier score over ``times`` (scikit-survival's ``integrated_brier_score``).

    Trapezoid integral of :func:`brier_score`, divided by ``times[-1] - times[0]``.

    Examples
    --------
    >>> y = ([1, 0, 1, 0], [1.0, 2.0, 3.0, 4.0])
    >>> surv = [[0.5, 0.2], [0.9, 0.8], [0.9, 0.6], [0.95, 0.8]]
    >>> round(integrated_brier_score(y, surv, [1.5, 3.5], y_train=y), 4)
    0.1141
    """
    y, train, times = _setup(y, times, y_train, min_times=2)
    scores = _ipcw_scores(y, survival, times, train, lambda s: (np.square(s), np.square(1.0 - s)))
    return float(np.trapezoid(scores, times) / (times[-1] - times[0]))


def _nbll_loss(eps: float):
    def loss(s: np.ndarray):
        s = np.clip(s, eps, 1.0 - eps)
        return -np.log(1.0 - s), -np.log(s)

    return loss


def negative_binomial_log_likelihood(
    y: Any, survival: Any, times: Any, *, y_train: Any, eps: float = 1e-7
) -> np.ndarray:
    """Negative binomial log-likelihood with IPCW at each time (lower is better).

    ``NBLL(t) = -mean_i[ log(1 - S_i(t)) 1(T_i <= t, event) / G(T_i)
    + log S_i(t) 1(T_i > t) / G(t) ]``, with ``S`` clipped to ``[eps, 1 - eps]`` — the Brier
    score's weighting with the log-loss (pycox's ``nbll``, normalised by ``n`` as
    scikit-survival's Brier score is, where pycox divides by the sum of the weights).

    Parameters
    ----------
    y, survival, times, y_train
        As for :func:`brier_score`.
    eps : float, default 1e-7
        Clipping of the probabilities (pycox's default).

    Returns
    -------
    numpy.ndarray of shape (n_times,)

    Examples
    --------
    >>> y = ([1, 0, 1, 0], [1.0, 2.0, 3.0, 4.0])
    >>> negative_binomial_log_likelihood(y, [[0.2], [0.9], [0.6], [0.8]], [2.5], y_train=y
    ...                                   ).round(4).tolist()
    [0.331]
    """
    y, train, times = _setup(y, times, y_train)
    return _ipcw_scores(y, survival, times, train, _nbll_loss(eps))


def integrated_negative_binomial_log_likelihood(
    y: Any, survival: Any, times: Any, *, y_train: Any, eps: float = 1e-7
) -> float:
    """Integrated negative binomial log-likelihood (IBLL; lower is better).

    Trapezoid integral of :func:`negative_binomial_log_likelihood` divided by the time span,
    like the integrated Brier score.

    Examples
    --------
    >>> y = ([1, 0, 1, 0], [1.0, 2.0, 3.0, 4.0])
    >>> surv = [[0.5, 0.2], [0.9, 0.8], [0.9, 0.6], [0.95, 0.8]]
    >>> round(integrated_negative_binomial_log_likelihood(y, surv, [1.5, 3.5], y_train=y), 4)
    0.3609
    """
    y, train, times = _setup(y, times, y_train, min_times=2)
    scores = _ipcw_scores(y, survival, times, train, _nbll_loss(eps))
    return float(np.trapezoid(scores, times) / (times[-1] - times[0]))


def mae_event_time(y: Any, predicted_time: Any) -> float:
    """Mean absolute error between predicted and observed times, over patients with an event.

    Censored patients are left out (their true time is unknown); the result is therefore
    optimistic under heavy censoring. For models that predict a time (e.g. an AFT median).

    Parameters
    ----------
    y : structured array or tuple
        Evaluation outcome; needs at least one event.
    predicted_time : array-like of shape (n_samples,)
        Predicted event times (finite), one per patient.

    Returns
    -------
    float

    Examples
    --------
    >>> mae_event_time(([1, 0, 1], [2.0, 5.0, 4.0]), [3.0, 1.0, 4.5])
    0.75
    """
    y = as_survival_target(y)
    pred = check_risk(predicted_time, y.shape[0], name="predicted_time")
    event = y["event"]
    return float(np.mean(np.absolute(y["time"][event] - pred[event])))
