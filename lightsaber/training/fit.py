"""``ls.fit``: one call takes any model through train -> validate -> test and tracks it."""

from __future__ import annotations

import inspect
import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone

from lightsaber.data.cohort import Cohort
from lightsaber.data.fingerprint import cohort_fingerprint
from lightsaber.data.landmarks import LandmarkCohort
from lightsaber.data.preprocess import Preprocessor
from lightsaber.data.sequences import SequencePreprocessor
from lightsaber.data.splits import Splits
from lightsaber.exceptions import (
    CalibrationWarning,
    EvaluationError,
    FitError,
    IgnoredArgumentWarning,
    SmallSplitWarning,
)
from lightsaber.metrics.split_scores import default_times, score_split, small_split_message
from lightsaber.models.protocol import (
    competing_prediction,
    is_net,
    survival_prediction,
    task_of,
    uses_sequences,
)
from lightsaber.serving.pipeline import FittedPipeline, describe_inputs
from lightsaber.tracking.run_warnings import RunWarnings
from lightsaber.tracking.tags import DATA_FINGERPRINT
from lightsaber.training.competing import check_competing_splits, check_competing_task
from lightsaber.training.inputs import check_fit_inputs
from lightsaber.training.run import Run

__all__ = ["FLATTEN_STATS", "fit"]

#: Aggregates used when a model that reads only static features meets longitudinal data.
FLATTEN_STATS = ("last", "mean", "min", "max", "count")


try:  # raised by scikit-learn's ``fit`` for a hyperparameter out of range
    from sklearn.utils._param_validation import InvalidParameterError as _InvalidParameterError
except ImportError:  # pragma: no cover - older or newer scikit-learn without it
    class _InvalidParameterError(Exception):  # type: ignore[no-redef]
        """Placeholder that is never raised."""


def resolve_task(model: Any, cohort: Cohort, task: str | None) -> str:
    inferred = task_of(model)
    wanted = task or inferred
    if wanted is None:
        wanted = cohort.task if cohort.task in ("survival", "competing") else "classification"
    if wanted not in ("classification", "survival", "competing"):
        raise FitError(f"task must be 'classification', 'survival' or 'competing'; got "
                       f"{wanted!r}.")
    check_competing_task(model, cohort, wanted, inferred)
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
    if is_net(model):  # lightsaber nets validate on the cohort's own split
        model.fit(X["train"], y["train"], val=(X["val"], y["val"]))
        return model, search
    if _accepts_fit_arg(model, "X_val") and hasattr(model, "early_stopping"):
        if early_stopping is not None:
            model.set_params(early_stopping=True, n_iter_no_change=early_stopping)
        model.fit(X["train"], y["train"], X_val=X["val"], y_val=y["val"])
        return model, search
    model.fit(X["train"], y["train"])
    return model, search


def _stops_early(model: Any) -> bool:
    """Whether ``early_stopping=`` can reach ``model`` (a net, or a validation-set estimator)."""
    if _is_search(model):
        return _stops_early(model.estimator)
    return is_net(model) or (_accepts_fit_arg(model, "X_val")
                                       and hasattr(model, "early_stopping"))


def _prepare_model(model: Any, early_stopping: int | None, monitor: str | None,
                   progress: bool, notes: RunWarnings | None = None) -> Any:
    model = clone(model)
    if early_stopping is not None and not _stops_early(model) and notes is not None:
        notes.warn("ignored_argument",
                   f"early_stopping={early_stopping} has no effect on {type(model).__name__}: it "
                   "cannot stop on a validation split (lightsaber nets and scikit-learn "
                   "estimators with fit(X_val=...) such as HistGradientBoosting* can). Remove the "
                   "argument, or limit the model's own iterations.", IgnoredArgumentWarning)
    if is_net(model):
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


