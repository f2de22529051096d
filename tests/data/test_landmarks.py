"""Landmark datasets: who is at risk, the outcome from the landmark, no leakage, patient splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lightsaber import Cohort
from lightsaber.data import LandmarkCohort, LandmarkDesign, landmark_cohort, landmark_features
from lightsaber.data.datasets import load_pbc2, load_sample_mortality
from lightsaber.exceptions import (
    CohortError,
    EmptyCohortError,
    LandmarkCensoringWarning,
    SplitError,
    TargetError,
)
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def sample():
    return load_sample_mortality(n_patients=300, seed=4)


@pytest.fixture(scope="module")
def pbc2():
    return load_pbc2(shared_file("data", "auton", "pbc2.csv"))


def _toy() -> Cohort:
    static = pd.DataFrame({"id": ["a", "b", "c", "d"], "age": [50.0, 60, 70, 80],
                           "time": [5.0, 12.0, 30.0, 8.0], "event": [1, 0, 1, 1]})
    long = pd.DataFrame({"id": ["a", "a", "b", "b", "b", "c", "c", "d"],
                         "t": [0.0, 4.0, 0.0, 6.0, 11.0, 2.0, 20.0, 7.0],
                         "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]})
    return Cohort(static, id="id", duration="time", event="event", longitudinal=long, time="t")


def test_rows_are_the_patients_at_risk_with_the_outcome_from_the_landmark():
    lm = landmark_cohort(_toy(), times=[0, 6, 10], horizon=10)
    assert isinstance(lm, LandmarkCohort)
    assert lm.rows_per_landmark() == {0.0: 4, 6.0: 3, 10.0: 2}  # a died at 5, d at 8
    frame = pd.concat([lm.meta, lm.targets], axis=1)
    at6 = frame[frame.landmark_time == 6].set_index("landmark_patient")
    assert sorted(at6.index) == ["b", "c", "d"]
    # b: censored at 12 -> 6 from landmark 6; c: event at 30 > 6 + 10 -> censored at 10;
    # d: event at 8 -> 2 after the landmark
    assert at6.loc["b", "time_from_landmark"] == 6 and at6.loc["b", "event"] == 0
    assert at6.loc["c", "time_from_landmark"] == 10 and at6.loc["c", "event"] == 0
    assert at6.loc["d", "time_from_landmark"] == 2 and at6.loc["d", "event"] == 1
    assert lm.static["landmark_time"].tolist() == lm.landmarks.tolist()
    assert lm.ids[0] == "a@0"


def test_a_patient_who_died_before_the_landmark_has_no_row(sample):
    lm = landmark_cohort(sample, times=[24, 48, 96], horizon=72, duration_unit=24)
    hours = sample.targets["los_days"].to_numpy() * 24
    for s in (24, 48, 96):
        in_rows = set(lm.patients[lm.landmarks == s])
        gone = set(sample.ids[hours <= s])
        assert in_rows.isdisjoint(gone)
        assert in_rows == set(sample.ids[hours > s])
    assert lm.rows_per_landmark()[96.0] < sample.n_patients  # some left before hour 96


def test_history_holds_only_measurements_at_or_before_the_landmark():
    lm = landmark_cohort(_toy(), times=[0, 6, 10], horizon=10)
    long = lm.longitudinal.merge(lm.meta.assign(id=lm.ids), on="id")
    assert (long["t"] <= long["landmark_time"]).all()
    b10 = lm.longitudinal[lm.longitudinal["id"] == "b@10"]
    assert b10["t"].tolist() == [0.0, 6.0]  # 11 is after the landmark
    windowed = landmark_cohort(_toy(), times=[6], horizon=10, history=5)
    assert windowed.longitudinal[windowed.longitudinal["id"] == "b@6"]["t"].tolist() == [6.0]


def test_perturbing_every_later_measurement_changes_no_landmark_row(sample):
    """The leakage guard: features at landmark s depend on measurements up to s only."""
    times = [6, 12, 24]
    base = landmark_cohort(sample, times=times, horizon=72, duration_unit=24).flatten()
    vitals = sample.longitudinal.copy()
    rng = np.random.default_rng(0)
    features = sample.long_table.features
    for s in times:
        later = vitals["hour"] > s
        perturbed = vitals.copy()
        factor = rng.uniform(2, 5, size=(later.sum(), len(features))).astype(np.float32)
        perturbed.loc[later, features] = (perturbed.loc[later, features].to_numpy()
                                          * factor).astype(perturbed[features].dtypes.iloc[0])
        static = pd.concat([pd.Series(sample.ids, name="patient_id"), sample.static,
                            sample.targets], axis=1)
        changed = Cohort(static, id="patient_id", duration="los_days",
                         event="died_in_hospital", longitudinal=perturbed, time="hour")
        other = landmark_cohort(changed, times=times, horizon=72, duration_unit=24).flatten()
        rows = base.meta["landmark_time"].to_numpy() == s
        pd.testing.assert_frame_equal(base.static[rows].reset_index(drop=True),
                                      other.static[rows].reset_index(drop=True))
        if s < times[-1]:  # not vacuous: a later landmark does see the perturbed values
            later_rows = base.meta["landmark_time"].to_numpy() > s
            assert not base.static[later_rows].equals(other.static[later_rows])


def test_prediction_rows_match_training_rows(sample):
    design = LandmarkDesign(times=(6.0, 12.0), horizon=72.0, duration_unit=24.0)
    lm = landmark_cohort(sample, times=[6, 12], horizon=72, duration_unit=24)
    rows = landmark_features(sample, at=12, design=design)
    at12 = lm.subset(np.flatnonzero(lm.landmarks == 12))
    assert rows.n_patients == sample.n_patients  # nobody dropped at prediction time
    keep = np.isin(rows.ids, at12.ids)
    pd.testing.assert_frame_equal(rows.flatten().static[keep].reset_index(drop=True),
                                  at12.flatten().static.reset_index(drop=True))


def test_splits_keep_a_patients_rows_together_and_record_rows_per_landmark(sample):
    lm = landmark_cohort(sample, times=[6, 24, 48, 96], horizon=72, duration_unit=24)
    splits = lm.split(val=0.2, test=0.2, stratify="event", seed=1)
    owner = {}
    for part, pos in splits.indices.items():
        for patient in set(lm.patients[pos]):
            assert owner.setdefault(patient, part) == part
    assert len(owner) == sample.n_patients
    summary = splits.manifest["splits"]["test"]
    assert summary["n_rows"] == len(splits.test)
    assert summary["n_patients"] == len(set(lm.patients[splits.test]))
    assert sum(summary["rows_per_landmark"].values()) == summary["n_rows"]
    assert set(summary["rows_per_landmark"]) == {"6", "24", "48", "96"}
    assert isinstance(lm.subset(splits.test), LandmarkCohort)


def test_a_group_column_that_splits_a_patient_is_refused(sample):
    lm = landmark_cohort(sample, times=[6, 12], horizon=72, duration_unit=24)
    lm.meta["by_row"] = np.arange(lm.n_patients) % 7
    with pytest.raises(SplitError, match="'by_row'.*different groups"):
        lm.split(group="by_row")


def test_competing_outcomes_keep_their_cause_codes(pbc2):
    competing = load_pbc2(shared_file("data", "auton", "pbc2.csv"), competing=True)
    lm = landmark_cohort(competing, times=[0, 1, 2, 3], horizon=5)
    assert lm.task == "competing" and lm.causes == competing.causes
    y = lm.y_competing
    assert set(np.unique(y["status"])) == {0, 1, 2}
    assert (y["time"] <= 5).all()
    single = landmark_cohort(pbc2, times=[0, 1, 2, 3], horizon=5)
    assert ((y["status"] == 1) == single.y_survival["event"]).all()  # same deaths


def test_label_outcome_drops_rows_censored_inside_the_horizon_with_a_warning():
    with pytest.warns(LandmarkCensoringWarning, match="drops 1 landmark row"):
        lm = landmark_cohort(_toy(), times=[0, 6], horizon=10, outcome="label")
    assert lm.task == "classification" and lm.dropped == {6.0: 1}  # b, censored at 12 < 16
    labels = dict(zip(lm.ids, lm.y_label, strict=True))
    assert labels == {"a@0": 1, "b@0": 0, "c@0": 0, "d@0": 1, "c@6": 0, "d@6": 1}


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"times": []}, CohortError, "non-empty"),
    ({"times": [6, 3]}, CohortError, "strictly increasing"),
    ({"times": [-1]}, CohortError, ">= 0"),
    ({"times": [1], "horizon": 0}, CohortError, "horizon"),
    ({"times": [1], "history": "last"}, CohortError, "history"),
    ({"times": [1], "duration_unit": -24}, CohortError, "duration_unit"),
    ({"times": [1], "outcome": "risk"}, CohortError, "outcome"),
    ({"times": [1000]}, EmptyCohortError, "longest follow-up is 30"),
])
def test_bad_designs_are_refused_by_name(kwargs, error, match):
    kwargs = {"horizon": 10, **kwargs}
    with pytest.raises(error, match=match):
        landmark_cohort(_toy(), **kwargs)


def test_durations_in_another_unit_than_the_measurements_are_caught(sample):
    # los_days with vitals in hours and the default duration_unit=1
    with pytest.raises(CohortError, match=r"measurements after the end of their follow-up.*"
                                          r"duration_unit=1\b.*24 for durations in days"):
        landmark_cohort(sample, times=[6, 12], horizon=72)


def test_a_cohort_without_a_time_to_event_outcome_is_refused():
    labels = pd.DataFrame({"id": [1, 2, 3], "x": [1.0, 2, 3], "y": [0, 1, 0]})
    with pytest.raises(TargetError, match="time-to-event"):
        landmark_cohort(Cohort(labels, id="id", label="y"), times=[1], horizon=5)


def test_landmarks_of_landmarks_are_refused():
    lm = landmark_cohort(_toy(), times=[0], horizon=10)
    with pytest.raises(CohortError, match="patient-level"):
        landmark_cohort(lm, times=[1], horizon=10)


def test_repr_and_describe_show_counts_only(sample):
    lm = landmark_cohort(sample, times=[6, 12], horizon=72, duration_unit=24)
    text = repr(lm) + lm._repr_html_() + str(lm.describe())
    assert "rows per landmark {6: 300, 12: 300}" in repr(lm)
    assert not any(str(i) in text for i in sample.ids[:20] if len(str(i)) > 3)
