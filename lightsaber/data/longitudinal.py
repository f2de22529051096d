"""Long-format (patient, time, measurements) tables, indexed for vectorised access.

A :class:`LongTable` never copies the user's frame. It keeps a reference to it plus two integer
arrays: ``rows`` (frame row numbers, ordered by patient then time) and ``patient`` (the
patient's position in the cohort for each of those rows). Subsetting a cohort only subsets these
arrays, so splitting a 100,000-patient cohort costs megabytes, not a copy of the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from lightsaber.exceptions import (
    CohortError,
    IdMismatchError,
    LongitudinalOrderError,
    NonNumericColumnError,
)

__all__ = ["AGGREGATES", "LongTable"]

#: Per-patient aggregates :meth:`LongTable.aggregate` can compute.
AGGREGATES = ("last", "first", "mean", "min", "max", "std", "count")


@dataclass(frozen=True)
class LongTable:
    """A validated long-format table aligned to a cohort's patients.

    Attributes
    ----------
    frame : DataFrame
        The user's table, not copied.
    time : str
        Name of the time column.
    features : list of str
        Measurement columns (numeric).
    rows : ndarray of int32 (int64 for tables of 2**31 rows or more)
        Row numbers into ``frame``, sorted by patient then time.
    patient : ndarray of int32
        Cohort position of the patient of each entry of ``rows`` (non-decreasing).
    n_patients : int
        Number of patients in the cohort (some may have no rows).
    """

    frame: pd.DataFrame
    time: str
    features: list[str]
    rows: np.ndarray
    patient: np.ndarray
    n_patients: int

    @classmethod
    def build(
        cls,
        frame: pd.DataFrame,
        *,
        id_column: str,
        time: str,
        features: Sequence[str],
        patient_ids: pd.Index,
        sort: bool = False,
    ) -> LongTable:
        """Validate ``frame`` and index it against the cohort's ``patient_ids``.

        Raises
        ------
        IdMismatchError
            Rows whose id is not a cohort patient.
        NonNumericColumnError
            A non-numeric time or measurement column.
        CohortError
            An infinite measurement.
        LongitudinalOrderError
            Missing times, duplicate ``(id, time)`` rows, or times that go backwards within a
            patient in file order (unless ``sort=True``).
        """
        for col in [time, *features]:
            dtype = frame[col].dtype
            if not (ptypes.is_numeric_dtype(dtype) and not ptypes.is_bool_dtype(dtype)):
                raise NonNumericColumnError(
                    f"longitudinal column '{col}' has dtype {dtype}; time and measurement "
                    "columns must be numeric (convert timestamps to hours/days since admission)."
                )
        for col in features:
            if not ptypes.is_float_dtype(frame[col].dtype):
                continue  # integers cannot be infinite; nullable floats read via NaN below
            infinite = np.isinf(frame[col].to_numpy(dtype=np.float64, na_value=np.nan,
                                                    copy=False))
            if infinite.any():
                raise CohortError(
                    f"measurement column '{col}' of the longitudinal table has "
                    f"{int(infinite.sum())} infinite value(s) (first at row "
                    f"{int(np.flatnonzero(infinite)[0])}); use NaN for a missing measurement."
                )
        codes = patient_ids.get_indexer(frame[id_column])
        unknown = codes < 0
        if unknown.any():
            n_ids = int(frame[id_column][unknown].nunique())
            raise IdMismatchError(
                f"{n_ids} id(s) in column '{id_column}' of the longitudinal table "
                f"({int(unknown.sum())} rows, first at row {int(np.flatnonzero(unknown)[0])}) are "
                "not patients of the cohort's static/target tables. Filter the longitudinal table "
                "to the cohort, or add those patients."
            )
        times = frame[time].to_numpy(dtype=np.float64, na_value=np.nan)
        bad_time = ~np.isfinite(times)
        if bad_time.any():
            raise LongitudinalOrderError(
                f"time column '{time}' of the longitudinal table has {int(bad_time.sum())} "
                f"missing or infinite value(s) (first at row {int(np.flatnonzero(bad_time)[0])})."
            )
        # 32-bit indices halve the memory and bandwidth of every gather on large tables.
        index_type = np.int32 if len(frame) < 2**31 else np.int64
        codes = codes.astype(np.int32, copy=False)
        rows = np.arange(len(frame), dtype=index_type)
        if len(codes) > 1 and np.any(codes[1:] < codes[:-1]):
            rows = np.argsort(codes, kind="stable").astype(index_type)
            codes = codes[rows]
            times = times[rows]
        same = codes[1:] == codes[:-1]
        step = np.diff(times)
        dup = same & (step == 0)
        if dup.any():
            first = int(rows[1:][dup][0])
            raise LongitudinalOrderError(
                f"the longitudinal table has {int(dup.sum())} duplicate (id '{id_column}', time "
                f"'{time}') row(s) (first at row {first}); keep one row per patient and time, "
                "e.g. by aggregating measurements taken at the same time."
            )
        backwards = same & (step < 0)
        if backwards.any():
            if not sort:
                first = int(rows[1:][backwards][0])
                n_pat = int(np.unique(codes[1:][backwards]).size)
                raise LongitudinalOrderError(
                    f"time column '{time}' goes backwards within {n_pat} patient(s) "
                    f"({int(backwards.sum())} rows, first at row {first}); rows of a patient must "
                    f"be in time order. Sort by ['{id_column}', '{time}'] or pass "
                    "sort_longitudinal=True."
                )
            order = np.lexsort((times, codes))
            rows, codes = rows[order], codes[order]
        return cls(frame, time, list(features), rows, codes, len(patient_ids))

    # ------------------------------------------------------------------ access
    def times(self) -> np.ndarray:
        """Observation times of ``rows`` (float64)."""
        return self.frame[self.time].to_numpy(dtype=np.float64, na_value=np.nan)[self.rows]

    def values(self, feature: str) -> np.ndarray:
        """Values of one measurement column for ``rows`` (float32, NaN for missing)."""
        col = self.frame[feature].to_numpy(dtype=np.float32, na_value=np.nan)
        return col[self.rows]

    def lengths(self) -> np.ndarray:
        """Number of rows of each patient (int64, length ``n_patients``)."""
        return np.bincount(self.patient, minlength=self.n_patients).astype(np.int64)

    def starts(self) -> np.ndarray:
        """Index into ``rows`` of each patient's first row (length ``n_patients + 1``)."""
        return np.searchsorted(self.patient, np.arange(self.n_patients + 1))

    def to_frame(self, ids: np.ndarray, id_column: str) -> pd.DataFrame:
        """Materialise this table (rows in patient/time order) as a new DataFrame."""
        out = self.frame.iloc[self.rows][[self.time, *self.features]].reset_index(drop=True)
        out.insert(0, id_column, ids[self.patient])
        return out

    def subset(self, positions: np.ndarray) -> LongTable:
        """Restrict to the cohort patients at ``positions`` (their new order is ``positions``)."""
        mapping = np.full(self.n_patients, -1, dtype=np.int32)
        mapping[positions] = np.arange(len(positions), dtype=np.int32)
        new = mapping[self.patient]
        keep = new >= 0
        rows, new = self.rows[keep], new[keep]
        if len(new) > 1 and np.any(new[1:] < new[:-1]):
            order = np.argsort(new, kind="stable")  # stable: keeps time order within patient
            rows, new = rows[order], new[order]
        return LongTable(self.frame, self.time, self.features, rows, new, len(positions))

    def window_mask(self, start: float | None, stop: float | None) -> np.ndarray:
        """Boolean mask over ``rows`` of observations with ``start <= time < stop``."""
        t = self.times()
        mask = np.ones(len(t), dtype=bool)
        if start is not None:
            mask &= t >= start
        if stop is not None:
            mask &= t < stop
        return mask

    # ------------------------------------------------------------------ aggregates
    def aggregate(
        self,
        stats: Sequence[str] = ("last", "mean", "min", "max", "count"),
        *,
        window: tuple[float | None, float | None] | None = None,
    ) -> pd.DataFrame:
        """Flatten to one row per patient: ``{feature}__{stat}`` columns, cohort order.

        Missing measurements are skipped (``last`` is the last observed value). Patients with no
        observation get NaN, and a count of 0.
        """
        unknown = [s for s in stats if s not in AGGREGATES]
        if unknown:
            raise LongitudinalOrderError(
                f"unknown aggregate '{unknown[0]}'; choose from {list(AGGREGATES)}."
            )
        keep = self.window_mask(*window) if window is not None else slice(None)
        patient = self.patient[keep]
        data = {f: self.values(f)[keep] for f in self.features}
        grouped = pd.DataFrame(data).groupby(patient, sort=True)
        pieces = {}
        for stat in stats:
            agg = grouped.agg(stat) if stat != "std" else grouped.std(ddof=0)
            agg = agg.reindex(np.arange(self.n_patients))
            if stat == "count":
                agg = agg.fillna(0)
            for f in self.features:
                pieces[f"{f}__{stat}"] = agg[f].to_numpy(dtype=np.float32)
        return pd.DataFrame(pieces)
