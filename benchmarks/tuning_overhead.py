"""Tuning overhead (issue 7): what a study costs beyond fitting its trials.

    python benchmarks/tuning_overhead.py [--trials 50] [--ray-trials 20] [--slow-trials 8]
                                         [--skip-ray]

1. In-process study (``backend="local"``, TPE, sqlite store in a temporary folder): ``--trials``
   trials of a model whose ``fit`` takes ~50 ms (a logistic regression plus a 50 ms sleep, so
   the fit time does not depend on the load of a shared machine). Per-trial overhead =
   (time in the trial loop - time inside ``ls.fit``) / trials: suggestion, child run (3 MLflow
   requests: create, one batch of params/metrics/tags, terminate), progress bar. The one-off
   end of the study (analysis tables, 3 plots, artifacts) is reported separately.
   Target: <= 100 ms per trial.
2. Ray backend, same model, local Ray with 1 CPU (trials one after the other): per-trial
   overhead = (study time - Ray start - time inside ``ls.fit``) / trials.
3. Ray speed-up: ``--slow-trials`` trials of ~5 s (a 5 s sleep in ``fit``: waiting, not
   computing, so the figure measures Ray's scheduling on a 2-core machine shared with other
   work) with ``max_concurrent=1`` and ``=2`` on one local Ray with 2 CPUs.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lightsaber.data import Cohort  # noqa: E402
from lightsaber.data.synthetic import make_mortality_cohort  # noqa: E402


class SleepyClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression whose ``fit`` also sleeps ``delay`` seconds."""

    def __init__(self, C: float = 1.0, delay: float = 0.05) -> None:
        self.C = C
        self.delay = delay

    def fit(self, X, y):
        time.sleep(self.delay)
        self.model_ = LogisticRegression(C=self.C, max_iter=300).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)

    def predict(self, X):
        return self.model_.predict(X)


SPACE = {"C": {"loguniform": [1e-3, 100.0]}}


def data():
    static, _ = make_mortality_cohort(n_patients=300, hours=4, seed=0)
    cohort = Cohort(static, id="patient_id", label="died_in_hospital", exclude=["los_days"])
    return cohort, cohort.split(val=0.25, test=0.25, stratify="label", seed=3)


def timed_study(delay: float, trials: int, uri: str, **kwargs):
    """Run a study; returns (result, loop seconds, end-of-study seconds, total seconds)."""
    import lightsaber.tuning.analysis as analysis
    from lightsaber.tuning import tune

    cohort, splits = data()
    finish = analysis.finish_study
    spent = {}

    def timed_finish(*args, **kw):
        start = time.perf_counter()
        try:
            return finish(*args, **kw)
        finally:
            spent["finish"] = time.perf_counter() - start

    analysis.finish_study = timed_finish
    try:
        start = time.perf_counter()
        result = tune(SleepyClassifier(delay=delay), cohort, splits, SPACE, max_trials=trials,
                      tracking_uri=uri, refit=False, progress=False, **kwargs)
        total = time.perf_counter() - start
    finally:
        analysis.finish_study = finish
    return result, total - spent["finish"], spent["finish"], total


def _count_requests(spent: dict) -> list:
    """Time MLflow's per-trial requests (create, log_batch, set_terminated); returns undo list."""
    from mlflow import MlflowClient

    undo = []
    for name in ("create_run", "log_batch", "set_terminated"):
        original = getattr(MlflowClient, name)

        def timed(self, *args, _original=original, **kwargs):
            start = time.perf_counter()
            try:
                return _original(self, *args, **kwargs)
            finally:
                spent["mlflow"] = spent.get("mlflow", 0.0) + time.perf_counter() - start

        setattr(MlflowClient, name, timed)
        undo.append((name, original))
    return undo


def local(trials: int, folder: Path) -> dict:
    from mlflow import MlflowClient

    uri = f"sqlite:///{folder / 'local.db'}"
    timed_study(0.05, 2, uri, study_name="warm-up")  # schema, imports, caches
    spent: dict = {}
    undo = _count_requests(spent)
    try:
        result, loop, finish, _ = timed_study(0.05, trials, uri)
    finally:
        for name, original in undo:
            setattr(MlflowClient, name, original)
    fit = float(result.trials["fit_seconds"].sum())
    return {"trials": trials, "fit_ms": 1000 * fit / trials,
            "overhead_ms": 1000 * (loop - fit) / trials, "finish_s": finish,
            "mlflow_ms": 1000 * spent.get("mlflow", 0.0) / trials}


def ray_overhead(trials: int, folder: Path) -> dict:
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    started = time.perf_counter() - start
    try:
        uri = f"sqlite:///{folder / 'ray.db'}"
        result, loop, finish, _ = timed_study(0.05, trials, uri, backend="ray")
    finally:
        ray.shutdown()
    fit = float(result.trials["fit_seconds"].sum())
    return {"trials": trials, "ray_start_s": started, "fit_ms": 1000 * fit / trials,
            "overhead_ms": 1000 * (loop - fit) / trials}


def ray_speedup(trials: int, folder: Path) -> dict:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        out = {}
        for workers in (1, 2):
            uri = f"sqlite:///{folder / f'speedup{workers}.db'}"
            _, loop, _, _ = timed_study(5.0, trials, uri, backend="ray", algorithm="random",
                                        max_concurrent=workers)
            out[workers] = loop
    finally:
        ray.shutdown()
    return {"trials": trials, "one_worker_s": out[1], "two_workers_s": out[2],
            "speedup": out[1] / out[2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--ray-trials", type=int, default=20)
    parser.add_argument("--slow-trials", type=int, default=8)
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}")
    packages = ["mlflow", "hyperopt", "scikit-learn"] + ([] if args.skip_ray else ["ray"])
    print("versions: " + ", ".join(f"{p} {version(p)}" for p in packages))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        res = local(args.trials, folder)
        print(f"local: {res['trials']} trials, ls.fit {res['fit_ms']:.0f} ms/trial, "
              f"overhead {res['overhead_ms']:.0f} ms/trial (target <= 100; MLflow requests "
              f"{res['mlflow_ms']:.0f} ms of it, incl. the parent's few), end of study "
              f"{res['finish_s']:.2f} s")
        if args.skip_ray:
            return
        res = ray_overhead(args.ray_trials, folder)
        print(f"ray (1 CPU): {res['trials']} trials, Ray start {res['ray_start_s']:.1f} s, "
              f"ls.fit {res['fit_ms']:.0f} ms/trial, overhead {res['overhead_ms']:.0f} "
              "ms/trial")
        res = ray_speedup(args.slow_trials, folder)
        print(f"ray speed-up: {res['trials']} trials of ~5 s, 1 worker "
              f"{res['one_worker_s']:.1f} s, 2 workers {res['two_workers_s']:.1f} s, "
              f"speed-up {res['speedup']:.2f}x")


if __name__ == "__main__":
    main()
