"""The one estimator protocol, asked of any model: is it one of our nets, its task, its outputs.

Every layer above ``models`` (calibration, serving, training, tuning, config) asks these
questions here instead of probing private attributes itself.

Examples
--------
>>> from sklearn.linear_model import LogisticRegression
>>> from lightsaber.models import DeepSurv
>>> is_net(DeepSurv()), is_net(DeepSurv), is_net(LogisticRegression())
(True, True, False)
>>> task_of(DeepSurv()), task_of(LogisticRegression())
('survival', 'classification')
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from lightsaber.metrics.prediction import SurvivalPrediction

__all__ = ["is_net", "survival_prediction", "task_of", "uses_sequences"]


def is_net(model: Any) -> bool:
    """Whether ``model`` (an instance or a class) is a lightsaber net or recipe.

    Parameters
    ----------
    model : estimator or class
        Anything; only subclasses of :class:`~lightsaber.models.ClassifierNet` /
        :class:`~lightsaber.models.SurvivalNet` answer ``True``.
    """
    from lightsaber.models.nets.base import LightsaberNet

    cls = model if isinstance(model, type) else type(model)
    return issubclass(cls, LightsaberNet)


def task_of(model: Any) -> str | None:
    """``"survival"``, ``"classification"`` or ``None`` (unknown) for an estimator.

    Parameters
    ----------
    model : estimator
        A lightsaber net, a scikit-learn / scikit-survival estimator, or a search over one.
    """
    if is_net(model):
        return model.task
    inner = getattr(model, "estimator", None)  # search objects
    if inner is not None and inner is not model:
        return task_of(inner)
    if type(model).__module__.startswith("sksurv"):
        return "survival"
    from sklearn.base import is_classifier

    return "classification" if is_classifier(model) else None


def uses_sequences(model: Any) -> bool:
    """Whether a model consumes padded sequences (a net whose module's forward takes ``values``).

    Parameters
    ----------
    model : estimator
        Any estimator; only lightsaber nets (with a ``module``) can read sequences.
    """
    module = getattr(model, "module", None)
    if module is None:
        return False
    forward = (module if isinstance(module, type) else type(module)).forward
    return "values" in inspect.signature(forward).parameters


def survival_prediction(model: Any, X: Any, risk: np.ndarray, times: np.ndarray
                        ) -> SurvivalPrediction:
    """A :class:`~lightsaber.metrics.SurvivalPrediction` with curves when the model has them.

    Parameters
    ----------
    model : estimator
        A fitted survival model (``predict_survival_matrix`` or ``predict_survival_function``).
    X : array or dict of arrays
        Model input of the split.
    risk : numpy.ndarray
        The model's risk per row (higher = earlier event).
    times : numpy.ndarray
        Times at which the curves are evaluated (the evaluation grid).
    """
    matrix = None
    if hasattr(model, "predict_survival_matrix") and getattr(model, "has_survival_curves_",
                                                             False):
        matrix = model.predict_survival_matrix(X, times)
    elif hasattr(model, "predict_survival_function") and hasattr(model, "unique_times_"):
        values = np.asarray(model.predict_survival_function(X, return_array=True), dtype=float)
        unique = np.asarray(model.unique_times_, dtype=float)
        index = np.searchsorted(unique, times, side="right") - 1
        matrix = np.where(index >= 0, values[:, np.maximum(index, 0)], 1.0)
    if matrix is None:
        return SurvivalPrediction(risk=risk)
    return SurvivalPrediction(risk=risk, survival=matrix, times=times)
