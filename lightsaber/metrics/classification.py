"""Classification metrics: discrimination, probabilistic scores and threshold metrics.

Everything here delegates to scikit-learn (``roc_auc_score``, ``average_precision_score``,
``brier_score_loss``, ``log_loss``, ``balanced_accuracy_score``, ``f1_score``,
``confusion_matrix``); lightsaber adds the boundary checks and one input convention:

* ``y_true`` is validated by :func:`lightsaber.data.targets.check_label`. Binary metrics need
  labels ``0/1`` (or ``False/True``), 1 being the positive class.
* ``proba`` is the predicted probability of the positive class — a vector, or a
  ``(n_samples, 2)`` matrix whose second column is used. Multi-class metrics take a
  ``(n_samples, n_classes)`` matrix whose columns follow the sorted class labels
  (scikit-learn's ``predict_proba`` order) and score one-vs-rest.
* Threshold metrics predict positive when ``proba >= threshold`` (default 0.5). A ratio whose
  denominator is empty (e.g. PPV with no predicted positive) raises :class:`MetricError`
  instead of scikit-learn's warning + 0.

Tested against scikit-learn to 1e-12 in ``tests/metrics/test_classification.py``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from lightsaber.data.targets import check_label
from lightsaber.exceptions import MetricError
from lightsaber.metrics.validation import check_probability

__all__ = [
    "average_precision",
    "balanced_accuracy",
    "brier",
    "f1",
    "log_loss",
    "npv",
    "ppv",
    "roc_auc",
    "sensitivity",
    "specificity",
]

Average = Literal["macro", "micro", "weighted"]


def binary_label(y_true: Any, *, need_both_classes: bool = True) -> np.ndarray:
    """Validate a binary label with :func:`~lightsaber.data.targets.check_label`; 0/1 ints.

    Examples
    --------
    >>> binary_label([True, False]).tolist()
    [1, 0]
    >>> binary_label(["no", "yes"])
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.MetricError: y_true must be binary with labels 0/1 ...
    """
    y = check_label(y_true, name="y_true", allow_single_class=not need_both_classes)
    classes = np.unique(y)
    if y.dtype.kind not in "biuf" or not np.isin(classes, [0, 1]).all():
        # numeric codes identify no one and are shown; text labels might be identifiers
        seen = ([str(c) for c in classes[:5]] if y.dtype.kind in "biuf"
                else f"{classes.shape[0]} distinct non-numeric labels")
        raise MetricError(
            f"y_true must be binary with labels 0/1 (1 = positive class); got {seen}. "
            "Map the positive class to 1, e.g. `y == 'died'`."
        )
    return y.astype(np.int64)


def binary_inputs(
    y_true: Any, proba: Any, *, need_both_classes: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a binary label (0/1) and positive-class probabilities.

    Examples
    --------
    >>> y, p = binary_inputs([0, 1], [[0.8, 0.2], [0.3, 0.7]])
    >>> y.tolist(), p.tolist()
    ([0, 1], [0.2, 0.7])
    """
    y = binary_label(y_true, need_both_classes=need_both_classes)
    p = check_probability(proba, y.shape[0], name="proba")
    if p.ndim == 2:
        if p.shape[1] != 2:
            raise MetricError(
                f"proba for a binary metric must be a vector or have 2 columns; got shape "
                f"{p.shape}. Use a multi-class metric (e.g. 'auc_roc_ovr_macro') instead."
            )
        p = p[:, 1]
    return y, p


