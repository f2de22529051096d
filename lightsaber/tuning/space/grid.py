"""Grid enumeration: the finite levels of a dimension, and every combination of them.

Grid, one-factor-at-a-time and factorial designs need finite levels: a :class:`Choice` (its
option indices), an :class:`IntUniform` (at most :data:`MAX_INT_LEVELS` values) or a
:class:`QUniform` (the multiples of ``q``). Levels are raw sample values, as in a flat sample.

Examples
--------
>>> from lightsaber.tuning.space.dimensions import Choice, IntUniform
>>> list(iter_grid({"n": IntUniform(1, 2), "penalty": Choice(["l2", None])}))
[{'n': 1, 'penalty': 0}, {'n': 1, 'penalty': 1}, {'n': 2, 'penalty': 0}, {'n': 2, 'penalty': 1}]
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from lightsaber.exceptions import SearchSpaceError
from lightsaber.tuning.space.dimensions import (
    Choice,
    Dimension,
    IntUniform,
    QUniform,
    is_subspace,
    labelled_dimensions,
)

__all__ = ["MAX_INT_LEVELS", "grid_levels", "iter_grid"]

#: Most levels an integer dimension may expand to in a grid or ablation design.
MAX_INT_LEVELS = 1000


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
    for key, label, dim in labelled_dimensions(space, prefix):
        options: list[dict[str, float]] = []
        for level in grid_levels(dim, f"{path}.{key}"):
            if isinstance(dim, Choice) and is_subspace(dim.options[level]):
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
