"""The :class:`Cohort`: static features, optional longitudinal measurements and outcomes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lightsaber.data.io import read_table
from lightsaber.data.longitudinal import LongTable
from lightsaber.data.schema import (
    require_columns,
    require_unique_column_names,
    require_unique_ids,
    resolve_categorical,
    select_features,
)
from lightsaber.data.targets import (
    check_survival_target,
    encode_label,
    make_competing_target,
    make_survival_target,
    normalise_causes,
)
from lightsaber.exceptions import CohortError, EmptyCohortError, IdMismatchError, TargetError

if TYPE_CHECKING:
    from lightsaber.data.splits import Splits

__all__ = ["Cohort"]

Table = pd.DataFrame | str | Path


class Cohort:
    """A validated patient cohort: one row per patient, aligned features and outcomes.

    Parameters
    ----------
    static : DataFrame or path, optional
        Wide table, one row per patient: the id column and static features. May also hold the
        target columns when ``targets`` is omitted.
    targets : DataFrame or path, optional
        Outcome table (id + label and/or duration and event). Must hold exactly the patients of
        ``static``.
    id : str
        Name of the patient identifier column, in every table.
    label : str, optional
        Classification outcome column (e.g. in-hospital death): booleans or 0/1 as they are;
        otherwise name the positive class (``positive=``) or declare the classes
        (``classes=``). Text or count columns without either are rejected (see
        :func:`~lightsaber.data.targets.encode_label`).
    positive : scalar, optional
        The value of ``label`` that means the event (``"yes"``, ``"dead"``, ``2``): the label
        becomes 1 for it and 0 for the other value.
    classes : sequence, optional
        The classes of a multi-class ``label``; every value must be one of them.
    duration, event : str, optional
        Time-to-event outcome: follow-up duration (>= 0) and event indicator (1 = event,
        0 = censored). Give both or neither. With ``causes``, ``event`` holds the cause codes.
    causes : mapping {int: str} or sequence of int, optional
        Competing risks: ``event`` holds 0 = censored or the code of the cause that ended
        follow-up, e.g. ``causes={1: "death", 2: "discharge"}`` (names appear in metric names;
        a list of codes names them ``cause1``, ...). Every declared cause must occur; an
        undeclared code is an error. The cohort's task becomes ``"competing"``.
    longitudinal : DataFrame or path, optional
        Long table: id, ``time`` and numeric measurement columns, one row per patient and time.
    time : str, optional
        Time column of ``longitudinal`` (required with it).
    features : list of str or str, optional
        Static feature columns, or a regex matched against column names. Default: every column
        that is not the id, a target or a meta column.
    exclude : list of str
        Columns to drop from the features (e.g. outcome leaks).
    categorical : "infer" or list of str
        Categorical static columns. ``"infer"`` (default) takes string/object/category columns;
        a list makes any other non-numeric column an error.
    longitudinal_features : list of str or str, optional
        Measurement columns of ``longitudinal`` (list or regex). Default: all but id and time.
    meta : list of str
        Columns kept with the cohort but never used as features (e.g. a predefined ``split``
        column, a site or group column).
    sort_longitudinal : bool, default False
        Sort the long table by (id, time) instead of rejecting out-of-order rows.

    Raises
    ------
    CohortError
        With a specific subclass for each problem: missing columns, duplicate ids, id mismatch
        between tables, invalid targets, non-numeric undeclared columns, out-of-order
        longitudinal rows, and empty cohorts. Messages never contain patient identifiers.

    Examples
    --------
    >>> df = pd.DataFrame({"pid": ["a", "b", "c", "d"], "age": [60, 71, 55, 80],
    ...                    "days": [5.0, 12, 30, 2], "died": [1, 0, 0, 1]})
    >>> cohort = Cohort(df, id="pid", duration="days", event="died")
    >>> cohort.n_patients, cohort.feature_names, cohort.task
    (4, ['age'], 'survival')
    >>> cohort.y_survival["event"].tolist()
    [True, False, False, True]

    Competing risks (death vs discharge):

    >>> df["status"] = [1, 2, 0, 2]
    >>> cr = Cohort(df, id="pid", duration="days", event="status",
    ...             causes={1: "death", 2: "discharge"}, exclude=["died"])
    >>> cr.task, cr.y_competing["status"].tolist()
    ('competing', [1, 2, 0, 2])
    """

    def __init__(
        self,
        static: Table | None = None,
        targets: Table | None = None,
        *,
        id: str,
        label: str | None = None,
        positive: Any = None,
        classes: Sequence[Any] | None = None,
        duration: str | None = None,
        event: str | None = None,
        causes: Any = None,
        longitudinal: Table | None = None,
        time: str | None = None,
        features: Sequence[str] | str | None = None,
        exclude: Sequence[str] = (),
        categorical: Sequence[str] | str | None = "infer",
        longitudinal_features: Sequence[str] | str | None = None,
        meta: Sequence[str] = (),
        sort_longitudinal: bool = False,
    ) -> None:
        if (duration is None) != (event is None):
            raise TargetError(
                f"a survival outcome needs both `duration` and `event`; got duration={duration!r}, "
                f"event={event!r}."
            )
        if causes is not None and event is None:
            raise TargetError(
                "`causes=` describes the codes of an `event=` column; declare `duration=` and "
                "`event=` (the column holding 0 = censored, 1, 2, ... = causes) too."
            )
        causes = None if causes is None else normalise_causes(causes)
        if label is None and (positive is not None or classes is not None):
            raise TargetError("`positive=` and `classes=` describe a `label=`; declare the label "
                              "column too.")
        if label is None and duration is None:
            raise TargetError(
                "declare an outcome: `label=` (classification) and/or `duration=` + `event=` "
                "(survival)."
            )
        if static is None and longitudinal is None:
            raise CohortError("a cohort needs `static=` features, `longitudinal=` data, or both.")
        if longitudinal is not None and time is None:
            raise CohortError("`time=` (the time column of the longitudinal table) is required.")
        target_cols = list(dict.fromkeys(c for c in (label, duration, event) if c is not None))
        meta = list(meta)

        static_df = read_table(static, role="static") if static is not None else None
        targets_df = read_table(targets, role="targets") if targets is not None else None
        long_df = (read_table(longitudinal, role="longitudinal")
                   if longitudinal is not None else None)
        for frame, role in ((static_df, "static"), (targets_df, "targets"),
                            (long_df, "longitudinal")):
            if frame is not None:
                require_unique_column_names(frame, role=role)

        # Outcomes: from their own table, or from the static table.
        if targets_df is None:
            if static_df is None:
                raise CohortError("without a static table, pass the outcomes as `targets=`.")
            targets_df = static_df
            target_role = "static"
        else:
            target_role = "targets"
        require_columns(targets_df, [id, *target_cols], role=target_role)
        require_unique_ids(targets_df[id], column=id, role=target_role)

        if static_df is not None:
            require_columns(static_df, [id], role="static")
            if static_df is not targets_df:
                require_unique_ids(static_df[id], column=id, role="static")
            ids = _id_index(static_df[id])
        else:
            ids = _id_index(targets_df[id])
        if len(ids) == 0:
            raise EmptyCohortError("the cohort is empty: the static/target table has no rows.")

        # Align targets to the patient order of the static table.
        if targets_df is not static_df:
            _check_same_patients(ids, _id_index(targets_df[id]), id)
            order = _id_index(targets_df[id]).get_indexer(ids)
            target_frame = targets_df.iloc[order][target_cols].reset_index(drop=True)
        else:
            target_frame = targets_df[target_cols].reset_index(drop=True)

        # Static features.
        if static_df is not None:
            reserved = {id, *target_cols, *meta}
            feats = select_features(static_df, features, reserved=reserved, exclude=exclude,
                                    role="static")
            cats = resolve_categorical(static_df, feats, categorical, role="static")
            static_frame = static_df[feats].reset_index(drop=True)
        else:
            static_frame = pd.DataFrame(index=pd.RangeIndex(len(ids)))
            cats = []
        meta_frame = _meta_columns(meta, static_df, targets_df, ids, id)

        # Longitudinal measurements.
        long_table = None
        if long_df is not None:
            require_columns(long_df, [id, time], role="longitudinal")
            long_feats = select_features(long_df, longitudinal_features, reserved={id, time},
                                         role="longitudinal")
            long_table = LongTable.build(long_df, id_column=id, time=time, features=long_feats,
                                         patient_ids=ids, sort=sort_longitudinal)

        self._init_checked(
            ids=ids.to_numpy(),
            id_column=id,
            static=static_frame,
            categorical=cats,
            targets=target_frame,
            label=label,
            duration=duration,
            event=event,
            meta=meta_frame,
            long_table=long_table,
            positive=positive,
            classes=None if classes is None else list(classes),
            causes=causes,
        )
        self._validate_targets()

    # ------------------------------------------------------------------ construction helpers
    def _init_checked(self, *, ids, id_column, static, categorical, targets, label, duration,
                      event, meta, long_table, positive=None, classes=None,
                      causes=None) -> None:
        self._ids = ids
        self.id_column = id_column
        self._static = static
        self.categorical = list(categorical)
        self._targets = targets
        self.label = label
        self.duration = duration
        self.event = event
        self._meta = meta
        self._long = long_table
        self.positive = positive
        self.classes = classes
        #: ``{code: name}`` of the competing causes, or None for a single event.
        self.causes: dict[int, str] | None = causes

    @classmethod
    def _from_parts(cls, **parts: Any) -> Cohort:
        obj = cls.__new__(cls)
        obj._init_checked(**parts)
        return obj

    def _validate_targets(self) -> None:
        if self.label is not None:
            encode_label(self._targets[self.label], name=self.label, positive=self.positive,
                         classes=self.classes)
        if self.causes is not None:
            make_competing_target(self._targets[self.event], self._targets[self.duration],
                                  causes=self.causes, status_name=self.event,
                                  duration_name=self.duration, require_all_causes=True)
        elif self.duration is not None:
            check_survival_target(self._targets[self.event], self._targets[self.duration],
                                  event_name=self.event, duration_name=self.duration)

    @classmethod
    def from_files(cls, static: Table | None = None, targets: Table | None = None, **kwargs: Any
                   ) -> Cohort:
        """Build a cohort from CSV/Parquet paths (or DataFrames); same arguments as ``Cohort``.

        Examples
        --------
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp()
        >>> pd.DataFrame({"id": [1, 2, 3], "x": [0.1, 0.2, 0.3], "y": [0, 1, 1]}).to_csv(
        ...     os.path.join(d, "c.csv"), index=False)
        >>> Cohort.from_files(os.path.join(d, "c.csv"), id="id", label="y").n_patients
        3
        """
        return cls(static, targets, **kwargs)

    from_frames = from_files

    # ------------------------------------------------------------------ basic access
    @property
    def ids(self) -> np.ndarray:
        """Patient identifiers in cohort order. Never logged or shown by lightsaber."""
        return self._ids

    @property
    def n_patients(self) -> int:
        """Number of patients."""
        return len(self._ids)

    def __len__(self) -> int:
        return self.n_patients

    @property
    def static(self) -> pd.DataFrame:
        """Static feature table (one row per patient, cohort order, no id column)."""
        return self._static

    @property
    def feature_names(self) -> list[str]:
        """Static feature column names."""
        return list(self._static.columns)

    @property
    def targets(self) -> pd.DataFrame:
        """Outcome columns, cohort order."""
        return self._targets

    @property
    def meta(self) -> pd.DataFrame:
        """Meta columns (never features), cohort order."""
        return self._meta

    @property
    def long_table(self) -> LongTable | None:
        """The indexed longitudinal table, or ``None``."""
        return self._long

    @property
    def has_longitudinal(self) -> bool:
        """Whether the cohort has longitudinal measurements."""
        return self._long is not None

    @property
    def longitudinal(self) -> pd.DataFrame | None:
        """The longitudinal rows of this cohort's patients, sorted by patient then time."""
        if self._long is None:
            return None
        return self._long.to_frame(self._ids, self.id_column)

    @property
    def task(self) -> str:
        """The outcome kind: survival, competing, classification or both.

        ``"competing"`` when ``causes`` are declared; ``"both"`` for a label and a single-event
        survival outcome.
        """
        if self.causes is not None:
            return "competing"
        if self.label is not None and self.duration is not None:
            return "both"
        return "survival" if self.duration is not None else "classification"

    @property
    def y_label(self) -> np.ndarray:
        """Classification labels: 0/1 for a binary label (1 = ``positive``), else the classes."""
        if self.label is None:
            raise TargetError("this cohort has no `label`; declare one to use classification.")
        return encode_label(self._targets[self.label], name=self.label, positive=self.positive,
                            classes=self.classes, allow_single_class=True)

    @property
    def y_survival(self) -> np.ndarray:
        """Survival target as a scikit-survival structured array (``event``, ``time``)."""
        if self.duration is None:
            raise TargetError("this cohort has no `duration`/`event`; declare them for survival.")
        if self.causes is not None:
            raise TargetError(
                f"this cohort has competing causes {self.causes} in '{self.event}'; a "
                "single-event survival target would treat the other causes as censoring and "
                "over-state risk. Use a competing-risks model (CauseSpecificCox, FineGray, "
                "DeepHitCompeting) with cohort.y_competing, or, deliberately, a cohort whose event "
                "column is one cause (e.g. status == 1) or any cause (status > 0)."
            )
        ev = self._targets[self.event].to_numpy(dtype=float).astype(bool)
        return make_survival_target(ev, self._targets[self.duration].to_numpy(dtype=float))

    @property
    def y_competing(self) -> np.ndarray:
        """Competing-risks target (``status`` 0 censored / cause code, ``time``).

        See :func:`lightsaber.data.make_competing_target`.
        """
        if self.causes is None:
            raise TargetError(
                "this cohort declares no competing causes; pass causes={1: 'death', ...} with "
                "an event column holding 0 = censored and the cause codes."
            )
        return make_competing_target(self._targets[self.event], self._targets[self.duration],
                                     causes=self.causes, status_name=self.event,
                                     duration_name=self.duration)

    def target(self, kind: str | None = None) -> np.ndarray:
        """The outcome for ``kind``: classification, survival or competing (default: the task)."""
        if kind is None:
            kind = ("competing" if self.causes is not None else
                    "survival" if self.duration is not None else "classification")
        if kind not in {"classification", "survival", "competing"}:
            raise TargetError(
                f"kind must be 'classification', 'survival' or 'competing'; got {kind!r}.")
        if kind == "competing":
            return self.y_competing
        return self.y_survival if kind == "survival" else self.y_label

    def column(self, name: str) -> pd.Series:
        """A target, meta or static column by name (cohort order), for stratifying or grouping."""
        for frame in (self._targets, self._meta, self._static):
            if name in frame.columns:
                return frame[name]
        available = [*self._targets.columns, *self._meta.columns]
        from lightsaber.exceptions import MissingColumnError

        raise MissingColumnError(
            f"column '{name}' is not a target, meta or feature column of the cohort "
            f"(targets/meta: {available}). Declare it in `meta=[...]`."
        )

    # ------------------------------------------------------------------ subsetting
    def subset(self, positions: Sequence[int] | np.ndarray) -> Cohort:
        """Return the patients at ``positions`` as a new cohort (no re-validation of tables).

        The longitudinal table is shared, not copied (see :class:`LongTable`).
        """
        pos = np.asarray(positions, dtype=np.int64)
        if pos.size == 0:
            raise EmptyCohortError("the selection is empty: no patient left in the cohort.")
        if pos.min() < 0 or pos.max() >= self.n_patients:
            raise CohortError(
                f"positions must lie in [0, {self.n_patients}); got min {pos.min()}, "
                f"max {pos.max()}."
            )
        return Cohort._from_parts(
            ids=self._ids[pos],
            id_column=self.id_column,
            static=self._static.iloc[pos].reset_index(drop=True),
            categorical=self.categorical,
            targets=self._targets.iloc[pos].reset_index(drop=True),
            label=self.label,
            duration=self.duration,
            event=self.event,
            meta=self._meta.iloc[pos].reset_index(drop=True),
            long_table=self._long.subset(pos) if self._long is not None else None,
            positive=self.positive,
            classes=self.classes,
            causes=self.causes,
        )

    def filter(self, condition: np.ndarray | pd.Series | Callable[[pd.DataFrame], Any] | str
               ) -> Cohort:
        """Keep the patients for which ``condition`` holds.

        Parameters
        ----------
        condition : bool array, callable or str
            A boolean mask (cohort order), a function of the per-patient table (static, targets
            and meta columns) returning a mask, or a :meth:`pandas.DataFrame.query` string.

        Raises
        ------
        EmptyCohortError
            No patient satisfies the condition.

        Examples
        --------
        >>> df = pd.DataFrame({"id": [1, 2, 3], "age": [20, 70, 80], "y": [0, 1, 0]})
        >>> Cohort(df, id="id", label="y").filter("age >= 65").n_patients
        2
        """
        table = pd.concat([self._static, self._targets, self._meta], axis=1)
        if isinstance(condition, str):
            try:
                mask = table.eval(condition)
            except Exception as exc:  # pandas raises many types for a bad expression
                raise CohortError(f"filter expression {condition!r} failed: {exc}") from exc
        elif callable(condition):
            mask = condition(table)
        else:
            mask = condition
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != (self.n_patients,):
            raise CohortError(
                f"filter must give one boolean per patient ({self.n_patients}); got dtype "
                f"{mask.dtype} and shape {mask.shape}."
            )
        if not mask.any():
            raise EmptyCohortError(
                f"the cohort is empty after filtering: the condition is false for all "
                f"{self.n_patients} patients."
            )
        return self.subset(np.flatnonzero(mask))

    def flatten(self, stats: Sequence[str] = ("last", "mean", "min", "max", "count"), *,
                window: tuple[float | None, float | None] | None = None) -> Cohort:
        """Add per-patient aggregates of the longitudinal measurements as static features.

        Returns a cohort without longitudinal data whose static table gains the columns
        ``{measurement}__{stat}``, ready for scikit-learn models.

        Parameters
        ----------
        stats : sequence of str
            Aggregates among ``last, first, mean, min, max, std, count``.
        window : (start, stop), optional
            Only observations with ``start <= time < stop`` (e.g. the first 48 hours).
        """
        if self._long is None:
            raise CohortError("flatten() needs longitudinal data; this cohort has none.")
        aggregated = self._long.aggregate(stats, window=window)
        static = pd.concat([self._static, aggregated], axis=1)
        return Cohort._from_parts(
            ids=self._ids, id_column=self.id_column, static=static, categorical=self.categorical,
            targets=self._targets, label=self.label, duration=self.duration, event=self.event,
            meta=self._meta, long_table=None, positive=self.positive, classes=self.classes,
            causes=self.causes,
        )

    # ------------------------------------------------------------------ splitting
    def split(self, val: float = 0.15, test: float = 0.15, *, calibration: float = 0.0,
              stratify: str | None = None, group: str | None = None, folds: int | None = None,
              seed: int = 0) -> Splits:
        """Split patients into train/val/test (+ calibration, + k folds); see :meth:`Splits.random`.

        Examples
        --------
        >>> df = pd.DataFrame({"id": range(100), "x": range(100), "y": [0, 1] * 50})
        >>> s = Cohort(df, id="id", label="y").split(val=0.2, test=0.2, stratify="label", seed=1)
        >>> [len(s.indices[k]) for k in ("train", "val", "test")]
        [60, 20, 20]
        """
        from lightsaber.data.splits import Splits

        return Splits.random(self, val=val, test=test, calibration=calibration,
                             stratify=stratify, group=group, folds=folds, seed=seed)

    # ------------------------------------------------------------------ description
    def describe(self) -> dict[str, Any]:
        """Summary statistics (counts and rates only, no row-level data)."""
        from lightsaber.data.describe import describe_cohort

        return describe_cohort(self)

    def missingness(self) -> pd.DataFrame:
        """Per-feature missing rate for static and longitudinal columns, highest first."""
        from lightsaber.data.describe import missingness_table

        return missingness_table(self)

    def __repr__(self) -> str:
        d = self.describe()
        parts = [f"{d['n_patients']} patients", f"{d['n_static_features']} static features"]
        if self._long is not None:
            parts.append(f"{d['n_longitudinal_rows']} longitudinal rows x "
                         f"{d['n_longitudinal_features']} measurements")
        if "label_rate" in d:
            parts.append(f"label '{self.label}' rate {d['label_rate']:.3f}")
        if "event_rate" in d:
            parts.append(f"event rate {d['event_rate']:.3f}")
        for name, count in d.get("cause_counts", {}).items():
            parts.append(f"{name} {count}")
        return f"Cohort({', '.join(parts)})"

    def _repr_html_(self) -> str:
        from lightsaber.data.describe import cohort_html

        return cohort_html(self)


