"""Flattening nested hyperparameters into MLflow's flat ``key -> string`` parameters."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any

from lightsaber.exceptions import TrackingError

__all__ = ["flatten_params"]

#: MLflow's limit on a parameter value (``mlflow.utils.validation.MAX_PARAM_VAL_LENGTH``).
MAX_PARAM_VALUE_LENGTH = 6000
#: MLflow's limit on a parameter, metric or tag key.
MAX_KEY_LENGTH = 250
#: Appended to a value cut to :data:`MAX_PARAM_VALUE_LENGTH`.
TRUNCATION_MARK = "..."

# MLflow's naming rule for params and metrics (POSIX): slashes, alphanumerics, underscores,
# periods, dashes, colons and spaces; no "..", leading "/" or other non-normalised paths.
_KEY = re.compile(r"^[/\w.\- :]+$")


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten nested mappings into ``"outer.inner"`` keys with string values.

    Parameters
    ----------
    params : Mapping
        Hyperparameters; values may be nested mappings. ``None`` values (and empty nested
        mappings) are skipped. NumPy scalars become plain Python numbers first, so
        ``np.float64(0.1)`` is ``"0.1"``; lists and tuples are written as Python writes them,
        ``(64, 64)``; any other object as ``str(value)``.
    prefix : str, default ""
        Prepended to every key, joined with ``"."``.

    Returns
    -------
    dict of str to str
        Sorted by key (stable across runs and Python versions). Values are not truncated here;
        :meth:`TrackedRun.log_params` cuts them to MLflow's limit.

    Raises
    ------
    TrackingError
        If a value is an array, tensor or table (``.shape`` with at least one dimension): those
        can hold row-level patient data and are never logged as parameters; or if two keys
        flatten to the same name (``{"a.b": 1, "a": {"b": 2}}``).

    Examples
    --------
    >>> flatten_params({"model": {"hidden": (64, 64), "dropout": 0.2, "act": None}, "lr": 1e-3})
    {'lr': '0.001', 'model.dropout': '0.2', 'model.hidden': '(64, 64)'}
    >>> flatten_params({"best": {"C": 1.0}}, prefix="search")
    {'search.best.C': '1.0'}
    """
    flat: dict[str, str] = {}
    _flatten(params, prefix, flat)
    return dict(sorted(flat.items()))


def _flatten(params: Mapping[str, Any], prefix: str, out: dict[str, str]) -> None:
    for key, value in params.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if value is None:
            continue
        if isinstance(value, Mapping):
            _flatten(value, name, out)
            continue
        if name in out:
            raise TrackingError(
                f"Parameter {name!r} occurs twice after flattening nested keys with '.'; "
                "rename one of them."
            )
        out[name] = _to_text(value, name)


def _to_text(value: Any, name: str) -> str:
    if isinstance(value, str):
        return value
    if is_array_like(value):
        raise TrackingError(
            f"Parameter {name!r} is a {type(value).__name__} of shape {tuple(value.shape)}. "
            "Arrays, tensors and tables can hold row-level patient data and are not logged as "
            "parameters; log a summary (a count, a list of a few settings) instead."
        )
    return str(plain(value))


def is_array_like(value: Any) -> bool:
    """True for arrays, tensors, Series and DataFrames with at least one dimension."""
    if isinstance(value, type):
        return False
    try:
        return len(value.shape) > 0
    except (AttributeError, TypeError):
        return False


def plain(value: Any) -> Any:
    """NumPy / torch scalars to Python numbers, recursively inside lists and tuples."""
    if isinstance(value, (list, tuple)):
        items = [plain(v) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if getattr(value, "shape", None) == () and hasattr(value, "item"):
        return value.item()
    return value


def truncate(value: str, limit: int = MAX_PARAM_VALUE_LENGTH) -> str:
    """``value`` cut to ``limit`` characters, ending in ``...`` when it was cut."""
    if len(value) <= limit:
        return value
    return value[: limit - len(TRUNCATION_MARK)] + TRUNCATION_MARK


def check_key(key: Any, what: str) -> str:
    """Validate a param/metric/tag key against MLflow's rule, with an actionable message."""
    if not isinstance(key, str) or not key:
        raise TrackingError(f"{what} names must be non-empty strings; got {key!r}.")
    if len(key) > MAX_KEY_LENGTH:
        raise TrackingError(
            f"{what} name {key[:60]!r}... has {len(key)} characters; MLflow allows "
            f"{MAX_KEY_LENGTH}. Use a shorter name or a shallower nesting."
        )
    if not _KEY.match(key):
        raise TrackingError(
            f"{what} name {key!r} is not allowed by MLflow: names may only contain "
            "letters, digits, underscores, dashes, periods, spaces, colons and slashes."
        )
    norm = posixpath.normpath(key)
    if norm != key or norm == "." or norm.startswith(("..", "/")):
        raise TrackingError(
            f"{what} name {key!r} is not a normalised path (no leading '/', '//', '.' or '..' "
            "segments); MLflow rejects it."
        )
    return key
