"""ProbabilityCalibrator on synthetic scores: each method recovers calibration, errors, shapes.

Reference values are derivations, not fits: scores are ``k * z`` for a true logit ``z``, so a
calibrated map must bring predictions back to ``sigmoid(z)``.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from lightsaber.calibration import (
    CalibrationError,
    ProbabilityCalibrator,
    model_scores,
    resolve_calibrator,
)
from lightsaber.exceptions import LightsaberError, NotFittedError
from lightsaber.metrics import expected_calibration_error, roc_auc

METHODS = ("sigmoid", "platt", "isotonic", "temperature", "beta")


def _data(n: int, seed: int, scale: float = 4.0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return scale * z, y


@pytest.mark.parametrize("method", METHODS)
def test_each_method_fixes_overconfidence_and_keeps_ranking(method):
    scores, y = _data(3000, 0)
    test_scores, test_y = _data(3000, 1)
    raw = 1 / (1 + np.exp(-test_scores))
    cal = ProbabilityCalibrator(method).fit(scores, y)
    proba = cal.predict_proba(test_scores)
    assert proba.shape == (3000, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert expected_calibration_error(test_y, proba[:, 1]) < 0.5 * expected_calibration_error(
        test_y, raw)
    assert abs(roc_auc(test_y, proba[:, 1]) - roc_auc(test_y, raw)) < 1e-3


def test_temperature_recovers_the_scale():
    scores, y = _data(20000, 2, scale=3.0)
    assert ProbabilityCalibrator("temperature").fit(scores, y).temperature_ == \
        pytest.approx(3.0, rel=0.05)


def test_centred_isotonic_is_strictly_increasing_inside_its_range():
    scores, y = _data(2000, 3)
    cal = ProbabilityCalibrator("isotonic").fit(scores, y)
    grid = np.linspace(np.quantile(scores, 0.05), np.quantile(scores, 0.95), 200)
    assert (np.diff(cal.predict_proba(grid)[:, 1]) > 0).all()


def test_multiclass_temperature_and_sigmoid():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(600, 3))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in p])
    for method in ("temperature", "sigmoid", "isotonic"):
        proba = ProbabilityCalibrator(method).fit(3 * logits, y).predict_proba(
            3 * logits)
        assert proba.shape == (600, 3)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    with pytest.raises(CalibrationError, match="binary only"):
        ProbabilityCalibrator("beta").fit(logits, y)


def test_model_scores_use_decision_function_else_logit_of_proba():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    lr = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(model_scores(lr, X), lr.decision_function(X))
    rf = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    p = np.clip(rf.predict_proba(X)[:, 1], 1e-7, 1 - 1e-7)
    np.testing.assert_allclose(model_scores(rf, X), np.log(p / (1 - p)))
    cal = ProbabilityCalibrator("sigmoid").fit(model_scores(rf, X), y, classes=rf.classes_)
    assert cal.predict_proba(model_scores(rf, X)).shape == (200, 2)


def test_errors_name_the_argument_value_and_expectation():
    scores, y = _data(100, 0)
    with pytest.raises(CalibrationError, match=r"method must be one of .*got 'plat'") as info:
        ProbabilityCalibrator("plat").fit(scores, y)
    assert isinstance(info.value, (LightsaberError, ValueError))
    with pytest.raises(CalibrationError, match="single class"):
        ProbabilityCalibrator().fit(scores, np.zeros(100, dtype=int))
    with pytest.raises(CalibrationError, match="same number of rows"):
        ProbabilityCalibrator().fit(scores[:50], y)
    with pytest.raises(CalibrationError, match="finite"):
        ProbabilityCalibrator().fit(np.r_[np.nan, scores[1:]], y)
    with pytest.raises(NotFittedError):
        ProbabilityCalibrator().predict_proba(scores)
    with pytest.raises(CalibrationError, match="for a survival model"):
        resolve_calibrator("temperature", "survival")
    with pytest.raises(CalibrationError, match="does not apply to a classification"):
        resolve_calibrator(resolve_calibrator("isotonic", "survival"), "classification")


def test_summary_holds_parameters_not_rows():
    scores, y = _data(500, 0)
    for method in METHODS:
        summary = ProbabilityCalibrator(method).fit(scores, y).summary()
        assert summary["method"] == method and summary["n_calibration"] == 500
        assert all(not isinstance(v, (list, np.ndarray)) for v in summary.values())
