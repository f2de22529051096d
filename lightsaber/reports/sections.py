"""The context of each report section, built from :class:`~lightsaber.reports.fetch.ReportData`.

Each builder returns plain values for its template (``templates/<section id>.html.j2``):
tables (:class:`Table`, whose cells are values, :class:`Link` or :class:`Interval`), figures
(:class:`Figure`, the image as a PNG data URI) and texts. Nothing here is HTML: the templates
write the markup and escape every value.

Examples
--------
>>> table = Table(header=["metric", "test"], rows=[["auc_roc", 0.8123456]], numeric=[1])
>>> table.numeric
frozenset({1})
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from lightsaber.exceptions import LightsaberError, MetricError
from lightsaber.reports.competing import (
    COMPETING_METRICS,
    NOT_APPLICABLE,
    competing_figures,
    metric_causes,
)
from lightsaber.reports.fetch import ReportData, RunRecord, StudyRecord
from lightsaber.reports.figures import (
    classification_figures,
    figure_data_uri,
    study_figures,
    survival_figures,
)
from lightsaber.tracking import tags as tag_names

__all__ = [
    "Best",
    "Figure",
    "Interval",
    "Link",
    "N_BOOTSTRAP",
    "SECTIONS",
    "TABLE_METRICS",
    "Table",
    "build_sections",
]

#: Bootstrap resamples behind each confidence interval of the comparison table.
N_BOOTSTRAP = 200
#: Metrics shown in the comparison table, per task (when the run logged them).
TABLE_METRICS = {"classification": ("auc_roc", "auc_pr", "brier", "ece"),
                 "survival": ("c_index", "c_index_uno", "cumulative_auc", "ibs"),
                 "competing": COMPETING_METRICS}
#: ``id`` of each top-level section, in order (each is rendered by ``templates/<id>.html.j2``).
SECTIONS = ("summary", "comparison", "tuning", "runs")


class Figure(NamedTuple):
    """An embedded image: caption and PNG data URI."""

    title: str
    uri: str


class Link(NamedTuple):
    """A table cell linking to a run's section (``#run-<run id>``)."""

    run_id: str
    text: str


class Interval(NamedTuple):
    """A table cell: an estimate with its 95% bootstrap interval."""

    estimate: float
    low: float
    high: float


class Best(NamedTuple):
    """A table cell: the best trial's number and objective value."""

    trial: int
    value: float


@dataclass(frozen=True)
class Table:
    """A table: header labels, rows of cells, and the (0-based) right-aligned columns.

    Attributes
    ----------
    header : list of str
        Column labels.
    rows : list of list
        Cells: plain values (floats shown to 4 significant digits, ``None``/NaN as a dash),
        or :class:`Link`, :class:`Interval`, :class:`Best`.
    numeric : frozenset of int
        Columns drawn right-aligned (``td class="num"``); any iterable of ints is accepted.
    """

    header: list[str]
    rows: list[list[Any]]
    numeric: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "numeric", frozenset(self.numeric))


def _figures(figures: Iterable[tuple[str, Any]]) -> list[Figure]:
    return [Figure(title, figure_data_uri(fig)) for title, fig in figures]


def _logged(pngs: Iterable[tuple[str, str]]) -> list[Figure]:
    return [Figure(path, uri) for path, uri in pngs]


def _headline(task: str) -> str:
    return {"survival": "c_index", "competing": "wolbers_c"}.get(task, "auc_roc")


#: Bootstrap results of the report being built, ``(run id, split, metric)`` to the result or
#: ``None``: the comparison and the runs sections show the same intervals, computed once.
_BOOTSTRAPS: contextvars.ContextVar[dict[tuple[str, str, str], Any] | None] = \
    contextvars.ContextVar("report_bootstraps", default=None)


def _bootstrap(run: RunRecord, split: str, name: str) -> Any:
    """``BootstrapResult`` of a logged metric from the run's predictions, else ``None``."""
    logged = run.predictions
    if logged is None or split not in logged.splits or f"{split}_{name}" not in run.metrics:
        return None
    cache = _BOOTSTRAPS.get()
    key = (run.run_id, split, name)
    if cache is not None and key in cache:
        return cache[key]
    try:
        result = logged.bootstrap(split, name, n_resamples=N_BOOTSTRAP)
    except LightsaberError:
        result = None
    if cache is not None:
        cache[key] = result
    return result


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=str)


