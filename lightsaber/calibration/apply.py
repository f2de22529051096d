"""Calibration inside ``ls.fit``: choose the calibrator, fit it on held-out rows, report.

``ls.fit(..., calibrate=...)`` calls :func:`calibrate_fitted` after the model is trained and its
uncalibrated metrics are computed. The calibrator is fitted on the cohort's ``calibration``
split when there is one, else on ``val``, and **never on test**. :func:`calibrate_fitted`
changes none of its arguments: it returns a :class:`CalibrationResult` with the fitted
calibrator, and ``ls.fit`` attaches that to the
:class:`~lightsaber.serving.pipeline.FittedPipeline` (``pipeline.calibrator``), so
``run.pipeline.predict``, the logged pyfunc model and ``run.predictions`` are calibrated. Each
split's metrics are then those of the calibrated predictions, and the uncalibrated ones stay
next to them with the prefix ``uncalibrated_`` (MLflow: ``test_ece`` and
``test_uncalibrated_ece``).

Competing risks: a :class:`~lightsaber.calibration.CompetingRecalibrator` recalibrates each
cause's cumulative incidence; ``run.predictions`` (and the logged predictions) hold the
recalibrated :class:`~lightsaber.metrics.CompetingPrediction` objects, and the per-cause metrics
(``ibs_competing_death`` ...) are those of the recalibrated CIFs, next to
``uncalibrated_ibs_competing_death``. The pipeline carries the recalibrator.
"""

from __future__ import annotations

import dataclasses
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lightsaber.calibration.classifier import CLASSIFIER_METHODS, ProbabilityCalibrator
from lightsaber.calibration.competing import COMPETING_METHODS, CompetingRecalibrator
from lightsaber.calibration.scores import model_scores
from lightsaber.calibration.survival import SURVIVAL_METHODS, SurvivalRecalibrator
from lightsaber.exceptions import CalibrationError

__all__ = [
    "CalibrationReport",
    "CalibrationResult",
    "UNCALIBRATED_PREFIX",
    "calibrate_fitted",
    "out_of_fold",
    "resolve_calibrator",
]

#: Folds of the held-out check of a calibrator fitted on the validation split.
CHECK_FOLDS = 5

#: Prefix of the uncalibrated metrics kept next to the calibrated ones.
UNCALIBRATED_PREFIX = "uncalibrated_"


#: Per task: the calibrator class and its method names.
_CALIBRATORS: dict[str, tuple[type, tuple[str, ...]]] = {
    "classification": (ProbabilityCalibrator, CLASSIFIER_METHODS),
    "survival": (SurvivalRecalibrator, SURVIVAL_METHODS),
    "competing": (CompetingRecalibrator, COMPETING_METHODS),
}


def resolve_calibrator(calibrate: Any, task: str
                       ) -> ProbabilityCalibrator | SurvivalRecalibrator | CompetingRecalibrator:
    """An unfitted calibrator for ``task`` from a method name or a calibrator object.

    A calibrator object is cloned (:func:`sklearn.base.clone`: same parameters, not fitted), so
    the one passed in is never changed.

    Examples
    --------
    >>> resolve_calibrator("isotonic", "survival")
    SurvivalRecalibrator(method='isotonic')
    >>> resolve_calibrator("temperature", "classification")
    ProbabilityCalibrator(method='temperature')
    >>> resolve_calibrator("cloglog", "competing")
    CompetingRecalibrator()
    """
    wanted, methods = _CALIBRATORS.get(task, _CALIBRATORS["survival"])
    if isinstance(calibrate, tuple(cls for cls, _ in _CALIBRATORS.values())):
        if not isinstance(calibrate, wanted):
            raise CalibrationError(
                f"calibrate={calibrate!r} does not apply to a {task} model; use a "
                f"{wanted.__name__} (or one of the method names {list(methods)}).")
        from sklearn.base import clone

        return clone(calibrate)
    if calibrate not in methods:
        raise CalibrationError(
            f"calibrate must be one of {list(methods)} for a {task} model (or a "
            f"{wanted.__name__}); got {calibrate!r}.")
    return wanted(calibrate)


