"""``ranking_hinge_loss`` against a brute-force enumeration of comparable pairs.

The reference builds the full ``n x n`` pair matrix (``event_i and t_j > t_i``) and the hinge
``max(0, margin - (risk_i - risk_j))`` on it with autograd; the library never builds it.
"""

from __future__ import annotations

import pytest
import torch

from lightsaber.losses import LossInputError, ranking_hinge_loss
from lightsaber.losses import ranking as ranking_module


def _batch(seed: int, n: int = 80, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    risk = torch.randn(n, generator=generator, dtype=dtype)
    time = torch.randint(1, 15, (n,), generator=generator).to(dtype)  # ties
    event = torch.rand(n, generator=generator) < 0.5
    return risk, time, event


def _brute_force(risk, time, event, margin=1.0, reduction="mean"):
    pairs = event[:, None] & (time[None, :] > time[:, None])
    hinge = torch.relu(margin - (risk[:, None] - risk[None, :]))[pairs]
    return hinge.mean() if reduction == "mean" else hinge.sum()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("margin", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("seed", range(3))
def test_equals_brute_force_value_and_gradient(seed, margin, reduction):
    risk, time, event = _batch(seed)
    ours_risk = risk.clone().requires_grad_(True)
    ours = ranking_hinge_loss(ours_risk, time, event, margin=margin, reduction=reduction)
    ours.backward()
    ref_risk = risk.clone().requires_grad_(True)
    reference = _brute_force(ref_risk, time, event, margin, reduction)
    reference.backward()
    assert ours.item() == pytest.approx(reference.item(), rel=1e-12, abs=1e-15)
    torch.testing.assert_close(ours_risk.grad, ref_risk.grad, rtol=1e-12, atol=1e-15)


def test_blocks_give_the_same_result(monkeypatch):
    """Many small blocks (7 pairs each) give the one-block result: blocking is exact."""
    risk, time, event = _batch(4, n=120)
    whole = ranking_hinge_loss(risk.clone().requires_grad_(True), time, event)
    monkeypatch.setattr(ranking_module, "_BLOCK_PAIRS", 7)
    blocked_risk = risk.clone().requires_grad_(True)
    blocked = ranking_hinge_loss(blocked_risk, time, event)
    blocked.backward()
    reference_risk = risk.clone().requires_grad_(True)
    _brute_force(reference_risk, time, event).backward()
    assert blocked.item() == pytest.approx(whole.item(), rel=1e-13)
    torch.testing.assert_close(blocked_risk.grad, reference_risk.grad)


def test_only_strictly_later_times_are_comparable():
    """Tied times (event vs event, or event vs censored) and earlier censoring form no pair."""
    risk = torch.tensor([0.0, 0.0, 0.0, 0.0], requires_grad=True)
    loss = ranking_hinge_loss(risk, torch.tensor([2.0, 2.0, 2.0, 1.0]),
                              torch.tensor([1, 1, 0, 0]), reduction="sum")
    assert loss.item() == 0.0
    assert loss.requires_grad


def test_sampled_pairs_are_reproducible_and_unbiased():
    risk, time, event = _batch(5, n=400)
    exact = ranking_hinge_loss(risk, time, event).item()
    generator = torch.Generator().manual_seed(11)
    draws = torch.stack([ranking_hinge_loss(risk, time, event, max_pairs=2000,
                                            generator=generator) for _ in range(200)])
    # 200 estimates of 2,000 pairs: their mean is within 4 standard errors of the exact mean.
    assert abs(draws.mean().item() - exact) < 4 * draws.std().item() / 200 ** 0.5
    again = [ranking_hinge_loss(risk, time, event, max_pairs=2000,
                                generator=torch.Generator().manual_seed(3)).item()
             for _ in range(2)]
    assert again[0] == again[1]


def test_sampled_sum_is_scaled_to_all_pairs():
    risk, time, event = _batch(6, n=300)
    exact = ranking_hinge_loss(risk, time, event, reduction="sum").item()
    estimate = ranking_hinge_loss(risk, time, event, reduction="sum", max_pairs=200_000,
                                  generator=torch.Generator().manual_seed(0)).item()
    assert estimate == pytest.approx(exact, rel=0.02)


def test_max_pairs_above_the_pair_count_is_exact():
    risk, time, event = _batch(7)
    exact = ranking_hinge_loss(risk, time, event)
    assert ranking_hinge_loss(risk, time, event, max_pairs=10**9).item() == exact.item()


def test_regression_term_is_the_documented_formula():
    """lambda * mean(event * (log t + risk)^2 + (1 - event) * relu(log t + risk)^2)."""
    risk, time, event = _batch(8)
    residual = torch.log(time) + risk
    expected = torch.where(event, residual**2, torch.relu(residual) ** 2).mean()
    ranking = ranking_hinge_loss(risk, time, event).item()
    combined = ranking_hinge_loss(risk, time, event, regression_weight=0.3).item()
    assert combined == pytest.approx(ranking + 0.3 * expected.item(), rel=1e-12)


def test_regression_needs_positive_durations():
    with pytest.raises(LossInputError, match="duration must be > 0"):
        ranking_hinge_loss(torch.zeros(2), torch.tensor([0.0, 1.0]), torch.ones(2),
                           regression_weight=1.0)


@pytest.mark.parametrize("kwargs", [{"margin": -1.0}, {"regression_weight": -0.1},
                                    {"max_pairs": 0}, {"max_pairs": 2.5},
                                    {"reduction": "none"}])
def test_bad_options_raise(kwargs):
    with pytest.raises(LossInputError):
        ranking_hinge_loss(torch.zeros(3), torch.arange(1.0, 4.0), torch.ones(3), **kwargs)


def test_double_backward_is_refused_not_silently_wrong():
    risk, time, event = _batch(9, n=20)
    risk.requires_grad_(True)
    (gradient,) = torch.autograd.grad(ranking_hinge_loss(risk, time, event), risk,
                                      create_graph=True)
    with pytest.raises(RuntimeError):
        gradient.sum().backward()
