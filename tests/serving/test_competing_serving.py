"""Serving a competing-risks run: each cause's CIF at requested times, in process, through the
MLflow pyfunc, ``lightsaber predict`` and ``mlflow models serve``, all equal.

The cohort is ``load_sample_mortality(n_patients=300, competing=True)`` (death vs discharge);
its one-hot encoding keeps every level, so the Cox models carry a small ridge penalty
(``alpha=0.1``, as in ``tests/training/test_fit_competing.py``). One CauseSpecificCox is fitted
and logged per module (a sqlite store copied from the session's template).
"""

from __future__ import annotations

import json
import math
import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import lightsaber as ls
from lightsaber.exceptions import PredictionError
from lightsaber.models import CauseSpecificCox, FineGray
from lightsaber.serving import predict_cohort

#: Requested times, unsorted and repeated on purpose (days; the sample's median stay is ~6).
TIMES = [10.5, 2, 5, 2]
GRID = [2.0, 5.0, 10.5]
CAUSES = {1: "death", 2: "discharge"}
#: The columns of a CauseSpecificCox at GRID: risks in cause order, then each cause's CIFs.
COLUMNS = ["risk_death", "risk_discharge", "cif_death_2", "cif_death_5", "cif_death_10.5",
           "cif_discharge_2", "cif_discharge_5", "cif_discharge_10.5"]
