"""Properties of ``cox_ph_loss`` against a brute-force reference and lifelines.

The reference ``brute_force_cox_log_likelihood`` (tests/losses/_reference.py) evaluates the
partial likelihood from its definition, one distinct event time at a time; the library sorts
once and reads cumulative sums. Strata are checked against lifelines 0.30
``CoxPHFitter(strata=...)`` (Efron), whose ``log_likelihood_`` is the stratified partial
log-likelihood at its fitted coefficients.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from lightsaber.losses import LossInputError, cox_ph_loss
from lightsaber.losses import _partial_likelihood as core
from tests.losses._reference import brute_force_cox_log_likelihood


def _tied_batch(seed: int, n: int = 60, distinct: int = 8, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    risk = torch.randn(n, generator=generator, dtype=dtype) * 1.5
    time = torch.randint(1, distinct + 1, (n,), generator=generator).to(dtype)
    event = torch.rand(n, generator=generator) < 0.6
    return risk, time, event


@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("seed", range(6))
def test_equals_brute_force_with_heavy_ties(seed, ties):
    risk, time, event = _tied_batch(seed)
    expected = brute_force_cox_log_likelihood(risk, time, event, ties)
    ours = -cox_ph_loss(risk, time, event, ties=ties, reduction="sum").item()
    assert ours == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_ties_methods_agree_without_tied_events(ties):
    risk, _, event = _tied_batch(0)
    time = torch.arange(60, dtype=torch.float64)  # no ties at all
    breslow = cox_ph_loss(risk, time, event, ties="breslow", reduction="sum")
    assert cox_ph_loss(risk, time, event, ties=ties, reduction="sum").item() == pytest.approx(
        breslow.item(), rel=1e-13)


def test_default_is_breslow_mean_over_events():
    """The trainer's call ``cox_ph_loss(risk, duration, event)``: Breslow, divided by events."""
    risk, time, event = _tied_batch(1)
    expected = -brute_force_cox_log_likelihood(risk, time, event, "breslow") / int(event.sum())
    assert cox_ph_loss(risk, time, event).item() == pytest.approx(expected, rel=1e-12)
    assert cox_ph_loss(risk.reshape(-1, 1), time, event.float()).item() == pytest.approx(
        expected, rel=1e-12)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_invariant_to_row_order_and_risk_shift(ties):
    risk, time, event = _tied_batch(2)
    base = cox_ph_loss(risk, time, event, ties=ties).item()
    perm = torch.randperm(60, generator=torch.Generator().manual_seed(0))
    assert cox_ph_loss(risk[perm], time[perm], event[perm], ties=ties).item() == pytest.approx(
        base, rel=1e-12)
    assert cox_ph_loss(risk + 3.7, time, event, ties=ties).item() == pytest.approx(base, rel=1e-12)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_gradient_matches_finite_differences(ties):
    risk, time, event = _tied_batch(3, n=25, distinct=5)
    risk.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda r: cox_ph_loss(r, time, event, ties=ties, reduction="sum"), (risk,))


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_log_space_fallback_equals_closed_form(ties):
    """Both evaluations inside the loss give the same value and gradient."""
    risk, time, event = _tied_batch(4, n=200, distinct=20)
    order = torch.argsort(time, descending=True)
    blocks = core.tie_blocks(time[order], event[order])
    values, gradients = [], []
    for evaluate in (core.closed_form, core.log_space):
        r = risk.clone().requires_grad_(True)
        value = evaluate(r[order], blocks, ties == "efron")
        values.append(value.item())
        gradients.append(torch.autograd.grad(value, r)[0])
    assert values[0] == pytest.approx(values[1], rel=1e-12)
    torch.testing.assert_close(gradients[0], gradients[1], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("dtype", "spread", "rel"), [(torch.float64, 1000.0, 1e-10),
                                                     (torch.float32, 100.0, 1e-5)])
