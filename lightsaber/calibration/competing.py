"""Recalibration of predicted cumulative incidences (competing risks), cause by cause.

The competing-risks counterpart of :class:`~lightsaber.calibration.SurvivalRecalibrator`, with
the same methods and the same handling of time. For each cause ``k`` and each of its horizons
``h``, a monotone map ``g`` from the predicted cause-``k`` cumulative incidence
``F_k(h | x)`` to a recalibrated one is fitted on held-out rows:

* ``"cloglog"`` (default): ``log(-log(1 - F_new)) = a + b log(-log(1 - F_k))``, ``b > 0``,
  the survival path's map with ``1 - F_k`` in the place of ``S``. It is fitted by maximising
  the inverse-probability-of-censoring weighted binomial likelihood of "a cause-``k`` event by
  ``h``": direct binomial regression of the cumulative incidence at a fixed time (Scheike,
  Zhang & Gerds, Biometrika 2008) with the complementary log-log link and the transformed
  prediction as the only covariate. Its slope ``b`` is the competing-risks calibration slope
  (van Geloven et al., BMJ 2022, fit the same model by Fine-Gray regression); ``a = 0, b = 1``
  is a perfectly calibrated model.
* ``"isotonic"``: weighted isotonic regression of the same outcome on ``F_k(h | x)``.

The outcome of a patient at ``h`` is 1 for a cause-``k`` event at ``T <= h`` and 0 for an event
of another cause at ``T <= h`` or for a patient still followed at ``h``; weights are ``1 /
G(T-)`` for an event of any cause by ``h``, ``1 / G(h)`` for a patient followed past it and 0
for a patient censored before it (``G`` the Kaplan-Meier estimate of the censoring
distribution). Under independent censoring the weighted share of ones is the Aalen-Johansen
estimate of ``F_k(h)``.

Horizons default to the 10/25/50/75/90 % quantiles of the cause's own event times among the
calibration rows (within the curves' grid), so a rare cause gets horizons where it has events.
Between two horizons the two maps are blended linearly in time (the identity at ``t = 0``, the
last map after the last horizon), as in the survival path. Then, for every patient:

1. each cause's curve is made non-decreasing in time (running maximum) and clipped to
   ``[0, 1]``;
2. the causes are made to sum to at most 1: at each time the increments of all causes are
   scaled down together, only where they would take the total above 1 (so a recalibrated CIF
   stays non-decreasing, and where the total stays below 1 nothing changes).

A :class:`CompetingRecalibrator` is a scikit-learn transformer fitted on a model's
**predictions** and the outcome: ``fit(cif, y)`` with ``cif`` a
:class:`~lightsaber.metrics.CompetingPrediction` (or a ``{cause: (n, n_times)}`` mapping with
``times=``), ``transform`` returning the same kind. It clones, pickles and takes
``get_params`` / ``set_params`` as any scikit-learn estimator; parameters are checked in
``fit``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from lightsaber.calibration.horizon import horizon_outcomes
from lightsaber.calibration.survival import DEFAULT_QUANTILES, _CloglogMap, _IsotonicMap
from lightsaber.exceptions import CalibrationError, NotFittedError
from lightsaber.metrics.competing_calibration import cif_at_times

__all__ = [
    "COMPETING_METHODS",
    "CompetingRecalibrator",
    "assess_competing_calibration",
    "cap_total_incidence",
    "report_horizons",
]

#: Method names of :class:`CompetingRecalibrator`.
COMPETING_METHODS = ("cloglog", "isotonic")


def cap_total_incidence(cif: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Scale each time's increments of all causes together so that their sum stays <= 1.

    Parameters
    ----------
    cif : mapping of int to numpy.ndarray of shape (n_samples, n_times)
        Non-decreasing cumulative incidences in ``[0, 1]`` on one grid, one matrix per cause.

    Returns
    -------
    dict of int to numpy.ndarray
        The same curves where their total stays at most 1; where it would exceed 1, the
        increments at that time are shrunk proportionally to fill what is left. Curves stay
        non-decreasing.

    Examples
    --------
    >>> out = cap_total_incidence({1: np.array([[0.2, 0.6]]), 2: np.array([[0.4, 0.8]])})
    >>> out[1].round(3).tolist(), out[2].round(3).tolist()
    ([[0.2, 0.4]], [[0.4, 0.6]])
    """
    codes = list(cif)
    stack = np.stack([np.asarray(cif[k], dtype=float) for k in codes])  # (K, n, m)
    increments = np.diff(stack, axis=2, prepend=0.0)
    out = np.empty_like(stack)
    level = np.zeros(stack.shape[:2])
    for j in range(stack.shape[2]):
        step = increments[:, :, j]
        room = np.maximum(1.0 - level.sum(axis=0), 0.0)
        total = step.sum(axis=0)
        scale = np.where(total > room, room / np.where(total > 0, total, 1.0), 1.0)
        level = level + step * scale
        out[:, :, j] = level
    return {k: np.clip(out[i], 0.0, 1.0) for i, k in enumerate(codes)}


