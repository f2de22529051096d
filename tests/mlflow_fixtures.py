"""MLflow fixtures: fresh sqlite stores (cheap copies of one template) and a real server.

``mlflow_server`` starts ``mlflow server`` on 127.0.0.1 once per session. The root conftest
imports these fixtures, so every test package shares them (one server per session).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

# MLflow 3 sends usage telemetry unless told not to; tests talk to 127.0.0.1 only. MLflow reads
# these when it is imported and when it records an event.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

SERVER_START_TIMEOUT_S = 120.0
SERVER_STOP_TIMEOUT_S = 15.0


@pytest.fixture(scope="session")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty sqlite store with MLflow's schema; creating the schema takes ~4 s, a copy ms."""
    from lightsaber.tracking.lifecycle import _client

    path = tmp_path_factory.mktemp("template-store") / "mlflow.db"
    _client(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def store(tmp_path: Path, template_store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding a fresh sqlite store ``mlflow.db``; MLFLOW_TRACKING_URI is unset."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    shutil.copyfile(template_store, tmp_path / "mlflow.db")
    return tmp_path


@pytest.fixture
def store_uri(store: Path) -> str:
    return f"sqlite:///{store / 'mlflow.db'}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:  # noqa: S310
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "<no server log>"


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the server's process group (it forks uvicorn workers), SIGKILL after a timeout."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=SERVER_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=SERVER_STOP_TIMEOUT_S)
    except ProcessLookupError:
        pass


def server_command(port: int, root: Path) -> list[str]:
    """The exact ``mlflow server`` command the fixture runs."""
    return [
        sys.executable, "-m", "mlflow", "server",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--serve-artifacts", "--artifacts-destination", str(root / "artifacts"),
    ]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``mlflow server`` on 127.0.0.1 (random port, sqlite backend, proxied artifacts).

    Yields its ``http://127.0.0.1:<port>`` tracking URI; the server and its workers are
    stopped at the end of the session. Its store and artifacts live in a temporary folder
    (also its working directory), so nothing lands in the repository.
    """
    root = tmp_path_factory.mktemp("mlflow-server")
    log = root / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true",
               # the job runner (two extra processes) serves GenAI jobs, not tracking
               MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    process = url = None
    for _attempt in range(3):  # another process may take the free port before the server does
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with log.open("ab") as sink:
            process = subprocess.Popen(server_command(port, root), cwd=root, env=env,
                                       stdout=sink, stderr=sink, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None and not _healthy(url):
            time.sleep(0.25)
        if process.poll() is None and _healthy(url):
            break
        _stop(process)
        if "address already in use" not in _tail(log).lower():
            break
    assert process is not None and url is not None
    if process.poll() is not None or not _healthy(url):
        _stop(process)
        pytest.fail(
            f"mlflow server did not become healthy at {url} within {SERVER_START_TIMEOUT_S:.0f}"
            f" s (exit code {process.returncode}). Command: {' '.join(process.args)}\n"
            f"Last lines of {log}:\n{_tail(log)}",
            pytrace=False,
        )
    try:
        yield url
    finally:
        _stop(process)
