"""Counting-process rows from a cohort: lifelines' layout on PBC2, LOCF semantics, errors.

Reference: lifelines 0.30.3 ``to_long_format`` + ``add_covariate_to_timeline`` (one call per
measurement column, so that a missing value drops only that column's row, not the visit), on
``../shared/data/auton/pbc2.csv`` (read in place; skipped without ../shared, failed under
``CI``). lifelines merges consecutive rows whose covariates did not change, so it is compared
with ``collapse=True``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from lightsaber.data import Cohort, to_counting_process
from lightsaber.data.datasets import load_pbc2, load_sample_mortality
from lightsaber.exceptions import (
    ArgumentError,
    CohortError,
    LightsaberWarning,
    MissingColumnError,
    TargetError,
)
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def pbc2() -> Cohort:
    return load_pbc2(shared_file("data", "auton", "pbc2.csv"))


def _small(**overrides) -> Cohort:
    static = pd.DataFrame({"pid": ["a", "b", "c"], "age": [61.0, 70.0, 55.0],
                           "days": [10.0, 4.0, 6.0], "died": [1, 0, 1]})
    labs = pd.DataFrame({"pid": ["a", "a", "a", "a", "b", "b"],
                         "day": [-2.0, -1.0, 3.0, 8.0, 1.0, 2.5],
                         "crp": [4.0, np.nan, np.nan, 9.0, 1.0, 2.0],
                         "wbc": [7.0, 8.0, 6.5, np.nan, np.nan, 11.0]})
    parts = {"static": static, "labs": labs, **overrides}
    return Cohort(parts["static"], id="pid", duration="days", event="died",
                  longitudinal=parts["labs"], time="day")


def test_pbc2_equals_lifelines_add_covariate_to_timeline(pbc2):
    """Same rows, intervals, events and values as lifelines, columns with missing values too."""
    lifelines_utils = pytest.importorskip("lifelines.utils")
    measured = ["serBilir", "platelets"]  # platelets: 73 missing visits
    ours = to_counting_process(pbc2, [*measured, "age"], collapse=True)
    y = pbc2.y_survival
    base = pd.DataFrame({"id": pbc2.ids, "years": y["time"], "status2": y["event"],
                         "age": pbc2.static["age"].to_numpy()})
    ref = lifelines_utils.to_long_format(base, "years")
    visits = pbc2.longitudinal
    for column in measured:
        ref = lifelines_utils.add_covariate_to_timeline(
            ref, visits[["id", "year", column]].copy(), id_col="id", duration_col="year",
            event_col="status2")
    ref = (ref.rename(columns={"status2": "event"})[list(ours.columns)]
           .sort_values(["id", "start"]).reset_index(drop=True))
    assert ours.shape == ref.shape == (1934, 7)
    np.testing.assert_array_equal(ours["id"], ref["id"])
    np.testing.assert_array_equal(ours["event"].to_numpy(bool), ref["event"].to_numpy(bool))
    for column in ["start", "stop", *measured, "age"]:
        np.testing.assert_array_equal(ours[column].to_numpy(float), ref[column].to_numpy(float))


def test_pbc2_one_row_per_visit(pbc2):
    rows = to_counting_process(pbc2)
    visits = pbc2.longitudinal
    assert len(rows) == len(visits) == 1945  # every visit before the end of follow-up, first at 0
    assert rows.columns[:4].tolist() == ["id", "start", "stop", "event"]
    assert rows.columns[4:].tolist() == [*pbc2.long_table.features, *pbc2.feature_names]
    np.testing.assert_array_equal(rows["start"], visits["year"])
    _check_layout(rows, pbc2)
    # no missing value was carried past a later observation
    ascites = rows["ascites"].to_numpy()
    assert np.isnan(ascites).sum() <= visits["ascites"].isna().sum()


def _check_layout(rows: pd.DataFrame, cohort: Cohort, unit: float = 1.0) -> None:
    """Contiguous, non-overlapping rows covering (0, T]; the event on the last row only."""
    y = cohort.y_survival
    first = rows["id"].ne(rows["id"].shift()).to_numpy()
    last = np.r_[first[1:], True]
    assert np.all(rows["start"].to_numpy() < rows["stop"].to_numpy())
    assert np.all(rows["start"].to_numpy()[first] == 0)
    np.testing.assert_array_equal(rows["start"].to_numpy()[~first],
                                  rows["stop"].to_numpy()[~last])
    np.testing.assert_array_equal(rows["id"].to_numpy()[first], cohort.ids)
    np.testing.assert_allclose(rows["stop"].to_numpy()[last], y["time"] * unit, rtol=1e-15)
    assert not rows["event"].to_numpy()[~last].any()
    np.testing.assert_array_equal(rows["event"].to_numpy()[last], y["event"])


def test_sample_values_are_the_last_observation_before_each_start():
    """Each row holds, per column, the last non-missing value at or before its start
    (pandas ``merge_asof``, direction backward, on the non-missing rows of that column)."""
    cohort = load_sample_mortality(n_patients=150, seed=3)
    rows = to_counting_process(cohort, duration_unit=24)
    _check_layout(rows, cohort, unit=24)
    visits = cohort.longitudinal
    probe = rows[["id", "start"]].reset_index().sort_values("start")
    for column in cohort.long_table.features:
        observed = visits.loc[visits[column].notna(), ["patient_id", "hour", column]]
        observed = observed.sort_values("hour").astype({column: np.float64})
        expected = pd.merge_asof(probe, observed, left_on="start", right_on="hour",
                                 left_by="id", right_by="patient_id", direction="backward")
        expected = expected.set_index("index")[column].sort_index()
        np.testing.assert_array_equal(rows[column].to_numpy(), expected.to_numpy())
    assert rows["sex"].dtype == cohort.static["sex"].dtype


def test_small_cohort_semantics():
    cohort = _small()
    rows = to_counting_process(cohort)
    assert rows.attrs == {"ignored_measurements": 0, "dropped_patients": 0}
    # a: day -2 and -1 set the values at 0 (crp 4 carried over the missing -1; wbc 8 latest);
    # day 3 updates wbc only; day 8 is the last measurement (crp 9). b: nothing before day 1.
    # b's day 2.5 row is kept; c has no measurements: one row with NaN.
    expected = pd.DataFrame({
        "id": ["a", "a", "a", "b", "b", "b", "c"],
        "start": [0.0, 3, 8, 0, 1, 2.5, 0], "stop": [3.0, 8, 10, 1, 2.5, 4, 6],
        "event": [False, False, True, False, False, False, True],
        "crp": [4.0, 4, 9, np.nan, 1, 2, np.nan],
        "wbc": [8.0, 6.5, 6.5, np.nan, np.nan, 11, np.nan],
        "age": [61.0, 61, 61, 70, 70, 70, 55]})
    pd.testing.assert_frame_equal(rows, expected)


def test_measurements_at_or_after_the_end_are_ignored_and_counted():
    labs = pd.DataFrame({"pid": ["a", "a", "b", "b", "c"], "day": [0.0, 10.0, 0.0, 7.0, 6.0],
                         "crp": [1.0, 2.0, 3.0, 4.0, 5.0], "wbc": 1.0})
    with pytest.warns(LightsaberWarning, match="3 measurement row"):
        rows = to_counting_process(_small(labs=labs), ["crp"])
    assert rows.attrs["ignored_measurements"] == 3  # a at its end 10, b after 4, c at its end 6
    assert rows["crp"].tolist()[:2] == [1.0, 3.0]
    assert len(rows) == 3


def test_zero_follow_up_has_no_row():
    static = pd.DataFrame({"pid": ["a", "b"], "age": [61.0, 70.0], "days": [0.0, 4.0],
                           "died": [1, 0]})
    labs = pd.DataFrame({"pid": ["a", "b"], "day": [-1.0, 0.0], "crp": [1.0, 2.0]})
    cohort = Cohort(static, id="pid", duration="days", event="died", longitudinal=labs,
                    time="day")
    with pytest.warns(LightsaberWarning, match="1 patient"):
        rows = to_counting_process(cohort)
    assert rows["id"].tolist() == ["b"]
    assert rows.attrs == {"ignored_measurements": 1, "dropped_patients": 1}


def test_no_warning_when_nothing_is_dropped(pbc2):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = to_counting_process(pbc2, ["albumin"])
    assert rows.attrs == {"ignored_measurements": 0, "dropped_patients": 0}


def test_collapse_merges_unchanged_rows_only():
    cohort = load_sample_mortality(n_patients=80, seed=1)
    full = to_counting_process(cohort, ["lactate", "age"], duration_unit=24)
    merged = to_counting_process(cohort, ["lactate", "age"], duration_unit=24, collapse=True)
    assert len(merged) < len(full)
    _check_layout(merged, cohort, unit=24)
    # the value in force at any time is the same in both layouts
    for patient in cohort.ids[:10]:
        a, b = full[full["id"] == patient], merged[merged["id"] == patient]
        probe = np.linspace(0.01, a["stop"].max(), 200)
        pick = lambda r, t: r["lactate"].to_numpy()[np.searchsorted(r["stop"].to_numpy(), t)]  # noqa: E731
        np.testing.assert_array_equal(pick(a, probe), pick(b, probe))


def test_without_longitudinal_one_row_per_patient():
    static = pd.DataFrame({"pid": [1, 2], "x": [0.5, 1.5], "t": [3.0, 4.0], "e": [1, 0]})
    rows = to_counting_process(Cohort(static, id="pid", duration="t", event="e"))
    assert rows.to_dict("list") == {"id": [1, 2], "start": [0.0, 0.0], "stop": [3.0, 4.0],
                                    "event": [True, False], "x": [0.5, 1.5]}


def test_competing_cohort_needs_a_cause():
    cohort = load_sample_mortality(n_patients=60, competing=True)
    with pytest.raises(TargetError, match="cause=<code>"):
        to_counting_process(cohort, ["age"])
    rows = to_counting_process(cohort, ["age"], cause=1, duration_unit=24)
    last = rows.groupby("id", sort=False).tail(1)
    status = cohort.y_competing["status"]
    np.testing.assert_array_equal(last["event"].to_numpy(), status == 1)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"features": ["crp", "nope"]}, MissingColumnError, r"\['nope'\] are neither"),
    ({"duration_unit": 0}, CohortError, "duration_unit must be a finite number > 0"),
    ({"duration_unit": float("nan")}, CohortError, "duration_unit"),
    ({"cause": 1}, ArgumentError, "competing-risks cohort"),
])
def test_errors(kwargs, error, match):
    with pytest.raises(error, match=match), warnings.catch_warnings():
        warnings.simplefilter("ignore", LightsaberWarning)
        to_counting_process(_small(), **kwargs)


def test_feature_named_like_a_counting_process_column():
    static = pd.DataFrame({"pid": [1, 2], "start": [0.5, 1.5], "t": [3.0, 4.0], "e": [1, 0]})
    with pytest.raises(CohortError, match=r"\['start'\] share a name"):
        to_counting_process(Cohort(static, id="pid", duration="t", event="e"))


def test_feature_both_static_and_longitudinal():
    static = pd.DataFrame({"pid": [1, 2], "crp": [0.5, 1.5], "t": [3.0, 4.0], "e": [1, 0]})
    labs = pd.DataFrame({"pid": [1, 2], "day": [0.0, 0.0], "crp": [1.0, 2.0]})
    cohort = Cohort(static, id="pid", duration="t", event="e", longitudinal=labs, time="day")
    with pytest.raises(CohortError, match="both static features and longitudinal"):
        to_counting_process(cohort)


def test_not_a_cohort():
    with pytest.raises(CohortError, match="needs a Cohort"):
        to_counting_process(pd.DataFrame({"a": [1]}))
