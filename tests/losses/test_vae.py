"""``vae_loss`` against its definition: squared error + beta * KL(N(mu, sigma^2) || N(0, I)).

The KL reference is ``torch.distributions.kl_divergence`` (an independent implementation);
the reconstruction reference is a plain masked sum of squares.
"""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from lightsaber.losses import LossInputError, vae_loss


def _batch(seed: int = 0, n: int = 16, d: int = 5, k: int = 3):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=generator, dtype=torch.float64)
    reconstruction = torch.randn(n, d, generator=generator, dtype=torch.float64)
    mu = torch.randn(n, k, generator=generator, dtype=torch.float64)
    logvar = torch.randn(n, k, generator=generator, dtype=torch.float64) * 0.5
    return reconstruction, x, mu, logvar


@pytest.mark.parametrize("beta", [0.0, 1.0, 4.0])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_equals_reconstruction_plus_beta_kl(beta, reduction):
    reconstruction, x, mu, logvar = _batch()
    kl = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(dim=1)
    per_sample = ((reconstruction - x) ** 2).sum(dim=1) + beta * kl
    expected = per_sample.mean() if reduction == "mean" else per_sample.sum()
    ours = vae_loss(reconstruction, x, mu, logvar, beta=beta, reduction=reduction)
    assert ours.item() == pytest.approx(expected.item(), rel=1e-12)


def test_masked_nan_entries_give_no_value_and_no_gradient():
    reconstruction, x, mu, logvar = _batch(1)
    mask = torch.rand(x.shape, generator=torch.Generator().manual_seed(2)) > 0.3
    x_missing = torch.where(mask, x, torch.nan)
    reconstruction.requires_grad_(True)
    ours = vae_loss(reconstruction, x_missing, mu, logvar, mask=mask)
    ours.backward()
    kl = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(dim=1)
    expected = (((reconstruction - x) ** 2) * mask).sum(dim=1) + kl
    assert ours.item() == pytest.approx(expected.mean().item(), rel=1e-12)
    assert torch.isfinite(reconstruction.grad).all()
    assert torch.equal(reconstruction.grad[~mask], torch.zeros(int((~mask).sum()),
                                                                dtype=torch.float64))


def test_nan_without_mask_names_the_fix():
    reconstruction, x, mu, logvar = _batch()
    x[0, 0] = torch.nan
    with pytest.raises(LossInputError, match="mask=~torch.isnan"):
        vae_loss(reconstruction, x, mu, logvar)


def test_gradients_reach_encoder_outputs():
    reconstruction, x, mu, logvar = _batch(3)
    for tensor in (reconstruction, mu, logvar):
        tensor.requires_grad_(True)
    vae_loss(reconstruction, x, mu, logvar).backward()
    for tensor in (reconstruction, mu, logvar):
        assert torch.isfinite(tensor.grad).all() and bool((tensor.grad != 0).all())


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"beta": -1.0}, "beta must be >= 0"),
    ({"reduction": "none"}, "reduction must be one of"),
    ({"mask": torch.ones(16, 5)}, "mask must be boolean"),
    ({"mask": torch.ones(16, 4, dtype=torch.bool)}, r"mask must have shape \(16, 5\)"),
])
def test_bad_options_raise(kwargs, message):
    reconstruction, x, mu, logvar = _batch()
    with pytest.raises(LossInputError, match=message):
        vae_loss(reconstruction, x, mu, logvar, **kwargs)


def test_shape_mismatch_is_named():
    reconstruction, x, mu, logvar = _batch()
    with pytest.raises(LossInputError, match="logvar must have shape"):
        vae_loss(reconstruction, x, mu, logvar[:, :2])
    with pytest.raises(LossInputError, match="x must have shape"):
        vae_loss(reconstruction, x[:, :3], mu, logvar)
