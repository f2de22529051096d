"""An open MLflow run: what lightsaber logs to it, under which names, and how cheaply."""

from __future__ import annotations

import math
import posixpath
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lightsaber.exceptions import TrackingError
from lightsaber.tracking import tags as tag_names
from lightsaber.tracking._json import dumps
from lightsaber.tracking.environment import environment_info, git_state
from lightsaber.tracking.params import check_key, flatten_params, is_array_like, truncate
from lightsaber.tracking.uri import redact_uri

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["CONFIG_FILE", "SPLIT_HASH_TAG", "TrackedRun", "manifest_hash"]

#: Buffered epoch metrics are sent at most this long after the previous send.
FLUSH_SECONDS = 1.0
#: ... or as soon as this many are waiting (MLflow's per-request metric limit).
MAX_PENDING_METRICS = 1000

MANIFEST_FILE = "split_manifest.json"
CONFIG_FILE = "config.json"
ENVIRONMENT_FILE = "environment.json"
#: Run tag holding the sha256 of the logged split manifest (see :meth:`TrackedRun.log_manifest`).
SPLIT_HASH_TAG = tag_names.SPLIT_HASH


class TrackedRun:
    """One MLflow run, opened by :func:`~lightsaber.tracking.tracked_run`.

    Every call goes through one :class:`mlflow.MlflowClient` bound to this run's tracking URI;
    MLflow's process-wide "active run" and tracking URI are never touched, so runs may be
    nested or used from several threads.

    Attributes
    ----------
    run_id, experiment_id : str
        MLflow identifiers.
    tracking_uri : str
        The store this run lives in (as resolved by
        :func:`~lightsaber.tracking.resolve_tracking_uri`).
    client : mlflow.MlflowClient
        The client used for every call; reuse it to read the run back.

    Notes
    -----
    :meth:`log_metrics` is built for per-epoch logging. One MLflow ``log_batch`` request costs
    about 9 ms on a sqlite store and 20 ms against a local server (2-core machine), plus about
    0.3 ms per metric, nearly all of it MLflow's own work. So metrics are batched: a call sends
    everything held at once when :data:`FLUSH_SECONDS` (1 s) have passed since the previous
    send, and otherwise holds its metrics (with their own timestamps and steps) for a later
    call, for :meth:`log_split_metrics`, or for the end of the run. Training pays at most one
    request per second, and a metric reaches the store at most about a second plus one epoch
    after it was logged. Read metrics back after the ``with`` block (or after
    :meth:`log_split_metrics`) to see all of them.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from lightsaber.tracking import tracked_run
    >>> tmp = tempfile.TemporaryDirectory()
    >>> uri = f"sqlite:///{Path(tmp.name) / 'mlflow.db'}"
    >>> with tracked_run("doc", tracking_uri=uri) as run:
    ...     run.log_split_metrics({"test": {"auc_roc": 0.81, "brier": float("nan")}})
    ...     run.log_dict({"b": 1, "a": [1, 2]}, "extra/summary.json")
    ...     run.log_manifest({"splits": {"train": {"n_patients": 70}, "test": {"n_patients": 30}}})
    >>> logged = run.client.get_run(run.run_id)
    >>> logged.data.metrics
    {'test_auc_roc': 0.81}
    >>> sorted(k for k in logged.data.params if k.startswith("split."))
    ['split.test.n_patients', 'split.train.n_patients']
    >>> sorted(a.path for a in run.client.list_artifacts(run.run_id))
    ['extra', 'split_manifest.json']
    >>> tmp.cleanup()
    """

    def __init__(self, client: MlflowClient, run_id: str, experiment_id: str, tracking_uri: str,
                 artifact_uri: str | None = None) -> None:
        self.client = client
        self.run_id = run_id
        self.experiment_id = experiment_id
        self.tracking_uri = tracking_uri
        self._artifact_uri = artifact_uri
        self._pending: list[Any] = []
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()

    def __repr__(self) -> str:
        return (f"TrackedRun(run_id={self.run_id!r}, experiment_id={self.experiment_id!r}, "
                f"tracking_uri={redact_uri(self.tracking_uri)!r})")

    @property
    def artifact_uri(self) -> str:
        """Root URI of this run's artifacts (``file:///...``, ``mlflow-artifacts:/...``)."""
        if self._artifact_uri is None:
            with self._mlflow("read the run's artifact URI"):
                self._artifact_uri = self.client.get_run(self.run_id).info.artifact_uri
        return self._artifact_uri

    # ------------------------------------------------------------------ params and tags
    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log hyperparameters in one request.

        Parameters
        ----------
        params : Mapping
            Possibly nested. Flattened with ``"."`` by
            :func:`~lightsaber.tracking.flatten_params`; ``None`` values are skipped; values
            longer than MLflow's limit (6,000 characters) are cut, ending in ``...``.

        Raises
        ------
        TrackingError
            For an array or table value, a name MLflow refuses, or a changed value: MLflow
            keeps a parameter once logged (logging the same value again is fine).
        """
        from mlflow.entities import Param

        flat = flatten_params(params)
        entries = [Param(check_key(key, "Parameter"), truncate(value))
                   for key, value in flat.items()]
        if entries:
            self._log_batch("log parameters", params=entries)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Set run tags in one request.

        Parameters
        ----------
        tags : Mapping
            Tag names to values; values are converted with ``str``. An existing tag is
            overwritten.
        """
        from mlflow.entities import RunTag

        entries = [RunTag(check_key(key, "Tag"), str(value)) for key, value in tags.items()]
        if entries:
            self._log_batch("set tags", tags=entries)

    # ------------------------------------------------------------------ metrics
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log metrics at one step; cheap enough to call every epoch.

        Values are timestamped now and sent in one ``log_batch`` request together with other
        recent calls (see the class notes).

        Parameters
        ----------
        metrics : Mapping
            Metric names to numbers (Python, NumPy or 0-d tensors). NaN, infinite and ``None``
            values are skipped without error.
        step : int, optional
            The epoch or iteration; MLflow's default 0 when omitted.

        Raises
        ------
        TrackingError
            For a name MLflow would refuse, or a value that is not a number (a string, a bool,
            an array). Checked here, so a bad call fails at the call, not at a later send.
        """
        from mlflow.entities import Metric

        timestamp = int(time.time() * 1000)
        step = 0 if step is None else int(step)
        entries = [Metric(key, value, timestamp, step) for key, value in _finite(metrics)]
        if not entries:
            return
        with self._lock:
            self._pending.extend(entries)
            due = (len(self._pending) >= MAX_PENDING_METRICS
                   or time.monotonic() - self._last_flush >= FLUSH_SECONDS)
        if due:
            self._flush()

    def log_split_metrics(self, metrics: Mapping[str, Mapping[str, float]]) -> None:
        """Log final metrics per split as ``<split>_<metric>``, sent at once.

        Metrics still held back by :meth:`log_metrics` go in the same request.

        Parameters
        ----------
        metrics : Mapping
            ``{"test": {"auc_roc": 0.8}}`` becomes the metric ``test_auc_roc``; non-finite
            values are skipped as in :meth:`log_metrics`.
        """
        flat = {f"{split}_{name}": value
                for split, values in metrics.items() for name, value in values.items()}
        self.log_metrics(flat)
        self._flush()

    def _flush(self) -> None:
        """Send the metrics held back by :meth:`log_metrics`."""
        with self._lock:
            pending, self._pending = self._pending, []
            self._last_flush = time.monotonic()
        if pending:
            self._log_batch("log metrics", metrics=pending)

    # ------------------------------------------------------------------ artifacts
    def log_dict(self, obj: Any, artifact_file: str) -> None:
        """Write ``obj`` as JSON (sorted keys, 2-space indent) to an artifact.

        Parameters
        ----------
        obj : object
            JSON-like: mappings, lists, numbers, strings. NumPy scalars are written as
            numbers, paths as strings, sets as sorted lists, NaN as ``NaN`` (as Python's
            :mod:`json` does), other objects as their ``repr``.
        artifact_file : str
            Relative path inside the run's artifacts, such as ``"search/cv_results.json"``.

        Raises
        ------
        TrackingError
            If ``obj`` holds an array, tensor or table (they can hold row-level patient data;
            convert an aggregate with ``.tolist()`` if it belongs there).
        """
        self.log_text(dumps(obj, f"The object for {artifact_file!r}"), artifact_file)

    def log_text(self, text: str, artifact_file: str) -> None:
        """Write ``text`` (UTF-8) to an artifact.

        Parameters
        ----------
        text : str
            The content.
        artifact_file : str
            Relative path inside the run's artifacts, such as ``"profiler.txt"``.
        """
        _check_artifact_path(artifact_file)
        with self._mlflow(f"write artifact {artifact_file!r}"):
            self.client.log_text(self.run_id, text, artifact_file)

    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> None:
        """Copy a local file or folder into the run's artifacts.

        Parameters
        ----------
        local_path : str or Path
            A file, which keeps its name (``<artifact_path>/<name>``), or a folder, whose
            contents go to ``<artifact_path>/<folder name>/``.
        artifact_path : str, optional
            Relative folder inside the run's artifacts; the root when omitted.
        """
        path = Path(local_path)
        if not path.exists():
            raise TrackingError(f"Cannot log artifact {str(path)!r}: no such file or folder.")
        if artifact_path is not None:
            _check_artifact_path(artifact_path)
        with self._mlflow(f"upload {path.name!r}"):
            if path.is_dir():
                target = posixpath.join(artifact_path, path.name) if artifact_path else path.name
                self.client.log_artifacts(self.run_id, str(path), target)
            else:
                self.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_manifest(self, manifest: Mapping[str, Any]) -> None:
        """Log a split manifest: its artifact, ``split.<part>.n_patients`` and a hash tag.

        The artifact is ``split_manifest.json``; the tag ``lightsaber.split_hash`` is the
        sha256 of its text (:func:`manifest_hash`: canonical JSON, sorted keys), so
        ``sha256sum split_manifest.json`` reproduces it. Two runs share the hash when they were
        split the same way (strategy, seed, fractions, the same patients in each part, the same
        outcome rates); :func:`lightsaber.tracking.model_registry.best_run` compares runs of one
        hash only.

        Parameters
        ----------
        manifest : Mapping
            :attr:`lightsaber.Splits.manifest`: counts, rates and a hash of each part's sorted
            identifiers, never the identifiers. One parameter is logged per entry of its
            ``"splits"`` mapping.
        """
        text = dumps(manifest, f"The object for {MANIFEST_FILE!r}")
        self.log_text(text, MANIFEST_FILE)
        self.set_tags({SPLIT_HASH_TAG: _sha256(text)})
        parts = manifest.get("splits")
        if isinstance(parts, Mapping):
            self.log_params({f"split.{part}.n_patients": summary.get("n_patients")
                             for part, summary in parts.items() if isinstance(summary, Mapping)})
            # Landmark cohorts: rows are (patient, landmark) pairs, so rows != patients.
            self.log_params({f"split.{part}.n_rows": summary["n_rows"]
                             for part, summary in parts.items()
                             if isinstance(summary, Mapping) and "n_rows" in summary})

    def log_config(self, config: Mapping[str, Any]) -> None:
        """Log the experiment configuration as the artifact ``config.json``.

        Parameters
        ----------
        config : Mapping
            The resolved configuration, written as by :meth:`log_dict`.
        """
        self.log_dict(dict(config), CONFIG_FILE)

    def log_environment(self) -> None:
        """Log ``environment.json`` and, in a git checkout, tags ``git_commit``/``git_dirty``.

        The git state is read from the current working directory; outside a checkout (or
        without git) the tags are left out and nothing fails. ``mlflow.source.git.commit`` is
        set too, so the MLflow UI shows the commit.
        """
        self.log_dict(environment_info(), ENVIRONMENT_FILE)
        state = git_state()
        if state is not None:
            self.set_tags({**state, "mlflow.source.git.commit": state["git_commit"]})

    # ------------------------------------------------------------------ plumbing
    def _log_batch(self, action: str, **entries: Any) -> None:
        with self._mlflow(action):
            self.client.log_batch(self.run_id, **entries)

    @contextmanager
    def _mlflow(self, action: str) -> Iterator[None]:
        from mlflow.exceptions import MlflowException

        try:
            yield
        except (MlflowException, OSError) as err:
            raise TrackingError(
                f"Could not {action} for run {self.run_id} at "
                f"{redact_uri(self.tracking_uri)}: {err}"
            ) from err


def manifest_hash(manifest: Mapping[str, Any]) -> str:
    """The sha256 (hex) of a split manifest's canonical JSON: the ``lightsaber.split_hash`` tag.

    Canonical JSON is what :meth:`TrackedRun.log_manifest` writes to ``split_manifest.json``:
    keys sorted at every level, 2-space indent, a trailing newline, NumPy scalars as numbers.
    The manifest holds counts, rates and hashes of sorted ids, so the hash reveals no ids.

    Examples
    --------
    >>> a = manifest_hash({"seed": 7, "splits": {"test": {"n_patients": 30}}})
    >>> a == manifest_hash({"splits": {"test": {"n_patients": 30}}, "seed": 7})  # key order
    True
    >>> a == manifest_hash({"seed": 3, "splits": {"test": {"n_patients": 30}}})
    False
    >>> len(a)
    64
    """
    return _sha256(dumps(manifest, f"The object for {MANIFEST_FILE!r}"))


def _sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _finite(metrics: Mapping[str, Any]) -> Iterator[tuple[str, float]]:
    for key, value in metrics.items():
        check_key(key, "Metric")
        if value is None:
            continue
        if isinstance(value, (str, bytes, bool, np.bool_)) or is_array_like(value):
            raise TrackingError(f"Metric {key!r} must be a number; got {type(value).__name__}.")
        try:
            number = float(value)
        except (TypeError, ValueError) as err:
            raise TrackingError(
                f"Metric {key!r} must be a number; got {type(value).__name__}."
            ) from err
        if math.isfinite(number):
            yield key, number


def _check_artifact_path(path: str) -> None:
    norm = posixpath.normpath(path)
    if not path or path.startswith("/") or norm.startswith("..") or "\\" in path:
        raise TrackingError(
            f"Artifact path {path!r} must be relative, use '/' and stay inside the run's "
            "artifacts (no leading '/' or '..')."
        )
