"""The registry of time-to-event losses: one entry per name, with the output width it needs.

Every entry is called as ``loss(prediction, duration, event)`` (``duration`` being a bin index
for the discrete-time losses), so a trainer, a config file or a contract test can treat them
alike. :func:`lightsaber.losses.vae_loss` is not here: it scores a reconstruction, not a
survival outcome. The competing-risks losses (``"deephit_competing"``,
``"logistic_hazard_competing"``) take a cause code (0 = censored, ``1..K``) as ``event`` and
one output column per cause and grid point; with a single cause they are single-event losses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import torch

from lightsaber.exceptions import LossInputError
from lightsaber.losses.competing import deephit_competing_loss, logistic_hazard_competing_loss
from lightsaber.losses.cox import cox_ph_loss
from lightsaber.losses.discrete import deephit_loss, logistic_hazard_loss, mtlr_loss, pmf_loss
from lightsaber.losses.ranking import ranking_hinge_loss
from lightsaber.losses.weibull import weibull_aft_loss

__all__ = ["LOSSES", "LossSpec", "PER_CAUSE_AND_TIME_BIN", "PER_TIME_BIN", "get_loss"]

#: ``output_width`` of losses that need one output column per grid point.
PER_TIME_BIN = "n_bins"
#: ``output_width`` of competing-risks losses: one column per cause and grid point.
PER_CAUSE_AND_TIME_BIN = "n_causes * n_bins"


@dataclass(frozen=True)
class LossSpec:
    """A registered loss: the function, fixed options, and what the network must output.

    Attributes
    ----------
    name : str
        Registry key.
    function : callable
        ``function(prediction, duration, event, **options) -> scalar Tensor``.
    options : dict
        Keyword arguments fixed by this entry (e.g. ``{"ties": "efron"}``). A plain dict, so
        the spec deep-copies and pickles (scikit-learn's ``clone`` of a net holding it).
    output_width : int or str
        Columns of ``prediction``: 1 (a risk score), 2 (Weibull log scale, log shape),
        :data:`PER_TIME_BIN` (``"n_bins"``: one per grid point of
        :func:`~lightsaber.losses.discretise_durations`) or :data:`PER_CAUSE_AND_TIME_BIN`
        (``"n_causes * n_bins"``: one per cause and grid point, viewed as
        ``(n, n_causes, n_bins)``).
    time : {"continuous", "discrete"}
        Whether ``duration`` is a time or a bin index.
    reference : str
        What its values are tested against (details in ``docs/losses.md``).

    Examples
    --------
    >>> spec = LOSSES["weibull_aft"]
    >>> spec.width(), LOSSES["pmf"].width(n_bins=10)
    (2, 10)
    >>> LOSSES["deephit_competing"].width(n_bins=10, n_causes=2)
    20
    """

    name: str
    function: Callable[..., torch.Tensor]
    output_width: int | str
    time: str
    reference: str
    options: dict[str, Any] = field(default_factory=dict, hash=False)

    def width(self, n_bins: int | None = None, n_causes: int = 1) -> int:
        """Number of output columns the network needs.

        ``n_bins`` for per-bin losses; ``n_causes * n_bins`` for competing-risks losses
        (``n_causes`` defaults to 1, a single event).
        """
        if self.output_width not in (PER_TIME_BIN, PER_CAUSE_AND_TIME_BIN):
            return int(self.output_width)
        if n_bins is None:
            raise LossInputError(
                f"loss {self.name!r} needs one output per time bin: pass n_bins "
                "(len(cuts) from discretise_durations).")
        if self.output_width == PER_CAUSE_AND_TIME_BIN:
            return int(n_causes) * int(n_bins)
        return int(n_bins)

    def __call__(self, prediction: torch.Tensor, duration: Any, event: Any,
                 **options: Any) -> torch.Tensor:
        """Apply the loss with this entry's options (call-site options override them)."""
        return self.function(prediction, duration, event, **{**self.options, **options})


def _spec(name: str, function: Callable[..., torch.Tensor], output_width: int | str,
          time: str, reference: str, **options: Any) -> LossSpec:
    return LossSpec(name, function, output_width, time, reference, dict(options))


#: Read-only mapping of loss name to :class:`LossSpec`.
LOSSES: Mapping[str, LossSpec] = MappingProxyType({
    "cox": _spec("cox", cox_ph_loss, 1, "continuous",
                 "R survival::coxph logLik (ties='breslow')"),
    "cox_efron": _spec("cox_efron", cox_ph_loss, 1, "continuous",
                       "R survival::coxph logLik (ties='efron')", ties="efron"),
    "deephit": _spec("deephit", deephit_loss, PER_TIME_BIN, "discrete",
                     "pycox DeepHitSingleLoss"),
    "deephit_competing": _spec("deephit_competing", deephit_competing_loss,
                               PER_CAUSE_AND_TIME_BIN, "discrete",
                               "pycox DeepHitLoss (nll_pmf_cr + rank_loss_deephit_cr)"),
    "logistic_hazard": _spec("logistic_hazard", logistic_hazard_loss, PER_TIME_BIN, "discrete",
                             "pycox nll_logistic_hazard"),
    "logistic_hazard_competing": _spec(
        "logistic_hazard_competing", logistic_hazard_competing_loss, PER_CAUSE_AND_TIME_BIN,
        "discrete", "direct loop over the multinomial likelihood; logistic_hazard for K = 1"),
    "mtlr": _spec("mtlr", mtlr_loss, PER_TIME_BIN, "discrete", "pycox nll_mtlr"),
    "pmf": _spec("pmf", pmf_loss, PER_TIME_BIN, "discrete", "pycox nll_pmf"),
    "ranking": _spec("ranking", ranking_hinge_loss, 1, "continuous",
                     "brute-force pair enumeration"),
    "weibull_aft": _spec("weibull_aft", weibull_aft_loss, 2, "continuous",
                         "R survival::survreg loglik (dist='weibull')"),
})


def get_loss(name: str) -> LossSpec:
    """Look a loss up by name, with a message listing the names when it is unknown.

    Examples
    --------
    >>> get_loss("cox_efron").options["ties"]
    'efron'
    """
    try:
        return LOSSES[name]
    except KeyError:
        raise LossInputError(
            f"unknown loss {name!r}; registered losses: {', '.join(sorted(LOSSES))}."
        ) from None
