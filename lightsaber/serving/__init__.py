"""The deployable pipeline: what ``ls.fit`` logs, how it is loaded back, and prediction with it.

* :class:`FittedPipeline` — cohort -> preprocessing -> model -> calibration, as fitted;
* :func:`load_pipeline` — a run's (or registered model's) pipeline back from MLflow;

* :func:`predict_cohort` — a DataFrame, file or :class:`~lightsaber.Cohort` in, one row of
  predictions per patient out (risks, probabilities, survival or each cause's cumulative
  incidence at requested times);
* :func:`predict_patient` — one patient given as plain values (static and longitudinal);
* :func:`predict_file` — file in, file out; what ``lightsaber predict`` runs;
* :func:`check_schema` — the check every entry point runs first: missing or mistyped
  columns raise :class:`SchemaMismatchError`, listing them all.

For HTTP serving no lightsaber code is needed: the logged model is an MLflow pyfunc, so
``mlflow models serve -m models:/NAME/1 --env-manager local`` serves it (see
``docs/reports.md``). Loaded there, the model screens each request first
(:mod:`lightsaber.serving.guard`), so error responses name columns and dtypes and never quote
the request's ids or values, as MLflow's own messages would.

Examples
--------
>>> from lightsaber.serving import OUTPUT_FORMATS
>>> OUTPUT_FORMATS
('.csv', '.parquet', '.pq')
"""

from lightsaber.exceptions import PredictionError, SchemaMismatchError
from lightsaber.serving.load import load_pipeline
from lightsaber.serving.pipeline import FittedPipeline
from lightsaber.serving.predict import (
    OUTPUT_FORMATS,
    predict_cohort,
    predict_file,
    predict_patient,
)
from lightsaber.serving.schema import check_schema, required_columns

__all__ = [
    "FittedPipeline",
    "OUTPUT_FORMATS",
    "PredictionError",
    "SchemaMismatchError",
    "check_schema",
    "load_pipeline",
    "predict_cohort",
    "predict_file",
    "predict_patient",
    "required_columns",
]
