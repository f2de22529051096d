"""The privacy scanner finds what was logged, and a cohort's run logs no identifier."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lightsaber as ls
from lightsaber.tracking import tracked_run
from tests.tracking.privacy import scan_tracking_store

NEEDLE = "SECRET-PATIENT-0007"


def test_scanner_finds_a_deliberately_logged_needle(store, store_uri):
    with tracked_run("leaky", tracking_uri=store_uri) as run:
        run.log_params({"note": f"first patient {NEEDLE}"})
        run.log_text(f"rows: {NEEDLE}\n", "debug/rows.txt")
    hits = scan_tracking_store([store], [NEEDLE, "SECRET-PATIENT-9999"])
    artifact = store / "mlruns" / "leaky" / run.run_id / "artifacts" / "debug" / "rows.txt"
    assert f"{store / 'mlflow.db'}: {NEEDLE}" in hits
    assert f"{artifact}: {NEEDLE}" in hits
    assert all(hit.endswith(NEEDLE) for hit in hits)  # the other needle is nowhere


def test_scanner_is_case_sensitive_and_reads_single_files(store, store_uri):
    with tracked_run("leaky", tracking_uri=store_uri) as run:
        run.set_tags({"who": NEEDLE})
    assert scan_tracking_store([store / "mlflow.db"], [NEEDLE]) == [
        f"{store / 'mlflow.db'}: {NEEDLE}"]
    assert scan_tracking_store([store / "mlflow.db"], [NEEDLE.lower()]) == []


def test_scanner_reads_sqlite_side_files_and_utf16(tmp_path):
    (tmp_path / "mlflow.db").write_bytes(b"SQLite format 3\x00")
    (tmp_path / "mlflow.db-wal").write_bytes(NEEDLE.encode("utf-16-le"))
    assert scan_tracking_store([tmp_path / "mlflow.db"], [NEEDLE]) == [
        f"{tmp_path / 'mlflow.db-wal'}: {NEEDLE}"]


def test_scanner_refuses_vacuous_scans(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        scan_tracking_store([tmp_path / "missing"], [NEEDLE])
    with pytest.raises(ValueError, match="No files"):
        scan_tracking_store([tmp_path], [NEEDLE])
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="Empty needle"):
        scan_tracking_store([tmp_path], [""])


def test_a_cohort_run_logs_no_identifier(store, store_uri, secret_ids):
    rng = np.random.default_rng(0)
    n = len(secret_ids)
    frame = pd.DataFrame({"pid": secret_ids, "age": rng.normal(60, 10, n),
                          "days": rng.exponential(100, n) + 1,
                          "died": (np.arange(n) % 3 == 0).astype(int)})
    cohort = ls.Cohort(frame, id="pid", label="died", duration="days", event="died")
    splits = cohort.split(val=0.2, test=0.2, stratify="label", seed=0)
    with tracked_run("clean", tracking_uri=store_uri) as run:
        run.log_params({"cohort": {"n_patients": cohort.n_patients}, "seed": 0})
        run.log_manifest(splits.manifest)
        run.log_config({"id": "pid", "label": "died"})
        run.log_environment()
        for epoch in range(3):
            run.log_metrics({"train_loss": 1.0 / (epoch + 1)}, step=epoch)
        run.log_split_metrics({"test": {"auc_roc": 0.7}})
    assert scan_tracking_store([store], ["SECRET-PATIENT", *secret_ids]) == []
    # ... while the scan did read the run: its manifest hash is in the store
    digest = splits.manifest["splits"]["train"]["ids_sha256"]
    assert scan_tracking_store([store], [digest])
