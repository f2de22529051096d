"""What the run ran on: Python, platform, library versions and the git commit."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["environment_info"]

#: Distributions whose versions are recorded with every run (lightsaber is added first).
PACKAGES = ("numpy", "pandas", "scikit-learn", "scikit-survival", "torch", "skorch", "mlflow")

_GIT_TIMEOUT_S = 10


def environment_info() -> dict[str, Any]:
    """Python version, platform and the versions of the libraries a run depends on.

    Nothing is imported to find a version (installed distribution metadata is read), so the
    call is cheap. Host names, user names and paths are not included.

    Returns
    -------
    dict
        ``{"python": "3.11.7", "python_implementation": "CPython", "platform": ...,
        "packages": {"lightsaber": ..., "mlflow": ..., ...}}``; a package that is not
        installed has version ``None``.

    Examples
    --------
    >>> info = environment_info()
    >>> sorted(info)
    ['packages', 'platform', 'python', 'python_implementation']
    >>> sorted(info["packages"])  # doctest: +NORMALIZE_WHITESPACE
    ['lightsaber', 'mlflow', 'numpy', 'pandas', 'scikit-learn', 'scikit-survival', 'skorch',
     'torch']
    """
    from lightsaber._version import __version__

    packages: dict[str, str | None] = {"lightsaber": __version__}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": dict(sorted(packages.items())),
    }


def git_state(cwd: str | Path | None = None) -> dict[str, str] | None:
    """``{"git_commit": sha, "git_dirty": "true"|"false"}`` for a git checkout, else ``None``.

    "Dirty" means tracked files differ from the commit (untracked files do not count, as with
    ``git describe --dirty``). Any failure — no git, not a checkout, no commit yet, a timeout —
    gives ``None``; this never raises.
    """
    try:
        commit = _git(["rev-parse", "--verify", "HEAD"], cwd)
        status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        return None
    if commit is None or status is None:
        return None
    return {"git_commit": commit.strip(), "git_dirty": "true" if status.strip() else "false"}


def _git(args: list[str], cwd: str | Path | None) -> str | None:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=_GIT_TIMEOUT_S,
        check=False, stdin=subprocess.DEVNULL,
    )
    return done.stdout if done.returncode == 0 else None
