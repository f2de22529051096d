"""The calibrators are scikit-learn estimators: clone, params, fitted state, pickling, checks.

Both are fitted on a model's predictions and the outcome, scikit-learn's ``fit(X, y)`` order:
``ProbabilityCalibrator().fit(scores, y)`` and ``SurvivalRecalibrator().fit(survival, y,
times=...)``.

Two layers of checks:

* scikit-learn's own ``parametrize_with_checks``. A calibrator's ``X`` is not a feature matrix
  but a model's scores (one column per class, ``(n,)`` for a binary model) or survival curves on
  a time grid, so the generic checks that fit on blobs of features with 3 classes, or on a
  feature matrix with class labels, cannot apply; each is listed in ``*_EXPECTED_FAILURES``
  with the reason. They run as strict xfails: a check that starts passing fails here, so the
  list cannot go stale.
* the same properties on calibration-shaped data (this file's ``CASES``): the generic checks
  that were listed because of their data are re-run here on scores / curves.
"""

from __future__ import annotations

import dataclasses
import pickle
import warnings
from types import SimpleNamespace

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import (  # the ids parametrize_with_checks gives
    _get_check_estimator_ids,
    estimator_checks_generator,
)
from sklearn.utils.validation import check_is_fitted

from lightsaber.calibration import (
    CalibrationError,
    CalibrationResult,
    ProbabilityCalibrator,
    SurvivalRecalibrator,
    calibrate_fitted,
    model_scores,
    resolve_calibrator,
)
from lightsaber.data.targets import make_survival_target
from lightsaber.exceptions import NotFittedError

GRID = np.linspace(0.05, 2.0, 40)

# ------------------------------------------------------------------ scikit-learn's checks
_MULTICLASS_BLOBS = ("fits 3 (or 4) classes on a 1-D or few-column X; a calibrator of K classes "
                     "needs the model's K score columns (re-run on scores below)")
_CHECK_INDEXES_2D = ("the check indexes X as 2-D after the one_d_array tag (binary scores are "
                     "(n,)) made it 1-D: the check itself raises IndexError (re-run below)")
PROBABILITY_EXPECTED_FAILURES = {
    "check_fit_score_takes_y": _MULTICLASS_BLOBS,
    "check_estimators_overwrite_params": _MULTICLASS_BLOBS,
    "check_estimators_fit_returns_self": _MULTICLASS_BLOBS,
    "check_readonly_memmap_input": _MULTICLASS_BLOBS,
    "check_n_features_in_after_fitting": _MULTICLASS_BLOBS,
    "check_positive_only_tag_during_fit": _MULTICLASS_BLOBS,
    "check_dtype_object": _MULTICLASS_BLOBS,
    "check_classifiers_classes": _MULTICLASS_BLOBS,
    "check_supervised_y_2d": _MULTICLASS_BLOBS + "; a 2-D y is refused, not raveled",
    "check_dont_overwrite_parameters": _CHECK_INDEXES_2D,
    "check_f_contiguous_array_estimator": _CHECK_INDEXES_2D,
    "check_methods_sample_order_invariance": _CHECK_INDEXES_2D,
    "check_methods_subset_invariance": _CHECK_INDEXES_2D,
    "check_fit2d_1sample": _CHECK_INDEXES_2D,
    "check_fit2d_1feature": _CHECK_INDEXES_2D,
    "check_dict_unchanged": _CHECK_INDEXES_2D,
    "check_fit2d_predict1d": _CHECK_INDEXES_2D,
    "check_n_features_in": _CHECK_INDEXES_2D,
    "check_estimator_sparse_array": ("scikit-learn cannot build the check's 1-D sparse array "
                                     "for a one_d_array estimator (lil conversion fails)"),
    "check_classifiers_train": ("asks for accuracy > 0.83 with the first blob feature as the "
                                "score: that measures the scores' model, which a calibrator "
                                "(a monotone map of the score) does not change"),
}
_NOT_CURVES = ("fits on a feature matrix and class labels without times=; a "
               "SurvivalRecalibrator fits survival curves on their time grid with a survival "
               "outcome (re-run on curves below)")
SURVIVAL_EXPECTED_FAILURES = dict.fromkeys([
    "check_complex_data", "check_dict_unchanged", "check_dont_overwrite_parameters",
    "check_dtype_object", "check_estimator_sparse_array", "check_estimator_sparse_matrix",
    "check_estimator_sparse_tag", "check_estimators_dtypes",
    "check_estimators_empty_data_messages", "check_estimators_fit_returns_self",
    "check_estimators_nan_inf", "check_estimators_overwrite_params", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_fit2d_1feature", "check_fit2d_1sample",
    "check_fit2d_predict1d", "check_fit_check_is_fitted", "check_fit_idempotent",
    "check_fit_score_takes_y", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_n_features_in",
    "check_n_features_in_after_fitting", "check_pipeline_consistency",
    "check_positive_only_tag_during_fit", "check_readonly_memmap_input",
    "check_transformer_data_not_an_array", "check_transformer_general",
    "check_transformer_preserve_dtypes",
], _NOT_CURVES)


