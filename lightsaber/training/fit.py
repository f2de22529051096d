"""``ls.fit``: one call takes any model through train -> validate -> test and tracks it."""

from __future__ import annotations

import inspect
import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone

from lightsaber.data.cohort import Cohort
from lightsaber.data.preprocess import Preprocessor
from lightsaber.data.sequences import SequencePreprocessor
from lightsaber.data.splits import Splits
from lightsaber.exceptions import LightsaberError
from lightsaber.training.evaluate import evaluate_split, survival_prediction, time_grid
from lightsaber.training.pipeline import FittedPipeline, describe_inputs, model_task, uses_sequences

__all__ = ["FLATTEN_STATS", "Run", "fit"]

#: Aggregates used when a model that reads only static features meets longitudinal data.
FLATTEN_STATS = ("last", "mean", "min", "max", "count")


try:  # raised by scikit-learn's ``fit`` for a hyperparameter out of range
    from sklearn.utils._param_validation import InvalidParameterError as _InvalidParameterError
except ImportError:  # pragma: no cover - older or newer scikit-learn without it
    class _InvalidParameterError(Exception):  # type: ignore[no-redef]
        """Placeholder that is never raised."""


class FitError(LightsaberError, ValueError):
    """``ls.fit`` was called with arguments that cannot work together."""


@dataclass
class Run:
    """What ``ls.fit`` returns.

    Attributes
    ----------
    metrics : dict
        ``{split: {metric: value}}`` for train, val and test (and calibration if present).
    predictions : dict
        ``{split: array}``: positive-class probability (classification) or risk (survival),
        in the order of ``splits[split]``.
    pipeline : FittedPipeline
        Preprocessing + fitted model; ``run.pipeline.predict(new_cohort)``.
    run_id : str or None
        MLflow run id (``None`` when ``track=False``).
    task : str
    manifest : dict
        The split manifest.
    history : list of dict
        Per-epoch history for nets (skorch's), else empty.
    search : dict
        ``best_params`` and ``cv_results`` when the model was a scikit-learn search.
    calibration : CalibrationReport or None
        What ``calibrate=`` did (:class:`lightsaber.calibration.CalibrationReport`).
    """

    metrics: dict[str, dict[str, float]]
    predictions: dict[str, np.ndarray]
    pipeline: FittedPipeline
    run_id: str | None
    task: str
    manifest: dict[str, Any]
    tracking_uri: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    search: dict[str, Any] = field(default_factory=dict)
    calibration: Any = None

    @property
    def model(self) -> Any:
        """The fitted estimator."""
        return self.pipeline.model


def _resolve_task(model: Any, cohort: Cohort, task: str | None) -> str:
    wanted = task or model_task(model)
    if wanted is None:
        wanted = "survival" if cohort.task == "survival" else "classification"
    if wanted not in ("classification", "survival"):
        raise FitError(f"task must be 'classification' or 'survival'; got {wanted!r}.")
    if wanted == "survival" and cohort.duration is None:
        raise FitError("a survival model needs a cohort with `duration` and `event`.")
    if wanted == "classification" and cohort.label is None:
        raise FitError("a classifier needs a cohort with a `label`.")
    return wanted


def _is_search(model: Any) -> bool:
    from sklearn.model_selection._search import BaseSearchCV

    return isinstance(model, BaseSearchCV)


def _accepts_fit_arg(model: Any, name: str) -> bool:
    try:
        return name in inspect.signature(model.fit).parameters
    except (TypeError, ValueError):
        return False


