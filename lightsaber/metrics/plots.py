"""Evaluation plots, returned as matplotlib figures (no pyplot state, no ``show``).

Every function draws on ``ax`` when one is given (and returns its figure), otherwise on a new
:class:`matplotlib.figure.Figure`, which works under any backend (use Agg on servers and in
tests) and can be saved with ``fig.savefig`` or logged to MLflow with ``mlflow.log_figure``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn import metrics as skm

from lightsaber.exceptions import MetricError
from lightsaber.metrics.calibration import reliability_curve
from lightsaber.metrics.classification import binary_inputs
from lightsaber.metrics.survival import TimeDependentAUC, survival_at_times
from lightsaber.metrics.survival_calibration import calibration_at_horizon
from lightsaber.metrics.validation import as_survival_target

__all__ = [
    "plot_calibration_at_horizons",
    "plot_precision_recall",
    "plot_reliability",
    "plot_roc",
    "plot_time_dependent_auc",
]


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    return Figure(figsize=(5, 4.5), layout="constrained").subplots()


def _figure(ax: Axes) -> Figure:
    fig = ax.get_figure()
    if not isinstance(fig, Figure):  # a SubFigure: return the top-level figure
        fig = fig.figure
    return fig


def plot_roc(y_true: Any, proba: Any, *, ax: Axes | None = None, label: str = "model") -> Figure:
    """ROC curve of a binary classifier, with its AUC in the legend.

    Examples
    --------
    >>> fig = plot_roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fig.axes[0].get_xlabel()
    'False positive rate (1 - specificity)'
    """
    y, p = binary_inputs(y_true, proba)
    fpr, tpr, _ = skm.roc_curve(y, p)
    ax = _axes(ax)
    ax.plot(fpr, tpr, label=f"{label} (AUC {skm.roc_auc_score(y, p):.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="chance")
    ax.set(xlabel="False positive rate (1 - specificity)", ylabel="True positive rate "
           "(sensitivity)", xlim=(0, 1), ylim=(0, 1.01), title="ROC curve")
    ax.legend(loc="lower right")
    return _figure(ax)


def plot_precision_recall(
    y_true: Any, proba: Any, *, ax: Axes | None = None, label: str = "model"
) -> Figure:
    """Precision-recall curve, with average precision and the prevalence line.

    Examples
    --------
    >>> fig = plot_precision_recall([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fig.axes[0].get_title()
    'Precision-recall curve'
    """
    y, p = binary_inputs(y_true, proba)
    precision, recall, _ = skm.precision_recall_curve(y, p)
    ax = _axes(ax)
    ap = skm.average_precision_score(y, p)
    ax.step(recall, precision, where="post", label=f"{label} (AP {ap:.3f})")
    ax.axhline(y.mean(), linestyle="--", color="grey", linewidth=1, label="prevalence")
    ax.set(xlabel="Recall (sensitivity)", ylabel="Precision (PPV)", xlim=(0, 1),
           ylim=(0, 1.01), title="Precision-recall curve")
    ax.legend(loc="upper right")
    return _figure(ax)


def plot_reliability(
    y_true: Any, proba: Any, *, n_bins: int = 10, strategy: str = "uniform",
    ax: Axes | None = None, label: str = "model",
) -> Figure:
    """Reliability diagram: observed vs mean predicted probability per bin, marker area by count.

    Examples
    --------
    >>> fig = plot_reliability([0, 0, 1, 1], [0.1, 0.3, 0.35, 0.9], n_bins=2)
    >>> fig.axes[0].get_ylabel()
    'Observed frequency'
    """
    curve = reliability_curve(y_true, proba, n_bins=n_bins, strategy=strategy)  # type: ignore[arg-type]
    ax = _axes(ax)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect")
    ax.plot(curve.prob_pred, curve.prob_true, marker="o", label=label)
    sizes = 20 + 200 * curve.counts / curve.counts.max()
    ax.scatter(curve.prob_pred, curve.prob_true, s=sizes, alpha=0.3)
    ax.set(xlabel="Mean predicted probability", ylabel="Observed frequency", xlim=(0, 1),
           ylim=(0, 1), title="Reliability diagram")
    ax.legend(loc="upper left")
    return _figure(ax)


def plot_time_dependent_auc(
    result: TimeDependentAUC, *, ax: Axes | None = None, label: str = "model"
) -> Figure:
    """AUC(t) over time with its integrated mean (a :func:`cumulative_dynamic_auc` result).

    Examples
    --------
    >>> from lightsaber.metrics.survival import cumulative_dynamic_auc
    >>> y = ([1, 1, 0, 1, 0, 1], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> res = cumulative_dynamic_auc(y, [6, 2, 1, 5, 3, 0.5], [1.5, 3.5], y_train=y)
    >>> plot_time_dependent_auc(res).axes[0].get_ylabel()
    'Cumulative/dynamic AUC(t)'
    """
    ax = _axes(ax)
    ax.plot(result.times, result.auc, marker="o", label=label)
    ax.axhline(result.mean_auc, linestyle=":", label=f"mean AUC {result.mean_auc:.3f}")
    ax.axhline(0.5, linestyle="--", color="grey", linewidth=1)
    ax.set(xlabel="Time", ylabel="Cumulative/dynamic AUC(t)", ylim=(0, 1),
           title="Time-dependent AUC")
    ax.legend(loc="lower right")
    return _figure(ax)


def plot_calibration_at_horizons(
    y: Any, survival: Any, time_grid: Any, horizons: Sequence[float], *, n_groups: int = 10,
    ax: Axes | None = None,
) -> Figure:
    """Predicted vs Kaplan-Meier observed survival at each horizon, by risk group.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=300)
    >>> t = rng.exponential(np.exp(-x))
    >>> grid = np.linspace(0.05, 2, 40)
    >>> surv = np.exp(-np.outer(np.exp(x), grid))
    >>> fig = plot_calibration_at_horizons(([1] * 300, t), surv, grid, [0.25, 0.5], n_groups=5)
    >>> len(fig.axes[0].lines)
    3
    """
    y = as_survival_target(y)
    horizons = np.atleast_1d(np.asarray(horizons, dtype=np.float64))
    if horizons.size == 0:
        raise MetricError("horizons must hold at least one time.")
    at = survival_at_times(survival, time_grid, horizons)
    ax = _axes(ax)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    for j, h in enumerate(horizons):
        cal = calibration_at_horizon(y, at[:, j], h, n_groups=n_groups)
        ax.plot(1 - cal.predicted_risk, 1 - cal.observed_risk, marker="o",
                label=f"t = {h:g} (ICI {cal.ici.ici:.3f})")
    ax.set(xlabel="Predicted survival", ylabel="Observed survival (Kaplan-Meier)", xlim=(0, 1),
           ylim=(0, 1), title="Calibration at horizons")
    ax.legend(loc="upper left")
    return _figure(ax)
