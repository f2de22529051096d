"""Seeded, patient-grouped train/validation/test (+ calibration, + k-fold) splits and manifests.

Splitting algorithm (written here rather than composed from scikit-learn's splitters because we
need groups, strata, four named parts and k folds at once, with sizes that do not depend on
anything but the seed): groups (patients, or a declared group column) are assigned a stratum (the
maximum stratum value over the group's patients, e.g. "any event"). Within each stratum, groups
are shuffled with ``numpy.random.default_rng(seed)`` and cut into consecutive blocks whose sizes
are the rounded fractions. Every patient of a group lands in the same part.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lightsaber.exceptions import MissingColumnError, SplitError

if TYPE_CHECKING:
    from lightsaber.data.cohort import Cohort

__all__ = ["SPLIT_NAMES", "Splits"]

#: Names of the parts a split can have, in manifest order.
SPLIT_NAMES = ("train", "val", "test", "calibration")

_MANIFEST_FORMAT = 1


def ids_sha256(ids: np.ndarray) -> str:
    """sha256 of the identifiers as strings, sorted, joined by newlines (UTF-8).

    Examples
    --------
    >>> ids_sha256(np.array([2, 1])) == ids_sha256(np.array(["1", "2"]))
    True
    """
    text = "\n".join(sorted(str(i) for i in ids))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Splits:
    """Named, disjoint sets of patient positions into a :class:`~lightsaber.data.Cohort`.

    Build with :meth:`Cohort.split`, :meth:`random`, :meth:`from_column` or :meth:`from_files`.

    Attributes
    ----------
    indices : dict of str to ndarray
        Sorted cohort positions for each part present (``train``, ``val``, ``test`` and optionally
        ``calibration``).
    manifest : dict
        JSON-serialisable summary: sizes, label/event rates and a sha256 of each part's sorted
        ids. It holds no identifier.
    folds : tuple of (train, val) position arrays
        Cross-validation folds over train + val when ``folds=k`` was requested; ``train``/``val``
        are then fold 0.
    """

    indices: dict[str, np.ndarray]
    manifest: dict[str, Any]
    folds: tuple[tuple[np.ndarray, np.ndarray], ...] = field(default=())

    # ------------------------------------------------------------------ access
    @property
    def names(self) -> list[str]:
        """Parts present, in canonical order."""
        return [n for n in SPLIT_NAMES if n in self.indices]

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.indices:
            raise SplitError(f"no split named '{name}'; this one has {self.names}.")
        return self.indices[name]

    @property
    def train(self) -> np.ndarray:
        """Positions of the training patients."""
        return self["train"]

    @property
    def val(self) -> np.ndarray:
        """Positions of the validation patients."""
        return self["val"]

    @property
    def test(self) -> np.ndarray:
        """Positions of the test patients."""
        return self["test"]

    @property
    def n_folds(self) -> int:
        """Number of cross-validation folds (0 when none were requested)."""
        return len(self.folds)

    def fold(self, k: int) -> Splits:
        """The split whose train/val are cross-validation fold ``k`` (test etc. unchanged)."""
        if not 0 <= k < self.n_folds:
            raise SplitError(f"fold {k} does not exist; this split has {self.n_folds} folds.")
        train, val = self.folds[k]
        indices = dict(self.indices, train=train, val=val)
        manifest = dict(self.manifest, active_fold=k)
        return replace(self, indices=indices, manifest=manifest)

    def iter_folds(self) -> Iterator[Splits]:
        """Yield :meth:`fold` for every fold."""
        for k in range(self.n_folds):
            yield self.fold(k)

    def manifest_json(self) -> str:
        """The manifest as canonical JSON (sorted keys): byte-identical for equal splits."""
        return json.dumps(self.manifest, sort_keys=True, indent=2) + "\n"

    def cohorts(self, cohort: Cohort) -> dict[str, Cohort]:
        """Subset ``cohort`` into one cohort per part."""
        return {name: cohort.subset(pos) for name, pos in self.indices.items() if len(pos)}

    # ------------------------------------------------------------------ constructors
    @classmethod
    def random(
        cls,
        cohort: Cohort,
        *,
        val: float = 0.15,
        test: float = 0.15,
        calibration: float = 0.0,
        stratify: str | None = None,
        group: str | None = None,
        folds: int | None = None,
        seed: int = 0,
    ) -> Splits:
        """Random (optionally stratified and grouped) split of a cohort.

        Parameters
        ----------
        cohort : Cohort
            The cohort to split.
        val, test, calibration : float
            Fractions of groups (patients by default) for each held-out part; train gets the rest.
            With ``folds``, ``val`` is ignored: train + val is the cross-validation pool.
        stratify : str, optional
            ``"label"``, ``"event"`` or the name of a target/meta column. Each part then keeps
            that column's distribution (``"event"`` on a competing-risks cohort: each cause's).
        group : str, optional
            Meta column whose groups never straddle two parts (patients are always grouped).
        folds : int, optional
            Number of cross-validation folds over the pool left after test and calibration.
        seed : int
            Seed of ``numpy.random.default_rng``; same cohort + seed give the same split.
        """
        _check_fraction("val", val)
        _check_fraction("test", test)
        _check_fraction("calibration", calibration)
        if folds is not None and (not isinstance(folds, (int, np.integer)) or folds < 2):
            raise SplitError(f"folds must be an integer >= 2; got {folds!r}.")
        held = (0.0 if folds else val) + test + calibration
        if held >= 1:
            raise SplitError(
                f"val + test + calibration = {held:g} leaves nothing to train on; the sum must be "
                "below 1."
            )
        if not isinstance(seed, (int, np.integer)):
            raise SplitError(f"seed must be an integer; got {seed!r}.")

        group_codes, n_groups = _group_codes(cohort, group)
        strata = _group_strata(cohort, stratify, group_codes, n_groups)
        rng = np.random.default_rng(seed)
        fractions = {"test": test, "calibration": calibration}
        if not folds:
            fractions["val"] = val
        assignment = _assign(strata, fractions, rng)
        parts: dict[str, np.ndarray] = {}
        for name in SPLIT_NAMES:
            frac = fractions.get(name, 0.0)
            if name == "train" or frac > 0:
                code = _PART_CODES[name]
                parts[name] = np.flatnonzero(assignment[group_codes] == code)
        fold_parts: tuple = ()
        if folds:
            pool_groups = np.flatnonzero(assignment == _PART_CODES["train"])
            fold_of_group = np.full(n_groups, -1, dtype=np.int64)
            fold_of_group[pool_groups] = _kfold(strata[pool_groups], folds, rng)
            patient_fold = fold_of_group[group_codes]
            fold_parts = tuple(
                (np.flatnonzero((patient_fold >= 0) & (patient_fold != k)),
                 np.flatnonzero(patient_fold == k))
                for k in range(folds)
            )
            parts["train"], parts["val"] = fold_parts[0]
        for name, pos in parts.items():
            if len(pos) == 0:
                raise SplitError(
                    f"the '{name}' split is empty: {cohort.n_patients} patients "
                    f"({n_groups} groups) "
                    "are too few for the requested fractions. Use larger fractions or more data."
                )
        settings = {
            "strategy": "stratified" if stratify else "random",
            "seed": int(seed),
            "stratify": stratify,
            "group": group,
            "fractions": {"val": None if folds else val, "test": test, "calibration": calibration},
            "folds": int(folds) if folds else None,
        }
        return cls._build(cohort, parts, settings, fold_parts)

    @classmethod
    def from_column(cls, cohort: Cohort, column: str,
                    mapping: Mapping[Any, str] | None = None) -> Splits:
        """A predefined split read from a meta (or target) column of the cohort.

        Parameters
        ----------
        cohort : Cohort
            Cohort holding the column (declare it with ``meta=["split"]``).
        column : str
            Column whose values name each patient's part.
        mapping : dict, optional
            Maps column values to part names, e.g. ``{"dev": "train", "holdout": "test"}``.
            Without it the values must already be ``train``, ``val``, ``test`` or
            ``calibration``.
        """
        values = cohort.column(column)
        if values.isna().any():
            raise SplitError(
                f"split column '{column}' has {int(values.isna().sum())} missing value(s); every "
                "patient needs a part."
            )
        names = values.map(mapping) if mapping is not None else values.astype(str)
        unknown = sorted({str(v) for v, n in zip(values, names, strict=True)
                          if n not in SPLIT_NAMES})
        if unknown:
            raise SplitError(
                f"split column '{column}' has value(s) {unknown[:5]} that name no part; expected "
                f"{list(SPLIT_NAMES)} or a `mapping` onto them."
            )
        parts = {n: np.flatnonzero((names == n).to_numpy()) for n in SPLIT_NAMES}
        parts = {n: p for n, p in parts.items() if len(p) or n == "train"}
        _require_parts(parts, f"split column '{column}'")
        settings = {"strategy": "column", "column": column, "seed": None}
        return cls._build(cohort, parts, settings, ())

    @classmethod
    def from_files(cls, cohort: Cohort, *, train: str | Path | None = None,
                   val: str | Path | None = None, test: str | Path | None = None,
                   calibration: str | Path | None = None) -> Splits:
        """A predefined split from files listing patient ids (one per line, or a CSV).

        A CSV must hold the cohort's id column; a plain text file holds one id per line. Ids are
        compared as strings. Patients not listed in any file are left out of every part.
        ``train`` defaults to the patients not listed in the other files.
        """
        lookup = pd.Index(pd.Series(cohort.ids).astype(str))
        listed = {"train": train, "val": val, "test": test, "calibration": calibration}
        parts: dict[str, np.ndarray] = {}
        for name, path in listed.items():
            if path is None:
                continue
            ids = _read_id_file(Path(path), cohort.id_column)
            pos = lookup.get_indexer(ids)
            if (pos < 0).any():
                raise SplitError(
                    f"{int((pos < 0).sum())} id(s) listed in the {name} file '{Path(path).name}' "
                    "are not in the cohort."
                )
            parts[name] = np.unique(pos)
        if train is None:
            taken = np.concatenate([p for p in parts.values()]) if parts else np.array([], int)
            parts["train"] = np.setdiff1d(np.arange(cohort.n_patients), taken)
        _require_parts(parts, "the split files")
        settings = {"strategy": "files", "seed": None}
        return cls._build(cohort, parts, settings, ())

    # ------------------------------------------------------------------ manifest
    @classmethod
    def _build(cls, cohort: Cohort, parts: dict[str, np.ndarray], settings: dict[str, Any],
               folds: tuple) -> Splits:
        seen = np.zeros(cohort.n_patients, dtype=np.int64)
        for pos in parts.values():
            np.add.at(seen, pos, 1)
        if (seen > 1).any():
            raise SplitError(
                f"{int((seen > 1).sum())} patient(s) are assigned to more than one part; parts "
                "must be disjoint."
            )
        indices = {n: np.sort(parts[n]).astype(np.int64) for n in SPLIT_NAMES if n in parts}
        manifest = {
            "format": _MANIFEST_FORMAT,
            **settings,
            "n_patients": int(cohort.n_patients),
            "n_unassigned": int((seen == 0).sum()),
            "splits": {n: _part_summary(cohort, pos) for n, pos in indices.items()},
        }
        if folds:
            manifest["cv_folds"] = [
                {"train": _part_summary(cohort, tr), "val": _part_summary(cohort, va)}
                for tr, va in folds
            ]
        return cls(indices=indices, manifest=manifest, folds=folds)


# ---------------------------------------------------------------------- helpers
_PART_CODES = {"train": 0, "val": 1, "test": 2, "calibration": 3}


def _check_fraction(name: str, value: float) -> None:
    if not isinstance(value, (int, float, np.floating)) or not 0 <= value < 1:
        raise SplitError(f"{name} must be a fraction in [0, 1); got {value!r}.")


def _group_codes(cohort: Cohort, group: str | None) -> tuple[np.ndarray, int]:
    if group is None:
        return np.arange(cohort.n_patients, dtype=np.int64), cohort.n_patients
    values = cohort.column(group)
    if values.isna().any():
        raise SplitError(f"group column '{group}' has {int(values.isna().sum())} missing values.")
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), len(uniques)


def _group_strata(cohort: Cohort, stratify: str | None, group_codes: np.ndarray,
                  n_groups: int) -> np.ndarray:
    if stratify is None:
        return np.zeros(n_groups, dtype=np.int64)
    if stratify == "label":
        if cohort.label is None:
            raise MissingColumnError("stratify='label' but the cohort declares no `label`.")
        values = pd.Series(cohort.y_label)
    elif stratify == "event":
        if cohort.event is None:
            raise MissingColumnError("stratify='event' but the cohort declares no `event`.")
        # Competing risks: stratify by cause (0 censored, 1..K), so every part sees each cause.
        values = pd.Series(cohort.y_competing["status"] if cohort.causes is not None
                           else cohort.y_survival["event"])
    else:
        values = cohort.column(stratify)
    if values.isna().any():
        raise SplitError(f"stratify column '{stratify}' has {int(values.isna().sum())} missing "
                         "values; fill them or stratify on another column.")
    codes, uniques = pd.factorize(values, sort=True)
    if len(uniques) > max(20, cohort.n_patients // 10):
        raise SplitError(
            f"stratify column '{stratify}' has {len(uniques)} distinct values; stratify on a "
            "categorical column (bin continuous ones first)."
        )
    strata = np.zeros(n_groups, dtype=np.int64)
    np.maximum.at(strata, group_codes, codes.astype(np.int64))
    return strata


def _assign(strata: np.ndarray, fractions: dict[str, float], rng: np.random.Generator
            ) -> np.ndarray:
    """Part code per group: shuffle within each stratum, cut blocks of rounded sizes."""
    assignment = np.zeros(len(strata), dtype=np.int64)
    order = [n for n in ("test", "calibration", "val") if fractions.get(n, 0) > 0]
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        members = members[rng.permutation(len(members))]
        start = 0
        for name in order:
            count = int(np.floor(fractions[name] * len(members) + 0.5))
            assignment[members[start:start + count]] = _PART_CODES[name]
            start += count
    return assignment


def _kfold(strata: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Fold number per group, balanced within each stratum."""
    fold = np.zeros(len(strata), dtype=np.int64)
    offset = 0
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        members = members[rng.permutation(len(members))]
        fold[members] = (np.arange(len(members)) + offset) % k
        offset += len(members)
    return fold


