r"""Landmark datasets: one row per patient still at risk at each landmark time.

Dynamic prediction re-predicts as measurements arrive: "given everything known at hour 12,
what is the risk of death in the next 48 h?". For each landmark :math:`s` a landmark dataset
holds the patients still at risk at :math:`s` (follow-up time :math:`T > s`), features computed
from measurements taken at or before :math:`s` only, and the outcome from :math:`s`: the time
since :math:`s`, administratively censored at :math:`s + w` (the ``horizon``). The rows of all
landmarks are stacked, with the landmark time as a feature, so that one model (a *landmark
supermodel*, van Houwelingen 2007) is fitted on them through the normal :func:`lightsaber.fit`.

Splits of a :class:`LandmarkCohort` are by patient: all landmark rows of one patient land in
the same part (its ``split`` groups by the ``landmark_patient`` meta column), and the split
manifest records the rows per landmark.

No measurement after :math:`s` reaches a row of landmark :math:`s` (the leakage tests in
``tests/data/test_landmarks.py`` perturb every later measurement and compare).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lightsaber.data.cohort import Cohort
from lightsaber.data.longitudinal import LongTable
from lightsaber.exceptions import (
    CohortError,
    EmptyCohortError,
    LandmarkCensoringWarning,
    SplitError,
    TargetError,
)

if TYPE_CHECKING:
    from lightsaber.data.splits import Splits

__all__ = [
    "LANDMARK_COLUMN",
    "LANDMARK_PATIENT_COLUMN",
    "LandmarkCohort",
    "LandmarkDesign",
    "TIME_FROM_LANDMARK",
    "landmark_cohort",
    "landmark_features",
]

#: Feature (static column) holding each row's landmark time.
LANDMARK_COLUMN = "landmark_time"
#: Meta column holding each row's patient id (splits group by it).
LANDMARK_PATIENT_COLUMN = "landmark_patient"
#: Duration column of a landmark cohort: time from the landmark (longitudinal time unit).
TIME_FROM_LANDMARK = "time_from_landmark"


@dataclass(frozen=True)
class LandmarkDesign:
    """How landmark rows are built; what :func:`landmark_features` needs to rebuild them.

    Attributes
    ----------
    times : tuple of float
        Landmark times, in the longitudinal table's time unit.
    horizon : float
        Prediction window after each landmark, same unit; follow-up is censored at
        ``time + horizon``.
    history : "all" or float
        Measurements used at landmark ``s``: every one at or before ``s`` (``"all"``), or those
        in the window ``(s - history, s]``.
    duration_unit : float
        Length of one unit of the cohort's durations in the longitudinal time unit (24 for
        durations in days and measurements in hours).
    outcome : {"survival", "label"}
        ``"survival"``: time since the landmark and event (or cause) within the horizon;
        ``"label"``: a 0/1 label, event within the horizon (rows censored inside the
        horizon are dropped and counted).
    """

    times: tuple[float, ...]
    horizon: float
    history: str | float = "all"
    duration_unit: float = 1.0
    outcome: str = "survival"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for MLflow params and the split manifest)."""
        out = asdict(self)
        out["times"] = list(self.times)
        return out


