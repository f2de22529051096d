"""Recalibration of survival curves at chosen horizons, keeping them monotone in time.

At each horizon ``h_k`` a monotone map ``g_k`` from the predicted event probability
``F(h_k | x) = 1 - S(h_k | x)`` to a recalibrated one is fitted on held-out rows, with the
event-by-``h_k`` outcome and IPCW weights of
:func:`~lightsaber.calibration.horizon.horizon_outcomes`:

* ``"cloglog"`` (default): ``log(-log S_new) = a_k + b_k log(-log S)``, ``b_k > 0`` — the
  survival analogue of Platt scaling, and the recalibration model of a Cox calibration slope
  (Crowson et al. 2016); two parameters per horizon, fitted by weighted maximum likelihood.
* ``"isotonic"``: weighted isotonic regression of the outcome on ``F`` (non-decreasing).

A whole curve is recalibrated by blending the maps of the two horizons around each time
``t`` linearly in ``t`` (the identity at ``t = 0``, ``g_K`` after the last horizon), then taking
the running maximum of ``F`` over time and clipping to ``[0, 1]``: recalibrated survival
curves are non-increasing, in ``[0, 1]``, and equal ``g_k(F)`` at every horizon ``h_k`` unless
the running maximum had to lift them.

A :class:`SurvivalRecalibrator` is a scikit-learn transformer of survival curves. Like the
classifier calibrator it is fitted on a model's **predictions** and the outcome, in
scikit-learn's ``fit(X, y)`` order, ``X`` the predicted curves and ``times`` their grid::

    recal = SurvivalRecalibrator("cloglog").fit(survival_cal, y_cal, times=times)
    recalibrated = recal.transform(survival_new)          # on the fit grid
    recalibrated = recal.transform(survival_new, times)   # or on another increasing grid

(:func:`model_survival` gives a fitted model's curves). ``fit_transform`` works, and it clones,
pickles and takes ``get_params`` / ``set_params`` as any scikit-learn estimator; parameters are
checked in ``fit``. The old order ``fit(y, survival, times)`` still works with a
``DeprecationWarning`` until 0.2, and so does the old keyword ``time_grid=``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, TransformerMixin

from lightsaber._moved import renamed_keywords
from lightsaber.calibration.horizon import horizon_outcomes
from lightsaber.exceptions import CalibrationError, NotFittedError

__all__ = ["DEFAULT_QUANTILES", "SURVIVAL_METHODS", "SurvivalRecalibrator", "model_survival"]

#: Method names of :class:`SurvivalRecalibrator`.
SURVIVAL_METHODS = ("cloglog", "isotonic")
#: Default horizons: these quantiles of the calibration rows' event times.
DEFAULT_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
_TINY = 1e-12


def _cloglog(survival: np.ndarray) -> np.ndarray:
    s = np.clip(survival, _TINY, 1.0 - _TINY)
    return np.log(-np.log(s))


class _CloglogMap:
    """``F -> 1 - exp(-exp(a + b log(-log(1 - F))))``."""

    def __init__(self, a: float, b: float) -> None:
        self.a, self.b = float(a), float(b)

    def __call__(self, event_probability: np.ndarray) -> np.ndarray:
        eta = self.a + self.b * _cloglog(1.0 - event_probability)
        return -np.expm1(-np.exp(np.minimum(eta, 50.0)))

    @classmethod
    def fit(cls, event_probability: np.ndarray, outcome: np.ndarray, weight: np.ndarray
            ) -> _CloglogMap:
        c = _cloglog(1.0 - event_probability)
        w = weight / weight.sum()

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            eta = np.minimum(theta[0] + theta[1] * c, 50.0)
            u = np.exp(eta)
            log_p = np.log(-np.expm1(-np.maximum(u, _TINY)))
            nll = -np.sum(w * np.where(outcome == 1, log_p, -u))
            d_eta = -w * np.where(outcome == 1, u / np.expm1(np.maximum(u, _TINY)), -u)
            return float(nll), np.array([d_eta.sum(), d_eta @ c])

        result = minimize(loss, np.array([0.0, 1.0]), jac=True, method="L-BFGS-B",
                          bounds=[(-50.0, 50.0), (1e-3, 1e3)])
        return cls(*result.x)

    def summary(self) -> dict[str, float]:
        return {"intercept": self.a, "slope": self.b}


class _IsotonicMap:
    """Weighted isotonic regression of the outcome on ``F``."""

    def __init__(self, regression: Any) -> None:
        self.regression = regression

    def __call__(self, event_probability: np.ndarray) -> np.ndarray:
        shape = event_probability.shape
        return self.regression.predict(event_probability.reshape(-1)).reshape(shape)

    @classmethod
    def fit(cls, event_probability: np.ndarray, outcome: np.ndarray, weight: np.ndarray
            ) -> _IsotonicMap:
        from sklearn.isotonic import IsotonicRegression

        regression = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        return cls(regression.fit(event_probability, outcome, sample_weight=weight))

    def summary(self) -> dict[str, float]:
        return {"n_steps": int(self.regression.X_thresholds_.shape[0])}


def model_survival(model: Any, X: Any, times: Any) -> np.ndarray:
    """Survival matrix ``S(t | x)`` of a fitted survival model at increasing ``times``.

    Uses ``predict_survival_matrix`` (lightsaber nets) or ``predict_survival_function`` on the
    model's ``unique_times_`` (scikit-survival), as ``ls.fit`` does for its metrics.
    """
    from lightsaber.models.protocol import survival_prediction

    times = np.asarray(times, dtype=float)
    scored = survival_prediction(model, X, np.asarray(model.predict(X), dtype=float), times)
    if scored.survival is None:
        raise CalibrationError(
            f"{type(model).__name__} predicts no survival curves (it needs "
            "predict_survival_function, or baseline='breslow' for a SurvivalNet); survival "
            "recalibration works on curves.")
    return np.asarray(scored.survival, dtype=float)


def _is_structured(obj: Any) -> bool:
    return getattr(getattr(obj, "dtype", None), "names", None) is not None


def _accepts_old_order(fit: Callable[..., Any]) -> Callable[..., Any]:
    """Accept the old ``fit(y, survival, times)``, with a DeprecationWarning."""
    @functools.wraps(fit)
    def inner(self: SurvivalRecalibrator, survival: Any, y: Any, *args: Any, **kwargs: Any
              ) -> SurvivalRecalibrator:
        if _is_structured(survival) and not _is_structured(y):
            warnings.warn("SurvivalRecalibrator.fit(y, survival, times) is deprecated: use "
                          "fit(survival, y, times=times), scikit-learn's (X, y) order (the old "
                          "order will be removed in 0.2).", DeprecationWarning, stacklevel=3)
            survival, y = y, survival
        return fit(self, survival, y, *args, **kwargs)

    return inner


class SurvivalRecalibrator(TransformerMixin, BaseEstimator):
    """Recalibrate predicted survival curves at horizons (see the module docstring).

    Parameters
    ----------
    method : {"cloglog", "isotonic"}, default "cloglog"
        The map fitted at each horizon.
    horizons : sequence of float, optional
        Recalibration horizons, inside the curves' time grid. Default: the
        :data:`DEFAULT_QUANTILES` of the event times (within the grid) of the rows it is
        fitted on.

    Attributes
    ----------
    horizons_ : numpy.ndarray
        The horizons used (increasing).
    maps_ : list
        The fitted map at each horizon.
    times_ : numpy.ndarray
        The grid the curves were given on at fit time; predictions on other times are computed
        on it as well, so the running maximum is the same whatever times are asked for.
    n_calibration_ : int
        Rows the recalibrator was fitted on.

    Examples
    --------
    >>> from lightsaber.data.targets import make_survival_target
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=2000)
    >>> t = rng.exponential(np.exp(-x)); c = rng.exponential(2.0, size=2000)
    >>> y = make_survival_target(t <= c, np.minimum(t, c))
    >>> grid = np.linspace(0.05, 2.0, 40)
    >>> over = np.exp(-np.outer(np.exp(2 * x), grid))  # twice the true log hazard ratio
    >>> recal = SurvivalRecalibrator(horizons=[0.25, 0.5, 1.0]).fit(over, y, times=grid)
    >>> [round(m["slope"], 1) for m in recal.summary()["maps"]]
    [0.5, 0.5, 0.5]
    >>> new = recal.transform(over)
    >>> bool((np.diff(new, axis=1) <= 0).all() and new.min() >= 0 and new.max() <= 1)
    True
    """

    def __init__(self, method: str = "cloglog", horizons: Sequence[float] | None = None
                 ) -> None:
        self.method = method
        self.horizons = horizons

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        if "time_grid_" in state:  # pickled before the architecture pass
            state.setdefault("times_", state.pop("time_grid_"))
        super().__setstate__(state)

    # ------------------------------------------------------------------ fitting
    def _default_horizons(self, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
        events = y["time"][y["event"]]
        inside = events[(events >= grid[0]) & (events <= grid[-1])]
        return np.quantile(inside if inside.size else events, DEFAULT_QUANTILES)

    @renamed_keywords(time_grid="times")
    @_accepts_old_order
    def fit(self, survival: Any, y: Any, times: Any = None) -> SurvivalRecalibrator:
        """Fit the horizon maps on predicted curves of held-out rows and their outcomes.

        Parameters
        ----------
        survival : array-like of shape (n_samples, n_times)
            Predicted survival curves of the calibration rows on ``times``.
        y : structured array
            Their outcomes (fields ``event``, ``time``).
        times : array-like of shape (n_times,)
            Strictly increasing times, the grid of ``survival`` (required).
        """
        from lightsaber.data.targets import check_survival_target
        from lightsaber.metrics import survival_at_times
        from lightsaber.metrics.validation import check_time_grid

        if self.method not in SURVIVAL_METHODS:
            raise CalibrationError(
                f"method must be one of {list(SURVIVAL_METHODS)}; got {self.method!r}.")
        if y is None:
            raise CalibrationError("SurvivalRecalibrator requires y to be passed, but the "
                                   "target y is None: fit(survival, y, times=...).")
        if times is None:
            raise CalibrationError(
                "times is required: fit(survival, y, times=...), the grid the curves are on.")
        y = check_survival_target(y)
        grid = check_time_grid(times, name="times")
        surv = np.asarray(survival, dtype=float)
        if surv.shape != (y.shape[0], grid.shape[0]):
            raise CalibrationError(
                f"survival must have shape (n_patients, n_times) = ({y.shape[0]}, "
                f"{grid.shape[0]}); got {surv.shape}.")
        if not np.isfinite(surv).all():
            raise CalibrationError(
                f"survival must be finite; got {int((~np.isfinite(surv)).sum())} non-finite "
                "values (NaN or inf).")
        horizons = np.asarray(self.horizons if self.horizons is not None
                              else self._default_horizons(y, grid), dtype=float)
        horizons = np.unique(horizons)
        if horizons.size == 0 or horizons.min() < grid[0] or horizons.max() > grid[-1]:
            raise CalibrationError(
                f"horizons must lie within the time grid of the curves, [{grid[0]:g}, "
                f"{grid[-1]:g}] (before it every curve reads 1); got {horizons.tolist()}.")
        at = survival_at_times(surv, grid, horizons)
        fit_map = _CloglogMap.fit if self.method == "cloglog" else _IsotonicMap.fit
        maps = []
        for k, h in enumerate(horizons):
            outcome, weight = horizon_outcomes(y, h)
            known = weight > 0
            maps.append(fit_map(1.0 - at[known, k], outcome[known], weight[known]))
        self.horizons_ = horizons
        self.maps_ = maps
        self.times_ = grid
        self.n_calibration_ = int(y.shape[0])
        return self

    # ------------------------------------------------------------------ applying
    def _check_fitted(self) -> None:
        from sklearn.exceptions import NotFittedError as SklearnNotFittedError
        from sklearn.utils.validation import check_is_fitted

        try:
            check_is_fitted(self, "maps_")
        except SklearnNotFittedError:
            raise NotFittedError(
                "this SurvivalRecalibrator is not fitted; call fit first.") from None

    def _mapped(self, event_probability: np.ndarray, t: float) -> np.ndarray:
        knots = np.r_[0.0, self.horizons_]
        k = int(np.searchsorted(knots, t, side="right")) - 1
        if k < 0:
            return event_probability
        if k >= len(self.maps_):
            return self.maps_[-1](event_probability)
        lower = event_probability if k == 0 else self.maps_[k - 1](event_probability)
        w = (t - knots[k]) / (knots[k + 1] - knots[k])
        return (1.0 - w) * lower + w * self.maps_[k](event_probability)

    @renamed_keywords(time_grid="times")
    def transform(self, survival: Any, times: Any = None) -> np.ndarray:
        """Recalibrated survival curves, on the grid ``times`` the curves are given on.

        ``times`` (strictly increasing) defaults to the grid of :meth:`fit`, :attr:`times_`.
        """
        from lightsaber.metrics.validation import check_time_grid

        self._check_fitted()
        grid = self.times_ if times is None else check_time_grid(times, name="times")
        surv = np.asarray(survival, dtype=float)
        if surv.ndim != 2 or surv.shape[1] != grid.shape[0]:
            raise CalibrationError(
                f"survival must have one column per time of times ({grid.shape[0]}); got "
                f"shape {surv.shape}.")
        event = 1.0 - np.clip(surv, 0.0, 1.0)
        mapped = np.column_stack([self._mapped(event[:, j], t) for j, t in enumerate(grid)]) \
            if grid.size else event
        return 1.0 - np.clip(np.maximum.accumulate(mapped, axis=1), 0.0, 1.0)

    def predict_survival(self, model: Any, X: Any, times: Any) -> np.ndarray:
        """Recalibrated ``S(t | x)`` of a fitted model at ``times`` (any order, shape (n, m))."""
        self._check_fitted()
        times = np.asarray(times, dtype=float).reshape(-1)
        union = np.unique(np.r_[self.times_, times])
        curves = self.transform(model_survival(model, X, union), union)
        return curves[:, np.searchsorted(union, times)]

    def event_probability_frame(self, model: Any, X: Any) -> pd.DataFrame:
        """Recalibrated event probabilities ``1 - S(h | x)`` at the horizons, one column each.

        Columns are named ``event_probability_<h>`` (``h`` printed with ``:g``).
        """
        self._check_fitted()
        probability = 1.0 - self.predict_survival(model, X, self.horizons_)
        return pd.DataFrame(probability, columns=[f"event_probability_{h:g}"
                                                  for h in self.horizons_])

    def summary(self) -> dict[str, Any]:
        """Method, horizons and per-horizon map parameters (JSON-ready, no row-level data)."""
        self._check_fitted()
        return {"method": self.method, "horizons": self.horizons_.tolist(),
                "n_calibration": self.n_calibration_,
                "maps": [m.summary() for m in self.maps_]}
