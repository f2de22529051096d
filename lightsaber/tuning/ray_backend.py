"""``backend="ray"``: the same study on Ray Tune, with hyperopt's search algorithm.

Ray schedules the trials (no scheduler or process pool of ours); each worker runs the same
:func:`~lightsaber.tuning.trial.run_trial` as the local loop and writes its own child run to
the study's MLflow store through its own client. The driver numbers nothing and writes nothing
per trial: after Ray returns, the finished trials are read back from MLflow, the single source of
truth (which is also what a resumed study reads).

Trials run in two phases: first the retries of interrupted trials and the configurations of a
grid / ofat / factorial design (a fixed list, as a Ray grid), then, for ``tpe`` and
``random``, :class:`ray.tune.search.hyperopt.HyperOptSearch` for the remaining budget, seeded
with the finished trials' results (so TPE keeps learning across a resume).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from lightsaber.exceptions import TrialFailed
from lightsaber.tuning.space import sample_key, to_hyperopt, vals_from_sample
from lightsaber.tuning.trial import TrialOutcome

__all__ = ["run_ray"]

OBJECTIVE = "objective"
#: Config key under which the searcher passes the trial number to the worker.
NUMBER = "__trial_number__"


def _trainable(config: dict[str, Any], payload: Any = None) -> None:
    import ray
    from ray import tune as rtune

    node = ray.get_runtime_context().get_node_id()
    if "job" in config:
        number, vals = int(config["job"]["number"]), config["job"]["vals"]
    else:
        sample = dict(config)
        number = int(sample.pop(NUMBER))
        vals = vals_from_sample(payload.space, sample)
    outcome = payload.run(number, {k: float(v) for k, v in vals.items()}, node=node)
    if outcome.status != "ok":
        raise TrialFailed(f"trial {number} failed ({outcome.error_class}); see its MLflow run "
                          f"{outcome.run_id}.")
    rtune.report({OBJECTIVE: payload.loss(outcome), "value": outcome.value})


def _resources(resources: Mapping[str, float] | None) -> Any:
    from ray.tune import PlacementGroupFactory

    bundle = {"CPU": 1.0}
    for key, value in dict(resources or {}).items():
        name = {"cpu": "CPU", "gpu": "GPU"}.get(key, key)
        bundle[name] = float(value)
    return PlacementGroupFactory([bundle])


def _progress_callback(ctx: Any, bar: Any) -> Any:
    from ray.tune import Callback

    class Progress(Callback):
        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any
                              ) -> None:
            value = (trial.last_result or {}).get("value", np.nan)
            ctx.show_best(bar, TrialOutcome(-1, {}, {}, "ok", value=float(value)))
            bar.update(1)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any
                           ) -> None:
            bar.update(1)

    return Progress()


def run_ray(ctx: Any, finished: list[TrialOutcome], interrupted: list[TrialOutcome], *,
            address: str | None, resources: Mapping[str, float] | None,
            max_concurrent: int | None) -> list[TrialOutcome]:
    """Run the rest of the study on Ray; returns every finished trial (read from MLflow)."""
    import ray

    started = False
    if not ray.is_initialized():
        target = address or os.environ.get("RAY_ADDRESS") or None
        ray.init(address=target, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
        started = True
    try:
        remaining = ctx.total - len(finished)
        numbers = [o.number for o in finished + interrupted]
        next_number = max(numbers) + 1 if numbers else 0
        jobs = [{"number": o.number, "vals": o.vals} for o in interrupted]
        if ctx.design is not None:
            done = {sample_key(o.vals) for o in finished}
            jobs += [{"number": i, "vals": v} for i, v in enumerate(ctx.design)
                     if sample_key(v) not in done]
        jobs = jobs[:max(remaining, 0)]
        bar = ctx.progress_bar(finished)
        try:
            if jobs:
                _fit(ctx, bar, {"job": _grid(jobs)}, None, resources, max_concurrent,
                     len(jobs), next_number)
            remaining -= len(jobs)
            if ctx.design is None and remaining > 0:
                searcher = _searcher(ctx, finished, next_number)
                _fit(ctx, bar, None, searcher, resources, max_concurrent, remaining,
                     next_number)
        finally:
            bar.close()
    finally:
        if started:
            ray.shutdown()
    return ctx.store.load_trials(ctx.parent_id, ctx.metric, ctx.space, ctx.keep_predictions)[0]


def _grid(jobs: list[dict[str, Any]]) -> Any:
    from ray import tune as rtune

    return rtune.grid_search(jobs)


def _searcher(ctx: Any, finished: list[TrialOutcome], next_number: int) -> Any:
    from ray.tune.search.hyperopt import HyperOptSearch

    from lightsaber.tuning.search import hyperopt_trials, startup_trials

    n_initial = startup_trials(ctx.total) if ctx.algorithm == "tpe" else ctx.total + 1
    class NumberedHyperOptSearch(HyperOptSearch):
        """hyperopt's search, numbering its suggestions in order (it runs on the driver)."""

        def suggest(self, trial_id: str) -> dict | None:
            config = super().suggest(trial_id)
            if isinstance(config, dict):
                config[NUMBER] = state["next"]
                state["next"] += 1
            return config

    state = {"next": next_number}
    searcher = NumberedHyperOptSearch(space=to_hyperopt(ctx.space), metric=OBJECTIVE,
                                      mode="min", n_initial_points=n_initial,
                                      random_state_seed=ctx.seed + next_number)
    if finished:
        trials = hyperopt_trials(ctx, finished)
        trials.new_trial_ids(len(finished))  # hyperopt hands out ids after these
        searcher.set_state({"hyperopt_trials": trials,
                            "rstate": np.random.RandomState(ctx.seed + next_number).get_state()})
    return searcher


def _fit(ctx: Any, bar: Any, param_space: dict[str, Any] | None, searcher: Any,
         resources: Mapping[str, float] | None, max_concurrent: int | None,
         num_samples: int, first_number: int) -> None:
    from ray import tune as rtune
    from ray.tune.search import ConcurrencyLimiter

    payload = ctx.payload(first_number)
    trainable = rtune.with_resources(rtune.with_parameters(_trainable, payload=payload),
                                     _resources(resources))
    limit = max_concurrent or None
    if searcher is not None and limit:
        searcher, limit = ConcurrencyLimiter(searcher, max_concurrent=limit), None
    config = rtune.TuneConfig(search_alg=searcher, num_samples=num_samples if searcher else 1,
                              max_concurrent_trials=limit, reuse_actors=True)
    with tempfile.TemporaryDirectory(prefix="lightsaber-ray-") as storage:
        from ray.tune import RunConfig

        run_config = RunConfig(name=ctx.study, storage_path=storage, verbose=0,
                               callbacks=[_progress_callback(ctx, bar)])
        tuner = rtune.Tuner(trainable, param_space=param_space or {}, tune_config=config,
                            run_config=run_config)
        tuner.fit()
