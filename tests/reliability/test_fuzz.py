"""Property-based fuzzing of the cohort loader and the survival target checker.

The property: whatever DataFrame (or arrays) comes in, the result is a valid cohort (target)
or a :class:`~lightsaber.exceptions.LightsaberError`; never a pandas, NumPy or Python error.
Examples are derandomised (the same ones every run, so a CI failure reproduces locally); a
failure prints the falsifying DataFrame.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lightsaber.data import Cohort, check_label, check_survival_target
from lightsaber.data.targets import SURVIVAL_DTYPE
from lightsaber.exceptions import LightsaberError

FUZZ = settings(max_examples=200, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
#: For the properties that write files or build two tables per example (slower per example).
FUZZ_FILES = settings(FUZZ, max_examples=100)

#: Any cell a messy CSV or a hand-built frame might hold.
cells = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.datetimes(min_value=pd.Timestamp("1900-01-01").to_pydatetime(),
                 max_value=pd.Timestamp("2100-01-01").to_pydatetime()),
    st.sampled_from(["0", "1", "yes", "", "?", "<0.1", "1e3", "nan", "inf", "-1"]),
)

#: Columns of one dtype each, or of mixed Python objects.
typed_elements = {
    "float64": st.floats(allow_nan=True, allow_infinity=True),
    "int64": st.integers(min_value=-1000, max_value=1000),
    "bool": st.booleans(),
    "object": cells,
}


@st.composite
def column(draw: st.DrawFn, n: int) -> list | np.ndarray:
    dtype = draw(st.sampled_from(sorted(typed_elements)))
    values = draw(st.lists(typed_elements[dtype], min_size=n, max_size=n))
    if dtype == "object":
        return pd.Series(values, dtype=object)
    return pd.Series(values, dtype=dtype)


@st.composite
def cohort_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(min_value=0, max_value=12))
    names = ["pid", "days", "died", "label"] + draw(
        st.lists(st.sampled_from(["age", "sex", "lab", "when", "note"]), unique=True,
                 max_size=4))
    frame = pd.DataFrame({name: draw(column(n)) for name in names})
    if draw(st.booleans()):  # often give well-formed ids and outcomes, to reach deeper checks
        frame["pid"] = [f"P{i}" for i in range(n)]
        frame["days"] = draw(st.lists(st.floats(0, 100), min_size=n, max_size=n))
        frame["died"] = draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n))
        frame["label"] = draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n))
    if draw(st.booleans()):
        frame = frame.drop(columns=draw(st.sampled_from(list(frame.columns))))
    return frame


def _loads_or_our_error(build) -> Cohort | None:
    try:
        return build()
    except LightsaberError:
        return None


@FUZZ
@given(frame=cohort_frames(), survival=st.booleans())
def test_cohort_from_any_frame_loads_or_raises_our_error(frame: pd.DataFrame, survival: bool):
    kwargs = ({"duration": "days", "event": "died"} if survival else {"label": "label"})
    cohort = _loads_or_our_error(lambda: Cohort(frame, id="pid", **kwargs))
    if cohort is not None:  # a cohort that loads is usable
        assert cohort.n_patients == len(frame) > 0
        target = cohort.target()
        assert len(target) == cohort.n_patients
        if survival:
            assert target.dtype == SURVIVAL_DTYPE
            assert np.all(np.isfinite(target["time"])) and np.all(target["time"] >= 0)
        for name in cohort.feature_names:
            col = cohort.static[name]
            if pd.api.types.is_float_dtype(col.dtype):
                assert not np.isinf(col.to_numpy()).any()


@FUZZ_FILES
@given(frame=cohort_frames())
def test_cohort_from_any_csv_file_loads_or_raises_our_error(frame: pd.DataFrame):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "static.csv"
        frame.to_csv(path, index=False)
        _loads_or_our_error(lambda: Cohort.from_files(path, id="pid", duration="days",
                                                      event="died"))


@FUZZ_FILES
@given(raw=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".parquet", ".csv.gz"]))
def test_any_bytes_as_a_file_load_or_raise_our_error(raw: bytes, suffix: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"static{suffix}"
        path.write_bytes(raw)
        _loads_or_our_error(lambda: Cohort.from_files(path, id="pid", label="label"))


@FUZZ_FILES
@given(frames=st.tuples(cohort_frames(), cohort_frames()))
def test_cohort_from_two_frames_loads_or_raises_our_error(frames):
    static, targets = frames
    _loads_or_our_error(lambda: Cohort.from_frames(
        static.drop(columns=["days", "died", "label"], errors="ignore"), targets, id="pid",
        duration="days", event="died"))


arrays = st.one_of(
    st.lists(cells, max_size=10),
    hnp.arrays(dtype=st.sampled_from([np.float64, np.int64, np.bool_, np.float32]),
               shape=hnp.array_shapes(min_dims=0, max_dims=2, max_side=6)),
    st.integers(),
    st.floats(),
    st.none(),
)


@FUZZ
@given(event=arrays, time=arrays, allow=st.booleans())
def test_survival_target_checker_returns_a_target_or_raises_our_error(event, time, allow):
    try:
        y = check_survival_target(event, time, allow_all_censored=allow)
    except LightsaberError:
        return
    assert y.dtype == SURVIVAL_DTYPE
    assert np.all(np.isfinite(y["time"])) and np.all(y["time"] >= 0)
    assert allow or y["event"].any() or len(y) == 0


@FUZZ
@given(y=st.one_of(arrays, hnp.arrays(
    dtype=np.dtype([("event", "?"), ("time", "<f8")]), shape=st.integers(0, 5))))
def test_structured_target_alone_returns_a_target_or_raises_our_error(y):
    try:
        out = check_survival_target(y)
    except LightsaberError:
        return
    assert out.dtype == SURVIVAL_DTYPE


@FUZZ
@given(y=arrays)
def test_label_checker_returns_labels_or_raises_our_error(y):
    try:
        out = check_label(y)
    except LightsaberError:
        return
    assert out.ndim == 1


def test_fuzz_strategy_reaches_loading_cohorts():
    """The strategies are not vacuous: a well-formed frame of the same shape does load."""
    frame = pd.read_csv(io.StringIO("pid,days,died,label,age\nP0,1,1,0,3\nP1,2,0,1,4\n"))
    assert Cohort(frame, id="pid", duration="days", event="died").n_patients == 2


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1.0, "x"])
def test_fuzz_found_examples_stay_fixed(bad):
    """Regression examples in the spirit of what the fuzzers look for."""
    with pytest.raises(LightsaberError):
        check_survival_target([1, 0], [bad, 1.0])


def test_ids_of_mixed_objects_raise_no_pandas_warning():
    """Found by fuzzing: an object id column of datetimes made pandas warn (an error here)."""
    static = pd.DataFrame({"pid": pd.Series([pd.Timestamp("2000-01-01").to_pydatetime()],
                                            dtype=object), "age": [1.0]})
    targets = pd.DataFrame({"pid": pd.Series([], dtype=object), "days": [], "died": []})
    with pytest.raises(LightsaberError):
        Cohort.from_frames(static, targets, id="pid", duration="days", event="died")
