"""The one estimator protocol, asked of any model: is it one of our nets, its task, its outputs.

Every layer above ``models`` (calibration, serving, training, tuning, config) asks these
questions here instead of probing private attributes itself.

Examples
--------
>>> from sklearn.linear_model import LogisticRegression
>>> from lightsaber.models import DeepSurv
>>> is_net(DeepSurv()), is_net(DeepSurv), is_net(LogisticRegression())
(True, True, False)
>>> from lightsaber.models import CauseSpecificCox
>>> task_of(DeepSurv()), task_of(LogisticRegression()), task_of(CauseSpecificCox())
('survival', 'classification', 'competing')
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from lightsaber.metrics.prediction import CompetingPrediction, SurvivalPrediction

__all__ = ["competing_prediction", "is_net", "predicted_causes", "survival_prediction",
           "task_of", "uses_sequences"]


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
    """``"survival"``, ``"classification"``, ``"competing"`` or ``None`` (unknown).

    ``"competing"`` for a model that predicts cumulative incidences
    (``predict_cumulative_incidence(X, times, cause=k)``).

    Parameters
    ----------
    model : estimator
        A lightsaber net, a scikit-learn / scikit-survival estimator, a competing-risks model,
        or a search over one.
    """
    if is_net(model):
        return model.task
    inner = getattr(model, "estimator", None)  # search objects
    if inner is not None and inner is not model:
        return task_of(inner)
    if callable(getattr(model, "predict_cumulative_incidence", None)):
        return "competing"
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


def predicted_causes(model: Any) -> list[int]:
    """The cause codes a fitted competing-risks model predicts a cumulative incidence for.

    Every code of ``causes_``, except for a model of one cause (an integer ``cause``
    parameter, as :class:`~lightsaber.models.FineGray`), which predicts that cause only.

    Parameters
    ----------
    model : estimator
        A fitted competing-risks model (``causes_``, ``predict_cumulative_incidence``).
    """
    single = getattr(model, "cause", None)
    if isinstance(single, (int, np.integer)) and not isinstance(single, bool):
        return [int(single)]
    return [int(k) for k in np.asarray(model.causes_).tolist()]


def competing_prediction(model: Any, X: Any, times: np.ndarray,
                         causes: dict[int, str] | None = None) -> CompetingPrediction:
    """A :class:`~lightsaber.metrics.CompetingPrediction`: each predicted cause's CIF on ``times``.

    Parameters
    ----------
    model : estimator
        A fitted competing-risks model; ``predict_cumulative_incidence(X, times, cause=k)`` is
        called for each of :func:`predicted_causes`.
    X : array or dict of arrays
        Model input of the split.
    times : numpy.ndarray
        Times at which the CIFs are evaluated (the evaluation grid).
    causes : dict of int to str, optional
        ``{code: name}`` of the cohort's causes (default ``cause<k>``).

    Examples
    --------
    >>> from lightsaber.data import make_competing_target
    >>> from lightsaber.models import FineGray
    >>> X = np.array([[0.1], [1.2], [-0.3], [0.8], [-1.0], [0.4], [1.5], [-0.6]])
    >>> y = make_competing_target([1, 2, 0, 1, 2, 1, 1, 0], [2.0, 3, 4, 1, 5, 6, 1.5, 7])
    >>> p = competing_prediction(FineGray(cause=1).fit(X, y), X, np.array([1.0, 3.0]),
    ...                          {1: "death", 2: "discharge"})
    >>> sorted(p.cif), p.cif[1].shape, p.causes
    ([1], (8, 2), {1: 'death', 2: 'discharge'})
    """
    codes = predicted_causes(model)
    cif = {k: np.asarray(model.predict_cumulative_incidence(X, times, cause=k), dtype=float)
           for k in codes}
    names = dict(causes) if causes else {}
    names.update({k: f"cause{k}" for k in codes if k not in names})
    return CompetingPrediction(cif=cif, times=times, causes=names)
