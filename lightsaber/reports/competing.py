"""Competing-risks parts of a report: which causes a run scored, and its figures per cause.

A run of task ``"competing"`` logs its metrics as ``<split>_<metric>_<cause name>``
(:data:`COMPETING_METRICS`) and, per split, the outcome (``status``: 0 censored, else the cause
code; ``time``) with each predicted cause's cumulative incidence (CIF) on the grid ``times``.
From these the report draws, per split, the stacked CIFs observed (Aalen-Johansen) next to the
mean predicted ones, and on the report's split each cause's AUC(t) and its calibration
(predicted vs Aalen-Johansen CIF by risk group,
:func:`~lightsaber.metrics.plots.plot_cif_calibration`). The single-event sections (Kaplan-Meier,
Harrell's C, D-calibration) do not apply; :data:`NOT_APPLICABLE` says why, in the report.
Every figure shows aggregates (means over patients, group estimates), never a patient.

Examples
--------
>>> metric_causes({"test_wolbers_c_death": 0.7, "val_ibs_competing_discharge": 0.2,
...                "test_ibs": 0.1}, {2: "discharge", 1: "death"})
[(1, 'death'), (2, 'discharge')]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from lightsaber.exceptions import LightsaberError
from lightsaber.tracking.predictions import LoggedPredictions

__all__ = [
    "COMPETING_METRICS",
    "NOT_APPLICABLE",
    "cause_specific_auc_figure",
    "competing_figures",
    "cumulative_incidence_figure",
    "metric_causes",
]

#: The per-cause metrics ``ls.fit`` logs for a competing-risks run, in table order.
COMPETING_METRICS = ("cause_specific_auc", "ibs_competing", "wolbers_c")

#: ``(section, why it is left out)`` for the single-event parts of a survival run's report.
NOT_APPLICABLE = (
    ("Predicted vs Kaplan-Meier survival",
     "a competing-risks run has no single event: 1 - Kaplan-Meier of one cause with the other "
     "causes censored over-states that cause's incidence (it counts patients who had another "
     "event as still at risk of this one). The cumulative incidence curves (Aalen-Johansen) "
     "take its place."),
    ("Time-dependent AUC and Harrell's C",
     "they rank patients on one event; each cause is scored by its cause-specific AUC(t) and "
     "Wolbers' C instead."),
    ("Calibration at horizons against Kaplan-Meier, and D-calibration",
     "both compare a predicted survival curve with a single-event Kaplan-Meier estimate; each "
     "cause's predicted CIF is compared with the Aalen-Johansen estimate instead, by risk "
     "group."),
)

#: Risk groups of the calibration figures (as the survival report's calibration at horizons).
N_GROUPS = 5
#: One colour per cause (by position of its code), the same in every panel.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def _new(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def metric_causes(metrics: Mapping[str, float], causes: Mapping[int, str] | None = None
                  ) -> list[tuple[int | None, str]]:
    """The ``(cause code, cause name)`` pairs a competing run's metric names mention.

    Parameters
    ----------
    metrics : mapping of str to float
        The run's metrics, ``<split>_<metric>_<cause name>`` (other names are ignored).
    causes : mapping of int to str, optional
        The cohort's ``{code: name}`` (from the logged predictions): the order, and the codes;
        a name it lacks gets code ``None`` and comes last.

    Returns
    -------
    list of (int or None, str)
        By cause code, then name.
    """
    names: set[str] = set()
    for key in metrics:
        rest = key.split("_", 1)[-1]
        for base in COMPETING_METRICS:
            if rest.startswith(f"{base}_"):
                names.add(rest[len(base) + 1:])
    code = {name: int(k) for k, name in (causes or {}).items()}
    return sorted(((code.get(n), n) for n in names),
                  key=lambda c: (c[0] is None, c[0] or 0, c[1]))


def _colors(codes: list[int], order: list[int]) -> list[str]:
    return [PALETTE[order.index(k) % len(PALETTE)] for k in codes]


def cumulative_incidence_figure(y: Any, cif: Mapping[int, np.ndarray], times: Any,
                                causes: Mapping[int, str], *, title: str = "") -> Figure:
    """Stacked CIFs: observed (Aalen-Johansen) on the left, mean predicted on the right.

    Both panels share the time axis (0 to the last grid time) and each cause keeps its colour.
    The observed panel draws the causes with an event in ``y``, up to its last follow-up time.

    Parameters
    ----------
    y : structured array or (status, time) tuple
        The split's competing-risks outcome.
    cif : mapping of int to array of shape (n, len(times))
        Predicted CIF of each cause (by code) on ``times``.
    times : array-like
        The prediction grid (increasing).
    causes : mapping of int to str
        ``{code: name}`` of the cohort's causes.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> y = ([1, 2, 0, 1, 2, 2], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> grid = np.array([1.0, 3.0, 5.0])
    >>> cif = {1: np.full((6, 3), [0.1, 0.2, 0.3]), 2: np.full((6, 3), [0.1, 0.3, 0.5])}
    >>> fig = cumulative_incidence_figure(y, cif, grid, {1: "death", 2: "discharge"})
    >>> [ax.get_title() for ax in fig.axes]
    ['Observed (Aalen-Johansen)', 'Mean predicted']
    """
    from lightsaber.data.targets import check_competing_target
    from lightsaber.metrics.plots import plot_cumulative_incidence

    target = check_competing_target(y)
    grid = np.asarray(times, dtype=float)
    order = sorted(int(k) for k in causes)
    fig = _new(9.0, 3.8)
    observed_ax, predicted_ax = fig.subplots(1, 2, sharey=True)
    seen = [k for k in order if (target["status"] == k).any()]
    last = float(target["time"].max())
    if seen:
        fine = np.linspace(0.0, min(float(grid[-1]), last), 200)
        observed_ax.set_prop_cycle(color=_colors(seen, order))
        plot_cumulative_incidence(target, fine, causes={k: causes[k] for k in seen},
                                  ax=observed_ax)
    predicted = [k for k in order if k in cif]
    start = np.r_[0.0, grid] if grid[0] > 0 else grid
    curves = {k: np.asarray(cif[k], dtype=float) for k in predicted}
    if grid[0] > 0:
        curves = {k: np.column_stack([np.zeros(len(c)), c]) for k, c in curves.items()}
    predicted_ax.set_prop_cycle(color=_colors(predicted, order))
    plot_cumulative_incidence(target, start, causes={k: causes[k] for k in predicted},
                              cif=curves, ax=predicted_ax)
    observed_ax.set_title("Observed (Aalen-Johansen)")
    predicted_ax.set_title("Mean predicted")
    for ax in (observed_ax, predicted_ax):
        ax.set_xlim(0.0, float(grid[-1]))
    if title:
        fig.suptitle(title)
    return fig


def _auc_curve(logged: LoggedPredictions, split: str, code: int, name: str
               ) -> tuple[np.ndarray, np.ndarray] | None:
    """The times and AUC(t) behind the run's ``cause_specific_auc_<name>`` on ``split``."""
    from lightsaber.metrics.competing import cause_specific_auc

    context = logged.metric_context(split, f"cause_specific_auc_{name}")
    if context.get("times") is None:
        return None
    times = np.asarray(context["times"], dtype=float)
    cif = logged.prediction(split).cif_at(code, times)
    return times, cause_specific_auc(logged.target(split), cif, times, cause=code,
                                     y_train=context.get("y_train"))


