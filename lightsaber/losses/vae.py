r"""Variational auto-encoder loss (negative ELBO) for VAECox-style pre-training.

VAECox (Kim, Kang and Kang, *Bioinformatics* 36, 2020) pre-trains a VAE on unlabelled profiles
and then reuses its encoder in a Cox network trained with :func:`lightsaber.losses.cox_ph_loss`.
This is the pre-training loss: a Gaussian reconstruction term plus the KL divergence of the
diagonal-Gaussian posterior from the standard normal prior. Missing input entries (NaN) are left
out of the reconstruction term through ``mask``.
"""

from __future__ import annotations

from typing import Any

import torch

from lightsaber.exceptions import LossInputError
from lightsaber.losses._validation import check_option

__all__ = ["vae_loss"]


def _same_shape(name: str, tensor: torch.Tensor, shape: tuple[int, ...]) -> None:
    if tuple(tensor.shape) != shape:
        raise LossInputError(f"{name} must have shape {shape}; got {tuple(tensor.shape)}.")


def vae_loss(reconstruction: torch.Tensor, x: torch.Tensor, mu: torch.Tensor,
             logvar: torch.Tensor, *, beta: float = 1.0, mask: Any = None,
             reduction: str = "mean") -> torch.Tensor:
    r"""Negative evidence lower bound of a VAE with a Gaussian decoder, per sample.

    For sample :math:`i` with observed entries :math:`O_i` (all entries without ``mask``),

    .. math::

        L_i = \sum_{f \in O_i} (\hat x_{if} - x_{if})^2
              + \beta \cdot \tfrac{1}{2} \sum_k \big(\mu_{ik}^2 + e^{v_{ik}} - 1 - v_{ik}\big)

    with :math:`v = \log \sigma^2` (``logvar``). The first term is the squared error summed over
    observed features (the Gaussian negative log-likelihood with variance 1/2, up to a
    constant); the second is :math:`\mathrm{KL}(\mathcal N(\mu, \sigma^2) \,\|\, \mathcal N(0, I))`.
    :math:`\beta = 1` gives the ELBO, other values the :math:`\beta`-VAE objective.

    Parameters
    ----------
    reconstruction : Tensor, shape (n, d)
        Decoder output :math:`\hat x`.
    x : Tensor, shape (n, d)
        Input; may hold NaN where ``mask`` is False.
    mu, logvar : Tensor, shape (n, k)
        Posterior mean and log variance from the encoder.
    beta : float, default 1.0
        Weight of the KL term (>= 0).
    mask : Tensor of bool, shape (n, d), optional
        True where ``x`` is observed. Without it every entry must be finite (a NaN raises
        :class:`LossInputError` naming this argument as the fix).
    reduction : {"mean", "sum"}, default "mean"
        Mean or sum of :math:`L_i` over the samples.

    Returns
    -------
    Tensor
        A scalar. Masked entries contribute neither value nor gradient, even when ``x`` is NaN.

    Examples
    --------
    >>> x = torch.tensor([[1.0, float("nan")], [0.0, 2.0]])
    >>> reconstruction = torch.tensor([[0.5, 9.0], [0.0, 1.0]], requires_grad=True)
    >>> mu, logvar = torch.zeros(2, 3), torch.zeros(2, 3)  # posterior = prior: KL 0
    >>> vae_loss(reconstruction, x, mu, logvar, mask=~torch.isnan(x)).item()  # (0.25 + 1) / 2
    0.625
    """
    check_option(reduction, "reduction", ("mean", "sum"))
    if not beta >= 0:
        raise LossInputError(f"beta must be >= 0; got {beta!r}.")
    if reconstruction.dim() != 2:
        raise LossInputError(
            f"reconstruction must have shape (n, d); got {tuple(reconstruction.shape)}.")
    _same_shape("x", x, tuple(reconstruction.shape))
    if mu.dim() != 2 or mu.shape[0] != reconstruction.shape[0]:
        raise LossInputError(
            f"mu must have shape ({reconstruction.shape[0]}, k); got {tuple(mu.shape)}.")
    _same_shape("logvar", logvar, tuple(mu.shape))

    x = x.to(device=reconstruction.device, dtype=reconstruction.dtype)
    if mask is None:
        if bool(torch.isnan(x).any()):
            raise LossInputError(
                "x holds NaN; pass mask=~torch.isnan(x) to leave missing entries out of the "
                "reconstruction term.")
        squared = (reconstruction - x) ** 2
    else:
        mask = torch.as_tensor(mask, device=reconstruction.device)
        _same_shape("mask", mask, tuple(x.shape))
        if mask.dtype != torch.bool:
            raise LossInputError(f"mask must be boolean (True = observed); got {mask.dtype}.")
        # where() rather than multiplying by the mask: 0 * NaN would be NaN, also in the gradient.
        squared = torch.where(mask, (reconstruction - torch.where(mask, x, 0.0)) ** 2, 0.0)
    kl = 0.5 * (mu ** 2 + torch.exp(logvar) - 1.0 - logvar).sum(dim=1)
    per_sample = squared.sum(dim=1) + beta * kl.to(reconstruction.dtype)
    return per_sample.mean() if reduction == "mean" else per_sample.sum()
