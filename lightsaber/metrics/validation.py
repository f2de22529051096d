"""Input checks shared by every metric: the boundary where predictions are validated.

Sign convention (the one convention of the whole metrics layer)
----------------------------------------------------------------
A survival *risk* score is **higher for an earlier event** — scikit-survival's convention, what
``predict(X)`` of every lightsaber and scikit-survival survival estimator returns. A model that
predicts survival *times* (or a survival probability) must be negated (or passed as
``1 - S(t)``) before it is used as a risk. :func:`check_risk` is the single gate every
risk-based metric passes through: it rejects NaN, infinite, non-numeric, non-1D and
wrongly-sized input with a message that names the argument.

Survival probabilities are matrices with **one row per patient and one column per time**
(scikit-learn orientation; pycox uses the transpose).

Survival outcomes are validated by the project's one outcome checker,
:func:`lightsaber.data.targets.check_survival_target`; classification labels by
:func:`lightsaber.data.targets.check_label`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lightsaber.data.targets import check_survival_target
from lightsaber.exceptions import MetricError

__all__ = [
    "as_survival_target",
    "check_probability",
    "check_risk",
    "check_survival_matrix",
    "check_time_grid",
    "check_times_within_followup",
]


def _positions(mask: np.ndarray, limit: int = 5) -> str:
    where = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in where[:limit])
    return shown + (", ..." if where.size > limit else "")


def _as_float_array(values: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise MetricError(
            f"{name} must be numeric; got values of dtype {np.asarray(values).dtype}."
        ) from None
    return arr


def as_survival_target(y: Any, *, name: str = "y", allow_all_censored: bool = False) -> np.ndarray:
    """Validate a survival outcome given as a structured array or an ``(event, time)`` pair.

    Parameters
    ----------
    y : structured array or tuple
        A scikit-survival structured array (fields event, time) or a tuple ``(event, time)``.
    name : str
        Argument name used in error messages.
    allow_all_censored : bool, default False
        Accept an outcome without any event.

    Returns
    -------
    numpy.ndarray
        Structured array with fields ``event`` (bool) and ``time`` (float64), from
        :func:`lightsaber.data.targets.check_survival_target`.

    Examples
    --------
    >>> y = as_survival_target(([1, 0], [2.0, 3.0]))
    >>> y["event"].tolist(), y["time"].tolist()
    ([True, False], [2.0, 3.0])
    """
    if isinstance(y, tuple):
        if len(y) != 2:
            raise MetricError(
                f"{name} as a tuple must be (event, time); got a tuple of {len(y)} items."
            )
        return check_survival_target(
            y[0], y[1], event_name=f"{name}[0] (event)", duration_name=f"{name}[1] (time)",
            allow_all_censored=allow_all_censored,
        )
    return check_survival_target(y, allow_all_censored=allow_all_censored)


def check_risk(risk: Any, n_samples: int | None = None, *, name: str = "risk") -> np.ndarray:
    """Validate risk scores (higher = earlier event) and return them as float64.

    Parameters
    ----------
    risk : array-like of shape (n_samples,)
        One finite risk score per patient; higher means an earlier event is expected.
    n_samples : int, optional
        Expected length (the number of outcome rows).
    name : str
        Argument name used in error messages.

    Returns
    -------
    numpy.ndarray
        The scores as a float64 vector.

    Raises
    ------
    MetricError
        Non-numeric, not one-dimensional, wrong length, NaN or infinite values.

    Examples
    --------
    >>> check_risk([0.2, 1.5]).tolist()
    [0.2, 1.5]
    >>> check_risk([0.2, float("nan")])
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.MetricError: risk has 1 NaN or infinite value(s) (rows 1); ...
    """
    arr = _as_float_array(risk, name)
    if arr.ndim != 1:
        raise MetricError(
            f"{name} must be one-dimensional (one score per patient); got shape {arr.shape}."
        )
    if n_samples is not None and arr.shape[0] != n_samples:
        raise MetricError(
            f"{name} has {arr.shape[0]} rows but the outcome has {n_samples}; they must describe "
            "the same patients in the same order."
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        raise MetricError(
            f"{name} has {int(bad.sum())} NaN or infinite value(s) (rows {_positions(bad)}); "
            "expected one finite risk score per patient (higher = earlier event)."
        )
    return arr


def _per_row(mask: np.ndarray) -> np.ndarray:
    """A row-wise flag: any flagged column of a 2-D mask, or the 1-D mask itself."""
    return mask.any(axis=1) if mask.ndim == 2 else mask


def check_probability(
    proba: Any, n_samples: int | None = None, *, name: str = "proba", allow_2d: bool = True
) -> np.ndarray:
    """Validate predicted probabilities: finite, in ``[0, 1]``, one row per patient.

    Parameters
    ----------
    proba : array-like of shape (n_samples,) or (n_samples, n_columns)
        Probabilities (of the positive class, of each class, or of survival at each time).
    n_samples : int, optional
        Expected number of rows.
    name : str
        Argument name used in error messages.
    allow_2d : bool, default True
        Accept a matrix; otherwise only a vector.

    Returns
    -------
    numpy.ndarray
        The probabilities as float64.

    Examples
    --------
    >>> check_probability([0.1, 0.9]).tolist()
    [0.1, 0.9]
    >>> check_probability([0.1, 1.2])
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.MetricError: proba has 1 value(s) outside [0, 1] (rows 1); ...
    """
    arr = _as_float_array(proba, name)
    if arr.ndim not in ((1, 2) if allow_2d else (1,)):
        expected = "(n_samples,) or (n_samples, n_columns)" if allow_2d else "(n_samples,)"
        raise MetricError(f"{name} must have shape {expected}; got shape {arr.shape}.")
    if n_samples is not None and arr.shape[0] != n_samples:
        raise MetricError(
            f"{name} has {arr.shape[0]} rows but the outcome has {n_samples}; they must describe "
            "the same patients in the same order."
        )
    rows_bad = _per_row(~np.isfinite(arr))
    if rows_bad.any():
        raise MetricError(
            f"{name} has NaN or infinite values in {int(rows_bad.sum())} row(s) (rows "
            f"{_positions(rows_bad)}); expected probabilities in [0, 1]."
        )
    outside = _per_row((arr < 0) | (arr > 1))
    if outside.any():
        raise MetricError(
            f"{name} has {int(outside.sum())} value(s) outside [0, 1] (rows "
            f"{_positions(outside)}); expected probabilities. Pass risk scores to risk-based "
            "metrics instead."
        )
    return arr


def check_time_grid(times: Any, *, name: str = "times", min_size: int = 1) -> np.ndarray:
    """Validate a time grid: finite, strictly increasing, at least ``min_size`` points.

    Parameters
    ----------
    times : array-like of shape (n_times,)
        Time points, in the unit of the outcome's durations.
    name : str
        Argument name used in error messages.
    min_size : int, default 1
        Smallest accepted number of points (2 for integrated metrics).

    Returns
    -------
    numpy.ndarray
        The grid as float64.

    Examples
    --------
    >>> check_time_grid([1, 2, 5]).tolist()
    [1.0, 2.0, 5.0]
    >>> check_time_grid([2, 1])
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.MetricError: times must be strictly increasing; ...
    """
    arr = np.atleast_1d(_as_float_array(times, name))
    if arr.ndim != 1:
        raise MetricError(f"{name} must be one-dimensional; got shape {arr.shape}.")
    if arr.size < min_size:
        raise MetricError(f"{name} needs at least {min_size} time point(s); got {arr.size}.")
    if not np.isfinite(arr).all():
        raise MetricError(f"{name} has NaN or infinite values; expected finite time points.")
    if arr.size > 1 and not (np.diff(arr) > 0).all():
        first = int(np.flatnonzero(np.diff(arr) <= 0)[0])
        raise MetricError(
            f"{name} must be strictly increasing; position {first + 1} ({arr[first + 1]:g}) "
            f"does not exceed position {first} ({arr[first]:g}). Sort and deduplicate it."
        )
    return arr


def check_times_within_followup(times: np.ndarray, y: np.ndarray, *, name: str = "times") -> None:
    """Check that evaluation times lie in ``[min(time), max(time))`` of the outcome ``y``.

    This is scikit-survival's rule for time-dependent metrics: beyond the last follow-up
    time nobody is at risk, so the IPCW estimates are undefined.

    Parameters
    ----------
    times : numpy.ndarray
        Validated evaluation times.
    y : numpy.ndarray
        Validated survival outcome (structured array).
    name : str
        Argument name used in error messages.

    Examples
    --------
    >>> y = as_survival_target(([1, 0, 1], [1.0, 4.0, 6.0]))
    >>> check_times_within_followup(np.array([2.0, 5.0]), y)
    >>> check_times_within_followup(np.array([2.0, 6.0]), y)
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.MetricError: times must lie within the follow-up of y, ...
    """
    lo, hi = float(y["time"].min()), float(y["time"].max())
    if times.min() < lo or times.max() >= hi:
        raise MetricError(
            f"{name} must lie within the follow-up of y, [{lo:g}, {hi:g}) (the last follow-up "
            f"time excluded); got [{times.min():g}, {times.max():g}]. Choose evaluation times "
            "inside the observed durations, e.g. quantiles of the event times."
        )


def check_survival_matrix(
    survival: Any, n_samples: int, n_times: int, *, name: str = "survival"
) -> np.ndarray:
    """Validate a survival-probability matrix (one row per patient, one column per time).

    Parameters
    ----------
    survival : array-like of shape (n_samples, n_times)
        Predicted probabilities of being event-free at each time.
    n_samples, n_times : int
        Expected shape.
    name : str
        Argument name used in error messages.

    Returns
    -------
    numpy.ndarray
        The matrix as float64.

    Examples
    --------
    >>> check_survival_matrix([[0.9, 0.5], [0.8, 0.1]], 2, 2).shape
    (2, 2)
    """
    arr = _as_float_array(survival, name)
    if arr.ndim == 1 and n_times == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape != (n_samples, n_times):
        raise MetricError(
            f"{name} must have shape (n_samples, n_times) = ({n_samples}, {n_times}) — one row "
            f"per patient, one column per time point; got shape {arr.shape}. (pycox matrices "
            "are (n_times, n_samples): transpose them.)"
        )
    return check_probability(arr, n_samples, name=name)
