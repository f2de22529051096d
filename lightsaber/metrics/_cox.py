"""The library's one Cox proportional-hazards fit, its Newton-Raphson driver and the RCS basis.

* :func:`fit_cox` — a Cox model with Breslow's or Efron's ties and the matching baseline
  hazard. Two callers: the ICI / calibration-at-horizon smoother
  (:func:`lightsaber.metrics.survival_calibration.integrated_calibration_index`: Breslow ties,
  best-effort, on a 3-knot restricted cubic spline of ``log(-log S(h | x))``) and
  :class:`lightsaber.models.CauseSpecificCox` (Efron ties as ``survival::coxph``, strict, with
  the Efron-corrected baseline of ``survival::survfit.coxph`` / ``riskRegression::predictCox``).
* :func:`newton_raphson` — the (ridge-penalised) Newton-Raphson maximiser with step halving,
  shared with the Fine-Gray fit (:func:`lightsaber.models._competing_fit.fit_fine_gray`).
* :func:`rcs_basis` — Harrell's restricted cubic spline basis, for the ICI.

Why our own fit instead of scikit-survival's ``CoxPHSurvivalAnalysis`` (a runtime dependency
already)? Measured by ``benchmarks/cox_fit.py`` on 2026-12-02 (scikit-survival 0.28.0,
lifelines 0.30.3, numpy 2.4.6, scipy 1.17.1, Python 3.11, 2 shared cores) on the ICI's design
for the DeepSurv splits (whas, metabric, gbsg, support; train and test, n = 328 to 7,098;
medians of 11 interleaved runs), with the Breslow fit this module had then (whose Hessian was an
``(n, p, p)`` cumulative sum; the one below is ``O(n p)`` and faster still):

* Same answer: with ``ties="breslow"`` its coefficients equal ours within 2e-10 and
  ``S(h | x)`` within 3e-11 (max over the 8 designs). Efron's ties (its other option, lifelines'
  only one) move a coefficient by up to 0.036 and ``S(h | x)`` by up to 0.003 on the tied day
  counts of whas and support.
* 30 to 200 times slower: fit plus ``S(h | x)`` takes 0.8 to 2 ms here for n <= 1,775 (one
  median 5.9 ms, on a loaded moment) against 47 to 323 ms (its likelihood, gradient and
  Hessian are Python loops over rows; its ``fit`` alone is 10 to 95 times ours), 34 ms
  against 1.4 s at n = 7,098, and 0.6 against 16 ms per call at n = 50. The ICI runs once per
  split and once per bootstrap resample: 1,000 resamples of support's test split take about
  2 s here against about 2.5 min.
* It fails where ours answers: the spline of near-constant predictions and a design that
  nearly separates events make it raise ``ValueError("search direction contains NaN or
  infinite values")`` after ``LinAlgWarning`` and overflow warnings (no shift before its
  exponentials, no step halving from a non-finite step); ours centres the covariates, shifts
  the linear predictor before exponentiating, rejects line-search candidates whose risk sets
  underflow, and assembles the Hessian weights and the baseline in log space, so it returns
  finite curves (lifelines agrees with ours on the first). An exactly singular design raises in
  all three (here: :class:`ConvergenceError`, a :class:`MetricError` from the ICI).

One fit for both callers, measured 2026-12-03 when the ICI's Breslow fit and the cause-specific
Cox model's Efron fit were merged (21 interleaved runs, 1 thread, 2 cores shared with a
benchmark, so medians are loose). The cause-specific Cox model needs Efron's ties (R's default)
and strict errors, and is fitted once per cause on thousands of rows and tens of features: at
n = 7,000, p = 20 with tied integer times (60 distinct times, 3,883 events) the ``O(n p)``
Hessian fits in 19 ms median (Breslow; 25 ms Efron) where the former ``(n, p, p)`` one took
450 ms (minima 16 and 340 ms); on the ICI's two-column design at n = 7,000, 8 against 14 ms.
The log-space Hessian weights cost about 10 % against a linear-scale ``1 / phi`` (Efron, two
columns: 10.7 against 9.1 ms), which overflows on the near-separating design of
``tests/metrics/test_cox_fit_stability.py``. Coefficients equal the former fits' within 5e-13
on the designs of the tests (2.5e-10 at n = 7,098, where the former Breslow fit stopped at an
absolute change of 1e-10 with a gradient of 2e-8; now 2e-13), and within 6e-16 on the
cause-specific Cox fixtures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lightsaber.exceptions import ArgumentError, ConvergenceError

__all__ = ["CoxFit", "State", "fit_cox", "newton_raphson", "rcs_basis"]

#: What a likelihood returns at a coefficient vector: log-likelihood, gradient, Hessian.
State = tuple[float, np.ndarray, np.ndarray]


def rcs_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Restricted cubic spline basis (Harrell's ``rcs``, unnormalised).

    Columns: ``x`` and ``k - 2`` non-linear terms; linear beyond the outer knots.

    Examples
    --------
    >>> rcs_basis(np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.5, 1.5, 2.5])).shape
    (4, 2)
    """
    k = knots.shape[0]
    cols = [x]
    t_last, t_prev = knots[-1], knots[-2]
    for j in range(k - 2):
        tj = knots[j]
        cols.append(
            np.maximum(x - tj, 0) ** 3
            - np.maximum(x - t_prev, 0) ** 3 * (t_last - tj) / (t_last - t_prev)
            + np.maximum(x - t_last, 0) ** 3 * (t_prev - tj) / (t_last - t_prev)
        )
    return np.column_stack(cols)


