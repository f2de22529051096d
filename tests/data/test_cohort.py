from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lightsaber import Cohort


@pytest.fixture
def cohort(static_frame, target_frame, long_frame):
    return Cohort(static_frame, target_frame, id="pid", duration="days", event="died",
                  label="label", longitudinal=long_frame, time="hour")


def test_targets_are_aligned_by_id_not_row_order(cohort, target_frame):
    expected = target_frame.set_index("pid").loc[cohort.ids, "days"].to_numpy()
    np.testing.assert_array_equal(cohort.y_survival["time"], expected)
    assert cohort.task == "both"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_from_files_equals_from_frames(tmp_path, static_frame, target_frame, long_frame, fmt):
    paths = {}
    for name, frame in {"s": static_frame, "t": target_frame, "l": long_frame}.items():
        paths[name] = tmp_path / f"{name}.{fmt}"
        frame.to_csv(paths[name], index=False) if fmt == "csv" else frame.to_parquet(paths[name])
    a = Cohort.from_files(static=paths["s"], targets=paths["t"], longitudinal=paths["l"],
                          id="pid", time="hour", duration="days", event="died")
    b = Cohort.from_frames(static_frame, target_frame, longitudinal=long_frame, id="pid",
                           time="hour", duration="days", event="died")
    pd.testing.assert_frame_equal(a.static, b.static)
    np.testing.assert_array_equal(a.y_survival, b.y_survival)
    pd.testing.assert_frame_equal(a.longitudinal, b.longitudinal)


def test_feature_selection_list_regex_and_exclude(static_frame, target_frame):
    by_regex = Cohort(static_frame, target_frame, id="pid", label="label", features=r"^lab_")
    assert by_regex.feature_names == ["lab_a", "lab_b"]
    by_list = Cohort(static_frame, target_frame, id="pid", label="label", features=["age"])
    assert by_list.feature_names == ["age"]
    excluded = Cohort(static_frame, target_frame, id="pid", label="label", exclude=["lab_b"])
    assert excluded.feature_names == ["age", "sex", "lab_a"]


def test_categorical_inferred_or_declared(static_frame, target_frame):
    inferred = Cohort(static_frame, target_frame, id="pid", label="label")
    assert inferred.categorical == ["sex"]
    declared = Cohort(static_frame.assign(lab_a=(static_frame.lab_a > 0).astype(int)),
                      target_frame, id="pid", label="label", categorical=["sex", "lab_a"])
    assert declared.categorical == ["sex", "lab_a"]


def test_targets_in_the_static_table(static_frame, target_frame):
    merged = static_frame.merge(target_frame, on="pid")
    cohort = Cohort(merged, id="pid", duration="days", event="died")
    assert cohort.feature_names == ["age", "sex", "lab_a", "lab_b", "label"]
    assert cohort.n_patients == 40


def test_describe_reports_rates_follow_up_and_missingness(cohort, target_frame):
    d = cohort.describe()
    assert d["n_patients"] == 40
    assert d["event_rate"] == pytest.approx(target_frame["died"].mean())
    assert d["censoring_rate"] == pytest.approx(1 - target_frame["died"].mean())
    assert d["follow_up_max"] == pytest.approx(target_frame["days"].max())
    assert d["label_rate"] == pytest.approx(0.5)
    assert d["n_longitudinal_features"] == 2
    miss = cohort.missingness()
    assert list(miss.columns) == ["feature", "table", "missing_rate", "n_missing",
                                  "patients_never_measured"]
    row = miss.set_index("feature").loc["lab_b"]
    assert row["missing_rate"] == pytest.approx(cohort.static["lab_b"].isna().mean())


def test_html_repr_has_summary_and_missingness_but_no_ids(cohort):
    html = cohort._repr_html_()
    assert "Missingness" in html and "event rate" in html and "lab_b" in html
    assert "SECRET" not in html
    assert "SECRET" not in repr(cohort)


def test_subset_shares_long_table_and_keeps_order(cohort):
    part = cohort.subset([5, 1, 7])
    assert part.ids.tolist() == cohort.ids[[5, 1, 7]].tolist()
    assert part.long_table.frame is cohort.long_table.frame  # no copy
    expected = cohort.longitudinal[cohort.longitudinal["pid"].isin(part.ids)]
    got = part.longitudinal
    assert got["pid"].unique().tolist() == part.ids.tolist()
    assert len(got) == len(expected)


def test_filter_by_query_callable_and_mask(cohort):
    a = cohort.filter("age > 60")
    b = cohort.filter(lambda t: t["age"] > 60)
    c = cohort.filter((cohort.static["age"] > 60).to_numpy())
    assert a.ids.tolist() == b.ids.tolist() == c.ids.tolist()
    assert (a.static["age"] > 60).all()


def test_flatten_aggregates(cohort, long_frame):
    flat = cohort.flatten(stats=("last", "mean", "count"), window=(0, 24))
    assert not flat.has_longitudinal
    pid = cohort.ids[3]
    rows = long_frame[(long_frame.pid == pid) & (long_frame.hour < 24)]
    got = flat.static.iloc[3]
    if len(rows):
        assert got["hr__mean"] == pytest.approx(rows["hr"].mean(), rel=1e-5)
        assert got["hr__last"] == pytest.approx(rows["hr"].iloc[-1], rel=1e-5)
    sbp = rows["sbp"].dropna()
    assert got["sbp__count"] == len(sbp)
    if len(sbp):
        assert got["sbp__last"] == pytest.approx(sbp.iloc[-1], rel=1e-5)