@dataclass
class CalibrationReport:
    """What calibration did in one ``ls.fit`` run (``run.calibration``).

    Attributes
    ----------
    method : str
    fitted_on : {"calibration", "val"}
        The split the calibrator was fitted on.
    evaluated_on : str
        The split of the before/after figures (``test`` when present).
    summary : dict
        Fitted parameters and before/after assessments; aggregates only, logged as
        ``calibration/summary.json``.
    """

    method: str
    fitted_on: str
    evaluated_on: str
    summary: dict[str, Any]
    _plot: dict[str, Any] = field(default_factory=dict, repr=False)

    def figures(self) -> dict[str, Any]:
        """``{artifact file name: matplotlib Figure}`` of the before/after comparison."""
        from lightsaber.metrics import plots

        p, split = self._plot, self.evaluated_on
        if not p:
            return {}
        if "proba" in p:
            return {f"reliability_{split}.png": plots.plot_reliability_before_after(
                p["y"], p["proba"][0], p["proba"][1],
                title=f"Reliability diagram ({split}, {self.method})")}
        if "cif" in p:
            if not p["horizons"]:
                return {}
            return {f"cif_calibration_{split}.png": plots.plot_cif_calibration_before_after(
                p["y"], p["cif"][0], p["cif"][1], p["times"], p["horizons"],
                causes=p["causes"])}
        out = {}
        if p["horizons"]:
            out[f"survival_calibration_{split}.png"] = \
                plots.plot_survival_calibration_before_after(
                    p["y"], p["survival"][0], p["survival"][1], p["times"], p["horizons"])
        if "d_calibration" in p:
            out[f"d_calibration_{split}.png"] = plots.plot_d_calibration(*p["d_calibration"])
        return out

    def log_to(self, run: Any) -> None:
        """Log the summary and the figures under ``calibration/`` of a tracked run."""
        run.log_params({"calibration": {"method": self.method, "fitted_on": self.fitted_on}})
        run.log_dict(self.summary, "calibration/summary.json")
        with tempfile.TemporaryDirectory() as tmp:
            for name, figure in self.figures().items():
                path = Path(tmp) / name
                figure.savefig(path, dpi=100)
                run.log_artifact(path, "calibration")


def _merge(calibrated: dict[str, float], raw: dict[str, float]) -> dict[str, float]:
    return {**calibrated, **{f"{UNCALIBRATED_PREFIX}{k}": v for k, v in raw.items()}}


@dataclass(frozen=True)
class CalibrationResult:
    """What :func:`calibrate_fitted` returns; its inputs are left as they were.

    Attributes
    ----------
    calibrator : ProbabilityCalibrator, SurvivalRecalibrator or CompetingRecalibrator
        Fitted; the caller attaches it to the pipeline (``pipeline.calibrator``).
    predictions : dict
        Per split: classification, the calibrated probabilities (as
        :meth:`~lightsaber.serving.pipeline.FittedPipeline.predict_from_input` gives them
        once the calibrator is attached); survival, the predictions given (the risk score is
        not recalibrated); competing risks, the recalibrated
        :class:`~lightsaber.metrics.CompetingPrediction`.
    scored : dict
        Per split, what the metrics were computed on: the calibrated probabilities
        (classification), the recalibrated :class:`~lightsaber.metrics.SurvivalPrediction`
        (survival) or :class:`~lightsaber.metrics.CompetingPrediction` (competing risks).
    scores : dict
        Per split, the calibrated metrics and the uncalibrated ones as ``uncalibrated_*``.
    report : CalibrationReport
    """

    calibrator: ProbabilityCalibrator | SurvivalRecalibrator | CompetingRecalibrator
    predictions: dict[str, Any]
    scored: dict[str, Any]
    scores: dict[str, dict[str, float]]
    report: CalibrationReport

    def __iter__(self) -> Iterator[Any]:
        """Deprecated: the old 4-tuple, ``(predictions, scored or None, scores, report)``."""
        warnings.warn("calibrate_fitted() returns a CalibrationResult: use its attributes "
                      "(result.predictions, result.scored, result.scores, result.report) and "
                      "attach result.calibrator to the pipeline yourself; unpacking it as a "
                      "4-tuple will be removed in 0.2.", DeprecationWarning, stacklevel=2)
        survival = isinstance(self.calibrator, SurvivalRecalibrator)
        return iter((self.predictions, self.scored if survival else None, self.scores,
                     self.report))


