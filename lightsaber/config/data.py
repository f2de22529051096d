"""Config -> cohort, splits and preprocessor, with errors that name the config key.

Declared files and columns are checked before any table is read in full: a missing file names
``data.static`` (say), a missing column names ``data.event`` and lists the columns present
(column names only, never values).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightsaber.config.errors import suggest
from lightsaber.config.schema import CallSpec, ExperimentConfig, FileData
from lightsaber.config.targets import add_project, instantiate
from lightsaber.data.cohort import Cohort
from lightsaber.data.preprocess import Preprocessor, TabularPreprocessor
from lightsaber.data.sequences import SequencePreprocessor
from lightsaber.data.splits import Splits
from lightsaber.exceptions import ConfigError, Issue, LightsaberError

__all__ = ["build_cohort", "build_preprocessor", "build_splits"]

_ROLE_KEYS = ("static", "targets", "longitudinal")


def _columns(path: Path) -> list[str] | None:
    """Column names of a CSV/Parquet file without reading its rows (``None``: unknown type)."""
    import pandas as pd

    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    if name.endswith((".csv", ".csv.gz", ".tsv")):
        return list(pd.read_csv(path, nrows=0, sep="\t" if name.endswith(".tsv") else ",").columns)
    return None


def _missing_column(path: str, column: str, present: list[str], role: str) -> Issue:
    close = suggest(column, present)
    listed = ", ".join(present[:30]) + (", ..." if len(present) > 30 else "")
    return Issue(path, f"column not found in the {role} table", column, listed,
                 f"did you mean '{close}'?" if close else "")


def _check_files(spec: FileData) -> None:
    issues: list[Issue] = []
    columns: dict[str, list[str] | None] = {}
    for role in _ROLE_KEYS:
        value = getattr(spec, role)
        if value is None:
            continue
        path = Path(value)
        if not path.is_file():
            issues.append(Issue(f"data.{role}", "file not found", value,
                                "a CSV (.csv, .csv.gz, .tsv) or Parquet (.parquet, .pq) file"))
            continue
        try:
            columns[role] = _columns(path)
        except Exception as exc:  # unreadable file
            issues.append(Issue(f"data.{role}", f"cannot read: {type(exc).__name__}: {exc}",
                                value))
    if issues:
        raise ConfigError(issues)
    if spec.static is None and spec.longitudinal is None:
        raise ConfigError.at("data.static", "required key is missing",
                             allowed="a static table, a longitudinal table, or both")
    outcome_role = "targets" if spec.targets is not None else "static"
    checks: list[tuple[str, str | None, list[str]]] = [
        (f"data.{key}", getattr(spec, key), [outcome_role])
        for key in ("id", "label", "duration", "event")]
    if spec.targets is not None and spec.static is not None:
        checks.append(("data.id", spec.id, ["static"]))
    for key in ("features", "exclude", "categorical"):
        value = getattr(spec, key)
        if isinstance(value, list):
            checks += [(f"data.{key}[{i}]", col, ["static"]) for i, col in enumerate(value)]
    checks += [(f"data.meta[{i}]", col, ["static", "targets"]) for i, col in enumerate(spec.meta)]
    if spec.longitudinal is not None:
        checks += [("data.id", spec.id, ["longitudinal"]), ("data.time", spec.time,
                                                             ["longitudinal"])]
        if isinstance(spec.longitudinal_features, list):
            checks += [(f"data.longitudinal_features[{i}]", col, ["longitudinal"])
                       for i, col in enumerate(spec.longitudinal_features)]
    for path, column, roles in checks:
        if column is None:
            continue
        known = [columns.get(r) for r in roles if r in columns]
        if not known or any(k is None for k in known):
            continue
        present = [c for k in known for c in k]
        if column not in present:
            issues.append(_missing_column(path, column, present, roles[0]))
    if issues:
        raise ConfigError(issues)


def build_cohort(config: ExperimentConfig) -> Cohort:
    """The cohort the ``data`` section describes (files, or a user ``_target_`` function).

    Examples
    --------
    >>> from lightsaber.config.loading import load_config
    >>> cfg = load_config({"data": {"_target_": "lightsaber.data.datasets.load_sksurv",
    ...                             "name": "whas500"}, "model": {"_target_": "x.y"}})
    >>> build_cohort(cfg).n_patients
    500
    """
    if config.project is not None:
        if not Path(config.project).is_dir():
            raise ConfigError.at("project", "folder not found", value=config.project,
                                 allowed="the folder holding your own modules")
        add_project(config.project)
    spec = config.data
    if isinstance(spec, CallSpec):
        cohort = instantiate(spec.model_dump(by_alias=True), "data")
        if not isinstance(cohort, Cohort):
            raise ConfigError.at("data._target_", "must return a lightsaber Cohort",
                                 value=type(cohort).__name__,
                                 allowed="a function returning lightsaber.Cohort")
        return cohort
    _check_files(spec)
    if spec.causes is not None and (spec.event is None or spec.duration is None):
        raise ConfigError.at("data.causes", "competing causes name the codes of the event "
                             "column, but data.duration / data.event are not set",
                             value=spec.causes, allowed="set data.duration and data.event (the "
                             "column holding 0 = censored, 1, 2, ... = the causes)")
    kwargs: dict[str, Any] = spec.model_dump()
    static, targets = kwargs.pop("static"), kwargs.pop("targets")
    try:
        return Cohort.from_files(static, targets, **kwargs)
    except LightsaberError as exc:
        key = "data.causes" if spec.causes is not None and "cause" in str(exc) else "data"
        raise ConfigError.at(key, f"the cohort is invalid: {exc}") from exc


def build_splits(config: ExperimentConfig, cohort: Cohort) -> Splits:
    """The ``split`` section applied to ``cohort``."""
    spec = config.split
    try:
        if spec.column is not None:
            return Splits.from_column(cohort, spec.column, spec.mapping)
        return Splits.random(cohort, val=spec.val, test=spec.test,
                             calibration=spec.calibration, stratify=spec.stratify,
                             group=spec.group, folds=spec.folds, seed=spec.seed)
    except LightsaberError as exc:
        text = str(exc)
        key = next((k for k in ("column", "stratify", "group", "folds")
                    if getattr(spec, k) is not None and (k in text or str(getattr(spec, k))
                                                         in text)), None)
        raise ConfigError.at(f"split.{key}" if key else "split", str(exc),
                             value=getattr(spec, key) if key else spec.model_dump()) from exc


def build_preprocessor(config: ExperimentConfig, cohort: Cohort, sequences: bool
                       ) -> Preprocessor:
    """The ``preprocess`` section as a :class:`~lightsaber.data.Preprocessor`.

    Default tabular settings leave ``tabular`` unset (``ls.fit``'s default); sequences get a
    :class:`~lightsaber.data.SequencePreprocessor` when the model reads them.
    """
    spec = config.preprocess
    tabular = spec.tabular.model_dump()
    defaults = type(spec.tabular)().model_dump()
    tab = None if tabular == defaults else TabularPreprocessor(categorical=cohort.categorical,
                                                               **tabular)
    sequence = None
    if sequences:
        seq = spec.sequence.model_dump() if spec.sequence is not None else {}
        sequence = SequencePreprocessor(**seq)
    return Preprocessor(tabular=tab, sequence=sequence)
