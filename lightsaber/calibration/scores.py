"""The score a classifier calibrator reads: logits (decision function), else logit of proba.

Platt scaling, temperature scaling and beta calibration are defined on the model's logit
scale. Networks (:class:`~lightsaber.models.ClassifierNet`) and linear or boosted
scikit-learn models expose it as ``decision_function``; for the others (forests, naive Bayes
...) the logit of ``predict_proba`` is used, clipped away from 0 and 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["PROBA_CLIP", "model_scores", "proba_to_scores"]

#: Probabilities are clipped to ``[PROBA_CLIP, 1 - PROBA_CLIP]`` before taking logits.
PROBA_CLIP = 1e-7


def proba_to_scores(proba: Any) -> np.ndarray:
    """Logit-scale scores from class probabilities.

    Binary ``(n, 2)`` or ``(n,)`` probabilities give the logit of the positive class, shape
    ``(n,)``; multi-class ``(n, K)`` give log-probabilities (logits up to a constant per row).

    Examples
    --------
    >>> proba_to_scores([[0.5, 0.5], [0.2, 0.8]]).round(4).tolist()
    [0.0, 1.3863]
    """
    p = np.clip(np.asarray(proba, dtype=float), PROBA_CLIP, 1.0 - PROBA_CLIP)
    if p.ndim == 2 and p.shape[1] == 2:
        p = p[:, 1]
    if p.ndim == 1:
        return np.log(p) - np.log1p(-p)
    return np.log(p)


def model_scores(model: Any, X: Any) -> np.ndarray:
    """Logit-scale scores of a fitted classifier: ``(n,)`` for binary, ``(n, K)`` otherwise.

    Parameters
    ----------
    model : fitted classifier
        Anything with ``predict_proba``; ``decision_function`` is preferred when present.
    X : model input
        As the model's ``predict_proba`` takes it (array, or a dict for sequence nets).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = [0, 0, 1, 1]
    >>> model = LogisticRegression().fit(X, y)
    >>> bool(np.allclose(model_scores(model, X), model.decision_function(X)))
    True
    """
    if hasattr(model, "decision_function"):
        scores = np.asarray(model.decision_function(X), dtype=float)
        return scores.reshape(-1) if scores.ndim == 2 and scores.shape[1] == 1 else scores
    return proba_to_scores(model.predict_proba(X))
