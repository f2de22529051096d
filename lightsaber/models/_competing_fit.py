"""Numerics behind :mod:`lightsaber.models.competing`: two proportional-hazards fits.

* :func:`fit_cox` — a Cox model with Efron's (or Breslow's) ties, as ``survival::coxph``, and
  its Efron-corrected Breslow baseline hazard, as ``survival::survfit.coxph`` and
  ``riskRegression::predictCox`` (``baseHaz_cpp`` with ``Efron = TRUE``).
* :func:`fit_fine_gray` — the Fine-Gray subdistribution-hazard model exactly as
  ``cmprsk::crr`` computes it (Fortran ``crrf`` / ``crrfsv`` / ``crrfit``).

Both maximise a (ridge-penalised) log partial likelihood by Newton-Raphson with step halving,
vectorised with cumulative sums over the rows sorted by time: the Hessian is assembled as
``X' diag(c) X - M' M`` (``c`` a weight per row, ``M`` one row per event), never as an
``(n, p, p)`` array, so memory is ``O(n p)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lightsaber.exceptions import ConvergenceError

__all__ = ["CoxFit", "FineGrayFit", "censoring_left_limits", "fit_cox", "fit_fine_gray"]

State = tuple[float, np.ndarray, np.ndarray]


def _newton(state: Callable[[np.ndarray], State], p: int, *, alpha: float, n_iter: int,
            tol: float, what: str, names: list[str]) -> np.ndarray:
    """Maximise ``loglik(b) - alpha / 2 * |b|^2`` from ``b = 0``.

    Converged when the penalised log-likelihood changes by less than ``tol`` relative to its
    value (the rule of ``survival::coxph`` and scikit-survival); the step that meets the rule is
    kept. Raises :class:`ConvergenceError` when ``n_iter`` steps do not converge, when no step
    along the Newton direction increases the likelihood, or when the likelihood converged while
    a coefficient still runs off to infinity (``coxph``'s "coefficient may be infinite" check:
    the next Newton step is still large).
    """

    def penalised(b: np.ndarray) -> State:
        loglik, grad, hess = state(b)
        if alpha:
            loglik -= 0.5 * alpha * float(b @ b)
            grad = grad - alpha * b
            hess = hess - alpha * np.eye(p)
        return loglik, grad, hess

    def newton_step(grad: np.ndarray, hess: np.ndarray) -> np.ndarray:
        try:
            step = np.linalg.solve(hess, -grad)
        except np.linalg.LinAlgError:
            step = np.full(p, np.nan)
        if not np.all(np.isfinite(step)):
            raise ConvergenceError(
                f"{what}: the information matrix is singular (a constant or collinear feature "
                f"among {names}, or a feature that is constant among the events). Drop or "
                "combine the redundant columns, or set alpha > 0 (ridge penalty).")
        return step

    beta = np.zeros(p)
    loglik, grad, hess = penalised(beta)
    if p == 0:
        return beta
    for _ in range(n_iter):
        step = newton_step(grad, hess)
        scale = 1.0
        while True:
            cand = beta + scale * step
            new = penalised(cand)
            if np.isfinite(new[0]) and new[0] >= loglik - 1e-12 * max(1.0, abs(loglik)):
                break
            scale /= 2
            if scale < 1e-10:
                raise ConvergenceError(
                    f"{what}: no step along the Newton direction increases the partial "
                    f"likelihood (log-likelihood {loglik:.6g}, coefficients {beta.round(4)}). "
                    "Standardise the features, or set alpha > 0 (ridge penalty).")
        converged = abs(new[0] - loglik) <= tol * max(1.0, abs(new[0]))
        beta, (loglik, grad, hess) = cand, new
        if converged:
            break
    else:
        raise ConvergenceError(
            f"{what}: Newton-Raphson did not converge in n_iter={n_iter} iterations "
            f"(coefficients {beta.round(4)}). Raise n_iter, standardise the features, or set "
            "alpha > 0 (ridge penalty).")
    ahead = np.abs(newton_step(grad, hess))
    runaway = ahead > 1e-4 * (1.0 + np.abs(beta))
    if runaway.any():
        bad = [names[j] for j in np.flatnonzero(runaway)]
        raise ConvergenceError(
            f"{what}: the partial likelihood converged while coefficient(s) of {bad} still grow "
            f"without bound (values {beta[runaway].round(3).tolist()}): those features separate "
            "the events (monotone likelihood), so the coefficient is infinite. Drop or merge "
            "the feature, or set alpha > 0 (ridge penalty).")
    return beta


@dataclass(frozen=True)
class CoxFit:
    """A fitted Cox model: coefficients and the baseline hazard jumps at centred covariates.

    Attributes
    ----------
    coef : numpy.ndarray
        Coefficients, shape ``(p,)``.
    center : numpy.ndarray
        Training means of the covariates; the baseline below is the hazard at ``center``.
    event_times : numpy.ndarray
        Distinct event times, ascending.
    log_hazard : numpy.ndarray
        Log of the baseline hazard jump at each of ``event_times``.
    """

    coef: np.ndarray
    center: np.ndarray
    event_times: np.ndarray
    log_hazard: np.ndarray


def fit_cox(x: np.ndarray, event: np.ndarray, time: np.ndarray, *, ties: str = "efron",
            alpha: float = 0.0, n_iter: int = 100, tol: float = 1e-9, what: str = "Cox model",
            names: list[str] | None = None) -> CoxFit:
    """Fit a Cox model with Efron or Breslow ties and its (Efron-corrected) Breslow baseline.

    With ``d`` events tied at a time, risk-set sum ``S0`` and events' sum ``S0D``, Efron's
    likelihood divides by ``prod_r (S0 - r / d * S0D)`` (``r = 0 .. d - 1``) and the baseline
    jump is ``sum_r 1 / (S0 - r / d * S0D)``; Breslow's uses ``r = 0`` throughout (``d / S0``).

    Parameters
    ----------
    x : numpy.ndarray of shape (n, p)
        Covariates.
    event : numpy.ndarray of bool
        Event indicator.
    time : numpy.ndarray
        Follow-up times.
    ties : {"efron", "breslow"}
        Tie handling in the likelihood and the baseline.
    alpha : float
        Ridge penalty ``alpha / 2 * |beta|^2``.
    n_iter : int
        Most Newton-Raphson iterations.
    tol : float
        Relative change of the log-likelihood that counts as converged.
    what : str
        Name of the model in error messages.
    names : list of str, optional
        Feature names for error messages.

    Returns
    -------
    CoxFit

    Examples
    --------
    >>> x = np.array([[0.0], [1.0], [2.0], [3.0], [1.5]])
    >>> fit = fit_cox(x, np.array([1, 1, 0, 1, 1], bool), np.array([4.0, 3, 2.5, 1, 3]))
    >>> fit.event_times.tolist(), fit.coef.shape
    ([1.0, 3.0, 4.0], (1,))
    """
    names = names if names is not None else [f"x{j}" for j in range(x.shape[1])]
    center = x.mean(axis=0)
    order = np.argsort(-time, kind="stable")  # descending: a risk set is a prefix
    xs, ev, ts = (x - center)[order], event[order], time[order]
    n, p = xs.shape
    last_of_time = np.r_[np.flatnonzero(ts[1:] != ts[:-1]), n - 1]
    group_end = np.repeat(last_of_time, np.diff(np.r_[-1, last_of_time]))
    ev_idx = np.flatnonzero(ev)
    ends = group_end[ev_idx]  # per event: last row of its risk set
    # events tied at one time are contiguous in ev_idx; g = their group, r = rank within it
    starts = np.r_[0, np.flatnonzero(np.diff(ts[ev_idx]) != 0) + 1]
    sizes = np.diff(np.r_[starts, ev_idx.size])
    group = np.repeat(np.arange(starts.size), sizes)
    rank = np.arange(ev_idx.size) - starts[group]
    if ties == "efron":
        frac = rank / sizes[group]
    elif ties == "breslow":
        frac = np.zeros(ev_idx.size)
    else:  # pragma: no cover - checked by the estimator
        raise ValueError(ties)
    xe = xs[ev_idx]

    def phi_of(b: np.ndarray):
        eta = xs @ b
        shift = eta.max()
        w = np.exp(eta - shift)
        s0 = np.cumsum(w)[ends]
        s0d = np.add.reduceat(w[ev_idx], starts)[group]
        return eta, shift, w, s0 - frac * s0d

    def state(b: np.ndarray) -> State:
        eta, shift, w, phi = phi_of(b)
        if not bool(np.all(phi > 0)):
            return -np.inf, np.full(p, np.nan), np.full((p, p), np.nan)
        loglik = float(np.sum(eta[ev_idx] - shift) - np.sum(np.log(phi)))
        wx = w[:, None] * xs
        s1 = np.cumsum(wx, axis=0)[ends]
        s1d = np.add.reduceat(wx[ev_idx], starts, axis=0)[group]
        mean = (s1 - frac[:, None] * s1d) / phi[:, None]
        grad = np.sum(xe - mean, axis=0)
        # sum_e S2_e / phi_e = X' diag(w c) X, c_i = sum of 1 / phi_e over risk sets holding i
        a = np.zeros(n)
        np.add.at(a, ends, 1.0 / phi)
        c = np.cumsum(a[::-1])[::-1]
        q = np.bincount(group, weights=frac / phi)  # the tied events' correction, per group
        c[ev_idx] -= q[group]
        hess = -(xs.T @ ((w * c)[:, None] * xs) - mean.T @ mean)
        return loglik, grad, hess

    beta = _newton(state, p, alpha=alpha, n_iter=n_iter, tol=tol, what=what, names=names)
    _, shift, _, phi = phi_of(beta)
    # baseline jump per distinct event time: sum over its tied events of 1 / phi (log space)
    log_hazard = np.log(np.bincount(group, weights=1.0 / phi)) - shift
    times_desc = ts[ev_idx][starts]
    return CoxFit(coef=beta, center=center, event_times=times_desc[::-1].copy(),
                  log_hazard=log_hazard[::-1].copy())


def censoring_left_limits(time: np.ndarray, censored: np.ndarray) -> np.ndarray:
    """Kaplan-Meier estimate of the censoring distribution at each row's left limit, ``G(T_i-)``.

    Censorings are the "events" of this estimate and everyone with ``T >= c`` is at risk at a
    censoring time ``c`` (an event tied with a censoring counts as still at risk, as in
    ``survival::survfit``); ``G(T_i-)`` multiplies the factors of the censoring times strictly
    before ``T_i``, as ``cmprsk::crr`` evaluates it (at ``T_i * (1 - 100 eps)``).

    Parameters
    ----------
    time : numpy.ndarray
        Follow-up times.
    censored : numpy.ndarray of bool
        Whether each row is censored.

    Returns
    -------
    numpy.ndarray
        ``G(T_i-)`` per row, in the input order.

    Examples
    --------
    >>> censoring_left_limits(np.array([1.0, 2, 2, 3]), np.array([False, True, False, True]))
    array([1.        , 1.        , 1.        , 0.66666667])
    """
    utimes, inverse = np.unique(time, return_inverse=True)
    at_risk = time.size - np.r_[0, np.cumsum(np.bincount(inverse))[:-1]]
    n_cens = np.bincount(inverse, weights=censored.astype(float), minlength=utimes.size)
    surv = np.cumprod(1.0 - n_cens / at_risk)
    left = np.r_[1.0, surv[:-1]]
    return left[inverse]


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
    ``G(t-) / G(T_i-)`` (:func:`censoring_left_limits`); rows censored before ``t`` are out.
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
    g_left = censoring_left_limits(ts, st == 0)
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

    beta = _newton(state, p, alpha=alpha, n_iter=n_iter, tol=tol,
                   what=f"Fine-Gray model for cause {cause}", names=names)
    _, shift, _, s0 = sums(beta)
    hazard = d / s0 * np.exp(-shift)
    return FineGrayFit(coef=beta, event_times=uft, hazard=hazard)
