"""What a report reads from the tracking store, as plain data.

:func:`fetch_report_data` is the only part of the report that talks to MLflow: it selects the
runs (an experiment's, or given ids), splits them into model runs and tuning studies (with
their trials and refits), and reads every artifact a section shows — logged predictions,
``calibration/`` and study PNGs (as data URIs), the split manifest, the model signature,
``config.json`` and ``environment.json``. The sections (:mod:`lightsaber.reports.sections`)
then work on these records only.

Examples
--------
>>> record = RunRecord(run_id="0123456789abcdef", name=None, experiment_id="1",
...                    status="FINISHED", start_time=0, params={"task": "survival"},
...                    metrics={}, tags={})
>>> record.label, record.task, record.role
('01234567', 'survival', 'run')
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightsaber.exceptions import ReportError, TrackingError
from lightsaber.reports.figures import png_data_uri
from lightsaber.reports.runs import run_role, search_runs
from lightsaber.tracking import tags as tag_names
from lightsaber.tracking.client import tracking_client

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mlflow import MlflowClient
    from mlflow.entities import Run as MlflowRun

    from lightsaber.tracking.predictions import LoggedPredictions

__all__ = ["MAX_ARTIFACT_IMAGES", "ReportData", "RunRecord", "StudyRecord", "fetch_report_data"]

#: Most PNGs embedded per run (its ``calibration/`` figures, or a study's figures).
MAX_ARTIFACT_IMAGES = 8


@dataclass(frozen=True)
class RunRecord:
    """One run as plain data; the artifact fields are read for model runs only.

    Attributes
    ----------
    run_id, name, experiment_id, status, start_time
        The run's MLflow attributes (``name`` may be ``None``).
    params, metrics, tags : dict
        As logged (params and tags are strings, metrics the last logged value).
    predictions : LoggedPredictions or None
        The run's logged predictions (``None`` when it logged none).
    calibration_pngs : list of (str, str)
        ``(artifact path, PNG data URI)`` of the PNGs under ``calibration/``, sorted.
    manifest, config, environment : object or None
        ``split_manifest.json``, ``config.json`` and ``environment.json`` (parsed).
    signature : list of dict or None
        The model signature's input columns (``name``, ``type``), if a model was logged.
    """

    run_id: str
    name: str | None
    experiment_id: str
    status: str
    start_time: int | None
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    predictions: LoggedPredictions | None = None
    calibration_pngs: list[tuple[str, str]] = field(default_factory=list)
    manifest: Any = None
    signature: list[dict[str, Any]] | None = None
    config: Any = None
    environment: Any = None

    @property
    def label(self) -> str:
        """Run name, else the first 8 characters of the run id."""
        return self.name or self.run_id[:8]

    @property
    def task(self) -> str:
        """``task`` tag, else ``task`` param, else ``"unknown"``."""
        return self.tags.get("task") or self.params.get("task") or "unknown"

    @property
    def role(self) -> str:
        """The ``lightsaber.role`` tag (``"run"`` when untagged)."""
        return self.tags.get(tag_names.ROLE, "run")


@dataclass(frozen=True)
class StudyRecord:
    """A tuning study: its parent run, its children (oldest first) and its logged PNGs.

    Attributes
    ----------
    run : RunRecord
        The parent run.
    children : list of RunRecord
        Runs naming it as ``mlflow.parentRunId``: trials and refits.
    pngs : list of (str, str)
        ``(artifact path, PNG data URI)`` of the PNGs the study logged, sorted.
    """

    run: RunRecord
    children: list[RunRecord]
    pngs: list[tuple[str, str]]


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows.

    Attributes
    ----------
    uri : str
        The tracking store read.
    experiments : dict of str to str
        Experiment id to name, for the experiments of the selected runs.
    selected : list of RunRecord
        Every selected run (oldest first).
    models : list of RunRecord
        Finished plain runs and refits (also refits of a selected study that were not
        selected themselves), with their artifacts.
    studies : list of StudyRecord
        Selected tuning studies.
    """

    uri: str
    experiments: dict[str, str]
    selected: list[RunRecord]
    models: list[RunRecord]
    studies: list[StudyRecord]


