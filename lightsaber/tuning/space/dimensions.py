"""The search-space dimensions and the validation of a space built from them.

A search space is a mapping from an estimator parameter name to a :class:`Dimension` or a fixed
value; a :class:`Choice` whose options are mappings (:func:`is_subspace`) is a conditional
sub-space. :func:`check_space` validates such a mapping, naming the parameter path of whatever
is wrong; each dimension checks its own settings (:meth:`Dimension.check`).

Examples
--------
>>> check_space({"C": LogUniform(1e-3, 10), "penalty": Choice(["l2", None])})
>>> has_dimensions({"C": 1.0})
False
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from lightsaber.exceptions import SearchSpaceError

__all__ = [
    "Choice",
    "Dimension",
    "IntUniform",
    "LogUniform",
    "QUniform",
    "Uniform",
    "check_space",
    "has_dimensions",
    "is_subspace",
    "labelled_dimensions",
]


class Dimension:
    """Base class of the search-space dimensions."""

    kind = ""

    def check(self, path: str) -> None:  # pragma: no cover - overridden
        """Raise :class:`SearchSpaceError` naming ``path`` if the settings are unusable."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._fields)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and all(
            getattr(self, k) == getattr(other, k) for k in self._fields)

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self)))

    _fields: tuple[str, ...] = ()


