"""``cohort_fingerprint``: stable for the same data, changed by any cell, blind to ids."""

from __future__ import annotations

import time

import numpy as np
import pytest

import lightsaber as ls
from lightsaber.data.fingerprint import cohort_fingerprint


@pytest.fixture(scope="module")
def parts():
    """The sample cohort's tables, ready to rebuild variants of it."""
    base = ls.datasets.load_sample_mortality(n_patients=300)
    static = base.static.copy()
    static.insert(0, "patient_id", base.ids)
    static["died"] = base.targets[base.label].to_numpy()
    static["los"] = base.targets["los_days"].to_numpy()
    return static, base.longitudinal.copy()


def _cohort(static, long, **kwargs):
    return ls.Cohort(static, id="patient_id", label="died", longitudinal=long, time="hour",
                     exclude=["los"], **kwargs)


def test_the_same_data_twice_gives_the_same_fingerprint(parts):
    static, long = parts
    first = cohort_fingerprint(_cohort(static, long))
    assert first == cohort_fingerprint(_cohort(static.copy(), long.copy()))
    assert len(first) == 64 and int(first, 16) >= 0
    full = ls.datasets.load_sample_mortality()
    assert cohort_fingerprint(full) == cohort_fingerprint(ls.datasets.load_sample_mortality())
    # the order of the long table's rows does not matter (rows are read by patient, time)
    shuffled = long.sample(frac=1.0, random_state=0)
    assert cohort_fingerprint(_cohort(static, shuffled, sort_longitudinal=True)) == first


@pytest.mark.parametrize("change", ["static cell", "target cell", "long cell", "long time",
                                    "column name", "dtype", "patient order", "categorical",
                                    "outcome"])
def test_one_change_gives_another_fingerprint(parts, change):
    static, long = parts
    static, long = static.copy(), long.copy()
    kwargs = {}
    if change == "static cell":
        static.loc[17, "age"] += 0.001
    elif change == "target cell":
        static.loc[17, "died"] = 1 - static.loc[17, "died"]
    elif change == "long cell":
        long.loc[long.index[1000], "heart_rate"] += 1.0
    elif change == "long time":
        long.loc[long.index[1000], "hour"] += 0.01
    elif change == "column name":
        static = static.rename(columns={"bmi": "body_mass_index"})
    elif change == "dtype":
        static["n_comorbidities"] = static["n_comorbidities"].astype(float)
    elif change == "patient order":
        static = static.iloc[np.r_[1, 0, 2:len(static)]].reset_index(drop=True)
    elif change == "categorical":
        kwargs = {"categorical": ["sex", "admission_type", "n_comorbidities"]}
    elif change == "outcome":
        static["died"] = static["died"].map({0: "alive", 1: "dead"})
        kwargs = {"positive": "dead"}
    baseline = cohort_fingerprint(_cohort(*parts))
    assert cohort_fingerprint(_cohort(static, long, **kwargs)) != baseline


def test_ids_are_not_part_of_the_fingerprint(parts):
    static, long = parts
    fingerprint = cohort_fingerprint(_cohort(static, long))
    mapping = {old: f"PATIENT-ZX81-{i:04d}" for i, old in enumerate(static["patient_id"])}
    relabelled = cohort_fingerprint(_cohort(static.assign(patient_id=static["patient_id"]
                                                          .map(mapping)),
                                            long.assign(patient_id=long["patient_id"]
                                                        .map(mapping))))
    # the same contents under other ids: the same fingerprint, so it carries nothing of them
    assert relabelled == fingerprint
    assert not any(str(i) in fingerprint for i in static["patient_id"] if len(str(i)) > 3)


def test_fingerprint_is_fast_on_the_sample_cohort():
    cohort = ls.datasets.load_sample_mortality()
    assert cohort.n_patients == 2000 and len(cohort.longitudinal) > 80_000
    start = time.perf_counter()
    cohort_fingerprint(cohort)
    assert time.perf_counter() - start < 1.0  # about 20 ms; generous for a loaded CI machine
