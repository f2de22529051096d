"""Typed search spaces: dimensions, YAML-style parsing, validation with parameter paths.

A search space is a mapping from an estimator parameter name (as for ``set_params``, e.g.
``"C"`` or ``"module__hidden"``) to a :class:`Dimension` or a fixed value. A :class:`Choice`
whose options are mappings (string keys) is a *conditional* space: the chosen mapping's entries
are set as parameters under their own names, and only its dimensions are sampled. Its own key
names the branch in the trials table: the chosen option's entry of the same name when it has
one, else the option's index.

Internally every trial is a flat dict ``{label: number}`` of the *active* dimensions (labels are
parameter paths such as ``optimizer.options[1].lr``; a choice stores its option index). That is
what hyperopt samples, what is stored in MLflow for resuming, and what duplicates are checked on.

Examples
--------
>>> space = space_from_dict({"C": {"loguniform": [1e-3, 10]},
...                          "penalty": {"choice": ["l2", None]}})
>>> space["C"]
LogUniform(low=0.001, high=10)
>>> decode(space, {"C": 0.5, "penalty": 1})
({'C': 0.5, 'penalty': None}, {'C': 0.5, 'penalty': None})
>>> space_from_dict({"C": {"loguniform": [0, 1]}})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
lightsaber.tuning.space.SearchSpaceError: space.C: loguniform needs 0 < low < high; ...
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lightsaber.exceptions import SearchSpaceError

__all__ = [
    "Choice",
    "Dimension",
    "IntUniform",
    "LogUniform",
    "QUniform",
    "SearchSpaceError",
    "Uniform",
    "check_space",
    "decode",
    "grid_levels",
    "space_from_dict",
]

#: Most levels an integer dimension may expand to in a grid or ablation design.
MAX_INT_LEVELS = 1000


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
            if _is_subspace(option):
                check_space(option, f"{path}.options[{i}]")
            elif isinstance(option, Dimension):
                raise SearchSpaceError(
                    f"{path}.options[{i}]: an option cannot itself be a {option.kind} "
                    "dimension; wrap it in a mapping, e.g. {'lr': LogUniform(...)}.")


def _is_subspace(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and all(isinstance(k, str) for k in value)


# ---------------------------------------------------------------------------------- parsing
_KINDS: dict[str, tuple[type[Dimension], int]] = {
    "uniform": (Uniform, 2), "loguniform": (LogUniform, 2), "quniform": (QUniform, 3),
    "intuniform": (IntUniform, 2), "choice": (Choice, 1),
}


def space_from_dict(mapping: Mapping[str, Any], path: str = "space") -> dict[str, Any]:
    """Parse a YAML-style search space into dimensions, validating it.

    Parameters
    ----------
    mapping : Mapping
        ``{param: spec}``. A spec is ``{"uniform": [low, high]}``, ``{"loguniform": [low,
        high]}``, ``{"quniform": [low, high, q]}``, ``{"intuniform": [low, high]}``,
        ``{"choice": [option, ...]}`` (a mapping option is parsed recursively: a conditional
        space), a :class:`Dimension`, or a fixed value (number, string, list, ``None``).
    path : str
        Prefix of the parameter paths in error messages.

    Returns
    -------
    dict of str to Dimension or value

    Raises
    ------
    SearchSpaceError
        Naming the parameter path, the value seen and what is allowed.

    Examples
    --------
    >>> space = space_from_dict({
    ...     "module__hidden": {"choice": [[32], [64, 64]]},
    ...     "optimizer": {"choice": [{"optimizer": "adam", "lr": {"loguniform": [1e-4, 1e-1]}},
    ...                              {"optimizer": "sgd", "momentum": {"uniform": [0, 0.9]}}]}})
    >>> space["optimizer"].options[1]["momentum"]
    Uniform(low=0, high=0.9)
    >>> try:
    ...     space_from_dict({"optimizer": {"choice": [{"lr": {"logunifrom": [1e-4, 1]}}]}})
    ... except SearchSpaceError as err:
    ...     for part in str(err).split("; "):
    ...         print(part)
    space.optimizer.options[0].lr: unknown distribution 'logunifrom'
    allowed: choice, intuniform, loguniform, quniform, uniform (did you mean 'loguniform'?).
    """
    if not isinstance(mapping, Mapping):
        raise SearchSpaceError(
            f"{path}: a search space must be a mapping of parameter names to specs; got "
            f"{type(mapping).__name__}.")
    if not mapping:
        raise SearchSpaceError(f"{path}: the search space is empty.")
    parsed = {}
    for key, spec in mapping.items():
        if not isinstance(key, str) or not key:
            raise SearchSpaceError(f"{path}: parameter names must be non-empty strings; "
                                   f"got {key!r}.")
        parsed[key] = _parse_spec(spec, f"{path}.{key}")
    check_space(parsed, path)
    return parsed


def _parse_spec(spec: Any, path: str) -> Any:
    if isinstance(spec, Dimension):
        return spec
    if not isinstance(spec, Mapping):
        return spec  # a fixed value
    if len(spec) != 1:
        raise SearchSpaceError(
            f"{path}: a distribution spec has exactly one key (one of {', '.join(sorted(_KINDS))})"
            f"; got keys {sorted(map(str, spec))}.")
    (kind, args), = spec.items()
    if kind not in _KINDS:
        close = difflib.get_close_matches(str(kind), _KINDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SearchSpaceError(f"{path}: unknown distribution {kind!r}; allowed: "
                               f"{', '.join(sorted(_KINDS))}{hint}.")
    cls, n_args = _KINDS[kind]
    if not isinstance(args, (list, tuple)):
        raise SearchSpaceError(f"{path}: {kind} takes a list; got {args!r}.")
    if kind == "choice":
        options = [space_from_dict(o, f"{path}.options[{i}]") if _is_subspace(o) else o
                   for i, o in enumerate(args)]
        return Choice(options)
    if len(args) != n_args:
        names = "[low, high, q]" if n_args == 3 else "[low, high]"
        raise SearchSpaceError(f"{path}: {kind} takes {names}; got {list(args)!r}.")
    return cls(*args)


def check_space(space: Mapping[str, Any], path: str = "space") -> None:
    """Validate a search space built in Python (as :func:`space_from_dict` does for YAML).

    Examples
    --------
    >>> check_space({"C": Uniform(1, 0)})
    Traceback (most recent call last):
    ...
    lightsaber.tuning.space.SearchSpaceError: space.C: uniform needs low < high; got low=1, high=0.
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


