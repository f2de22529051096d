r"""From a survival network's raw output to risks, survival curves and median times.

A :class:`~lightsaber.models.SurvivalNet` output means different things for different losses;
this module is the one place that says how each is read. The *kind* of an output is:

``"risk"``
    One column, a log hazard ratio (Cox, RankSVX). Curves come from a Breslow baseline fitted
    on the training split (in :mod:`lightsaber.models.nets`).
``"logistic_hazard"``, ``"pmf"``, ``"mtlr"``
    One column per grid point ``cuts[k]`` (pycox's parametrisations; DeepHit uses ``"pmf"``):

    * logistic hazard: :math:`S(c_k) = \prod_{j \le k} (1 - \sigma(\phi_j))`;
    * PMF: :math:`S(c_k) = 1 - \sum_{j \le k} \mathrm{softmax}([\phi, 0])_j`;
    * N-MTLR: the PMF formula applied to reversed cumulative sums of :math:`\phi`.

    :math:`S(t)` is a step function: 1 before ``cuts[0]``, :math:`S(c_k)` on
    ``[cuts[k], cuts[k+1])``. These are pycox's ``predict_surv`` formulas (pycox adds
    ``1e-7`` inside a log for the logistic hazard; here ``-softplus`` gives the same log
    exactly), tested equal to pycox's.
``"weibull"``
    Two columns :math:`(\log\lambda, \log\rho)`: :math:`S(t) = \exp(-(t/\lambda)^\rho)`, median
    :math:`\lambda (\log 2)^{1/\rho}`.

``"pmf_competing"``, ``"logistic_hazard_competing"``
    Competing risks (:class:`~lightsaber.models.CompetingRisksNet`): ``K * n_bins`` columns
    viewed as ``(n, K, n_bins)``, cause-major. With :math:`F_k(c_j)` the cumulative incidence of
    cause ``k`` at grid point ``c_j``:

    * PMF (competing DeepHit, pycox's ``DeepHit.predict_cif``): :math:`f =
      \mathrm{softmax}([\phi_{1\cdot}, \ldots, \phi_{K\cdot}, 0])` over all ``K * n_bins``
      scores and a zero logit (no event on the grid), :math:`F_k(c_j) = \sum_{l \le j}
      f_{kl}`;
    * logistic hazard: :math:`h_{\cdot j} = \mathrm{softmax}([0, \phi_{1j}, \ldots,
      \phi_{Kj}])` (no event, cause 1..K within interval ``j``), :math:`S(c_j) = \prod_{l \le
      j} h_{0l}`, :math:`F_k(c_j) = \sum_{l \le j} S(c_{l-1}) h_{kl}`.

    The event-free survival is :math:`1 - \sum_k F_k`. Curves are step functions read as the
    single-event discrete kinds are: :math:`F_k(t) = 0` before ``cuts[0]``, :math:`F_k(c_j)`
    on ``[cuts[j], cuts[j+1])``, flat after the last cut (:func:`step_curves_at`).

The risk of a non-``"risk"`` output (higher = earlier event, scikit-survival's convention) is
minus the restricted mean survival time on the grid for the discrete kinds and minus the log
median time for the Weibull kind.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["COMPETING_KINDS", "DISCRETE_KINDS", "OUTPUT_KINDS", "competing_incidence",
           "discrete_survival", "restricted_mean", "step_curves_at", "step_survival_at",
           "weibull_median", "weibull_survival"]

DISCRETE_KINDS = ("logistic_hazard", "pmf", "mtlr")
OUTPUT_KINDS = ("risk", *DISCRETE_KINDS, "weibull")
#: Output kinds of competing-risks nets (``(n, K, n_bins)`` scores).
COMPETING_KINDS = ("pmf_competing", "logistic_hazard_competing")


def discrete_survival(output: np.ndarray | torch.Tensor, kind: str) -> np.ndarray:
    """Survival probability at each grid point, ``(n, n_bins)``, non-increasing, in [0, 1].

    Examples
    --------
    >>> s = discrete_survival(np.zeros((1, 3)), "logistic_hazard")
    >>> s.round(3).tolist()
    [[0.5, 0.25, 0.125]]
    >>> discrete_survival(np.zeros((1, 3)), "pmf").round(3).tolist()
    [[0.75, 0.5, 0.25]]
    """
    phi = torch.as_tensor(np.asarray(output, dtype=np.float64))
    if kind == "logistic_hazard":
        surv = torch.exp(-torch.nn.functional.softplus(phi).cumsum(dim=1))
    elif kind in ("pmf", "mtlr"):
        if kind == "mtlr":
            phi = phi.flip(1).cumsum(1).flip(1)  # pycox.models.utils.cumsum_reverse
        padded = torch.cat([phi, torch.zeros_like(phi[:, :1])], dim=1)
        surv = 1.0 - padded.softmax(dim=1)[:, :-1].cumsum(dim=1)
    else:
        raise ValueError(f"kind must be one of {DISCRETE_KINDS}; got {kind!r}.")
    surv = surv.clamp(0.0, 1.0).numpy()
    return np.minimum.accumulate(surv, axis=1)  # removes rounding upticks of ~1e-16


def competing_incidence(output: np.ndarray | torch.Tensor, kind: str) -> np.ndarray:
    """Cumulative incidence of each cause at each grid point, ``(n, K, n_bins)``.

    Non-decreasing along the grid, in [0, 1], and summing to at most 1 over causes (see the
    module docstring for the formulas).

    Examples
    --------
    >>> cif = competing_incidence(np.zeros((1, 2, 2)), "logistic_hazard_competing")
    >>> cif.round(3).tolist()  # a third per cause in each interval, then 1/3 of what is left
    [[[0.333, 0.444], [0.333, 0.444]]]
    >>> competing_incidence(np.zeros((1, 2, 2)), "pmf_competing").round(3).tolist()
    [[[0.2, 0.4], [0.2, 0.4]]]
    """
    phi = torch.as_tensor(np.asarray(output, dtype=np.float64))
    if phi.dim() != 3:
        raise ValueError(f"output must have shape (n, n_causes, n_bins); got {tuple(phi.shape)}.")
    if kind == "pmf_competing":
        flat = phi.reshape(phi.shape[0], -1)
        padded = torch.cat([flat, torch.zeros_like(flat[:, :1])], dim=1)
        cif = padded.softmax(dim=1)[:, :-1].reshape(phi.shape).cumsum(dim=2)
    elif kind == "logistic_hazard_competing":
        logits = torch.cat([torch.zeros_like(phi[:, :1]), phi], dim=1)
        log_prob = torch.log_softmax(logits, dim=1)  # (n, K + 1, n_bins)
        log_survival = log_prob[:, 0, :].cumsum(dim=1)
        before = torch.cat([torch.zeros_like(log_survival[:, :1]), log_survival[:, :-1]], dim=1)
        cif = torch.exp(before[:, None, :] + log_prob[:, 1:, :]).cumsum(dim=2)
    else:
        raise ValueError(f"kind must be one of {COMPETING_KINDS}; got {kind!r}.")
    cif = np.maximum.accumulate(cif.clamp(0.0, 1.0).numpy(), axis=2)  # rounding upticks
    total = cif.sum(axis=1, keepdims=True)
    return np.where(total > 1.0, cif / np.maximum(total, 1.0), cif)  # sum <= 1 to rounding


def step_curves_at(curves: np.ndarray, grid: np.ndarray, times: np.ndarray, *,
                   before: float) -> np.ndarray:
    """Right-continuous step curves known at ``grid`` (last axis), at arbitrary ``times``.

    ``before`` is the value before the first grid point (1 for survival, 0 for incidence).

    Examples
    --------
    >>> step_curves_at(np.array([[0.1, 0.5]]), np.array([1.0, 2.0]),
    ...                np.array([0.5, 1.0, 1.5, 9.0]), before=0.0).tolist()
    [[0.0, 0.1, 0.1, 0.5]]
    """
    index = np.searchsorted(np.asarray(grid, float), np.asarray(times, float), side="right") - 1
    values = curves[..., np.maximum(index, 0)]
    return np.where(index >= 0, values, before)


def step_survival_at(surv: np.ndarray, grid: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Evaluate right-continuous step curves known at ``grid`` at arbitrary ``times``.

    Examples
    --------
    >>> step_survival_at(np.array([[0.9, 0.5]]), np.array([1.0, 2.0]),
    ...                  np.array([0.5, 1.0, 1.5, 9.0])).tolist()
    [[1.0, 0.9, 0.9, 0.5]]
    """
    index = np.searchsorted(np.asarray(grid, float), np.asarray(times, float), side="right") - 1
    values = surv[:, np.maximum(index, 0)]
    return np.where(index[None, :] >= 0, values, 1.0)


