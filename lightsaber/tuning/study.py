"""``ls.tune``: a resumable hyperparameter study or ablation, recorded in MLflow."""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from sklearn.base import clone

from lightsaber.data.cohort import Cohort
from lightsaber.data.splits import Splits
from lightsaber.exceptions import SpaceKeyError, TuningError
from lightsaber.tracking import tags as tag_names
from lightsaber.tracking.client import tracking_client
from lightsaber.tracking.lifecycle import check_access
from lightsaber.tuning.defaults import default_space
from lightsaber.tuning.search import suggester
from lightsaber.tuning.space import (
    Choice,
    baseline_sample,
    decode,
    describe,
    factors,
    has_dimensions,
    is_subspace,
    iter_grid,
    sample_key,
    space_from_dict,
)
from lightsaber.tuning.store import StudyStore, TrialLogger
from lightsaber.tuning.trial import TrialOutcome, run_trial, study_splits

__all__ = ["ALGORITHMS", "BACKENDS", "SpaceKeyError", "TuningError", "check_space_keys", "tune"]

ALGORITHMS = ("tpe", "random", "grid", "ofat", "factorial")
BACKENDS = ("local", "ray")
#: Default objective per task (a validation metric from the registry).
DEFAULT_METRIC = {"classification": "auc_roc", "survival": "c_index"}
#: ``ls.fit`` arguments that ``tune`` owns.
_RESERVED = ("track", "experiment", "tracking_uri", "run_name", "tags", "progress")


# ------------------------------------------------------------------------------ key check
#: ``<prefix>__<name>`` keys that a skorch net (``ClassifierNet``, ``SurvivalNet``) routes to
#: one of its parts; skorch (or the net) checks ``<name>`` when it builds that part.
NET_PREFIXES = ("module", "optimizer", "criterion", "iterator_train", "iterator_valid",
                "callbacks", "loss", "dataset")
#: Valid parameter names listed in an unknown-key message.
SHOWN_PARAMETERS = 8


def check_space_keys(space: Mapping[str, Any], model: Any, path: str = "space") -> None:
    """Raise :class:`SpaceKeyError` unless every key of ``space`` is a parameter of ``model``.

    :func:`tune` calls this before trial 0, so a misspelt key fails at once instead of failing
    every trial. A key is a parameter when ``model.get_params(deep=True)`` lists it (``C``;
    ``clf__C`` for a pipeline step or ``estimator__C`` for a search). For a skorch net
    (``ClassifierNet``, ``SurvivalNet``) ``<prefix>__<name>`` is accepted for every prefix of
    :data:`NET_PREFIXES` (skorch checks the name later), except that ``module__<name>`` must be
    an argument of the module class's ``__init__`` and ``loss__<name>`` an option of a
    ``SurvivalNet``'s loss. Keys inside the options of a conditional
    choice are checked too; that choice's own key only labels the branch.

    Parameters
    ----------
    space : mapping
        A parsed search space (see :func:`~lightsaber.tuning.space_from_dict`).
    model : estimator
        The model to tune (not modified).
    path : str
        Prefix of the key paths in the message.

    Raises
    ------
    SpaceKeyError
        Naming the key's path, the model class, a did-you-mean and a few valid names.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from lightsaber.tuning import Choice, LogUniform
    >>> check_space_keys({"C": LogUniform(1e-2, 10)}, LogisticRegression())
    >>> try:
    ...     check_space_keys({"solver": Choice([{"solver": "saga", "C_": LogUniform(1e-2, 1)}])},
    ...                      LogisticRegression())
    ... except SpaceKeyError as err:
    ...     print(err.path, "|", err.problem, "|", err.hint)
    space.solver.options[0].C_ | 'C_' is not a parameter of LogisticRegression | did you mean 'C'?
    """
    keys = list(_space_keys(space, path))
    tuned_loss = any(key == "loss" for key, _ in keys)  # options then depend on the branch
    for key, where in keys:
        if tuned_loss and key.startswith("loss__"):
            continue
        problem = _key_problem(model, key)
        if problem is None:
            continue
        if problem:  # a module__ argument the module class does not take
            raise SpaceKeyError(where, key, problem)
        raise _unknown_key(model, key, where)