def estimator_params(model: Any, deep: bool = False) -> dict[str, Any]:
    params = {}
    for key, value in model.get_params(deep=deep).items():
        if key.startswith("_"):
            continue
        if isinstance(value, (int, float, str, bool)) or value is None:
            params[key] = value
        elif isinstance(value, type) or callable(value):
            params[key] = getattr(value, "__qualname__", type(value).__name__)
        elif isinstance(value, (tuple, list, dict)):
            params[key] = json.dumps(value, default=str, sort_keys=isinstance(value, dict))
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
        progress: bool = True, calibrate: Any = None,
        times: Sequence[float] | None = None) -> Run:
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
    task : {"classification", "survival", "competing"}, optional
        Default: inferred from the model, then from the cohort. ``"competing"``: a model
        with ``predict_cumulative_incidence`` (:class:`~lightsaber.models.CauseSpecificCox`,
        :class:`~lightsaber.models.FineGray`) on a cohort with ``causes=``; its metrics are
        reported per cause as ``<metric>_<cause name>`` and ``Run.predictions`` holds
        :class:`~lightsaber.metrics.CompetingPrediction` objects. A single-event model on a
        cohort with competing causes is refused.
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
        ``"cloglog"``, ``"isotonic"`` or a :class:`~lightsaber.calibration.SurvivalRecalibrator`;
        competing risks: ``"cloglog"``, ``"isotonic"`` or a
        :class:`~lightsaber.calibration.CompetingRecalibrator` (each cause's CIF, so
        ``Run.predictions`` hold recalibrated CIFs).
        Metrics are then those of the calibrated predictions, with the uncalibrated ones kept
        as ``uncalibrated_<metric>``; figures are logged under ``calibration/``. See
        ``docs/calibration.md``.
    times : sequence of float, optional
        Survival and competing risks: the evaluation times (strictly positive, within the
        training follow-up).
        Survival curves are evaluated at these times, and ``ibs``, ``ibll`` and
        ``cumulative_auc`` integrate over every one of them that lies inside a split's
        follow-up. Default: 50 quantiles (5% to 95%) of the training event times. Logged as
        ``evaluation/times.json``; see ``docs/metrics.md``. Competing risks: the CIFs are
        evaluated at these times; the default uses the event times of any cause.

    Returns
    -------
    Run

    Raises
    ------
    InputTypeError
        ``model``, ``cohort`` or ``splits`` of the wrong type.
    FitError
        Arguments that do not fit together (e.g. a single-event model on a cohort with
        competing causes, a train split without one of the causes); raised before anything
        is tracked.
    EvaluationError
        No metric at all could be computed on the test split (the run ends ``FAILED``).

    Warns
    -----
    MetricSkippedWarning
        A default metric could not be computed on a split (the reason is given and tagged).
    SmallSplitWarning
        A split has fewer than 10 events (survival) or positives (classification).
    IgnoredArgumentWarning
        An argument has no effect on this model (e.g. ``early_stopping``).
    CalibrationWarning
        ``calibrate=`` made the validation metric the calibrator targets worse.
    """
    check_fit_inputs(model, cohort, splits, "ls.fit")
    for name in ("train", "val"):
        if name not in splits.indices:
            raise FitError(f"splits have no '{name}' part; ls.fit needs train and val.")
    task = resolve_task(model, cohort, task)
    if times is not None and task not in ("survival", "competing"):
        raise FitError(f"times= sets the evaluation times of survival models; this is a {task} "
                       "model. Remove the argument.")
    if task == "competing":
        check_competing_splits(cohort, splits)
    times = (_check_times(times, cohort.subset(splits.train).target(task))
             if times is not None else None)
    notes = RunWarnings()
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
        if preprocessor is not None:
            notes.warn("ignored_argument",
                       f"the preprocessor's sequence step is not used: {type(model).__name__} "
                       "reads static features only (longitudinal data reach it as the `flatten` "
                       "aggregates). Drop `sequence=` or use a sequence model.",
                       IgnoredArgumentWarning)
        pre.set_params(sequence=None)
    if flatten_window is not None and flat is None:
        notes.warn("ignored_argument",
                   f"flatten_window={flatten_window!r} has no effect: "
                   + ("the cohort has no longitudinal data." if not cohort.has_longitudinal
                      else "the model reads the sequences themselves (or flatten=None)."),
                   IgnoredArgumentWarning)
    prepared = _prepare_model(model, early_stopping, monitor, progress, notes)
    parts = splits.cohorts(cohort)

    if not track:
        return _train_and_evaluate(prepared, cohort, splits, parts, pre, task, flat, sequences,
                                   early_stopping, metrics, run=None, calibrate=calibrate,
                                   times=times, notes=notes)
    from lightsaber.tracking import tracked_run
    from lightsaber.tracking.client import tracking_client
    from lightsaber.tracking.lifecycle import check_access

    check_access(*tracking_client(tracking_uri), experiment, need="edit")  # before training
    with tracked_run(experiment, tracking_uri=tracking_uri, run_name=run_name,
                     tags={"task": task, **dict(tags or {})}) as run:
        run.log_params({"task": task, "model": {"class": type(prepared).__name__,
                                                **estimator_params(prepared)},
                        "preprocess": {"flatten": json.dumps(flat),
                                       "sequences": sequences},
                        "early_stopping": early_stopping, "monitor": monitor})
        run.log_manifest(splits.manifest)
        if isinstance(cohort, LandmarkCohort):
            run.log_params({"landmarks": {k: json.dumps(v) if isinstance(v, list) else v
                                          for k, v in cohort.design.to_dict().items()}})
        run.set_tags({DATA_FINGERPRINT: cohort_fingerprint(cohort)})  # no ids: see its docs
        run.log_config(dict(config) if config is not None else _call_config(
            prepared, pre, task, early_stopping, monitor, metrics, flat, times))
        run.log_environment()
        result = _train_and_evaluate(prepared, cohort, splits, parts, pre, task, flat, sequences,
                                     early_stopping, metrics, run=run, calibrate=calibrate,
                                     times=times, notes=notes)
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
        result.warnings = notes.messages
        result.run_id = run.run_id
        result.tracking_uri = run.tracking_uri
        return result


def _call_config(model: Any, pre: Preprocessor, task: str, early_stopping: int | None,
                 monitor: str | None, metrics: Sequence[str] | None,
                 flat: dict[str, Any] | None, times: np.ndarray | None = None
                 ) -> dict[str, Any]:
    """The resolved ``ls.fit`` call (estimator settings, not data) when no config is given."""
    from lightsaber.tracking import flatten_params

    return {"task": task,
            "model": {"class": f"{type(model).__module__}.{type(model).__qualname__}",
                      "params": estimator_params(model)},
            "preprocessor": {"class": type(pre).__qualname__,
                             "params": flatten_params(estimator_params(pre, deep=True))},
            "early_stopping": early_stopping, "monitor": monitor,
            "metrics": list(metrics) if metrics else None, "flatten": flat,
            "times": None if times is None else times.tolist()}


def _check_times(times: Any, y_train: np.ndarray) -> np.ndarray:
    """The user's evaluation grid, validated against the training follow-up."""
    try:
        grid = np.asarray(times, dtype=float)
    except (TypeError, ValueError) as err:
        raise FitError(f"times must be a list of numbers; got {times!r}.") from err
    grid = np.atleast_1d(grid)
    if grid.ndim != 1 or grid.size < 2 or not np.all(np.isfinite(grid)) or np.any(grid <= 0):
        raise FitError(f"times must hold at least two finite, positive numbers (the evaluation "
                       f"grid); got {np.asarray(times).tolist()!r}.")
    if np.any(np.diff(grid) <= 0):
        raise FitError(f"times must be strictly increasing; got {grid.tolist()!r}. Sort them "
                       "and drop duplicates.")
    last = float(y_train["time"].max())
    if grid[-1] > last:
        raise FitError(f"times go up to {grid[-1]:g}, beyond the training follow-up (last "
                       f"time {last:g}); survival curves and IPCW weights are not defined "
                       "there. Use times up to the follow-up of the training split.")
    return grid


