"""hyperopt's search over finished trials: TPE's start-up budget, its history, the next sample.

Both backends propose configurations with hyperopt (TPE or random search): the local one
through :func:`suggester`, the Ray one through ``HyperOptSearch``. Either way the finished
trials, resumed ones included, are handed to hyperopt as its history
(:func:`hyperopt_trials`), so a resumed study continues the search it left.

Examples
--------
>>> startup_trials(20), startup_trials(200)
(5, 20)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from lightsaber.tuning.space import hyperopt_misc, sample_key, to_hyperopt
from lightsaber.tuning.trial import TrialOutcome

__all__ = ["MAX_RESAMPLE", "hyperopt_trials", "startup_trials", "suggester"]

#: Attempts at drawing a configuration not already finished before accepting a duplicate.
MAX_RESAMPLE = 50


def startup_trials(max_trials: int) -> int:
    """Random trials before TPE models the results: a quarter of the budget, 3 to 20."""
    return int(min(20, max(3, max_trials // 4)))


def hyperopt_trials(ctx: Any, finished: list[TrialOutcome]) -> Any:
    """A hyperopt ``Trials`` holding the finished trials (failed ones as ``fail``).

    ``ctx`` is the study's context: its ``space`` and its ``loss(outcome)`` (the objective
    as hyperopt minimises it).
    """
    from hyperopt import STATUS_FAIL, STATUS_OK, Trials
    from hyperopt.base import JOB_STATE_DONE

    trials = Trials()
    if finished:
        tids = list(range(len(finished)))
        results = [{"status": STATUS_OK, "loss": ctx.loss(o)} if o.status == "ok"
                   and not math.isnan(o.value) else {"status": STATUS_FAIL}
                   for o in finished]
        miscs = [hyperopt_misc(ctx.space, o.vals, tid)
                 for tid, o in zip(tids, finished, strict=True)]
        docs = trials.new_trial_docs(tids, [None] * len(tids), results, miscs)
        for doc in docs:
            doc["state"] = JOB_STATE_DONE
        trials.insert_trial_docs(docs)
        trials.refresh()
    return trials


def suggester(ctx: Any, finished: list[TrialOutcome]) -> Callable[[int], dict]:
    """``suggest(number)``: the next flat sample; ``suggest.add(outcome)`` records a result.

    Seeded by the study's seed, the trial number and the attempt, so a resumed study draws
    what an uninterrupted one would; a sample already finished is redrawn (at most
    :data:`MAX_RESAMPLE` attempts).
    """
    from hyperopt import Domain, rand, tpe

    domain = Domain(lambda sample: 0.0, to_hyperopt(ctx.space))
    algo = (partial(tpe.suggest, n_startup_jobs=startup_trials(ctx.total))
            if ctx.algorithm == "tpe" else rand.suggest)
    state = {"trials": hyperopt_trials(ctx, finished),
             "seen": {sample_key(o.vals) for o in finished}}

    def suggest(number: int) -> dict[str, float]:
        trials = state["trials"]
        vals: dict[str, float] = {}
        for attempt in range(MAX_RESAMPLE):
            seed = int(np.random.default_rng([ctx.seed, number, attempt]).integers(2**31 - 1))
            doc = algo([len(trials.trials)], domain, trials, seed)[0]
            vals = {k: float(v[0]) for k, v in doc["misc"]["vals"].items() if v}
            if sample_key(vals) not in state["seen"]:
                break
        return vals

    def add(outcome: TrialOutcome) -> None:
        state["seen"].add(sample_key(outcome.vals))
        state["trials"] = hyperopt_trials(ctx, [*state["finished"], outcome])
        state["finished"].append(outcome)

    state["finished"] = list(finished)
    suggest.add = add  # type: ignore[attr-defined]
    return suggest
