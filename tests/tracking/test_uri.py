"""Tracking URI precedence: argument > MLFLOW_TRACKING_URI > ./mlflow.db (absolute)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightsaber.tracking import resolve_tracking_uri
from lightsaber.tracking.uri import redact_uri, sqlite_artifact_root


def test_argument_wins_over_environment(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////from/env.db")
    assert resolve_tracking_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


def test_environment_wins_over_default(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////from/env.db")
    assert resolve_tracking_uri() == "sqlite:////from/env.db"
    assert resolve_tracking_uri(None) == "sqlite:////from/env.db"


def test_default_is_absolute_sqlite_file_in_cwd(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = resolve_tracking_uri()
    assert uri == f"sqlite:///{(tmp_path / 'mlflow.db').as_posix()}"
    assert uri.startswith("sqlite:////")  # three slashes + an absolute path
    assert not (tmp_path / "mlflow.db").exists()  # resolving creates nothing


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_values_count_as_not_given(monkeypatch, tmp_path, blank):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", blank)
    assert resolve_tracking_uri(blank).endswith(f"{tmp_path.as_posix()}/mlflow.db")


def test_redaction_hides_credentials_only():
    assert redact_uri("https://user:pw@mlflow.example.org/x") == "https://***@mlflow.example.org/x"
    assert redact_uri("sqlite:////tmp/m.db") == "sqlite:////tmp/m.db"


def test_sqlite_artifact_root_sits_next_to_the_database(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert sqlite_artifact_root("sqlite:////a/b/mlflow.db") == Path("/a/b/mlruns")
    assert sqlite_artifact_root("sqlite:///rel/m.db") == tmp_path.resolve() / "rel" / "mlruns"
    for other in ("http://127.0.0.1:5000", "sqlite://", "sqlite:///:memory:",
                  "postgresql://h/db", "file:///tmp/mlruns"):
        assert sqlite_artifact_root(other) is None
