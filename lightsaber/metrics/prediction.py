"""The survival prediction container passed to :func:`lightsaber.metrics.evaluate`.

A survival model can predict several things; each metric reads the one it needs (see
:class:`lightsaber.metrics.Metric` ``inputs``):

* ``risk`` — one score per patient, **higher = earlier event** (``predict(X)``);
* ``survival`` + ``times`` — survival curves, one row per patient, one column per time of
  the grid (``predict_survival_function(X)`` evaluated on a grid; pycox's matrices are transposed);
* ``predicted_time`` — a predicted event time per patient (e.g. an AFT model's median).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from lightsaber._moved import renamed
from lightsaber.exceptions import MetricError
from lightsaber.metrics.survival import survival_at_times

__all__ = ["SurvivalPrediction"]

_FIELDS = ("risk", "survival", "times", "predicted_time")


@dataclass(frozen=True, init=False)
class SurvivalPrediction:
    """What a survival model predicted for each patient (any subset of the fields).

    Parameters
    ----------
    risk : array-like of shape (n_samples,), optional
        Risk scores, higher = earlier event.
    survival : array-like of shape (n_samples, n_times), optional
        Survival probabilities on ``times``.
    times : array-like of shape (n_times,), optional
        Strictly increasing times of the ``survival`` columns (required with ``survival``).
    predicted_time : array-like of shape (n_samples,), optional
        Predicted event times.
    time_grid : array-like, optional
        Deprecated name of ``times``.

    Examples
    --------
    >>> p = SurvivalPrediction(risk=[0.3, 1.2], survival=[[0.9, 0.7], [0.6, 0.2]],
    ...                        times=[1.0, 2.0])
    >>> p.n_samples, p.take([1]).risk.tolist()
    (2, [1.2])
    >>> p.survival_at([1.5]).tolist()
    [[0.9], [0.6]]
    """

    risk: Any = None
    survival: Any = None
    times: Any = None
    predicted_time: Any = None

    def __init__(self, risk: Any = None, survival: Any = None, times: Any = None,
                 predicted_time: Any = None, *, time_grid: Any = None) -> None:
        if time_grid is not None:
            renamed("time_grid", "times", "SurvivalPrediction")
            if times is not None:
                raise MetricError("pass times, not both times and its old name time_grid.")
            times = time_grid
        for name, value in (("risk", risk), ("survival", survival), ("times", times),
                            ("predicted_time", predicted_time)):
            object.__setattr__(self, name, value)
        self.__post_init__()

    def __post_init__(self) -> None:
        for name in _FIELDS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, np.asarray(value))
        if (self.survival is None) != (self.times is None):
            raise MetricError(
                "survival and times go together: survival curves need the times of their "
                "columns (and times need curves)."
            )
        sizes = {
            name: getattr(self, name).shape[0]
            for name in ("risk", "survival", "predicted_time")
            if getattr(self, name) is not None and getattr(self, name).ndim > 0
        }
        if len(set(sizes.values())) > 1:
            raise MetricError(
                f"prediction fields disagree on the number of patients: {sizes}; every field "
                "needs one row per patient."
            )

    @property
    def n_samples(self) -> int | None:
        """Number of patients (None for an empty prediction)."""
        for name in ("risk", "survival", "predicted_time"):
            value = getattr(self, name)
            if value is not None and value.ndim > 0:
                return int(value.shape[0])
        return None

    @property
    def available(self) -> frozenset[str]:
        """Names of the fields that were given."""
        return frozenset(f.name for f in fields(self) if getattr(self, f.name) is not None)

    def take(self, rows: Any) -> SurvivalPrediction:
        """The prediction for a subset (or resample) of the patients, in the order of ``rows``."""
        rows = np.asarray(rows)
        values = {name: getattr(self, name) for name in _FIELDS}
        for name in ("risk", "survival", "predicted_time"):
            if values[name] is not None:
                values[name] = values[name][rows]
        return SurvivalPrediction(**values)

    def survival_at(self, times: Any) -> np.ndarray:
        """Survival curves read at ``times`` (right-continuous steps, 1 before the grid)."""
        if self.survival is None:
            raise MetricError("this prediction has no survival curves (survival + times).")
        return survival_at_times(self.survival, self.times, times)

    @classmethod
    def coerce(cls, prediction: Any) -> SurvivalPrediction:
        """Accept a :class:`SurvivalPrediction`, a mapping of its fields, or a risk vector.

        Examples
        --------
        >>> SurvivalPrediction.coerce([0.1, 0.5]).risk.tolist()
        [0.1, 0.5]
        >>> sorted(SurvivalPrediction.coerce({"predicted_time": [3.0]}).available)
        ['predicted_time']
        """
        if isinstance(prediction, cls):
            return prediction
        if isinstance(prediction, Mapping):
            unknown = set(prediction) - set(_FIELDS) - {"time_grid"}
            if unknown:
                raise MetricError(
                    f"unknown survival prediction field(s) {sorted(unknown)}; expected some of "
                    f"{list(_FIELDS)}."
                )
            return cls(**prediction)
        arr = np.asarray(prediction)
        if arr.ndim != 1:
            raise MetricError(
                f"a survival prediction given as an array must be a risk vector (n_samples,); "
                f"got shape {arr.shape}. Pass SurvivalPrediction(survival=..., times=...) "
                "for survival curves."
            )
        return cls(risk=arr)


def _time_grid(self: SurvivalPrediction) -> Any:
    renamed("time_grid", "times", "SurvivalPrediction")
    return self.times


SurvivalPrediction.time_grid = property(_time_grid, doc="Deprecated name of ``times``.")
