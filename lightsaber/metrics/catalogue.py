"""One registry of metric names: what each measures, its direction and the inputs it needs.

Early stopping, tuning, reports and MLflow read metrics through this module only::

    get_metric("c_index").greater_is_better       # True
    list_metrics(task="survival")                 # stable names
    evaluate("survival", y_test, prediction, metrics=["c_index", "ibs"],
             y_train=y_train, times=[30, 90, 180])  # {"c_index": ..., "ibs": ...}

Names are stable strings, independent of the data set: a parameter that is part of a name is a
*percentage* (``recall_at_10pct``), never a row count. Any ``recall_at_{K}pct`` /
``precision_at_{K}pct`` with ``0 < K <= 100`` resolves (``K`` written without trailing zeros,
e.g. ``recall_at_2.5pct``). Settings such as ``times``, ``horizon`` or ``threshold`` are passed
as keyword context and listed in ``requires`` / ``options``.

Predictions: classification metrics take ``proba`` (positive-class probabilities, or a
``(n_samples, n_classes)`` matrix for the ``*_ovr_*``, ``*_macro``/``*_micro`` and multi-class
capable metrics); survival metrics take a :class:`~lightsaber.metrics.SurvivalPrediction` (or a
mapping of its fields, or a plain risk vector) and read the fields named in ``inputs``;
competing-risks metrics take a :class:`~lightsaber.metrics.CompetingPrediction` and score one
cause, given as ``cause=`` in the context. ``ls.fit`` reports them per cause, as
``<metric>_<cause name>`` (``wolbers_c_death``).
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from lightsaber.exceptions import MetricError
from lightsaber.metrics import classification as cls_
from lightsaber.metrics.calibration import expected_calibration_error
from lightsaber.metrics.competing import (
    cause_specific_auc,
    integrated_brier_score_competing,
    wolbers_c,
)
from lightsaber.metrics.concordance import antolini_c, harrell_c, uno_c
from lightsaber.metrics.prediction import CompetingPrediction, SurvivalPrediction
from lightsaber.metrics.survival import (
    brier_score,
    integrated_auc,
    integrated_brier_score,
    integrated_negative_binomial_log_likelihood,
    mae_event_time,
)
from lightsaber.metrics.survival_calibration import d_calibration, integrated_calibration_index
from lightsaber.metrics.topk import precision_at_k, recall_at_k

__all__ = ["Metric", "TASKS", "evaluate", "get_metric", "list_metrics"]

Task = Literal["classification", "survival", "competing"]
TASKS: tuple[str, ...] = ("classification", "survival", "competing")


@dataclass(frozen=True)
class Metric:
    """A registered metric.

    Attributes
    ----------
    name : str
        Stable name (the key in :func:`evaluate`'s result and in MLflow).
    task : {"classification", "survival", "competing"}
        The task it evaluates.
    greater_is_better : bool
        Direction: True when a higher value is better.
    inputs : tuple of str
        What the prediction must provide: ``"proba"`` (classification), survival fields
        ``"risk"``, ``"survival"`` (with its ``times``), ``"predicted_time"``, or competing
        fields ``"cif"`` (with its ``times``), ``"risk"``.
    requires : tuple of str
        Keyword context that must be passed (e.g. ``"y_train"``, ``"times"``, ``"horizon"``;
        ``"cause"`` for competing-risks metrics).
    options : tuple of str
        Optional keyword context (e.g. ``"threshold"``, ``"tau"``).
    multiclass : bool
        Accepts a multi-class probability matrix.
    description : str
        One line on what it measures.
    reference : str
        The implementation it is tested against.

    Examples
    --------
    >>> m = get_metric("ibs")
    >>> m.direction, m.inputs, m.requires
    ('lower', ('survival',), ('y_train', 'times'))
    """

    name: str
    task: str
    greater_is_better: bool
    inputs: tuple[str, ...]
    requires: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    multiclass: bool = False
    description: str = ""
    reference: str = ""
    func: Callable[..., float] = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    @property
    def direction(self) -> str:
        """``"higher"`` or ``"lower"`` (is better)."""
        return "higher" if self.greater_is_better else "lower"

    def is_better(self, candidate: float, incumbent: float) -> bool:
        """Whether ``candidate`` is strictly better than ``incumbent`` (NaN never is).

        Examples
        --------
        >>> get_metric("log_loss").is_better(0.2, 0.3)
        True
        """
        if np.isnan(candidate):
            return False
        if np.isnan(incumbent):
            return True
        return candidate > incumbent if self.greater_is_better else candidate < incumbent

    def __call__(self, y: Any, prediction: Any, **context: Any) -> float:
        """Compute the metric; ``context`` holds ``requires`` and any of ``options``."""
        unknown = set(context) - set(self.requires) - set(self.options)
        if unknown:
            raise MetricError(
                f"metric '{self.name}' does not take {sorted(unknown)}; it requires "
                f"{list(self.requires)} and accepts {list(self.options)}."
            )
        missing = [k for k in self.requires if context.get(k) is None]
        if missing:
            raise MetricError(
                f"metric '{self.name}' needs {missing} (pass them as keyword arguments, e.g. "
                f"evaluate(..., {missing[0]}=...))."
            )
        if self.task in ("survival", "competing"):
            prediction = _coerce(self.task, prediction)
            absent = [i for i in self.inputs if i not in prediction.available]
            if absent:
                raise MetricError(
                    f"metric '{self.name}' needs the prediction's {absent}; it has "
                    f"{sorted(prediction.available)}."
                )
        if self.task == "competing" and context["cause"] not in prediction.cif:
            raise MetricError(
                f"metric '{self.name}': the prediction has no cumulative incidence of cause "
                f"{context['cause']!r}; it predicts causes {sorted(prediction.cif)}.")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = float(self.func(y, prediction, **{k: v for k, v in context.items()
                                                      if v is not None}))
        for record in caught:
            if _undefined(record):
                raise MetricError(
                    f"metric '{self.name}' is undefined on this data: {record.message}")
            warnings.warn_explicit(record.message, record.category, record.filename,
                                   record.lineno)
        if np.isnan(value):
            raise MetricError(f"metric '{self.name}' is undefined on this data (NaN).")
        return value


def _coerce(task: str, prediction: Any) -> Any:
    """A survival or competing prediction container from what the user passed."""
    if task == "competing":
        return CompetingPrediction.coerce(prediction)
    return SurvivalPrediction.coerce(prediction)


def _undefined(record: warnings.WarningMessage) -> bool:
    """Whether a warning from inside a metric says that its value is undefined.

    scikit-learn's ``UndefinedMetricWarning``, or its ``UserWarning``s about a missing class:
    such a metric is an error here, never a number such as NaN, 0 or 1 that scikit-learn
    substitutes.
    """
    from sklearn.exceptions import UndefinedMetricWarning

    if issubclass(record.category, UndefinedMetricWarning):
        return True
    text = str(record.message).lower()
    return issubclass(record.category, UserWarning) and "sklearn" in record.filename and any(
        phrase in text for phrase in ("no positive class", "not defined", "only one class",
                                      "ill-defined"))


_REGISTRY: dict[str, Metric] = {}


def _register(**kwargs: Any) -> None:
    metric = Metric(**kwargs)
    _REGISTRY[metric.name] = metric


_SK = "scikit-learn 1.9 sklearn.metrics"
_SKS = "scikit-survival 0.28 sksurv.metrics"

# --- classification -------------------------------------------------------------------------
_register(name="auc_roc", task="classification", greater_is_better=True, inputs=("proba",),
          description="area under the ROC curve (binary)", reference=f"{_SK}.roc_auc_score",
          func=lambda y, p: cls_.roc_auc(y, p))
_register(name="auc_pr", task="classification", greater_is_better=True,
          inputs=("proba",), description="area under the precision-recall curve (binary)",
          reference=f"{_SK}.average_precision_score",
          func=lambda y, p: cls_.average_precision(y, p))
for _avg in ("macro", "micro"):
    _register(name=f"auc_roc_ovr_{_avg}", task="classification", greater_is_better=True,
              inputs=("proba",), options=("classes",), multiclass=True,
              description=f"one-vs-rest ROC AUC, {_avg}-averaged over classes",
              reference=f"{_SK}.roc_auc_score", func=lambda y, p, a=_avg, **kw: cls_.roc_auc(
                  y, p, average=a, **kw))
    _register(name=f"auc_pr_ovr_{_avg}", task="classification",
              greater_is_better=True, inputs=("proba",), options=("classes",), multiclass=True,
              description=f"one-vs-rest average precision, {_avg}-averaged over classes",
              reference=f"{_SK}.average_precision_score",
              func=lambda y, p, a=_avg, **kw: cls_.average_precision(y, p, average=a, **kw))
    _register(name=f"f1_{_avg}", task="classification", greater_is_better=True,
              inputs=("proba",), options=("classes",), multiclass=True,
              description=f"F1 of the arg-max class, {_avg}-averaged", reference=f"{_SK}.f1_score",
              func=lambda y, p, a=_avg, **kw: cls_.f1(y, p, average=a, **kw))
_register(name="brier", task="classification", greater_is_better=False, inputs=("proba",),
          options=("classes",), multiclass=True,
          description="mean squared error of the probabilities",
          reference=f"{_SK}.brier_score_loss", func=lambda y, p, **kw: cls_.brier(y, p, **kw))
_register(name="log_loss", task="classification", greater_is_better=False, inputs=("proba",),
          options=("classes",), multiclass=True, description="cross-entropy of the probabilities",
          reference=f"{_SK}.log_loss", func=lambda y, p, **kw: cls_.log_loss(y, p, **kw))
_register(name="ece", task="classification", greater_is_better=False, inputs=("proba",),
          options=("n_bins",), description="expected calibration error (10 equal-width bins)",
          reference="sklearn.calibration.calibration_curve + bin counts",
          func=lambda y, p, n_bins=10: expected_calibration_error(y, p, n_bins=n_bins))
_register(name="balanced_accuracy", task="classification", greater_is_better=True,
          inputs=("proba",), options=("threshold", "classes"), multiclass=True,
          description="mean per-class recall at proba >= threshold (arg-max if multi-class)",
          reference=f"{_SK}.balanced_accuracy_score",
          func=lambda y, p, threshold=0.5, **kw: cls_.balanced_accuracy(y, p,
                                                                         threshold=threshold, **kw))
for _name, _fn, _what, _ref in (
    ("f1", cls_.f1, "F1 at proba >= threshold", "f1_score"),
    ("sensitivity", cls_.sensitivity, "TP / (TP + FN) at proba >= threshold", "recall_score"),
    ("specificity", cls_.specificity, "TN / (TN + FP) at proba >= threshold",
     "recall_score(pos_label=0)"),
    ("ppv", cls_.ppv, "TP / (TP + FP) at proba >= threshold", "precision_score"),
    ("npv", cls_.npv, "TN / (TN + FN) at proba >= threshold", "precision_score(pos_label=0)"),
):
    _register(name=_name, task="classification", greater_is_better=True, inputs=("proba",),
              options=("threshold",), description=_what, reference=f"{_SK}.{_ref}",
              func=lambda y, p, threshold=0.5, f=_fn: f(y, p, threshold=threshold))

# --- survival -------------------------------------------------------------------------------
_register(name="c_index", task="survival", greater_is_better=True, inputs=("risk",),
          options=("tied_tol",), description="Harrell's concordance index",
          reference=f"{_SKS}.concordance_index_censored (exact)",
          func=lambda y, p, **kw: harrell_c(y, p.risk, **kw))
_register(name="c_index_uno", task="survival", greater_is_better=True, inputs=("risk",),
          requires=("y_train",), options=("tau", "tied_tol"),
          description="Uno's IPCW concordance index (censoring fitted on y_train)",
          reference=f"{_SKS}.concordance_index_ipcw (1e-9)",
          func=lambda y, p, **kw: uno_c(y, p.risk, **kw))
_register(name="c_index_td", task="survival", greater_is_better=True, inputs=("survival",),
          description="Antolini's time-dependent concordance index",
          reference="pycox 0.3 EvalSurv.concordance_td('antolini') (1e-9)",
          func=lambda y, p: antolini_c(y, p.survival, p.times))
_register(name="cumulative_auc", task="survival", greater_is_better=True, inputs=("risk",),
          requires=("y_train", "times"),
          description="integrated mean of the cumulative/dynamic AUC over times",
          reference=f"{_SKS}.cumulative_dynamic_auc mean_auc (1e-9)",
          func=lambda y, p, y_train, times: integrated_auc(y, p.risk, times, y_train=y_train))
_register(name="brier_at_horizon", task="survival", greater_is_better=False,
          inputs=("survival",), requires=("y_train", "horizon"),
          description="IPCW Brier score at the horizon",
          reference=f"{_SKS}.brier_score (1e-9)",
          func=lambda y, p, y_train, horizon: brier_score(
              y, p.survival_at([horizon]), [horizon], y_train=y_train)[0])
_register(name="ibs", task="survival", greater_is_better=False, inputs=("survival",),
          requires=("y_train", "times"), description="integrated IPCW Brier score over times",
          reference=f"{_SKS}.integrated_brier_score (1e-9)",
          func=lambda y, p, y_train, times: integrated_brier_score(
              y, p.survival_at(times), times, y_train=y_train))
_register(name="ibll", task="survival", greater_is_better=False, inputs=("survival",),
          requires=("y_train", "times"),
          description="integrated negative binomial log-likelihood (IPCW) over times",
          reference="pycox 0.3 ipcw.binomial_log_likelihood scores / n (1e-9)",
          func=lambda y, p, y_train, times: integrated_negative_binomial_log_likelihood(
              y, p.survival_at(times), times, y_train=y_train))
_register(name="mae_event_time", task="survival", greater_is_better=False,
          inputs=("predicted_time",),
          description="mean absolute error of predicted times over patients with an event",
          reference="sklearn.metrics.mean_absolute_error on the events",
          func=lambda y, p: mae_event_time(y, p.predicted_time))
_register(name="d_calibration", task="survival", greater_is_better=False,
          inputs=("survival",), options=("n_bins",),
          description="D-calibration chi-square statistic (10 bins; p-value via d_calibration)",
          reference="scipy.stats.chisquare on the D-calibration histogram",
          func=lambda y, p, n_bins=10: d_calibration(
              y, p.survival, p.times, n_bins=n_bins).statistic)
_register(name="ici_at_horizon", task="survival", greater_is_better=False,
          inputs=("survival",), requires=("horizon",),
          description="integrated calibration index of the predicted risk at the horizon",
          reference="lifelines 0.30 CoxPHFitter on the same spline basis (1e-5)",
          func=lambda y, p, horizon: integrated_calibration_index(
              y, p.survival_at([horizon])[:, 0], horizon).ici)

# --- competing risks (one cause at a time: ``cause=`` in the context) -----------------------
_RR = "riskRegression 2022.11.28 Score(cens.model = 'km')"


def _time_mean(values: np.ndarray, times: np.ndarray) -> float:
    """Trapezoid mean of ``values`` over ``times`` (the value itself at a single time)."""
    if times.shape[0] == 1:
        return float(values[0])
    return float(np.trapezoid(values, times) / (times[-1] - times[0]))


_register(name="cause_specific_auc", task="competing", greater_is_better=True, inputs=("cif",),
          requires=("cause", "y_train", "times"),
          description="cause-specific IPCW time-dependent AUC of the CIF, time-averaged over "
                      "times (trapezoid mean, as ibs)",
          reference=f"{_RR} metrics='auc' per time (1e-9)",
          func=lambda y, p, cause, y_train, times: _time_mean(cause_specific_auc(
              y, p.cif_at(cause, times), times, cause=cause, y_train=y_train),
              np.asarray(times, dtype=float)))
_register(name="ibs_competing", task="competing", greater_is_better=False, inputs=("cif",),
          requires=("cause", "y_train", "times"),
          description="integrated IPCW Brier score of the cause's CIF over times",
          reference=f"{_RR} metrics='brier' per time, trapezoid mean (1e-9)",
          func=lambda y, p, cause, y_train, times: integrated_brier_score_competing(
              y, p.cif_at(cause, times), times, cause=cause, y_train=y_train))
_register(name="wolbers_c", task="competing", greater_is_better=True, inputs=("risk",),
          requires=("cause",), options=("tau",),
          description="Wolbers' truncated cause-specific concordance of the risk (the CIF at "
                      "the last evaluation time)",
          reference="pec 2022.05.04 cindex(cens.model = 'marginal') (1e-9)",
          func=lambda y, p, cause, tau=None: wolbers_c(y, p.risk[cause], cause=cause, tau=tau))

_TOPK = re.compile(r"^(recall|precision)_at_(\d+(?:\.\d+)?)pct$")
_TOPK_DEFAULTS = ("recall_at_10pct", "precision_at_10pct")


def _format_percent(k: float) -> str:
    text = f"{k:.6f}".rstrip("0").rstrip(".")
    return text


def _topk_metric(kind: str, k: float) -> Metric:
    name = f"{kind}_at_{_format_percent(k)}pct"
    fn = recall_at_k if kind == "recall" else precision_at_k
    what = ("share of all positives captured in the top" if kind == "recall"
            else "share of positives among the top")
    return Metric(
        name=name, task="classification", greater_is_better=True, inputs=("proba",),
        description=f"{what} {_format_percent(k)}% of predicted risk",
        reference="own (no scikit-learn equivalent); hand-derived cases",
        func=lambda y, p: fn(y, p, k),
    )


def get_metric(name: str) -> Metric:
    """Look a metric up by its stable name.

    Parameters
    ----------
    name : str
        A registered name (see :func:`list_metrics`) or ``recall_at_{K}pct`` /
        ``precision_at_{K}pct``.

    Returns
    -------
    Metric

    Raises
    ------
    MetricError
        Unknown name (with suggestions).

    Examples
    --------
    >>> get_metric("c_index").greater_is_better
    True
    >>> get_metric("recall_at_5pct").name
    'recall_at_5pct'
    >>> get_metric("recall_at_50")
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.MetricError: unknown metric 'recall_at_50'; ...
    """
    if isinstance(name, Metric):
        return name
    if name in _REGISTRY:
        return _REGISTRY[name]
    match = _TOPK.match(str(name))
    if match:
        k = float(match.group(2))
        if 0 < k <= 100:
            metric = _topk_metric(match.group(1), k)
            if metric.name == name:
                return metric
            raise MetricError(
                f"metric name '{name}' is not in canonical form; use '{metric.name}'."
            )
    close = difflib.get_close_matches(str(name), list(_REGISTRY) + list(_TOPK_DEFAULTS), n=3)
    hint = f" Did you mean {close}?" if close else ""
    raise MetricError(
        f"unknown metric '{name}'; see list_metrics(). Top-K metrics take K in percent of the "
        f"rows, e.g. 'recall_at_10pct' (0 < K <= 100).{hint}"
    )


def list_metrics(task: str | None = None) -> tuple[str, ...]:
    """Sorted stable names of the registered metrics (optionally of one task).

    The top-K families are listed with K = 10; any other K in (0, 100] resolves as well.

    Examples
    --------
    >>> list_metrics("survival")[:3]
    ('brier_at_horizon', 'c_index', 'c_index_td')
    """
    if task is not None and task not in TASKS:
        raise MetricError(f"task must be one of {list(TASKS)}; got {task!r}.")
    names = [n for n, m in _REGISTRY.items() if task in (None, m.task)]
    if task in (None, "classification"):
        names.extend(_TOPK_DEFAULTS)
    return tuple(sorted(names))


_DEFAULTS = {
    "binary": ("auc_roc", "auc_pr", "brier", "log_loss", "ece"),
    "multiclass": ("auc_roc_ovr_macro", "auc_pr_ovr_macro", "brier", "log_loss",
                   "balanced_accuracy"),
    "survival": ("c_index", "c_index_uno", "cumulative_auc", "c_index_td", "ibs", "ibll",
                 "brier_at_horizon", "ici_at_horizon", "d_calibration", "mae_event_time"),
    "competing": ("cause_specific_auc", "ibs_competing", "wolbers_c"),
}


def default_metrics(task: str, prediction: Any, context: dict[str, Any]) -> list[str]:
    if task == "classification":
        multi = np.ndim(prediction) == 2 and np.shape(prediction)[1] > 2
        return list(_DEFAULTS["multiclass" if multi else "binary"])
    available = _coerce(task, prediction).available
    return [
        n for n in _DEFAULTS[task]
        if set(_REGISTRY[n].inputs) <= available
        and all(context.get(k) is not None for k in _REGISTRY[n].requires)
    ]


def evaluate(
    task: str, y: Any, prediction: Any, metrics: Iterable[str] | None = None, **context: Any
) -> dict[str, float]:
    """Compute several metrics of one task; returns ``{stable name: value}`` in order.

    Parameters
    ----------
    task : {"classification", "survival", "competing"}
        The task; every requested metric must belong to it.
    y : array-like or structured array
        Labels, or the survival outcome (structured array or ``(event, time)``), or the
        competing-risks outcome (``(status, time)``).
    prediction : array-like, SurvivalPrediction, CompetingPrediction or mapping
        ``proba`` for classification; a :class:`SurvivalPrediction` (or risk vector) for
        survival; a :class:`CompetingPrediction` for competing risks.
    metrics : iterable of str, optional
        Names to compute. Default: for classification ``auc_roc, auc_pr, brier,
        log_loss, ece`` (multi-class: the ``*_ovr_macro`` variants, brier, log_loss,
        balanced_accuracy); for survival (and competing risks) every registered metric whose
        inputs and required context are available.
    **context
        Settings the metrics need or accept: ``y_train``, ``times``, ``horizon``, ``tau``,
        ``threshold``, ``n_bins``, ``tied_tol``, ``classes`` (multi-class: the model's
        classes, for a split that lacks some), ``cause`` (competing risks: the cause code
        scored). Each metric receives only its own; a key no
        requested metric uses is an error (it is probably misspelt).

    Returns
    -------
    dict of str to float

    Examples
    --------
    >>> evaluate("classification", [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8],
    ...          metrics=["auc_roc", "recall_at_50pct"])
    {'auc_roc': 0.75, 'recall_at_50pct': 0.5}
    >>> evaluate("survival", ([1, 1, 0], [1.0, 2.0, 3.0]), [3.0, 1.0, 2.0])
    {'c_index': 0.6666666666666666}
    >>> p = CompetingPrediction(cif={1: [[0.7], [0.3], [0.6], [0.2], [0.25], [0.1]]},
    ...                         times=[5.0])
    >>> y = ([1, 2, 1, 0, 1, 0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> round(evaluate("competing", y, p, metrics=["wolbers_c"], cause=1)["wolbers_c"], 4)
    0.8824
    """
    if task not in TASKS:
        raise MetricError(f"task must be one of {list(TASKS)}; got {task!r}.")
    names = list(metrics) if metrics is not None else default_metrics(task, prediction, context)
    resolved = [get_metric(n) for n in names]
    wrong = [m.name for m in resolved if m.task != task]
    if wrong:
        raise MetricError(f"metric(s) {wrong} do not evaluate the task '{task}'.")
    accepted = {k for m in resolved for k in (*m.requires, *m.options)}
    unused = sorted(k for k in context if k not in accepted)
    if unused:
        raise MetricError(
            f"evaluate() got {unused}, which none of the metrics {names} uses; accepted here: "
            f"{sorted(accepted)}."
        )
    if task in ("survival", "competing"):
        prediction = _coerce(task, prediction)
    out: dict[str, float] = {}
    for metric in resolved:
        keys = (*metric.requires, *metric.options)
        out[metric.name] = metric(y, prediction, **{k: context[k] for k in keys if k in context})
    return out
