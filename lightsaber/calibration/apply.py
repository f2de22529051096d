"""Calibration inside ``ls.fit``: choose the calibrator, fit it on held-out rows, report.

``ls.fit(..., calibrate=...)`` calls :func:`calibrate_fitted` after the model is trained and its
uncalibrated metrics are computed. The calibrator is fitted on the cohort's ``calibration``
split when there is one, else on ``val``, and **never on test**; it is attached to the
:class:`~lightsaber.serving.pipeline.FittedPipeline`, so ``run.pipeline.predict``, the logged
pyfunc model and ``run.predictions`` are calibrated. Each split's metrics are then those of the
calibrated predictions, and the uncalibrated ones stay next to them with the prefix
``uncalibrated_`` (MLflow: ``test_ece`` and ``test_uncalibrated_ece``).
"""

from __future__ import annotations

import copy
import dataclasses
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lightsaber.calibration.classifier import CLASSIFIER_METHODS, ProbabilityCalibrator
from lightsaber.calibration.survival import SURVIVAL_METHODS, SurvivalRecalibrator
from lightsaber.exceptions import CalibrationError

__all__ = ["UNCALIBRATED_PREFIX", "CalibrationReport", "calibrate_fitted", "out_of_fold",
           "resolve_calibrator"]

#: Folds of the held-out check of a calibrator fitted on the validation split.
CHECK_FOLDS = 5

#: Prefix of the uncalibrated metrics kept next to the calibrated ones.
UNCALIBRATED_PREFIX = "uncalibrated_"


def resolve_calibrator(calibrate: Any, task: str) -> ProbabilityCalibrator | SurvivalRecalibrator:
    """An unfitted calibrator for ``task`` from a method name or a calibrator object.

    Examples
    --------
    >>> resolve_calibrator("isotonic", "survival")
    SurvivalRecalibrator(method='isotonic', horizons=None)
    >>> resolve_calibrator("temperature", "classification")
    ProbabilityCalibrator(method='temperature')
    """
    if isinstance(calibrate, (ProbabilityCalibrator, SurvivalRecalibrator)):
        wanted = ProbabilityCalibrator if task == "classification" else SurvivalRecalibrator
        if not isinstance(calibrate, wanted):
            raise CalibrationError(
                f"calibrate={calibrate!r} does not apply to a {task} model; use a "
                f"{wanted.__name__}.")
        return copy.deepcopy(calibrate)
    methods = CLASSIFIER_METHODS if task == "classification" else SURVIVAL_METHODS
    if calibrate not in methods:
        raise CalibrationError(
            f"calibrate must be one of {list(methods)} for a {task} model (or a "
            f"ProbabilityCalibrator / SurvivalRecalibrator); got {calibrate!r}.")
    if task == "classification":
        return ProbabilityCalibrator(calibrate)
    return SurvivalRecalibrator(calibrate)


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
        from lightsaber.calibration import plots

        p, split = self._plot, self.evaluated_on
        if not p:
            return {}
        if "proba" in p:
            return {f"reliability_{split}.png": plots.plot_reliability_before_after(
                p["y"], p["proba"][0], p["proba"][1],
                title=f"Reliability diagram ({split}, {self.method})")}
        out = {}
        if p["horizons"]:
            out[f"survival_calibration_{split}.png"] = \
                plots.plot_survival_calibration_before_after(
                    p["y"], p["survival"][0], p["survival"][1], p["grid"], p["horizons"])
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


