"""The YAML form of a search space: parsing it into dimensions, and describing it back.

:func:`space_from_dict` turns ``{param: {"loguniform": [low, high]}, ...}`` (a config's
``tuning.space``) into :mod:`~lightsaber.tuning.space.dimensions` and validates it;
:func:`describe` is the inverse, the JSON-able form logged with a study.

Examples
--------
>>> space = space_from_dict({"C": {"loguniform": [1e-3, 10]}, "penalty": {"choice": ["l2", None]}})
>>> describe(space)
{'C': {'loguniform': [0.001, 10]}, 'penalty': {'choice': ['l2', None]}}
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from lightsaber.exceptions import SearchSpaceError
from lightsaber.tuning.space import dimensions as dims

__all__ = ["describe", "space_from_dict"]

_KINDS: dict[str, tuple[type[dims.Dimension], int]] = {
    "uniform": (dims.Uniform, 2), "loguniform": (dims.LogUniform, 2),
    "quniform": (dims.QUniform, 3), "intuniform": (dims.IntUniform, 2), "choice": (dims.Choice, 1),
}


def space_from_dict(mapping: Mapping[str, Any], path: str = "space") -> dict[str, Any]:
    """Parse a YAML-style search space into dimensions, validating it.

    Parameters
    ----------
    mapping : Mapping
        ``{param: spec}``. A spec is ``{"uniform": [low, high]}``, ``{"loguniform": [low,
        high]}``, ``{"quniform": [low, high, q]}``, ``{"intuniform": [low, high]}``,
        ``{"choice": [option, ...]}`` (a mapping option is parsed recursively: a conditional
        space), a :class:`~lightsaber.tuning.space.Dimension`, or a fixed value (number,
        string, list, ``None``).
    path : str
        Prefix of the parameter paths in error messages.

    Returns
    -------
    dict of str to dims.Dimension or value

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
    dims.check_space(parsed, path)
    return parsed


def _parse_spec(spec: Any, path: str) -> Any:
    if isinstance(spec, dims.Dimension):
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
        options = [space_from_dict(o, f"{path}.options[{i}]") if dims.is_subspace(o) else o
                   for i, o in enumerate(args)]
        return dims.Choice(options)
    if len(args) != n_args:
        names = "[low, high, q]" if n_args == 3 else "[low, high]"
        raise SearchSpaceError(f"{path}: {kind} takes {names}; got {list(args)!r}.")
    return cls(*args)


def describe(space: Mapping[str, Any]) -> Any:
    """A JSON-able description of ``space`` (logged with the study)."""
    def one(value: Any) -> Any:
        if isinstance(value, dims.Choice):
            return {"choice": [describe(o) if dims.is_subspace(o) else one(o)
                               for o in value.options]}
        if isinstance(value, dims.Dimension):
            return {value.kind: [getattr(value, f) for f in value._fields]}
        if isinstance(value, (str, int, float, bool)) or value is None:
            return value
        if isinstance(value, (list, tuple)):
            return [one(v) for v in value]
        return repr(value)
    return {key: one(value) for key, value in space.items()}
