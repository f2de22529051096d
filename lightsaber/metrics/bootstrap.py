"""Seeded percentile-bootstrap confidence intervals for any metric, and paired comparisons.

* :func:`bootstrap_ci` — resample the evaluated rows with replacement ``n_resamples`` times,
  recompute the metric, report the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2``
  percentiles of the replicates (Efron's percentile interval).
* :func:`paired_bootstrap` — the same resamples applied to two models' predictions on the same
  rows; the interval is that of the difference ``metric(a) - metric(b)``.

Resampling is **stratified** by default — by event indicator for survival outcomes, by status
(censored or the cause) for competing risks, by label for classification — so every replicate
keeps the number of events / the class balance (and a rare-outcome metric stays defined).
Everything is reproducible from ``seed``.

Context such as ``y_train`` (the censoring distribution) is held fixed: only the evaluated rows
are resampled. A replicate on which the metric is undefined (a
:class:`~lightsaber.exceptions.LightsaberError`, e.g. no comparable pair) is dropped and
counted in ``n_failed``; if more than half fail, :class:`MetricError` is raised.

Harrell's C (``"c_index"``) has a fast path: the pairs are sorted once and every replicate is
evaluated as row weights (:class:`lightsaber.metrics._pairs.HarrellIndex`), giving bit-identical
replicates to the generic path (tested) about 7x faster (1,000 replicates at n = 10,000 in ~1 s
on 2 cores, the resampling included).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from lightsaber.data.targets import check_competing_target, check_label
from lightsaber.exceptions import LightsaberError, MetricError
from lightsaber.metrics._pairs import HarrellIndex
from lightsaber.metrics.catalogue import TASKS, Metric, get_metric
from lightsaber.metrics.concordance import check_tol
from lightsaber.metrics.prediction import CompetingPrediction, SurvivalPrediction
from lightsaber.metrics.validation import as_survival_target, check_risk

__all__ = ["BootstrapResult", "PairedBootstrapResult", "bootstrap_ci", "paired_bootstrap"]


def _num(value: float) -> str:
    return f"{value:.4g}"


def _level(confidence: float) -> str:
    return f"{confidence * 100:g}%"


def _name(metric: str) -> str:
    return metric if len(metric) <= 60 else metric[:57] + "..."


def _html_table(caption: str, rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th style=\"text-align:left\">{html.escape(k)}</th>"
                   f"<td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table><caption>{html.escape(caption)}</caption>{body}</table>"


def _resamples(n_resamples: int, n_failed: int) -> str:
    return f"{n_resamples}" + (f" ({n_failed} failed)" if n_failed else "")


@dataclass(frozen=True, repr=False)
class BootstrapResult:
    """A metric with its percentile-bootstrap confidence interval.

    Its ``repr`` (and the table a notebook shows) summarises the interval; the replicates stay
    in :attr:`replicates`, never printed.

    Attributes
    ----------
    metric : str
        Metric name.
    estimate : float
        The metric on all rows.
    low, high : float
        Interval bounds.
    confidence : float
        Nominal coverage, e.g. 0.95.
    standard_error : float
        Standard deviation of the replicates.
    replicates : numpy.ndarray
        The successful replicates.
    n_resamples, n_failed : int
        Replicates drawn, and dropped because the metric was undefined.
    stratified : bool
        Whether resampling kept the strata sizes.
    seed : int
        Seed of the generator.
    """

    metric: str
    estimate: float
    low: float
    high: float
    confidence: float
    standard_error: float
    replicates: np.ndarray
    n_resamples: int
    n_failed: int
    stratified: bool
    seed: int

    def __repr__(self) -> str:
        """One line: metric, estimate, interval, resamples (the replicates are not shown).

        Examples
        --------
        >>> res = BootstrapResult("auc_roc", 0.8123, 0.75, 0.87, 0.95, 0.03,
        ...                       np.zeros(10_000), 10_000, 0, True, 0)
        >>> res
        BootstrapResult(metric='auc_roc', estimate=0.8123, 95% CI [0.75, 0.87], \
standard_error=0.03, n_resamples=10000, n_failed=0, stratified=True, seed=0)
        """
        return (f"BootstrapResult(metric={_name(self.metric)!r}, "
                f"estimate={_num(self.estimate)}, {_level(self.confidence)} CI "
                f"[{_num(self.low)}, {_num(self.high)}], "
                f"standard_error={_num(self.standard_error)}, "
                f"n_resamples={self.n_resamples}, n_failed={self.n_failed}, "
                f"stratified={self.stratified}, seed={self.seed})")

    def _repr_html_(self) -> str:
        return _html_table(f"Bootstrap CI: {_name(self.metric)}", [
            ("estimate", _num(self.estimate)),
            (f"{_level(self.confidence)} CI", f"{_num(self.low)} to {_num(self.high)}"),
            ("standard error", _num(self.standard_error)),
            ("resamples", _resamples(self.n_resamples, self.n_failed)),
            ("stratified", str(self.stratified)), ("seed", str(self.seed)),
        ])


@dataclass(frozen=True, repr=False)
class PairedBootstrapResult:
    """Difference of a metric between two models on the same rows, with its interval.

    Its ``repr`` (and the table a notebook shows) summarises the comparison; the replicates stay
    in :attr:`replicates`, never printed.

    Attributes
    ----------
    metric : str
        Metric name.
    estimate_a, estimate_b : float
        The metric of each model on all rows.
    difference : float
        ``estimate_a - estimate_b``.
    low, high : float
        Percentile interval of the difference.
    p_value : float
        Two-sided bootstrap p-value for "no difference":
        ``min(1, 2 * min(P(d <= 0), P(d >= 0)))`` over the replicates (approximate).
    confidence : float
        Nominal coverage.
    replicates : numpy.ndarray
        Successful replicates of the difference.
    n_resamples, n_failed : int
        Replicates drawn and dropped.
    stratified : bool
        Whether resampling kept the strata sizes.
    seed : int
        Seed of the generator.
    """

    metric: str
    estimate_a: float
    estimate_b: float
    difference: float
    low: float
    high: float
    p_value: float
    confidence: float
    replicates: np.ndarray
    n_resamples: int
    n_failed: int
    stratified: bool
    seed: int

    def __repr__(self) -> str:
        """One line: metric, both estimates, the difference and its interval, the p-value.

        Examples
        --------
        >>> res = PairedBootstrapResult("c_index", 0.72, 0.68, 0.04, 0.01, 0.07, 0.012, 0.95,
        ...                             np.zeros(10_000), 10_000, 3, True, 0)
        >>> res
        PairedBootstrapResult(metric='c_index', estimate_a=0.72, estimate_b=0.68, \
difference=0.04, 95% CI [0.01, 0.07], p_value=0.012, n_resamples=10000, n_failed=3, \
stratified=True, seed=0)
        """
        return (f"PairedBootstrapResult(metric={_name(self.metric)!r}, "
                f"estimate_a={_num(self.estimate_a)}, estimate_b={_num(self.estimate_b)}, "
                f"difference={_num(self.difference)}, {_level(self.confidence)} CI "
                f"[{_num(self.low)}, {_num(self.high)}], p_value={_num(self.p_value)}, "
                f"n_resamples={self.n_resamples}, n_failed={self.n_failed}, "
                f"stratified={self.stratified}, seed={self.seed})")

    def _repr_html_(self) -> str:
        return _html_table(f"Paired bootstrap: {_name(self.metric)} (a - b)", [
            ("estimate a", _num(self.estimate_a)), ("estimate b", _num(self.estimate_b)),
            ("difference", _num(self.difference)),
            (f"{_level(self.confidence)} CI", f"{_num(self.low)} to {_num(self.high)}"),
            ("p-value", _num(self.p_value)),
            ("resamples", _resamples(self.n_resamples, self.n_failed)),
            ("stratified", str(self.stratified)), ("seed", str(self.seed)),
        ])


def _resolve(metric: str | Metric | Callable[..., float], task: str | None):
    if isinstance(metric, (str, Metric)):
        m = get_metric(metric)
        if task is not None and task != m.task:
            raise MetricError(f"metric '{m.name}' evaluates '{m.task}', not '{task}'.")
        return m.name, m.task, m
    if callable(metric):
        if task not in TASKS:
            raise MetricError(
                f"a metric given as a function needs task= one of {list(TASKS)}; got {task!r}."
            )
        return getattr(metric, "__name__", "metric"), task, metric
    raise MetricError(f"metric must be a registered name, a Metric or a function; got {metric!r}.")


def _take(prediction: Any, rows: np.ndarray) -> Any:
    if isinstance(prediction, (SurvivalPrediction, CompetingPrediction)):
        return prediction.take(rows)
    if isinstance(prediction, Mapping):
        return {k: (v if k in ("times", "time_grid") else np.asarray(v)[rows])
                for k, v in prediction.items()}
    return np.asarray(prediction)[rows]


def _outcome(task: str, y: Any) -> tuple[Any, np.ndarray]:
    """The outcome as a row-indexable array, and the stratum of each row."""
    if task == "survival":
        target = as_survival_target(y, allow_all_censored=True)
        return target, target["event"].astype(np.int64)
    if task == "competing":
        target = check_competing_target(y)
        return target, target["status"]
    labels = check_label(y, name="y_true", allow_single_class=True)
    return labels, np.unique(labels, return_inverse=True)[1]


def _draws(strata: np.ndarray, n_resamples: int, stratify: bool, seed: int
           ) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    n = strata.shape[0]
    groups = [np.flatnonzero(strata == s) for s in np.unique(strata)] if stratify else None
    for _ in range(n_resamples):
        if groups is None:
            yield rng.integers(0, n, n)
        else:
            yield np.concatenate([g[rng.integers(0, g.shape[0], g.shape[0])] for g in groups])


def _check_settings(n_resamples: int, confidence: float) -> tuple[int, float]:
    n_resamples, confidence = int(n_resamples), float(confidence)
    if n_resamples < 1:
        raise MetricError(f"n_resamples must be a positive integer; got {n_resamples}.")
    if not 0.0 < confidence < 1.0:
        raise MetricError(f"confidence must be in (0, 1); got {confidence!r}.")
    return n_resamples, confidence


def _fast_harrell(name: str, metric: Any, context: dict[str, Any]) -> bool:
    return name == "c_index" and isinstance(metric, Metric) and set(context) <= {"tied_tol"}


def _replicates(
    metric: Any, target: Any, strata: np.ndarray, predictions: list[Any], n_resamples: int,
    stratify: bool, seed: int, context: dict[str, Any], fast: bool,
) -> np.ndarray:
    """Replicates, shape (n_resamples, n_predictions); NaN where the metric was undefined."""
    out = np.full((n_resamples, len(predictions)), np.nan)
    draws = _draws(strata, n_resamples, stratify, seed)
    if fast:
        tol = check_tol(context.get("tied_tol", 1e-8))
        indexes = []
        for p in predictions:
            risk = check_risk(SurvivalPrediction.coerce(p).risk, target.shape[0])
            indexes.append(HarrellIndex(target["event"], target["time"], risk, tol))
        n = target.shape[0]
        chunk = max(1, 2_000_000 // max(n, 1))
        for start in range(0, n_resamples, chunk):
            stop = min(n_resamples, start + chunk)
            weights = np.stack([np.bincount(next(draws), minlength=n)
                                for _ in range(start, stop)])
            for j, index in enumerate(indexes):
                out[start:stop, j] = index.evaluate(weights)
        return out
    for b, rows in enumerate(draws):
        for j, p in enumerate(predictions):
            try:
                out[b, j] = metric(target[rows], _take(p, rows), **context)
            except LightsaberError:
                pass
    return out


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return float(low), float(high)


def _usable(replicates: np.ndarray, name: str) -> np.ndarray:
    ok = ~np.isnan(replicates)
    if ok.sum() * 2 < replicates.shape[0]:
        raise MetricError(
            f"metric '{name}' was undefined on {int((~ok).sum())} of {replicates.shape[0]} "
            "bootstrap replicates; the evaluation set is too small or too unbalanced for a "
            "bootstrap interval."
        )
    return replicates[ok]


def bootstrap_ci(
    metric: str | Metric | Callable[..., float], y: Any, prediction: Any, *,
    n_resamples: int = 1000, confidence: float = 0.95, stratify: bool = True, seed: int = 0,
    task: str | None = None, **context: Any,
) -> BootstrapResult:
    """Percentile-bootstrap confidence interval of a metric.

    Parameters
    ----------
    metric : str, Metric or callable
        A registered name (``"c_index"``, ``"auc_roc"``, ...) or a function
        ``f(y, prediction, **context) -> float`` (then ``task`` is required). A function
        receives the validated outcome (a structured survival array, or the label array) and
        the prediction (rows taken in the type it was given).
    y : array-like or structured array
        Labels or survival outcome.
    prediction : array-like, SurvivalPrediction or mapping
        As for :func:`lightsaber.metrics.evaluate`.
    n_resamples : int, default 1000
        Number of bootstrap replicates.
    confidence : float, default 0.95
        Coverage of the interval.
    stratify : bool, default True
        Resample within strata (event indicator / class label).
    seed : int, default 0
        Seed of ``numpy.random.default_rng``.
    task : {"classification", "survival", "competing"}, optional
        Needed when ``metric`` is a function.
    **context
        Passed to the metric (e.g. ``y_train``, ``times``; ``cause`` for a competing-risks
        metric); not resampled.

    Returns
    -------
    BootstrapResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> time = rng.exponential(size=200)
    >>> event = rng.random(200) < 0.7
    >>> risk = -time + rng.normal(size=200)
    >>> res = bootstrap_ci("c_index", (event, time), risk, n_resamples=200, seed=1)
    >>> bool(res.low < res.estimate < res.high), res.n_failed
    (True, 0)
    """
    n_resamples, confidence = _check_settings(n_resamples, confidence)
    name, task, fn = _resolve(metric, task)
    target, strata = _outcome(task, y)
    estimate = float(fn(target, prediction, **context))
    fast = _fast_harrell(name, fn, context)
    reps = _replicates(fn, target, strata, [prediction], n_resamples, stratify, seed, context,
                       fast)[:, 0]
    values = _usable(reps, name)
    low, high = _interval(values, confidence)
    return BootstrapResult(
        metric=name, estimate=estimate, low=low, high=high, confidence=confidence,
        standard_error=float(np.std(values, ddof=1)) if values.shape[0] > 1 else float("nan"),
        replicates=values, n_resamples=n_resamples, n_failed=int(np.isnan(reps).sum()),
        stratified=stratify, seed=seed,
    )


def paired_bootstrap(
    metric: str | Metric | Callable[..., float], y: Any, prediction_a: Any, prediction_b: Any,
    *, n_resamples: int = 1000, confidence: float = 0.95, stratify: bool = True, seed: int = 0,
    task: str | None = None, **context: Any,
) -> PairedBootstrapResult:
    """Paired bootstrap of the difference of a metric between two models on the same rows.

    Each replicate resamples the rows once and scores both predictions on them, so the
    interval accounts for the correlation between the models.

    Parameters
    ----------
    metric : str, Metric or callable
        As for :func:`bootstrap_ci`.
    y : array-like or structured array
        Labels or survival outcome.
    prediction_a, prediction_b : array-like, SurvivalPrediction or mapping
        The two models' predictions for the same rows.
    n_resamples, confidence, stratify, seed, task, **context
        As for :func:`bootstrap_ci`.

    Returns
    -------
    PairedBootstrapResult
        ``difference = metric(a) - metric(b)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.random(300) < 0.3
    >>> good = np.clip(0.3 + 0.4 * (y - 0.3) + rng.normal(0, 0.2, 300), 0, 1)
    >>> noise = rng.random(300)
    >>> res = paired_bootstrap("auc_roc", y, good, noise, n_resamples=200, seed=2)
    >>> bool(res.low > 0), res.p_value < 0.05
    (True, True)
    """
    n_resamples, confidence = _check_settings(n_resamples, confidence)
    name, task, fn = _resolve(metric, task)
    target, strata = _outcome(task, y)
    a = float(fn(target, prediction_a, **context))
    b = float(fn(target, prediction_b, **context))
    fast = _fast_harrell(name, fn, context)
    reps = _replicates(fn, target, strata, [prediction_a, prediction_b], n_resamples, stratify,
                       seed, context, fast)
    diff = reps[:, 0] - reps[:, 1]
    values = _usable(diff, name)
    low, high = _interval(values, confidence)
    p_value = min(1.0, 2.0 * min(float(np.mean(values <= 0)), float(np.mean(values >= 0))))
    return PairedBootstrapResult(
        metric=name, estimate_a=a, estimate_b=b, difference=a - b, low=low, high=high,
        p_value=p_value, confidence=confidence, replicates=values, n_resamples=n_resamples,
        n_failed=int(np.isnan(diff).sum()), stratified=stratify, seed=seed,
    )
