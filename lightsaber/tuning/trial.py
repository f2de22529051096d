"""One trial: fit a configuration on train, score it on validation, record it as a child run.

Used by the in-process loop and, unchanged, inside Ray workers. The test split is removed from
the splits before :func:`lightsaber.fit` sees them, so no trial can look at it.
"""

from __future__ import annotations

import json
import math
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sklearn.base import clone

from lightsaber.data.cohort import Cohort
from lightsaber.data.splits import Splits
from lightsaber.exceptions import LightsaberError, TrialDiverged
from lightsaber.tracking import tags as tag_names

__all__ = ["ERROR_CLASSES", "TrialDiverged", "TrialOutcome", "classify_error", "study_splits"]

#: The error classes a failed trial is recorded with.
ERROR_CLASSES = ("exception", "diverged", "out_of_memory")
#: Longest traceback summary stored with a failed trial (characters).
MAX_TRACEBACK = 2000

ROLE, STUDY, TRIAL = tag_names.ROLE, tag_names.STUDY, tag_names.TRIAL
SAMPLE, STATUS, ERROR = tag_names.TRIAL_SAMPLE, tag_names.TRIAL_STATUS, tag_names.TRIAL_ERROR
NODE = tag_names.TRIAL_NODE


@dataclass
class TrialOutcome:
    """What one trial produced (also rebuilt from MLflow when a study resumes).

    Attributes
    ----------
    number : int
        Trial number within the study (0-based, in order of start).
    vals : dict
        The flat sample (see :mod:`lightsaber.tuning.space`).
    record : dict
        Parameter values as shown in the trials table.
    status : {"ok", "failed"}
    value : float
        The objective (validation metric); NaN for a failed trial.
    metrics : dict
        Every validation (``val_*``) and training (``train_*``) metric.
    error_class, error : str or None
        For a failed trial: one of :data:`ERROR_CLASSES`, and the traceback summary.
    fit_seconds : float
        Time spent in :func:`lightsaber.fit`.
    run_id : str or None
        The child run.
    node : str or None
        Ray node id (Ray backend only).
    predictions : ndarray or None
        Validation predictions, kept in memory for the ablation table only.
    """

    number: int
    vals: dict[str, float]
    record: dict[str, Any]
    status: str
    value: float = math.nan
    metrics: dict[str, float] = field(default_factory=dict)
    error_class: str | None = None
    error: str | None = None
    fit_seconds: float = math.nan
    run_id: str | None = None
    node: str | None = None
    predictions: np.ndarray | None = field(default=None, repr=False)


def study_splits(splits: Splits) -> Splits:
    """``splits`` with only train and val: what every trial is fitted and scored on."""
    keep = {name: pos for name, pos in splits.indices.items() if name in ("train", "val")}
    parts = splits.manifest.get("splits") if isinstance(splits.manifest, Mapping) else None
    manifest = dict(splits.manifest)
    if isinstance(parts, Mapping):
        manifest["splits"] = {k: v for k, v in parts.items() if k in keep}
    return replace(splits, indices=keep, manifest=manifest, folds=())


def classify_error(err: BaseException) -> str:
    """Map an exception to ``"out_of_memory"``, ``"diverged"`` or ``"exception"``.

    Examples
    --------
    >>> classify_error(MemoryError()), classify_error(TrialDiverged("loss is nan"))
    ('out_of_memory', 'diverged')
    >>> classify_error(ValueError("Input X contains NaN.")), classify_error(KeyError("x"))
    ('diverged', 'exception')
    >>> classify_error(ValueError("no metric: proba has NaN or infinite values in 9 row(s)"))
    'diverged'
    """
    name = type(err).__name__
    text = str(err).lower()
    if isinstance(err, MemoryError) or name == "OutOfMemoryError" or "out of memory" in text:
        return "out_of_memory"
    non_finite = ("contains nan" in text or "infinity" in text
                  or ("nan" in text.replace(",", " ").split() and "infinite" in text))
    if isinstance(err, (TrialDiverged, FloatingPointError)) or (
            isinstance(err, (ValueError, Warning)) and non_finite):
        return "diverged"
    return "exception"


