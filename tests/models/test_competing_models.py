"""Cause-specific Cox and Fine-Gray against R, their properties and their errors.

Fixtures: ``../shared/reference/competing_risks/{melanoma,pbc2}.json`` from ``make_fixtures.R``
there (riskRegression 2022.11.28 ``CSC`` + ``predictRisk``, ``FGR`` over ``cmprsk::crr``),
read in place (skipped without ../shared, failed under ``CI``).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.util import Surv

import lightsaber.models.competing as competing
from lightsaber.data import make_competing_target
from lightsaber.exceptions import ArgumentError, ConvergenceError, NotFittedError, TargetError
from lightsaber.metrics._cox import fit_cox
from lightsaber.metrics._km import censoring_left_limits
from lightsaber.models import CauseSpecificCox, FineGray
from lightsaber.models._competing_fit import fit_fine_gray
from tests.conftest import shared_file

FIXTURES = ("melanoma", "pbc2")
CSC_TOL = 1e-6  # riskRegression::CSC cumulative incidences
FG_TOL = 1e-4  # cmprsk::crr coefficients and cumulative incidences


def _load(name: str) -> dict:
    return json.loads(shared_file("reference", "competing_risks", f"{name}.json").read_text())


def _split(data: dict, part: str) -> tuple[pd.DataFrame, np.ndarray]:
    rows = data[part]
    X = pd.DataFrame({c: np.asarray(rows[c], dtype=float) for c in data["covariates"]})
    return X, make_competing_target(rows["status"], rows["time"])


@pytest.fixture(scope="module", params=FIXTURES)
def reference(request):
    data = _load(request.param)
    X, y = _split(data, "train")
    X_test, _ = _split(data, "test")
    return data, X, y, X_test, np.asarray(data["times"], dtype=float)


# --- R reference values ---------------------------------------------------------------------


def test_cause_specific_cox_equals_riskregression_csc(reference):
    data, X, y, X_test, times = reference
    model = CauseSpecificCox().fit(X, y)
    assert model.causes_.tolist() == [1, 2]
    for cause in (1, 2):
        expected = np.asarray(data[f"csc_cif_cause{cause}_test"])
        got = model.predict_cumulative_incidence(X_test, times, cause=cause)
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() < CSC_TOL, (data["name"], cause)


def test_fine_gray_equals_cmprsk_crr(reference):
    data, X, y, X_test, times = reference
    model = FineGray(cause=1).fit(X, y)
    np.testing.assert_allclose(model.coef_, data["fine_gray_coef_cause1"], rtol=0, atol=FG_TOL)
    expected = np.asarray(data["fine_gray_cif_cause1_test"])
    got = model.predict_cumulative_incidence(X_test, times)
    assert np.abs(got - expected).max() < FG_TOL


def test_fine_gray_stops_only_past_crr_tolerance():
    """R's crr stops at gtol = 1e-6 on the score; we iterate on, and differ by less than 1e-7."""
    for name in FIXTURES:
        data = _load(name)
        X, y = _split(data, "train")
        X_test, _ = _split(data, "test")
        model = FineGray().fit(X, y)
        assert np.abs(model.coef_ - data["fine_gray_coef_cause1"]).max() < 1e-7
        cif = model.predict_cumulative_incidence(X_test, data["times"])
        assert np.abs(cif - np.asarray(data["fine_gray_cif_cause1_test"])).max() < 1e-7


def test_event_free_survival_completes_the_cifs_on_the_fixtures(reference):
    _, X, y, X_test, times = reference
    model = CauseSpecificCox().fit(X, y)
    total = sum(model.predict_cumulative_incidence(X_test, times, cause=k) for k in (1, 2))
    survival = model.predict_event_free_survival(X_test, times)
    np.testing.assert_allclose(total + survival, 1.0, atol=1e-12)


def test_efron_and_breslow_coefficients_equal_scikit_survival(reference):
    _, X, y, _, _ = reference
    for ties in ("efron", "breslow"):
        model = CauseSpecificCox(ties=ties).fit(X, y)
        for cause in (1, 2):
            target = Surv.from_arrays(y["status"] == cause, y["time"])
            sksurv = CoxPHSurvivalAnalysis(ties=ties).fit(X.to_numpy(), target)
            # both stop at a 1e-9 relative change of the log-likelihood, not at the same step
            np.testing.assert_allclose(model.coef_[cause], sksurv.coef_, rtol=0, atol=1e-6)