def _space_keys(space: Mapping[str, Any], path: str) -> Any:
    """``(key, path)`` of every key that becomes a ``set_params`` argument."""
    for key, dim in space.items():
        where = f"{path}.{key}"
        branches = ([(i, o) for i, o in enumerate(dim.options) if is_subspace(o)]
                    if isinstance(dim, Choice) else [])
        if not branches or len(branches) < len(dim.options):
            yield key, where
        for i, option in branches:
            yield from _space_keys(option, f"{where}.options[{i}]")


def _is_skorch_net(model: Any) -> bool:
    return hasattr(model, "get_params_for") and hasattr(model, "initialize_module")


def _key_problem(model: Any, key: str) -> str | None:
    """``None`` if ``model`` takes ``key``; else ``""`` or a specific problem."""
    try:
        params = model.get_params(deep=True)
    except Exception:  # not an estimator we can inspect: set_params will tell
        return None
    if key in params:
        return None
    head, sep, rest = key.partition("__")
    if not sep or not rest:
        return ""
    inner = params.get(head)
    if head in params and hasattr(inner, "get_params") and not isinstance(inner, type):
        return _key_problem(inner, rest)  # a pipeline step or a search's estimator
    if _is_skorch_net(model) and (head in NET_PREFIXES or head in getattr(model, "prefixes_", ())):
        module = params.get("module")
        if head == "module" and "__" not in rest and isinstance(module, type):
            from lightsaber.models.nets.base import check_keywords

            try:
                check_keywords(module, [rest], "module__", module.__qualname__)
            except ValueError as exc:
                return str(exc)
        if head == "loss" and "__" not in rest and hasattr(model, "_loss_spec"):
            from lightsaber.models.nets.base import check_keywords

            try:  # the loss is called as fn(prediction, duration, event, **options)
                spec = model._loss_spec()
                function = spec.function if spec is not None else model.loss
                check_keywords(function, [rest], "loss__", f"loss {model._loss_name()}",
                                skip=3)
            except ValueError as exc:
                return str(exc)
        return None
    return ""


def _unknown_key(model: Any, key: str, where: str) -> SpaceKeyError:
    name = type(model).__name__
    names = [n for n in model.get_params(deep=True) if not n.startswith("_")]
    candidates = names + ([f"{p}__{key.partition('__')[2]}" for p in NET_PREFIXES]
                          if _is_skorch_net(model) and "__" in key else [])
    close = difflib.get_close_matches(key, candidates, n=3, cutoff=0.6)
    shown = list(dict.fromkeys([*[c for c in close if c in names],
                                *sorted(n for n in names if "__" not in n)]))
    allowed = ", ".join(shown[:SHOWN_PARAMETERS])
    if len(names) > SHOWN_PARAMETERS:
        allowed += f" ... ({len(names)} in all: the model's get_params(deep=True))"
    extra = (" (a net also takes module__<arg>, optimizer__<arg>, criterion__<arg>, "
             "callbacks__<arg> ...)") if _is_skorch_net(model) else ""
    return SpaceKeyError(where, key, f"{key!r} is not a parameter of {name}{extra}", allowed,
                         f"did you mean {close[0]!r}?" if close else "")


