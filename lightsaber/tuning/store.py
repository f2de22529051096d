"""A study's state in MLflow: the parent run, one child run per trial, and reading them back.

Trial child runs carry tags (``lightsaber.study``, ``lightsaber.trial``,
``lightsaber.trial.sample`` ...) from which a resumed study is rebuilt: a child run that is
``FINISHED`` (ok) or ``FAILED`` (tags ``lightsaber.trial.error_class`` and ``.traceback``) is
finished; any other (``RUNNING`` after a SIGKILL, ``KILLED`` after Ctrl-C) was interrupted: it is
tagged ``lightsaber.trial.status=interrupted`` and its configuration retried.
Every worker writes through its own :class:`mlflow.MlflowClient`; MLflow's stores accept
concurrent writers (use an ``http://`` server when workers run on several machines).
"""

from __future__ import annotations

import io
import json
import math
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from lightsaber.tracking import TrackedRun, resolve_tracking_uri
from lightsaber.tracking import tags as tag_names
from lightsaber.tracking.client import open_client
from lightsaber.tracking.lifecycle import DEFAULT_EXPERIMENT, experiment_for
from lightsaber.tuning.trial import (
    ERROR,
    NODE,
    ROLE,
    SAMPLE,
    STATUS,
    STUDY,
    TRIAL,
    TrialOutcome,
    outcome_tags,
    record_params,
)

__all__ = ["StudyStore", "TrialLogger"]

PREDICTIONS_FILE = "val_predictions.npy"


class TrialLogger:
    """Opens trial child runs under a study's parent run (picklable: safe to ship to Ray)."""

    def __init__(self, tracking_uri: str, experiment_id: str, parent_id: str, study: str,
                 save_predictions: bool = False) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_id = experiment_id
        self.parent_id = parent_id
        self.study = study
        self.save_predictions = save_predictions
        self._client: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_client": None}

    @property
    def client(self) -> Any:
        """The MLflow client (opened on first use, in the process that uses it)."""
        if self._client is None:
            self._client = open_client(self.tracking_uri)
        return self._client

    @contextmanager
    def trial(self, outcome: TrialOutcome) -> Iterator[ChildRun]:
        """A child run for ``outcome``; its status and metrics are written when the block ends."""
        created = self.client.create_run(
            self.experiment_id, run_name=f"{self.study}-trial-{outcome.number:03d}",
            tags={tag_names.PARENT: self.parent_id, ROLE: "trial", STUDY: self.study,
                  TRIAL: str(outcome.number), SAMPLE: json.dumps(outcome.vals, sort_keys=True),
                  **({NODE: outcome.node} if outcome.node else {})})
        run = TrackedRun(self.client, created.info.run_id, self.experiment_id,
                         self.tracking_uri, artifact_uri=created.info.artifact_uri)
        outcome.run_id = run.run_id
        child = ChildRun(run)
        try:
            yield child
        except BaseException:
            run._flush()
            self.client.set_terminated(run.run_id, "KILLED")
            raise
        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, 0) for k, v in outcome.metrics.items() if math.isfinite(v)]
        if math.isfinite(outcome.fit_seconds):
            metrics.append(Metric("fit_seconds", outcome.fit_seconds, now, 0))
        params = [Param(k, v[:6000]) for k, v in record_params(outcome.record).items()]
        tags = [RunTag(k, v) for k, v in outcome_tags(outcome).items()]
        run._flush()
        self.client.log_batch(run.run_id, metrics=metrics, params=params, tags=tags)
        if self.save_predictions and outcome.predictions is not None:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / PREDICTIONS_FILE
                np.save(path, np.asarray(outcome.predictions, dtype=float))
                self.client.log_artifact(run.run_id, str(path))
        self.client.set_terminated(run.run_id, "FINISHED" if outcome.status == "ok"
                                   else "FAILED")


class ChildRun:
    """The part of a trial's run that the trial itself writes (per-epoch curves)."""

    def __init__(self, run: TrackedRun) -> None:
        self.run = run

    def log_history(self, history: list[dict[str, Any]]) -> None:
        """Log each epoch's numeric entries (losses, validation metrics) with ``step=epoch``."""
        for i, row in enumerate(history):
            step = int(row.get("epoch", i + 1))
            values = {k: v for k, v in row.items() if k != "epoch" and not isinstance(v, bool)
                      and isinstance(v, (int, float, np.floating, np.integer))}
            if values:
                self.run.log_metrics(values, step=step)