def _expected_failures(estimator):
    if isinstance(estimator, SurvivalRecalibrator):
        return SURVIVAL_EXPECTED_FAILURES
    return PROBABILITY_EXPECTED_FAILURES


def _checks() -> list:
    """scikit-learn's checks of every calibrator, as ``parametrize_with_checks`` builds them.

    Left out: the array-API checks, which scikit-learn itself skips unless ``SCIPY_ARRAY_API=1``
    is set before SciPy is imported (a skip fails under ``CI``); the calibrators are NumPy-only.
    """
    out = []
    for estimator in ([ProbabilityCalibrator(m) for m in ("isotonic", "sigmoid", "temperature",
                                                          "beta")] + [SurvivalRecalibrator()]):
        for param in estimator_checks_generator(
                estimator, expected_failed_checks=_expected_failures(estimator), mark="xfail",
                xfail_strict=True):
            check = param.values[1] if hasattr(param, "values") else param[1]
            name = getattr(check, "func", check).__name__
            if "array_api" in name:
                continue
            if name == "check_classifier_data_not_an_array" and "temperature" in repr(estimator):
                # 12 perfectly separated integer "scores": scipy's bounded search for the log
                # temperature sometimes ends on NaN (seen once in a full CI run, never alone);
                # the calibrator then raises CalibrationError, which is the right answer there.
                values = param.values if hasattr(param, "values") else param
                param = pytest.param(*values, marks=pytest.mark.xfail(
                    raises=CalibrationError, strict=False,
                    reason="temperature has no finite optimum on separable scores"))
            out.append(param)
    return out


@pytest.mark.parametrize("estimator, check", _checks(), ids=_get_check_estimator_ids)
def test_scikit_learn_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checks' own data warnings, not the calibrators'
        check(estimator)


# ------------------------------------------------------------------ calibration-shaped data
def _binary(n=400, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    return 3 * z, (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)


def _multiclass(n=600, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 3))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return 3 * logits, np.array(["a", "b", "c"])[[rng.choice(3, p=row) for row in p]]


