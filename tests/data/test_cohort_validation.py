"""Every boundary check of issue 2: specific error class, standard base class, actionable text,
and no patient identifier in the message (privacy boundary)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lightsaber import Cohort
from lightsaber.exceptions import (
    CohortError,
    DuplicateIdError,
    EmptyCohortError,
    IdMismatchError,
    LightsaberError,
    LongitudinalOrderError,
    MissingColumnError,
    NonNumericColumnError,
    TargetError,
)


def _build(static, targets, longitudinal=None, **overrides):
    kwargs = {"id": "pid", "duration": "days", "event": "died"}
    if longitudinal is not None:
        kwargs.update(longitudinal=longitudinal, time="hour")
    kwargs.update(overrides)
    return Cohort(static, targets, **kwargs)


def _dup_static(s, t, long):
    s = pd.concat([s, s.iloc[[3, 5]]], ignore_index=True)
    return (s, t, long), {}


def _dup_targets(s, t, long):
    return (s, pd.concat([t, t.iloc[[0]]], ignore_index=True), long), {}


def _extra_static(s, t, long):
    return (s, t.iloc[2:], long), {}


def _extra_targets(s, t, long):
    return (s.iloc[3:], t, long), {}


def _negative(s, t, long):
    t = t.copy()
    t.loc[[1, 4], "days"] = -3.0
    return (s, t, long), {}


def _nan_duration(s, t, long):
    t = t.copy()
    t.loc[2, "days"] = np.nan
    return (s, t, long), {}


def _event_not_binary(s, t, long):
    t = t.copy()
    t.loc[[0, 1, 2], "died"] = 2
    return (s, t, long), {}


def _all_censored(s, t, long):
    t = t.copy()
    t["died"] = 0
    return (s, t, long), {}


def _non_numeric_undeclared(s, t, long):
    return (s, t, long), {"categorical": []}


def _looks_numeric_glitch(s, t, long):
    s = s.copy()
    s["lab_a"] = s["lab_a"].round(2).astype(str)
    s.loc[7, "lab_a"] = "<0.1"
    return (s, t, long), {}


def _single_class(s, t, long):
    t = t.copy()
    t["label"] = 1
    return (s, t, long), {"label": "label"}


def _long_backwards(s, t, long):
    long = long.copy()
    first = long.index[long["pid"] == long["pid"].iloc[0]]
    long.loc[first, "hour"] = long.loc[first, "hour"].to_numpy()[::-1]
    return (s, t, long), {}


def _long_duplicate(s, t, long):
    long = pd.concat([long, long.iloc[[4]]]).sort_values(["pid", "hour"], kind="stable")
    return (s, t, long.reset_index(drop=True)), {}


def _long_unknown_patient(s, t, long):
    extra = long.iloc[[0]].assign(pid="SECRET-STRANGER")
    return (s, t, pd.concat([long, extra], ignore_index=True)), {}


def _long_missing_time(s, t, long):
    long = long.copy()
    long.loc[3, "hour"] = np.nan
    return (s, t, long), {}


def _missing_declared_column(s, t, long):
    return (s, t, long), {"features": ["age", "weight"]}


def _missing_event_column(s, t, long):
    return (s, t, long), {"event": "deid"}


def _missing_id_in_static(s, t, long):
    return (s.rename(columns={"pid": "patient"}), t, long), {}


def _empty_input(s, t, long):
    return (s.iloc[:0], t.iloc[:0], None), {}


CASES = [
    # name, mutate, error class, standard base, message fragments
    ("missing declared feature column", _missing_declared_column, MissingColumnError, KeyError,
     ["'weight'", "static table"]),
    ("missing declared event column", _missing_event_column, MissingColumnError, KeyError,
     ["'deid'", "Did you mean 'died'"]),
    ("missing id column in static", _missing_id_in_static, MissingColumnError, KeyError,
     ["'pid'", "static"]),
    ("duplicate ids in static", _dup_static, DuplicateIdError, ValueError,
     ["'pid'", "2 duplicated id(s) over 4 rows", "static"]),
    ("duplicate ids in targets", _dup_targets, DuplicateIdError, ValueError,
     ["'pid'", "1 duplicated id(s) over 2 rows", "targets"]),
    ("ids in features not in targets", _extra_static, IdMismatchError, ValueError,
     ["2 id(s) are in the static table but not in the targets", "0 are in the targets"]),
    ("ids in targets not in features", _extra_targets, IdMismatchError, ValueError,
     ["0 id(s) are in the static table", "3 are in the targets but not in the static"]),
    ("negative durations", _negative, TargetError, ValueError,
     ["'days'", "2 negative value(s)", "min -3"]),
    ("NaN durations", _nan_duration, TargetError, ValueError, ["'days'", "1 missing"]),
    ("event not binary", _event_not_binary, TargetError, ValueError,
     ["'died'", "must be binary", "['2']"]),
    ("all censored", _all_censored, TargetError, ValueError,
     ["all 40 samples are censored", "'died'"]),
    ("non-numeric column not declared categorical", _non_numeric_undeclared,
     NonNumericColumnError, TypeError, ["'sex'", "not declared categorical", "dtype object"]),
    ("numeric column with a text glitch", _looks_numeric_glitch, NonNumericColumnError,
     TypeError, ["'lab_a'", "looks numeric", "rows 7"]),
    ("label with one class", _single_class, TargetError, ValueError,
     ["'label'", "single class"]),
    ("longitudinal times going backwards", _long_backwards, LongitudinalOrderError, ValueError,
     ["'hour'", "goes backwards within 1 patient", "sort_longitudinal=True"]),
    ("longitudinal duplicate (id, time)", _long_duplicate, LongitudinalOrderError, ValueError,
     ["1 duplicate (id 'pid', time 'hour')"]),
    ("longitudinal id unknown to the cohort", _long_unknown_patient, IdMismatchError,
     ValueError, ["1 id(s) in column 'pid' of the longitudinal table"]),
    ("longitudinal missing time", _long_missing_time, LongitudinalOrderError, ValueError,
     ["'hour'", "1 missing"]),
    ("empty cohort", _empty_input, EmptyCohortError, ValueError, ["empty"]),
]


@pytest.mark.parametrize(("name", "mutate", "error", "base", "fragments"), CASES,
                         ids=[c[0] for c in CASES])
def test_boundary_errors(name, mutate, error, base, fragments, static_frame, target_frame,
                         long_frame, secret_ids):
    (s, t, long), overrides = mutate(static_frame, target_frame, long_frame)
    with pytest.raises(error) as info:
        _build(s, t, long, **overrides)
    exc = info.value
    assert isinstance(exc, base) and isinstance(exc, CohortError)
    assert isinstance(exc, LightsaberError)
    message = str(exc)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "SECRET" not in message, "an identifier leaked into an error message"


def test_empty_after_filtering(static_frame, target_frame):
    cohort = _build(static_frame, target_frame)
    with pytest.raises(EmptyCohortError, match="empty after filtering.*all 40 patients"):
        cohort.filter("age > 1000")
    with pytest.raises(EmptyCohortError):
        cohort.filter(np.zeros(40, dtype=bool))


def test_bad_filter_expression_is_a_cohort_error(static_frame, target_frame):
    cohort = _build(static_frame, target_frame)
    with pytest.raises(CohortError, match="filter expression"):
        cohort.filter("no_such_column > 3")
    with pytest.raises(CohortError, match="one boolean per patient"):
        cohort.filter(np.ones(3, dtype=bool))


def test_sort_longitudinal_accepts_out_of_order_rows(static_frame, target_frame, long_frame):
    shuffled = long_frame.sample(frac=1.0, random_state=0)
    cohort = _build(static_frame, target_frame, shuffled, sort_longitudinal=True)
    ordered = _build(static_frame, target_frame, long_frame)
    pd.testing.assert_frame_equal(cohort.longitudinal, ordered.longitudinal)


def test_longitudinal_rows_need_not_be_contiguous(static_frame, target_frame, long_frame):
    """Rows sorted by time across patients (chart order) are monotone within each patient."""
    chart_order = long_frame.sort_values(["hour", "pid"], kind="stable")
    cohort = _build(static_frame, target_frame, chart_order)
    assert len(cohort.longitudinal) == len(long_frame)


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(CohortError, match="static file not found"):
        Cohort.from_files(tmp_path / "nope.csv", id="pid", label="y")
    bad = tmp_path / "cohort.xlsx"
    bad.write_text("x")
    with pytest.raises(CohortError, match="extension '.xlsx'"):
        Cohort.from_files(bad, id="pid", label="y")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(CohortError, match="is empty"):
        Cohort.from_files(empty, id="pid", label="y")


def test_outcome_declaration_errors(static_frame, target_frame):
    with pytest.raises(TargetError, match="both `duration` and `event`"):
        Cohort(static_frame, target_frame, id="pid", duration="days")
    with pytest.raises(TargetError, match="declare an outcome"):
        Cohort(static_frame, target_frame, id="pid")


def test_regex_matching_nothing(static_frame, target_frame):
    with pytest.raises(MissingColumnError, match="matches no column"):
        _build(static_frame, target_frame, features=r"^vital_")


def test_missing_column_error_str_is_plain_message(static_frame, target_frame):
    with pytest.raises(KeyError) as info:
        _build(static_frame, target_frame, features=["weight"])
    assert str(info.value).startswith("declared column 'weight'")
