"""The HTML report: one self-contained file built from the tracking store.

Everything comes from MLflow: metrics, logged predictions (for curves and bootstrap CIs),
``calibration/`` figures, the split manifest, the model signature, ``config.json`` and
``environment.json``. Images are PNG data URIs and the style sheet is inline; there is no
JavaScript, so the file opens offline in any browser. Only aggregates are shown: no
identifier, no row of data (the split manifest's id hashes are left out too).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lightsaber.exceptions import ReportError
from lightsaber.reports.figures import (
    classification_figures,
    figure_data_uri,
    png_data_uri,
    study_figures,
    survival_figures,
)
from lightsaber.reports.runs import PARENT_TAG, ROLE_TAG, run_role, search_runs
from lightsaber.tracking.model_registry import REPORT_TAG
from lightsaber.tuning.analysis import REFIT_RUN as REFIT_RUN_TAG
from lightsaber.tuning.analysis import SUPERSEDED as SUPERSEDED_TAG

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run as MlflowRun

__all__ = ["N_BOOTSTRAP", "SECTIONS", "ReportError", "write_report"]

#: Bootstrap resamples behind each confidence interval of the comparison table.
N_BOOTSTRAP = 200
#: Metrics shown in the comparison table, per task (when the run logged them).
TABLE_METRICS = {"classification": ("auc_roc", "auc_pr", "brier", "ece"),
                 "survival": ("c_index", "c_index_uno", "cumulative_auc", "ibs")}
#: ``id`` of each top-level section, in order.
SECTIONS = ("summary", "comparison", "tuning", "runs")
#: Most calibration PNGs embedded per run.
MAX_ARTIFACT_IMAGES = 8

_STYLE = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1200px;color:#222;padding:0 1em}
h1{border-bottom:3px solid #345;padding-bottom:.2em}h2{border-bottom:1px solid #ccc;
margin-top:2em}h3{margin-top:1.5em;color:#345}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#eef2f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
.figs{display:flex;flex-wrap:wrap;gap:1em}.figs figure{margin:0}
.figs img{max-width:100%;border:1px solid #ddd}figcaption{font-size:.85em;color:#555}
pre{background:#f6f8fa;padding:.8em;overflow:auto;font-size:.8em;max-height:30em}
.muted{color:#777}.run{border-left:4px solid #345;padding-left:1em;margin:2em 0}
"""


# ------------------------------------------------------------------ small HTML helpers
def _e(value: Any) -> str:
    return html.escape(str(value))


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "&ndash;"
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return _e(value)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[int] = ()
           ) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                        for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _pairs(rows: Iterable[tuple[Any, Any]]) -> str:
    """A two-column key/value table without a header."""
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="kv"><tbody>{body}</tbody></table>'


def _figures(items: Sequence[tuple[str, str]]) -> str:
    if not items:
        return ""
    figs = "".join(f'<figure><img alt="{_e(title)}" src="{uri}"><figcaption>{_e(title)}'
                   f"</figcaption></figure>" for title, uri in items)
    return f'<div class="figs">{figs}</div>'


def _rendered(figures: Sequence[tuple[str, Any]]) -> list[tuple[str, str]]:
    return [(title, figure_data_uri(fig)) for title, fig in figures]


def _pre(obj: Any) -> str:
    return f"<pre>{_e(json.dumps(obj, indent=2, sort_keys=True, default=str))}</pre>"


# ------------------------------------------------------------------ artifacts
def _artifact_json(client: MlflowClient, run_id: str, path: str, tmp: str) -> Any:
    try:
        local = client.download_artifacts(run_id, path, tmp)
    except Exception:  # absent artifact: the section says so
        return None
    return json.loads(Path(local).read_text())


def _artifact_pngs(client: MlflowClient, run_id: str, folder: str, tmp: str
                   ) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    stack = [folder]
    while stack and len(out) < MAX_ARTIFACT_IMAGES:
        for item in client.list_artifacts(run_id, stack.pop()):
            if item.is_dir:
                stack.append(item.path)
            elif item.path.lower().endswith(".png") and len(out) < MAX_ARTIFACT_IMAGES:
                local = client.download_artifacts(run_id, item.path, tmp)
                out.append((item.path, png_data_uri(Path(local).read_bytes())))
    return sorted(out)


