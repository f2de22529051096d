"""Discrete-time losses and the grid helper against pycox 0.3, on the same inputs.

References: ``pycox.models.loss.nll_logistic_hazard`` / ``nll_pmf`` / ``nll_mtlr`` /
``DeepHitSingleLoss(alpha, sigma)`` with ``pycox.models.data.pair_rank_mat``, and
``pycox.preprocessing.label_transforms.LabTransDiscreteTime``. Acceptance 1e-6; the wrappers
call pycox's functions, so the measured difference is 0 (the DeepHit ranking term is ours,
because pycox's fails on float64: also 0 difference, in float32 and in float64 with pycox run
under a float64 default dtype).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from pycox.models.data import pair_rank_mat
from pycox.models.loss import DeepHitSingleLoss, nll_logistic_hazard, nll_mtlr, nll_pmf
from pycox.preprocessing.label_transforms import LabTransDiscreteTime

from lightsaber.losses import (
    LossInputError,
    deephit_loss,
    discretise_durations,
    logistic_hazard_loss,
    mtlr_loss,
    pmf_loss,
)

PAIRS = [(logistic_hazard_loss, nll_logistic_hazard), (pmf_loss, nll_pmf), (mtlr_loss, nll_mtlr)]


def _batch(seed: int, dtype=torch.float32, n: int = 64, bins: int = 9):
    generator = torch.Generator().manual_seed(seed)
    phi = torch.randn(n, bins, generator=generator, dtype=dtype) * 2
    index = torch.randint(0, bins, (n,), generator=generator)
    event = (torch.rand(n, generator=generator) < 0.6).to(dtype)
    return phi, index, event


@pytest.fixture
def default_float64():
    """pycox's DeepHit ranking term needs the default dtype to match (test scope only)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=["logistic_hazard", "pmf", "mtlr"])
def test_likelihood_losses_equal_pycox(ours, theirs, reduction, dtype):
    phi, index, event = _batch(0, dtype)
    expected = theirs(phi, index, event, reduction=reduction)
    value = ours(phi, index, event, reduction=reduction)
    assert value.dtype == dtype
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(("alpha", "sigma"), [(0.2, 0.1), (0.5, 1.0), (1.0, 0.1), (0.0, 0.3)])
def test_deephit_equals_pycox_float32(alpha, sigma, reduction):
    phi, index, event = _batch(1)
    rank_mat = torch.from_numpy(pair_rank_mat(index.numpy(), event.numpy()))
    expected = DeepHitSingleLoss(alpha, sigma, reduction)(phi, index, event, rank_mat)
    value = deephit_loss(phi, index, event, alpha=alpha, sigma=sigma, reduction=reduction)
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)


def test_deephit_equals_pycox_float64(default_float64):
    phi, index, event = _batch(2, torch.float64)
    rank_mat = torch.from_numpy(pair_rank_mat(index.numpy(), event.numpy(), "float64"))
    expected = DeepHitSingleLoss(0.2, 0.1)(phi, index, event, rank_mat)
    assert deephit_loss(phi, index, event).item() == pytest.approx(expected.item(), rel=1e-12)


def test_integral_float_indices_are_accepted():
    """A trainer may carry the bin index in a float target column."""
    phi, index, event = _batch(3)
    assert pmf_loss(phi, index.float(), event).item() == pmf_loss(phi, index, event).item()


@pytest.mark.parametrize(("index", "message"), [
    (torch.full((64,), 9), r"must lie in \[0, 9\)"),
    (torch.full((64,), 0.5), "whole bin numbers"),
])
def test_bad_index_is_named(index, message):
    phi, _, event = _batch(4)
    with pytest.raises(LossInputError, match=message):
        logistic_hazard_loss(phi, index, event)


@pytest.mark.parametrize("scheme", ["equidistant", "quantiles"])
def test_discretise_equals_pycox_label_transform(scheme):
    rng = np.random.default_rng(0)
    time = rng.exponential(100.0, 500).round(1)
    event = (rng.random(500) < 0.7).astype(float)
    reference = LabTransDiscreteTime(10, scheme=scheme)
    expected_index, expected_event = reference.fit_transform(time, event.astype("float32"))
    ours = discretise_durations(time, event, cuts=10, scheme=scheme)
    np.testing.assert_array_equal(ours.cuts, reference.cuts)
    np.testing.assert_array_equal(ours.duration_index, expected_index)
    np.testing.assert_array_equal(ours.event, expected_event)

    later = rng.exponential(100.0, 50).round(1)
    later_event = (rng.random(50) < 0.5).astype(float)
    index, observed = reference.transform(later, later_event.astype("float32"))
    applied = discretise_durations(later, later_event, cuts=ours.cuts)
    np.testing.assert_array_equal(applied.duration_index, index)
    np.testing.assert_array_equal(applied.event, observed)


def test_discretised_target_feeds_every_discrete_loss():
    target = discretise_durations([3.0, 7.5, 1.0, 9.0], [1, 0, 1, 1], cuts=6)
    phi = torch.zeros(4, len(target.cuts), requires_grad=True)
    for loss in (logistic_hazard_loss, pmf_loss, mtlr_loss, deephit_loss):
        value = loss(phi, torch.from_numpy(target.duration_index),
                     torch.from_numpy(target.event))
        assert torch.isfinite(value)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"cuts": 1}, "at least 2"),
    ({"cuts": [0.0, 2.0, 1.0]}, "increasing"),
    ({"cuts": [1.0, 2.0]}, "below the grid's first point"),
    ({"scheme": "log"}, "scheme must be"),
])
def test_discretise_rejects_bad_grids(kwargs, message):
    with pytest.raises(LossInputError, match=message):
        discretise_durations([0.5, 2.0], [1, 0], **kwargs)


@pytest.mark.parametrize("kwargs", [{"alpha": 1.5}, {"sigma": 0.0}])
def test_deephit_bad_options(kwargs):
    phi, index, event = _batch(5)
    with pytest.raises(LossInputError):
        deephit_loss(phi, index, event, **kwargs)


def test_importing_the_losses_does_not_need_pycox():
    """pycox is optional (setup.cfg ``dev`` extra): only the discrete-time losses import it."""
    code = "import sys, lightsaber.losses, lightsaber.models; print('pycox' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_missing_pycox_is_an_actionable_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pycox.models.loss", None)
    phi, index, event = _batch(6)
    with pytest.raises(ImportError, match="pip install 'pycox>=0.3'"):
        pmf_loss(phi, index, event)
