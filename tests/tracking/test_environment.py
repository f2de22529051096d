"""environment_info and the git tags of log_environment."""

from __future__ import annotations

import shutil
import subprocess
from importlib import metadata

import pytest

import lightsaber
import lightsaber.tracking.environment as env_module
from lightsaber.tracking import environment_info, tracked_run


@pytest.fixture
def git_available() -> None:
    """git is a requirement of the suite (CI runs in a fresh clone): missing, it is a failure."""
    assert shutil.which("git") is not None, "git is not installed: apt-get install git"


needs_git = pytest.mark.usefixtures("git_available")


def test_environment_info_names_python_platform_and_versions():
    info = environment_info()
    assert set(info) == {"python", "python_implementation", "platform", "packages"}
    assert info["packages"]["lightsaber"] == lightsaber.__version__
    assert info["packages"]["mlflow"] == metadata.version("mlflow")
    assert info["packages"]["scikit-learn"] == metadata.version("scikit-learn")
    assert set(info["packages"]) == {"lightsaber", *env_module.PACKAGES}


def test_missing_packages_are_none(monkeypatch):
    monkeypatch.setattr(env_module, "PACKAGES", ("numpy", "surely-not-installed-pkg"))
    packages = environment_info()["packages"]
    assert packages["surely-not-installed-pkg"] is None and packages["numpy"] is not None


def _git(cwd, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org",
                    "-c", "commit.gpgsign=false", *args], cwd=cwd, check=True,
                   capture_output=True)


@pytest.fixture
def isolated_cwd(tmp_path_factory, monkeypatch):
    """A working directory git will not search above (so no enclosing checkout is found)."""
    cwd = tmp_path_factory.mktemp("cwd")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(cwd.parent))
    monkeypatch.chdir(cwd)
    return cwd


def test_outside_a_checkout_no_git_tags_and_no_error(store_uri, isolated_cwd):
    with tracked_run("exp", tracking_uri=store_uri) as run:
        run.log_environment()
    tags = run.client.get_run(run.run_id).data.tags
    assert "git_commit" not in tags and "git_dirty" not in tags
    assert [a.path for a in run.client.list_artifacts(run.run_id)] == ["environment.json"]


def test_without_git_no_tags_and_no_error(store_uri, isolated_cwd, monkeypatch):
    monkeypatch.setenv("PATH", str(isolated_cwd))  # no git executable on PATH
    assert env_module.git_state() is None


@needs_git
def test_in_a_checkout_commit_and_dirty_flag_are_tagged(store_uri, isolated_cwd):
    _git(isolated_cwd, "init", "-q")
    (isolated_cwd / "train.py").write_text("print('v1')\n")
    _git(isolated_cwd, "add", "train.py")
    _git(isolated_cwd, "commit", "-q", "-m", "first")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=isolated_cwd, check=True,
                          capture_output=True, text=True).stdout.strip()
    (isolated_cwd / "untracked.txt").write_text("not part of the commit")
    with tracked_run("exp", tracking_uri=store_uri) as clean:
        clean.log_environment()
    (isolated_cwd / "train.py").write_text("print('v2')\n")
    with tracked_run("exp", tracking_uri=store_uri) as dirty:
        dirty.log_environment()
    tags = clean.client.get_run(clean.run_id).data.tags
    assert tags["git_commit"] == head and tags["git_dirty"] == "false"
    assert tags["mlflow.source.git.commit"] == head
    assert dirty.client.get_run(dirty.run_id).data.tags["git_dirty"] == "true"


@needs_git
def test_a_checkout_without_commits_gives_no_tags(isolated_cwd):
    _git(isolated_cwd, "init", "-q")
    assert env_module.git_state() is None