def _signature(client: MlflowClient, run_id: str, tmp: str) -> list[dict[str, Any]] | None:
    from mlflow.models import Model

    try:
        local = client.download_artifacts(run_id, "model/MLmodel", tmp)
        signature = Model.load(local).signature
    except Exception:  # no logged model
        return None
    return None if signature is None else signature.inputs.to_dict()


def _predictions(run_id: str, uri: str) -> Any:
    from lightsaber.tracking import TrackingError
    from lightsaber.tracking.predictions import load_predictions

    try:
        return load_predictions(run_id, tracking_uri=uri)
    except TrackingError:
        return None


# ------------------------------------------------------------------ sections
def _headline(task: str) -> str:
    return "c_index" if task == "survival" else "auc_roc"


def _task(run: MlflowRun) -> str:
    return run.data.tags.get("task") or run.data.params.get("task") or "unknown"


def _label(run: MlflowRun) -> str:
    return f"{run.info.run_name or run.info.run_id[:8]}"


def _summary(selected: list[MlflowRun], models: list[MlflowRun], studies: list[MlflowRun],
             experiments: dict[str, str], uri: str) -> str:
    from lightsaber._version import __version__
    from lightsaber.tracking.uri import redact_uri

    tasks = sorted({_task(r) for r in models})
    status = pd.Series([r.info.status for r in selected]).value_counts().to_dict()
    rows = [("Experiment(s)", _e(", ".join(sorted(set(experiments.values()))))),
            ("Runs selected", len(selected)), ("Models compared", len(models)),
            ("Tuning studies", len(studies)), ("Tasks", _e(", ".join(tasks) or "none")),
            ("Run status", _e(", ".join(f"{k}: {v}" for k, v in sorted(status.items())))),
            ("Tracking store", _e(redact_uri(uri))),
            ("Generated", _e(dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))),
            ("lightsaber", _e(__version__))]
    return ('<section id="summary"><h2>Experiment summary</h2>'
            + _pairs(rows) + "</section>")


def _ci_cell(value: Any, ci: Any) -> str:
    if ci is None:
        return _fmt(value)
    return f"{_fmt(ci.estimate)} <span class=muted>[{_fmt(ci.low)}, {_fmt(ci.high)}]</span>"


def _comparison(models: list[MlflowRun], preds: dict[str, Any]) -> str:
    from lightsaber.exceptions import LightsaberError as _Err
    from lightsaber.metrics import get_metric

    parts = ['<section id="comparison"><h2>Model comparison</h2>',
             f"<p>Test-split metrics with 95% percentile-bootstrap intervals ({N_BOOTSTRAP} "
             "stratified resamples of the logged test predictions, seed 0); validation value "
             "of the headline metric for reference. Arrows give the better direction.</p>"]
    for task in sorted({_task(r) for r in models}):
        runs = [r for r in models if _task(r) == task]
        names = [m for m in TABLE_METRICS.get(task, ())
                 if any(f"test_{m}" in r.data.metrics for r in runs)]
        headline = _headline(task)
        header = ["run", "role", "model", f"val {headline}",
                  *(f"test {m} {'↑' if get_metric(m).greater_is_better else '↓'}"
                    for m in names)]
        rows = []
        for run in runs:
            metrics = run.data.metrics
            cells = [f'<a href="#run-{run.info.run_id}">{_e(_label(run))}</a>',
                     _e(run.data.tags.get(ROLE_TAG, "run")),
                     _e(run.data.params.get("model.class", "")),
                     _fmt(metrics.get(f"val_{headline}"))]
            for name in names:
                ci = None
                logged = preds.get(run.info.run_id)
                if logged is not None and "test" in logged.splits and \
                        f"test_{name}" in metrics:
                    try:
                        ci = logged.bootstrap("test", name, n_resamples=N_BOOTSTRAP)
                    except _Err:
                        ci = None
                cells.append(_ci_cell(metrics.get(f"test_{name}"), ci))
            rows.append(cells)
        parts.append(f"<h3>{_e(task.capitalize())}</h3>")
        parts.append(_table(header, rows, numeric=range(3, len(header))))
    if not models:
        parts.append("<p class=muted>No finished model runs.</p>")
    return "".join(parts) + "</section>"


