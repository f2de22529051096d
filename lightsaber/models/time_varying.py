r"""A Cox model with time-varying covariates, fitted on counting-process rows.

:class:`TimeVaryingCox` fits ``h(t | x(t)) = h0(t) exp(x(t)' beta)`` where ``x(t)`` is the value
of the covariates in force at ``t``: a patient contributes to the risk set at an event time
``t`` through the one row ``(start, stop]`` that holds ``t``. The rows are the
counting-process frame of :func:`lightsaber.data.to_counting_process` (columns ``id``,
``start``, ``stop``, ``event`` and the covariates), or any frame of that layout.

The fit is :func:`lightsaber.metrics._cox.fit_cox` (the library's one Cox fit) with
``entry = start`` and ``time = stop``: the likelihood of ``survival::coxph(Surv(start, stop,
event) ~ ., ties = "efron")`` and of lifelines' ``CoxTimeVaryingFitter``. Measured against
lifelines 0.30.3 (``tests/models/test_time_varying_cox.py``): coefficients within 2e-10 on PBC2
(log bilirubin, albumin, age; 1,945 rows) and 2e-9 on the synthetic sample (80,539 rows) at
the default ``tol``, within 2e-14 when both fits are run to a tight stop; a fit takes 5 ms
against lifelines' 110 ms on PBC2 and 0.22 s against 2.2 s on the sample (medians of fresh
processes, 2 shared cores). With prothrombin added, lifelines' default Newton step overflows
(it does not halve a step) and it needs ``fit_options={"step_size": 0.5}``; this fit halves
the step and converges from its defaults.

Examples
--------
>>> from lightsaber.data import to_counting_process
>>> from lightsaber.data.datasets import load_sample_mortality
>>> cohort = load_sample_mortality(n_patients=300)
>>> rows = to_counting_process(cohort, ["heart_rate", "lactate", "age"],
...                            duration_unit=24).dropna()
>>> model = TimeVaryingCox().fit(rows)
>>> model.feature_names_in_.tolist(), model.coef_.shape
(['heart_rate', 'lactate', 'age'], (3,))
>>> model.predict(rows.head(2)).shape
(2,)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from sklearn.base import BaseEstimator

from lightsaber.exceptions import (
    ArgumentError,
    CohortError,
    MissingColumnError,
    NonNumericColumnError,
    NotFittedError,
    TargetError,
)
from lightsaber.metrics._cox import fit_cox
from lightsaber.models.competing import _check_params, _check_times

__all__ = ["TimeVaryingCox"]


def _numeric_block(frame: pd.DataFrame, columns: list[str], what: str) -> np.ndarray:
    """The covariate columns as a float64 matrix; non-numeric or missing values are errors."""
    bad = [c for c in columns if not (ptypes.is_numeric_dtype(frame[c].dtype)
                                      or ptypes.is_bool_dtype(frame[c].dtype))]
    if bad:
        shown = ", ".join(f"'{c}' ({frame[c].dtype})" for c in bad[:5])
        raise NonNumericColumnError(
            f"{what}: {len(bad)} covariate column(s) are not numeric: {shown}"
            f"{', ...' if len(bad) > 5 else ''}. Encode them as numbers first (e.g. "
            "pd.get_dummies(frame, columns=[...], drop_first=True, dtype=float) for a "
            "category, 0/1 for a yes/no column), or leave them out of the frame.")
    data = frame[columns].to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(data).sum(axis=0)
    if missing.any():
        shown = ", ".join(f"'{columns[j]}' ({int(missing[j])})"
                          for j in np.flatnonzero(missing)[:5])
        raise CohortError(
            f"{what}: covariate column(s) have missing values (count per column): {shown}, "
            f"of {data.shape[0]} rows. Impute them, or drop those rows (frame.dropna(); a "
            "patient whose last row is dropped loses their event), e.g. the rows before a "
            "measurement's first observation.")
    infinite = np.isinf(data).sum(axis=0)
    if infinite.any():
        j = int(np.flatnonzero(infinite)[0])
        raise CohortError(
            f"{what}: covariate column '{columns[j]}' has {int(infinite[j])} infinite "
            "value(s); replace them with finite values or drop those rows.")
    return data


class TimeVaryingCox(BaseEstimator):
    """Cox proportional-hazards model with time-varying covariates (counting-process rows).

    ``fit`` takes a DataFrame with one row per patient and period ``(start, stop]`` over which
    the covariates are constant (:func:`lightsaber.data.to_counting_process` builds one from
    a cohort with a longitudinal table): the interval columns ``start`` and ``stop``, the
    event indicator ``event`` (1 on the row that ends with the event), an optional ``id``
    column, and the covariates (every other column). A row is at risk at ``t`` when
    ``start < t <= stop``. Column names other than the defaults are given to ``fit``.

    Parameters
    ----------
    alpha : float, default 0.0
        Ridge penalty ``alpha / 2 * |beta|^2`` on the coefficients (as
        :class:`~lightsaber.models.CauseSpecificCox` and scikit-survival's
        ``CoxPHSurvivalAnalysis``); 0 gives the fit of ``survival::coxph`` and lifelines.
    ties : {"efron", "breslow"}, default "efron"
        Handling of tied event times, in the likelihood and in the baseline hazard.
    n_iter : int, default 100
        Most Newton-Raphson iterations.
    tol : float, default 1e-9
        Converged when the penalised log partial likelihood changes by less than ``tol``
        relative to its value (``coxph``'s rule).

    Attributes
    ----------
    coef_ : numpy.ndarray
        Coefficients, in the order of ``feature_names_in_``.
    feature_names_in_ : numpy.ndarray
        Covariate column names.
    n_features_in_ : int
        Number of covariates.
    event_times_ : numpy.ndarray
        Distinct event times of the training rows (``stop`` of the event rows), ascending.
    cum_baseline_hazard_ : numpy.ndarray
        Cumulative baseline hazard at ``event_times_``, at covariates 0 (Breslow's, or
        Efron's with ``ties="efron"``).
    columns_ : dict
        The names of the ``id``, ``start``, ``stop`` and ``event`` columns used in ``fit``.

    Raises
    ------
    MissingColumnError
        No ``start`` / ``stop`` / ``event`` column (named), or no covariate column.
    NonNumericColumnError
        A non-numeric covariate (named, with its dtype).
    CohortError
        Missing or infinite covariate values (columns named, with counts).
    TargetError
        Rows with ``start >= stop``, non-finite interval ends, an event column that is not
        0/1, overlapping rows of one ``id``, or no event at all.
    ArgumentError
        Out-of-range parameters; at prediction, a matrix of another width.
    ConvergenceError
        The fit did not converge or a coefficient is infinite (the feature is named).

    See Also
    --------
    lightsaber.data.to_counting_process : Builds the rows from a cohort.
    CauseSpecificCox : The Cox model on one row per patient, for competing risks.

    Examples
    --------
    >>> rows = pd.DataFrame({"id": [1, 1, 2, 3, 3, 4, 5],
    ...                      "start": [0.0, 2, 0, 0, 1, 0, 0], "stop": [2.0, 5, 3, 1, 4, 6, 2.5],
    ...                      "event": [0, 1, 1, 0, 1, 0, 1],
    ...                      "crp": [1.0, 3, 2, 0.5, 2.5, 0.2, 1.5]})
    >>> model = TimeVaryingCox().fit(rows)
    >>> model.feature_names_in_.tolist(), model.event_times_.tolist()
    (['crp'], [2.5, 3.0, 4.0, 5.0])
    >>> bool(model.coef_[0] > 0)
    True
    >>> rows.loc[0, "stop"] = 0.0
    >>> TimeVaryingCox().fit(rows)
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.TargetError: 1 row(s) have start >= stop ...
    """

    def __init__(self, alpha: float = 0.0, ties: str = "efron", n_iter: int = 100,
                 tol: float = 1e-9) -> None:
        self.alpha = alpha
        self.ties = ties
        self.n_iter = n_iter
        self.tol = tol

    # ------------------------------------------------------------------ fit
    def fit(self, X: pd.DataFrame, y: None = None, *, id: str = "id", start: str = "start",
            stop: str = "stop", event: str = "event") -> TimeVaryingCox:
        """Fit the model on counting-process rows.

        Parameters
        ----------
        X : DataFrame
            One row per patient and period: ``start``, ``stop``, ``event``, optionally ``id``,
            and the numeric covariates (all other columns).
        y : None
            Unused: the outcome is in ``X`` (scikit-learn's signature).
        id, start, stop, event : str
            Column names of the patient id (optional in ``X``: when present, rows of one id
            must not overlap), the interval ``(start, stop]`` and the event indicator.

        Returns
        -------
        TimeVaryingCox
            The fitted model.
        """
        _check_params(self)
        if self.ties not in ("efron", "breslow"):
            raise ArgumentError(
                f"ties must be 'efron' (coxph's and lifelines' default) or 'breslow'; got "
                f"{self.ties!r}.")
        if y is not None:
            raise ArgumentError(
                "TimeVaryingCox.fit takes the outcome inside X (columns start, stop, event: "
                "counting-process rows, e.g. from lightsaber.data.to_counting_process); got a "
                "y as well. Call fit(rows) with y left out.")
        if not isinstance(X, pd.DataFrame):
            raise ArgumentError(
                f"X must be a DataFrame of counting-process rows (columns '{start}', "
                f"'{stop}', '{event}' and the covariates); got {type(X).__name__}. Build one "
                "with lightsaber.data.to_counting_process(cohort, features).")
        outcome = [start, stop, event]
        missing = [c for c in outcome if c not in X.columns]
        if missing:
            raise MissingColumnError(
                f"the counting-process frame has no column(s) {missing} (columns: "
                f"{[str(c) for c in X.columns[:12]]}). Name them with fit(X, start=..., "
                "stop=..., event=...).")
        reserved = {*outcome, id}
        features = [c for c in X.columns if c not in reserved]
        if not features:
            raise MissingColumnError(
                f"the counting-process frame has no covariate column besides {sorted(reserved)}.")
        entry, exit_, status = self._outcome(X, start, stop, event)
        if id in X.columns:
            _check_no_overlap(X[id].to_numpy(), entry, exit_, id)
        data = _numeric_block(X, features, type(self).__name__)
        names = [str(c) for c in features]
        fit = fit_cox(data, status, exit_, entry=entry, ties=self.ties, alpha=float(self.alpha),
                      n_iter=int(self.n_iter), tol=float(self.tol), strict=True, names=names,
                      what="time-varying Cox model")
        self.coef_ = fit.coef.copy()
        self.feature_names_in_ = np.asarray(features, dtype=object)
        self.n_features_in_ = len(features)
        self.event_times_ = fit.event_times
        # at covariates 0: log H0(t) - center' beta
        self._log_hazard = fit.log_hazard - float(fit.center @ fit.coef)
        self.cum_baseline_hazard_ = np.exp(fit.log_cum_baseline_hazard
                                           - float(fit.center @ fit.coef))
        self.columns_ = {"id": id, "start": start, "stop": stop, "event": event}
        return self

    @staticmethod
    def _outcome(X: pd.DataFrame, start: str, stop: str, event: str
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        entry, exit_ = _intervals(X, start, stop)
        raw = X[event]
        if ptypes.is_bool_dtype(raw.dtype):
            status = raw.to_numpy(dtype=bool)
        else:
            values = raw.to_numpy(dtype=np.float64, na_value=np.nan) \
                if ptypes.is_numeric_dtype(raw.dtype) else None
            if values is None or not np.all(np.isin(values, (0.0, 1.0))):
                seen = pd.unique(raw)[:5].tolist()
                raise TargetError(
                    f"event column '{event}' must be 0/1 or boolean (1 on the row that ends "
                    f"with the event); got values such as {seen}.")
            status = values == 1.0
        if not status.any():
            raise TargetError(
                f"event column '{event}' has no event (all {status.size} rows censored); a Cox "
                "model needs at least one.")
        return entry, exit_, status

    # ------------------------------------------------------------------ predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted; call fit first.")

    def _covariates(self, X: Any) -> np.ndarray:
        self._check_fitted()
        if isinstance(X, pd.DataFrame):
            missing = [c for c in self.feature_names_in_ if c not in X.columns]
            if missing:
                raise MissingColumnError(
                    f"X has no column(s) {[str(c) for c in missing]} of the covariates the "
                    f"model was fitted on ({[str(c) for c in self.feature_names_in_]}).")
            return _numeric_block(X, list(self.feature_names_in_), type(self).__name__)
        data = np.asarray(X, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != self.n_features_in_:
            raise ArgumentError(
                f"X must have {self.n_features_in_} columns "
                f"({[str(c) for c in self.feature_names_in_]}), as when fitted; got shape "
                f"{data.shape}. Pass a DataFrame with those columns (others are ignored).")
        if not np.all(np.isfinite(data)):
            raise ArgumentError("X has missing or infinite values; impute or drop those rows.")
        return data

    def predict(self, X: Any) -> np.ndarray:
        """Linear predictor ``x' beta`` of each row: the log relative hazard (higher = riskier).

        Parameters
        ----------
        X : DataFrame or array of shape (n_rows, n_features)
            A DataFrame holding the covariate columns (other columns, such as ``start`` and
            ``stop``, are ignored), or a matrix with the covariates in the order of
            ``feature_names_in_``.

        Returns
        -------
        numpy.ndarray of shape (n_rows,)
            ``x' beta``, not centred (lifelines' ``predict_log_partial_hazard`` subtracts the
            training means: a constant shift).
        """
        return self._covariates(X) @ self.coef_

    def predict_cumulative_hazard(self, X: pd.DataFrame, times: Sequence[float] | np.ndarray
                                  ) -> np.ndarray:
        """Cumulative hazard along covariate paths, ``sum_{s <= t} dH0(s) exp(x(s)' beta)``.

        A path is the counting-process rows of one ``id`` (the whole frame when it has no
        ``id`` column): on each row ``(start, stop]`` the covariates of that row are in force.
        The hazard accumulates from the path's first ``start`` at the training event times
        ``s`` inside its rows; a path is thus conditional on being event-free at its first
        ``start``.

        Parameters
        ----------
        X : DataFrame
            Rows with the ``start`` and ``stop`` columns of ``fit`` and the covariates.
        times : sequence of float
            Sorted, finite, non-negative times.

        Returns
        -------
        numpy.ndarray of shape (n_paths, len(times))
            One row per ``id`` in order of first appearance. 0 before the path's first
            ``start``; NaN after its last ``stop`` (the covariates are not known there: extend
            the last row to predict further).
        """
        self._check_fitted()
        if not isinstance(X, pd.DataFrame):
            raise ArgumentError(
                f"X must be a DataFrame of counting-process rows (columns "
                f"'{self.columns_['start']}', '{self.columns_['stop']}' and the covariates); "
                f"got {type(X).__name__}.")
        grid = _check_times(times)
        start, stop = self.columns_["start"], self.columns_["stop"]
        missing = [c for c in (start, stop) if c not in X.columns]
        if missing:
            raise MissingColumnError(f"X has no column(s) {missing}: the rows of the paths.")
        entry, exit_ = _intervals(X, start, stop)
        id_name = self.columns_["id"]
        ids = X[id_name].to_numpy() if id_name in X.columns else np.zeros(len(X))
        codes, uniques = pd.factorize(ids)
        _check_no_overlap(codes, entry, exit_, id_name)
        risk = self.predict(X)
        n_paths = uniques.size
        # per training event time s and row: the jump dH0(s) exp(x' beta) when start < s <= stop
        jump = np.exp(self._log_hazard)
        s = self.event_times_
        lo = np.searchsorted(s, entry, side="right")  # first event time > start
        hi = np.searchsorted(s, exit_, side="right")  # first event time > stop
        cum = np.r_[0.0, np.cumsum(jump)]
        # hazard of each row up to each grid time: sum over s in (start, min(stop, t)]
        upto = np.searchsorted(s, grid, side="right")  # event times <= t
        last = np.clip(upto[None, :], lo[:, None], hi[:, None])
        row_hazard = (cum[last] - cum[lo][:, None]) * np.exp(risk)[:, None]
        out = np.zeros((n_paths, grid.size))
        np.add.at(out, codes, row_hazard)
        first_start = np.full(n_paths, np.inf)
        np.minimum.at(first_start, codes, entry)
        last_stop = np.full(n_paths, -np.inf)
        np.maximum.at(last_stop, codes, exit_)
        out[grid[None, :] > last_stop[:, None]] = np.nan
        return out

    def predict_survival_function(self, X: pd.DataFrame, times: Sequence[float] | np.ndarray
                                  ) -> np.ndarray:
        """Survival along covariate paths, ``exp(-cumulative hazard)``.

        See :meth:`predict_cumulative_hazard` for the paths, the conditioning on the first
        ``start`` and the NaN after the last ``stop``.

        Parameters
        ----------
        X : DataFrame
            Rows with the ``start`` and ``stop`` columns of ``fit`` and the covariates.
        times : sequence of float
            Sorted, finite, non-negative times.

        Returns
        -------
        numpy.ndarray of shape (n_paths, len(times))
            One row per ``id`` in order of first appearance; values in (0, 1], non-increasing.
        """
        return np.exp(-self.predict_cumulative_hazard(X, times))


def _intervals(X: pd.DataFrame, start: str, stop: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``(start, stop]`` columns as float arrays: numeric, finite, ``start < stop``."""
    ends = {}
    for name in (start, stop):
        if not ptypes.is_numeric_dtype(X[name].dtype) or ptypes.is_bool_dtype(X[name].dtype):
            raise NonNumericColumnError(
                f"interval column '{name}' has dtype {X[name].dtype}; start and stop must be "
                "numbers (time since the origin).")
        values = X[name].to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            raise TargetError(
                f"interval column '{name}' has {int(bad.sum())} missing or infinite value(s) "
                f"(first at row {int(np.flatnonzero(bad)[0])}); every row needs a finite start "
                "and stop.")
        ends[name] = values
    backwards = ~(ends[start] < ends[stop])
    if backwards.any():
        raise TargetError(
            f"{int(backwards.sum())} row(s) have start >= stop (first at row "
            f"{int(np.flatnonzero(backwards)[0])}); a row covers the period start < t <= stop, "
            "so it must be non-empty. Drop those rows (to_counting_process never makes them).")
    return ends[start], ends[stop]


def _check_no_overlap(ids: np.ndarray, entry: np.ndarray, exit_: np.ndarray, id_name: str
                      ) -> None:
    """Raise :class:`TargetError` when two rows of one id overlap (it would be at risk twice)."""
    codes = pd.factorize(ids)[0]
    order = np.lexsort((entry, codes))
    c, a, b = codes[order], entry[order], exit_[order]
    overlap = (c[1:] == c[:-1]) & (a[1:] < b[:-1])
    if overlap.any():
        n_ids = int(np.unique(c[1:][overlap]).size)
        raise TargetError(
            f"{int(overlap.sum())} row(s) of {n_ids} '{id_name}' value(s) overlap an earlier "
            f"row of the same '{id_name}' (a start before the previous stop): that patient "
            "would be counted twice in a risk set. Rows of one patient must not overlap; "
            "rebuild them with lightsaber.data.to_counting_process.")