# --- the two likelihoods against literal loop implementations ---------------------------------


def _tied_data(seed: int = 3, n: int = 150) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    t1 = rng.exponential(8 * np.exp(-0.7 * X[:, 0]))
    t2 = rng.exponential(12 * np.exp(0.5 * X[:, 1]))
    c = rng.uniform(0, 15, n)
    time = np.ceil(np.minimum.reduce([t1, t2, c]))  # integer days: many ties of every kind
    status = np.select([t1 <= np.minimum(t2, c), t2 <= c], [1, 2], 0)
    return X, status, time


def _efron_loglik(b, X, event, time):
    eta, total = X @ b, 0.0
    for u in np.unique(time[event]):
        tied, at_risk = (time == u) & event, time >= u
        d, s0, s0d = tied.sum(), np.exp(eta[at_risk]).sum(), np.exp(eta[tied]).sum()
        total += eta[tied].sum() - sum(np.log(s0 - r / d * s0d) for r in range(d))
    return total


def _crr_loglik(b, X, status, time, cause=1):
    """``cmprsk``'s Fortran ``crrf``, loop for loop (sign flipped: a log-likelihood)."""
    eta, total = X @ b, 0.0
    g_left = censoring_left_limits(status != 0, time)
    for u in np.unique(time[status == cause]):
        failing = (time == u) & (status == cause)
        g_now = g_left[time == u][0]
        weight = np.where(time >= u, 1.0,
                          np.where((status != 0) & (status != cause), g_now / g_left, 0.0))
        total += eta[failing].sum() - failing.sum() * np.log(np.sum(weight * np.exp(eta)))
    return total


def _numeric_gradient(f, b, h=1e-6):
    return np.array([(f(b + h * e) - f(b - h * e)) / (2 * h) for e in np.eye(b.size)])


def test_efron_fit_maximises_the_efron_likelihood_with_heavy_ties():
    X, status, time = _tied_data()
    event = status == 1
    fit = fit_cox(X, event, time, ties="efron")
    grad = _numeric_gradient(lambda b: _efron_loglik(b, X, event, time), fit.coef)
    assert np.abs(grad).max() < 1e-5
    # the baseline: jump = sum_r 1 / (S0 - r / d * S0D) at each distinct time (at the mean x)
    eta = (X - fit.center) @ fit.coef
    for u, log_jump in zip(fit.event_times, fit.log_hazard, strict=True):
        tied, at_risk = (time == u) & event, time >= u
        d, s0, s0d = tied.sum(), np.exp(eta[at_risk]).sum(), np.exp(eta[tied]).sum()
        expected = sum(1 / (s0 - r / d * s0d) for r in range(d))
        assert np.exp(log_jump) == pytest.approx(expected, rel=1e-12)


def test_efron_and_breslow_differ_where_events_tie():
    X, status, time = _tied_data()
    efron = fit_cox(X, status == 1, time, ties="efron")
    breslow = fit_cox(X, status == 1, time, ties="breslow")
    assert np.abs(efron.coef - breslow.coef).max() > 1e-3


def test_fine_gray_maximises_crr_likelihood_with_heavy_ties():
    X, status, time = _tied_data()
    fit = fit_fine_gray(X, status, time, 1)
    grad = _numeric_gradient(lambda b: _crr_loglik(b, X, status, time), fit.coef)
    assert np.abs(grad).max() < 1e-5
    # crrfit's baseline jump: d / (weighted risk-set sum), raw covariates
    g_left = censoring_left_limits(status != 0, time)
    eta = X @ fit.coef
    for u, jump in zip(fit.event_times, fit.hazard, strict=True):
        g_now = g_left[time == u][0]
        weight = np.where(time >= u, 1.0, np.where(status == 2, g_now / g_left, 0.0))
        d = np.sum((time == u) & (status == 1))
        assert jump == pytest.approx(d / np.sum(weight * np.exp(eta)), rel=1e-12)


