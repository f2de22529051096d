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
    "require_columns",
    "require_unique_ids",
    "resolve_categorical",
    "select_features",
]


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
        non-numeric entries (a typical CSV glitch such as ``"?"`` or ``"<0.1"``).
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
        numeric = ptypes.is_numeric_dtype(series.dtype) or ptypes.is_bool_dtype(series.dtype)
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
            result.append(col)
            continue
        raise NonNumericColumnError(
            f"column '{col}' of the {role} table is non-numeric (dtype {series.dtype}, "
            f"{series.nunique()} distinct values) but is not declared categorical. Add it to "
            "`categorical=[...]`, use categorical='infer', or exclude it."
        )
    return result
