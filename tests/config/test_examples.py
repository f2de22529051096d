"""Every config in examples/ validates and runs for a couple of epochs."""

from __future__ import annotations

import pytest

import lightsaber.models
from lightsaber.cli import main
from lightsaber.config import load_config, prepare, run_fit
from tests.conftest import REPO

EXAMPLES = REPO / "examples"
NETS = {"lstm", "deepsurv_net", "deepsurv", "ranksvx", "vaecox", "deephit"}
RECIPES = {"deepsurv": "DeepSurv", "ranksvx": "RankSVX", "vaecox": "VAECox",
           "deephit": "DeepHit"}
FAST = {"max_epochs": 2, "early_stopping": None}
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.yaml") if p.stem != "tuning")


def test_every_model_family_has_an_example():
    assert {"logistic_regression", "gradient_boosting", "lstm", "coxph", "rsf", "deepsurv",
            "ranksvx", "vaecox", "deephit", "competing_risks"} <= set(NAMES)
    assert (EXAMPLES / "tuning.yaml").exists()


@pytest.mark.parametrize("name", NAMES)
def test_example_validates_and_runs(name, capsys):
    if name in RECIPES and not hasattr(lightsaber.models, RECIPES[name]):
        pytest.skip(f"lightsaber.models.{RECIPES[name]} is not available yet")
    path = EXAMPLES / f"{name}.yaml"
    assert main(["validate", str(path)]) == 0
    assert "config OK" in capsys.readouterr().out
    overrides = [f"trainer.max_epochs={FAST['max_epochs']}", "trainer.early_stopping=null"] \
        if name in NETS else []
    if name == "vaecox":
        overrides.append("model.pretrain_epochs=2")
    if name == "rsf":
        overrides.append("model.n_estimators=10")
    if name == "gradient_boosting":
        overrides.append("model.max_iter=10")
    if name == "lstm":
        overrides.append("preprocess.sequence.grid=[0,12,1]")
    exp = prepare(load_config(path, overrides=overrides))
    run = run_fit(exp, track=False, progress=False)
    assert run.metrics["test"], run.metrics
    if name == "competing_risks":  # every metric for each cause
        assert exp.task == "competing" and len(run.metrics["test"]) == 6
        assert run.metrics["test"]["wolbers_c_death"] > 0.65
    if name in NETS:
        assert len(run.history) == 2


def test_tuning_example_runs_two_trials(store, store_uri, monkeypatch, capsys):
    pytest.importorskip("lightsaber.tuning")
    monkeypatch.chdir(store)
    code = main(["tune", str(EXAMPLES / "tuning.yaml"), "--no-progress", "--max-trials", "2",
                 "--tracking-uri", store_uri, "trainer.max_epochs=2",
                 "tracking.log_model=false"])
    assert code == 0, capsys.readouterr().err
    assert "tuned SurvivalNet" in capsys.readouterr().out
