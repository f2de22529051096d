from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from lightsaber import Cohort, Preprocessor, SequencePreprocessor
from lightsaber.data import TabularPreprocessor
from lightsaber.data.datasets import load_pbc2, load_sample_mortality
from lightsaber.exceptions import CohortError, MissingColumnError, NotFittedError
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def sample():
    return load_sample_mortality()


@pytest.fixture(scope="module")
def sample_parts(sample):
    return sample.split(val=0.15, test=0.15, stratify="label", seed=0).cohorts(sample)


def test_tabular_fitted_on_train_only(sample_parts):
    """Poisoning val/test leaves every learnt statistic unchanged."""
    train = sample_parts["train"]
    pre = Preprocessor().fit(train)
    poisoned = train.static.copy()
    poisoned["age"] = 1e6
    other = Preprocessor().fit(train)
    _ = other.transform(sample_parts["test"])
    scaler = pre.tabular_.transformer_.named_transformers_["numeric"].named_steps["scale"]
    np.testing.assert_allclose(scaler.mean_[0], train.static["age"].mean())
    # transforming other splits must not refit
    before = scaler.mean_.copy()
    pre.transform(sample_parts["val"])
    np.testing.assert_array_equal(before, scaler.mean_)
    train_out = pre.transform(train).static
    assert train_out.dtype == np.float32
    np.testing.assert_allclose(train_out[:, 0].mean(), 0, atol=1e-5)


def test_tabular_imputation_indicator_and_unknown_categories():
    train = pd.DataFrame({"x": [1.0, np.nan, 3.0, 5.0], "c": ["a", "b", "a", None]})
    pre = TabularPreprocessor(scale=False).fit(train)
    names = pre.get_feature_names_out().tolist()
    assert names == ["x", "missingindicator_x", "c_a", "c_b", "c_missing"]
    out = pre.transform(pd.DataFrame({"x": [np.nan], "c": ["zzz"]}))
    np.testing.assert_array_equal(out, [[3.0, 1.0, 0.0, 0.0, 0.0]])  # median 3, unseen -> zeros


def test_tabular_mixed_type_categories_encode():
    train = pd.DataFrame({"c": ["a", 1, 2.5, None]}, dtype=object)
    out = TabularPreprocessor(categorical=["c"]).fit(train).transform(train)
    assert out.shape == (4, 4)


