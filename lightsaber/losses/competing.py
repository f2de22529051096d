r"""Discrete-time competing-risks losses: DeepHit (pycox's) and a multinomial logistic hazard.

Each function is ``loss(prediction, duration_index, cause, *, ..., reduction="mean")`` with

* ``prediction`` of shape ``(n, K, n_bins)``: one unconstrained score :math:`\phi_{ikj}` per
  row, cause ``k`` and grid point ``j`` (see :func:`lightsaber.losses.discretise_durations`).
  A 2-d ``(n, n_bins)`` prediction is read as one cause (``K = 1``), so each loss is also a
  single-event loss and fits the registry's ``loss(prediction, duration, event)`` contract;
* ``duration_index`` the bin index of each row, in ``[0, n_bins)``;
* ``cause`` the cause of each row, coded ``0`` = censored and ``1..K`` = the cause that ended
  follow-up (a position among the model's causes, not necessarily the status code of the
  data; booleans read as 0/1).

``"mean"`` averages over rows, ``"sum"`` adds them up (pycox's reductions).

* :func:`deephit_competing_loss` — DeepHit for competing risks (Lee et al. 2018), pycox 0.3's
  ``DeepHitLoss(alpha, sigma)``: ``alpha * nll_pmf_cr + (1 - alpha) * rank_loss_deephit_cr``.
  The joint PMF over causes and bins is :math:`f_{ikj} = \mathrm{softmax}([\phi_i, 0])_{kj}`,
  the softmax taken over all ``K * n_bins`` scores plus a zero logit for "no event on the grid".
* :func:`logistic_hazard_competing_loss` — the multinomial discrete-time competing-risks
  likelihood (one logistic hazard per cause and interval): within interval ``j`` the
  probabilities of {no event, cause 1, ..., cause K}, given no event before, are
  :math:`\mathrm{softmax}([0, \phi_{i1j}, \ldots, \phi_{iKj}])`. With ``K = 1`` this is the
  logistic hazard, :math:`h_{ij} = \mathrm{sigmoid}(\phi_{ij})`, and the loss equals
  :func:`lightsaber.losses.logistic_hazard_loss`.

Both compute pycox's arithmetic in the prediction's dtype and on its device (pycox 0.3's
``rank_loss_deephit_cr`` builds float32 CPU tensors inside, so it fails on float64 or GPU
inputs); ``tests/models/test_competing_nets.py`` checks them against pycox's functions and
against a direct loop over the likelihood.
"""

from __future__ import annotations

from typing import Any

import torch

from lightsaber.exceptions import LossInputError
from lightsaber.losses._validation import (
    as_cause,
    as_duration_index,
    as_prediction,
    check_option,
)

__all__ = ["deephit_competing_loss", "logistic_hazard_competing_loss"]

#: pycox's ``epsilon`` inside the logarithms of ``nll_pmf_cr``.
EPSILON = 1e-7


def as_competing_prediction(prediction: Any, name: str = "prediction") -> torch.Tensor:
    """Check a competing-risks network output and bring it to shape ``(n, K, n_bins)``.

    A 2-d ``(n, n_bins)`` output is one cause (``K = 1``).

    Examples
    --------
    >>> as_competing_prediction(torch.zeros(4, 2, 3)).shape
    torch.Size([4, 2, 3])
    >>> as_competing_prediction(torch.zeros(4, 3)).shape
    torch.Size([4, 1, 3])
    """
    if not isinstance(prediction, torch.Tensor) or not prediction.is_floating_point():
        as_prediction(prediction, width=None, name=name)  # raises: not a float tensor
    shape = tuple(prediction.shape)
    if len(shape) == 2 and shape[1] >= 1:
        return prediction.unsqueeze(1)
    if len(shape) == 3 and shape[1] >= 1 and shape[2] >= 1:
        return prediction
    raise LossInputError(
        f"{name} must have shape (n, n_causes, n_bins), or (n, n_bins) for one cause; got "
        f"{shape}. Reshape the network's K * n_bins outputs with "
        "prediction.view(n, K, n_bins).")


