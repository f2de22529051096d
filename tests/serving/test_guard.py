"""Scoring-server errors hold column names and dtypes, never ids or values (in process, fast).

The same requests go over real HTTP in ``test_serve.py`` (slow); here MLflow's scoring server
function is called directly, after loading the model as ``mlflow models serve`` does.
"""

from __future__ import annotations

import json
import traceback
import warnings

import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from sklearn.linear_model import LogisticRegression

import lightsaber as ls
from lightsaber.exceptions import RequestRefused, SmallSplitWarning
from lightsaber.serving import PredictionError, SchemaMismatchError
from lightsaber.serving.guard import install_scoring_server_guard, screen_request

SECRET_AGE = 123.456789
SECRET_TEXT = "SECRET-VALUE-42"


@pytest.fixture(scope="module")
def fitted():
    base = ls.datasets.load_sample_mortality(n_patients=200)
    ids = {old: f"PATIENT-ZX81-{i:04d}" for i, old in enumerate(base.ids)}
    static = base.static.copy()
    static.insert(0, "patient_id", [ids[i] for i in base.ids])
    static.loc[::2, "age"] = SECRET_AGE
    static["died"] = base.targets[base.label].to_numpy()
    long = base.longitudinal.copy()
    long["patient_id"] = long["patient_id"].map(ids)
    cohort = ls.Cohort(static, id="patient_id", label="died", longitudinal=long, time="hour")
    splits = cohort.split(val=0.3, test=0.3, stratify="label", seed=0)
    with warnings.catch_warnings():  # a small cohort: the val/test splits are small
        warnings.simplefilter("ignore", SmallSplitWarning)
        run = ls.fit(LogisticRegression(max_iter=500), cohort, splits, track=False)
    frame = run.pipeline.input_frame(cohort.subset(splits.test[:4]))
    assert (frame["age"] == SECRET_AGE).any()
    return run.pipeline, frame


@pytest.fixture
def served(fitted, tmp_path, monkeypatch):
    """(scoring_server module, loaded model): loaded as `mlflow models serve` loads it."""
    import mlflow.pyfunc
    from mlflow.pyfunc import scoring_server

    from lightsaber.serving.pyfunc import save_pipeline_model

    monkeypatch.setattr(scoring_server, "invocations", scoring_server.invocations)  # restored
    save_pipeline_model(fitted[0], tmp_path / "model")
    model = mlflow.pyfunc.load_model(str(tmp_path / "model"))  # load_context installs it
    return scoring_server, model


def _needles(frame: pd.DataFrame) -> list[str]:
    return [*pd.unique(frame["patient_id"]), "ZX81", str(SECRET_AGE), SECRET_TEXT]


def _split(frame: pd.DataFrame) -> str:
    return json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split", index=False))})


def _answer(server, model, body, content_type="application/json") -> str:
    try:
        return server.invocations(body, content_type, model,
                                  model.metadata.get_input_schema()).response
    except MlflowException as err:
        return err.serialize_as_json()


def test_bad_requests_are_refused_naming_columns_without_values(served, fitted):
    server, model = served
    _, frame = fitted
    cases = {
        "'age'": _split(frame.drop(columns=["age"])),
        "'bmi' (expected numeric": _split(frame.assign(bmi=SECRET_TEXT)),
        "not valid JSON": _split(frame)[:-25],
        "'n_comorbidities' (signature: long": _split(
            frame.assign(n_comorbidities=[None] + [1] * (len(frame) - 1))),
        "'dataframe_records' must be a list": json.dumps({"dataframe_records": {"a": 1}}),
        "holds 2 of them": json.dumps({"dataframe_split": {}, "inputs": {}}),
    }
    for named, body in cases.items():
        answer = _answer(server, model, body)
        message = json.loads(answer)["message"]
        assert named in message, answer
        assert [n for n in _needles(frame) if n in answer] == []
    csv = _answer(server, model, frame.assign(sex=1.5).to_csv(index=False), "text/csv")
    assert "'sex' (expected text" in json.loads(csv)["message"]
    ok = json.loads(_answer(server, model, _split(frame.assign(extra=SECRET_TEXT))))
    assert len(ok["predictions"]) == 4