def multiclass_inputs(y_true: Any, proba: Any, classes: Any = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate a label and a ``(n_samples, n_classes)`` probability matrix.

    Parameters
    ----------
    y_true : array-like
        Class labels.
    proba : array-like of shape (n_samples, n_classes)
        Probabilities, one column per class.
    classes : array-like, optional
        The model's classes (the columns of ``proba``, sorted), when a split may lack some of
        them (a rare class absent from a small test split). Default: the classes of ``y_true``.

    Examples
    --------
    >>> y, p, classes = multiclass_inputs(["a", "c", "b"], np.eye(3))
    >>> classes.tolist()
    ['a', 'b', 'c']
    >>> multiclass_inputs([0, 1, 1], np.full((3, 3), 1 / 3), classes=[0, 1, 2])[2].tolist()
    [0, 1, 2]
    """
    y = check_label(y_true, name="y_true")
    if classes is None:
        classes = np.unique(y)
        where = "the classes in y_true"
    else:
        classes = np.asarray(classes)
        where = "the model's classes"
        unknown = ~np.isin(y, classes)
        if unknown.any():
            raise MetricError(
                f"y_true has {int(unknown.sum())} row(s) whose class is not one of the "
                f"{classes.shape[0]} classes given.")
    p = check_probability(proba, y.shape[0], name="proba")
    if p.ndim != 2 or p.shape[1] != classes.shape[0]:
        raise MetricError(
            f"proba must have one column per class, shape (n_samples, {classes.shape[0]}) for "
            f"{where} ({classes.shape[0]}); got shape {p.shape}. Columns follow "
            "the sorted class labels."
        )
    return y, _normalised_rows(p), classes


#: Rows of a class-probability matrix may miss 1 by this much (float32 models) and are rescaled.
ROW_SUM_TOLERANCE = 1e-5


def _normalised_rows(p: np.ndarray) -> np.ndarray:
    """Rows rescaled to sum to 1 when they miss it only by float32 rounding; else an error."""
    sums = p.sum(axis=1)
    off = np.absolute(sums - 1.0) > ROW_SUM_TOLERANCE
    if off.any():
        raise MetricError(
            f"proba rows must sum to 1 (class probabilities); {int(off.sum())} row(s) do not "
            f"(first at row {int(np.flatnonzero(off)[0])}, sum {sums[off][0]:.6g}). Pass "
            "predict_proba's output, not scores.")
    return p / sums[:, None]


def roc_auc(y_true: Any, proba: Any, *, average: Average | None = None,
            classes: Any = None) -> float:
    """Area under the ROC curve (``sklearn.metrics.roc_auc_score``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels 0/1, or class labels when ``average`` is given.
    proba : array-like
        Positive-class probabilities (binary) or a probability matrix (multi-class).
    average : {"macro", "micro", "weighted"}, optional
        Multi-class one-vs-rest averaging; leave unset for a binary label.
    classes : array-like, optional
        Multi-class: the model's classes (see :func:`multiclass_inputs`).

    Returns
    -------
    float

    Examples
    --------
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    if average is None:
        y, p = binary_inputs(y_true, proba)
        return float(skm.roc_auc_score(y, p))
    y, p, classes = multiclass_inputs(y_true, proba, classes)
    if average == "micro":
        return float(skm.roc_auc_score(label_binarize(y, classes=classes), p, average="micro"))
    return float(skm.roc_auc_score(y, p, multi_class="ovr", average=average, labels=classes))


def average_precision(y_true: Any, proba: Any, *, average: Average | None = None,
                      classes: Any = None) -> float:
    """Area under the precision-recall curve as average precision.

    ``sklearn.metrics.average_precision_score``: step-wise, not trapezoidal.

    Examples
    --------
    >>> round(average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    """
    if average is None:
        y, p = binary_inputs(y_true, proba)
        return float(skm.average_precision_score(y, p))
    y, p, classes = multiclass_inputs(y_true, proba, classes)
    indicator = label_binarize(y, classes=classes)
    if classes.shape[0] == 2:
        indicator = np.column_stack((1 - indicator[:, 0], indicator[:, 0]))
    return float(skm.average_precision_score(indicator, p, average=average))


def brier(y_true: Any, proba: Any, *, classes: Any = None) -> float:
    """Brier score: mean squared error of the predicted probabilities (lower is better).

    Binary: ``mean((p - y)^2)``. With a probability matrix, scikit-learn's multi-class Brier
    score (sum over classes, not halved).

    Examples
    --------
    >>> brier([0, 1], [0.2, 0.6])
    0.1
    """
    if np.ndim(proba) == 2 and np.shape(proba)[1] > 2:
        y, p, classes = multiclass_inputs(y_true, proba, classes)
        return float(skm.brier_score_loss(y, p, labels=classes))
    y, p = binary_inputs(y_true, proba, need_both_classes=False)
    return float(skm.brier_score_loss(y, p, labels=[0, 1]))


def log_loss(y_true: Any, proba: Any, *, classes: Any = None) -> float:
    """Log-loss (cross-entropy) of the predicted probabilities (``sklearn.metrics.log_loss``).

    Examples
    --------
    >>> round(log_loss([0, 1], [0.2, 0.6]), 4)
    0.367
    """
    if np.ndim(proba) == 2 and np.shape(proba)[1] > 2:
        y, p, classes = multiclass_inputs(y_true, proba, classes)
        return float(skm.log_loss(y, p, labels=classes))
    y, p = binary_inputs(y_true, proba, need_both_classes=False)
    return float(skm.log_loss(y, p, labels=[0, 1]))


def _check_threshold(threshold: float) -> float:
    t = float(threshold)
    if not 0.0 <= t <= 1.0:
        raise MetricError(f"threshold must be a probability in [0, 1]; got {threshold!r}.")
    return t


def _confusion(y_true: Any, proba: Any, threshold: float) -> tuple[int, int, int, int]:
    y, p = binary_inputs(y_true, proba, need_both_classes=False)
    pred = (p >= _check_threshold(threshold)).astype(np.int64)
    tn, fp, fn, tp = skm.confusion_matrix(y, pred, labels=[0, 1]).ravel()
    return int(tn), int(fp), int(fn), int(tp)


def _ratio(num: int, den: int, what: str, empty: str, threshold: float) -> float:
    if den == 0:
        raise MetricError(
            f"{what} is undefined at threshold {threshold:g}: {empty}. Choose another "
            "threshold or report a metric that is defined on this data."
        )
    return num / den


def sensitivity(y_true: Any, proba: Any, *, threshold: float = 0.5) -> float:
    """Sensitivity (recall, true-positive rate): ``TP / (TP + FN)`` at ``proba >= threshold``.

    Examples
    --------
    >>> sensitivity([0, 1, 1, 1], [0.7, 0.9, 0.2, 0.6])
    0.6666666666666666
    """
    _, _, fn, tp = _confusion(y_true, proba, threshold)
    return _ratio(tp, tp + fn, "sensitivity", "y_true has no positive", threshold)


def specificity(y_true: Any, proba: Any, *, threshold: float = 0.5) -> float:
    """Specificity (true-negative rate): ``TN / (TN + FP)``.

    Examples
    --------
    >>> specificity([0, 0, 1, 1], [0.7, 0.2, 0.9, 0.6])
    0.5
    """
    tn, fp, _, _ = _confusion(y_true, proba, threshold)
    return _ratio(tn, tn + fp, "specificity", "y_true has no negative", threshold)


def ppv(y_true: Any, proba: Any, *, threshold: float = 0.5) -> float:
    """Positive predictive value (precision): ``TP / (TP + FP)``.

    Examples
    --------
    >>> ppv([0, 0, 1, 1], [0.7, 0.2, 0.9, 0.6])
    0.6666666666666666
    """
    _, fp, _, tp = _confusion(y_true, proba, threshold)
    return _ratio(tp, tp + fp, "ppv", "no row is predicted positive", threshold)


def npv(y_true: Any, proba: Any, *, threshold: float = 0.5) -> float:
    """Negative predictive value: ``TN / (TN + FN)``.

    Examples
    --------
    >>> npv([0, 0, 1, 1], [0.7, 0.2, 0.9, 0.3])
    0.5
    """
    tn, _, fn, _ = _confusion(y_true, proba, threshold)
    return _ratio(tn, tn + fn, "npv", "no row is predicted negative", threshold)


def f1(
    y_true: Any, proba: Any, *, threshold: float = 0.5, average: Average | None = None,
    classes: Any = None,
) -> float:
    """F1 score (``sklearn.metrics.f1_score``).

    Binary: harmonic mean of PPV and sensitivity at ``proba >= threshold``. Multi-class
    (``average`` given): the predicted class is the arg-max column, and a class that is never
    predicted has precision 0 (scikit-learn's ``zero_division=0``).

    Examples
    --------
    >>> round(f1([0, 0, 1, 1], [0.7, 0.2, 0.9, 0.6]), 4)
    0.8
    """
    if average is None:
        _, fp, fn, tp = _confusion(y_true, proba, threshold)
        if 2 * tp + fp + fn == 0:
            raise MetricError(
                f"f1 is undefined at threshold {threshold:g}: no positive in y_true and none "
                "predicted. Choose another threshold or report a metric defined on this data."
            )
        y, p = binary_inputs(y_true, proba, need_both_classes=False)
        return float(skm.f1_score(y, (p >= threshold).astype(np.int64), labels=[0, 1]))
    y, p, classes = multiclass_inputs(y_true, proba, classes)
    pred = classes[np.argmax(p, axis=1)]
    return float(skm.f1_score(y, pred, labels=classes, average=average, zero_division=0.0))


def balanced_accuracy(y_true: Any, proba: Any, *, threshold: float = 0.5,
                      classes: Any = None) -> float:
    """Balanced accuracy: mean per-class recall (``sklearn.metrics.balanced_accuracy_score``).

    Binary: ``(sensitivity + specificity) / 2`` at ``proba >= threshold``; with a probability
    matrix of more than two columns the predicted class is the arg-max.

    Examples
    --------
    >>> balanced_accuracy([0, 0, 1, 1], [0.7, 0.2, 0.9, 0.6])
    0.75
    """
    if np.ndim(proba) == 2 and np.shape(proba)[1] > 2:
        y, p, classes = multiclass_inputs(y_true, proba, classes)
        pred = classes[np.argmax(p, axis=1)]
        missing = ~np.isin(pred, np.unique(y))
        if missing.any():  # scikit-learn warns and scores such rows as recall 0 of no class
            raise MetricError(
                f"balanced_accuracy is undefined here: {int(missing.sum())} row(s) are "
                "predicted a class that no row of y_true has (the split lacks that class).")
        return float(skm.balanced_accuracy_score(y, pred))
    y, p = binary_inputs(y_true, proba)
    pred = (p >= _check_threshold(threshold)).astype(np.int64)
    return float(skm.balanced_accuracy_score(y, pred))
