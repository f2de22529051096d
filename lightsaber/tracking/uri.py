"""Where runs are recorded: the tracking URI and, for sqlite stores, the artifact root."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ["resolve_tracking_uri"]

#: The environment variable MLflow itself reads.
ENV_VAR = "MLFLOW_TRACKING_URI"


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The tracking URI to use: ``uri``, else ``$MLFLOW_TRACKING_URI``, else ``mlflow.db`` here.

    Parameters
    ----------
    uri : str, optional
        An explicit tracking URI (``sqlite:///...``, ``http://host:5000``, ...). Returned as
        given. Empty or blank strings count as not given, for the argument and the variable.

    Returns
    -------
    str
        The first of: ``uri``; the ``MLFLOW_TRACKING_URI`` environment variable; a sqlite
        database ``mlflow.db`` in the current working directory, as an absolute
        ``sqlite:////abs/path/mlflow.db`` URI (so a later ``chdir`` does not move the store).

    Examples
    --------
    >>> import os
    >>> resolve_tracking_uri("http://127.0.0.1:5000")
    'http://127.0.0.1:5000'
    >>> saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    >>> resolve_tracking_uri().endswith("/mlflow.db")
    True
    >>> os.environ["MLFLOW_TRACKING_URI"] = "sqlite:////tmp/team.db"
    >>> resolve_tracking_uri()
    'sqlite:////tmp/team.db'
    >>> _ = os.environ.pop("MLFLOW_TRACKING_URI")
    >>> if saved is not None:
    ...     os.environ["MLFLOW_TRACKING_URI"] = saved
    """
    if uri is not None and uri.strip():
        return uri
    from_env = os.environ.get(ENV_VAR, "")
    if from_env.strip():
        return from_env
    return f"sqlite:///{(Path.cwd() / 'mlflow.db').as_posix()}"


def redact_uri(uri: str) -> str:
    """``uri`` with any ``user:password@`` removed, for messages and reprs."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<unparseable tracking URI>"
    if "@" not in parts.netloc:
        return uri
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


_SQLITE = re.compile(r"^sqlite(\+\w+)?:///(?P<path>[^?]*)")


def sqlite_artifact_root(uri: str) -> Path | None:
    """``<database folder>/mlruns`` for a file-backed sqlite URI; ``None`` for anything else.

    MLflow's own default artifact root for a database store is ``./mlruns`` relative to the
    working directory of whichever process first opened the store; keeping artifacts next to
    the database instead means a store in a temporary folder stays in that folder.
    """
    match = _SQLITE.match(uri)
    if match is None:
        return None
    raw = unquote(match.group("path"))
    if raw in ("", ":memory:") or raw.startswith("file:"):
        return None
    return (Path.cwd() / raw).resolve().parent / "mlruns"


def experiment_folder(name: str) -> str:
    """A file-system-safe folder name for an experiment's artifacts."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return slug or "experiment"