def newton_raphson(state: Callable[[np.ndarray], State], p: int, *, alpha: float = 0.0,
                   n_iter: int = 100, tol: float = 1e-9, strict: bool = True,
                   what: str = "Cox model", names: list[str] | None = None) -> np.ndarray:
    """Maximise ``loglik(b) - alpha / 2 * |b|^2`` from ``b = 0`` by Newton-Raphson.

    Each Newton step is halved until the penalised log-likelihood does not decrease (by more
    than ``1e-12`` relative) and is finite; ``state`` returns ``-inf`` for a candidate whose sums
    under- or overflow, so such a candidate is halved too. Converged when the penalised
    log-likelihood changes by less than ``tol`` relative to ``max(1, |loglik|)`` (the rule of
    ``survival::coxph`` and scikit-survival); the step that meets the rule is kept.

    Parameters
    ----------
    state : callable
        ``b -> (loglik, gradient, Hessian)`` of the unpenalised likelihood.
    p : int
        Number of coefficients.
    alpha : float
        Ridge penalty.
    n_iter : int
        Most Newton-Raphson iterations.
    tol : float
        Relative change of the log-likelihood that counts as converged.
    strict : bool
        ``True`` (the models): raise :class:`ConvergenceError` when ``n_iter`` steps do not
        converge, when no step along the Newton direction increases the likelihood, when the
        Newton step is not finite, or when the likelihood converged while a coefficient still
        runs off to infinity (``coxph``'s "coefficient may be infinite" check: the next Newton
        step is still large); a step is halved down to ``1e-10`` before giving up. ``False`` (a
        best-effort smoother such as the ICI's): in those cases return the last accepted
        coefficients, giving up on a step halved below ``1e-6`` (where a likelihood still
        creeps up, the fit is at separation and its curves are already flat: on the
        near-separating design of ``benchmarks/cox_fit.py`` the deeper search took 3 times the
        likelihood evaluations for a change in ``S(t | x)`` of 1e-6).
    what : str
        Name of the model in error messages.
    names : list of str, optional
        Feature names for error messages.

    Returns
    -------
    numpy.ndarray
        The coefficients, shape ``(p,)``.

    Raises
    ------
    ConvergenceError
        The information matrix is exactly singular (both modes), or the failures above
        (``strict=True``).

    Examples
    --------
    >>> newton_raphson(lambda b: (-float((b - 1) @ (b - 1)), -2 * (b - 1), -2 * np.eye(2)), 2)
    array([1., 1.])
    """
    names = names if names is not None else [f"x{j}" for j in range(p)]

    def penalised(b: np.ndarray) -> State:
        loglik, grad, hess = state(b)
        if alpha:
            loglik -= 0.5 * alpha * float(b @ b)
            grad = grad - alpha * b
            hess = hess - alpha * np.eye(p)
        return loglik, grad, hess

    def singular() -> ConvergenceError:
        shown = ", ".join(map(str, names[:8])) + (", ..." if len(names) > 8 else "")
        return ConvergenceError(
            f"{what}: the information matrix is singular (a constant or collinear feature "
            f"among the {len(names)} features [{shown}], e.g. one-hot columns of every level "
            "of a category, or a feature that is constant among the events). Drop or combine "
            "the redundant columns, or set alpha > 0 (ridge penalty, e.g. alpha=0.1).")

    def newton_step(grad: np.ndarray, hess: np.ndarray) -> np.ndarray | None:
        try:
            step = np.linalg.solve(hess, -grad)
        except np.linalg.LinAlgError:
            raise singular() from None
        if not np.all(np.isfinite(step)):
            if strict:
                raise singular()
            return None
        return step

    min_scale = 1e-10 if strict else 1e-6
    beta = np.zeros(p)
    loglik, grad, hess = penalised(beta)
    if p == 0:
        return beta
    for _ in range(n_iter):
        step = newton_step(grad, hess)
        if step is None:
            return beta
        scale = 1.0
        while True:
            cand = beta + scale * step
            new = penalised(cand)
            if np.isfinite(new[0]) and new[0] >= loglik - 1e-12 * max(1.0, abs(loglik)):
                break
            scale /= 2
            if scale < min_scale:
                if not strict:
                    return beta
                raise ConvergenceError(
                    f"{what}: no step along the Newton direction increases the partial "
                    f"likelihood (log-likelihood {loglik:.6g}, coefficients {beta.round(4)}). "
                    "Standardise the features, or set alpha > 0 (ridge penalty).")
        converged = abs(new[0] - loglik) <= tol * max(1.0, abs(new[0]))
        beta, (loglik, grad, hess) = cand, new
        if converged:
            break
    else:
        if not strict:
            return beta
        raise ConvergenceError(
            f"{what}: Newton-Raphson did not converge in n_iter={n_iter} iterations "
            f"(coefficients {beta.round(4)}). Raise n_iter, standardise the features, or set "
            "alpha > 0 (ridge penalty).")
    if not strict:
        return beta
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
    """A fitted Cox model: coefficients and the baseline hazard at the centred covariates.

    Attributes
    ----------
    coef : numpy.ndarray
        Coefficients, shape ``(p,)``.
    center : numpy.ndarray
        Training means of the covariates; the baseline below is the hazard at ``center``.
    event_times : numpy.ndarray
        Distinct event times, ascending.
    log_hazard : numpy.ndarray
        Log of the baseline hazard jump at each of ``event_times`` (Breslow's ``d / S0``, or
        Efron's ``sum_r 1 / (S0 - r / d * S0D)``).
    log_cum_baseline_hazard : numpy.ndarray
        Log of the cumulative baseline hazard at each of ``event_times`` (the running log-sum
        of the jumps).
    """

    coef: np.ndarray
    center: np.ndarray
    event_times: np.ndarray
    log_hazard: np.ndarray
    log_cum_baseline_hazard: np.ndarray

    @property
    def cum_baseline_hazard(self) -> np.ndarray:
        """Cumulative baseline hazard at ``event_times`` (at the mean covariates)."""
        return np.exp(self.log_cum_baseline_hazard)

    def survival_at(self, x: np.ndarray, t: float) -> np.ndarray:
        """Predicted ``S(t | x) = exp(-H0(t) exp((x - center)' coef))``."""
        idx = np.searchsorted(self.event_times, t, side="right") - 1
        if idx < 0:
            return np.ones(x.shape[0])
        log_hazard = self.log_cum_baseline_hazard[idx] + (x - self.center) @ self.coef
        with np.errstate(over="ignore"):  # S -> 0 where the hazard overflows: the right limit
            return np.exp(-np.exp(log_hazard))


