"""Small cohorts, a fast model and a study script shared by the tuning tests."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

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
    """A logistic regression that fails, diverges, runs out of memory or is slow on request.

    ``rendezvous`` (a directory) makes each fit wait until at least ``rendezvous_count``
    fits have started: on a cluster of one-CPU nodes with one-CPU trials, the first fits
    can then only proceed on different nodes, whatever the scheduler's timing.
    """

    def __init__(self, mode: str = "ok", C: float = 1.0, delay: float = 0.0,
                 rendezvous: str | None = None, rendezvous_count: int = 2) -> None:
        self.mode = mode
        self.C = C
        self.delay = delay
        self.rendezvous = rendezvous
        self.rendezvous_count = rendezvous_count

    def fit(self, X, y):
        if self.rendezvous is not None:
            _meet(Path(self.rendezvous), self.rendezvous_count)
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


def _meet(directory: Path, count: int, timeout_s: float = 600.0) -> None:
    """Announce this fit in ``directory`` and wait until ``count`` fits have announced."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / uuid.uuid4().hex).touch()
    deadline = time.monotonic() + timeout_s
    while sum(1 for _ in directory.iterdir()) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {sum(1 for _ in directory.iterdir())} of {count} fits "
                               f"started within {timeout_s:.0f} s")
        time.sleep(0.2)