def _curves(n=600, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t, c = rng.exponential(np.exp(-x)), rng.exponential(2.0, size=n)
    return np.exp(-np.outer(np.exp(2 * x), GRID)), make_survival_target(t <= c, np.minimum(t, c))


@dataclasses.dataclass
class Case:
    estimator: object
    X: np.ndarray
    y: np.ndarray
    fit_kwargs: dict
    apply: str  # the method mapping X to calibrated outputs

    def fit(self, estimator=None, X=None, y=None):
        estimator = clone(self.estimator) if estimator is None else estimator
        return estimator.fit(self.X if X is None else X, self.y if y is None else y,
                             **self.fit_kwargs)

    def out(self, fitted, X=None):
        return getattr(fitted, self.apply)(self.X if X is None else X)


def _cases():
    z, y = _binary()
    logits, labels = _multiclass()
    curves, outcome = _curves()
    cases = [pytest.param(Case(ProbabilityCalibrator(m), z, y, {}, "predict_proba"), id=m)
             for m in ("isotonic", "sigmoid", "temperature", "beta")]
    cases += [pytest.param(Case(ProbabilityCalibrator(m), logits, labels, {}, "predict_proba"),
                           id=f"{m}-multiclass") for m in ("isotonic", "temperature")]
    cases += [pytest.param(Case(SurvivalRecalibrator(m), curves, outcome, {"times": GRID},
                                "transform"), id=f"survival-{m}")
              for m in ("cloglog", "isotonic")]
    return cases


CASES = _cases()


@pytest.mark.parametrize("case", CASES)
def test_clone_keeps_parameters_and_drops_the_fit(case):
    fitted = case.fit()
    for estimator in (case.estimator, fitted):
        copy = clone(estimator)
        assert copy is not estimator and copy.get_params() == estimator.get_params()
        with pytest.raises(NotFittedError):
            case.out(copy)
    np.testing.assert_allclose(case.out(case.fit(clone(fitted))), case.out(fitted))


@pytest.mark.parametrize("case", CASES)
def test_get_and_set_params(case):
    estimator = clone(case.estimator)
    params = estimator.get_params()
    assert set(params) == ({"method"} if isinstance(estimator, ProbabilityCalibrator)
                           else {"method", "horizons"})
    assert estimator.set_params(method="isotonic") is estimator
    assert estimator.get_params()["method"] == "isotonic"
    with pytest.raises(ValueError, match="Invalid parameter"):
        estimator.set_params(bins=3)


@pytest.mark.parametrize("case", CASES)
def test_init_only_stores_parameters_and_fit_checks_them(case):
    estimator = type(case.estimator)(method="no-such-method")  # no validation in __init__
    assert vars(estimator) == {**case.estimator.get_params(), "method": "no-such-method"}
    with pytest.raises(CalibrationError, match="method must be one of"):
        case.fit(estimator)


@pytest.mark.parametrize("case", CASES)
def test_fit_returns_self_leaves_params_and_adds_only_fitted_attributes(case):
    estimator = clone(case.estimator)
    before = dict(vars(estimator))
    hashes = {k: joblib.hash(v) for k, v in estimator.get_params().items()}
    assert case.fit(estimator) is estimator
    assert {k: joblib.hash(v) for k, v in estimator.get_params().items()} == hashes
    added = set(vars(estimator)) - set(before)
    assert added and all(a.endswith("_") and not a.startswith("_") for a in added), added
    assert all(vars(estimator)[k] is v for k, v in before.items())


@pytest.mark.parametrize("case", CASES)
def test_unfitted_raises_lightsaber_not_fitted_and_check_is_fitted_works(case):
    estimator = clone(case.estimator)
    with pytest.raises(NotFittedError, match="not fitted"):
        case.out(estimator)
    assert issubclass(NotFittedError, SklearnNotFittedError)
    with pytest.raises(SklearnNotFittedError):
        check_is_fitted(estimator)
    check_is_fitted(case.fit(estimator))


@pytest.mark.parametrize("case", CASES)
def test_fit_is_idempotent_and_pickles(case):
    fitted = case.fit()
    expected = case.out(fitted)
    half = slice(0, len(case.y) // 2)
    case.fit(fitted, case.X[half], case.y[half])  # refit on other rows, then back
    np.testing.assert_allclose(case.out(case.fit(fitted)), expected, atol=1e-12)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(case.out(restored), expected)


@pytest.mark.parametrize("case", CASES)
def test_outputs_are_per_row_and_leave_the_estimator_unchanged(case):
    fitted = case.fit()
    state = joblib.hash(vars(fitted))
    full = case.out(fitted)
    rows = np.random.default_rng(0).permutation(len(case.y))[:50]
    np.testing.assert_allclose(case.out(fitted, case.X[rows]), full[rows], atol=1e-12)
    assert joblib.hash(vars(fitted)) == state


def test_probability_calibrator_predicts_classes_and_checks_score_columns():
    logits, labels = _multiclass()
    cal = ProbabilityCalibrator("temperature").fit(logits, labels)
    assert cal.classes_.tolist() == ["a", "b", "c"] and cal.n_features_in_ == 3
    assert set(cal.predict(logits)) <= {"a", "b", "c"}
    np.testing.assert_array_equal(cal.predict(logits),
                                  cal.classes_[cal.predict_proba(logits).argmax(axis=1)])
    with pytest.raises(CalibrationError, match="fitted on 3 score column"):
        cal.predict_proba(logits[:, 0])
    z, y = _binary()
    binary = ProbabilityCalibrator("sigmoid").fit(z[:, None], y)  # (n, 1) is read as (n,)
    np.testing.assert_allclose(binary.predict_proba(z),
                               ProbabilityCalibrator("sigmoid").fit(z, y).predict_proba(z))
    with pytest.raises(CalibrationError, match="class labels"):
        ProbabilityCalibrator().fit(z, z)  # a continuous target


def test_survival_recalibrator_transforms_on_its_fit_grid_by_default():
    curves, y = _curves()
    recal = SurvivalRecalibrator().fit(curves, y, times=GRID)
    np.testing.assert_array_equal(recal.transform(curves), recal.transform(curves, GRID))
    np.testing.assert_array_equal(
        SurvivalRecalibrator().fit_transform(curves, y, times=GRID), recal.transform(curves))
    with pytest.raises(CalibrationError, match="times is required"):
        SurvivalRecalibrator().fit(curves, y)
    with pytest.raises(CalibrationError, match="finite"):
        SurvivalRecalibrator().fit(np.where(curves > 0.99, np.nan, curves), y, times=GRID)


# ------------------------------------------------------------------ the old shapes
def test_old_fit_shapes_warn_and_give_the_same_calibrator():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    new = ProbabilityCalibrator("sigmoid").fit(model_scores(model, X), y, classes=model.classes_)
    with pytest.warns(DeprecationWarning, match=r"fit\(model, X, y\) is deprecated"):
        old = ProbabilityCalibrator("sigmoid").fit(model, X, y)
    np.testing.assert_array_equal(old.predict_proba(model_scores(model, X)),
                                  new.predict_proba(model_scores(model, X)))
    # predict_proba(model, X) and the *_scores names still answer, with a warning
    with pytest.warns(DeprecationWarning, match=r"predict_proba\(model, X\) is deprecated"):
        np.testing.assert_array_equal(new.predict_proba(model, X),
                                      new.predict_proba(model_scores(model, X)))
    z = model_scores(model, X)
    with pytest.warns(DeprecationWarning):
        old_names = ProbabilityCalibrator("sigmoid").fit_scores(z, y).predict_proba_scores(z)
    np.testing.assert_array_equal(old_names, new.predict_proba(z))

    curves, outcome = _curves()
    recal = SurvivalRecalibrator().fit(curves, outcome, times=GRID)
    with pytest.warns(DeprecationWarning, match=r"fit\(y, survival, times\) is deprecated"):
        old_order = SurvivalRecalibrator().fit(outcome, curves, GRID)
    with pytest.warns(DeprecationWarning, match="'time_grid' is now 'times'"):
        old_keyword = SurvivalRecalibrator().fit(curves, outcome, time_grid=GRID)
    with pytest.warns(DeprecationWarning, match="'time_grid' is now 'times'"):
        transformed = recal.transform(curves, time_grid=GRID)
    for other in (old_order, old_keyword):
        np.testing.assert_array_equal(other.transform(curves), recal.transform(curves))
    np.testing.assert_array_equal(transformed, recal.transform(curves))


def test_calibrators_pickled_before_they_were_estimators_still_load():
    z, y = _binary()
    cal = ProbabilityCalibrator("beta").fit(z, y)
    state = {k: v for k, v in vars(cal).items() if k != "n_features_in_"}  # the state before
    old = ProbabilityCalibrator.__new__(ProbabilityCalibrator)
    old.__setstate__(state)
    np.testing.assert_array_equal(old.predict_proba(z), cal.predict_proba(z))

    curves, outcome = _curves()
    recal = SurvivalRecalibrator().fit(curves, outcome, times=GRID)
    state = dict(vars(recal))
    state["time_grid_"] = state.pop("times_")  # the attribute's name before the rename
    old = SurvivalRecalibrator.__new__(SurvivalRecalibrator)
    old.__setstate__(state)
    np.testing.assert_array_equal(old.times_, GRID)
    np.testing.assert_array_equal(old.transform(curves), recal.transform(curves))


# ------------------------------------------------------------------ resolve / calibrate_fitted
def test_resolve_calibrator_clones_the_object_it_is_given():
    z, y = _binary()
    given = ProbabilityCalibrator("beta").fit(z, y)
    resolved = resolve_calibrator(given, "classification")
    assert resolved is not given and resolved.get_params() == given.get_params()
    assert not hasattr(resolved, "calibrator_") and hasattr(given, "calibrator_")


def test_calibrate_fitted_returns_a_result_and_changes_nothing_it_is_given():
    rng = np.random.default_rng(0)
    X = {name: rng.normal(size=(200, 3)) for name in ("train", "val", "test")}
    y = {name: (x[:, 0] + rng.normal(size=200) > 0).astype(int) for name, x in X.items()}
    model = LogisticRegression().fit(X["train"], y["train"])
    pipeline = SimpleNamespace(task="classification", model=model, calibrator=None)
    predictions = {name: model.predict_proba(x)[:, 1] for name, x in X.items()}
    scores = {name: {"brier": 0.2} for name in X}
    given = {name: p.copy() for name, p in predictions.items()}
    result = calibrate_fitted("sigmoid", pipeline, X, y, predictions=predictions, scores=scores,
                              metrics=["brier", "ece"])
    assert isinstance(result, CalibrationResult)
    assert pipeline.calibrator is None and scores == {name: {"brier": 0.2} for name in X}
    assert all(np.array_equal(predictions[k], given[k]) for k in X)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.calibrator = None  # type: ignore[misc]
    expected = result.calibrator.predict_proba(model_scores(model, X["test"]))[:, 1]
    np.testing.assert_array_equal(result.predictions["test"], expected)
    assert result.scored is result.predictions
    assert set(result.scores["test"]) == {"brier", "ece", "uncalibrated_brier"}
    assert result.report.fitted_on == "val" and result.report.method == "sigmoid"
    with pytest.warns(DeprecationWarning, match="4-tuple"):
        new, scored, new_scores, report = result
    assert new is result.predictions and scored is None and report is result.report
