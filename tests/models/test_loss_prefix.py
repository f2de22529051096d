"""``loss__<name>=value`` (skorch's spelling) is a loss option, exactly as ``loss_options``."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sksurv.util import Surv

from lightsaber.exceptions import ArgumentError, LightsaberError
from lightsaber.losses import cox_ph_loss
from lightsaber.models import MLP, ClassifierNet, DeepHit, SurvivalNet

CALLS: list[dict] = []


def recording_loss(risk, duration, event, *, scale=1.0, ties="breslow"):
    """Cox loss that records the options it is called with (module level: clone keeps it)."""
    CALLS.append({"scale": scale, "ties": ties})
    return scale * cox_ph_loss(risk, duration, event, ties=ties)


@pytest.fixture
def survival_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3)).astype("float32")
    y = Surv.from_arrays(rng.random(120) < 0.7, rng.exponential(np.exp(-X[:, 0])))
    return X, y


def _small(net_class=SurvivalNet, **kwargs):
    return net_class(MLP, module__hidden=(4,), max_epochs=2, batch_size=64, **kwargs)


def test_loss_prefix_routes_to_the_loss_like_loss_options(survival_data):
    X, y = survival_data
    prefixed = _small(loss="deephit", loss__sigma=0.5, cuts=5).fit(X, y)
    options = _small(loss="deephit", loss_options={"sigma": 0.5}, cuts=5).fit(X, y)
    assert prefixed.criterion_.options == options.criterion_.options == {"sigma": 0.5}
    np.testing.assert_allclose(prefixed.predict(X), options.predict(X))
    both = _small(loss="deephit", loss__sigma=0.5, loss_options={"alpha": 0.3}, cuts=5).fit(X, y)
    assert both.criterion_.options == {"sigma": 0.5, "alpha": 0.3}
    # the recipes take it too
    assert DeepHit(loss__alpha=0.4, max_epochs=1, cuts=5).fit(X, y).criterion_.options == {
        "alpha": 0.4}


def test_clone_get_params_and_pickle_keep_the_option(survival_data):
    X, y = survival_data
    net = _small(loss="deephit", loss__sigma=0.5, cuts=5)
    assert net.get_params()["loss__sigma"] == 0.5
    copy = clone(net)
    assert copy.get_params()["loss__sigma"] == 0.5
    copy.fit(X, y)
    assert copy.criterion_.options == {"sigma": 0.5}
    again = pickle.loads(pickle.dumps(copy))
    assert again.get_params()["loss__sigma"] == 0.5
    np.testing.assert_allclose(again.predict(X[:5]), copy.predict(X[:5]))


def test_set_params_sets_the_option_before_and_after_fitting(survival_data):
    X, y = survival_data
    # what a tuning trial does: clone(model).set_params(**params), then fit
    net = clone(_small(loss="deephit", cuts=5)).set_params(loss__sigma=0.25, lr=0.01)
    assert net.get_params()["loss__sigma"] == 0.25 and net.lr == 0.01
    net.fit(X, y)
    assert net.criterion_.options == {"sigma": 0.25}
    # on a fitted net the loss is rebuilt at once (skorch re-initialises a changed criterion)
    net.set_params(loss__sigma=0.75)
    assert net.criterion_.options == {"sigma": 0.75}
    net.fit(X, y)
    assert net.criterion_.options == {"sigma": 0.75}


def test_a_tuning_trial_with_a_loss_prefixed_space(survival_data):
    import pandas as pd

    from lightsaber.data import Cohort
    from lightsaber.tuning.trial import fit_trial

    X, y = survival_data
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(
        id=np.arange(len(X)), time=y["time"], event=y["event"].astype(int))
    cohort = Cohort(frame, id="id", duration="time", event="event")
    splits = cohort.split(val=0.25, test=0.25, seed=0)
    run, _ = fit_trial(_small(loss=recording_loss), cohort, splits,
                       {"loss__scale": 0.5, "loss__ties": "efron"}, "c_index",
                       {"metrics": ["c_index"]})
    assert run.pipeline.model.criterion_.options == {"scale": 0.5, "ties": "efron"}


def test_the_option_reaches_the_loss_function_during_fit(survival_data):
    X, y = survival_data
    CALLS.clear()
    _small(loss=recording_loss, loss__scale=2.0, loss__ties="efron").fit(X, y)
    assert CALLS and all(call == {"scale": 2.0, "ties": "efron"} for call in CALLS)
    CALLS.clear()
    _small(loss=recording_loss).fit(X, y)
    assert CALLS and all(call == {"scale": 1.0, "ties": "breslow"} for call in CALLS)


def test_a_misspelt_prefixed_option_names_itself_the_loss_and_the_alternative(survival_data):
    X, y = survival_data
    with pytest.raises(ArgumentError) as info:
        _small(loss="deephit", loss__sigmaa=0.5, cuts=5).fit(X, y)
    message = str(info.value)
    for part in ("'loss__sigmaa'", "'deephit'", "alpha, sigma, reduction",
                 "Did you mean 'loss__sigma'?", "loss_options"):
        assert part in message, (part, message)
    assert isinstance(info.value, LightsaberError) and isinstance(info.value, ValueError)
    # a custom loss: its keyword options are listed, not the tensors it is called with
    with pytest.raises(ArgumentError, match=r"accepted: scale, ties\)") as info:
        _small(loss=recording_loss, loss__scael=1.0).fit(X, y)
    assert "recording_loss" in str(info.value)


def test_the_same_option_given_both_ways_is_an_error(survival_data):
    X, y = survival_data
    net = _small(loss="deephit", loss__sigma=0.5, loss_options={"sigma": 0.1}, cuts=5)
    with pytest.raises(ArgumentError, match=r"'sigma' is set twice: loss__sigma=0\.5 and "
                                                 r"loss_options\['sigma'\]=0\.1"):
        net.fit(X, y)


def test_classifier_net_has_no_loss_prefix_and_says_what_to_use_instead():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype("float32")
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(ArgumentError, match=r"loss__pos_weight.*criterion__"):
        ClassifierNet(MLP, loss__pos_weight=2.0, max_epochs=1).fit(X, y)
    with pytest.raises(ArgumentError, match=r"criterion__pos_weight set, but criterion=None"):
        ClassifierNet(MLP, criterion__pos_weight=2.0, max_epochs=1).fit(X, y)


def test_ls_tune_searches_a_loss_prefixed_option(survival_data, store_uri):
    import pandas as pd

    from lightsaber.data import Cohort
    from lightsaber.tuning import Choice, tune

    X, y = survival_data
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(
        id=np.arange(len(X)), time=y["time"], event=y["event"].astype(int))
    cohort = Cohort(frame, id="id", duration="time", event="event")
    splits = cohort.split(val=0.25, test=0.25, seed=0)
    result = tune(_small(loss="deephit", cuts=5), cohort, splits,
                  {"loss__sigma": Choice([0.1, 0.5])}, algorithm="grid", max_trials=2,
                  metric="c_index", metrics=["c_index"], tracking_uri=store_uri,
                  progress=False, refit=False)
    assert sorted(result.trials["loss__sigma"]) == [0.1, 0.5]
    assert set(result.trials["status"]) == {"ok"}
    assert result.best_params["loss__sigma"] in (0.1, 0.5)


def test_a_misspelt_loss_option_in_a_search_space_fails_before_trial_0():
    from lightsaber.tuning import Choice, SpaceKeyError
    from lightsaber.tuning.study import check_space_keys

    net = SurvivalNet(MLP, loss="deephit")
    check_space_keys({"loss__sigma": Choice([0.1, 1.0])}, net)
    with pytest.raises(SpaceKeyError, match="loss__sigmaa.*Did you mean 'loss__sigma'"):
        check_space_keys({"loss__sigmaa": Choice([0.1, 1.0])}, net)
