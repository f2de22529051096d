"""tracked_run / TrackedRun against a sqlite store: statuses, names, batching, artifacts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import lightsaber.tracking.runs as runs_module
from lightsaber.exceptions import TargetError
from lightsaber.tracking import TrackedRun, TrackingError, environment_info, tracked_run


def _client(uri):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _download_json(run: TrackedRun, artifact: str, dst: Path):
    local = run.client.download_artifacts(run.run_id, artifact, str(dst))
    text = Path(local).read_text()
    return json.loads(text), text


def _count_batches(monkeypatch, run: TrackedRun) -> list[dict]:
    """Record every client.log_batch call made for ``run``."""
    calls: list[dict] = []
    original = run.client.log_batch

    def counting(run_id, **kwargs):
        calls.append(kwargs)
        return original(run_id, **kwargs)

    monkeypatch.setattr(run.client, "log_batch", counting)
    return calls


# ---------------------------------------------------------------------- statuses
def test_success_finishes_the_run(store_uri):
    with tracked_run("exp", tracking_uri=store_uri, run_name="first",
                     tags={"task": "survival"}) as run:
        assert run.client.get_run(run.run_id).info.status == "RUNNING"
    info = _client(store_uri).get_run(run.run_id)
    assert info.info.status == "FINISHED" and info.info.end_time is not None
    assert info.info.run_name == "first" and info.data.tags["task"] == "survival"
    assert _client(store_uri).get_experiment(run.experiment_id).name == "exp"
    assert run.tracking_uri == store_uri


def test_exception_fails_the_run_with_error_tags_and_reraises(store_uri):
    error = ValueError("boom " + "x" * 2000)
    with pytest.raises(ValueError) as caught, tracked_run("exp", tracking_uri=store_uri) as run:
        run.log_metrics({"train_loss": 0.5}, step=0)  # held back, still sent on failure
        raise error
    assert caught.value is error
    logged = _client(store_uri).get_run(run.run_id)
    assert logged.info.status == "FAILED"
    assert logged.data.tags["error_class"] == "ValueError"
    assert logged.data.tags["error_message"] == str(error)[:1000]
    assert logged.data.metrics == {"train_loss": 0.5}


def test_error_class_of_a_project_error_is_qualified(store_uri):
    with pytest.raises(TargetError), tracked_run("exp", tracking_uri=store_uri) as run:
        raise TargetError("event column 'died' has values {2}")
    tags = _client(store_uri).get_run(run.run_id).data.tags
    assert tags["error_class"] == "lightsaber.exceptions.TargetError"


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
def test_interrupts_kill_the_run(store_uri, interrupt):
    with pytest.raises(interrupt), tracked_run("exp", tracking_uri=store_uri) as run:
        raise interrupt()
    logged = _client(store_uri).get_run(run.run_id)
    assert logged.info.status == "KILLED"
    assert "error_class" not in logged.data.tags


def test_no_run_is_left_running(store_uri):
    for body in (lambda: None, lambda: 1 / 0, lambda: (_ for _ in ()).throw(KeyboardInterrupt)):
        try:
            with tracked_run("exp", tracking_uri=store_uri):
                body()
        except (ZeroDivisionError, KeyboardInterrupt):
            pass
    client = _client(store_uri)
    statuses = sorted(r.info.status for r in client.search_runs(
        [client.get_experiment_by_name("exp").experiment_id]))
    assert statuses == ["FAILED", "FINISHED", "KILLED"]


def test_a_failure_to_send_metrics_at_the_end_fails_the_run(store_uri, monkeypatch):
    from mlflow.exceptions import MlflowException

    monkeypatch.setattr(runs_module, "FLUSH_SECONDS", 3600.0)
    with pytest.raises(TrackingError, match="Could not log metrics"):
        with tracked_run("exp", tracking_uri=store_uri) as run:
            run.log_metrics({"a": 1.0})
            original = run.client.log_batch

            def refuse(run_id, metrics=(), **kwargs):
                if metrics:
                    raise MlflowException("store is read-only")
                return original(run_id, **kwargs)

            monkeypatch.setattr(run.client, "log_batch", refuse)
    monkeypatch.undo()
    logged = _client(store_uri).get_run(run.run_id)
    assert logged.info.status == "FAILED"
    assert logged.data.tags["error_class"] == "lightsaber.exceptions.TrackingError"


def test_failure_to_close_does_not_mask_the_original_error(store_uri, monkeypatch):
    with pytest.raises(ZeroDivisionError) as caught:
        with tracked_run("exp", tracking_uri=store_uri) as run:
            def broken(*args, **kwargs):
                raise OSError("disk gone")

            monkeypatch.setattr(run.client, "set_terminated", broken)
            1 / 0  # noqa: B018
    assert any("not closed cleanly" in note for note in caught.value.__notes__)


def test_deleted_experiment_is_a_tracking_error(store_uri):
    client = _client(store_uri)
    client.delete_experiment(client.create_experiment("gone"))
    with pytest.raises(TrackingError, match="is deleted.*restore"):
        with tracked_run("gone", tracking_uri=store_uri):
            pass


def test_unreachable_server_is_a_tracking_error(monkeypatch):
    from tests.mlflow_fixtures import _free_port

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    with pytest.raises(TrackingError, match="Could not find or create experiment"):
        with tracked_run(tracking_uri=f"http://127.0.0.1:{_free_port()}"):
            pass


# ---------------------------------------------------------------------- where things go
def test_default_uri_and_experiment(store, monkeypatch):
    import mlflow

    monkeypatch.chdir(store)
    process_uri = mlflow.get_tracking_uri()
    with tracked_run() as run:
        assert mlflow.active_run() is None  # MLflow's global state is not used
    assert mlflow.get_tracking_uri() == process_uri
    assert run.tracking_uri == f"sqlite:///{(store / 'mlflow.db').as_posix()}"
    assert _client(run.tracking_uri).get_experiment(run.experiment_id).name == "lightsaber"


def test_artifacts_stay_next_to_the_database(store_uri, store, tmp_path_factory, monkeypatch):
    elsewhere = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(elsewhere)
    with tracked_run("a b/c", tracking_uri=store_uri) as run:
        run.log_text("hello", "notes/hello.txt")
    assert run.artifact_uri.startswith((store / "mlruns" / "a_b_c").as_uri())
    assert (store / "mlruns" / "a_b_c" / run.run_id / "artifacts" / "notes" / "hello.txt").is_file()
    assert list(elsewhere.iterdir()) == []


def test_nested_runs_are_independent(store_uri):
    with tracked_run("outer", tracking_uri=store_uri) as outer:
        with pytest.raises(RuntimeError), tracked_run("inner", tracking_uri=store_uri) as inner:
            raise RuntimeError("inner only")
        outer.log_metrics({"x": 1.0})
    client = _client(store_uri)
    assert client.get_run(inner.run_id).info.status == "FAILED"
    assert client.get_run(outer.run_id).info.status == "FINISHED"
    assert client.get_run(outer.run_id).data.metrics == {"x": 1.0}


def test_repr_hides_credentials(store_uri):
    run = TrackedRun(client=None, run_id="r1", experiment_id="7",
                     tracking_uri="https://alice:secret@mlflow.example.org")
    assert "secret" not in repr(run) and "r1" in repr(run)


# ---------------------------------------------------------------------- params
def test_params_are_flattened_truncated_and_sent_in_one_request(store_uri, monkeypatch):
    with tracked_run("exp", tracking_uri=store_uri) as run:
        calls = _count_batches(monkeypatch, run)
        run.log_params({"model": {"hidden": (64, 64), "dropout": None, "lr": np.float64(0.01)},
                        "note": "x" * 7000, **{f"p{i:03d}": i for i in range(150)}})
    assert len(calls) == 1  # MLflow splits it into requests of 100 itself
    params = _client(store_uri).get_run(run.run_id).data.params
    assert params["model.hidden"] == "(64, 64)" and params["model.lr"] == "0.01"
    assert "model.dropout" not in params
    assert len(params["note"]) == 6000 and params["note"].endswith("...")
    assert len(params) == 153


def test_empty_params_send_nothing(store_uri, monkeypatch):
    with tracked_run("exp", tracking_uri=store_uri) as run:
        calls = _count_batches(monkeypatch, run)
        run.log_params({"a": None, "b": {}})
        run.set_tags({})
    assert calls == []


def test_set_tags(store_uri):
    with tracked_run("exp", tracking_uri=store_uri) as run:
        run.set_tags({"stage": "tuning", "fold": 3})
    tags = _client(store_uri).get_run(run.run_id).data.tags
    assert tags["stage"] == "tuning" and tags["fold"] == "3"


def test_changing_a_param_is_a_tracking_error(store_uri):
    with tracked_run("exp", tracking_uri=store_uri) as run:
        run.log_params({"lr": 0.1})
        run.log_params({"lr": 0.1})  # the same value again is fine
        with pytest.raises(TrackingError, match="Could not log parameters"):
            run.log_params({"lr": 0.2})


# ---------------------------------------------------------------------- metrics
def test_non_finite_and_missing_metrics_are_skipped(store_uri, monkeypatch):
    with tracked_run("exp", tracking_uri=store_uri) as run:
        calls = _count_batches(monkeypatch, run)
        run.log_metrics({"nan": math.nan, "inf": math.inf, "ninf": -np.inf, "none": None})
        run._flush()
        assert calls == []  # nothing finite, nothing sent
        run.log_metrics({"ok": 1.0, "also_nan": np.float32("nan"), "np": np.float64(2.5)}, step=3)
    logged = _client(store_uri).get_run(run.run_id).data.metrics
    assert logged == {"ok": 1.0, "np": 2.5}


@pytest.mark.parametrize("bad", [{"x": "0.5"}, {"x": True}, {"x": np.ones(2)}, {"bad|key": 1.0},
                                 {"../up": 1.0}])
def test_bad_metrics_fail_at_the_call(store_uri, bad):
    with tracked_run("exp", tracking_uri=store_uri) as run:
        with pytest.raises(TrackingError):
            run.log_metrics(bad)


def test_epoch_metrics_are_batched_with_their_own_steps(store_uri, monkeypatch):
    monkeypatch.setattr(runs_module, "FLUSH_SECONDS", 3600.0)
    with tracked_run("exp", tracking_uri=store_uri) as run:
        calls = _count_batches(monkeypatch, run)
        for epoch in range(50):
            run.log_metrics({"train_loss": 1.0 / (epoch + 1), "valid_auc": 0.5 + epoch / 100},
                            step=epoch)
        assert calls == []  # held back: nothing has been due yet
    assert len(calls) == 1 and len(calls[0]["metrics"]) == 100
    history = _client(store_uri).get_metric_history(run.run_id, "train_loss")
    assert [m.step for m in history] == list(range(50))
    assert [m.value for m in history] == pytest.approx([1.0 / (e + 1) for e in range(50)])


def test_metrics_are_sent_when_due(store_uri, monkeypatch):
    monkeypatch.setattr(runs_module, "FLUSH_SECONDS", 0.0)
    with tracked_run("exp", tracking_uri=store_uri) as run:
        calls = _count_batches(monkeypatch, run)
        for epoch in range(3):
            run.log_metrics({"train_loss": 0.1, "valid_loss": 0.2}, step=epoch)
            assert len(calls) == epoch + 1  # one request per call when every call is due
            assert len(run.client.get_metric_history(run.run_id, "valid_loss")) == epoch + 1


def test_pending_metrics_are_capped(store_uri, monkeypatch):
    monkeypatch.setattr(runs_module, "FLUSH_SECONDS", 3600.0)
    monkeypatch.setattr(runs_module, "MAX_PENDING_METRICS", 10)
    with tracked_run("exp", tracking_uri=store_uri) as run:
        calls = _count_batches(monkeypatch, run)
        for step in range(5):
            run.log_metrics({"a": 1.0, "b": 2.0}, step=step)
        assert len(calls) == 1 and len(calls[0]["metrics"]) == 10


def test_split_metrics_are_named_split_metric_and_sent_at_once(store_uri, monkeypatch):
    monkeypatch.setattr(runs_module, "FLUSH_SECONDS", 3600.0)
    with tracked_run("exp", tracking_uri=store_uri) as run:
        run.log_split_metrics({"test": {"auc_roc": 0.8, "ibs": math.nan},
                               "val": {"c_index": np.float64(0.7)}})
        assert run.client.get_run(run.run_id).data.metrics == {"test_auc_roc": 0.8,
                                                               "val_c_index": 0.7}


# ---------------------------------------------------------------------- artifacts
def test_manifest_config_and_environment_read_back(store_uri, tmp_path_factory):
    import lightsaber as ls

    cohort = ls.datasets.load_sample_mortality(n_patients=200)
    manifest = cohort.split(val=0.15, test=0.15, stratify="label", seed=7).manifest
    config = {"model": {"hidden": [64, 64], "dropout": 0.2}, "data": Path("cohort.parquet"),
              "seed": np.int64(7)}
    with tracked_run("exp", tracking_uri=store_uri) as run:
        run.log_manifest(manifest)
        run.log_config(config)
        run.log_environment()
    dst = tmp_path_factory.mktemp("download")
    got, text = _download_json(run, "split_manifest.json", dst)
    assert got == json.loads(json.dumps(manifest))
    assert text == json.dumps(manifest, sort_keys=True, indent=2) + "\n"
    params = _client(store_uri).get_run(run.run_id).data.params
    for part, summary in manifest["splits"].items():
        assert params[f"split.{part}.n_patients"] == str(summary["n_patients"])
    got, _ = _download_json(run, "config.json", dst)
    assert got == {"data": "cohort.parquet", "model": {"dropout": 0.2, "hidden": [64, 64]},
                   "seed": 7}
    got, _ = _download_json(run, "environment.json", dst)
    assert got == environment_info()
    names = {a.path for a in run.client.list_artifacts(run.run_id)}
    assert names == {"split_manifest.json", "config.json", "environment.json"}


def test_log_dict_refuses_arrays_and_tables(store_uri):
    import pandas as pd

    with tracked_run("exp", tracking_uri=store_uri) as run:
        for value in (np.arange(3), pd.DataFrame({"pid": ["a"]})):
            with pytest.raises(TrackingError, match="row-level"):
                run.log_dict({"rows": value}, "rows.json")
        run.log_dict({"n": np.int32(3), "tags": {"b", "a"}, "nan": math.nan}, "ok.json")
    got = json.loads(Path(run.client.download_artifacts(run.run_id, "ok.json")).read_text())
    assert math.isnan(got.pop("nan"))  # written as NaN, as Python's json module does
    assert got == {"n": 3, "tags": ["a", "b"]}


def test_log_text_and_log_artifact(store_uri, tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    (src / "report.html").write_text("<p>ok</p>")
    folder = src / "plots"
    (folder / "sub").mkdir(parents=True)
    (folder / "km.svg").write_text("<svg/>")
    (folder / "sub" / "roc.svg").write_text("<svg/>")
    with tracked_run("exp", tracking_uri=store_uri) as run:
        run.log_text("profile", "profiler.txt")
        run.log_artifact(src / "report.html")
        run.log_artifact(str(src / "report.html"), "reports")
        run.log_artifact(folder, "figures")
        with pytest.raises(TrackingError, match="no such file"):
            run.log_artifact(src / "missing.txt")
        with pytest.raises(TrackingError, match="relative"):
            run.log_text("x", "../escape.txt")
    client = run.client

    def listing(path=None):
        return sorted(a.path for a in client.list_artifacts(run.run_id, path))

    assert listing() == ["figures", "profiler.txt", "report.html", "reports"]
    assert listing("reports") == ["reports/report.html"]
    assert listing("figures/plots") == ["figures/plots/km.svg", "figures/plots/sub"]
    assert Path(client.download_artifacts(run.run_id, "profiler.txt")).read_text() == "profile"
