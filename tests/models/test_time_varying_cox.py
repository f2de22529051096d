"""The Cox fit with entry times and the time-varying Cox model, against lifelines and by hand.

References (lifelines 0.30.3, Efron's ties, its only option):

* ``CoxPHFitter().fit(df, "T", "E", entry_col="S")`` for :func:`fit_cox` with ``entry``;
* ``CoxTimeVaryingFitter().fit(rows, event_col="event", start_col="start", stop_col="stop",
  id_col="id")`` for :class:`TimeVaryingCox` on PBC2 (``../shared/data/auton/pbc2.csv``, read
  in place; skipped without ../shared, failed under ``CI``) and on the synthetic sample;
* a per-event-time loop over the risk sets ``{j : entry_j < t <= time_j}`` written here
  (:func:`_brute`, the sums of lifelines' ``_get_gradients``, with Breslow's ties too) for the
  score, the information matrix and the baseline hazard jumps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import lightsaber.metrics._cox as cox
from lightsaber.data import to_counting_process
from lightsaber.data.datasets import load_pbc2, load_sample_mortality
from lightsaber.exceptions import (
    ArgumentError,
    CohortError,
    MissingColumnError,
    NonNumericColumnError,
    NotFittedError,
    TargetError,
)
from lightsaber.metrics._cox import fit_cox
from lightsaber.models import CauseSpecificCox, TimeVaryingCox
from tests.conftest import shared_file

#: lifelines' own convergence: coefficients are compared at 1e-6 (measured below 1e-9).
LIFELINES_TOL = 1e-6
PBC2_COLUMNS = ["serBilir", "albumin", "age"]


def _truncated(n: int = 400, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                      np.ndarray]:
    """Covariates, event, integer (tied) exit times and delayed entry times."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    stop = np.ceil(rng.exponential(5 * np.exp(-0.7 * x[:, 0])))
    entry = np.where(rng.random(n) < 0.3, 0.0, np.floor(rng.uniform(0, 0.8, n) * stop))
    stop = np.maximum(stop, entry + 1)
    return x, rng.random(n) < 0.7, stop, entry


def _brute(x, event, time, entry, beta, ties):
    """Log-likelihood, score, information matrix and baseline jumps (at x = 0), one loop per
    distinct event time over the rows with ``entry < t <= time``."""
    p = x.shape[1]
    loglik, score, info, jumps = 0.0, np.zeros(p), np.zeros((p, p)), []
    w = np.exp(x @ beta)
    for t in np.unique(time[event]):
        at, dead = (entry < t) & (t <= time), event & (time == t)
        m = int(dead.sum())
        r = np.arange(m) / m if ties == "efron" else np.zeros(m)
        s0 = w[at].sum() - r * w[dead].sum()
        s1 = (w[at, None] * x[at]).sum(0) - r[:, None] * (w[dead, None] * x[dead]).sum(0)
        s2 = (np.einsum("i,ij,ik->jk", w[at], x[at], x[at])[None]
              - r[:, None, None] * np.einsum("i,ij,ik->jk", w[dead], x[dead], x[dead])[None])
        loglik += float((x[dead] @ beta).sum() - np.log(s0).sum())
        score += x[dead].sum(0) - (s1 / s0[:, None]).sum(0)
        mean = s1 / s0[:, None]
        info += (s2 / s0[:, None, None]).sum(0) - mean.T @ mean
        jumps.append(float((1 / s0).sum()))
    return loglik, score, info, np.array(jumps)


