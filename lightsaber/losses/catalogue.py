"""The registry of time-to-event losses: one entry per name, with the output width it needs.

Every entry is called as ``loss(prediction, duration, event)`` (``duration`` being a bin index
for the discrete-time losses), so a trainer, a config file or a contract test can treat them
alike. :func:`lightsaber.losses.vae_loss` is not here: it scores a reconstruction, not a
survival outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import torch

from lightsaber.exceptions import LossInputError
from lightsaber.losses.cox import cox_ph_loss
from lightsaber.losses.discrete import deephit_loss, logistic_hazard_loss, mtlr_loss, pmf_loss
from lightsaber.losses.ranking import ranking_hinge_loss
from lightsaber.losses.weibull import weibull_aft_loss

__all__ = ["LOSSES", "LossSpec", "PER_TIME_BIN", "get_loss"]

#: ``output_width`` of losses that need one output column per grid point.
PER_TIME_BIN = "n_bins"


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
    output_width : int or "n_bins"
        Columns of ``prediction``: 1 (a risk score), 2 (Weibull log scale, log shape) or
        :data:`PER_TIME_BIN` (one per grid point of
        :func:`~lightsaber.losses.discretise_durations`).
    time : {"continuous", "discrete"}
        Whether ``duration`` is a time or a bin index.
    reference : str
        What its values are tested against (details in ``docs/losses.md``).

    Examples
    --------
    >>> spec = LOSSES["weibull_aft"]
    >>> spec.width(), LOSSES["pmf"].width(n_bins=10)
    (2, 10)
    """

    name: str
    function: Callable[..., torch.Tensor]
    output_width: int | str
    time: str
    reference: str
    options: dict[str, Any] = field(default_factory=dict, hash=False)

    def width(self, n_bins: int | None = None) -> int:
        """Number of output columns the network needs (``n_bins`` for per-bin losses)."""
        if self.output_width != PER_TIME_BIN:
            return int(self.output_width)
        if n_bins is None:
            raise LossInputError(
                f"loss {self.name!r} needs one output per time bin: pass n_bins "
                "(len(cuts) from discretise_durations).")
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
    "logistic_hazard": _spec("logistic_hazard", logistic_hazard_loss, PER_TIME_BIN, "discrete",
                             "pycox nll_logistic_hazard"),
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
