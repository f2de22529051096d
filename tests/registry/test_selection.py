"""Which runs ``best_run`` / ``register_best`` compare: one split only, no reproduction or
tuning trial runs; and ``load_runs`` never reads nothing silently."""

from __future__ import annotations

import hashlib

import pytest
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

import lightsaber as ls
from lightsaber.cli import main
from lightsaber.data.fingerprint import cohort_fingerprint
from lightsaber.exceptions import MixedSplitsWarning, RegistryError
from lightsaber.reports import load_runs
from lightsaber.reports.runs import search_runs
from lightsaber.tracking import tracked_run
from lightsaber.tracking.model_registry import best_run, register_best
from lightsaber.tracking.runs import SPLIT_HASH_TAG, manifest_hash
from lightsaber.tracking.tags import DATA_FINGERPRINT as FINGERPRINT_TAG


def _manifest(seed: int) -> dict:
    return {"format": 1, "seed": seed, "splits": {"val": {"n_patients": 40, "ids_sha256": "ab"}}}


def _run(uri, tmp_path, value, *, seed=7, model=True, tags=None, experiment="pick"):
    """A finished run with ``val_auc_roc = value``, a split manifest and (optionally) a model
    folder (``best_run`` only looks for ``model/MLmodel``)."""
    with tracked_run(experiment, tracking_uri=uri, tags=tags) as run:
        run.log_manifest(_manifest(seed))
        run.log_split_metrics({"val": {"auc_roc": value}})
        if model:
            folder = tmp_path / run.run_id / "model"
            folder.mkdir(parents=True)
            (folder / "MLmodel").write_text("flavors: {}\n")
            run.log_artifact(folder)
    return run.run_id


def test_log_manifest_tags_the_sha256_of_the_manifest_artifact(store_uri, tmp_path):
    run_id = _run(store_uri, tmp_path, 0.7, model=False)
    client = MlflowClient(store_uri)
    text = client.download_artifacts(run_id, "split_manifest.json", str(tmp_path))
    tag = client.get_run(run_id).data.tags[SPLIT_HASH_TAG]
    with open(text, "rb") as handle:
        assert tag == hashlib.sha256(handle.read()).hexdigest() == manifest_hash(_manifest(7))


def test_runs_on_different_splits_are_refused_unless_allowed(store_uri, tmp_path):
    on_3 = _run(store_uri, tmp_path, 0.80, seed=3)
    best = _run(store_uri, tmp_path, 0.90, seed=7)
    _run(store_uri, tmp_path, 0.85, seed=7)
    with pytest.raises(RegistryError) as refused:
        best_run("pick", "auc_roc", tracking_uri=store_uri)
    message = str(refused.value)
    assert "3 candidate run(s)" in message and "2 different splits" in message
    assert f"2 run(s) on {manifest_hash(_manifest(7))[:12]}" in message
    assert f"1 run(s) on {manifest_hash(_manifest(3))[:12]} ({on_3})" in message
    assert "allow_mixed_splits=True" in message and "--allow-mixed-splits" in message
    with pytest.warns(MixedSplitsWarning, match="compared anyway"):
        assert best_run("pick", "auc_roc", tracking_uri=store_uri,
                        allow_mixed_splits=True) == (best, 0.90)


def test_runs_without_a_model_or_a_hash_count_as_they_should(store_uri, tmp_path):
    best = _run(store_uri, tmp_path, 0.90, seed=7)
    _run(store_uri, tmp_path, 0.95, seed=3, model=False)  # cannot be picked: no conflict
    assert best_run("pick", "auc_roc", tracking_uri=store_uri) == (best, 0.90)
    with tracked_run("pick", tracking_uri=store_uri) as old:  # no manifest: split unknown
        old.log_split_metrics({"val": {"auc_roc": 0.5}})
        folder = tmp_path / "old" / "model"
        folder.mkdir(parents=True)
        (folder / "MLmodel").write_text("flavors: {}\n")
        old.log_artifact(folder)
    with pytest.raises(RegistryError, match="no split hash"):
        best_run("pick", "auc_roc", tracking_uri=store_uri)


def test_reproduction_trial_and_study_runs_are_not_candidates(store_uri, tmp_path):
    plain = _run(store_uri, tmp_path, 0.70)
    _run(store_uri, tmp_path, 0.99, tags={"lightsaber.reproduces": plain})
    study = _run(store_uri, tmp_path, 0.98, seed=3, tags={"lightsaber.role": "study"})
    _run(store_uri, tmp_path, 0.97, seed=3,  # another split too: still no conflict
         tags={"lightsaber.role": "trial", "mlflow.parentRunId": study})
    refit = _run(store_uri, tmp_path, 0.80,
                 tags={"lightsaber.role": "refit", "mlflow.parentRunId": study})
    assert best_run("pick", "auc_roc", tracking_uri=store_uri) == (refit, 0.80)


def test_register_best_on_real_fits_with_seeds_3_and_7(store_uri, capsys):
    cohort = ls.datasets.load_sample_mortality(n_patients=300)
    fits = {seed: ls.fit(LogisticRegression(max_iter=500), cohort,
                         cohort.split(val=0.3, test=0.2, stratify="label", seed=seed),
                         experiment="seeds", tracking_uri=store_uri, progress=False)
            for seed in (3, 7)}
    client = MlflowClient(store_uri)
    tags = {seed: client.get_run(run.run_id).data.tags for seed, run in fits.items()}
    assert tags[3][SPLIT_HASH_TAG] != tags[7][SPLIT_HASH_TAG]
    assert tags[3][FINGERPRINT_TAG] == tags[7][FINGERPRINT_TAG] == cohort_fingerprint(cohort)
    with pytest.raises(RegistryError, match="2 different splits"):
        register_best("m", experiment="seeds", metric="auc_roc", tracking_uri=store_uri)
    args = ["register", "--name", "m", "--experiment", "seeds", "--metric", "auc_roc",
            "--tracking-uri", store_uri]
    assert main(args) == 1
    assert "--allow-mixed-splits" in capsys.readouterr().err
    assert main([*args, "--allow-mixed-splits"]) == 0
    out, err = capsys.readouterr()
    assert "registered models:/m/1" in out
    assert err.startswith("lightsaber: warning: the 2 candidate run(s)")
    assert "compared anyway" in err
    version = client.get_model_version("m", "1")
    best = max(fits.values(), key=lambda r: r.metrics["val"]["auc_roc"])
    assert version.run_id == best.run_id
    assert version.tags[SPLIT_HASH_TAG] == client.get_run(best.run_id).data.tags[SPLIT_HASH_TAG]


def test_load_runs_needs_an_experiment_or_runs_and_suggests_names(store_uri, tmp_path):
    _run(store_uri, tmp_path, 0.7, model=False, experiment="mortality-gru")
    with pytest.raises(RegistryError) as neither:
        load_runs(tracking_uri=store_uri)
    message = str(neither.value)
    assert "`experiment=`" in message and "`runs=`" in message
    assert "(2): ['Default', 'mortality-gru']" in message
    with pytest.raises(RegistryError, match="neither"):
        search_runs([], runs=[], tracking_uri=store_uri)
    with pytest.raises(RegistryError, match="Did you mean 'mortality-gru'"):
        load_runs("mortality_gru", tracking_uri=store_uri)
    with pytest.raises(RegistryError, match="Did you mean 'mortality-gru'"):
        best_run("mortality-gr", "auc_roc", tracking_uri=store_uri)
    assert len(load_runs("mortality-gru", tracking_uri=store_uri)) == 1
