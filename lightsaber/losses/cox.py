r"""Cox negative partial log-likelihood: Breslow or Efron ties, optional strata, O(n log n).

Sort once (by stratum, then by time descending); one cumulative sum over the sorted risks then
gives every risk set, and tied times share the risk set of their tie block. Efron's correction
needs, per tie block, only its number of events, each event's rank inside it and the block's
share of the risk set, all O(n) after the sort; no ``n x n`` matrix is built. The arithmetic
lives in :mod:`lightsaber.losses._partial_likelihood`. Entry (left-truncation) times take one
more sort, by entry: a row entering at or after a time is removed from that time's risk set by
subtracting a second cumulative sum.

Written here rather than taken from pycox (its ``cox_ph_loss`` ignores ties: a tied subject's
risk set depends on the sort order) or torchsurv 0.2 (it coerces risks and times to float32,
has no shift in its Efron branch, loops over strata in Python and warns on every batch with
ties). ``benchmarks/cox_loss.py`` times all three.
"""

from __future__ import annotations

from typing import Any

import torch

from lightsaber._moved import renamed_keywords
from lightsaber.losses._ordering import argsort_durations
from lightsaber.losses._partial_likelihood import (
    closed_form,
    entry_tree,
    log_space,
    tie_blocks,
    with_entry,
)
from lightsaber.losses._validation import (
    _as_column,
    as_duration,
    as_entry,
    as_event,
    as_prediction,
    check_option,
)

__all__ = ["cox_ph_loss"]


