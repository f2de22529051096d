"""What a study returns and logs: trials table, best configuration, importance, ablation, plots.

Every table is a :class:`pandas.DataFrame` on :class:`StudyResult` and a CSV artifact of the
parent run under ``analysis/``; every plot is a :class:`matplotlib.figure.Figure` (built without
pyplot, so no GUI backend is touched) and a PNG artifact next to them.
"""

from __future__ import annotations

import hashlib
import html
import math
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from lightsaber.exceptions import LightsaberError
from lightsaber.tracking import tags as tag_names
from lightsaber.tuning.space import Dimension, LogUniform, factors, sample_key
from lightsaber.tuning.trial import ROLE, STUDY, TrialOutcome

__all__ = ["StudyResult", "ablation_table", "parameter_importance"]

#: Longest value shown by ``repr(StudyResult)`` (characters); test metrics it shows.
MAX_REPR_VALUE, MAX_SHOWN_METRICS = 240, 8
#: Bootstrap resamples of the validation split for the ablation table's intervals.
N_BOOTSTRAP = 200
CONFIDENCE = 0.95


@dataclass
class StudyResult:
    """What :func:`lightsaber.tune` returns.

    Attributes
    ----------
    trials : DataFrame
        One row per finished trial: ``number``, ``status``, ``value`` (the objective),
        ``error_class``, ``fit_seconds``, ``run_id``, ``node``, one column per parameter
        (``NaN`` where a conditional parameter was inactive) and ``val_*`` metrics.
    best_params : dict
        The best configuration, as passed to ``set_params``.
    best_value : float
        Its validation objective.
    run_id : str
        The study's parent MLflow run.
    test_metrics : dict
        Test metrics of the refit best configuration (empty without refit or test split).
    metric, direction, study_name : str
    importance : DataFrame
        ``parameter``, ``importance`` (random-forest impurity importance over finished trials,
        summing to 1).
    ablation : DataFrame
        ``factor``, ``level``, ``n_pairs``, ``value``, ``baseline_value``, ``delta``,
        ``ci_low``, ``ci_high`` (ofat and factorial studies; empty otherwise).
    refit_run_id : str or None
        The current refit child run (also the parent run's ``lightsaber.refit_run_id`` tag).
    best_trial : int or None
        Number of the best trial.

    Notes
    -----
    ``repr(study)`` is a short summary (name, objective, trials ok / failed, best value and
    parameters, test metrics of the refit); in a notebook the same shows as a small table.
    """

    trials: pd.DataFrame
    best_params: dict[str, Any]
    best_value: float
    run_id: str
    test_metrics: dict[str, float]
    metric: str
    direction: str
    study_name: str
    importance: pd.DataFrame = field(default_factory=pd.DataFrame)
    ablation: pd.DataFrame = field(default_factory=pd.DataFrame)
    refit_run_id: str | None = None
    tracking_uri: str | None = None
    space: Mapping[str, Any] = field(default_factory=dict, repr=False)
    best_trial: int | None = None

    def _summary(self) -> list[tuple[str, str]]:
        """``(label, text)`` rows shared by ``__repr__`` and ``_repr_html_``."""
        status = self.trials["status"] if "status" in self.trials else pd.Series(dtype=str)
        n_ok = int((status == "ok").sum())
        best = _short_value(self.best_value)
        if self.best_trial is not None:
            best += f" (trial {self.best_trial})"
        params = ", ".join(f"{k}={_short_value(v)}" for k, v in self.best_params.items())
        tests = ", ".join(f"{k}={_short_value(v)}"
                          for k, v in list(self.test_metrics.items())[:MAX_SHOWN_METRICS])
        if len(self.test_metrics) > MAX_SHOWN_METRICS:
            tests += f", ... ({len(self.test_metrics)} metrics)"
        goal = "maximise" if self.direction == "higher" else "minimise"
        return [("study", _clip(self.study_name, 100)),
                ("objective", f"{goal} val {self.metric}"),
                ("trials", f"{len(self.trials)} trials ({n_ok} ok, "
                           f"{len(self.trials) - n_ok} failed)"),
                ("best value", best), ("best params", _clip(params or "none")),
                ("test (refit)", _clip(tests or "none")),
                ("runs", f"parent {self.run_id}, refit {self.refit_run_id or 'none'}")]

    def __repr__(self) -> str:
        """A summary of well under 1,000 characters (long values are cut, ending in ...).

        Examples
        --------
        >>> study = StudyResult(trials=pd.DataFrame({"status": ["ok", "failed"]}),
        ...                     best_params={"C": 0.123456, "penalty": "l2"}, best_value=0.8125,
        ...                     run_id="abc", test_metrics={"auc_roc": 0.79, "brier": 0.18},
        ...                     metric="auc_roc", direction="higher", study_name="demo",
        ...                     best_trial=0)
        >>> print(repr(study))
        StudyResult 'demo': maximise val auc_roc, 2 trials (1 ok, 1 failed)
          best value    0.8125 (trial 0)
          best params   C=0.1235, penalty='l2'
          test (refit)  auc_roc=0.79, brier=0.18
          runs          parent abc, refit none
        """
        rows = self._summary()
        head = f"StudyResult {rows[0][1]!r}: {rows[1][1]}, {rows[2][1]}"
        return "\n".join([head, *(f"  {label:<13} {text}" for label, text in rows[3:])])

    def _repr_html_(self) -> str:
        """A small HTML table of the summary (values escaped)."""
        cells = "".join(f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
                        f"<td style='text-align:left'>{html.escape(text)}</td></tr>"
                        for label, text in self._summary())
        return f"<table class='lightsaber-study'><caption>StudyResult</caption>{cells}</table>"

    @property
    def history(self) -> pd.DataFrame:
        """``number``, ``value`` and ``best_so_far`` in trial order (optimisation history)."""
        frame = self.trials.sort_values("number")[["number", "value"]].reset_index(drop=True)
        values = frame["value"].to_numpy(dtype=float)
        sign = 1.0 if self.direction == "higher" else -1.0
        running = np.fmax.accumulate(np.where(np.isnan(values), -np.inf, sign * values))
        frame["best_so_far"] = np.where(np.isfinite(running), sign * running, np.nan)
        return frame

    def plot_history(self) -> Any:
        """Objective per trial and best so far."""
        from matplotlib.figure import Figure

        hist = self.history
        fig = Figure(figsize=(6, 3.5), layout="constrained")
        ax = fig.add_subplot()
        ax.plot(hist["number"], hist["value"], "o", alpha=0.6, label="trial")
        ax.step(hist["number"], hist["best_so_far"], where="post", label="best so far")
        ax.set(xlabel="trial", ylabel=f"val {self.metric}", title="optimisation history")
        ax.legend(loc="best")
        return fig

    def plot_parameters(self) -> Any:
        """Objective against each parameter: scatter for numbers, box plot for categories."""
        from matplotlib.figure import Figure

        names = [c for c in _parameter_columns(self.trials, self.space)]
        fig = Figure(figsize=(4 * max(1, len(names)), 3.5), layout="constrained")
        ok = self.trials[self.trials["status"] == "ok"]
        for i, name in enumerate(names):
            ax = fig.add_subplot(1, max(1, len(names)), i + 1)
            column = ok[name]
            if _is_numeric(column):
                ax.scatter(column.astype(float), ok["value"], alpha=0.7)
                if isinstance(self.space.get(name), LogUniform):
                    ax.set_xscale("log")
            else:
                labels = column.map(repr)
                groups = sorted(labels.dropna().unique())
                ax.boxplot([ok["value"][labels == g].to_numpy(dtype=float) for g in groups])
                ax.set_xticks(range(1, len(groups) + 1), groups)
            ax.set(xlabel=name, ylabel=f"val {self.metric}")
        return fig

    def plot_importance(self) -> Any:
        """Horizontal bars of :attr:`importance`."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5, 2 + 0.4 * len(self.importance)), layout="constrained")
        ax = fig.add_subplot()
        if len(self.importance):
            ax.barh(self.importance["parameter"], self.importance["importance"])
        ax.set(xlabel="importance", title="parameter importance")
        return fig


def _short_value(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    if isinstance(value, type) or callable(value):
        return getattr(value, "__qualname__", type(value).__name__)
    return _clip(repr(value), 60)


def _clip(text: str, limit: int = MAX_REPR_VALUE) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _parameter_columns(trials: pd.DataFrame, space: Mapping[str, Any]) -> list[str]:
    fixed = {"number", "status", "value", "error_class", "fit_seconds", "run_id", "node"}
    return [c for c in trials.columns if c not in fixed and not c.startswith(("val_", "train_"))
            and (c not in space or isinstance(space[c], Dimension))
            and trials[c].map(repr).nunique() > 1]


def _is_numeric(column: pd.Series) -> bool:
    values = column.dropna()
    return len(values) > 0 and all(isinstance(v, (int, float, np.integer, np.floating))
                                   and not isinstance(v, bool) for v in values)


def trials_frame(outcomes: list[TrialOutcome]) -> pd.DataFrame:
    """The trials table of finished outcomes."""
    rows = []
    for o in sorted(outcomes, key=lambda o: o.number):
        row = {"number": o.number, "status": o.status, "value": o.value,
               "error_class": o.error_class, "fit_seconds": o.fit_seconds,
               "run_id": o.run_id, "node": o.node}
        for key, value in o.record.items():
            row[key] = tuple(value) if isinstance(value, list) else value
        row.update({k: v for k, v in o.metrics.items() if k.startswith("val_")})
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(columns=["number", "status", "value", "error_class",
                                      "fit_seconds", "run_id", "node"])
    return frame


def parameter_importance(trials: pd.DataFrame, space: Mapping[str, Any], seed: int = 0
                         ) -> pd.DataFrame:
    """Random-forest importance of each parameter for the objective (finished ``ok`` trials).

    Numbers enter as they are (log10 for log-uniform dimensions), categories as codes; an
    inactive conditional parameter is coded as its own value. Returns an empty frame when fewer
    than 4 trials succeeded or nothing varied.

    Examples
    --------
    >>> frame = pd.DataFrame({"status": ["ok"] * 6, "value": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
    ...                       "a": [1, 2, 3, 4, 5, 6], "b": ["x", "x", "y", "x", "y", "y"]})
    >>> imp = parameter_importance(frame, {})
    >>> list(imp["parameter"]), round(float(imp["importance"].sum()), 6)
    (['a', 'b'], 1.0)
    """
    from sklearn.ensemble import RandomForestRegressor

    ok = trials[trials["status"] == "ok"].dropna(subset=["value"])
    names = _parameter_columns(ok, space) if len(ok) else []
    if len(ok) < 4 or not names:
        return pd.DataFrame({"parameter": pd.Series(dtype=str),
                             "importance": pd.Series(dtype=float)})
    columns = []
    for name in names:
        column = ok[name]
        if _is_numeric(column):
            values = column.astype(float)
            if isinstance(space.get(name), LogUniform):
                values = np.log10(values)
            columns.append(values.fillna(values.min() - 1).to_numpy())
        else:
            columns.append(pd.factorize(column.map(repr))[0].astype(float))
    X = np.column_stack(columns)
    forest = RandomForestRegressor(n_estimators=100, random_state=seed, min_samples_leaf=2)
    forest.fit(X, ok["value"].to_numpy(dtype=float))
    importance = forest.feature_importances_
    if not np.isfinite(importance).all() or importance.sum() <= 0:
        importance = np.full(len(names), 1.0 / len(names))
    frame = pd.DataFrame({"parameter": names, "importance": importance / importance.sum()})
    return frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def ablation_table(outcomes: list[TrialOutcome], space: Mapping[str, Any],
                   baseline: Mapping[str, float], metric: str, y_val: Any = None,
                   context: Mapping[str, Any] | None = None, seed: int = 0,
                   n_resamples: int = N_BOOTSTRAP) -> pd.DataFrame:
    """Metric difference of each factor level against the baseline level, with bootstrap CIs.

    For every top-level factor and every level other than the baseline's, the pairs of
    finished trials that differ only in that factor (level vs baseline level) are collected
    (one pair in an ofat design, one per combination of the other factors in a factorial one).
    ``delta`` is the mean difference ``metric(level) - metric(baseline)``. The interval
    resamples the validation patients (the same rows for both members of every pair, so it is
    a paired bootstrap, :func:`lightsaber.metrics.paired_bootstrap`, unstratified) and
    recomputes the mean difference; it is ``NaN`` when predictions or the metric's inputs are
    not available, or the metric is undefined on more than half of the replicates.
    """
    from lightsaber.metrics.catalogue import get_metric

    ok = [o for o in outcomes if o.status == "ok"]
    scorer = get_metric(metric)
    rows = []
    for factor in factors(space):
        owned = _owned(factor.key)
        base_level = {k: v for k, v in baseline.items() if owned(k)}
        for level in factor.levels:
            if _same_vals(level, base_level):
                continue
            pairs = []
            for a in ok:
                if not _same_vals({k: v for k, v in a.vals.items() if owned(k)}, level):
                    continue
                rest = {k: v for k, v in a.vals.items() if not owned(k)}
                for b in ok:
                    if _same_vals(b.vals, {**rest, **base_level}):
                        pairs.append((a, b))
            if not pairs:
                continue
            delta = float(np.mean([a.value - b.value for a, b in pairs]))
            low, high = _ablation_interval(scorer, pairs, y_val, context or {}, seed,
                                         n_resamples)
            rows.append({"factor": factor.key, "level": pairs[0][0].record.get(factor.key),
                         "n_pairs": len(pairs),
                         "value": float(np.mean([a.value for a, _ in pairs])),
                         "baseline_value": float(np.mean([b.value for _, b in pairs])),
                         "delta": delta, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows, columns=["factor", "level", "n_pairs", "value", "baseline_value",
                                       "delta", "ci_low", "ci_high"])


def _owned(key: str) -> Any:
    return lambda label: label == key or label.startswith(f"{key}.")


def _same_vals(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], rel_tol=1e-12) for k in a)


def _ablation_interval(scorer: Any, pairs: list[tuple[TrialOutcome, TrialOutcome]], y: Any,
                     context: Mapping[str, Any], seed: int, n_resamples: int
                     ) -> tuple[float, float]:
    """Paired-bootstrap interval of the mean metric difference over ``pairs`` (or NaNs).

    :func:`lightsaber.metrics.paired_bootstrap` compares two predictions on the same resampled
    rows. The statistic here is the mean over pairs of ``metric(a) - metric(b)``, which equals
    the mean metric of the ``a`` side minus that of the ``b`` side; so each side is passed as a
    mapping of its trials' predictions (``_take`` resamples every entry with the same rows) and
    scored by the mean of the metric over them. One pair (an ofat design) is the plain paired
    bootstrap of the two trials. Resampling is unstratified, as the ablation table has always
    done; a replicate on which the metric is undefined for any trial is dropped, and fewer than
    half usable replicates give NaNs.

    Examples
    --------
    >>> from lightsaber.metrics.catalogue import get_metric
    >>> rng = np.random.default_rng(0)
    >>> y = (rng.random(80) < 0.4).astype(int)
    >>> good, noise = y * 0.5 + rng.random(80) * 0.5, rng.random(80)
    >>> a = TrialOutcome(0, {"m": 0}, {}, "ok", predictions=good)
    >>> b = TrialOutcome(1, {"m": 1}, {}, "ok", predictions=noise)
    >>> low, high = _ablation_interval(get_metric("auc_roc"), [(a, b)], y, {}, 0, 200)
    >>> bool(0 < low < high)
    True
    """
    from lightsaber.metrics.bootstrap import paired_bootstrap

    usable = (y is not None and set(scorer.inputs) <= {"proba", "risk"}
              and set(scorer.requires) <= set(context)
              and all(a.predictions is not None and b.predictions is not None
                      for a, b in pairs))
    if not usable:
        return math.nan, math.nan
    kwargs = {k: context[k] for k in scorer.requires}

    def mean_metric(y_rows: Any, side: Mapping[str, Any]) -> float:
        values = [scorer(y_rows, p, **kwargs) for p in side.values()]
        return float(np.mean(values)) if np.all(np.isfinite(values)) else math.nan

    side_a = {str(i): a.predictions for i, (a, _) in enumerate(pairs)}
    side_b = {str(i): b.predictions for i, (_, b) in enumerate(pairs)}
    try:
        result = paired_bootstrap(mean_metric, y, side_a, side_b, n_resamples=n_resamples,
                                  confidence=CONFIDENCE, stratify=False, seed=seed,
                                  task=scorer.task)
    except LightsaberError:  # too few replicates on which the metric is defined, bad y ...
        return math.nan, math.nan
    return result.low, result.high


# ---------------------------------------------------------------------------------- finishing
def finish_study(ctx: Any, finished: list[TrialOutcome], parent: Any, store: Any,
                 splits: Any, *, refit: bool, baseline: Mapping[str, float] | None
                 ) -> StudyResult:
    """Analyse the finished trials, log the artifacts, refit the best and score it on test."""
    from lightsaber.metrics.catalogue import get_metric

    trials = trials_frame(finished)
    scorer = get_metric(ctx.metric)
    ok = [o for o in finished if o.status == "ok" and not math.isnan(o.value)]
    best = None
    for o in ok:
        if best is None or ctx.better(o.value, best.value):
            best = o
    best_params = ctx.decode(best.vals)[0] if best else {}
    importance = parameter_importance(trials, ctx.space, ctx.seed)
    ablation = pd.DataFrame()
    if baseline is not None:
        y_val, context = _validation_target(ctx)
        ablation = ablation_table(finished, ctx.space, baseline, ctx.metric, y_val, context,
                                  seed=ctx.seed)
    result = StudyResult(trials=trials, best_params=best_params,
                         best_value=best.value if best else math.nan, run_id=parent.run_id,
                         test_metrics={}, metric=ctx.metric, direction=scorer.direction,
                         study_name=ctx.study, importance=importance, ablation=ablation,
                         tracking_uri=store.tracking_uri, space=ctx.space,
                         best_trial=best.number if best else None)
    summary = {"n_trials": len(finished), "n_ok": len(ok),
               "n_failed": len(finished) - len(ok)}
    if best is not None:
        summary[f"best_val_{ctx.metric}"] = best.value
    parent.log_metrics(summary)
    _log_artifacts(parent, result, best)
    if refit and best is not None:
        _refit(ctx, result, parent, store, splits, best)
    return result


def _validation_target(ctx: Any) -> tuple[Any, dict[str, Any]]:
    from lightsaber.training.fit import resolve_task

    task = resolve_task(ctx.model, ctx.cohort, ctx.fit_kwargs.get("task"))
    parts = ctx.splits.cohorts(ctx.cohort)
    return parts["val"].target(task), {"y_train": parts["train"].target(task)}


def _log_artifacts(parent: Any, result: StudyResult, best: TrialOutcome | None) -> None:
    parent.log_dict({"number": None if best is None else best.number,
                     "params": {k: _jsonable(v) for k, v in result.best_params.items()},
                     "value": result.best_value, "metric": result.metric,
                     "direction": result.direction}, "analysis/best_config.json")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "analysis"
        folder.mkdir()
        result.trials.to_csv(folder / "trials.csv", index=False)
        result.history.to_csv(folder / "history.csv", index=False)
        result.importance.to_csv(folder / "importance.csv", index=False)
        if len(result.ablation):
            result.ablation.to_csv(folder / "ablation.csv", index=False)
        if len(result.trials):
            for name, fig in (("history.png", result.plot_history()),
                              ("parameters.png", result.plot_parameters()),
                              ("importance.png", result.plot_importance())):
                fig.savefig(folder / name, dpi=80)
        parent.log_artifact(folder)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return getattr(value, "__qualname__", repr(value))


#: Tags of a refit run: the trial it refits and a hash of that trial's sample.
BEST_TRIAL, BEST_SAMPLE = tag_names.BEST_TRIAL, tag_names.BEST_SAMPLE
#: Parent-run tag naming the current refit; tag of a refit replaced by a newer one.
REFIT_RUN, SUPERSEDED = tag_names.REFIT_RUN, tag_names.SUPERSEDED


def sample_hash(vals: Mapping[str, float]) -> str:
    """A short hash of a trial's sample (what identifies its configuration).

    Examples
    --------
    >>> sample_hash({"C": 1.0, "tol": 1e-4}) == sample_hash({"tol": 0.0001, "C": 1})
    True
    """
    return hashlib.sha256(sample_key(vals).encode()).hexdigest()[:16]


def _refit(ctx: Any, result: StudyResult, parent: Any, store: Any, splits: Any,
           best: TrialOutcome) -> None:
    """Refit ``best`` (or reuse the finished refit of that very trial) and make it current."""
    from lightsaber.training.fit import fit

    wanted = {BEST_TRIAL: str(best.number), BEST_SAMPLE: sample_hash(best.vals)}
    refits = store.client.search_runs(
        [store.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent.run_id}' and "
                      f"tags.`{ROLE}` = 'refit'",
        order_by=["attributes.start_time DESC"], max_results=1000)
    current = next((run for run in refits if run.info.status == "FINISHED"
                    and run.data.tags.get(BEST_TRIAL) == wanted[BEST_TRIAL]
                    and run.data.tags.get(BEST_SAMPLE, wanted[BEST_SAMPLE])
                    == wanted[BEST_SAMPLE]), None)
    if current is not None:
        result.refit_run_id = current.info.run_id
        result.test_metrics = {k[len("test_"):]: v for k, v in current.data.metrics.items()
                               if k.startswith("test_")}
    else:
        estimator = clone(ctx.model).set_params(**result.best_params)
        fitted = fit(estimator, ctx.cohort, splits, tracking_uri=store.tracking_uri,
                     run_name=f"{ctx.study}-refit", progress=False,
                     tags={tag_names.PARENT: parent.run_id, ROLE: "refit",
                           STUDY: ctx.study, **wanted},
                     **_with_experiment(ctx.fit_kwargs, store))
        result.refit_run_id = fitted.run_id
        result.test_metrics = dict(fitted.metrics.get("test", {}))
    for run in refits:  # older refits of other trials: say which run replaced them
        if (run.info.run_id != result.refit_run_id
                and run.data.tags.get(SUPERSEDED) != result.refit_run_id):
            store.client.set_tag(run.info.run_id, SUPERSEDED, result.refit_run_id)
    if store.client.get_run(parent.run_id).data.tags.get(REFIT_RUN) != result.refit_run_id:
        parent.log_metrics({f"test_{k}": v for k, v in result.test_metrics.items()})
        parent.set_tags({REFIT_RUN: result.refit_run_id})


def _with_experiment(fit_kwargs: Mapping[str, Any], store: Any) -> dict[str, Any]:
    """``fit_kwargs`` plus the study's experiment name (refit lands next to the trials)."""
    name = store.client.get_experiment(store.experiment_id).name
    return {**fit_kwargs, "experiment": name}
