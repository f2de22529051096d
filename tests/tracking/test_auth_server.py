"""Against a real ``mlflow server --app-name basic-auth`` on 127.0.0.1 with an editor and a reader.

The server, its auth database and its artifacts live in a temporary folder; the users are made
through MLflow's own auth API as the admin. Credentials reach lightsaber only through
``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD``; the last test scans everything the
server and lightsaber wrote for the passwords.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from lightsaber.exceptions import RegistryError, TrackingError
from tests.mlflow_fixtures import _free_port, _healthy, _stop, _tail

pytestmark = pytest.mark.slow

ADMIN_PASSWORD = "Adm1n-Secret-7f3q"
EDITOR_PASSWORD = "Ed1tor-Secret-9k2w"
READER_PASSWORD = "Re4der-Secret-4m8z"
PASSWORDS = (ADMIN_PASSWORD, EDITOR_PASSWORD, READER_PASSWORD)
EXPERIMENT = "team-mortality"
MODEL = "team-mortality-model"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A basic-auth MLflow server with users ``editor`` and ``reader``; stopped at the end."""
    pytest.importorskip("flask_wtf", reason="mlflow[auth] (lightsaber[server]) not installed")
    root = tmp_path_factory.mktemp("auth-server")
    (root / "basic_auth.ini").write_text(
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = sqlite:///{root / 'basic_auth.db'}\n"
        f"admin_username = admin\nadmin_password = {ADMIN_PASSWORD}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true",
               MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
               MLFLOW_AUTH_CONFIG_PATH=str(root / "basic_auth.ini"),
               MLFLOW_FLASK_SERVER_SECRET_KEY="test-only-csrf-key")
    log = root / "server.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--app-name", "basic-auth",
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
             "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
             "--serve-artifacts", "--artifacts-destination", str(root / "artifacts")],
            cwd=root, env=env, stdout=sink, stderr=sink, stdin=subprocess.DEVNULL,
            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None and not _healthy(url):
            time.sleep(0.25)
        if not _healthy(url):
            pytest.fail(f"basic-auth server did not start:\n{_tail(log)}", pytrace=False)
        with warnings.catch_warnings():  # importing mlflow.server configures MLflow's mappers
            warnings.simplefilter("ignore")  # third-party deprecations (SQLAlchemy, Starlette)
            from mlflow.server import get_app_client

            admin = get_app_client("basic-auth", tracking_uri=url)

        saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_USERNAME",
                                                "MLFLOW_TRACKING_PASSWORD")}
        os.environ.update(MLFLOW_TRACKING_USERNAME="admin", MLFLOW_TRACKING_PASSWORD=ADMIN_PASSWORD)
        try:
            admin.create_user("editor", EDITOR_PASSWORD)
            admin.create_user("reader", READER_PASSWORD)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        yield {"url": url, "root": root, "log": log, "admin": admin, "state": {}}
    finally:
        _stop(process)


def _as(monkeypatch: pytest.MonkeyPatch, user: str, password: str) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)


def _as_admin(server: dict, fn):
    """Call ``fn(admin_client)`` with the admin's credentials, then restore the environment."""
    with pytest.MonkeyPatch.context() as patch:
        _as(patch, "admin", ADMIN_PASSWORD)
        return fn(server["admin"])


def _cohort():
    import lightsaber as ls

    cohort = ls.datasets.load_sample_mortality(n_patients=200)
    return cohort, cohort.split(val=0.2, test=0.2, stratify="label", seed=0)


def _runs(server: dict) -> list:
    from mlflow import MlflowClient

    def search(_admin):
        client = MlflowClient(server["url"])
        found = client.get_experiment_by_name(EXPERIMENT)
        return [] if found is None else client.search_runs([found.experiment_id])
    return _as_admin(server, search)


@pytest.fixture(scope="module")
def fitted(auth_server) -> dict:
    """The editor fits into EXPERIMENT, tunes two trials and registers MODEL; reader gets READ."""
    from sklearn.linear_model import LogisticRegression

    import lightsaber as ls
    from lightsaber.tracking.model_registry import register_best
    from lightsaber.tuning.space import Choice

    state = auth_server["state"]
    url = auth_server["url"]
    cohort, splits = _cohort()
    with pytest.MonkeyPatch.context() as patch:
        _as(patch, "editor", EDITOR_PASSWORD)
        started = time.monotonic()
        run = ls.fit(LogisticRegression(max_iter=300), cohort, splits, experiment=EXPERIMENT,
                     tracking_uri=url, progress=False)
        study = ls.tune(LogisticRegression(max_iter=300), cohort, splits,
                        {"C": Choice([0.1, 1.0])}, algorithm="grid", max_trials=2,
                        experiment=EXPERIMENT, tracking_uri=url, progress=False, refit=False)
        info = register_best(MODEL, experiment=EXPERIMENT, metric="auc_roc", tracking_uri=url,
                             alias="champion")
        state["editor_s"] = time.monotonic() - started
    state.update(run=run, study=study, info=info, cohort=cohort, splits=splits)
    return state