def calibrate_fitted(calibrate: Any, pipeline: Any, X: dict[str, Any], y: dict[str, Any], *,
                     predictions: dict[str, np.ndarray], scores: dict[str, dict[str, float]],
                     metrics: Sequence[str] | None = None, scored: dict[str, Any] | None = None,
                     times: np.ndarray | None = None,
                     score: Callable[[str, Any], dict[str, float]] | None = None
                     ) -> CalibrationResult:
    """Fit a calibrator on the calibration (else validation) split and re-score every split.

    Nothing passed in is changed, the pipeline included: attach ``result.calibrator`` to the
    pipeline to calibrate its predictions.

    Parameters
    ----------
    calibrate : str or calibrator
        See :func:`resolve_calibrator`.
    pipeline : FittedPipeline
        Read for its fitted model (``pipeline.model``) and ``pipeline.task``.
    X, y : dict
        Model inputs and outcomes per split name.
    predictions, scores : dict
        Uncalibrated predictions and metrics per split (competing risks: the
        :class:`~lightsaber.metrics.CompetingPrediction` of each split).
    metrics : sequence of str, optional
        Metric names, as given to ``ls.fit``.
    scored, times
        Survival only: uncalibrated :class:`~lightsaber.metrics.SurvivalPrediction` per split,
        and their evaluation grid.
    score : callable, optional
        ``score(split, prediction) -> {metric: value}``, how the caller scores a split
        (``ls.fit`` passes its own, which records skipped metrics). Default:
        :func:`~lightsaber.metrics.split_scores.evaluate_split` with ``metrics`` (and the survival
        context).

    Returns
    -------
    CalibrationResult
        The fitted calibrator, calibrated predictions, what was scored, the metrics
        (calibrated + ``uncalibrated_*``) and the report.
    """
    from lightsaber.metrics.split_scores import evaluate_split

    task = pipeline.task
    model = pipeline.model
    if score is None:
        def score(name: str, prediction: Any) -> dict[str, float]:
            extra = ({"y_train": y["train"], "times": times}
                     if task in ("survival", "competing") else {})
            return evaluate_split(task, y[name], prediction, metrics=metrics, **extra)
    calibrator = resolve_calibrator(calibrate, task)
    fitted_on = "calibration" if "calibration" in X else "val"
    evaluated_on = "test" if "test" in X else fitted_on
    if task == "competing":
        return _calibrate_competing(calibrator, y, predictions, scores, score, fitted_on,
                                    evaluated_on)
    if task == "classification":
        raw = {name: model_scores(model, X[name]) for name in X}
        calibrator.fit(raw[fitted_on], y[fitted_on], classes=getattr(model, "classes_", None))
        new = {}
        for name in X:
            proba = np.asarray(calibrator.predict_proba(raw[name]), dtype=float)
            new[name] = proba[:, 1] if proba.shape[1] == 2 else proba
        new_scores = {name: _merge(score(name, new[name]), scores.get(name, {})) for name in X}
        plot = {}
        if new[evaluated_on].ndim == 1:
            plot = {"y": y[evaluated_on], "proba": (predictions[evaluated_on], new[evaluated_on])}
        report = CalibrationReport(calibrator.method, fitted_on, evaluated_on,
                                   {**calibrator.summary(), "fitted_on": fitted_on}, plot)
        return CalibrationResult(calibrator, new, new, new_scores, report)
    if scored is None or times is None or scored[fitted_on].survival is None:
        raise CalibrationError(
            f"calibrate={calibrate!r} needs survival curves, but {type(model).__name__} "
            "predicts only a risk score (give it predict_survival_function, or "
            "baseline='breslow' for a SurvivalNet).")
    calibrator.fit(scored[fitted_on].survival, y[fitted_on], times=times)
    new_scored = {name: dataclasses.replace(
        part, survival=calibrator.transform(part.survival, times)) for name, part in
        scored.items()}
    new_scores = {name: _merge(score(name, new_scored[name]), scores.get(name, {}))
                  for name in X}
    plot = _survival_plot(y[evaluated_on], scored[evaluated_on].survival,
                          new_scored[evaluated_on].survival, times, calibrator.horizons_)
    summary = {**calibrator.summary(), "fitted_on": fitted_on, **_survival_assessment(plot)}
    report = CalibrationReport(calibrator.method, fitted_on, evaluated_on, summary, plot)
    return CalibrationResult(calibrator, dict(predictions), new_scored, new_scores, report)


def _calibrate_competing(calibrator: CompetingRecalibrator, y: dict[str, Any],
                         predictions: dict[str, Any], scores: dict[str, dict[str, float]],
                         score: Callable[[str, Any], dict[str, float]], fitted_on: str,
                         evaluated_on: str) -> CalibrationResult:
    """The competing-risks branch of :func:`calibrate_fitted` (CIFs of every split)."""
    from lightsaber.calibration.competing import assess_competing_calibration, report_horizons

    calibrator.fit(predictions[fitted_on], y[fitted_on])
    new = {name: calibrator.transform(part) for name, part in predictions.items()}
    new_scores = {name: _merge(score(name, new[name]), scores.get(name, {})) for name in new}
    before, after, target = predictions[evaluated_on], new[evaluated_on], y[evaluated_on]
    horizons = report_horizons(target, calibrator.horizons_)
    plot = {"y": target, "cif": (before.cif, after.cif), "times": before.times,
            "horizons": horizons, "causes": {k: before.causes[k] for k in horizons}}
    summary: dict[str, Any] = {**calibrator.summary(), "fitted_on": fitted_on}
    if horizons:
        summary["assessment"] = {
            name: assess_competing_calibration(target, part, horizons)
            for name, part in (("uncalibrated", before), ("calibrated", after))}
    report = CalibrationReport(calibrator.method, fitted_on, evaluated_on, summary, plot)
    return CalibrationResult(calibrator, new, new, new_scores, report)


