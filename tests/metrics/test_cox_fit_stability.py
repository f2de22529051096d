"""The Cox fit (the ICI's smoother, the cause-specific Cox model's) stays finite near separation."""

from __future__ import annotations

import numpy as np
import pytest

from lightsaber.exceptions import ConvergenceError
from lightsaber.metrics._cox import fit_cox


def _separating():
    x = np.linspace(-40, 40, 60)[:, None]
    time = np.arange(60, 0, -1).astype(float)
    event = np.ones(60, dtype=bool)
    event[::7] = False
    return x, event, time


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_near_separation_gives_finite_curves_without_warnings(ties):
    # Large coefficients: a naive exp(x @ beta) overflows and its sums underflow; risk-set sums
    # turn subnormal, where 1 / S0 (a linear-scale Hessian weight) overflows
    x, event, time = _separating()
    fit = fit_cox(x, event, time, ties=ties)
    survival = fit.survival_at(x, float(np.median(time)))
    assert np.all(np.isfinite(survival)) and np.all((survival >= 0) & (survival <= 1))
    assert np.all(np.isfinite(fit.log_hazard)) and np.all(np.diff(fit.log_cum_baseline_hazard) > 0)


def test_near_separation_is_an_error_when_strict():
    x, event, time = _separating()
    with pytest.raises(ConvergenceError, match="Cox model: no step"):
        fit_cox(x, event, time, ties="efron", strict=True, tol=1e-9)


def test_small_sample_survival_fit_is_warning_free():
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    import lightsaber as ls

    cohort = ls.datasets.load_sample_mortality(n_patients=240)  # the case that once warned
    splits = cohort.split(val=0.2, test=0.2, seed=0)
    run = ls.fit(CoxPHSurvivalAnalysis(alpha=0.1), cohort, splits, task="survival",
                 track=False, progress=False)
    assert np.isfinite(run.metrics["test"]["ici_at_horizon"])

