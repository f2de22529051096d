"""Predictions on new cohorts with a logged or registered pipeline.

The input is the one-DataFrame format of the pyfunc model (see
:meth:`~lightsaber.serving.pipeline.FittedPipeline.transform_frame`): one row per patient
with the static columns for static models; the long format (``id``, ``time``, measurements,
static columns repeated on each row of a patient) for models that use longitudinal data.
The same preprocessing, model and calibrator as in training are applied: they are all inside
the pipeline.

The output holds one row per patient, in input order (first appearance of each id for the
long format), starting with the id column when the input has one. Predictions are written to
the user's own file, never to the tracking store.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lightsaber.data.cohort import Cohort
from lightsaber.exceptions import EmptyCohortError, PredictionError
from lightsaber.serving.pipeline import FittedPipeline, prediction_times
from lightsaber.serving.schema import check_schema

__all__ = ["OUTPUT_FORMATS", "predict_cohort", "predict_file", "predict_patient"]

#: File extensions :func:`predict_file` can write.
OUTPUT_FORMATS = (".csv", ".parquet", ".pq")
#: Identifier given to the patient of :func:`predict_patient` in the long format.
PATIENT_ID = "patient"


def _pipeline(model: Any, tracking_uri: str | None) -> FittedPipeline:
    if isinstance(model, FittedPipeline):
        return model
    if isinstance(getattr(model, "pipeline", None), FittedPipeline):  # an ls.fit Run
        return model.pipeline
    if isinstance(model, (str, os.PathLike)):
        from lightsaber.serving.load import load_pipeline

        return load_pipeline(str(model), tracking_uri=tracking_uri)
    raise PredictionError(
        f"model must be a FittedPipeline, an ls.fit Run or a model URI; got "
        f"{type(model).__name__}.")


def predict_cohort(model: Any, data: pd.DataFrame | Cohort | str | os.PathLike,
                   *, times: Sequence[float] | float | None = None,
                   tracking_uri: str | None = None) -> pd.DataFrame:
    """Predict for every patient of a new cohort.

    Parameters
    ----------
    model : FittedPipeline, Run or str
        A pipeline, an ``ls.fit`` result, or a model URI (run id, ``runs:/RUN_ID/model``,
        ``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, local model folder).
    data : DataFrame, Cohort or path
        The new patients, in the pyfunc input format (a CSV/Parquet path is read), or a
        :class:`~lightsaber.Cohort`. Checked against the training schema first.
    times : sequence of float, optional
        Survival models: also give ``survival_<t>`` (probability of being event-free at
        ``t``) and ``event_probability_<t>`` (``1 - survival_<t>``) for each time, in
        increasing order. Competing-risks models: ``cif_<cause name>_<t>``, the cumulative
        incidence of each cause the model predicts. Finite, non-negative numbers.
    tracking_uri : str, optional
        Store to load a model URI from.

    Returns
    -------
    pandas.DataFrame
        One row per patient: the id column when the input has one, then ``probability``
        (binary), ``probability_<class>`` (multi-class), ``risk`` (survival; higher means an
        earlier event) or ``risk_<cause name>`` per cause (competing risks), then the columns
        for ``times`` (see :meth:`~lightsaber.serving.FittedPipeline.predict_frame`).

    Raises
    ------
    SchemaMismatchError
        Missing or mistyped columns, all listed.
    PredictionError
        ``times`` for a classifier or for a survival model without curves, bad ``times``, or
        infinite values in a required column.
    EmptyCohortError
        The input has no rows.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> import lightsaber as ls
    >>> cohort = ls.datasets.load_sample_mortality(n_patients=200)
    >>> splits = cohort.split(val=0.2, test=0.2, stratify="label", seed=0)
    >>> run = ls.fit(LogisticRegression(max_iter=500), cohort, splits, track=False)
    >>> frame = run.pipeline.input_frame(cohort.subset(splits.test))
    >>> out = predict_cohort(run, frame)
    >>> out.columns.tolist()
    ['patient_id', 'probability']
    >>> predict_cohort(run, frame.drop(columns=["age"]))
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.SchemaMismatchError: the data do not match the schema ...
      missing column(s) (1): 'age'
    ...
    """
    pipeline = _pipeline(model, tracking_uri)
    times = prediction_times(times, pipeline.task)
    if isinstance(data, Cohort):
        _check_cohort(pipeline, data)
        ids = pd.Series(data.ids, name=pipeline.id_column)
        X = pipeline.transform(data)
    else:
        from lightsaber.data.io import read_table

        frame = read_table(data, role="prediction input")
        if len(frame) == 0:
            raise EmptyCohortError("the prediction input has no rows: nothing to predict.")
        X = pipeline.transform_frame(frame)  # checks the schema and finite values first
        ids = None
        if pipeline.longitudinal_columns:
            ids = pd.Series(pd.unique(frame[pipeline.id_column]), name=pipeline.id_column)
        elif pipeline.id_column in frame.columns:
            ids = frame[pipeline.id_column].reset_index(drop=True)
    parts = [pipeline.prediction_frame(X, times=times, horizons=False)]
    if ids is not None:
        parts.insert(0, ids.to_frame())
    return pd.concat(parts, axis=1)


def _check_cohort(pipeline: FittedPipeline, cohort: Cohort) -> None:
    columns = {c: cohort.static[c] for c in cohort.static.columns}
    if cohort.has_longitudinal:
        long = cohort.long_table.frame
        columns.update({c: long[c] for c in long.columns})
    columns[pipeline.id_column] = pd.Series(cohort.ids)
    check_schema(pipeline, columns)


def predict_patient(model: Any, static: Mapping[str, Any] | None = None, *,
                    longitudinal: pd.DataFrame | Sequence[Mapping[str, Any]] | None = None,
                    times: Sequence[float] | float | None = None,
                    tracking_uri: str | None = None) -> pd.Series:
    """Predict for one patient given as plain values.

    Parameters
    ----------
    model : FittedPipeline, Run or str
        As in :func:`predict_cohort`.
    static : mapping, optional
        Static feature values (``{"age": 71, "sex": "f", ...}``); missing numeric values may
        be ``None`` or NaN (imputed as in training).
    longitudinal : DataFrame or sequence of mappings, optional
        The patient's measurements, one row per time (the time column and measurement
        columns); required when the model uses longitudinal data.
    times : sequence of float, optional
        Survival models: survival probabilities at these times; competing-risks models: each
        cause's cumulative incidence at them (as in :func:`predict_cohort`).

    Returns
    -------
    pandas.Series
        The prediction columns of :func:`predict_cohort` for this patient.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> import lightsaber as ls
    >>> cohort = ls.datasets.load_sample_mortality(n_patients=200)
    >>> splits = cohort.split(val=0.2, test=0.2, stratify="label", seed=0)
    >>> run = ls.fit(LogisticRegression(max_iter=500), cohort, splits, track=False)
    >>> vitals = [{"hour": 0.0, "heart_rate": 88.0}, {"hour": 4.0, "heart_rate": 97.0}]
    >>> p = predict_patient(run, {"age": 71.0, "sex": "female", "admission_type": "emergency",
    ...                           "bmi": 27.0, "n_comorbidities": 2}, longitudinal=vitals)
    >>> bool(0.0 <= p["probability"] <= 1.0)
    True
    """
    pipeline = _pipeline(model, tracking_uri)
    values = dict(static or {})
    if pipeline.longitudinal_columns:
        if longitudinal is None or len(longitudinal) == 0:
            raise PredictionError(
                "this model uses longitudinal data: pass the patient's measurements as "
                f"`longitudinal=` (rows with column {pipeline.time_column!r} and any of "
                f"{pipeline.longitudinal_columns}).")
        long = pd.DataFrame(list(longitudinal) if not isinstance(longitudinal, pd.DataFrame)
                            else longitudinal).reset_index(drop=True)
        for column in pipeline.longitudinal_columns:
            if column not in long.columns:
                long[column] = np.nan  # not measured: imputed as in training
        long[pipeline.id_column] = PATIENT_ID
        for column, value in values.items():
            long[column] = value
        frame = _typed(pipeline, long)
    else:
        frame = _typed(pipeline, pd.DataFrame([values]))
    out = predict_cohort(pipeline, frame, times=times)
    return out.drop(columns=[pipeline.id_column], errors="ignore").iloc[0]


def _typed(pipeline: FittedPipeline, frame: pd.DataFrame) -> pd.DataFrame:
    """Give all-missing numeric columns of a hand-built frame a float dtype."""
    for column, dtype in pipeline.dtypes.items():
        if column in frame.columns and frame[column].isna().all() \
                and dtype not in ("object", "category", "str", "string"):
            frame[column] = frame[column].astype(float)
    return frame


def predict_file(model_uri: str, data: str | os.PathLike | pd.DataFrame,
                 out: str | os.PathLike, *, times: Sequence[float] | None = None,
                 tracking_uri: str | None = None) -> Path:
    """Predict for a cohort file and write the predictions to ``out`` (CSV or Parquet).

    The file is written only once every check has passed and every prediction is made
    (through a temporary file renamed into place), so a failed call leaves no output file.

    Parameters
    ----------
    model_uri : str
        ``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, ``runs:/RUN_ID/model``, a run id
        or a local model folder.
    data : path or DataFrame
        The new cohort in the pyfunc input format (see :func:`predict_cohort`).
    out : path
        Output file; ``.csv``, ``.parquet`` or ``.pq``.
    times : sequence of float, optional
        Survival models: survival probabilities at these times; competing-risks models: each
        cause's cumulative incidence at them (as in :func:`predict_cohort`).
    tracking_uri : str, optional
        Store holding the model.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    SchemaMismatchError
        The data do not have the training schema (nothing is written).
    PredictionError
        Unknown output extension, bad ``times``, or the file cannot be written (a full disk).
    """
    target = Path(out)
    suffix = target.suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise PredictionError(
            f"output file '{target.name}' must end in one of {list(OUTPUT_FORMATS)}.")
    predictions = predict_cohort(model_uri, data, times=times, tracking_uri=tracking_uri)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                   suffix=suffix)
    os.close(handle)
    try:
        if suffix == ".csv":
            predictions.to_csv(tmp, index=False)
        else:
            predictions.to_parquet(tmp, index=False)
        os.replace(tmp, target)
    except OSError as err:  # e.g. a full disk: say where, leave no partial file
        raise PredictionError(
            f"could not write predictions to '{target}': {err.strerror or err}. No output "
            "file was written.") from err
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
