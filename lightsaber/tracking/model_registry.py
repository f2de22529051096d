"""Model registry: pick the best run by a registry metric, register it, load it back.

The model a run logs (``ls.fit(..., log_model=True)``) is an MLflow pyfunc holding the whole
fitted pipeline (preprocessing, model and calibrator). Registering it makes it addressable as
``models:/NAME/VERSION`` or ``models:/NAME@ALIAS``, which
:func:`lightsaber.serving.load_pipeline`,
:func:`lightsaber.serving.predict_file` and ``mlflow models serve`` all understand.

Every call uses one :class:`mlflow.MlflowClient` bound to the tracking URI (argument, else
``MLFLOW_TRACKING_URI``, else ``./mlflow.db``); the registry lives in the same store. MLflow's
process-wide tracking and registry URIs are never changed.

Examples
--------
>>> parse_model_uri("models:/mortality@champion")
('mortality', None, 'champion')
>>> parse_model_uri("models:/mortality/3")
('mortality', '3', None)
"""

from __future__ import annotations

import posixpath
import re
import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightsaber.exceptions import MixedSplitsWarning, RegistryError
from lightsaber.tracking import tags as tag_names
from lightsaber.tracking.client import access_error, tracking_client
from lightsaber.tracking.runs import SPLIT_HASH_TAG

if TYPE_CHECKING:
    from mlflow import MlflowClient


__all__ = ["MixedSplitsWarning", "ModelVersionInfo", "RegistryError", "best_run",
           "download_model", "parse_model_uri", "register_best", "register_run"]

#: Artifact folder of the pyfunc model that ``ls.fit`` logs.
MODEL_ARTIFACT = "model"
#: Run tag marking report runs (written by :func:`lightsaber.reports.write_report`).
REPORT_TAG = tag_names.REPORT
#: Run tag of ``lightsaber reproduce`` runs: the id of the run they re-ran.
REPRODUCES_TAG = tag_names.REPRODUCES
#: Run tag of a run's role in a tuning study (``study``, ``trial``, ``refit``).
ROLE_TAG = tag_names.ROLE
#: Roles that are never registry candidates: a study's trials (their model, if any, was fit
#: for the search) and the study run itself (it holds a summary, not a model).
NOT_CANDIDATES = ("trial", "study")

_MODELS_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>[^/]+)|@(?P<alias>[^/]+))/?$")


@dataclass(frozen=True)
class ModelVersionInfo:
    """A registered model version.

    Attributes
    ----------
    name, version : str
        Registered model name and version number.
    run_id : str
        The run whose pipeline was registered.
    metric : str or None
        Selection metric as logged (``"val_auc_roc"``) and its ``value``.
    alias : str or None
        Alias set on this version.
    """

    name: str
    version: str
    run_id: str
    metric: str | None = None
    value: float | None = None
    alias: str | None = None

    @property
    def uri(self) -> str:
        """``models:/NAME/VERSION``."""
        return f"models:/{self.name}/{self.version}"


def parse_model_uri(uri: str) -> tuple[str, str | None, str | None]:
    """``(name, version, alias)`` of a ``models:/NAME/VERSION`` or ``models:/NAME@ALIAS`` URI.

    Parameters
    ----------
    uri : str
        A registered model's URI.

    Raises
    ------
    RegistryError
        For anything else.

    Examples
    --------
    >>> parse_model_uri("models:/mortality/3"), parse_model_uri("models:/mortality@champion")
    (('mortality', '3', None), ('mortality', None, 'champion'))
    """
    match = _MODELS_URI.match(uri)
    if match is None:
        raise RegistryError(
            f"model URI {uri!r} is not of the form models:/NAME/VERSION or models:/NAME@ALIAS.")
    return match.group("name"), match.group("version"), match.group("alias")


def _experiment_ids(client: MlflowClient, experiment: str, uri: str) -> list[str]:
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise RegistryError(unknown_experiment(client, experiment, uri))
    return [found.experiment_id]


