from __future__ import annotations

import subprocess
import sys

import pytest

from lightsaber.cli import main
from tests.conftest import REPO


def test_demo_data_stage_on_the_committed_sample(capsys):
    assert main(["demo", "--no-progress", "--data-only"]) == 0
    out = capsys.readouterr().out
    assert "2000 patients" in out
    assert "train  1400 patients" in out and "sequences (300, 48, 10)" in out
    assert "P1" not in out  # sample ids look like P100123: none printed


@pytest.mark.slow
def test_demo_fits_evaluates_and_tracks(capsys, tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["demo", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "GRU over hourly sequences: test AUC-ROC" in out
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("lightsaber-demo").experiment_id])
    assert [r.info.status for r in runs] == ["FINISHED", "FINISHED"]
    assert all(r.data.metrics["test_auc_roc"] > 0.7 for r in runs)


def test_bad_input_exits_2_with_one_line(capsys):
    assert main(["demo", "--patients", "0", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lightsaber: error: n_patients must be a positive integer")
    assert "Traceback" not in err


def test_module_entry_point_and_help():
    result = subprocess.run([sys.executable, "-m", "lightsaber", "demo", "--help"],
                            capture_output=True, text=True, cwd=REPO, check=True)
    assert "synthetic in-hospital-mortality" in " ".join(result.stdout.split())
