"""Longitudinal measurements to padded float32 tensors, fitted on the training split only.

Written with NumPy scatter operations over the whole long table (chunked by patient to bound
memory) instead of a per-patient pandas loop: the original Lightsaber's ``.loc`` loop is the
measured bottleneck this replaces (see ``benchmarks/ingest.py`` and ``docs/benchmarks.md``).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import BaseEstimator

from lightsaber.exceptions import CohortError, NotFittedError

if TYPE_CHECKING:
    import torch

    from lightsaber.data.cohort import Cohort
    from lightsaber.data.longitudinal import LongTable

__all__ = ["PaddedSequences", "SequencePreprocessor"]


@dataclass(frozen=True)
class PaddedSequences:
    """A batch of variable-length sequences padded to a common length.

    Attributes
    ----------
    values : ndarray, float32, shape (n_patients, n_steps, n_features)
        Scaled measurements; padding steps are 0.
    lengths : ndarray, int64, shape (n_patients,)
        Number of real steps per patient (0 for a patient with no measurement).
    mask : ndarray, bool, shape (n_patients, n_steps)
        True on real steps.
    times : ndarray, float32, shape (n_patients, n_steps)
        Observation time (or bin start on a grid) of each step; NaN on padding.
    feature_names : list of str
        Names of the last axis (measurements, then ``{name}__observed`` indicators if asked).
    """

    values: np.ndarray
    lengths: np.ndarray
    mask: np.ndarray
    times: np.ndarray
    feature_names: list[str]

    def __len__(self) -> int:
        return self.values.shape[0]

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(n_patients, n_steps, n_features)``."""
        return tuple(self.values.shape)  # type: ignore[return-value]

    def as_tensors(self) -> dict[str, torch.Tensor]:
        """Zero-copy ``torch`` views: ``values``, ``lengths``, ``mask``."""
        import torch

        return {
            "values": torch.from_numpy(self.values),
            "lengths": torch.from_numpy(self.lengths),
            "mask": torch.from_numpy(self.mask),
        }


def _n_workers(n_jobs: int | None, n_chunks: int) -> int:
    if n_jobs is None or n_jobs == 1 or n_chunks < 2:
        return 1
    cpus = os.cpu_count() or 1
    wanted = cpus + 1 + n_jobs if n_jobs < 0 else n_jobs
    return max(1, min(wanted, n_chunks))


