"""MLflow tracking: runs, params, metrics, artifacts, and the model registry.

Runs always close; params are flat; the registry picks the best run, registers it and
resolves ``models:/`` URIs.

The trainer (:func:`lightsaber.fit`) records every run through this layer; it is public so
notebooks and custom loops can do the same. Everything goes through one
:class:`mlflow.MlflowClient` per run, never through MLflow's process-wide active run, and
nothing row-level is written: see ``docs/tracking.md`` for names, statuses and privacy.

Examples
--------
>>> from lightsaber.tracking import flatten_params, resolve_tracking_uri
>>> resolve_tracking_uri("http://127.0.0.1:5000")
'http://127.0.0.1:5000'
>>> flatten_params({"optimizer": {"lr": 0.01, "name": "adam"}})
{'optimizer.lr': '0.01', 'optimizer.name': 'adam'}
"""

from lightsaber.exceptions import MixedSplitsWarning, RegistryError, TrackingError
from lightsaber.tracking.client import tracking_client
from lightsaber.tracking.environment import environment_info
from lightsaber.tracking.lifecycle import tracked_run
from lightsaber.tracking.model_registry import (
    ModelVersionInfo,
    best_run,
    parse_model_uri,
    register_best,
    register_run,
)
from lightsaber.tracking.params import flatten_params
from lightsaber.tracking.quiet import quiet_artifact_downloads
from lightsaber.tracking.runs import SPLIT_HASH_TAG, TrackedRun, manifest_hash
from lightsaber.tracking.uri import resolve_tracking_uri

__all__ = [
    "MixedSplitsWarning",
    "ModelVersionInfo",
    "RegistryError",
    "SPLIT_HASH_TAG",
    "TrackedRun",
    "TrackingError",
    "best_run",
    "environment_info",
    "flatten_params",
    "manifest_hash",
    "parse_model_uri",
    "quiet_artifact_downloads",
    "register_best",
    "register_run",
    "resolve_tracking_uri",
    "tracked_run",
    "tracking_client",
]