# ---------------------------------------------------------------------- fit_cox with entry
def test_fit_cox_entry_equals_lifelines_coxph_entry_col():
    lifelines = pytest.importorskip("lifelines")
    x, event, stop, entry = _truncated()
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(T=stop, E=event.astype(int),
                                                            S=entry)
    # full Newton steps run to a tight stop: lifelines' default (0.95 steps, stopping at a
    # step norm of 1e-7) stops 3e-8 short here, with a score of 1e-5 under _brute
    ref = lifelines.CoxPHFitter().fit(frame, "T", "E", entry_col="S", fit_options={
        "step_size": 1.0, "precision": 1e-14, "r_precision": 1e-16, "max_steps": 500})
    ours = fit_cox(x, event, stop, entry=entry, ties="efron")
    assert np.max(np.abs(ours.coef - ref.params_.to_numpy())) < 1e-10  # measured 2e-16
    # without entry the fit differs: the delayed entry matters on these data
    assert np.max(np.abs(fit_cox(x, event, stop, ties="efron").coef - ours.coef)) > 0.01


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_fit_cox_entry_score_information_and_baseline_by_hand(ties, monkeypatch):
    x, event, stop, entry = _truncated(n=250, seed=4)
    seen = {}
    real = cox.newton_raphson

    def spy(state, p, **kwargs):
        seen["state"] = state
        return real(state, p, **kwargs)

    monkeypatch.setattr(cox, "newton_raphson", spy)
    fit = fit_cox(x, event, stop, entry=entry, ties=ties)
    loglik, score, info, jumps = _brute(x, event, stop, entry, fit.coef, ties)
    assert np.max(np.abs(score)) < 1e-9
    # the fitter works on centred covariates: same likelihood up to the centring constant
    ours_ll, ours_score, ours_hess = seen["state"](fit.coef)
    b = np.array([0.3, -0.2, 0.1])
    brute_at_b = _brute(x - fit.center, event, stop, entry, b, ties)
    state_at_b = seen["state"](b)
    assert abs(state_at_b[0] - brute_at_b[0]) < 1e-10 * abs(brute_at_b[0])
    np.testing.assert_allclose(state_at_b[1], brute_at_b[1], atol=1e-10)
    np.testing.assert_allclose(-state_at_b[2], brute_at_b[2], atol=1e-10)
    np.testing.assert_allclose(-ours_hess, info, atol=1e-10)
    np.testing.assert_allclose(ours_score, 0, atol=1e-9)
    assert np.isfinite(ours_ll) and np.isfinite(loglik)
    # baseline at the centre: x = 0 jumps scaled by exp(centre' beta)
    np.testing.assert_allclose(np.exp(fit.log_hazard),
                               jumps * np.exp(fit.center @ fit.coef), rtol=1e-12)
    np.testing.assert_array_equal(fit.event_times, np.unique(stop[event]))


def test_fit_cox_entry_before_every_time_is_the_plain_fit():
    x, event, stop, _ = _truncated(n=300, seed=2)
    for ties in ("efron", "breslow"):
        plain = fit_cox(x, event, stop, ties=ties)
        early = fit_cox(x, event, stop, ties=ties, entry=np.full(stop.size, -np.inf))
        np.testing.assert_allclose(early.coef, plain.coef, atol=1e-12)
        np.testing.assert_allclose(early.log_cum_baseline_hazard,
                                   plain.log_cum_baseline_hazard, atol=1e-12)


@pytest.mark.parametrize(("entry", "match"), [
    (np.zeros(3), "shape"),
    (np.array([0.0, np.nan, 0, 0]), "missing or \\+inf"),
    (np.array([0.0, 3, 0, 0]), "1 row\\(s\\) have entry >= time"),
])
def test_fit_cox_entry_errors(entry, match):
    x = np.array([[0.0], [1], [2], [3]])
    with pytest.raises(ArgumentError, match=match):
        fit_cox(x, np.ones(4, bool), np.array([1.0, 2, 3, 4]), entry=entry)


# ---------------------------------------------------------------------- TimeVaryingCox
@pytest.fixture(scope="module")
def pbc2_rows() -> pd.DataFrame:
    cohort = load_pbc2(shared_file("data", "auton", "pbc2.csv"))
    rows = to_counting_process(cohort, ["serBilir", "albumin", "prothrombin", "age"])
    rows["serBilir"] = np.log(rows["serBilir"])
    return rows


def _lifelines_ctv(rows: pd.DataFrame, **fit_options):
    lifelines = pytest.importorskip("lifelines")
    return lifelines.CoxTimeVaryingFitter().fit(
        rows, event_col="event", start_col="start", stop_col="stop", id_col="id",
        fit_options=fit_options or None)