def tune(model: Any, cohort: Cohort, splits: Splits, space: Mapping[str, Any] | None = None, *,
         algorithm: str = "tpe", max_trials: int = 20, metric: str | None = None,
         seed: int = 0, backend: str = "local", address: str | None = None,
         resume: bool = True, study_name: str | None = None, experiment: str | None = None,
         tracking_uri: str | None = None, refit: bool = True, progress: bool = True,
         baseline: Mapping[str, Any] | None = None,
         resources_per_trial: Mapping[str, float] | None = None,
         max_concurrent: int | None = None, **fit_kwargs: Any) -> Any:
    """Tune ``model``'s hyperparameters (or run an ablation) on the validation split.

    Every trial fits a configuration on the train split with :func:`lightsaber.fit` (untracked,
    the test split removed) and scores it on the validation split. The study is one MLflow
    parent run with one child run per trial. At the end the best configuration is refit and
    evaluated once on test (see Notes).

    Parameters
    ----------
    model : estimator
        Any model :func:`lightsaber.fit` accepts; cloned, never modified.
    cohort, splits : Cohort, Splits
        ``splits`` needs train and val; test (if present) is used only by the final refit.
    space : mapping, optional
        Parameter name to :class:`~lightsaber.tuning.Dimension`, YAML-style spec or fixed
        value (see :func:`~lightsaber.tuning.space_from_dict`). Default: the model's
        documented default space, :func:`~lightsaber.tuning.default_space` (learning rate,
        width, dropout, weight decay, batch size ... for nets and recipes).
    algorithm : {"tpe", "random", "grid", "ofat", "factorial"}
        hyperopt's TPE or random search; every combination of levels; one factor at a time
        from ``baseline``; or the full factorial design with main effects vs ``baseline``.
    max_trials : int
        Trials to finish (failed ones count; interrupted ones are retried). A design larger
        than this raises :class:`TuningError`; a smaller one runs once, in full.
    metric : str, optional
        Objective: a validation metric of the registry (default ``auc_roc`` for
        classification, ``c_index`` for survival); its direction comes from the registry.
    seed : int
        Seeds the search (and the ablation bootstrap).
    backend : {"local", "ray"}
        Trials in this process, or on Ray Tune (hyperopt's search algorithm for tpe/random).
    address : str, optional
        Ray cluster address (default ``RAY_ADDRESS``, else a local Ray).
    resume : bool
        Continue the newest study of the same name in the tracking store: finished trials are
        kept, interrupted ones retried. ``False`` starts a new parent run.
    study_name : str, optional
        Default: ``study-`` plus a hash of the model, space, algorithm, metric, seed, baseline,
        splits and fit arguments, so re-running the same command resumes it.
    experiment, tracking_uri : str, optional
        Where to record (as for :func:`lightsaber.fit`).
    refit : bool
        Refit the best configuration and evaluate it on test.
    progress : bool
        A tqdm bar over trials with the best value so far.
    baseline : mapping, optional
        Parameter values of the reference configuration (ofat / factorial; default: the first
        level of every factor).
    resources_per_trial : mapping, optional
        Ray resources of one trial (default ``{"cpu": 1}``), e.g. ``{"cpu": 1, "gpu": 0.5}``.
    max_concurrent : int, optional
        Most trials running at once on Ray (default: as many as the resources allow).
    **fit_kwargs
        Passed to every :func:`lightsaber.fit` call (``early_stopping``, ``preprocessor`` ...).

    Returns
    -------
    StudyResult

    Raises
    ------
    SpaceKeyError
        A key of ``space`` is not a parameter of ``model`` (checked before trial 0, with a
        did-you-mean; see :func:`check_space_keys`).
    TuningError
        Settings that cannot work together, or no trial succeeded: the message quotes the
        first failed trial's error; the parent run is then closed ``FAILED`` with the reason as
        its ``lightsaber.study.failure`` tag (a study where some trials succeeded finishes as
        usual).

    Notes
    -----
    Refit policy: the best configuration (best validation objective among finished trials) is
    fitted again on the **train split only**, exactly as in its trial, and evaluated on every
    split in a tracked child run ``<study>-refit``; its test metrics are the study's test
    metrics, and test is looked at nowhere else. Refitting on train + validation is not done:
    the validation metrics would then describe data the model was trained on.

    A refit is tagged with the trial it refits (``lightsaber.best_trial`` and a hash of its
    sample, ``lightsaber.best_trial.sample_hash``). A resumed study reuses a finished refit only
    when both match the current best trial; when extending the study changed the best, a new
    refit is made. The current refit is the parent run's ``lightsaber.refit_run_id`` tag and
    its test metrics the parent's ``test_*`` metrics; superseded refits are tagged
    ``lightsaber.refit.superseded_by``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn.linear_model import LogisticRegression
    >>> import lightsaber as ls
    >>> from lightsaber.tuning import Choice, LogUniform
    >>> tmp = tempfile.TemporaryDirectory()
    >>> cohort = ls.datasets.load_sample_mortality(n_patients=150)
    >>> splits = cohort.split(val=0.25, test=0.25, stratify="label", seed=1)
    >>> study = ls.tune(LogisticRegression(max_iter=200), cohort, splits,
    ...                 {"C": LogUniform(1e-2, 10), "fit_intercept": Choice([True, False])},
    ...                 algorithm="random", max_trials=3, progress=False, refit=False,
    ...                 tracking_uri=f"sqlite:///{Path(tmp.name) / 'mlflow.db'}")
    >>> len(study.trials), sorted(study.best_params)
    (3, ['C', 'fit_intercept'])
    >>> tmp.cleanup()
    """
    from lightsaber.metrics.catalogue import get_metric
    from lightsaber.training.fit import resolve_task
    from lightsaber.training.inputs import check_fit_inputs
    from lightsaber.tuning.analysis import finish_study

    check_fit_inputs(model, cohort, splits, "ls.tune")
    space = space_from_dict(default_space(model) if space is None else space)
    if algorithm not in ALGORITHMS:
        raise TuningError(f"algorithm must be one of {list(ALGORITHMS)}; got {algorithm!r}.")
    if backend not in BACKENDS:
        raise TuningError(f"backend must be one of {list(BACKENDS)}; got {backend!r}.")
    if isinstance(max_trials, bool) or not isinstance(max_trials, int) or max_trials < 1:
        raise TuningError(f"max_trials must be a positive integer; got {max_trials!r}.")
    reserved = sorted(set(fit_kwargs) & set(_RESERVED))
    if reserved:
        raise TuningError(f"{reserved} are set by tune itself (each trial is an untracked "
                          "fit; pass experiment/tracking_uri/progress to tune).")
    if not has_dimensions(space):
        raise TuningError("the search space has no dimension to search; add a Choice, "
                          "Uniform, LogUniform, QUniform or IntUniform.")
    check_space_keys(space, model)
    for name in ("train", "val"):
        if name not in splits.indices:
            raise TuningError(f"splits have no '{name}' part; tuning needs train and val.")
    task = resolve_task(model, cohort, fit_kwargs.get("task"))
    if task == "competing":
        raise TuningError(
            f"tuning is not yet supported for competing risks ({type(model).__name__} on causes "
            f"{cohort.causes}): there is no per-cause objective yet. Fit candidates with ls.fit "
            "and compare their val_<metric>_<cause> metrics, or tune a single-event model.")
    metric = metric or DEFAULT_METRIC[task]
    objective = get_metric(metric)
    if objective.task != task:
        raise TuningError(f"metric {metric!r} is a {objective.task} metric; this is a {task} "
                          f"study (try {DEFAULT_METRIC[task]!r}).")
    if fit_kwargs.get("metrics") is not None and metric not in fit_kwargs["metrics"]:
        fit_kwargs["metrics"] = [*fit_kwargs["metrics"], metric]
    if baseline is not None and algorithm not in ("ofat", "factorial"):
        raise TuningError(f"baseline applies to the ofat and factorial designs; algorithm is "
                          f"{algorithm!r}.")

    design = _design(space, algorithm, baseline)
    if design is not None and len(design) > max_trials:
        raise TuningError(f"the {algorithm} design has {len(design)} configurations but "
                          f"max_trials={max_trials}; pass max_trials={len(design)} or shrink "
                          "the space.")
    total = len(design) if design is not None else max_trials
    study = study_name or _default_name(model, space, algorithm, metric, seed, baseline,
                                        splits, fit_kwargs)
    check_access(*tracking_client(tracking_uri), experiment, need="edit")  # before trial 0
    store = StudyStore(experiment, tracking_uri)
    parent, resumed = store.open_parent(
        study, resume,
        params={"algorithm": algorithm, "metric": metric, "direction": objective.direction,
                "seed": seed, "backend": backend, "model": type(model).__name__},
        tags={"task": task})
    ablation = algorithm in ("ofat", "factorial")
    finished, interrupted = (store.load_trials(parent.run_id, metric, space, ablation)
                             if resumed else ([], []))
    if resumed:  # a parameter cannot change: a resumed study may have been extended
        parent.set_tags({tag_names.MAX_TRIALS: str(total)})
    else:
        parent.log_params({"max_trials": total})
        parent.log_dict({"space": describe(space), "baseline": dict(baseline or {}),
                         "split": study_splits(splits).manifest}, "study/space.json")
    logger = TrialLogger(store.tracking_uri, store.experiment_id, parent.run_id, study,
                         save_predictions=ablation)
    context = _Context(model=model, cohort=cohort, splits=study_splits(splits), space=space,
                       metric=metric, greater=objective.greater_is_better,
                       fit_kwargs=dict(fit_kwargs), logger=logger, seed=seed, total=total,
                       keep_predictions=ablation, algorithm=algorithm, design=design,
                       study=study, progress=progress, store=store,
                       parent_id=parent.run_id)
    try:
        if backend == "ray":
            from lightsaber.tuning.ray_backend import run_ray

            finished = run_ray(context, finished, interrupted, address=address,
                               resources=resources_per_trial, max_concurrent=max_concurrent)
        else:
            finished = _run_local(context, finished, interrupted)
        result = finish_study(context, finished, parent, store, splits, refit=refit,
                              baseline=baseline_sample(space, baseline) if ablation else None)
        failure = no_success_error(finished, metric, study)
        if failure is not None:
            parent.set_tags({FAILURE_TAG: str(failure)[:MAX_TAG]})
    except BaseException:
        parent._flush()
        store.client.set_terminated(parent.run_id, "KILLED")
        raise
    parent._flush()
    store.client.set_terminated(parent.run_id, "FINISHED" if failure is None else "FAILED")
    if failure is not None:
        raise failure
    return result