#: The metric each post-hoc calibration method optimises (checked on the val split).
CALIBRATION_TARGETS = {"isotonic": "brier", "sigmoid": "log_loss", "platt": "log_loss",
                       "temperature": "log_loss", "beta": "log_loss"}


#: Relative worsening of the targeted validation metric below which calibration is not flagged.
CALIBRATION_TOLERANCE = 0.005


def _check_calibration(calibrate: Any, report: Any, pipeline: FittedPipeline, X: dict[str, Any],
                       y: dict[str, Any], before: Any, after: Any, times: np.ndarray | None,
                       notes: RunWarnings) -> None:
    """Warn when calibration makes the metric it optimises worse on rows it has not seen.

    The metric is compared on the val split, uncalibrated vs calibrated. A calibrator fitted on
    the calibration split is judged on val as it is; one fitted on val itself would look good
    there in-sample, so it is judged out of fold (5 calibrators, each fitted on four fifths of
    val and applied to the rest). Test is never looked at.
    """
    import dataclasses

    from lightsaber.calibration import CalibrationError, out_of_fold
    from lightsaber.calibration.scores import model_scores
    from lightsaber.metrics import MetricError, evaluate
    from lightsaber.metrics.split_scores import survival_context

    task = pipeline.task
    if task == "competing":
        _check_competing_calibration(calibrate, report, y, before, after, times, notes)
        return
    survival = task == "survival"
    target = "ibs" if survival else CALIBRATION_TARGETS.get(report.method, "log_loss")
    context = ({k: v for k, v in survival_context(y["val"], y["train"], times).items()
                if k in ("y_train", "times") and v is not None} if survival else {})
    if survival and "times" not in context:
        return
    how = "on the val split"
    try:
        if report.fitted_on == "val":
            inputs = before.survival if survival else model_scores(pipeline.model, X["val"])
            held_out = out_of_fold(calibrate, task, y["val"], inputs, times,
                                   classes=getattr(pipeline.model, "classes_", None))
            after = dataclasses.replace(before, survival=held_out) if survival else held_out
            how = "on the val split, out of fold (5 folds: the calibrator was fitted on val)"
        old = evaluate(task, y["val"], before, metrics=[target], **context)[target]
        new = evaluate(task, y["val"], after, metrics=[target], **context)[target]
    except (CalibrationError, MetricError):
        return  # too few rows per fold, or the metric undefined: nothing to judge
    if new > old * (1.0 + CALIBRATION_TOLERANCE) + 1e-12:
        notes.warn("calibration",
                   f"calibrate={report.method!r} makes {target} worse {how}: {old:.4f} -> "
                   f"{new:.4f}. The calibrated model is kept; compare the uncalibrated_* "
                   "metrics, and consider another method, a calibration split "
                   "(cohort.split(..., calibration=0.2)) or calibrate=None.", CalibrationWarning)


