from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lightsaber import Splits
from lightsaber.data.datasets import (
    SAMPLE_DIR,
    SAMPLE_STATIC,
    SAMPLE_VITALS,
    SKSURV_DATASETS,
    load_deepsurv,
    load_pbc2,
    load_sample_mortality,
    load_sksurv,
    load_support2,
)
from lightsaber.data.synthetic import make_mortality_cohort
from lightsaber.exceptions import CohortError
from tests.conftest import shared_file


def test_committed_sample_is_the_generator_output():
    """data_samples/ is current: regenerating with the defaults gives the same tables."""
    static, vitals = make_mortality_cohort()
    pd.testing.assert_frame_equal(pd.read_csv(SAMPLE_DIR / SAMPLE_STATIC), static,
                                  check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(pd.read_parquet(SAMPLE_DIR / SAMPLE_VITALS), vitals)


def test_sample_is_small_and_realistic():
    size = sum((SAMPLE_DIR / f).stat().st_size for f in (SAMPLE_STATIC, SAMPLE_VITALS))
    assert size < 5 * 2**20
    cohort = load_sample_mortality()
    d = cohort.describe()
    assert d["n_patients"] == 2000
    assert 0.08 < d["label_rate"] < 0.3
    assert d["follow_up_min"] > 2.0  # outcome after the 48 h window
    miss = cohort.missingness().set_index("feature")["missing_rate"]
    assert 0.02 < miss["heart_rate"] < 0.2 and miss["lactate"] > 0.7 and miss["bmi"] > 0.05


def test_sample_outcome_depends_on_features():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from lightsaber import Preprocessor

    cohort = load_sample_mortality().flatten(window=(0, 48))
    parts = cohort.split(val=0.15, test=0.15, stratify="label", seed=0).cohorts(cohort)
    pre = Preprocessor().fit(parts["train"])
    model = LogisticRegression(max_iter=2000).fit(pre.transform(parts["train"]).static,
                                                  parts["train"].y_label)
    scores = model.predict_proba(pre.transform(parts["test"]).static)[:, 1]
    assert roc_auc_score(parts["test"].y_label, scores) > 0.75


def test_generator_is_seeded():
    a, _ = make_mortality_cohort(n_patients=30, seed=5)
    b, _ = make_mortality_cohort(n_patients=30, seed=5)
    c, _ = make_mortality_cohort(n_patients=30, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


@pytest.mark.parametrize("name", SKSURV_DATASETS)
def test_sksurv_loaders(name):
    from sksurv import datasets

    cohort = load_sksurv(name)
    X, y = getattr(datasets, f"load_{name}")()
    assert cohort.n_patients == len(X)
    np.testing.assert_array_equal(cohort.y_survival["time"], y[y.dtype.names[1]])
    assert cohort.feature_names == list(X.columns)


def test_sksurv_unknown_name():
    with pytest.raises(CohortError, match="unknown scikit-survival dataset"):
        load_sksurv("mnist")


@pytest.mark.parametrize(
    ("filename", "n_train", "n_test", "n_features"),
    [("whas_train_test.h5", 1310, 328, 6), ("support_train_test.h5", 7098, 1775, 14),
     ("metabric_IHC4_clinical_train_test.h5", 1523, 381, 9),
     ("gbsg_cancer_train_test.h5", 1546, 686, 7)],
)
def test_deepsurv_loader_keeps_published_split(filename, n_train, n_test, n_features):
    cohort = load_deepsurv(shared_file("data", "deepsurv", filename))
    splits = Splits.from_column(cohort, "split")
    assert (len(splits.train), len(splits.test)) == (n_train, n_test)
    assert len(cohort.feature_names) == n_features
    assert "split" not in cohort.feature_names


def test_support2_excludes_leaks_by_default():
    cohort = load_support2(shared_file("data", "auton", "support2.csv"))
    assert cohort.n_patients == 9105
    assert cohort.describe()["event_rate"] == pytest.approx(0.68, abs=0.01)
    for leak in ("hospdead", "slos", "d.time", "death", "totcst"):
        assert leak not in cohort.feature_names
    assert "income" in cohort.categorical
    label = load_support2(shared_file("data", "auton", "support2.csv"), outcome="hospdead")
    assert label.describe()["label_rate"] == pytest.approx(0.26, abs=0.01)
    assert "death" not in label.feature_names


def test_pbc2_is_longitudinal():
    cohort = load_pbc2(shared_file("data", "auton", "pbc2.csv"))
    d = cohort.describe()
    assert d["n_patients"] == 312 and d["n_longitudinal_rows"] == 1945
    assert cohort.feature_names == ["drug", "age", "sex"]
    assert set(cohort.categorical) == {"drug", "sex"}