#: Parent-run tag with the reason a study failed (every trial failed).
FAILURE_TAG = tag_names.STUDY_FAILURE
#: Longest tag value written (MLflow accepts 5,000 characters on every store).
MAX_TAG = 5000
#: Longest excerpt of a trial's error quoted in the all-failed message.
MAX_QUOTED_ERROR = 500
_FRAME = re.compile(r"^\S+:\d+ in \S+$")


def no_success_error(finished: list[TrialOutcome], metric: str, study: str
                     ) -> TuningError | None:
    r"""The :class:`TuningError` of a study without one usable trial (``None`` otherwise).

    Usable: status ``ok`` with a finite objective. The message quotes the first failed trial's
    error class and exception (from :attr:`TrialOutcome.error`, without the frames).

    Examples
    --------
    >>> bad = TrialOutcome(0, {"C": 1.0}, {"C": 1.0}, "failed", error_class="exception",
    ...                    error="RuntimeError: injected failure\ntrial.py:140 in fit_trial")
    >>> print(no_success_error([bad], "auc_roc", "demo"))  # doctest: +NORMALIZE_WHITESPACE
    no trial of study 'demo' succeeded: 1 failed; the first, trial 0, with error class
    'exception': RuntimeError: injected failure. Fix the cause (each trial's traceback is the
    lightsaber.trial.traceback tag of its run), then rerun with resume=False (a resumed study
    keeps its failed trials).
    >>> no_success_error([], "auc_roc", "demo") is None
    True
    """
    if not finished or any(o.status == "ok" and math.isfinite(o.value) for o in finished):
        return None
    failed = sorted((o for o in finished if o.status != "ok"), key=lambda o: o.number)
    if failed:
        first = failed[0]
        lines = [line for line in str(first.error or "").splitlines()
                 if line.strip() and not _FRAME.match(line.strip())]
        quoted = " ".join(" ".join(lines).split()) or "no error recorded"
        if len(quoted) > MAX_QUOTED_ERROR:
            quoted = quoted[:MAX_QUOTED_ERROR - 3] + "..."
        what = (f"{len(failed)} failed; the first, trial {first.number}, with error class "
                f"{first.error_class!r}: {quoted.rstrip('.')}. Fix the cause (each trial's "
                "traceback is the lightsaber.trial.traceback tag of its run)")
    else:
        what = (f"{len(finished)} finished without a finite validation {metric!r} (does the "
                "validation split hold both outcomes / enough events?)")
    return TuningError(
        f"no trial of study {study!r} succeeded: {what}, then rerun with resume=False (a "
        "resumed study keeps its failed trials).")