def unknown_experiment(client: MlflowClient, name: str, uri: str) -> str:
    """The message for an experiment name the store does not hold: close names, known ones."""
    import difflib

    from lightsaber.tracking.uri import redact_uri

    known = sorted(e.name for e in client.search_experiments())
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    shown = known[:20] + (["..."] if len(known) > 20 else [])
    return (f"no experiment named {name!r} at {redact_uri(uri)}.{hint} Experiments there "
            f"({len(known)}): {shown}.")


def is_candidate(run: Any) -> bool:
    """Whether a run may be picked by :func:`best_run` (before its metric and model).

    Report runs, reproduction runs (``lightsaber reproduce``, tag ``lightsaber.reproduces``)
    and a tuning study's trial and study runs are not; refits of a study are.
    """
    tags = run.data.tags
    return (tags.get(REPORT_TAG) != "true" and REPRODUCES_TAG not in tags
            and tags.get(ROLE_TAG) not in NOT_CANDIDATES)


def _mixed_splits(candidates: list[tuple[float, str, str | None]], key: str,
                  experiment: str, allowed: bool) -> str:
    """What :func:`best_run` says when the candidates hold more than one split hash."""
    groups: dict[str | None, list[str]] = {}
    for _, run_id, split_hash in candidates:
        groups.setdefault(split_hash, []).append(run_id)
    counts = Counter({h: len(ids) for h, ids in groups.items()})
    parts = []
    for split_hash, n in counts.most_common():
        label = split_hash[:12] if split_hash else "no split hash (logged without a manifest)"
        ids = groups[split_hash]
        parts.append(f"{n} run(s) on {label} ({', '.join(ids[:3])}"
                     f"{', ...' if len(ids) > 3 else ''})")
    head = (f"the {len(candidates)} candidate run(s) of experiment {experiment!r} with "
            f"{key!r} and a model were evaluated on {len(counts)} different splits (tag "
            f"{SPLIT_HASH_TAG}): " + "; ".join(parts) + ". ")
    if allowed:
        return head + (f"They were compared anyway (allow_mixed_splits=True), though their "
                       f"{key} values are not comparable.")
    return head + (f"Their {key} values are not comparable. Refit the runs to compare on one "
                   "split (the same cohort, split seed and fractions), move the others to "
                   "another experiment, or pass allow_mixed_splits=True (CLI: "
                   "--allow-mixed-splits) to compare them anyway.")


def _has_model(client: MlflowClient, run_id: str) -> bool:
    files = {posixpath.basename(f.path) for f in client.list_artifacts(run_id, MODEL_ARTIFACT)}
    return "MLmodel" in files


