"""The Fine-Gray fit behind :class:`lightsaber.models.FineGray`.

:func:`fit_fine_gray` is the Fine-Gray subdistribution-hazard model exactly as ``cmprsk::crr``
computes it (Fortran ``crrf`` / ``crrfsv`` / ``crrfit``). It shares the Newton-Raphson driver
(:func:`lightsaber.metrics._cox.newton_raphson`, strict) with the library's Cox fit, which lives
in :mod:`lightsaber.metrics._cox` (the cause-specific Cox model uses it), and the censoring
Kaplan-Meier left limits with :mod:`lightsaber.metrics._km`. The likelihood is vectorised like
the Cox one: cumulative sums over the rows sorted by time, the Hessian assembled as
``X' diag(c) X - M' M`` (``c`` a weight per row, ``M`` one row per failure time), never as an
``(n, p, p)`` array, so memory is ``O(n p)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lightsaber.metrics._cox import State, newton_raphson
from lightsaber.metrics._km import censoring_left_limits

__all__ = ["FineGrayFit", "fit_fine_gray"]


@dataclass(frozen=True)
class FineGrayFit:
    """A fitted Fine-Gray model: coefficients and ``crr``'s baseline jumps (raw covariates).

    Attributes
    ----------
    coef : numpy.ndarray
        Coefficients, shape ``(p,)``.
    event_times : numpy.ndarray
        Distinct failure times of the cause of interest, ascending (``crr``'s ``uftime``).
    hazard : numpy.ndarray
        Jumps of the baseline cumulative subdistribution hazard at ``event_times``, at
        covariates 0 (``crr``'s ``bfitj``).
    """

    coef: np.ndarray
    event_times: np.ndarray
    hazard: np.ndarray


def fit_fine_gray(x: np.ndarray, status: np.ndarray, time: np.ndarray, cause: int, *,
                  alpha: float = 0.0, n_iter: int = 100, tol: float = 1e-9,
                  names: list[str] | None = None) -> FineGrayFit:
    """Fit the Fine-Gray model for ``cause`` as ``cmprsk::crr`` does.

    At a failure time ``t`` of the cause, the risk set holds everyone with ``T_i >= t``
    (weight 1) and everyone who failed from another cause before ``t`` with weight
    ``G(t-) / G(T_i-)`` (:func:`lightsaber.metrics._km.censoring_left_limits`); rows censored
    before ``t`` are out.
    Tied failures share one risk-set sum (Breslow): the likelihood term of a time with ``d``
    failures is ``sum eta - d log S0`` and the baseline jump is ``d / S0``.

    Parameters
    ----------
    x : numpy.ndarray of shape (n, p)
        Covariates (used as they are, like ``crr``).
    status : numpy.ndarray of int
        0 = censored, a cause code otherwise.
    time : numpy.ndarray
        Follow-up times.
    cause : int
        The cause of interest.
    alpha : float
        Ridge penalty ``alpha / 2 * |beta|^2``.
    n_iter : int
        Most Newton-Raphson iterations.
    tol : float
        Relative change of the log-likelihood that counts as converged.
    names : list of str, optional
        Feature names for error messages.

    Returns
    -------
    FineGrayFit

    Examples
    --------
    >>> x = np.array([[0.0], [1.0], [2.0], [3.0], [1.5], [0.5]])
    >>> fit = fit_fine_gray(x, np.array([1, 2, 0, 1, 1, 2]), np.array([4.0, 3, 2.5, 1, 3, 5]),
    ...                     cause=1)
    >>> fit.event_times.tolist(), fit.hazard.shape
    ([1.0, 3.0, 4.0], (3,))
    """
    names = names if names is not None else [f"x{j}" for j in range(x.shape[1])]
    order = np.argsort(time, kind="stable")  # ascending, as crr sorts
    xs, st, ts = x[order], status[order], time[order]
    n, p = xs.shape
    g_left = censoring_left_limits(st != 0, ts)
    fail = st == cause
    other = (st != 0) & ~fail
    uft, d = np.unique(ts[fail], return_counts=True)
    first = np.searchsorted(ts, uft, side="left")  # rows first..n-1 have T >= t
    g_at = g_left[first]  # G(t-) at each failure time
    # other-cause rows with T_i < t: rows 0..first-1 among `other`
    inv_g = np.where(other, 1.0 / np.where(other, g_left, 1.0), 0.0)
    xf = xs[fail]

    def sums(b: np.ndarray):
        eta = xs @ b
        shift = eta.max()
        w = np.exp(eta - shift)
        tail = np.cumsum(w[::-1])[::-1]  # tail[i] = sum_{k >= i} w_k
        head = np.r_[0.0, np.cumsum(w * inv_g)]  # head[i] = sum_{k < i} (other) w_k / G_k
        s0 = tail[first] + g_at * head[first]
        return eta, shift, w, s0

    def state(b: np.ndarray) -> State:
        eta, shift, w, s0 = sums(b)
        if not bool(np.all(s0 > 0)):
            return -np.inf, np.full(p, np.nan), np.full((p, p), np.nan)
        loglik = float(np.sum(eta[fail] - shift) - np.sum(d * np.log(s0)))
        wx = w[:, None] * xs
        tail1 = np.cumsum(wx[::-1], axis=0)[::-1]
        head1 = np.vstack([np.zeros(p), np.cumsum(wx * inv_g[:, None], axis=0)])
        s1 = tail1[first] + g_at[:, None] * head1[first]
        mean = s1 / s0[:, None]
        grad = np.sum(xf, axis=0) - d @ mean
        # sum_j d_j S2_j / S0_j = X' diag(w c) X: row i is in the risk set of t_j with weight
        # 1 when first_j <= i, and with weight G_j / G_i when it failed of another cause before
        a = np.zeros(n + 1)
        np.add.at(a, first + 1, d / s0)
        at_or_after = np.cumsum(a)[1:]  # sum over t_j with first_j <= i
        b_ = np.zeros(n + 1)
        np.add.at(b_, first, d * g_at / s0)
        later = np.cumsum(b_[::-1])[::-1][1:]  # sum over t_j with first_j > i
        c = at_or_after + inv_g * later
        hess = -(xs.T @ ((w * c)[:, None] * xs) - (mean * d[:, None]).T @ mean)
        return loglik, grad, hess

    beta = newton_raphson(state, p, alpha=alpha, n_iter=n_iter, tol=tol, strict=True,
                          what=f"Fine-Gray model for cause {cause}", names=names)
    _, shift, _, s0 = sums(beta)
    hazard = d / s0 * np.exp(-shift)
    return FineGrayFit(coef=beta, event_times=uft, hazard=hazard)
