"""A study never returns stale or empty results silently (issue 15, items 3 and 4).

* Extending a study so that its best trial changes refits the new best (the refit's tags and
  the parent's ``lightsaber.refit_run_id`` name it; the test metrics are those of a fresh fit);
  resuming again without a change reuses that refit.
* A search-space key that is not a model parameter fails before trial 0, with a did-you-mean.
* A study whose every trial failed raises, with the first error, and its parent run is FAILED.
* ``repr`` / ``_repr_html_`` of a result are short summaries.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import lightsaber as ls
from lightsaber.config.search import check_space
from lightsaber.exceptions import ConfigError
from lightsaber.tracking.lifecycle import _client
from lightsaber.tuning import Choice, LogUniform, SpaceKeyError, StudyResult, TuningError, tune
from lightsaber.tuning.study import check_space_keys
from tests.tuning.helpers import FlakyClassifier, fast_model, small_cohort, small_splits

SPACE = {"C": LogUniform(1e-4, 100.0), "fit_intercept": Choice([True, False]),
         "class_weight": Choice([None, "balanced"])}


@pytest.fixture(scope="module")
def data():
    cohort = small_cohort()
    return cohort, small_splits(cohort)


def _refits(uri: str, parent: str) -> list:
    client = _client(uri)
    return client.search_runs(
        [client.get_run(parent).info.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent}' and "
                      "tags.`lightsaber.role` = 'refit'")


def test_extending_a_study_refits_the_new_best_and_says_which_refit_is_current(data,
                                                                               store_uri):
    cohort, splits = data
    kwargs = {"algorithm": "random", "seed": 0, "study_name": "extend", "progress": False,
              "tracking_uri": store_uri}
    first = tune(fast_model(), cohort, splits, SPACE, max_trials=2, **kwargs)
    second = tune(fast_model(), cohort, splits, SPACE, max_trials=6, **kwargs)
    assert second.run_id == first.run_id  # resumed
    assert second.best_trial != first.best_trial, "the extension must change the best trial"
    assert second.refit_run_id != first.refit_run_id

    fresh = ls.fit(fast_model().set_params(**second.best_params), cohort, splits, track=False,
                   progress=False)
    assert second.test_metrics.keys() == fresh.metrics["test"].keys()
    for name, value in fresh.metrics["test"].items():
        assert second.test_metrics[name] == pytest.approx(value, rel=1e-9)

    client = _client(store_uri)
    refit = client.get_run(second.refit_run_id)
    assert refit.data.tags["lightsaber.best_trial"] == str(second.best_trial)
    assert refit.data.tags["lightsaber.best_trial.sample_hash"]
    parent = client.get_run(second.run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["lightsaber.refit_run_id"] == second.refit_run_id
    assert parent.data.metrics["test_auc_roc"] == pytest.approx(second.test_metrics["auc_roc"])
    old = client.get_run(first.refit_run_id)
    assert old.data.tags["lightsaber.refit.superseded_by"] == second.refit_run_id

    third = tune(fast_model(), cohort, splits, SPACE, max_trials=6, **kwargs)  # no change
    assert third.best_trial == second.best_trial
    assert third.refit_run_id == second.refit_run_id
    assert third.test_metrics == pytest.approx(second.test_metrics)
    assert len(_refits(store_uri, second.run_id)) == 2

    from lightsaber.reports import write_report

    page = write_report(store_uri.replace("sqlite:///", "").replace("mlflow.db", "r.html"),
                        runs=[second.run_id], tracking_uri=store_uri).read_text()
    assert page.count("Refit of the best") == 1 and page.count("Earlier refit (superseded)") == 1
    after = page[page.index("Refit of the best"):][:300]
    assert f'href="#run-{second.refit_run_id}"' in after
    assert f'href="#run-{first.refit_run_id}"' in page[page.index("Earlier refit"):][:300]

    text = repr(third)
    assert len(text) < 1000
    assert "extend" in text and f"{third.best_value:.4g}" in text and "6 ok, 0 failed" in text


@pytest.mark.parametrize(("model", "space", "named"), [
    (LogisticRegression(), {"C_": LogUniform(1e-2, 10)}, "did you mean 'C'?"),
    (LogisticRegression(), {"solver": Choice([{"solver": "lbfgs"},
                                              {"solver": "saga", "l1_ration": Choice([0.5])}])},
     "space.solver.options[1].l1_ration"),
    (make_pipeline(StandardScaler(), LogisticRegression()),
     {"logisticregresion__C": Choice([1.0])}, "did you mean 'logisticregression__C'?"),
])
def test_a_misspelt_key_fails_before_trial_0(data, store_uri, model, space, named):
    cohort, splits = data
    with pytest.raises(SpaceKeyError) as info:
        tune(model, cohort, splits, space, algorithm="random", max_trials=2,
             tracking_uri=store_uri, progress=False, study_name="misspelt")
    message = str(info.value)
    assert named in message and type(model).__name__ in message
    assert isinstance(info.value, TuningError) and isinstance(info.value, ValueError)
    client = _client(store_uri)
    experiments = client.search_experiments()
    assert not client.search_runs([e.experiment_id for e in experiments])  # nothing ran


def test_net_keys_are_checked_against_the_net_and_its_module():
    from lightsaber.models import MLP, ClassifierNet, SurvivalNet

    net = ClassifierNet(MLP, max_epochs=1)
    check_space_keys({"lr": LogUniform(1e-4, 1e-1), "module__hidden": Choice([[8], [16]]),
                      "module__dropout": Choice([0.0, 0.2]), "optimizer__momentum": 0.9,
                      "callbacks__print_log__floatfmt": ".3f",
                      "iterator_train__shuffle": True}, net)
    check_space_keys({"loss_options": Choice([{}]), "loss__sigma": Choice([0.1, 1.0])},
                     SurvivalNet(MLP, loss="deephit"))
    with pytest.raises(SpaceKeyError, match="'loss__sigma' is not an argument of loss "
                                            "cox_ph_loss"):
        check_space_keys({"loss__sigma": Choice([0.1, 1.0])}, SurvivalNet(MLP))
    check_space_keys({"loss": Choice(["deephit", "pmf"]), "loss__sigma": Choice([0.1, 1.0])},
                     SurvivalNet(MLP))  # the loss is tuned too: its options are not checked
    with pytest.raises(SpaceKeyError, match=r"'lr_' is not a parameter of ClassifierNet.*"
                                            r"did you mean 'lr'\?"):
        check_space_keys({"lr_": LogUniform(1e-4, 1e-1)}, net)
    with pytest.raises(SpaceKeyError, match=r"'module__hiden' is not an argument of MLP.*"
                                            r"module__hidden"):
        check_space_keys({"module__hiden": Choice([[8]])}, net)
    with pytest.raises(SpaceKeyError, match=r"did you mean 'module__hidden'\?"):
        check_space_keys({"modul__hidden": Choice([[8]])}, net)


def test_the_yaml_path_runs_the_same_key_check():
    space = {"solver": {"choice": [{"solver": "lbfgs"},
                                   {"solver": "saga", "l1_ration": {"uniform": [0, 1]}}]}}
    with pytest.raises(ConfigError) as info:
        check_space(space, LogisticRegression())
    assert info.value.path == "tuning.space.solver.options[1].l1_ration"
    assert "did you mean 'l1_ratio'?" in str(info.value)
    parsed = check_space({"C": {"loguniform": [0.01, 1.0]}}, LogisticRegression())
    assert parsed == {"C": LogUniform(0.01, 1.0)}


def test_a_study_whose_every_trial_failed_raises_and_its_parent_run_fails(data, store_uri):
    cohort, splits = data
    with pytest.raises(TuningError, match=r"no trial of study 'doomed' succeeded: 2 failed; "
                                          r"the first, trial 0, with error class 'exception': "
                                          r"RuntimeError: injected failure"):
        tune(FlakyClassifier(mode="raise"), cohort, splits, {"C": Choice([0.1, 1.0])},
             algorithm="grid", max_trials=2, tracking_uri=store_uri, progress=False,
             study_name="doomed")
    client = _client(store_uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()],
                              filter_string="tags.`lightsaber.role` = 'study'")
    assert len(runs) == 1
    parent = runs[0]
    assert parent.info.status == "FAILED"
    assert "injected failure" in parent.data.tags["lightsaber.study.failure"]
    assert parent.data.metrics["n_ok"] == 0
    assert not _refits(store_uri, parent.info.run_id)


def test_repr_and_html_are_short_and_escaped():
    study = StudyResult(
        trials=pd.DataFrame({"status": ["ok"] * 30 + ["failed"] * 10}),
        best_params={f"param_{i}": "<b>" + "x" * 200 for i in range(40)}, best_value=0.8125,
        run_id="a" * 32, test_metrics={f"metric_{i}": i / 7 for i in range(40)},
        metric="auc_roc", direction="higher", study_name="s" * 300, best_trial=7,
        refit_run_id="b" * 32)
    text = repr(study)
    assert len(text) < 1000
    assert "40 trials (30 ok, 10 failed)" in text and "0.8125 (trial 7)" in text
    page = study._repr_html_()
    assert "0.8125" in page and "<b>" not in page and "&lt;b&gt;" in page
    empty = StudyResult(trials=pd.DataFrame(), best_params={}, best_value=math.nan, run_id="r",
                        test_metrics={}, metric="c_index", direction="higher",
                        study_name="none")
    assert "0 trials (0 ok, 0 failed)" in repr(empty) and "nan" in repr(empty)
