"""Competing risks in ``ls.fit``: which model fits which cohort, and what train must hold.

Checked before anything is trained or tracked, so a mismatch never leaves a half-written run:

* a single-event model (survival or classification) on a cohort with competing causes would
  treat the other causes as censoring (and over-state the risk of each); refused;
* a competing-risks model needs a cohort that declares its causes (``causes=``);
* the train split must contain every declared cause: a model cannot learn a cause it never
  sees, and the per-cause metrics would be missing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lightsaber.data.cohort import Cohort
from lightsaber.data.splits import Splits
from lightsaber.exceptions import FitError

__all__ = ["COMPETING_MODELS", "check_competing_splits", "check_competing_task"]

#: How the messages name the competing-risks models a user can pick.
COMPETING_MODELS = ("CauseSpecificCox(), FineGray(cause=k) (lightsaber.models), or a deep "
                    "competing recipe such as DeepHitCompeting")


def _causes_text(cohort: Cohort) -> str:
    return ", ".join(f"{code} = {name!r}" for code, name in (cohort.causes or {}).items())


def check_competing_task(model: Any, cohort: Cohort, task: str, inferred: str | None) -> None:
    """Raise :class:`FitError` when the model and the cohort disagree about competing causes.

    Parameters
    ----------
    model : estimator
        The model given to ``ls.fit``.
    cohort : Cohort
        The cohort given to ``ls.fit``.
    task : str
        The task ``ls.fit`` resolved (``task=``, else the model's, else the cohort's).
    inferred : str or None
        The model's own task (:func:`lightsaber.models.protocol.task_of`).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> import lightsaber as ls
    >>> cohort = ls.datasets.load_sample_mortality(n_patients=60, competing=True)
    >>> check_competing_task(LogisticRegression(), cohort, "classification", "classification")
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.FitError: LogisticRegression is a classification model, but ...
    """
    name = type(model).__name__
    if task == "competing":
        if cohort.causes is None:
            raise FitError(
                f"{name} is a competing-risks model, but the cohort declares no competing "
                f"causes (task {cohort.task!r}). Build the cohort with its event column holding "
                "0 = censored and a code per cause, and name them: ls.Cohort(..., "
                "duration=..., event='status', causes={1: 'death', 2: 'discharge'}).")
        if inferred != "competing":
            raise FitError(
                f"task='competing' needs a model that predicts cumulative incidences "
                f"(predict_cumulative_incidence(X, times, cause=k) and causes_); {name} does "
                f"not. Use {COMPETING_MODELS}.")
        return
    if cohort.causes is None or (task == "classification" and cohort.label is not None):
        return  # a classifier of the cohort's own label is fine
    what = "survival" if task == "survival" else "classification"
    raise FitError(
        f"{name} is a {what} model, but this cohort has competing causes "
        f"({_causes_text(cohort)} in '{cohort.event}'): fitting it would treat the other causes "
        "as censoring and over-state the risk of each. Use a competing-risks model: "
        f"{COMPETING_MODELS}; or, deliberately, build a cohort whose event is one cause "
        f"(event = {cohort.event} == 1) or any cause ({cohort.event} > 0), without causes=.")


def _status(part: Cohort) -> np.ndarray:
    codes = part.targets[part.event]
    return np.asarray(codes.to_numpy(dtype=float), dtype=np.int64)


def check_competing_splits(cohort: Cohort, splits: Splits) -> None:
    """Raise :class:`FitError` unless train has every cause and every split has an event.

    Parameters
    ----------
    cohort : Cohort
        A cohort with ``causes``.
    splits : Splits
        Its splits.

    Examples
    --------
    >>> import pandas as pd
    >>> import lightsaber as ls
    >>> df = pd.DataFrame({"id": range(8), "x": range(8), "days": np.arange(1.0, 9.0),
    ...                    "status": [1, 1, 0, 1, 2, 2, 1, 0], "part": ["train"] * 4 + ["val"] * 4})
    >>> cohort = ls.Cohort(df, id="id", duration="days", event="status",
    ...                    causes={1: "death", 2: "discharge"}, meta=["part"])
    >>> check_competing_splits(cohort, ls.Splits.from_column(cohort, "part"))
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.FitError: the train split has no 'discharge' event (cause 2) among ...
    """
    causes = cohort.causes or {}
    for split, rows in splits.indices.items():
        status = _status(cohort.subset(rows))
        counts = {code: int(np.sum(status == code)) for code in causes}
        shown = ", ".join(f"{name!r}: {counts[code]}" for code, name in causes.items())
        if split == "train":
            missing = [code for code in causes if counts[code] == 0]
            if missing:
                code = missing[0]
                raise FitError(
                    f"the train split has no {causes[code]!r} event (cause {code}) among its "
                    f"{status.size} patients (events per cause: {shown}); a competing-risks "
                    "model cannot learn a cause it never sees. Split with stratify='event' "
                    "(cohort.split(..., stratify='event')), use a larger train split, or drop "
                    "the cause from causes= (recoding its events as censored or as another "
                    "cause).")
        elif status.size and not (status > 0).any():
            raise FitError(
                f"the {split} split has no event of any cause among its {status.size} "
                f"patients (events per cause: {shown}), so it cannot be evaluated. Split with "
                "stratify='event', or use a larger split.")
