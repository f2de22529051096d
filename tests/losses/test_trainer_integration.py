"""The width-1 registered losses train a ``SurvivalNet`` (the trainer's call convention).

``SurvivalNet.get_loss`` calls ``loss(prediction, duration, event)`` with float32 target
columns; a registry entry is a plain callable, and it survives scikit-learn's ``clone``.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sksurv.util import Surv

from lightsaber.losses import LOSSES
from lightsaber.models import MLP, SurvivalNet


@pytest.mark.parametrize("name", sorted(n for n, s in LOSSES.items() if s.output_width == 1))
def test_registered_loss_trains_a_survival_net(name):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype("float32")
    y = Surv.from_arrays(rng.random(200) < 0.7, np.ceil(10 * rng.exponential(np.exp(-x[:, 0]))))
    net = clone(SurvivalNet(MLP, loss=LOSSES[name], module__hidden=(8,), max_epochs=2,
                            lr=0.01)).fit(x, y)
    losses = [row["train_loss"] for row in net.history]
    assert np.isfinite(losses).all()
    assert net.predict(x).shape == (200,)
