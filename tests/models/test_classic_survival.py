"""The classic scikit-survival estimators go through the same ``ls.fit`` path as the recipes."""

from __future__ import annotations

import numpy as np
import pytest
from sksurv.ensemble import GradientBoostingSurvivalAnalysis
from sksurv.linear_model import CoxnetSurvivalAnalysis
from sksurv.svm import FastSurvivalSVM

import lightsaber as ls

CLASSICS = {
    "coxnet": lambda: CoxnetSurvivalAnalysis(l1_ratio=0.5, alpha_min_ratio=0.05,
                                             fit_baseline_model=True),
    "gradient_boosting": lambda: GradientBoostingSurvivalAnalysis(n_estimators=30, max_depth=2,
                                                                  random_state=0),
    # rank_ratio=1: predictions are risks (sksurv); with rank_ratio < 1 they are times.
    "fast_svm": lambda: FastSurvivalSVM(rank_ratio=1.0, max_iter=50, random_state=0),
}


@pytest.fixture(scope="module")
def whas():
    cohort = ls.datasets.load_sksurv("whas500")
    return cohort, cohort.split(val=0.2, test=0.2, seed=0)


@pytest.mark.parametrize("name", sorted(CLASSICS))
def test_classic_estimator_through_ls_fit(whas, name):
    cohort, splits = whas
    run = ls.fit(CLASSICS[name](), cohort, splits, task="survival", track=False, progress=False)
    assert run.metrics["test"]["c_index"] > 0.65  # WHAS500 is an easy ranking problem
    if name != "fast_svm":  # the SVM has no survival function: risk metrics only
        assert np.isfinite(run.metrics["test"]["ibs"])