def _as_curves(cif: Any, times: Any, what: str) -> tuple[dict[int, np.ndarray], np.ndarray, Any]:
    """``({cause: matrix}, grid, the CompetingPrediction or None)`` from what was passed."""
    from lightsaber.metrics.prediction import CompetingPrediction
    from lightsaber.metrics.validation import check_time_grid

    if isinstance(cif, CompetingPrediction):
        if times is not None and not np.array_equal(np.asarray(times, dtype=float), cif.times):
            raise CalibrationError(
                f"{what}: times must be the prediction's own times (or omitted) when a "
                "CompetingPrediction is passed; got other times.")
        return dict(cif.cif), cif.times, cif
    if not isinstance(cif, Mapping) or not cif:
        raise CalibrationError(
            f"{what} takes a CompetingPrediction or a mapping {{cause code: (n_samples, "
            f"n_times) cumulative incidences}}; got {type(cif).__name__}.")
    if times is None:
        raise CalibrationError(f"{what}: times is required with a mapping of curves (their "
                               "grid): pass times=..., or a CompetingPrediction.")
    grid = check_time_grid(times, name="times")
    curves = {}
    for key, value in cif.items():
        matrix = np.asarray(value, dtype=float)
        if matrix.ndim != 2 or matrix.shape[1] != grid.shape[0]:
            raise CalibrationError(
                f"{what}: the cause-{key} curves must have shape (n_samples, {grid.shape[0]}) "
                f"(one column per time); got shape {matrix.shape}.")
        curves[int(key)] = matrix
    rows = {k: v.shape[0] for k, v in curves.items()}
    if len(set(rows.values())) != 1:
        raise CalibrationError(f"{what}: every cause's curves must have the same patients; "
                               f"got rows {rows}.")
    return curves, grid, None