def _fit_model(model: Any, X: dict[str, Any], y: dict[str, Any], early_stopping: int | None
               ) -> tuple[Any, dict[str, Any]]:
    """Fit on train, validate on val; returns the fitted model and search details."""
    search: dict[str, Any] = {}
    if _is_search(model):
        from sklearn.model_selection import PredefinedSplit

        n_train, n_val = len(y["train"]), len(y["val"])
        X_pool = np.concatenate([X["train"], X["val"]])
        y_pool = np.concatenate([y["train"], y["val"]])
        fold = np.r_[np.full(n_train, -1), np.zeros(n_val, dtype=int)]
        # Candidates are fitted on train and scored on val only; the winner is then refitted on
        # train alone, never on train + val, so reported validation metrics stay honest.
        searcher = clone(model).set_params(cv=PredefinedSplit(fold), refit=False)
        searcher.fit(X_pool, y_pool)
        best = clone(searcher.estimator).set_params(**searcher.best_params_)
        search = {"best_params": searcher.best_params_,
                  "cv_results": {k: np.asarray(v).tolist() for k, v in
                                 searcher.cv_results_.items() if k.startswith(
                                     ("mean_test", "rank_test", "param"))}}
        return _fit_model(best, X, y, early_stopping)[0], search
    if hasattr(model, "_task"):  # lightsaber nets validate on the cohort's own split
        model.fit(X["train"], y["train"], validation=(X["val"], y["val"]))
        return model, search
    if _accepts_fit_arg(model, "X_val") and hasattr(model, "early_stopping"):
        if early_stopping is not None:
            model.set_params(early_stopping=True, n_iter_no_change=early_stopping)
        model.fit(X["train"], y["train"], X_val=X["val"], y_val=y["val"])
        return model, search
    model.fit(X["train"], y["train"])
    return model, search


def _prepare_model(model: Any, early_stopping: int | None, monitor: str | None,
                   progress: bool) -> Any:
    model = clone(model)
    if hasattr(model, "_task"):
        updates: dict[str, Any] = {"progress": progress}
        if early_stopping is not None:
            updates["early_stopping"] = early_stopping
        if monitor is not None:
            updates["monitor"] = monitor
        model.set_params(**updates)
    elif monitor is not None:
        raise FitError(
            f"monitor={monitor!r} applies to lightsaber nets; {type(model).__name__} uses its "
            "own stopping rule (pass early_stopping= for scikit-learn models that support it).")
    return model


def _default_preprocessor(sequences: bool) -> Preprocessor:
    return Preprocessor(sequence=SequencePreprocessor() if sequences else None)


def _flat_params(model: Any, deep: bool = False) -> dict[str, Any]:
    params = {}
    for key, value in model.get_params(deep=deep).items():
        if key.startswith("_"):
            continue
        if isinstance(value, (int, float, str, bool)) or value is None:
            params[key] = value
        elif isinstance(value, type) or callable(value):
            params[key] = getattr(value, "__qualname__", type(value).__name__)
        elif isinstance(value, (tuple, list)):
            params[key] = json.dumps(value, default=str)
        else:
            params[key] = type(value).__name__
    return params


