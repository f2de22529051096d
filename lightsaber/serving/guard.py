"""Keeping patient values out of the error responses of ``mlflow models serve``.

MLflow's scoring server (checked against MLflow 3.x, ``mlflow/pyfunc/scoring_server``) quotes
the request in its error responses, before any model code runs:

* a body that is not valid JSON comes back whole (``"Input: {body}"``);
* a value that cannot be cast to the signature's type is quoted (``could not convert string
  to float: '<value>'``), from the cast MLflow applies while parsing;
* every ``MlflowException`` raised while predicting, schema enforcement included, is prefixed
  with ``Failed to predict data '<the input DataFrame>'``: ids and feature values.

A logged lightsaber model therefore screens each request itself. When MLflow loads it
(:meth:`~lightsaber.serving.pyfunc.PipelineModel.load_context`) inside the scoring server,
:func:`install_scoring_server_guard` wraps the server's ``invocations`` function once:

1. the body is decoded, and the input table built, by lightsaber (``dataframe_split``,
   ``dataframe_records``, ``inputs`` / ``instances``, CSV, Parquet); a malformed body is
   refused with the position of the error only;
2. the table is checked with :func:`~lightsaber.serving.check_schema` (missing and mistyped
   columns, all listed) and against the types of the model signature as MLflow will apply
   them; a mismatch is refused naming columns and dtypes, never values;
3. only then does MLflow parse, enforce and predict. Should it still fail, its message is
   replaced by one without values (an error lightsaber raised while predicting keeps its own
   message: lightsaber's messages never hold values).

Requests that pass go through MLflow unchanged, so answers do not change. Outside the scoring
server (``mlflow.pyfunc.load_model(...).predict`` in a notebook) nothing is wrapped.

Examples
--------
>>> body = '{"dataframe_split": {"data": [["PATIENT-1", 71.5]'
>>> try:
...     json.loads(body)
... except json.JSONDecodeError as err:
...     refusal = _json_refusal(err, len(body))
>>> print(refusal)
the request body is not valid JSON: Expecting ',' delimiter at line 1, column 50 ...
>>> "PATIENT-1" in refusal
False
"""

from __future__ import annotations

import functools
import io
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

import pandas as pd

from lightsaber.exceptions import LightsaberError, RequestRefused, SchemaMismatchError
from lightsaber.serving.schema import check_schema

__all__ = ["RequestRefused", "error_origin", "install_scoring_server_guard", "screen_request"]

#: Module of MLflow's scoring server (what ``mlflow models serve`` runs).
SCORING_SERVER = "mlflow.pyfunc.scoring_server"
#: Request formats MLflow accepts in a JSON body.
JSON_FORMATS = ("dataframe_split", "dataframe_records", "inputs", "instances")
_GUARDED = "__lightsaber_guarded__"
_log = logging.getLogger(__name__)
_NOT_ECHOED = "The body is not echoed back: it may hold patient data."


def install_scoring_server_guard() -> bool:
    """Wrap the scoring server's ``invocations`` so its errors quote no request values.

    Does nothing unless MLflow's scoring server module is already imported (it is, in the
    process ``mlflow models serve`` starts, before the model is loaded) and is idempotent.
    Requests for models that are not lightsaber pipelines go through untouched.

    Returns
    -------
    bool
        Whether the guard is in place.
    """
    module = sys.modules.get(SCORING_SERVER)
    original = getattr(module, "invocations", None)
    if original is None:
        return False
    if not getattr(original, _GUARDED, False):
        module.invocations = _guarded(original)
    return True


