"""Small cohorts, a fast model and a study script shared by the tuning tests."""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from lightsaber.data import Cohort
from lightsaber.data.synthetic import make_mortality_cohort

SPACE = {"C": {"loguniform": [1e-3, 100.0]},
         "fit_intercept": {"choice": [True, False]},
         "tol": {"loguniform": [1e-6, 1e-2]}}


def small_cohort(n_patients: int = 400, seed: int = 0) -> Cohort:
    """Static features of the synthetic mortality cohort (no vitals: fits take ~10 ms).

    400 patients leave at least 10 positives in val and in test (14 each with
    :func:`small_splits`), so ``ls.fit`` issues no ``SmallSplitWarning``, which
    ``filterwarnings = error`` would turn into a failed trial.
    """
    static, _ = make_mortality_cohort(n_patients=n_patients, hours=4, seed=seed)
    return Cohort(static, id="patient_id", label="died_in_hospital",
                  exclude=["los_days"])


def small_splits(cohort: Cohort):
    return cohort.split(val=0.25, test=0.25, stratify="label", seed=3)


def fast_model() -> LogisticRegression:
    return LogisticRegression(max_iter=300)


class FlakyClassifier(ClassifierMixin, BaseEstimator):
    """A logistic regression that fails, diverges, runs out of memory or is slow on request."""

    def __init__(self, mode: str = "ok", C: float = 1.0, delay: float = 0.0) -> None:
        self.mode = mode
        self.C = C
        self.delay = delay

    def fit(self, X, y):
        time.sleep(self.delay)
        if self.mode == "raise":
            raise RuntimeError("injected failure")
        if self.mode == "oom":
            raise MemoryError("injected: cannot allocate 12 GiB")
        self.model_ = LogisticRegression(C=self.C, max_iter=300).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        proba = self.model_.predict_proba(X)
        if self.mode == "nan":
            proba = np.full_like(proba, np.nan)
        return proba

    def predict(self, X):
        return self.classes_[np.argmax(self.model_.predict_proba(X), axis=1)]
