"""Final metrics of a fitted model on each split, under the registry's stable names.

Classification: the registry's default set on positive-class probabilities (``auc_roc``,
``auc_pr``, ``brier``, ``log_loss``, ``ece``; one-vs-rest variants for multi-class).
Survival: the risk always; survival curves too when the model provides them, on a grid of
training event times, with the censoring distribution fitted on the training split
(scikit-survival's convention) — so ``c_index``, ``c_index_uno``, ``cumulative_auc``,
``c_index_td``, ``ibs``, ``ibll``, ``brier_at_horizon``, ``ici_at_horizon`` and
``d_calibration`` are reported where the split allows them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["evaluate_split", "survival_prediction", "time_grid"]


def time_grid(y_train: np.ndarray, n: int = 50) -> np.ndarray:
    """Evaluation grid: quantiles 5%..95% of the training event times (unique, increasing).

    Examples
    --------
    >>> from lightsaber.data.targets import make_survival_target
    >>> y = make_survival_target([1, 1, 0, 1], [1.0, 2.0, 3.0, 4.0])
    >>> time_grid(y, n=3).tolist()
    [1.1, 2.0, 3.8]
    """
    events = y_train["time"][y_train["event"]]
    return np.unique(np.quantile(events, np.linspace(0.05, 0.95, n)))


def survival_prediction(model: Any, X: Any, risk: np.ndarray, grid: np.ndarray) -> Any:
    """A :class:`~lightsaber.metrics.SurvivalPrediction` with curves when the model has them.

    Parameters
    ----------
    model : estimator
        A fitted survival model (``predict_survival_matrix`` or ``predict_survival_function``).
    X : array or dict of arrays
        Model input of the split.
    risk : numpy.ndarray
        The model's risk per row (higher = earlier event).
    grid : numpy.ndarray
        Times at which the curves are evaluated.
    """
    from lightsaber.metrics import SurvivalPrediction

    matrix = None
    if hasattr(model, "predict_survival_matrix") and getattr(model, "has_survival_curves_",
                                                             False):
        matrix = model.predict_survival_matrix(X, grid)
    elif hasattr(model, "predict_survival_function") and hasattr(model, "unique_times_"):
        values = np.asarray(model.predict_survival_function(X, return_array=True), dtype=float)
        times = np.asarray(model.unique_times_, dtype=float)
        index = np.searchsorted(times, grid, side="right") - 1
        matrix = np.where(index >= 0, values[:, np.maximum(index, 0)], 1.0)
    if matrix is None:
        return SurvivalPrediction(risk=risk)
    return SurvivalPrediction(risk=risk, survival=matrix, time_grid=grid)


def evaluate_split(task: str, y: Any, prediction: Any, *, metrics: Sequence[str] | None = None,
                   y_train: Any = None, grid: np.ndarray | None = None) -> dict[str, float]:
    """Registry metrics of one split.

    With ``metrics=None`` the registry's defaults are computed, and a default that the split
    cannot support (e.g. a single class, or times beyond its follow-up) is left out rather than
    failing the run. Explicitly requested metrics raise instead.

    Examples
    --------
    >>> evaluate_split("classification", [0, 1, 1, 0], np.array([.1, .8, .7, .3]),
    ...                metrics=["auc_roc"])
    {'auc_roc': 1.0}
    """
    from lightsaber.metrics import MetricError, evaluate, get_metric
    from lightsaber.metrics.registry import _default_metrics

    context: dict[str, Any] = {}
    if task == "survival":
        from lightsaber.data.targets import check_survival_target

        y = check_survival_target(y, allow_all_censored=True)
        if not y["event"].any():
            return {}
        if y_train is not None:
            y_train = check_survival_target(y_train)
            events = y_train["time"][y_train["event"]]
            inside = grid[(grid >= y["time"].min()) & (grid < y["time"].max())] \
                if grid is not None else np.array([])
            context = {"y_train": y_train,
                       "times": np.quantile(inside, [0.25, 0.5, 0.75]) if inside.size else None,
                       "horizon": float(np.median(events))}
    names = list(metrics) if metrics else _default_metrics(task, prediction, context)
    out: dict[str, float] = {}
    for name in names:
        wanted = {k: v for k, v in context.items()
                  if v is not None and k in (*get_metric(name).requires, *get_metric(name).options)}
        try:
            out.update(evaluate(task, y, prediction, metrics=[name], **wanted))
        except MetricError:
            if metrics:
                raise
    return out
