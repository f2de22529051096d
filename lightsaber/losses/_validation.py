"""Batch checks shared by every loss: the boundary where (prediction, duration, event) is checked.

The project's outcome checker (:func:`lightsaber.data.targets.check_survival_target`) validates
whole cohorts in NumPy; these checks do the same job for one batch of tensors inside a training
step, without leaving the prediction's device. Each check that looks at values costs one
host-device synchronisation; shapes are checked for free.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import torch

from lightsaber.exceptions import LossInputError

__all__ = [
    "as_cause",
    "as_duration",
    "as_duration_index",
    "as_entry",
    "as_event",
    "as_prediction",
    "check_option",
]


def _positions(mask: torch.Tensor, limit: int = 5) -> str:
    where = torch.nonzero(mask.reshape(-1)).reshape(-1)[: limit + 1].tolist()
    shown = ", ".join(str(i) for i in where[:limit])
    return shown + (", ..." if len(where) > limit else "")


def check_option(value: Any, name: str, allowed: Collection[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise :class:`LossInputError`.

    Examples
    --------
    >>> check_option("sum", "reduction", ("mean", "sum"))
    'sum'
    """
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise LossInputError(f"{name} must be one of {choices}; got {value!r}.")
    return value


def _as_column(values: Any, name: str, n: int, device: torch.device) -> torch.Tensor:
    tensor = torch.as_tensor(values, device=device)
    if tensor.dim() == 2 and tensor.shape[1] == 1:
        tensor = tensor.reshape(-1)
    if tensor.dim() != 1 or tensor.shape[0] != n:
        raise LossInputError(
            f"{name} must have shape ({n},) to match the prediction's {n} rows; "
            f"got shape {tuple(tensor.shape)}."
        )
    return tensor


def as_prediction(prediction: Any, *, width: int | None, name: str = "prediction") -> torch.Tensor:
    """Check a network output and bring it to shape ``(n,)`` (``width=1``) or ``(n, width)``.

    ``width=None`` accepts any ``(n, m)`` with ``m >= 1`` (one column per time bin).

    Examples
    --------
    >>> as_prediction(torch.zeros(3, 1), width=1).shape
    torch.Size([3])
    """
    if not isinstance(prediction, torch.Tensor) or not prediction.is_floating_point():
        kind = prediction.dtype if isinstance(prediction, torch.Tensor) else type(prediction)
        raise LossInputError(
            f"{name} must be a floating-point torch.Tensor (the network output); got {kind}."
        )
    shape = tuple(prediction.shape)
    if width == 1:
        if prediction.dim() == 1 or (prediction.dim() == 2 and shape[1] == 1):
            return prediction.reshape(-1)
        expected = "(n,) or (n, 1)"
    elif width is None:
        if prediction.dim() == 2 and shape[1] >= 1:
            return prediction
        expected = "(n, n_bins)"
    else:
        if prediction.dim() == 2 and shape[1] == width:
            return prediction
        expected = f"(n, {width})"
    raise LossInputError(
        f"{name} must have shape {expected}; got {shape}. Set the network's output width to "
        "what the loss needs (see lightsaber.losses.LOSSES)."
    )


def as_event(event: Any, n: int, device: torch.device) -> torch.Tensor:
    """Event indicator as a boolean tensor of shape ``(n,)``; values must be 0/1 or bool.

    Examples
    --------
    >>> as_event(torch.tensor([1.0, 0.0]), 2, torch.device("cpu")).tolist()
    [True, False]
    """
    tensor = _as_column(event, "event", n, device)
    if tensor.dtype == torch.bool:
        return tensor
    bad = (tensor != 0) & (tensor != 1)
    if bool(bad.any()):
        raise LossInputError(
            f"event must be binary (1 = event observed, 0 = censored); {int(bad.sum())} row(s) "
            f"hold other values (batch positions {_positions(bad)})."
        )
    return tensor != 0


def as_cause(cause: Any, n: int, n_causes: int, device: torch.device) -> torch.Tensor:
    """Cause codes as an int64 tensor of shape ``(n,)``: 0 = censored, ``1..n_causes`` = cause.

    Booleans read as 0/1 (one cause); float input holding whole numbers is accepted (a trainer
    may carry the cause in a float target column).

    Examples
    --------
    >>> as_cause(torch.tensor([0.0, 2.0, 1.0]), 3, 2, torch.device("cpu")).tolist()
    [0, 2, 1]
    """
    tensor = _as_column(cause, "cause", n, device)
    if tensor.dtype == torch.bool:
        tensor = tensor.to(torch.int64)
    if tensor.is_complex():
        raise LossInputError(f"cause must be integer codes; got dtype {tensor.dtype}.")
    if tensor.is_floating_point():
        bad = ~torch.isfinite(tensor) | (tensor != torch.round(tensor))
        if bool(bad.any()):
            raise LossInputError(
                f"cause must hold whole codes (0 = censored, 1..{n_causes} = the cause); "
                f"{int(bad.sum())} row(s) do not (batch positions {_positions(bad)}).")
    tensor = tensor.to(torch.int64)
    bad = (tensor < 0) | (tensor > n_causes)
    if bool(bad.any()):
        raise LossInputError(
            f"cause must lie in [0, {n_causes}] (0 = censored, 1..{n_causes} = one of the "
            f"prediction's {n_causes} cause(s)); {int(bad.sum())} row(s) lie outside (batch "
            f"positions {_positions(bad)}, max {int(tensor.max())}). Give the prediction shape "
            "(n, n_causes, n_bins) with one slice per cause, and number the causes 1..K.")
    return tensor