def _check_competing_calibration(calibrate: Any, report: Any, y: dict[str, Any], before: Any,
                                 after: Any, times: np.ndarray, notes: RunWarnings) -> None:
    """:func:`_check_calibration` for competing risks: ``ibs_competing`` of each cause on val.

    The recalibrator fits each cause's CIF separately, so each cause is judged on its own: a
    cause whose integrated Brier score on val gets worse by more than the tolerance is named in
    one warning. Out of fold when the recalibrator was fitted on val, as for survival.
    """
    from lightsaber.calibration import CalibrationError, out_of_fold
    from lightsaber.metrics import MetricError, evaluate
    from lightsaber.metrics.split_scores import competing_context

    how = "on the val split"
    try:
        if report.fitted_on == "val":
            after = out_of_fold(calibrate, "competing", y["val"], before)
            how = "on the val split, out of fold (5 folds: the recalibrator was fitted on val)"
    except (CalibrationError, MetricError):
        return  # too few events of a cause per fold: nothing to judge
    worse = []
    for cause in sorted(after.cif):
        context = competing_context(y["val"], y["train"], times, cause)
        if context["times"] is None:
            continue
        wanted = {k: context[k] for k in ("y_train", "times", "cause")}
        try:
            old = evaluate("competing", y["val"], before, metrics=["ibs_competing"],
                           **wanted)["ibs_competing"]
            new = evaluate("competing", y["val"], after, metrics=["ibs_competing"],
                           **wanted)["ibs_competing"]
        except MetricError:
            continue
        if new > old * (1.0 + CALIBRATION_TOLERANCE) + 1e-12:
            worse.append(f"ibs_competing_{before.causes[cause]} {old:.4f} -> {new:.4f}")
    if worse:
        notes.warn("calibration",
                   f"calibrate={report.method!r} makes the integrated Brier score worse {how}: "
                   f"{'; '.join(worse)}. The recalibrated model is kept; compare the "
                   "uncalibrated_* metrics, and consider another method, a calibration split "
                   "(cohort.split(..., calibration=0.2)) or calibrate=None.", CalibrationWarning)