def test_editor_fits_tunes_and_registers(fitted):
    assert fitted["run"].run_id and fitted["info"].uri == f"models:/{MODEL}/1"


def test_reader_reports_and_predicts(auth_server, fitted, monkeypatch, tmp_path):
    from lightsaber.reports.html import write_report
    from lightsaber.serving import load_pipeline, predict_cohort

    _as(monkeypatch, "reader", READER_PASSWORD)
    url = auth_server["url"]
    # logging the page as a report run needs EDIT: refused before anything is rendered
    with pytest.raises(TrackingError, match="needs EDIT permission"):
        write_report(tmp_path / "logged.html", experiment=EXPERIMENT, tracking_uri=url)
    assert not (tmp_path / "logged.html").exists()
    fitted["report"] = write_report(tmp_path / "report.html", experiment=EXPERIMENT,
                                    tracking_uri=url, log=False)
    assert "<html" in fitted["report"].read_text(encoding="utf-8")
    pipeline = load_pipeline(f"models:/{MODEL}@champion", tracking_uri=url)
    assert pipeline.task == "classification"
    scores = predict_cohort(f"models:/{MODEL}@champion", fitted["cohort"], tracking_uri=url)
    assert len(scores) == 200


def test_reader_cannot_register(auth_server, fitted, monkeypatch):
    from lightsaber.tracking.model_registry import register_run

    _as_admin(auth_server, lambda admin: admin.grant_user_permission(
        "reader", "registered_model", MODEL, "READ"))
    _as(monkeypatch, "reader", READER_PASSWORD)
    with pytest.raises(RegistryError) as caught:
        register_run(fitted["run"].run_id, MODEL, tracking_uri=auth_server["url"])
    message = str(caught.value)
    assert "permission denied at http://127.0.0.1:" in message
    assert f"model {MODEL!r} needs EDIT permission" in message


def test_reader_cannot_fit_into_the_editors_experiment(auth_server, fitted, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    import lightsaber as ls

    before = {r.info.run_id for r in _runs(auth_server)}
    _as(monkeypatch, "reader", READER_PASSWORD)
    model = LogisticRegression(max_iter=300)
    with pytest.raises(TrackingError) as caught:
        ls.fit(model, fitted["cohort"], fitted["splits"], experiment=EXPERIMENT,
               tracking_uri=auth_server["url"], progress=False)
    message = str(caught.value)
    assert f"experiment {EXPERIMENT!r}" in message and "needs EDIT permission" in message
    assert "the current user has READ" in message and auth_server["url"] in message
    assert not hasattr(model, "coef_")  # never trained
    assert {r.info.run_id for r in _runs(auth_server)} == before  # nothing written


def test_wrong_password_fails_before_training(auth_server, fitted, monkeypatch, capsys):
    from sklearn.linear_model import LogisticRegression

    import lightsaber as ls
    from lightsaber.tuning.space import Choice

    before = {r.info.run_id for r in _runs(auth_server)}
    _as(monkeypatch, "editor", "not-the-password")
    model = LogisticRegression(max_iter=300)
    for call in (lambda: ls.fit(model, fitted["cohort"], fitted["splits"], experiment=EXPERIMENT,
                                tracking_uri=auth_server["url"], progress=False),
                 lambda: ls.tune(model, fitted["cohort"], fitted["splits"],
                                 {"C": Choice([0.1, 1.0])}, algorithm="grid", max_trials=2,
                                 experiment=EXPERIMENT, tracking_uri=auth_server["url"],
                                 progress=False)):
        with pytest.raises(TrackingError, match="not authenticated at http://127.0.0.1:.*"
                                                "MLFLOW_TRACKING_PASSWORD"):
            call()
    assert not hasattr(model, "coef_")
    assert {r.info.run_id for r in _runs(auth_server)} == before
    assert "not-the-password" not in capsys.readouterr().err


def test_preflight_error_is_one_line_without_the_password(auth_server, fitted, monkeypatch):
    from lightsaber.tracking.client import tracking_client
    from lightsaber.tracking.lifecycle import check_access

    _as(monkeypatch, "nobody", "Nobody-Pw-1x")
    with pytest.raises(TrackingError) as caught:
        check_access(*tracking_client(auth_server["url"]), EXPERIMENT)
    assert "\n" not in str(caught.value) and "Nobody-Pw-1x" not in str(caught.value)


def test_no_password_anywhere(auth_server, fitted, caplog, capsys):
    """The store, artifacts, server log, auth db, captured output and report hold no password."""
    caplog.set_level(logging.DEBUG)
    root: Path = auth_server["root"]
    files = [p for p in root.rglob("*") if p.is_file() and p.name != "basic_auth.ini"]
    if fitted.get("report") is not None:
        files.append(fitted["report"])
    assert any(p.name == "mlflow.db" for p in files) and any("artifacts" in p.parts
                                                              for p in files)
    text = [caplog.text.encode(), *(s.encode() for s in capsys.readouterr())]
    for password in PASSWORDS:
        needle = password.encode()
        assert [str(p) for p in files if needle in p.read_bytes()] == []
        assert not any(needle in blob for blob in text)