def _number(path: str, kind: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SearchSpaceError(
            f"{path}: {kind} {name} must be a number; got {value!r} ({type(value).__name__}).")
    if not math.isfinite(float(value)):
        raise SearchSpaceError(f"{path}: {kind} {name} must be finite; got {value!r}.")
    return float(value)


class Uniform(Dimension):
    """A float drawn uniformly from ``[low, high]``.

    Examples
    --------
    >>> Uniform(0.0, 0.5)
    Uniform(low=0.0, high=0.5)
    """

    kind = "uniform"
    _fields = ("low", "high")

    def __init__(self, low: float, high: float) -> None:
        self.low = low
        self.high = high

    def check(self, path: str) -> None:
        """Require finite numbers with ``low < high``."""
        low = _number(path, self.kind, "low", self.low)
        high = _number(path, self.kind, "high", self.high)
        if not low < high:
            raise SearchSpaceError(
                f"{path}: {self.kind} needs low < high; got low={self.low!r}, high={self.high!r}.")


class LogUniform(Uniform):
    """A float whose logarithm is uniform on ``[log(low), log(high)]`` (``0 < low < high``).

    Examples
    --------
    >>> LogUniform(1e-4, 1e-1)
    LogUniform(low=0.0001, high=0.1)
    """

    kind = "loguniform"

    def check(self, path: str) -> None:
        """Require ``0 < low < high``."""
        low = _number(path, self.kind, "low", self.low)
        high = _number(path, self.kind, "high", self.high)
        if not 0 < low < high:
            raise SearchSpaceError(
                f"{path}: {self.kind} needs 0 < low < high; got low={self.low!r}, "
                f"high={self.high!r}.")


class QUniform(Dimension):
    """A float uniform on ``[low, high]`` rounded to a multiple of ``q`` (hyperopt's quniform).

    Examples
    --------
    >>> QUniform(0.0, 0.5, 0.1)
    QUniform(low=0.0, high=0.5, q=0.1)
    """

    kind = "quniform"
    _fields = ("low", "high", "q")

    def __init__(self, low: float, high: float, q: float) -> None:
        self.low = low
        self.high = high
        self.q = q

    def check(self, path: str) -> None:
        """Require ``low < high`` and ``q > 0``."""
        Uniform.check(self, path)  # type: ignore[arg-type]
        if _number(path, self.kind, "q", self.q) <= 0:
            raise SearchSpaceError(f"{path}: {self.kind} needs q > 0; got q={self.q!r}.")

    def levels(self) -> list[float]:
        """The multiples of ``q`` inside ``[low, high]``."""
        first = math.ceil(self.low / self.q - 1e-9)
        last = math.floor(self.high / self.q + 1e-9)
        return [round(k * self.q, 12) for k in range(first, last + 1)]


class IntUniform(Dimension):
    """An integer drawn uniformly from ``low`` to ``high``, both included.

    Examples
    --------
    >>> IntUniform(1, 4)
    IntUniform(low=1, high=4)
    """

    kind = "intuniform"
    _fields = ("low", "high")

    def __init__(self, low: int, high: int) -> None:
        self.low = low
        self.high = high

    def check(self, path: str) -> None:
        """Require integers with ``low <= high``."""
        for name in ("low", "high"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise SearchSpaceError(
                    f"{path}: {self.kind} {name} must be an integer; got {value!r}.")
        if self.low > self.high:
            raise SearchSpaceError(
                f"{path}: {self.kind} needs low <= high; got low={self.low!r}, "
                f"high={self.high!r}.")


class Choice(Dimension):
    """One of ``options``; a mapping option is a conditional sub-space.

    Parameters
    ----------
    options : sequence
        Values (numbers, strings, ``None``, lists such as ``[64, 64]``), or mappings from
        parameter names to values or dimensions: when such an option is chosen, its entries
        are set as parameters and its dimensions are sampled.

    Examples
    --------
    >>> Choice([{"solver": "lbfgs"}, {"solver": "saga", "l1_ratio": Uniform(0, 1)}])
    Choice(options=[{'solver': 'lbfgs'}, {'solver': 'saga', 'l1_ratio': Uniform(low=0, high=1)}])
    """

    kind = "choice"
    _fields = ("options",)

    def __init__(self, options: Sequence[Any]) -> None:
        self.options = list(options) if isinstance(options, (list, tuple)) else options

    def check(self, path: str) -> None:
        """Require a non-empty list; check mapping options recursively."""
        if not isinstance(self.options, list) or not self.options:
            raise SearchSpaceError(
                f"{path}: choice needs a non-empty list of options; got {self.options!r}.")
        for i, option in enumerate(self.options):
            if is_subspace(option):
                check_space(option, f"{path}.options[{i}]")
            elif isinstance(option, Dimension):
                raise SearchSpaceError(
                    f"{path}.options[{i}]: an option cannot itself be a {option.kind} "
                    "dimension; wrap it in a mapping, e.g. {'lr': LogUniform(...)}.")


def is_subspace(value: Any) -> bool:
    """Whether ``value`` is a conditional sub-space: a non-empty mapping with string keys.

    Examples
    --------
    >>> is_subspace({"solver": "saga"}), is_subspace({}), is_subspace([1, 2])
    (True, False, False)
    """
    return isinstance(value, Mapping) and bool(value) and all(isinstance(k, str) for k in value)


def check_space(space: Mapping[str, Any], path: str = "space") -> None:
    """Validate a search space built in Python (as :func:`space_from_dict` does for YAML).

    Examples
    --------
    >>> check_space({"C": Uniform(1, 0)})
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.SearchSpaceError: space.C: uniform needs low < high; got low=1, high=0.
    """
    if not isinstance(space, Mapping) or not space:
        raise SearchSpaceError(f"{path}: a search space must be a non-empty mapping; got "
                               f"{space!r}.")
    for key, value in space.items():
        if isinstance(value, Dimension):
            value.check(f"{path}.{key}")
        elif isinstance(value, Mapping):
            raise SearchSpaceError(
                f"{path}.{key}: a mapping here must be a distribution spec such as "
                "{'uniform': [0, 1]}; wrap conditional parameters in a choice.")


def has_dimensions(space: Mapping[str, Any]) -> bool:
    """Whether anything in ``space`` is sampled."""
    return any(isinstance(v, Dimension) for v in space.values())


def labelled_dimensions(space: Mapping[str, Any], prefix: str = ""
                        ) -> Iterator[tuple[str, str, Dimension]]:
    """``(key, label, dimension)`` for each dimension of ``space`` (fixed values skipped).

    ``label`` is the flat name of the dimension in a sample: ``prefix`` + ``key``.

    Examples
    --------
    >>> [(k, label) for k, label, _ in labelled_dimensions({"lr": LogUniform(1e-4, 1e-1),
    ...                                                      "epochs": 10}, "net.")]
    [('lr', 'net.lr')]
    """
    for key, dim in space.items():
        if isinstance(dim, Dimension):
            yield key, f"{prefix}{key}", dim
