r"""Pairwise ranking (hinge) loss of RankSVX-style models, with an optional regression term.

Comparable pairs are :math:`(i, j)` with an observed event for :math:`i` and a strictly later
time for :math:`j` (:math:`\delta_i = 1,\ t_j > t_i`); ``j`` may be censored. The number of such
pairs grows as ``n**2``, so the exact loss is computed over blocks of pairs whose gradient is
accumulated in the same pass (memory ``O(n + block)``, not ``O(pairs)``), and ``max_pairs``
switches to an unbiased estimate from pairs sampled uniformly with replacement.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import once_differentiable

from lightsaber._moved import renamed_keywords
from lightsaber.exceptions import LossInputError
from lightsaber.losses._ordering import argsort_durations
from lightsaber.losses._validation import as_duration, as_event, as_prediction, check_option

__all__ = ["ranking_hinge_loss"]

#: Largest number of pairs held in memory at once by the exact computation (~50 MB in float32).
_BLOCK_PAIRS = 1 << 22


class _BlockedHinge(torch.autograd.Function):
    """Sum of ``max(0, margin - (risk[i] - risk[j]))`` over comparable pairs, in blocks.

    ``risk`` is sorted by time (ascending); event ``k`` sits at row ``row[k]`` and is comparable
    with every row from ``start[k]`` on. The gradient of each pair is -1 for ``i`` and +1 for
    ``j`` while the hinge is active, so only two count vectors are kept.
    """

    @staticmethod
    def forward(ctx, risk: torch.Tensor, row: torch.Tensor, start: torch.Tensor,
                margin: float) -> torch.Tensor:
        n = risk.shape[0]
        need_grad = ctx.needs_input_grad[0]
        total = torch.zeros((), dtype=torch.float64, device=risk.device)
        gradient = torch.zeros(n, dtype=torch.float64, device=risk.device)
        positions = torch.arange(n, device=risk.device)
        starts = start.tolist()
        first = 0
        while first < len(starts):
            width = n - starts[first]
            last = min(len(starts), first + max(1, _BLOCK_PAIRS // max(width, 1)))
            columns = risk[starts[first]:]
            gap = margin - (risk.index_select(0, row[first:last])[:, None] - columns[None, :])
            active = (gap > 0) & (positions[starts[first]:][None, :] >= start[first:last, None])
            total += torch.where(active, gap, 0.0).sum(dtype=torch.float64)
            if need_grad:  # active pairs per earlier member (-1 each) and later member (+1)
                gradient.index_add_(0, row[first:last], -active.sum(dim=1).to(torch.float64))
                gradient[starts[first]:] += active.sum(dim=0).to(torch.float64)
            first = last
        ctx.save_for_backward(gradient.to(risk.dtype))
        return total.to(risk.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        (gradient,) = ctx.saved_tensors
        return grad_output * gradient, None, None, None


def _check_options(margin: float, regression_weight: float, max_pairs: int | None) -> None:
    if not margin >= 0:
        raise LossInputError(f"margin must be >= 0; got {margin!r}.")
    if not regression_weight >= 0:
        raise LossInputError(f"regression_weight must be >= 0; got {regression_weight!r}.")
    if max_pairs is not None and (isinstance(max_pairs, bool) or not isinstance(max_pairs, int)
                                  or max_pairs < 1):
        raise LossInputError(f"max_pairs must be a positive integer or None; got {max_pairs!r}.")


@renamed_keywords(risk="prediction")
def ranking_hinge_loss(prediction: torch.Tensor, duration: Any, event: Any, *, margin: float = 1.0,
                       regression_weight: float = 0.0, max_pairs: int | None = None,
                       generator: torch.Generator | None = None,
                       reduction: str = "mean") -> torch.Tensor:
    r"""Hinge loss over comparable pairs, plus an optional survival-SVM regression term.

    Ranking term, over the set :math:`P` of comparable pairs
    (:math:`\delta_i = 1,\ t_j > t_i`; risk **higher = earlier event**):

    .. math::

        L_\text{rank} = \sum_{(i, j) \in P} \max\big(0,\ \text{margin} - (\eta_i - \eta_j)\big)

    Regression term (``regression_weight`` :math:`\lambda > 0`), in the spirit of the hybrid
    survival SVM (Van Belle et al. 2011; scikit-survival's ``FastSurvivalSVM`` with
    ``rank_ratio < 1`` uses the same residuals on log time, but squares the hinge and mixes the
    terms as :math:`r` and :math:`1 - r`): the prediction of log survival time is
    :math:`-\eta_i`, and with the residual :math:`r_i = \log t_i + \eta_i`

    .. math::

        L_\text{reg} = \sum_i \big[\delta_i\, r_i^2 + (1 - \delta_i) \max(0, r_i)^2\big],

    i.e. squared error on event times and, for censored rows, only when the predicted time falls
    before the censoring time. Durations must then be > 0, and the risk is on the scale of
    log time.

    Parameters
    ----------
    prediction : Tensor, shape (n,) or (n, 1)
        The network's output: a risk score per row. (Every loss's first argument is its
        ``prediction``; ``risk=`` is the old keyword, still accepted with a warning.)
        Risk score (higher = earlier event).
    duration, event : Tensor or array-like, shape (n,)
        Follow-up time and event indicator (1 = event, 0 = censored).
    margin : float, default 1.0
        Margin of the hinge.
    regression_weight : float, default 0.0
        :math:`\lambda`; 0 gives the pure ranking loss.
    max_pairs : int, optional
        If the batch has more comparable pairs than this, estimate the ranking term from
        ``max_pairs`` pairs drawn uniformly with replacement (unbiased for the mean and, scaled
        by :math:`|P|`, for the sum). Otherwise every pair is used, in blocks of at most
        ``2**22`` pairs.
    generator : torch.Generator, optional
        Random source for the sampled pairs (on the CPU); the global generator if None.
    reduction : {"mean", "sum"}, default "mean"
        ``"mean"``: :math:`L_\text{rank} / |P| + \lambda L_\text{reg} / n`; ``"sum"``:
        :math:`L_\text{rank} + \lambda L_\text{reg}`.

    Returns
    -------
    Tensor
        A scalar of ``prediction``'s dtype. Without comparable pairs (e.g. no events) the ranking
        term is ``prediction.sum() * 0``: zero and connected to the graph.

    Examples
    --------
    >>> risk = torch.tensor([2.0, 0.5, 0.0], requires_grad=True)
    >>> duration, event = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1, 1, 0])
    >>> ranking_hinge_loss(risk, duration, event, reduction="sum").item()  # only (1, 2) active
    0.5
    >>> round(ranking_hinge_loss(risk, duration, event).item(), 4)  # 3 comparable pairs
    0.1667
    >>> round(ranking_hinge_loss(risk, duration, event, regression_weight=0.1).item(), 4)
    0.3877
    """
    check_option(reduction, "reduction", ("mean", "sum"))
    _check_options(margin, regression_weight, max_pairs)
    risk = as_prediction(prediction, width=1, name="prediction")
    n = risk.shape[0]
    duration = as_duration(duration, n, risk.device, positive=regression_weight > 0)
    event = as_event(event, n, risk.device)

    order = argsort_durations(duration, descending=False)
    time_sorted = duration.index_select(0, order)
    risk_sorted = risk.index_select(0, order)
    row = torch.nonzero(event.index_select(0, order)).reshape(-1)
    start = torch.searchsorted(time_sorted, time_sorted.index_select(0, row), right=True)
    per_event = n - start
    n_pairs = int(per_event.sum())

    if n_pairs == 0:
        ranking = risk.sum() * 0.0
    elif max_pairs is None or n_pairs <= max_pairs:
        ranking = _BlockedHinge.apply(risk_sorted, row, start, float(margin))
        if reduction == "mean":
            ranking = ranking / n_pairs
    else:
        draw = torch.randint(n_pairs, (max_pairs,), generator=generator).to(risk.device)
        # Pair number u belongs to event k with ends[k - 1] <= u < ends[k]; its partner is the
        # (u - ends[k - 1])-th row after that event's comparable start.
        ends = torch.cumsum(per_event, dim=0)
        k = torch.searchsorted(ends, draw, right=True)
        offset = draw - (ends - per_event).index_select(0, k)
        j = start.index_select(0, k) + offset
        gap = margin - (risk_sorted.index_select(0, row.index_select(0, k))
                        - risk_sorted.index_select(0, j))
        ranking = torch.relu(gap).mean() * (1 if reduction == "mean" else n_pairs)

    if regression_weight == 0:
        return ranking
    residual = torch.log(duration).to(risk.dtype) + risk
    squared = torch.where(event, residual, torch.relu(residual)) ** 2
    regression = squared.mean() if reduction == "mean" else squared.sum()
    return ranking + regression_weight * regression
