"""Load a fitted pipeline back from a run, the model registry or a saved pyfunc folder."""

from __future__ import annotations

import tempfile

from lightsaber.exceptions import RegistryError
from lightsaber.serving.pipeline import FittedPipeline
from lightsaber.tracking.client import tracking_client
from lightsaber.tracking.model_registry import download_model

__all__ = ["load_pipeline"]


def load_pipeline(model: str, *, tracking_uri: str | None = None) -> FittedPipeline:
    """The fitted pipeline (preprocessing + model + calibrator) behind a logged model.

    Parameters
    ----------
    model : str
        A run id, ``runs:/RUN_ID/model``, ``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, or
        the path of a saved pyfunc model folder.
    tracking_uri : str, optional
        Store holding the run or registered model.

    Returns
    -------
    FittedPipeline
    """
    import mlflow.pyfunc

    from lightsaber.serving.pyfunc import PipelineModel

    client, uri = tracking_client(tracking_uri)
    with tempfile.TemporaryDirectory() as tmp:
        local = download_model(model, client, uri, tmp)
        loaded = mlflow.pyfunc.load_model(str(local))
    inner = loaded.unwrap_python_model()
    if not isinstance(inner, PipelineModel):
        raise RegistryError(
            f"{model!r} is a pyfunc model of type {type(inner).__name__}, not a lightsaber "
            "pipeline.")
    return inner.pipeline