def _train_and_evaluate(model: Any, cohort: Cohort, splits: Splits, parts: dict[str, Cohort],
                        pre: Preprocessor, task: str, flat: dict[str, Any] | None,
                        sequences: bool, early_stopping: int | None,
                        metrics: Sequence[str] | None, run: Any, calibrate: Any = None,
                        times: np.ndarray | None = None, notes: RunWarnings | None = None
                        ) -> Run:
    notes = notes if notes is not None else RunWarnings()
    train = parts["train"]
    design = cohort.design if isinstance(cohort, LandmarkCohort) else None
    landmarks = ({name: part.landmarks for name, part in parts.items()}
                 if design is not None else None)
    if flat is not None:
        parts = {name: part.flatten(**flat) for name, part in parts.items()}
    pre.fit(parts["train"])
    inputs = describe_inputs(train, flat, sequences)
    pipeline = FittedPipeline(preprocessor=pre, model=model, task=task, flatten=flat,
                              sequences=sequences, id_column=cohort.id_column,
                              time_column=getattr(cohort.long_table, "time", None),
                              landmark_design=design.to_dict() if design is not None else None,
                              **inputs)
    X = {name: pipeline.model_input(pre.transform(part)) for name, part in parts.items()}
    y = {name: part.target(task) for name, part in parts.items()}
    for name in parts:
        message = small_split_message(task, name, y[name], causes=cohort.causes)
        if message is not None:
            notes.warn("small_split", message, SmallSplitWarning)
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
    competing = task == "competing"
    timed = task in ("survival", "competing")  # evaluated on a time grid
    survival = task == "survival"
    given_times = times is not None
    if timed and times is None:
        times = default_times(y["train"])
    if competing:  # the CIF of each predicted cause on the grid; risk = CIF at its end
        predictions = {name: competing_prediction(fitted, X[name], times, cohort.causes)
                       for name in parts}
    else:
        predictions = {name: pipeline.predict_from_input(X[name]) for name in parts}

    classes = None if timed else getattr(fitted, "classes_", None)

    def score(name: str, prediction: Any) -> dict[str, float]:
        result = score_split(task, y[name], prediction, metrics=metrics,
                             y_train=y["train"] if timed else None, times=times,
                             classes=classes)
        notes.skip(name, result.skipped)
        return result.metrics

    scored = ({name: survival_prediction(fitted, X[name], predictions[name], times)
               for name in parts} if survival else predictions)
    scores = {name: score(name, scored[name]) for name in parts}
    calibration = None
    if calibrate is not None:  # fitted on calibration (else val) rows, never on test
        from lightsaber.calibration import calibrate_fitted

        before = scored
        result = calibrate_fitted(
            calibrate, pipeline, X, y, predictions=predictions, scores=scores, metrics=metrics,
            scored=scored if survival else None, times=times if survival else None, score=score)
        pipeline.calibrator = result.calibrator
        predictions, scored, scores = result.predictions, result.scored, result.scores
        calibration = result.report
        _check_calibration(calibrate, calibration, pipeline, X, y, before["val"], scored["val"],
                           times, notes)
    if timed:
        _warn_dropped_times(times, given_times, y, notes)
    if landmarks is not None and task in ("survival", "classification"):
        at_horizon = scored
        if survival and calibrate is None:  # curves read exactly at the horizon, not the grid
            from lightsaber.metrics.landmark_scores import EVALUATION_FRACTION

            at = np.array([design.horizon * EVALUATION_FRACTION])
            at_horizon = {name: survival_prediction(fitted, X[name], predictions[name], at)
                          for name in parts}
        _score_landmarks(task, design, landmarks, y, at_horizon, scores, notes)
    if run is not None:  # per-split predictions + outcomes, keyed by split position, no ids
        from lightsaber.tracking.predictions import log_predictions

        log_predictions(run, task, y, scored, metrics=metrics, times=times if timed else None,
                        classes=classes, causes=cohort.causes if competing else None)
        if timed:
            run.log_dict(_times_record(times, given_times, y), "evaluation/times.json")
    final = "test" if "test" in scores else "val"
    if not scores[final]:
        reasons = notes.skipped.get(final, {})
        listed = "; ".join(f"{k}: {v}" for k, v in reasons.items()) or "no metric applies"
        if run is not None:
            run.set_tags(notes.tags())
        raise EvaluationError(
            f"no metric could be computed on the {final} split, so this fit has no result "
            f"({listed}). Check the outcome of that split (events, classes) and its size.")
    if run is not None and notes.records:
        run.set_tags(notes.tags())
    history = list(getattr(fitted, "history", []) or [])
    return Run(metrics=scores, predictions=predictions, pipeline=pipeline, run_id=None,
               task=task, manifest=splits.manifest, history=[dict(row) for row in history],
               search=search, calibration=calibration, warnings=notes.messages,
               skipped={k: dict(v) for k, v in notes.skipped.items()},
               times=times if timed else None)


