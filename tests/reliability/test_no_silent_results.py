"""No silent results: a number is right, or there is a clear error or a warning + tag.

One table-driven case per finding of the trust issue (items 1-11), each tried the way a new
user would. A case asserts the specific error, or the warning *and* the MLflow tag that records
it, or (where the finding was a wrong number) equality with the reference. Item 12 (overhead and
noise) is measured by ``benchmarks/tracking_overhead.py`` and tested in ``tests/tracking``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression
from sksurv.linear_model import CoxPHSurvivalAnalysis

import lightsaber as ls
from lightsaber.exceptions import (
    CalibrationWarning,
    EvaluationError,
    IgnoredArgumentWarning,
    InputTypeError,
    MetricSkippedWarning,
    SmallSplitWarning,
    TargetError,
)
from lightsaber.metrics import MetricError

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Case:
    """One finding: the issue's item number, a name, and the check that it cannot recur."""

    item: int
    name: str
    check: Callable[[SimpleNamespace], None]


# ------------------------------------------------------------------------------ helpers
def _frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"pid": [f"NSR-{i:04d}" for i in range(n)], "x": x,
                         "z": rng.normal(size=n),
                         "died": (rng.random(n) < 1 / (1 + np.exp(1.0 - 1.5 * x))).astype(int)})


def _tags(env: SimpleNamespace, run: ls.Run) -> dict[str, str]:
    return MlflowClient(env.uri).get_run(run.run_id).data.tags


def _fit(env: SimpleNamespace, model, cohort, splits, **kwargs) -> ls.Run:
    options = {"tracking_uri": env.uri, "experiment": "no-silent", "log_model": False,
               "progress": False, **kwargs}
    return ls.fit(model, cohort, splits, **options)


def _by_column(cohort: ls.Cohort, parts: np.ndarray) -> ls.Splits:
    frame = cohort.meta.assign(part=parts)
    with_part = ls.Cohort(pd.concat([cohort.static, cohort.targets, frame], axis=1)
                          .assign(pid=cohort.ids), id="pid",
                          **({"label": cohort.label} if cohort.label else
                             {"duration": cohort.duration, "event": cohort.event}),
                          meta=["part"])
    return with_part, ls.Splits.from_column(with_part, "part")


