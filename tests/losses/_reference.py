"""Independent reference computations and reference data shared by the loss tests.

* ``brute_force_cox_log_likelihood``: Cox partial log-likelihood straight from its definition
  (a Python loop over distinct event times, risk sets by comparison, float64), not from the
  sorted cumulative sums the library uses.
* ``lung`` / ``gbsg``: the data behind the R fixtures, from lifelines' bundled copies of
  R ``survival::lung`` and ``TH.data::GBSG2`` (= ``survival::gbsg``), prepared as in torchsurv's
  ``tests/benchmark_script/test_cox.R`` / ``test_weibull.R`` that produced the fixtures.
* ``fit_linear``: full-batch LBFGS (float64) of a linear model under one of our losses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.special import logsumexp

from tests.conftest import shared_file


def load_fixture(name: str) -> Any:
    """A JSON file of ../shared/reference/r_fixtures (skips the test when absent)."""
    with shared_file("reference", "r_fixtures", name).open() as handle:
        return json.load(handle)


def brute_force_cox_log_likelihood(risk, time, event, ties: str, strata=None) -> float:
    risk = np.asarray(risk, dtype=np.float64)
    time = np.asarray(time, dtype=np.float64)
    event = np.asarray(event, dtype=bool)
    strata = np.zeros(len(risk)) if strata is None else np.asarray(strata)
    total = 0.0
    for stratum in np.unique(strata):
        s = strata == stratum
        for t in np.unique(time[s & event]):
            dead = s & event & (time == t)
            at_risk = s & (time >= t)
            m = int(dead.sum())
            log_d = logsumexp(risk[at_risk])
            total += risk[dead].sum()
            if ties == "breslow":
                total -= m * log_d
            else:
                log_t = logsumexp(risk[dead])
                for rank in range(m):
                    total -= log_d + np.log1p(-(rank / m) * np.exp(log_t - log_d))
    return total


def lung() -> dict[str, pd.DataFrame]:
    """R ``survival::lung`` as the fixtures use it: sex == 1 as 0/1, status == 2 as event."""
    from lifelines.datasets import load_lung

    frame = load_lung()  # lifelines codes status 1 = dead (R: 2)
    frame["sex"] = (frame["sex"] == 1).astype(float)
    frame["status"] = frame["status"] == 1
    unique = frame[~frame["time"].duplicated()]
    return {"all": frame, "complete": frame.dropna(), "unique": unique,
            "unique_complete": unique.dropna()}


def gbsg() -> pd.DataFrame:
    """``survival::gbsg`` (686 rows) with its column names, from lifelines' GBSG2 copy."""
    from lifelines.datasets import load_gbsg2

    frame = load_gbsg2()
    return pd.DataFrame({
        "age": frame["age"].astype(float), "size": frame["tsize"].astype(float),
        "grade": frame["tgrade"].map({"I": 1.0, "II": 2.0, "III": 3.0}).astype(float),
        "nodes": frame["pnodes"].astype(float), "pgr": frame["progrec"].astype(float),
        "er": frame["estrec"].astype(float), "hormon": (frame["horTh"] == "yes").astype(float),
        "time": frame["time"].astype(float), "status": frame["cens"] == 1,
    })


def fit_linear(loss: Callable[[torch.Tensor], torch.Tensor], n_params: int) -> torch.Tensor:
    """Minimise ``loss(params)`` over a float64 vector with full-batch LBFGS from zero."""
    params = torch.zeros(n_params, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([params], lr=1.0, max_iter=1000, history_size=20,
                                  tolerance_grad=1e-12, tolerance_change=1e-15,
                                  line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        value = loss(params)
        value.backward()
        return value

    optimiser.step(closure)
    return params.detach()


def standardise(x: np.ndarray) -> torch.Tensor:
    """Centre and scale columns (the optimiser's conditioning; a Cox fit is invariant to it)."""
    x = np.asarray(x, dtype=np.float64)
    return torch.from_numpy((x - x.mean(axis=0)) / x.std(axis=0))