def _guarded(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def invocations(data: Any, content_type: Any, model: Any, input_schema: Any) -> Any:
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import BAD_REQUEST

        pipeline = _pipeline_of(model)
        if pipeline is None:
            return original(data, content_type, model, input_schema)
        try:
            data = screen_request(pipeline, data, content_type, input_schema,
                                  _params_schema(model))
        except RequestRefused as refused:
            raise MlflowException(str(refused), error_code=BAD_REQUEST) from None
        except Exception as err:  # noqa: BLE001  a screening bug: MLflow checks, we redact
            _log.warning("lightsaber could not screen a request (%s in %s); MLflow's own "
                         "checks apply, with their messages withheld", type(err).__name__,
                         error_origin(err))
        try:
            return original(data, content_type, model, input_schema)
        except MlflowException as err:
            raise MlflowException(_without_values(err), error_code=_code(err)) from None
        except Exception as err:  # noqa: BLE001  would reach the server log with its message
            raise MlflowException(
                f"the request could not be scored ({type(err).__name__} in {error_origin(err)}"
                "); its message is withheld because it may quote the request's values.",
                error_code=BAD_REQUEST) from None

    setattr(invocations, _GUARDED, True)
    return invocations


def _code(err: Any) -> int:
    """The numeric MLflow error code of ``err`` (its HTTP status follows from it)."""
    from mlflow.protos.databricks_pb2 import BAD_REQUEST, ErrorCode

    try:
        return ErrorCode.Value(err.error_code)
    except (ValueError, TypeError):
        return BAD_REQUEST


def error_origin(err: BaseException) -> str:
    """The module of the innermost frame an exception was raised in (a name, no values).

    Examples
    --------
    >>> try:
    ...     json.loads("{")
    ... except ValueError as err:
    ...     error_origin(err)
    'json.decoder'
    """
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return str(tb.tb_frame.f_globals.get("__name__", "?")) if tb is not None else "?"


def _pipeline_of(model: Any) -> Any:
    """The :class:`FittedPipeline` inside a loaded pyfunc model, or ``None``."""
    from lightsaber.serving.pipeline import FittedPipeline

    try:
        inner = model.unwrap_python_model()
    except Exception:  # noqa: BLE001  not a python_function model of ours
        return None
    pipeline = getattr(inner, "pipeline", None)  # a PipelineModel (which imports this module)
    return pipeline if isinstance(pipeline, FittedPipeline) else None


def _without_values(err: Any) -> str:
    """A replacement for an MLflow error message (which may quote the input)."""
    cause = err.__context__
    while cause is not None:
        if isinstance(cause, LightsaberError):
            return str(cause)
        cause = cause.__context__
    kind = getattr(err, "error_class", None) or getattr(err, "error_code", "error")
    return (f"MLflow could not score the request ({kind}). Its message is withheld because "
            "MLflow quotes the request's values in it. Compare the request with the model "
            "signature (`mlflow models` docs: dataframe_split with 'columns' and 'data'), or "
            "run lightsaber.serving.predict_cohort on the same table locally for the details.")


# ---------------------------------------------------------------------- screening
def screen_request(pipeline: Any, data: Any, content_type: str | None,
                   input_schema: Any = None, params_schema: Any = None) -> Any:
    """Check a scoring request against a pipeline; return the data to hand on to MLflow.

    Parameters
    ----------
    pipeline : FittedPipeline
    data : bytes, str or dict
        The request body (a JSON body is returned decoded, so MLflow does not parse it
        twice).
    content_type : str
        The request's ``Content-Type``.
    input_schema : mlflow.types.Schema, optional
        The model signature's inputs; columns that MLflow would fail to cast to them are
        refused by name.
    params_schema : mlflow.types.ParamSchema, optional
        The signature's parameters (``times`` of survival models); ``"params"`` of a JSON
        body that do not fit are refused with MLflow's explanation (parameters are settings,
        not patient data).

    Raises
    ------
    RequestRefused
        A malformed body, an input that is not a table, missing or mistyped columns, or
        columns that do not fit the signature's types; the message names columns and dtypes,
        never values.
    """
    mime, _, parameters = (content_type or "").partition(";")
    mime = mime.strip().lower()
    charset = next((value.strip().lower() for key, _, value in
                    (p.partition("=") for p in parameters.split(";"))
                    if key.strip().lower() == "charset"), "utf-8")
    if charset != "utf-8" or mime not in ("application/json", "text/csv",
                                          "application/x-parquet", "application/parquet"):
        return data  # MLflow answers 415 with its list of content types
    if mime == "application/x-parquet" or mime == "application/parquet":
        frame = _read(lambda: pd.read_parquet(io.BytesIO(data)), "Parquet")
        _check(pipeline, frame, input_schema)
        return data
    text = _text(data)
    if mime == "text/csv":
        frame = _read(lambda: pd.read_csv(io.StringIO(text)), "CSV")
        _check(pipeline, frame, input_schema)
        return data
    if isinstance(data, dict):
        decoded = data
    else:
        try:
            decoded = json.loads(text)
        except json.JSONDecodeError as err:
            raise RequestRefused(_json_refusal(err, len(text))) from None
    if not isinstance(decoded, dict):
        raise RequestRefused(
            f"the request body is a JSON {type(decoded).__name__}; it must be an object with "
            f"one of the keys {list(JSON_FORMATS)} (and optionally 'params').")
    frame = _json_frame(decoded)
    if frame is not None:
        _check(pipeline, frame, input_schema)
    if decoded.get("params") is not None and params_schema is not None:
        _check_params(decoded["params"], params_schema)
    return decoded


def _text(data: Any) -> str:
    if isinstance(data, (bytes, bytearray)):
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError as err:
            raise RequestRefused(
                f"the request body is not UTF-8 text (invalid byte at position {err.start}). "
                + _NOT_ECHOED) from None
    return data if isinstance(data, str) else str(data)


def _json_refusal(err: json.JSONDecodeError, size: int) -> str:
    """The refusal for a body that is not JSON: where parsing failed, never the body."""
    return (f"the request body is not valid JSON: {err.msg} at line {err.lineno}, column "
            f"{err.colno} (character {err.pos} of {size}). " + _NOT_ECHOED)


def _read(reader: Callable[[], pd.DataFrame], kind: str) -> pd.DataFrame:
    try:
        return reader()
    except Exception as err:  # noqa: BLE001  the reader's message may quote the body
        raise RequestRefused(
            f"the request body is not a readable {kind} table ({type(err).__name__}). "
            + _NOT_ECHOED) from None


def _json_frame(decoded: dict[str, Any]) -> pd.DataFrame | None:
    """The input table of a JSON request (``None``: tensor-style input, left to MLflow).

    ``inputs`` / ``instances`` that do not form a table are parsed by MLflow itself; its
    errors are then replaced by :func:`_without_values`.
    """
    present = [key for key in JSON_FORMATS if key in decoded]
    if len(present) != 1:
        other = sorted(str(k)[:40] for k in decoded if k != "params")[:10]
        raise RequestRefused(
            f"the request must hold exactly one of {list(JSON_FORMATS)} (and optionally "
            f"'params'); it holds {len(present)} of them (keys: {other}). Send the table as "
            "{\"dataframe_split\": {\"columns\": [...], \"data\": [[...], ...]}}.")
    key = present[0]
    value = decoded[key]
    try:
        if key == "dataframe_split":
            if not isinstance(value, dict) or "data" not in value \
                    or set(value) - {"columns", "data", "index"}:
                raise RequestRefused(
                    "'dataframe_split' must be an object with 'data' (a list of rows) and "
                    "optionally 'columns' and 'index'.")
            return pd.DataFrame(data=value["data"], columns=value.get("columns"),
                                index=value.get("index"))
        if key == "dataframe_records" and not isinstance(value, list):
            raise RequestRefused("'dataframe_records' must be a list of objects, one per row.")
        if key in ("inputs", "instances"):
            try:
                return pd.DataFrame(value)
            except Exception:  # noqa: BLE001  not a table: MLflow's tensor parsing decides
                return None
        return pd.DataFrame(value)
    except RequestRefused:
        raise
    except Exception as err:  # noqa: BLE001  pandas' message may quote cells
        raise RequestRefused(
            f"'{key}' does not form a table ({type(err).__name__}): every row needs one value "
            "per column name.") from None


def _check(pipeline: Any, frame: pd.DataFrame, input_schema: Any) -> None:
    try:
        check_schema(pipeline, frame)
    except SchemaMismatchError as err:
        raise RequestRefused(
            str(err).replace("no predictions were written", "nothing was scored")) from None
    if input_schema is None or not getattr(input_schema, "has_input_names", lambda: False)():
        return
    names = set(frame.columns)
    # extra columns are MLflow's to ignore (it logs their names once, when it enforces)
    if _fits(frame[[n for n in input_schema.input_names() if n in names]], input_schema):
        return
    from mlflow.types.schema import Schema

    unfit = []
    for spec in input_schema.inputs:
        if spec.name in names and not _fits(frame[[spec.name]], Schema([spec])):
            column = frame[spec.name]
            missing = int(column.isna().sum())
            unfit.append(f"{spec.name!r} (signature: {spec.type!r}; request: {column.dtype}"
                         + (f" with {missing} missing value(s))" if missing else ")"))
    raise RequestRefused(
        f"column(s) that MLflow cannot cast to the model signature's types ({len(unfit)}): "
        + ", ".join(unfit) + ". Integer columns take whole numbers without missing values; "
        "send numbers as JSON numbers and categories as strings. Nothing was scored.")


def _params_schema(model: Any) -> Any:
    try:
        return model.metadata.get_params_schema()
    except Exception:  # noqa: BLE001  no signature: MLflow ignores params
        return None


def _check_params(params: Any, params_schema: Any) -> None:
    from mlflow.exceptions import MlflowException
    from mlflow.models.utils import _enforce_params_schema

    try:
        _enforce_params_schema(params, params_schema)
    except MlflowException as err:
        raise RequestRefused(f"'params' do not fit the model's parameters: {err.message}"
                             ) from None


def _fits(frame: pd.DataFrame, schema: Any) -> bool:
    """Whether MLflow's parse-time cast and its schema enforcement accept ``frame``."""
    from mlflow.models.utils import _enforce_schema
    from mlflow.utils.proto_json_utils import cast_df_types_according_to_schema

    try:
        _enforce_schema(cast_df_types_according_to_schema(frame.copy(), schema), schema)
    except Exception:  # noqa: BLE001  any refusal by MLflow
        return False
    return True
