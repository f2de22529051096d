"""Contract over every registered loss (``lightsaber.losses.LOSSES``).

Each entry, called as ``spec(prediction, duration, event)`` with a prediction of
``spec.width(n_bins)`` columns (a competing-risks loss with one cause, its single-event case),
must give: a finite scalar of the prediction's dtype; finite
gradients that reach every row and every column of the prediction (not every element: the
logistic-hazard likelihood, by definition, ignores bins after a row's own); a finite value still
connected to the graph on a batch without events; the same value when rows are permuted (tied
times included); close values in float32 and float64; and bitwise-identical value and gradient
when called twice.

The batch is built so that every row can matter: the earliest time holds events only (a
censored row there would be in no comparable pair and no risk set), no row's ranking-pair
counts cancel (as the earlier member minus as the later member), and the discrete batch puts
rows in the last bin.
"""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

import lightsaber.losses as losses
from lightsaber.losses import (
    LOSSES,
    PER_CAUSE_AND_TIME_BIN,
    PER_TIME_BIN,
    LossInputError,
    get_loss,
)

N_BINS = 5
NAMES = sorted(LOSSES)


def _batch(spec, dtype, *, events: bool = True, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    n = 12
    prediction = 0.1 * torch.randn(n, spec.width(N_BINS), generator=generator, dtype=dtype)
    if spec.time == "discrete":
        duration = torch.tensor([0, 0, 1, 1, 2, 2, 2, 3, 4, 4, 4, 4])
    else:
        duration = torch.tensor([1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 4.0, 4.0, 5.0, 6.0, 7.0, 8.0],
                                dtype=dtype)
    event = torch.tensor([1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 0, 1], dtype=torch.bool)
    if not events:
        event = torch.zeros(n, dtype=torch.bool)
    return prediction.requires_grad_(True), duration, event


def _value_and_gradient(spec, prediction, duration, event):
    value = spec(prediction, duration, event)
    (gradient,) = torch.autograd.grad(value, prediction)
    return value, gradient


def test_registry_names_and_widths():
    widths = {name: spec.output_width for name, spec in LOSSES.items()}
    assert widths == {"cox": 1, "cox_efron": 1, "ranking": 1, "deephit": PER_TIME_BIN,
                      "logistic_hazard": PER_TIME_BIN, "pmf": PER_TIME_BIN,
                      "mtlr": PER_TIME_BIN, "weibull_aft": 2,
                      "deephit_competing": PER_CAUSE_AND_TIME_BIN,
                      "logistic_hazard_competing": PER_CAUSE_AND_TIME_BIN}
    assert all(spec.name == name for name, spec in LOSSES.items())
    assert LOSSES["cox_efron"].options == {"ties": "efron"}
    with pytest.raises(TypeError):
        LOSSES["new"] = LOSSES["cox"]  # read-only


def test_specs_copy_and_pickle():
    """A net holding a spec as its loss is cloned (deep copy) and saved (pickle)."""
    spec = LOSSES["cox_efron"]
    for copied in (copy.deepcopy(spec), pickle.loads(pickle.dumps(spec))):
        assert copied == spec and copied.options == {"ties": "efron"}


def test_public_names_are_sorted_and_exist():
    assert losses.__all__ == sorted(losses.__all__)
    assert all(hasattr(losses, name) for name in losses.__all__)


def test_unknown_name_and_missing_bins_are_actionable():
    with pytest.raises(LossInputError, match="registered losses: cox, cox_efron"):
        get_loss("coxx")
    with pytest.raises(LossInputError, match="pass n_bins"):
        LOSSES["pmf"].width()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", NAMES)
def test_finite_value_and_gradient_reaching_every_row_and_column(name, dtype):
    spec = LOSSES[name]
    value, gradient = _value_and_gradient(spec, *_batch(spec, dtype))
    assert value.dim() == 0 and value.dtype == dtype and torch.isfinite(value)
    assert gradient.shape == (12, spec.width(N_BINS)) and torch.isfinite(gradient).all()
    assert bool((gradient.abs().sum(dim=1) > 0).all()), "a row receives no gradient"
    assert bool((gradient.abs().sum(dim=0) > 0).all()), "a column receives no gradient"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", NAMES)
def test_zero_event_batch_is_finite_and_connected(name, dtype):
    spec = LOSSES[name]
    prediction, duration, event = _batch(spec, dtype, events=False)
    value = spec(prediction, duration, event)
    assert torch.isfinite(value) and value.requires_grad
    value.backward()
    assert prediction.grad is not None and torch.isfinite(prediction.grad).all()


@pytest.mark.parametrize("name", NAMES)
def test_row_order_does_not_matter_with_tied_times(name):
    spec = LOSSES[name]
    prediction, duration, event = _batch(spec, torch.float64)
    perm = torch.randperm(12, generator=torch.Generator().manual_seed(1))
    value = spec(prediction, duration, event)
    permuted = spec(prediction[perm], duration[perm], event[perm])
    assert permuted.item() == pytest.approx(value.item(), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_all_times_tied(name):
    spec = LOSSES[name]
    prediction, duration, event = _batch(spec, torch.float64)
    value, gradient = _value_and_gradient(spec, prediction, torch.full_like(duration, 2),
                                          event)
    assert torch.isfinite(value) and torch.isfinite(gradient).all()


@pytest.mark.parametrize("name", NAMES)
def test_float32_agrees_with_float64(name):
    spec = LOSSES[name]
    prediction, duration, event = _batch(spec, torch.float64)
    single = spec(prediction.detach().float(), duration.float() if duration.is_floating_point()
                  else duration, event)
    assert single.item() == pytest.approx(spec(prediction, duration, event).item(), rel=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_deterministic(name):
    spec = LOSSES[name]
    batch = _batch(spec, torch.float32, seed=3)
    first_value, first_gradient = _value_and_gradient(spec, *batch)
    second_value, second_gradient = _value_and_gradient(spec, *batch)
    assert torch.equal(first_value, second_value)
    assert torch.equal(first_gradient, second_gradient)