def fit_cox(x: np.ndarray, event: np.ndarray, time: np.ndarray, *, ties: str = "breslow",
            alpha: float = 0.0, n_iter: int = 100, tol: float = 1e-12, strict: bool = False,
            what: str = "Cox model", names: list[str] | None = None,
            entry: np.ndarray | None = None) -> CoxFit:
    """Fit a Cox model by Newton-Raphson with step halving, and its baseline hazard.

    With ``d`` events tied at a time, risk-set sum ``S0`` and tied events' sum ``S0D``,
    Breslow's likelihood divides by ``S0 ** d`` and its baseline jump is ``d / S0``; Efron's
    divides by ``prod_r (S0 - r / d * S0D)`` (``r = 0 .. d - 1``) and its jump is
    ``sum_r 1 / (S0 - r / d * S0D)`` (``survival::survfit.coxph``, ``riskRegression``'s
    ``baseHaz_cpp`` with ``Efron = TRUE``).

    Vectorised with cumulative sums over the rows sorted by decreasing time (a risk set is a
    prefix); the Hessian is assembled as ``X' diag(v) X - M' M`` (``v`` a weight per row, built
    in log space; ``M`` one row per event), never as an ``(n, p, p)`` array: time and memory
    ``O(n p)`` per iteration.

    The defaults are the ICI smoother's (Breslow, best-effort, iterate to a change below
    ``1e-12 * max(1, |loglik|)``); :class:`lightsaber.models.CauseSpecificCox` passes its own.

    With ``entry`` (delayed entry / left truncation, or the ``(start, stop]`` rows of
    counting-process data), row ``j`` is at risk at ``t`` when ``entry_j < t <= time_j``
    (``survival::coxph(Surv(entry, time, event) ~ .)``, lifelines' ``entry_col`` and
    ``CoxTimeVaryingFitter``). The sums over a risk set are the prefix sums over rows by
    decreasing ``time`` less the prefix sums over rows by decreasing ``entry`` (rows that have
    not entered yet), as ``survival``'s ``agreg`` fits do; ``entry=None`` runs the code path
    of a fit without entry times unchanged. The difference of the two sums loses the digits of
    the rows that have not entered yet: relative rounding of about ``1e-16`` times their share
    of ``exp(x' beta)``, which matters only when a risk set's own sum is some ``1e-12`` of the
    sum over later rows.

    Parameters
    ----------
    x : numpy.ndarray of shape (n, p)
        Covariates (centred inside; the baseline is at their means).
    event : numpy.ndarray of bool
        Event indicator.
    time : numpy.ndarray
        Follow-up times.
    ties : {"breslow", "efron"}
        Tie handling in the likelihood and the baseline.
    alpha : float
        Ridge penalty ``alpha / 2 * |beta|^2``.
    n_iter : int
        Most Newton-Raphson iterations.
    tol : float
        Relative change of the log-likelihood that counts as converged.
    strict : bool
        Raise on non-convergence and infinite coefficients (see :func:`newton_raphson`), or
        return the last accepted fit.
    what : str
        Name of the model in error messages.
    names : list of str, optional
        Feature names for error messages.
    entry : numpy.ndarray, optional
        Entry times, one per row, each below the row's ``time`` (``-inf`` allowed: at risk
        from the start). ``None``: every row is at risk from time ``-inf``.

    Returns
    -------
    CoxFit

    Raises
    ------
    ArgumentError
        ``ties`` is not a known method; ``entry`` of another length than ``time``, not finite
        or ``-inf``, or not below ``time``.
    ConvergenceError
        A singular information matrix; a baseline hazard that is not finite (a fit at
        separation); with ``strict``, the failures of :func:`newton_raphson`.

    Examples
    --------
    >>> x = np.array([[0.0], [1.0], [2.0], [3.0], [1.5]])
    >>> fit = fit_cox(x, np.array([1, 1, 0, 1, 1], bool), np.array([4.0, 3, 2.5, 1, 3]),
    ...               ties="efron")
    >>> fit.event_times.tolist(), fit.coef.shape
    ([1.0, 3.0, 4.0], (1,))

    Delayed entry: the row with ``x = 3`` enters at 2, after the event at 1, so it is not in that
    risk set.

    >>> late = fit_cox(x, np.array([1, 1, 0, 1, 1], bool), np.array([4.0, 3, 2.5, 2.2, 3]),
    ...                ties="efron", entry=np.array([0.0, 0, 0, 2, 0]))
    >>> late.event_times.tolist()
    [2.2, 3.0, 4.0]
    """
    if ties not in ("breslow", "efron"):
        raise ArgumentError(f"ties must be 'breslow' or 'efron'; got {ties!r}.")
    efron = ties == "efron"
    truncated = entry is not None
    if truncated:
        entry = _check_entry(entry, time, what)
    center = x.mean(axis=0)
    order = np.argsort(-time, kind="stable")  # descending: a risk set is a prefix
    xs, ev, ts = (x - center)[order], event[order], time[order]
    n, p = xs.shape
    last_of_time = np.r_[np.flatnonzero(ts[1:] != ts[:-1]), n - 1]
    group_end = np.repeat(last_of_time, np.diff(np.r_[-1, last_of_time]))
    ev_idx = np.flatnonzero(ev)
    ends = group_end[ev_idx]  # per event: last row of its risk set
    # events tied at one time are contiguous in ev_idx; g = their group, r = rank within it
    starts = np.flatnonzero(np.r_[True, np.diff(ts[ev_idx]) != 0]) if ev_idx.size else ev_idx
    sizes = np.diff(np.r_[starts, ev_idx.size])
    group = np.repeat(np.arange(starts.size), sizes)
    frac = (np.arange(ev_idx.size) - starts[group]) / sizes[group] if efron else None
    log_sizes = np.log(sizes)
    group_end_row = ends[starts]  # per group: last row of its risk set (increasing)
    # per row: the first group whose risk set holds it (G for rows before every event time)
    row_group = np.searchsorted(group_end_row, np.arange(n))
    xe = xs[ev_idx]
    reject = (-np.inf, np.full(p, np.nan), np.full((p, p), np.nan))
    if truncated:
        en = entry[order]
        entry_order = np.argsort(-en, kind="stable")  # descending: not yet entered is a prefix
        # per event: how many rows enter at or after its time (in that prefix, not at risk)
        n_late = n - np.searchsorted(np.sort(en), ts[ev_idx], side="left")
        # per row: the first group at or before its entry; it is at risk in the groups
        # row_group <= g < row_entry_group (none when the two are equal)
        row_entry_group = starts.size - np.searchsorted(ts[ev_idx][starts][::-1], en,
                                                        side="right")
        held = row_entry_group > row_group

    def not_entered(values: np.ndarray) -> np.ndarray:
        """Per event, the sum of ``values`` over the rows that have not entered yet."""
        ordered = values[entry_order]
        return np.concatenate([np.zeros((1, *ordered.shape[1:])),
                               np.cumsum(ordered, axis=0)])[n_late]

    def state(b: np.ndarray) -> State:
        eta = xs @ b
        shift = eta.max()
        w = np.exp(eta - shift)
        phi = np.cumsum(w)[ends]
        if truncated:
            phi = phi - not_entered(w)
        if efron:
            phi = phi - frac * np.add.reduceat(w[ev_idx], starts)[group]
        if not bool(np.all(phi > 0)):
            # A line-search candidate so extreme that a risk set underflows: reject it.
            return reject
        log_phi = np.log(phi)
        loglik = float(np.sum(eta[ev_idx] - shift - log_phi))
        wx = w[:, None] * xs
        s1 = np.cumsum(wx, axis=0)[ends]
        if truncated:
            s1 = s1 - not_entered(wx)
        if efron:
            s1 = s1 - frac[:, None] * np.add.reduceat(wx[ev_idx], starts, axis=0)[group]
        mean = s1 / phi[:, None]
        grad = np.sum(xe - mean, axis=0)
        # sum_e S2_e / phi_e = X' diag(v) X with v_i = w_i * (sum of 1 / phi_e over the risk
        # sets holding i, less Efron's share of the tied events), summed in log space: 1 / phi_e
        # overflows where a risk set's sum is subnormal, w_i / phi_e does not
        # Per group of tied events, log sum_e 1 / phi_e: Breslow's phi is constant within a
        # group (log d - log phi); Efron's varies by at most a factor d, so it is summed
        # relative to the group's first phi, as is Efron's share sum_e (r_e / d) / phi_e.
        if efron:
            ratio = phi[starts][group] / phi
            log_l = np.log(np.add.reduceat(ratio, starts)) - log_phi[starts]
        else:
            log_l = log_sizes - log_phi[starts]
        log_c = np.logaddexp.accumulate(log_l[::-1])[::-1]
        if truncated:
            # the groups from row_group on, less those from row_entry_group on
            log_c = np.r_[log_c, -np.inf]
            upper, lower = log_c[row_group], log_c[row_entry_group]
            with np.errstate(invalid="ignore", divide="ignore"):
                gap = np.minimum(lower - upper, 0.0)
                log_held = np.where(held, upper + np.log1p(-np.exp(gap)), -np.inf)
            v = np.exp(eta - shift + log_held)
        else:
            v = np.exp(eta - shift + np.r_[log_c, -np.inf][row_group])
        if efron:
            with np.errstate(divide="ignore"):  # no share for a time with one event
                log_q = np.log(np.add.reduceat(frac * ratio, starts)) - log_phi[starts]
            v[ev_idx] -= np.exp(eta[ev_idx] - shift + log_q[group])
        hess = -(xs.T @ (v[:, None] * xs) - mean.T @ mean)
        return loglik, grad, hess

    beta = newton_raphson(state, p, alpha=alpha, n_iter=n_iter, tol=tol, strict=strict,
                          what=what, names=names)
    # The baseline in log space, unshifted: a fit near separation has risk sets whose sums
    # under- or overflow. log phi_e = log S0_e + log(1 - r / d * S0D / S0).
    eta = xs @ beta
    log_phi = np.logaddexp.accumulate(eta)[ends]
    if truncated:
        log_late = np.r_[-np.inf, np.logaddexp.accumulate(eta[entry_order])][n_late]
        with np.errstate(invalid="ignore", divide="ignore"):
            log_phi = log_phi + np.log1p(-np.exp(np.minimum(log_late - log_phi, 0.0)))
    if efron:
        log_s0d = np.logaddexp.reduceat(eta[ev_idx], starts)[group]
        log_phi = log_phi + np.log1p(-frac * np.exp(log_s0d - log_phi))
    # per event -log phi_e, ascending in time; the hazard jumps and their running sum
    terms = -log_phi[::-1]
    log_cum = np.logaddexp.accumulate(terms)
    log_jump = np.logaddexp.reduceat(terms, ev_idx.size - (starts + sizes)[::-1])
    if not (np.all(np.isfinite(log_cum)) and np.all(np.isfinite(log_jump))):
        raise ConvergenceError(
            f"{what}: the baseline hazard is not finite: the covariates separate events from "
            "non-events almost perfectly on these rows.")
    last_asc = ev_idx.size - 1 - starts[::-1]  # per distinct time, ascending: its last event
    return CoxFit(coef=beta, center=center, event_times=ts[ev_idx][starts][::-1].copy(),
                  log_hazard=log_jump, log_cum_baseline_hazard=log_cum[last_asc])


def _check_entry(entry: np.ndarray, time: np.ndarray, what: str) -> np.ndarray:
    """Entry times as a float array of ``time``'s length, each below its row's time."""
    try:
        values = np.asarray(entry, dtype=np.float64)
    except (TypeError, ValueError):
        raise ArgumentError(f"{what}: entry must be numbers (entry times); got "
                            f"{entry!r:.80}.") from None
    if values.shape != np.shape(time):
        raise ArgumentError(
            f"{what}: entry has shape {values.shape} but time has {np.shape(time)}; give one "
            "entry time per row.")
    bad = np.isnan(values) | (values == np.inf)
    if bad.any():
        raise ArgumentError(
            f"{what}: entry has {int(bad.sum())} missing or +inf value(s); use -inf (or any "
            "time before the first event) for rows at risk from the start.")
    late = ~(values < time)
    if late.any():
        raise ArgumentError(
            f"{what}: {int(late.sum())} row(s) have entry >= time (the row is never at risk: "
            "risk sets are entry < t <= time). Drop those rows, or fix their entry times.")
    return values