def cause_specific_auc_figure(logged: LoggedPredictions, split: str
                              ) -> tuple[Figure | None, list[tuple[str, str]]]:
    """AUC(t) of each predicted cause on ``split``, with its time mean (the logged metric).

    Parameters
    ----------
    logged : LoggedPredictions
        A competing-risks run's logged predictions.
    split : str
        The split to draw.

    Returns
    -------
    tuple of (Figure or None, list of (str, str))
        The figure (``None`` when no cause has an AUC(t) there), and ``(what, why)`` for each
        cause left out.
    """
    causes = logged.causes or {}
    fig = _new(5.5, 4.0)
    ax = fig.subplots()
    notes, drawn = [], 0
    codes = sorted(int(k) for k in causes)
    predicted = logged.prediction(split).cif
    for code in codes:
        name = causes[code]
        if code not in predicted:
            continue
        try:
            curve = _auc_curve(logged, split, code, name)
        except LightsaberError as err:
            notes.append((f"AUC(t) of {name}", str(err)))
            continue
        if curve is None:
            notes.append((f"AUC(t) of {name}", f"no grid time lies between the {split} "
                          f"split's first {name} event and its last follow-up time."))
            continue
        times, auc = curve
        mean = float(auc[0]) if len(times) == 1 else float(
            np.trapezoid(auc, times) / (times[-1] - times[0]))
        ax.plot(times, auc, marker="o", markersize=3, color=_colors([code], codes)[0],
                label=f"{name} (mean {mean:.3f})")
        drawn += 1
    if not drawn:
        return None, notes
    ax.axhline(0.5, linestyle="--", color="grey", linewidth=1)
    ax.set(xlabel="Time", ylabel="Cause-specific AUC(t)", ylim=(0, 1.02),
           title=f"Cause-specific AUC(t), {split} split")
    ax.legend(loc="lower right", fontsize="small")
    return fig, notes


