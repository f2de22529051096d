"""Cox negative partial log-likelihood (Breslow ties), O(n log n).

Sort once by time, then a cumulative log-sum-exp gives every risk set; tied times share the
risk set of the first of them. No n x n matrix is built. Written here rather than taken from
pycox (``cox_ph_loss`` assumes no ties and a pre-sorted batch) or torchsurv (no strata, slower;
see ``benchmarks/``) because the trainer needs tie-correct, graph-connected values on any batch.
"""

from __future__ import annotations

import torch

__all__ = ["cox_ph_loss"]


def cox_ph_loss(risk: torch.Tensor, duration: torch.Tensor, event: torch.Tensor, *,
                reduction: str = "mean") -> torch.Tensor:
    """Negative Cox partial log-likelihood with Breslow's handling of ties.

    Parameters
    ----------
    risk : Tensor, shape (n,) or (n, 1)
        Log hazard ratio (higher = earlier event).
    duration : Tensor, shape (n,)
        Follow-up times.
    event : Tensor, shape (n,)
        1 for an observed event, 0 for censoring.
    reduction : {"mean", "sum"}
        ``"sum"`` is minus the partial log-likelihood; ``"mean"`` divides by the number of
        events.

    Returns
    -------
    Tensor
        A scalar. A batch without events gives ``0 * risk.sum()``: zero, and still connected to
        the graph (never NaN).

    Examples
    --------
    >>> risk = torch.tensor([0.5, -0.2, 0.1], requires_grad=True)
    >>> loss = cox_ph_loss(risk, torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 0.0, 1.0]))
    >>> round(loss.item(), 4)
    0.3867
    """
    if reduction not in {"mean", "sum"}:
        raise ValueError(f"reduction must be 'mean' or 'sum'; got {reduction!r}.")
    risk = risk.reshape(-1)
    duration = duration.reshape(-1).to(risk.device)
    event = event.reshape(-1).to(device=risk.device, dtype=risk.dtype)
    if risk.numel() == 0 or not bool(event.any()):
        return risk.sum() * 0.0
    order = torch.argsort(duration, descending=True, stable=True)
    risk_sorted, time_sorted, event_sorted = risk[order], duration[order], event[order]
    log_risk_set = torch.logcumsumexp(risk_sorted, dim=0)
    # Ties: every member of a tie block uses the risk set at the block's last (earliest-time)
    # position in descending order, which includes all tied subjects.
    _, counts = torch.unique_consecutive(time_sorted, return_counts=True)
    block_end = torch.cumsum(counts, dim=0) - 1
    log_risk_set = torch.repeat_interleave(log_risk_set[block_end], counts)
    partial = (risk_sorted - log_risk_set) * event_sorted
    total = -partial.sum()
    return total / event_sorted.sum() if reduction == "mean" else total
