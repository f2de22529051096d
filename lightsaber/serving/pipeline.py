"""A fitted pipeline: cohort -> (flatten) -> preprocessing -> model, usable on new data.

This is what ``ls.fit`` returns in ``Run.pipeline`` and what is logged to MLflow as a pyfunc
model, so predictions on a new cohort apply exactly the training preprocessing.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from lightsaber.calibration.scores import model_scores
from lightsaber.data.cohort import Cohort
from lightsaber.data.longitudinal import LongTable
from lightsaber.data.preprocess import Features, Preprocessor

__all__ = ["FittedPipeline", "check_prediction_times", "prediction_times", "time_labels"]

#: Value of every categorical column in the logged input example (never a training category).
EXAMPLE_CATEGORY = "example"


def check_prediction_times(times: Any) -> np.ndarray:
    """Prediction times as a sorted array of unique values, or a :class:`PredictionError`.

    ``times`` is a number or a list (tuple, array, Series) of numbers: each finite and
    non-negative, booleans and text refused. The error says which entry is wrong and why,
    without quoting any entry (``times`` built from a patient column would otherwise reach a
    log or an HTTP error body).

    Parameters
    ----------
    times : float or sequence of float
        Times at which curves are asked for, in the cohort's time unit.

    Returns
    -------
    numpy.ndarray
        Sorted unique times (float64).

    Raises
    ------
    PredictionError
        Empty, not numbers, NaN, infinite or negative.

    Examples
    --------
    >>> check_prediction_times([30, 7, 30]).tolist()
    [7.0, 30.0]
    >>> check_prediction_times(["30", 90])
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.PredictionError: times must be ...; times[0] is a str, not a number. ...
    """
    from lightsaber.exceptions import PredictionError

    def refuse(problem: str) -> PredictionError:
        return PredictionError(
            "times must be a non-empty list of finite, non-negative numbers (in the cohort's "
            f"time unit); {problem}. Pass e.g. times=[30, 90].")

    if _is_number(times):
        values = [times]
    elif isinstance(times, (str, bytes, Mapping)):
        raise refuse(f"got a {type(times).__name__}")
    elif isinstance(times, np.ndarray):
        if times.ndim > 1:
            raise refuse(f"got an array of shape {times.shape}")
        values = times.reshape(-1).tolist()
    else:
        try:
            values = list(times)
        except TypeError:
            raise refuse(f"got a {type(times).__name__}") from None
    if not values:
        raise refuse("got none")
    for i, value in enumerate(values):
        if not _is_number(value):
            raise refuse(f"times[{i}] is a {type(value).__name__}, not a number")
    grid = np.asarray(values, dtype=float)
    bad = np.flatnonzero(~np.isfinite(grid))
    if bad.size:
        raise refuse(f"times[{bad[0]}] is not finite (NaN or infinite)")
    bad = np.flatnonzero(grid < 0)
    if bad.size:
        raise refuse(f"times[{bad[0]}] is negative")
    return np.unique(grid)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def prediction_times(times: Sequence[float] | float | None, task: str) -> np.ndarray | None:
    """Validated, sorted, unique prediction times (``None`` when none are asked for).

    Survival models give survival curves at them, competing-risks models each cause's
    cumulative incidence; a classifier has no times (see :func:`check_prediction_times` for
    what a valid ``times`` is).

    Examples
    --------
    >>> prediction_times([30, 7, 30], "survival").tolist()
    [7.0, 30.0]
    >>> prediction_times([30], "competing").tolist()
    [30.0]
    """
    from lightsaber.exceptions import PredictionError

    if times is None:
        return None
    grid = check_prediction_times(times)
    if task not in ("survival", "competing"):
        raise PredictionError("`times` applies to survival models and competing-risks models; "
                              "this model is a classifier. Drop `times`.")
    return grid


def time_labels(times: np.ndarray) -> list[str]:
    """Column suffixes of prediction times: ``f"{t:g}"``, refusing two times with one label.

    Examples
    --------
    >>> time_labels(np.array([2.5, 30.0, 365.25]))
    ['2.5', '30', '365.25']
    """
    from lightsaber.exceptions import PredictionError

    labels = [f"{t:g}" for t in times]
    if len(set(labels)) < len(labels):
        seen = [label for label in labels if labels.count(label) > 1][0]
        raise PredictionError(
            f"two of the requested times would both be labelled {seen!r} in the column names "
            "(6 significant digits); ask for times that differ in their first 6 digits.")
    return labels


@dataclass(kw_only=True)
class FittedPipeline:
    """Preprocessing and a fitted model, with the schema needed to apply them to new data.

    Attributes
    ----------
    preprocessor : Preprocessor
        Fitted on the training split.
    model : estimator
        Fitted model (scikit-learn, scikit-survival or a lightsaber net).
    task : {"classification", "survival", "competing"}
    flatten : dict or None
        ``{"stats": ..., "window": ...}`` when longitudinal data were aggregated into static
        features for a model that does not read sequences.
    sequences : bool
        Whether the model reads padded sequences.
    id_column, time_column : str or None
        Cohort identifier and longitudinal time columns.
    static_columns, longitudinal_columns : list of str
        Raw input columns the pipeline needs.
    calibrator : object or None
        A fitted :class:`~lightsaber.calibration.ProbabilityCalibrator` (classification: every
        prediction is calibrated) or :class:`~lightsaber.calibration.SurvivalRecalibrator`
        (survival: :meth:`predict_frame` adds recalibrated event probabilities at its
        horizons) or :class:`~lightsaber.calibration.CompetingRecalibrator` (competing risks:
        the cumulative incidences at ``times`` are recalibrated); set by
        ``ls.fit(..., calibrate=...)``.
    causes : dict of int to str or None
        Competing risks: the cohort's ``{code: name}`` (``Cohort(causes=...)``), which names
        the ``risk_<name>`` and ``cif_<name>_<t>`` columns of :meth:`predict_frame`; ``None``
        for other tasks (a competing pipeline without it names cause ``k`` ``cause<k>``).
    """

    preprocessor: Preprocessor
    model: Any
    task: str
    flatten: dict[str, Any] | None
    sequences: bool
    id_column: str
    time_column: str | None
    static_columns: list[str]
    longitudinal_columns: list[str] = field(default_factory=list)
    dtypes: dict[str, str] = field(default_factory=dict)
    calibrator: Any = None
    causes: dict[int, str] | None = None
    #: The :class:`~lightsaber.data.LandmarkDesign` (as a dict) of a landmark model, else None.
    landmark_design: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.task != "competing" or not self.causes:
            self.causes = None
        else:
            self.causes = {int(k): str(v) for k, v in self.causes.items()}

    # ------------------------------------------------------------------ inputs
    def _prepare(self, cohort: Cohort) -> Cohort:
        if not isinstance(cohort, Cohort):
            from lightsaber.exceptions import InputTypeError

            hint = (" For a DataFrame in the pyfunc input format (one row per patient, or the "
                    "long format for longitudinal models) use pipeline.predict_frame(df), or "
                    "lightsaber.serving.predict_cohort(run, df), which also checks the schema."
                    if isinstance(cohort, pd.DataFrame) else "")
            raise InputTypeError(f"the pipeline's predict/transform take a lightsaber Cohort; "
                                 f"got {type(cohort).__name__}.{hint}")
        if self.flatten is not None and cohort.has_longitudinal:
            return cohort.flatten(**self.flatten)
        return cohort

    def model_input(self, features: Features) -> Any:
        """Arrange preprocessed features the way the model reads them."""
        if self.sequences:
            seqs = features.sequences
            return {"values": seqs.values, "lengths": seqs.lengths,
                    "static": features.static if features.static.shape[1] else None}
        return features.static

    def transform(self, cohort: Cohort) -> Any:
        """Model input for a cohort (same preprocessing as training)."""
        return self.model_input(self.preprocessor.transform(self._prepare(cohort)))

    # ------------------------------------------------------------------ predictions
    def predict(self, cohort: Cohort) -> np.ndarray:
        """Risk (survival), positive-class probability (binary classification).

        Competing risks: the model's ``predict(X)``, the risk of its first cause (for
        :class:`~lightsaber.models.FineGray`, its cause); :meth:`predict_frame` gives the risk
        and cumulative incidences of every cause.
        """
        return self.predict_from_input(self.transform(cohort))

    def predict_from_input(self, X: Any) -> np.ndarray:
        """Prediction from an already preprocessed model input."""
        if self.task in ("survival", "competing"):
            return np.asarray(self.model.predict(X), dtype=float)
        if self.calibrator is None:
            proba = np.asarray(self.model.predict_proba(X), dtype=float)
        else:
            proba = np.asarray(self.calibrator.predict_proba(model_scores(self.model, X)),
                               dtype=float)
        return proba[:, 1] if proba.shape[1] == 2 else proba

    # ------------------------------------------------------------------ raw frames (pyfunc)
    def transform_frame(self, frame: pd.DataFrame) -> Any:
        """Model input from one DataFrame (the pyfunc input format).

        Static-only pipelines take one row per patient with the static columns. Pipelines that
        use longitudinal data take the long format: ``id``, ``time``, the measurements, and the
        static columns repeated on each row of a patient.
        """
        if not isinstance(frame, pd.DataFrame):
            from lightsaber.exceptions import InputTypeError

            hint = (" For a Cohort use pipeline.predict(cohort)." if isinstance(frame, Cohort)
                    else " Build one with pandas.DataFrame(...) or pipeline.input_frame(cohort).")
            raise InputTypeError(f"predict_frame/transform_frame take a pandas DataFrame; got "
                                 f"{type(frame).__name__}.{hint}")
        # Missing and mistyped columns by name and dtype only: a value must never reach an
        # error message (scikit-learn's own conversion error quotes it).
        from lightsaber.serving.schema import check_finite, check_schema

        check_schema(self, frame)
        check_finite(self, frame)
        if not self.longitudinal_columns:
            static = frame[self.static_columns].reset_index(drop=True)
            return self.model_input(self._features(static, None))
        ids = pd.Index(pd.unique(frame[self.id_column]))
        static = (frame.groupby(self.id_column, sort=False)[self.static_columns].first()
                  .reindex(ids).reset_index(drop=True))
        long_table = LongTable.build(frame, id_column=self.id_column, time=self.time_column,
                                     features=self.longitudinal_columns, patient_ids=ids,
                                     sort=True)
        if self.landmark_design is not None:
            long_table = self._history(long_table, static)
        return self.model_input(self._features(static, long_table))

    def _history(self, long_table: LongTable, static: pd.DataFrame) -> LongTable:
        """Only the measurements at or before each patient's ``landmark_time`` (as in training).

        With a window ``history``, also after ``landmark_time - history``. A patient left with
        no measurement is kept (no observation, as a landmark row without history).
        """
        from lightsaber.data.landmarks import LANDMARK_COLUMN

        at = static[LANDMARK_COLUMN].to_numpy(dtype=np.float64)[long_table.patient]
        times = long_table.times()
        keep = times <= at
        history = self.landmark_design.get("history", "all")
        if history != "all":
            keep &= times > at - float(history)
        return LongTable(long_table.frame, long_table.time, long_table.features,
                         long_table.rows[keep], long_table.patient[keep], long_table.n_patients)

    def _check_at(self, at: Any) -> None:
        from lightsaber.exceptions import PredictionError

        if self.landmark_design is None:
            raise PredictionError(
                "`at` (a landmark time) applies to landmark models only; this model was not "
                "fitted on a LandmarkCohort. Drop `at`, or fit on landmark_cohort(...).")
        if isinstance(at, bool) or not isinstance(at, (int, float, np.integer, np.floating)) \
                or not np.isfinite(at) or at < 0:
            raise PredictionError(f"`at` must be a finite landmark time >= 0; got {at!r}.")
        trained = self.landmark_design.get("times") or []
        if trained and not (min(trained) <= float(at) <= max(trained)):
            import warnings

            from lightsaber.exceptions import LightsaberWarning

            warnings.warn(f"landmark at={float(at):g} lies outside the landmarks the model was "
                          f"fitted on ({min(trained):g} to {max(trained):g}): an extrapolation.",
                          LightsaberWarning, stacklevel=3)

    def predict_at(self, cohort: Cohort, at: Any, *, times: Any = None) -> pd.DataFrame:
        """Predictions from landmark ``at`` for every patient of a patient-level ``cohort``.

        The cohort's measurements after ``at`` are ignored, exactly as when the landmark
        rows were built for training (:func:`~lightsaber.data.landmark_features`). Columns as
        :meth:`predict_frame`; ``times`` count from the landmark.
        """
        from lightsaber.data.landmarks import LandmarkDesign, landmark_features

        self._check_at(at)
        design = LandmarkDesign(**{**self.landmark_design,
                                   "times": tuple(self.landmark_design["times"])})
        rows = landmark_features(cohort, float(at), design)
        times = prediction_times(times, self.task)
        return self.prediction_frame(self.transform(rows), times=times)

    def at_landmark(self, frame: pd.DataFrame, at: Any) -> pd.DataFrame:
        """The input ``frame`` as seen at landmark ``at``: ``landmark_time`` set to ``at``.

        Measurements after ``at`` are then ignored by :meth:`transform_frame`. Only for
        pipelines fitted on a :class:`~lightsaber.data.LandmarkCohort`.

        Raises
        ------
        PredictionError
            The pipeline is not a landmark model, or ``at`` is not a finite time >= 0.
        """
        from lightsaber.data.landmarks import LANDMARK_COLUMN

        self._check_at(at)
        return frame.assign(**{LANDMARK_COLUMN: float(at)})

    def _features(self, static: pd.DataFrame, long_table: LongTable | None) -> Features:
        pre = self.preprocessor
        if self.flatten is not None and long_table is not None:
            static = pd.concat([static, long_table.aggregate(**self.flatten)], axis=1)
        table = pre.tabular_.transform(static)
        seqs = None
        if pre.sequence_ is not None:
            seqs = pre.sequence_.transform(SimpleNamespace(long_table=long_table))
        return Features(table, list(pre.tabular_.get_feature_names_out()), seqs)

    def input_frame(self, cohort: Cohort) -> pd.DataFrame:
        """A cohort in the one-DataFrame input format of :meth:`predict_frame` (and pyfunc).

        Contains the cohort's identifiers (needed to group the long format): do not log it.
        """
        columns = self.static_columns
        if self.landmark_design is not None:  # a patient-level cohort: `at` gives the landmark
            columns = [c for c in columns if c in cohort.static.columns]
        static = pd.concat([pd.Series(cohort.ids, name=self.id_column),
                            cohort.static[columns]], axis=1)
        if not self.longitudinal_columns:
            return static[columns]
        long = cohort.longitudinal[[self.id_column, self.time_column,
                                    *self.longitudinal_columns]]
        return long.merge(static, on=self.id_column, how="left", sort=False)

    def predict_frame(self, frame: pd.DataFrame, *, times: Any = None,
                      at: Any = None) -> pd.DataFrame:
        """Predictions for a raw DataFrame, one row per patient (see :meth:`transform_frame`).

        This is the pyfunc's output (what ``mlflow models serve`` answers). Its columns:

        * classification: ``probability`` (binary) or ``probability_<class>`` (multi-class);
        * survival: ``risk`` (higher = earlier event); with ``times``, ``survival_<t>`` for
          each time, then ``event_probability_<t>`` (``1 - survival_<t>``); without, the
          recalibrated event probabilities at the calibrator's horizons when the pipeline
          holds one;
        * competing risks, for each cause the model predicts (every cause of a
          :class:`~lightsaber.models.CauseSpecificCox` or a deep competing model, the one
          cause of a :class:`~lightsaber.models.FineGray`), named as in
          :attr:`cause_names`: ``risk_<name>`` (the model's ``predict(X, cause=k)``, higher =
          earlier event of that cause); with ``times``, ``cif_<name>_<t>`` for each time, the
          cumulative incidence ``P(T <= t, cause = k | x)``, recalibrated (on the requested
          times) when the pipeline holds a
          :class:`~lightsaber.calibration.CompetingRecalibrator`; the risks are the model's,
          never recalibrated (as the survival ``risk``). Risks come first in cause order, then
          the incidences cause by cause, each in increasing ``t``.

        ``<t>`` is the time as ``f"{t:g}"`` (``30``, ``2.5``); ``times`` are sorted and
        repeated times dropped.

        Parameters
        ----------
        frame : pandas.DataFrame
            The pyfunc input format (see :meth:`transform_frame`).
        times : float or sequence of float, optional
            Survival and competing-risks models: finite, non-negative times (see
            :func:`check_prediction_times`). For a landmark model, times from the landmark.
        at : float, optional
            Landmark models: predict from landmark ``at`` (see :meth:`at_landmark`), using
            the measurements up to ``at`` only. Without it, each row's ``landmark_time``.

        Returns
        -------
        pandas.DataFrame
            One row per patient, in input order.
        """
        times = prediction_times(times, self.task)
        if at is not None:
            frame = self.at_landmark(frame, at)
        return self.prediction_frame(self.transform_frame(frame), times=times)

    @property
    def cause_names(self) -> dict[int, str]:
        """``{code: name}`` of the causes a competing-risks pipeline predicts, in cause order.

        Every code of the model's ``causes_`` (a :class:`~lightsaber.models.FineGray`: its
        ``cause`` only), named from :attr:`causes`, else ``cause<k>``; empty for other tasks.
        """
        if self.task != "competing":
            return {}
        from lightsaber.models.protocol import predicted_causes

        names = self.causes or {}
        return {k: names.get(k, f"cause{k}") for k in predicted_causes(self.model)}

    def prediction_frame(self, X: Any, *, times: np.ndarray | None = None,
                         horizons: bool = True) -> pd.DataFrame:
        """Prediction columns for a model input (see :meth:`predict_frame`).

        ``times`` (survival, competing risks): curves at those times; else, with ``horizons``,
        the calibrator's event probabilities at its horizons (survival).
        """
        if self.task == "competing":
            return self._competing_frame(X, times)
        prediction = self.predict_from_input(X)
        if self.task != "survival":
            if prediction.ndim == 1:
                return pd.DataFrame({"probability": prediction})
            classes = getattr(self.model, "classes_", range(prediction.shape[1]))
            return pd.DataFrame(prediction, columns=[f"probability_{c}" for c in classes])
        out = pd.DataFrame({"risk": prediction})
        if times is not None:
            return pd.concat([out, self._curve_frame(X, prediction, times)], axis=1)
        if horizons and self.calibrator is not None:
            out = pd.concat([out, self.calibrator.event_probability_frame(self.model, X)],
                            axis=1)
        return out

    def _competing_frame(self, X: Any, times: np.ndarray | None) -> pd.DataFrame:
        """``risk_<name>`` of each predicted cause, then its ``cif_<name>_<t>`` at ``times``."""
        names = self.cause_names
        out = {f"risk_{name}": self._cause_risk(X, code, single=len(names) == 1)
               for code, name in names.items()}
        if times is not None:
            labels = time_labels(times)
            curves = {code: np.asarray(self.model.predict_cumulative_incidence(
                X, times, cause=code), dtype=float) for code in names}
            if self.calibrator is not None:  # a CompetingRecalibrator, fitted by ls.fit
                curves = self.calibrator.transform(curves, times=times)
            for code, name in names.items():
                cif = np.clip(np.asarray(curves[code], dtype=float), 0.0, 1.0)
                out.update({f"cif_{name}_{label}": cif[:, j] for j, label in enumerate(labels)})
        return pd.DataFrame(out)

    def _cause_risk(self, X: Any, code: int, *, single: bool) -> np.ndarray:
        """The model's risk score for one cause (higher = earlier event of that cause)."""
        import inspect

        if single:  # a one-cause model (FineGray): its predict is that cause's risk
            return np.asarray(self.model.predict(X), dtype=float)
        try:
            takes_cause = "cause" in inspect.signature(self.model.predict).parameters
        except (TypeError, ValueError):
            takes_cause = False
        if not takes_cause:
            from lightsaber.exceptions import PredictionError

            raise PredictionError(
                f"{type(self.model).__name__}.predict takes no `cause`, so the risk of each of "
                f"its {len(self.cause_names)} causes cannot be asked for; give the model a "
                "predict(X, cause=None) as lightsaber's CauseSpecificCox has.")
        return np.asarray(self.model.predict(X, cause=code), dtype=float)

    def _curve_frame(self, X: Any, risk: np.ndarray, times: np.ndarray) -> pd.DataFrame:
        """``survival_<t>`` then ``event_probability_<t>`` columns (recalibrated if calibrated)."""
        from lightsaber.exceptions import PredictionError
        from lightsaber.models.protocol import survival_prediction

        if self.calibrator is not None and hasattr(self.calibrator, "predict_survival"):
            # The same recalibrated curves the event_probability_<h> columns come from.
            survival = self.calibrator.predict_survival(self.model, X, times)
        else:
            curves = survival_prediction(self.model, X, risk, times)
            if curves.survival is None:
                raise PredictionError(
                    f"{type(self.model).__name__} predicts a risk score but no survival curves, "
                    "so survival probabilities at times cannot be given; drop `times` or use a "
                    "model with survival curves (CoxPH, random survival forest, lightsaber "
                    "SurvivalNet).")
            survival = curves.survival
        survival = np.clip(np.asarray(survival, dtype=float), 0.0, 1.0)
        labels = time_labels(times)
        out = {f"survival_{t}": survival[:, j] for j, t in enumerate(labels)}
        out.update({f"event_probability_{t}": 1.0 - survival[:, j]
                    for j, t in enumerate(labels)})
        return pd.DataFrame(out)

    def example_frame(self) -> pd.DataFrame:
        """A synthetic input example built from training statistics, never from a real row."""
        pre = self.preprocessor.tabular_
        values: dict[str, Any] = {}
        ct = pre.transformer_
        numeric = ct.named_transformers_.get("numeric")
        medians = (numeric.named_steps["impute"].statistics_ if numeric is not None
                   else np.zeros(0))
        for name, value in zip(pre.numeric_, medians, strict=False):
            values[name] = float(value)
        for name in pre.categorical_:
            # Not a training category: one seen in a single patient would identify them. An
            # unseen value is valid input (encoded as all zeros, like any new category).
            values[name] = EXAMPLE_CATEGORY
        static = {c: values.get(c, 0.0) for c in self.static_columns}
        if not self.longitudinal_columns:
            return self._with_training_dtypes(pd.DataFrame([static]))
        means = (self.preprocessor.sequence_.mean_ if self.preprocessor.sequence_ is not None
                 else np.zeros(len(self.longitudinal_columns)))
        rows = []
        for step in range(2):
            row = {self.id_column: "example", self.time_column: float(step), **static}
            row.update({c: float(m) for c, m in zip(self.longitudinal_columns, means,
                                                     strict=False)})
            rows.append(row)
        return self._with_training_dtypes(pd.DataFrame(rows))

    def _with_training_dtypes(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Cast example columns to the dtypes seen in training (so the signature matches)."""
        for column, dtype in self.dtypes.items():
            if column in frame.columns:
                kind = np.dtype(dtype) if dtype not in ("object", "category", "str") else None
                if kind is not None and kind.kind in "iub":
                    frame[column] = np.round(frame[column].astype(float)).astype(kind)
                elif kind is not None:
                    frame[column] = frame[column].astype(kind)
        return frame


def describe_inputs(cohort: Cohort, flatten: Mapping[str, Any] | None, sequences: bool
                    ) -> dict[str, Any]:
    """Raw columns a pipeline needs from a cohort, with their dtypes and the cohort's causes.

    ``causes`` (``{code: name}`` of a competing-risks cohort, else ``None``) names the
    competing-risks prediction columns; :class:`FittedPipeline` keeps it for that task only.
    """
    long_cols = list(cohort.long_table.features) if cohort.has_longitudinal and (
        sequences or flatten is not None) else []
    dtypes = {c: str(cohort.static[c].dtype) for c in cohort.feature_names}
    if long_cols:
        frame = cohort.long_table.frame
        dtypes.update({c: str(frame[c].dtype) for c in
                       [cohort.long_table.time, *long_cols]})
    causes = getattr(cohort, "causes", None)
    return {"static_columns": list(cohort.feature_names), "longitudinal_columns": long_cols,
            "dtypes": dtypes, "causes": dict(causes) if causes else None}