class StudyStore:
    """Find or create a study's parent run and read its trials back."""

    def __init__(self, experiment: str | None, tracking_uri: str | None) -> None:
        self.tracking_uri = resolve_tracking_uri(tracking_uri)
        self.client = open_client(self.tracking_uri)
        self.experiment_id = experiment_for(self.client, self.tracking_uri,
                                            experiment or DEFAULT_EXPERIMENT)

    def find_parent(self, study: str) -> str | None:
        """The newest parent run of ``study``, if any."""
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{ROLE}` = 'study' and tags.`{STUDY}` = '{study}'",
            order_by=["attributes.start_time DESC"], max_results=1)
        return runs[0].info.run_id if runs else None

    def open_parent(self, study: str, resume: bool, params: Mapping[str, Any],
                    tags: Mapping[str, str]) -> tuple[TrackedRun, bool]:
        """Reopen the newest parent run (``resume=True``) or create one; ``(run, resumed)``."""
        parent_id = self.find_parent(study) if resume else None
        if parent_id is not None:
            self.client.update_run(parent_id, status="RUNNING")
            info = self.client.get_run(parent_id).info
            return TrackedRun(self.client, parent_id, self.experiment_id, self.tracking_uri,
                              artifact_uri=info.artifact_uri), True
        created = self.client.create_run(
            self.experiment_id, run_name=study,
            tags={ROLE: "study", STUDY: study, **{k: str(v) for k, v in tags.items()}})
        run = TrackedRun(self.client, created.info.run_id, self.experiment_id,
                         self.tracking_uri, artifact_uri=created.info.artifact_uri)
        run.log_params(params)
        return run, False

    def trial_runs(self, parent_id: str) -> list[Any]:
        """Every trial child run of a parent, oldest first."""
        runs: list[Any] = []
        token = None
        while True:
            page = self.client.search_runs(
                [self.experiment_id],
                filter_string=f"tags.`mlflow.parentRunId` = '{parent_id}' and "
                              f"tags.`{ROLE}` = 'trial'",
                order_by=["attributes.start_time ASC"], max_results=1000, page_token=token)
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    def load_trials(self, parent_id: str, metric: str, space: Mapping[str, Any],
                    load_predictions: bool = False
                    ) -> tuple[list[TrialOutcome], list[TrialOutcome]]:
        """``(finished, interrupted)`` trials of a parent run; interrupted runs are closed."""
        from lightsaber.tuning.space import decode

        finished: list[TrialOutcome] = []
        interrupted: list[TrialOutcome] = []
        for run in self.trial_runs(parent_id):
            tags = run.data.tags
            vals = {k: float(v) for k, v in json.loads(tags[SAMPLE]).items()}
            _, record = decode(space, vals)
            status = {"FINISHED": "ok", "FAILED": "failed"}.get(run.info.status)
            outcome = TrialOutcome(int(tags[TRIAL]), vals, record, status or "interrupted",
                                   run_id=run.info.run_id, node=tags.get(NODE))
            if tags.get(STATUS) == "interrupted":
                continue  # an earlier interruption, already retried
            if status is None:  # RUNNING after a SIGKILL, KILLED after Ctrl-C
                if run.info.status == "RUNNING":
                    self.client.set_terminated(run.info.run_id, "KILLED")
                self.client.set_tag(run.info.run_id, STATUS, "interrupted")
                interrupted.append(outcome)
                continue
            outcome.metrics = {k: v for k, v in run.data.metrics.items()
                               if k.startswith(("train_", "val_"))}
            outcome.value = run.data.metrics.get(f"val_{metric}", math.nan)
            outcome.fit_seconds = run.data.metrics.get("fit_seconds", math.nan)
            if outcome.status != "ok":
                outcome.error_class = tags.get(ERROR)
                outcome.error = tags.get(tag_names.TRIAL_TRACEBACK)
            elif load_predictions:
                outcome.predictions = self._predictions(run.info.run_id)
            finished.append(outcome)
        finished.sort(key=lambda o: o.number)
        return finished, interrupted

    def _predictions(self, run_id: str) -> np.ndarray | None:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                path = self.client.download_artifacts(run_id, PREDICTIONS_FILE, tmp)
                return np.load(io.BytesIO(Path(path).read_bytes()))
        except Exception:  # missing artifact: the ablation table shows no interval for it
            return None