def test_censoring_weights_are_left_limits_with_events_at_risk():
    time = np.array([1.0, 2.0, 2.0, 2.0, 3.0, 4.0])
    censored = np.array([True, True, False, False, True, False])
    # censorings at 1 (6 at risk) and 2 (5 at risk: the events at 2 count), 3 (2 at risk)
    g = censoring_left_limits(~censored, time)
    np.testing.assert_allclose(g, [1, 5 / 6, 5 / 6, 5 / 6, 5 / 6 * 4 / 5, 5 / 6 * 4 / 5 / 2])


# --- properties ------------------------------------------------------------------------------


@st.composite
def competing_data(draw):
    n = draw(st.integers(12, 40))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    time = np.round(rng.exponential(5, n), draw(st.sampled_from([0, 1, 3])))  # some ties
    status = rng.choice([0, 1, 2], n, p=[0.3, 0.4, 0.3])
    status[:2] = [1, 2]  # both causes occur
    return X, make_competing_target(status, time)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(competing_data(), st.sampled_from(["efron", "breslow"]))
def test_cifs_are_probabilities_that_add_up_with_survival(data, ties):
    X, y = data
    model = CauseSpecificCox(alpha=0.5, ties=ties).fit(X, y)
    times = np.linspace(0, y["time"].max() * 1.2, 9)
    survival = model.predict_event_free_survival(X, times)
    total = np.zeros_like(survival)
    for cause in model.causes_:
        cif = model.predict_cumulative_incidence(X, times, cause=cause)
        assert np.all((cif >= 0) & (cif <= 1))
        assert np.all(np.diff(cif, axis=1) >= -1e-15)
        total += cif
    assert np.all(np.diff(survival, axis=1) <= 1e-15)
    np.testing.assert_allclose(total + survival, 1.0, atol=1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(competing_data())
def test_fine_gray_cif_is_a_probability_non_decreasing_in_time(data):
    X, y = data
    model = FineGray(cause=2, alpha=0.5).fit(X, y)
    cif = model.predict_cumulative_incidence(X, np.linspace(0, y["time"].max() * 1.2, 9))
    assert np.all((cif >= 0) & (cif <= 1))
    assert np.all(np.diff(cif, axis=1) >= 0)


def test_extreme_covariates_keep_cifs_probabilities():
    """A discrete total hazard above 1 is capped: survival 0, the causes share the last step."""
    X, status, time = _tied_data()
    y = make_competing_target(status, time)
    model = CauseSpecificCox().fit(X, y)
    extreme = X * 60
    times = np.unique(time)
    survival = model.predict_event_free_survival(extreme, times)
    total = sum(model.predict_cumulative_incidence(extreme, times, cause=k) for k in (1, 2))
    assert np.all((total >= 0) & (total <= 1 + 1e-12)) and np.all(survival >= 0)
    np.testing.assert_allclose(total + survival, 1.0, atol=1e-12)
    assert (survival[:, -1] == 0).any()  # some rows reach certainty


def test_curves_before_the_first_and_after_the_last_event(reference):
    _, X, y, X_test, _ = reference
    model = CauseSpecificCox().fit(X, y)
    first, last = model.event_times_[0], y["time"].max()
    times = [0.0, first * 0.999, last, last * 10]
    cif = model.predict_cumulative_incidence(X_test, times, cause=1)
    np.testing.assert_array_equal(cif[:, :2], 0.0)
    np.testing.assert_array_equal(cif[:, 2], cif[:, 3])  # flat after the data (R: NA)
    np.testing.assert_array_equal(model.predict_event_free_survival(X_test, times)[:, :2], 1.0)
    fg = FineGray().fit(X, y)
    fg_cif = fg.predict_cumulative_incidence(X_test, times)
    np.testing.assert_array_equal(fg_cif[:, 0], 0.0)
    np.testing.assert_array_equal(fg_cif[:, 2], fg_cif[:, 3])


def test_chunked_prediction_equals_one_pass(reference, monkeypatch):
    _, X, y, X_test, times = reference
    model = CauseSpecificCox().fit(X, y)
    whole = model.predict_cumulative_incidence(X_test, times, cause=2)
    monkeypatch.setattr(competing, "_CHUNK_CELLS", 7)
    np.testing.assert_allclose(model.predict_cumulative_incidence(X_test, times, cause=2),
                               whole, rtol=1e-13, atol=1e-15)


def test_predict_is_the_cif_at_the_last_event_time(reference):
    _, X, y, X_test, _ = reference
    csc = CauseSpecificCox().fit(X, y)
    last = csc.event_times_[-1]
    np.testing.assert_array_equal(
        csc.predict(X_test), csc.predict_cumulative_incidence(X_test, [last], cause=1)[:, 0])
    np.testing.assert_array_equal(
        csc.predict(X_test, cause=2),
        csc.predict_cumulative_incidence(X_test, [last], cause=2)[:, 0])
    fg = FineGray().fit(X, y)
    risk = fg.predict(X_test)
    np.testing.assert_array_equal(risk, fg.predict_cumulative_incidence(
        X_test, fg.event_times_[-1:])[:, 0])
    order = np.argsort(X_test.to_numpy() @ fg.coef_)  # higher = earlier: follows the hazard
    assert np.all(np.diff(risk[order]) >= 0)


def test_fitted_attributes_on_a_dataframe_and_an_array(reference):
    data, X, y, _, _ = reference
    csc = CauseSpecificCox().fit(X, y)
    assert csc.n_features_in_ == len(data["covariates"])
    assert csc.feature_names_in_.tolist() == data["covariates"]
    assert set(csc.coef_) == {1, 2} and csc.coef_[1].shape == (len(data["covariates"]),)
    fg = FineGray(cause=2).fit(X.to_numpy(), y)
    assert not hasattr(fg, "feature_names_in_") and fg.causes_.tolist() == [1, 2]
    assert fg.coef_.shape == (len(data["covariates"]),)
    assert np.all(np.diff(fg.baseline_cumulative_hazard_) > 0)


def test_clone_keeps_parameters_and_drops_the_fit(reference):
    _, X, y, X_test, times = reference
    for model in (CauseSpecificCox(alpha=0.3, ties="breslow", n_iter=50, tol=1e-10),
                  FineGray(cause=2, alpha=0.1)):
        fitted = model.fit(X, y)
        copy = clone(fitted)
        assert copy.get_params() == model.get_params()
        assert not hasattr(copy, "coef_")
        cause = 2 if isinstance(model, FineGray) else 1
        np.testing.assert_array_equal(
            copy.fit(X, y).predict_cumulative_incidence(X_test, times, cause=cause),
            fitted.predict_cumulative_incidence(X_test, times, cause=cause))


def test_ridge_penalty_shrinks_the_coefficients(reference):
    _, X, y, _, _ = reference
    plain, ridge = CauseSpecificCox().fit(X, y), CauseSpecificCox(alpha=50.0).fit(X, y)
    assert np.linalg.norm(ridge.coef_[1]) < np.linalg.norm(plain.coef_[1])
    fg_plain, fg_ridge = FineGray().fit(X, y), FineGray(alpha=50.0).fit(X, y)
    assert np.linalg.norm(fg_ridge.coef_) < np.linalg.norm(fg_plain.coef_)


# --- errors ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small():
    X, status, time = _tied_data(seed=5, n=80)
    return X, make_competing_target(status, time)


@pytest.mark.parametrize("model", [CauseSpecificCox(), FineGray()])
def test_a_binary_survival_target_says_how_to_build_a_competing_one(small, model):
    X, y = small
    with pytest.raises(TargetError, match="make_competing_target"):
        model.fit(X, Surv.from_arrays(y["status"] > 0, y["time"]))
    with pytest.raises(TargetError, match="binary survival target"):
        model.fit(X, (y["status"] > 0, y["time"]))


def test_a_cause_not_seen_in_training(small):
    X, y = small
    csc = CauseSpecificCox().fit(X, y)
    with pytest.raises(ArgumentError, match=r"cause=3 was not seen in training.*\[1, 2\]"):
        csc.predict_cumulative_incidence(X, [1.0], cause=3)
    with pytest.raises(ArgumentError, match="cause='1' was not seen"):
        csc.predict(X, cause="1")
    with pytest.raises(TargetError, match=r"cause=3 never occurs.*causes seen: \[1, 2\]"):
        FineGray(cause=3).fit(X, y)
    fg = FineGray(cause=1).fit(X, y)
    with pytest.raises(ArgumentError, match=r"models cause 1 only; got cause=2.*FineGray\(cause=2"):
        fg.predict_cumulative_incidence(X, [1.0], cause=2)
    assert fg.predict_cumulative_incidence(X, [1.0], cause=1).shape == (len(X), 1)


@pytest.mark.parametrize(("times", "message"), [
    ([1.0, -2.0], r"finite and >= 0; got \[-2.0\]"),
    ([1.0, np.nan], "finite and >= 0"),
    ([np.inf], "finite and >= 0"),
    ([3.0, 1.0], "sorted in increasing order; got"),
    ([], "non-empty 1-d"),
    ([[1.0, 2.0]], "non-empty 1-d"),
    (["soon"], "must be numbers"),
])
def test_bad_times(small, times, message):
    X, y = small
    for model in (CauseSpecificCox().fit(X, y), FineGray().fit(X, y)):
        with pytest.raises(ArgumentError, match=message):
            model.predict_cumulative_incidence(X, times)


def test_wrong_number_of_columns(small):
    X, y = small
    for model in (CauseSpecificCox().fit(X, y), FineGray().fit(X, y)):
        with pytest.raises(ArgumentError, match=r"X must have 2 columns.*got shape \(80, 3\)"):
            model.predict(np.hstack([X, X[:, :1]]))
        with pytest.raises(ArgumentError, match="must have 2 columns"):
            model.predict(X[:, 0])


def test_not_fitted_and_bad_parameters(small):
    X, y = small
    with pytest.raises(NotFittedError, match="not fitted"):
        CauseSpecificCox().predict(X)
    with pytest.raises(NotFittedError, match="not fitted"):
        FineGray().predict_cumulative_incidence(X, [1.0])
    with pytest.raises(ArgumentError, match="ties must be 'efron'.*got 'exact'"):
        CauseSpecificCox(ties="exact").fit(X, y)
    with pytest.raises(ArgumentError, match=r"alpha must be a finite number >= 0 .*; got -1\."):
        FineGray(alpha=-1).fit(X, y)
    with pytest.raises(ArgumentError, match="n_iter must be an integer >= 1; got 0"):
        CauseSpecificCox(n_iter=0).fit(X, y)
    with pytest.raises(ArgumentError, match="cause must be a positive integer"):
        FineGray(cause=0).fit(X, y)
    with pytest.raises(TargetError, match="y has 79 rows but X has 80"):
        CauseSpecificCox().fit(X, y[:-1])


def test_non_convergence_is_an_error_naming_the_feature(small):
    X, y = small
    separating = np.column_stack([X, (y["status"] == 1).astype(float)])  # a perfect predictor
    frame = pd.DataFrame(separating, columns=["a", "b", "leak"])
    with pytest.raises(ConvergenceError, match=r"cause 1.*\['leak'\].*alpha > 0"):
        CauseSpecificCox().fit(frame, y)
    with pytest.raises(ConvergenceError, match=r"Fine-Gray model for cause 1.*'leak'"):
        FineGray().fit(frame, y)
    assert np.all(np.isfinite(CauseSpecificCox(alpha=1.0).fit(frame, y).coef_[1]))
    with pytest.raises(ConvergenceError, match="did not converge in n_iter=1 iterations"):
        CauseSpecificCox(n_iter=1).fit(X, y)
    collinear = np.column_stack([X, 2 * X[:, 0]])
    with pytest.raises(ConvergenceError, match="singular"):
        FineGray().fit(collinear, y)


def test_efron_baseline_is_what_r_uses_where_events_tie():
    """pbc2's training data tie two deaths: Breslow ties move the CIFs off R's by ~1e-4."""
    data = _load("pbc2")
    X, y = _split(data, "train")
    X_test, _ = _split(data, "test")
    breslow = CauseSpecificCox(ties="breslow").fit(X, y)
    got = breslow.predict_cumulative_incidence(X_test, data["times"], cause=1)
    assert np.abs(got - np.asarray(data["csc_cif_cause1_test"])).max() > 10 * CSC_TOL
