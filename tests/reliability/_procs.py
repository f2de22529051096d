"""Running ``fit_child`` in subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT_S = 600


def start_child(args: list[str], log: Path, **env: str) -> subprocess.Popen:
    """Start ``python -m tests.reliability.fit_child ARGS`` with output to ``log``."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "MLFLOW_DISABLE_TELEMETRY": "true",
                "DO_NOT_TRACK": "true", **env}
    full_env.pop("MLFLOW_TRACKING_URI", None)
    with log.open("wb") as sink:
        return subprocess.Popen([sys.executable, "-m", "tests.reliability.fit_child", *args],
                                cwd=log.parent, env=full_env, stdout=sink,
                                stderr=subprocess.STDOUT)


def wait_all(children: list[subprocess.Popen], logs: list[Path]) -> list[str]:
    """Wait for every child; return their output; fail listing any non-zero exit."""
    failures = []
    for child, log in zip(children, logs, strict=True):
        try:
            child.wait(timeout=CHILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.returncode != 0:
            failures.append(f"{log.name} (exit {child.returncode}):\n"
                            + log.read_text(errors="replace")[-3000:])
    assert not failures, "\n\n".join(failures)
    return [log.read_text(errors="replace") for log in logs]