class LandmarkCohort(Cohort):
    """A :class:`Cohort` whose rows are (patient, landmark) pairs; see :func:`landmark_cohort`.

    Attributes
    ----------
    design : LandmarkDesign
        The settings the rows were built with.
    dropped : dict
        Rows left out per landmark because follow-up was censored inside the horizon (only
        with ``outcome="label"``).
    """

    design: LandmarkDesign
    dropped: dict[float, int]

    @classmethod
    def _wrap(cls, cohort: Cohort, design: LandmarkDesign,
              dropped: dict[float, int]) -> LandmarkCohort:
        obj = cls.__new__(cls)
        obj.__dict__.update(cohort.__dict__)
        obj.design = design
        obj.dropped = dict(dropped)
        return obj

    @property
    def landmarks(self) -> np.ndarray:
        """Landmark time of each row (float64, cohort order)."""
        return self.meta[LANDMARK_COLUMN].to_numpy(dtype=np.float64)

    @property
    def patients(self) -> np.ndarray:
        """Patient id of each row. Never logged or shown by lightsaber."""
        return self.meta[LANDMARK_PATIENT_COLUMN].to_numpy()

    def rows_per_landmark(self) -> dict[float, int]:
        """Number of rows at each landmark of the design (0 where none is left)."""
        values, counts = np.unique(self.landmarks, return_counts=True)
        found = dict(zip(values.tolist(), counts.tolist(), strict=True))
        return {s: int(found.get(s, 0)) for s in self.design.times}

    def subset(self, positions: Sequence[int] | np.ndarray) -> LandmarkCohort:
        """The rows at ``positions``, still a landmark cohort with the same design."""
        return LandmarkCohort._wrap(super().subset(positions), self.design, self.dropped)

    def split(self, val: float = 0.15, test: float = 0.15, *, calibration: float = 0.0,
              stratify: str | None = None, group: str | None = None, folds: int | None = None,
              seed: int = 0) -> Splits:
        """Split by patient: every landmark row of a patient lands in the same part.

        ``group`` may name a coarser meta column (e.g. a site) that holds each patient whole;
        by default rows are grouped by ``landmark_patient``. ``stratify="event"`` stratifies
        patients by whether any of their rows has an event.
        """
        if group is None:
            group = LANDMARK_PATIENT_COLUMN
        elif group != LANDMARK_PATIENT_COLUMN:
            groups = pd.DataFrame({"p": self.patients, "g": self.column(group).to_numpy()})
            straddle = int((groups.groupby("p")["g"].nunique() > 1).sum())
            if straddle:
                raise SplitError(
                    f"group column '{group}' puts the landmark rows of {straddle} patient(s) in "
                    "different groups; a patient's rows must stay in one part. Group by a "
                    "column constant per patient, or leave group=None "
                    f"('{LANDMARK_PATIENT_COLUMN}')."
                )
        return super().split(val=val, test=test, calibration=calibration, stratify=stratify,
                             group=group, folds=folds, seed=seed)

    def describe(self) -> dict[str, Any]:
        """Cohort summary plus the landmark design and rows per landmark (counts only)."""
        out = super().describe()
        out["landmarks"] = {"design": self.design.to_dict(),
                            "n_patients": int(pd.unique(self.patients).size),
                            "rows_per_landmark": {f"{s:g}": n for s, n in
                                                  self.rows_per_landmark().items()}}
        if self.dropped:
            out["landmarks"]["dropped_censored"] = {f"{s:g}": n for s, n in self.dropped.items()}
        return out

    def __repr__(self) -> str:
        rows = ", ".join(f"{s:g}: {n}" for s, n in self.rows_per_landmark().items())
        return (f"LandmarkCohort({self.n_patients} rows of "
                f"{int(pd.unique(self.patients).size)} patients, horizon "
                f"{self.design.horizon:g}, rows per landmark {{{rows}}}, task '{self.task}')")

    def _repr_html_(self) -> str:
        from html import escape

        return f"<pre>{escape(repr(self))}</pre>"