def test_pbc2_equals_lifelines_coxtimevaryingfitter(pbc2_rows):
    rows = pbc2_rows[["id", "start", "stop", "event", *PBC2_COLUMNS]]
    ref = _lifelines_ctv(rows)
    model = TimeVaryingCox().fit(rows)
    assert model.feature_names_in_.tolist() == PBC2_COLUMNS
    assert np.max(np.abs(model.coef_ - ref.params_.to_numpy())) < LIFELINES_TOL
    # linear predictor: lifelines centres it at the training means
    shift = model.predict(rows) - ref.predict_log_partial_hazard(rows).to_numpy()
    assert np.ptp(shift) < 1e-6
    # baseline: lifelines' jumps are Breslow's d / S0 (at the means) with Efron's
    # coefficients; at the three times with tied deaths ours are Efron's sum_r 1 / (S0 - ...)
    lifelines_h = ref.baseline_cumulative_hazard_.iloc[:, 0]
    np.testing.assert_array_equal(lifelines_h.index.to_numpy(), model.event_times_)
    ours_jump = np.diff(np.r_[0, model.cum_baseline_hazard_]) * np.exp(
        ref._norm_mean.to_numpy() @ model.coef_)
    their_jump = np.diff(np.r_[0, lifelines_h.to_numpy()])
    event_stops = rows.loc[rows["event"], "stop"].to_numpy()
    tied = np.isin(model.event_times_, event_stops[pd.Series(event_stops).duplicated()])
    assert tied.sum() == 3
    np.testing.assert_allclose(ours_jump[~tied], their_jump[~tied], rtol=1e-6)
    assert np.all(ours_jump[tied] > their_jump[tied])  # Efron's jump exceeds Breslow's


def test_pbc2_with_prothrombin_where_lifelines_needs_a_shorter_step(pbc2_rows):
    """lifelines' default step (0.95, no halving) overflows on the first Newton step with
    prothrombin (a visit at 36 s); with ``step_size=0.5`` it converges to our coefficients."""
    ref = _lifelines_ctv(pbc2_rows, step_size=0.5)
    model = TimeVaryingCox().fit(pbc2_rows)
    assert np.max(np.abs(model.coef_ - ref.params_.to_numpy())) < LIFELINES_TOL


def test_sample_cohort_equals_lifelines():
    cohort = load_sample_mortality()
    columns = ["heart_rate", "resp_rate", "lactate", "creatinine", "age"]
    rows = to_counting_process(cohort, columns, duration_unit=24).dropna()
    assert int(rows["event"].sum()) == int(cohort.y_survival["event"].sum())
    ref = _lifelines_ctv(rows)
    model = TimeVaryingCox().fit(rows)
    assert np.max(np.abs(model.coef_ - ref.params_.to_numpy())) < LIFELINES_TOL


def test_collapsed_rows_give_the_same_fit():
    cohort = load_sample_mortality(n_patients=400, seed=2)
    full = to_counting_process(cohort, ["lactate", "wbc", "age"], duration_unit=24).dropna()
    merged = to_counting_process(cohort, ["lactate", "wbc", "age"], duration_unit=24,
                                 collapse=True).dropna()
    assert len(merged) < len(full)
    a, b = TimeVaryingCox().fit(full), TimeVaryingCox().fit(merged)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-10)
    np.testing.assert_allclose(a.cum_baseline_hazard_, b.cum_baseline_hazard_, rtol=1e-10)


def test_one_row_per_patient_is_the_static_cox_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    time = np.ceil(rng.exponential(3 * np.exp(-x[:, 0])))
    event = rng.random(200) < 0.8
    rows = pd.DataFrame({"id": np.arange(200), "start": 0.0, "stop": time, "event": event,
                         "x0": x[:, 0], "x1": x[:, 1]})
    from lightsaber.data import make_competing_target

    csc = CauseSpecificCox().fit(x, make_competing_target(event.astype(int), time))
    np.testing.assert_allclose(TimeVaryingCox().fit(rows).coef_, csc.coef_[1], atol=1e-10)


def test_survival_along_a_path():
    rows = pd.DataFrame({"id": [1, 1, 2, 3, 3, 4, 5, 6],
                         "start": [0.0, 2, 0, 0, 1, 0, 0, 0],
                         "stop": [2.0, 5, 3, 1, 4, 6, 2.5, 5.5],
                         "event": [0, 1, 1, 0, 1, 0, 1, 1],
                         "crp": [1.0, 3, 2, 0.5, 2.5, 0.2, 1.5, 0.7]})
    model = TimeVaryingCox().fit(rows)
    path = pd.DataFrame({"id": ["p", "p", "q"], "start": [0.0, 3.5, 1.0],
                         "stop": [3.5, 7.0, 4.5], "crp": [0.5, 2.0, 1.0]})
    times = [0.0, 1.0, 2.5, 3.0, 4.0, 5.0, 5.5, 6.0, 8.0]
    surv = model.predict_survival_function(path, times)
    jumps = np.diff(np.r_[0, model.cum_baseline_hazard_])
    s, beta = model.event_times_, model.coef_[0]
    expected = []
    for name in ("p", "q"):
        segs = path[path["id"] == name]
        row = []
        for t in times:
            h = sum(jumps[(s > a) & (s <= min(b, t))].sum() * np.exp(beta * c)
                    for a, b, c in segs[["start", "stop", "crp"]].to_numpy())
            row.append(np.exp(-h) if t <= segs["stop"].max() else np.nan)
        expected.append(row)
    np.testing.assert_allclose(surv, np.array(expected), rtol=1e-12)
    assert np.isnan(surv[0, -1]) and np.isnan(surv[1, -3:]).all()
    assert surv[1, 1] == 1.0  # before q's first event time inside its path
    np.testing.assert_allclose(model.predict_cumulative_hazard(path, times),
                               -np.log(surv), rtol=1e-12)


