"""Post-hoc calibration of classifiers: Platt, isotonic, temperature and beta calibration.

A :class:`ProbabilityCalibrator` is a scikit-learn estimator whose input is a fitted model's
**scores**, not the model's features: like scikit-learn's own calibrators
(:class:`~sklearn.isotonic.IsotonicRegression` ``.fit(X, y)``), it is fitted as
``fit(scores, y)`` and applied as ``predict_proba(scores)``, where ``scores`` are the model's
logit-scale scores on held-out rows, :func:`~lightsaber.calibration.scores.model_scores`
(``(n,)`` for a binary model, ``(n, K)`` for ``K`` classes). The caller extracts the scores, so
the calibrator never calls, copies or refits the model, and the same calibrator serves
scikit-learn models and skorch nets (whose inputs may be dicts of padded sequences) alike::

    cal = ProbabilityCalibrator("sigmoid").fit(model_scores(model, X_cal), y_cal)
    proba = cal.predict_proba(model_scores(model, X_new))

``ls.fit`` fits it on the calibration split, else the validation split, never test. It clones
(:func:`sklearn.base.clone`), pickles and takes ``get_params`` / ``set_params`` as any
scikit-learn estimator; parameters are checked in ``fit``.

Platt and temperature scaling (and multi-class isotonic) are scikit-learn's own
:class:`~sklearn.calibration.CalibratedClassifierCV` with the model already fitted, the way
scikit-learn replaced ``cv="prefit"``: the estimator is wrapped in
:class:`~sklearn.frozen.FrozenEstimator`. What is frozen here is a stateless pass-through
"model" whose decision function is the score column. Binary isotonic calibration is centred
isotonic regression on scikit-learn's ``IsotonicRegression`` blocks (no ties, so AUC is kept).
Beta calibration (Kull, Silva Filho & Flach 2017) is a logistic regression on ``ln p`` and
``-ln(1 - p)``, refitted without a feature whose coefficient comes out negative, so the map
stays monotone.

Before the 0.1.0 architecture pass the calibrator was fitted as ``fit(model, X, y)`` (it called
the model): that still works, with a ``DeprecationWarning``, until 0.2. The old score-method
names ``fit_scores`` / ``predict_proba_scores`` and ``predict_proba(model, X)`` are deprecated
too.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin

from lightsaber.calibration.scores import model_scores
from lightsaber.exceptions import CalibrationError, NotFittedError

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


def _is_model(obj: Any) -> bool:
    """Whether ``obj`` is a fitted classifier rather than an array of scores."""
    return hasattr(obj, "predict_proba") or hasattr(obj, "decision_function")


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"ProbabilityCalibrator.{old} is deprecated: use {new} (the old form will "
                  "be removed in 0.2).", DeprecationWarning, stacklevel=3)


def _accepts_model_fit(fit: Callable[..., Any]) -> Callable[..., Any]:
    """Accept the old ``fit(model, X, y)``, with a DeprecationWarning."""
    @functools.wraps(fit)
    def inner(self: ProbabilityCalibrator, scores: Any, y: Any, *args: Any, **kwargs: Any
              ) -> ProbabilityCalibrator:
        if len(args) == 1 and _is_model(scores):
            _deprecated("fit(model, X, y)", "fit(model_scores(model, X), y, "
                        "classes=model.classes_)")
            model, X, (y,) = scores, y, args
            kwargs.setdefault("classes", getattr(model, "classes_", None))
            return fit(self, model_scores(model, X), y, **kwargs)
        return fit(self, scores, y, *args, **kwargs)

    return inner


def _accepts_model_predict(predict: Callable[..., Any]) -> Callable[..., Any]:
    """Accept ``predict_proba(model, X)`` (the model's scores on ``X``) as well as scores.

    Deprecated: warns, and will be removed in 0.2.
    """
    @functools.wraps(predict)
    def inner(self: ProbabilityCalibrator, scores: Any, *args: Any) -> np.ndarray:
        if len(args) == 1 and _is_model(scores):
            _deprecated("predict_proba(model, X)", "predict_proba(model_scores(model, X))")
            return predict(self, model_scores(scores, args[0]))
        return predict(self, scores, *args)

    return inner


class ProbabilityCalibrator(ClassifierMixin, BaseEstimator):
    """Map a classifier's scores to calibrated probabilities (fit on scores and labels).

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
        Class labels (``classes=`` of :meth:`fit`, else those of ``y``).
    calibrator_ : object
        The fitted map.
    n_calibration_ : int
        Rows the calibrator was fitted on.
    n_features_in_ : int
        Score columns: 1 for a binary model, ``K`` for ``K`` classes.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=5000)
    >>> y = (rng.random(5000) < 1 / (1 + np.exp(-z))).astype(int)
    >>> cal = ProbabilityCalibrator("temperature").fit(3 * z, y)  # over-confident scores
    >>> round(cal.temperature_, 1)
    2.9
    >>> cal.predict_proba(np.array([0.0, 3.0])).round(2).tolist()
    [[0.5, 0.5], [0.26, 0.74]]
    >>> from sklearn.base import clone
    >>> clone(cal)
    ProbabilityCalibrator(method='temperature')
    """

    def __init__(self, method: str = "isotonic") -> None:
        self.method = method

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True  # a binary model's scores: shape (n,)
        return tags

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        if "classes_" in state and "n_features_in_" not in state:  # pickled before the pass
            n_classes = len(state["classes_"])
            state["n_features_in_"] = 1 if n_classes == 2 else n_classes
        super().__setstate__(state)

    # ------------------------------------------------------------------ fitting
    def _check_method(self) -> str:
        if self.method not in CLASSIFIER_METHODS:
            raise CalibrationError(
                f"method must be one of {list(CLASSIFIER_METHODS)}; got {self.method!r}.")
        return "sigmoid" if self.method == "platt" else self.method

    @staticmethod
    def _as_scores(scores: Any) -> np.ndarray:
        from sklearn.utils.validation import check_array

        z = check_array(scores, ensure_2d=False, dtype=np.float64, ensure_all_finite=False,
                        input_name="scores")
        if z.ndim == 2 and z.shape[1] == 1:
            z = z[:, 0]
        if not np.isfinite(z).all():
            raise CalibrationError(
                f"scores must be finite; got {int((~np.isfinite(z)).sum())} non-finite (NaN or "
                "inf).")
        return z

    @_accepts_model_fit
    def fit(self, scores: Any, y: Any, *, classes: Any = None) -> ProbabilityCalibrator:
        """Fit on a model's scores for held-out rows and their labels.

        Parameters
        ----------
        scores : array-like of shape (n_samples,) or (n_samples, n_classes)
            Logit-scale scores, :func:`~lightsaber.calibration.scores.model_scores`: one column
            for a binary model (``(n, 1)`` is read as ``(n,)``), one per class otherwise.
        y : array-like of shape (n_samples,)
            Labels.
        classes : array-like, optional
            The model's ``classes_`` (default: the labels present in ``y``).
        """
        from sklearn.utils.multiclass import check_classification_targets

        method = self._check_method()
        if y is None:
            raise CalibrationError("ProbabilityCalibrator requires y to be passed, but the "
                                   "target y is None: fit(scores, y).")
        y = np.asarray(y)
        if y.ndim != 1:
            raise CalibrationError(f"y must be one label per row; got shape {y.shape}.")
        try:
            check_classification_targets(y)
        except ValueError as exc:
            raise CalibrationError(f"y must hold class labels: {exc}") from None
        scores = self._as_scores(scores)
        classes = np.unique(y) if classes is None else np.asarray(classes)
        if scores.shape[0] != y.shape[0]:
            raise CalibrationError(
                f"scores and y must have the same number of rows; got {scores.shape[0]} and "
                f"{y.shape[0]}.")
        if np.unique(y).shape[0] < 2:
            raise CalibrationError(
                f"the calibration rows hold a single class ({np.unique(y).tolist()}); a "
                "calibrator needs both outcomes: use a larger calibration or validation split.")
        binary = classes.shape[0] == 2
        if binary and scores.ndim != 1:
            raise CalibrationError(
                f"a binary model needs one score per row; got shape {scores.shape}.")
        if not binary and (scores.ndim != 2 or scores.shape[1] != classes.shape[0]):
            raise CalibrationError(
                f"a model with {classes.shape[0]} classes needs one score per class, shape "
                f"(n, {classes.shape[0]}); got shape {scores.shape}.")
        if method == "beta" and not binary:
            raise CalibrationError(
                f"method='beta' is binary only; the model has {classes.shape[0]} classes. "
                "Use 'temperature', 'sigmoid' or 'isotonic'.")
        if method == "isotonic" and binary:
            calibrator: Any = _CentredIsotonic(scores, (y == classes[1]).astype(int))
        elif method == "beta":
            calibrator = self._fit_beta(scores, (y == classes[1]).astype(int))
        else:
            from sklearn.calibration import CalibratedClassifierCV
            from sklearn.frozen import FrozenEstimator

            frozen = FrozenEstimator(_ScoreColumns(classes).fit(None))
            calibrator = CalibratedClassifierCV(frozen, method=method, cv=_AllRows())
            try:
                calibrator.fit(scores.reshape(scores.shape[0], -1), y)
            except RuntimeError as err:  # scikit-learn: "Temperature scaling fails to optimize"
                raise CalibrationError(
                    f"method={method!r} did not converge on these {y.shape[0]} rows ({err}); "
                    "scores that separate the classes perfectly leave no finite temperature. "
                    "Use method='isotonic' or 'sigmoid', or a larger calibration split."
                ) from None
        self.classes_ = classes
        self.calibrator_ = calibrator
        self.n_calibration_ = int(y.shape[0])
        self.n_features_in_ = 1 if binary else int(classes.shape[0])
        return self

    def fit_scores(self, scores: Any, y: Any, *, classes: Any = None) -> ProbabilityCalibrator:
        """Deprecated name of :meth:`fit`."""
        _deprecated("fit_scores(scores, y)", "fit(scores, y)")
        return self.fit(scores, y, classes=classes)

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
        from sklearn.exceptions import NotFittedError as SklearnNotFittedError
        from sklearn.utils.validation import check_is_fitted

        try:
            check_is_fitted(self, "calibrator_")
        except SklearnNotFittedError:
            raise NotFittedError(
                "this ProbabilityCalibrator is not fitted; call fit first.") from None

    @_accepts_model_predict
    def predict_proba(self, scores: Any) -> np.ndarray:
        """Calibrated class probabilities ``(n, n_classes)`` from a model's scores.

        ``scores`` as for :meth:`fit`: :func:`~lightsaber.calibration.scores.model_scores` of
        the model on the rows to predict.
        """
        self._check_fitted()
        scores = self._as_scores(scores)
        columns = 1 if scores.ndim == 1 else scores.shape[1]
        if columns != self.n_features_in_:
            raise CalibrationError(
                f"this calibrator was fitted on {self.n_features_in_} score column(s); got "
                f"scores of shape {scores.shape}.")
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

    def predict(self, scores: Any) -> np.ndarray:
        """The most probable class per row, after calibration."""
        proba = self.predict_proba(scores)
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_proba_scores(self, scores: Any) -> np.ndarray:
        """Deprecated name of :meth:`predict_proba`."""
        _deprecated("predict_proba_scores(scores)", "predict_proba(scores)")
        return self.predict_proba(scores)

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
