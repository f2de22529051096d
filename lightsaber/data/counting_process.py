r"""Counting-process data: one ``(start, stop]`` row per patient and covariate period.

A time-varying Cox model (:class:`lightsaber.models.TimeVaryingCox`) needs, for every event
time :math:`t`, the covariate values each patient at risk had *at* :math:`t`. The
counting-process layout (Andersen and Gill 1982; ``survival::tmerge``, lifelines'
``add_covariate_to_timeline``) holds that: each patient's follow-up ``(0, T]`` is cut at the
times of their measurements into rows ``(start, stop]`` over which the covariates are constant,
and the event indicator is set on the patient's last row only.

:func:`to_counting_process` builds that frame from a :class:`~lightsaber.data.Cohort` with a
longitudinal table. The covariate value in force on ``(start, stop]`` is the last one
*observed* at or before ``start`` (last observation carried forward, per measurement column,
skipping missing values), so no row uses a measurement taken after its start.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from lightsaber.data.cohort import Cohort
from lightsaber.exceptions import (
    ArgumentError,
    CohortError,
    LightsaberWarning,
    MissingColumnError,
    TargetError,
)

__all__ = ["COUNTING_PROCESS_COLUMNS", "to_counting_process"]

#: Leading columns of a counting-process frame: patient id, interval ``(start, stop]``, event.
COUNTING_PROCESS_COLUMNS = ("id", "start", "stop", "event")


def _select(cohort: Cohort, features: Sequence[str] | None) -> tuple[list[str], list[str],
                                                                    list[str]]:
    """The covariates in output order, split into longitudinal and static columns."""
    long = list(cohort.long_table.features) if cohort.long_table is not None else []
    static = cohort.feature_names
    both = sorted(set(long) & set(static))
    if features is None:
        if both:
            raise CohortError(
                f"column(s) {both} are both static features and longitudinal measurements; "
                "pass features=[...] naming one of each, or rename one of them.")
        chosen = [*long, *static]
    else:
        if isinstance(features, str):
            features = [features]
        chosen = list(dict.fromkeys(features))
        unknown = [f for f in chosen if f not in long and f not in static]
        if unknown:
            raise MissingColumnError(
                f"feature(s) {unknown} are neither longitudinal measurements {long} nor static "
                f"features {static} of the cohort. Pick covariates from those lists.")
        ambiguous = [f for f in chosen if f in both]
        if ambiguous:
            raise CohortError(
                f"feature(s) {ambiguous} are both static features and longitudinal "
                "measurements; rename one of them in the cohort's tables.")
    clash = [f for f in chosen if f in COUNTING_PROCESS_COLUMNS]
    if clash:
        raise CohortError(
            f"feature(s) {clash} share a name with the counting-process columns "
            f"{list(COUNTING_PROCESS_COLUMNS)}; rename them in the cohort's tables.")
    return chosen, [f for f in chosen if f in long], [f for f in chosen if f not in long]


def _outcome(cohort: Cohort, cause: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Per patient: event indicator (bool) and follow-up time, in the cohort's units."""
    if cohort.causes is None:
        if cause is not None:
            raise ArgumentError(
                f"cause={cause!r} is for a competing-risks cohort; this cohort has a single "
                "event. Leave cause=None.")
        y = cohort.y_survival
        return y["event"].astype(bool), y["time"].astype(np.float64)
    if cause is None or cause not in cohort.causes:
        raise TargetError(
            f"this cohort has competing causes {cohort.causes}; pass cause=<code> (one of "
            f"{sorted(cohort.causes)}) to make the event that cause, the others censoring, "
            f"as for a cause-specific hazard model; got cause={cause!r}.")
    y = cohort.y_competing
    return y["status"] == cause, y["time"].astype(np.float64)


def _carry_forward(values: np.ndarray, group_start: np.ndarray) -> np.ndarray:
    """Each row's last non-missing value at or before it within its group (NaN if none)."""
    position = np.where(np.isnan(values), -1, np.arange(values.size))
    last = np.maximum.accumulate(position) if values.size else position
    valid = last >= group_start
    return np.where(valid, values[np.maximum(last, 0)], np.nan)


