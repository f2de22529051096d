"""What a net does when called scikit-learn style, ``net.fit(X, y)``, without ``ls.fit``.

``ls.fit`` always gives a net the cohort's own validation split and standardised inputs. Called
directly, a net follows scikit-learn's ``HistGradientBoosting*`` convention instead: with early
stopping on and no ``val=``, a seeded, stratified ``validation_fraction`` of the rows is held
out (:func:`hold_out`); and inputs whose feature scales differ by more than
:data:`SCALE_RATIO` earn one :class:`~lightsaber.exceptions.UnscaledInputWarning`
(:func:`check_scaling`), because a network trains poorly on them (GBSG, measured: test C 0.622
unscaled vs 0.656 for a linear Cox model).

Examples
--------
>>> import numpy as np
>>> X = np.arange(40, dtype="float32").reshape(20, 2)
>>> y = np.array([0, 1] * 10)
>>> (X_fit, y_fit), (X_val, y_val) = hold_out(X, y, 0.2, seed=0, stratify=y)
>>> X_fit.shape, X_val.shape, sorted(y_val.tolist())
((16, 2), (4, 2), [0, 0, 1, 1])
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from lightsaber.exceptions import ArgumentError, UnscaledInputWarning

__all__ = ["SCALE_RATIO", "check_scaling", "hold_out"]

#: Feature standard deviations differing by more than this factor look unscaled.
SCALE_RATIO = 100.0


def _rows(X: Any, index: np.ndarray) -> Any:
    if isinstance(X, Mapping):
        return {k: (None if v is None else np.asarray(v)[index]) for k, v in X.items()}
    return np.asarray(X)[index]


def hold_out(X: Any, y: Any, fraction: float, *, seed: int, stratify: Any = None
             ) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """``(X_fit, y_fit), (X_val, y_val)``: a seeded, stratified split of the rows.

    Parameters
    ----------
    X : array or dict of arrays
        Model input (rows first); a dict (sequences) is split entry by entry.
    y : array
        Labels or a survival structured array, one per row.
    fraction : float
        Share of the rows held out, in (0, 1).
    seed : int
        Random seed (the net's ``random_state``), so a refit holds out the same rows.
    stratify : array, optional
        Classes to keep in proportion (labels, or the event indicator); ignored when a class
        has fewer than 2 rows.
    """
    from sklearn.model_selection import train_test_split

    if not 0.0 < float(fraction) < 1.0:
        raise ArgumentError(f"validation_fraction must lie in (0, 1); got {fraction!r}.")
    n = len(y)
    if stratify is not None:
        _, counts = np.unique(np.asarray(stratify), return_counts=True)
        if counts.min() < 2:
            stratify = None
    fit, val = train_test_split(np.arange(n), test_size=fraction, random_state=seed,
                                stratify=stratify)
    fit, val = np.sort(fit), np.sort(val)
    y = np.asarray(y)
    return (_rows(X, fit), y[fit]), (_rows(X, val), y[val])


def check_scaling(X: Any, name: str) -> None:
    """Warn once when the non-binary feature columns' scales differ by > :data:`SCALE_RATIO`.

    Parameters
    ----------
    X : array or dict of arrays
        Model input; the static features (``X`` itself, or ``X["static"]``) are checked.
    name : str
        The estimator's name, for the message.
    """
    table = X.get("static") if isinstance(X, Mapping) else X
    if table is None:
        return
    values = np.asarray(table, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] < 2:
        return
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column
        std = np.nanstd(values, axis=0)
    binary = np.array([np.isin(col[~np.isnan(col)], (0.0, 1.0)).all() for col in values.T])
    usable = np.isfinite(std) & (std > 0) & ~binary
    if usable.sum() < 2:
        return
    spread = std[usable]
    ratio = float(spread.max() / spread.min())
    if ratio > SCALE_RATIO:
        columns = np.flatnonzero(usable)
        widest, narrowest = columns[np.argmax(spread)], columns[np.argmin(spread)]
        warnings.warn(
            f"{name}: the input features' scales differ by {ratio:.0f}x (standard deviation "
            f"of column {widest} vs column {narrowest}); networks train poorly on unscaled "
            "inputs. Standardise them first (sklearn.preprocessing.StandardScaler), or train "
            "through ls.fit, which preprocesses on the training split.",
            UnscaledInputWarning, stacklevel=4)
