"""Recalibration of cumulative incidences (competing risks): the recalibrator and ``ls.fit``.

* :class:`CompetingRecalibrator` undoes a known distortion of the true CIFs of a simulation
  (constant cause-specific hazards): ``"cloglog"`` finds the inverse map and both methods bring
  the CIFs and the integrated Brier score back near the truth on new rows;
* recalibrated CIFs are non-decreasing in time, in ``[0, 1]`` and sum to at most 1 over causes,
  also where the per-cause maps alone would take the total above 1;
* ``ls.fit(CauseSpecificCox(alpha=0.1), load_sample_mortality(n_patients=600, competing=True),
  calibrate=...)`` tracked to a sqlite store logs the calibration summary and figure under
  ``calibration/``, the recalibrated and the ``uncalibrated_*`` per-cause metrics, and valid
  recalibrated CIFs; the recalibrator never sees test rows; a recalibrator fitted on val that
  hurts out of fold is warned about; unsupported method names fail before training.
"""

from __future__ import annotations

import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

import lightsaber as ls
from lightsaber.calibration import (
    CalibrationError,
    CompetingRecalibrator,
    SurvivalRecalibrator,
    resolve_calibrator,
)
from lightsaber.calibration.competing import cap_total_incidence
from lightsaber.data.targets import make_competing_target
from lightsaber.exceptions import CalibrationWarning, NotFittedError
from lightsaber.metrics import CompetingPrediction, integrated_brier_score_competing
from lightsaber.models import CauseSpecificCox

GRID = np.linspace(0.1, 2.0, 20)
HORIZONS = [0.3, 0.7, 1.1, 1.5]  # on the grid, so the step reading of the curves is exact
METRICS = ("cause_specific_auc", "ibs_competing", "wolbers_c")
CAUSES = ("death", "discharge")