def _id_index(ids: pd.Series) -> pd.Index:
    """The id column as an Index of the column's own dtype (no dtype inference by pandas)."""
    return pd.Index(ids, dtype=ids.dtype)


def _check_same_patients(static_ids: pd.Index, target_ids: pd.Index, id_column: str) -> None:
    only_static = int((~static_ids.isin(target_ids)).sum())
    only_targets = int((~target_ids.isin(static_ids)).sum())
    if only_static or only_targets:
        raise IdMismatchError(
            f"the static and targets tables hold different patients (id column '{id_column}'): "
            f"{only_static} id(s) are in the static table but not in the targets, and "
            f"{only_targets} are in the targets but not in the static table. Restrict both "
            "tables to the same patients (e.g. an inner join on the id) before building the cohort."
        )


def _meta_columns(meta: list[str], static_df: pd.DataFrame | None, targets_df: pd.DataFrame,
                  ids: pd.Index, id_column: str) -> pd.DataFrame:
    """Collect meta columns from the static table, else from the targets table (aligned)."""
    columns = {}
    for name in meta:
        if static_df is not None and name in static_df.columns:
            columns[name] = static_df[name].to_numpy()
        elif name in targets_df.columns:
            order = _id_index(targets_df[id_column]).get_indexer(ids)
            columns[name] = targets_df[name].to_numpy()[order]
        else:
            require_columns(static_df if static_df is not None else targets_df, [name],
                            role="static" if static_df is not None else "targets")
    return pd.DataFrame(columns, index=pd.RangeIndex(len(ids)))