# ---------------------------------------------------------------------------------- decoding
def decode(space: Mapping[str, Any], vals: Mapping[str, float], prefix: str = ""
           ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Turn a flat sample ``{label: number}`` into ``(params, record)``.

    ``params`` go to ``set_params``; ``record`` is what the trials table shows (``params``
    plus the branch of each conditional choice).
    """
    params: dict[str, Any] = {}
    record: dict[str, Any] = {}
    for key, dim in space.items():
        label = f"{prefix}{key}"
        if not isinstance(dim, Dimension):
            params[key] = record[key] = dim
            continue
        value = vals[label]
        if isinstance(dim, Choice):
            index = int(value)
            option = dim.options[index]
            if _is_subspace(option):
                sub_params, sub_record = decode(option, vals, f"{label}.options[{index}].")
                params.update(sub_params)
                record[key] = index
                record.update(sub_record)
                continue
            params[key] = record[key] = option
        elif isinstance(dim, IntUniform):
            params[key] = record[key] = int(min(max(round(float(value)), dim.low), dim.high))
        elif isinstance(dim, QUniform):
            params[key] = record[key] = float(min(max(float(value), dim.low), dim.high))
        else:
            params[key] = record[key] = float(value)
    return params, record


def labels(space: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Every dimension's label, active or not."""
    out = []
    for key, dim in space.items():
        if isinstance(dim, Dimension):
            out.append(f"{prefix}{key}")
        if isinstance(dim, Choice):
            for i, option in enumerate(dim.options):
                if _is_subspace(option):
                    out.extend(labels(option, f"{prefix}{key}.options[{i}]."))
    return out


def sample_key(vals: Mapping[str, float]) -> str:
    """Canonical JSON of a sample (for duplicate detection and storage)."""
    return json.dumps({k: float(v) for k, v in sorted(vals.items())}, sort_keys=True)


# ---------------------------------------------------------------------------------- hyperopt
def to_hyperopt(space: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The hyperopt expression sampling ``space`` (a choice samples its option index)."""
    from hyperopt import hp

    out: dict[str, Any] = {}
    for key, dim in space.items():
        label = f"{prefix}{key}"
        if isinstance(dim, LogUniform):
            out[key] = hp.loguniform(label, math.log(dim.low), math.log(dim.high))
        elif isinstance(dim, Uniform):
            out[key] = hp.uniform(label, dim.low, dim.high)
        elif isinstance(dim, QUniform):
            out[key] = hp.quniform(label, dim.low, dim.high, dim.q)
        elif isinstance(dim, IntUniform):
            out[key] = hp.quniform(label, dim.low - 0.4999, dim.high + 0.4999, 1)
        elif isinstance(dim, Choice):
            out[key] = hp.choice(label, [
                {"__option__": i, **to_hyperopt(o, f"{label}.options[{i}].")}
                if _is_subspace(o) else i for i, o in enumerate(dim.options)])
    return out


def vals_from_sample(space: Mapping[str, Any], sample: Mapping[str, Any], prefix: str = ""
                     ) -> dict[str, float]:
    """Flat ``{label: number}`` from an evaluated :func:`to_hyperopt` sample (Ray's configs)."""
    vals: dict[str, float] = {}
    for key, dim in space.items():
        if not isinstance(dim, Dimension):
            continue
        label = f"{prefix}{key}"
        value = sample[key]
        if isinstance(dim, Choice) and isinstance(value, Mapping):
            index = int(value["__option__"])
            vals[label] = index
            vals.update(vals_from_sample(dim.options[index], value,
                                         f"{label}.options[{index}]."))
        else:
            vals[label] = float(value)
    return vals


def hyperopt_misc(space: Mapping[str, Any], vals: Mapping[str, float], tid: int
                  ) -> dict[str, Any]:
    """Hyperopt's ``misc`` document for a finished sample (to rebuild TPE's history)."""
    every = labels(space)
    return {"tid": tid, "cmd": ("domain_attachment", "FMinIter_Domain"), "workdir": None,
            "idxs": {k: [tid] if k in vals else [] for k in every},
            "vals": {k: [vals[k]] if k in vals else [] for k in every}}


# ---------------------------------------------------------------------------------- designs
def grid_levels(dim: Any, path: str) -> list[Any]:
    """The levels of a dimension in a grid / ablation design (raw sample values)."""
    if not isinstance(dim, Dimension):
        return [None]
    if isinstance(dim, Choice):
        return list(range(len(dim.options)))
    if isinstance(dim, QUniform):
        return dim.levels()
    if isinstance(dim, IntUniform):
        if dim.high - dim.low + 1 > MAX_INT_LEVELS:
            raise SearchSpaceError(
                f"{path}: intuniform [{dim.low}, {dim.high}] has more than {MAX_INT_LEVELS} "
                "levels for a grid; use a choice of the values to try.")
        return list(range(dim.low, dim.high + 1))
    raise SearchSpaceError(
        f"{path}: a {dim.kind} dimension has no finite levels, which grid, ofat and factorial "
        "designs need; use choice, intuniform or quniform for it.")


def iter_grid(space: Mapping[str, Any], prefix: str = "", path: str = "space"
              ) -> Iterator[dict[str, float]]:
    """Every combination of levels (conditional branches expanded), in a stable order."""
    per_key: list[list[dict[str, float]]] = []
    for key, dim in space.items():
        if not isinstance(dim, Dimension):
            continue
        label = f"{prefix}{key}"
        options: list[dict[str, float]] = []
        for level in grid_levels(dim, f"{path}.{key}"):
            if isinstance(dim, Choice) and _is_subspace(dim.options[level]):
                sub = dim.options[level]
                for inner in iter_grid(sub, f"{label}.options[{level}].",
                                       f"{path}.{key}.options[{level}]"):
                    options.append({label: level, **inner})
            else:
                options.append({label: level})
        per_key.append(options)
    for combo in itertools.product(*per_key):
        merged: dict[str, float] = {}
        for part in combo:
            merged.update(part)
        yield merged


@dataclass(frozen=True)
class Factor:
    """One top-level factor of an ablation: its key and its alternative samples."""

    key: str
    levels: tuple[dict[str, float], ...]


def factors(space: Mapping[str, Any]) -> list[Factor]:
    """Each top-level dimension with the partial samples of its levels."""
    out = []
    for key, dim in space.items():
        if isinstance(dim, Dimension):
            levels = tuple(iter_grid({key: dim}))
            out.append(Factor(key, levels))
    return out


def baseline_sample(space: Mapping[str, Any], baseline: Mapping[str, Any] | None,
                    path: str = "baseline") -> dict[str, float]:
    """The sample matching ``baseline`` (values as in the trials table); first levels if absent.

    A choice is matched by its value (or, for a conditional choice, by the branch index or its
    own-named entry); numbers must be levels of their dimension.
    """
    baseline = dict(baseline or {})
    known = set(_record_keys(space))
    unknown = sorted(set(baseline) - known)
    if unknown:
        raise SearchSpaceError(
            f"{path}: {unknown} are not parameters of the search space; it has "
            f"{sorted(known)}.")
    return _match(space, baseline, "", path)


def _record_keys(space: Mapping[str, Any]) -> Iterator[str]:
    for key, dim in space.items():
        yield key
        if isinstance(dim, Choice):
            for option in dim.options:
                if _is_subspace(option):
                    yield from _record_keys(option)


def _match(space: Mapping[str, Any], baseline: Mapping[str, Any], prefix: str, path: str
           ) -> dict[str, float]:
    vals: dict[str, float] = {}
    for key, dim in space.items():
        if not isinstance(dim, Dimension):
            continue
        label = f"{prefix}{key}"
        levels = grid_levels(dim, f"{path}.{key}")
        if key not in baseline:
            level = _branch_by_entries(dim, baseline) if isinstance(dim, Choice) else levels[0]
        elif isinstance(dim, Choice):
            level = _match_option(dim, baseline[key], f"{path}.{key}")
        else:
            wanted = baseline[key]
            found = [lv for lv in levels if _same(lv, wanted)]
            if not found:
                shown = levels if len(levels) <= 10 else [*levels[:5], "...", *levels[-2:]]
                raise SearchSpaceError(
                    f"{path}.{key}: {wanted!r} is not a level of {dim!r}; allowed: {shown}.")
            level = found[0]
        vals[label] = level
        if isinstance(dim, Choice) and _is_subspace(dim.options[level]):
            vals.update(_match(dim.options[level], baseline, f"{label}.options[{level}].",
                               path))
    return vals


def _branch_by_entries(dim: Choice, baseline: Mapping[str, Any]) -> int:
    """The first conditional option whose fixed entries agree with the baseline (else 0)."""
    for i, option in enumerate(dim.options):
        if not _is_subspace(option):
            continue
        fixed = {k: v for k, v in option.items() if not isinstance(v, Dimension)}
        shared = [k for k in fixed if k in baseline]
        if shared and all(_same(fixed[k], baseline[k]) for k in shared):
            return i
    return 0


def _match_option(dim: Choice, wanted: Any, path: str) -> int:
    for i, option in enumerate(dim.options):
        if _is_subspace(option):
            own = option.get(path.rsplit(".", 1)[-1])
            if (isinstance(wanted, int) and not isinstance(wanted, bool) and wanted == i) or (
                    own is not None and not isinstance(own, Dimension) and own == wanted):
                return i
        elif _same(option, wanted):
            return i
    raise SearchSpaceError(f"{path}: {wanted!r} is not one of the options {dim.options!r}.")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(
            a, bool) and not isinstance(b, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def describe(space: Mapping[str, Any]) -> Any:
    """A JSON-able description of ``space`` (logged with the study)."""
    def one(value: Any) -> Any:
        if isinstance(value, Choice):
            return {"choice": [describe(o) if _is_subspace(o) else one(o)
                               for o in value.options]}
        if isinstance(value, Dimension):
            return {value.kind: [getattr(value, f) for f in value._fields]}
        if isinstance(value, (str, int, float, bool)) or value is None:
            return value
        if isinstance(value, (list, tuple)):
            return [one(v) for v in value]
        return repr(value)
    return {key: one(value) for key, value in space.items()}
