r"""Discrete-time survival losses: pycox's, behind lightsaber's loss signature.

Each function is ``loss(prediction, duration_index, event, *, reduction="mean")`` with
``prediction`` of shape ``(n, n_bins)`` (one column per grid point, see
:func:`lightsaber.losses.discretise_durations`) and calls pycox 0.3's own loss
(``pycox.models.loss``), so values are pycox's by construction; the wrappers add input checks
and dtype handling. pycox is imported on first use, so ``lightsaber.losses`` (and the Cox loss
every ``SurvivalNet`` uses) imports without it. Conventions are pycox's: the network outputs
unconstrained scores :math:`\phi`; ``"mean"`` averages over rows, ``"sum"`` adds them up.

* logistic hazard (Kvamme & Borgan 2019): hazard :math:`h_{ik} = \mathrm{sigmoid}(\phi_{ik})`;
* PMF: :math:`P(T_i = k) = \mathrm{softmax}([\phi_i, 0])_k`, the extra zero logit being
  "after the grid";
* N-MTLR (Fotso 2018): the PMF model applied to reversed cumulative sums of :math:`\phi`;
* DeepHit, single risk (Lee et al. 2018): ``alpha * PMF NLL + (1 - alpha) * ranking term``,
  pycox's weighting (not the paper's).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import torch

from lightsaber.exceptions import LossInputError
from lightsaber.losses._validation import (
    as_duration_index,
    as_event,
    as_prediction,
    check_option,
)

__all__ = ["deephit_loss", "logistic_hazard_loss", "mtlr_loss", "pmf_loss"]


def pycox_module(name: str) -> ModuleType:
    """A pycox module, imported on first use: pycox is needed only by these losses.

    Examples
    --------
    >>> pycox_module("models.loss").__name__
    'pycox.models.loss'
    """
    try:
        return importlib.import_module(f"pycox.{name}")
    except ImportError as exc:
        raise ImportError(
            "the discrete-time losses and discretise_durations wrap pycox's: "
            "pip install 'pycox>=0.3' (it is in lightsaber's `dev` extra)."
        ) from exc


def _discrete_batch(prediction: torch.Tensor, duration_index: Any, event: Any,
                    reduction: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    check_option(reduction, "reduction", ("mean", "sum"))
    prediction = as_prediction(prediction, width=None)
    n, n_bins = prediction.shape
    index = as_duration_index(duration_index, n, n_bins, prediction.device)
    # pycox scatters the event into a tensor like the prediction: same dtype, or it fails.
    observed = as_event(event, n, prediction.device).to(prediction.dtype)
    return prediction, index, observed


def logistic_hazard_loss(prediction: torch.Tensor, duration_index: Any, event: Any, *,
                         reduction: str = "mean") -> torch.Tensor:
    r"""Negative log-likelihood of the logistic-hazard model (pycox ``nll_logistic_hazard``).

    .. math::

        L_i = -\sum_{k < \kappa_i} \log(1 - h_{ik}) - \delta_i \log h_{i\kappa_i}
              - (1 - \delta_i) \log(1 - h_{i\kappa_i})

    with :math:`\kappa_i` the row's bin index. Columns after :math:`\kappa_i` do not enter.

    Examples
    --------
    >>> phi = torch.zeros(2, 3, requires_grad=True)  # every hazard 1/2
    >>> round(logistic_hazard_loss(phi, torch.tensor([0, 2]), torch.tensor([1, 0])).item(), 4)
    1.3863
    """
    prediction, index, observed = _discrete_batch(prediction, duration_index, event, reduction)
    loss = pycox_module("models.loss")
    return loss.nll_logistic_hazard(prediction, index, observed, reduction=reduction)


def pmf_loss(prediction: torch.Tensor, duration_index: Any, event: Any, *,
             reduction: str = "mean") -> torch.Tensor:
    r"""Negative log-likelihood of the PMF model (pycox ``nll_pmf``, ``epsilon=1e-7``).

    With :math:`f_i = \mathrm{softmax}([\phi_i, 0])`: an event contributes
    :math:`-\log f_{i\kappa_i}`, a censored row :math:`-\log \sum_{k > \kappa_i} f_{ik}`.

    Examples
    --------
    >>> phi = torch.zeros(1, 3, requires_grad=True)  # 4 equally likely outcomes
    >>> round(pmf_loss(phi, torch.tensor([1]), torch.tensor([1])).item(), 4)  # log 4
    1.3863
    """
    prediction, index, observed = _discrete_batch(prediction, duration_index, event, reduction)
    return pycox_module("models.loss").nll_pmf(prediction, index, observed, reduction=reduction)


def mtlr_loss(prediction: torch.Tensor, duration_index: Any, event: Any, *,
              reduction: str = "mean") -> torch.Tensor:
    r"""Negative log-likelihood of N-MTLR (pycox ``nll_mtlr``).

    The PMF likelihood of :math:`\psi_{ik} = \sum_{l \ge k} \phi_{il}`.

    Examples
    --------
    >>> phi = torch.zeros(1, 3, requires_grad=True)
    >>> round(mtlr_loss(phi, torch.tensor([1]), torch.tensor([1])).item(), 4)
    1.3863
    """
    prediction, index, observed = _discrete_batch(prediction, duration_index, event, reduction)
    return pycox_module("models.loss").nll_mtlr(prediction, index, observed, reduction=reduction)


def _deephit_ranking(prediction: torch.Tensor, index: torch.Tensor, observed: torch.Tensor,
                     sigma: float, reduction: str) -> torch.Tensor:
    """Ranking term of pycox's ``rank_loss_deephit_single``, in the prediction's dtype.

    pycox 0.3 builds a float32 ``torch.ones`` inside it, so it fails on float64 predictions;
    this is the same arithmetic (tested equal to pycox's in float32) with the pair matrix of
    ``pycox.models.data.pair_rank_mat`` built on the prediction's device.
    """
    n = prediction.shape[0]
    pad_col = pycox_module("models.utils").pad_col
    cdf = pad_col(prediction).softmax(dim=1).cumsum(dim=1)
    at_times = cdf.index_select(1, index)  # [j, i] = F_j(T_i)
    diff = at_times.diagonal()[:, None] - at_times.T  # [i, j] = F_i(T_i) - F_j(T_i)
    event = observed.bool()
    earlier = index[:, None] < index[None, :]
    tied_vs_censored = (index[:, None] == index[None, :]) & ~event[None, :]
    pairs = (event[:, None] & (earlier | tied_vs_censored)).to(prediction.dtype)
    per_row = (pairs * torch.exp(-diff / sigma)).sum(dim=1) / n
    return per_row.mean() if reduction == "mean" else per_row.sum()


def deephit_loss(prediction: torch.Tensor, duration_index: Any, event: Any, *,
                 alpha: float = 0.2, sigma: float = 0.1,
                 reduction: str = "mean") -> torch.Tensor:
    r"""Single-risk DeepHit loss, pycox's ``DeepHitSingleLoss``.

    :math:`\alpha \cdot \text{PMF NLL} + (1 - \alpha) \cdot \text{rank}`, where the ranking
    term averages :math:`A_{ij} \exp(-(F_i(T_i) - F_j(T_i)) / \sigma)` over all ``n x n`` pairs
    (row means, then ``reduction``), with :math:`F` the predicted CDF and :math:`A_{ij} = 1`
    when :math:`i` has an event and :math:`T_i < T_j`, or :math:`T_i = T_j` with :math:`j`
    censored (pycox's ``pair_rank_mat``). Defaults are pycox ``DeepHitSingle``'s. Memory is
    ``O(n**2)`` per batch, as in pycox.

    Examples
    --------
    >>> phi = torch.zeros(2, 3, requires_grad=True)
    >>> round(deephit_loss(phi, torch.tensor([0, 2]), torch.tensor([1, 1])).item(), 4)
    0.4773
    """
    if not 0 <= alpha <= 1:
        raise LossInputError(f"alpha must lie in [0, 1]; got {alpha!r}.")
    if not sigma > 0:
        raise LossInputError(f"sigma must be > 0; got {sigma!r}.")
    prediction, index, observed = _discrete_batch(prediction, duration_index, event, reduction)
    likelihood = pycox_module("models.loss").nll_pmf(prediction, index, observed,
                                                     reduction=reduction)
    ranking = _deephit_ranking(prediction, index, observed, sigma, reduction)
    return alpha * likelihood + (1.0 - alpha) * ranking
