"""The defaults the defaults study chose (issue 21): applied, overridable, documented, safe."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from torch import nn

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
from lightsaber.models.nets.classifier import CLASSIFIER_DEFAULTS, classifier_defaults
from lightsaber.models.recipes import _RECIPES, VAECOX_DEFAULTS

CHANGED = {spec.name: dict(spec.defaults) for spec in _RECIPES}
CLASSES = {"DeepSurv": DeepSurv, "RankSVX": RankSVX, "DeepHit": DeepHit,
           "LogisticHazard": LogisticHazard, "PMF": PMF, "MTLR": MTLR, "WeibullAFT": WeibullAFT}


@pytest.mark.parametrize("name", sorted(CHANGED))
def test_recipe_defaults_apply_and_the_docstring_lists_them(name):
    net = CLASSES[name]()
    params = net.get_params(deep=False)
    base = SurvivalNet(MLP).get_params(deep=False)
    for key, value in CHANGED[name].items():
        assert params[key] == value, (name, key)
        assert f"``{key}={value!r}``" in type(net).__doc__, (name, key)
    if not CHANGED[name]:  # DeepSurv and DeepHit keep SurvivalNet's defaults
        assert {k: params[k] for k in ("lr", "max_epochs", "early_stopping")} == {
            k: base[k] for k in ("lr", "max_epochs", "early_stopping")}


def test_what_the_caller_passes_wins_and_clone_keeps_it():
    net = RankSVX(lr=0.05, module__hidden=(8,), max_epochs=7)
    for copy in (net, clone(net)):
        params = copy.get_params(deep=False)
        assert (params["lr"], params["module__hidden"], params["max_epochs"]) == (0.05, (8,), 7)
        assert params["module__dropout"] == CHANGED["RankSVX"]["module__dropout"]


def test_module_defaults_only_reach_lightsaber_modules_that_take_them():
    assert "module__hidden" not in RankSVX(SequenceNet).get_params(deep=False)
    assert "module__head" not in ClassifierNet(MLP).get_params(deep=False)
    assert "module__head" not in ClassifierNet(SequenceNet).get_params(deep=False)  # its own

    class Own(nn.Module):
        def __init__(self, in_features: int, out_features: int = 1, hidden: int = 3,
                     dropout: float = 0.5) -> None:
            super().__init__()
            self.layer = nn.Linear(in_features, out_features)

        def forward(self, static):
            return self.layer(static)

    params = PMF(Own).get_params(deep=False)
    assert "module__hidden" not in params and "module__dropout" not in params
    assert params["lr"] == CHANGED["PMF"]["lr"]  # training defaults still apply
    assert ClassifierNet(Own).get_params(deep=False)["lr"] == CLASSIFIER_DEFAULTS["MLP"]["lr"]


def test_recipe_over_sequences_fits_with_the_defaults():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(60, 5, 2)).astype("float32")
    X = {"values": values, "lengths": np.full(60, 5)}
    from sksurv.util import Surv

    y = Surv.from_arrays(rng.random(60) < 0.7, rng.exponential(1.0, 60) + 0.1)
    net = WeibullAFT(SequenceNet, max_epochs=2).fit(X, y)
    assert net.predict(X).shape == (60,)


def test_vaecox_and_classifier_defaults():
    params = VAECox().get_params(deep=False)
    assert all(params[k] == v for k, v in VAECOX_DEFAULTS.items())
    for module, row in (("MLP", MLP), ("SequenceNet", SequenceNet)):
        params = ClassifierNet(row).get_params(deep=False)
        assert all(params[k] == v for k, v in CLASSIFIER_DEFAULTS[module].items()), module
        assert classifier_defaults(row) is CLASSIFIER_DEFAULTS[module]
    for cls in (VAECox, ClassifierNet):
        assert "benchmarks/defaults_study.py" in cls.__doc__