def _record(run: MlflowRun, **artifacts: Any) -> RunRecord:
    info, data = run.info, run.data
    return RunRecord(run_id=info.run_id, name=info.run_name, experiment_id=info.experiment_id,
                     status=info.status, start_time=info.start_time, params=dict(data.params),
                     metrics=dict(data.metrics), tags=dict(data.tags), **artifacts)


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


def _predictions(run_id: str, uri: str) -> LoggedPredictions | None:
    from lightsaber.tracking.predictions import load_predictions

    try:
        return load_predictions(run_id, tracking_uri=uri)
    except TrackingError:
        return None


def _model_record(run: MlflowRun, client: MlflowClient, uri: str, tmp: str) -> RunRecord:
    run_id = run.info.run_id
    return _record(run, predictions=_predictions(run_id, uri),
                   calibration_pngs=_artifact_pngs(client, run_id, "calibration", tmp),
                   manifest=_artifact_json(client, run_id, "split_manifest.json", tmp),
                   signature=_signature(client, run_id, tmp),
                   config=_artifact_json(client, run_id, "config.json", tmp),
                   environment=_artifact_json(client, run_id, "environment.json", tmp))


def _children(client: MlflowClient, parents: list[MlflowRun]) -> dict[str, list[MlflowRun]]:
    out: dict[str, list[MlflowRun]] = {}
    for parent in parents:
        found, token = [], None
        while True:
            page = client.search_runs(
                [parent.info.experiment_id],
                filter_string=f"tags.`{tag_names.PARENT}` = '{parent.info.run_id}'",
                max_results=1000, page_token=token)
            found.extend(page)
            token = page.token
            if not token:
                break
        out[parent.info.run_id] = sorted(found, key=lambda r: r.info.start_time or 0)
    return out


# ------------------------------------------------------------------ entry point
def fetch_report_data(*, experiment: str | Sequence[str] | None = None,
                      runs: Sequence[str] | None = None, tracking_uri: str | None = None
                      ) -> tuple[ReportData, list[MlflowRun]]:
    """Read what a report on ``experiment`` and/or ``runs`` shows.

    Parameters
    ----------
    experiment : str or sequence of str, optional
        Experiment name(s): every run of them is covered.
    runs : sequence of str, optional
        Run ids, instead of or besides ``experiment``.
    tracking_uri : str, optional
        Store to read (argument, else ``MLFLOW_TRACKING_URI``, else ``./mlflow.db``).

    Returns
    -------
    tuple of (ReportData, list of mlflow.entities.Run)
        The report's data, and the selected runs as MLflow returned them (oldest first).

    Raises
    ------
    ReportError
        Neither ``experiment`` nor ``runs`` given, or no run found.
    """
    if experiment is None and not runs:
        raise ReportError("name an experiment or give run ids to report on.")
    client, uri = tracking_client(tracking_uri)
    selected = search_runs(experiment, runs=runs, tracking_uri=uri)
    if not selected:
        raise ReportError(f"no runs to report on (experiment={experiment!r}, runs={runs!r}).")
    parents = {r.data.tags.get(tag_names.PARENT) for r in selected} - {None}
    studies = [r for r in selected if run_role(r, parents) == "study"]
    children = _children(client, studies)
    known = {r.info.run_id for r in selected}
    # refits of a selected study belong in the report even when only the study was named
    extra = [c for kids in children.values() for c in kids
             if c.data.tags.get(tag_names.ROLE) == "refit" and c.info.run_id not in known]
    models = [r for r in [*selected, *extra]
              if run_role(r, parents) in ("run", "refit") and r.info.status == "FINISHED"]
    experiments = {r.info.experiment_id: client.get_experiment(r.info.experiment_id).name
                   for r in selected}
    with tempfile.TemporaryDirectory() as tmp:
        data = ReportData(
            uri=uri, experiments=experiments, selected=[_record(r) for r in selected],
            models=[_model_record(r, client, uri, tmp) for r in models],
            studies=[StudyRecord(run=_record(s),
                                 children=[_record(c) for c in children[s.info.run_id]],
                                 pngs=_artifact_pngs(client, s.info.run_id, "", tmp))
                     for s in studies])
    return data, selected
