"""Re-score a logged model on a config's data, on the run's own evaluation times and classes.

What ``lightsaber evaluate`` runs. :func:`prepare_evaluation` validates everything first (the run
and its logged config, or the config files given instead, the data and the split names) and
returns an :class:`EvaluationPlan`; :meth:`EvaluationPlan.run` then loads the logged pipeline
(:func:`lightsaber.serving.load_pipeline`) and scores it with :func:`score_pipeline`.
:func:`evaluate_run` does both.

Survival and competing-risks models are scored on the times the run was evaluated on
(``evaluation.times``, else :func:`~lightsaber.metrics.split_scores.default_times` of the
training split: its event times, of any cause for competing risks), so the numbers match the
metrics the run logged; competing-risks metrics are reported per cause,
``<metric>_<cause name>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lightsaber.config.experiment import Experiment, prepare
from lightsaber.config.loading import load_config
from lightsaber.config.logged import logged_config
from lightsaber.exceptions import SplitError

__all__ = ["EvaluationPlan", "evaluate_run", "evaluation_times", "prepare_evaluation",
           "score_pipeline"]


def evaluation_times(experiment: Experiment, y_train: np.ndarray | None = None
                     ) -> np.ndarray | None:
    """The times a survival or competing-risks experiment is evaluated on; ``None`` otherwise.

    ``evaluation.times`` when the config sets them, else the default
    (:func:`~lightsaber.metrics.split_scores.default_times` of the training split's outcome),
    as :func:`lightsaber.fit` chooses them.

    Parameters
    ----------
    experiment : Experiment
        A prepared experiment (:func:`~lightsaber.config.prepare`).
    y_train : numpy.ndarray, optional
        The training split's survival (or competing-risks) outcome, when already at hand (else
        taken from the experiment).

    Returns
    -------
    numpy.ndarray or None

    Examples
    --------
    >>> from lightsaber.config import prepare
    >>> exp = prepare({"data": {"_target_": "lightsaber.data.datasets.load_sksurv",
    ...                         "name": "whas500"},
    ...                "model": {"_target_": "sksurv.linear_model.CoxPHSurvivalAnalysis"},
    ...                "evaluation": {"times": [180, 365]}})
    >>> evaluation_times(exp).tolist()
    [180.0, 365.0]
    """
    if experiment.task not in ("survival", "competing"):
        return None
    times = experiment.config.evaluation.times
    if times is not None:
        return np.asarray(times, dtype=float)
    from lightsaber.metrics.split_scores import default_times

    if y_train is None:
        y_train = experiment.cohort.subset(experiment.splits.indices["train"]).target(
            experiment.task)
    return default_times(y_train)


def _check_splits(experiment: Experiment, splits: Sequence[str]) -> None:
    have = [name for name, rows in experiment.splits.indices.items() if len(rows)]
    for split in splits:
        if split not in have:
            raise SplitError(f"split {split!r} is empty or unknown; have {have}.")


def score_pipeline(pipeline: Any, experiment: Experiment, splits: Sequence[str] = ("test",)
                   ) -> dict[str, dict[str, float]]:
    """Registry metrics of a fitted pipeline on an experiment's splits.

    Each split is transformed and predicted by ``pipeline``, then scored with the experiment's
    metrics (:func:`~lightsaber.metrics.split_scores.evaluate_split`): classification with the
    model's own classes, survival on :func:`evaluation_times` with the censoring distribution
    of the training split, competing risks as survival, for each cause the model predicts
    (``<metric>_<cause name>``, the cumulative incidences of
    :func:`~lightsaber.models.protocol.competing_prediction`, recalibrated when the pipeline
    carries a recalibrator). A default metric a split cannot support is left out with a
    :class:`~lightsaber.exceptions.MetricSkippedWarning`.

    Parameters
    ----------
    pipeline : FittedPipeline
        What :func:`lightsaber.fit` logged (:func:`lightsaber.serving.load_pipeline`).
    experiment : Experiment
        The prepared experiment whose cohort, splits and metrics are used.
    splits : sequence of str
        Split names (default: ``("test",)``).

    Returns
    -------
    dict
        ``{split: {metric: value}}``, in the order of ``splits``.

    Raises
    ------
    SplitError
        When a split is empty or not in the experiment's splits.
    """
    from lightsaber.metrics.split_scores import evaluate_split
    from lightsaber.models.protocol import competing_prediction, survival_prediction

    _check_splits(experiment, splits)
    task = experiment.task
    parts = experiment.splits.cohorts(experiment.cohort)
    y_train = parts["train"].target(task)
    times = evaluation_times(experiment, y_train)
    classes = getattr(pipeline.model, "classes_", None)
    results: dict[str, dict[str, float]] = {}
    for split in splits:
        X = pipeline.transform(parts[split])
        if task == "competing":
            prediction = competing_prediction(pipeline.model, X, times,
                                              experiment.cohort.causes)
            if pipeline.calibrator is not None:  # a CompetingRecalibrator, as ls.fit scored
                prediction = pipeline.calibrator.transform(prediction)
        else:
            prediction = pipeline.predict_from_input(X)
        if task == "survival":
            prediction = survival_prediction(pipeline.model, X, prediction, times)
        results[split] = evaluate_split(task, parts[split].target(task), prediction,
                                        metrics=experiment.metrics, y_train=y_train,
                                        times=times, classes=classes)
    return results


@dataclass(frozen=True)
class EvaluationPlan:
    """A logged run's model and the data to score it on, validated; nothing is loaded yet.

    Made by :func:`prepare_evaluation`; :meth:`run` loads the model and scores it.

    Attributes
    ----------
    run_id : str
        The run whose logged model is scored.
    experiment : Experiment
        The prepared experiment (cohort, splits, metrics).
    splits : tuple of str
        Split names to score.
    tracking_uri : str
        The resolved tracking URI of the store holding the run.
    """

    run_id: str
    experiment: Experiment
    splits: tuple[str, ...]
    tracking_uri: str

    def run(self) -> dict[str, dict[str, float]]:
        """Load the run's pipeline and score it (:func:`score_pipeline`).

        Returns
        -------
        dict
            ``{split: {metric: value}}``, in the order of :attr:`splits`.
        """
        from lightsaber.serving import load_pipeline

        pipeline = load_pipeline(self.run_id, tracking_uri=self.tracking_uri)
        return score_pipeline(pipeline, self.experiment, self.splits)


def prepare_evaluation(run_id: str, *sources: str | Path | Mapping[str, Any],
                       overrides: Sequence[str] = (), splits: Sequence[str] = ("test",),
                       tracking_uri: str | None = None) -> EvaluationPlan:
    """Validate an evaluation of a logged model; nothing is loaded or scored.

    Parameters
    ----------
    run_id : str
        MLflow run id of the model.
    *sources : path or mapping
        Config files or mappings (merged in order) giving the data to score on; none: the
        config the run logged (:func:`~lightsaber.config.logged.logged_config`).
    overrides : sequence of str
        ``key.path=value`` overrides.
    splits : sequence of str
        Splits to score (default: ``("test",)``).
    tracking_uri : str, optional
        Store holding the run (argument, else ``MLFLOW_TRACKING_URI``, else ``./mlflow.db``).

    Returns
    -------
    EvaluationPlan

    Raises
    ------
    TrackingError
        When the store cannot be opened.
    ConfigError
        For an unknown run or one without a logged config (when no ``sources`` are given), or
        an invalid config.
    SplitError
        When a split is empty or unknown.
    """
    from lightsaber.tracking.client import tracking_client

    client, uri = tracking_client(tracking_uri)
    config = sources or (logged_config(run_id, client),)
    experiment = prepare(load_config(*config, overrides=overrides))
    _check_splits(experiment, splits)
    return EvaluationPlan(run_id, experiment, tuple(splits), uri)


def evaluate_run(run_id: str, *sources: str | Path | Mapping[str, Any],
                 overrides: Sequence[str] = (), splits: Sequence[str] = ("test",),
                 tracking_uri: str | None = None) -> dict[str, dict[str, float]]:
    """Score a logged model on a config's splits (by default the run's own config).

    :func:`prepare_evaluation` followed by :meth:`EvaluationPlan.run`.

    Parameters
    ----------
    run_id : str
        MLflow run id of the model.
    *sources : path or mapping
        Config files or mappings; none: the config the run logged.
    overrides : sequence of str
        ``key.path=value`` overrides.
    splits : sequence of str
        Splits to score (default: ``("test",)``).
    tracking_uri : str, optional
        Store holding the run.

    Returns
    -------
    dict
        ``{split: {metric: value}}``; on the run's own config, the test metrics it logged.

    Examples
    --------
    >>> import tempfile
    >>> from lightsaber.config import prepare, run_fit
    >>> folder = tempfile.TemporaryDirectory()
    >>> uri = f"sqlite:///{folder.name}/mlflow.db"
    >>> run = run_fit(prepare(
    ...     {"data": {"_target_": "lightsaber.data.datasets.load_sksurv", "name": "whas500"},
    ...      "model": {"_target_": "sksurv.linear_model.CoxPHSurvivalAnalysis", "alpha": 0.1},
    ...      "metrics": ["c_index"], "tracking": {"tracking_uri": uri}}), progress=False)
    >>> scores = evaluate_run(run.run_id, tracking_uri=uri)
    >>> scores["test"] == run.metrics["test"]
    True
    >>> folder.cleanup()
    """
    return prepare_evaluation(run_id, *sources, overrides=overrides, splits=splits,
                              tracking_uri=tracking_uri).run()
