"""A fitted pipeline: cohort -> (flatten) -> preprocessing -> model, usable on new data.

This is what ``ls.fit`` returns in ``Run.pipeline`` and what is logged to MLflow as a pyfunc
model, so predictions on a new cohort apply exactly the training preprocessing.
"""

from __future__ import annotations

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

__all__ = ["FittedPipeline", "prediction_times"]

#: Value of every categorical column in the logged input example (never a training category).
EXAMPLE_CATEGORY = "example"


def prediction_times(times: Sequence[float] | float | None, task: str) -> np.ndarray | None:
    """Validated, sorted, unique prediction times (``None`` when none are asked for).

    Examples
    --------
    >>> prediction_times([30, 7, 30], "survival").tolist()
    [7.0, 30.0]
    """
    from lightsaber.exceptions import PredictionError

    if times is None:
        return None
    try:
        values = np.atleast_1d(np.asarray(times, dtype=float))
    except (TypeError, ValueError) as err:
        raise PredictionError(f"times must be numbers; got {times!r}.") from err
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)) \
            or np.any(values < 0):
        raise PredictionError(
            f"times must be a non-empty list of finite, non-negative numbers; got {times!r}.")
    if task == "competing":
        raise PredictionError(
            "`times` is not yet supported for competing-risks pipelines (the output is the "
            "risk of the model's first cause); for cumulative incidences call "
            "pipeline.model.predict_cumulative_incidence(pipeline.transform(cohort), times, "
            "cause=k).")
    if task != "survival":
        raise PredictionError("`times` applies to survival models; this model is a classifier.")
    return np.unique(values)


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
        horizons); set by ``ls.fit(..., calibrate=...)``.
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
        :class:`~lightsaber.models.FineGray`, its cause).
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
        return self.model_input(self._features(static, long_table))

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
        static = pd.concat([pd.Series(cohort.ids, name=self.id_column),
                            cohort.static[self.static_columns]], axis=1)
        if not self.longitudinal_columns:
            return static[self.static_columns]
        long = cohort.longitudinal[[self.id_column, self.time_column,
                                    *self.longitudinal_columns]]
        return long.merge(static, on=self.id_column, how="left", sort=False)

    def predict_frame(self, frame: pd.DataFrame, *, times: Any = None) -> pd.DataFrame:
        """Predictions for a raw DataFrame, one row per patient (see :meth:`transform_frame`).

        The pyfunc's output: ``probability`` / ``probability_<class>`` (classification) or
        ``risk`` (survival; competing risks: the risk of the model's first cause). Survival:
        with ``times``, ``survival_<t>`` and ``event_probability_<t>`` at each; without, the
        recalibrated event probabilities at the calibrator's horizons when the pipeline holds
        one.
        """
        times = prediction_times(times, self.task)
        return self.prediction_frame(self.transform_frame(frame), times=times)

    def prediction_frame(self, X: Any, *, times: np.ndarray | None = None,
                         horizons: bool = True) -> pd.DataFrame:
        """Prediction columns for a model input (see :meth:`predict_frame`).

        ``times`` (survival): curves at those times; else, with ``horizons``, the calibrator's
        event probabilities at its horizons.
        """
        prediction = self.predict_from_input(X)
        if self.task == "competing":
            return pd.DataFrame({"risk": prediction})
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
        out = {f"survival_{t:g}": survival[:, j] for j, t in enumerate(times)}
        out.update({f"event_probability_{t:g}": 1.0 - survival[:, j]
                    for j, t in enumerate(times)})
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
    """Raw columns a pipeline needs from a cohort."""
    long_cols = list(cohort.long_table.features) if cohort.has_longitudinal and (
        sequences or flatten is not None) else []
    dtypes = {c: str(cohort.static[c].dtype) for c in cohort.feature_names}
    if long_cols:
        frame = cohort.long_table.frame
        dtypes.update({c: str(frame[c].dtype) for c in
                       [cohort.long_table.time, *long_cols]})
    return {"static_columns": list(cohort.feature_names), "longitudinal_columns": long_cols,
            "dtypes": dtypes}