class CompetingRecalibrator(TransformerMixin, BaseEstimator):
    """Recalibrate predicted cumulative incidences per cause at horizons (module docstring).

    Parameters
    ----------
    method : {"cloglog", "isotonic"}, default "cloglog"
        The map fitted at each horizon of each cause.
    horizons : sequence of float, optional
        Recalibration horizons for every cause, inside the curves' time grid. Default, per
        cause: the 10/25/50/75/90 % quantiles of that cause's event times (within the grid)
        among the rows it is fitted on.

    Attributes
    ----------
    causes_ : list of int
        The causes recalibrated (those of the predictions it was fitted on).
    horizons_ : dict of int to numpy.ndarray
        The horizons of each cause (increasing).
    maps_ : dict of int to list
        The fitted map at each horizon of each cause.
    times_ : numpy.ndarray
        The grid of the curves at fit time (the default grid of :meth:`transform`).
    n_calibration_ : int
        Rows it was fitted on.

    Examples
    --------
    Cause-specific hazards ``exp(x)`` (cause 1) and 1 (cause 2); the predicted cause-1 CIF is
    distorted (``log(-log(1 - F))`` doubled), the recalibrator finds slope 1/2:

    >>> from lightsaber.data.targets import make_competing_target
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=3000)
    >>> total = np.exp(x) + 1.0
    >>> t, c = rng.exponential(1 / total), rng.exponential(2.0, size=3000)
    >>> cause = np.where(rng.random(3000) < np.exp(x) / total, 1, 2)
    >>> y = make_competing_target(np.where(t <= c, cause, 0), np.minimum(t, c))
    >>> grid = np.linspace(0.05, 1.0, 20)
    >>> true = {1: np.exp(x)[:, None] / total[:, None] * (1 - np.exp(-np.outer(total, grid))),
    ...         2: 1 / total[:, None] * (1 - np.exp(-np.outer(total, grid)))}
    >>> bad = {1: 1 - np.exp(-np.log1p(-true[1]) ** 2), 2: true[2]}
    >>> recal = CompetingRecalibrator(horizons=[0.25, 0.5]).fit(bad, y, times=grid)
    >>> [round(m["slope"], 1) for m in recal.summary()["causes"]["1"]["maps"]]
    [0.5, 0.5]
    >>> new = recal.transform(bad)
    >>> bool(np.all(np.diff(new[1], axis=1) >= 0) and np.all(new[1] + new[2] <= 1))
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

    # ------------------------------------------------------------------ fitting
    def _horizons(self, y: np.ndarray, grid: np.ndarray, cause: int) -> np.ndarray:
        if self.horizons is not None:
            horizons = np.unique(np.asarray(self.horizons, dtype=float))
            if horizons.size == 0 or horizons.min() < grid[0] or horizons.max() > grid[-1]:
                raise CalibrationError(
                    f"horizons must lie within the time grid of the curves, [{grid[0]:g}, "
                    f"{grid[-1]:g}] (before it every curve reads 0); got {horizons.tolist()}.")
            return horizons
        events = y["time"][y["status"] == cause]
        inside = events[(events >= grid[0]) & (events <= grid[-1])]
        if inside.size == 0:
            raise CalibrationError(
                f"the calibration rows have no cause-{cause} event within the curves' time grid "
                f"[{grid[0]:g}, {grid[-1]:g}], so cause {cause} cannot be recalibrated; use a "
                "larger calibration split (stratified by event) or pass horizons=.")
        return np.unique(np.quantile(inside, DEFAULT_QUANTILES))

    def fit(self, cif: Any, y: Any, times: Any = None) -> CompetingRecalibrator:
        """Fit the maps on predicted CIFs of held-out rows and their outcomes.

        Parameters
        ----------
        cif : CompetingPrediction or mapping of int to array-like
            Predicted cumulative incidences of the calibration rows: a
            :class:`~lightsaber.metrics.CompetingPrediction`, or ``{cause: (n_samples,
            n_times)}`` on ``times``.
        y : structured array
            Their competing-risks outcomes (fields ``status``, ``time``).
        times : array-like of shape (n_times,), optional
            Strictly increasing grid of the curves (required with a mapping).

        Returns
        -------
        CompetingRecalibrator
            Fitted.
        """
        from lightsaber.data.targets import check_competing_target, make_survival_target

        if self.method not in COMPETING_METHODS:
            raise CalibrationError(
                f"method must be one of {list(COMPETING_METHODS)}; got {self.method!r}.")
        if y is None:
            raise CalibrationError("CompetingRecalibrator requires y to be passed, but the "
                                   "target y is None: fit(cif, y).")
        curves, grid, _ = _as_curves(cif, times, "CompetingRecalibrator.fit")
        y = check_competing_target(y)
        for cause, matrix in curves.items():
            if matrix.shape[0] != y.shape[0]:
                raise CalibrationError(
                    f"the cause-{cause} curves have {matrix.shape[0]} rows but y has "
                    f"{y.shape[0]}; they must describe the same patients.")
            if not np.isfinite(matrix).all():
                raise CalibrationError(
                    f"the cause-{cause} curves must be finite; got "
                    f"{int((~np.isfinite(matrix)).sum())} non-finite values (NaN or inf).")
        fit_map = _CloglogMap.fit if self.method == "cloglog" else _IsotonicMap.fit
        any_event = make_survival_target(y["status"] > 0, y["time"])
        horizons, maps = {}, {}
        for cause, matrix in curves.items():
            horizons[cause] = self._horizons(y, grid, cause)
            at = np.clip(cif_at_times(matrix, grid, horizons[cause]), 0.0, 1.0)
            cause_maps = []
            for j, h in enumerate(horizons[cause]):
                _, weight = horizon_outcomes(any_event, h)
                outcome = ((y["status"] == cause) & (y["time"] <= h)).astype(int)
                known = weight > 0
                if not outcome[known].any():
                    raise CalibrationError(
                        f"no cause-{cause} event at or before the horizon {h:g} among the "
                        "calibration rows; choose later horizons or a larger calibration "
                        "split.")
                cause_maps.append(fit_map(at[known, j], outcome[known], weight[known]))
            maps[cause] = cause_maps
        self.causes_ = sorted(curves)
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
                "this CompetingRecalibrator is not fitted; call fit first.") from None

    def _mapped(self, cause: int, cif: np.ndarray, t: float) -> np.ndarray:
        maps, knots = self.maps_[cause], np.r_[0.0, self.horizons_[cause]]
        k = int(np.searchsorted(knots, t, side="right")) - 1
        if k < 0:
            return cif
        if k >= len(maps):
            return maps[-1](cif)
        lower = cif if k == 0 else maps[k - 1](cif)
        w = (t - knots[k]) / (knots[k + 1] - knots[k])
        return (1.0 - w) * lower + w * maps[k](cif)

    def transform(self, cif: Any, times: Any = None) -> Any:
        """Recalibrated cumulative incidences, of the same kind and on the same grid as given.

        Parameters
        ----------
        cif : CompetingPrediction or mapping of int to array-like
            Predicted curves of the causes it was fitted on (a subset is fine).
        times : array-like, optional
            With a mapping: its grid (default: the fit grid :attr:`times_`).

        Returns
        -------
        CompetingPrediction or dict
            A :class:`~lightsaber.metrics.CompetingPrediction` for one (its ``risk`` is the
            recalibrated CIF at the last time when it was the CIF there before, else kept), a
            ``{cause: matrix}`` dict for a mapping. Non-decreasing in time, in ``[0, 1]``, and
            summing to at most 1 over causes.
        """
        from lightsaber.metrics.prediction import CompetingPrediction

        self._check_fitted()
        curves, grid, prediction = _as_curves(
            cif, self.times_ if times is None and not isinstance(cif, CompetingPrediction)
            else times, "CompetingRecalibrator.transform")
        unknown = sorted(set(curves) - set(self.causes_))
        if unknown:
            raise CalibrationError(
                f"this CompetingRecalibrator was fitted on causes {self.causes_}; it cannot "
                f"recalibrate cause(s) {unknown}.")
        out = {}
        for cause, matrix in curves.items():
            base = np.clip(matrix, 0.0, 1.0)
            mapped = (np.column_stack([self._mapped(cause, base[:, j], t)
                                       for j, t in enumerate(grid)]) if grid.size else base)
            out[cause] = np.clip(np.maximum.accumulate(mapped, axis=1), 0.0, 1.0)
        out = cap_total_incidence(out)
        if prediction is None:
            return out
        risk = {k: (out[k][:, -1] if np.array_equal(prediction.risk[k], prediction.cif[k][:, -1])
                    else prediction.risk[k]) for k in out}
        return CompetingPrediction(cif=out, times=grid, risk=risk, causes=prediction.causes)

    def predict_cumulative_incidence(self, model: Any, X: Any, times: Any
                                     ) -> dict[int, np.ndarray]:
        """Recalibrated CIFs of a fitted model at ``times`` (any order), one matrix per cause.

        Computed on the union of ``times`` and the fit grid :attr:`times_`, so the running
        maximum in time, and so each value, is the same whatever times are asked for (as
        :meth:`~lightsaber.calibration.SurvivalRecalibrator.predict_survival` does).

        Parameters
        ----------
        model : estimator
            The fitted competing-risks model whose predictions the recalibrator was fitted on
            (``predict_cumulative_incidence(X, times, cause=k)``).
        X : model input
            As the model takes it.
        times : array-like of shape (n_times,)
            Non-negative, finite times.

        Returns
        -------
        dict of int to numpy.ndarray
            ``{cause: (n_samples, n_times)}`` for each cause of :attr:`causes_`.
        """
        self._check_fitted()
        times = np.asarray(times, dtype=float).reshape(-1)
        union = np.unique(np.r_[self.times_, times])
        curves = {k: np.asarray(model.predict_cumulative_incidence(X, union, cause=k),
                                dtype=float) for k in self.causes_}
        new = self.transform(curves, union)
        index = np.searchsorted(union, times)
        return {k: v[:, index] for k, v in new.items()}

    def summary(self) -> dict[str, Any]:
        """Method, and per cause the horizons and map parameters (JSON-ready, no rows).

        Returns
        -------
        dict
            ``{"method", "n_calibration", "causes": {"<code>": {"horizons", "maps"}}}``.
        """
        self._check_fitted()
        return {"method": self.method, "n_calibration": self.n_calibration_,
                "causes": {str(k): {"horizons": self.horizons_[k].tolist(),
                                    "maps": [m.summary() for m in self.maps_[k]]}
                           for k in self.causes_}}


def report_horizons(y: Any, horizons: Mapping[int, Any]) -> dict[int, list[float]]:
    """The horizons of each cause at which the rows ``y`` can be assessed.

    Those within their follow-up (``min(time) <= h < max(time)``), for the causes that occur in
    ``y``; a cause left with none is dropped.

    Parameters
    ----------
    y : structured array
        Competing-risks outcomes of the assessed rows.
    horizons : mapping of int to sequence of float
        Candidate horizons per cause (e.g. a recalibrator's ``horizons_``).

    Returns
    -------
    dict of int to list of float

    Examples
    --------
    >>> from lightsaber.data.targets import make_competing_target
    >>> y = make_competing_target([1, 0, 1, 0], [1.0, 2.0, 3.0, 4.0])
    >>> report_horizons(y, {1: [0.5, 2.0, 4.0], 2: [2.0]})
    {1: [2.0]}
    """
    from lightsaber.data.targets import check_competing_target

    y = check_competing_target(y)
    lo, hi = float(y["time"].min()), float(y["time"].max())
    seen = set(y["status"][y["status"] > 0].tolist())
    out = {}
    for cause, values in horizons.items():
        inside = [float(h) for h in np.asarray(values, dtype=float) if lo <= h < hi]
        if int(cause) in seen and inside:
            out[int(cause)] = inside
    return out


def assess_competing_calibration(y: Any, prediction: Any, horizons: Mapping[int, Any], *,
                                 n_groups: int = 10) -> dict[str, list[dict[str, Any]]]:
    """Predicted vs Aalen-Johansen CIF by risk group, per cause and horizon (JSON-ready).

    Parameters
    ----------
    y : structured array
        Competing-risks outcomes of the assessed rows.
    prediction : CompetingPrediction
        Their predicted CIFs.
    horizons : mapping of int to sequence of float
        Horizons per cause, within the follow-up of ``y``
        (``lightsaber.calibration.competing.report_horizons`` picks them).
    n_groups : int, default 10
        Risk groups (at most the number of rows).

    Returns
    -------
    dict
        ``{"<cause code>": [CIFCalibration.summary() per horizon]}``: aggregates only.

    Examples
    --------
    >>> from lightsaber.data.targets import make_competing_target
    >>> from lightsaber.metrics import CompetingPrediction
    >>> y = make_competing_target([1, 2, 1, 0, 1, 2], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> p = CompetingPrediction({1: np.tile([0.2, 0.5], (6, 1))}, times=[1.0, 4.0])
    >>> out = assess_competing_calibration(y, p, {1: [4.0]}, n_groups=2)
    >>> np.round(out["1"][0]["observed_cif"], 3).tolist(), out["1"][0]["predicted_cif"]
    ([0.667, 0.0], [0.5, 0.5])
    """
    from lightsaber.metrics.competing_calibration import cif_calibration_at_horizon

    groups = min(int(n_groups), len(y))
    out = {}
    for cause, values in horizons.items():
        at = prediction.cif_at(cause, np.asarray(values, dtype=float))
        out[str(cause)] = [cif_calibration_at_horizon(y, at[:, j], h, cause=cause,
                                                      n_groups=groups).summary()
                           for j, h in enumerate(values)]
    return out
