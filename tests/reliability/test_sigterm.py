"""SIGTERM (a batch scheduler's timeout) during ``ls.fit``: the run ends KILLED, not RUNNING."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.reliability._procs import REPO

CHILD = textwrap.dedent("""
    import sys
    import lightsaber as ls
    from lightsaber.models import MLP, SurvivalNet

    cohort = ls.datasets.load_sample_mortality(n_patients=200, seed=0)
    splits = cohort.split(val=0.2, test=0.2, seed=0)
    net = SurvivalNet(MLP, module__hidden=(8,), max_epochs=100_000, early_stopping=None,
                      batch_size=8)
    ls.fit(net, cohort, splits, tracking_uri=sys.argv[1], experiment="sigterm",
           progress=False)
""")


@pytest.mark.slow
def test_sigterm_during_fit_ends_the_run_killed(tmp_path):
    from lightsaber.tracking.lifecycle import _client

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {**os.environ, "PYTHONPATH": str(REPO), "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    child = subprocess.Popen([sys.executable, "-c", CHILD, uri], cwd=tmp_path, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        client, runs, deadline = None, [], time.monotonic() + 300
        while not runs:
            assert child.poll() is None, child.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no run started"
            time.sleep(1.0)
            if (tmp_path / "mlflow.db").exists():
                client = _client(uri)  # opens the store inside our warning filter
                experiment = client.get_experiment_by_name("sigterm")
                if experiment is not None:
                    runs = client.search_runs([experiment.experiment_id])
        time.sleep(3.0)  # inside training
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=120) == 128 + signal.SIGTERM
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stderr.close()
    status = client.get_run(runs[0].info.run_id).info.status
    assert status == "KILLED"


def test_a_handler_the_user_installed_is_left_alone(tmp_path):
    from lightsaber.tracking import tracked_run

    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        with tracked_run("handlers", tracking_uri=f"sqlite:///{tmp_path / 'm.db'}"):
            assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)
    with tracked_run("handlers", tracking_uri=f"sqlite:///{tmp_path / 'm.db'}"):
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    assert signal.getsignal(signal.SIGTERM) is previous
