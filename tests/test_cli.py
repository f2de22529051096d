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


COMMANDS = ["fit", "validate", "evaluate", "tune", "predict", "report", "register", "reproduce",
            "init", "demo"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert f"lightsaber {command}" in capsys.readouterr().out


def test_init_then_fit_in_an_empty_directory(tmp_path, monkeypatch, capsys):
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["init"]) == 0
    assert main(["fit", "experiment.yaml", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "fitted LogisticRegression (classification), run" in out and "auc_roc" in out
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("mortality").experiment_id])
    assert [r.info.status for r in runs] == ["FINISHED"]
    assert runs[0].data.metrics["test_auc_roc"] > 0.7
    # evaluate the logged model on the run's own config
    assert main(["evaluate", "--run", runs[0].info.run_id, "--no-progress"]) == 0
    evaluated = capsys.readouterr().out
    assert f"auc_roc {runs[0].data.metrics['test_auc_roc']:.4f}" in evaluated
    assert main(["init"]) == 2  # refuses to overwrite
    assert "already exists" in capsys.readouterr().err


def test_lightsaber_warnings_print_as_one_line_and_are_tagged(tmp_path, monkeypatch, capsys):
    import warnings

    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["init"]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside pytest: shown, not raised
        assert main(["fit", "experiment.yaml", "--no-progress", "trainer.early_stopping=5",
                     "tracking.log_model=false"]) == 0
    err = capsys.readouterr().err
    assert "lightsaber: warning: early_stopping=5 has no effect on LogisticRegression" in err
    assert "sys.exit(main())" not in err and "IgnoredArgumentWarning" not in err
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = client.search_runs([client.get_experiment_by_name("mortality").experiment_id])[0]
    assert "early_stopping=5" in run.data.tags["lightsaber.warning.ignored_argument"]


@pytest.mark.slow
def test_fit_report_register_predict_from_the_command_line(tmp_path, monkeypatch, capsys):
    import pandas as pd

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["init"]) == 0
    assert main(["fit", "experiment.yaml", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["report", "--experiment", "mortality"]) == 0
    assert "report written to" in capsys.readouterr().out
    assert "<html" in (tmp_path / "report.html").read_text()[:500].lower()
    assert main(["register", "--name", "mortality", "--experiment", "mortality",
                 "--metric", "auc_roc", "--alias", "champion"]) == 0
    assert "models:/mortality/1" in capsys.readouterr().out
    static = pd.read_csv("data/mortality_static.csv").head(25).drop(
        columns=["died_in_hospital", "los_days"])
    static.to_csv("static_only.csv", index=False)
    # The model flattens 48 h of vitals: without them, a clear error (exit 2) and no file.
    assert main(["predict", "--model", "models:/mortality@champion", "--data",
                 "static_only.csv", "--out", "preds.csv"]) == 2
    err = capsys.readouterr().err
    assert "missing column(s)" in err and "heart_rate" in err and "Traceback" not in err
    assert not (tmp_path / "preds.csv").exists()
    # The long format: one row per measurement, static columns repeated.
    vitals = pd.read_parquet("data/mortality_vitals.parquet")
    static.merge(vitals, on="patient_id").to_csv("new_cohort.csv", index=False)
    assert main(["predict", "--model", "models:/mortality@champion", "--data",
                 "new_cohort.csv", "--out", "preds.parquet"]) == 0
    predictions = pd.read_parquet("preds.parquet")
    assert len(predictions) == 25 and predictions["probability"].between(0, 1).all()


def test_missing_optional_package_exits_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "lightsaber.serving", None)
    code = main(["predict", "--model", "runs:/x/model", "--data", str(tmp_path / "in.csv"),
                 "--out", "o.csv"])
    assert code == 2
    assert "not available" in capsys.readouterr().err


@pytest.mark.parametrize(("times", "says"), [(["-123.456"], "times[0] is negative"),
                                            (["5", "nan"], "times[1] is not finite")])
def test_predict_bad_times_exit_2_before_any_model_is_loaded(tmp_path, capsys, times, says):
    code = main(["predict", "--model", "runs:/no-such-run/model", "--data",
                 str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.csv"), "--times", *times])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("lightsaber: error: times must be a non-empty list of finite")
    assert says in err and "123.456" not in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


def test_run_failure_exits_1_with_one_line(tmp_path, monkeypatch, capsys, static_frame,
                                           target_frame):
    import yaml

    monkeypatch.chdir(tmp_path)
    static_frame.to_csv("static.csv", index=False)
    target_frame.to_csv("targets.csv", index=False)
    config = {"data": {"static": "static.csv", "targets": "targets.csv", "id": "pid",
                       "label": "label"},
              "split": {"val": 0.25, "test": 0.25, "seed": 1},
              "model": {"_target_": "sklearn.linear_model.LogisticRegression"},
              "metrics": [{"name": "broken", "_target_": "math.sqrt"}],
              "tracking": {"enabled": False}}
    (tmp_path / "x.yaml").write_text(yaml.safe_dump(config))
    assert main(["fit", "x.yaml", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lightsaber: run failed: TypeError") and "Traceback" not in err
    with pytest.raises(TypeError):
        main(["--debug", "fit", "x.yaml", "--no-progress"])


def test_overrides_after_options_and_no_config(capsys):
    assert main(["validate", "--no-progress", "a.b=1"]) == 2
    assert "no config file given" in capsys.readouterr().err


def test_register_without_a_run_or_a_selection_is_a_usage_error(capsys):
    assert main(["register", "--name", "mortality", "--experiment", "mortality"]) == 2
    err = capsys.readouterr().err
    assert "--run RUN_ID, or --experiment and --metric" in err and "Traceback" not in err


def test_evaluate_uses_the_runs_evaluation_grid(tmp_path, monkeypatch, capsys):
    import yaml
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = {"data": {"_target_": "lightsaber.data.datasets.load_sksurv", "name": "whas500"},
              "model": {"_target_": "sksurv.linear_model.CoxPHSurvivalAnalysis", "alpha": 0.1},
              "evaluation": {"times": [180.0, 365.0, 730.0]}, "metrics": ["ibs"],
              "tracking": {"experiment": "grid", "log_model": True}}
    (tmp_path / "experiment.yaml").write_text(yaml.safe_dump(config))
    assert main(["fit", "experiment.yaml", "--no-progress"]) == 0
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = client.search_runs([client.get_experiment_by_name("grid").experiment_id])[0]
    capsys.readouterr()
    assert main(["evaluate", "--run", run.info.run_id, "--no-progress"]) == 0
    assert f"ibs {run.data.metrics['test_ibs']:.4f}" in capsys.readouterr().out
    # an unknown split is a usage error (exit 2), found before the model is loaded
    assert main(["evaluate", "--run", run.info.run_id, "--no-progress", "--split", "tset"]) == 2
    err = capsys.readouterr().err
    assert "lightsaber: error: split 'tset' is empty or unknown; have ['train'" in err
