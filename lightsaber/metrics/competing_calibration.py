"""Calibration of predicted cumulative incidences at a horizon, by groups of predicted risk.

The competing-risks counterpart of :func:`~lightsaber.metrics.calibration_at_horizon`: patients
are ranked by their predicted cause-``k`` cumulative incidence ``F_k(h | x_i)`` at the horizon
``h`` and cut into ``n_groups`` groups of (nearly) equal size (deciles by default, ties broken by
row order, as the survival version). For each group the mean predicted CIF is set against the
**observed** CIF of the group, its Aalen-Johansen estimate at ``h``
(:func:`~lightsaber.metrics.cumulative_incidence`; 0 for a group with no cause-``k`` event,
read at the group's last follow-up time if ``h`` is beyond it, as the survival version reads its
Kaplan-Meier estimate). Patients with another cause stay in their group: the Aalen-Johansen
estimate counts them as no longer at risk of cause ``k``, never as censored, which is what
makes it the right "observed" value (1 - Kaplan-Meier with the other causes censored
over-states it).

The summary is the group-size-weighted mean absolute difference between observed and predicted
(the grouped calibration error, the competing-risks analogue of the ECE of a classifier), the
largest difference, and calibration in the large: the mean predicted CIF against the
Aalen-Johansen CIF of all patients. The survival version's smoothed ICI (a Cox model on a
spline of the prediction) has a competing-risks analogue that needs a Fine-Gray fit (Austin,
Putter, Giardiello & van Klaveren, Diagn Progn Res 2022); it is not computed here.

References: van Geloven et al., "Validation of prediction models in the presence of competing
risks: a guide through modern methods", BMJ 2022;377:e069249 (calibration plots of predicted
vs Aalen-Johansen observed CIF by risk group).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lightsaber.exceptions import MetricError
from lightsaber.metrics.competing import _as_competing, _check_cause, cumulative_incidence
from lightsaber.metrics.validation import check_probability, check_time_grid

__all__ = ["CIFCalibration", "cif_at_times", "cif_calibration_at_horizon"]


@dataclass(frozen=True)
class CIFCalibration:
    """Predicted vs Aalen-Johansen observed cumulative incidence at a horizon, by risk group.

    Attributes
    ----------
    horizon : float
        The horizon ``h``.
    cause : int
        The cause code ``k``.
    predicted_cif : numpy.ndarray
        Mean predicted ``F_k(h | x)`` per group (non-decreasing).
    observed_cif : numpy.ndarray
        Aalen-Johansen ``F_k(h)`` of each group.
    n : numpy.ndarray
        Patients per group.
    n_events : numpy.ndarray
        Cause-``k`` events at or before the horizon per group.
    n_competing : numpy.ndarray
        Events of the other causes at or before the horizon per group.
    mean_abs_error : float
        ``sum_g n_g |observed_g - predicted_g| / n``.
    max_abs_error : float
        ``max_g |observed_g - predicted_g|``.
    predicted_overall, observed_overall : float
        Mean predicted CIF of all patients, and their Aalen-Johansen CIF (calibration in the
        large).
    """

    horizon: float
    cause: int
    predicted_cif: np.ndarray
    observed_cif: np.ndarray
    n: np.ndarray
    n_events: np.ndarray
    n_competing: np.ndarray
    mean_abs_error: float
    max_abs_error: float
    predicted_overall: float
    observed_overall: float

    def summary(self) -> dict[str, Any]:
        """Aggregates only (per-group means and counts), JSON-ready.

        Examples
        --------
        >>> y = ([1, 2, 1, 0, 1, 2], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        >>> cal = cif_calibration_at_horizon(y, [0.6, 0.1, 0.5, 0.2, 0.3, 0.1], 3.5, n_groups=2)
        >>> sorted(cal.summary())[:3]
        ['cause', 'horizon', 'max_abs_error']
        """
        return {
            "horizon": self.horizon, "cause": self.cause,
            "mean_abs_error": self.mean_abs_error, "max_abs_error": self.max_abs_error,
            "predicted_overall": self.predicted_overall,
            "observed_overall": self.observed_overall,
            "predicted_cif": self.predicted_cif.tolist(),
            "observed_cif": self.observed_cif.tolist(), "n": self.n.tolist(),
            "n_events": self.n_events.tolist(), "n_competing": self.n_competing.tolist(),
        }


def cif_at_times(cif: Any, times: Any, at: Any) -> np.ndarray:
    """Read CIF curves on a grid at other times: right-continuous steps, 0 before the grid.

    Parameters
    ----------
    cif : array-like of shape (n_samples, n_times)
        Cumulative incidences on ``times``.
    times : array-like of shape (n_times,)
        Strictly increasing grid of the columns of ``cif``.
    at : array-like of shape (n_at,)
        Times to read at.

    Returns
    -------
    numpy.ndarray of shape (n_samples, n_at)

    Examples
    --------
    >>> cif_at_times([[0.1, 0.3]], [1.0, 2.0], [0.5, 1.0, 1.5, 9.0]).tolist()
    [[0.0, 0.1, 0.1, 0.3]]
    """
    grid = check_time_grid(times)
    values = np.asarray(cif, dtype=float)
    if values.ndim != 2 or values.shape[1] != grid.shape[0]:
        raise MetricError(f"cif must have one column per time ({grid.shape[0]}); got shape "
                          f"{values.shape}.")
    at = np.atleast_1d(np.asarray(at, dtype=float))
    index = np.searchsorted(grid, at, side="right") - 1
    return np.where(index[None, :] >= 0, values[:, np.maximum(index, 0)], 0.0)


def _check_horizon(horizon: Any, y: np.ndarray) -> float:
    try:
        h = float(horizon)
    except (TypeError, ValueError):
        raise MetricError(f"horizon must be a finite time; got {horizon!r}.") from None
    lo, hi = float(y["time"].min()), float(y["time"].max())
    if not np.isfinite(h) or h < lo or h >= hi:
        raise MetricError(
            f"horizon must lie within the follow-up of y, [{lo:g}, {hi:g}); got {horizon!r}. "
            "After the last follow-up time nobody is observed, so the observed cumulative "
            "incidence is undefined there: choose an earlier horizon.")
    return h


def _observed(status: np.ndarray, time: np.ndarray, h: float, cause: int) -> float:
    if not (status == cause).any():
        return 0.0  # the Aalen-Johansen estimate of a cause never seen is 0
    at = min(h, float(time.max()))
    return float(cumulative_incidence((status, time), [at], cause=cause)[0])


def cif_calibration_at_horizon(y: Any, cif: Any, horizon: float, *, cause: int = 1,
                               n_groups: int = 10) -> CIFCalibration:
    """Predicted vs Aalen-Johansen observed cause-``k`` CIF at a horizon, by risk group.

    Parameters
    ----------
    y : structured array or tuple
        Competing-risks outcome: ``status`` (0 censored, 1..K causes) and ``time``.
    cif : array-like of shape (n_samples,)
        Predicted ``F_k(h | x_i)``, the cause-``k`` cumulative incidence at the horizon (read a
        CIF matrix at ``h`` with :func:`cif_at_times`).
    horizon : float
        ``h``, within the follow-up of ``y``: ``min(time) <= h < max(time)``.
    cause : int, default 1
        The cause ``k``; it must occur in ``y``.
    n_groups : int, default 10
        Number of risk groups (deciles).

    Returns
    -------
    CIFCalibration

    Raises
    ------
    MetricError
        A horizon outside the follow-up, a cause that does not occur in ``y``, predictions
        outside ``[0, 1]`` or of the wrong length, ``n_groups`` out of range.

    Examples
    --------
    Cause 1 with hazard ``exp(x)``, cause 2 with hazard 1 and the true CIF as the prediction:

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=4000)
    >>> rate1, total = np.exp(x), np.exp(x) + 1.0
    >>> t = rng.exponential(1 / total)
    >>> status = np.where(rng.random(4000) < rate1 / total, 1, 2)
    >>> true = rate1 / total * (1 - np.exp(-total * 0.5))
    >>> cal = cif_calibration_at_horizon((status, t), true, 0.5, cause=1, n_groups=5)
    >>> bool(cal.max_abs_error < 0.03), cal.n.tolist()
    (True, [800, 800, 800, 800, 800])
    """
    y = _as_competing(y)
    cause = _check_cause(cause, y)
    h = _check_horizon(horizon, y)
    pred = check_probability(cif, y.shape[0], name="cif", allow_2d=False)
    n_groups = int(n_groups)
    if not 1 <= n_groups <= y.shape[0]:
        raise MetricError(
            f"n_groups must be between 1 and the number of patients ({y.shape[0]}); got "
            f"{n_groups}.")
    status, time = y["status"], y["time"]
    groups = np.array_split(np.argsort(pred, kind="stable"), n_groups)
    predicted, observed, size, events, competing = [], [], [], [], []
    for g in groups:
        st, tm = status[g], time[g]
        predicted.append(float(pred[g].mean()))
        observed.append(_observed(st, tm, h, cause))
        size.append(g.shape[0])
        by_h = tm <= h
        events.append(int(np.sum(by_h & (st == cause))))
        competing.append(int(np.sum(by_h & (st > 0) & (st != cause))))
    predicted_a, observed_a, n = np.array(predicted), np.array(observed), np.array(size)
    gap = np.absolute(observed_a - predicted_a)
    return CIFCalibration(
        horizon=h, cause=cause, predicted_cif=predicted_a, observed_cif=observed_a, n=n,
        n_events=np.array(events), n_competing=np.array(competing),
        mean_abs_error=float(np.dot(n, gap) / n.sum()), max_abs_error=float(gap.max()),
        predicted_overall=float(pred.mean()),
        observed_overall=float(cumulative_incidence(y, [h], cause=cause)[0]))
