"""Calibration of survival models: D-calibration, calibration at a horizon, ICI.

* **D-calibration** (Haider et al., JMLR 2020): if predicted survival curves are right, the
  values ``S_i(T_i)`` at the observed times are uniform on ``[0, 1]``. They are binned into
  ``n_bins`` equal-width bins ``[0, 0.1), ..., [0.9, 1]``: an event adds 1 to its bin; a patient
  censored at ``c`` with ``s = S_i(c)`` adds ``(s - lower)/s`` to the bin holding ``s`` and
  ``width / s`` to every bin below (its unknown ``S(T)`` is uniform on ``[0, s]``; ``s = 0`` adds
  1 to the lowest bin). The statistic is Pearson's chi-square against ``n / n_bins`` per bin
  with ``n_bins - 1`` degrees of freedom; lower is better, ``p > 0.05`` is "D-calibrated".
* **Calibration at a horizon** ``h``: patients are ranked by predicted risk ``1 - S_i(h)`` and
  cut into ``n_groups`` groups of (nearly) equal size (deciles by default, ties broken by row
  order); for each group the mean predicted risk is set against the Kaplan-Meier observed risk
  ``1 - KM_group(h)`` (read at the group's last follow-up time if ``h`` is beyond it).
* **ICI** (Austin, Harrell & van Klaveren, Stat Med 2020): the observed risk at ``h`` is
  smoothed by a Cox model of the outcome on a 3-knot restricted cubic spline (knots at the
  10/50/90th percentiles) of ``log(-log S_i(h))``; ICI is the mean absolute difference between
  the smoothed observed and the predicted risks, E50/E90/Emax its median, 90th percentile and
  maximum.

Survival curves are read on their grid with right-continuous steps, ``S = 1`` before the first
grid time (:func:`lightsaber.metrics.survival.survival_at_times`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from lightsaber._moved import renamed_keywords
from lightsaber.exceptions import ConvergenceError, MetricError
from lightsaber.metrics._cox import fit_cox, rcs_basis
from lightsaber.metrics._km import kaplan_meier
from lightsaber.metrics.validation import (
    as_survival_target,
    check_probability,
    check_survival_matrix,
    check_time_grid,
)

__all__ = [
    "DCalibration",
    "HorizonCalibration",
    "ICIResult",
    "calibration_at_horizon",
    "d_calibration",
    "integrated_calibration_index",
]


@dataclass(frozen=True)
class DCalibration:
    """D-calibration histogram and test.

    Attributes
    ----------
    bin_edges : numpy.ndarray
        ``n_bins + 1`` edges on ``[0, 1]``.
    counts : numpy.ndarray
        (Fractional) number of patients per bin; sums to ``n``.
    proportions : numpy.ndarray
        ``counts / n``; ``1 / n_bins`` each for a perfectly D-calibrated model.
    statistic : float
        Pearson chi-square statistic.
    p_value : float
        Upper tail of the chi-square distribution with ``n_bins - 1`` degrees of freedom.
    """

    bin_edges: np.ndarray
    counts: np.ndarray
    proportions: np.ndarray
    statistic: float
    p_value: float


@dataclass(frozen=True)
class ICIResult:
    """Integrated calibration index at a horizon and its companions.

    Attributes
    ----------
    ici, e50, e90, emax : float
        Mean, median, 90th percentile and maximum of ``|observed - predicted|``.
    predicted : numpy.ndarray
        Predicted risk ``1 - S_i(h)`` per patient.
    observed : numpy.ndarray
        Smoothed observed risk per patient.
    """

    ici: float
    e50: float
    e90: float
    emax: float
    predicted: np.ndarray
    observed: np.ndarray


@dataclass(frozen=True)
class HorizonCalibration:
    """Predicted vs Kaplan-Meier observed risk at a horizon, by risk group.

    Attributes
    ----------
    horizon : float
        The horizon ``h``.
    predicted_risk : numpy.ndarray
        Mean predicted risk ``1 - S(h)`` per group (increasing).
    observed_risk : numpy.ndarray
        ``1 - KM(h)`` per group.
    n : numpy.ndarray
        Patients per group.
    n_events : numpy.ndarray
        Events up to the horizon per group.
    ici : ICIResult
        Integrated calibration index over all patients.
    """

    horizon: float
    predicted_risk: np.ndarray
    observed_risk: np.ndarray
    n: np.ndarray
    n_events: np.ndarray
    ici: ICIResult


def _own_time_survival(surv: np.ndarray, grid: np.ndarray, time: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(grid, time, side="right") - 1
    out = np.ones(time.shape[0])
    has = idx >= 0
    out[has] = surv[np.flatnonzero(has), idx[has]]
    return out


@renamed_keywords(time_grid="times")
def d_calibration(y: Any, survival: Any, times: Any, *, n_bins: int = 10) -> DCalibration:
    """D-calibration of predicted survival curves (Haider et al. 2020).

    Parameters
    ----------
    y : structured array or tuple
        Evaluation outcome.
    survival : array-like of shape (n_samples, n_times)
        Predicted survival curves on ``times``.
    times : array-like of shape (n_times,)
        Strictly increasing times.
    n_bins : int, default 10
        Number of equal-width bins.

    Returns
    -------
    DCalibration

    Examples
    --------
    >>> y = ([1, 1, 0, 1], [1.0, 2.0, 2.0, 3.0])
    >>> surv = [[0.3, 0.2, 0.1], [0.9, 0.6, 0.2], [0.9, 0.8, 0.7], [0.95, 0.9, 0.85]]
    >>> res = d_calibration(y, surv, [1.0, 2.0, 3.0], n_bins=2)
    >>> res.counts.tolist(), round(res.p_value, 4)
    ([1.625, 2.375], 0.7077)
    """
    y = as_survival_target(y, allow_all_censored=True)
    grid = check_time_grid(times, name="times")
    surv = check_survival_matrix(survival, y.shape[0], grid.shape[0])
    n_bins = int(n_bins)
    if n_bins < 2:
        raise MetricError(f"n_bins must be at least 2; got {n_bins}.")
    if y.shape[0] == 0:
        raise MetricError("d_calibration needs at least one patient; got none.")
    s = _own_time_survival(surv, grid, y["time"])
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    width = 1.0 / n_bins
    bin_of = np.minimum((s * n_bins).astype(np.int64), n_bins - 1)  # [lo, hi), last closed
    counts = np.zeros(n_bins)
    event = y["event"]
    np.add.at(counts, bin_of[event], 1.0)
    cens = ~event
    sc, bc = s[cens], bin_of[cens]
    zero = sc <= 0
    counts[0] += zero.sum()
    sc, bc = sc[~zero], bc[~zero]
    np.add.at(counts, bc, (sc - edges[bc]) / sc)
    # each bin strictly below the censored patient's bin gets width / s: bin j receives the
    # sum over patients whose bin is above j (patients in bin 0, where s may be tiny and
    # width / s huge, give nothing and are left out of the sums)
    up = bc > 0
    per_bin = np.bincount(bc[up], weights=width / sc[up], minlength=n_bins)
    counts[:-1] += np.cumsum(per_bin[::-1])[::-1][1:]
    n = y.shape[0]
    expected = n / n_bins
    statistic = float(np.sum((counts - expected) ** 2) / expected)
    p_value = float(stats.chi2.sf(statistic, n_bins - 1))
    return DCalibration(edges, counts, counts / n, statistic, p_value)


def _risk_at_horizon(survival_at_horizon: Any, n: int) -> np.ndarray:
    s = check_probability(survival_at_horizon, n, name="survival_at_horizon", allow_2d=False)
    return 1.0 - s


def _check_horizon(horizon: float, y: np.ndarray) -> float:
    h = float(horizon)
    lo, hi = float(y["time"].min()), float(y["time"].max())
    if not np.isfinite(h) or h < lo or h >= hi:
        raise MetricError(
            f"horizon must lie within the follow-up of y, [{lo:g}, {hi:g}); got {horizon!r}."
        )
    return h


def integrated_calibration_index(y: Any, survival_at_horizon: Any, horizon: float) -> ICIResult:
    """Integrated calibration index of predicted risks at a horizon (Austin et al. 2020).

    Parameters
    ----------
    y : structured array or tuple
        Evaluation outcome.
    survival_at_horizon : array-like of shape (n_samples,)
        Predicted ``S_i(h)``.
    horizon : float
        ``h``, inside the follow-up.

    Returns
    -------
    ICIResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=400)
    >>> t = rng.exponential(np.exp(-x))
    >>> s_true = np.exp(-np.exp(x) * 0.5)  # the true S(0.5 | x)
    >>> round(integrated_calibration_index(([1] * 400, t), s_true, 0.5).ici, 2)
    0.02
    """
    y = as_survival_target(y)
    h = _check_horizon(horizon, y)
    risk = _risk_at_horizon(survival_at_horizon, y.shape[0])
    s = np.clip(1.0 - risk, 1e-12, 1.0 - 1e-12)
    cll = np.log(-np.log(s))
    knots = np.quantile(cll, [0.1, 0.5, 0.9])
    if np.unique(knots).shape[0] < 3:
        if np.unique(cll).shape[0] < 2:
            raise MetricError(
                "integrated_calibration_index needs predictions that vary between patients; "
                "all predicted survival probabilities at the horizon are equal."
            )
        basis = cll[:, None]  # too few distinct values for a spline: linear in cll
    else:
        basis = rcs_basis(cll, knots)
    try:
        fit = fit_cox(basis, y["event"], y["time"], what="the calibration Cox model")
    except ConvergenceError as exc:  # a metric's failure is a MetricError
        raise MetricError(
            "integrated_calibration_index cannot fit its calibration Cox model on these rows: "
            "the predictions take too few distinct values for a spline fit, or separate "
            f"events from non-events almost perfectly ({exc})"
        ) from exc
    observed = 1.0 - fit.survival_at(basis, h)
    gap = np.absolute(observed - risk)
    return ICIResult(
        ici=float(gap.mean()), e50=float(np.median(gap)), e90=float(np.quantile(gap, 0.9)),
        emax=float(gap.max()), predicted=risk, observed=observed,
    )


def calibration_at_horizon(
    y: Any, survival_at_horizon: Any, horizon: float, *, n_groups: int = 10
) -> HorizonCalibration:
    """Predicted vs Kaplan-Meier observed risk at a horizon, by groups of predicted risk.

    Parameters
    ----------
    y : structured array or tuple
        Evaluation outcome.
    survival_at_horizon : array-like of shape (n_samples,)
        Predicted ``S_i(h)``.
    horizon : float
        ``h``, inside the follow-up.
    n_groups : int, default 10
        Number of risk groups (deciles).

    Returns
    -------
    HorizonCalibration

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=400)
    >>> t = rng.exponential(np.exp(-x))
    >>> cal = calibration_at_horizon(([1] * 400, t), np.exp(-np.exp(x) * 0.5), 0.5, n_groups=4)
    >>> bool(np.abs(cal.observed_risk - cal.predicted_risk).max() < 0.1)
    True
    """
    y = as_survival_target(y)
    h = _check_horizon(horizon, y)
    risk = _risk_at_horizon(survival_at_horizon, y.shape[0])
    n_groups = int(n_groups)
    if not 1 <= n_groups <= y.shape[0]:
        raise MetricError(
            f"n_groups must be between 1 and the number of patients ({y.shape[0]}); got "
            f"{n_groups}."
        )
    groups = np.array_split(np.argsort(risk, kind="stable"), n_groups)
    pred, obs, size, events = [], [], [], []
    for g in groups:
        ev, tm = y["event"][g], y["time"][g]
        km = kaplan_meier(ev, tm)
        obs.append(1.0 - float(km(np.array([min(h, tm.max())]))[0]))
        pred.append(float(risk[g].mean()))
        size.append(g.shape[0])
        events.append(int((ev & (tm <= h)).sum()))
    return HorizonCalibration(
        horizon=h, predicted_risk=np.array(pred), observed_risk=np.array(obs),
        n=np.array(size), n_events=np.array(events),
        ici=integrated_calibration_index(y, 1.0 - risk, h),
    )