def to_counting_process(cohort: Cohort, features: Sequence[str] | None = None, *,
                        duration_unit: float = 1.0, cause: int | None = None,
                        collapse: bool = False) -> pd.DataFrame:
    """The cohort as counting-process rows ``(start, stop]`` with the covariates in force.

    Each patient's follow-up ``(0, T]`` (``T`` the duration, times ``duration_unit``) is cut at
    the times of their longitudinal rows. On a row ``(start, stop]`` each measurement column
    holds the last value observed at or before ``start`` (missing values are skipped, so a
    column measured every 8 hours keeps its last value between draws; NaN before the first
    observation); static features are repeated on every row. ``event`` is the patient's event
    on their last row and ``False`` on the others.

    * Measurements at or before time 0 set the values in force at 0 (the latest wins); every
      patient's first row starts at 0.
    * Measurements at or after the end of follow-up ``T`` are ignored (they cannot be in force
      on any ``(start, T]``); patients whose follow-up is 0 have no row. Both are counted in a
      :class:`~lightsaber.exceptions.LightsaberWarning` and in ``frame.attrs``
      (``"ignored_measurements"``, ``"dropped_patients"``).
    * Several rows of one patient at one time cannot occur (the cohort rejects duplicate
      ``(id, time)`` rows).

    The partial likelihood of a Cox model depends on a patient's row only through the risk
    sets of the event times inside it, so ``collapse=True`` (merge consecutive rows of a
    patient whose covariates are all equal, as lifelines' ``add_covariate_to_timeline`` does)
    gives the same fit on fewer rows. Rows whose covariates are missing can be dropped
    (``frame.dropna()``) before fitting; dropping a patient's last row drops their event too.

    Parameters
    ----------
    cohort : Cohort
        A patient-level cohort with a time-to-event (or competing-risks) outcome, usually with
        a longitudinal table (without one, each patient gets one row ``(0, T]``).
    features : list of str, optional
        Covariates: longitudinal measurement columns and/or static feature columns, in the
        order of the output. Default: every measurement column, then every static feature.
    duration_unit : float, default 1
        Length of one duration unit in the longitudinal time unit (24 when durations are in
        days and measurements in hours). ``start`` and ``stop`` are in the longitudinal time
        unit.
    cause : int, optional
        For a competing-risks cohort, the cause whose events are the events (the other causes
        are censoring: a cause-specific hazard). Required there, not allowed otherwise.
    collapse : bool, default False
        Merge consecutive rows of a patient with identical covariates (NaN equal to NaN).

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (the cohort's patient ids), ``start``, ``stop`` (float64), ``event``
        (bool), then the covariates; rows in cohort order of the patients, then by time;
        ``start < stop`` on every row, and a patient's rows are contiguous,
        non-overlapping and cover ``(0, T]``.

    Raises
    ------
    MissingColumnError
        A feature that is neither a measurement nor a static column.
    CohortError
        A feature named like a counting-process column, or both static and longitudinal;
        a bad ``duration_unit``.
    TargetError
        A cohort without a time-to-event outcome; a competing-risks cohort without ``cause``.
    ArgumentError
        ``cause`` for a single-event cohort.

    Examples
    --------
    >>> static = pd.DataFrame({"pid": ["a", "b"], "age": [61.0, 70.0],
    ...                        "days": [10.0, 4.0], "died": [1, 0]})
    >>> labs = pd.DataFrame({"pid": ["a", "a", "a", "b", "b"],
    ...                      "day": [0.0, 3.0, 6.0, 0.0, 2.0],
    ...                      "crp": [5.0, np.nan, 7.0, 1.0, 2.0]})
    >>> cohort = Cohort(static, id="pid", duration="days", event="died",
    ...                 longitudinal=labs, time="day")
    >>> to_counting_process(cohort)
      id  start  stop  event  crp   age
    0  a    0.0   3.0  False  5.0  61.0
    1  a    3.0   6.0  False  5.0  61.0
    2  a    6.0  10.0   True  7.0  61.0
    3  b    0.0   2.0  False  1.0  70.0
    4  b    2.0   4.0  False  2.0  70.0
    >>> to_counting_process(cohort, ["crp"], collapse=True)[["start", "stop", "crp"]].head(2)
       start  stop  crp
    0    0.0   6.0  5.0
    1    6.0  10.0  7.0
    """
    if not isinstance(cohort, Cohort):
        raise CohortError(f"to_counting_process needs a Cohort; got {type(cohort).__name__}.")
    if isinstance(duration_unit, bool) or not isinstance(duration_unit, (int, float, np.number)) \
            or not math.isfinite(duration_unit) or duration_unit <= 0:
        raise CohortError(
            f"duration_unit must be a finite number > 0 (the length of one duration unit in "
            f"the longitudinal time unit, e.g. 24 for days and hours); got {duration_unit!r}.")
    chosen, long_cols, _ = _select(cohort, features)
    event, duration = _outcome(cohort, cause)
    end = duration * float(duration_unit)
    n = cohort.n_patients
    table = cohort.long_table
    if table is not None:
        patient = table.patient.astype(np.int64)
        times = table.times()
        kept = (times < end[patient]) & (end[patient] > 0)
        ignored = int((~kept).sum())
        patient, times = patient[kept], times[kept]
        rows = table.rows[kept]
        columns = {f: table.frame[f].to_numpy(dtype=np.float64, na_value=np.nan)[rows]
                   for f in long_cols}
    else:
        ignored = 0
        patient, times = np.zeros(0, np.int64), np.zeros(0)
        columns = {}
    alive = np.flatnonzero(end > 0)
    dropped = n - alive.size
    # One opening row at 0 per patient (no values), then the measurements; the opening row
    # sorts first at time 0, and measurements keep their time order within a patient.
    patient = np.concatenate([alive, patient])
    at = np.concatenate([np.zeros(alive.size), np.maximum(times, 0.0)])
    opening = np.concatenate([np.ones(alive.size, bool), np.zeros(times.size, bool)])
    order = np.lexsort((~opening, at, patient))
    patient, at = patient[order], at[order]
    first = np.flatnonzero(np.r_[True, patient[1:] != patient[:-1]])
    group_start = np.repeat(first, np.diff(np.r_[first, patient.size]))
    values = {f: _carry_forward(np.concatenate([np.full(alive.size, np.nan), v])[order],
                                group_start) for f, v in columns.items()}
    # One row per (patient, time): the last, holding the values in force from that time on.
    last = np.r_[(patient[1:] != patient[:-1]) | (at[1:] != at[:-1]), True]
    patient, at = patient[last], at[last]
    values = {f: v[last] for f, v in values.items()}
    final = np.r_[patient[1:] != patient[:-1], True]
    if collapse and values:
        block = np.column_stack([values[f] for f in long_cols])
        same = np.all((block[1:] == block[:-1]) | (np.isnan(block[1:]) & np.isnan(block[:-1])),
                      axis=1)
        keep = np.r_[True, ~same | (patient[1:] != patient[:-1])]
        patient, at = patient[keep], at[keep]
        values = {f: v[keep] for f, v in values.items()}
        final = np.r_[patient[1:] != patient[:-1], True]
    stop = np.where(final, end[patient], np.r_[at[1:], 0.0])
    frame = pd.DataFrame({"id": cohort.ids[patient], "start": at, "stop": stop,
                          "event": final & event[patient]})
    static = cohort.static
    for f in chosen:  # static columns keep their dtype (categories, nullable integers)
        frame[f] = values[f] if f in values else \
            static[f].iloc[patient].reset_index(drop=True)
    frame.attrs["ignored_measurements"] = ignored
    frame.attrs["dropped_patients"] = dropped
    if ignored or dropped:
        parts = [f"{ignored} measurement row(s) at or after the end of follow-up were ignored "
                 "(no interval (start, stop] with start < stop holds them)"] if ignored else []
        if dropped:
            parts.append(f"{dropped} patient(s) with zero follow-up have no row")
        warnings.warn(
            f"{'; '.join(parts)}. Counts in frame.attrs['ignored_measurements'] and "
            "frame.attrs['dropped_patients'].", LightsaberWarning, stacklevel=2)
    return frame
