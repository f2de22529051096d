"""Classical competing-risks models: cause-specific Cox and Fine-Gray, as scikit-learn estimators.

Both take ``X`` (a numeric 2-d array or DataFrame, used as it is) and a competing-risks target
``y``: a structured array with fields ``status`` (0 = censored, ``1..K`` = the cause that ended
follow-up) and ``time``, built by :func:`lightsaber.data.make_competing_target`. Both predict
cumulative incidence functions (CIFs) ``P(T <= t, cause = k | x)`` on a grid of times.

* :class:`CauseSpecificCox` — one Cox model per cause, combined into the CIFs of every cause
  and the event-free survival (``riskRegression::CSC`` with ``predictRisk``).
* :class:`FineGray` — a proportional model of one cause's subdistribution hazard
  (``cmprsk::crr``, ``riskRegression::FGR``).

Both reproduce R on ``../shared/reference/competing_risks`` (see
``tests/models/test_competing_models.py``; measured differences below 1e-14 for CIFs of the
cause-specific Cox and 1e-7 for Fine-Gray, whose R fit stops at ``crr``'s loose tolerance).

Examples
--------
>>> from lightsaber.data import make_competing_target
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(200, 2))
>>> t1, t2 = rng.exponential(np.exp(-X[:, 0])), rng.exponential(2 * np.exp(X[:, 1]))
>>> c = rng.exponential(3, 200)
>>> y = make_competing_target(np.select([t1 <= np.minimum(t2, c), t2 <= c], [1, 2], 0),
...                           np.minimum.reduce([t1, t2, c]))
>>> csc = CauseSpecificCox().fit(X, y)
>>> cif = csc.predict_cumulative_incidence(X[:3], [0.5, 1.0], cause=1)
>>> cif.shape, bool(np.all(np.diff(cif, axis=1) >= 0))
((3, 2), True)
>>> fg = FineGray(cause=1).fit(X, y)
>>> fg.coef_.shape, fg.predict_cumulative_incidence(X[:3], [0.5, 1.0]).shape
((2,), (3, 2))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import validate_data

from lightsaber.data.targets import check_competing_target
from lightsaber.exceptions import ArgumentError, NotFittedError, TargetError
from lightsaber.metrics._cox import CoxFit, fit_cox
from lightsaber.models._competing_fit import fit_fine_gray

__all__ = ["CauseSpecificCox", "FineGray"]

#: Rows x event times x causes held in memory at once when curves are computed.
_CHUNK_CELLS = 1 << 22


def _check_params(model: BaseEstimator) -> None:
    """Raise :class:`ArgumentError` for a hyper-parameter out of range (before any fitting)."""
    alpha = model.alpha
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.number)) or \
            not np.isfinite(alpha) or alpha < 0:
        raise ArgumentError(
            f"alpha must be a finite number >= 0 (ridge penalty alpha / 2 * |beta|^2); got "
            f"{alpha!r}. Use alpha=0.0 for the unpenalised fit that R reports.")
    n_iter = model.n_iter
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise ArgumentError(f"n_iter must be an integer >= 1; got {n_iter!r}.")
    tol = model.tol
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.number)) or \
            not (0 < tol < 1):
        raise ArgumentError(f"tol must be a number in (0, 1); got {tol!r}.")


def _check_target(y: Any, n_rows: int, model: str) -> np.ndarray:
    """The validated competing-risks target; a binary survival target is a clear error."""
    dtype = getattr(y, "dtype", None)
    names = getattr(dtype, "names", None)
    status = (np.asarray(y[0]) if isinstance(y, tuple) and len(y) == 2 else
              y[names[0]] if names else None)
    if status is not None and np.asarray(status).dtype == bool:
        fields = f"fields {names}" if names else "a (bool, time) tuple"
        raise TargetError(
            f"{model} needs a competing-risks target (status 0 = censored, 1..K = the cause, "
            f"and time); got a binary survival target ({fields}, the event a bool), which "
            "cannot say which cause ended follow-up. Build one with "
            "lightsaber.data.make_competing_target(status, time), status holding the cause "
            "code of each event.")
    target = check_competing_target(y)
    if len(target) != n_rows:
        raise TargetError(
            f"y has {len(target)} rows but X has {n_rows}; they must describe the same "
            "patients, in the same order.")
    return target


def _cause_row(causes: np.ndarray, cause: Any, owner: str) -> int:
    """Row of ``cause`` in a fitted model's ``causes_`` (None: the first); else ArgumentError."""
    if cause is None:
        return 0
    matches = np.flatnonzero(causes == cause) if isinstance(
        cause, (int, np.integer)) and not isinstance(cause, bool) else []
    if len(matches) == 0:
        raise ArgumentError(
            f"cause={cause!r} was not seen in training; this {owner} knows causes "
            f"{causes.tolist()}. Ask one of those, or refit on data where the cause occurs.")
    return int(matches[0])


