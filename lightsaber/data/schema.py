"""Column-level checks shared by the cohort tables: presence, selection, uniqueness, dtypes."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from lightsaber.exceptions import (
    CohortError,
    DuplicateIdError,
    MissingColumnError,
    NonNumericColumnError,
)

__all__ = [
    "MAX_CATEGORIES",
    "require_columns",
    "require_unique_column_names",
    "require_unique_ids",
    "resolve_categorical",
    "select_features",
]


#: Most distinct values an *inferred* categorical column may have (a declared one may have more).
MAX_CATEGORIES = 1000
#: An inferred categorical column of at least this many rows whose values are nearly all
#: distinct (more than :data:`_DISTINCT_SHARE` of them) looks like an identifier or free text.
_MIN_ROWS_FOR_SHARE = 20
_DISTINCT_SHARE = 0.9
#: Python types a categorical cell may hold (besides missing values).
_CATEGORY_TYPES = (str, bool, int, float, np.bool_, np.integer, np.floating)


def _suggest(name: str, candidates: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1, cutoff=0.5)
    return f" Did you mean '{close[0]}'?" if close else ""


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, role: str) -> None:
    """Raise :class:`MissingColumnError` naming the first declared column not in ``frame``.

    Examples
    --------
    >>> require_columns(pd.DataFrame({"age": [1]}), ["agee"], role="static")
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.MissingColumnError: declared column 'agee' is not in the static table ...
    """
    for column in columns:
        if column not in frame.columns:
            shown = ", ".join(map(str, list(frame.columns)[:12]))
            more = ", ..." if frame.shape[1] > 12 else ""
            raise MissingColumnError(
                f"declared column '{column}' is not in the {role} table (columns: {shown}{more})."
                + _suggest(column, frame.columns)
            )


def select_features(
    frame: pd.DataFrame,
    features: Sequence[str] | str | None,
    *,
    reserved: Iterable[str],
    exclude: Iterable[str] = (),
    role: str,
) -> list[str]:
    """Resolve a feature selection to a list of column names.

    Parameters
    ----------
    frame : DataFrame
        Table to select from.
    features : list of str, str or None
        Explicit column names, a regular expression (matched with ``re.search``), or ``None`` for
        every column that is not reserved.
    reserved : iterable of str
        Columns never used as features (id, targets, time, meta).
    exclude : iterable of str
        Columns to drop from the selection (e.g. outcome leaks). Each must exist.
    role : str
        Table name for error messages.

    Examples
    --------
    >>> df = pd.DataFrame(columns=["id", "lab_a", "lab_b", "age"])
    >>> select_features(df, r"^lab_", reserved=["id"], role="static")
    ['lab_a', 'lab_b']
    """
    reserved = set(reserved)
    exclude = list(exclude)
    require_columns(frame, exclude, role=role)
    if features is None:
        chosen = [c for c in frame.columns if c not in reserved]
    elif isinstance(features, str):
        try:
            pattern = re.compile(features)
        except re.error as exc:
            raise CohortError(f"feature pattern '{features}' is not a valid regex: {exc}") from exc
        chosen = [c for c in frame.columns if c not in reserved and pattern.search(str(c))]
        if not chosen:
            raise MissingColumnError(
                f"feature pattern '{features}' matches no column of the {role} table."
            )
    else:
        chosen = list(features)
        require_columns(frame, chosen, role=role)
        clash = [c for c in chosen if c in reserved]
        if clash:
            raise MissingColumnError(
                f"column '{clash[0]}' of the {role} table is declared as a feature but is also "
                "the id, time, target or meta column; remove it from `features`."
            )
    dropped = set(exclude)
    return [c for c in chosen if c not in dropped]


def require_unique_column_names(frame: pd.DataFrame, *, role: str) -> None:
    """Raise :class:`CohortError` if two columns of ``frame`` share a name.

    ``frame[name]`` would then be a table, not a column, and every later check would misfire.

    Examples
    --------
    >>> require_unique_column_names(pd.DataFrame([[1, 2]], columns=["age", "age"]), role="static")
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.CohortError: the static table has 2 columns named 'age' ...
    """
    names = pd.Index(frame.columns)
    if names.is_unique:
        return
    repeated = names[names.duplicated()].unique()
    first = repeated[0]
    raise CohortError(
        f"the {role} table has {int((names == first).sum())} columns named '{first}' "
        f"({len(repeated)} repeated name(s) in all); rename or drop the copies "
        "(e.g. after a merge that produced overlapping columns)."
    )


def _check_finite(series: pd.Series, col: str, role: str) -> None:
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        rows = ", ".join(map(str, np.flatnonzero(infinite)[:5]))
        raise CohortError(
            f"column '{col}' of the {role} table has {int(infinite.sum())} infinite value(s) "
            f"(rows {rows}); features must be finite numbers or missing. Replace them, e.g. "
            f"df['{col}'].replace([np.inf, -np.inf], np.nan) to impute them."
        )


def _check_cells(series: pd.Series, col: str, role: str) -> None:
    """Reject columns no model can use: dates, complex numbers, lists and other objects."""
    dtype = series.dtype
    hint = ("convert it to numbers (e.g. days since admission or age in years) or exclude it")
    if ptypes.is_datetime64_any_dtype(dtype) or ptypes.is_timedelta64_dtype(dtype) \
            or isinstance(dtype, pd.PeriodDtype):
        raise NonNumericColumnError(
            f"column '{col}' of the {role} table holds dates or times (dtype {dtype}); {hint}.")
    if ptypes.is_complex_dtype(dtype):
        raise NonNumericColumnError(
            f"column '{col}' of the {role} table holds complex numbers (dtype {dtype}); "
            "features must be real numbers or categories.")
    if not ptypes.is_object_dtype(dtype):
        return
    kinds = series.dropna().map(type).unique()
    odd = [k for k in kinds if not issubclass(k, _CATEGORY_TYPES)]
    if odd:
        is_time = any(issubclass(k, (pd.Timestamp, np.datetime64, pd.Timedelta)) or
                      k.__module__ == "datetime" for k in odd)
        what = "dates or times" if is_time else f"{odd[0].__name__} objects"
        rows = ", ".join(map(str, np.flatnonzero(series.map(type).isin(odd).to_numpy())[:5]))
        raise NonNumericColumnError(
            f"column '{col}' of the {role} table holds {what} (rows {rows}); "
            + (hint if is_time else "features must be numbers or text categories") + ".")


def _check_cardinality(series: pd.Series, col: str, role: str) -> None:
    present = int(series.notna().sum())
    distinct = int(series.nunique(dropna=True))
    near_unique = present >= _MIN_ROWS_FOR_SHARE and distinct > _DISTINCT_SHARE * present
    if distinct > MAX_CATEGORIES or near_unique:
        raise NonNumericColumnError(
            f"column '{col}' of the {role} table would be one-hot encoded with {distinct} "
            f"distinct values over {present} rows: it looks like an identifier, a date or free "
            "text, and its values would be stored in the fitted model. Exclude it "
            f"(exclude=['{col}']), convert it to numbers, or declare it in `categorical=[...]` "
            f"to encode it anyway (inferred categorical columns may have at most "
            f"{MAX_CATEGORIES} values, and not nearly one per row)."
        )


def require_unique_ids(ids: pd.Series, *, column: str, role: str) -> None:
    """Raise :class:`DuplicateIdError` if ``ids`` has repeats or missing values.

    The message gives counts and row positions, never the identifiers themselves.
    """
    missing = ids.isna().to_numpy()
    if missing.any():
        rows = ", ".join(map(str, np.flatnonzero(missing)[:5]))
        raise DuplicateIdError(
            f"id column '{column}' of the {role} table has {int(missing.sum())} missing id(s) "
            f"(rows {rows}); every row needs an identifier."
        )
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        n_ids = int(ids[dup].nunique())
        rows = ", ".join(map(str, np.flatnonzero(dup)[:6]))
        raise DuplicateIdError(
            f"id column '{column}' of the {role} table has {n_ids} duplicated id(s) over "
            f"{int(dup.sum())} rows (rows {rows}); the {role} table needs one row per patient. "
            "Aggregate or deduplicate first, or pass time-varying data as `longitudinal=`."
        )


def _mostly_numeric(column: pd.Series) -> tuple[bool, np.ndarray]:
    present = column.notna().to_numpy()
    parsed = pd.to_numeric(column, errors="coerce").notna().to_numpy()
    bad = present & ~parsed
    n_present = int(present.sum())
    return n_present > 0 and parsed.sum() >= 0.9 * n_present and bad.any(), bad


def resolve_categorical(
    frame: pd.DataFrame,
    features: Sequence[str],
    categorical: Sequence[str] | str | None,
    *,
    role: str,
) -> list[str]:
    """Decide which feature columns are categorical, and check the rest are numeric.

    Parameters
    ----------
    frame : DataFrame
        The table holding ``features``.
    features : sequence of str
        Selected feature columns.
    categorical : "infer", None or list of str
        ``"infer"`` (or ``None``) treats string, object and category columns as categorical.
        A list declares them explicitly; then any other non-numeric column is an error.
    role : str
        Table name for error messages.

    Returns
    -------
    list of str
        The categorical columns, in feature order.

    Raises
    ------
    NonNumericColumnError
        A column is non-numeric but not declared categorical, or looks numeric but holds a few
        non-numeric entries (a typical CSV glitch such as ``"?"`` or ``"<0.1"``); holds dates,
        complex numbers or objects such as lists; or is inferred categorical with more than
        :data:`MAX_CATEGORIES` values or nearly one distinct value per row (an identifier or
        free text, whose values would be stored in the fitted model).
    CohortError
        A numeric column holds infinite values.
    """
    infer = categorical is None or (isinstance(categorical, str) and categorical == "infer")
    declared: set[str] = set()
    if not infer:
        if isinstance(categorical, str):
            categorical = [categorical]
        declared = set(categorical)
        require_columns(frame, declared, role=role)
        unknown = [c for c in categorical if c not in features]
        if unknown:
            raise MissingColumnError(
                f"column '{unknown[0]}' is declared categorical but is not a selected feature."
            )
    result = []
    for col in features:
        series = frame[col]
        _check_cells(series, col, role)
        numeric = ptypes.is_numeric_dtype(series.dtype) or ptypes.is_bool_dtype(series.dtype)
        if numeric and not ptypes.is_bool_dtype(series.dtype):
            _check_finite(series, col, role)
        if col in declared:
            result.append(col)
            continue
        if numeric:
            continue
        looks_numeric, bad = _mostly_numeric(series)
        if looks_numeric:
            rows = ", ".join(map(str, np.flatnonzero(bad)[:5]))
            raise NonNumericColumnError(
                f"column '{col}' of the {role} table looks numeric but {int(bad.sum())} value(s) "
                f"are not numbers (rows {rows}, dtype {series.dtype}). Clean them (e.g. "
                f"pd.to_numeric(df['{col}'], errors='coerce')) or declare it categorical."
            )
        if infer:
            _check_cardinality(series, col, role)
            result.append(col)
            continue
        raise NonNumericColumnError(
            f"column '{col}' of the {role} table is non-numeric (dtype {series.dtype}, "
            f"{series.nunique()} distinct values) but is not declared categorical. Add it to "
            "`categorical=[...]`, use categorical='infer', or exclude it."
        )
    return result
