r"""Scores of a landmark model at each landmark and pooled (``{metric}_at_{s}``, ``_pooled``).

A landmark model's rows at landmark :math:`s` hold the patients at risk at :math:`s` and their
outcome from :math:`s`, censored at the horizon :math:`w`. The three clinical questions are

* ``c_index``: Harrell's C among the rows of landmark :math:`s` (the predicted risk);
* ``auc``: the cumulative/dynamic AUC at :math:`s + w` (cases: an event by :math:`s + w`;
  controls: event-free at :math:`s + w`), marker 1 - S(w | s) when survival curves are
  predicted, else the risk;
* ``brier``: the IPCW Brier score at :math:`s + w`, the censoring distribution fitted on the
  training rows **of the same landmark** (censoring after :math:`s` differs by landmark).

Both time-dependent scores are read just inside the horizon, at :math:`w (1 - 10^{-9})`: the
rows still event-free at :math:`s + w` are administratively censored there, and a control must
have follow-up beyond the evaluation time. Classification (``outcome="label"``) scores
``auc_roc`` and ``brier`` per landmark. Pooled scores use every row of the split.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lightsaber.exceptions import MetricError

__all__ = ["EVALUATION_FRACTION", "landmark_scores"]

#: Time-dependent scores are read at ``horizon * EVALUATION_FRACTION``.
EVALUATION_FRACTION = 1.0 - 1e-9


def _survival_scores(y: np.ndarray, prediction: Any, y_train: np.ndarray,
                     at: float) -> tuple[dict[str, float], dict[str, str]]:
    from lightsaber.metrics.concordance import harrell_c
    from lightsaber.metrics.prediction import SurvivalPrediction
    from lightsaber.metrics.survival import brier_score, cumulative_dynamic_auc

    out: dict[str, float] = {}
    skipped: dict[str, str] = {}
    p = SurvivalPrediction.coerce(prediction)
    if not y["event"].any():
        reason = f"no event among the {len(y)} rows"
        return out, {"c_index": reason, "auc": reason, "brier": reason}
    survival = p.survival_at([at])[:, 0] if p.survival is not None else None
    for name, compute in (
            ("c_index", lambda: harrell_c(y, p.risk if p.risk is not None else 1 - survival)),
            ("auc", lambda: cumulative_dynamic_auc(
                y, p.risk if survival is None else 1.0 - survival, [at],
                y_train=y_train).auc[0]),
            ("brier", lambda: brier_score(y, survival[:, None], [at], y_train=y_train)[0])):
        if name == "brier" and survival is None:
            skipped[name] = "the model predicts no survival curves"
            continue
        if name == "c_index" and p.risk is None and survival is None:
            skipped[name] = "the model predicts no risk"
            continue
        try:
            out[name] = float(compute())
        except MetricError as exc:
            skipped[name] = str(exc)
    return out, skipped


def _label_scores(y: np.ndarray, proba: np.ndarray) -> tuple[dict[str, float], dict[str, str]]:
    from lightsaber.metrics.catalogue import evaluate

    out: dict[str, float] = {}
    skipped: dict[str, str] = {}
    for name, metric in (("auc_roc", "auc_roc"), ("brier", "brier")):
        try:
            out[name] = evaluate("classification", y, proba, metrics=[metric])[metric]
        except MetricError as exc:
            skipped[name] = str(exc)
    return out, skipped


def landmark_scores(task: str, y: Any, prediction: Any, landmarks: Any, *, horizon: float,
                    times: Any, y_train: Any = None,
                    train_landmarks: Any = None) -> tuple[dict[str, float], dict[str, str]]:
    """Scores of one split at each landmark and pooled, with the reason of every one left out.

    Parameters
    ----------
    task : {"survival", "classification"}
        ``"survival"``: ``c_index``, ``auc`` and ``brier`` at the horizon;
        ``"classification"`` (a 0/1 label, event within the horizon): ``auc_roc``, ``brier``.
    y : structured array or array-like
        The split's outcome (time from the landmark, event) or labels.
    prediction : SurvivalPrediction, risk vector or probabilities
        The split's prediction, one row per landmark row.
    landmarks : array-like of float
        Landmark time of each row of the split.
    horizon : float
        The landmark design's horizon.
    times : sequence of float
        The design's landmark times (each gets its ``_at_{s}`` scores).
    y_train, train_landmarks : optional
        Survival: the training rows' outcome and landmarks (censoring distribution per
        landmark, and pooled).

    Returns
    -------
    (dict, dict)
        ``{"{metric}_at_{s}" or "{metric}_pooled": value}`` and ``{name: reason}`` for the
        scores that could not be computed (no event at a landmark, ...).

    Examples
    --------
    >>> from lightsaber.data.targets import make_survival_target
    >>> y = make_survival_target([1, 0, 1, 0, 1, 0], [1.0, 4.0, 2.0, 4.0, 3.0, 4.0])
    >>> s = np.array([0.0, 0.0, 0.0, 2.0, 2.0, 2.0])
    >>> scores, skipped = landmark_scores("survival", y, np.array([3, 1, 2, 0, 2, 1.0]), s,
    ...                                   horizon=4.0, times=[0.0, 2.0], y_train=y,
    ...                                   train_landmarks=s)
    >>> scores["c_index_at_0"], scores["c_index_at_2"], sorted(skipped)[:2]
    (1.0, 1.0, ['brier_at_0', 'brier_at_2'])
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    at = float(horizon) * EVALUATION_FRACTION
    out: dict[str, float] = {}
    skipped: dict[str, str] = {}
    if task == "survival":
        from lightsaber.data.targets import check_survival_target
        from lightsaber.metrics.prediction import SurvivalPrediction

        y = check_survival_target(y, allow_all_censored=True)
        y_train = check_survival_target(y_train, allow_all_censored=True)
        train_landmarks = np.asarray(train_landmarks, dtype=np.float64)
        prediction = SurvivalPrediction.coerce(prediction)
    elif task == "classification":
        y = np.asarray(y)
        prediction = np.asarray(prediction)
    else:
        raise MetricError(f"landmark scores are defined for survival and classification "
                          f"landmark models; got task {task!r}.")
    groups: list[tuple[str, np.ndarray, np.ndarray | None]] = [
        (f"at_{s:g}", landmarks == s,
         train_landmarks == s if task == "survival" else None) for s in times]
    groups.append(("pooled", np.ones(len(landmarks), dtype=bool),
                   np.ones(len(train_landmarks), dtype=bool) if task == "survival" else None))
    for suffix, rows, train_rows in groups:
        if not rows.any():
            skipped[f"*_{suffix}"] = "no row of the split at this landmark"
            continue
        if task == "survival":
            if not train_rows.any():
                skipped[f"*_{suffix}"] = "no training row at this landmark (censoring)"
                continue
            scores, reasons = _survival_scores(y[rows], prediction.take(np.flatnonzero(rows)),
                                               y_train[train_rows], at)
        else:
            scores, reasons = _label_scores(y[rows], prediction[rows])
        out.update({f"{k}_{suffix}": v for k, v in scores.items()})
        skipped.update({f"{k}_{suffix}": v for k, v in reasons.items()})
    return out, skipped