#: A recognisable value put into the requests: it must never come back in an error.
SECRET_AGE = 123.456789


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, template_store):
    """One logged CSC fit: run, store folder and URI, splits, test cohort and input frame."""
    folder = tmp_path_factory.mktemp("competing-serving")
    shutil.copyfile(template_store, folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    cohort = ls.datasets.load_sample_mortality(n_patients=300, competing=True)
    splits = cohort.split(val=0.2, test=0.2, stratify="event", seed=0)
    run = ls.fit(CauseSpecificCox(alpha=0.1), cohort, splits, experiment="competing-serving",
                 tracking_uri=uri, progress=False)
    test = cohort.subset(splits.test)
    return SimpleNamespace(run=run, folder=folder, uri=uri, cohort=cohort, splits=splits,
                           test=test, frame=run.pipeline.input_frame(test))


def _expected(pipeline, test):
    """Each cause's CIF at GRID and risk, straight from the fitted model (no serving code)."""
    X = pipeline.transform(test)
    out = {f"risk_{name}": pipeline.model.predict(X, cause=k) for k, name in CAUSES.items()}
    for k, name in CAUSES.items():
        cif = pipeline.model.predict_cumulative_incidence(X, GRID, cause=k)
        out.update({f"cif_{name}_{t:g}": cif[:, j] for j, t in enumerate(GRID)})
    return pd.DataFrame(out)


def test_predict_frame_gives_each_cause_cif_at_times(fitted):
    run, test, frame = fitted.run, fitted.test, fitted.frame
    assert run.pipeline.causes == CAUSES and run.pipeline.cause_names == CAUSES
    out = run.pipeline.predict_frame(frame, times=TIMES)
    assert out.columns.tolist() == COLUMNS and len(out) == test.n_patients
    expected = _expected(run.pipeline, test)
    for column in COLUMNS:
        np.testing.assert_allclose(out[column], expected[column], rtol=0, atol=1e-12)
    death = out[["cif_death_2", "cif_death_5", "cif_death_10.5"]].to_numpy()
    discharge = out[["cif_discharge_2", "cif_discharge_5", "cif_discharge_10.5"]].to_numpy()
    assert ((death >= 0) & (death <= 1)).all() and (np.diff(death, axis=1) >= 0).all()
    assert (death + discharge <= 1 + 1e-12).all()  # the causes share one probability
    # the risk of the first cause is what pipeline.predict has always given
    np.testing.assert_allclose(out["risk_death"], run.pipeline.predict(test), rtol=1e-12)
    # without times: the risks alone; predict_cohort adds the id column, same values
    assert run.pipeline.predict_frame(frame).columns.tolist() == COLUMNS[:2]
    by_cohort = predict_cohort(run, test, times=TIMES)
    assert by_cohort.columns.tolist() == ["patient_id", *COLUMNS]
    assert by_cohort["patient_id"].tolist() == list(test.ids)
    pd.testing.assert_frame_equal(by_cohort[COLUMNS], out, check_exact=False, rtol=1e-12)


def test_mlflow_pyfunc_times_param_gives_the_same_cifs(fitted, monkeypatch):
    import mlflow.pyfunc

    run, uri, frame = fitted.run, fitted.uri, fitted.frame
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    model = mlflow.pyfunc.load_model(f"runs:/{run.run_id}/model")
    params = model.metadata.get_params_schema()
    assert [p.name for p in params.params] == ["times"] and params.params[0].default == []
    assert model.predict(frame).columns.tolist() == COLUMNS[:2]  # the empty default
    served = model.predict(frame, params={"times": TIMES})
    assert served.columns.tolist() == COLUMNS
    in_process = run.pipeline.predict_frame(frame, times=TIMES)
    difference = np.abs(served.to_numpy() - in_process.to_numpy()).max()
    assert difference <= 1e-6, difference  # measured: 0 (the same pickled pipeline)


_BAD_TIMES = {  # what is wrong, as the message says it
    "negative": ([5.0, -SECRET_AGE], "times[1] is negative"),
    "NaN": ([math.nan], "times[0] is not finite"),
    "infinite": ([2.0, math.inf], "times[1] is not finite"),
    "text": (["30"], "times[0] is a str, not a number"),
    "nested": ([[2.0, 5.0]], "times[0] is a list, not a number"),
    "a boolean": ([True], "times[0] is a bool, not a number"),
    "a string": ("30, 90", "got a str"),
}


@pytest.mark.parametrize("name", list(_BAD_TIMES))
def test_bad_times_are_refused_naming_the_entry_not_its_value(fitted, name):
    run, frame = fitted.run, fitted.frame
    times, says = _BAD_TIMES[name]
    with pytest.raises(PredictionError, match="finite, non-negative numbers") as info:
        run.pipeline.predict_frame(frame.assign(age=SECRET_AGE), times=times)
    assert says in str(info.value)
    assert "123.45" not in str(info.value)


def test_pyfunc_refuses_bad_times(fitted, monkeypatch):
    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    run, uri, frame = fitted.run, fitted.uri, fitted.frame
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    model = mlflow.pyfunc.load_model(f"runs:/{run.run_id}/model")
    with pytest.raises(PredictionError, match=r"times\[1\] is negative") as info:
        model.predict(frame.assign(age=SECRET_AGE), params={"times": [5.0, -SECRET_AGE]})
    assert "123.45" not in str(info.value)
    with pytest.raises(MlflowException, match="times"):  # the signature's type: a list
        model.predict(frame, params={"times": 30.0})


def test_fine_gray_serves_only_its_cause(fitted, tmp_path, template_store, monkeypatch):
    import mlflow.pyfunc

    test, frame = fitted.test, fitted.frame
    shutil.copyfile(template_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run = ls.fit(FineGray(cause=2, alpha=0.1), fitted.cohort, fitted.splits, experiment="fine-gray",
                 tracking_uri=uri, progress=False)
    assert run.pipeline.cause_names == {2: "discharge"}
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    served = mlflow.pyfunc.load_model(f"runs:/{run.run_id}/model").predict(
        frame, params={"times": TIMES})
    assert served.columns.tolist() == ["risk_discharge", "cif_discharge_2", "cif_discharge_5",
                                       "cif_discharge_10.5"]
    X = run.pipeline.transform(test)
    np.testing.assert_allclose(served["risk_discharge"], run.pipeline.model.predict(X),
                               rtol=0, atol=1e-12)
    cif = run.pipeline.model.predict_cumulative_incidence(X, GRID)
    np.testing.assert_allclose(served[["cif_discharge_2", "cif_discharge_5",
                                       "cif_discharge_10.5"]].to_numpy(), cif, rtol=0,
                               atol=1e-12)


def test_lightsaber_predict_writes_the_cifs(fitted, tmp_path, capsys):
    from lightsaber.cli import main

    run, uri, test, frame = fitted.run, fitted.uri, fitted.test, fitted.frame
    frame.to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "preds.parquet"
    assert main(["predict", "--model", f"runs:/{run.run_id}/model", "--data",
                 str(tmp_path / "new.csv"), "--out", str(out), "--times", "10.5", "2", "5",
                 "--tracking-uri", uri]) == 0
    assert "predictions written to" in capsys.readouterr().out
    written = pd.read_parquet(out)
    assert written.columns.tolist() == ["patient_id", *COLUMNS]
    assert written["patient_id"].tolist() == list(test.ids)
    expected = run.pipeline.predict_frame(frame, times=GRID)
    np.testing.assert_allclose(written[COLUMNS].to_numpy(), expected.to_numpy(), rtol=0,
                               atol=1e-12)  # a CSV written with repr floats reads back exactly


@pytest.mark.slow
def test_mlflow_models_serve_answers_the_in_process_cifs(fitted):
    from tests.serving.test_serve import _post_raw, _served

    run, test, frame = fitted.run, fitted.test, fitted.frame
    expected = run.pipeline.predict_frame(frame, times=TIMES)
    split = json.loads(frame.to_json(orient="split", index=False))

    def body(params=None, table=split):
        request = {"dataframe_split": table}
        if params is not None:
            request["params"] = params
        return json.dumps(request)

    secret = json.loads(frame.assign(age=SECRET_AGE).to_json(orient="split", index=False))
    bad = {  # name: (params, what the 400 answer says)
        "negative": ({"times": [5.0, -1.0]}, "times[1] is negative"),
        "NaN": ({"times": [math.nan]}, "times[0] is not finite"),
        "not a list": ({"times": "30, 90"}, "times"),
        "text entries": ({"times": ["a"]}, "times"),
    }
    answers = {}
    with _served(fitted.folder, fitted.uri, f"runs:/{run.run_id}/model") as (url, log):
        status, text = _post_raw(f"{url}/invocations", body({"times": TIMES}))
        assert status == 200, text[:500]
        served = pd.DataFrame(json.loads(text)["predictions"])
        assert served.columns.tolist() == COLUMNS and len(served) == test.n_patients
        difference = np.abs(served.to_numpy() - expected.to_numpy()).max()
        assert difference <= 1e-6, difference
        status, text = _post_raw(f"{url}/invocations", body())
        assert status == 200
        plain = pd.DataFrame(json.loads(text)["predictions"])
        assert plain.columns.tolist() == COLUMNS[:2]
        np.testing.assert_allclose(plain.to_numpy(), expected[COLUMNS[:2]].to_numpy(), rtol=0,
                                   atol=1e-6)
        for name, (params, says) in bad.items():
            status, text = _post_raw(f"{url}/invocations", body(params, secret))
            assert status == 400, (name, status, text[:500])
            assert says in json.loads(text)["message"], (name, text[:500])
            answers[name] = text
    server_log = log.read_text(errors="replace")
    needles = [*test.ids, "123.45"]
    leaks = [(where, needle) for where, text in [*answers.items(), ("server log", server_log)]
             for needle in needles if needle in text]
    assert leaks == []


def test_a_competing_recalibrator_in_the_pipeline_recalibrates_the_served_cifs(fitted):
    import dataclasses

    from lightsaber.calibration import CompetingRecalibrator

    run, test, frame = fitted.run, fitted.test, fitted.frame
    val = run.predictions["val"]  # CompetingPrediction on the run's evaluation grid
    y_val = fitted.cohort.subset(fitted.splits.val).y_competing
    recalibrator = CompetingRecalibrator("isotonic").fit(val, y_val)
    calibrated = dataclasses.replace(run.pipeline, calibrator=recalibrator)
    out = calibrated.predict_frame(frame, times=TIMES)
    assert out.columns.tolist() == COLUMNS
    raw = _expected(run.pipeline, test)
    curves = {k: raw[[f"cif_{name}_{t:g}" for t in GRID]].to_numpy()
              for k, name in CAUSES.items()}
    wanted = recalibrator.transform(curves, times=GRID)
    for k, name in CAUSES.items():
        np.testing.assert_allclose(out[[f"cif_{name}_{t:g}" for t in GRID]].to_numpy(),
                                   wanted[k], rtol=0, atol=1e-12)
    # the risks are the model's own (not recalibrated), as for survival
    np.testing.assert_allclose(out[COLUMNS[:2]].to_numpy(), raw[COLUMNS[:2]].to_numpy(),
                               rtol=0, atol=1e-12)
    assert not np.allclose(out["cif_death_10.5"], raw["cif_death_10.5"])  # it did change