def _simulate(n: int, seed: int):
    """Hazards ``0.5 exp(0.8 x)`` (cause 1) and ``0.4 exp(-0.5 x)`` (cause 2); true CIFs on GRID."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    rates = {1: 0.5 * np.exp(0.8 * x), 2: 0.4 * np.exp(-0.5 * x)}
    total = rates[1] + rates[2]
    t = rng.exponential(1 / total)
    cause = np.where(rng.random(n) < rates[1] / total, 1, 2)
    c = rng.exponential(3.0, n)
    y = make_competing_target(np.where(t <= c, cause, 0), np.minimum(t, c))
    true = {k: (rates[k] / total)[:, None] * -np.expm1(-np.outer(total, GRID)) for k in (1, 2)}
    return y, true


def _distort(cif, a, b):
    """``log(-log(1 - F')) = a + b log(-log(1 - F))``: undone by slope 1/b, intercept -a/b."""
    cll = np.log(-np.log1p(-np.clip(cif, 1e-12, 1 - 1e-12)))
    return -np.expm1(-np.exp(a + b * cll))


DISTORTION = {1: (0.5, 2.0), 2: (-0.5, 0.6)}  # cause 1 over-spread, cause 2 shrunk


@pytest.fixture(scope="module")
def simulated():
    y, true = _simulate(4000, 0)
    y_new, true_new = _simulate(4000, 1)
    bad = {k: _distort(true[k], *DISTORTION[k]) for k in true}
    bad_new = {k: _distort(true_new[k], *DISTORTION[k]) for k in true_new}
    return y, bad, y_new, true_new, bad_new


def _assert_valid(cif, tol=1e-12):
    total = 0.0
    for curves in cif.values():
        assert np.all(np.isfinite(curves))
        assert np.all((curves >= 0) & (curves <= 1))
        assert np.all(np.diff(curves, axis=1) >= 0)  # non-decreasing in time
        total = total + curves
    assert np.all(total <= 1 + tol)


def _ibs(y, cif, cause):
    inside = GRID < y["time"].max()
    return integrated_brier_score_competing(y, cif[:, inside], GRID[inside], cause=cause)


def test_cloglog_recovers_the_inverse_of_a_known_distortion(simulated):
    # Measured (seed 0 / 1, n = 4000 each): slopes 0.49-0.51 (cause 1, truth 0.5) and 1.73-1.88
    # (cause 2, truth 1.67); mean |recalibrated - true| at the horizons 0.005-0.013 (distorted
    # 0.036-0.107); IBS true / distorted / recalibrated 0.1668 / 0.1779 / 0.1671 (cause 1) and
    # 0.1602 / 0.1644 / 0.1606 (cause 2).
    y, bad, y_new, true_new, bad_new = simulated
    recal = CompetingRecalibrator("cloglog", horizons=HORIZONS).fit(bad, y, times=GRID)
    summary = recal.summary()
    json.dumps(summary)
    for cause, (_, b) in DISTORTION.items():
        slopes = [m["slope"] for m in summary["causes"][str(cause)]["maps"]]
        assert np.allclose(slopes, 1 / b, rtol=0.15), (cause, slopes)
    new = recal.transform(bad_new)
    _assert_valid(new)
    cols = np.searchsorted(GRID, HORIZONS)
    for cause in (1, 2):
        err = np.abs(new[cause][:, cols] - true_new[cause][:, cols]).mean(axis=0)
        err_bad = np.abs(bad_new[cause][:, cols] - true_new[cause][:, cols]).mean(axis=0)
        assert err.max() < 0.02 and err_bad.min() > 0.03, (cause, err, err_bad)
        ibs = [_ibs(y_new, c[cause], cause) for c in (true_new, bad_new, new)]
        assert ibs[2] < ibs[1] and ibs[2] < ibs[0] + 0.001, (cause, ibs)


def test_isotonic_brings_the_cifs_back_near_the_truth(simulated):
    # Measured: mean |recalibrated - true| at the horizons 0.012-0.027; IBS 0.1675 (cause 1,
    # distorted 0.1779) and 0.1616 (cause 2, distorted 0.1644).
    y, bad, y_new, true_new, bad_new = simulated
    recal = CompetingRecalibrator("isotonic", horizons=HORIZONS).fit(bad, y, times=GRID)
    new = recal.transform(bad_new)
    _assert_valid(new)
    cols = np.searchsorted(GRID, HORIZONS)
    for cause in (1, 2):
        assert np.abs(new[cause][:, cols] - true_new[cause][:, cols]).mean() < 0.03
        assert _ibs(y_new, new[cause], cause) < _ibs(y_new, bad_new[cause], cause)


@pytest.mark.parametrize("method", ["cloglog", "isotonic"])
def test_cifs_stay_valid_where_the_maps_alone_would_exceed_one(simulated, method):
    # Both causes predicted at a third of their CIF: each map triples it, so on rows predicted
    # high for both causes the mapped total goes above 1, and the joint cap has to bind.
    y, _, _, true_new, _ = simulated
    y_fit, true_fit = _simulate(4000, 2)
    under = {k: v / 3 for k, v in true_fit.items()}
    recal = CompetingRecalibrator(method, horizons=HORIZONS).fit(under, y_fit, times=GRID)
    ramp = np.linspace(0.05, 0.49, GRID.size)
    high = {1: np.tile(ramp, (50, 1)), 2: np.tile(ramp, (50, 1))}
    new = recal.transform(high)
    _assert_valid(new)
    total = new[1] + new[2]
    assert total.max() == pytest.approx(1.0, abs=1e-12)  # the cap bound ...
    uncapped = [recal._mapped(k, high[k][:, -1], GRID[-1]) for k in (1, 2)]
    assert (uncapped[0] + uncapped[1]).max() > 1.05  # ... because the maps alone exceed 1
    _assert_valid(recal.transform({k: v / 3 for k, v in true_new.items()}))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(1, 4), st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_capping_keeps_curves_non_decreasing_and_their_total_at_most_one(k, m, seed):
    rng = np.random.default_rng(seed)
    curves = {c: np.clip(np.cumsum(rng.random((5, m)) * rng.random() * 0.6, axis=1), 0, 1)
              for c in range(1, k + 1)}
    out = cap_total_incidence(curves)
    _assert_valid(out)
    for c in curves:
        assert np.all(out[c] <= curves[c] + 1e-12)
    fine = sum(curves.values()).max(axis=1) <= 1.0  # rows never above 1 are left as they are
    for c in curves:
        np.testing.assert_allclose(out[c][fine], curves[c][fine], rtol=0, atol=1e-12)


def test_default_horizons_are_quantiles_of_each_cause_own_event_times(simulated):
    y, bad, *_ = simulated
    recal = CompetingRecalibrator().fit(bad, y, times=GRID)
    for cause in (1, 2):
        events = y["time"][(y["status"] == cause) & (y["time"] >= GRID[0])
                           & (y["time"] <= GRID[-1])]
        np.testing.assert_allclose(recal.horizons_[cause],
                                   np.quantile(events, [0.1, 0.25, 0.5, 0.75, 0.9]))
    assert recal.causes_ == [1, 2] and recal.n_calibration_ == 4000


def test_a_competing_prediction_in_gives_one_out_with_its_risk_recomputed(simulated):
    y, bad, y_new, _, bad_new = simulated
    names = {1: "death", 2: "discharge"}
    recal = CompetingRecalibrator().fit(CompetingPrediction(bad, GRID, causes=names), y)
    out = recal.transform(CompetingPrediction(bad_new, GRID, causes=names))
    assert isinstance(out, CompetingPrediction) and out.causes == names
    np.testing.assert_array_equal(out.cif[1], recal.transform(bad_new)[1])
    np.testing.assert_array_equal(out.risk[2], out.cif[2][:, -1])
    custom = CompetingPrediction(bad_new, GRID, risk={1: -np.ones(4000), 2: np.zeros(4000)})
    assert recal.transform(custom).risk[1].tolist() == [-1.0] * 4000  # a given risk is kept
    one = recal.transform({1: bad_new[1]}, GRID)  # a subset of the causes (e.g. FineGray)
    assert sorted(one) == [1]


class _TrueModel:
    """A stand-in fitted model whose CIFs are those of the simulation on any times."""

    def __init__(self, true_cif):
        self.true_cif = true_cif

    def predict_cumulative_incidence(self, X, times, cause=1):
        return self.true_cif(cause, np.asarray(times, dtype=float))[X]


def test_predict_cumulative_incidence_of_a_model_at_any_times(simulated):
    y, bad, *_ = simulated
    rng = np.random.default_rng(3)
    x = rng.normal(size=30)
    rates = {1: 0.5 * np.exp(0.8 * x), 2: 0.4 * np.exp(-0.5 * x)}
    total = rates[1] + rates[2]

    def distorted(cause, times):
        true = (rates[cause] / total)[:, None] * -np.expm1(-np.outer(total, times))
        return _distort(true, *DISTORTION[cause])

    recal = CompetingRecalibrator(horizons=HORIZONS).fit(bad, y, times=GRID)
    rows = np.arange(30)
    asked = np.array([1.5, 0.05, 0.7, 3.0])  # unsorted, before and after the grid
    out = recal.predict_cumulative_incidence(_TrueModel(distorted), rows, asked)
    on_grid = recal.predict_cumulative_incidence(_TrueModel(distorted), rows, GRID)
    np.testing.assert_allclose(out[1][:, [0, 2]], on_grid[1][:, [14, 6]], rtol=1e-12)
    union = np.unique(np.r_[GRID, asked])
    direct = recal.transform({k: distorted(k, union) for k in (1, 2)}, union)
    for k in (1, 2):
        np.testing.assert_allclose(out[k], direct[k][:, np.searchsorted(union, asked)])


def test_scikit_learn_protocol_clone_params_pickle(simulated):
    y, bad, *_ = simulated
    recal = CompetingRecalibrator("isotonic", horizons=HORIZONS)
    assert clone(recal).get_params() == {"method": "isotonic", "horizons": HORIZONS}
    with pytest.raises(NotFittedError, match="not fitted; call fit first"):
        recal.transform(bad)
    recal.fit(bad, y, times=GRID)
    again = pickle.loads(pickle.dumps(recal))
    np.testing.assert_array_equal(again.transform(bad)[2], recal.transform(bad)[2])
    assert not hasattr(clone(recal), "maps_")


@pytest.mark.parametrize(("make", "match"), [
    (lambda bad, y: CompetingRecalibrator("sigmoid").fit(bad, y, times=GRID),
     r"method must be one of \['cloglog', 'isotonic'\]; got 'sigmoid'"),
    (lambda bad, y: CompetingRecalibrator().fit(bad, None, times=GRID), "requires y"),
    (lambda bad, y: CompetingRecalibrator().fit(bad, y), "times is required"),
    (lambda bad, y: CompetingRecalibrator().fit(np.zeros((4000, 20)), y, times=GRID),
     "takes a CompetingPrediction or a mapping"),
    (lambda bad, y: CompetingRecalibrator().fit({1: bad[1][:10]}, y, times=GRID),
     "the cause-1 curves have 10 rows but y has 4000"),
    (lambda bad, y: CompetingRecalibrator().fit({1: bad[1][:, :5]}, y, times=GRID),
     r"must have shape \(n_samples, 20\)"),
    (lambda bad, y: CompetingRecalibrator(horizons=[5.0]).fit(bad, y, times=GRID),
     r"horizons must lie within the time grid of the curves, \[0.1, 2\]"),
    (lambda bad, y: CompetingRecalibrator().fit(
        {1: np.where(bad[1] > 0.5, np.nan, bad[1])}, y, times=GRID), "must be finite"),
    (lambda bad, y: CompetingRecalibrator().fit(bad, y, times=GRID).transform({3: bad[1]}),
     r"fitted on causes \[1, 2\]; it cannot recalibrate cause\(s\) \[3\]"),
    (lambda bad, y: CompetingRecalibrator().fit(CompetingPrediction(bad, GRID), y,
                                                times=GRID + 1), "the prediction's own times"),
])
def test_bad_inputs_raise_calibration_errors(simulated, make, match):
    y, bad, *_ = simulated
    with pytest.raises(CalibrationError, match=match):
        make(bad, y)


def test_a_cause_without_events_in_the_calibration_rows_is_named():
    y = make_competing_target([1, 1, 0, 1, 0, 1], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    curves = {k: np.tile([0.1, 0.2, 0.3], (6, 1)) for k in (1, 2)}
    with pytest.raises(CalibrationError, match="no cause-2 event within the curves' time grid"):
        CompetingRecalibrator().fit(curves, y, times=[1.0, 3.0, 5.0])


def test_resolve_calibrator_for_competing_risks():
    assert isinstance(resolve_calibrator("isotonic", "competing"), CompetingRecalibrator)
    given_one = CompetingRecalibrator("isotonic", horizons=[1.0])
    resolved = resolve_calibrator(given_one, "competing")
    assert resolved is not given_one and resolved.get_params() == given_one.get_params()
    with pytest.raises(CalibrationError, match=r"calibrate must be one of \['cloglog', "
                                               r"'isotonic'\] for a competing model"):
        resolve_calibrator("temperature", "competing")
    with pytest.raises(CalibrationError, match="does not apply to a competing model; use a "
                                               "CompetingRecalibrator"):
        resolve_calibrator(SurvivalRecalibrator(), "competing")
    with pytest.raises(CalibrationError, match="does not apply to a survival model"):
        resolve_calibrator(CompetingRecalibrator(), "survival")


# ---------------------------------------------------------------------------- ls.fit
@pytest.fixture(scope="module")
def sample():
    cohort = ls.datasets.load_sample_mortality(n_patients=600, competing=True)
    return cohort, cohort.split(val=0.2, test=0.2, calibration=0.2, stratify="event", seed=0)


def _check_run_cifs(run, splits):
    for split in ("train", "val", "calibration", "test"):
        prediction = run.predictions[split]
        assert sorted(prediction.cif) == [1, 2]
        assert prediction.n_samples == len(splits[split])
        _assert_valid(prediction.cif)
        for cause in (1, 2):
            np.testing.assert_array_equal(prediction.risk[cause], prediction.cif[cause][:, -1])


@pytest.mark.slow
@pytest.mark.parametrize("method", ["cloglog", "isotonic"])
def test_fit_calibrates_a_cause_specific_cox_tracked(sample, store_uri, method):
    """Measured (seed-0 split 240/120/120/120, 2-core CPU ~8 s with tracking): the recalibrated
    test IBS per cause, uncalibrated -> cloglog / isotonic: death 0.1234 -> 0.1069 / 0.1081,
    discharge 0.2351 -> 0.2023 / 0.2038 (the ridge CSC on 240 rows is over-confident: cloglog
    slopes 0.17-0.29 for death)."""
    from mlflow.tracking import MlflowClient

    from lightsaber.tracking.predictions import load_predictions

    cohort, splits = sample
    run = ls.fit(CauseSpecificCox(alpha=0.1), cohort, splits, calibrate=method,
                 tracking_uri=store_uri, experiment="competing-calibration", progress=False)
    assert isinstance(run.pipeline.calibrator, CompetingRecalibrator)
    assert run.calibration.method == method and run.calibration.fitted_on == "calibration"
    _check_run_cifs(run, splits)
    test = run.metrics["test"]
    for cause in CAUSES:
        assert test[f"ibs_competing_{cause}"] < test[f"uncalibrated_ibs_competing_{cause}"]
    client = MlflowClient(tracking_uri=store_uri)
    logged = client.get_run(run.run_id).data
    for split in ("train", "val", "calibration", "test"):
        for metric in METRICS:
            for cause in CAUSES:
                for name in (f"{metric}_{cause}", f"uncalibrated_{metric}_{cause}"):
                    assert logged.metrics[f"{split}_{name}"] == pytest.approx(
                        run.metrics[split][name], rel=1e-12)
    assert logged.params["calibration.method"] == method
    assert logged.params["calibration.fitted_on"] == "calibration"
    names = {f.path for f in client.list_artifacts(run.run_id, "calibration")}
    assert names == {"calibration/summary.json", "calibration/cif_calibration_test.png"}
    path = client.download_artifacts(run.run_id, "calibration/summary.json")
    with open(path) as handle:
        summary = json.load(handle)
    assert summary["method"] == method and summary["fitted_on"] == "calibration"
    assert sorted(summary["causes"]) == ["1", "2"]
    for when in ("uncalibrated", "calibrated"):
        for cause, per_horizon in summary["assessment"][when].items():
            for h in per_horizon:  # aggregates of 10 groups of the 120 test rows, no rows
                assert sum(h["n"]) == len(splits["test"]) and len(h["observed_cif"]) == 10
                assert h["cause"] == int(cause)
    # the logged predictions are the recalibrated CIFs
    predictions = load_predictions(run.run_id, tracking_uri=store_uri)
    np.testing.assert_allclose(predictions.prediction("test").cif[1],
                               run.predictions["test"].cif[1], rtol=1e-12)
    assert "model" in {f.path for f in client.list_artifacts(run.run_id)}


def _poisoned(cohort, splits):
    """The same cohort with every test patient's outcome changed (cause swapped, time halved)."""
    frame = pd.concat([pd.Series(cohort.ids, name="pid"), cohort.static], axis=1)
    y = cohort.y_competing
    status, time = y["status"].copy(), y["time"].copy()
    rows = splits.indices["test"]
    status[rows] = np.where(status[rows] == 1, 2, 1)
    time[rows] = time[rows] / 2
    frame["days"], frame["status"] = time, status
    return ls.Cohort(frame, id="pid", duration="days", event="status", causes=cohort.causes)


def test_the_recalibrator_never_sees_test_rows(sample):
    cohort, splits = sample
    flat = ls.Cohort(pd.concat([pd.Series(cohort.ids, name="pid"), cohort.static], axis=1)
                     .assign(days=cohort.y_competing["time"],
                             status=cohort.y_competing["status"]),
                     id="pid", duration="days", event="status", causes=cohort.causes)
    with warnings.catch_warnings():  # static features only: val IBS of death 0.0935 -> 0.0997
        warnings.simplefilter("ignore", CalibrationWarning)
        runs = [ls.fit(CauseSpecificCox(alpha=0.1), c, splits, calibrate="cloglog",
                       track=False) for c in (flat, _poisoned(flat, splits))]
    assert runs[0].pipeline.calibrator.summary() == runs[1].pipeline.calibrator.summary()
    assert runs[0].metrics["test"] != runs[1].metrics["test"]  # the poison is real


def _synthetic(n, seed):
    """A correctly specified cause-specific Cox world (the one of tests/training)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    t1 = rng.exponential(np.exp(-x[:, 0]))
    t2 = rng.exponential(2 * np.exp(x[:, 1]))
    c = rng.exponential(3, n)
    status = np.select([t1 <= np.minimum(t2, c), t2 <= c], [1, 2], 0)
    frame = pd.DataFrame({"id": np.arange(n), "x0": x[:, 0], "x1": x[:, 1],
                          "days": np.minimum.reduce([t1, t2, c]), "status": status})
    return ls.Cohort(frame, id="id", duration="days", event="status",
                     causes={1: "death", 2: "discharge"})


def test_recalibration_fitted_on_val_that_hurts_out_of_fold_is_warned():
    # A correct Cox model needs no recalibration; isotonic maps fitted on 60 val rows overfit,
    # which the out-of-fold check on val sees (seeds 0-2 all warn, for death).
    cohort = _synthetic(300, 0)
    splits = cohort.split(val=0.2, test=0.2, stratify="event", seed=0)
    with pytest.warns(CalibrationWarning, match=r"calibrate='isotonic' makes the integrated "
                                                r"Brier score worse on the val split, out of "
                                                r"fold .*ibs_competing_death \d\.\d+ -> "):
        run = ls.fit(CauseSpecificCox(), cohort, splits, calibrate="isotonic", track=False)
    assert run.calibration.fitted_on == "val"
    assert any("ibs_competing_death" in w for w in run.warnings)
    _check_run_cifs_no_calibration_split(run)


def _check_run_cifs_no_calibration_split(run):
    assert "calibration" not in run.predictions
    for prediction in run.predictions.values():
        _assert_valid(prediction.cif)


@pytest.mark.parametrize("calibrate", ["sigmoid", "temperature", SurvivalRecalibrator()])
def test_an_unsupported_method_fails_before_training(sample, calibrate, monkeypatch):
    cohort, splits = sample

    def no_training(*args, **kwargs):
        raise AssertionError("trained before the calibrator was checked")

    monkeypatch.setattr(CauseSpecificCox, "fit", no_training)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(CalibrationError, match=r"\['cloglog', 'isotonic'\]"):
            ls.fit(CauseSpecificCox(alpha=0.1), cohort, splits, calibrate=calibrate,
                   track=False)


def test_a_fine_gray_model_gets_its_own_cause_recalibrated(sample):
    # Measured (seed-0 split): test ibs_competing_death 0.1328 -> 0.1102.
    from lightsaber.models import FineGray

    cohort, splits = sample
    run = ls.fit(FineGray(cause=1, alpha=0.1), cohort, splits, calibrate="cloglog", track=False)
    assert run.pipeline.calibrator.causes_ == [1]
    assert sorted(run.predictions["test"].cif) == [1]
    _assert_valid(run.predictions["test"].cif)
    test = run.metrics["test"]
    assert test["ibs_competing_death"] < test["uncalibrated_ibs_competing_death"]
    assert list(run.calibration.figures()) == ["cif_calibration_test.png"]