def _check_design(cohort: Cohort, design: LandmarkDesign) -> None:
    if not isinstance(cohort, Cohort) or isinstance(cohort, LandmarkCohort):
        raise CohortError("landmarks are built from a patient-level Cohort (not a landmark "
                          f"cohort); got {type(cohort).__name__}.")
    times = np.asarray(design.times, dtype=np.float64)
    if times.ndim != 1 or times.size == 0 or not np.all(np.isfinite(times)):
        raise CohortError(f"`times` must be a non-empty list of finite landmark times; got "
                          f"{list(design.times)!r}.")
    if np.any(times < 0) or np.any(np.diff(times) <= 0):
        raise CohortError(f"`times` must be >= 0 and strictly increasing; got "
                          f"{list(design.times)!r}. Sort them and drop duplicates.")
    if not (isinstance(design.horizon, (int, float)) and math.isfinite(design.horizon)
            and design.horizon > 0):
        raise CohortError(f"`horizon` must be a positive finite time; got {design.horizon!r}.")
    if not (design.history == "all" or (isinstance(design.history, (int, float))
                                        and not isinstance(design.history, bool)
                                        and math.isfinite(design.history)
                                        and design.history > 0)):
        raise CohortError(f"`history` must be 'all' or a positive window length; got "
                          f"{design.history!r}.")
    if not (isinstance(design.duration_unit, (int, float)) and design.duration_unit > 0
            and math.isfinite(design.duration_unit)):
        raise CohortError(f"`duration_unit` must be a positive number (24 for durations in "
                          f"days and measurements in hours); got {design.duration_unit!r}.")
    if design.outcome not in ("survival", "label"):
        raise CohortError(f"`outcome` must be 'survival' or 'label'; got {design.outcome!r}.")
    if cohort.duration is None:
        raise TargetError("landmarks need a time-to-event outcome (`duration=` and `event=`): "
                          "who is still at risk at a landmark, and what happens after it, both "
                          "come from it.")
    if design.outcome == "label" and cohort.causes is not None:
        raise CohortError("outcome='label' on a competing-risks cohort would merge the causes; "
                          "keep outcome='survival' and fit a competing-risks model.")
    if LANDMARK_COLUMN in cohort.static.columns or LANDMARK_PATIENT_COLUMN in cohort.meta.columns:
        raise CohortError(f"the cohort already has a column '{LANDMARK_COLUMN}' or "
                          f"'{LANDMARK_PATIENT_COLUMN}'; rename it before building landmarks.")


def _history_rows(long: LongTable, patients: np.ndarray, at: np.ndarray,
                  history: str | float) -> tuple[np.ndarray, np.ndarray]:
    """Long-table ``rows`` and landmark-row codes of each row's measurements up to its landmark.

    ``patients[r]`` is the cohort position and ``at[r]`` the landmark of landmark row ``r``;
    rows come in runs of equal ``at`` with ascending patients, so the codes returned are
    non-decreasing (a valid :class:`LongTable`). Measurements at ``time <= at`` are kept (and
    ``time > at - history`` for a window); one boolean pass over the table per landmark.
    """
    times = long.times()
    take_rows, take_codes = [], []
    for value in np.unique(at):
        block = np.flatnonzero(at == value)
        code_of_patient = np.full(long.n_patients, -1, dtype=np.int64)
        code_of_patient[patients[block]] = block
        codes = code_of_patient[long.patient]
        keep = (codes >= 0) & (times <= value)
        if history != "all":
            keep &= times > value - float(history)
        take_rows.append(long.rows[keep])
        take_codes.append(codes[keep])
    return np.concatenate(take_rows), np.concatenate(take_codes).astype(np.int32)


def _check_units(cohort: Cohort, duration: np.ndarray, duration_unit: float) -> None:
    """Refuse a ``duration_unit`` under which most patients are measured after follow-up ends.

    Durations in days with measurements in hours and the default ``duration_unit=1`` put the
    vitals of hour 48 after a 7-day stay's end; landmarks would then silently use the wrong
    patients and outcomes.
    """
    long = cohort.long_table
    if long is None or len(long.rows) == 0:
        return
    last = np.full(long.n_patients, -np.inf)
    np.maximum.at(last, long.patient, long.times())
    measured = np.isfinite(last)
    after = int(np.sum(last[measured] > duration[measured]))
    if after > 0.5 * int(measured.sum()):
        raise CohortError(
            f"{after} of {int(measured.sum())} patients have measurements after the end of "
            f"their follow-up ('{cohort.duration}' x duration_unit={duration_unit:g}, in the "
            f"'{long.time}' unit): the duration and the measurement times are probably in "
            f"different units. Pass duration_unit= (e.g. 24 for durations in days and "
            "measurements in hours).")