def test_tabular_is_clonable_and_checks_columns():
    pre = TabularPreprocessor(numeric_imputation="mean", scale=False)
    assert clone(pre).get_params() == pre.get_params()
    fitted = pre.fit(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}))
    with pytest.raises(MissingColumnError, match="'b' was present when fitting"):
        fitted.transform(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(NotFittedError):
        TabularPreprocessor().transform(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(CohortError, match="numeric_imputation"):
        TabularPreprocessor(numeric_imputation="mode").fit(pd.DataFrame({"a": [1.0]}))


def _tiny():
    static = pd.DataFrame({"id": ["a", "b", "c"], "y": [0, 1, 0]})
    long = pd.DataFrame({
        "id": ["a", "a", "a", "b", "b", "c"],
        "t": [0.2, 0.7, 2.5, 0.1, 5.0, 9.0],
        "hr": [1.0, 2.0, np.nan, 10.0, 20.0, 7.0],
        "bp": [np.nan, 5.0, 6.0, np.nan, np.nan, 1.0],
    })
    return Cohort(static, id="id", label="y", longitudinal=long, time="t")


def test_grid_last_value_per_bin_and_forward_fill():
    cohort = _tiny()
    seq = SequencePreprocessor(grid=(0, 4, 1), scale=False, fill_value=-1).fit(cohort)
    out = seq.transform(cohort)
    assert out.shape == (3, 4, 2)
    # patient a: bin0 hr last=2 (0.7 h), bp 5; bin1 empty -> ffill; bin2 hr ffill 2, bp 6
    np.testing.assert_array_equal(out.values[0, :, 0], [2, 2, 2, 0])
    np.testing.assert_array_equal(out.values[0, :, 1], [5, 5, 6, 0])
    assert out.lengths.tolist() == [3, 1, 0]
    # patient b: only bin 0 inside the grid; bp never observed -> fill value
    np.testing.assert_array_equal(out.values[1, 0], [10, -1])
    np.testing.assert_array_equal(out.values[1, 1:], 0)
    # patient c: observation at 9 h is outside the 4 h grid -> no real step, all padding
    assert not out.mask[2].any() and (out.values[2] == 0).all()
    np.testing.assert_array_equal(out.times[0, :3], [0, 1, 2])
    assert np.isnan(out.times[0, 3])


def test_no_forward_fill_across_patients_and_indicators():
    cohort = _tiny()
    out = SequencePreprocessor(grid=(0, 4, 1), scale=False, observed_indicators=True,
                               forward_fill=False).fit(cohort).transform(cohort)
    assert out.feature_names == ["hr", "bp", "hr__observed", "bp__observed"]
    np.testing.assert_array_equal(out.values[0, :3, 2], [1, 0, 0])  # hr observed in bin 0 only
    np.testing.assert_array_equal(out.values[0, :3, 3], [1, 0, 1])
    np.testing.assert_array_equal(out.values[1, 0, :2], [10, 0])  # bp of b not from a


def test_raw_steps_truncation_first_and_last():
    cohort = _tiny()
    first = SequencePreprocessor(max_steps=2, scale=False, forward_fill=False).fit(cohort)
    last = SequencePreprocessor(max_steps=2, keep="last", scale=False,
                                forward_fill=False).fit(cohort)
    a_first = first.transform(cohort).values[0, :, 0]
    a_last = last.transform(cohort).values[0, :, 0]
    np.testing.assert_array_equal(a_first, [1, 2])
    np.testing.assert_array_equal(a_last, [2, 0])  # steps 2-3 of a: hr 2 then missing
    default = SequencePreprocessor(scale=False).fit(cohort)
    assert default.n_steps_ == 3


def test_sequence_scaling_uses_train_statistics_only(sample, sample_parts):
    train, test = sample_parts["train"], sample_parts["test"]
    pre = SequencePreprocessor(grid=(0, 48, 1)).fit(train)
    observed = []
    for f in train.long_table.features:
        vals = train.long_table.values(f)[train.long_table.window_mask(0, 48)]
        observed.append(np.nanmean(vals.astype(np.float64)))
    np.testing.assert_allclose(pre.mean_, observed, rtol=1e-5)
    refit = SequencePreprocessor(grid=(0, 48, 1)).fit(test)
    assert not np.allclose(refit.mean_, pre.mean_)
    out = pre.transform(test)
    assert out.values.dtype == np.float32 and out.shape == (len(test), 48, 10)
    assert np.isfinite(out.values).all()
    tensors = out.as_tensors()
    assert tuple(tensors["values"].shape) == out.shape


def test_chunking_does_not_change_results(sample_parts):
    train = sample_parts["train"]
    big = SequencePreprocessor(grid=(0, 48, 2)).fit(train).transform(train)
    small = SequencePreprocessor(grid=(0, 48, 2), chunk_size=97).fit(train).transform(train)
    serial = SequencePreprocessor(grid=(0, 48, 2), chunk_size=97, n_jobs=1).fit(train)
    np.testing.assert_array_equal(big.values, small.values)
    np.testing.assert_array_equal(big.lengths, small.lengths)
    np.testing.assert_array_equal(serial.transform(train).values, small.values)
    np.testing.assert_array_equal(serial.mean_, SequencePreprocessor(n_jobs=2).fit(train).mean_)


def test_grid_matches_a_pandas_reference(sample):
    """Cross-check the vectorised binning against a slow, obvious pandas implementation."""
    part = sample.subset(np.arange(25))
    out = SequencePreprocessor(grid=(0, 48, 4), scale=False, forward_fill=False,
                               fill_value=np.nan).fit(part).transform(part)
    long = part.longitudinal
    long["bin"] = np.floor(long["hour"] / 4).astype(int)
    feats = part.long_table.features
    for i, pid in enumerate(part.ids):
        rows = long[long["patient_id"] == pid]
        ref = rows.groupby("bin")[feats].last().reindex(range(12))
        length = out.lengths[i]
        np.testing.assert_allclose(out.values[i, :length], ref.to_numpy()[:length], rtol=1e-6)


def test_preprocessor_with_sequences_on_pbc2():
    cohort = load_pbc2(shared_file("data", "auton", "pbc2.csv"))
    parts = cohort.split(val=0.15, test=0.15, stratify="event", seed=1).cohorts(cohort)
    pre = Preprocessor(sequence=SequencePreprocessor(grid=(0, 15, 1))).fit(parts["train"])
    feats = pre.transform(parts["test"])
    assert feats.static.shape[0] == len(parts["test"])
    assert feats.sequences.shape[1:] == (15, 12)  # 8 labs, 3 signs, edema
    assert np.isfinite(feats.sequences.values).all()
    assert (feats.sequences.lengths >= 1).all()
    assert "sex_female" in feats.static_names or "sex_male" in feats.static_names


def test_sequence_errors():
    cohort = _tiny()
    with pytest.raises(CohortError, match="grid"):
        SequencePreprocessor(grid=(0, 4, 0)).fit(cohort)
    with pytest.raises(CohortError, match="n_jobs"):
        SequencePreprocessor(n_jobs=0).fit(cohort)
    with pytest.raises(CohortError, match="keep"):
        SequencePreprocessor(keep="middle").fit(cohort)
    with pytest.raises(NotFittedError):
        SequencePreprocessor().transform(cohort)
    flat = Cohort(pd.DataFrame({"id": [1, 2], "x": [1.0, 2.0], "y": [0, 1]}), id="id", label="y")
    with pytest.raises(CohortError, match="no longitudinal table"):
        SequencePreprocessor().fit(flat)
