"""Named deep competing-risks models: a network and a competing-risks loss, ready to fit.

Each is a :class:`~lightsaber.models.CompetingRisksNet` with a default loss, so it takes a
competing-risks target (:func:`lightsaber.data.make_competing_target`), fits the time grid as
the single-event discrete recipes do, stops early on ``fit(X, y, val=(X_val, y_val))``, reads
``SequenceNet`` input, clones and pickles, and predicts as
:class:`~lightsaber.models.CauseSpecificCox` does (``predict_cumulative_incidence(X, times,
cause=k)``, ``predict_event_free_survival``, ``predict``, ``causes_``):

===========================  ================================  ===============================
recipe                       loss                              single-event counterpart
===========================  ================================  ===============================
``DeepHitCompeting``         ``"deephit_competing"``           ``DeepHit``
``LogisticHazardCompeting``  ``"logistic_hazard_competing"``   ``LogisticHazard``
===========================  ================================  ===============================

They keep :class:`~lightsaber.models.CompetingRisksNet`'s (``SurvivalNet``'s) training
defaults: the defaults study (``benchmarks/defaults_study.py``) has not covered them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from lightsaber.models.modules import MLP
from lightsaber.models.nets.competing import CompetingRisksNet

__all__ = ["DeepHitCompeting", "LogisticHazardCompeting"]


class DeepHitCompeting(CompetingRisksNet):
    """DeepHit for competing risks (Lee et al. 2018), pycox's ``DeepHit``.

    One joint probability mass over (cause, time bin) pairs and "no event on the grid"; loss
    ``alpha * NLL + (1 - alpha) * ranking`` (:func:`lightsaber.losses.deephit_competing_loss`,
    pycox's weighting; ``loss_options={"alpha": ..., "sigma": ...}``, defaults 0.2 and 0.1).
    The cumulative incidence of cause ``k`` is the running sum of its masses on the grid.

    Parameters
    ----------
    module : nn.Module class or instance, default MLP
        The network (``SequenceNet`` for longitudinal input).
    loss : str or callable, default "deephit_competing"
        The loss (see :class:`~lightsaber.models.CompetingRisksNet`).
    **kwargs
        Any :class:`~lightsaber.models.CompetingRisksNet` parameter (``cuts``,
        ``cut_scheme``, ``loss_options``, ``lr``, ``max_epochs``, ``module__hidden`` ...).

    Examples
    --------
    >>> import numpy as np
    >>> from lightsaber.data import make_competing_target
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)).astype("float32")
    >>> y = make_competing_target(rng.integers(0, 3, 200), rng.exponential(np.exp(-X[:, 0])))
    >>> net = DeepHitCompeting(cuts=10, max_epochs=3).fit(X, y)
    >>> cif = net.predict_cumulative_incidence(X[:2], [0.5, 1.0, 2.0], cause=1)
    >>> cif.shape, bool((np.diff(cif, axis=1) >= 0).all())
    ((2, 3), True)
    """

    def __init__(self, module: type[nn.Module] | nn.Module = MLP, *,
                 loss: str | Callable[..., torch.Tensor] = "deephit_competing",
                 **kwargs: Any) -> None:
        super().__init__(module, loss=loss, **kwargs)


class LogisticHazardCompeting(CompetingRisksNet):
    """Discrete-time competing risks with one logistic hazard per cause and interval.

    In each interval of the grid the network gives the probabilities of {no event, cause 1,
    ..., cause K} for a patient still event-free, ``softmax([0, phi_1, ..., phi_K])``: the
    multinomial discrete-time competing-risks likelihood
    (:func:`lightsaber.losses.logistic_hazard_competing_loss`), which is
    :class:`~lightsaber.models.LogisticHazard`'s for one cause.

    Parameters
    ----------
    module : nn.Module class or instance, default MLP
        The network (``SequenceNet`` for longitudinal input).
    loss : str or callable, default "logistic_hazard_competing"
        The loss (see :class:`~lightsaber.models.CompetingRisksNet`).
    **kwargs
        Any :class:`~lightsaber.models.CompetingRisksNet` parameter (``cuts``,
        ``cut_scheme``, ``lr``, ``max_epochs``, ``module__hidden`` ...).

    Examples
    --------
    >>> import numpy as np
    >>> from lightsaber.data import make_competing_target
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)).astype("float32")
    >>> y = make_competing_target(rng.integers(0, 3, 200), rng.exponential(np.exp(-X[:, 0])))
    >>> net = LogisticHazardCompeting(cuts=10, max_epochs=3).fit(X, y)
    >>> times = [0.5, 1.0]
    >>> total = sum(net.predict_cumulative_incidence(X, times, cause=k) for k in net.causes_)
    >>> bool(np.allclose(total + net.predict_event_free_survival(X, times), 1.0))
    True
    """

    def __init__(self, module: type[nn.Module] | nn.Module = MLP, *,
                 loss: str | Callable[..., torch.Tensor] = "logistic_hazard_competing",
                 **kwargs: Any) -> None:
        super().__init__(module, loss=loss, **kwargs)
