"""The resolved config a tracked run logged (``config.json``), read back from MLflow.

:func:`~lightsaber.config.run_fit` logs the full config, defaults filled in, with every run it
records; :func:`logged_config` reads it back, so a run can be re-scored
(:mod:`lightsaber.config.evaluate`) or re-run (:mod:`lightsaber.config.reproduce`) from what was
recorded rather than from a YAML file that may have changed since.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightsaber.exceptions import ConfigError
from lightsaber.tracking.quiet import quiet_artifact_downloads
from lightsaber.tracking.runs import CONFIG_FILE

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["logged_config"]


def logged_config(run_id: str, client: MlflowClient) -> dict[str, Any]:
    """The resolved config logged with run ``run_id`` (its ``config.json`` artifact).

    Parameters
    ----------
    run_id : str
        MLflow run id.
    client : mlflow.MlflowClient
        A client on the store holding the run
        (:func:`lightsaber.tracking.client.tracking_client`).

    Returns
    -------
    dict
        The config as logged; :func:`~lightsaber.config.load_config` and
        :func:`~lightsaber.config.prepare` accept it as is.

    Raises
    ------
    ConfigError
        At path ``RUN_ID`` when the store has no such run, or the run logged no config (it was
        not recorded by :func:`~lightsaber.config.run_fit`).

    Examples
    --------
    >>> import tempfile
    >>> from lightsaber.tracking import tracked_run, tracking_client
    >>> folder = tempfile.TemporaryDirectory()
    >>> client, uri = tracking_client(f"sqlite:///{folder.name}/mlflow.db")
    >>> with tracked_run("plain", tracking_uri=uri) as run:
    ...     run.log_params({"a": 1})
    >>> logged_config(run.run_id, client)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.ConfigError: invalid config: RUN_ID: the run has no config.json; got '...'
    >>> folder.cleanup()
    """
    try:
        client.get_run(run_id)
    except Exception as exc:
        raise ConfigError.at("RUN_ID", "no such run in the tracking store", value=run_id) \
            from exc
    with tempfile.TemporaryDirectory() as tmp, quiet_artifact_downloads():
        try:
            path = client.download_artifacts(run_id, CONFIG_FILE, tmp)
        except Exception as exc:
            raise ConfigError.at("RUN_ID", f"the run has no {CONFIG_FILE}", value=run_id) \
                from exc
        return json.loads(Path(path).read_text())