def restricted_mean(surv: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Area under the step curves from 0 to the last grid point (restricted mean time).

    Examples
    --------
    >>> restricted_mean(np.array([[1.0, 0.5, 0.0]]), np.array([0.0, 1.0, 2.0])).tolist()
    [1.5]
    """
    grid = np.asarray(grid, dtype=float)
    widths = np.diff(grid)
    head = max(grid[0], 0.0)  # S = 1 from 0 to the first grid point
    return head + surv[:, :-1] @ widths


def _weibull_parts(output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    output = np.asarray(output, dtype=np.float64)
    return np.exp(output[:, 0]), np.exp(output[:, 1])


def weibull_survival(output: np.ndarray, times: np.ndarray) -> np.ndarray:
    r"""Weibull survival :math:`\exp(-(t/\lambda)^\rho)` at ``times``, ``(n, len(times))``.

    Examples
    --------
    >>> weibull_survival(np.array([[0.0, 0.0]]), np.array([0.0, 1.0])).round(4).tolist()
    [[1.0, 0.3679]]
    """
    scale, shape = _weibull_parts(output)
    times = np.clip(np.asarray(times, dtype=np.float64), 0.0, None)
    return np.exp(-((times[None, :] / scale[:, None]) ** shape[:, None]))


def weibull_median(output: np.ndarray) -> np.ndarray:
    r"""Median time :math:`\lambda (\log 2)^{1/\rho}` per row.

    Examples
    --------
    >>> weibull_median(np.array([[0.0, 0.0]])).round(4).tolist()
    [0.6931]
    """
    scale, shape = _weibull_parts(output)
    return scale * np.log(2.0) ** (1.0 / shape)
