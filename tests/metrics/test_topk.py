"""Recall@K / Precision@K: definitions and the two lessons of the previous Lightsaber.

Expected values are hand-derived in the comments.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import precision_score, recall_score

from lightsaber.metrics import (
    MetricError,
    evaluate,
    get_metric,
    list_metrics,
    precision_at_k,
    recall_at_k,
)


def _cohort(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(int)
    score = np.clip(0.2 + 0.3 * (y - 0.2) + rng.normal(0, 0.15, n), 0, 1)
    return y, score


def test_recall_at_k_is_the_share_of_all_positives_in_the_top_k_percent():
    # 20 rows, 4 positives; the top 10% (2 rows) are one positive and one negative:
    # recall@10% = 1 / 4, precision@10% = 1 / 2
    y = np.zeros(20, dtype=int)
    y[[0, 5, 10, 15]] = 1
    score = np.linspace(0.05, 0.5, 20)[::-1].copy()  # row 0 highest, row 1 (negative) 2nd
    assert recall_at_k(y, score, 10) == 0.25
    assert precision_at_k(y, score, 10) == 0.5
    # the whole cohort: every positive captured, precision = prevalence
    assert recall_at_k(y, score, 100) == 1.0
    assert precision_at_k(y, score, 100) == 0.2


def test_lesson_recall_at_k_is_not_recall_of_hard_labels_inside_the_top_k():
    # Lightsaber 0.3 computed recall of thresholded labels *within* the top K rows. Here the
    # top 10% holds 2 of the 10 positives and every row in it is predicted positive, so that
    # old number is 1.0 while only 20% of the positives are reached.
    y = np.r_[np.ones(2), np.zeros(8), np.ones(8), np.zeros(82)].astype(int)
    score = np.r_[np.full(10, 0.9), np.full(8, 0.4), np.full(82, 0.1)]
    top = np.argsort(-score, kind="stable")[:10]
    old_recall = recall_score(y[top], (score[top] >= 0.5).astype(int))
    old_precision = precision_score(y[top], (score[top] >= 0.5).astype(int))
    assert old_recall == 1.0 and old_precision == 0.2
    assert recall_at_k(y, score, 10) == pytest.approx(2 / 10)
    assert recall_at_k(y, score, 10) != old_recall


def test_lesson_metric_names_carry_k_in_percent_not_a_row_count():
    # Lightsaber 0.3 named the metric after K's row count, so the name changed with the
    # data set size. Ours is the same key at any n, and the value uses K% of the rows.
    keys = []
    for n in (100, 1000, 12345):
        y, score = _cohort(n)
        result = evaluate("classification", y, score,
                          metrics=["recall_at_10pct", "precision_at_10pct"])
        keys.append(tuple(result))
        assert result["recall_at_10pct"] == recall_at_k(y, score, 10)
    assert keys == [("recall_at_10pct", "precision_at_10pct")] * 3
    assert all("pct" in name for name in list_metrics() if "_at_" in name and "horizon" not in name)
    with pytest.raises(MetricError, match="percent"):
        get_metric("recall_at_100")  # a row count is not a valid name


def test_ties_at_the_cut_are_shared_fairly():
    # 10 rows, K = 20% -> 2 slots. One clear top row (positive), then 4 rows tied at 0.5 of
    # which 2 are positive: the last slot holds 2/4 of a positive in expectation.
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    score = np.array([0.9, 0.5, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1])
    assert precision_at_k(y, score, 20) == pytest.approx((1 + 0.5) / 2)
    assert recall_at_k(y, score, 20) == pytest.approx(1.5 / 3)
    # row order does not matter
    perm = np.random.default_rng(0).permutation(10)
    assert recall_at_k(y[perm], score[perm], 20) == pytest.approx(1.5 / 3)


def test_k_rounds_up_to_whole_rows():
    # 95 rows, 10% = 9.5 -> 10 rows; the 10 highest scores are the 10 positives
    y = np.r_[np.ones(10), np.zeros(85)].astype(int)
    score = np.r_[np.linspace(1, 0.9, 10), np.linspace(0.5, 0, 85)]
    assert precision_at_k(y, score, 10) == 1.0


def test_fractional_k_names_and_bad_k():
    assert get_metric("recall_at_2.5pct").name == "recall_at_2.5pct"
    with pytest.raises(MetricError, match="canonical form; use 'recall_at_5pct'"):
        get_metric("recall_at_5.0pct")
    with pytest.raises(MetricError, match="percentage in"):
        recall_at_k([0, 1], [0.1, 0.2], 0)
    with pytest.raises(MetricError, match="unknown metric 'recall_at_150pct'"):
        get_metric("recall_at_150pct")
    with pytest.raises(MetricError, match="no positive"):
        recall_at_k([0, 0], [0.1, 0.2], 50)