def as_duration(duration: Any, n: int, device: torch.device, *,
                positive: bool = False) -> torch.Tensor:
    """Durations as a tensor of shape ``(n,)``, finite, and ``> 0`` when ``positive``.

    The dtype is kept (float64 times are not rounded to float32, which could create or break
    ties).

    Examples
    --------
    >>> as_duration([3.0, 1.5], 2, torch.device("cpu")).tolist()
    [3.0, 1.5]
    """
    tensor = _as_column(duration, "duration", n, device)
    if tensor.dtype == torch.bool or tensor.is_complex():
        raise LossInputError(f"duration must be real numbers; got dtype {tensor.dtype}.")
    if tensor.is_floating_point():
        finite = torch.isfinite(tensor)
        if not bool(finite.all()):
            bad = ~finite
            raise LossInputError(
                f"duration has {int(bad.sum())} missing or infinite value(s) (batch positions "
                f"{_positions(bad)}); every row needs a finite follow-up time."
            )
    if positive:
        bad = tensor <= 0
        if bool(bad.any()):
            raise LossInputError(
                f"duration must be > 0 for this loss (it uses log(duration)); {int(bad.sum())} "
                f"row(s) are <= 0 (batch positions {_positions(bad)}). Add a small offset or "
                "drop rows with zero follow-up."
            )
    return tensor


def as_duration_index(duration_index: Any, n: int, n_bins: int,
                      device: torch.device) -> torch.Tensor:
    """Bin indices as an int64 tensor of shape ``(n,)`` with values in ``[0, n_bins)``.

    Float input holding whole numbers is accepted (a trainer may carry the index in a float
    target column).

    Examples
    --------
    >>> as_duration_index(torch.tensor([0.0, 2.0]), 2, 3, torch.device("cpu")).tolist()
    [0, 2]
    """
    tensor = _as_column(duration_index, "duration_index", n, device)
    if tensor.is_floating_point():
        bad = tensor != torch.round(tensor)
        if bool(bad.any()):
            raise LossInputError(
                f"duration_index must hold whole bin numbers; {int(bad.sum())} row(s) do not "
                f"(batch positions {_positions(bad)}). Discretise durations first with "
                "lightsaber.losses.discretise_durations."
            )
    elif tensor.dtype == torch.bool or tensor.is_complex():
        raise LossInputError(f"duration_index must be integers; got dtype {tensor.dtype}.")
    tensor = tensor.to(torch.int64)
    bad = (tensor < 0) | (tensor >= n_bins)
    if bool(bad.any()):
        raise LossInputError(
            f"duration_index must lie in [0, {n_bins}) for a prediction with {n_bins} column(s) "
            f"(one per time bin); {int(bad.sum())} row(s) lie outside (batch positions "
            f"{_positions(bad)}, max {int(tensor.max())}). Use as many output columns as the "
            "grid has cut points."
        )
    return tensor


def as_entry(entry: Any, duration: torch.Tensor, n: int,
             device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Entry (left-truncation) times checked against ``duration``: ``(duration, entry)``.

    Every row needs ``entry < duration`` (a row is at risk on ``(entry, duration]``); ``-inf``
    means "at risk from the start". When the two dtypes differ both are returned in one
    common dtype (float64 if either is floating point, else int64), so that comparing them
    is exact.

    Examples
    --------
    >>> duration, entry = as_entry([0, 1.5], torch.tensor([2.0, 3.0]), 2, torch.device("cpu"))
    >>> entry.tolist(), entry.dtype == duration.dtype
    ([0.0, 1.5], True)
    """
    tensor = _as_column(entry, "entry", n, device)
    if tensor.dtype == torch.bool or tensor.is_complex():
        raise LossInputError(f"entry must be real numbers (entry times); got dtype {tensor.dtype}.")
    if tensor.dtype != duration.dtype:
        common = (torch.float64 if tensor.is_floating_point() or duration.is_floating_point()
                  else torch.int64)
        tensor, duration = tensor.to(common), duration.to(common)
    bad = ~(tensor < duration)  # NaN entries are bad too
    if bool(bad.any()):
        raise LossInputError(
            f"entry must be earlier than duration on every row (a row is at risk on "
            f"(entry, duration]); {int(bad.sum())} row(s) have entry >= duration or a missing "
            f"entry (batch positions {_positions(bad)}). Drop rows without follow-up after "
            "entry, or add a small offset to their duration; use -inf (or any time below "
            "every duration) for rows at risk from the start."
        )
    return duration, tensor
