"""Runs and experiments from the tracking store as pandas tables.

Every column is flat: ``params.<name>``, ``metrics.<split>_<metric>`` and ``tags.<name>``,
next to the run's attributes (``run_id``, ``run_name``, ``experiment``, ``status``,
``start_time``, ``end_time``, ``parent_run_id``, ``role``). Reading goes through one
:class:`mlflow.MlflowClient` bound to the tracking URI; MLflow's process-wide state is left
alone.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from lightsaber.tracking import tracked_run
>>> tmp = tempfile.TemporaryDirectory()
>>> uri = f"sqlite:///{Path(tmp.name) / 'mlflow.db'}"
>>> with tracked_run("doc", tracking_uri=uri, run_name="a", tags={"task": "survival"}) as run:
...     run.log_params({"model": {"alpha": 0.1}})
...     run.log_split_metrics({"test": {"c_index": 0.71}})
>>> table = load_runs("doc", tracking_uri=uri)
>>> row = table.iloc[0]
>>> row["run_name"], row["params.model.alpha"], float(row["metrics.test_c_index"]), row["tags.task"]
('a', '0.1', 0.71, 'survival')
>>> sorted(load_experiments(tracking_uri=uri)["name"])
['Default', 'doc']
>>> load_runs(tracking_uri=uri)
Traceback (most recent call last):
...
lightsaber.exceptions.RegistryError: name the runs to read: ... (2): ['Default', 'doc'].
>>> load_runs("dco", tracking_uri=uri)
Traceback (most recent call last):
...
lightsaber.exceptions.RegistryError: no experiment named 'dco' at ... Did you mean 'doc'? ...
>>> tmp.cleanup()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from lightsaber.exceptions import RegistryError
from lightsaber.tracking import tags as tag_names
from lightsaber.tracking.client import tracking_client

if TYPE_CHECKING:
    from mlflow.entities import Run as MlflowRun

__all__ = ["ROLE_TAG", "load_experiments", "load_runs", "run_role", "search_runs"]

#: Tag with the role of a run in a study (``study``, ``trial``, ``refit``); see tuning.
ROLE_TAG = tag_names.ROLE
PARENT_TAG = tag_names.PARENT


def load_experiments(*, tracking_uri: str | None = None) -> pd.DataFrame:
    """Active experiments: ``experiment_id``, ``name``, ``creation_time``, ``tags.*``.

    Parameters
    ----------
    tracking_uri : str, optional
        Store to read (argument, else ``MLFLOW_TRACKING_URI``, else ``./mlflow.db``).

    Returns
    -------
    pandas.DataFrame
        Most recently created first.
    """
    client, _ = tracking_client(tracking_uri)
    rows = []
    for exp in client.search_experiments():
        row: dict[str, Any] = {"experiment_id": exp.experiment_id, "name": exp.name,
                               "creation_time": pd.to_datetime(exp.creation_time, unit="ms")}
        row.update({f"tags.{k}": v for k, v in exp.tags.items()})
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else ["experiment_id", "name",
                                                         "creation_time"])


def search_runs(experiment: str | Sequence[str] | None = None, *,
                runs: Sequence[str] | None = None, tracking_uri: str | None = None,
                include_reports: bool = False) -> list[MlflowRun]:
    """MLflow run objects of experiments (by name) and/or explicit run ids, oldest first.

    Nothing is read silently: with neither ``experiment`` nor ``runs`` there is nothing to
    select (MLflow's own ``search_runs`` would read just the default experiment), so that is
    an error listing the experiments of the store.

    Raises
    ------
    RegistryError
        With neither ``experiment`` nor ``runs`` (the experiment names at the store are
        listed), for an unknown experiment name (with close names: "did you mean") or an
        unknown run id.
    """
    from mlflow.exceptions import MlflowException

    from lightsaber.tracking.model_registry import unknown_experiment
    from lightsaber.tracking.uri import redact_uri

    client, uri = tracking_client(tracking_uri)
    found: dict[str, MlflowRun] = {}
    names = [experiment] if isinstance(experiment, str) else list(experiment or [])
    if not names and not runs:
        known = sorted(e.name for e in client.search_experiments())
        shown = known[:20] + (["..."] if len(known) > 20 else [])
        raise RegistryError(
            f"name the runs to read: pass `experiment=` (a name or a list of names) and/or "
            f"`runs=` (run ids); got neither. Experiments at {redact_uri(uri)} "
            f"({len(known)}): {shown}.")
    ids = []
    for name in names:
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise RegistryError(unknown_experiment(client, name, uri))
        ids.append(exp.experiment_id)
    if ids:
        token = None
        while True:
            page = client.search_runs(ids, max_results=1000, page_token=token)
            found.update({r.info.run_id: r for r in page})
            token = page.token
            if not token:
                break
    for run_id in runs or []:
        if run_id not in found:
            try:
                found[run_id] = client.get_run(run_id)
            except MlflowException as err:
                raise RegistryError(f"run {run_id!r} not found at {redact_uri(uri)}.") from err
    out = [r for r in found.values()
           if include_reports or r.data.tags.get(tag_names.REPORT) != "true"]
    return sorted(out, key=lambda r: (r.info.start_time or 0, r.info.run_id))


def run_role(run: MlflowRun, children: set[str]) -> str:
    """``"study"``, ``"trial"``, ``"refit"``, ``"report"`` or ``"run"`` (a plain fit).

    A run is a study when tagged so by tuning or when other runs name it as their parent
    (``mlflow.parentRunId``); a child is a trial unless tagged ``refit``.
    """
    tags = run.data.tags
    if tags.get(tag_names.REPORT) == "true":
        return "report"
    role = tags.get(ROLE_TAG)
    if role in ("study", "trial", "refit"):
        return role
    if run.info.run_id in children:
        return "study"
    if tags.get(PARENT_TAG):
        return "trial"
    return "run"


def load_runs(experiment: str | Sequence[str] | None = None, *,
              runs: Sequence[str] | None = None, tracking_uri: str | None = None,
              include_reports: bool = False) -> pd.DataFrame:
    """Runs as one flat table: attributes, then ``params.*``, ``metrics.*`` and ``tags.*``.

    Parameters
    ----------
    experiment : str or sequence of str, optional
        Experiment name(s); all their runs are read. An unknown name raises
        :class:`~lightsaber.exceptions.RegistryError` with close names ("did you mean").
    runs : sequence of str, optional
        Run ids (added to the experiments' runs). Give ``experiment``, ``runs`` or both:
        with neither, :class:`~lightsaber.exceptions.RegistryError` lists the store's
        experiments (nothing is read silently).
    tracking_uri : str, optional
    include_reports : bool, default False
        Also list the runs that only hold a report (tag ``lightsaber.report``).

    Returns
    -------
    pandas.DataFrame
        One row per run, oldest first. Params and tags are strings (as MLflow stores them),
        metrics floats (the last logged value).
    """
    client, _ = tracking_client(tracking_uri)
    found = search_runs(experiment, runs=runs, tracking_uri=tracking_uri,
                        include_reports=include_reports)
    names = {}
    children = {r.data.tags.get(PARENT_TAG) for r in found} - {None}
    rows = []
    for run in found:
        info, data = run.info, run.data
        if info.experiment_id not in names:
            names[info.experiment_id] = client.get_experiment(info.experiment_id).name
        row: dict[str, Any] = {
            "run_id": info.run_id, "run_name": info.run_name,
            "experiment": names[info.experiment_id], "status": info.status,
            "start_time": pd.to_datetime(info.start_time, unit="ms"),
            "end_time": pd.to_datetime(info.end_time, unit="ms") if info.end_time else pd.NaT,
            "parent_run_id": data.tags.get(PARENT_TAG), "role": run_role(run, children)}
        row.update({f"params.{k}": v for k, v in sorted(data.params.items())})
        row.update({f"metrics.{k}": v for k, v in sorted(data.metrics.items())})
        row.update({f"tags.{k}": v for k, v in sorted(data.tags.items())})
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["run_id", "run_name", "experiment", "status",
                                     "start_time", "end_time", "parent_run_id", "role"])
    base = [c for c in frame.columns if "." not in c]
    rest = sorted((c for c in frame.columns if "." in c),
                  key=lambda c: (("params.", "metrics.", "tags.").index(c.split(".")[0] + "."), c))
    return frame[base + rest]
