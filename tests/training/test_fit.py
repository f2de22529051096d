"""ls.fit end to end: every model family, early stopping, honest search, tracking read-back,
failed runs, pyfunc round trip, and the privacy scan of the tracking store."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sksurv.ensemble import RandomSurvivalForest
from sksurv.linear_model import CoxPHSurvivalAnalysis

import lightsaber as ls
from lightsaber.exceptions import FitError
from lightsaber.models import MLP, ClassifierNet, SequenceNet, SurvivalNet
from lightsaber.training.fit import fit
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def sample():
    cohort = ls.datasets.load_sample_mortality()
    return cohort, cohort.split(val=0.15, test=0.15, stratify="label", seed=7)


@pytest.fixture
def store(store, monkeypatch):
    """A fresh sqlite store (tests/mlflow_fixtures.py) in the working directory."""
    monkeypatch.chdir(store)
    return store


def _client(run):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=run.tracking_uri)


MODELS = {
    "logistic": (lambda: LogisticRegression(max_iter=2000), "classification"),
    "hist_gb": (lambda: HistGradientBoostingClassifier(max_iter=100, random_state=0),
                "classification"),
    "coxph": (lambda: CoxPHSurvivalAnalysis(alpha=0.1), "survival"),
    "rsf": (lambda: RandomSurvivalForest(n_estimators=30, min_samples_leaf=15,
                                         random_state=0), "survival"),
    "mlp_classifier": (lambda: ClassifierNet(MLP, max_epochs=40, module__dropout=0.2),
                       "classification"),
    "mlp_cox": (lambda: SurvivalNet(MLP, max_epochs=40, lr=1e-3), "survival"),
    "gru": (lambda: ClassifierNet(SequenceNet, max_epochs=8, module__hidden_size=16),
            "classification"),
}


#: What each family ignores of the one configuration given to all of them (warned and tagged).
IGNORES = {"logistic": {"early_stopping", "sequence"}, "hist_gb": {"sequence"},
           "coxph": {"early_stopping", "sequence"}, "rsf": {"early_stopping", "sequence"},
           "mlp_classifier": {"sequence"}, "mlp_cox": {"sequence"}, "gru": set()}


@pytest.mark.parametrize("name", list(MODELS))
def test_every_family_trains_tracks_and_reads_back(name, sample, store):
    from lightsaber.exceptions import IgnoredArgumentWarning

    cohort, splits = sample
    make, task = MODELS[name]
    pre = ls.Preprocessor(sequence=ls.SequencePreprocessor(grid=(0, 48, 2)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", IgnoredArgumentWarning)
        run = fit(make(), cohort, splits, early_stopping=5, preprocessor=pre, progress=False,
                  experiment="families", log_model=name in ("logistic", "mlp_cox", "gru"))
    ignored = {("early_stopping" if "early_stopping=" in str(w.message) else "sequence")
               for w in caught if issubclass(w.category, IgnoredArgumentWarning)}
    assert ignored == IGNORES[name]
    tag = _client(run).get_run(run.run_id).data.tags.get("lightsaber.warning.ignored_argument")
    assert (tag is not None) == bool(IGNORES[name])
    assert run.task == task
    headline = "auc_roc" if task == "classification" else "c_index"
    assert run.metrics["test"][headline] > 0.65
    logged = _client(run).get_run(run.run_id)
    assert logged.info.status == "FINISHED"
    for split, values in run.metrics.items():
        for metric, value in values.items():
            assert logged.data.metrics[f"{split}_{metric}"] == pytest.approx(value, rel=1e-12)
    if hasattr(run.model, "history"):
        stopped = len(run.history)
        assert stopped <= run.model.max_epochs
        curve = _client(run).get_metric_history(run.run_id, "valid_loss")
        assert len(curve) == stopped


def test_pyfunc_model_round_trip(sample, store):
    import mlflow.pyfunc

    cohort, splits = sample
    for model in (LogisticRegression(max_iter=2000),
                  ClassifierNet(SequenceNet, max_epochs=3, module__hidden_size=8)):
        sequences = isinstance(model, ClassifierNet)
        pre = ls.Preprocessor(sequence=ls.SequencePreprocessor(grid=(0, 48, 2))
                              if sequences else None)
        run = fit(model, cohort, splits, preprocessor=pre, progress=False)
        loaded = mlflow.pyfunc.load_model(f"runs:/{run.run_id}/model")
        test = cohort.subset(splits.test[:25])
        served = loaded.predict(run.pipeline.input_frame(test))
        np.testing.assert_allclose(served.iloc[:, 0].to_numpy(), run.pipeline.predict(test),
                                   rtol=1e-6)
        assert loaded.metadata.signature is not None
        from mlflow.artifacts import download_artifacts
        from mlflow.models import Model

        local = download_artifacts(f"runs:/{run.run_id}/model")
        example = Model.load(local).load_input_example(local)
        for pid in cohort.ids:
            assert pid not in example.astype(str).to_numpy()


REAL = {
    # name: (loader, model factory, headline metric, threshold)
    "logistic": ("support2", lambda: LogisticRegression(max_iter=3000), "auc_roc", 0.7),
    "hist_gb": ("support2", lambda: HistGradientBoostingClassifier(max_iter=60, random_state=0),
                "auc_roc",
                0.7),
    "mlp_classifier": ("support2", lambda: ClassifierNet(MLP, max_epochs=40,
                                                         module__dropout=0.2), "auc_roc", 0.7),
    "coxph": ("whas", lambda: CoxPHSurvivalAnalysis(alpha=0.01), "c_index", 0.65),
    "rsf": ("whas", lambda: RandomSurvivalForest(n_estimators=50, min_samples_leaf=10,
                                                 random_state=0), "c_index", 0.65),
    "mlp_cox": ("whas", lambda: SurvivalNet(MLP, max_epochs=80, lr=3e-3,
                                            module__hidden=(32,)), "c_index", 0.65),
    "gru_cox": ("pbc2", lambda: SurvivalNet(SequenceNet, max_epochs=40, lr=3e-3,
                                            module__hidden_size=16), "c_index", 0.65),
}


def _real_cohort(name):
    if name == "support2":
        cohort = ls.datasets.load_support2(shared_file("data", "auton", "support2.csv"),
                                           outcome="hospdead")
        return cohort, cohort.split(val=0.15, test=0.15, stratify="label", seed=0), None
    if name == "pbc2":
        cohort = ls.datasets.load_pbc2(shared_file("data", "auton", "pbc2.csv"))
        pre = ls.Preprocessor(sequence=ls.SequencePreprocessor(grid=(0, 10, 1)))
        return cohort, cohort.split(val=0.2, test=0.2, stratify="event", seed=0), pre
    cohort = ls.datasets.load_deepsurv(shared_file("data", "deepsurv", "whas_train_test.h5"))
    dev = cohort.subset(ls.Splits.from_column(cohort, "split").train)  # published train only
    return dev, dev.split(val=0.2, test=0.2, stratify="event", seed=0), None


@pytest.mark.parametrize("name", list(REAL))
def test_every_family_on_a_real_cohort(name, store):
    source, make, headline, threshold = REAL[name]
    cohort, splits, pre = _real_cohort(source)
    stops = name not in ("logistic", "coxph", "rsf")  # the others ignore early_stopping
    run = fit(make(), cohort, splits, early_stopping=8 if stops else None, preprocessor=pre,
              progress=False, experiment=f"real-{source}", log_model=False)
    assert run.metrics["test"][headline] > threshold
    logged = _client(run).get_run(run.run_id).data.metrics
    for split, values in run.metrics.items():
        for metric, value in values.items():
            assert logged[f"{split}_{metric}"] == pytest.approx(value, rel=1e-12)


def test_grid_search_selects_on_val_and_refits_on_train_only(sample):
    cohort, splits = sample
    search = GridSearchCV(LogisticRegression(max_iter=2000), {"C": [0.001, 0.1, 10.0]})
    run = fit(search, cohort, splits, track=False)
    best_c = run.search["best_params"]["C"]
    # the reported model is a train-only fit with the chosen C
    flat = cohort.flatten()
    parts = splits.cohorts(flat)
    pre = ls.Preprocessor().fit(parts["train"])
    manual = LogisticRegression(max_iter=2000, C=best_c).fit(
        pre.transform(parts["train"]).static, parts["train"].y_label)
    np.testing.assert_allclose(run.model.coef_, manual.coef_, rtol=1e-6)
    # selection used the validation split: the chosen C has the best val score
    scores = run.search["cv_results"]["mean_test_score"]
    assert run.search["cv_results"]["param_C"][int(np.argmax(scores))] == best_c


def test_same_config_same_metrics(sample):
    cohort, splits = sample
    a = fit(SurvivalNet(MLP, max_epochs=5), cohort, splits, track=False)
    b = fit(SurvivalNet(MLP, max_epochs=5), cohort, splits, track=False)
    assert a.metrics == b.metrics


def test_model_is_not_modified(sample):
    cohort, splits = sample
    model = ClassifierNet(MLP, max_epochs=2)
    fit(model, cohort, splits, track=False, early_stopping=1, monitor="auc_roc")
    assert model.monitor == "loss" and not hasattr(model, "module_")


def test_failed_run_is_marked_failed(sample, store):
    from mlflow.tracking import MlflowClient

    cohort, splits = sample
    calls = {"n": 0}

    def exploding_loss(risk, duration, event):
        calls["n"] += 1
        if calls["n"] > 10:
            raise RuntimeError("loss exploded")
        from lightsaber.losses import cox_ph_loss

        return cox_ph_loss(risk, duration, event)

    with pytest.raises(RuntimeError, match="loss exploded"):
        fit(SurvivalNet(MLP, loss=exploding_loss, max_epochs=5), cohort, splits,
            experiment="failing", progress=False)
    client = MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    exp = client.get_experiment_by_name("failing")
    runs = client.search_runs([exp.experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]
    assert runs[0].data.tags["error_class"] == "RuntimeError"


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [({"model": LogisticRegression(), "monitor": "auc_roc"}, FitError, "applies to lightsaber"),
     ({"model": ClassifierNet(SequenceNet), "flat_cohort": True}, FitError, "no longitudinal"),
     ({"model": ClassifierNet(MLP), "monitor": "c_index"}, ValueError, "not a classification"),
     ({"model": CoxPHSurvivalAnalysis(), "no_val": True}, FitError, "no 'val' part")],
)
def test_fit_argument_errors(sample, kwargs, error, fragment):
    cohort, splits = sample
    if kwargs.pop("flat_cohort", False):
        cohort = cohort.flatten()
    if kwargs.pop("no_val", False):
        splits = cohort.split(val=0.0, test=0.2, seed=0)
    model = kwargs.pop("model")
    with pytest.raises(error, match=fragment):
        fit(model, cohort, splits, track=False, **kwargs)


def test_no_patient_id_in_the_tracking_store(tmp_path, monkeypatch, secret_ids):
    from tests.tracking.privacy import scan_tracking_store

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    rng = np.random.default_rng(0)
    n = 400
    ids = np.array([f"SECRET-PATIENT-{i:05d}" for i in range(n)])
    frame = pd.DataFrame({"pid": ids, "age": rng.normal(60, 10, n), "lab": rng.normal(size=n),
                          "site": rng.choice(["north", "south"], n)})
    frame["died"] = (frame["lab"] + rng.normal(size=n) > 0.5).astype(int)
    frame["days"] = rng.exponential(100, n) + 1
    cohort = ls.Cohort(frame, id="pid", label="died", duration="days", event="died")
    splits = cohort.split(seed=0, stratify="label")
    for model in (LogisticRegression(), SurvivalNet(MLP, max_epochs=3)):
        fit(model, cohort, splits, progress=False)
    hits = scan_tracking_store([tmp_path], ["SECRET-PATIENT", *ids[:50]])
    assert hits == []


def test_predict_frame_with_missing_columns_names_them(sample):
    from lightsaber.exceptions import SchemaMismatchError

    cohort, splits = sample
    run = fit(LogisticRegression(max_iter=2000), cohort, splits, track=False)
    frame = run.pipeline.input_frame(cohort.subset(splits.test[:5]))
    expected = r"missing column\(s\) \(2\): 'lactate', 'bmi'"
    with pytest.raises(SchemaMismatchError, match=expected) as info:
        run.pipeline.predict_frame(frame.drop(columns=["bmi", "lactate"]))
    assert "P1" not in str(info.value)
    mistyped = frame.assign(age="SECRET-VALUE-42")  # never quoted back (scikit-learn would)
    with pytest.raises(SchemaMismatchError, match=r"'age' \(expected numeric") as info:
        run.pipeline.predict_frame(mistyped)
    assert "SECRET" not in str(info.value)
    np.testing.assert_allclose(run.pipeline.predict_frame(frame)["probability"],
                               run.pipeline.predict(cohort.subset(splits.test[:5])))


def test_run_repr_is_a_short_summary_and_html_a_table(sample):
    cohort, splits = sample
    run = fit(LogisticRegression(max_iter=2000), cohort, splits, track=False,
              calibrate="sigmoid")
    text = repr(run)
    assert len(text) < 1000 and text.startswith("Run(classification, LogisticRegression")
    assert f"auc_roc={run.metrics['test']['auc_roc']:.4g}" in text
    assert "calibrated with 'sigmoid'" in text
    page = run._repr_html_()
    assert page.count("<tr>") == 1 + len({k for m in run.metrics.values() for k in m})
    assert f"{run.metrics['test']['uncalibrated_auc_roc']:.4f}" in page
    assert "P1" not in text + page  # ids never shown
