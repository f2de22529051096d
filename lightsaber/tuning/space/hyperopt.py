"""The hyperopt adapter: a space as a hyperopt expression, hyperopt samples as flat ones.

hyperopt is imported only when :func:`to_hyperopt` runs. A choice samples its option *index*
(a conditional option becomes ``{"__option__": i, ...}``), so that a sample maps one-to-one to
the flat ``{label: number}`` of :mod:`lightsaber.tuning.space.samples`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from lightsaber.tuning.space import dimensions as dims
from lightsaber.tuning.space.samples import labels

__all__ = ["hyperopt_misc", "to_hyperopt", "vals_from_sample"]


def to_hyperopt(space: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The hyperopt expression sampling ``space`` (a choice samples its option index)."""
    from hyperopt import hp

    out: dict[str, Any] = {}
    for key, dim in space.items():
        label = f"{prefix}{key}"
        if isinstance(dim, dims.LogUniform):
            out[key] = hp.loguniform(label, math.log(dim.low), math.log(dim.high))
        elif isinstance(dim, dims.Uniform):
            out[key] = hp.uniform(label, dim.low, dim.high)
        elif isinstance(dim, dims.QUniform):
            out[key] = hp.quniform(label, dim.low, dim.high, dim.q)
        elif isinstance(dim, dims.IntUniform):
            out[key] = hp.quniform(label, dim.low - 0.4999, dim.high + 0.4999, 1)
        elif isinstance(dim, dims.Choice):
            out[key] = hp.choice(label, [
                {"__option__": i, **to_hyperopt(o, f"{label}.options[{i}].")}
                if dims.is_subspace(o) else i for i, o in enumerate(dim.options)])
    return out


def vals_from_sample(space: Mapping[str, Any], sample: Mapping[str, Any], prefix: str = ""
                     ) -> dict[str, float]:
    """Flat ``{label: number}`` from an evaluated :func:`to_hyperopt` sample (Ray's configs)."""
    vals: dict[str, float] = {}
    for key, label, dim in dims.labelled_dimensions(space, prefix):
        value = sample[key]
        if isinstance(dim, dims.Choice) and isinstance(value, Mapping):
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
