"""Canonical JSON for artifacts: sorted keys, plain numbers, and no arrays of rows."""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Any

from lightsaber.exceptions import TrackingError
from lightsaber.tracking.params import is_array_like, plain

__all__ = ["dumps"]


def dumps(obj: Any, what: str) -> str:
    """``obj`` as indented JSON with sorted keys and a trailing newline.

    NumPy scalars become numbers, paths strings, sets sorted lists, other objects their
    ``repr``. Arrays, tensors and tables are refused (they can hold row-level data): convert an
    aggregate to a list explicitly if it really belongs in the artifact.
    """
    try:
        return json.dumps(obj, sort_keys=True, indent=2, default=_default) + "\n"
    except TrackingError:
        raise
    except (TypeError, ValueError) as err:
        raise TrackingError(f"{what} cannot be written as JSON: {err}") from err


def _default(value: Any) -> Any:
    if is_array_like(value):
        raise TrackingError(
            f"A {type(value).__name__} of shape {tuple(value.shape)} is in the object to log. "
            "Arrays, tensors and tables can hold row-level patient data and are not written "
            "to tracking; convert an aggregate to a list with .tolist() if it belongs there."
        )
    converted = plain(value)
    if converted is not value:
        return converted
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return repr(value)
