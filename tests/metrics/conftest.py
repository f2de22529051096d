"""Fixtures for the metrics tests: simulated outcomes with ties and the DeepSurv splits.

Every simulated data set comes from ``numpy.random.default_rng(seed)`` with a fixed seed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from tests.conftest import shared_file

DEEPSURV_FILES = (
    "whas_train_test.h5",
    "support_train_test.h5",
    "metabric_IHC4_clinical_train_test.h5",
    "gbsg_cancer_train_test.h5",
)


def simulate(
    seed: int,
    n: int = 150,
    *,
    time_ties: bool = True,
    risk_ties: bool = True,
    censored_tail: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(event, time, risk) from a proportional-hazards model with optional ties.

    ``time_ties`` rounds times to a coarse grid (ties between events, censorings and both);
    ``risk_ties`` rounds the risk to one decimal (and adds a few pairs within 1e-9, i.e. tied
    under scikit-survival's 1e-8 tolerance); ``censored_tail`` censors every sample after the
    80th percentile of time (an all-censored tail).
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = rng.exponential(np.exp(-x))
    c = rng.exponential(1.5, size=n)
    event = t <= c
    time = np.minimum(t, c)
    if time_ties:
        time = np.round(time * 4) / 4
    if censored_tail:
        event = event & (time <= np.quantile(time, 0.8))
    event[np.argmin(time)] = True  # at least one event
    risk = x + rng.normal(scale=0.5, size=n)
    if risk_ties:
        risk = np.round(risk, 1)
        k = max(1, n // 20)
        risk[:k] = risk[k:2 * k] + 1e-9  # ties within the 1e-8 tolerance, not exact
    return event, time, risk


@pytest.fixture
def deepsurv() -> Callable[[str], dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """Load a DeepSurv file: {"train"|"test": (event bool, time float64, x float64)}.

    Skips the test with a clear reason when ../shared is absent.
    """
    h5py = pytest.importorskip("h5py")

    def load(name: str) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        path = shared_file("data", "deepsurv", name)
        out = {}
        with h5py.File(path, "r") as f:
            for split in ("train", "test"):
                g = f[split]
                out[split] = (
                    np.asarray(g["e"][:]).astype(bool),
                    np.asarray(g["t"][:], dtype=np.float64),
                    np.asarray(g["x"][:], dtype=np.float64),
                )
        return out

    return load


def linear_risk(x_train: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A fixed, data-independent score: the sum of standardised features (deterministic)."""
    mu, sd = x_train.mean(axis=0), x_train.std(axis=0)
    sd[sd == 0] = 1.0
    return ((x - mu) / sd).sum(axis=1)


def km_power_survival(
    event: np.ndarray, time: np.ndarray, risk: np.ndarray, grid: np.ndarray
) -> np.ndarray:
    """Proportional-hazards survival curves ``KM(t) ** exp(risk)`` on ``grid`` (rows = patients)."""
    from sksurv.nonparametric import kaplan_meier_estimator

    ut, prob = kaplan_meier_estimator(event, time)
    idx = np.searchsorted(ut, grid, side="right") - 1
    base = np.where(idx >= 0, prob[np.clip(idx, 0, None)], 1.0)
    scale = np.exp(risk - risk.mean())
    return np.power(base[None, :], scale[:, None])


@pytest.fixture
def helpers():
    """Plain helper functions (``simulate``, ``linear_risk``, ``km_power_survival``)."""

    class _Helpers:
        simulate = staticmethod(simulate)
        linear_risk = staticmethod(linear_risk)
        km_power_survival = staticmethod(km_power_survival)
        deepsurv_files = DEEPSURV_FILES

    return _Helpers
