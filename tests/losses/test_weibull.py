"""``weibull_aft_loss`` against R ``survival::survreg``, lifelines and SciPy.

Fixture: ``../shared/reference/r_fixtures/benchmark_weibull.json`` from torchsurv's
``tests/benchmark_script/test_weibull.R``: ``survreg(Surv(time, status) ~ <formula>,
dist = "weibull", scale = 1)`` (shape fixed at 1), ``fit$loglik`` at the optimum and the linear
predictor (field ``log_scale`` = survreg's ``mu`` = our log scale), rounded to 4 decimals by
``jsonlite::write_json``. Cases in file order: lung ``~ age``, ``~ age + sex``, the 7-covariate
model on complete cases, then gbsg ``~ age``, ``~ age + size``, and the 7-covariate model.
Measured: refitted maximum vs R's loglik max relative delta 4e-8 (acceptance 1e-6); at the
fixture's rounded ``log_scale`` max relative delta 4.9e-7 (bounded by the rounding, below).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import weibull_min

from lightsaber.losses import LossInputError, weibull_aft_loss
from tests.losses._reference import fit_linear, gbsg, load_fixture, lung, standardise

ROUNDING = 5e-5
CASES = [("lung", "all", ["age"]), ("lung", "all", ["age", "sex"]),
         ("lung", "complete", ["age", "sex", "ph.ecog", "ph.karno", "pat.karno", "meal.cal",
                               "wt.loss"]),
         ("gbsg", None, ["age"]), ("gbsg", None, ["age", "size"]),
         ("gbsg", None, ["age", "size", "grade", "nodes", "pgr", "er", "hormon"])]


def _fixed_shape(log_scale: torch.Tensor) -> torch.Tensor:
    return torch.stack([log_scale, torch.zeros_like(log_scale)], dim=1)


@pytest.mark.parametrize("case", range(6))
def test_value_at_fixture_log_scale(case):
    """R: ``survreg(..., dist = "weibull", scale = 1)$loglik[2]`` at the fixture's rounded
    ``log_scale``; tolerance = first-order effect of the 4-decimal rounding."""
    record = load_fixture("benchmark_weibull.json")[case]
    log_scale = torch.tensor(record["log_scale"][0], dtype=torch.float64, requires_grad=True)
    ours = -weibull_aft_loss(_fixed_shape(log_scale), torch.tensor(record["time"]),
                             torch.tensor(record["status"]), reduction="sum")
    (gradient,) = torch.autograd.grad(ours, log_scale)
    expected = record["log_likelihood"][0]
    assert abs(ours.item() - expected) <= ROUNDING * float(gradient.abs().sum()) + ROUNDING
    assert abs(ours.item() - expected) <= 1e-6 * abs(expected)


@pytest.mark.parametrize("case", range(6))
def test_maximised_log_likelihood_matches_survreg(case):
    """R: ``survreg(Surv(time, status) ~ <formula>, data, dist = "weibull", scale = 1)$loglik``
    versus the maximum of our loss over an intercept + slopes (LBFGS, float64)."""
    record = load_fixture("benchmark_weibull.json")[case]
    source, subset, formula = CASES[case]
    frame = lung()[subset] if source == "lung" else gbsg()
    if source == "lung":
        np.testing.assert_array_equal(frame["time"].to_numpy(), record["time"])
    else:
        np.testing.assert_array_equal(np.sort(frame["time"].to_numpy()), np.sort(record["time"]))
    x = standardise(frame[formula].to_numpy())
    x = torch.cat([torch.ones(len(frame), 1, dtype=torch.float64), x], dim=1)
    time = torch.tensor(frame["time"].to_numpy(), dtype=torch.float64)
    event = torch.tensor(frame["status"].to_numpy())
    beta = fit_linear(lambda b: weibull_aft_loss(_fixed_shape(x @ b), time, event,
                                                 reduction="sum"), x.shape[1])
    ours = -weibull_aft_loss(_fixed_shape(x @ beta), time, event, reduction="sum").item()
    assert ours == pytest.approx(record["log_likelihood"][0], rel=1e-6)
    if source == "lung":  # same rows in the same order: the linear predictors agree too
        np.testing.assert_allclose((x @ beta).numpy(), record["log_scale"][0],
                                   atol=2 * ROUNDING)


def test_matches_lifelines_weibull_aft_with_free_shape():
    """lifelines 0.30 ``WeibullAFTFitter().fit(lung[time, status, age, sex])``: our loss at its
    fitted lambda_ (scale) and rho_ (shape) equals ``-log_likelihood_``."""
    from lifelines import WeibullAFTFitter

    frame = lung()["all"][["time", "status", "age", "sex"]].astype(float)
    fitter = WeibullAFTFitter().fit(frame, "time", "status")
    coef = fitter.params_
    log_scale = (coef["lambda_"]["Intercept"] + frame["age"] * coef["lambda_"]["age"]
                 + frame["sex"] * coef["lambda_"]["sex"])
    log_shape = np.full(len(frame), coef["rho_"]["Intercept"])
    prediction = torch.tensor(np.column_stack([log_scale, log_shape]))
    ours = weibull_aft_loss(prediction, torch.tensor(frame["time"].to_numpy()),
                            torch.tensor(frame["status"].to_numpy()), reduction="sum")
    assert -ours.item() == pytest.approx(fitter.log_likelihood_, rel=1e-9)


def test_matches_scipy_density_and_survival():
    """SciPy ``weibull_min(c=rho, scale=lambda)``: ``-logpdf`` for events, ``-logsf`` else."""
    generator = torch.Generator().manual_seed(0)
    prediction = torch.randn(50, 2, generator=generator, dtype=torch.float64) * 0.5
    prediction[:, 0] += 1.0
    time = torch.rand(50, generator=generator, dtype=torch.float64) * 5 + 0.01
    event = torch.rand(50, generator=generator) < 0.5
    scale, shape = torch.exp(prediction).numpy().T
    expected = np.where(event.numpy(), -weibull_min.logpdf(time.numpy(), shape, scale=scale),
                        -weibull_min.logsf(time.numpy(), shape, scale=scale))
    ours = weibull_aft_loss(prediction, time, event, reduction="sum").item()
    assert ours == pytest.approx(expected.sum(), rel=1e-12)
    assert weibull_aft_loss(prediction, time, event).item() == pytest.approx(
        expected.mean(), rel=1e-12)


def test_needs_two_columns_and_positive_durations():
    with pytest.raises(LossInputError, match=r"shape \(n, 2\)"):
        weibull_aft_loss(torch.zeros(3, 1), torch.ones(3), torch.ones(3))
    with pytest.raises(LossInputError, match="duration must be > 0"):
        weibull_aft_loss(torch.zeros(3, 2), torch.tensor([1.0, 0.0, 2.0]), torch.ones(3))