class SequencePreprocessor(BaseEstimator):
    """Turn a cohort's long table into :class:`PaddedSequences`, scaled with train statistics.

    Parameters
    ----------
    grid : (start, stop, step), optional
        Bin observations on a regular time grid, e.g. ``(0, 48, 1)`` for hourly bins over the
        first 48 hours. Each bin takes the last observed value of each measurement. Without a
        grid, every row of the long table is one step.
    max_steps : int, optional
        Without a grid: keep at most this many steps per patient (default: the longest
        training sequence). Longer sequences are cut according to ``keep``.
    keep : {"first", "last"}
        Which steps to keep when a sequence is longer than ``max_steps``.
    forward_fill : bool, default True
        Carry the last observed value forward within a patient's real steps.
    scale : bool, default True
        Standardise each measurement with the training mean and standard deviation.
    fill_value : float, default 0.0
        Value for steps still missing after forward filling (0 = training mean when scaled).
    observed_indicators : bool, default False
        Append one 0/1 channel per measurement: observed in that step (before filling).
    chunk_size : int, default 2048
        Patients processed at once; bounds temporary memory.
    n_jobs : int or None, default -1
        Threads filling chunks in parallel (-1: one per CPU, None or 1: no threads). Results
        do not depend on it.

    Examples
    --------
    >>> import pandas as pd
    >>> from lightsaber.data.cohort import Cohort
    >>> static = pd.DataFrame({"id": [1, 2], "y": [0, 1]})
    >>> long = pd.DataFrame({"id": [1, 1, 2], "t": [0.5, 1.5, 0.2], "hr": [80.0, 90.0, 70.0]})
    >>> c = Cohort(static, id="id", label="y", longitudinal=long, time="t")
    >>> seq = SequencePreprocessor(grid=(0, 3, 1), scale=False).fit(c).transform(c)
    >>> seq.shape, seq.lengths.tolist()
    ((2, 3, 1), [2, 1])
    >>> seq.values[:, :, 0].tolist()
    [[80.0, 90.0, 0.0], [70.0, 0.0, 0.0]]
    """

    def __init__(self, grid: tuple[float, float, float] | None = None, max_steps: int | None = None,
                 keep: str = "first", forward_fill: bool = True, scale: bool = True,
                 fill_value: float = 0.0, observed_indicators: bool = False,
                 chunk_size: int = 2048, n_jobs: int | None = -1) -> None:
        self.grid = grid
        self.max_steps = max_steps
        self.keep = keep
        self.forward_fill = forward_fill
        self.scale = scale
        self.fill_value = fill_value
        self.observed_indicators = observed_indicators
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ fitting
    def _validate_params(self) -> None:
        if self.grid is not None:
            if len(self.grid) != 3:
                raise CohortError(f"grid must be (start, stop, step); got {self.grid!r}.")
            start, stop, step = self.grid
            if not step > 0 or not stop > start:
                raise CohortError(
                    f"grid (start={start}, stop={stop}, step={step}) needs step > 0 and "
                    "stop > start."
                )
        if self.keep not in {"first", "last"}:
            raise CohortError(f"keep must be 'first' or 'last'; got {self.keep!r}.")
        if self.max_steps is not None and (not isinstance(self.max_steps, int)
                                           or self.max_steps < 1):
            raise CohortError(f"max_steps must be a positive integer; got {self.max_steps!r}.")
        if self.n_jobs is not None and (not isinstance(self.n_jobs, int) or self.n_jobs == 0):
            raise CohortError(f"n_jobs must be a non-zero integer or None; got {self.n_jobs!r}.")
        if not isinstance(self.chunk_size, int) or self.chunk_size < 1:
            raise CohortError(f"chunk_size must be a positive integer; got {self.chunk_size!r}.")

    @staticmethod
    def _long(cohort: Cohort) -> LongTable:
        if cohort.long_table is None:
            raise CohortError(
                "this cohort has no longitudinal table; pass `longitudinal=` and `time=` to Cohort."
            )
        return cohort.long_table

    def _window(self, long: LongTable) -> np.ndarray | slice:
        if self.grid is None:
            return slice(None)
        return long.window_mask(self.grid[0], self.grid[1])

    def fit(self, cohort: Cohort, y: object = None) -> SequencePreprocessor:
        """Learn per-measurement mean/std (and the padded length) from the training cohort."""
        self._validate_params()
        long = self._long(cohort)
        rows = long.rows[self._window(long)]

        def moments(feature: str) -> tuple[float, float]:
            vals = long.frame[feature].to_numpy(dtype=np.float32, na_value=np.nan)[rows]
            vals = vals[~np.isnan(vals)]
            if not vals.size:
                return 0.0, 1.0
            std = float(vals.std(dtype=np.float64))
            return float(vals.mean(dtype=np.float64)), std if std > 0 else 1.0

        workers = _n_workers(self.n_jobs, len(long.features))
        if workers == 1:
            stats = [moments(f) for f in long.features]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                stats = list(pool.map(moments, long.features))
        means = [m for m, _ in stats]
        stds = [s for _, s in stats]
        self.features_ = list(long.features)
        self.mean_ = np.asarray(means, dtype=np.float32)
        self.scale_ = np.asarray(stds, dtype=np.float32)
        if self.grid is not None:
            start, stop, step = self.grid
            self.n_steps_ = int(np.ceil((stop - start) / step))
        else:
            self.n_steps_ = int(self.max_steps or max(int(long.lengths().max()), 1))
        return self

    # ------------------------------------------------------------------ transform
    def transform(self, cohort: Cohort) -> PaddedSequences:
        """Pad, grid, fill and scale the cohort's sequences (patients in cohort order)."""
        if not hasattr(self, "mean_"):
            raise NotFittedError(
                "SequencePreprocessor is not fitted; call fit(train_cohort) first.")
        long = self._long(cohort)
        missing = [f for f in self.features_ if f not in long.frame.columns]
        if missing:
            raise CohortError(
                f"longitudinal measurement '{missing[0]}' seen in fit is missing from this cohort."
            )
        n, t_steps, n_feat = long.n_patients, self.n_steps_, len(self.features_)
        values = np.empty((n, t_steps, n_feat), dtype=np.float32)
        seen = np.zeros((n, t_steps, n_feat), dtype=bool) if self.observed_indicators else None
        times = np.full((n, t_steps), np.nan, dtype=np.float32)
        lengths = np.zeros(n, dtype=np.int64)
        starts = long.starts()
        all_times = long.times()
        columns = [long.frame[f].to_numpy(dtype=np.float32, na_value=np.nan)
                   for f in self.features_]
        def fill(lo: int) -> None:
            hi = min(lo + self.chunk_size, n)
            r0, r1 = starts[lo], starts[hi]
            self._fill_chunk(values[lo:hi], times[lo:hi], lengths[lo:hi],
                             seen[lo:hi] if seen is not None else None,
                             rows=long.rows[r0:r1], patient=long.patient[r0:r1] - lo,
                             row_times=all_times[r0:r1], first=starts[lo:hi + 1] - r0,
                             columns=columns)

        chunks = range(0, n, self.chunk_size)
        workers = _n_workers(self.n_jobs, len(chunks))
        if workers == 1:
            for lo in chunks:
                fill(lo)
        else:  # NumPy releases the GIL in these loops; chunks write disjoint slices
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(fill, chunks))
        if seen is not None:
            values = np.concatenate([values, seen.astype(np.float32)], axis=2)
        mask = np.arange(t_steps)[None, :] < lengths[:, None]
        if self.grid is not None:
            start, _, width = self.grid
            grid_times = (start + np.arange(t_steps) * width).astype(np.float32)
            times = np.where(mask, grid_times[None, :], np.float32(np.nan))
        names = list(self.features_)
        if self.observed_indicators:
            names += [f"{f}__observed" for f in self.features_]
        return PaddedSequences(values, lengths, mask, times, names)

    def fit_transform(self, cohort: Cohort, y: object = None) -> PaddedSequences:
        """Fit on ``cohort`` and transform it."""
        return self.fit(cohort).transform(cohort)

    def _steps(self, patient: np.ndarray, row_times: np.ndarray, first: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """Step index of each row, and which rows fall inside the padded window."""
        t_steps = self.n_steps_
        if self.grid is not None:
            start, _, step = self.grid
            step_idx = np.floor((row_times - start) / step)
            inside = (step_idx >= 0) & (step_idx < t_steps)
            return np.where(inside, step_idx, 0).astype(np.int64), inside
        position = np.arange(len(patient), dtype=np.int64) - first[patient]
        if self.keep == "last":
            count = first[patient + 1] - first[patient]
            position = position - np.maximum(count - t_steps, 0)
        inside = (position >= 0) & (position < t_steps)
        return np.where(inside, position, 0), inside

    def _fill_chunk(self, out: np.ndarray, times: np.ndarray, lengths: np.ndarray,
                    seen: np.ndarray | None, *, rows: np.ndarray, patient: np.ndarray,
                    row_times: np.ndarray, first: np.ndarray, columns: list[np.ndarray]) -> None:
        """Fill one chunk of patients in place; rows arrive sorted by patient then time.

        Every pass works on the contiguous output block; forward filling is a short loop over
        time steps, each a vectorised copy over (patients, measurements).
        """
        c, t_steps, n_feat = out.shape
        step, inside = self._steps(patient, row_times, first)
        pat, stp, rows_in = patient[inside].astype(np.int64), step[inside], rows[inside]
        key = pat * t_steps + stp  # non-decreasing
        n = key.size
        if self.grid is None:
            times.reshape(-1)[key] = row_times[inside]
        # Gather each measurement into a contiguous row, then view as (rows, measurements):
        # ~35% faster than writing strided columns (measured on 2,048-patient chunks).
        gathered = np.empty((n_feat, n), dtype=np.float32)
        for j, column in enumerate(columns):
            np.take(column, rows_in, out=gathered[j])
        values = gathered.T
        last = np.ones(n, dtype=bool)
        last[:-1] = key[1:] != key[:-1]
        observed = ~np.isnan(values) if seen is not None or not last.all() else None
        if not last.all():
            # Several rows fall in one step: keep each measurement's last observed value.
            arange = np.arange(n, dtype=np.int64)
            group_start = np.maximum.accumulate(np.where(np.r_[True, last[:-1]], arange, 0))
            source = np.where(observed, arange[:, None], -1)
            np.maximum.accumulate(source, axis=0, out=source)
            values = np.take_along_axis(values, np.maximum(source, 0), axis=0)
            values[source < group_start[:, None]] = np.nan
            run_start = np.flatnonzero(np.r_[True, last[:-1]])
            observed = np.logical_or.reduceat(observed, run_start, axis=0) if n else observed
            values, key, pat, stp = values[last], key[last], pat[last], stp[last]
        # Sequence length: one past the last step holding a row (steps rise within a patient).
        last_of_patient = np.ones(len(pat), dtype=bool)
        last_of_patient[:-1] = pat[1:] != pat[:-1]
        lengths[pat[last_of_patient]] = stp[last_of_patient] + 1
        out.fill(np.nan)
        out.reshape(c * t_steps, n_feat)[key] = values
        if seen is not None:
            seen.reshape(c * t_steps, n_feat)[key] = observed
        if self.forward_fill:
            for t in range(1, t_steps):
                np.copyto(out[:, t], out[:, t - 1], where=np.isnan(out[:, t]))
        if self.scale:
            out -= self.mean_
            out /= self.scale_
        np.copyto(out, np.float32(self.fill_value), where=np.isnan(out))
        padding = np.arange(t_steps)[None, :] >= lengths[:, None]
        out[padding] = 0.0
        if seen is not None:
            seen[padding] = False