def _check_times(times: Any) -> np.ndarray:
    """Prediction times as a sorted 1-d float array; anything else is an :class:`ArgumentError`."""
    try:
        grid = np.asarray(times, dtype=np.float64)
    except (TypeError, ValueError):
        raise ArgumentError(
            f"times must be numbers (time units since the index date); got {times!r:.80}."
        ) from None
    grid = np.atleast_1d(grid)
    if grid.ndim != 1 or grid.size == 0:
        raise ArgumentError(
            f"times must be a non-empty 1-d sequence of times; got shape {np.shape(times)}. "
            "Pass e.g. times=[365, 730].")
    bad = ~np.isfinite(grid) | (grid < 0)
    if bad.any():
        raise ArgumentError(
            f"times must be finite and >= 0; got {grid[bad][:5].tolist()} at position(s) "
            f"{np.flatnonzero(bad)[:5].tolist()}. Drop those times.")
    if np.any(np.diff(grid) < 0):
        raise ArgumentError(
            f"times must be sorted in increasing order; got {grid[:10].tolist()}"
            f"{' ...' if grid.size > 10 else ''}. Pass np.sort(times).")
    return grid


class _CompetingRisksModel(BaseEstimator):
    """Shared input checks of the competing-risks estimators."""

    def _fit_input(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        _check_params(self)
        data = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        target = _check_target(y, data.shape[0], type(self).__name__)
        return data, target["status"], target["time"]

    def _feature_names(self) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        return [str(n) for n in names] if names is not None else \
            [f"x{j}" for j in range(self.n_features_in_)]

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted; call fit first.")

    def _predict_input(self, X: Any) -> np.ndarray:
        self._check_fitted()
        n_columns = np.shape(X)[1] if np.ndim(X) == 2 else None
        if n_columns != self.n_features_in_:
            raise ArgumentError(
                f"X must have {self.n_features_in_} columns, as when {type(self).__name__} was "
                f"fitted; got shape {np.shape(X)}. Pass the same feature columns, in the same "
                "order (one row per patient).")
        return validate_data(self, X, dtype=np.float64, reset=False)


class CauseSpecificCox(_CompetingRisksModel):
    """Cause-specific Cox models combined into cumulative incidence functions.

    One Cox proportional-hazards model per cause ``k``, fitted with the other causes treated as
    censoring. With ``h_k(s | x) = exp(x' beta_k) dLambda0_k(s)`` the cause-specific hazard
    jumps at the distinct event times ``s`` of the training data (any cause):

    ``CIF_k(t | x) = sum_{s <= t} S(s- | x) h_k(s | x)``,

    with the event-free survival ``S(t | x) = prod_{s <= t} (1 - sum_k h_k(s | x))``, so that
    ``sum_k CIF_k(t | x) + S(t | x) = 1`` exactly.

    Conventions, chosen to equal ``riskRegression::CSC(Hist(time, status) ~ ., data)`` and
    ``predictRisk(csc, newdata, times, cause)`` (riskRegression 2022.11.28; within 1e-14 on
    the melanoma and pbc2 fixtures):

    * ``surv.type = "hazard"``: the event-free survival is built from the cause-specific
      hazards of all causes (not a separate Cox model of the all-cause hazard).
    * Ties: ``ties="efron"`` (``coxph``'s default, which ``CSC`` uses) in the partial
      likelihood *and* in the baseline, as ``predictCox`` (``baseHaz_cpp`` with
      ``Efron = TRUE``, from ``survival``'s ``agsurv5``) and ``survival::survfit.coxph`` do:
      ``d`` events tied at a time with risk-set sum ``S0`` and tied events' sum ``S0D`` make the
      baseline jump ``sum_{r=0}^{d-1} 1 / (S0 - r / d * S0D)``. ``ties="breslow"`` uses
      ``d / S0`` in both (scikit-survival's ``CoxPHSurvivalAnalysis(ties="breslow")``).
      Events of different causes at the same time are not ties of one model.
    * Product-limit event-free survival, ``predict.CauseSpecificCox``'s default
      (``product.limit = TRUE``, equivalent to ``mstate``), rather than
      ``exp(-sum_k Lambda_k(s- | x))`` (``product.limit = FALSE``), whose CIFs can exceed 1
      when a discrete hazard is large and do not add up with the survival to 1.
    * A step-function at the requested ``times`` (right-continuous: an event at ``t`` counts
      at ``t``). After the last training time the curves stay flat; R returns ``NA`` there.
    * A discrete total hazard above 1 at an event time (possible only for extreme covariates,
      where R's product-limit survival goes negative) is capped at 1: the survival drops to 0
      and the causes share that last step in proportion to their hazards.

    Parameters
    ----------
    alpha : float, default 0.0
        Ridge penalty ``alpha / 2 * |beta_k|^2`` on each cause's coefficients (as in
        scikit-survival's ``CoxPHSurvivalAnalysis``); 0 gives the fit R reports.
    ties : {"efron", "breslow"}, default "efron"
        Handling of tied event times of one cause, in the likelihood and in the baseline.
    n_iter : int, default 100
        Most Newton-Raphson iterations per cause.
    tol : float, default 1e-9
        Converged when the penalised log partial likelihood changes by less than ``tol``
        relative to its value (``coxph``'s rule).

    Attributes
    ----------
    causes_ : numpy.ndarray
        Sorted cause codes seen in training.
    coef_ : dict of int to numpy.ndarray
        Coefficients of each cause's Cox model, in column order.
    event_times_ : numpy.ndarray
        Distinct training event times (any cause), where the curves jump.
    n_features_in_ : int
        Number of feature columns.
    feature_names_in_ : numpy.ndarray
        Column names, when fitted on a DataFrame with string column names.

    Raises
    ------
    TargetError
        ``y`` is a binary survival target or an invalid competing-risks target.
    ArgumentError
        Out-of-range parameters; at prediction, unknown causes, bad ``times`` or ``X`` with
        another number of columns.
    ConvergenceError
        A cause's Cox fit did not converge or has an infinite coefficient (the feature is named).

    See Also
    --------
    FineGray : A proportional model of one cause's subdistribution hazard.

    Examples
    --------
    >>> from lightsaber.data import make_competing_target
    >>> X = np.array([[0.1], [1.2], [-0.3], [0.8], [-1.0], [0.4], [1.5], [-0.6]])
    >>> y = make_competing_target([1, 2, 0, 1, 2, 1, 1, 0], [2.0, 3, 4, 1, 5, 6, 1.5, 7])
    >>> model = CauseSpecificCox().fit(X, y)
    >>> model.causes_.tolist(), sorted(model.coef_)
    ([1, 2], [1, 2])
    >>> times = [1.0, 3.0, 6.0]
    >>> total = sum(model.predict_cumulative_incidence(X, times, cause=k) for k in (1, 2))
    >>> bool(np.allclose(total + model.predict_event_free_survival(X, times), 1.0))
    True
    >>> model.predict_cumulative_incidence(X, times, cause=3)
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.ArgumentError: cause=3 was not seen in training; ...
    """

    def __init__(self, alpha: float = 0.0, ties: str = "efron", n_iter: int = 100,
                 tol: float = 1e-9) -> None:
        self.alpha = alpha
        self.ties = ties
        self.n_iter = n_iter
        self.tol = tol

    def fit(self, X: Any, y: Any) -> CauseSpecificCox:
        """Fit one Cox model per cause.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Numeric features.
        y : structured array
            Competing-risks target (fields ``status``, ``time``), e.g. from
            :func:`lightsaber.data.make_competing_target`.

        Returns
        -------
        CauseSpecificCox
            The fitted model.
        """
        if self.ties not in ("efron", "breslow"):
            raise ArgumentError(
                f"ties must be 'efron' (coxph's default, as riskRegression::CSC) or 'breslow'; "
                f"got {self.ties!r}.")
        data, status, time = self._fit_input(X, y)
        names = self._feature_names()
        causes = np.unique(status[status > 0])
        fits: dict[int, CoxFit] = {}
        for cause in causes.tolist():
            fits[cause] = fit_cox(data, status == cause, time, ties=self.ties,
                                  alpha=float(self.alpha), n_iter=int(self.n_iter),
                                  tol=float(self.tol), strict=True, names=names,
                                  what=f"cause-specific Cox model for cause {cause}")
        grid = np.unique(time[status > 0])
        log_hazard = np.full((causes.size, grid.size), -np.inf)
        for row, cause in enumerate(causes.tolist()):
            log_hazard[row, np.searchsorted(grid, fits[cause].event_times)] = \
                fits[cause].log_hazard
        self.causes_ = causes
        self.coef_ = {cause: fit.coef.copy() for cause, fit in fits.items()}
        self.event_times_ = grid
        self._center = np.vstack([fits[c].center for c in causes.tolist()])
        self._log_hazard = log_hazard
        return self

    def _cause_row(self, cause: Any) -> int:
        self._check_fitted()
        return _cause_row(self.causes_, cause, type(self).__name__)

    def _curves(self, X: Any, times: Any) -> tuple[np.ndarray, np.ndarray]:
        """CIFs ``(K, n, len(times))`` of the causes and event-free survival ``(n, len(times))``."""
        data = self._predict_input(X)
        grid_times = _check_times(times)
        n, n_causes = data.shape[0], self.causes_.size
        m = int(np.searchsorted(self.event_times_, grid_times[-1], side="right"))
        index = np.searchsorted(self.event_times_[:m], grid_times, side="right") - 1
        before = index < 0
        index = np.maximum(index, 0)
        cif = np.zeros((n_causes, n, grid_times.size))
        surv = np.ones((n, grid_times.size))
        if m == 0:  # every time is before the first event
            return cif, surv
        coef = np.vstack([self.coef_[c] for c in self.causes_.tolist()])
        rows = max(1, _CHUNK_CELLS // (n_causes * m))
        for start in range(0, n, rows):
            chunk = data[start:start + rows]
            lp = np.einsum("krp,kp->kr", chunk[None, :, :] - self._center[:, None, :], coef)
            log_hazard = lp[:, :, None] + self._log_hazard[:, None, :m]  # (K, rows, m)
            log_total = np.logaddexp.reduce(log_hazard, axis=0)
            with np.errstate(invalid="ignore"):  # no cause has an event there: share 0
                share = np.nan_to_num(np.exp(log_hazard - log_total[None]), nan=0.0)
            step = np.exp(np.minimum(log_total, 0.0))  # the total hazard, capped at 1
            survival = np.cumprod(1.0 - step, axis=1)
            left = np.hstack([np.ones((chunk.shape[0], 1)), survival[:, :-1]])
            cumulative = np.cumsum((left * step)[None] * share, axis=2)
            cif[:, start:start + rows] = cumulative[:, :, index]
            surv[start:start + rows] = survival[:, index]
        cif[:, :, before] = 0.0
        surv[:, before] = 1.0
        # Sums of products can land an ulp outside [0, 1] (1.0000000000000002): clip the
        # rounding so probability checks downstream never see an impossible value.
        return np.clip(cif, 0.0, 1.0), np.clip(surv, 0.0, 1.0)

    def predict_cumulative_incidence(self, X: Any, times: Sequence[float] | np.ndarray,
                                     cause: int | None = None) -> np.ndarray:
        """Cumulative incidence ``P(T <= t, cause | x)`` of one cause at ``times``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features, columns as in ``fit``.
        times : sequence of float
            Sorted, finite, non-negative times.
        cause : int, optional
            A cause code seen in training (default: the first, ``causes_[0]``).

        Returns
        -------
        numpy.ndarray of shape (n_samples, len(times))
            Values in [0, 1], non-decreasing along each row.
        """
        row = self._cause_row(cause)
        return self._curves(X, times)[0][row]

    def predict_event_free_survival(self, X: Any,
                                    times: Sequence[float] | np.ndarray) -> np.ndarray:
        """Probability of no event of any cause by each of ``times``, ``S(t | x)``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features, columns as in ``fit``.
        times : sequence of float
            Sorted, finite, non-negative times.

        Returns
        -------
        numpy.ndarray of shape (n_samples, len(times))
            Non-increasing along each row; one minus the sum of the causes' cumulative
            incidences.
        """
        return self._curves(X, times)[1]

    def predict(self, X: Any, cause: int | None = None) -> np.ndarray:
        """Risk score: the cause's cumulative incidence at the last training event time.

        Higher means an earlier event of that cause (the scikit-survival convention).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features, columns as in ``fit``.
        cause : int, optional
            A cause code seen in training (default: the first, ``causes_[0]``).

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
            ``CIF_cause(event_times_[-1] | x)``.
        """
        row = self._cause_row(cause)
        return self._curves(X, self.event_times_[-1:])[0][row, :, 0]


class FineGray(_CompetingRisksModel):
    """Fine-Gray proportional subdistribution hazards model for one cause.

    ``CIF(t | x) = 1 - exp(-exp(x' beta) Lambda0(t))``, ``Lambda0`` the baseline cumulative
    subdistribution hazard, a step function jumping at the cause's failure times.

    Fitted as ``cmprsk::crr`` (and so ``riskRegression::FGR``) fits it; equal to R on the
    melanoma and pbc2 fixtures within 2e-8 (coefficients and CIFs; R stops Newton-Raphson at
    ``crr``'s ``gtol = 1e-6`` on the score, this fit iterates further):

    * Risk set at a failure time ``t`` of the cause: everyone still under follow-up
      (``T_i >= t``, weight 1), plus everyone who failed of another cause before ``t``, with
      weight ``G(t-) / G(T_i-)``; rows censored before ``t`` leave it. ``G`` is the
      Kaplan-Meier estimate of the censoring distribution (censorings as events; a failure
      tied with a censoring is still at risk for it), evaluated at left limits, as ``crr``
      does (``T * (1 - 100 eps)``); one censoring group (``cengroup``).
    * Tied failures share the risk-set sum (Breslow): a time with ``d`` failures contributes
      ``sum eta - d log S0`` and the baseline jump ``d / S0`` (``crr``'s ``bfitj``).
    * Raw covariates, no centring (as ``crr``); the CIF at ``times`` is the step function at
      the last failure time ``<= t`` (``predict.crr`` through ``prodlim::sindex``), flat after
      the last one.

    Parameters
    ----------
    cause : int, default 1
        The cause of interest (a status code).
    alpha : float, default 0.0
        Ridge penalty ``alpha / 2 * |beta|^2``; 0 gives the fit R reports.
    n_iter : int, default 100
        Most Newton-Raphson iterations.
    tol : float, default 1e-9
        Converged when the penalised log pseudo-likelihood changes by less than ``tol``
        relative to its value.

    Attributes
    ----------
    causes_ : numpy.ndarray
        Sorted cause codes seen in training.
    coef_ : numpy.ndarray
        Coefficients, in column order (``crr``'s ``coef``).
    event_times_ : numpy.ndarray
        Distinct failure times of the cause (``crr``'s ``uftime``).
    baseline_cumulative_hazard_ : numpy.ndarray
        ``Lambda0`` at ``event_times_``, at covariates 0.
    n_features_in_ : int
        Number of feature columns.
    feature_names_in_ : numpy.ndarray
        Column names, when fitted on a DataFrame with string column names.

    Raises
    ------
    TargetError
        ``y`` is a binary survival target or invalid, or ``cause`` never occurs in it.
    ArgumentError
        Out-of-range parameters; at prediction, another cause, bad ``times`` or ``X`` with
        another number of columns.
    ConvergenceError
        The fit did not converge or has an infinite coefficient (the feature is named).

    See Also
    --------
    CauseSpecificCox : Cause-specific hazards of every cause, combined into their CIFs.

    Examples
    --------
    >>> from lightsaber.data import make_competing_target
    >>> X = np.array([[0.1], [1.2], [-0.3], [0.8], [-1.0], [0.4], [1.5], [-0.6]])
    >>> y = make_competing_target([1, 2, 0, 1, 2, 1, 1, 0], [2.0, 3, 4, 1, 5, 6, 1.5, 7])
    >>> model = FineGray(cause=1).fit(X, y)
    >>> cif = model.predict_cumulative_incidence(X[:2], [1.0, 3.0, 6.0])
    >>> cif.shape, bool(np.all((cif >= 0) & (cif <= 1)))
    ((2, 3), True)
    >>> model.predict_cumulative_incidence(X[:2], [1.0], cause=2)
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.ArgumentError: this FineGray models cause 1 only; got cause=2. ...
    """

    def __init__(self, cause: int = 1, alpha: float = 0.0, n_iter: int = 100,
                 tol: float = 1e-9) -> None:
        self.cause = cause
        self.alpha = alpha
        self.n_iter = n_iter
        self.tol = tol

    def fit(self, X: Any, y: Any) -> FineGray:
        """Fit the subdistribution hazard model of ``cause``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Numeric features.
        y : structured array
            Competing-risks target (fields ``status``, ``time``), e.g. from
            :func:`lightsaber.data.make_competing_target`.

        Returns
        -------
        FineGray
            The fitted model.
        """
        cause = self.cause
        if isinstance(cause, bool) or not isinstance(cause, (int, np.integer)) or cause < 1:
            raise ArgumentError(
                f"cause must be a positive integer status code (0 means censored); got "
                f"{cause!r}.")
        data, status, time = self._fit_input(X, y)
        causes = np.unique(status[status > 0])
        if not (causes == cause).any():
            raise TargetError(
                f"cause={cause} never occurs in the training target (causes seen: "
                f"{causes.tolist()}); a model cannot learn a cause it never sees. Set cause= "
                "to one of those, or check the status coding and the split.")
        fit = fit_fine_gray(data, status, time, int(cause), alpha=float(self.alpha),
                            n_iter=int(self.n_iter), tol=float(self.tol),
                            names=self._feature_names())
        self.causes_ = causes
        self.coef_ = fit.coef
        self.event_times_ = fit.event_times
        self.baseline_cumulative_hazard_ = np.cumsum(fit.hazard)
        return self

    def predict_cumulative_incidence(self, X: Any, times: Sequence[float] | np.ndarray,
                                     cause: int | None = None) -> np.ndarray:
        """Cumulative incidence ``P(T <= t, cause | x)`` of the model's cause at ``times``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features, columns as in ``fit``.
        times : sequence of float
            Sorted, finite, non-negative times.
        cause : int, optional
            Must be the model's ``cause`` (the default); a Fine-Gray model says nothing about
            another cause.

        Returns
        -------
        numpy.ndarray of shape (n_samples, len(times))
            Values in [0, 1], non-decreasing along each row.
        """
        if cause is not None and not (isinstance(cause, (int, np.integer))
                                      and not isinstance(cause, bool) and cause == self.cause):
            raise ArgumentError(
                f"this FineGray models cause {self.cause} only; got cause={cause!r}. Fit "
                f"FineGray(cause={cause!r}) for that cause, or CauseSpecificCox for all causes "
                "at once.")
        data = self._predict_input(X)
        grid = _check_times(times)
        index = np.searchsorted(self.event_times_, grid, side="right") - 1
        cumulative = np.where(index >= 0, self.baseline_cumulative_hazard_[
            np.maximum(index, 0)], 0.0)
        with np.errstate(over="ignore", divide="ignore"):
            log_hazard = (data @ self.coef_)[:, None] + np.log(cumulative)[None, :]
            return -np.expm1(-np.exp(log_hazard))

    def predict(self, X: Any) -> np.ndarray:
        """Risk score: the cumulative incidence at the cause's last training failure time.

        Higher means an earlier event of the cause (the scikit-survival convention); it orders
        patients as the linear predictor ``X @ coef_`` does.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features, columns as in ``fit``.

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
            ``CIF(event_times_[-1] | x)``.
        """
        self._check_fitted()
        return self.predict_cumulative_incidence(X, self.event_times_[-1:])[:, 0]
