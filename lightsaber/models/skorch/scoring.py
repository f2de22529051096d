"""Validation scores for early stopping, computed from raw network outputs.

Names and directions come from the metric registry (:mod:`lightsaber.metrics`), so early
stopping, tuning, reports and MLflow agree on what ``"auc_roc"`` or ``"c_index"`` means. A
metric can drive early stopping when it needs nothing but the network output: probabilities
for classification, the risk for survival.

Competing-risks nets (:class:`~lightsaber.models.CompetingRisksNet` and its recipes) stop on
the validation loss only (``monitor="loss"``): their metrics are per cause and need the cause
names and the training outcome, which the network output does not carry. Score them after
fitting (``ls.fit`` reports ``<split>_<metric>_<cause>``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lightsaber.exceptions import UnknownMetricError

__all__ = ["UnknownMetricError", "metric_direction", "output_scorer", "validation_metrics"]

#: What each task's network output gives a validation metric ("competing": nothing, loss only).
_OUTPUT_INPUTS: dict[str, set[str]] = {"classification": {"proba"}, "survival": {"risk"},
                                       "competing": set()}


def _check_task(task: str) -> None:
    if task not in _OUTPUT_INPUTS:
        raise UnknownMetricError(f"unknown task {task!r}; expected one of "
                                 f"{sorted(_OUTPUT_INPUTS)}.")


def _usable(metric, task: str) -> bool:
    return (metric.task == task and bool(_OUTPUT_INPUTS[task])
            and set(metric.inputs) <= _OUTPUT_INPUTS[task] and not metric.requires)


def validation_metrics(task: str) -> list[str]:
    """Registry metrics usable as ``monitor`` for ``task`` (besides ``"loss"``).

    Examples
    --------
    >>> "c_index" in validation_metrics("survival"), validation_metrics("competing")
    (True, [])
    """
    from lightsaber.metrics import get_metric, list_metrics

    _check_task(task)
    return [n for n in list_metrics(task) if _usable(get_metric(n), task)]


def _competing_refusal(name: str) -> UnknownMetricError:
    return UnknownMetricError(
        f"monitor={name!r}: competing-risks nets stop early on the validation loss only; the "
        "allowed value is 'loss'. Their metrics (cause_specific_auc, ibs_competing, "
        "wolbers_c) are per cause and need the training outcome, so they are scored after "
        "fitting: ls.fit reports them as <split>_<metric>_<cause name>.")


def metric_direction(name: str, task: str) -> bool:
    """``True`` when lower is better for ``name`` (``"loss"`` included).

    Examples
    --------
    >>> metric_direction("loss", "survival"), metric_direction("c_index", "survival")
    (True, False)
    >>> metric_direction("wolbers_c", "competing")
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.UnknownMetricError: monitor='wolbers_c': competing-risks nets ...
    """
    if name == "loss":
        return True
    _check_task(task)
    if task == "competing":
        raise _competing_refusal(name)
    from lightsaber.metrics import MetricError, get_metric

    try:
        metric = get_metric(name)
    except MetricError as exc:
        raise UnknownMetricError(f"monitor={name!r}: {exc}") from exc
    if not _usable(metric, task):
        import difflib

        usable = validation_metrics(task)
        close = difflib.get_close_matches(name, usable, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise UnknownMetricError(
            f"monitor={name!r} is not a {task} validation metric computable from the network "
            f"output; choose 'loss' or one of {usable[:12]}{' ...' if len(usable) > 12 else ''}."
            f"{hint}")
    return not metric.greater_is_better


def _probabilities(output: np.ndarray) -> np.ndarray:
    if output.ndim == 1 or output.shape[1] == 1:
        return 1.0 / (1.0 + np.exp(-output.reshape(-1).astype(np.float64)))
    z = np.exp(output - output.max(axis=1, keepdims=True)).astype(np.float64)
    return z / z.sum(axis=1, keepdims=True)


def output_scorer(name: str, task: str) -> Callable[[np.ndarray, np.ndarray], float]:
    """``score(y_true, raw_output)``: the registry metric on raw validation outputs.

    ``y_true`` is what the nets train on: class indices for classification, an ``(n, 2)``
    array of (time, event) for survival.
    """
    metric_direction(name, task)
    from lightsaber.metrics import evaluate

    if task == "classification":
        def score(y: np.ndarray, output: np.ndarray) -> float:
            return evaluate("classification", y.astype(np.int64), _probabilities(output),
                            metrics=[name])[name]
    else:
        from lightsaber.data.targets import make_survival_target

        def score(y: np.ndarray, output: np.ndarray) -> float:
            target = make_survival_target(y[:, 1] > 0.5, y[:, 0])
            risk = output.reshape(output.shape[0], -1)[:, 0].astype(np.float64)
            return evaluate("survival", target, risk, metrics=[name])[name]
    return score