def fit(model: Any, cohort: Cohort, splits: Splits, *, task: str | None = None,
        preprocessor: Preprocessor | None = None, early_stopping: int | None = None,
        monitor: str | None = None, metrics: Sequence[str] | None = None,
        flatten: Sequence[str] | None = FLATTEN_STATS,
        flatten_window: tuple[float | None, float | None] | None = None,
        track: bool = True, experiment: str | None = None, tracking_uri: str | None = None,
        run_name: str | None = None, tags: Mapping[str, str] | None = None,
        log_model: bool = True, config: Mapping[str, Any] | None = None,
        progress: bool = True, calibrate: Any = None) -> Run:
    """Fit ``model`` on the train split, validate on val, evaluate every split, and track it.

    Parameters
    ----------
    model : estimator
        A scikit-learn classifier, a scikit-survival estimator, a lightsaber
        :class:`~lightsaber.models.ClassifierNet` / :class:`~lightsaber.models.SurvivalNet`, or
        a scikit-learn search (``GridSearchCV`` ...) over one of those. It is cloned, never
        modified.
    cohort : Cohort
        The data.
    splits : Splits
        Must have ``train`` and ``val``; ``test`` is evaluated once at the end.
    task : {"classification", "survival"}, optional
        Default: inferred from the model, then from the cohort.
    preprocessor : Preprocessor, optional
        Fitted on the train split only. Default: imputation + scaling + one-hot, plus padded
        sequences when the model reads them.
    early_stopping : int, optional
        Patience in epochs (nets) or iterations (scikit-learn models that accept a validation
        set, e.g. ``HistGradientBoosting*``), measured on the validation split.
    monitor : str, optional
        Validation quantity for early stopping of nets: ``"loss"`` or a metric name.
    metrics : sequence of str, optional
        Metric names reported per split (default: the task's standard set).
    flatten : sequence of str or None
        Aggregates that turn longitudinal data into static features for models that do not read
        sequences; ``None`` ignores longitudinal data for them.
    flatten_window : (start, stop), optional
        Time window of those aggregates.
    track : bool, default True
        Record the run in MLflow (URI: ``tracking_uri``, else ``MLFLOW_TRACKING_URI``, else
        ``sqlite:///mlflow.db`` in the working directory).
    experiment, run_name, tags
        MLflow experiment (default ``"lightsaber"``), run name and tags.
    log_model : bool, default True
        Log the pipeline as an MLflow pyfunc model (with a synthetic input example).
    config : mapping, optional
        The resolved configuration to store with the run.
    progress : bool, default True
        Show an epoch progress bar for nets.
    calibrate : str or calibrator, optional
        Post-hoc calibration, fitted on the ``calibration`` split (else ``val``, never
        ``test``) and included in the returned and logged pipeline. Classifiers:
        ``"isotonic"``, ``"sigmoid"`` (Platt), ``"temperature"``, ``"beta"`` or a
        :class:`~lightsaber.calibration.ProbabilityCalibrator`; survival models:
        ``"cloglog"``, ``"isotonic"`` or a :class:`~lightsaber.calibration.SurvivalRecalibrator`.
        Metrics are then those of the calibrated predictions, with the uncalibrated ones kept
        as ``uncalibrated_<metric>``; figures are logged under ``calibration/``. See
        ``docs/calibration.md``.

    Returns
    -------
    Run
    """
    for name in ("train", "val"):
        if name not in splits.indices:
            raise FitError(f"splits have no '{name}' part; ls.fit needs train and val.")
    task = _resolve_task(model, cohort, task)
    if calibrate is not None:  # fail on a bad method before training, not after
        from lightsaber.calibration import resolve_calibrator

        resolve_calibrator(calibrate, task)
    sequences = uses_sequences(model.estimator if _is_search(model) else model)
    if sequences and not cohort.has_longitudinal:
        raise FitError("the model reads sequences but the cohort has no longitudinal table.")
    flat = None
    if cohort.has_longitudinal and not sequences and flatten is not None:
        flat = {"stats": tuple(flatten), "window": flatten_window}
    pre = clone(preprocessor) if preprocessor is not None else _default_preprocessor(sequences)
    if pre.sequence is not None and not sequences:
        pre.set_params(sequence=None)
    prepared = _prepare_model(model, early_stopping, monitor, progress)
    parts = splits.cohorts(cohort)

    if not track:
        return _train_and_evaluate(prepared, cohort, splits, parts, pre, task, flat, sequences,
                                   early_stopping, metrics, run=None, calibrate=calibrate)
    from lightsaber.tracking import tracked_run

    with tracked_run(experiment, tracking_uri=tracking_uri, run_name=run_name,
                     tags={"task": task, **dict(tags or {})}) as run:
        run.log_params({"task": task, "model": {"class": type(prepared).__name__,
                                                **_flat_params(prepared)},
                        "preprocess": {"flatten": json.dumps(flat),
                                       "sequences": sequences},
                        "early_stopping": early_stopping, "monitor": monitor})
        run.log_manifest(splits.manifest)
        run.log_config(dict(config) if config is not None else _call_config(
            prepared, pre, task, early_stopping, monitor, metrics, flat))
        run.log_environment()
        result = _train_and_evaluate(prepared, cohort, splits, parts, pre, task, flat, sequences,
                                     early_stopping, metrics, run=run, calibrate=calibrate)
        run.log_split_metrics(result.metrics)
        if result.calibration is not None:
            result.calibration.log_to(run)
        if result.search:
            run.log_params({"search.best": result.search["best_params"]})
            run.log_dict(result.search, "search/cv_results.json")
        report = getattr(result.model, "profile_report_", "")
        if report:
            run.log_text(report, "profiler.txt")
        if log_model:
            _log_pipeline(run, result.pipeline)
        result.run_id = run.run_id
        result.tracking_uri = run.tracking_uri
        return result