def _score_landmarks(task: str, design: Any, landmarks: dict[str, np.ndarray],
                     y: dict[str, Any], scored: dict[str, Any], scores: dict[str, dict],
                     notes: RunWarnings) -> None:
    """Add ``{metric}_at_{s}`` and ``{metric}_pooled`` to each split's scores (landmark fits)."""
    from lightsaber.metrics.landmark_scores import landmark_scores

    for name in scores:
        extra, skipped = landmark_scores(
            task, y[name], scored[name], landmarks[name], horizon=design.horizon,
            times=design.times, y_train=y["train"] if task == "survival" else None,
            train_landmarks=landmarks["train"] if task == "survival" else None)
        scores[name].update(extra)
        notes.skip(name, skipped)


def _warn_dropped_times(times: np.ndarray, given: bool, y: dict[str, Any],
                        notes: RunWarnings) -> None:
    """Warn when times the user asked for lie outside a split's follow-up (left out there)."""
    if not given:
        return
    from lightsaber.metrics.split_scores import integration_times

    for name, target in y.items():
        used = integration_times(target, times)
        if used.size < times.size:
            notes.warn("times",
                       f"{times.size - used.size} of the {times.size} requested times lie before "
                       f"the {name} split's first event or at/after its last follow-up time "
                       f"({target['time'].max():g}) and are left out of its integrated metrics "
                       "(ibs, ibll, cumulative_auc; competing risks: cause_specific_auc, "
                       "ibs_competing).", IgnoredArgumentWarning)


def _times_record(times: np.ndarray, given: bool, y: dict[str, Any]) -> dict[str, Any]:
    """``evaluation/times.json``: the times and the part of it each split integrates over."""
    from lightsaber.metrics.split_scores import GRID_POINTS, integration_times

    splits = {}
    for name, target in y.items():
        inside = integration_times(target, times)
        splits[name] = {"n_times": int(inside.size),
                        "first": float(inside[0]) if inside.size else None,
                        "last": float(inside[-1]) if inside.size else None}
    source = ("times= argument" if given else
              f"default: {GRID_POINTS} quantiles (5% to 95%) of the training event times"
              + (" (any cause)" if "status" in (y["train"].dtype.names or ()) else ""))
    return {"source": source, "times": times.tolist(), "c_index_uno_tau": float(times[-1]),
            "splits": splits}


def _log_pipeline(run: Any, pipeline: FittedPipeline) -> None:
    """Log the pyfunc under ``model/`` and record its files' sha256 in the run.

    The digests (tag ``lightsaber.model_digests``) are computed from the folder as written
    here, before upload, and checked by ``load_pipeline`` before anything is unpickled.
    """
    from lightsaber.serving.pyfunc import save_pipeline_model
    from lightsaber.tracking.integrity import digests_tag, model_digests
    from lightsaber.tracking.tags import MODEL_DIGESTS

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model"
        save_pipeline_model(pipeline, path)
        tag = digests_tag(model_digests(path))  # fails before upload when too many files
        run.client.log_artifacts(run.run_id, str(path), "model")
        run.set_tags({MODEL_DIGESTS: tag})