def best_run(experiment: str, metric: str, *, split: str = "val",
             tracking_uri: str | None = None, allow_mixed_splits: bool = False
             ) -> tuple[str, float]:
    """The finished run with a logged model that is best on ``<split>_<metric>``.

    Only runs evaluated on the same split are compared: their ``lightsaber.split_hash`` tags
    (the hash of the split manifest, see
    :meth:`~lightsaber.tracking.TrackedRun.log_manifest`) must agree. Candidates are the
    finished runs with the metric and a model, except report runs, ``lightsaber reproduce``
    runs (tag ``lightsaber.reproduces``) and a tuning study's trials and study run (tag
    ``lightsaber.role``); a study's refit is a candidate.

    Parameters
    ----------
    experiment : str
        Experiment name.
    metric : str
        A registry metric name (``"auc_roc"``, ``"c_index"``, ...); its direction comes from
        :func:`lightsaber.metrics.get_metric`.
    split : str, default "val"
        Selection split. Selecting on ``test`` would make the test estimate optimistic.
    tracking_uri : str, optional
    allow_mixed_splits : bool, default False
        Compare candidates evaluated on different splits anyway (a
        :class:`MixedSplitsWarning` says how many runs were on each). Runs without a split
        hash (logged without a manifest) count as one more split.

    Returns
    -------
    (run_id, value)

    Raises
    ------
    RegistryError
        When no finished candidate logged both the metric and a model, or when the candidates
        were evaluated on different splits (how many runs on each, and the fix) and
        ``allow_mixed_splits`` is false.
    """
    from lightsaber.metrics import get_metric

    spec = get_metric(metric)
    key = f"{split}_{spec.name}"
    client, uri = tracking_client(tracking_uri)
    candidates: list[tuple[float, str, str | None]] = []
    token = None
    while True:
        page = client.search_runs(_experiment_ids(client, experiment, uri),
                                  filter_string="attributes.status = 'FINISHED'",
                                  max_results=1000, page_token=token)
        for run in page:
            value = run.data.metrics.get(key)
            if value is not None and is_candidate(run):
                candidates.append((value, run.info.run_id, run.data.tags.get(SPLIT_HASH_TAG)))
        token = page.token
        if not token:
            break
    if len({c[2] for c in candidates}) > 1:
        # only runs with a model can be picked: only they can make the comparison unfair
        with_model = [c for c in candidates if _has_model(client, c[1])]
        if len({c[2] for c in with_model}) > 1:
            message = _mixed_splits(with_model, key, experiment, allow_mixed_splits)
            if not allow_mixed_splits:
                raise RegistryError(message)
            warnings.warn(message, MixedSplitsWarning, stacklevel=2)
        candidates = with_model
    candidates.sort(key=lambda c: c[0], reverse=spec.greater_is_better)
    for value, run_id, _ in candidates:
        if _has_model(client, run_id):
            return run_id, float(value)
    raise RegistryError(
        f"no finished run in experiment {experiment!r} logged the metric {key!r} and a model "
        f"({len(candidates)} candidate run(s) had the metric; report, reproduction and tuning "
        "trial runs are not candidates).")


def register_run(run_id: str, name: str, *, tracking_uri: str | None = None,
                 alias: str | None = None, tags: Mapping[str, Any] | None = None,
                 description: str | None = None) -> ModelVersionInfo:
    """Register a run's logged pipeline as a new version of model ``name``.

    Parameters
    ----------
    run_id : str
    name : str
        Registered model name (created when missing).
    alias : str, optional
        Alias to point at the new version (``"champion"``); it moves from any older version.
    tags : mapping, optional
        Extra version tags. ``lightsaber.run_id``, ``task`` and ``model_class`` are always set.
    description : str, optional

    Returns
    -------
    ModelVersionInfo
    """
    from mlflow.exceptions import MlflowException

    from lightsaber._version import __version__

    client, uri = tracking_client(tracking_uri)
    try:
        run = client.get_run(run_id)
    except MlflowException as err:
        denied = access_error(err, uri, f"reading run {run_id}", "READ", cls=RegistryError)
        if denied is not None:
            raise denied from err
        raise RegistryError(f"run {run_id} not found: {err}") from err
    if not _has_model(client, run_id):
        raise RegistryError(
            f"run {run_id} has no logged model ('{MODEL_ARTIFACT}/MLmodel'); fit it with "
            "log_model=True.")
    version_tags = {tag_names.RUN_ID: run_id, tag_names.VERSION: __version__,
                    "task": run.data.tags.get("task", ""),
                    "model_class": run.data.params.get("model.class", "")}
    version_tags.update({str(k): str(v) for k, v in (tags or {}).items()})
    try:
        try:
            client.create_registered_model(name)
        except MlflowException as err:
            if err.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        version = client.create_model_version(
            name, source=f"{run.info.artifact_uri.rstrip('/')}/{MODEL_ARTIFACT}", run_id=run_id,
            tags=version_tags, description=description)
        if alias:
            client.set_registered_model_alias(name, alias, version.version)
    except MlflowException as err:
        denied = access_error(err, uri, f"registering a version of model {name!r}", "EDIT",
                              cls=RegistryError)
        if denied is not None:
            raise denied from err
        raise RegistryError(f"could not register run {run_id} as {name!r}: {err}") from err
    metric = version_tags.get(tag_names.METRIC)
    value = version_tags.get(tag_names.METRIC_VALUE)
    return ModelVersionInfo(name=name, version=str(version.version), run_id=run_id,
                            metric=metric, value=None if value is None else float(value),
                            alias=alias)