def calibrate_fitted(calibrate: Any, pipeline: Any, X: dict[str, Any], y: dict[str, Any], *,
                     predictions: dict[str, np.ndarray], scores: dict[str, dict[str, float]],
                     metrics: Sequence[str] | None = None, scored: dict[str, Any] | None = None,
                     grid: np.ndarray | None = None,
                     score: Callable[[str, Any], dict[str, float]] | None = None
                     ) -> tuple[dict[str, np.ndarray], dict[str, Any] | None,
                                dict[str, dict[str, float]], CalibrationReport]:
    """Fit a calibrator on the calibration (else validation) split and re-score every split.

    Parameters
    ----------
    calibrate : str or calibrator
        See :func:`resolve_calibrator`.
    pipeline : FittedPipeline
        With its fitted model; ``pipeline.calibrator`` is set.
    X, y : dict
        Model inputs and outcomes per split name.
    predictions, scores : dict
        Uncalibrated predictions and metrics per split.
    metrics : sequence of str, optional
        Metric names, as given to ``ls.fit``.
    scored, grid
        Survival only: uncalibrated :class:`~lightsaber.metrics.SurvivalPrediction` per split,
        and their time grid.
    score : callable, optional
        ``score(split, prediction) -> {metric: value}``, how the caller scores a split
        (``ls.fit`` passes its own, which records skipped metrics). Default:
        :func:`~lightsaber.metrics.split_scores.evaluate_split` with ``metrics`` (and the survival
        context).

    Returns
    -------
    predictions, scored, scores, report
        Calibrated predictions, recalibrated survival predictions (survival; else ``None``),
        metrics (calibrated + ``uncalibrated_*``), and the report.
    """
    from lightsaber.metrics.split_scores import evaluate_split

    task = pipeline.task
    if score is None:
        def score(name: str, prediction: Any) -> dict[str, float]:
            extra = {"y_train": y["train"], "grid": grid} if task == "survival" else {}
            return evaluate_split(task, y[name], prediction, metrics=metrics, **extra)
    calibrator = resolve_calibrator(calibrate, task)
    fitted_on = "calibration" if "calibration" in X else "val"
    evaluated_on = "test" if "test" in X else fitted_on
    if task == "classification":
        calibrator.fit(pipeline.model, X[fitted_on], y[fitted_on])
        pipeline.calibrator = calibrator
        new = {name: pipeline.predict_from_input(X[name]) for name in X}
        new_scores = {name: _merge(score(name, new[name]), scores.get(name, {})) for name in X}
        plot = {}
        if new[evaluated_on].ndim == 1:
            plot = {"y": y[evaluated_on], "proba": (predictions[evaluated_on], new[evaluated_on])}
        report = CalibrationReport(calibrator.method, fitted_on, evaluated_on,
                                   {**calibrator.summary(), "fitted_on": fitted_on}, plot)
        return new, None, new_scores, report
    if scored is None or grid is None or scored[fitted_on].survival is None:
        raise CalibrationError(
            f"calibrate={calibrate!r} needs survival curves, but {type(pipeline.model).__name__} "
            "predicts only a risk score (give it predict_survival_function, or "
            "baseline='breslow' for a SurvivalNet).")
    calibrator.fit(y[fitted_on], scored[fitted_on].survival, grid)
    pipeline.calibrator = calibrator
    new_scored = {name: dataclasses.replace(
        part, survival=calibrator.transform(part.survival, grid)) for name, part in
        scored.items()}
    new_scores = {name: _merge(score(name, new_scored[name]), scores.get(name, {}))
                  for name in X}
    report = CalibrationReport(calibrator.method, fitted_on, evaluated_on,
                               {**calibrator.summary(), "fitted_on": fitted_on},
                               _survival_plot(y[evaluated_on], scored[evaluated_on].survival,
                                              new_scored[evaluated_on].survival, grid,
                                              calibrator.horizons_))
    report.summary.update(_survival_assessment(report._plot))
    return predictions, new_scored, new_scores, report


def _survival_plot(y: np.ndarray, before: np.ndarray, after: np.ndarray, grid: np.ndarray,
                   horizons: np.ndarray) -> dict[str, Any]:
    from lightsaber.metrics import MetricError, d_calibration

    inside = [float(h) for h in horizons if y["time"].min() <= h < y["time"].max()]
    plot: dict[str, Any] = {"y": y, "survival": (before, after), "grid": grid,
                            "horizons": inside}
    try:
        plot["d_calibration"] = (d_calibration(y, before, grid), d_calibration(y, after, grid))
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
            out[name] = assess_survival_calibration(plot["y"], curves, plot["grid"],
                                                    plot["horizons"]).summary()
        except MetricError:
            return {}
    return {"assessment": out}


def out_of_fold(calibrate: Any, task: str, y: Any, inputs: np.ndarray,
                grid: np.ndarray | None = None, *, classes: Any = None,
                folds: int = CHECK_FOLDS, seed: int = 0) -> np.ndarray:
    """Calibrated predictions for rows ``y``, each from a calibrator fitted on the other folds.

    An honest estimate of what calibration does to rows it has not seen, without touching the
    test split: ``ls.fit`` uses it to check a calibrator fitted on the validation split (its
    in-sample effect there is optimistic).

    Parameters
    ----------
    calibrate : str or calibrator
        As for :func:`resolve_calibrator`.
    task : {"classification", "survival"}
    y : array-like or structured array
        Labels, or survival outcomes.
    inputs : numpy.ndarray
        Classification: logit-scale scores (:func:`~lightsaber.calibration.scores.model_scores`);
        survival: survival curves on ``grid``.
    grid : numpy.ndarray, optional
        Survival: the curves' time grid.
    classes : array-like, optional
        Classification: the model's classes.
    folds : int
        Stratified folds (by label or event).
    seed : int

    Returns
    -------
    numpy.ndarray
        Positive-class probabilities (binary), class probabilities, or survival curves.

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

    strata = np.asarray(y["event"] if task == "survival" else y)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    out: np.ndarray | None = None
    for fit_rows, held_rows in splitter.split(np.zeros(len(strata)), strata):
        calibrator = resolve_calibrator(calibrate, task)
        if task == "survival":
            calibrator.fit(y[fit_rows], inputs[fit_rows], grid)
            part = calibrator.transform(inputs[held_rows], grid)
        else:
            calibrator.fit_scores(inputs[fit_rows], np.asarray(y)[fit_rows], classes=classes)
            proba = calibrator.predict_proba_scores(inputs[held_rows])
            part = proba[:, 1] if proba.shape[1] == 2 else proba
        if out is None:
            out = np.empty((len(strata), *part.shape[1:]))
        out[held_rows] = part
    assert out is not None
    return out