def _require_parts(parts: dict[str, np.ndarray], source: str) -> None:
    if len(parts.get("train", ())) == 0:
        raise SplitError(f"{source} leave(s) no patient for training.")


def _rate(values: np.ndarray) -> float:
    return round(float(np.mean(values)), 10) if len(values) else float("nan")


def _part_summary(cohort: Cohort, pos: np.ndarray) -> dict[str, Any]:
    summary: dict[str, Any] = {"n_patients": int(len(pos)),
                               "ids_sha256": ids_sha256(cohort.ids[pos])}
    design = getattr(cohort, "design", None)  # a LandmarkCohort: rows are (patient, landmark)
    if design is not None:
        landmarks = cohort.landmarks[pos]
        summary["n_rows"] = summary.pop("n_patients")
        summary["n_patients"] = int(pd.unique(cohort.patients[pos]).size)
        summary["rows_per_landmark"] = {f"{s:g}": int(np.sum(landmarks == s))
                                        for s in design.times}
    if cohort.label is not None:
        labels = cohort.y_label[pos]
        uniques = np.unique(labels)
        if len(uniques) <= 2 and set(np.unique(cohort.y_label)).issubset({0, 1}):
            summary["label_rate"] = _rate(labels.astype(float))
        else:
            summary["label_counts"] = {str(u): int((labels == u).sum()) for u in uniques}
    if cohort.causes is not None:
        y = cohort.y_competing[pos]
        summary["event_rate"] = _rate((y["status"] > 0).astype(float))
        summary["n_events"] = int((y["status"] > 0).sum())
        summary["cause_rates"] = {name: _rate((y["status"] == code).astype(float))
                                  for code, name in cohort.causes.items()}
        summary["max_time"] = round(float(y["time"].max()), 10) if len(y) else None
    elif cohort.duration is not None:
        y = cohort.y_survival[pos]
        summary["event_rate"] = _rate(y["event"])
        summary["n_events"] = int(y["event"].sum())
        summary["max_time"] = round(float(y["time"].max()), 10) if len(y) else None
    return summary


def _read_id_file(path: Path, id_column: str) -> Sequence[str]:
    if not path.exists():
        raise SplitError(f"split file not found: '{path}'.")
    if path.suffix.lower() in {".csv", ".parquet", ".pq"}:
        from lightsaber.data.io import read_table

        frame = read_table(path, role="split")
        if id_column not in frame.columns:
            raise MissingColumnError(f"split file '{path.name}' has no id column '{id_column}'.")
        return frame[id_column].astype(str).tolist()
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]
