"""A 12-trial study on a real 2-node Ray cluster (127.0.0.1) into a real ``mlflow server``.

The driver (``tests/tuning/ray_driver.py``) runs in its own process, because Ray reads the
cluster's authentication settings when a process starts. The cluster is two
``ray start --block`` processes (head + one worker node, one CPU and a
custom resource each). They are stopped through their own process groups rather than
``ray stop``, which would stop every Ray instance of this user on the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

pytest.importorskip("ray")
REPO = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).with_name("ray"))
START_TIMEOUT_S = 180


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)  # a node drains for up to 30 s; no need in a test
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    except ProcessLookupError:
        pass


@pytest.fixture
def ray_cluster(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """``(address, env)`` of a head node plus one worker node on 127.0.0.1, stopped afterwards.

    The cluster has its own authentication token (not the shared ``~/.ray/auth_token``);
    ``env`` is what a driver process needs to join it.
    """
    port = _free_port()
    address = f"127.0.0.1:{port}"
    temp_dir = tempfile.mkdtemp(prefix="lsray-", dir="/tmp")  # short: Ray's socket paths
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "MLFLOW_TRACKING"))}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=uuid.uuid4().hex,
               RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(REPO))
    common = ["--block", "--num-cpus=1", "--num-gpus=0", "--object-store-memory=80000000",
              "--disable-usage-stats", "--node-ip-address=127.0.0.1"]
    log_path = tmp_path / "ray.log"
    processes: list[subprocess.Popen] = []
    with log_path.open("ab") as log:
        try:
            processes.append(subprocess.Popen(
                [RAY, "start", "--head", f"--port={port}", "--include-dashboard=false",
                 f"--temp-dir={temp_dir}", '--resources={"head_slot": 1}', *common],
                env=env, stdout=log, stderr=log, start_new_session=True))
            deadline = time.monotonic() + START_TIMEOUT_S
            while not _listening(port):
                assert time.monotonic() < deadline and processes[0].poll() is None, (
                    log_path.read_text()[-3000:])
                time.sleep(0.5)
            processes.append(subprocess.Popen(
                [RAY, "start", f"--address={address}", '--resources={"worker_slot": 1}',
                 *common], env=env, stdout=log, stderr=log, start_new_session=True))
            yield address, env
        finally:
            for process in reversed(processes):
                _stop(process)
            shutil.rmtree(temp_dir, ignore_errors=True)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_twelve_trials_on_two_nodes_into_mlflow_server(ray_cluster, mlflow_server, tmp_path):
    from lightsaber.tracking.lifecycle import _client

    address, env = ray_cluster
    out = tmp_path / "result.json"
    driver = subprocess.run(
        [sys.executable, "-m", "tests.tuning.ray_driver", address, mlflow_server, str(out)],
        cwd=REPO, env=env, capture_output=True, timeout=900)
    assert driver.returncode == 0, driver.stderr.decode(errors="replace")[-4000:]
    result = json.loads(out.read_text())
    nodes = set(result["nodes"])
    assert len(nodes) == 2
    trials = result["trials"]
    assert len(trials) == 12 and all(t["status"] == "ok" for t in trials)
    assert {t["node"] for t in trials} == nodes  # trials ran on both nodes
    assert sorted(t["number"] for t in trials) == list(range(12))
    client = _client(mlflow_server)
    experiment = client.get_experiment_by_name("ray-cluster")
    children = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{result['run_id']}' and "
                      "tags.`lightsaber.role` = 'trial'")
    assert len(children) == 12
    assert all(r.info.status == "FINISHED" and "val_auc_roc" in r.data.metrics
               for r in children)
    assert {r.data.tags["lightsaber.trial.node"] for r in children} == nodes
    assert client.get_run(result["run_id"]).info.status == "FINISHED"
