"""The one outcome checker: every fit, split and metric validates targets through here.

Modelled on scikit-survival's ``check_y_survival``: survival targets are normalised to a
scikit-survival structured array with fields ``("event", bool), ("time", float64)`` so they can be
passed to any scikit-survival estimator or metric as they are.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from lightsaber.exceptions import TargetError

__all__ = ["COMPETING_DTYPE", "SURVIVAL_DTYPE", "check_competing_target", "check_label",
           "check_survival_target", "encode_label", "is_competing_target",
           "make_competing_target", "make_survival_target", "normalise_causes"]

#: Most distinct label values an error message lists (more are summarised by their count).
MAX_SHOWN_VALUES = 10

#: dtype of a survival target, identical to what ``sksurv.util.Surv.from_arrays`` builds.
SURVIVAL_DTYPE = np.dtype([("event", "?"), ("time", "<f8")])


def _positions(mask: np.ndarray, limit: int = 5) -> str:
    """Format the first row positions where ``mask`` is true, for error messages."""
    where = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in where[:limit])
    return shown + (", ..." if where.size > limit else "")


def _as_event(event: Sequence | np.ndarray | pd.Series, name: str) -> np.ndarray:
    values = pd.Series(np.asarray(event)) if not isinstance(event, pd.Series) else event
    values = values.reset_index(drop=True)
    if values.isna().any():
        bad = values.isna().to_numpy()
        raise TargetError(
            f"event column '{name}' has {int(bad.sum())} missing value(s) "
            f"(rows {_positions(bad)}); "
            "expected 0/1 or False/True for every patient. Drop or fill those rows first."
        )
    if values.dtype == bool:
        return values.to_numpy(dtype=bool)
    numeric = pd.to_numeric(values, errors="coerce")
    as_float = numeric.to_numpy(dtype=float, na_value=np.nan)
    bad = numeric.isna().to_numpy() | ~np.isin(as_float, [0, 1])
    if bad.any():
        seen = sorted({str(v) for v in values[bad].unique()[:5]})
        swapped = (" If the column holds follow-up times, `event` and `duration` are swapped."
                   if numeric.notna().all() and (as_float > 1).mean() > 0.5 else "")
        raise TargetError(
            f"event column '{name}' must be binary (0/1 or False/True); found {int(bad.sum())} "
            f"row(s) with other values {seen} (rows {_positions(bad)}). Map your status codes to "
            "1 = event observed, 0 = censored (e.g. `df[col] == 'dead'`)." + swapped
        )
    return numeric.to_numpy(dtype=float).astype(bool)


def _one_column(values: Sequence | np.ndarray | pd.Series, kind: str, name: str) -> None:
    """Raise :class:`TargetError` unless ``values`` is one value per patient (1-d)."""
    ndim = np.ndim(values) if not isinstance(values, pd.DataFrame) else 2
    if ndim != 1:
        shape = np.shape(values) if ndim else "a single value"
        raise TargetError(
            f"{kind} column '{name}' must hold one value per patient (1-d); got {shape}. Pass "
            "one column (e.g. df['col']), not a table or a scalar."
        )


def _as_time(time: Sequence | np.ndarray | pd.Series, name: str) -> np.ndarray:
    values = pd.Series(np.asarray(time)) if not isinstance(time, pd.Series) else time
    values = values.reset_index(drop=True)
    dtype = values.dtype
    if ptypes.is_datetime64_any_dtype(dtype) or ptypes.is_timedelta64_dtype(dtype) or (
            ptypes.is_object_dtype(dtype) and values.map(lambda v: isinstance(
                v, (pd.Timestamp, pd.Timedelta, dt.date, dt.timedelta))).any()):
        raise TargetError(
            f"duration column '{name}' holds dates or time spans (dtype {dtype}); expected a "
            "number of time units since the index date. Convert it, e.g. "
            "(df['end'] - df['start']).dt.days."
        )
    numeric = pd.to_numeric(values, errors="coerce")
    not_numeric = numeric.isna().to_numpy() & values.notna().to_numpy()
    if not_numeric.any():
        raise TargetError(
            f"duration column '{name}' has {int(not_numeric.sum())} non-numeric value(s) "
            f"(rows {_positions(not_numeric)}); expected numbers (e.g. days since index date)."
        )
    times = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = ~np.isfinite(times)
    if missing.any():
        raise TargetError(
            f"duration column '{name}' has {int(missing.sum())} missing or infinite value(s) "
            f"(rows {_positions(missing)}); every patient needs a finite follow-up time. "
            "Drop those rows or use the censoring time."
        )
    negative = times < 0
    if negative.any():
        raise TargetError(
            f"duration column '{name}' has {int(negative.sum())} negative value(s) (min "
            f"{times.min():g}, rows {_positions(negative)}); durations must be >= 0. Check the "
            "start/end dates or whether event and duration columns were swapped."
        )
    return times


def make_survival_target(event, time) -> np.ndarray:
    """Build a structured survival array without validation (for internal, checked data)."""
    y = np.empty(len(time), dtype=SURVIVAL_DTYPE)
    y["event"] = np.asarray(event, dtype=bool)
    y["time"] = np.asarray(time, dtype=np.float64)
    return y


def check_survival_target(
    event,
    time=None,
    *,
    event_name: str = "event",
    duration_name: str = "duration",
    allow_all_censored: bool = False,
) -> np.ndarray:
    """Validate and normalise a survival outcome.

    Parameters
    ----------
    event : array-like or structured array
        Event indicator (1/True = event observed, 0/False = censored). A scikit-survival
        structured array (two fields: bool event, float time) may be passed alone instead.
    time : array-like, optional
        Follow-up durations (non-negative, finite). Omit when ``event`` is a structured array.
    event_name, duration_name : str
        Column names used in error messages.
    allow_all_censored : bool, default False
        Accept a target with no events (e.g. a small test split).

    Returns
    -------
    numpy.ndarray
        Structured array with fields ``event`` (bool) and ``time`` (float64).

    Raises
    ------
    TargetError
        Non-binary or missing events, non-numeric, missing, infinite or negative durations,
        mismatched lengths, or no event at all.

    Examples
    --------
    >>> y = check_survival_target([1, 0, 1], [5.0, 3.5, 8])
    >>> y["event"].tolist(), y["time"].tolist()
    ([True, False, True], [5.0, 3.5, 8.0])
    >>> check_survival_target([0, 2], [1, 2])
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.TargetError: event column 'event' must be binary ...
    """
    if time is None:
        arr = np.asarray(event)
        if arr.dtype.names is None or len(arr.dtype.names) != 2:
            raise TargetError(
                "expected a structured survival array with two fields (event, time), e.g. from "
                f"sksurv.util.Surv.from_arrays; got dtype {arr.dtype}. Or pass event and time."
            )
        if is_competing_target(arr):
            raise TargetError(
                "got a competing-risks target (fields status, time; causes "
                f"{sorted(set(arr['status'][arr['status'] > 0].tolist()))[:MAX_SHOWN_VALUES]}) "
                "where a single-event survival target is needed; treating the other causes as "
                "censoring would over-state risk. Use a competing-risks model (CauseSpecificCox, "
                "FineGray, DeepHitCompeting, LogisticHazardCompeting), or, deliberately, "
                "Surv.from_arrays(y['status'] == 1, y['time']) for one cause."
            )
        event_field, time_field = arr.dtype.names
        event, time = arr[event_field], arr[time_field]
        event_name, duration_name = event_field, time_field
    _one_column(event, "event", event_name)
    _one_column(time, "duration", duration_name)
    if len(event) != len(time):
        raise TargetError(
            f"event '{event_name}' has {len(event)} rows but duration '{duration_name}' has "
            f"{len(time)}; they must describe the same patients."
        )
    ev = _as_event(event, event_name)
    tm = _as_time(time, duration_name)
    if not allow_all_censored and len(ev) and not ev.any():
        raise TargetError(
            f"all {len(ev)} samples are censored (event column '{event_name}' is all 0): no "
            "survival model can be fitted or evaluated. Check the event coding (1 = event)."
        )
    return make_survival_target(ev, tm)


def check_label(y, *, name: str = "label", allow_single_class: bool = False) -> np.ndarray:
    """Validate a classification label.

    Parameters
    ----------
    y : array-like
        One label per patient. Missing values are not allowed.
    name : str
        Column name used in error messages.
    allow_single_class : bool, default False
        Accept a label with one class (e.g. a tiny split); training data never should.

    Returns
    -------
    numpy.ndarray
        The labels; booleans become ``0/1`` integers.

    Examples
    --------
    >>> check_label([0, 1, 1]).tolist()
    [0, 1, 1]
    >>> check_label([1, 1, 1], name="hospdead")
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.TargetError: label column 'hospdead' has a single class (1) ...
    """
    _one_column(y, "label", name)
    values = pd.Series(np.asarray(y)) if not isinstance(y, pd.Series) else y.reset_index(drop=True)
    missing = values.isna().to_numpy()
    if missing.any():
        raise TargetError(
            f"label column '{name}' has {int(missing.sum())} missing value(s) (rows "
            f"{_positions(missing)}); drop or impute those patients before fitting."
        )
    classes = values.unique()
    if len(classes) < 2 and not allow_single_class and len(values):
        # Show the class only when it is a plain code: a text label could be anything.
        shown = classes[0] if isinstance(classes[0], (int, float, np.number, bool, np.bool_)) \
            else "a text value"
        raise TargetError(
            f"label column '{name}' has a single class ({shown!s}) in all {len(values)} "
            "rows; a classifier needs at least two. Check the filter or the label definition."
        )
    if values.dtype == bool:
        return values.to_numpy(dtype=np.int64)
    return values.to_numpy()


def _shown_values(values: pd.Series) -> str:
    """The distinct values of an outcome column for an error message, or just their count.

    Outcome codes identify no one, but a free-text column declared as a label by mistake could
    hold anything: beyond :data:`MAX_SHOWN_VALUES` distinct values only the count is given, and
    each value shown is cut to 20 characters.
    """
    distinct = pd.unique(values)
    if len(distinct) > MAX_SHOWN_VALUES:
        return f"{len(distinct)} distinct values"
    try:
        ordered = sorted(distinct.tolist())
    except TypeError:  # mixed types
        ordered = sorted(distinct.tolist(), key=str)
    shown = ", ".join(repr(v if not isinstance(v, str) else v[:20]) for v in ordered)
    return f"{len(distinct)} distinct value(s): {shown}"


def encode_label(y, *, name: str = "label", positive=None, classes=None,
                 allow_single_class: bool = False) -> np.ndarray:
    """The cohort rule for a classification outcome: binary 0/1, or declared classes.

    A label is accepted as it is only when it is unambiguous:

    * **binary**: booleans, or numbers that are all 0 or 1 (1 = the positive class);
    * **binary, coded otherwise**: name the positive class, ``positive="yes"`` (the column
      must hold at most two values, one of them ``positive``); encoded as 1 = positive;
    * **multi-class**: declare the classes, ``classes=["a", "b", "c"]``; every value must be
      one of them. Two declared classes make a binary label with ``classes[1]`` positive.

    Anything else (text labels, a count or a score column used as a label by mistake) is a
    :class:`~lightsaber.exceptions.TargetError` naming the column, the values seen and the fix:
    guessing would give a model with silently empty or meaningless metrics.

    Parameters
    ----------
    y : array-like
        One label per patient.
    name : str
        Column name used in error messages.
    positive : scalar, optional
        The value that means "the event happened" for a binary label coded otherwise.
    classes : sequence, optional
        The declared classes of a multi-class label.
    allow_single_class : bool, default False
        Accept a label with one class (a small split).

    Returns
    -------
    numpy.ndarray
        0/1 integers (binary) or the class values (multi-class).

    Raises
    ------
    TargetError
        Missing values, text or non-0/1 values without ``positive`` / ``classes``, a
        ``positive`` that does not occur, values outside ``classes``.

    Examples
    --------
    >>> encode_label([True, False]).tolist()
    [1, 0]
    >>> encode_label(["yes", "no", "yes"], positive="yes").tolist()
    [1, 0, 1]
    >>> encode_label([2, 0, 1], classes=[0, 1, 2]).tolist()
    [2, 0, 1]
    >>> encode_label(["yes", "no"], name="died")
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.TargetError: label column 'died' holds text (2 distinct value(s): ...
    """
    if positive is not None and classes is not None:
        raise TargetError(
            f"label column '{name}': give `positive=` (a binary label) or `classes=` (a "
            "multi-class label), not both.")
    _one_column(y, "label", name)
    values = pd.Series(np.asarray(y)) if not isinstance(y, pd.Series) else y.reset_index(drop=True)
    check_label(values, name=name, allow_single_class=True)  # missing values, shape
    if classes is not None:
        declared = list(classes)
        if len(declared) < 2 or len(set(map(str, declared))) != len(declared):
            raise TargetError(
                f"classes={declared!r} for label column '{name}' must list at least two distinct "
                "classes.")
        unknown = ~values.isin(declared).to_numpy()
        if unknown.any():
            raise TargetError(
                f"label column '{name}' has {int(unknown.sum())} row(s) (rows "
                f"{_positions(unknown)}) whose value is not one of classes={declared!r}; found "
                f"{_shown_values(values[unknown])}. Add the class to `classes=` or map the "
                "column first.")
        if len(declared) == 2:
            encoded = (values == declared[1]).to_numpy(dtype=np.int64)
        else:
            encoded = values.to_numpy()
        return check_label(encoded, name=name, allow_single_class=allow_single_class)
    if positive is not None:
        distinct = pd.unique(values)
        if not (values == positive).any():
            raise TargetError(
                f"positive={positive!r} does not occur in label column '{name}' (it holds "
                f"{_shown_values(values)}). Check the spelling and the type (the string '1' is "
                "not the number 1).")
        if len(distinct) > 2:
            raise TargetError(
                f"positive={positive!r} makes label column '{name}' binary, but it holds "
                f"{_shown_values(values)}. Map it to two values first, or declare the classes "
                "of a multi-class outcome with `classes=[...]`.")
        encoded = (values == positive).to_numpy(dtype=np.int64)
        return check_label(encoded, name=name, allow_single_class=allow_single_class)
    if values.dtype == bool:
        return check_label(values, name=name, allow_single_class=allow_single_class)
    numeric = pd.api.types.is_numeric_dtype(values.dtype)
    as_float = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if numeric and np.isin(as_float, [0.0, 1.0]).all():
        return check_label(as_float.astype(np.int64), name=name,
                           allow_single_class=allow_single_class)
    fixes = ("Name the positive class of a binary label, e.g. `positive=...`, or declare the "
             "classes of a multi-class outcome, `classes=[...]` (Cohort or YAML data section).")
    if not numeric:
        raise TargetError(
            f"label column '{name}' holds text ({_shown_values(values)}); a binary label must "
            f"be 0/1 or True/False. {fixes}")
    raise TargetError(
        f"label column '{name}' holds {_shown_values(values)}; a binary label must be 0/1 or "
        f"True/False. {fixes} A count or a score is not a label: threshold it first, e.g. "
        f"`df['{name}'] > 0`.")


#: What a cause name may hold (it becomes part of MLflow metric names).
_CAUSE_NAME = re.compile(r"[A-Za-z0-9_-]+")

#: dtype of a competing-risks target: ``status`` 0 = censored, 1..K = the cause that ended
#: follow-up; ``time`` the follow-up duration.
COMPETING_DTYPE = np.dtype([("status", "<i8"), ("time", "<f8")])


def is_competing_target(y) -> bool:
    """Whether ``y`` is a competing-risks target: a ``(status, time)`` structured array.

    Examples
    --------
    >>> is_competing_target(make_competing_target([0, 1, 2], [1.0, 2.0, 3.0]))
    True
    >>> is_competing_target(make_survival_target([0, 1], [1.0, 2.0]))
    False
    """
    names = getattr(getattr(y, "dtype", None), "names", None)
    return names is not None and tuple(names) == ("status", "time") and \
        np.issubdtype(y.dtype["status"], np.integer)


def _as_status(status, name: str) -> np.ndarray:
    values = pd.Series(np.asarray(status)) if not isinstance(status, pd.Series) else status
    values = values.reset_index(drop=True)
    if values.isna().any():
        bad = values.isna().to_numpy()
        raise TargetError(
            f"status column '{name}' has {int(bad.sum())} missing value(s) (rows "
            f"{_positions(bad)}); expected 0 = censored or a cause code 1, 2, ... for every "
            "patient. Drop or fill those rows first."
        )
    if values.dtype == bool:
        return values.to_numpy(dtype=np.int64)
    numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    not_code = ~np.isfinite(numeric) | (numeric != np.round(numeric))
    if not_code.any():
        raise TargetError(
            f"status column '{name}' has {int(not_code.sum())} value(s) that are not integer "
            f"codes ({_shown_values(values[not_code])}; rows {_positions(not_code)}); expected 0 = "
            "censored and 1, 2, ... = causes. Map text labels to codes first, e.g. "
            "df[col].map({'alive': 0, 'death': 1, 'discharge': 2})."
        )
    codes = numeric.astype(np.int64)
    negative = codes < 0
    if negative.any():
        raise TargetError(
            f"status column '{name}' has {int(negative.sum())} negative code(s) "
            f"({sorted(set(codes[negative].tolist()))[:MAX_SHOWN_VALUES]}; rows "
            f"{_positions(negative)}); expected 0 = censored and 1, 2, ... = causes."
        )
    return codes


def make_competing_target(status, time, *, causes=None, status_name: str = "status",
                          duration_name: str = "duration",
                          require_all_causes: bool = False) -> np.ndarray:
    """Validate and build a competing-risks target: ``status`` (0 censored, 1..K causes), ``time``.

    Parameters
    ----------
    status : array-like
        0 = censored, a positive integer = the cause that ended follow-up (booleans are read as
        0/1, i.e. one cause).
    time : array-like
        Follow-up durations (non-negative, finite).
    causes : sequence of int or mapping {int: str}, optional
        The declared cause codes (a mapping also names them, e.g. ``{1: "death", 2:
        "discharge"}``). A code in ``status`` that is not declared is an error.
    status_name, duration_name : str
        Column names used in error messages.
    require_all_causes : bool, default False
        Raise when a declared cause is never observed (training data; a small test split may
        lack one).

    Returns
    -------
    numpy.ndarray
        Structured array of :data:`COMPETING_DTYPE` (fields ``status`` int64, ``time`` float64).

    Raises
    ------
    TargetError
        Missing, non-integer or negative codes, undeclared codes, a declared cause never seen
        (with ``require_all_causes``), no event at all, or any duration problem that
        :func:`check_survival_target` reports.

    Examples
    --------
    >>> causes = {1: "death", 2: "discharge"}
    >>> y = make_competing_target([0, 1, 2, 1], [5.0, 3.5, 8, 2], causes=causes)
    >>> y["status"].tolist(), y["time"].tolist()
    ([0, 1, 2, 1], [5.0, 3.5, 8.0, 2.0])
    >>> make_competing_target([0, 3], [1, 2], causes=[1, 2])
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.TargetError: status column 'status' has 1 row(s) with code 3, ...
    """
    _one_column(status, "status", status_name)
    _one_column(time, "duration", duration_name)
    if len(status) != len(time):
        raise TargetError(
            f"status '{status_name}' has {len(status)} rows but duration '{duration_name}' has "
            f"{len(time)}; they must describe the same patients."
        )
    codes = _as_status(status, status_name)
    times = _as_time(time, duration_name)
    if causes is not None:
        declared = sorted(int(c) for c in causes)
        if not declared or min(declared) < 1:
            raise TargetError(
                f"causes must be positive integer codes (0 means censored); got {declared}. "
                "Declare them as e.g. causes={1: 'death', 2: 'discharge'}."
            )
        undeclared = sorted(set(codes[codes > 0].tolist()) - set(declared))
        if undeclared:
            counts = ", ".join(f"code {c}" for c in undeclared[:MAX_SHOWN_VALUES])
            n_bad = int(np.isin(codes, undeclared).sum())
            raise TargetError(
                f"status column '{status_name}' has {n_bad} row(s) with {counts}, which is not "
                f"a declared cause (declared: {declared}; 0 = censored). Add it to causes or "
                "recode those rows."
            )
        if require_all_causes:
            unseen = [c for c in declared if not (codes == c).any()]
            if unseen:
                raise TargetError(
                    f"declared cause(s) {unseen} never occur in status column '{status_name}' "
                    f"({len(codes)} rows); a model cannot learn a cause it never sees. Drop the "
                    "cause from causes, or check the filter and the split."
                )
    if len(codes) and not (codes > 0).any():
        raise TargetError(
            f"all {len(codes)} samples are censored (status column '{status_name}' is all 0): "
            "no competing-risks model can be fitted or evaluated. Check the status coding."
        )
    y = np.empty(len(times), dtype=COMPETING_DTYPE)
    y["status"] = codes
    y["time"] = times
    return y


def check_competing_target(y, time=None, *, causes=None,
                           require_all_causes: bool = False) -> np.ndarray:
    """A competing-risks target from a structured array, a ``(status, time)`` tuple or two arrays.

    Parameters
    ----------
    y : structured array, tuple or array-like
        A :data:`COMPETING_DTYPE` array (or any two-field structured array: status, time), a
        ``(status, time)`` tuple, or the status codes with ``time`` given.
    time : array-like, optional
        Follow-up durations when ``y`` holds the status codes only.
    causes, require_all_causes
        As in :func:`make_competing_target`.

    Returns
    -------
    numpy.ndarray
        Structured array of :data:`COMPETING_DTYPE`.

    Examples
    --------
    >>> check_competing_target(([1, 0, 2], [4.0, 5.0, 6.0]))["status"].tolist()
    [1, 0, 2]
    """
    status_name, duration_name = "status", "duration"
    if time is None:
        if isinstance(y, tuple) and len(y) == 2:
            y, time = y
        else:
            arr = np.asarray(y)
            if arr.dtype.names is None or len(arr.dtype.names) != 2:
                raise TargetError(
                    "expected a competing-risks target: a structured array (status, time) "
                    "from lightsaber.data.make_competing_target, a (status, time) tuple, or "
                    f"status and time; got dtype {arr.dtype}."
                )
            status_name, duration_name = arr.dtype.names
            y, time = arr[status_name], arr[duration_name]
    return make_competing_target(y, time, causes=causes, status_name=status_name,
                                 duration_name=duration_name,
                                 require_all_causes=require_all_causes)


def normalise_causes(causes) -> dict[int, str]:
    """Declared causes as ``{code: name}``; a sequence of codes gets the names ``causeK``.

    Names end up in metric names (``test_cause_specific_auc_death``), so they must be unique
    and made of letters, digits, ``_`` or ``-``.

    Examples
    --------
    >>> normalise_causes({2: "discharge", 1: "death"})
    {1: 'death', 2: 'discharge'}
    >>> normalise_causes([1, 2])
    {1: 'cause1', 2: 'cause2'}
    """
    if isinstance(causes, Mapping):
        items = list(causes.items())
    elif isinstance(causes, (str, bytes)) or not isinstance(causes, Iterable):
        raise TargetError(
            f"causes must map cause codes to names, e.g. {{1: 'death', 2: 'discharge'}}, or "
            f"list the codes; got {causes!r}."
        )
    else:
        items = [(code, f"cause{code}") for code in causes]
    out: dict[int, str] = {}
    for code, name in items:
        if isinstance(code, (bool, np.bool_)) or not isinstance(code, (int, np.integer)) \
                or code < 1:
            raise TargetError(
                f"cause code {code!r} must be a positive integer (0 means censored); declare "
                "them as e.g. causes={1: 'death', 2: 'discharge'}."
            )
        if not isinstance(name, str) or not _CAUSE_NAME.fullmatch(name):
            raise TargetError(
                f"cause {int(code)} has name {name!r}; names become part of metric names, so "
                "use letters, digits, '_' or '-' (e.g. 'death', 'in_hospital_death')."
            )
        out[int(code)] = name
    if len(set(out.values())) != len(out) or len(out) != len(items):
        raise TargetError(f"causes must have distinct codes and names; got {dict(items)!r}.")
    if not out:
        raise TargetError("causes is empty; declare at least one cause, e.g. {1: 'death'}.")
    return dict(sorted(out.items()))
