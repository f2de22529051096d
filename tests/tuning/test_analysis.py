"""The ablation interval is ``lightsaber.metrics.paired_bootstrap`` of the mean pair difference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lightsaber.metrics import paired_bootstrap
from lightsaber.metrics.catalogue import get_metric
from lightsaber.tuning.analysis import _ablation_interval
from lightsaber.tuning.trial import TrialOutcome


def _pairs(rng, y, n_pairs):
    n = len(y)
    out = []
    for i in range(n_pairs):
        good = np.clip(0.3 + 0.3 * y + rng.normal(0, 0.25, n), 0.01, 0.99)
        noise = rng.uniform(0.01, 0.99, n)
        out.append((TrialOutcome(2 * i, {"f": 1}, {}, "ok", predictions=good),
                    TrialOutcome(2 * i + 1, {"f": 0}, {}, "ok", predictions=noise)))
    return out


@pytest.mark.parametrize("metric", ["auc_roc", "brier"])
def test_one_pair_is_exactly_the_unstratified_paired_bootstrap(metric):
    rng = np.random.default_rng(0)
    y = (rng.random(120) < 0.3).astype(int)
    [(a, b)] = _pairs(rng, y, 1)
    low, high = _ablation_interval(get_metric(metric), [(a, b)], y, {}, seed=5, n_resamples=200)
    ref = paired_bootstrap(metric, y, a.predictions, b.predictions, n_resamples=200,
                           stratify=False, seed=5)
    assert (low, high) == (ref.low, ref.high)


def test_several_pairs_give_the_interval_of_the_mean_difference_over_pairs():
    rng = np.random.default_rng(1)
    y = (rng.random(90) < 0.4).astype(int)
    pairs = _pairs(rng, y, 3)
    scorer = get_metric("auc_roc")
    low, high = _ablation_interval(scorer, pairs, y, {}, seed=2, n_resamples=200)
    # the reference: the same unstratified draws, mean over pairs of metric(a) - metric(b)
    draws = np.random.default_rng(2)
    replicates = []
    for _ in range(200):
        rows = draws.integers(0, len(y), len(y))
        replicates.append(np.mean([scorer(y[rows], a.predictions[rows])
                                   - scorer(y[rows], b.predictions[rows]) for a, b in pairs]))
    ref_low, ref_high = np.quantile(replicates, [0.025, 0.975])
    assert low == pytest.approx(ref_low, abs=1e-12)
    assert high == pytest.approx(ref_high, abs=1e-12)
    assert low < high


def test_undefined_replicates_are_dropped_and_too_many_give_nan():
    rng = np.random.default_rng(3)
    y = np.zeros(40, dtype=int)  # one class: the AUC is undefined on every replicate
    pairs = _pairs(rng, y, 1)
    low, high = _ablation_interval(get_metric("auc_roc"), pairs, y, {}, seed=0, n_resamples=200)
    assert math.isnan(low) and math.isnan(high)
    y[:2] = 1  # two positives: about 1 replicate in 8 has none; it is dropped, not fatal
    pairs = _pairs(rng, y, 1)
    low, high = _ablation_interval(get_metric("auc_roc"), pairs, y, {}, seed=0, n_resamples=200)
    assert low < high


def test_no_interval_without_predictions_or_context():
    rng = np.random.default_rng(4)
    y = (rng.random(50) < 0.5).astype(int)
    (a, b), = _pairs(rng, y, 1)
    missing = TrialOutcome(9, {"f": 0}, {}, "ok")
    assert all(math.isnan(v) for v in _ablation_interval(
        get_metric("auc_roc"), [(a, missing)], y, {}, 0, 50))
    assert all(math.isnan(v) for v in _ablation_interval(
        get_metric("auc_roc"), [(a, b)], None, {}, 0, 50))