def _competing_batch(prediction: Any, duration_index: Any, cause: Any, reduction: str
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    check_option(reduction, "reduction", ("mean", "sum"))
    phi = as_competing_prediction(prediction)
    n, n_causes, n_bins = phi.shape
    index = as_duration_index(duration_index, n, n_bins, phi.device)
    return phi, index, as_cause(cause, n, n_causes, phi.device)


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    return loss.mean() if reduction == "mean" else loss.sum()


def _joint_pmf(phi: torch.Tensor) -> torch.Tensor:
    """``f[i, k, j]``: softmax over every (cause, bin) score and a zero "after the grid" logit."""
    n = phi.shape[0]
    flat = phi.reshape(n, -1)
    padded = torch.cat([flat, torch.zeros_like(flat[:, :1])], dim=1)
    return padded.softmax(dim=1)[:, :-1].reshape(phi.shape)


def _nll_pmf_cr(phi: torch.Tensor, index: torch.Tensor, cause: torch.Tensor,
                reduction: str) -> torch.Tensor:
    """NLL as pycox's ``nll_pmf_cr``: ``-log f[i, c_i, kappa_i]``; censored ``-log S(kappa_i)``."""
    pmf = _joint_pmf(phi)
    rows = torch.arange(phi.shape[0], device=phi.device)
    observed = cause > 0
    at_event = pmf[rows, (cause - 1).clamp(min=0), index]
    beyond = 1.0 - pmf.cumsum(dim=2)[rows, :, index].sum(dim=1)
    likelihood = torch.where(observed, at_event.relu().add(EPSILON).log(),
                             beyond.relu().add(EPSILON).log())
    return _reduce(-likelihood, reduction)


def _rank_cr(phi: torch.Tensor, index: torch.Tensor, cause: torch.Tensor, sigma: float,
             reduction: str) -> torch.Tensor:
    """The ranking term of pycox's ``rank_loss_deephit_cr``, in the prediction's dtype.

    Row ``i`` with cause ``k`` is compared with every ``j`` that left later (``T_j > T_i``) or
    was censored at ``T_i``: ``exp(-(F_k(T_i | x_i) - F_k(T_i | x_j)) / sigma)``, averaged over
    all ``n`` columns ``j``; censored rows contribute 0.
    """
    n = phi.shape[0]
    cdf = _joint_pmf(phi).cumsum(dim=2)
    observed = cause > 0
    at_times = cdf[:, (cause - 1).clamp(min=0), index]  # [j, i] = F_{c_i}(T_i | x_j)
    diff = at_times.diagonal()[:, None] - at_times.T  # [i, j] = F(T_i | x_i) - F(T_i | x_j)
    earlier = index[:, None] < index[None, :]
    tied_vs_censored = (index[:, None] == index[None, :]) & ~observed[None, :]
    pairs = (observed[:, None] & (earlier | tied_vs_censored)).to(phi.dtype)
    per_row = (pairs * torch.exp(-diff / sigma)).sum(dim=1) / n
    return _reduce(per_row, reduction)


def deephit_competing_loss(prediction: torch.Tensor, duration_index: Any, cause: Any, *,
                           alpha: float = 0.2, sigma: float = 0.1,
                           reduction: str = "mean") -> torch.Tensor:
    r"""Competing-risks DeepHit loss, pycox 0.3's ``DeepHitLoss`` (``DeepHit`` for K causes).

    :math:`\alpha \cdot \text{NLL} + (1 - \alpha) \cdot \text{rank}`. With the joint PMF
    :math:`f_{ikj}` over causes and bins (module docstring) and :math:`F_{ik}(j) = \sum_{l \le
    j} f_{ikl}`, a row with cause :math:`c_i` at bin :math:`\kappa_i` contributes
    :math:`-\log(f_{i c_i \kappa_i} + \epsilon)` and a censored one
    :math:`-\log(1 - \sum_k F_{ik}(\kappa_i) + \epsilon)` (:math:`\epsilon = 10^{-7}`; pycox's
    ``nll_pmf_cr``). The ranking term (pycox's ``rank_loss_deephit_cr``) averages, over all
    ``n x n`` pairs, :math:`A_{ij} \exp(-(F_{ic_i}(\kappa_i) - F_{jc_i}(\kappa_i)) / \sigma)`
    with :math:`A_{ij} = 1` when :math:`i` has an event (any cause) and :math:`\kappa_i <
    \kappa_j`, or :math:`\kappa_i = \kappa_j` with :math:`j` censored (``pair_rank_mat``).
    Defaults are pycox ``DeepHit``'s; ``alpha`` weighs the likelihood (not the paper's
    weighting). Memory is ``O(n**2)`` per batch, as in pycox.

    Parameters
    ----------
    prediction : Tensor, shape (n, K, n_bins) or (n, n_bins)
        Network scores, cause-major (``view(n, K, n_bins)`` of a ``K * n_bins`` output).
    duration_index : Tensor or array-like, shape (n,)
        Bin index per row.
    cause : Tensor or array-like, shape (n,)
        0 = censored, ``1..K`` = the cause.
    alpha : float, default 0.2
        Weight of the likelihood, in [0, 1] (1 = likelihood only).
    sigma : float, default 0.1
        Scale of the ranking term, > 0.
    reduction : {"mean", "sum"}, default "mean"
        Over rows, for both terms.

    Returns
    -------
    Tensor
        A scalar of the prediction's dtype.

    Examples
    --------
    >>> phi = torch.zeros(2, 2, 3, requires_grad=True)  # 7 equally likely outcomes
    >>> loss = deephit_competing_loss(phi, torch.tensor([0, 2]), torch.tensor([1, 2]))
    >>> round(loss.item(), 4)
    0.5892
    >>> round(deephit_competing_loss(phi, [0, 2], [1, 2], alpha=1.0).item(), 4)  # log 7
    1.9459
    """
    if not 0 <= alpha <= 1:
        raise LossInputError(
            f"alpha must lie in [0, 1] (the likelihood's weight; 1 = likelihood only); got "
            f"{alpha!r}.")
    if not sigma > 0:
        raise LossInputError(f"sigma must be > 0 (the ranking term's scale); got {sigma!r}.")
    phi, index, cause = _competing_batch(prediction, duration_index, cause, reduction)
    likelihood = _nll_pmf_cr(phi, index, cause, reduction)
    ranking = _rank_cr(phi, index, cause, sigma, reduction)
    return alpha * likelihood + (1.0 - alpha) * ranking


def logistic_hazard_competing_loss(prediction: torch.Tensor, duration_index: Any, cause: Any, *,
                                   reduction: str = "mean") -> torch.Tensor:
    r"""Negative log-likelihood of the multinomial discrete-time competing-risks model.

    In interval ``j`` the cause-specific discrete hazards of row ``i`` are
    :math:`h_{ikj} = \mathrm{softmax}([0, \phi_{i1j}, \ldots, \phi_{iKj}])_k` and the
    probability of no event there is :math:`h_{i0j} = 1 - \sum_k h_{ikj}`. With
    :math:`\kappa_i` the row's bin and :math:`c_i` its cause (0 = censored, counted as alive
    through bin :math:`\kappa_i`, pycox's convention for the logistic hazard):

    .. math::

        L_i = -\sum_{j < \kappa_i} \log h_{i0j} - \log h_{i c_i \kappa_i}.

    Bins after :math:`\kappa_i` do not enter. For one cause it is
    :func:`~lightsaber.losses.logistic_hazard_loss` (``softmax([0, phi])_1 =
    sigmoid(phi)``). Computed with ``log_softmax``, so it is finite for any finite scores.

    Parameters
    ----------
    prediction : Tensor, shape (n, K, n_bins) or (n, n_bins)
        Network scores, cause-major (``view(n, K, n_bins)`` of a ``K * n_bins`` output).
    duration_index : Tensor or array-like, shape (n,)
        Bin index per row.
    cause : Tensor or array-like, shape (n,)
        0 = censored, ``1..K`` = the cause.
    reduction : {"mean", "sum"}, default "mean"
        Over rows.

    Returns
    -------
    Tensor
        A scalar of the prediction's dtype.

    Examples
    --------
    >>> phi = torch.zeros(2, 2, 3, requires_grad=True)  # 1/3 each per interval
    >>> loss = logistic_hazard_competing_loss(phi, torch.tensor([0, 2]), torch.tensor([1, 0]))
    >>> round(loss.item(), 4)  # (log 3 + 3 log 3) / 2
    2.1972
    """
    phi, index, cause = _competing_batch(prediction, duration_index, cause, reduction)
    n, _, n_bins = phi.shape
    logits = torch.cat([torch.zeros_like(phi[:, :1]), phi], dim=1)  # (n, K + 1, n_bins)
    log_prob = torch.log_softmax(logits, dim=1)
    before = torch.arange(n_bins, device=phi.device)[None, :] < index[:, None]
    survived = torch.where(before, log_prob[:, 0, :], torch.zeros_like(log_prob[:, 0, :]))
    rows = torch.arange(n, device=phi.device)
    loss = -(survived.sum(dim=1) + log_prob[rows, cause, index])
    return _reduce(loss, reduction)
