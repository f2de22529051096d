"""Top-K% metrics: how many positives a model's highest-risk K percent of patients captures.

Definitions (K is a **percentage** of the evaluated rows, never a row count)
----------------------------------------------------------------------------
Let ``k = ceil(K / 100 * n)`` be the number of patients flagged when the top K% of predicted
risk is acted on (screened, called, reviewed).

* **Recall@K** — ``recall_at_{K}pct`` — the share of *all* positives that fall in the top K%:
  ``positives in top k / positives``. It answers "if we review the riskiest K%, which fraction
  of the patients who will have the outcome do we reach?".
* **Precision@K** — ``precision_at_{K}pct`` — the share of positives *among* the top K%:
  ``positives in top k / k``.

Ties at the cut-off are shared fairly: when several patients have the score of the k-th
patient, each of them counts with the fraction of the remaining slots, which is the expected
value under a random tie-break (so the result does not depend on the row order).

The previous Lightsaber's "Recall@K" computed precision/recall of *hard labels inside* the top
K and embedded K's row count in the metric name, so names changed with the dataset size. Both
lessons are tests (``tests/metrics/test_topk.py``). No scikit-learn function computes these
(``top_k_accuracy_score`` is a different metric), hence the own implementation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lightsaber.exceptions import MetricError
from lightsaber.metrics.classification import binary_label
from lightsaber.metrics.validation import check_risk

__all__ = ["precision_at_k", "recall_at_k", "top_k_count"]


def top_k_count(k_percent: float, n_samples: int) -> int:
    """Number of rows in the top ``k_percent`` percent: ``ceil(k_percent / 100 * n)``.

    Examples
    --------
    >>> top_k_count(10, 95), top_k_count(10, 100), top_k_count(0.5, 100)
    (10, 10, 1)
    """
    k_pct = float(k_percent)
    if not 0.0 < k_pct <= 100.0:
        raise MetricError(
            f"k_percent must be a percentage in (0, 100]; got {k_percent!r}. K is a percentage "
            "of the rows, not a row count."
        )
    return max(1, math.ceil(round(k_pct * n_samples / 100.0, 9)))


def _captured(y_true: Any, score: Any, k_percent: float) -> tuple[float, int, int]:
    y = binary_label(y_true, need_both_classes=False)
    s = check_risk(score, y.shape[0], name="score")
    k = top_k_count(k_percent, y.shape[0])
    cut = np.partition(s, y.shape[0] - k)[y.shape[0] - k]  # k-th highest score
    above = s > cut
    tied = s == cut
    slots = k - int(above.sum())
    captured = float(y[above].sum()) + float(y[tied].sum()) * slots / int(tied.sum())
    return captured, k, int(y.sum())


def recall_at_k(y_true: Any, score: Any, k_percent: float) -> float:
    """Share of all positives captured in the top ``k_percent`` % of ``score``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels 0/1 (1 = positive). Needs at least one positive.
    score : array-like of shape (n_samples,)
        Predicted probability or risk; higher = more likely positive.
    k_percent : float
        K, in percent of the rows (e.g. 10 for the top 10%).

    Returns
    -------
    float

    Examples
    --------
    >>> y = [1, 0, 0, 1, 0, 0, 0, 0, 1, 0]
    >>> s = [0.9, 0.8, 0.1, 0.7, 0.2, 0.3, 0.1, 0.2, 0.05, 0.1]
    >>> recall_at_k(y, s, 20)  # top 2 rows hold 1 of the 3 positives
    0.3333333333333333
    """
    captured, _, positives = _captured(y_true, score, k_percent)
    if positives == 0:
        raise MetricError(
            "recall_at_k is undefined: y_true has no positive (recall needs at least one)."
        )
    return captured / positives


def precision_at_k(y_true: Any, score: Any, k_percent: float) -> float:
    """Share of positives among the top ``k_percent`` % of ``score``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels 0/1 (1 = positive).
    score : array-like of shape (n_samples,)
        Predicted probability or risk; higher = more likely positive.
    k_percent : float
        K, in percent of the rows.

    Returns
    -------
    float

    Examples
    --------
    >>> y = [1, 0, 0, 1, 0, 0, 0, 0, 1, 0]
    >>> s = [0.9, 0.8, 0.1, 0.7, 0.2, 0.3, 0.1, 0.2, 0.05, 0.1]
    >>> precision_at_k(y, s, 30)  # top 3 rows: 2 positives
    0.6666666666666666
    """
    captured, k, _ = _captured(y_true, score, k_percent)
    return captured / k
