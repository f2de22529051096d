"""The prediction containers passed to :func:`lightsaber.metrics.evaluate`.

A survival model can predict several things; each metric reads the one it needs (see
:class:`lightsaber.metrics.Metric` ``inputs``):

* ``risk`` — one score per patient, **higher = earlier event** (``predict(X)``);
* ``survival`` + ``times`` — survival curves, one row per patient, one column per time of
  the grid (``predict_survival_function(X)`` evaluated on a grid; pycox's matrices are transposed);
* ``predicted_time`` — a predicted event time per patient (e.g. an AFT model's median).

A competing-risks model predicts a :class:`CompetingPrediction`: the cumulative incidence of
each cause on the evaluation times, and a risk per cause.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from lightsaber._moved import renamed
from lightsaber.exceptions import MetricError
from lightsaber.metrics.survival import survival_at_times
from lightsaber.metrics.validation import check_time_grid

__all__ = ["CompetingPrediction", "SurvivalPrediction"]

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


@dataclass(frozen=True, init=False)
class CompetingPrediction:
    """What a competing-risks model predicted for each patient: a CIF per cause.

    Parameters
    ----------
    cif : mapping of int to array-like of shape (n_samples, n_times)
        ``{cause code: P(T <= t, cause | x)}`` on ``times``, for each cause the model
        predicts (a :class:`~lightsaber.models.FineGray` predicts its own cause only).
    times : array-like of shape (n_times,)
        Strictly increasing times of the ``cif`` columns.
    risk : mapping of int to array-like of shape (n_samples,), optional
        ``{cause code: risk}``, higher = earlier event of that cause. Default: the CIF at the
        last of ``times``.
    causes : mapping of int to str, optional
        ``{code: name}`` of the cohort's causes (names appear in metric names); it must name
        every code of ``cif``. Default: ``{k: "cause<k>"}`` for the codes of ``cif``.

    Examples
    --------
    >>> p = CompetingPrediction(cif={1: [[0.1, 0.3], [0.2, 0.6]], 2: [[0.0, 0.1], [0.1, 0.2]]},
    ...                         times=[1.0, 2.0], causes={1: "death", 2: "discharge"})
    >>> p.n_samples, p.risk[1].tolist(), p.take([1]).cif[2].tolist()
    (2, [0.3, 0.6], [[0.1, 0.2]])
    >>> p.cif_at(1, [0.5, 1.5]).tolist()
    [[0.0, 0.1], [0.0, 0.2]]
    """

    cif: dict[int, np.ndarray]
    times: np.ndarray
    risk: dict[int, np.ndarray]
    causes: dict[int, str]

    def __init__(self, cif: Mapping[int, Any], times: Any, risk: Mapping[int, Any] | None = None,
                 causes: Mapping[int, str] | None = None) -> None:
        if not isinstance(cif, Mapping) or not cif:
            raise MetricError(
                "cif must map each predicted cause code to its (n_samples, n_times) cumulative "
                f"incidences, e.g. {{1: cif_death}}; got {type(cif).__name__}.")
        grid = check_time_grid(times)
        curves = {int(k): np.asarray(v, dtype=float) for k, v in sorted(cif.items())}
        names = ({int(k): str(v) for k, v in causes.items()} if causes is not None
                 else {k: f"cause{k}" for k in curves})
        unnamed = sorted(set(curves) - set(names))
        if unnamed:
            raise MetricError(f"cif has cause code(s) {unnamed} that causes={names} does not "
                              "name; add them to causes.")
        shapes = {k: v.shape for k, v in curves.items()}
        if any(len(s) != 2 or s[1] != grid.size for s in shapes.values()) or \
                len({s[0] for s in shapes.values()}) != 1:
            raise MetricError(
                f"every cif must have shape (n_samples, {grid.size}) (one column per time, the "
                f"same patients for every cause); got shapes {shapes}.")
        scores = ({int(k): np.asarray(v, dtype=float) for k, v in sorted(risk.items())}
                  if risk is not None else {k: v[:, -1] for k, v in curves.items()})
        n = next(iter(shapes.values()))[0]
        if set(scores) != set(curves) or any(v.shape != (n,) for v in scores.values()):
            got = {k: v.shape for k, v in scores.items()}
            raise MetricError(
                f"risk must give one score per patient ({n}) for each cause of cif "
                f"{sorted(curves)}; got shapes {got}.")
        for name, value in (("cif", curves), ("times", grid), ("risk", scores),
                            ("causes", dict(sorted(names.items())))):
            object.__setattr__(self, name, value)

    @property
    def n_samples(self) -> int:
        """Number of patients."""
        return int(next(iter(self.cif.values())).shape[0])

    @property
    def available(self) -> frozenset[str]:
        """Names of the fields (all are always present)."""
        return frozenset(("cif", "times", "risk"))

    def take(self, rows: Any) -> CompetingPrediction:
        """The prediction for a subset (or resample) of the patients, in the order of ``rows``."""
        rows = np.asarray(rows)
        return CompetingPrediction(cif={k: v[rows] for k, v in self.cif.items()}, times=self.times,
                                   risk={k: v[rows] for k, v in self.risk.items()},
                                   causes=self.causes)

    def cif_at(self, cause: int, times: Any) -> np.ndarray:
        """The cause's CIFs read at ``times`` (right-continuous steps, 0 before the grid)."""
        if cause not in self.cif:
            raise MetricError(
                f"this prediction has no cumulative incidence of cause {cause!r}; it predicts "
                f"causes {sorted(self.cif)}.")
        at = check_time_grid(times)
        index = np.searchsorted(self.times, at, side="right") - 1
        values = self.cif[cause][:, np.maximum(index, 0)]
        return np.where(index[None, :] >= 0, values, 0.0)

    @classmethod
    def coerce(cls, prediction: Any) -> CompetingPrediction:
        """Accept a :class:`CompetingPrediction` or a mapping of its fields.

        Examples
        --------
        >>> CompetingPrediction.coerce({"cif": {1: [[0.2]]}, "times": [3.0]}).causes
        {1: 'cause1'}
        """
        if isinstance(prediction, cls):
            return prediction
        if isinstance(prediction, Mapping):
            unknown = set(prediction) - {"cif", "times", "risk", "causes"}
            if unknown:
                raise MetricError(
                    f"unknown competing prediction field(s) {sorted(unknown)}; expected some of "
                    "['cif', 'times', 'risk', 'causes'].")
            return cls(**prediction)
        raise MetricError(
            "a competing-risks prediction must be a CompetingPrediction(cif={cause: (n, n_times) "
            f"array}}, times=...) or a mapping of its fields; got {type(prediction).__name__}.")
