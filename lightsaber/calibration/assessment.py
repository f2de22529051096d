"""Survival calibration assessment at horizons: Kaplan-Meier by risk group, ICI, D-calibration.

A thin, reporting-oriented layer over :mod:`lightsaber.metrics.survival_calibration`: one call
gives, for each horizon, predicted vs Kaplan-Meier observed event probability by risk group and
the integrated calibration index, plus D-calibration of the whole curves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lightsaber._moved import renamed_keywords

__all__ = ["SurvivalCalibrationAssessment", "assess_survival_calibration"]


@dataclass(frozen=True)
class SurvivalCalibrationAssessment:
    """Calibration of predicted survival curves at several horizons.

    Attributes
    ----------
    horizons : list of HorizonCalibration
        One :class:`~lightsaber.metrics.HorizonCalibration` per horizon (groups + ICI).
    d_calibration : DCalibration
        D-calibration of the curves.
    """

    horizons: list[Any]
    d_calibration: Any

    def summary(self) -> dict[str, Any]:
        """Aggregates only (per-group means and counts, ICI, D-calibration), JSON-ready."""
        return {
            "horizons": [{
                "horizon": h.horizon, "ici": h.ici.ici, "e50": h.ici.e50, "e90": h.ici.e90,
                "predicted_risk": h.predicted_risk.tolist(),
                "observed_risk": h.observed_risk.tolist(), "n": h.n.tolist(),
            } for h in self.horizons],
            "d_calibration": {"statistic": self.d_calibration.statistic,
                              "p_value": self.d_calibration.p_value,
                              "proportions": self.d_calibration.proportions.tolist()},
        }


@renamed_keywords(time_grid="times")
def assess_survival_calibration(y: Any, survival: Any, times: Any,
                                horizons: Sequence[float], *, n_groups: int = 10
                                ) -> SurvivalCalibrationAssessment:
    """Assess predicted survival curves at ``horizons`` (inside the follow-up of ``y``).

    Parameters
    ----------
    y : structured array or tuple
        Outcomes of the evaluated rows.
    survival : array-like of shape (n_samples, n_times)
        Predicted survival curves on ``times``.
    times : array-like of shape (n_times,)
        Strictly increasing times.
    horizons : sequence of float
        Horizons of the risk-group comparison and the ICI.
    n_groups : int, default 10
        Risk groups per horizon (deciles).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=500)
    >>> t = rng.exponential(np.exp(-x))
    >>> grid = np.linspace(0.05, 2, 40)
    >>> res = assess_survival_calibration(([1] * 500, t), np.exp(-np.outer(np.exp(x), grid)),
    ...                                   grid, [0.25, 0.5], n_groups=5)
    >>> [round(h.ici.ici, 2) for h in res.horizons], len(res.d_calibration.counts)
    ([0.03, 0.01], 10)
    """
    from lightsaber.metrics import calibration_at_horizon, d_calibration, survival_at_times

    at = survival_at_times(survival, times, np.asarray(horizons, dtype=float))
    per_horizon = [calibration_at_horizon(y, at[:, j], h, n_groups=n_groups)
                   for j, h in enumerate(np.asarray(horizons, dtype=float))]
    return SurvivalCalibrationAssessment(per_horizon, d_calibration(y, survival, times))
