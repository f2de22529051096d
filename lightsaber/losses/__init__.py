"""Time-to-event losses as plain functions ``loss(prediction, duration, event, **options)``.

One sign convention for every risk-output loss: a **risk** score is higher for an **earlier**
event (scikit-survival's ``predict``). Each loss returns a scalar tensor of the prediction's
dtype with a documented ``reduction`` (``"mean"`` or ``"sum"``); a batch without events gives a
finite value that is still connected to the graph, never NaN. Inputs are checked at the boundary
and problems raise :class:`LossInputError` (also a ``ValueError``).

* :func:`cox_ph_loss` — Cox partial likelihood, Breslow or Efron ties, optional strata;
* :func:`ranking_hinge_loss` — pairwise hinge (RankSVX) with an optional regression term;
* :func:`vae_loss` — VAE negative ELBO for VAECox pre-training, NaN-masked inputs;
* :func:`deephit_loss`, :func:`logistic_hazard_loss`, :func:`pmf_loss`, :func:`mtlr_loss` —
  pycox's discrete-time losses, with :func:`discretise_durations` for the grid;
* :func:`deephit_competing_loss`, :func:`logistic_hazard_competing_loss` — discrete-time
  competing-risks losses (pycox's DeepHit for K causes; the multinomial logistic hazard);
* :func:`weibull_aft_loss` — Weibull AFT negative log-likelihood (log scale, log shape).

:data:`LOSSES` registers every survival loss with the output width it needs. Formulas,
conventions and the reference each loss is tested against are in ``docs/losses.md``.

Examples
--------
>>> import torch
>>> from lightsaber.losses import LOSSES
>>> spec = LOSSES["cox_efron"]
>>> risk = torch.zeros(4, spec.width(), requires_grad=True)
>>> loss = spec(risk, torch.tensor([1.0, 1.0, 2.0, 3.0]), torch.tensor([1, 1, 0, 1]))
>>> round(loss.item(), 4)
0.8283
"""

from lightsaber.exceptions import LossInputError
from lightsaber.losses.catalogue import (
    LOSSES,
    PER_CAUSE_AND_TIME_BIN,
    PER_TIME_BIN,
    LossSpec,
    get_loss,
)
from lightsaber.losses.competing import deephit_competing_loss, logistic_hazard_competing_loss
from lightsaber.losses.cox import cox_ph_loss
from lightsaber.losses.discrete import deephit_loss, logistic_hazard_loss, mtlr_loss, pmf_loss
from lightsaber.losses.discretise import DiscreteTarget, discretise_durations
from lightsaber.losses.ranking import ranking_hinge_loss
from lightsaber.losses.vae import vae_loss
from lightsaber.losses.weibull import weibull_aft_loss

__all__ = [
    "DiscreteTarget",
    "LOSSES",
    "LossInputError",
    "LossSpec",
    "PER_CAUSE_AND_TIME_BIN",
    "PER_TIME_BIN",
    "cox_ph_loss",
    "deephit_competing_loss",
    "deephit_loss",
    "discretise_durations",
    "get_loss",
    "logistic_hazard_competing_loss",
    "logistic_hazard_loss",
    "mtlr_loss",
    "pmf_loss",
    "ranking_hinge_loss",
    "vae_loss",
    "weibull_aft_loss",
]