def summarise_traceback(err: BaseException) -> str:
    """Exception type, message and the last frames (file:line in function); no locals."""
    frames = traceback.extract_tb(err.__traceback__)[-4:]
    lines = [f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}" for f in frames]
    head = "".join(traceback.format_exception_only(type(err), err)).strip()
    return (head + "\n" + "\n".join(lines))[:MAX_TRACEBACK]


def _check_finite(result: Any) -> None:
    for row in result.history:
        for key, value in row.items():
            if key.endswith("loss") and isinstance(value, float) and not math.isfinite(value):
                raise TrialDiverged(f"{key} became {value} at epoch {row.get('epoch', '?')}.")
    val = np.asarray(result.predictions.get("val"), dtype=float)
    if val.size and not np.all(np.isfinite(val)):
        raise TrialDiverged(f"{int(np.sum(~np.isfinite(val)))} validation predictions are "
                            "NaN or infinite.")


def fit_trial(model: Any, cohort: Cohort, splits: Splits, params: Mapping[str, Any],
              metric: str, fit_kwargs: Mapping[str, Any]) -> tuple[Any, float]:
    """Fit one configuration (train/val only, untracked); returns ``(ls.Run, seconds)``."""
    from lightsaber.training.fit import fit

    estimator = clone(model).set_params(**params)
    start = time.perf_counter()
    result = fit(estimator, cohort, splits, track=False, progress=False, **fit_kwargs)
    seconds = time.perf_counter() - start
    _check_finite(result)
    if metric not in result.metrics.get("val", {}):
        raise LightsaberError(f"the validation metrics have no {metric!r}; they have "
                              f"{sorted(result.metrics.get('val', {}))}.")
    return result, seconds


def run_trial(model: Any, cohort: Cohort, splits: Splits, *, number: int,
              vals: Mapping[str, float], params: Mapping[str, Any], record: Mapping[str, Any],
              metric: str, fit_kwargs: Mapping[str, Any], logger: Any,
              keep_predictions: bool = False, node: str | None = None) -> TrialOutcome:
    """Run one trial and record it through ``logger`` (a :class:`~.store.TrialLogger`).

    Exceptions from the fit are caught, classified and recorded; ``KeyboardInterrupt`` and
    other ``BaseException`` leave the child run ``KILLED`` (retried on resume).
    """
    outcome = TrialOutcome(number, dict(vals), dict(record), "failed", node=node)
    with logger.trial(outcome) as child:
        try:
            result, outcome.fit_seconds = fit_trial(model, cohort, splits, params, metric,
                                                    fit_kwargs)
        except Exception as err:  # recorded, and the study goes on
            outcome.error_class = classify_error(err)
            outcome.error = summarise_traceback(err)
        else:
            outcome.status = "ok"
            outcome.metrics = {f"{split}_{name}": float(value)
                               for split in ("train", "val")
                               for name, value in result.metrics.get(split, {}).items()}
            outcome.value = float(result.metrics["val"][metric])
            if keep_predictions:
                outcome.predictions = np.asarray(result.predictions["val"])
            if child is not None:
                child.log_history(result.history)
    return outcome


def outcome_tags(outcome: TrialOutcome) -> dict[str, str]:
    """Tags that record how a trial failed.

    A successful trial needs none: its run status, ``FINISHED``, says it all (one request
    fewer per trial).
    """
    if outcome.status == "ok":
        return {}
    return {STATUS: outcome.status, ERROR: str(outcome.error_class),
            tag_names.TRIAL_TRACEBACK: str(outcome.error)}


def record_params(record: Mapping[str, Any]) -> dict[str, Any]:
    """Trial parameters as MLflow params (lists as JSON, ``None`` as ``"None"``)."""
    out = {}
    for key, value in record.items():
        if isinstance(value, (list, tuple, dict)):
            out[key] = json.dumps(value, default=str)
        elif value is None or isinstance(value, (str, int, float, bool)):
            out[key] = str(value)
        else:
            out[key] = getattr(value, "__qualname__", repr(value))
    return out
