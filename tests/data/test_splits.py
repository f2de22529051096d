from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from lightsaber import Cohort, Splits
from lightsaber.data.datasets import load_pbc2, load_sample_mortality
from lightsaber.exceptions import SplitError
from tests.conftest import REPO, shared_file


@pytest.fixture(scope="module")
def sample():
    return load_sample_mortality()


def _assert_disjoint_and_complete(splits, n):
    seen = np.concatenate([splits[name] for name in splits.names])
    assert len(seen) == len(np.unique(seen)), "a patient is in two splits"
    assert len(seen) == n - splits.manifest["n_unassigned"]


def test_sizes_rates_and_disjointness(sample):
    s = sample.split(val=0.15, test=0.15, calibration=0.1, stratify="label", seed=3)
    assert s.names == ["train", "val", "test", "calibration"]
    _assert_disjoint_and_complete(s, sample.n_patients)
    sizes = {k: len(v) for k, v in s.indices.items()}
    assert sizes["test"] == pytest.approx(300, abs=2)
    assert sizes["calibration"] == pytest.approx(200, abs=2)
    overall = sample.y_label.mean()
    for name in s.names:
        assert abs(s.manifest["splits"][name]["label_rate"] - overall) < 0.01


def test_same_seed_same_split_other_seed_other_split(sample):
    a = sample.split(seed=11, stratify="event")
    b = sample.split(seed=11, stratify="event")
    c = sample.split(seed=12, stratify="event")
    assert a.manifest_json() == b.manifest_json()
    assert a.manifest_json() != c.manifest_json()
    for name in a.names:
        np.testing.assert_array_equal(a[name], b[name])


def test_manifest_is_json_and_holds_no_ids(sample):
    s = sample.split(seed=1, folds=3)
    text = s.manifest_json()
    parsed = json.loads(text)
    assert parsed["splits"]["train"]["n_patients"] == len(s.train)
    assert len(parsed["cv_folds"]) == 3
    for pid in sample.ids[:50]:
        assert pid not in text


def test_manifest_byte_identical_across_processes(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        from lightsaber.data.datasets import load_sample_mortality
        cohort = load_sample_mortality()
        splits = cohort.split(val=0.2, test=0.2, calibration=0.1, stratify="event", seed=7,
                              folds=None)
        sys.stdout.write(splits.manifest_json())
        """
    )
    outputs = []
    for hash_seed in ("1", "2"):  # different hash randomisation per process
        env = {"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin"}
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True,
                                cwd=REPO, env=env)
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert b'"ids_sha256"' in outputs[0]


def test_grouped_split_never_straddles_groups(static_frame, target_frame):
    static = static_frame.assign(family=np.arange(len(static_frame)) // 4)
    cohort = Cohort(static, target_frame, id="pid", label="label", meta=["family"])
    s = cohort.split(val=0.25, test=0.25, group="family", seed=0)
    family = cohort.meta["family"].to_numpy()
    groups = [set(family[s[name]]) for name in s.names]
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    assert "family" not in cohort.feature_names


def test_kfold_partitions_the_pool(sample):
    s = sample.split(test=0.2, folds=5, stratify="label", seed=0)
    pool = np.setdiff1d(np.arange(sample.n_patients), s.test)
    vals = [s.fold(k).val for k in range(5)]
    np.testing.assert_array_equal(np.sort(np.concatenate(vals)), pool)
    for k, fold in enumerate(s.iter_folds()):
        assert len(np.intersect1d(fold.train, fold.val)) == 0
        np.testing.assert_array_equal(fold.test, s.test)
        assert fold.manifest["active_fold"] == k
        assert abs(sample.y_label[fold.val].mean() - sample.y_label.mean()) < 0.02
    with pytest.raises(SplitError, match="fold 5 does not exist"):
        s.fold(5)


def test_predefined_split_from_column(static_frame, target_frame):
    static = static_frame.assign(split=np.where(np.arange(40) < 30, "dev", "holdout"))
    cohort = Cohort(static, target_frame, id="pid", label="label", meta=["split"])
    s = Splits.from_column(cohort, "split", mapping={"dev": "train", "holdout": "test"})
    assert (len(s.train), len(s.test)) == (30, 10)
    assert s.manifest["strategy"] == "column"
    with pytest.raises(SplitError, match=r"value\(s\) \['dev', 'holdout'\] that name no part"):
        Splits.from_column(cohort, "split")


def test_predefined_split_from_files(tmp_path, static_frame, target_frame):
    cohort = Cohort(static_frame, target_frame, id="pid", label="label")
    (tmp_path / "test.txt").write_text("\n".join(cohort.ids[:8]))
    pd.DataFrame({"pid": cohort.ids[8:14]}).to_csv(tmp_path / "val.csv", index=False)
    s = Splits.from_files(cohort, test=tmp_path / "test.txt", val=tmp_path / "val.csv")
    assert (len(s.train), len(s.val), len(s.test)) == (26, 6, 8)
    (tmp_path / "bad.txt").write_text("SOMEONE-ELSE\n")
    with pytest.raises(SplitError, match="1 id\\(s\\) listed in the test file"):
        Splits.from_files(cohort, test=tmp_path / "bad.txt")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"val": 0.5, "test": 0.5}, "leaves nothing to train on"),
        ({"val": -0.1}, "val must be a fraction"),
        ({"folds": 1}, "folds must be an integer >= 2"),
        ({"stratify": "nope"}, "column 'nope'"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"val": 0.01, "test": 0.01}, "split is empty"),
    ],
)
def test_split_argument_errors(static_frame, target_frame, kwargs, fragment):
    cohort = Cohort(static_frame, target_frame, id="pid", label="label")
    with pytest.raises(ValueError, match=fragment):
        cohort.split(**kwargs)


def test_pbc2_no_patient_in_two_splits():
    cohort = load_pbc2(shared_file("data", "auton", "pbc2.csv"))
    s = cohort.split(val=0.15, test=0.15, stratify="event", seed=7)
    parts = s.cohorts(cohort)
    ids = {name: set(part.ids) for name, part in parts.items()}
    assert not (ids["train"] & ids["val"]) and not (ids["train"] & ids["test"])
    assert not (ids["val"] & ids["test"])
    assert sum(map(len, ids.values())) == 312
    # the visits follow their patient: every long-table row belongs to its split's patients
    for name, part in parts.items():
        assert set(part.longitudinal["id"]) <= ids[name]
    assert sum(len(p.longitudinal) for p in parts.values()) == 1945
