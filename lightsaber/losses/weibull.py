r"""Weibull accelerated-failure-time negative log-likelihood.

The network outputs two columns per row, :math:`\log \lambda` (log scale, in the units of the
durations) and :math:`\log \rho` (log shape). This is R ``survival::survreg(dist = "weibull")``'s
model written with :math:`\lambda = e^{\mu}` (``mu`` = survreg's linear predictor) and
:math:`\rho = 1 / \sigma` (``sigma`` = survreg's ``scale``); lifelines' ``WeibullAFTFitter``
uses the same :math:`\lambda`, :math:`\rho`.
"""

from __future__ import annotations

from typing import Any

import torch

from lightsaber.losses._validation import as_duration, as_event, as_prediction, check_option

__all__ = ["weibull_aft_loss"]


def weibull_aft_loss(prediction: torch.Tensor, duration: Any, event: Any, *,
                     reduction: str = "mean") -> torch.Tensor:
    r"""Negative log-likelihood of a Weibull AFT model with per-row scale and shape.

    With :math:`z_i = \log t_i - \log \lambda_i`, hazard
    :math:`h_i(t) = \tfrac{\rho_i}{\lambda_i} (t / \lambda_i)^{\rho_i - 1}` and cumulative
    hazard :math:`H_i(t) = (t / \lambda_i)^{\rho_i}`, each row contributes

    .. math::

        -\big[\delta_i \log h_i(t_i) - H_i(t_i)\big]
        = -\delta_i\,(\log \rho_i + \rho_i z_i - \log t_i) + e^{\rho_i z_i},

    the log density of the time itself for events and the log survival for censored rows (the
    scale on which ``survreg`` reports ``loglik``). A larger :math:`\lambda` means a longer
    expected survival, so a *risk* score in lightsaber's convention is :math:`-\log\lambda`
    (at a common shape).

    Parameters
    ----------
    prediction : Tensor, shape (n, 2)
        Column 0 :math:`\log \lambda`, column 1 :math:`\log \rho`. A zero second column fixes
        the shape at 1 (the exponential model; ``survreg(..., scale = 1)``).
    duration : Tensor or array-like, shape (n,)
        Follow-up times, > 0.
    event : Tensor or array-like, shape (n,)
        1 for an observed event, 0 for censoring.
    reduction : {"mean", "sum"}, default "mean"
        ``"sum"`` is minus the log-likelihood; ``"mean"`` divides it by ``n`` (rows, not
        events: censored rows contribute too).

    Returns
    -------
    Tensor
        A scalar of ``prediction``'s dtype; finite and connected without events.

    Examples
    --------
    >>> prediction = torch.zeros(2, 2, requires_grad=True)  # lambda = rho = 1: Exp(1)
    >>> weibull_aft_loss(prediction, torch.tensor([1.0, 2.0]), torch.tensor([1, 0]),
    ...                  reduction="sum").item()  # -log f(1) - log S(2) = 1 + 2
    3.0
    """
    check_option(reduction, "reduction", ("mean", "sum"))
    prediction = as_prediction(prediction, width=2)
    n = prediction.shape[0]
    duration = as_duration(duration, n, prediction.device, positive=True)
    event = as_event(event, n, prediction.device)
    log_scale, log_shape = prediction.unbind(dim=1)
    log_time = torch.log(duration.to(prediction.dtype))
    shape = torch.exp(log_shape)
    standardised = shape * (log_time - log_scale)  # rho * z = log H
    log_hazard = log_shape + standardised - log_time
    negative = torch.exp(standardised) - torch.where(event, log_hazard, 0.0)
    return negative.mean() if reduction == "mean" else negative.sum()
