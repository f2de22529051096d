"""The HTML report: one self-contained file built from the tracking store.

Everything comes from MLflow: metrics, logged predictions (for curves and bootstrap CIs),
``calibration/`` figures, the split manifest, the model signature, ``config.json`` and
``environment.json``. Images are PNG data URIs and the style sheet is inline; there is no
JavaScript, so the file opens offline in any browser. Only aggregates are shown: no
identifier, no row of data (the split manifest's id hashes are left out too).

Three steps: :func:`~lightsaber.reports.fetch.fetch_report_data` reads the store into plain
records, :func:`~lightsaber.reports.sections.build_sections` turns them into each section's
tables, figures and texts, and the Jinja2 templates in ``lightsaber/reports/templates/``
(``report.html.j2``, one ``<section id>.html.j2`` per id of :data:`SECTIONS`, and
``macros.html.j2``) write the markup, autoescaping every value.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lightsaber.reports.fetch import fetch_report_data
from lightsaber.reports.sections import (
    N_BOOTSTRAP,
    SECTIONS,
    Best,
    Interval,
    Link,
    build_sections,
)
from lightsaber.tracking import tags as tag_names

if TYPE_CHECKING:
    import jinja2
    from mlflow.entities import Run as MlflowRun

__all__ = ["N_BOOTSTRAP", "SECTIONS", "render_report", "template_environment", "write_report"]

#: Folder of the templates, inside the package.
TEMPLATES = "templates"


def _num(value: Any) -> Any:
    """Floats to 4 significant digits, a missing value as a dash; anything else unchanged."""
    from markupsafe import Markup

    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return Markup("&ndash;")
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return value


@functools.lru_cache(maxsize=1)
def template_environment() -> jinja2.Environment:
    """The Jinja2 environment of the report templates (autoescaping on, undefined is an error).

    Returns
    -------
    jinja2.Environment
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("lightsaber.reports", TEMPLATES),
        autoescape=jinja2.select_autoescape(default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)
    env.filters["num"] = _num
    env.tests.update(link=lambda v: isinstance(v, Link),
                     interval=lambda v: isinstance(v, Interval),
                     best=lambda v: isinstance(v, Best))
    return env


def render_report(*, experiment: str | Sequence[str] | None = None,
                  runs: Sequence[str] | None = None, tracking_uri: str | None = None
                  ) -> tuple[str, list[MlflowRun]]:
    """The report's HTML and the runs it covers (see :func:`write_report`)."""
    data, selected = fetch_report_data(experiment=experiment, runs=runs,
                                       tracking_uri=tracking_uri)
    title = "lightsaber report: " + ", ".join(sorted(set(data.experiments.values())))
    page = template_environment().get_template("report.html.j2").render(
        title=title, sections=build_sections(data))
    return page, selected


def write_report(path: str | os.PathLike, *, experiment: str | None = None,
                 runs: Sequence[str] | None = None, tracking_uri: str | None = None,
                 log: bool = True) -> Path:
    """Write a self-contained HTML report of an experiment or of some runs, and log it.

    Sections (their ``id`` in :data:`SECTIONS`): experiment summary; model comparison with
    bootstrap CIs from the logged test predictions; tuning analysis of each study (a parent run
    whose children carry ``mlflow.parentRunId``); then per run: metrics per split, ROC and PR
    curves (classification) or time-dependent AUC and C-index (survival), calibration (the
    run's ``calibration/`` figures, and curves recomputed from its predictions), predicted vs
    Kaplan-Meier survival, data summary and split manifest (no ids), configuration and
    environment. Competing-risks runs get one comparison table per cause, their metrics per
    cause (test values with bootstrap CIs), cause-specific AUC(t), each cause's calibration
    against Aalen-Johansen, and per split the observed vs mean predicted stacked cumulative
    incidence; the single-event parts (Kaplan-Meier, Harrell's C, D-calibration) are replaced
    by a note saying why.

    With ``log`` (the default) the file is also logged, as ``report/<file name>``, to a run
    named ``report`` (tag ``lightsaber.report = true``) in the experiment of the first run
    covered, which needs write (EDIT) permission there: checked before anything is rendered.
    A reader of a shared server passes ``log=False`` (CLI ``--no-log``). Report runs are
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
    log : bool, default True
        Also log the file to a ``report`` run (needs EDIT permission on the experiment).

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
    from lightsaber.tracking.client import tracking_client
    from lightsaber.tracking.lifecycle import check_access
    from lightsaber.tracking.uri import resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    client, _ = tracking_client(uri)
    if log and experiment is not None:  # fail before rendering, not after writing the file
        check_access(client, uri, experiment, need="edit")
    page, selected = render_report(experiment=experiment, runs=runs, tracking_uri=uri)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    if not log:
        return target
    name = client.get_experiment(selected[0].info.experiment_id).name
    covered = ",".join(r.info.run_id for r in selected)
    with tracked_run(name, tracking_uri=uri, run_name="report",
                     tags={tag_names.REPORT: "true",
                           tag_names.REPORT_RUNS: covered[:tag_names.MAX_TAG]}) as run:
        run.log_artifact(target, "report")
    return target