def _descending_order(duration: torch.Tensor,
                      strata: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted times and the row order: strata together, times descending inside each stratum.

    The order among tied times is irrelevant (a tie block shares one risk set), so the time
    sort need not be stable; the stratum sort must be, to keep the time order.
    """
    order = argsort_durations(duration, descending=True)
    if strata is not None:
        order = order.index_select(0, torch.argsort(strata.index_select(0, order), stable=True))
    return duration.index_select(0, order), order


def _stratum_log_likelihood(risk_sorted: torch.Tensor, time_sorted: torch.Tensor,
                            event_sorted: torch.Tensor, efron: bool) -> torch.Tensor:
    if not bool(event_sorted.any()):
        return risk_sorted.sum() * 0.0
    blocks = tie_blocks(time_sorted, event_sorted)
    value = closed_form(risk_sorted, blocks, efron)
    return log_space(risk_sorted, blocks, efron) if value is None else value


def _stratum_with_entry(risk_sorted: torch.Tensor, time_sorted: torch.Tensor,
                        event_sorted: torch.Tensor, entry_sorted: torch.Tensor,
                        efron: bool) -> torch.Tensor:
    if not bool(event_sorted.any()):
        return risk_sorted.sum() * 0.0
    blocks = tie_blocks(time_sorted, event_sorted)
    value = with_entry(risk_sorted, time_sorted, entry_sorted, blocks, efron)
    if value is None:
        return entry_tree(risk_sorted, time_sorted, entry_sorted, blocks, efron)
    return value


def _with_entry(risk_sorted: torch.Tensor, time_sorted: torch.Tensor,
                event_sorted: torch.Tensor, entry_sorted: torch.Tensor,
                strata: torch.Tensor | None, order: torch.Tensor, efron: bool) -> torch.Tensor:
    if strata is None:
        return _stratum_with_entry(risk_sorted, time_sorted, event_sorted, entry_sorted, efron)
    _, counts = torch.unique_consecutive(strata.index_select(0, order), return_counts=True)
    sizes = counts.tolist()
    parts = zip(torch.split(risk_sorted, sizes), torch.split(time_sorted, sizes),
                torch.split(event_sorted, sizes), torch.split(entry_sorted, sizes), strict=True)
    return torch.stack([_stratum_with_entry(r, t, e, s, efron) for r, t, e, s in parts]).sum()


@renamed_keywords(risk="prediction")
def cox_ph_loss(prediction: torch.Tensor, duration: Any, event: Any, *, ties: str = "breslow",
                strata: Any = None, entry: Any = None, reduction: str = "mean") -> torch.Tensor:
    r"""Negative Cox partial log-likelihood with Breslow's or Efron's handling of ties.

    With risk scores :math:`\eta_i` (log hazard ratios; **higher = earlier event**), distinct
    event times :math:`\tau_k`, events :math:`H_k` at :math:`\tau_k` (:math:`m_k = |H_k|`) and
    risk sets :math:`R_k = \{j : t_j \ge \tau_k\}` (within the stratum when ``strata`` is
    given; :math:`\{j : e_j < \tau_k \le t_j\}` with entry times :math:`e_j`), the partial
    log-likelihood is

    .. math::

        \ell = \sum_k \Big[ \sum_{i \in H_k} \eta_i
               - \sum_{l=0}^{m_k - 1} \log\Big( \sum_{j \in R_k} e^{\eta_j}
               - c \, \tfrac{l}{m_k} \sum_{i \in H_k} e^{\eta_i} \Big) \Big]

    with :math:`c = 0` for Breslow and :math:`c = 1` for Efron. Without tied event times both
    are Cox's partial likelihood. Equals R ``survival::coxph(..., ties=)``'s ``logLik`` at the
    same linear predictor (see ``docs/losses.md`` for the measured deltas).

    Parameters
    ----------
    prediction : Tensor, shape (n,) or (n, 1)
        The network's output: a risk score per row. (Every loss's first argument is its
        ``prediction``; ``risk=`` is the old keyword, still accepted with a warning.)
        Log hazard ratio (higher = earlier event).
    duration : Tensor or array-like, shape (n,)
        Follow-up times (event or censoring). Only their order and equality are used.
    event : Tensor or array-like, shape (n,)
        1 (or True) for an observed event, 0 for censoring.
    ties : {"breslow", "efron"}, default "breslow"
        Approximation for tied event times.
    strata : Tensor or array-like, shape (n,), optional
        Stratum id per row (any integer codes). Risk sets are formed within a stratum; each
        stratum has its own baseline hazard, and the log-likelihoods add up.
    entry : Tensor or array-like, shape (n,), optional
        Entry (left-truncation, delayed-entry) time per row: the row is at risk on
        ``(entry, duration]`` only, as in R ``Surv(entry, duration, event)`` and lifelines'
        ``entry_col``. Every row needs ``entry < duration``; ``-inf`` (or any time below every
        duration) is the same as no entry. Counting-process data (one row per interval of a
        subject) go in the same way. Computed in float64 in O(n log n), traced by autograd
        (a slower exact path takes the rare batches where the subtraction behind it would
        cancel).
    reduction : {"mean", "sum"}, default "mean"
        ``"sum"`` is :math:`-\ell`; ``"mean"`` is :math:`-\ell` divided by the number of events
        in the batch (all strata together).

    Returns
    -------
    Tensor
        A scalar of ``prediction``'s dtype. A batch without events gives
        ``prediction.sum() * 0``: zero, still connected to the graph (so ``backward`` works and
        gives zero gradients), never NaN.

    Raises
    ------
    LossInputError
        On a bad shape, a non-binary event, a non-finite duration, an entry not before its
        duration or an unknown option.

    Examples
    --------
    >>> risk = torch.tensor([0.5, -0.2, 0.1], dtype=torch.float64, requires_grad=True)
    >>> loss = cox_ph_loss(risk, torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 0.0, 1.0]))
    >>> round(loss.item(), 4)
    0.3867
    >>> tied = torch.tensor([1.0, 1.0, 2.0])
    >>> events = torch.tensor([1, 1, 0])
    >>> round(cox_ph_loss(risk, tied, events, ties="efron", reduction="sum").item(), 4)
    1.823
    >>> round(cox_ph_loss(risk, tied, events, ties="breslow", reduction="sum").item(), 4)
    2.2466
    >>> cox_ph_loss(risk, tied, torch.zeros(3)).item()  # no event: a connected zero
    0.0
    >>> entry = torch.tensor([0.0, 1.5, 0.0])  # row 1 enters after the event at t = 1
    >>> round(cox_ph_loss(risk, torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 0.0, 1.0]),
    ...                   entry=entry).item(), 4)
    0.2565
    """
    check_option(ties, "ties", ("breslow", "efron"))
    check_option(reduction, "reduction", ("mean", "sum"))
    risk = as_prediction(prediction, width=1, name="prediction")
    n = risk.shape[0]
    duration = as_duration(duration, n, risk.device)
    event = as_event(event, n, risk.device)
    if strata is not None:
        strata = _as_column(strata, "strata", n, risk.device)
    if entry is not None:
        duration, entry = as_entry(entry, duration, n, risk.device)
    n_events = int(event.sum())
    if n_events == 0:
        return risk.sum() * 0.0
    efron = ties == "efron"

    time_sorted, order = _descending_order(duration, strata)
    risk_sorted = risk.index_select(0, order)
    event_sorted = event.index_select(0, order)
    if entry is not None:
        log_likelihood = _with_entry(risk_sorted, time_sorted, event_sorted,
                                     entry.index_select(0, order), strata, order, efron)
    elif strata is None:
        log_likelihood = _stratum_log_likelihood(risk_sorted, time_sorted, event_sorted, efron)
    else:
        # One pass per stratum over its contiguous slice of the sorted rows.
        _, counts = torch.unique_consecutive(strata.index_select(0, order), return_counts=True)
        sizes = counts.tolist()
        parts = zip(torch.split(risk_sorted, sizes), torch.split(time_sorted, sizes),
                    torch.split(event_sorted, sizes), strict=True)
        log_likelihood = torch.stack(
            [_stratum_log_likelihood(r, t, e, efron) for r, t, e in parts]).sum()
    if reduction == "mean":
        return -log_likelihood / n_events
    return -log_likelihood
