"""Survival curves at requested times through the pyfunc model (what `mlflow models serve` runs)."""

from __future__ import annotations

import numpy as np
from sksurv.linear_model import CoxPHSurvivalAnalysis

import lightsaber as ls
from lightsaber.calibration import SurvivalRecalibrator
from lightsaber.serving import predict_cohort


def _fit(store_uri, calibrate=None):
    cohort = ls.datasets.load_sample_mortality(n_patients=600, seed=2)
    splits = cohort.split(val=0.2, test=0.2, calibration=0.2, seed=0)
    run = ls.fit(CoxPHSurvivalAnalysis(alpha=0.1), cohort, splits, task="survival",
                 experiment="times", tracking_uri=store_uri, progress=False,
                 calibrate=calibrate)
    return run, run.pipeline.input_frame(cohort.subset(splits.test))


def test_pyfunc_times_param_gives_survival_columns(store_uri, monkeypatch):
    import mlflow.pyfunc

    run, frame = _fit(store_uri)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store_uri)
    model = mlflow.pyfunc.load_model(f"runs:/{run.run_id}/model")
    plain = model.predict(frame)
    assert list(plain.columns) == ["risk"]  # the empty default: no times, no curves
    with_times = model.predict(frame, params={"times": [4.0, 8.0]})
    expected = predict_cohort(run, frame, times=[4.0, 8.0])
    for column in ("risk", "survival_4", "survival_8", "event_probability_8"):
        np.testing.assert_allclose(with_times[column], expected[column], rtol=0, atol=1e-12)
    assert (with_times["survival_8"] <= with_times["survival_4"] + 1e-12).all()


def test_times_use_the_recalibrated_curves(store_uri):
    recalibrator = SurvivalRecalibrator("cloglog", horizons=[4.0, 8.0])
    run, frame = _fit(store_uri, calibrate=recalibrator)
    framed = run.pipeline.predict_frame(frame)
    at_times = predict_cohort(run, frame, times=[4.0, 8.0])
    horizon_columns = [c for c in framed.columns if c.startswith("event_probability_")]
    assert horizon_columns
    for column in horizon_columns:
        np.testing.assert_allclose(at_times[column], framed[column], atol=1e-9)
