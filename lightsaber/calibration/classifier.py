"""Post-hoc calibration of classifiers: Platt, isotonic, temperature and beta calibration.

A :class:`ProbabilityCalibrator` maps a fitted model's logit-scale scores
(:func:`~lightsaber.calibration.scores.model_scores`) to calibrated probabilities. It is fitted
on held-out rows only (``ls.fit`` uses the calibration split, else the validation split, never
test) and never refits the model.

Platt and temperature scaling (and multi-class isotonic) are scikit-learn's own
:class:`~sklearn.calibration.CalibratedClassifierCV` with the model already fitted, the way
scikit-learn replaced ``cv="prefit"``: the estimator is wrapped in
:class:`~sklearn.frozen.FrozenEstimator`. What is frozen here is a stateless pass-through
"model" whose decision function is the score column, so the same calibrator serves scikit-learn
models and skorch nets (whose inputs may be dicts of padded sequences) alike, and the fitted
calibrator never holds a copy of the model. Binary isotonic calibration is centred isotonic
regression on scikit-learn's ``IsotonicRegression`` blocks (no ties, so AUC is kept). Beta
calibration (Kull, Silva Filho & Flach 2017)
is a logistic regression on ``ln p`` and ``-ln(1 - p)``, refitted without a feature whose
coefficient comes out negative, so the map stays monotone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin

from lightsaber.calibration.scores import model_scores
from lightsaber.exceptions import CalibrationError

__all__ = ["CLASSIFIER_METHODS", "ProbabilityCalibrator"]

#: Method names; ``"platt"`` is an alias of ``"sigmoid"``.
CLASSIFIER_METHODS = ("sigmoid", "platt", "isotonic", "temperature", "beta")


class _ScoreColumns(ClassifierMixin, BaseEstimator):
    """A stateless "classifier" whose decision function is its input's score column(s)."""

    def __init__(self, classes: Any = None) -> None:
        self.classes = classes

    def fit(self, X: Any, y: Any = None) -> _ScoreColumns:
        self.classes_ = np.asarray(self.classes)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        return X[:, 0] if X.shape[1] == 1 else X

    def predict(self, X: Any) -> np.ndarray:
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else np.argmax(scores, axis=1)
        return self.classes_[index]