def _outcome(cohort: Cohort, design: LandmarkDesign, patients: np.ndarray,
             at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Time since the landmark (censored at the horizon) and event or cause code."""
    duration = cohort.targets[cohort.duration].to_numpy(dtype=np.float64) * design.duration_unit
    event = cohort.targets[cohort.event].to_numpy(dtype=np.float64)
    remaining = duration[patients] - at
    within = remaining <= design.horizon
    time = np.where(within, remaining, design.horizon)
    code = np.where(within, event[patients], 0.0)
    return time, code.astype(np.int64)


def landmark_cohort(cohort: Cohort, times: Sequence[float], horizon: float, *,
                    history: str | float = "all",
                    duration_unit: float = 1.0, outcome: str = "survival") -> LandmarkCohort:
    """Stack one row per patient at risk at each landmark, with features from the history only.

    Parameters
    ----------
    cohort : Cohort
        A patient-level cohort with a time-to-event (or competing-risks) outcome, usually with
        a longitudinal table.
    times : sequence of float
        Landmark times (strictly increasing, >= 0), in the longitudinal table's time unit.
    horizon : float
        Prediction window: follow-up after landmark ``s`` is censored at ``s + horizon``.
    history : "all" or float, default "all"
        Measurements at or before ``s`` (``"all"``), or in the window ``(s - history, s]``.
    duration_unit : float, default 1
        Length of one duration unit in the longitudinal time unit (24 when durations are in
        days and measurements in hours). The landmark cohort's durations are in the
        longitudinal time unit: the time since the landmark.
    outcome : {"survival", "label"}, default "survival"
        ``"survival"`` keeps the event (or the cause codes of a competing-risks cohort) with
        the time since ``s``; ``"label"`` makes a 0/1 label ``event_within_horizon`` and drops
        the rows censored inside the horizon (counted in ``dropped``, with a warning).

    Returns
    -------
    LandmarkCohort
        Rows ordered by landmark, then patient. Outcome: duration column
        ``time_from_landmark`` and the cohort's event column. Features: the static features
        and ``landmark_time``; meta columns ``landmark_patient`` and
        ``landmark_time``; the cohort's own meta columns are kept. Ids are
        ``"{patient id}@{s}"``. The longitudinal table is kept, restricted to each row's
        history (shared index arrays, not a copy of the measurements).

    Raises
    ------
    CohortError
        Bad ``times``, ``horizon``, ``history`` or ``duration_unit``; a cohort
        without a time-to-event outcome.
    EmptyCohortError
        No patient is still at risk at any landmark.

    Examples
    --------
    >>> from lightsaber.data.datasets import load_sample_mortality
    >>> cohort = load_sample_mortality(n_patients=200)
    >>> lm = landmark_cohort(cohort, times=[6, 12, 24], horizon=72, duration_unit=24)
    >>> lm.rows_per_landmark()
    {6.0: 200, 12.0: 200, 24.0: 200}
    >>> lm.task, lm.duration, "landmark_time" in lm.feature_names
    ('survival', 'time_from_landmark', True)
    >>> float(lm.longitudinal["hour"].max()) <= 24  # the history only
    True
    """
    design = LandmarkDesign(times=tuple(float(s) for s in times), horizon=horizon,
                            history=history, duration_unit=duration_unit,
                            outcome=outcome)
    _check_design(cohort, design)
    duration = cohort.targets[cohort.duration].to_numpy(dtype=np.float64) * duration_unit
    _check_units(cohort, duration, duration_unit)
    patients_list, at_list = [], []
    for s in design.times:
        at_risk = np.flatnonzero(duration > s)
        patients_list.append(at_risk)
        at_list.append(np.full(len(at_risk), s))
    patients = np.concatenate(patients_list)
    at = np.concatenate(at_list)
    if patients.size == 0:
        raise EmptyCohortError(
            f"no patient is still at risk at any landmark {list(design.times)}: the longest "
            f"follow-up is {duration.max():g} (in the longitudinal time unit, duration_unit="
            f"{duration_unit:g}). Use earlier landmarks or check `duration_unit`.")
    time, code = _outcome(cohort, design, patients, at)
    dropped: dict[float, int] = {}
    if outcome == "label":
        censored = (code == 0) & (time < design.horizon)
        for s in design.times:
            n = int(np.sum(censored & (at == s)))
            if n:
                dropped[s] = n
        if dropped:
            warnings.warn(
                f"outcome='label' drops {sum(dropped.values())} landmark row(s) censored inside "
                f"the horizon (per landmark: {dropped}); their label is unknown. Use "
                "outcome='survival' to keep them.", LandmarkCensoringWarning, stacklevel=2)
        keep = ~censored
        patients, at, time, code = patients[keep], at[keep], time[keep], code[keep]
        if patients.size == 0:
            raise EmptyCohortError("every landmark row is censored inside the horizon.")
    return _assemble(cohort, design, patients, at, time, code, dropped)


def _assemble(cohort: Cohort, design: LandmarkDesign, patients: np.ndarray, at: np.ndarray,
              time: np.ndarray | None, code: np.ndarray | None,
              dropped: dict[float, int]) -> LandmarkCohort:
    static = cohort.static.iloc[patients].reset_index(drop=True)
    static[LANDMARK_COLUMN] = at
    long = None
    if cohort.long_table is not None:
        rows, codes = _history_rows(cohort.long_table, patients, at, design.history)
        source = cohort.long_table
        long = LongTable(source.frame, source.time, source.features, rows, codes, len(patients))
    ids = np.array([f"{p}@{s:g}" for p, s in zip(cohort.ids[patients], at, strict=True)],
                   dtype=object)
    meta = cohort.meta.iloc[patients].reset_index(drop=True)
    meta[LANDMARK_PATIENT_COLUMN] = cohort.ids[patients]
    meta[LANDMARK_COLUMN] = at
    if time is None:  # prediction rows: no outcome known yet
        targets = cohort.targets.iloc[patients].reset_index(drop=True)
        label, duration, event = cohort.label, cohort.duration, cohort.event
    elif design.outcome == "label":
        label, duration, event = "event_within_horizon", None, None
        targets = pd.DataFrame({label: code.astype(np.int64)})
    else:
        label, duration, event = None, TIME_FROM_LANDMARK, cohort.event
        targets = pd.DataFrame({duration: time, event: code})
    base = Cohort._from_parts(
        ids=ids, id_column=cohort.id_column, static=static, categorical=cohort.categorical,
        targets=targets, label=label, duration=duration, event=event, meta=meta,
        long_table=long, positive=None, classes=None,
        causes=cohort.causes if design.outcome == "survival" else None)
    if time is not None:
        base._validate_targets()
    return LandmarkCohort._wrap(base, design, dropped)


def landmark_features(cohort: Cohort, at: float, design: LandmarkDesign) -> LandmarkCohort:
    """Prediction rows at landmark ``at`` for every patient of ``cohort``, outcomes unknown.

    For serving and :func:`lightsaber.training.predict_at`: the patients are those in care at
    ``at`` (nobody is dropped for being at risk or not) and only measurements at or before
    ``at`` (within the design's ``history``) are summarised, exactly as in training.

    Examples
    --------
    >>> from lightsaber.data.datasets import load_sample_mortality
    >>> cohort = load_sample_mortality(n_patients=50)
    >>> design = LandmarkDesign(times=(6.0, 12.0), horizon=72.0, duration_unit=24.0)
    >>> landmark_features(cohort, at=12, design=design).n_patients
    50
    """
    if isinstance(at, bool) or not (isinstance(at, (int, float, np.integer, np.floating))
                                    and math.isfinite(at) and at >= 0):
        raise CohortError(f"`at` must be a finite landmark time >= 0; got {at!r}.")
    if not isinstance(cohort, Cohort) or isinstance(cohort, LandmarkCohort):
        raise CohortError("landmark features are built from a patient-level Cohort; got "
                          f"{type(cohort).__name__}.")
    at_design = LandmarkDesign(**{**asdict(design), "times": (float(at),)})
    patients = np.arange(cohort.n_patients)
    return _assemble(cohort, at_design, patients, np.full(cohort.n_patients, float(at)),
                     None, None, {})
