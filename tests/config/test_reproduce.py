"""`lightsaber reproduce` re-runs the logged config and gets identical test metrics on CPU."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import lightsaber as ls
from lightsaber.cli import main
from tests.config.conftest import write_config

WHAS = {"_target_": "lightsaber.data.datasets.load_sksurv", "name": "whas500"}
DEEPSURV = {
    "data": WHAS, "split": {"stratify": "event", "seed": 7},
    "model": {"_target_": "lightsaber.models.SurvivalNet",
              "network": {"_target_": "lightsaber.models.MLP", "hidden": [16], "dropout": 0.1},
              "loss": "cox_efron"},
    "trainer": {"max_epochs": 3, "batch_size": 64, "lr": 0.01, "device": "cpu"},
    "tracking": {"experiment": "reproduce", "log_model": False},
}
BOOSTING = {
    "data": WHAS, "split": {"stratify": "event", "seed": 7},
    "model": {"_target_": "sksurv.ensemble.GradientBoostingSurvivalAnalysis",
              "n_estimators": 20, "subsample": 0.8, "max_depth": 2},
    "tracking": {"experiment": "reproduce", "log_model": False},
}


def _fit_and_reproduce(store, store_uri, config, capsys):
    from mlflow import MlflowClient

    path = write_config(store, config)
    assert main(["fit", str(path), "--no-progress", "--tracking-uri", store_uri]) == 0
    run_id = capsys.readouterr().out.split("run ")[1].split()[0]
    assert main(["reproduce", run_id, "--no-progress", "--tracking-uri", store_uri]) == 0
    out = capsys.readouterr().out
    assert f"reproduced run {run_id}" in out and "test metrics identical" in out
    client = MlflowClient(store_uri)
    runs = client.search_runs([client.get_experiment_by_name("reproduce").experiment_id])
    assert len(runs) == 2
    by_id = {r.info.run_id: r for r in runs}
    new = next(r for i, r in by_id.items() if i != run_id)
    assert new.data.tags["lightsaber.reproduces"] == run_id
    test = {k: v for k, v in by_id[run_id].data.metrics.items() if k.startswith("test_")}
    assert test and test == {k: v for k, v in new.data.metrics.items() if k.startswith("test_")}
    logged = json.loads(Path(client.download_artifacts(run_id, "config.json", str(store)))
                        .read_text())
    assert logged["trainer"]["early_stopping"] is None  # defaults filled in
    assert logged["split"]["val"] == 0.15


def test_reproduce_deepsurv_run(store, store_uri, capsys, monkeypatch):
    monkeypatch.chdir(store)
    _fit_and_reproduce(store, store_uri, DEEPSURV, capsys)


def test_reproduce_gradient_boosting_run(store, store_uri, capsys, monkeypatch):
    monkeypatch.chdir(store)
    _fit_and_reproduce(store, store_uri, BOOSTING, capsys)


def test_reproduce_a_run_without_config_exits_2(store_uri, capsys):
    from lightsaber.tracking import tracked_run

    with tracked_run("plain", tracking_uri=store_uri) as run:
        run.log_params({"a": 1})
    assert main(["reproduce", run.run_id, "--tracking-uri", store_uri]) == 2
    assert "config.json" in capsys.readouterr().err


@pytest.mark.parametrize("run_id", ["0123456789abcdef0123456789abcdef"])
def test_reproduce_unknown_run_exits_2(store_uri, capsys, run_id):
    assert main(["reproduce", run_id, "--tracking-uri", store_uri]) == 2
    assert "no such run" in capsys.readouterr().err


# ---------------------------------------------------------------------- changed data
def _csv_experiment(folder):
    """A classifier config reading ``static.csv`` (the sample cohort, 1,000 patients)."""
    cohort = ls.datasets.load_sample_mortality(n_patients=1000)
    static = cohort.static.copy()
    static.insert(0, "patient_id", cohort.ids)
    static["died"] = cohort.targets[cohort.label].to_numpy()
    static.to_csv(folder / "static.csv", index=False)
    config = {
        "data": {"static": "static.csv", "id": "patient_id", "label": "died"},
        "split": {"val": 0.2, "test": 0.2, "stratify": "label", "seed": 1},
        "model": {"_target_": "sklearn.linear_model.LogisticRegression", "max_iter": 500},
        "metrics": ["auc_roc", "brier"],
        "tracking": {"experiment": "reproduce-data", "log_model": False},
    }
    return write_config(folder, config), static


def _fit(path, store_uri, capsys):
    assert main(["fit", str(path), "--no-progress", "--tracking-uri", store_uri]) == 0
    return capsys.readouterr().out.split("run ")[1].split()[0]


def test_reproduce_says_when_the_data_changed(store, store_uri, capsys, monkeypatch):
    from mlflow import MlflowClient

    from lightsaber.tracking.tags import DATA_FINGERPRINT as FINGERPRINT_TAG

    monkeypatch.chdir(store)
    path, static = _csv_experiment(store)
    run_id = _fit(path, store_uri, capsys)
    assert main(["reproduce", run_id, "--no-progress", "--tracking-uri", store_uri]) == 0
    out, err = capsys.readouterr()
    fingerprint = MlflowClient(store_uri).get_run(run_id).data.tags[FINGERPRINT_TAG]
    assert f"on the same data (fingerprint {fingerprint[:12]})" in out
    assert "warning" not in err

    rng = np.random.default_rng(0)
    static.assign(age=rng.permutation(static["age"].to_numpy())).to_csv(
        store / "static.csv", index=False)
    assert main(["reproduce", run_id, "--no-progress", "--tracking-uri", store_uri]) == 1
    err = capsys.readouterr().err
    runs = MlflowClient(store_uri).search_runs(
        [MlflowClient(store_uri).get_experiment_by_name("reproduce-data").experiment_id],
        order_by=["attributes.start_time DESC"], max_results=1)
    now = runs[0].data.tags[FINGERPRINT_TAG]
    assert now != fingerprint
    warning = (f"lightsaber: warning: the data changed since run {run_id}: data fingerprint "
               f"{fingerprint[:12]} then, {now[:12]} now")
    assert warning in err
    failure = err.split("lightsaber: run failed: ")[1]
    assert f"did not reproduce run {run_id}" in failure and "the data changed" in failure
    assert "test_auc_roc" not in failure and "auc_roc:" in failure


def test_reproduce_says_when_the_original_run_has_no_fingerprint(store, store_uri, capsys,
                                                                 monkeypatch):
    from mlflow import MlflowClient

    from lightsaber.tracking.tags import DATA_FINGERPRINT as FINGERPRINT_TAG

    monkeypatch.chdir(store)
    path, _ = _csv_experiment(store)
    run_id = _fit(path, store_uri, capsys)
    MlflowClient(store_uri).delete_tag(run_id, FINGERPRINT_TAG)  # as for a run of an old version
    assert main(["reproduce", run_id, "--no-progress", "--tracking-uri", store_uri]) == 0
    out, err = capsys.readouterr()
    assert f"run {run_id} has no data fingerprint" in err and "cannot be told" in err
    assert "test metrics identical" in out and "same data" not in out