def register_best(name: str, *, experiment: str, metric: str, split: str = "val",
                  tracking_uri: str | None = None, alias: str | None = None,
                  tags: Mapping[str, Any] | None = None,
                  allow_mixed_splits: bool = False) -> ModelVersionInfo:
    """Register the run of ``experiment`` that is best on ``<split>_<metric>``.

    The run is chosen by :func:`best_run` (same split only, unless ``allow_mixed_splits``;
    no report, reproduction or tuning trial runs). The version is tagged with the selection
    (``lightsaber.metric``, ``lightsaber.metric_value``, ``lightsaber.experiment``,
    ``lightsaber.split_hash``) besides :func:`register_run`'s tags.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn.linear_model import LogisticRegression
    >>> import lightsaber as ls
    >>> tmp = tempfile.TemporaryDirectory()
    >>> uri = f"sqlite:///{Path(tmp.name) / 'mlflow.db'}"
    >>> cohort = ls.datasets.load_sample_mortality(n_patients=200)
    >>> splits = cohort.split(val=0.2, test=0.2, stratify="label", seed=0)
    >>> run = ls.fit(LogisticRegression(max_iter=500), cohort, splits, experiment="doc",
    ...              tracking_uri=uri, progress=False)
    >>> info = register_best("mortality", experiment="doc", metric="auc_roc", tracking_uri=uri,
    ...                      alias="champion")
    >>> info.uri, info.run_id == run.run_id
    ('models:/mortality/1', True)
    >>> from lightsaber.serving import load_pipeline
    >>> pipeline = load_pipeline("models:/mortality@champion", tracking_uri=uri)
    >>> pipeline.task
    'classification'
    >>> tmp.cleanup()
    """
    run_id, value = best_run(experiment, metric, split=split, tracking_uri=tracking_uri,
                             allow_mixed_splits=allow_mixed_splits)
    selection = {tag_names.METRIC: f"{split}_{metric}", tag_names.METRIC_VALUE: value,
                 tag_names.EXPERIMENT: experiment}
    split_hash = tracking_client(tracking_uri)[0].get_run(run_id).data.tags.get(SPLIT_HASH_TAG)
    if split_hash:
        selection[SPLIT_HASH_TAG] = split_hash
    return register_run(run_id, name, tracking_uri=tracking_uri, alias=alias,
                        tags={**selection, **dict(tags or {})})


def download_model(source: str, client: MlflowClient, uri: str, dst: str) -> Path:
    """Local folder of a pyfunc model given a run id, ``runs:/``, ``models:/`` URI or path.

    A model downloaded from a run (a run id, ``runs:/RUN_ID/model``, or a registered version
    whose files are its run's ``model/`` artifact) is checked against the sha256 digests the
    run recorded when it logged the model (tag ``lightsaber.model_digests``, see
    :mod:`lightsaber.tracking.integrity`) before it is returned, so before anything in it is
    unpickled. A model that cannot be checked (a local folder, a run logged before digests
    were recorded, any other source) is returned with an
    :class:`~lightsaber.exceptions.UnverifiedModelWarning`.

    Parameters
    ----------
    source : str
        A run id, ``runs:/RUN_ID/model``, ``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, or
        the path of a saved pyfunc model folder (returned as it is).
    client : mlflow.MlflowClient
        Client on the store (see :func:`lightsaber.tracking.client.tracking_client`).
    uri : str
        The store's resolved URI (for error messages, credentials removed).
    dst : str
        Folder to download into.

    Raises
    ------
    ModelIntegrityError
        When a file of the downloaded model was changed, removed or added after logging.
    """
    local = Path(source)
    if "://" not in source and ":/" not in source and local.exists():
        folder = _model_folder(local, source)
        _unverified(f"{source!r} is a local folder: no run records its digests")
        return folder
    folder, run_id, path = _download(source, client, uri, dst)
    why = _verify(folder, client, source, run_id, path)  # raises when a file changed
    folder = _model_folder(folder, source)
    if why is not None:
        _unverified(why)
    return folder


