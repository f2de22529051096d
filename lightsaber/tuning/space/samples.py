"""The flat sample: one trial's draw as ``{label: number}``, and what it decodes to.

Every trial is stored, resumed and de-duplicated as a flat dict of its *active* dimensions.
A label is the dimension's parameter path (``optimizer.options[1].lr``); a choice stores its
option index. :func:`decode` turns such a sample into the parameters for ``set_params`` and the
row of the trials table.

Examples
--------
>>> from lightsaber.tuning.space.dimensions import Choice, LogUniform
>>> space = {"C": LogUniform(1e-3, 10), "penalty": Choice(["l2", None])}
>>> decode(space, {"C": 0.5, "penalty": 1})
({'C': 0.5, 'penalty': None}, {'C': 0.5, 'penalty': None})
>>> sample_key({"penalty": 1, "C": 0.5})
'{"C": 0.5, "penalty": 1.0}'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lightsaber.tuning.space.dimensions import (
    Choice,
    Dimension,
    IntUniform,
    QUniform,
    is_subspace,
)

__all__ = ["decode", "labels", "sample_key"]


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
            if is_subspace(option):
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
                if is_subspace(option):
                    out.extend(labels(option, f"{prefix}{key}.options[{i}]."))
    return out


def sample_key(vals: Mapping[str, float]) -> str:
    """Canonical JSON of a sample (for duplicate detection and storage)."""
    return json.dumps({k: float(v) for k, v in sorted(vals.items())}, sort_keys=True)
