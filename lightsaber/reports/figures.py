"""Figures of a report, drawn from logged predictions and embedded as base64 PNG.

Every function returns :class:`matplotlib.figure.Figure` objects (no pyplot state) built from
aggregate curves only: ROC/PR curves, AUC(t), calibration bins and Kaplan-Meier curves never
show an individual patient's values.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from lightsaber._moved import renamed_keywords
from lightsaber.tracking.predictions import LoggedPredictions

__all__ = ["classification_figures", "figure_data_uri", "png_data_uri",
           "study_figures", "survival_curves_figure", "survival_figures"]

#: Resolution of embedded figures.
DPI = 72


def png_data_uri(data: bytes) -> str:
    """``data:image/png;base64,...`` for PNG bytes.

    Examples
    --------
    >>> png_data_uri(b"abc")
    'data:image/png;base64,YWJj'
    """
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def figure_data_uri(fig: Figure) -> str:
    """A figure as an embeddable PNG data URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return png_data_uri(buffer.getvalue())


def _new(width: float = 5.0, height: float = 4.0) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def classification_figures(preds: LoggedPredictions, split: str = "test"
                           ) -> list[tuple[str, Figure]]:
    """ROC, precision-recall and reliability diagram of a binary classifier on ``split``."""
    from lightsaber.metrics.plots import plot_precision_recall, plot_reliability, plot_roc

    y, proba = preds.target(split), preds.prediction(split)
    if np.ndim(proba) != 1 or len(np.unique(y)) < 2:
        return []
    return [("ROC curve", plot_roc(y, proba, label=split)),
            ("Precision-recall curve", plot_precision_recall(y, proba, label=split)),
            ("Reliability diagram", plot_reliability(y, proba, label=split))]


def _eval_times(preds: LoggedPredictions, split: str, n: int) -> np.ndarray:
    """Up to ``n`` training event-time quantiles inside the follow-up of ``split``."""
    ctx = preds._context()
    if not ctx:
        return np.array([])
    y, grid = preds.target(split), ctx["times"]
    inside = grid[(grid >= y["time"][y["event"]].min()) & (grid < y["time"].max())]
    if inside.size == 0:
        return inside
    return np.unique(np.quantile(inside, np.linspace(0.1, 0.9, n)))


def survival_figures(preds: LoggedPredictions, split: str = "test"
                     ) -> list[tuple[str, Figure]]:
    """Time-dependent AUC (with Harrell's C), calibration at horizons, predicted vs KM."""
    from lightsaber.exceptions import LightsaberError
    from lightsaber.metrics import cumulative_dynamic_auc, harrell_c
    from lightsaber.metrics.plots import plot_calibration_at_horizons, plot_time_dependent_auc

    y, pred = preds.target(split), preds.prediction(split)
    out: list[tuple[str, Figure]] = []
    if not y["event"].any():
        return out
    times = _eval_times(preds, split, 10)
    if times.size:
        try:
            auc = cumulative_dynamic_auc(y, pred.risk, times, y_train=preds.target("train"))
            fig = plot_time_dependent_auc(auc, label=split)
            fig.axes[0].set_title(f"Time-dependent AUC (Harrell's C {harrell_c(y, pred.risk):.3f})")
            out.append(("Time-dependent AUC", fig))
        except LightsaberError:
            pass
    if pred.survival is not None:
        horizons = _eval_times(preds, split, 3)
        if horizons.size:
            try:
                out.append(("Calibration at horizons", plot_calibration_at_horizons(
                    y, pred.survival, pred.times, horizons, n_groups=5)))
            except LightsaberError:
                pass
        out.append(("Predicted vs Kaplan-Meier survival",
                    survival_curves_figure(y, pred.survival, pred.times, pred.risk)))
    return out


