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

One concept per module; everything is re-exported here:

* :mod:`~lightsaber.tuning.space.dimensions` — the :class:`Dimension` classes,
  :func:`check_space` (validation of a space built in Python);
* :mod:`~lightsaber.tuning.space.parse` — :func:`space_from_dict` (the YAML form) and
  :func:`describe` (back to it);
* :mod:`~lightsaber.tuning.space.samples` — the flat sample: :func:`decode`, :func:`labels`,
  :func:`sample_key`;
* :mod:`~lightsaber.tuning.space.hyperopt` — the hyperopt adapter: :func:`to_hyperopt`,
  :func:`vals_from_sample`, :func:`hyperopt_misc`;
* :mod:`~lightsaber.tuning.space.grid` — finite levels and grid enumeration;
* :mod:`~lightsaber.tuning.space.ablation` — ablation factors and the baseline sample.

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
lightsaber.exceptions.SearchSpaceError: space.C: loguniform needs 0 < low < high; ...
"""

from lightsaber.exceptions import SearchSpaceError
from lightsaber.tuning.space.ablation import Factor, baseline_sample, factors
from lightsaber.tuning.space.dimensions import (
    Choice,
    Dimension,
    IntUniform,
    LogUniform,
    QUniform,
    Uniform,
    check_space,
    has_dimensions,
    is_subspace,
)
from lightsaber.tuning.space.grid import MAX_INT_LEVELS, grid_levels, iter_grid
from lightsaber.tuning.space.hyperopt import hyperopt_misc, to_hyperopt, vals_from_sample
from lightsaber.tuning.space.parse import describe, space_from_dict
from lightsaber.tuning.space.samples import decode, labels, sample_key

__all__ = [
    "Choice",
    "Dimension",
    "Factor",
    "IntUniform",
    "LogUniform",
    "MAX_INT_LEVELS",
    "QUniform",
    "SearchSpaceError",
    "Uniform",
    "baseline_sample",
    "check_space",
    "decode",
    "describe",
    "factors",
    "grid_levels",
    "has_dimensions",
    "hyperopt_misc",
    "is_subspace",
    "iter_grid",
    "labels",
    "sample_key",
    "space_from_dict",
    "to_hyperopt",
    "vals_from_sample",
]
