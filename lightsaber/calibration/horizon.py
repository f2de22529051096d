"""Binary outcomes at a horizon with inverse-probability-of-censoring weights (IPCW).

Recalibrating ``F(h | x) = 1 - S(h | x)`` needs to know who had the event by ``h``, which right
censoring hides for patients censored before ``h``. The standard answer (Graf et al. 1999, the
weighting of the Brier score) drops those patients and re-weights the others by the inverse of
the censoring survival ``G`` (Kaplan-Meier of the censoring times): an event at ``T <= h`` has
outcome 1 and weight ``1 / G(T-)``, a patient still followed at ``h`` (``T > h``) has outcome 0
and weight ``1 / G(h)``. Under independent censoring the weighted share of ones estimates
``P(T <= h)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lightsaber.exceptions import CalibrationError

__all__ = ["horizon_outcomes"]


def horizon_outcomes(y: Any, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Event-by-``horizon`` indicator and IPCW weight per patient (weight 0: unknown outcome).

    Parameters
    ----------
    y : structured array
        Survival outcome (``event``, ``time``) as scikit-survival builds it.
    horizon : float
        Inside the follow-up: at least one event at or before it and one patient followed
        beyond it.

    Returns
    -------
    outcome, weight : numpy.ndarray
        ``outcome`` is 0/1; ``weight`` is 0 for patients censored at or before ``horizon``.

    Examples
    --------
    >>> from lightsaber.data.targets import make_survival_target
    >>> y = make_survival_target([1, 0, 1, 0], [1.0, 2.0, 3.0, 4.0])
    >>> outcome, weight = horizon_outcomes(y, 2.5)
    >>> outcome.tolist(), weight.round(3).tolist()
    ([1, 0, 0, 0], [1.0, 0.0, 1.5, 1.5])
    >>> float(weight @ outcome / weight.sum())  # = 1 - Kaplan-Meier S(2.5)
    0.25
    """
    from lightsaber.data.targets import check_survival_target
    from lightsaber.metrics._km import censoring_kaplan_meier

    y = check_survival_target(y)
    event, time = y["event"], y["time"].astype(float)
    h = float(horizon)
    case = event & (time <= h)
    control = time > h
    if not np.isfinite(h) or not case.any() or not control.any():
        raise CalibrationError(
            f"horizon must lie inside the follow-up of the calibration rows (at least one "
            f"event at or before it and one patient followed beyond it: events from "
            f"{time[event].min():g}, follow-up up to {time.max():g}); got {horizon!r}.")
    g = censoring_kaplan_meier(event, time)
    weight = np.zeros(time.shape[0])
    before = np.nextafter(time[case], -np.inf)
    weight[case] = 1.0 / np.maximum(g(before), 1e-12)
    weight[control] = 1.0 / max(float(g(np.array([h]))[0]), 1e-12)
    return case.astype(int), weight