def _call_config(model: Any, pre: Preprocessor, task: str, early_stopping: int | None,
                 monitor: str | None, metrics: Sequence[str] | None,
                 flat: dict[str, Any] | None) -> dict[str, Any]:
    """The resolved ``ls.fit`` call (estimator settings, not data) when no config is given."""
    from lightsaber.tracking import flatten_params

    return {"task": task,
            "model": {"class": f"{type(model).__module__}.{type(model).__qualname__}",
                      "params": _flat_params(model)},
            "preprocessor": {"class": type(pre).__qualname__,
                             "params": flatten_params(_flat_params(pre, deep=True))},
            "early_stopping": early_stopping, "monitor": monitor,
            "metrics": list(metrics) if metrics else None, "flatten": flat}


def _train_and_evaluate(model: Any, cohort: Cohort, splits: Splits, parts: dict[str, Cohort],
                        pre: Preprocessor, task: str, flat: dict[str, Any] | None,
                        sequences: bool, early_stopping: int | None,
                        metrics: Sequence[str] | None, run: Any, calibrate: Any = None
                        ) -> Run:
    train = parts["train"]
    if flat is not None:
        parts = {name: part.flatten(**flat) for name, part in parts.items()}
    pre.fit(parts["train"])
    inputs = describe_inputs(train, flat, sequences)
    pipeline = FittedPipeline(pre, model, task, flat, sequences, cohort.id_column,
                              getattr(cohort.long_table, "time", None),
                              inputs["static_columns"], inputs["longitudinal_columns"],
                              inputs["dtypes"])
    X = {name: pipeline.model_input(pre.transform(part)) for name, part in parts.items()}
    y = {name: part.target(task) for name, part in parts.items()}
    if run is not None and hasattr(model, "log_epochs_to"):
        model.log_epochs_to(run.log_metrics)
    try:
        fitted, search = _fit_model(model, X, y, early_stopping)
    except _InvalidParameterError as exc:  # scikit-learn's own hyperparameter check
        raise FitError(f"invalid hyperparameter of {type(model).__name__}: {exc}") from exc
    if hasattr(fitted, "log_epochs_to"):
        fitted.epoch_log_ = None  # the logger holds the run: never pickle it with the model
        fitted.callbacks_ = [(n, cb) for n, cb in fitted.callbacks_ if n != "epoch_log"]
    pipeline.model = fitted
    predictions = {name: pipeline.predict_from_input(X[name]) for name in parts}
    if task == "survival":
        grid = time_grid(y["train"])
        scored = {name: survival_prediction(fitted, X[name], predictions[name], grid)
                  for name in parts}
        scores = {name: evaluate_split(task, y[name], scored[name], metrics=metrics,
                                       y_train=y["train"], grid=grid) for name in parts}
    else:
        scores = {name: evaluate_split(task, y[name], predictions[name], metrics=metrics)
                  for name in parts}
    calibration = None
    if calibrate is not None:  # fitted on calibration (else val) rows, never on test
        from lightsaber.calibration import calibrate_fitted

        survival = task == "survival"
        predictions, recalibrated, scores, calibration = calibrate_fitted(
            calibrate, pipeline, X, y, predictions=predictions, scores=scores, metrics=metrics,
            scored=scored if survival else None, grid=grid if survival else None)
        if survival:
            scored = recalibrated
    if run is not None:  # per-split predictions + outcomes, keyed by split position, no ids
        from lightsaber.tracking.predictions import log_predictions

        log_predictions(run, task, y, scored if task == "survival" else predictions,
                        metrics=metrics)
    history = list(getattr(fitted, "history", []) or [])
    return Run(metrics=scores, predictions=predictions, pipeline=pipeline, run_id=None,
               task=task, manifest=splits.manifest, history=[dict(row) for row in history],
               search=search, calibration=calibration)


def _log_pipeline(run: Any, pipeline: FittedPipeline) -> None:
    from lightsaber.training.pyfunc import save_pipeline_model

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model"
        save_pipeline_model(pipeline, path)
        run.client.log_artifacts(run.run_id, str(path), "model")
