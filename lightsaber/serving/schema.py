"""Checking a new cohort against the schema a pipeline was trained on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lightsaber.exceptions import PredictionError, SchemaMismatchError

if TYPE_CHECKING:  # the pipeline calls these checks; it is not imported at run time
    from lightsaber.serving.pipeline import FittedPipeline

__all__ = ["PredictionError", "SchemaMismatchError", "check_finite", "check_schema",
           "required_columns"]

_TEXT = ("object", "category", "str", "string")


def required_columns(pipeline: FittedPipeline) -> list[str]:
    """Raw columns a pipeline needs in the one-frame input format (see ``predict_frame``).

    Static-only pipelines need their static feature columns; pipelines that read longitudinal
    data need the long format: ``id``, ``time``, the measurements and the static columns.
    """
    needed = list(pipeline.static_columns)
    if pipeline.longitudinal_columns:
        needed = [pipeline.id_column, pipeline.time_column, *pipeline.longitudinal_columns,
                  *needed]
    return list(dict.fromkeys(needed))


def _kind(dtype: str) -> str:
    """``"numeric"`` or ``"text"`` for a training dtype string."""
    if dtype in _TEXT or dtype.startswith(("string", "str")):
        return "text"
    return "numeric"


def _found_kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if series.isna().all():  # an all-missing column reads as object: imputation handles it
        return "any"
    return "text"


def check_schema(pipeline: FittedPipeline, frame: pd.DataFrame | Mapping[str, pd.Series]
                 ) -> None:
    """Raise :class:`SchemaMismatchError` unless ``frame`` has every column with its kind.

    Types are compared by kind: numeric (any int, float or bool dtype) against text
    (object, string, category). Extra columns are ignored.

    Parameters
    ----------
    pipeline : FittedPipeline
    frame : DataFrame or mapping of column name to Series
        The input in the one-frame format (a mapping lets columns of different tables be
        checked together).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> pipe = SimpleNamespace(static_columns=["age", "sex"], longitudinal_columns=[],
    ...                        id_column="pid", time_column=None,
    ...                        dtypes={"age": "float64", "sex": "object"})
    >>> check_schema(pipe, pd.DataFrame({"age": ["old"]}))
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.SchemaMismatchError: the data do not match the schema ...
      missing column(s) (1): 'sex'
      mistyped column(s) (1): 'age' (expected numeric (float64), found text (object))
    ...
    """
    needed = required_columns(pipeline)
    present = set(frame.columns if isinstance(frame, pd.DataFrame) else frame)
    missing = [c for c in needed if c not in present]
    mistyped: dict[str, tuple[str, str]] = {}
    for column in needed:
        if column in missing or column not in pipeline.dtypes:
            continue
        want, got = _kind(pipeline.dtypes[column]), _found_kind(frame[column])
        if got not in (want, "any"):
            mistyped[column] = (f"{want} ({pipeline.dtypes[column]})",
                                f"{got} ({frame[column].dtype})")
    if missing or mistyped:
        raise SchemaMismatchError(missing=missing, mistyped=mistyped)


def check_finite(pipeline: FittedPipeline, frame: pd.DataFrame) -> None:
    """Raise :class:`PredictionError` naming the first required column with infinite values.

    Parameters
    ----------
    pipeline : FittedPipeline
        The fitted pipeline whose input columns are checked.
    frame : pandas.DataFrame
        The prediction input (already checked by :func:`check_schema`).
    """
    for column in required_columns(pipeline):
        series = frame[column]
        if not pd.api.types.is_float_dtype(series.dtype):
            continue
        infinite = np.isinf(series.to_numpy(dtype=np.float64, na_value=np.nan))
        if infinite.any():
            raise PredictionError(
                f"column '{column}' of the prediction input has {int(infinite.sum())} infinite "
                f"value(s) (first at row {int(np.flatnonzero(infinite)[0])}); use NaN for a "
                "missing value (imputed as in training). No predictions were written.")
