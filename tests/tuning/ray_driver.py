"""Driver of the Ray cluster test, run as its own process (Ray reads its auth settings at start).

Usage: python -m tests.tuning.ray_driver ADDRESS TRACKING_URI RESULT_JSON
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time


def main() -> None:
    address, uri, out = sys.argv[1:4]
    rendezvous = tempfile.mkdtemp(prefix="lsray-meet-")
    import ray

    from lightsaber.tuning import tune
    from tests.tuning.helpers import FlakyClassifier, small_cohort, small_splits

    ray.init(address=address, log_to_driver=False)
    deadline = time.monotonic() + 120
    while len([n for n in ray.nodes() if n["Alive"]]) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    nodes = sorted(n["NodeID"] for n in ray.nodes() if n["Alive"])
    # Warm both nodes (imports and page cache), so that the first trials start sooner.
    warm = ray.remote(num_cpus=1)(_import_stack)
    ray.get([warm.options(resources={slot: 1}).remote()
             for slot in ("head_slot", "worker_slot")], timeout=300)
    cohort = small_cohort()
    start = time.monotonic()
    # One CPU per node and per trial, and every fit waits until two fits have started: the
    # first two trials can only run side by side, so on different nodes. (Timing alone, a
    # 4 s trial on the head racing the worker node's first actor, lost on a loaded machine.)
    result = tune(FlakyClassifier(delay=1.0, rendezvous=rendezvous), cohort,
                  small_splits(cohort),
                  {"C": {"loguniform": [1e-3, 100.0]}}, algorithm="tpe",
                  max_trials=12, backend="ray", address=address, tracking_uri=uri,
                  experiment="ray-cluster", progress=False, refit=False,
                  resources_per_trial={"cpu": 1})
    seconds = time.monotonic() - start
    ray.shutdown()
    shutil.rmtree(rendezvous, ignore_errors=True)
    with open(out, "w") as sink:
        json.dump({"nodes": nodes, "run_id": result.run_id, "seconds": seconds,
                   "trials": result.trials[["number", "status", "node"]].to_dict("records")},
                  sink)


def _import_stack() -> str:
    import ray
    import sklearn.linear_model  # noqa: F401

    import lightsaber.tuning  # noqa: F401

    return ray.get_runtime_context().get_node_id()


if __name__ == "__main__":
    main()