def test_the_guard_wraps_once_and_leaves_other_models_alone(served):
    from lightsaber.serving.guard import _pipeline_of

    server, model = served
    wrapped = server.invocations
    assert install_scoring_server_guard() and server.invocations is wrapped
    assert wrapped.__wrapped__ is not None  # functools.wraps keeps MLflow's function
    assert _pipeline_of(model) is not None and _pipeline_of(object()) is None


def test_an_mlflow_failure_after_screening_is_replaced_by_a_message_without_values(
        served, fitted):
    from lightsaber.serving.guard import _guarded

    _, model = served
    _, frame = fitted

    def quoting(data, *args):  # what MLflow does with any MlflowException from predict
        raise MlflowException(f"Failed to predict data '{frame}'",
                              error_code=INVALID_PARAMETER_VALUE)

    def crashing(data, *args):  # anything else would reach the server log with its message
        raise KeyError(frame["patient_id"].iloc[0])

    for inner, code in ((quoting, "INVALID_PARAMETER_VALUE"), (crashing, "BAD_REQUEST")):
        with pytest.raises(MlflowException) as caught:
            _guarded(inner)(_split(frame), "application/json", model,
                            model.metadata.get_input_schema())
        answer = json.loads(caught.value.serialize_as_json())
        assert "withheld" in answer["message"] and answer["error_code"] == code
        assert [n for n in _needles(frame) if n in answer["message"]] == []
        assert caught.value.__suppress_context__


def test_predict_errors_keep_lightsaber_messages_and_withhold_others(fitted):
    from lightsaber.serving.pyfunc import PipelineModel

    pipeline, frame = fitted
    model = PipelineModel(pipeline)
    with pytest.raises(SchemaMismatchError, match="'age'") as missing:
        model.predict(None, frame.drop(columns=["age"]))
    assert missing.value.__suppress_context__

    class Leaky:
        def __getattr__(self, name):
            return getattr(pipeline, name)

        def predict_frame(self, frame, times=None):
            raise ValueError(f"could not convert string to float: '{frame['patient_id'][0]}'")

    model.pipeline = Leaky()
    with pytest.raises(PredictionError, match="ValueError raised in") as withheld:
        model.predict(None, frame)
    printed = "".join(traceback.format_exception(withheld.value))
    assert "ZX81" not in printed and "withheld" in printed
    assert isinstance(withheld.value.__context__, ValueError)  # kept for local debugging


def test_screen_request_passes_other_content_types_and_good_tables_through(fitted):
    pipeline, frame = fitted
    assert screen_request(pipeline, b"x", "application/xml") == b"x"
    decoded = screen_request(pipeline, _split(frame).encode(), "application/json; charset=utf-8")
    assert set(decoded) == {"dataframe_split"}
    with pytest.raises(RequestRefused, match="not UTF-8"):
        screen_request(pipeline, b'{"a": "\xff"}', "application/json")


def test_survival_times_pass_and_bad_params_are_explained(tmp_path, monkeypatch):
    import mlflow.pyfunc
    from mlflow.pyfunc import scoring_server
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    from lightsaber.serving.pyfunc import save_pipeline_model

    monkeypatch.setattr(scoring_server, "invocations", scoring_server.invocations)  # restored
    cohort = ls.datasets.load_sample_mortality(n_patients=400, seed=2)
    splits = cohort.split(val=0.2, test=0.2, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSplitWarning)
        run = ls.fit(CoxPHSurvivalAnalysis(alpha=0.1), cohort, splits, task="survival",
                     track=False)
    save_pipeline_model(run.pipeline, tmp_path / "model")
    model = mlflow.pyfunc.load_model(str(tmp_path / "model"))
    frame = run.pipeline.input_frame(cohort.subset(splits.test[:3]))
    split = json.loads(_split(frame))
    answer = json.loads(_answer(scoring_server, model,
                                json.dumps({**split, "params": {"times": [4.0, 8.0]}})))
    assert [sorted(p) for p in answer["predictions"]][0] == sorted(
        ["risk", "survival_4", "survival_8", "event_probability_4", "event_probability_8"])
    bad = json.loads(_answer(scoring_server, model,
                             json.dumps({**split, "params": {"times": ["soon"]}})))
    assert bad["message"].startswith("'params' do not fit the model's parameters")
    records = {"inputs": json.loads(frame.to_json(orient="records"))}
    assert len(json.loads(_answer(scoring_server, model, json.dumps(records)))["predictions"]) == 3