def _objective(study: MlflowRun, trials: list[MlflowRun]) -> tuple[str, bool]:
    from lightsaber.metrics import MetricError, get_metric

    metric = study.data.params.get("metric")
    keys = {k for t in trials for k in t.data.metrics}
    if metric:
        for key in (f"val_{metric}", metric):
            if key in keys:
                direction = study.data.params.get("direction")
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


def _tuning(studies: list[MlflowRun], children: dict[str, list[MlflowRun]],
            client: MlflowClient, tmp: str) -> str:
    parts = ['<section id="tuning"><h2>Tuning analysis</h2>']
    if not studies:
        parts.append("<p class=muted>No tuning study among the selected runs.</p>")
    for study in studies:
        kids = children.get(study.info.run_id, [])
        trials = [r for r in kids if r.data.tags.get(ROLE_TAG, "trial") == "trial"]
        objective, greater = _objective(study, trials)
        rows = []
        for k, run in enumerate(sorted(trials, key=lambda r: r.info.start_time or 0)):
            number = run.data.tags.get("lightsaber.trial", str(k))
            row = {"trial": float(number) if number.isdigit() else float(k),
                   "status": run.data.tags.get("lightsaber.trial.status", run.info.status),
                   "value": run.data.metrics.get(objective, np.nan)}
            row.update({f"params.{p}": v for p, v in run.data.params.items()})
            rows.append(row)
        table = pd.DataFrame(rows)
        name = study.data.tags.get("lightsaber.study", _label(study))
        parts.append(f'<div class="study" id="study-{study.info.run_id}">'
                     f"<h3>Study {_e(name)}</h3>")
        info = [("Trials", len(trials)),
                ("Objective", _e(f"{objective} ({'higher' if greater else 'lower'} is better)")),
                *((_e(k), _e(v)) for k, v in sorted(study.data.params.items()))]
        if not table.empty and table["value"].notna().any():
            best = table.loc[table["value"].idxmax() if greater else table["value"].idxmin()]
            info.append(("Best trial", f"{int(best['trial'])} ({_fmt(best['value'])})"))
        current = study.data.tags.get(REFIT_RUN_TAG)
        for refit in [r for r in kids if r.data.tags.get(ROLE_TAG) == "refit"]:
            # an extended study refits its new best: earlier refits are superseded
            superseded = refit.data.tags.get(SUPERSEDED_TAG) or (
                current is not None and refit.info.run_id != current)
            label = "Earlier refit (superseded)" if superseded else "Refit of the best"
            info.append((label, f'<a href="#run-{refit.info.run_id}">'
                                f"{_e(_label(refit))}</a>"))
        parts.append(_pairs(info))
        if not table.empty:
            shown = ["trial", "status", "value",
                     *sorted(c for c in table.columns if c.startswith("params."))]
            parts.append(_table([c.replace("params.", "") for c in shown],
                                ([_fmt(v) for v in row] for row in
                                 table.sort_values("trial")[shown].itertuples(index=False)),
                                numeric=(0, 2)))
            parts.append(_figures(_rendered(study_figures(table, objective or "objective",
                                                          greater))))
        logged = _artifact_pngs(client, study.info.run_id, "", tmp)
        if logged:
            parts.append("<p>Figures logged by the study:</p>" + _figures(logged))
        parts.append("</div>")
    return "".join(parts) + "</section>"


def _data_section(manifest: Any, signature: Any) -> str:
    parts = ['<div class="data"><h4>Data summary and split manifest</h4>']
    if isinstance(manifest, dict):
        settings = {k: v for k, v in manifest.items() if k not in ("splits",)}
        parts.append(_table(["setting", "value"],
                            ((_e(k), _e(json.dumps(v, default=str))) for k, v in
                             sorted(settings.items()))))
        splits = manifest.get("splits") or {}
        keys = sorted({k for s in splits.values() for k in s if "sha256" not in k
                       and k != "ids"})
        parts.append(_table(["split", *keys], ([_e(name), *(_fmt(s.get(k)) for k in keys)]
                                               for name, s in splits.items()),
                            numeric=range(1, len(keys) + 1)))
        parts.append("<p class=muted>Identifier hashes are left out of the report.</p>")
    else:
        parts.append("<p class=muted>No split manifest logged.</p>")
    if signature:
        parts.append(f"<p>Model input columns ({len(signature)}):</p>")
        parts.append(_table(["column", "type"],
                            ([_e(c.get("name", "")), _e(c.get("type", ""))]
                             for c in signature)))
    return "".join(parts) + "</div>"