def _horizons(logged: LoggedPredictions, split: str, name: str, n: int = 3) -> np.ndarray:
    times = logged.metric_context(split, f"cause_specific_auc_{name}").get("times")
    if times is None or not len(times):
        return np.array([])
    return np.unique(np.quantile(np.asarray(times, dtype=float), np.linspace(0.1, 0.9, n)))


def competing_figures(logged: LoggedPredictions, split: str = "test"
                      ) -> dict[str, Any]:
    """Every competing-risks figure of a run, and what was left out and why.

    Parameters
    ----------
    logged : LoggedPredictions
        A competing-risks run's logged predictions.
    split : str, default "test"
        The split of the AUC(t) and calibration figures (the CIFs are drawn for every split).

    Returns
    -------
    dict
        ``cumulative_incidence``, ``performance`` and ``calibration``: lists of
        ``(title, Figure)``; ``notes``: ``(what, why)`` of each figure not drawn.
    """
    from lightsaber.metrics.plots import plot_cif_calibration

    causes = logged.causes or {}
    out: dict[str, Any] = {"cumulative_incidence": [], "performance": [], "calibration": [],
                           "notes": []}
    for part in logged.splits:
        y, prediction = logged.target(part), logged.prediction(part)
        title = f"Cumulative incidence, {part} split (n={len(y)})"
        try:
            out["cumulative_incidence"].append((title, cumulative_incidence_figure(
                y, prediction.cif, prediction.times, causes, title=title)))
        except LightsaberError as err:
            out["notes"].append((title, str(err)))
    fig, notes = cause_specific_auc_figure(logged, split)
    out["notes"].extend(notes)
    if fig is not None:
        out["performance"].append((f"Cause-specific AUC(t), {split} split", fig))
    y, prediction = logged.target(split), logged.prediction(split)
    for code, name in sorted(causes.items()):
        if code not in prediction.cif:
            out["notes"].append((f"Figures of {name}", f"the model predicts no {name} "
                                 f"incidence (cause {code}): it models the other causes only "
                                 "(e.g. FineGray(cause=k) models cause k)."))
            continue
        what = f"Calibration at horizons: {name}"
        try:
            horizons = _horizons(logged, split, name)
            if not horizons.size:
                out["notes"].append((what, f"the {split} split has no {name} event inside "
                                     "the evaluation grid."))
                continue
            out["calibration"].append((what, plot_cif_calibration(
                y, prediction.cif[code], prediction.times, horizons, cause=code,
                n_groups=N_GROUPS, name=name)))
        except LightsaberError as err:
            out["notes"].append((what, str(err)))
    return out