def test_penalty_shrinks_and_estimator_clones(pbc2_rows):
    rows = pbc2_rows[["id", "start", "stop", "event", *PBC2_COLUMNS]]
    plain = TimeVaryingCox().fit(rows)
    ridge = clone(TimeVaryingCox(alpha=50.0)).fit(rows)
    assert ridge.get_params()["alpha"] == 50.0
    assert np.linalg.norm(ridge.coef_) < np.linalg.norm(plain.coef_)
    breslow = TimeVaryingCox(ties="breslow").fit(rows)
    assert 0 < np.max(np.abs(breslow.coef_ - plain.coef_)) < 1e-2  # three tied deaths only


def _rows(**changes) -> pd.DataFrame:
    rows = pd.DataFrame({"id": [1, 1, 2, 3], "start": [0.0, 2, 0, 0],
                         "stop": [2.0, 5, 3, 4], "event": [0, 1, 1, 0],
                         "crp": [1.0, 3, 2, 0.5]})
    return rows.assign(**changes)


@pytest.mark.parametrize(("rows", "error", "match"), [
    (_rows(stop=[2.0, 2, 3, 4]), TargetError, "1 row\\(s\\) have start >= stop"),
    (_rows(crp=[1.0, np.nan, np.nan, 2]), CohortError, "'crp' \\(2\\), of 4 rows"),
    (_rows(sex=["f", "m", "f", "m"]), NonNumericColumnError, "'sex' \\(object\\)"),
    (_rows(event=[0, 2, 1, 0]), TargetError, "must be 0/1"),
    (_rows(event=[0, 0, 0, 0]), TargetError, "no event"),
    (_rows(start=[0.0, 1.5, 0, 0]), TargetError, "overlap an earlier row"),
    (_rows(stop=[2.0, np.inf, 3, 4]), TargetError, "'stop' has 1 missing or infinite"),
    (_rows().drop(columns="event"), MissingColumnError, "\\['event'\\]"),
    (_rows().drop(columns="crp"), MissingColumnError, "no covariate"),
])
def test_fit_errors(rows, error, match):
    with pytest.raises(error, match=match):
        TimeVaryingCox().fit(rows)


def test_fit_argument_errors():
    with pytest.raises(ArgumentError, match="outcome inside X"):
        TimeVaryingCox().fit(_rows(), np.ones(4))
    with pytest.raises(ArgumentError, match="must be a DataFrame"):
        TimeVaryingCox().fit(_rows().to_numpy())
    with pytest.raises(ArgumentError, match="ties must be"):
        TimeVaryingCox(ties="exact").fit(_rows())
    with pytest.raises(ArgumentError, match="alpha must be"):
        TimeVaryingCox(alpha=-1).fit(_rows())
    with pytest.raises(NotFittedError):
        TimeVaryingCox().predict(_rows())


def test_custom_column_names_and_predict_input():
    rows = _rows().rename(columns={"start": "t0", "stop": "t1", "event": "died", "id": "pid"})
    model = TimeVaryingCox().fit(rows, start="t0", stop="t1", event="died", id="pid")
    assert model.feature_names_in_.tolist() == ["crp"]
    np.testing.assert_allclose(model.predict(rows), rows["crp"].to_numpy() * model.coef_[0])
    np.testing.assert_allclose(model.predict(np.array([[2.0]])), 2 * model.coef_)
    with pytest.raises(ArgumentError, match="must have 1 columns"):
        model.predict(np.ones((2, 3)))
    with pytest.raises(MissingColumnError, match="'crp'"):
        model.predict(rows.drop(columns="crp"))
