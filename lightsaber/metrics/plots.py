"""Evaluation plots, returned as matplotlib figures (no pyplot state, no ``show``).

Every function draws on ``ax`` when one is given (and returns its figure), otherwise on a new
:class:`matplotlib.figure.Figure`, which works under any backend (use Agg on servers and in
tests) and can be saved with ``fig.savefig`` or logged to MLflow with ``mlflow.log_figure``.

This is the one home of metric plots: single-model diagnostics (ROC, precision-recall,
reliability, AUC(t), calibration at horizons) and the before/after comparisons of post-hoc
calibration that ``ls.fit(..., calibrate=...)`` logs under ``calibration/``
(:func:`plot_reliability_before_after`, :func:`plot_survival_calibration_before_after`,
:func:`plot_d_calibration`); and stacked cumulative incidence curves for competing risks
(:func:`plot_cumulative_incidence`), with their calibration by risk group
(:func:`plot_cif_calibration`, and :func:`plot_cif_calibration_before_after` for
``calibrate=``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn import metrics as skm

from lightsaber._moved import renamed_keywords
from lightsaber.exceptions import MetricError
from lightsaber.metrics.calibration import expected_calibration_error, reliability_curve
from lightsaber.metrics.classification import binary_inputs
from lightsaber.metrics.competing import cumulative_incidence
from lightsaber.metrics.competing_calibration import cif_at_times, cif_calibration_at_horizon
from lightsaber.metrics.survival import TimeDependentAUC, survival_at_times
from lightsaber.metrics.survival_calibration import calibration_at_horizon
from lightsaber.metrics.validation import as_survival_target

__all__ = [
    "plot_calibration_at_horizons",
    "plot_cif_calibration",
    "plot_cif_calibration_before_after",
    "plot_cumulative_incidence",
    "plot_d_calibration",
    "plot_precision_recall",
    "plot_reliability",
    "plot_reliability_before_after",
    "plot_roc",
    "plot_survival_calibration_before_after",
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


def plot_cumulative_incidence(y: Any, times: Any = None, *, causes: Any = None,
                              cif: Any = None, ax: Axes | None = None) -> Figure:
    """Stacked cumulative incidence curves, one band per cause, the rest event-free.

    Without ``cif``, the Aalen-Johansen estimate of ``y`` (:func:`cumulative_incidence`); with
    ``cif`` (``{cause: (n, len(times)) matrix}``, e.g. a model's
    ``predict_cumulative_incidence`` per cause), the mean predicted CIF of the rows. At each
    time the bands stack to the probability of having left by any door.

    Parameters
    ----------
    y : structured array or (status, time) tuple
        Competing-risks outcome.
    times : array-like, optional
        Times to draw at (default: 100 points over the follow-up).
    causes : mapping {int: str} or sequence of int, optional
        The causes to draw, with names for the legend (default: the codes seen in ``y``).
    cif : mapping {int: array}, optional
        Predicted CIFs per cause on ``times``.
    ax : matplotlib Axes, optional

    Examples
    --------
    >>> y = ([1, 2, 0, 1, 2, 2], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> fig = plot_cumulative_incidence(y, causes={1: "death", 2: "discharge"})
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['death', 'discharge']
    """
    from lightsaber.data.targets import check_competing_target

    target = check_competing_target(y)
    if causes is None:
        causes = sorted(set(target["status"][target["status"] > 0].tolist()))
    names = dict(causes) if isinstance(causes, dict) else {int(c): f"cause {c}" for c in causes}
    if times is None:
        times = np.linspace(0.0, float(target["time"].max()), 100)
    times = np.asarray(times, dtype=float)
    if cif is None:
        curves = [cumulative_incidence(target, times, cause=k) for k in names]
        title = "Cumulative incidence (Aalen-Johansen)"
    else:
        missing = [k for k in names if k not in cif]
        if missing:
            raise MetricError(f"cif has no curves for cause(s) {missing}; it has {sorted(cif)}.")
        curves = [np.asarray(cif[k], dtype=float).reshape(-1, len(times)).mean(axis=0)
                  for k in names]
        title = "Mean predicted cumulative incidence"
    ax = _axes(ax)
    ax.stackplot(times, *curves, labels=list(names.values()), step="post", alpha=0.8)
    ax.set(xlabel="Time", ylabel="Cumulative incidence", ylim=(0, 1), title=title)
    ax.legend(loc="upper left")
    return _figure(ax)


@renamed_keywords(time_grid="times")
def plot_calibration_at_horizons(
    y: Any, survival: Any, times: Any, horizons: Sequence[float], *, n_groups: int = 10,
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
    at = survival_at_times(survival, times, horizons)
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


# ---------------------------------------------------------------------- before / after calibration
def plot_reliability_before_after(y_true: Any, before: Any, after: Any, *, n_bins: int = 10,
                                  title: str = "Reliability diagram") -> Figure:
    """Reliability diagrams of uncalibrated and calibrated probabilities on one axes.

    Examples
    --------
    >>> fig = plot_reliability_before_after([0, 0, 1, 1], [0.1, 0.3, 0.35, 0.9],
    ...                                     [0.2, 0.3, 0.6, 0.8], n_bins=2)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['perfect', 'uncalibrated (ECE 0.087)', 'calibrated (ECE 0.275)']
    """
    fig = Figure(figsize=(5, 4.5), layout="constrained")
    ax = fig.subplots()
    for name, proba in (("uncalibrated", before), ("calibrated", after)):
        ece = expected_calibration_error(y_true, proba, n_bins=n_bins)
        plot_reliability(y_true, proba, n_bins=n_bins, ax=ax, label=f"{name} (ECE {ece:.3f})")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))  # the diagonal is drawn twice
    ax.legend(list(unique.values()), list(unique), loc="upper left")
    ax.set_title(title)
    return fig


@renamed_keywords(time_grid="times")
def plot_survival_calibration_before_after(y: Any, before: Any, after: Any, times: Any,
                                           horizons: Sequence[float], *, n_groups: int = 10
                                           ) -> Figure:
    """Predicted vs Kaplan-Meier observed survival at horizons, raw (left) and recalibrated.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=300)
    >>> t = rng.exponential(np.exp(-x))
    >>> grid = np.linspace(0.05, 2, 40)
    >>> raw = np.exp(-np.outer(np.exp(2 * x), grid)); good = np.exp(-np.outer(np.exp(x), grid))
    >>> fig = plot_survival_calibration_before_after(([1] * 300, t), raw, good, grid, [0.5])
    >>> [ax.get_title() for ax in fig.axes]
    ['Uncalibrated', 'Recalibrated']
    """
    fig = Figure(figsize=(10, 4.5), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, curves, title in zip(axes, (before, after), ("Uncalibrated", "Recalibrated"),
                                 strict=True):
        plot_calibration_at_horizons(y, curves, times, horizons, n_groups=n_groups, ax=ax)
        ax.set_title(title)
    return fig


def plot_d_calibration(before: Any, after: Any) -> Figure:
    """D-calibration histograms (share of patients per survival-probability bin), raw vs new.

    ``before`` and ``after`` are :class:`~lightsaber.metrics.DCalibration` results; a
    D-calibrated model has every bar at ``1 / n_bins``.

    Examples
    --------
    >>> from lightsaber.metrics import d_calibration
    >>> y = ([1, 1, 0, 1], [1.0, 2.0, 2.0, 3.0])
    >>> surv = [[0.3, 0.2, 0.1], [0.9, 0.6, 0.2], [0.9, 0.8, 0.7], [0.95, 0.9, 0.85]]
    >>> res = d_calibration(y, surv, [1.0, 2.0, 3.0], n_bins=2)
    >>> plot_d_calibration(res, res).axes[0].get_xlabel()
    'Predicted survival probability at the observed time'
    """
    fig = Figure(figsize=(5, 4.5), layout="constrained")
    ax = fig.subplots()
    edges = np.asarray(before.bin_edges)
    centres, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    ax.bar(centres - width / 4, before.proportions, width=width / 2,
           label=f"uncalibrated (p = {before.p_value:.3g})")
    ax.bar(centres + width / 4, after.proportions, width=width / 2,
           label=f"recalibrated (p = {after.p_value:.3g})")
    ax.axhline(1 / len(centres), linestyle="--", color="grey", linewidth=1, label="uniform")
    ax.set(xlabel="Predicted survival probability at the observed time",
           ylabel="Share of patients", title="D-calibration")
    ax.legend(loc="upper right")
    return fig


# ---------------------------------------------------------------------- competing risks
def plot_cif_calibration(y: Any, cif: Any, times: Any, horizons: Sequence[float], *,
                         cause: int = 1, n_groups: int = 10, ax: Axes | None = None,
                         name: str | None = None) -> Figure:
    """Predicted vs Aalen-Johansen observed cause-``k`` CIF at each horizon, by risk group.

    One line per horizon (:func:`~lightsaber.metrics.cif_calibration_at_horizon`), its
    group-size-weighted mean absolute error in the legend; points on the diagonal are
    calibrated.

    Parameters
    ----------
    y : structured array or (status, time) tuple
        Competing-risks outcome.
    cif : array-like of shape (n_samples, n_times)
        Predicted cause-``k`` cumulative incidences on ``times``.
    times : array-like of shape (n_times,)
        Strictly increasing grid of ``cif``.
    horizons : sequence of float
        Horizons, within the follow-up of ``y``.
    cause : int, default 1
        The cause ``k``.
    n_groups : int, default 10
        Risk groups per horizon.
    ax : matplotlib Axes, optional
    name : str, optional
        The cause's name in the title (default ``cause <k>``).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> y = ([1, 2, 1, 0, 1, 2, 1, 0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    >>> cif = np.array([[0.3, 0.5], [0.1, 0.2], [0.2, 0.6], [0.1, 0.1], [0.2, 0.4],
    ...                 [0.0, 0.1], [0.1, 0.3], [0.0, 0.05]])
    >>> fig = plot_cif_calibration(y, cif, [2.0, 5.0], [2.0, 5.0], n_groups=2, name="death")
    >>> fig.axes[0].get_title(), len(fig.axes[0].lines)
    ('Calibration of the death CIF', 3)
    """
    horizons = np.atleast_1d(np.asarray(horizons, dtype=np.float64))
    if horizons.size == 0:
        raise MetricError("horizons must hold at least one time.")
    at = cif_at_times(cif, times, horizons)
    ax = _axes(ax)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    top = 0.05
    for j, h in enumerate(horizons):
        cal = cif_calibration_at_horizon(y, at[:, j], h, cause=cause, n_groups=n_groups)
        ax.plot(cal.predicted_cif, cal.observed_cif, marker="o",
                label=f"t = {h:g} (MAE {cal.mean_abs_error:.3f})")
        top = max(top, float(cal.predicted_cif.max()), float(cal.observed_cif.max()))
    top = min(1.0, 1.1 * top)  # CIFs of a rare cause are small: zoom in on them
    ax.set(xlabel="Predicted cumulative incidence", ylabel="Observed (Aalen-Johansen)",
           xlim=(0, top), ylim=(0, top),
           title=f"Calibration of the {name or f'cause {cause}'} CIF")
    ax.legend(loc="upper left")
    return _figure(ax)


def plot_cif_calibration_before_after(y: Any, before: Any, after: Any, times: Any,
                                      horizons: Any, *, causes: Any = None,
                                      n_groups: int = 10) -> Figure:
    """Calibration of each cause's CIF by risk group, raw (left) and recalibrated (right).

    Parameters
    ----------
    y : structured array or (status, time) tuple
        Competing-risks outcome of the evaluated rows.
    before, after : mapping of int to array-like of shape (n_samples, n_times)
        Uncalibrated and recalibrated CIFs per cause on ``times``.
    times : array-like of shape (n_times,)
        Strictly increasing grid.
    horizons : mapping of int to sequence of float, or sequence of float
        Horizons per cause (or the same for every cause), within the follow-up of ``y``.
    causes : mapping of int to str, optional
        The causes to draw (a row each) and their names (default: the codes of ``before``).
    n_groups : int, default 10
        Risk groups per horizon.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> y = ([1, 2, 1, 0, 1, 2, 1, 2], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    >>> raw = {1: np.tile([0.2, 0.5], (8, 1)), 2: np.tile([0.1, 0.3], (8, 1))}
    >>> fig = plot_cif_calibration_before_after(y, raw, raw, [2.0, 6.0], [6.0], n_groups=2,
    ...                                         causes={1: "death", 2: "discharge"})
    >>> [ax.get_title() for ax in fig.axes]
    ['death: uncalibrated', 'death: recalibrated', 'discharge: uncalibrated', \
'discharge: recalibrated']
    """
    names = ({int(k): str(v) for k, v in causes.items()} if isinstance(causes, dict)
             else {int(k): f"cause {k}" for k in (causes if causes is not None else before)})
    fig = Figure(figsize=(10, 4.5 * len(names)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(names), 2, squeeze=False))
    for row, (code, label) in zip(axes, names.items(), strict=True):
        at = horizons.get(code, ()) if isinstance(horizons, dict) else horizons
        for ax, curves, what in zip(row, (before, after), ("uncalibrated", "recalibrated"),
                                    strict=True):
            plot_cif_calibration(y, curves[code], times, at, cause=code, n_groups=n_groups,
                                 ax=ax, name=label)
            ax.set_title(f"{label}: {what}")
    return fig
