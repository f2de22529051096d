"""Before/after calibration figures (matplotlib ``Figure`` objects, no pyplot state).

``ls.fit(..., calibrate=...)`` logs them to MLflow under ``calibration/``; they work under any
backend (Agg on servers and in tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_d_calibration", "plot_reliability_before_after",
           "plot_survival_calibration_before_after"]


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
    from lightsaber.metrics import expected_calibration_error
    from lightsaber.metrics.plots import plot_reliability

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


def plot_survival_calibration_before_after(y: Any, before: Any, after: Any, time_grid: Any,
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
    from lightsaber.metrics.plots import plot_calibration_at_horizons

    fig = Figure(figsize=(10, 4.5), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, curves, title in zip(axes, (before, after), ("Uncalibrated", "Recalibrated"),
                                 strict=True):
        plot_calibration_at_horizons(y, curves, time_grid, horizons, n_groups=n_groups, ax=ax)
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
