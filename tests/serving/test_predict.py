"""Prediction on new cohorts: schema check, files, survival at times, single patients."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sksurv.linear_model import CoxPHSurvivalAnalysis

import lightsaber as ls
from lightsaber.serving import (
    PredictionError,
    SchemaMismatchError,
    predict_cohort,
    predict_file,
    predict_patient,
)

# predict_file on a saved folder (``_saved``): a local folder cannot be verified against a run's
# digests and says so (docs/security.md); that warning is tested in test_integrity.py.
pytestmark = pytest.mark.filterwarnings("ignore::lightsaber.exceptions.UnverifiedModelWarning")


@pytest.fixture(scope="module")
def sample():
    cohort = ls.datasets.load_sample_mortality(n_patients=300)
    return cohort, cohort.split(val=0.2, test=0.2, stratify="label", seed=0)


@pytest.fixture(scope="module")
def longitudinal(sample):
    """A classifier on static + aggregated vitals, and a CoxPH model (both use the long table)."""
    cohort, splits = sample
    clf = ls.fit(LogisticRegression(max_iter=500), cohort, splits, track=False, progress=False)
    cox = ls.fit(CoxPHSurvivalAnalysis(alpha=0.1), cohort, splits, track=False, progress=False)
    return clf, cox, cohort.subset(splits.test)


@pytest.fixture(scope="module")
def static(sample):
    """A classifier on a static-only cohort."""
    cohort, splits = sample
    frame = pd.concat([pd.Series(cohort.ids, name="patient_id"), cohort.static,
                       cohort.targets], axis=1)
    flat = ls.Cohort(frame, id="patient_id", label="died_in_hospital")
    run = ls.fit(LogisticRegression(max_iter=500), flat, splits, track=False, progress=False)
    return run, frame.iloc[splits.test].reset_index(drop=True)


def test_schema_mismatch_lists_columns_and_writes_nothing(longitudinal, tmp_path):
    clf, _, test = longitudinal
    frame = clf.pipeline.input_frame(test).drop(columns=["age", "heart_rate"])
    frame["bmi"] = "unknown"
    frame["sex"] = 1
    out = tmp_path / "preds.parquet"
    with pytest.raises(SchemaMismatchError) as caught:
        predict_file(_saved(clf, tmp_path), frame, out)
    err = caught.value
    assert isinstance(err, ValueError) and isinstance(err, ls.LightsaberError)
    assert err.missing == ["heart_rate", "age"]
    assert set(err.mistyped) == {"bmi", "sex"}
    message = str(err)
    for word in ("missing column(s) (2): 'heart_rate', 'age'", "'bmi' (expected numeric",
                 "'sex' (expected text", "no predictions were written"):
        assert word in message
    assert not [pid for pid in test.ids if pid in message]
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "model"]  # no temporary file left either


def _saved(run, tmp_path):
    from lightsaber.serving.pyfunc import save_pipeline_model

    path = tmp_path / "model"
    if not path.exists():
        save_pipeline_model(run.pipeline, path)
    return str(path)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_predict_file_applies_the_training_pipeline(longitudinal, tmp_path, suffix):
    clf, _, test = longitudinal
    source = tmp_path / "cohort.parquet"
    clf.pipeline.input_frame(test).to_parquet(source)
    out = predict_file(_saved(clf, tmp_path), source, tmp_path / f"preds{suffix}")
    assert out == tmp_path / f"preds{suffix}"
    table = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out)
    assert table.columns.tolist() == ["patient_id", "probability"]
    assert table["patient_id"].astype(str).tolist() == [str(i) for i in test.ids]
    np.testing.assert_allclose(table["probability"], clf.pipeline.predict(test), rtol=1e-9)


def test_survival_probabilities_at_requested_times(longitudinal):
    _, cox, test = longitudinal
    out = predict_cohort(cox, cox.pipeline.input_frame(test), times=[10, 2.5, 5])
    assert out.columns.tolist() == ["patient_id", "risk", "survival_2.5", "survival_5",
                                    "survival_10", "event_probability_2.5",
                                    "event_probability_5", "event_probability_10"]
    np.testing.assert_allclose(out["risk"], cox.pipeline.predict(test), rtol=1e-12)
    surv = out[["survival_2.5", "survival_5", "survival_10"]].to_numpy()
    assert ((surv >= 0) & (surv <= 1)).all() and (np.diff(surv, axis=1) <= 1e-12).all()
    np.testing.assert_allclose(out["event_probability_5"], 1 - out["survival_5"])
    # higher risk, lower survival (the sign convention)
    assert np.corrcoef(out["risk"], out["survival_10"])[0, 1] < 0
    # same as the step function of the fitted scikit-survival model
    X = cox.pipeline.transform(test)
    fn = cox.model.predict_survival_function(X)
    np.testing.assert_allclose(out["survival_5"], [f(5.0) for f in fn], rtol=1e-12)


def test_cohort_input_and_bad_requests(longitudinal, tmp_path):
    clf, cox, test = longitudinal
    by_cohort = predict_cohort(clf, test)
    by_frame = predict_cohort(clf, clf.pipeline.input_frame(test))
    pd.testing.assert_frame_equal(by_cohort, by_frame, check_dtype=False)
    with pytest.raises(PredictionError, match="survival models"):
        predict_cohort(clf, test, times=[5])
    with pytest.raises(PredictionError, match="non-negative"):
        predict_cohort(cox, test, times=[-1])
    with pytest.raises(PredictionError, match="must end in one of"):
        predict_file(_saved(clf, tmp_path), test, tmp_path / "preds.xlsx")
    assert not (tmp_path / "preds.xlsx").exists()


def test_single_patient_static(static):
    run, frame = static
    batch = predict_cohort(run, frame)
    assert batch.columns.tolist() == ["patient_id", "probability"]
    for i in (0, 5):
        values = frame.iloc[i][run.pipeline.static_columns].to_dict()
        single = predict_patient(run, values)
        assert single["probability"] == pytest.approx(batch["probability"][i], rel=1e-12)
    values["bmi"] = None  # missing values are imputed as in training
    assert 0 <= predict_patient(run, values)["probability"] <= 1


def test_single_patient_longitudinal(longitudinal):
    clf, cox, test = longitudinal
    frame = clf.pipeline.input_frame(test)
    batch = predict_cohort(cox, frame, times=[5])
    pid = test.ids[3]
    rows = frame[frame["patient_id"] == pid]
    static = rows.iloc[0][cox.pipeline.static_columns].to_dict()
    vitals = rows[["hour", *cox.pipeline.longitudinal_columns]]
    single = predict_patient(cox, static, longitudinal=vitals, times=[5])
    assert single["risk"] == pytest.approx(batch["risk"][3], rel=1e-12)
    assert single["survival_5"] == pytest.approx(batch["survival_5"][3], rel=1e-12)
    # a partial record: unmeasured series are imputed
    partial = predict_patient(clf, static, longitudinal=[{"hour": 1.0, "heart_rate": 90.0}])
    assert 0 <= partial["probability"] <= 1
    with pytest.raises(PredictionError, match="longitudinal="):
        predict_patient(clf, static)
