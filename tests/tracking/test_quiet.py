"""MLflow's artifact progress bars are silenced inside lightsaber calls, and only there."""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

from lightsaber.exceptions import UnverifiedModelWarning
from lightsaber.tracking import tracked_run
from lightsaber.tracking.lifecycle import _client
from lightsaber.tracking.predictions import load_predictions, log_predictions
from lightsaber.tracking.quiet import PROGRESS_BAR_VARIABLE, quiet_artifact_downloads


def _logged_run(uri: str) -> str:
    with tracked_run("quiet", tracking_uri=uri) as run:
        log_predictions(run, "classification",
                        {"train": np.array([0, 1, 0, 1]), "test": np.array([0, 1, 1, 0])},
                        {"train": np.array([0.1, 0.8, 0.3, 0.7]),
                         "test": np.array([0.2, 0.9, 0.6, 0.4])})
    return run.run_id


def test_load_predictions_prints_nothing_and_restores_the_variable(store_uri, capfd,
                                                                    monkeypatch):
    monkeypatch.delenv(PROGRESS_BAR_VARIABLE, raising=False)
    run_id = _logged_run(store_uri)
    capfd.readouterr()
    logged = load_predictions(run_id, tracking_uri=store_uri)
    out, err = capfd.readouterr()
    assert logged.splits == ["train", "test"]
    assert err == "" and out == ""
    assert PROGRESS_BAR_VARIABLE not in os.environ


def test_mlflow_still_draws_its_bar_outside_lightsaber(store_uri, capfd, tmp_path,
                                                       monkeypatch):
    """The check above is not vacuous: the same download, made directly, draws a bar."""
    monkeypatch.delenv(PROGRESS_BAR_VARIABLE, raising=False)
    run_id = _logged_run(store_uri)
    capfd.readouterr()
    _client(store_uri).download_artifacts(run_id, "predictions/index.json", str(tmp_path))
    assert "Downloading artifacts" in capfd.readouterr().err


@pytest.mark.parametrize("previous", [None, "true", "1"])
def test_previous_value_is_restored_even_after_an_error(monkeypatch, previous):
    if previous is None:
        monkeypatch.delenv(PROGRESS_BAR_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(PROGRESS_BAR_VARIABLE, previous)
    with pytest.raises(RuntimeError), quiet_artifact_downloads():
        assert os.environ[PROGRESS_BAR_VARIABLE] == "false"
        raise RuntimeError("boom")
    assert os.environ.get(PROGRESS_BAR_VARIABLE) == previous


def test_nested_and_overlapping_blocks_restore_once_the_last_closes(monkeypatch):
    monkeypatch.setenv(PROGRESS_BAR_VARIABLE, "true")
    with quiet_artifact_downloads():
        with quiet_artifact_downloads():
            pass
        assert os.environ[PROGRESS_BAR_VARIABLE] == "false"
    assert os.environ[PROGRESS_BAR_VARIABLE] == "true"

    # two threads whose blocks overlap without nesting: A opens, B opens, A closes, B closes
    a_open, b_open, a_closed = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with quiet_artifact_downloads():
            a_open.set()
            b_open.wait(5)
        a_closed.set()

    def second():
        a_open.wait(5)
        with quiet_artifact_downloads():
            b_open.set()
            a_closed.wait(5)
            seen["inside_after_a"] = os.environ.get(PROGRESS_BAR_VARIABLE)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen["inside_after_a"] == "false"
    assert os.environ[PROGRESS_BAR_VARIABLE] == "true"


def test_registry_download_of_an_outside_model_source_is_quiet(store_uri, tmp_path,
                                                               monkeypatch):
    """``download_model`` wraps MLflow's ``download_artifacts`` for sources outside a run."""
    import mlflow.artifacts

    from lightsaber.tracking.model_registry import download_model

    monkeypatch.delenv(PROGRESS_BAR_VARIABLE, raising=False)
    client = _client(store_uri)
    source = tmp_path / "elsewhere" / "model"
    source.mkdir(parents=True)
    client.create_registered_model("outside")
    client.create_model_version("outside", source=source.as_uri())
    seen = {}

    def fake_download(artifact_uri, dst_path, tracking_uri):
        seen["variable"] = os.environ.get(PROGRESS_BAR_VARIABLE)
        seen["uri"] = artifact_uri
        Path(dst_path).mkdir(parents=True, exist_ok=True)
        (Path(dst_path) / "MLmodel").write_text("flavors: {}\n")  # a model folder
        return dst_path

    monkeypatch.setattr(mlflow.artifacts, "download_artifacts", fake_download)
    with warnings.catch_warnings():  # stored outside a run: no digests to verify (warned)
        warnings.simplefilter("ignore", UnverifiedModelWarning)
        local = download_model("models:/outside/1", client, store_uri, str(tmp_path / "dst"))
    assert local == tmp_path / "dst"
    assert seen == {"variable": "false", "uri": source.as_uri()}
    assert PROGRESS_BAR_VARIABLE not in os.environ