def _run_section(run: MlflowRun, logged: Any, client: MlflowClient, tmp: str) -> str:
    from lightsaber.exceptions import LightsaberError as _Err

    run_id, task = run.info.run_id, _task(run)
    parts = [f'<div class="run" id="run-{run_id}"><h3>{_e(_label(run))}</h3>']
    parts.append(_pairs([
        ("Run id", _e(run_id)), ("Task", _e(task)), ("Status", _e(run.info.status)),
        ("Model", _e(run.data.params.get("model.class", ""))),
        ("Role", _e(run.data.tags.get(ROLE_TAG, "run")))]))
    splits = sorted({k.split("_", 1)[0] for k in run.data.metrics if "_" in k}
                    & {"train", "val", "calibration", "test"})
    names = sorted({k.split("_", 1)[1] for k in run.data.metrics
                    if k.split("_", 1)[0] in splits})
    if names:
        parts.append('<h4>Metrics</h4>' + _table(
            ["metric", *splits],
            ([_e(n), *(_fmt(run.data.metrics.get(f"{s}_{n}")) for s in splits)]
             for n in names), numeric=range(1, len(splits) + 1)))
    figures: list[tuple[str, Any]] = []
    split = None
    if logged is not None:
        split = "test" if "test" in logged.splits else logged.splits[-1]
        try:
            figures = (survival_figures(logged, split) if logged.task == "survival"
                       else classification_figures(logged, split))
        except _Err:
            figures = []
    performance = [f for f in figures if "alibration" not in f[0] and "Reliability" not in f[0]
                   and "Kaplan" not in f[0]]
    parts.append('<div class="performance"><h4>Performance'
                 + (f" ({_e(split)} split)" if split else "") + "</h4>")
    parts.append(_figures(_rendered(performance)) if performance else
                 "<p class=muted>No logged predictions to draw curves from.</p>")
    parts.append("</div>")
    logged_cal = _artifact_pngs(client, run_id, "calibration", tmp)
    computed_cal = [f for f in figures if "alibration" in f[0] or "Reliability" in f[0]]
    parts.append('<div class="calibration"><h4>Calibration</h4>')
    if logged_cal:
        parts.append("<p>Figures logged by calibration (<code>calibration/</code>):</p>"
                     + _figures(logged_cal))
    if computed_cal:
        parts.append(_figures(_rendered(computed_cal)))
    if not logged_cal and not computed_cal:
        parts.append("<p class=muted>No calibration figures available.</p>")
    parts.append("</div>")
    if task == "survival":
        km = [f for f in figures if "Kaplan" in f[0]]
        parts.append('<div class="survival-curves"><h4>Predicted vs Kaplan-Meier survival</h4>'
                     + (_figures(_rendered(km)) if km else
                        "<p class=muted>The model logged no survival curves.</p>") + "</div>")
    parts.append(_data_section(_artifact_json(client, run_id, "split_manifest.json", tmp),
                               _signature(client, run_id, tmp)))
    parts.append('<div class="environment"><h4>Configuration and environment</h4>')
    if run.data.params:
        parts.append("<details><summary>Parameters</summary>" + _table(
            ["parameter", "value"], ((_e(k), _e(v)) for k, v in sorted(run.data.params.items())))
            + "</details>")
    for title, path in (("Configuration (config.json)", "config.json"),
                        ("Environment (environment.json)", "environment.json")):
        obj = _artifact_json(client, run_id, path, tmp)
        if obj is not None:
            parts.append(f"<details open><summary>{_e(title)}</summary>{_pre(obj)}</details>")
    parts.append("</div></div>")
    return "".join(parts)


# ------------------------------------------------------------------ entry point
def _children(client: MlflowClient, parents: list[MlflowRun]) -> dict[str, list[MlflowRun]]:
    out: dict[str, list[MlflowRun]] = {}
    for parent in parents:
        found, token = [], None
        while True:
            page = client.search_runs(
                [parent.info.experiment_id],
                filter_string=f"tags.`{PARENT_TAG}` = '{parent.info.run_id}'",
                max_results=1000, page_token=token)
            found.extend(page)
            token = page.token
            if not token:
                break
        out[parent.info.run_id] = sorted(found, key=lambda r: r.info.start_time or 0)
    return out


