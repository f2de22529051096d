"""Contract over every survival recipe (``lightsaber.models.recipes``).

Each recipe, fitted briefly on data with tied times, must give: a finite training loss;
gradients that reach every parameter (for VAECox: through the VAE objective or the Cox loss);
a finite loss still connected to the graph on a batch without events; survival curves in
[0, 1] that never increase in time, with the median time where the curve crosses 0.5; risks
that follow the curves (higher risk, lower restricted mean time); ``sklearn.base.clone``; and
a pickle round trip that predicts identically. Discrete-time curves equal pycox's own
``predict_surv`` on the same outputs.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sksurv.util import Surv

import lightsaber as ls
from lightsaber.exceptions import ArgumentError
from lightsaber.models import (
    MTLR,
    PMF,
    DeepHit,
    DeepSurv,
    LogisticHazard,
    RankSVX,
    SequenceNet,
    SurvivalNet,
    VAECox,
    WeibullAFT,
)
from lightsaber.models.survival_outputs import discrete_survival

COMMON = {"max_epochs": 4, "lr": 0.01, "batch_size": 64, "random_state": 0}
RECIPES = {
    "DeepSurv": lambda: DeepSurv(module__hidden=(8,), **COMMON),
    "RankSVX": lambda: RankSVX(module__hidden=(8,), loss_options={"margin": 0.5}, **COMMON),
    "VAECox": lambda: VAECox(module__hidden=(8,), module__latent_features=3,
                             pretrain_epochs=3, **COMMON),
    "DeepHit": lambda: DeepHit(module__hidden=(8,), cuts=8, **COMMON),
    "LogisticHazard": lambda: LogisticHazard(module__hidden=(8,), cuts=8, **COMMON),
    "PMF": lambda: PMF(module__hidden=(8,), cuts=8, cut_scheme="quantiles", **COMMON),
    "MTLR": lambda: MTLR(module__hidden=(8,), cuts=8, **COMMON),
    "WeibullAFT": lambda: WeibullAFT(module__hidden=(8,), **COMMON),
}


#: Recipes whose loss only compares risk scores (invariant to adding a constant to all).
SHIFT_INVARIANT = ("DeepSurv", "RankSVX", "VAECox")


def _data(n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype("float32")
    time = np.ceil(rng.exponential(np.exp(-X[:, 0]) * 5))  # whole days: many ties
    event = rng.random(n) < 0.7
    return X, Surv.from_arrays(event, time)


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    X_val, y_val = _data(80, seed=1)
    return {name: make().fit(X, y, val=(X_val, y_val)) for name, make in RECIPES.items()}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_training_loss_is_finite(fitted, name):
    history = fitted[name].history
    assert len(history) >= 1
    assert all(np.isfinite(row["train_loss"]) and np.isfinite(row["valid_loss"])
               for row in history)


def _batch_loss(net, X, y):
    target = net._target_tensor(y)
    prediction = net.module_(torch.as_tensor(X))
    return net.get_loss(prediction, target)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_gradients_reach_every_parameter(fitted, name):
    net = fitted[name]
    X, y = _data(64, seed=2)
    net.module_.train()
    net.module_.zero_grad()
    loss = _batch_loss(net, X, y)
    if name == "VAECox":
        from lightsaber.losses import vae_loss

        x = torch.as_tensor(X)
        reconstruction, mu, logvar = net.module_.reconstruct(x)
        loss = loss + vae_loss(reconstruction, x, mu, logvar)
    loss.backward()
    parameters = list(net.module_.named_parameters())
    for index, (pname, parameter) in enumerate(parameters):
        assert parameter.grad is not None, pname
        assert torch.isfinite(parameter.grad).all(), pname
        if name in SHIFT_INVARIANT and index == len(parameters) - 1:
            # The output bias shifts every risk score equally: the Cox partial likelihood and
            # the pairwise ranking hinge do not change, so its gradient is zero up to rounding.
            assert parameter.grad.abs().sum() < 1e-5, pname
            continue
        assert parameter.grad.abs().sum() > 0, pname
    net.module_.eval()


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_batch_without_events_gives_finite_connected_loss(fitted, name):
    net = fitted[name]
    X, y = _data(32, seed=3)
    y["event"] = False
    loss = _batch_loss(net, X, y)
    assert torch.isfinite(loss) and loss.requires_grad
    loss.backward()


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_survival_curves_are_probabilities_that_never_increase(fitted, name):
    net = fitted[name]
    X, _ = _data(50, seed=4)
    curves = net.predict_survival_function(X, return_array=True)
    assert curves.shape == (50, len(net.unique_times_))
    assert np.all((curves >= 0) & (curves <= 1))
    assert np.all(np.diff(curves, axis=1) <= 1e-12)
    grid = np.linspace(0, 30, 61)
    matrix = net.predict_survival_matrix(X, grid)
    assert np.all(np.diff(matrix, axis=1) <= 1e-12)
    before = min(0.0, net.unique_times_[0]) - 1.0
    np.testing.assert_allclose(net.predict_survival_matrix(X, [before]), 1.0)
    functions = net.predict_survival_function(X[:3])
    np.testing.assert_allclose([fn(net.unique_times_[-1]) for fn in functions], curves[:3, -1],
                               rtol=1e-5)
    median = net.predict_median_time(X)
    finite = np.isfinite(median)
    if finite.any():
        at_median = np.diag(net.predict_survival_matrix(X[finite], median[finite]))
        assert np.all(at_median <= 0.5 + 1e-9)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_risk_follows_the_curves(fitted, name):
    net = fitted[name]
    X, _ = _data(200, seed=5)
    risk = net.predict(X)
    assert risk.shape == (200,) and np.isfinite(risk).all()
    if name == "WeibullAFT":  # curves may cross: the risk is minus the log median time
        summary = net.predict_median_time(X)
    else:  # discrete: minus the restricted mean; Breslow curves are monotone in the risk
        grid = np.linspace(0, np.max(net.unique_times_), 200)
        summary = net.predict_survival_matrix(X, grid).sum(axis=1)
    rho = np.corrcoef(np.argsort(np.argsort(risk)), np.argsort(np.argsort(-summary)))[0, 1]
    assert rho > 0.9


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_clone_and_pickle_round_trip(fitted, name):
    net = fitted[name]
    copy = clone(net)
    assert type(copy) is type(net)
    assert copy.get_params(deep=False).keys() == net.get_params(deep=False).keys()
    assert not hasattr(copy, "module_")
    X, _ = _data(20, seed=6)
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(restored.predict(X), net.predict(X))
    np.testing.assert_array_equal(restored.predict_survival_function(X, return_array=True),
                                  net.predict_survival_function(X, return_array=True))


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_refit_is_deterministic(name):
    X, y = _data(120)
    first = RECIPES[name]().set_params(max_epochs=2).fit(X, y).predict(X)
    second = RECIPES[name]().set_params(max_epochs=2).fit(X, y).predict(X)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(("kind", "model"), [("logistic_hazard", "LogisticHazard"),
                                             ("pmf", "PMF"), ("mtlr", "MTLR")])
def test_discrete_curves_equal_pycox_predict_surv(kind, model):
    import pycox.models

    phi = np.random.default_rng(0).normal(scale=2.0, size=(30, 7)).astype("float32")
    passthrough = torch.nn.Linear(7, 7)  # pycox's optimiser needs a parameter
    with torch.no_grad():
        passthrough.weight.copy_(torch.eye(7))
        passthrough.bias.zero_()
    reference = getattr(pycox.models, model)(passthrough).predict_surv(phi)
    np.testing.assert_allclose(discrete_survival(phi, kind), reference, atol=1e-6)


def test_unknown_loss_name_is_a_configuration_error():
    X, y = _data(40)
    with pytest.raises(ArgumentError, match="unknown loss 'coxx'.*cox_efron"):
        SurvivalNet(ls.models.MLP, loss="coxx").fit(X, y)
    with pytest.raises(ArgumentError, match="output must be one of"):
        SurvivalNet(ls.models.MLP, output="hazard").fit(X, y)


def test_custom_loss_with_discrete_output():
    from lightsaber.losses import pmf_loss

    X, y = _data(120)
    net = SurvivalNet(ls.models.MLP, loss=pmf_loss, output="pmf", cuts=6, max_epochs=2).fit(X, y)
    assert net.module_.layers[-1].out_features == 6
    assert net.predict_survival_function(X, return_array=True).shape == (120, 6)


def test_vaecox_uses_unlabelled_rows_with_missing_values():
    X, y = _data(80)
    unlabelled = np.random.default_rng(1).normal(size=(40, 4))
    unlabelled[::3, 1] = np.nan
    net = VAECox(module__hidden=(8,), module__latent_features=16, module__dropout=0.0,
                 pretrain_epochs=4, max_epochs=1)
    net.fit(X, y, unlabelled=unlabelled)
    assert len(net.pretrain_history_) == 4 and np.isfinite(net.pretrain_history_).all()
    assert net.pretrain_history_[-1] < net.pretrain_history_[0]
    with pytest.raises(ArgumentError, match="unlabelled must have 4 columns"):
        net.fit(X, y, unlabelled=unlabelled[:, :2])


def test_vaecox_rejects_sequences():
    X, y = _data(20)
    sequences = {"values": np.zeros((20, 3, 2), "float32"), "lengths": np.full(20, 3)}
    with pytest.raises(ArgumentError, match="cannot read sequences"):
        VAECox().fit(sequences, y)


@pytest.mark.parametrize("recipe", [DeepSurv, DeepHit, WeibullAFT])
def test_recipes_read_longitudinal_input_through_ls_fit(recipe):
    cohort = ls.datasets.load_sample_mortality(n_patients=300, seed=3)
    splits = cohort.split(val=0.2, test=0.2, seed=0)
    model = recipe(SequenceNet, module__hidden_size=8, max_epochs=2, batch_size=64)
    run = ls.fit(model, cohort, splits, task="survival", track=False, progress=False)
    assert np.isfinite(run.metrics["test"]["c_index"])
    assert "ibs" in run.metrics["test"]  # curves reached the evaluation


def test_weibull_learns_on_long_time_scales():
    """Durations in days (~1000): a zero-initialised log scale of 0 would be 1 day."""
    from sksurv.metrics import concordance_index_censored

    X, y = _data(400)
    y["time"] = y["time"] * 300.0
    net = WeibullAFT(module__hidden=(8,), max_epochs=30, lr=0.01).fit(X, y)
    assert 100 < np.median(net.predict_median_time(X)) < 20_000
    c_index = concordance_index_censored(y["event"], y["time"], net.predict(X))[0]
    assert c_index > 0.65


@pytest.mark.parametrize(("options", "message"), [
    ({"cuts": 1}, "cuts must be at least 2"),
    ({"cut_scheme": "uniform"}, "scheme must be 'equidistant' or 'quantiles'"),
    ({"cuts": [3.0, 1.0]}, "increasing 1-D grid"),
])
def test_bad_grid_arguments_are_configuration_errors(options, message):
    X, y = _data(40)
    with pytest.raises(ArgumentError, match=message):
        DeepHit(max_epochs=1, **options).fit(X, y)
