"""net.fit(X, y) called scikit-learn style: an internal validation split, an unscaled warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sksurv.util import Surv

from lightsaber.exceptions import ArgumentError, UnscaledInputWarning
from lightsaber.models import MLP, ClassifierNet, DeepSurv


def _survival(n=300, seed=0, scales=(1.0, 1.0, 1.0)):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype("float32")
    y = Surv.from_arrays(rng.random(n) < 0.7, rng.exponential(np.exp(-X[:, 0])))
    return X * np.asarray(scales, dtype="float32"), y


def test_early_stopping_without_val_holds_out_a_seeded_stratified_fraction():
    X, y = _survival()
    net = DeepSurv(module__hidden=(8,), max_epochs=30, early_stopping=3, progress=False)
    net.fit(X, y)
    assert net.n_validation_ == 30  # 10% of 300
    assert "valid_loss" in net.history[-1]  # early stopping had a validation loss to watch
    again = DeepSurv(module__hidden=(8,), max_epochs=30, early_stopping=3, progress=False)
    again.fit(X, y)
    np.testing.assert_array_equal(net.predict(X), again.predict(X))  # same rows, same seed
    other = DeepSurv(module__hidden=(8,), max_epochs=30, early_stopping=3, random_state=1,
                     progress=False).fit(X, y)
    assert not np.array_equal(net.predict(X), other.predict(X))


def test_the_held_out_rows_keep_the_event_rate():
    from lightsaber.models.nets.raw_fit import hold_out

    X, y = _survival(n=1000)
    (_, y_fit), (_, y_val) = hold_out(X, y, 0.1, seed=0, stratify=y["event"])
    assert len(y_val) == 100
    assert abs(y_val["event"].mean() - y["event"].mean()) < 0.01


def test_given_val_or_no_early_stopping_means_no_hold_out():
    X, y = _survival()
    with_val = DeepSurv(module__hidden=(8,), max_epochs=3, progress=False).fit(
        X[:240], y[:240], val=(X[240:], y[240:]))
    assert with_val.n_validation_ == 60
    fixed = DeepSurv(module__hidden=(8,), max_epochs=3, validation_fraction=None,
                     progress=False).fit(X, y)
    assert fixed.n_validation_ == 0 and len(fixed.history) == 3
    assert "valid_loss" not in fixed.history[-1]
    no_stop = DeepSurv(module__hidden=(8,), max_epochs=3, early_stopping=None,
                       progress=False).fit(X, y)
    assert no_stop.n_validation_ == 0


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.2, True, "10%"])
def test_a_bad_validation_fraction_is_an_argument_error(bad):
    X, y = _survival(n=60)
    with pytest.raises(ArgumentError, match="validation_fraction"):
        DeepSurv(validation_fraction=bad, max_epochs=1).fit(X, y)


def test_unscaled_inputs_warn_once_and_only_then():
    X, y = _survival(scales=(1.0, 1000.0, 1.0))
    with pytest.warns(UnscaledInputWarning, match="differ by") as caught:
        DeepSurv(module__hidden=(4,), max_epochs=2, progress=False).fit(X, y)
    assert len([w for w in caught if w.category is UnscaledInputWarning]) == 1
    X_ok, y_ok = _survival(scales=(1.0, 50.0, 1.0))  # within 100x: quiet
    rng = np.random.default_rng(1)
    rare = (rng.random((300, 1)) < 0.002).astype("float32")  # a rare one-hot column
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnscaledInputWarning)
        DeepSurv(module__hidden=(4,), max_epochs=2, progress=False).fit(X_ok, y_ok)
        DeepSurv(module__hidden=(4,), max_epochs=2, progress=False).fit(
            np.hstack([X_ok, rare]), y_ok)


def test_a_classifier_holds_out_by_label():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)).astype("float32")
    y = (X[:, 0] > 0.8).astype(int)
    net = ClassifierNet(MLP, module__hidden=(4,), max_epochs=5, early_stopping=2,
                        progress=False).fit(X, y)
    assert net.n_validation_ == 20
