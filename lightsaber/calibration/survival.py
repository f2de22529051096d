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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from lightsaber.calibration.horizon import horizon_outcomes
from lightsaber.exceptions import CalibrationError

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


class SurvivalRecalibrator:
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
    time_grid_ : numpy.ndarray
        The grid the curves were given on at fit time; predictions on other times are computed
        on it as well, so the running maximum is the same whatever times are asked for.
    n_calibration_ : int

    Examples
    --------
    >>> from lightsaber.data.targets import make_survival_target
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=2000)
    >>> t = rng.exponential(np.exp(-x)); c = rng.exponential(2.0, size=2000)
    >>> y = make_survival_target(t <= c, np.minimum(t, c))
    >>> grid = np.linspace(0.05, 2.0, 40)
    >>> over = np.exp(-np.outer(np.exp(2 * x), grid))  # twice the true log hazard ratio
    >>> recal = SurvivalRecalibrator(horizons=[0.25, 0.5, 1.0]).fit(y, over, grid)
    >>> [round(m["slope"], 1) for m in recal.summary()["maps"]]
    [0.5, 0.5, 0.5]
    >>> new = recal.transform(over, grid)
    >>> bool((np.diff(new, axis=1) <= 0).all() and new.min() >= 0 and new.max() <= 1)
    True
    """

    def __init__(self, method: str = "cloglog", horizons: Sequence[float] | None = None
                 ) -> None:
        self.method = method
        self.horizons = horizons

    # ------------------------------------------------------------------ fitting
    def _default_horizons(self, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
        events = y["time"][y["event"]]
        inside = events[(events >= grid[0]) & (events <= grid[-1])]
        return np.quantile(inside if inside.size else events, DEFAULT_QUANTILES)

    def fit(self, y: Any, survival: Any, time_grid: Any) -> SurvivalRecalibrator:
        """Fit the horizon maps on held-out outcomes ``y`` and predicted curves.

        Parameters
        ----------
        y : structured array
            Outcomes of the calibration rows.
        survival : array-like of shape (n_samples, n_times)
            Their predicted survival curves on ``time_grid``.
        time_grid : array-like of shape (n_times,)
            Strictly increasing times.
        """
        from lightsaber.data.targets import check_survival_target
        from lightsaber.metrics import survival_at_times
        from lightsaber.metrics.validation import check_time_grid

        if self.method not in SURVIVAL_METHODS:
            raise CalibrationError(
                f"method must be one of {list(SURVIVAL_METHODS)}; got {self.method!r}.")
        y = check_survival_target(y)
        grid = check_time_grid(time_grid, name="time_grid")
        surv = np.asarray(survival, dtype=float)
        if surv.shape != (y.shape[0], grid.shape[0]):
            raise CalibrationError(
                f"survival must have shape (n_patients, n_times) = ({y.shape[0]}, "
                f"{grid.shape[0]}); got {surv.shape}.")
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
        self.time_grid_ = grid
        self.n_calibration_ = int(y.shape[0])
        return self

    # ------------------------------------------------------------------ applying
    def _check_fitted(self) -> None:
        if not hasattr(self, "maps_"):
            from lightsaber.exceptions import NotFittedError

            raise NotFittedError("this SurvivalRecalibrator is not fitted; call fit first.")

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

    def transform(self, survival: Any, time_grid: Any) -> np.ndarray:
        """Recalibrated survival curves on the same (strictly increasing) ``time_grid``."""
        from lightsaber.metrics.validation import check_time_grid

        self._check_fitted()
        grid = check_time_grid(time_grid, name="time_grid")
        surv = np.asarray(survival, dtype=float)
        if surv.ndim != 2 or surv.shape[1] != grid.shape[0]:
            raise CalibrationError(
                f"survival must have one column per time of time_grid ({grid.shape[0]}); got "
                f"shape {surv.shape}.")
        event = 1.0 - np.clip(surv, 0.0, 1.0)
        mapped = np.column_stack([self._mapped(event[:, j], t) for j, t in enumerate(grid)]) \
            if grid.size else event
        return 1.0 - np.clip(np.maximum.accumulate(mapped, axis=1), 0.0, 1.0)

    def predict_survival(self, model: Any, X: Any, times: Any) -> np.ndarray:
        """Recalibrated ``S(t | x)`` of a fitted model at ``times`` (any order, shape (n, m))."""
        self._check_fitted()
        times = np.asarray(times, dtype=float).reshape(-1)
        union = np.unique(np.r_[self.time_grid_, times])
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

    def __repr__(self) -> str:
        return f"SurvivalRecalibrator(method={self.method!r}, horizons={self.horizons!r})"