def render_report(*, experiment: str | Sequence[str] | None = None,
                  runs: Sequence[str] | None = None, tracking_uri: str | None = None
                  ) -> tuple[str, list[MlflowRun]]:
    """The report's HTML and the runs it covers (see :func:`write_report`)."""
    from lightsaber.tracking.client import tracking_client

    if experiment is None and not runs:
        raise ReportError("name an experiment or give run ids to report on.")
    client, uri = tracking_client(tracking_uri)
    selected = search_runs(experiment, runs=runs, tracking_uri=uri)
    if not selected:
        raise ReportError(f"no runs to report on (experiment={experiment!r}, runs={runs!r}).")
    parents = {r.data.tags.get(PARENT_TAG) for r in selected} - {None}
    roles = {r.info.run_id: run_role(r, parents) for r in selected}
    studies = [r for r in selected if roles[r.info.run_id] == "study"]
    children = _children(client, studies)
    known = {r.info.run_id for r in selected}
    # refits of a selected study belong in the report even when only the study was named
    extra = [c for kids in children.values() for c in kids
             if c.data.tags.get(ROLE_TAG) == "refit" and c.info.run_id not in known]
    models = [r for r in [*selected, *extra]
              if run_role(r, parents) in ("run", "refit") and r.info.status == "FINISHED"]
    experiments = {r.info.experiment_id: client.get_experiment(r.info.experiment_id).name
                   for r in selected}
    preds = {r.info.run_id: _predictions(r.info.run_id, uri) for r in models}
    with tempfile.TemporaryDirectory() as tmp:
        body = [_summary(selected, models, studies, experiments, uri),
                _comparison(models, preds),
                _tuning(studies, children, client, tmp),
                '<section id="runs"><h2>Runs</h2>',
                *(_run_section(r, preds[r.info.run_id], client, tmp) for r in models),
                "</section>"]
    title = "lightsaber report: " + ", ".join(sorted(set(experiments.values())))
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{_e(title)}</h1>{''.join(body)}</body></html>\n")
    return page, selected


def write_report(path: str | os.PathLike, *, experiment: str | None = None,
                 runs: Sequence[str] | None = None, tracking_uri: str | None = None
                 ) -> Path:
    """Write a self-contained HTML report of an experiment or of some runs, and log it.

    Sections (their ``id`` in :data:`SECTIONS`): experiment summary; model comparison with
    bootstrap CIs from the logged test predictions; tuning analysis of each study (a parent run
    whose children carry ``mlflow.parentRunId``); then per run: metrics per split, ROC and PR
    curves (classification) or time-dependent AUC and C-index (survival), calibration (the
    run's ``calibration/`` figures, and curves recomputed from its predictions), predicted vs
    Kaplan-Meier survival, data summary and split manifest (no ids), configuration and
    environment.

    The file is also logged, as ``report/<file name>``, to a run named ``report`` (tag
    ``lightsaber.report = true``) in the experiment of the first run covered; report runs are
    left out of later reports, of :func:`~lightsaber.reports.load_runs` and of
    :func:`~lightsaber.tracking.model_registry.best_run`.

    Parameters
    ----------
    path : path
        Where to write the HTML file (parent folders are created).
    experiment : str, optional
        Experiment name: every run of it is covered.
    runs : sequence of str, optional
        Run ids, instead of or besides ``experiment``.
    tracking_uri : str, optional
        Store to read (argument, else ``MLFLOW_TRACKING_URI``, else ``./mlflow.db``).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ReportError
        Neither ``experiment`` nor ``runs`` given, or no run found.
    """
    from lightsaber.tracking import tracked_run
    from lightsaber.tracking.uri import resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    page, selected = render_report(experiment=experiment, runs=runs, tracking_uri=uri)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    from lightsaber.tracking.client import tracking_client

    client, _ = tracking_client(uri)
    name = client.get_experiment(selected[0].info.experiment_id).name
    covered = ",".join(r.info.run_id for r in selected)
    with tracked_run(name, tracking_uri=uri, run_name="report",
                     tags={REPORT_TAG: "true",
                           "lightsaber.report.runs": covered[:5000]}) as run:
        run.log_artifact(target, "report")
    return target
