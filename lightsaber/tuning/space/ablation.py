"""Ablation designs: the factors of a space, and the sample of a baseline configuration.

An ablation (``ofat`` or ``factorial``) varies each top-level dimension, a :class:`Factor`,
over its grid levels; :func:`baseline_sample` finds the flat sample of the configuration the
other levels are compared against, given as in the trials table (values, not level indices).

Examples
--------
>>> from lightsaber.tuning.space.dimensions import Choice, labelled_dimensions
>>> space = {"C": Choice([1.0, 0.01]), "penalty": Choice(["l2", None])}
>>> [(f.key, f.levels) for f in factors(space)]
[('C', ({'C': 0}, {'C': 1})), ('penalty', ({'penalty': 0}, {'penalty': 1}))]
>>> baseline_sample(space, {"C": 0.01})
{'C': 1, 'penalty': 0}
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from lightsaber.exceptions import SearchSpaceError
from lightsaber.tuning.space.dimensions import Choice, Dimension, is_subspace, labelled_dimensions
from lightsaber.tuning.space.grid import grid_levels, iter_grid

__all__ = ["Factor", "baseline_sample", "factors"]


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
                if is_subspace(option):
                    yield from _record_keys(option)


def _match(space: Mapping[str, Any], baseline: Mapping[str, Any], prefix: str, path: str
           ) -> dict[str, float]:
    vals: dict[str, float] = {}
    for key, label, dim in labelled_dimensions(space, prefix):
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
        if isinstance(dim, Choice) and is_subspace(dim.options[level]):
            vals.update(_match(dim.options[level], baseline, f"{label}.options[{level}].",
                               path))
    return vals


def _branch_by_entries(dim: Choice, baseline: Mapping[str, Any]) -> int:
    """The first conditional option whose fixed entries agree with the baseline (else 0)."""
    for i, option in enumerate(dim.options):
        if not is_subspace(option):
            continue
        fixed = {k: v for k, v in option.items() if not isinstance(v, Dimension)}
        shared = [k for k in fixed if k in baseline]
        if shared and all(_same(fixed[k], baseline[k]) for k in shared):
            return i
    return 0


def _match_option(dim: Choice, wanted: Any, path: str) -> int:
    for i, option in enumerate(dim.options):
        if is_subspace(option):
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