@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_extreme_risk_spread_stays_exact(ties, dtype, spread, rel):
    """Risks far apart underflow a shifted exp-sum; the loss falls back to log space."""
    risk, time, event = _tied_batch(5, n=40, distinct=6)
    risk = (risk + torch.where(time > 3, -spread, 0.0)).to(dtype).requires_grad_(True)
    order = torch.argsort(time, descending=True)
    blocks = core.tie_blocks(time[order], event[order])
    assert core.closed_form(risk.detach()[order], blocks, ties == "efron") is None
    loss = cox_ph_loss(risk, time, event, ties=ties, reduction="sum")
    (gradient,) = torch.autograd.grad(loss, risk)
    expected = brute_force_cox_log_likelihood(risk.detach(), time, event, ties)
    assert -loss.item() == pytest.approx(expected, rel=rel)
    assert torch.isfinite(gradient).all()


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_strata_is_the_sum_over_strata(ties):
    risk, time, event = _tied_batch(6, n=90)
    strata = torch.arange(90) % 3
    expected = sum(brute_force_cox_log_likelihood(risk[strata == s], time[strata == s],
                                                  event[strata == s], ties) for s in range(3))
    ours = -cox_ph_loss(risk, time, event, ties=ties, strata=strata, reduction="sum").item()
    assert ours == pytest.approx(expected, rel=1e-12)
    mean = cox_ph_loss(risk, time, event, ties=ties, strata=strata).item()
    assert mean == pytest.approx(-expected / int(event.sum()), rel=1e-12)


def test_strata_matches_lifelines():
    """lifelines 0.30: ``CoxPHFitter().fit(gbsg2, strata=["tgrade", "menostat"])`` (Efron)."""
    lifelines = pytest.importorskip("lifelines")
    from lifelines.datasets import load_gbsg2

    frame = load_gbsg2().drop(columns=["horTh"])
    fitter = lifelines.CoxPHFitter().fit(frame, "time", "cens", strata=["tgrade", "menostat"])
    risk = torch.tensor(np.log(fitter.predict_partial_hazard(frame).to_numpy()))
    strata = torch.tensor(pd.Categorical(frame["tgrade"].astype(str) + frame["menostat"]).codes,
                          dtype=torch.int64)
    ours = -cox_ph_loss(risk, torch.tensor(frame["time"].to_numpy(), dtype=torch.float64),
                        torch.tensor(frame["cens"].to_numpy()), ties="efron", strata=strata,
                        reduction="sum").item()
    assert ours == pytest.approx(fitter.log_likelihood_, rel=1e-9)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_zero_event_batch_is_a_connected_zero(ties):
    risk = torch.randn(6, requires_grad=True)
    loss = cox_ph_loss(risk, torch.arange(6.0), torch.zeros(6), ties=ties)
    loss.backward()
    assert loss.item() == 0.0 and loss.requires_grad
    assert torch.equal(risk.grad, torch.zeros(6))


def test_stratum_without_events_contributes_nothing():
    risk, time, event = _tied_batch(7, n=30)
    strata = (torch.arange(30) >= 20).long()
    event[20:] = False
    with_empty = cox_ph_loss(risk, time, event, strata=strata, reduction="sum")
    alone = cox_ph_loss(risk[:20], time[:20], event[:20], reduction="sum")
    assert with_empty.item() == pytest.approx(alone.item(), rel=1e-13)


def test_float32_is_close_to_float64():
    risk, time, event = _tied_batch(8, n=5000, distinct=300)
    for ties in ("breslow", "efron"):
        single = cox_ph_loss(risk.float(), time.float(), event, ties=ties)
        double = cox_ph_loss(risk, time, event, ties=ties)
        assert single.dtype == torch.float32
        assert single.item() == pytest.approx(double.item(), rel=1e-6)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"ties": "exact"}, "ties must be one of"),
    ({"reduction": "none"}, "reduction must be one of"),
])
def test_unknown_option_is_named(kwargs, message):
    with pytest.raises(LossInputError, match=message):
        cox_ph_loss(torch.zeros(3), torch.ones(3), torch.ones(3), **kwargs)


@pytest.mark.parametrize(("risk", "duration", "event", "message"), [
    (torch.zeros(3, 2), torch.ones(3), torch.ones(3),
     r"prediction must have shape \(n,\) or \(n, 1\)"),
    (torch.zeros(3), torch.ones(4), torch.ones(3), r"duration must have shape \(3,\)"),
    (torch.zeros(3), torch.ones(3), torch.tensor([1, 2, 0]), "event must be binary"),
    (torch.zeros(3), torch.tensor([1.0, float("nan"), 2.0]), torch.ones(3), "positions 1"),
    (torch.zeros(3, dtype=torch.int64), torch.ones(3), torch.ones(3), "floating-point"),
])
def test_bad_batch_raises_an_actionable_error(risk, duration, event, message):
    with pytest.raises(LossInputError, match=message):
        cox_ph_loss(risk, duration, event)
    assert issubclass(LossInputError, ValueError)