# ------------------------------------------------------------------ summary
def summary(data: ReportData) -> dict[str, Any]:
    """Experiments, counts, tasks, statuses, store (redacted), time and version."""
    from lightsaber._version import __version__
    from lightsaber.tracking.uri import redact_uri

    tasks = sorted({r.task for r in data.models})
    status = pd.Series([r.status for r in data.selected]).value_counts().to_dict()
    return {"rows": [
        ("Experiment(s)", ", ".join(sorted(set(data.experiments.values())))),
        ("Runs selected", len(data.selected)), ("Models compared", len(data.models)),
        ("Tuning studies", len(data.studies)), ("Tasks", ", ".join(tasks) or "none"),
        ("Run status", ", ".join(f"{k}: {v}" for k, v in sorted(status.items()))),
        ("Tracking store", redact_uri(data.uri)),
        ("Generated", dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("lightsaber", __version__)]}


# ------------------------------------------------------------------ comparison
def _test_cell(run: RunRecord, name: str) -> Any:
    ci = _bootstrap(run, "test", name)
    if ci is None:
        return run.metrics.get(f"test_{name}")
    return Interval(ci.estimate, ci.low, ci.high)


def _arrow(metric: str) -> str:
    from lightsaber.metrics import get_metric

    return "↑" if get_metric(metric).greater_is_better else "↓"


def _causes(runs: Sequence[RunRecord]) -> list[tuple[int | None, str]]:
    """The causes the competing runs scored, by code (names from their logged predictions)."""
    known: dict[int, str] = {}
    for run in runs:
        known.update((run.predictions.causes or {}) if run.predictions is not None else {})
    metrics = {k: v for run in runs for k, v in run.metrics.items()}
    return metric_causes(metrics, known)


def _cause_title(code: int | None, name: str) -> str:
    return name if code is None else f"{name} (cause {code})"


def _competing_comparison(runs: list[RunRecord]) -> list[dict[str, Any]]:
    """One table per cause: validation Wolbers' C, the test metrics with bootstrap CIs."""
    tables = []
    for code, cause in _causes(runs):
        names = [m for m in COMPETING_METRICS
                 if any(f"test_{m}_{cause}" in r.metrics for r in runs)]
        headline = f"{_headline('competing')}_{cause}"
        header = ["run", "role", "model", f"val {headline}",
                  *(f"test {m}_{cause} {_arrow(m)}" for m in names)]
        rows = [[Link(run.run_id, run.label), run.role, run.params.get("model.class", ""),
                 run.metrics.get(f"val_{headline}"),
                 *(_test_cell(run, f"{m}_{cause}") for m in names)] for run in runs]
        tables.append({"title": f"Competing risks: {_cause_title(code, cause)}",
                       "table": Table(header, rows, range(3, len(header)))})
    return tables


def comparison(data: ReportData) -> dict[str, Any]:
    """One table per task (competing risks: per cause): validation headline, test with CIs."""
    tables = []
    for task in sorted({r.task for r in data.models}):
        runs = [r for r in data.models if r.task == task]
        if task == "competing":
            tables.extend(_competing_comparison(runs))
            continue
        names = [m for m in TABLE_METRICS.get(task, ())
                 if any(f"test_{m}" in r.metrics for r in runs)]
        headline = _headline(task)
        header = ["run", "role", "model", f"val {headline}",
                  *(f"test {m} {_arrow(m)}" for m in names)]
        rows = [[Link(run.run_id, run.label), run.role, run.params.get("model.class", ""),
                 run.metrics.get(f"val_{headline}"), *(_test_cell(run, n) for n in names)]
                for run in runs]
        tables.append({"title": task.capitalize(),
                       "table": Table(header, rows, range(3, len(header)))})
    return {"n_bootstrap": N_BOOTSTRAP, "tables": tables}


# ------------------------------------------------------------------ tuning
def _objective(study: RunRecord, trials: list[RunRecord]) -> tuple[str, bool]:
    from lightsaber.metrics import get_metric

    metric = study.params.get("metric")
    keys = {k for t in trials for k in t.metrics}
    if metric:
        for key in (f"val_{metric}", metric):
            if key in keys:
                direction = study.params.get("direction")
                if direction in ("higher", "lower"):
                    return key, direction == "higher"
                try:
                    return key, get_metric(metric).greater_is_better
                except MetricError:
                    return key, True
    val = sorted(k for k in keys if k.startswith("val_"))
    if not val:
        return "", True
    key = next((k for k in val if k in ("val_c_index", "val_auc_roc")), val[0])
    try:
        return key, get_metric(key[len("val_"):]).greater_is_better
    except MetricError:
        return key, True


def _trials_frame(trials: list[RunRecord], objective: str) -> pd.DataFrame:
    rows = []
    for k, run in enumerate(sorted(trials, key=lambda r: r.start_time or 0)):
        number = run.tags.get(tag_names.TRIAL, str(k))
        row = {"trial": float(number) if number.isdigit() else float(k),
               "status": run.tags.get(tag_names.TRIAL_STATUS, run.status),
               "value": run.metrics.get(objective, np.nan)}
        row.update({f"params.{p}": v for p, v in run.params.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def _study(record: StudyRecord) -> dict[str, Any]:
    study, kids = record.run, record.children
    trials = [r for r in kids if r.tags.get(tag_names.ROLE, "trial") == "trial"]
    objective, greater = _objective(study, trials)
    frame = _trials_frame(trials, objective)
    info: list[tuple[str, Any]] = [
        ("Trials", len(trials)),
        ("Objective", f"{objective} ({'higher' if greater else 'lower'} is better)"),
        *sorted(study.params.items())]
    if not frame.empty and frame["value"].notna().any():
        best = frame.loc[frame["value"].idxmax() if greater else frame["value"].idxmin()]
        info.append(("Best trial", Best(int(best["trial"]), best["value"])))
    current = study.tags.get(tag_names.REFIT_RUN)
    for refit in [r for r in kids if r.role == "refit"]:
        # an extended study refits its new best: earlier refits are superseded
        superseded = refit.tags.get(tag_names.SUPERSEDED) or (
            current is not None and refit.run_id != current)
        label = "Earlier refit (superseded)" if superseded else "Refit of the best"
        info.append((label, Link(refit.run_id, refit.label)))
    table, figures = None, []
    if not frame.empty:
        shown = ["trial", "status", "value",
                 *sorted(c for c in frame.columns if c.startswith("params."))]
        table = Table([c.replace("params.", "") for c in shown],
                      [list(row) for row in
                       frame.sort_values("trial")[shown].itertuples(index=False)],
                      numeric=(0, 2))
        figures = _figures(study_figures(frame, objective or "objective", greater))
    return {"run_id": study.run_id, "name": study.tags.get(tag_names.STUDY, study.label),
            "info": info, "table": table, "figures": figures, "logged": _logged(record.pngs)}


def tuning(data: ReportData) -> dict[str, Any]:
    """Per study: settings, objective, best trial, refits, trials table and figures."""
    return {"studies": [_study(s) for s in data.studies]}


# ------------------------------------------------------------------ runs
def _is_calibration(title: str) -> bool:
    return "alibration" in title or "Reliability" in title


def _scalar(value: Any) -> Any:
    """A manifest count as it is; a mapping (e.g. ``cause_rates``) as JSON text."""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict) else value


def _manifest_tables(manifest: Any) -> tuple[Table, Table] | None:
    if not isinstance(manifest, dict):
        return None
    settings = {k: v for k, v in manifest.items() if k not in ("splits",)}
    splits = manifest.get("splits") or {}
    keys = sorted({k for s in splits.values() for k in s if "sha256" not in k and k != "ids"})
    return (Table(["setting", "value"],
                  [[k, json.dumps(v, default=str)] for k, v in sorted(settings.items())]),
            Table(["split", *keys], [[name, *(_scalar(s.get(k)) for k in keys)]
                                     for name, s in splits.items()],
                  numeric=range(1, len(keys) + 1)))


def _cause_tables(run: RunRecord, splits: list[str]) -> tuple[list[dict[str, Any]], set[str]]:
    """Per cause: each competing metric per split, the test value with its bootstrap CI."""
    tables, shown = [], set()
    causes = run.predictions.causes if run.predictions is not None else None
    for code, cause in metric_causes(run.metrics, causes):
        rows = []
        for metric in COMPETING_METRICS:
            name = f"{metric}_{cause}"
            if not any(f"{s}_{name}" in run.metrics for s in splits):
                continue
            shown.add(name)
            ci = _bootstrap(run, "test", name)
            cells = [Interval(ci.estimate, ci.low, ci.high) if s == "test" and ci is not None
                     else run.metrics.get(f"{s}_{name}") for s in splits]
            used = None if ci is None else f"{ci.n_resamples - ci.n_failed} of {ci.n_resamples}"
            rows.append([f"{metric} {_arrow(metric)}", *cells, used])
        tables.append({"title": _cause_title(code, cause),
                       "table": Table(["metric", *splits, "test resamples used"], rows,
                                      range(1, len(splits) + 1))})
    return tables, shown


def _competing_run(logged: Any, split: str | None) -> dict[str, Any]:
    """The figures of a competing run and the notes on what is not shown."""
    notes = list(NOT_APPLICABLE)
    figures: dict[str, Any] = {"cumulative_incidence": [], "performance": [],
                               "calibration": []}
    if logged is not None and split is not None:
        try:
            drawn = competing_figures(logged, split)
        except LightsaberError as err:
            notes.append(("Competing-risks figures", str(err)))
        else:
            notes.extend(drawn.pop("notes"))
            figures = drawn
    return {"cif": _figures(figures["cumulative_incidence"]),
            "performance": _figures(figures["performance"]),
            "calibration": _figures(figures["calibration"]), "notes": notes}


def _run(run: RunRecord) -> dict[str, Any]:
    splits = sorted({k.split("_", 1)[0] for k in run.metrics if "_" in k}
                    & {"train", "val", "calibration", "test"})
    competing = run.task == "competing"
    cause_tables, shown = _cause_tables(run, splits) if competing else ([], set())
    names = sorted({k.split("_", 1)[1] for k in run.metrics if k.split("_", 1)[0] in splits}
                   - shown)
    metrics = Table(["metric", *splits],
                    [[n, *(run.metrics.get(f"{s}_{n}") for s in splits)] for n in names],
                    numeric=range(1, len(splits) + 1)) if names else None
    figures: list[tuple[str, Any]] = []
    logged, split = run.predictions, None
    if logged is not None:
        split = "test" if "test" in logged.splits else logged.splits[-1]
        try:
            if logged.task == "survival":
                figures = survival_figures(logged, split)
            elif logged.task != "competing":
                figures = classification_figures(logged, split)
        except LightsaberError:
            figures = []
    extra = _competing_run(logged, split) if competing else None
    signature = run.signature or None
    return {
        "run_id": run.run_id, "label": run.label, "split": split,
        "info": [("Run id", run.run_id), ("Task", run.task), ("Status", run.status),
                 ("Model", run.params.get("model.class", "")), ("Role", run.role)],
        "metrics": metrics,
        "cause_tables": cause_tables, "n_bootstrap": N_BOOTSTRAP,
        "performance": extra["performance"] if extra else _figures(
            f for f in figures if not _is_calibration(f[0]) and "Kaplan" not in f[0]),
        "logged_calibration": _logged(run.calibration_pngs),
        "computed_calibration": extra["calibration"] if extra else _figures(
            f for f in figures if _is_calibration(f[0])),
        "survival": run.task == "survival",
        "competing": competing,
        "cif": extra["cif"] if extra else [],
        "not_shown": extra["notes"] if extra else [],
        "km": _figures(f for f in figures if "Kaplan" in f[0]),
        "manifest": _manifest_tables(run.manifest),
        "signature": None if signature is None else Table(
            ["column", "type"], [[c.get("name", ""), c.get("type", "")] for c in signature]),
        "params": Table(["parameter", "value"], [list(p) for p in sorted(run.params.items())])
        if run.params else None,
        "documents": [(title, _json(obj)) for title, obj in
                      (("Configuration (config.json)", run.config),
                       ("Environment (environment.json)", run.environment))
                      if obj is not None]}


def runs(data: ReportData) -> dict[str, Any]:
    """Per model run: metrics, curves, calibration, survival curves, data, configuration.

    A competing-risks run shows its metrics per cause (test values with bootstrap CIs), the
    cause-specific AUC(t), each cause's CIF calibration, the observed vs mean predicted
    cumulative incidence of every split, and why the single-event parts are not shown.
    """
    return {"runs": [_run(r) for r in data.models]}


BUILDERS: dict[str, Callable[[ReportData], dict[str, Any]]] = {
    "summary": summary, "comparison": comparison, "tuning": tuning, "runs": runs}


def build_sections(data: ReportData, names: Sequence[str] = SECTIONS
                   ) -> list[tuple[str, dict[str, Any]]]:
    """``(section id, context)`` of each section, in order.

    Parameters
    ----------
    data : ReportData
        What :func:`~lightsaber.reports.fetch.fetch_report_data` read.
    names : sequence of str, default :data:`SECTIONS`
        Section ids to build.

    Returns
    -------
    list of (str, dict)
    """
    token = _BOOTSTRAPS.set({})
    try:
        return [(name, BUILDERS[name](data)) for name in names]
    finally:
        _BOOTSTRAPS.reset(token)
