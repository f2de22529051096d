"""Seeded, stratified percentile bootstrap and the paired bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from sksurv.metrics import concordance_index_censored

from lightsaber.metrics import (
    MetricError,
    SurvivalPrediction,
    bootstrap_ci,
    harrell_c,
    paired_bootstrap,
    roc_auc,
)


def _survival(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = np.round(rng.exponential(np.exp(-x)), 1)  # time ties
    event = rng.random(n) < 0.6
    return event, t, np.round(x + rng.normal(size=n), 1)  # risk ties


def test_fast_harrell_path_equals_generic_path_bit_for_bit():
    event, time, risk = _survival()
    fast = bootstrap_ci("c_index", (event, time), risk, n_resamples=60, seed=3)

    def generic(y, prediction):  # same metric, but a plain function forces the generic path
        return harrell_c(y, SurvivalPrediction.coerce(prediction).risk)

    slow = bootstrap_ci(generic, (event, time), risk, n_resamples=60, seed=3, task="survival")
    np.testing.assert_array_equal(fast.replicates, slow.replicates)
    assert (fast.low, fast.high) == (slow.low, slow.high)


def test_replicates_equal_sksurv_on_the_resampled_rows():
    event, time, risk = _survival(n=120)
    res = bootstrap_ci("c_index", (event, time), risk, n_resamples=5, seed=7, stratify=False)
    rng = np.random.default_rng(7)  # the documented unstratified draw
    for b in range(5):
        rows = rng.integers(0, 120, 120)
        expected = concordance_index_censored(event[rows], time[rows], risk[rows])[0]
        assert res.replicates[b] == expected


def test_seeded_and_reproducible():
    event, time, risk = _survival()
    a = bootstrap_ci("c_index", (event, time), risk, n_resamples=100, seed=11)
    b = bootstrap_ci("c_index", (event, time), risk, n_resamples=100, seed=11)
    c = bootstrap_ci("c_index", (event, time), risk, n_resamples=100, seed=12)
    np.testing.assert_array_equal(a.replicates, b.replicates)
    assert not np.array_equal(a.replicates, c.replicates)
    assert a.estimate == harrell_c((event, time), risk)
    assert a.low < a.estimate < a.high and a.n_failed == 0 and a.stratified


def test_stratification_keeps_event_and_label_counts():
    event, time, risk = _survival()
    seen = []

    def count_events(y, prediction):
        seen.append(int(y["event"].sum()))
        return 0.5

    bootstrap_ci(count_events, (event, time), risk, n_resamples=20, task="survival")
    assert set(seen) == {int(event.sum())}
    labels = (np.arange(50) < 5).astype(int)
    positives = []

    def count_positives(y, proba):
        positives.append(int(np.sum(y)))
        return 0.5

    bootstrap_ci(count_positives, labels, np.full(50, 0.5), n_resamples=20,
                 task="classification")
    assert set(positives) == {5}


def test_classification_ci_and_undefined_replicates():
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.2).astype(int)
    p = np.clip(0.2 + 0.4 * (y - 0.2) + rng.normal(0, 0.2, 400), 0, 1)
    res = bootstrap_ci("auc_roc", y, p, n_resamples=200, seed=1)
    assert res.estimate == roc_auc(y, p)
    assert res.low < res.estimate < res.high and res.n_failed == 0
    assert 0 < res.standard_error < 0.1
    # unstratified resampling of a label with one positive: about (1 - 1/n)^n = 37% of the
    # replicates lose the positive class; they are dropped and counted
    y1 = np.zeros(30, dtype=int)
    y1[0] = 1
    one = bootstrap_ci("auc_roc", y1, np.linspace(1, 0, 30), n_resamples=50, stratify=False)
    assert 5 < one.n_failed < 25 and one.replicates.shape == (50 - one.n_failed,)
    # when more than half are undefined the interval is refused
    calls = []

    def mostly_undefined(y, proba):
        calls.append(1)
        if len(calls) > 1 and len(calls) % 3:  # the full-data estimate is defined
            raise MetricError("undefined here")
        return 0.5

    with pytest.raises(MetricError, match="undefined on 33 of 50 bootstrap replicates"):
        bootstrap_ci(mostly_undefined, y, p, n_resamples=50, task="classification")


def test_paired_bootstrap_of_identical_models_is_zero_and_of_better_model_positive():
    event, time, risk = _survival(n=500)
    same = paired_bootstrap("c_index", (event, time), risk, risk, n_resamples=100)
    assert same.difference == 0 and same.low == 0 and same.high == 0 and same.p_value == 1.0
    noise = np.random.default_rng(5).normal(size=500)
    better = paired_bootstrap("c_index", (event, time), risk, noise, n_resamples=200, seed=2)
    assert better.difference == better.estimate_a - better.estimate_b > 0
    assert better.low > 0 and better.p_value < 0.01
    # the generic path (a survival metric with context) pairs the same rows too
    uno = paired_bootstrap("c_index_uno", (event, time), risk, noise, n_resamples=30, seed=2,
                           y_train=(event, time), tau=float(np.quantile(time, 0.8)))
    assert uno.low > 0


def test_bad_settings():
    event, time, risk = _survival(n=50)
    with pytest.raises(MetricError, match="n_resamples"):
        bootstrap_ci("c_index", (event, time), risk, n_resamples=0)
    with pytest.raises(MetricError, match="confidence"):
        bootstrap_ci("c_index", (event, time), risk, confidence=95)
    with pytest.raises(MetricError, match="needs task="):
        bootstrap_ci(lambda y, p: 0.5, (event, time), risk)
    with pytest.raises(MetricError, match="evaluates 'survival', not 'classification'"):
        bootstrap_ci("c_index", (event, time), risk, task="classification")


def test_repr_is_short_and_never_lists_the_replicates():
    event, time, risk = _survival(n=200)
    res = bootstrap_ci("c_index", (event, time), risk, n_resamples=10_000, seed=0)
    text = repr(res)
    assert len(text) < 1000 and "\n" not in text
    assert text.startswith("BootstrapResult(metric='c_index', estimate=")
    assert f"95% CI [{res.low:.4g}, {res.high:.4g}]" in text
    assert "n_resamples=10000" in text and "n_failed=0" in text
    assert text.count(",") == 8  # eight fields (one in the CI), no array
    assert res.replicates.shape == (10_000,)  # still there, only not printed
    page = res._repr_html_()
    assert page.startswith("<table>") and page.endswith("</table>") and len(page) < 1000
    assert "95% CI" in page and f"{res.estimate:.4g}" in page and "10000" in page


def test_paired_repr_and_html_are_short_and_escaped():
    rng = np.random.default_rng(4)
    y = rng.random(300) < 0.3
    a = np.clip(0.3 + 0.4 * (y - 0.3) + rng.normal(0, 0.2, 300), 0, 1)
    b = rng.random(300)
    res = paired_bootstrap("auc_roc", y, a, b, n_resamples=200, seed=1, confidence=0.9)
    text = repr(res)
    assert len(text) < 1000 and text.startswith("PairedBootstrapResult(metric='auc_roc'")
    for part in (f"estimate_a={res.estimate_a:.4g}", f"estimate_b={res.estimate_b:.4g}",
                 f"difference={res.difference:.4g}", "90% CI", f"p_value={res.p_value:.4g}",
                 "n_resamples=200", f"n_failed={res.n_failed}"):
        assert part in text
    assert res.replicates.shape[0] == 200 - res.n_failed

    def odd(y_true, proba):  # a metric whose name needs escaping in HTML
        return roc_auc(y_true, proba)

    odd.__name__ = "<auc & co>"
    res = paired_bootstrap(odd, y, a, b, n_resamples=50, seed=1, task="classification",
                           confidence=0.975)
    page = res._repr_html_()
    assert "&lt;auc &amp; co&gt;" in page and "<auc" not in page
    assert "97.5% CI" in page and len(page) < 1000
    assert "97.5% CI" in repr(res)
