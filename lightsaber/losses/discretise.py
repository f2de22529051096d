"""Discretise follow-up times onto a grid for the discrete-time losses (pycox's label transform).

A thin wrapper over pycox's ``LabTransDiscreteTime``: fit a grid of ``cuts`` on the training
split (equidistant, or at quantiles of the Kaplan-Meier estimate), then map every split's
durations to bin indices with the same grid. A network for these losses needs one output column
per cut point.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from lightsaber.data.targets import check_survival_target
from lightsaber.exceptions import LossInputError
from lightsaber.losses.discrete import pycox_module

__all__ = ["DiscreteTarget", "discretise_durations"]


class DiscreteTarget(NamedTuple):
    """Durations on a grid: what the discrete-time losses take.

    Attributes
    ----------
    duration_index : numpy.ndarray of int64
        Bin index per row, in ``[0, len(cuts))``.
    event : numpy.ndarray of float32
        Event indicator after discretisation (events beyond the last cut become censored).
    cuts : numpy.ndarray of float64
        The grid; pass it back as ``cuts`` to discretise other splits the same way.
    """

    duration_index: np.ndarray
    event: np.ndarray
    cuts: np.ndarray


def discretise_durations(duration: Any, event: Any, cuts: int | Any = 20, *,
                         scheme: str = "equidistant", min_time: float = 0.0) -> DiscreteTarget:
    """Map durations to grid indices, fitting the grid when ``cuts`` is a number.

    pycox's conventions (``LabTransDiscreteTime``): an event in ``(cuts[k-1], cuts[k]]`` gets
    index ``k`` (moved right, to the end of its interval); a censoring time in
    ``[cuts[k], cuts[k+1])`` gets index ``k`` (moved left: known alive at ``cuts[k]``); times
    beyond the last cut are censored there.

    Parameters
    ----------
    duration, event : array-like, shape (n,)
        Follow-up times (>= 0) and event indicator (1 = event), checked by the project's
        outcome checker.
    cuts : int or array-like, default 20
        Number of grid points to fit on these rows (use the training split), or the grid itself
        (increasing; e.g. ``train.cuts``) to apply an existing grid.
    scheme : {"equidistant", "quantiles"}, default "equidistant"
        How a grid is fitted: evenly from ``min_time`` to the largest duration, or at evenly
        spaced values of the Kaplan-Meier survival curve (pycox warns and returns fewer cuts
        when quantiles coincide).
    min_time : float, default 0.0
        First grid point when fitting.

    Returns
    -------
    DiscreteTarget
        ``(duration_index, event, cuts)``.

    Examples
    --------
    >>> train = discretise_durations([1.0, 2.5, 4.0, 3.0], [1, 0, 1, 1], cuts=5)
    >>> train.cuts.tolist(), train.duration_index.tolist()
    ([0.0, 1.0, 2.0, 3.0, 4.0], [1, 2, 4, 3])
    >>> test = discretise_durations([0.5, 9.0], [1, 1], cuts=train.cuts)  # 9 > last cut
    >>> test.duration_index.tolist(), test.event.tolist()
    ([1, 4], [1.0, 0.0])
    """
    if scheme not in ("equidistant", "quantiles"):
        raise LossInputError(f"scheme must be 'equidistant' or 'quantiles'; got {scheme!r}.")
    lab_trans = pycox_module("preprocessing.label_transforms").LabTransDiscreteTime
    target = check_survival_target(event, duration, allow_all_censored=True)
    time, observed = target["time"], target["event"].astype(np.float32)
    if isinstance(cuts, (int, np.integer)) and not isinstance(cuts, bool):
        if cuts < 2:
            raise LossInputError(f"cuts must be at least 2 grid points; got {cuts}.")
        transform = lab_trans(int(cuts), scheme=scheme, min_=min_time)
        transform.fit(time, observed)
    else:
        grid = np.asarray(cuts, dtype=np.float64)
        if grid.ndim != 1 or grid.size < 2 or not bool(np.all(np.diff(grid) > 0)):
            raise LossInputError(
                "cuts must be a number of grid points or an increasing 1-D grid of at least 2 "
                f"points; got shape {grid.shape}.")
        if bool((time < grid[0]).any()):
            raise LossInputError(
                f"durations below the grid's first point {grid[0]:g} cannot be placed on it; "
                "start the grid at 0 (min_time=0).")
        transform = lab_trans(grid)
    index, observed = _transform(transform, time, observed)
    return DiscreteTarget(index.astype(np.int64), observed.astype(np.float32),
                          np.asarray(transform.cuts, dtype=np.float64))


def _transform(transform: Any, time: np.ndarray, observed: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Apply pycox's ``transform``, also to batches with no events or no censored rows.

    pycox 0.3 fails on an empty group (``max()`` of an empty array), so one event and one
    censored row at the grid's ends are appended and dropped again; rows are independent.
    """
    grid = np.asarray(transform.cuts, dtype=np.float64)
    padded_time = np.concatenate([time, [grid[-1], grid[0]]])
    padded_event = np.concatenate([observed, np.array([1.0, 0.0], dtype=observed.dtype)])
    index, event = transform.transform(padded_time, padded_event)
    return index[:-2], event[:-2]