def _survival_plot(y: np.ndarray, before: np.ndarray, after: np.ndarray, times: np.ndarray,
                   horizons: np.ndarray) -> dict[str, Any]:
    from lightsaber.metrics import MetricError, d_calibration

    inside = [float(h) for h in horizons if y["time"].min() <= h < y["time"].max()]
    plot: dict[str, Any] = {"y": y, "survival": (before, after), "times": times,
                            "horizons": inside}
    try:
        plot["d_calibration"] = (d_calibration(y, before, times), d_calibration(y, after, times))
    except MetricError:
        pass
    return plot


def _survival_assessment(plot: dict[str, Any]) -> dict[str, Any]:
    from lightsaber.calibration.assessment import assess_survival_calibration
    from lightsaber.metrics import MetricError

    if not plot["horizons"]:
        return {}
    out = {}
    for name, curves in zip(("uncalibrated", "calibrated"), plot["survival"], strict=True):
        try:
            out[name] = assess_survival_calibration(plot["y"], curves, plot["times"],
                                                    plot["horizons"]).summary()
        except MetricError:
            return {}
    return {"assessment": out}


def out_of_fold(calibrate: Any, task: str, y: Any, inputs: np.ndarray,
                times: np.ndarray | None = None, *, classes: Any = None,
                folds: int = CHECK_FOLDS, seed: int = 0) -> np.ndarray:
    """Calibrated predictions for rows ``y``, each from a calibrator fitted on the other folds.

    An honest estimate of what calibration does to rows it has not seen, without touching the
    test split: ``ls.fit`` uses it to check a calibrator fitted on the validation split (its
    in-sample effect there is optimistic).

    Parameters
    ----------
    calibrate : str or calibrator
        As for :func:`resolve_calibrator`.
    task : {"classification", "survival", "competing"}
    y : array-like or structured array
        Labels, or survival or competing-risks outcomes.
    inputs : numpy.ndarray or CompetingPrediction
        Classification: logit-scale scores (:func:`~lightsaber.calibration.scores.model_scores`);
        survival: survival curves on ``times``; competing risks: the
        :class:`~lightsaber.metrics.CompetingPrediction` of the rows.
    times : numpy.ndarray, optional
        Survival: the curves' evaluation grid.
    classes : array-like, optional
        Classification: the model's classes.
    folds : int
        Stratified folds (by label, event or cause).
    seed : int

    Returns
    -------
    numpy.ndarray or CompetingPrediction
        Positive-class probabilities (binary), class probabilities, survival curves, or the
        recalibrated competing-risks prediction.

    Raises
    ------
    CalibrationError
        A fold cannot be calibrated (e.g. it holds a single class).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=400)
    >>> y = (rng.random(400) < 1 / (1 + np.exp(-z))).astype(int)
    >>> p = out_of_fold("sigmoid", "classification", y, 3 * z, classes=[0, 1])
    >>> p.shape, bool(((p > 0) & (p < 1)).all())
    ((400,), True)
    """
    from sklearn.model_selection import StratifiedKFold

    strata = np.asarray(y["event"] if task == "survival" else
                        y["status"] if task == "competing" else y)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    if task == "competing":
        return _out_of_fold_competing(calibrate, y, inputs, splitter.split(strata, strata))
    out: np.ndarray | None = None
    for fit_rows, held_rows in splitter.split(np.zeros(len(strata)), strata):
        calibrator = resolve_calibrator(calibrate, task)
        if task == "survival":
            calibrator.fit(inputs[fit_rows], y[fit_rows], times=times)
            part = calibrator.transform(inputs[held_rows], times)
        else:
            calibrator.fit(inputs[fit_rows], np.asarray(y)[fit_rows], classes=classes)
            proba = calibrator.predict_proba(inputs[held_rows])
            part = proba[:, 1] if proba.shape[1] == 2 else proba
        if out is None:
            out = np.empty((len(strata), *part.shape[1:]))
        out[held_rows] = part
    assert out is not None
    return out


def _out_of_fold_competing(calibrate: Any, y: Any, prediction: Any,
                           folds: Iterator[tuple[np.ndarray, np.ndarray]]) -> Any:
    """Out-of-fold recalibrated CIFs: each fold's rows from a recalibrator fitted on the rest."""
    from lightsaber.metrics.prediction import CompetingPrediction

    cif = {k: np.empty_like(v) for k, v in prediction.cif.items()}
    for fit_rows, held_rows in folds:
        calibrator = resolve_calibrator(calibrate, "competing")
        calibrator.fit(prediction.take(fit_rows), y[fit_rows])
        part = calibrator.transform({k: v[held_rows] for k, v in prediction.cif.items()},
                                    prediction.times)
        for k in cif:
            cif[k][held_rows] = part[k]
    return CompetingPrediction(cif=cif, times=prediction.times, causes=prediction.causes)
