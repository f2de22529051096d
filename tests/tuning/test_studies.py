"""Studies end to end on a sqlite store: failures, designs, analysis, refit, MLflow layout."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lightsaber.tracking.lifecycle import _client
from lightsaber.tuning import Choice, LogUniform, TuningError, tune
from tests.tuning.helpers import FlakyClassifier, fast_model, small_cohort, small_splits


@pytest.fixture(scope="module")
def data():
    cohort = small_cohort()
    return cohort, small_splits(cohort)


def _children(uri: str, parent: str) -> list:
    client = _client(uri)
    return client.search_runs(
        [client.get_run(parent).info.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent}' and "
                      "tags.`lightsaber.role` = 'trial'")


def test_failing_and_diverging_trials_are_recorded_and_the_study_completes(data, store_uri):
    cohort, splits = data
    space = {"mode": Choice(["ok", "raise", "nan", "oom"]), "C": Choice([0.1, 1.0])}
    result = tune(FlakyClassifier(), cohort, splits, space, algorithm="grid", max_trials=8,
                  tracking_uri=store_uri, progress=False, refit=True)
    trials = result.trials.set_index("number")
    assert len(trials) == 8
    expected = {"ok": None, "raise": "exception", "nan": "diverged", "oom": "out_of_memory"}
    for _, row in trials.iterrows():
        want = expected[row["mode"]]
        assert row["status"] == ("ok" if want is None else "failed")
        assert row["error_class"] == want or (want is None and row["error_class"] is None)
        assert math.isnan(row["value"]) == (want is not None)
    assert result.best_params["mode"] == "ok"
    children = {r.data.tags["lightsaber.trial"]: r for r in _children(store_uri, result.run_id)}
    assert len(children) == 8
    for number, run in children.items():
        mode = trials.loc[int(number), "mode"]
        if expected[mode] is None:
            assert run.info.status == "FINISHED" and "val_auc_roc" in run.data.metrics
        else:
            assert run.info.status == "FAILED"
            assert run.data.tags["lightsaber.trial.error_class"] == expected[mode]
            assert run.data.tags["lightsaber.trial.traceback"]
    assert "injected failure" in children[str(trials.index[trials["mode"] == "raise"][0])
                                          ].data.tags["lightsaber.trial.traceback"]
    # the refit best configuration is evaluated once on test
    assert set(result.test_metrics) >= {"auc_roc", "brier"}
    parent = _client(store_uri).get_run(result.run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["n_failed"] == 6
    assert parent.data.metrics["test_auc_roc"] == pytest.approx(result.test_metrics["auc_roc"])


def test_trials_never_see_the_test_split(data, store_uri, monkeypatch):
    import lightsaber.training.fit as fit_module

    cohort, splits = data
    seen = []
    real = fit_module.fit

    def spy(model, cohort, splits, **kwargs):
        seen.append((sorted(splits.indices), kwargs.get("track", True)))
        return real(model, cohort, splits, **kwargs)

    monkeypatch.setattr(fit_module, "fit", spy)
    tune(fast_model(), cohort, splits, {"C": LogUniform(0.01, 10)}, algorithm="random",
         max_trials=3, tracking_uri=store_uri, progress=False)
    trial_calls, refit_calls = seen[:-1], seen[-1:]
    assert trial_calls == [(["train", "val"], False)] * 3
    assert refit_calls == [(["test", "train", "val"], True)]


def test_ofat_design_and_ablation_table(data, store_uri):
    cohort, splits = data
    space = {"C": Choice([1.0, 0.001, 100.0]), "fit_intercept": Choice([True, False])}
    result = tune(fast_model(), cohort, splits, space, algorithm="ofat",
                  baseline={"C": 1.0, "fit_intercept": True}, tracking_uri=store_uri,
                  progress=False, refit=False)
    assert len(result.trials) == 4  # baseline + 2 levels of C + 1 of fit_intercept
    table = result.ablation.set_index(["factor", "level"])
    assert sorted(table.index.tolist(), key=str) == sorted(
        [("C", 0.001), ("C", 100.0), ("fit_intercept", False)], key=str)
    base = result.trials.loc[(result.trials["C"] == 1.0) & result.trials["fit_intercept"],
                             "value"].item()
    low_c = result.trials.loc[result.trials["C"] == 0.001, "value"].item()
    row = table.loc[("C", 0.001)]
    assert row["delta"] == pytest.approx(low_c - base)
    assert row["n_pairs"] == 1 and row["ci_low"] <= row["delta"] <= row["ci_high"]
    client = _client(store_uri)
    artifacts = {a.path for a in client.list_artifacts(result.run_id, "analysis")}
    assert {"analysis/trials.csv", "analysis/ablation.csv", "analysis/importance.csv",
            "analysis/history.csv", "analysis/history.png", "analysis/parameters.png",
            "analysis/importance.png"} <= artifacts
    assert {a.path for a in client.list_artifacts(result.run_id)} >= {
        "analysis", "analysis/best_config.json", "study"} - {"analysis/best_config.json"}


def test_factorial_design_main_effects(data, store_uri):
    cohort, splits = data
    space = {"C": Choice([1.0, 0.001]), "fit_intercept": Choice([True, False]),
             "tol": Choice([1e-4, 1e-3])}
    result = tune(fast_model(), cohort, splits, space, algorithm="factorial", max_trials=8,
                  tracking_uri=store_uri, progress=False, refit=False)
    assert len(result.trials) == 8
    table = result.ablation.set_index("factor")
    assert (table["n_pairs"] == 4).all()
    ok = result.trials
    effect = (ok.loc[ok["C"] == 0.001, "value"].mean() - ok.loc[ok["C"] == 1.0, "value"].mean())
    assert table.loc["C", "delta"] == pytest.approx(effect)
    assert len(result.history) == 8 and result.history["best_so_far"].is_monotonic_increasing


def test_conditional_space_sets_only_the_chosen_branch(data, store_uri):
    cohort, splits = data
    space = {"solver": {"choice": [
        {"solver": "lbfgs", "C": {"loguniform": [0.01, 10]}},
        {"solver": "saga", "l1_ratio": {"uniform": [0, 1]},
         "max_iter": 2000}]}}
    result = tune(fast_model(), cohort, splits, space, algorithm="random", max_trials=6,
                  seed=4, tracking_uri=store_uri, progress=False, refit=False)
    for _, row in result.trials.iterrows():
        assert row["status"] == "ok", row["error_class"]
        if row["solver"] == "lbfgs":
            assert not np.isnan(row["C"]) and np.isnan(row["l1_ratio"])
        else:
            assert 0 <= row["l1_ratio"] <= 1 and np.isnan(row["C"])
    assert set(result.trials["solver"]) == {"lbfgs", "saga"}


def test_design_larger_than_budget_is_refused(data, store_uri):
    cohort, splits = data
    with pytest.raises(TuningError, match="max_trials=12"):
        tune(fast_model(), cohort, splits, {"C": {"intuniform": [1, 12]}}, algorithm="grid",
             max_trials=5, tracking_uri=store_uri, progress=False)
    with pytest.raises(TuningError, match="survival metric"):
        tune(fast_model(), cohort, splits, {"C": LogUniform(0.1, 1)}, metric="c_index",
             tracking_uri=store_uri, progress=False)


def test_net_trials_log_per_epoch_curves_and_the_bar_shows_the_best(data, store_uri, capsys):
    from lightsaber.models import MLP, ClassifierNet

    cohort, splits = data
    result = tune(ClassifierNet(MLP, max_epochs=3), cohort, splits,
                  {"lr": Choice([1e-3, 1e-2])}, algorithm="grid", max_trials=2,
                  tracking_uri=store_uri, progress=True, refit=False)
    assert (result.trials["status"] == "ok").all(), result.trials["error_class"].tolist()
    client = _client(store_uri)
    for run_id in result.trials["run_id"]:
        history = client.get_metric_history(run_id, "train_loss")
        assert [m.step for m in history] == [1, 2, 3]
        assert len(client.get_metric_history(run_id, "valid_loss")) == 3
    err = capsys.readouterr().err
    assert "2/2" in err and f"best val_auc_roc={result.best_value:.4f}" in err
