"""The fitted pipeline as an MLflow pyfunc model (preprocessing + model, with a signature).

``mlflow.pyfunc.load_model("runs:/<id>/model").predict(frame)`` returns the same predictions as
``run.pipeline.predict_frame(frame)``; ``mlflow models serve`` works without lightsaber glue
beyond the package itself being importable.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd

from lightsaber.serving.pipeline import FittedPipeline

__all__ = ["PipelineModel", "pip_requirements", "save_pipeline_model"]

#: Distributions every logged pipeline needs: MLflow and cloudpickle to load the pyfunc,
#: lightsaber (``FittedPipeline``) and the libraries it imports to apply the preprocessing.
BASE_REQUIREMENTS = ("mlflow", "cloudpickle", "lightsaber", "numpy", "pandas", "scipy",
                     "scikit-learn", "scikit-survival")

#: Top-level module -> distribution, for the modules a pickled pipeline usually references
#: (anything else is looked up in the installed distributions' metadata).
_MODULE_DISTRIBUTIONS = {
    "numpy": "numpy", "pandas": "pandas", "scipy": "scipy", "sklearn": "scikit-learn",
    "sksurv": "scikit-survival", "torch": "torch", "skorch": "skorch",
    "cloudpickle": "cloudpickle", "mlflow": "mlflow", "lightsaber": "lightsaber",
    "accelerate": "accelerate", "pycox": "pycox", "torchsurv": "torchsurv",
}

#: Distributions a pickled model needs without naming them in the pickle (skorch stores its
#: torch modules as ``torch.save`` bytes, and does not declare torch as a dependency).
_IMPLIED = {"skorch": ("torch",)}


class PipelineModel(mlflow.pyfunc.PythonModel):
    """pyfunc wrapper around a :class:`FittedPipeline`."""

    def __init__(self, pipeline: FittedPipeline) -> None:
        self.pipeline = pipeline

    def load_context(self, context) -> None:  # noqa: ANN001
        """Called by MLflow on loading: inside ``mlflow models serve``, screen each request.

        See :mod:`lightsaber.serving.guard`: MLflow's scoring server quotes request values in
        its error responses, so requests are checked (columns and dtypes) before MLflow parses
        them. Anywhere else this does nothing.
        """
        from lightsaber.serving.guard import install_scoring_server_guard

        install_scoring_server_guard()

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:  # noqa: ANN001
        """Predictions for a DataFrame in the pipeline's input format.

        Survival and competing-risks models take ``params={"times": [t1, t2, ...]}`` (also
        over HTTP, as ``"params"`` next to ``"dataframe_split"``). Survival models then add
        ``survival_<t>`` and ``event_probability_<t>`` columns, recalibrated when the pipeline
        holds a calibrator; competing-risks models add ``cif_<cause name>_<t>`` for each cause
        they predict, next to their ``risk_<cause name>`` columns (see
        :meth:`FittedPipeline.predict_frame`). An empty list (the signature's default) asks
        for no times; anything but a list of finite, non-negative numbers is refused with a
        :class:`~lightsaber.serving.PredictionError` (an HTTP 400 when served) that names the
        position of the bad entry, never its value. Landmark models also take
        ``params={"at": s}``: predict from landmark ``s`` with the measurements up to ``s``
        (``times`` then count from ``s``); without it, each row's ``landmark_time``.

        The input is checked with :func:`lightsaber.serving.check_schema` first. Errors carry
        column names and dtypes, never values: a lightsaber error is raised as it is (without
        its chain of causes, which may quote values), any other error becomes a
        :class:`~lightsaber.serving.PredictionError` naming only its type (the original stays
        reachable as ``__context__`` for debugging in process, but is not printed).
        """
        from lightsaber.exceptions import LightsaberError, PredictionError
        from lightsaber.serving.guard import error_origin

        try:
            frame = pd.DataFrame(model_input)
            times = _times_param(params)
            at = params.get("at") if isinstance(params, dict) else None
            landmark = {"at": at} if at is not None else {}  # only landmark models take it
            return self.pipeline.predict_frame(frame, times=times, **landmark)  # checks schema
        except LightsaberError as err:
            raise err from None
        except Exception as err:  # noqa: BLE001  third-party messages may quote input values
            raise PredictionError(
                f"the model could not score the input: {type(err).__name__} raised in "
                f"{error_origin(err)}. Its message is withheld because it may quote patient "
                "values; check the input's columns and dtypes with "
                "lightsaber.serving.check_schema, or call lightsaber.serving.predict_cohort on "
                "it locally.") from None


def _times_param(params: Any) -> Any:
    """The ``times`` parameter as given (``None``: absent or empty, the signature default)."""
    times = (params or {}).get("times") if isinstance(params, dict) else None
    if times is None or (hasattr(times, "__len__") and not isinstance(times, (str, bytes))
                         and len(times) == 0):
        return None
    return times


def _landmark_time_optional(signature: Any) -> None:
    """A landmark model's ``landmark_time`` input may be left out when ``params["at"]`` is given."""
    from mlflow.types.schema import ColSpec, Schema

    from lightsaber.data.landmarks import LANDMARK_COLUMN

    signature.inputs = Schema([
        ColSpec(spec.type, spec.name, required=False) if spec.name == LANDMARK_COLUMN else spec
        for spec in signature.inputs.inputs])


def save_pipeline_model(pipeline: FittedPipeline, path: str | Path) -> None:
    """Write the pipeline as an MLflow pyfunc model directory at ``path``.

    The signature comes from a synthetic example (training medians, a placeholder category),
    never from a patient row; survival and competing-risks models also declare a ``times``
    parameter (a list of numbers, empty by default). The pip
    requirements are given explicitly (:func:`pip_requirements`), so MLflow does not load the
    model in a subprocess to infer them (2-4 s a fit). MLflow's advice about choices made here
    on purpose (CloudPickle, integer columns) is silenced for this call only, never
    process-wide.
    """
    import logging
    import warnings

    from mlflow.models import infer_signature

    example = pipeline.example_frame()
    python_model = PipelineModel(pipeline)
    requirements = pip_requirements(python_model)
    pyfunc_log = logging.getLogger("mlflow.pyfunc")
    level = pyfunc_log.level
    pyfunc_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            signature = infer_signature(example, pipeline.predict_frame(example))
            if pipeline.task in ("survival", "competing"):
                from mlflow.types.schema import ParamSchema, ParamSpec

                # An empty default: without "times" the output is the risk alone.
                specs = [ParamSpec("times", "double", [], shape=(-1,))]
                if pipeline.landmark_design is not None:
                    specs.append(ParamSpec("at", "double", None))
                    _landmark_time_optional(signature)
                signature.params = ParamSchema(specs)
            mlflow.pyfunc.save_model(str(path), python_model=python_model,
                                     signature=signature, input_example=example,
                                     pip_requirements=requirements)
    finally:
        pyfunc_log.setLevel(level)


def pip_requirements(obj: Any = None) -> list[str]:
    """Pinned pip requirements (``name==version``) of a logged pipeline, without a subprocess.

    :data:`BASE_REQUIREMENTS`, plus the installed distributions of the modules that pickling
    ``obj`` references (torch and skorch for a net, ``accelerate`` for an accelerated one, the
    package of a third-party estimator), pinned to the installed versions as MLflow's own
    inference would pin them: the version of the imported ``mlflow`` and ``lightsaber``
    (lightsaber is often an editable install, whose metadata can be a stale ``egg-info``),
    installed metadata otherwise, local labels such as ``+cpu`` dropped so the pin exists on
    PyPI. A module that no installed distribution provides (the standard library, a script's
    ``__main__``, a local file) adds nothing.

    Parameters
    ----------
    obj : object, optional
        What will be pickled (a :class:`PipelineModel`, a :class:`FittedPipeline`, an
        estimator). ``None``: the base requirements only.

    Returns
    -------
    list of str
        Sorted by name, ``mlflow`` first.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> reqs = pip_requirements(LogisticRegression())
    >>> [r.split("==")[0] for r in reqs]  # doctest: +NORMALIZE_WHITESPACE
    ['mlflow', 'cloudpickle', 'lightsaber', 'numpy', 'pandas', 'scikit-learn',
     'scikit-survival', 'scipy']
    >>> import lightsaber
    >>> f"lightsaber=={lightsaber.__version__}" in reqs
    True
    """
    names = set(BASE_REQUIREMENTS)
    if obj is not None:
        names |= _pickled_distributions(obj)
    for name in list(names):
        names.update(_IMPLIED.get(name, ()))
    pins = [_pin(name) for name in ["mlflow", *sorted(names - {"mlflow"})]]
    return [pin for pin in pins if pin is not None]


def _pin(name: str) -> str | None:
    """``name==<installed version>``, ``None`` if the distribution is not installed."""
    from importlib import metadata

    from packaging.version import InvalidVersion, Version

    if name == "mlflow":
        version = mlflow.__version__
    elif name == "lightsaber":
        from lightsaber._version import __version__

        version = __version__
    else:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            return None
    try:
        return f"{name}=={Version(version).public}"
    except InvalidVersion:
        return f"{name}=={version}"


def _pickled_distributions(obj: Any) -> set[str]:
    """Installed distributions providing the modules that pickling ``obj`` references."""
    modules = _pickled_modules(obj)
    found = {_MODULE_DISTRIBUTIONS[m] for m in modules if m in _MODULE_DISTRIBUTIONS}
    unknown = modules - set(_MODULE_DISTRIBUTIONS) - set(sys.stdlib_module_names) - {
        "__main__", "builtins", "copyreg", "_codecs"}
    if unknown:
        from importlib import metadata

        provided = metadata.packages_distributions()  # scans every installed distribution
        for module in unknown:
            found.update(provided.get(module, [])[:1])
    return found


def _pickled_modules(obj: Any) -> set[str]:
    """Top-level modules of every class and function met while pickling ``obj``.

    The object is pickled once with cloudpickle (as MLflow will) into a sink that keeps no
    bytes; ``persistent_id`` sees every object the pickle holds, so a class referenced by
    reference, a reduce function (``torch._utils._rebuild_tensor_v2``) or a NumPy dtype all
    count.
    """
    import types

    import cloudpickle

    modules: set[str] = set()

    class _Sink:
        def write(self, data: Any) -> int:
            return memoryview(data).nbytes  # bytes, or a PickleBuffer (protocol 5)

    class _Recorder(cloudpickle.CloudPickler):
        def persistent_id(self, item: Any) -> None:
            named = isinstance(item, (type, types.FunctionType, types.BuiltinFunctionType))
            module = item.__module__ if named else type(item).__module__
            if isinstance(module, str) and module:
                modules.add(module.partition(".")[0])
            return None

    _Recorder(_Sink(), protocol=cloudpickle.DEFAULT_PROTOCOL).dump(obj)
    return modules