def _unverified(why: str) -> None:
    from lightsaber.exceptions import UnverifiedModelWarning

    warnings.warn(f"the model's integrity cannot be verified: {why}. It is loaded as it is; "
                  "load only models from stores whose writers you trust (docs/security.md).",
                  UnverifiedModelWarning, stacklevel=2)


def _verify(folder: Path, client: MlflowClient, source: str, run_id: str | None,
            path: str | None) -> str | None:
    """Check a downloaded model against its run's digests; why it cannot be, if it cannot."""
    from lightsaber.tracking.integrity import run_digests, verify_model

    if run_id is None or (path or "").strip("/") != MODEL_ARTIFACT:
        return f"the files of {source!r} are not a run's '{MODEL_ARTIFACT}' artifact"
    expected = run_digests(client, run_id)
    if expected is None:
        return (f"run {run_id} was logged without model digests (before lightsaber recorded "
                "them)")
    label = f"run {run_id}" if source in (run_id, f"runs:/{run_id}/{path}") else (
        f"{source} (run {run_id})")
    verify_model(folder, expected, label)
    return None


def _model_folder(folder: Path, source: str) -> Path:
    """``folder`` if it holds an MLflow model, else a RegistryError (no temporary path shown)."""
    if not (folder / "MLmodel").is_file():
        raise RegistryError(
            f"{source!r} holds no logged model (no MLmodel file in its '{MODEL_ARTIFACT}' "
            "artifact): refit with log_model=True (YAML tracking.log_model: true), or give the "
            "run that logged it.")
    return folder


def _download(source: str, client: MlflowClient, uri: str, dst: str
              ) -> tuple[Path, str | None, str | None]:
    """The downloaded folder, the run it came from and its path in the run's artifacts."""
    from mlflow.exceptions import MlflowException

    from lightsaber.tracking.predictions import download_tree

    try:
        if source.startswith("models:/"):
            name, version, alias = parse_model_uri(source)
            mv = (client.get_model_version_by_alias(name, alias) if alias is not None
                  else client.get_model_version(name, version))
            base = client.get_run(mv.run_id).info.artifact_uri.rstrip("/") if mv.run_id else ""
            if mv.run_id and mv.source.startswith(base + "/"):
                path = mv.source[len(base) + 1:]
                return download_tree(client, mv.run_id, path, dst), mv.run_id, path
            from mlflow.artifacts import download_artifacts

            from lightsaber.tracking.quiet import quiet_artifact_downloads

            with quiet_artifact_downloads():
                return Path(download_artifacts(artifact_uri=mv.source, dst_path=dst,
                                               tracking_uri=uri)), None, None
        if source.startswith("runs:/"):
            run_id, _, path = source[len("runs:/"):].partition("/")
            path = path or MODEL_ARTIFACT
            return download_tree(client, run_id, path, dst), run_id, path
        if re.fullmatch(r"[0-9a-f]{32}", source):
            return download_tree(client, source, MODEL_ARTIFACT, dst), source, MODEL_ARTIFACT
    except MlflowException as err:
        raise RegistryError(f"could not resolve model {source!r}: {err}") from err
    raise RegistryError(
        f"cannot load a model from {source!r}: give a run id, runs:/RUN_ID/model, "
        "models:/NAME/VERSION, models:/NAME@ALIAS or a local model folder.")
