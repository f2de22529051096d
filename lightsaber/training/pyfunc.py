"""The fitted pipeline as an MLflow pyfunc model (preprocessing + model, with a signature).

``mlflow.pyfunc.load_model("runs:/<id>/model").predict(frame)`` returns the same predictions as
``run.pipeline.predict_frame(frame)``; ``mlflow models serve`` works without lightsaber glue
beyond the package itself being importable.
"""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from lightsaber.training.pipeline import FittedPipeline

__all__ = ["PipelineModel", "save_pipeline_model"]


class PipelineModel(mlflow.pyfunc.PythonModel):
    """pyfunc wrapper around a :class:`FittedPipeline`."""

    def __init__(self, pipeline: FittedPipeline) -> None:
        self.pipeline = pipeline

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:  # noqa: ANN001
        """Predictions for a DataFrame in the pipeline's input format.

        Survival models take ``params={"times": [t1, t2, ...]}`` (also over HTTP, as
        ``"params"`` next to ``"dataframe_split"``) and then add ``survival_<t>`` and
        ``event_probability_<t>`` columns, recalibrated when the pipeline holds a calibrator.
        """
        frame = pd.DataFrame(model_input)
        times = list((params or {}).get("times") or [])
        if not times:
            return self.pipeline.predict_frame(frame)
        from lightsaber.serving.predict import predict_cohort

        out = predict_cohort(self.pipeline, frame, times=times)
        return out.drop(columns=[self.pipeline.id_column], errors="ignore")


def save_pipeline_model(pipeline: FittedPipeline, path: str | Path) -> None:
    """Write the pipeline as an MLflow pyfunc model directory at ``path``.

    The signature comes from a synthetic example (training medians, a placeholder category),
    never from a patient row; survival models also declare a ``times`` parameter. MLflow's
    advice about choices made here on purpose (CloudPickle, integer columns) is silenced for
    this call only, never process-wide.
    """
    import logging
    import warnings

    from mlflow.models import infer_signature

    example = pipeline.example_frame()
    pyfunc_log = logging.getLogger("mlflow.pyfunc")
    level = pyfunc_log.level
    pyfunc_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            signature = infer_signature(example, pipeline.predict_frame(example))
            if pipeline.task == "survival":
                from mlflow.types.schema import ParamSchema, ParamSpec

                # An empty default: without "times" the output is the risk alone.
                signature.params = ParamSchema([ParamSpec("times", "double", [], shape=(-1,))])
            mlflow.pyfunc.save_model(str(path), python_model=PipelineModel(pipeline),
                                     signature=signature, input_example=example)
    finally:
        pyfunc_log.setLevel(level)
