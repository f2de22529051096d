"""Opening and closing runs: experiment lookup, run start, and the terminal status."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from lightsaber.exceptions import TrackingError
from lightsaber.tracking.client import access_error
from lightsaber.tracking.client import open_client as _client
from lightsaber.tracking.runs import TrackedRun
from lightsaber.tracking.uri import (
    experiment_folder,
    redact_uri,
    resolve_tracking_uri,
    sqlite_artifact_root,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["check_access", "tracked_run"]

#: Experiment used when none is named.
DEFAULT_EXPERIMENT = "lightsaber"
#: Longest ``error_message`` tag written for a failed run.
MAX_ERROR_MESSAGE = 1000

_logger = logging.getLogger(__name__)


@contextmanager
def tracked_run(experiment: str | None = None, *, tracking_uri: str | None = None,
                run_name: str | None = None, tags: Mapping[str, str] | None = None
                ) -> Iterator[TrackedRun]:
    """Open an MLflow run for the ``with`` block and always close it.

    Parameters
    ----------
    experiment : str, optional
        Experiment name, created when missing (default ``"lightsaber"``). For a sqlite store a
        new experiment keeps its artifacts next to the database, in
        ``<database folder>/mlruns/<experiment name>/``.
    tracking_uri : str, optional
        Where to record; see :func:`~lightsaber.tracking.resolve_tracking_uri` for the
        fallbacks. The process-wide MLflow tracking URI and active run are left alone.
    run_name : str, optional
        Display name of the run (MLflow generates one when omitted).
    tags : Mapping, optional
        Tags set when the run is created (values converted with ``str``).

    Yields
    ------
    TrackedRun
        The open run.

    Raises
    ------
    TrackingError
        If the store cannot be opened, the experiment was deleted, or the run cannot be
        created or closed. Errors raised inside the block are re-raised unchanged.

    Notes
    -----
    The run ends ``FINISHED`` when the block completes; ``FAILED`` when it raises an
    ``Exception`` (tags ``error_class``, e.g. ``"ValueError"`` or
    ``"lightsaber.exceptions.TargetError"``, and ``error_message``, cut to 1,000 characters);
    ``KILLED`` on ``KeyboardInterrupt``, ``SystemExit`` or any other ``BaseException``, and on
    SIGTERM (turned into ``SystemExit(143)`` while the run is open, when the process had
    the default SIGTERM action). Metrics
    still held back by :meth:`TrackedRun.log_metrics` are sent first in every case.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> uri = f"sqlite:///{Path(tmp.name) / 'mlflow.db'}"
    >>> with tracked_run("demo", tracking_uri=uri, tags={"task": "survival"}) as run:
    ...     run.log_params({"model": {"hidden": (32, 32), "dropout": 0.1}})
    ...     for epoch in range(3):
    ...         run.log_metrics({"train_loss": 1.0 / (epoch + 1)}, step=epoch)
    >>> logged = run.client.get_run(run.run_id)
    >>> logged.info.status, logged.data.tags["task"]
    ('FINISHED', 'survival')
    >>> logged.data.params
    {'model.dropout': '0.1', 'model.hidden': '(32, 32)'}
    >>> [m.value for m in run.client.get_metric_history(run.run_id, "train_loss")]
    [1.0, 0.5, 0.3333333333333333]
    >>> tmp.cleanup()
    """
    uri = resolve_tracking_uri(tracking_uri)
    client = _client(uri)
    experiment_id = experiment_for(client, uri, experiment or DEFAULT_EXPERIMENT)
    try:
        created = client.create_run(experiment_id, run_name=run_name,
                                    tags={str(k): str(v) for k, v in (tags or {}).items()})
    except Exception as err:
        denied = access_error(err, uri, f"creating a run in experiment {experiment_id}", "EDIT")
        if denied is not None:
            raise denied from err
        raise TrackingError(
            f"Could not start a run in experiment {experiment_id} at {redact_uri(uri)}: {err}"
        ) from err
    run = TrackedRun(client, created.info.run_id, experiment_id, uri,
                     artifact_uri=created.info.artifact_uri)
    previous = _raise_on_sigterm()
    try:
        yield run
        run._flush()  # part of the block: if held metrics cannot be sent, the run failed
    except Exception as err:
        _close(run, "FAILED", err, {"error_class": _qualified_name(type(err)),
                                    "error_message": str(err)[:MAX_ERROR_MESSAGE]})
        raise
    except BaseException as err:
        _close(run, "KILLED", err)
        raise
    else:
        _close(run, "FINISHED", None)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _raise_on_sigterm() -> Any:
    """Turn SIGTERM into ``SystemExit(143)`` while a run is open, so it ends ``KILLED``.

    Python's default SIGTERM action ends the process without unwinding, which would leave the
    run ``RUNNING`` (what a batch scheduler's job timeout sends). Only the default action is
    replaced, and only from the main thread; a handler the user installed is left alone.
    Returns the previous handler to restore, or ``None`` when nothing was changed.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return None

    def _exit(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, _exit)


def experiment_for(client: MlflowClient, uri: str, name: str) -> str:
    """The id of experiment ``name``, created (artifacts beside a sqlite store) if missing."""
    from mlflow.exceptions import MlflowException

    try:
        found = client.get_experiment_by_name(name)
        if found is None:
            root = sqlite_artifact_root(uri)
            location = None if root is None else (root / experiment_folder(name)).as_uri()
            try:
                return client.create_experiment(name, artifact_location=location)
            except MlflowException as err:
                if err.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
                found = client.get_experiment_by_name(name)  # created concurrently
                if found is None:
                    raise
    except MlflowException as err:
        denied = access_error(err, uri, f"experiment {name!r}", "READ")
        if denied is not None:
            raise denied from err
        raise TrackingError(
            f"Could not find or create experiment {name!r} at {redact_uri(uri)}: {err}"
        ) from err
    if found.lifecycle_stage != "active":
        raise TrackingError(
            f"Experiment {name!r} (id {found.experiment_id}) at {redact_uri(uri)} is deleted. "
            f"Restore it (mlflow experiments restore --experiment-id {found.experiment_id}) or "
            "use another experiment name."
        )
    return found.experiment_id


#: The permission MLflow's basic-auth app requires for each kind of access lightsaber needs.
_NEEDS = {"read": "READ", "edit": "EDIT"}
#: MLflow's basic-auth endpoint a user may call about their own permission (read-only).
_PERMISSION_ENDPOINT = "/api/3.0/mlflow/users/permissions/get"
_CAN_UPDATE = ("EDIT", "MANAGE")


def check_access(client: MlflowClient, uri: str, experiment: str | None,
                 need: str = "edit") -> str | None:
    """Pre-flight: fail now, before any training, if ``experiment`` cannot be used as needed.

    Parameters
    ----------
    client : MlflowClient
    uri : str
        The resolved tracking URI (shown redacted in errors).
    experiment : str, optional
        Experiment name (default ``"lightsaber"``).
    need : {"edit", "read"}
        ``"edit"`` to log runs into it (``ls.fit``, ``ls.tune``), ``"read"`` to read it.

    Returns
    -------
    str or None
        The experiment id, or ``None`` when it does not exist yet (creating it is then the
        first write, and the creator owns it).

    Raises
    ------
    TrackingError
        Wrong or missing credentials (HTTP 401), no read permission (403), or, on an MLflow
        ``basic-auth`` server, a permission below ``EDIT`` when ``need="edit"``; the message
        names the server (credentials redacted), the experiment and the permission.

    Notes
    -----
    Nothing is written. Authentication and read access are probed by looking the experiment up
    by name. Write access is probed, on an ``http(s)`` store whose user is named by
    ``MLFLOW_TRACKING_USERNAME``, through the auth app's read-only
    ``GET /api/3.0/mlflow/users/permissions/get`` for that user and experiment; a server
    without that endpoint (no auth app, or another one) is not probed and its refusal comes
    at the first write, which is creating the run, still before training. The password is
    never read here; MLflow's own HTTP layer sends it.
    """
    from mlflow.exceptions import MlflowException

    if need not in _NEEDS:
        raise ValueError(f"need must be one of {sorted(_NEEDS)}, not {need!r}")
    name = experiment or DEFAULT_EXPERIMENT
    what = f"experiment {name!r}"
    try:
        found = client.get_experiment_by_name(name)
    except MlflowException as err:
        denied = access_error(err, uri, what, "READ")
        if denied is not None:
            raise denied from err
        raise TrackingError(
            f"Could not look up experiment {name!r} at {redact_uri(uri)}: {err}") from err
    if found is None:
        return None
    if need == "edit" and uri.split(":", 1)[0].lower() in ("http", "https"):
        permission = _permission_on(uri, found.experiment_id)
        if permission is not None and permission not in _CAN_UPDATE:
            raise TrackingError(
                f"permission denied at {redact_uri(uri)}: logging runs into {what} (id "
                f"{found.experiment_id}) needs EDIT permission; the current user has "
                f"{permission}. Ask the server's admin to grant EDIT, or use another "
                "experiment. Nothing was written.")
    return found.experiment_id


def _permission_on(uri: str, experiment_id: str) -> str | None:
    """The current user's permission name on an experiment, or ``None`` if it cannot be told."""
    username = os.environ.get("MLFLOW_TRACKING_USERNAME", "").strip()
    if not username:
        return None
    from mlflow.utils.credentials import get_default_host_creds
    from mlflow.utils.rest_utils import http_request

    try:
        response = http_request(
            get_default_host_creds(uri), _PERMISSION_ENDPOINT, "GET", max_retries=0,
            params={"username": username, "resource_type": "experiment",
                    "resource_id": experiment_id})
    except Exception:  # the server is not reachable that way: leave it to the first write
        return None
    if response.status_code != 200:
        return None
    try:
        return str(response.json().get("permission") or "") or None
    except ValueError:
        return None


def _close(run: TrackedRun, status: str, error: BaseException | None,
           tags: Mapping[str, str] | None = None) -> None:
    """Send held metrics and tags, then set the terminal status; never mask ``error``."""
    problems: list[BaseException] = []
    for step in (run._flush, lambda: run.set_tags(tags) if tags else None):
        try:
            step()
        except Exception as err:  # keep going: the status matters more than one batch
            problems.append(err)
    try:
        run.client.set_terminated(run.run_id, status)
    except Exception as err:
        problems.append(err)
    if not problems:
        return
    message = (f"Run {run.run_id} at {redact_uri(run.tracking_uri)} was not closed cleanly "
               f"(status {status}): {problems[0]}")
    if error is None:
        raise TrackingError(message) from problems[0]
    _logger.error(message)
    if hasattr(error, "add_note"):
        error.add_note(message)


def _qualified_name(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"