def _caught(action: Callable[[], object], category: type[Warning]) -> tuple[object, list[str]]:
    """Run ``action`` recording every ``category`` warning; returns its result and the texts."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", category)
        result = action()
    return result, [str(w.message) for w in caught if issubclass(w.category, category)]


def _last_status(env: SimpleNamespace) -> tuple[str, dict[str, str]]:
    client = MlflowClient(env.uri)
    experiment = client.get_experiment_by_name("no-silent")
    run = client.search_runs([experiment.experiment_id], order_by=["start_time DESC"],
                             max_results=1)[0]
    return run.info.status, run.data.tags


# ------------------------------------------------------------------------------ item 1
def _text_labels(env):
    frame = _frame().assign(died=lambda f: np.where(f["died"] == 1, "yes", "no"))
    with pytest.raises(TargetError, match=r"label column 'died' holds text .*'no', 'yes'.*"
                                          r"positive="):
        ls.Cohort(frame, id="pid", label="died")
    cohort = ls.Cohort(frame, id="pid", label="died", positive="yes")
    assert cohort.y_label.tolist() == (frame["died"] == "yes").astype(int).tolist()
    run = ls.fit(LogisticRegression(), cohort, cohort.split(seed=0, stratify="label"),
                 track=False)
    assert {"auc_roc", "auc_pr", "brier", "log_loss", "ece"} <= set(run.metrics["test"])


def _count_as_label(env):
    frame = _frame().assign(n_visits=np.random.default_rng(1).poisson(1.0, 300))
    with pytest.raises(TargetError, match=r"'n_visits' holds \d+ distinct value\(s\).*classes="
                                          r".*A count or a score is not a label"):
        ls.Cohort(frame, id="pid", label="n_visits")


def _declared_classes_missing_from_test(env):
    frame = _frame(400)
    rng = np.random.default_rng(2)
    frame["grade"] = rng.choice([0, 1, 2, 3], 400, p=[0.5, 0.3, 0.17, 0.03])
    parts = np.where(np.arange(400) < 260, "train", np.where(np.arange(400) < 330, "val", "test"))
    frame.loc[(parts == "test") & (frame["grade"] == 3), "grade"] = 0  # rare class not in test
    cohort = ls.Cohort(frame.assign(part=parts), id="pid", label="grade",
                       classes=[0, 1, 2, 3], meta=["part"])
    run, texts = _caught(lambda: _fit(env, LogisticRegression(max_iter=500), cohort,
                                      ls.Splits.from_column(cohort, "part")),
                         MetricSkippedWarning)
    assert any("'auc_roc_ovr_macro' was not computed on the test split" in t and "undefined"
               in t for t in texts), texts
    test = run.metrics["test"]
    assert {"brier", "log_loss", "balanced_accuracy"} <= set(test)  # over the 4 classes
    assert "auc_roc_ovr_macro" not in test
    skipped = json.loads(_tags(env, run)["lightsaber.skipped_metrics"])
    assert "auc_roc_ovr_macro" in skipped["test"]


# ------------------------------------------------------------------------------ item 2
def _ibs_over_the_whole_grid(env):
    from sksurv.metrics import cumulative_dynamic_auc, integrated_brier_score

    from lightsaber.metrics.split_scores import integration_times

    cohort = ls.datasets.load_sksurv("whas500")
    splits = cohort.split(val=0.2, test=0.2, stratify="event", seed=0)
    run = _fit(env, CoxPHSurvivalAnalysis(alpha=0.1), cohort, splits)
    parts = splits.cohorts(cohort)
    y_train, y_test = parts["train"].y_survival, parts["test"].y_survival
    times = integration_times(y_test, run.times)
    assert len(run.times) >= 40 and len(times) >= 30  # not 3 points
    X = run.pipeline.transform(parts["test"])
    curves = np.array([[f(t) for t in times] for f in run.model.predict_survival_function(X)])
    assert run.metrics["test"]["ibs"] == pytest.approx(
        integrated_brier_score(y_train, y_test, curves, times), abs=1e-9)
    assert run.metrics["test"]["cumulative_auc"] == pytest.approx(
        cumulative_dynamic_auc(y_train, y_test, run.model.predict(X), times)[1], abs=1e-9)
    client = MlflowClient(env.uri)
    local = client.download_artifacts(run.run_id, "evaluation/times.json", str(env.tmp))
    logged = json.loads(Path(local).read_text())
    assert logged["times"] == pytest.approx(run.times.tolist())
    assert logged["splits"]["test"]["n_times"] == len(times)
    # times= sets the grid (and is honoured exactly)
    chosen = [100.0, 200.0, 400.0, 800.0, 1200.0]
    own = ls.fit(CoxPHSurvivalAnalysis(alpha=0.1), cohort, splits, track=False, times=chosen)
    curves = np.array([[f(t) for t in chosen] for f in own.model.predict_survival_function(X)])
    assert own.metrics["test"]["ibs"] == pytest.approx(
        integrated_brier_score(y_train, y_test, curves, chosen), abs=1e-9)
    with pytest.raises(ls.training.fit.FitError, match="strictly increasing"):
        ls.fit(CoxPHSurvivalAnalysis(), cohort, splits, track=False, times=[200.0, 100.0])


# ------------------------------------------------------------------------------ items 3, 4
def _extended_study_refits_the_new_best(env):
    from lightsaber.tuning import Choice, LogUniform
    from tests.tuning.helpers import small_cohort, small_splits

    cohort = small_cohort()  # where trials 0-1 and 0-5 have different bests (seed 0)
    splits = small_splits(cohort)
    space = {"C": LogUniform(1e-4, 100.0), "fit_intercept": Choice([True, False]),
             "class_weight": Choice([None, "balanced"])}
    kwargs = {"algorithm": "random", "seed": 0, "study_name": "nsr-extend", "progress": False,
              "tracking_uri": env.uri}
    first = ls.tune(LogisticRegression(max_iter=300), cohort, splits, space, max_trials=2,
                    **kwargs)
    second = ls.tune(LogisticRegression(max_iter=300), cohort, splits, space, max_trials=6,
                     **kwargs)
    assert second.best_trial != first.best_trial and second.refit_run_id != first.refit_run_id
    refit = MlflowClient(env.uri).get_run(second.refit_run_id)
    assert refit.data.tags["lightsaber.best_trial"] == str(second.best_trial)
    fresh = ls.fit(LogisticRegression(max_iter=300).set_params(**second.best_params), cohort,
                   splits, track=False)
    assert second.test_metrics == pytest.approx(fresh.metrics["test"], rel=1e-9)


def _misspelt_space_key(env):
    from lightsaber.tuning import LogUniform, SpaceKeyError

    cohort = ls.datasets.load_sample_mortality(n_patients=200)
    splits = cohort.split(seed=0, stratify="label")
    with pytest.raises(SpaceKeyError, match=r"'C_' is not a parameter of LogisticRegression "
                                            r"\(did you mean 'C'\?\)"):
        ls.tune(LogisticRegression(), cohort, splits, {"C_": LogUniform(1e-2, 10)},
                tracking_uri=env.uri, experiment="no-silent-tune", progress=False)
    assert MlflowClient(env.uri).get_experiment_by_name("no-silent-tune") is None  # no run


# ------------------------------------------------------------------------------ item 5
def _wrong_types(env):
    frame = _frame()
    cohort = ls.Cohort(frame, id="pid", label="died")
    splits = cohort.split(seed=0, stratify="label")
    with pytest.raises(InputTypeError, match=r"`cohort` must be a lightsaber Cohort; got "
                                             r"pandas.DataFrame.*ls.Cohort\(df"):
        ls.fit(LogisticRegression(), frame, splits, track=False)
    with pytest.raises(InputTypeError, match="`model` is the class LogisticRegression"):
        ls.fit(LogisticRegression, cohort, splits, track=False)
    with pytest.raises(InputTypeError, match="`splits` must be a lightsaber Splits"):
        ls.fit(LogisticRegression(), cohort, {"train": [0, 1]}, track=False)
    with pytest.raises(InputTypeError, match="`cohort` must be a lightsaber Cohort"):
        ls.tune(LogisticRegression(), frame, splits, {"C": [0.1, 1.0]}, tracking_uri=env.uri)
    other = ls.Cohort(_frame(200), id="pid", label="died")
    with pytest.raises(ls.exceptions.SplitError, match="made on a cohort of 300 patients"):
        ls.fit(LogisticRegression(), other, splits, track=False)
    run = ls.fit(LogisticRegression(), cohort, splits, track=False)
    with pytest.raises(InputTypeError, match=r"got DataFrame.*predict_frame\(df\)"):
        run.pipeline.predict(frame)
    with pytest.raises(InputTypeError, match=r"take a pandas DataFrame; got Cohort.*predict\("):
        run.pipeline.predict_frame(cohort)


# ------------------------------------------------------------------------------ item 6
def _rossi() -> ls.Cohort:
    from lifelines.datasets import load_rossi

    frame = load_rossi().reset_index().rename(columns={"index": "pid"})
    return ls.Cohort(frame, id="pid", duration="week", event="arrest")


def _uno_on_rossi_is_kept(env):
    # Administrative censoring at week 52 (G = 0 there): Uno's C is truncated at the end of the
    # evaluation grid (inside the follow-up) instead of disappearing.
    from sksurv.metrics import concordance_index_ipcw

    cohort = _rossi()
    splits = cohort.split(val=0.2, test=0.2, stratify="event", seed=0)
    run = ls.fit(CoxPHSurvivalAnalysis(), cohort, splits, track=False)
    parts = splits.cohorts(cohort)
    risk = run.pipeline.predict(parts["test"])
    expected = concordance_index_ipcw(parts["train"].y_survival, parts["test"].y_survival,
                                      risk, tau=run.times[-1])[0]
    assert run.metrics["test"]["c_index_uno"] == pytest.approx(expected, abs=1e-9)


def _skipped_default_metric_is_warned_and_tagged(env):
    frame = _frame(300)
    parts = np.where(np.arange(300) < 200, "train", np.where(np.arange(300) < 250, "val", "test"))
    frame.loc[parts == "test", "died"] = 0  # a test split with no positive
    cohort = ls.Cohort(frame.assign(part=parts), id="pid", label="died", meta=["part"])
    run, texts = _caught(lambda: _fit(env, LogisticRegression(), cohort,
                                      ls.Splits.from_column(cohort, "part")),
                         MetricSkippedWarning)
    assert any("'auc_roc' was not computed on the test split" in t for t in texts), texts
    assert "auc_roc" not in run.metrics["test"] and "brier" in run.metrics["test"]
    assert "auc_roc" in run.skipped["test"]
    tags = _tags(env, run)
    assert "auc_roc" in json.loads(tags["lightsaber.skipped_metrics"])["test"]
    assert MlflowClient(env.uri).get_run(run.run_id).info.status == "FINISHED"


def _no_metric_on_test_fails_the_run(env):
    frame = _frame(300).assign(days=np.random.default_rng(3).exponential(50, 300) + 1)
    parts = np.where(np.arange(300) < 200, "train", np.where(np.arange(300) < 250, "val", "test"))
    frame.loc[parts == "test", "died"] = 0  # every test patient censored
    cohort = ls.Cohort(frame.assign(part=parts), id="pid", duration="days", event="died",
                       meta=["part"])
    with pytest.warns(MetricSkippedWarning), \
            pytest.raises(EvaluationError, match="no metric could be computed on the test"):
        _fit(env, CoxPHSurvivalAnalysis(), cohort, ls.Splits.from_column(cohort, "part"))
    status, tags = _last_status(env)
    assert status == "FAILED"
    assert tags["error_class"] == "lightsaber.exceptions.EvaluationError"
    assert "no event" in json.loads(tags["lightsaber.skipped_metrics"])["test"]["*"]


def _ignored_early_stopping(env):
    cohort = ls.Cohort(_frame(), id="pid", label="died")
    with pytest.warns(IgnoredArgumentWarning, match="early_stopping=10 has no effect on "
                                                    "LogisticRegression"):
        run = _fit(env, LogisticRegression(), cohort, cohort.split(seed=0, stratify="label"),
                   early_stopping=10)
    assert "early_stopping=10" in _tags(env, run)["lightsaber.warning.ignored_argument"]
    assert any("early_stopping" in w for w in run.warnings)


def _one_positive_in_test(env):
    frame = _frame(300)
    parts = np.where(np.arange(300) < 200, "train", np.where(np.arange(300) < 250, "val", "test"))
    test_rows = np.flatnonzero(parts == "test")
    frame.loc[test_rows, "died"] = 0
    frame.loc[test_rows[0], "died"] = 1
    cohort = ls.Cohort(frame.assign(part=parts), id="pid", label="died", meta=["part"])
    with pytest.warns(SmallSplitWarning, match="the test split has 1 positive"):
        run = _fit(env, LogisticRegression(), cohort, ls.Splits.from_column(cohort, "part"))
    assert "test split has 1 positive" in _tags(env, run)["lightsaber.warning.small_split"]


def _calibration_that_hurts(env):
    # docs/index.md's own example: cloglog on an already calibrated Cox model (test IBS
    # 0.1666 -> 0.1695 and D-calibration 1.11 -> 6.08 there); judged out of fold on val.
    cohort = ls.datasets.load_sksurv("gbsg2")
    splits = cohort.split(val=0.2, test=0.2, stratify="event", seed=7)
    with pytest.warns(CalibrationWarning, match=r"calibrate='cloglog' makes ibs worse on the "
                                                r"val split, out of fold"):
        run = _fit(env, CoxPHSurvivalAnalysis(alpha=0.1), cohort, splits, calibrate="cloglog")
    assert "makes ibs worse" in _tags(env, run)["lightsaber.warning.calibration"]


# ------------------------------------------------------------------------------ item 7
def _brier_where_censoring_estimate_is_zero(env):
    from lightsaber.metrics import brier_score, integrated_brier_score

    rng = np.random.default_rng(0)
    t = np.minimum(rng.exponential(30, 200), 50.0)
    train = (((rng.random(200) < 0.6) & (t < 50)), t)  # all left censored at 50: G(50) = 0
    test = (rng.random(200) < 0.6, rng.exponential(30, 200))
    half = np.full((200, 2), 0.5)
    with pytest.raises(MetricError, match=r"G estimated on y_train is 0 from time 50 on"):
        brier_score(test, half, [20.0, 55.0], y_train=train)
    with pytest.raises(MetricError, match=r"Evaluate at times below 50"):
        integrated_brier_score(test, half, [20.0, 55.0], y_train=train)


# ------------------------------------------------------------------------------ item 8
def _isotonic_never_says_zero_or_one(env):
    from lightsaber.calibration import ProbabilityCalibrator

    rng = np.random.default_rng(0)
    z = rng.normal(size=1000)
    y = (z + rng.normal(scale=0.3, size=1000) > 0.8).astype(int)  # clean ends: blocks of 0s / 1s
    cal = ProbabilityCalibrator("isotonic").fit(z, y)
    p = cal.predict_proba(np.r_[z, -10.0, 10.0])[:, 1]
    assert p.min() == pytest.approx(0.5 / 1000) and p.max() == pytest.approx(1 - 0.5 / 1000)
    assert np.all(np.diff(cal.calibrator_.y_) > 0)  # still strictly increasing between blocks
    cohort = ls.Cohort(_frame(600), id="pid", label="died")
    run, _ = _caught(lambda: ls.fit(LogisticRegression(), cohort,
                                    cohort.split(seed=0, stratify="label"),
                                    calibrate="isotonic", track=False),
                     CalibrationWarning)  # isotonic on 90 val rows overfits: warned, fine here
    for split, proba in run.predictions.items():
        assert np.all((proba > 0) & (proba < 1)), split


# ------------------------------------------------------------------------------ item 9
def _served_errors_carry_no_values(env):
    import mlflow.pyfunc

    frame = _frame().assign(x=lambda f: f["x"] + 123.456789)
    cohort = ls.Cohort(frame, id="pid", label="died")
    run = _fit(env, LogisticRegression(), cohort, cohort.split(seed=0, stratify="label"),
               log_model=True)
    model = mlflow.pyfunc.load_model(f"runs:/{run.run_id}/model")
    bad = pd.DataFrame({"pid": ["NSR-0001"], "x": ["SECRET-VALUE-42"], "z": [123.456789]})
    for call in (lambda: model.unwrap_python_model().predict(None, bad),
                 lambda: run.pipeline.predict_frame(bad)):
        with pytest.raises(ls.LightsaberError) as info:
            call()
        text = str(info.value)
        assert "'x'" in text
        for secret in ("SECRET-VALUE-42", "NSR-0001", "123.456"):
            assert secret not in text


# ------------------------------------------------------------------------------ item 10
def _registry_compares_like_with_like(env):
    from lightsaber.exceptions import RegistryError
    from lightsaber.reports import load_runs
    from lightsaber.tracking.model_registry import register_best

    cohort = ls.Cohort(_frame(), id="pid", label="died")
    for seed in (3, 7):
        run = _fit(env, LogisticRegression(), cohort, cohort.split(seed=seed, stratify="label"),
                   log_model=True, experiment="no-silent-registry")
    with pytest.raises(RegistryError, match="2 different splits"):
        register_best("nsr", experiment="no-silent-registry", metric="auc_roc",
                      tracking_uri=env.uri)
    tags = _tags(env, run)
    fingerprint = tags["lightsaber.data_fingerprint"]
    assert len(fingerprint) == 64 and "NSR-" not in fingerprint
    with pytest.raises(RegistryError, match="experiment"):
        load_runs(tracking_uri=env.uri)


# ------------------------------------------------------------------------------ item 11
def _docs_agree_with_the_code(env):
    from lightsaber.models import MLP, SurvivalNet

    net = SurvivalNet(MLP, loss="deephit", loss__sigma=0.5, cuts=5, max_epochs=1,
                      module__hidden=(4,))
    cohort = ls.datasets.load_sksurv("whas500")
    run = ls.fit(net, cohort, cohort.split(seed=0, stratify="event"), track=False)
    assert run.model.criterion_.options["sigma"] == 0.5  # routed to the loss
    concepts = (ROOT / "docs" / "concepts.md").read_text()
    assert "loss_options" in concepts
    reports = (ROOT / "docs" / "reports.md").read_text().lower()
    assert "not served" not in reports and "survival_<t>" in reports


CASES = [
    Case(1, "text labels are refused at the cohort", _text_labels),
    Case(1, "a count column is not a label", _count_as_label),
    Case(1, "declared classes score a split lacking one", _declared_classes_missing_from_test),
    Case(2, "ibs and cumulative_auc integrate over the whole grid", _ibs_over_the_whole_grid),
    Case(3, "an extended study refits its new best", _extended_study_refits_the_new_best),
    Case(4, "a misspelt search-space key fails before trial 0", _misspelt_space_key),
    Case(5, "wrong types fail at the entry point", _wrong_types),
    Case(6, "Uno's C on rossi is computed, not dropped", _uno_on_rossi_is_kept),
    Case(6, "a skipped default metric is warned and tagged",
         _skipped_default_metric_is_warned_and_tagged),
    Case(6, "a test split without any metric fails the run", _no_metric_on_test_fails_the_run),
    Case(6, "an ignored early_stopping is warned and tagged", _ignored_early_stopping),
    Case(6, "a test split with one positive is warned and tagged", _one_positive_in_test),
    Case(6, "calibration that hurts is warned and tagged", _calibration_that_hurts),
    Case(7, "Brier where the censoring estimate is 0 is an error",
         _brier_where_censoring_estimate_is_zero),
    Case(8, "isotonic calibration never outputs 0 or 1", _isotonic_never_says_zero_or_one),
    Case(9, "served errors carry no values", _served_errors_carry_no_values),
    Case(10, "the registry compares runs on one split", _registry_compares_like_with_like),
    Case(11, "the docs' spellings work", _docs_agree_with_the_code),
]


def test_every_item_has_a_case():
    assert {c.item for c in CASES} == set(range(1, 12))
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.item}-{c.name}" for c in CASES])
def test_no_silent_result(case: Case, store_uri: str, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = SimpleNamespace(uri=store_uri, tmp=tmp_path)
    with warnings.catch_warnings():
        # each case asserts the warnings it is about; small splits are not the point here
        warnings.simplefilter("ignore", SmallSplitWarning)
        if case.check is _one_positive_in_test:
            warnings.simplefilter("always", SmallSplitWarning)
        case.check(env)
