"""Final metrics of a fitted model on each split, under the registry's stable names.

Classification: the registry's default set on positive-class probabilities (``auc_roc``,
``auc_pr``, ``brier``, ``log_loss``, ``ece``; one-vs-rest variants for multi-class).
Survival: the risk always; survival curves too when the model provides them, on the
**evaluation grid** (``ls.fit(times=...)``, else :func:`default_times`: 50 quantiles of the training
event times), with the censoring distribution fitted on the training split (scikit-survival's
convention). The integrated metrics (``ibs``, ``ibll``, ``cumulative_auc``) integrate over every
grid time the split supports, from its first event to its last follow-up; Uno's C is truncated
at the end of the grid; see :func:`survival_context` and ``docs/metrics.md``.
Competing risks: the same default grid, from the training event times of any cause; every
metric is computed for each cause the model predicts and named ``<metric>_<cause name>``
(``wolbers_c_death``); see :func:`competing_context`.

A default metric that a split cannot support (one class, no event, a censoring estimate of 0,
...) is left out of the metrics and reported with its reason (:class:`SplitScores` ``skipped``);
``ls.fit`` turns those reasons into warnings and MLflow tags. An explicitly requested metric
raises instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lightsaber._moved import renamed_keywords

__all__ = [
    "MIN_EVENTS",
    "SplitScores",
    "competing_context",
    "default_times",
    "evaluate_split",
    "integration_times",
    "score_split",
    "small_split_message",
    "survival_context",
]

#: Fewer events (survival) or positives (binary) than this on a split earn a warning.
MIN_EVENTS = 10
#: Points of the default evaluation grid.
GRID_POINTS = 50


def _event(y: np.ndarray) -> np.ndarray:
    """The event indicator of a survival target; any cause of a competing-risks target."""
    return y["status"] > 0 if "status" in (y.dtype.names or ()) else y["event"]


def default_times(y_train: np.ndarray, n: int = GRID_POINTS) -> np.ndarray:
    """Default evaluation grid: ``n`` quantiles 5%..95% of the training event times (unique).

    For a competing-risks target, the event times of any cause.

    Examples
    --------
    >>> from lightsaber.data.targets import make_competing_target, make_survival_target
    >>> y = make_survival_target([1, 1, 0, 1], [1.0, 2.0, 3.0, 4.0])
    >>> default_times(y, n=3).tolist()
    [1.1, 2.0, 3.8]
    >>> default_times(make_competing_target([1, 2, 0, 1], [1.0, 2.0, 3.0, 4.0]), n=3).tolist()
    [1.1, 2.0, 3.8]
    """
    events = y_train["time"][_event(y_train)]
    return np.unique(np.quantile(events, np.linspace(0.05, 0.95, n)))


def integration_times(y: np.ndarray, times: np.ndarray | None) -> np.ndarray:
    """The grid times a split's integrated metrics use: ``[first event, last follow-up)``.

    From the split's first event time (before it the cumulative/dynamic AUC has no case) up to,
    not including, its last follow-up time (after it the IPCW metrics are undefined). For a
    competing-risks target, from the first event of any cause.

    Examples
    --------
    >>> from lightsaber.data.targets import make_survival_target
    >>> y = make_survival_target([0, 1, 0, 1], [1.0, 2.0, 3.0, 4.0])
    >>> integration_times(y, np.array([0.5, 1.5, 2.5, 3.5, 4.5])).tolist()
    [2.5, 3.5]
    """
    event = _event(y)
    if times is None or not event.any():
        return np.array([])
    first = y["time"][event].min()
    return times[(times >= first) & (times < y["time"].max())]


def survival_context(y: np.ndarray, y_train: np.ndarray, times: np.ndarray | None
                     ) -> dict[str, Any]:
    """The keyword context of the survival metrics on one split.

    * ``times``: every grid time the split supports (:func:`integration_times`), so ``ibs``,
      ``ibll`` and ``cumulative_auc`` integrate over the whole evaluation grid;
    * ``tau`` (Uno's C): the last grid time, inside the training follow-up where the censoring
      estimate is positive (pairs with an event at or after it are not compared);
    * ``horizon`` (``brier_at_horizon``, ``ici_at_horizon``): the median training event time;
    * ``y_train``: fits the censoring distribution.

    Parameters
    ----------
    y : structured array
        The split's outcome.
    y_train : structured array
        The training outcome.
    times : numpy.ndarray or None
        The evaluation grid.

    Examples
    --------
    >>> from lightsaber.data.targets import make_survival_target
    >>> y = make_survival_target([1, 0, 1, 1], [1.0, 2.0, 3.0, 4.0])
    >>> context = survival_context(y, y, np.array([0.5, 1.5, 2.5, 3.5, 4.5]))
    >>> context["times"].tolist(), context["tau"], context["horizon"]
    ([1.5, 2.5, 3.5], 4.5, 3.0)
    """
    events = y_train["time"][y_train["event"]]
    inside = integration_times(y, times)
    return {"y_train": y_train, "times": inside if inside.size else None,
            "tau": float(times[-1]) if times is not None and len(times) else None,
            "horizon": float(np.median(events))}


def competing_context(y: np.ndarray, y_train: np.ndarray, times: np.ndarray, cause: int
                      ) -> dict[str, Any]:
    """The keyword context of the competing-risks metrics of one cause on one split.

    * ``times`` (``cause_specific_auc``, ``ibs_competing``): the grid times from the split's
      first event of ``cause`` (before it AUC(t) has no case) up to, not including, its last
      follow-up time; ``None`` when none is left;
    * ``tau`` (``wolbers_c``): the last grid time, where the risk (the CIF there) is read;
    * ``y_train``: fits the censoring distribution; ``cause``: the cause scored.

    Parameters
    ----------
    y, y_train : structured array
        The split's and the training competing-risks outcome (``status``, ``time``).
    times : numpy.ndarray
        The evaluation grid.
    cause : int
        The cause code.

    Examples
    --------
    >>> from lightsaber.data.targets import make_competing_target
    >>> y = make_competing_target([2, 1, 0, 1, 2], [1.0, 2.0, 3.0, 4.0, 5.0])
    >>> context = competing_context(y, y, np.array([0.5, 1.5, 2.5, 3.5, 4.5]), 1)
    >>> context["times"].tolist(), context["tau"], context["cause"]
    ([2.5, 3.5, 4.5], 4.5, 1)
    """
    mine = y["status"] == cause
    inside = np.array([])
    if mine.any():
        first = y["time"][mine].min()
        inside = times[(times >= first) & (times < y["time"].max())]
    return {"y_train": y_train, "times": inside if inside.size else None,
            "tau": float(times[-1]), "cause": int(cause)}


def _score_competing(y: Any, prediction: Any, metrics: Sequence[str] | None, y_train: Any,
                     times: np.ndarray | None, out: SplitScores) -> SplitScores:
    """Every metric for every cause the prediction has, as ``<metric>_<cause name>``."""
    from lightsaber.data.targets import check_competing_target
    from lightsaber.metrics import MetricError, evaluate, get_metric
    from lightsaber.metrics.catalogue import default_metrics
    from lightsaber.metrics.prediction import CompetingPrediction

    y = check_competing_target(y)
    prediction = CompetingPrediction.coerce(prediction)
    grid = prediction.times if times is None else np.asarray(times, dtype=float)
    y_train = check_competing_target(y_train) if y_train is not None else None
    for cause, label in ((k, prediction.causes[k]) for k in prediction.cif):
        context = (competing_context(y, y_train, grid, cause) if y_train is not None
                   else {"tau": float(grid[-1]), "cause": cause})
        names = list(metrics) if metrics else default_metrics(
            "competing", prediction, {**context, "times": grid})
        count = int(np.sum(y["status"] == cause))
        for name in names:
            metric = get_metric(name)
            key = f"{name}_{label}"
            if not metrics and count == 0:
                out.skipped[key] = (f"the split has no {label} event (cause {cause}) among its "
                                    f"{len(y)} patients.")
                continue
            if not metrics and "times" in metric.requires and context.get("times") is None:
                out.skipped[key] = (f"no time of the evaluation grid lies between the split's "
                                    f"first {label} event and its last follow-up time.")
                continue
            wanted = {k: v for k, v in context.items()
                      if v is not None and k in (*metric.requires, *metric.options)}
            try:
                value = evaluate("competing", y, prediction, metrics=[name], **wanted)[name]
            except (MetricError, ValueError) as err:
                if metrics:
                    raise
                out.skipped[key] = _reason(err)
                continue
            out.metrics[key] = value
    return out


@dataclass
class SplitScores:
    """The metrics of one split, and the default metrics that could not be computed.

    Attributes
    ----------
    metrics : dict
        ``{stable name: value}``.
    skipped : dict
        ``{stable name: reason}`` for default metrics the split does not support.
    """

    metrics: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def _reason(err: Exception) -> str:
    """The first sentence of a metric error, short enough for a tag."""
    text = str(err).strip()
    return text if len(text) <= 300 else text[:297] + "..."


@renamed_keywords(grid="times")
def score_split(task: str, y: Any, prediction: Any, *, metrics: Sequence[str] | None = None,
                y_train: Any = None, times: np.ndarray | None = None,
                classes: Any = None) -> SplitScores:
    """Registry metrics of one split, with the reason of every default metric left out.

    Parameters
    ----------
    task : {"classification", "survival", "competing"}
    y : array-like or structured array
        The split's outcome.
    prediction : array-like, SurvivalPrediction or CompetingPrediction
        Probabilities (classification), the survival prediction, or the competing-risks
        prediction (every metric is computed for each of its causes, as
        ``<metric>_<cause name>``).
    metrics : sequence of str, optional
        Names to compute (registry names; competing: without the cause); each must succeed
        (a :class:`~lightsaber.metrics.MetricError` propagates). Default: the task's standard
        set, where a metric the split cannot support is recorded in ``skipped`` instead.
    y_train : structured array, optional
        Survival and competing risks: the training outcome (censoring distribution, horizon).
    times : numpy.ndarray, optional
        Survival and competing risks: the evaluation grid (see :func:`survival_context`,
        :func:`competing_context`).
    classes : array-like, optional
        Multi-class: the model's classes (the probability columns), so that a split lacking
        a rare class is still scored over all of them.

    Returns
    -------
    SplitScores

    Examples
    --------
    >>> scores = score_split("classification", [1, 1, 1], np.array([.2, .8, .7]))
    >>> sorted(scores.metrics), sorted(scores.skipped)
    (['brier', 'ece', 'log_loss'], ['auc_pr', 'auc_roc'])
    """
    from lightsaber.metrics import MetricError, evaluate, get_metric
    from lightsaber.metrics.catalogue import default_metrics

    context: dict[str, Any] = {}
    out = SplitScores()
    if task == "competing":
        return _score_competing(y, prediction, metrics, y_train, times, out)
    if task == "classification" and classes is not None and np.ndim(prediction) == 2 \
            and np.shape(prediction)[1] > 2:
        context = {"classes": np.asarray(classes)}
    if task == "survival":
        from lightsaber.data.targets import check_survival_target

        y = check_survival_target(y, allow_all_censored=True)
        if not y["event"].any() and not metrics:
            out.skipped["*"] = (f"the split has no event among its {len(y)} patients: no "
                                "survival metric is defined.")
            return out
        if y_train is not None:
            context = survival_context(y, check_survival_target(y_train), times)
    names = list(metrics) if metrics else default_metrics(task, prediction, context)
    if not metrics and task == "survival" and y_train is not None and context["times"] is None:
        for name in ("cumulative_auc", "ibs", "ibll"):
            if name in default_metrics(task, prediction, {**context, "times": times}):
                out.skipped[name] = ("no time of the evaluation grid lies between the split's "
                                     "first event and its last follow-up time.")
    for name in names:
        metric = get_metric(name)
        wanted = {k: v for k, v in context.items()
                  if v is not None and k in (*metric.requires, *metric.options)}
        try:
            out.metrics.update(evaluate(task, y, prediction, metrics=[name], **wanted))
        except (MetricError, ValueError) as err:  # ValueError: scikit-learn's own refusal
            if metrics:
                raise
            out.skipped[name] = _reason(err)
    return out


@renamed_keywords(grid="times")
def evaluate_split(task: str, y: Any, prediction: Any, *, metrics: Sequence[str] | None = None,
                   y_train: Any = None, times: np.ndarray | None = None,
                   classes: Any = None) -> dict[str, float]:
    """Registry metrics of one split; a default metric the split cannot support is warned about.

    The metrics of :func:`score_split`; each skipped default metric raises a
    :class:`~lightsaber.exceptions.MetricSkippedWarning` with its reason.

    Examples
    --------
    >>> evaluate_split("classification", [0, 1, 1, 0], np.array([.1, .8, .7, .3]),
    ...                metrics=["auc_roc"])
    {'auc_roc': 1.0}
    """
    from lightsaber.exceptions import MetricSkippedWarning

    scores = score_split(task, y, prediction, metrics=metrics, y_train=y_train, times=times,
                         classes=classes)
    for name, reason in scores.skipped.items():
        warnings.warn(f"metric '{name}' was not computed: {reason}", MetricSkippedWarning,
                      stacklevel=2)
    return scores.metrics


def small_split_message(task: str, split: str, y: Any, minimum: int = MIN_EVENTS, *,
                        causes: dict[int, str] | None = None) -> str | None:
    """A warning text when a split has fewer than ``minimum`` events / positives, else ``None``.

    Survival: events; competing risks: the events of the rarest cause (``causes`` names them);
    binary classification: the rarer class; multi-class: the rarest class.

    Examples
    --------
    >>> small_split_message("classification", "test", np.array([0, 0, 0, 1]))[:62]
    'the test split has 1 positive(s) and 3 negative(s) among 4 pat'
    >>> small_split_message("classification", "test", np.array([0, 1] * 10)) is None
    True
    >>> from lightsaber.data.targets import make_competing_target
    >>> y = make_competing_target([1] * 12 + [2] * 3, np.arange(1.0, 16.0))
    >>> small_split_message("competing", "val", y, causes={1: "death", 2: "discharge"})[:52]
    'the val split has 3 discharge event(s) among 15 pati'
    """
    if task == "survival":
        count, what = int(np.sum(y["event"])), "event(s)"
        total = len(y)
        if count >= minimum:
            return None
        detail = f"{count} {what} among {total} patients"
    elif task == "competing":
        codes = sorted(causes) if causes else sorted(set(y["status"][y["status"] > 0].tolist()))
        counts = {code: int(np.sum(y["status"] == code)) for code in codes}
        rare = [code for code in codes if counts[code] < minimum]
        if not rare:
            return None
        names = causes or {}
        detail = ", ".join(f"{counts[c]} {names.get(c, f'cause {c}')} event(s)" for c in rare)
        detail += f" among {len(y)} patients"
    else:
        labels = np.asarray(y)
        classes, counts = np.unique(labels, return_counts=True)
        total = len(labels)
        if counts.size == 0 or counts.min() >= minimum:
            return None
        if set(classes.tolist()) <= {0, 1}:
            positives = int(counts[classes == 1].sum()) if 1 in classes else 0
            detail = (f"{positives} positive(s) and {total - positives} negative(s) among "
                      f"{total} patients")
        else:
            rarest = classes[np.argmin(counts)]
            detail = f"only {int(counts.min())} patient(s) of class {rarest!r} among {total}"
    return (f"the {split} split has {detail}; metrics on fewer than {minimum} are unstable "
            "(an AUC or a C-index can land anywhere). Use a larger split, or read the "
            "bootstrap confidence interval (lightsaber.metrics.bootstrap_ci) with the value.")


def __getattr__(name: str) -> Any:
    if name == "time_grid":  # the name before the architecture pass
        from lightsaber._moved import renamed

        renamed("time_grid", "default_times", "lightsaber.metrics.split_scores")
        return default_times
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
