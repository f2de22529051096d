"""Competing-risk metrics at n = 1e5: lightsaber against the peers that have one.

Aalen-Johansen cumulative incidence is in scikit-survival
(``sksurv.nonparametric.cumulative_incidence_competing_risks``) and lifelines
(``AalenJohansenFitter``); the cause-specific AUC, Brier score and Wolbers concordance have no
Python peer (R's ``riskRegression::Score`` and ``pec::cindex`` are their references, in
``tests/metrics/test_competing.py``), so they are timed alone.

Each timing runs in a fresh process (``--worker NAME``: import, build the data, one warm-up
call on 1,000 rows, then the timed call), the libraries alternating, ``--repeat`` rounds; the
driver prints medians and the range, and checks the CIFs agree.

Run: ``.venv/bin/python benchmarks/competing_metrics.py [--n 100000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from importlib.metadata import version

import numpy as np

TIMES = (0.25, 0.5, 1.0, 1.5)


def cohort(n: int, seed: int = 0):
    """Two causes with covariate-dependent hazards, independent censoring, continuous times."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t1 = rng.exponential(1.0 / (0.6 * np.exp(0.7 * x)))
    t2 = rng.exponential(1.0 / (0.4 * np.exp(-0.3 * x)))
    c = rng.exponential(2.0, n)
    time_ = np.minimum.reduce([t1, t2, c])
    status = np.select([time_ == t1, time_ == t2], [1, 2], 0)
    return status, time_, x


def ours_cif(status, time_):
    from lightsaber.metrics import cumulative_incidence

    y = (status, time_)
    return np.stack([cumulative_incidence(y, TIMES, cause=k) for k in (1, 2)])


def sksurv_cif(status, time_):
    from sksurv.nonparametric import cumulative_incidence_competing_risks

    grid, cif = cumulative_incidence_competing_risks(status, time_)
    at = np.searchsorted(grid, TIMES, side="right") - 1
    return cif[1:, at]


def lifelines_cif(status, time_):
    import warnings

    from lifelines import AalenJohansenFitter

    out = []
    for k in (1, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lifelines warns about (absent) tied times
            fitter = AalenJohansenFitter(calculate_variance=False).fit(time_, status,
                                                                       event_of_interest=k)
        curve = fitter.cumulative_density_
        out.append(curve.iloc[:, 0].reindex(curve.index.union(TIMES)).ffill().loc[
            list(TIMES)].to_numpy())
    return np.stack(out)


def ours_scores(status, time_, x):
    """The three cause-1 metrics on an (oracle-ish) CIF built from the covariate."""
    from lightsaber.metrics import brier_score_competing, cause_specific_auc, wolbers_c

    y = (status, time_)
    cif = 1.0 - np.exp(-0.6 * np.exp(0.7 * x)[:, None] * np.asarray(TIMES)[None, :])
    return {"auc": cause_specific_auc(y, cif, TIMES, cause=1).tolist(),
            "brier": brier_score_competing(y, cif, TIMES, cause=1).tolist(),
            "wolbers_c": wolbers_c(y, cif[:, -1], cause=1)}


WORKERS = {"lightsaber CIF": ours_cif, "scikit-survival CIF": sksurv_cif,
           "lifelines CIF": lifelines_cif, "lightsaber AUC+Brier+Wolbers C": ours_scores}


def worker(name: str, n: int) -> None:
    status, time_, x = cohort(n)
    small = cohort(1000, seed=1)
    args = (lambda s, t, z: (s, t, z)) if "AUC" in name else (lambda s, t, z: (s, t))
    WORKERS[name](*args(*small))
    start = time.perf_counter()
    value = WORKERS[name](*args(status, time_, x))
    seconds = time.perf_counter() - start
    value = value if isinstance(value, dict) else np.asarray(value).tolist()
    print(json.dumps({"name": name, "seconds": seconds, "value": value}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--worker", choices=sorted(WORKERS))
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.n)
        return 0
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"numpy {version('numpy')}, scikit-survival {version('scikit-survival')}, "
          f"lifelines {version('lifelines')}, lightsaber {version('lightsaber')}; "
          f"n = {args.n:,}, {args.repeat} fresh-process rounds")
    runs: dict[str, list[float]] = {name: [] for name in WORKERS}
    values: dict[str, object] = {}
    for _ in range(args.repeat):
        for name in WORKERS:  # alternating, one fresh process each
            out = subprocess.run([sys.executable, __file__, "--worker", name, "--n",
                                  str(args.n)], check=True, capture_output=True, text=True)
            record = json.loads(out.stdout.strip().splitlines()[-1])
            runs[name].append(record["seconds"])
            values[name] = record["value"]
    base = float(np.median(runs["lightsaber CIF"]))
    print("\n| computation | median s | range s | peer / lightsaber |\n|---|--:|--:|--:|")
    for name, seconds in runs.items():
        median = float(np.median(seconds))
        ratio = f"{median / base:.1f}x" if name.endswith(" CIF") else "-"
        print(f"| {name} | {median:.3f} | {min(seconds):.3f}-{max(seconds):.3f} | {ratio} |")
    ours = np.asarray(values["lightsaber CIF"])
    for peer in ("scikit-survival CIF", "lifelines CIF"):
        print(f"\nmax |lightsaber - {peer}| = {np.abs(ours - np.asarray(values[peer])).max():.1e}")
    print(f"cause-1 metrics at {TIMES}: {values['lightsaber AUC+Brier+Wolbers C']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
