"""Default search spaces: valid for their model (a 2-trial study runs), used without ``space``.

Issue 21: ``ls.tune(DeepSurv(), cohort, splits)`` and YAML ``tuning.space: default`` search the
model's documented default space instead of requiring one.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import yaml
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sksurv.ensemble import GradientBoostingSurvivalAnalysis, RandomSurvivalForest
from sksurv.linear_model import CoxnetSurvivalAnalysis, CoxPHSurvivalAnalysis
from torch import nn

import lightsaber as ls
from lightsaber.config import load_config, prepare, run_tune
from lightsaber.exceptions import ConfigError, LightsaberWarning
from lightsaber.models import (
    MLP,
    MTLR,
    PMF,
    ClassifierNet,
    DeepHit,
    DeepSurv,
    LogisticHazard,
    RankSVX,
    SequenceNet,
    SurvivalNet,
    VAECox,
    WeibullAFT,
)
from lightsaber.tuning import ALGORITHMS, TuningError, default_space, has_default_space
from lightsaber.tuning.space.parse import describe, space_from_dict
from lightsaber.tuning.study import check_space_keys
from tests.conftest import REPO

NET = {"max_epochs": 2, "early_stopping": None}
#: (id, model factory, task). Every model the issue lists, plus nets over sequences.
MODELS = [
    ("DeepSurv", lambda: DeepSurv(**NET), "survival"),
    ("RankSVX", lambda: RankSVX(**NET), "survival"),
    ("VAECox", lambda: VAECox(**NET), "survival"),
    ("DeepHit", lambda: DeepHit(**NET), "survival"),
    ("LogisticHazard", lambda: LogisticHazard(**NET), "survival"),
    ("PMF", lambda: PMF(**NET), "survival"),
    ("MTLR", lambda: MTLR(**NET), "survival"),
    ("WeibullAFT", lambda: WeibullAFT(**NET), "survival"),
    ("SurvivalNet-MLP", lambda: SurvivalNet(MLP, **NET), "survival"),
    ("SurvivalNet-SequenceNet", lambda: SurvivalNet(SequenceNet, **NET), "survival"),
    ("ClassifierNet-MLP", lambda: ClassifierNet(MLP, **NET), "classification"),
    ("ClassifierNet-SequenceNet", lambda: ClassifierNet(SequenceNet, **NET), "classification"),
    ("LogisticRegression", lambda: LogisticRegression(max_iter=500), "classification"),
    ("HistGradientBoosting", lambda: HistGradientBoostingClassifier(max_iter=20),
     "classification"),
    ("CoxPH", lambda: CoxPHSurvivalAnalysis(), "survival"),
    ("Coxnet", lambda: CoxnetSurvivalAnalysis(fit_baseline_model=True), "survival"),
    ("RSF", lambda: RandomSurvivalForest(n_estimators=10, random_state=0), "survival"),
    ("GBSA", lambda: GradientBoostingSurvivalAnalysis(random_state=0), "survival"),
]


@pytest.fixture(scope="module")
def data():
    cohort = ls.datasets.load_sample_mortality(n_patients=300, seed=0)
    return cohort, cohort.split(val=0.25, test=0.25, stratify="label", seed=0)


@pytest.mark.parametrize(("name", "factory", "task"), MODELS, ids=[m[0] for m in MODELS])
def test_default_space_is_valid_and_a_two_trial_study_runs(name, factory, task, data,
                                                           store_uri):
    model = factory()
    space = default_space(model)
    assert space, name
    check_space_keys(space_from_dict(space), model)  # every key a parameter of the model
    cohort, splits = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-data and convergence warnings of the trials
        study = ls.tune(model, cohort, splits, algorithm="random", max_trials=2, seed=1,
                        task=task, refit=False, progress=False, tracking_uri=store_uri)
    errors = study.trials["error_class"].tolist()
    assert (study.trials["status"] == "ok").all(), (name, errors)
    assert set(study.best_params) == set(space), name
    assert study.space == space_from_dict(space)


def test_the_space_covers_what_the_issue_lists():
    for model in (DeepSurv(), WeibullAFT(), ClassifierNet(MLP)):
        assert {"lr", "module__hidden", "module__dropout", "optimizer__weight_decay",
                "batch_size"} <= set(default_space(model))
    for model in (DeepHit(), LogisticHazard(), PMF(), MTLR()):
        assert {"cuts", "cut_scheme"} <= set(default_space(model))
    assert "loss__margin" in default_space(RankSVX())
    assert {"module__latent_features", "pretrain_epochs"} <= set(default_space(VAECox()))
    assert {"module__hidden_size", "module__num_layers"} <= set(
        default_space(ClassifierNet(SequenceNet)))
    assert "cuts" not in default_space(DeepSurv())


def test_a_loss_option_fixed_by_the_user_is_not_searched():
    assert "loss__alpha" in default_space(DeepHit())
    fixed = default_space(DeepHit(loss_options={"alpha": 0.5}))
    assert "loss__alpha" not in fixed and "loss__sigma" in fixed


def test_each_call_returns_a_fresh_copy():
    space = default_space(DeepSurv())
    space["module__hidden"]["choice"].append([1])
    assert [1] not in default_space(DeepSurv())["module__hidden"]["choice"]


def test_a_pipeline_gets_its_last_steps_space_prefixed():
    space = default_space(make_pipeline(StandardScaler(), LogisticRegression()))
    assert set(space) == {"logisticregression__C", "logisticregression__class_weight"}


def test_a_model_without_a_default_space_names_the_fix():
    with pytest.raises(TuningError, match=r"SVC has no default search space; pass space="):
        default_space(SVC())
    assert not has_default_space(SVC()) and has_default_space(DeepSurv())


class OwnNetwork(nn.Module):
    def __init__(self, in_features: int, out_features: int = 1, width: int = 8) -> None:
        super().__init__()
        self.layer = nn.Linear(in_features, out_features)

    def forward(self, static):
        return self.layer(static)


def test_a_users_own_module_gets_the_training_space_and_a_warning():
    with pytest.warns(LightsaberWarning, match="no default for the arguments of OwnNetwork"):
        space = default_space(SurvivalNet(OwnNetwork))
    assert set(space) == {"lr", "optimizer__weight_decay", "batch_size"}


def test_tune_without_a_space_refuses_a_model_without_one_before_any_run(data, store_uri):
    cohort, splits = data
    with pytest.raises(TuningError, match="SVC has no default search space"):
        ls.tune(SVC(), cohort, splits, tracking_uri=store_uri, progress=False)
    assert not list(Path(store_uri.removeprefix("sqlite:///")).parent.glob("mlruns/*/*"))


def _tuning_config(tmp_path: Path, space, model: str = "lightsaber.models.DeepSurv") -> Path:
    net = model.startswith("lightsaber.")
    config = {
        "name": "default-space-study", "seed": 0,
        "data": {"_target_": "lightsaber.data.datasets.load_sample_mortality",
                 "n_patients": 300},
        "task": "survival" if net else "classification",
        "split": {"val": 0.25, "test": 0.25, "stratify": "event" if net else "label", "seed": 0},
        "model": {"_target_": model},
        "trainer": {"max_epochs": 2, "early_stopping": None, "progress": False} if net else {},
        "tuning": {"algorithm": "random", "max_trials": 2, "refit": False,
                   **({} if space is None else {"space": space})},
        "tracking": {"log_model": False},
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize("space", ["default", None], ids=["space-default", "space-omitted"])
def test_yaml_tuning_space_default(space, tmp_path, store_uri):
    path = _tuning_config(tmp_path, space)
    experiment = prepare(load_config(path, overrides=[f"tracking.tracking_uri={store_uri}"]))
    assert describe(experiment.space) == default_space(experiment.model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = run_tune(experiment)
    assert (study.trials["status"] == "ok").all(), study.trials["error_class"].tolist()
    assert set(study.best_params) == set(default_space(DeepSurv()))


def test_yaml_tuning_space_default_for_a_model_without_one_is_a_config_error(tmp_path):
    path = _tuning_config(tmp_path, "default", model="sklearn.svm.SVC")
    with pytest.raises(ConfigError) as info:
        prepare(load_config(path))
    assert info.value.path == "tuning.space"
    assert "SVC has no default search space" in str(info.value)


def test_config_algorithms_are_the_tuners():
    from lightsaber.config.schema import TuningSpec

    literal = TuningSpec.model_fields["algorithm"].annotation
    assert set(literal.__args__) == set(ALGORITHMS)


def test_docs_list_every_default_space():
    """docs/tuning.md shows each space as default_space returns it (docs match the code)."""
    text = (REPO / "docs" / "tuning.md").read_text()
    for name, factory, _ in MODELS:
        model = factory()
        label = type(model).__name__
        if isinstance(model, (SurvivalNet, ClassifierNet)):
            label += f"({model.module.__name__})" if type(model) in (
                SurvivalNet, ClassifierNet) else ""
        block = re.search(rf"^#### `{re.escape(label)}`\n\n```yaml\n(.*?)```", text,
                          re.MULTILINE | re.DOTALL)
        assert block, f"docs/tuning.md has no '#### `{label}`' block ({name})"
        assert yaml.safe_load(block.group(1)) == default_space(model), label