@renamed_keywords(time_grid="times")
def survival_curves_figure(y: Any, survival: np.ndarray, times: np.ndarray,
                           risk: np.ndarray, *, n_groups: int = 3) -> Figure:
    """Mean predicted survival vs the Kaplan-Meier estimate, overall and by risk group.

    Examples
    --------
    >>> from lightsaber.data.targets import make_survival_target
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=90)
    >>> t = rng.exponential(np.exp(-x))
    >>> grid = np.linspace(0.05, 2, 20)
    >>> fig = survival_curves_figure(make_survival_target(np.ones(90), t),
    ...                              np.exp(-np.outer(np.exp(x), grid)), grid, x)
    >>> fig.axes[0].get_ylabel()
    'Survival probability'
    """
    from sksurv.nonparametric import kaplan_meier_estimator

    fig = _new(6.0, 4.0)
    ax = fig.subplots()
    order = np.argsort(np.argsort(risk, kind="stable"), kind="stable")
    groups = np.minimum(order * n_groups // len(risk), n_groups - 1)
    cmap = ["#1f77b4", "#ff7f0e", "#d62728", "#2ca02c", "#9467bd"]
    sets: Sequence[tuple[str, np.ndarray]] = [("all", np.ones(len(risk), dtype=bool))]
    if n_groups > 1:
        sets = [*sets, *((f"risk group {g + 1}/{n_groups}", groups == g)
                         for g in range(n_groups))]
    for k, (name, mask) in enumerate(sets):
        if mask.sum() < 2:
            continue
        color = "black" if name == "all" else cmap[(k - 1) % len(cmap)]
        km_t, km_s = kaplan_meier_estimator(y["event"][mask], y["time"][mask])
        ax.step(np.r_[0.0, km_t], np.r_[1.0, km_s], where="post", color=color, linestyle="--",
                linewidth=1)
        ax.plot(np.r_[0.0, times], np.r_[1.0, survival[mask].mean(axis=0)], color=color,
                label=f"{name} (n={int(mask.sum())})")
    ax.plot([], [], color="grey", linestyle="--", label="Kaplan-Meier (dashed)")
    ax.set(xlabel="Time", ylabel="Survival probability", ylim=(0, 1.02),
           title="Predicted (solid) vs Kaplan-Meier (dashed)")
    ax.legend(loc="lower left", fontsize="small")
    return fig


def study_figures(trials: Any, objective: str, greater_is_better: bool
                  ) -> list[tuple[str, Figure]]:
    """Optimisation history and objective vs each numeric parameter of a study.

    Parameters
    ----------
    trials : pandas.DataFrame
        One row per trial: ``trial`` (number), ``value`` (objective) and ``params.*``.
    """
    import pandas as pd

    done = trials.dropna(subset=["value"]).sort_values("trial")
    if done.empty:
        return []
    fig = _new()
    ax = fig.subplots()
    best = done["value"].cummax() if greater_is_better else done["value"].cummin()
    ax.plot(done["trial"], done["value"], marker="o", linestyle="none", label="trial")
    ax.step(done["trial"], best, where="post", label="best so far")
    ax.set(xlabel="Trial", ylabel=objective, title="Optimisation history")
    ax.legend(loc="best")
    out = [("Optimisation history", fig)]
    for column in [c for c in done.columns if c.startswith("params.")][:6]:
        values = pd.to_numeric(done[column], errors="coerce")
        fig = _new(4.0, 3.2)
        ax = fig.subplots()
        if values.notna().all() and values.nunique() > 1:
            ax.scatter(values, done["value"])
        else:
            labels = done[column].astype(str)
            cats = sorted(labels.unique())
            ax.boxplot([done["value"][labels == c] for c in cats])
            ax.set_xticks(range(1, len(cats) + 1), cats, rotation=30, fontsize="small")
        name = column[len("params."):]
        ax.set(xlabel=name, ylabel=objective, title=f"{objective} vs {name}")
        out.append((f"{objective} vs {name}", fig))
    return out
