"""Benchmark lightsaber.metrics against lifelines and scikit-survival, in one process.

Run: ``.venv/bin/python benchmarks/metrics.py`` (about 2 minutes on 2 cores). Prints the
machine, library versions, wall-clock seconds (best and worst of ``REPEAT`` runs for
lightsaber and for the fast scikit-survival calls; one run for lifelines and for
scikit-survival's O(n^2) concordance, 20-30 s each) and ratios ``reference / lightsaber``
(> 1 = lightsaber faster), and checks that the values agree.

Data: a proportional-hazards cohort with continuous times (no ties in time, so lifelines',
scikit-survival's and lightsaber's tie conventions coincide) and a continuous risk score.
lifelines' ``concordance_index`` takes predicted survival *times*, so it gets ``-risk``; it
counts risks as tied only when exactly equal, so its value is compared with
``harrell_c(..., tied_tol=0)`` (the default 1e-8 tolerance can tie a few of 1e6 risks).

scikit-survival's Harrell and Uno C are O(n^2): they run at n = 1e5 only (not 1e6).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from importlib.metadata import version

import numpy as np
from lifelines.utils import concordance_index as lifelines_c
from sksurv.metrics import (
    concordance_index_censored,
    concordance_index_ipcw,
    cumulative_dynamic_auc,
    integrated_brier_score,
)
from sksurv.util import Surv

from lightsaber.metrics import bootstrap_ci, harrell_c, uno_c
from lightsaber.metrics import cumulative_dynamic_auc as ls_auc
from lightsaber.metrics import integrated_brier_score as ls_ibs

REPEAT = 3


def cohort(n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = rng.exponential(np.exp(-x))
    c = rng.exponential(1.5, size=n)
    event, time_ = t <= c, np.minimum(t, c)
    risk = x + rng.normal(size=n)
    return event, time_, risk, x


WORST: dict[str, float] = {}


def timed(fn, repeat: int = REPEAT, key: str | None = None):
    """Best wall-clock time of ``repeat`` runs (timeit's convention); the worst is kept in
    ``WORST[key]`` so the report can show the spread (first runs pay page faults)."""
    best, worst, value = np.inf, 0.0, None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        elapsed = time.perf_counter() - start
        best, worst = min(best, elapsed), max(worst, elapsed)
    if key is not None:
        WORST[key] = worst
    return best, value


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def row(what: str, ours: float, ref: float, ref_name: str, agree: str) -> None:
    worst = WORST.get(what, ours)
    print(f"| {what} | {ours:.3f} (worst {worst:.3f}) | {ref:.3f} ({ref_name}) | "
          f"{ref / ours:.1f}x (worst {ref / worst:.1f}x) | {agree} |")


def main() -> None:
    print(f"machine: {os.cpu_count()} cores ({cpu_model()}), {platform.system()} "
          f"{platform.release()}")
    print(f"python {sys.version.split()[0]}; " + ", ".join(
        f"{p} {version(p)}" for p in ("numpy", "scipy", "scikit-learn", "scikit-survival",
                                      "lifelines", "pandas")))
    print()
    print("| measurement | lightsaber s, best of 3 | reference s | ratio | values |")
    print("|---|---|---|---|---|")

    # Harrell's C vs lifelines (both O(n log n)) at 1e5 and 1e6, and sksurv (O(n^2)) at 1e5
    for n in (100_000, 1_000_000):
        event, time_, risk, _ = cohort(n, seed=n)
        what = f"Harrell C, n={n:.0e}"
        t_ours, c_ours = timed(lambda e=event, t=time_, r=risk: harrell_c((e, t), r), key=what)
        c_exact = harrell_c((event, time_), risk, tied_tol=0)
        t_ll, c_ll = timed(lambda e=event, t=time_, r=risk: lifelines_c(t, -r, e), repeat=1)
        row(what, t_ours, t_ll, "lifelines",
            f"ours {c_ours:.12f} / tied_tol=0 {c_exact:.12f}, lifelines {c_ll:.12f}, "
            f"|diff| {abs(c_exact - c_ll):.1e}")
        if n == 100_000:
            t_sk, c_sk = timed(lambda e=event, t=time_, r=risk:
                               concordance_index_censored(e, t, r)[0], repeat=1)
            row(what, t_ours, t_sk, "scikit-survival",
                f"|diff| {abs(c_ours - c_sk):.1e}")

    # 1000 bootstrap replicates of Harrell's C at n = 10,000
    event, time_, risk, _ = cohort(10_000, seed=7)
    t_boot, res = timed(lambda: bootstrap_ci("c_index", (event, time_), risk, n_resamples=1000,
                                             seed=0), repeat=1)
    print(f"| 1000 bootstrap replicates of Harrell C, n=1e4 (stratified) | {t_boot:.3f} | "
          f"target < 5 s | - | C = {res.estimate:.4f} [{res.low:.4f}, {res.high:.4f}] |")

    # Uno's C, cumulative/dynamic AUC and IBS at n = 1e5 vs scikit-survival
    n = 100_000
    event, time_, risk, x = cohort(n, seed=11)
    e_tr, t_tr, _, _ = cohort(n, seed=12)
    y, y_tr = Surv.from_arrays(event, time_), Surv.from_arrays(e_tr, t_tr)
    tau = float(np.quantile(time_, 0.9))
    t_ours, u_ours = timed(lambda: uno_c(y, risk, y_train=y_tr, tau=tau),
                           key="Uno C (tau = 90th pct), n=1e5")
    t_sk, u_sk = timed(lambda: concordance_index_ipcw(y_tr, y, risk, tau=tau)[0], repeat=1)
    row("Uno C (tau = 90th pct), n=1e5", t_ours, t_sk, "scikit-survival",
        f"|diff| {abs(u_ours - u_sk):.1e}")
    times = np.quantile(time_[event], np.linspace(0.05, 0.9, 20))
    t_ours, a_ours = timed(lambda: ls_auc(y, risk, times, y_train=y_tr),
                           key="cumulative/dynamic AUC, 20 times, n=1e5")
    t_sk, a_sk = timed(lambda: cumulative_dynamic_auc(y_tr, y, risk, times))
    row("cumulative/dynamic AUC, 20 times, n=1e5", t_ours, t_sk, "scikit-survival",
        f"max |diff| AUC {np.abs(a_ours.auc - a_sk[0]).max():.1e}, mean "
        f"{abs(a_ours.mean_auc - a_sk[1]):.1e}")
    surv = np.exp(-np.outer(np.exp(x), times))
    t_ours, i_ours = timed(lambda: ls_ibs(y, surv, times, y_train=y_tr),
                           key="integrated Brier score, 20 times, n=1e5")
    t_sk, i_sk = timed(lambda: integrated_brier_score(y_tr, y, surv, times))
    row("integrated Brier score, 20 times, n=1e5", t_ours, t_sk, "scikit-survival",
        f"|diff| {abs(i_ours - i_sk):.1e}")


if __name__ == "__main__":
    main()