class _Context:
    """Everything a trial loop needs (one object, so backends share one signature)."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)

    def better(self, value: float, best: float) -> bool:
        if math.isnan(value):
            return False
        return math.isnan(best) or (value > best if self.greater else value < best)

    def decode(self, vals: Mapping[str, float]) -> tuple[dict[str, Any], dict[str, Any]]:
        return decode(self.space, vals)

    def run(self, number: int, vals: Mapping[str, float], node: str | None = None
            ) -> TrialOutcome:
        params, record = self.decode(vals)
        return run_trial(self.model, self.cohort, self.splits, number=number, vals=vals,
                         params=params, record=record, metric=self.metric,
                         fit_kwargs=self.fit_kwargs, logger=self.logger,
                         keep_predictions=self.keep_predictions, node=node)

    def progress_bar(self, done: list[TrialOutcome]) -> Any:
        from tqdm.auto import tqdm

        bar = tqdm(total=self.total, initial=min(len(done), self.total), desc=self.study,
                   unit="trial", disable=not self.progress, leave=True)
        best = math.nan
        for outcome in done:
            best = outcome.value if self.better(outcome.value, best) else best
        bar.best = best
        self.show_best(bar)
        return bar

    def show_best(self, bar: Any, outcome: TrialOutcome | None = None) -> None:
        if outcome is not None and self.better(outcome.value, bar.best):
            bar.best = outcome.value
        if not math.isnan(bar.best):
            bar.set_postfix({f"best val_{self.metric}": f"{bar.best:.4f}"}, refresh=False)

    def loss(self, outcome: TrialOutcome) -> float:
        return -outcome.value if self.greater else outcome.value

    def payload(self, first_number: int) -> _Context:
        """The picklable part that Ray ships to its workers."""
        keep = ("model", "cohort", "splits", "space", "metric", "greater", "fit_kwargs",
                "logger", "keep_predictions")
        return _Context(first_number=first_number, **{k: self.__dict__[k] for k in keep})


def _design(space: Mapping[str, Any], algorithm: str, baseline: Mapping[str, Any] | None
            ) -> list[dict[str, float]] | None:
    if algorithm in ("grid", "factorial"):
        design = list(iter_grid(space))
        if algorithm == "factorial":
            base = baseline_sample(space, baseline)
            design.sort(key=lambda v: sample_key(v) != sample_key(base))  # baseline first
        return design
    if algorithm == "ofat":
        base = baseline_sample(space, baseline)
        design = [base]
        for factor in factors(space):
            owned = [k for k in base if k == factor.key or k.startswith(f"{factor.key}.")]
            rest = {k: v for k, v in base.items() if k not in owned}
            for level in factor.levels:
                candidate = {**rest, **level}
                if sample_key(candidate) != sample_key(base):
                    design.append(candidate)
        return design
    return None


def _default_name(model: Any, space: Mapping[str, Any], algorithm: str, metric: str,
                  seed: int, baseline: Mapping[str, Any] | None, splits: Splits,
                  fit_kwargs: Mapping[str, Any]) -> str:
    from lightsaber.training.fit import estimator_params

    identity = {"model": f"{type(model).__module__}.{type(model).__qualname__}",
                "params": estimator_params(clone(model)), "space": describe(space),
                "algorithm": algorithm, "metric": metric, "seed": seed,
                "baseline": dict(baseline or {}), "split": study_splits(splits).manifest,
                "fit": {k: repr(v) for k, v in sorted(fit_kwargs.items())}}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=repr).encode())
    return f"study-{digest.hexdigest()[:12]}"


# ---------------------------------------------------------------------------------- local
def _run_local(ctx: _Context, finished: list[TrialOutcome], interrupted: list[TrialOutcome]
               ) -> list[TrialOutcome]:
    finished = list(finished)
    bar = ctx.progress_bar(finished)
    numbers = [o.number for o in finished + interrupted]
    next_number = max(numbers) + 1 if numbers else 0
    try:
        for retry in interrupted:
            if len(finished) >= ctx.total:
                break
            finished.append(_record(ctx, bar, ctx.run(retry.number, retry.vals)))
        if ctx.design is not None:
            done = {sample_key(o.vals) for o in finished}
            for number, vals in enumerate(ctx.design):
                if len(finished) >= ctx.total:
                    break
                if sample_key(vals) not in done:
                    finished.append(_record(ctx, bar, ctx.run(number, vals)))
                    done.add(sample_key(vals))
            return finished
        suggest = suggester(ctx, finished)
        while len(finished) < ctx.total:
            vals = suggest(next_number)
            outcome = _record(ctx, bar, ctx.run(next_number, vals))
            finished.append(outcome)
            suggest.add(outcome)  # type: ignore[attr-defined]
            next_number += 1
    finally:
        bar.close()
    return finished


def _record(ctx: _Context, bar: Any, outcome: TrialOutcome) -> TrialOutcome:
    ctx.show_best(bar, outcome)
    bar.update(1)
    return outcome
