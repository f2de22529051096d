"""The one way lightsaber opens the MLflow tracking store (and its model registry).

:func:`tracking_client` resolves the URI (argument, else ``MLFLOW_TRACKING_URI``, else
``./mlflow.db``), opens the store with a clear :class:`~lightsaber.exceptions.TrackingError`
when it cannot, and returns a client whose model registry is the same store.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from lightsaber.exceptions import TrackingError
from lightsaber.tracking.uri import redact_uri, resolve_tracking_uri, sqlite_artifact_root

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["access_error", "open_client", "tracking_client"]


def tracking_client(tracking_uri: str | None = None) -> tuple[MlflowClient, str]:
    """A client on the tracking store (and its model registry), and the resolved URI.

    Parameters
    ----------
    tracking_uri : str, optional
        Store to open (argument, else ``MLFLOW_TRACKING_URI``, else ``./mlflow.db``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = tempfile.mkdtemp()
    >>> client, uri = tracking_client(f"sqlite:///{folder}/mlflow.db")
    >>> uri.endswith("mlflow.db"), client.get_experiment_by_name("nope") is None
    (True, True)
    """
    from mlflow import MlflowClient

    uri = resolve_tracking_uri(tracking_uri)
    open_client(uri)  # validates the store with a clear error
    return MlflowClient(tracking_uri=uri, registry_uri=uri), uri


_DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")


def open_client(uri: str) -> MlflowClient:
    """An ``MlflowClient`` on an already resolved ``uri``, with a clear error if it cannot open.

    Parameters
    ----------
    uri : str
        A tracking URI as :func:`~lightsaber.tracking.resolve_tracking_uri` returns it. A new
        sqlite store is created under a lock, so concurrent first openers do not collide.
    """
    from mlflow import MlflowClient

    try:
        with warnings.catch_warnings(), _sqlite_open_lock(uri):
            # SQLAlchemy 2.1 deprecates the ``noload`` strategy that MLflow's sqlalchemy store
            # configures when it is first imported; ours is not the code to fix. Scoped to
            # opening the client so our callers' own warning filters stay in force.
            warnings.filterwarnings("ignore", message=r"The ``noload`` loader strategy",
                                    category=DeprecationWarning)
            client = MlflowClient(tracking_uri=uri)
            if uri.split(":", 1)[0].split("+", 1)[0] in _DATABASE_SCHEMES:
                # The warning fires when the mappers are first configured, at the first query:
                # run one here, inside the filter, rather than at the caller's first query.
                client.search_experiments(max_results=1)
            return client
    except Exception as err:
        raise TrackingError(
            f"Could not open the MLflow tracking store at {redact_uri(uri)}: {err}. Check the "
            "URI (argument, then MLFLOW_TRACKING_URI), that the folder of a sqlite file can be "
            "created, or that the server is running."
        ) from err


@contextmanager
def _sqlite_open_lock(uri: str) -> Iterator[None]:
    """Hold an exclusive lock on a sqlite store's folder while MLflow opens the store.

    Opening a store that does not exist yet creates and migrates its schema; MLflow does that
    without a lock, so several processes opening a new ``mlflow.db`` at once fail with
    ``table ... already exists`` or ``duplicate column name``. ``flock`` on the database's
    folder (no extra file) makes the first opener create the schema while the others wait,
    then find it ready. A no-op for other stores, for in-memory sqlite, where the folder does
    not exist yet (MLflow reports that) and on platforms without ``fcntl``.
    """
    root = sqlite_artifact_root(uri)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        fcntl = None
    folder = root.parent if root is not None else None
    if fcntl is None or folder is None or not folder.is_dir():
        yield
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing the descriptor releases the lock


#: What a 401 means to the user, and what to do about it (no credential is ever echoed).
_UNAUTHENTICATED = ("the server did not accept the credentials (wrong or missing "
                    "MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD)")


def access_error(err: BaseException, uri: str, what: str, need: str,
                 cls: type[TrackingError] = TrackingError) -> TrackingError | None:
    """A clear error for an MLflow 401/403 on ``what`` needing ``need``; ``None`` for others.

    Parameters
    ----------
    err : BaseException
        What MLflow raised; only ``UNAUTHENTICATED`` (HTTP 401) and ``PERMISSION_DENIED``
        (HTTP 403) are translated.
    uri : str
        The tracking URI, shown redacted.
    what : str
        The resource, e.g. ``"experiment 'team'"`` or ``"registered model 'mortality'"``.
    need : str
        The permission the call needs (``"READ"``, ``"EDIT"``).
    cls : type, optional
        The error class (a :class:`~lightsaber.exceptions.TrackingError` subclass).

    Examples
    --------
    >>> from mlflow.exceptions import MlflowException
    >>> from mlflow.protos.databricks_pb2 import PERMISSION_DENIED
    >>> err = MlflowException("Permission denied", error_code=PERMISSION_DENIED)
    >>> message = str(access_error(err, "http://me:pw@host:5000", "experiment 'team'", "EDIT"))
    >>> "http://***@host:5000" in message, "me:pw" in message, "needs EDIT" in message
    (True, False, True)
    """
    code = getattr(err, "error_code", None)
    status = None
    try:
        status = err.get_http_status_code()  # type: ignore[attr-defined]
    except Exception:  # noqa: S110 - not an MlflowException
        pass
    server = redact_uri(uri)
    if code == "UNAUTHENTICATED" or status == 401:
        return cls(f"not authenticated at {server}: {_UNAUTHENTICATED}; {what} needs {need} "
                   "permission. Nothing was written.")
    if code == "PERMISSION_DENIED" or status == 403:
        return cls(f"permission denied at {server}: {what} needs {need} permission, which the "
                   "current user does not have; ask the server's admin to grant it.")
    return None