class _AllRows:
    """A one-split "cross-validation" that predicts every row once (the model is frozen)."""

    def split(self, X: Any, y: Any = None, groups: Any = None
              ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        rows = np.arange(len(X))
        yield rows, rows

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return 1


class _CentredIsotonic:
    """Centred isotonic regression (Oron & Flournoy 2017) of a binary outcome on a score.

    scikit-learn's :class:`~sklearn.isotonic.IsotonicRegression` gives the pooled-adjacent-
    violators blocks; the map then interpolates linearly between the blocks' mean scores,
    so it is strictly increasing inside the range of the calibration scores: ranking (AUC) is
    kept except among the scores beyond the lowest and highest block centres, which share the
    end blocks' values.

    **Never exactly 0 or 1.** A block whose calibration rows are all negatives (positives) has
    mean 0 (1); no patient should be told that. Such a block gets ``1 / (2 n)``
    (``1 - 1 / (2 n)``), ``n`` the number of calibration rows: half an event in the whole
    calibration set. Every other block's mean is at least ``1 / n`` from 0 and 1, so the map
    stays strictly increasing between block centres.
    """

    def __init__(self, z: np.ndarray, y: np.ndarray) -> None:
        from sklearn.isotonic import IsotonicRegression

        order = np.argsort(z, kind="stable")
        z, y = z[order], y[order].astype(float)
        fitted = IsotonicRegression(y_min=0.0, y_max=1.0).fit(z, y).predict(z)
        starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
        counts = np.diff(np.r_[starts, z.shape[0]])
        self.x_ = np.add.reduceat(z, starts) / counts
        self.bound_ = 0.5 / z.shape[0]
        self.y_ = np.clip(fitted[starts], self.bound_, 1.0 - self.bound_)

    def predict(self, z: np.ndarray) -> np.ndarray:
        return np.interp(z, self.x_, self.y_)

    def summary(self) -> dict[str, int]:
        return {"n_blocks": int(self.x_.shape[0])}


def _beta_features(z: np.ndarray) -> np.ndarray:
    """``[ln p, -ln(1 - p)]`` for ``p = sigmoid(z)``, computed stably from the logit ``z``."""
    return np.column_stack([-np.logaddexp(0.0, -z), np.logaddexp(0.0, z)])


class ProbabilityCalibrator:
    """Map a classifier's scores to calibrated probabilities.

    Parameters
    ----------
    method : {"isotonic", "sigmoid", "platt", "temperature", "beta"}, default "isotonic"
        ``"sigmoid"`` (Platt 1999; alias ``"platt"``): ``p = 1 / (1 + exp(a z + b))`` on the
        logit ``z``. ``"isotonic"``: isotonic regression (Zadrozny & Elkan 2002), centred
        (Oron & Flournoy 2017) for binary models so that it is strictly increasing between
        its block centres (scores beyond the outermost centres share the end values);
        multi-class uses scikit-learn's one-vs-rest step functions. Isotonic probabilities are
        kept inside ``[1 / (2 n), 1 - 1 / (2 n)]``, ``n`` the calibration rows, never exactly
        0 or 1. ``"temperature"`` (Guo et al. 2017): ``softmax(z / T)``,
        one parameter, ranking unchanged. ``"beta"``: beta calibration, binary only.

    Attributes
    ----------
    classes_ : numpy.ndarray
        Class labels, as the model's ``classes_``.
    calibrator_ : object
        The fitted scikit-learn calibrator.
    n_calibration_ : int
        Rows the calibrator was fitted on.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=5000)
    >>> y = (rng.random(5000) < 1 / (1 + np.exp(-z))).astype(int)
    >>> cal = ProbabilityCalibrator("temperature").fit_scores(3 * z, y)  # over-confident
    >>> round(cal.temperature_, 1)
    2.9
    >>> cal.predict_proba_scores(np.array([0.0, 3.0])).round(2).tolist()
    [[0.5, 0.5], [0.26, 0.74]]
    """

    def __init__(self, method: str = "isotonic") -> None:
        self.method = method

    # ------------------------------------------------------------------ fitting
    def _check_method(self) -> str:
        if self.method not in CLASSIFIER_METHODS:
            raise CalibrationError(
                f"method must be one of {list(CLASSIFIER_METHODS)}; got {self.method!r}.")
        return "sigmoid" if self.method == "platt" else self.method

    def fit(self, model: Any, X: Any, y: Any) -> ProbabilityCalibrator:
        """Fit on a fitted ``model``'s scores for held-out rows ``X`` with labels ``y``."""
        self.classes_ = np.asarray(model.classes_)
        return self.fit_scores(model_scores(model, X), y, classes=self.classes_)

    def fit_scores(self, scores: Any, y: Any, *, classes: Any = None) -> ProbabilityCalibrator:
        """Fit on logit-scale scores (``(n,)`` binary, ``(n, K)`` multi-class) and labels."""
        method = self._check_method()
        scores = np.asarray(scores, dtype=float)
        y = np.asarray(y)
        classes = np.unique(y) if classes is None else np.asarray(classes)
        self.classes_ = classes
        if scores.shape[0] != y.shape[0]:
            raise CalibrationError(
                f"scores and y must have the same number of rows; got {scores.shape[0]} and "
                f"{y.shape[0]}.")
        if not np.isfinite(scores).all():
            raise CalibrationError(
                f"scores must be finite; got {int((~np.isfinite(scores)).sum())} non-finite.")
        if np.unique(y).shape[0] < 2:
            raise CalibrationError(
                f"the calibration rows hold a single class ({np.unique(y).tolist()}); a "
                "calibrator needs both outcomes: use a larger calibration or validation split.")
        binary = classes.shape[0] == 2
        if binary and scores.ndim != 1:
            raise CalibrationError(
                f"a binary model needs one score per row; got shape {scores.shape}.")
        self.n_calibration_ = int(y.shape[0])
        if method == "isotonic" and binary:
            self.calibrator_ = _CentredIsotonic(scores, (y == classes[1]).astype(int))
            return self
        if method == "beta":
            if not binary:
                raise CalibrationError(
                    f"method='beta' is binary only; the model has {classes.shape[0]} classes. "
                    "Use 'temperature', 'sigmoid' or 'isotonic'.")
            self.calibrator_ = self._fit_beta(scores, (y == classes[1]).astype(int))
            return self
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.frozen import FrozenEstimator

        frozen = FrozenEstimator(_ScoreColumns(classes).fit(None))
        self.calibrator_ = CalibratedClassifierCV(frozen, method=method, cv=_AllRows())
        self.calibrator_.fit(scores.reshape(scores.shape[0], -1), y)
        return self

    @staticmethod
    def _fit_beta(z: np.ndarray, y: np.ndarray) -> dict[str, float]:
        from sklearn.linear_model import LogisticRegression

        features = _beta_features(z)
        keep = [0, 1]
        while True:
            fit = LogisticRegression(C=np.inf, max_iter=1000).fit(features[:, keep], y)
            coef = dict(zip(keep, fit.coef_[0], strict=True))
            negative = [k for k, v in coef.items() if v < 0]
            if not negative or len(keep) == 1:
                break
            keep = [k for k in keep if k not in negative[:1]]
        return {"a": float(max(coef.get(0, 0.0), 0.0)), "b": float(max(coef.get(1, 0.0), 0.0)),
                "c": float(fit.intercept_[0])}

    # ------------------------------------------------------------------ predicting
    def _check_fitted(self) -> None:
        if not hasattr(self, "calibrator_"):
            from lightsaber.exceptions import NotFittedError

            raise NotFittedError("this ProbabilityCalibrator is not fitted; call fit first.")

    def predict_proba_scores(self, scores: Any) -> np.ndarray:
        """Calibrated class probabilities ``(n, n_classes)`` from logit-scale scores."""
        self._check_fitted()
        scores = np.asarray(scores, dtype=float)
        if isinstance(self.calibrator_, _CentredIsotonic):
            p = self.calibrator_.predict(scores)
            return np.column_stack([1.0 - p, p])
        if isinstance(self.calibrator_, dict):
            beta = self.calibrator_
            p = expit(_beta_features(scores) @ np.array([beta["a"], beta["b"]]) + beta["c"])
            return np.column_stack([1.0 - p, p])
        proba = np.clip(self.calibrator_.predict_proba(scores.reshape(scores.shape[0], -1)),
                        0.0, 1.0)
        if self.method == "isotonic":  # the binary rule, per class, then renormalised
            bound = 0.5 / self.n_calibration_
            proba = np.clip(proba, bound, 1.0 - bound)
            proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def predict_proba(self, model: Any, X: Any) -> np.ndarray:
        """Calibrated probabilities of a fitted ``model`` on input ``X``."""
        return self.predict_proba_scores(model_scores(model, X))

    @property
    def temperature_(self) -> float:
        """The fitted temperature ``T`` (``method="temperature"`` only)."""
        self._check_fitted()
        if self.method != "temperature":
            raise CalibrationError(f"temperature_ exists for method='temperature'; this "
                                   f"calibrator uses {self.method!r}.")
        beta = float(self.calibrator_.calibrated_classifiers_[0].calibrators[0].beta_)
        return 1.0 / (2.0 * beta)  # scikit-learn scores a binary logit z as (-z, z)

    def summary(self) -> dict[str, Any]:
        """The fitted parameters, JSON-ready (parametric methods only; no row-level data)."""
        self._check_fitted()
        out: dict[str, Any] = {"method": self.method, "n_calibration": self.n_calibration_}
        if isinstance(self.calibrator_, dict):
            out.update(self.calibrator_)
        elif isinstance(self.calibrator_, _CentredIsotonic):
            out.update(self.calibrator_.summary())
        elif self.method == "temperature":
            out["temperature"] = self.temperature_ if self.classes_.shape[0] == 2 else float(
                1.0 / self.calibrator_.calibrated_classifiers_[0].calibrators[0].beta_)
        elif self.method in ("sigmoid", "platt") and self.classes_.shape[0] == 2:
            sig = self.calibrator_.calibrated_classifiers_[0].calibrators[0]
            out.update({"a": float(sig.a_), "b": float(sig.b_)})
        return out

    def __repr__(self) -> str:
        return f"ProbabilityCalibrator(method={self.method!r})"
