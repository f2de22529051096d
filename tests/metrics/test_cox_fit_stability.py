"""The calibration Cox fit behind ``ici_at_horizon`` stays finite near separation."""

from __future__ import annotations

import numpy as np

from lightsaber.metrics._cox import fit_cox


def test_near_separation_gives_finite_curves_without_warnings():
    # Large coefficients: a naive exp(x @ beta) overflows and its sums underflow.
    x = np.linspace(-40, 40, 60)[:, None]
    time = np.arange(60, 0, -1).astype(float)
    event = np.ones(60, dtype=bool)
    event[::7] = False
    fit = fit_cox(x, event, time)
    survival = fit.survival_at(x, float(np.median(time)))
    assert np.all(np.isfinite(survival)) and np.all((survival >= 0) & (survival <= 1))


def test_small_sample_survival_fit_is_warning_free():
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    import lightsaber as ls

    cohort = ls.datasets.load_sample_mortality(n_patients=240)  # the case that once warned
    splits = cohort.split(val=0.2, test=0.2, seed=0)
    run = ls.fit(CoxPHSurvivalAnalysis(alpha=0.1), cohort, splits, task="survival",
                 track=False, progress=False)
    assert np.isfinite(run.metrics["test"]["ici_at_horizon"])

