"""Tracking overhead (issue 15): a tracked ``ls.fit`` of a Cox model vs the untracked fit.

    python benchmarks/tracking_overhead.py [--runs 5]

scikit-survival's ``CoxPHSurvivalAnalysis`` on lifelines' rossi data (432 patients, 7
covariates; 60/20/20 split), fitted through ``ls.fit`` in three ways, each in a fresh Python
process, the three alternating round by round:

* ``before``: tracked, with the pyfunc's pip requirements inferred by MLflow (what ``ls.fit``
  did before issue 15: MLflow loads the saved model in a subprocess to see what it imports);
* ``after``: tracked, with the requirements stated by lightsaber (the default now);
* ``untracked``: ``track=False``.

Every tracked run writes to the same sqlite store, created (schema migrations) once before the
first run, as a project's ``mlflow.db`` is. In each process the modules a tracked fit loads
(MLflow, lightsaber's tracking modules, MLflow's sqlalchemy store, which MLflow imports only
when it opens a sqlite store) are imported before the clock starts and reported apart as
"import": a process pays that once, at its first tracked fit. Then the ``ls.fit`` call is timed
("first fit": it still includes MLflow's one-off per-process work such as opening the store and
indexing the installed distributions), and a second, identical ``ls.fit`` in the same process
("second fit"). "first fit + import" is what a fresh process's first tracked fit costs when
nothing imported MLflow before it (the imports are the ones ``ls.fit`` would make). "process" is
the wall time of the whole child process (interpreter start, imports, data, both fits, exit).

Target: tracked first fit (``after``) under 1.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path

MODES = ("before", "after", "untracked")


def child(mode: str, uri: str) -> dict[str, float]:
    """One fit in this (fresh) process; returns the timings."""
    warnings.simplefilter("ignore")  # ls.fit's advice on this small cohort is not measured
    import numpy as np
    from lifelines.datasets import load_rossi
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    import lightsaber as ls

    frame = load_rossi()
    frame.insert(0, "pid", np.arange(len(frame)))
    cohort = ls.Cohort(frame, id="pid", duration="week", event="arrest")
    splits = cohort.split(val=0.2, test=0.2, seed=0)
    import_s = 0.0
    if mode != "untracked":
        start = time.perf_counter()
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401  (MLflow's lazy import)

        import lightsaber.serving.pyfunc as pyfunc
        import lightsaber.tracking  # noqa: F401  (imports MLflow)

        import_s = time.perf_counter() - start
        if mode == "before":  # no stated requirements: MLflow infers them, as before issue 15
            pyfunc.pip_requirements = lambda *args, **kwargs: None
    fits = []
    for _ in range(2):
        start = time.perf_counter()
        run = ls.fit(CoxPHSurvivalAnalysis(), cohort, splits, track=mode != "untracked",
                     tracking_uri=uri, experiment="tracking-overhead", progress=False)
        fits.append(time.perf_counter() - start)
        assert (run.run_id is None) == (mode == "untracked")
    return {"fit_s": fits[0], "fit2_s": fits[1], "import_s": import_s}


def init_store(uri: str) -> None:
    from lightsaber.tracking.lifecycle import _client

    _client(uri).search_experiments()


def spawn(mode: str, uri: str) -> dict[str, float]:
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", mode, "--uri", uri],
                          capture_output=True, text=True, env=env, check=False)
    total = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {**result, "process_s": total}


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--uri", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.uri)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        init_store(uri)
        results: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
        for i in range(args.runs):
            order = MODES[i % 3:] + MODES[:i % 3]  # rotate, so no mode always goes first
            for mode in order:
                results[mode].append(spawn(mode, uri))
                r = results[mode][-1]
                print(f"  round {i + 1} {mode:9s} fit {r['fit_s']:.2f} s  second fit "
                      f"{r['fit2_s']:.2f} s  import {r['import_s']:.2f} s  process "
                      f"{r['process_s']:.2f} s", flush=True)

    versions = {name: metadata.version(name)
                for name in ("mlflow", "scikit-survival", "scikit-learn", "numpy")}
    print(f"\nPython {platform.python_version()}, {os.cpu_count()} CPUs, "
          + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(f"median (min-max) over {args.runs} fresh processes per mode\n")
    print("| mode | first `ls.fit` | second `ls.fit` | import (once) | first fit + import "
          "| whole process |")
    print("|---|---|---|---|---|---|")
    for mode in MODES:
        rows = results[mode]
        print(f"| {mode} | {_spread([r['fit_s'] for r in rows])} | "
              f"{_spread([r['fit2_s'] for r in rows])} | "
              f"{_spread([r['import_s'] for r in rows]) if mode != 'untracked' else '-'} | "
              f"{_spread([r['fit_s'] + r['import_s'] for r in rows])} | "
              f"{_spread([r['process_s'] for r in rows])} |")


if __name__ == "__main__":
    main()
