"""Cox partial log-likelihood (sum reduction) against R ``survival`` 3.x ``coxph``.

Fixtures: ``../shared/reference/r_fixtures/benchmark_cox_{with,without}_ties.json`` from
torchsurv's ``tests/benchmark_script/test_cox.R`` (R ``survival::coxph``; ``logLik(fit)`` and the
linear predictor ``coef %*% t(x)``, written by ``jsonlite::write_json``, i.e. rounded to 4
decimals). Cases, in file order: lung ``~ age``, ``~ age + sex``, ``~ age + sex + ph.ecog +
ph.karno + pat.karno + meal.cal + wt.loss`` (complete cases), then the same three shapes on
gbsg (``~ age``, ``~ age + size``, ``~ age + size + grade + nodes + pgr + er + hormon``); the
"without ties" file keeps the first row of every duplicated time.

Two comparisons, because the fixture's linear predictors are rounded to 4 decimals:

* at R's maximum: refit the same model with our loss (LBFGS, float64) on the same data and
  compare the maximised log-likelihood with R's ``logLik`` to 1e-6 relative (the maximum is
  insensitive to the rounding); measured max 9.1e-8, the size of the fixture's own 4-decimal
  printing of logLik;
* at the fixture's rounded linear predictor: our value may differ from R's by the rounding's
  first-order effect, at most 5e-5 * ||grad||_1 (+ 5e-5 for the printed logLik); measured max
  relative delta 1.0e-6.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lightsaber.losses import cox_ph_loss
from tests.losses._reference import fit_linear, gbsg, load_fixture, lung, standardise

LUNG_FORMULAS = (["age"], ["age", "sex"],
                 ["age", "sex", "ph.ecog", "ph.karno", "pat.karno", "meal.cal", "wt.loss"])
GBSG_FORMULAS = (["age"], ["age", "size"],
                 ["age", "size", "grade", "nodes", "pgr", "er", "hormon"])
ROUNDING = 5e-5  # half a unit in the 4th decimal: jsonlite::write_json's default digits = 4


def _direct_cases():
    for k in range(6):
        for ties in ("breslow", "efron"):
            yield pytest.param("benchmark_cox_with_ties.json", k, ties, id=f"ties-{k}-{ties}")
        yield pytest.param("benchmark_cox_without_ties.json", k, "breslow", id=f"noties-{k}")


@pytest.mark.parametrize(("fixture", "case", "ties"), list(_direct_cases()))
def test_value_at_fixture_linear_predictor(fixture, case, ties):
    """R: ``logLik(coxph(Surv(time, status) ~ <case formula>, ties = <ties>))`` versus our loss at
    the fixture's (rounded) ``log_hazard``; tolerance = first-order effect of the rounding."""
    record = load_fixture(fixture)[case]
    suffix = "" if "without" in fixture else f"_{ties}"
    risk = torch.tensor(record[f"log_hazard{suffix}"][0], dtype=torch.float64,
                        requires_grad=True)
    expected = record[f"log_likelihood{suffix}"][0]
    ours = -cox_ph_loss(risk, torch.tensor(record["time"], dtype=torch.float64),
                        torch.tensor(record["status"]), ties=ties, reduction="sum")
    (gradient,) = torch.autograd.grad(ours, risk)
    bound = ROUNDING * float(gradient.abs().sum()) + ROUNDING
    assert abs(ours.item() - expected) <= bound
    assert abs(ours.item() - expected) <= 2e-6 * abs(expected)


def _lung_refits():
    frames = lung()
    for k, (key, formula) in enumerate(zip(("unique", "unique", "unique_complete"),
                                           LUNG_FORMULAS, strict=True)):
        yield pytest.param("benchmark_cox_without_ties.json", k, frames[key], formula,
                           "breslow", id=f"lung-noties-{k}")
    for k, (key, formula) in enumerate(zip(("all", "all", "complete"), LUNG_FORMULAS,
                                           strict=True)):
        for ties in ("breslow", "efron"):
            yield pytest.param("benchmark_cox_with_ties.json", k, frames[key], formula, ties,
                               id=f"lung-ties-{k}-{ties}")


def _fit_cox(frame, formula, ties):
    x = standardise(frame[formula].to_numpy())
    time = torch.tensor(frame["time"].to_numpy(), dtype=torch.float64)
    event = torch.tensor(frame["status"].to_numpy())
    beta = fit_linear(lambda b: cox_ph_loss(x @ b, time, event, ties=ties, reduction="sum"),
                      x.shape[1])
    risk = x @ beta
    return -cox_ph_loss(risk, time, event, ties=ties, reduction="sum").item(), risk.numpy()


@pytest.mark.parametrize(("fixture", "case", "frame", "formula", "ties"), list(_lung_refits()))
def test_maximised_log_likelihood_lung(fixture, case, frame, formula, ties):
    """R: ``logLik(coxph(Surv(time, status) ~ <formula>, data = lung[...], ties = <ties>))``.

    Same rows as R (the fixture's time/status columns are checked equal, in order), so the
    fitted linear predictor must also equal the fixture's up to its 4-decimal rounding.
    """
    record = load_fixture(fixture)[case]
    np.testing.assert_array_equal(frame["time"].to_numpy(), record["time"])
    np.testing.assert_array_equal(frame["status"].to_numpy(), np.asarray(record["status"]))
    suffix = "" if "without" in fixture else f"_{ties}"
    log_likelihood, risk = _fit_cox(frame, formula, ties)
    assert log_likelihood == pytest.approx(record[f"log_likelihood{suffix}"][0], rel=1e-6)
    r_risk = np.asarray(record[f"log_hazard{suffix}"][0])
    # A Cox linear predictor is defined up to a constant: compare centred values.
    np.testing.assert_allclose(risk - risk.mean(), r_risk - r_risk.mean(), atol=2 * ROUNDING)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("case", [0, 1, 2])
def test_maximised_log_likelihood_gbsg(case, ties):
    """R: ``logLik(coxph(Surv(rfstime, status) ~ <formula>, data = gbsg, ties = <ties>))``
    (fixture cases 3-5 of ``benchmark_cox_with_ties.json``; all 686 rows, so row order, which
    differs between R's and lifelines' copies, does not matter)."""
    record = load_fixture("benchmark_cox_with_ties.json")[3 + case]
    frame = gbsg()
    np.testing.assert_array_equal(np.sort(frame["time"].to_numpy()), np.sort(record["time"]))
    log_likelihood, _ = _fit_cox(frame, list(GBSG_FORMULAS[case]), ties)
    assert log_likelihood == pytest.approx(record[f"log_likelihood_{ties}"][0], rel=1e-6)


def test_breslow_and_efron_differ_by_more_than_the_tolerance():
    """Guard: the fixtures can tell the two tie methods apart at the tolerances used above."""
    record = load_fixture("benchmark_cox_with_ties.json")[0]
    assert abs(record["log_likelihood_efron"][0] - record["log_likelihood_breslow"][0]) > 0.1
