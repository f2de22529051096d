"""Classification metrics and ECE against scikit-learn 1.9 (tolerance 1e-12)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from sklearn.preprocessing import label_binarize

from lightsaber.exceptions import TargetError
from lightsaber.metrics import (
    MetricError,
    average_precision,
    balanced_accuracy,
    brier,
    expected_calibration_error,
    f1,
    log_loss,
    npv,
    ppv,
    reliability_curve,
    roc_auc,
    sensitivity,
    specificity,
)

TOL = 1e-12


def _binary(seed: int, n: int = 300):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    p = np.clip(0.3 + 0.3 * (y - 0.3) + rng.normal(0, 0.2, n), 0, 1)
    p[:10] = np.round(p[:10], 1)  # ties in the score
    return y, p


@pytest.mark.parametrize("seed", range(5))
def test_binary_metrics_equal_sklearn(seed):
    y, p = _binary(seed)
    assert roc_auc(y, p) == pytest.approx(skm.roc_auc_score(y, p), abs=TOL)
    assert average_precision(y, p) == pytest.approx(skm.average_precision_score(y, p), abs=TOL)
    assert brier(y, p) == pytest.approx(skm.brier_score_loss(y, p), abs=TOL)
    assert log_loss(y, p) == pytest.approx(skm.log_loss(y, p), abs=TOL)
    for t in (0.3, 0.5):
        pred = (p >= t).astype(int)
        assert sensitivity(y, p, threshold=t) == pytest.approx(skm.recall_score(y, pred), abs=TOL)
        assert specificity(y, p, threshold=t) == pytest.approx(
            skm.recall_score(y, pred, pos_label=0), abs=TOL)
        assert ppv(y, p, threshold=t) == pytest.approx(skm.precision_score(y, pred), abs=TOL)
        assert npv(y, p, threshold=t) == pytest.approx(
            skm.precision_score(y, pred, pos_label=0), abs=TOL)
        assert f1(y, p, threshold=t) == pytest.approx(skm.f1_score(y, pred), abs=TOL)
        assert balanced_accuracy(y, p, threshold=t) == pytest.approx(
            skm.balanced_accuracy_score(y, pred), abs=TOL)


def test_two_column_probabilities_use_the_positive_column():
    y, p = _binary(1)
    both = np.column_stack((1 - p, p))
    assert roc_auc(y, both) == roc_auc(y, p)
    assert log_loss(y, both) == pytest.approx(log_loss(y, p), abs=TOL)


@pytest.mark.parametrize("seed", range(3))
def test_multiclass_ovr_equals_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.choice(["a", "b", "c"], 200)
    logits = rng.normal(size=(200, 3)) + 1.5 * label_binarize(y, classes=["a", "b", "c"])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    for avg in ("macro", "micro"):
        expected_auc = (skm.roc_auc_score(y, p, multi_class="ovr", average=avg)
                        if avg == "macro" else
                        skm.roc_auc_score(label_binarize(y, classes=["a", "b", "c"]), p,
                                          average="micro"))
        assert roc_auc(y, p, average=avg) == pytest.approx(expected_auc, abs=TOL)
        expected_ap = skm.average_precision_score(label_binarize(y, classes=["a", "b", "c"]),
                                                  p, average=avg)
        assert average_precision(y, p, average=avg) == pytest.approx(expected_ap, abs=TOL)
        pred = np.array(["a", "b", "c"])[p.argmax(axis=1)]
        assert f1(y, p, average=avg) == pytest.approx(skm.f1_score(y, pred, average=avg),
                                                      abs=TOL)
    assert brier(y, p) == pytest.approx(skm.brier_score_loss(y, p), abs=TOL)
    assert log_loss(y, p) == pytest.approx(skm.log_loss(y, p), abs=TOL)
    pred = np.array(["a", "b", "c"])[p.argmax(axis=1)]
    assert balanced_accuracy(y, p) == pytest.approx(skm.balanced_accuracy_score(y, pred), abs=TOL)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("seed", range(3))
def test_reliability_curve_equals_sklearn_and_ece_formula(seed, strategy):
    y, p = _binary(seed)
    p[-3:] = [0.0, 0.1, 1.0]  # values on the bin edges
    curve = reliability_curve(y, p, n_bins=10, strategy=strategy)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy=strategy)
    np.testing.assert_allclose(curve.prob_true, prob_true, rtol=0, atol=TOL)
    np.testing.assert_allclose(curve.prob_pred, prob_pred, rtol=0, atol=TOL)
    assert curve.counts.sum() == y.shape[0]
    # ECE from the scikit-learn curve and bin counts recomputed with numpy.histogram-like edges
    ids = np.searchsorted(curve.bin_edges[1:-1], p)
    counts = np.bincount(ids, minlength=10)
    counts = counts[counts > 0]
    expected = np.sum(counts / counts.sum() * np.abs(prob_true - prob_pred))
    assert expected_calibration_error(y, p, strategy=strategy) == pytest.approx(expected, abs=TOL)


def test_ece_of_perfectly_calibrated_bins_is_zero():
    # derivation: every bin's mean prediction equals its observed frequency
    y = np.array([0, 0, 0, 1, 1, 0, 1, 1])
    p = np.array([0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75])
    assert expected_calibration_error(y, p) == 0.0


# --- bad input ------------------------------------------------------------------------------


def test_single_class_label_is_rejected():
    with pytest.raises(TargetError, match="single class"):
        roc_auc([1, 1, 1], [0.2, 0.5, 0.9])
    with pytest.raises(TargetError, match="single class"):
        average_precision([0, 0], [0.2, 0.5])


def test_mismatched_lengths_and_nan():
    with pytest.raises(MetricError, match="proba has 2 rows but the outcome has 3"):
        roc_auc([0, 1, 1], [0.2, 0.5])
    with pytest.raises(MetricError, match=r"NaN or infinite values in 1 row\(s\) \(rows 1\)"):
        brier([0, 1, 1], [0.2, np.nan, 0.4])
    with pytest.raises(MetricError, match="outside"):
        log_loss([0, 1], [0.2, 1.4])


def test_non_binary_labels_need_mapping():
    with pytest.raises(MetricError, match="labels 0/1"):
        roc_auc(["alive", "dead"], [0.2, 0.6])
    with pytest.raises(MetricError, match="one column per class"):
        roc_auc(["a", "b", "c"], np.full((3, 2), 0.5), average="macro")


def test_undefined_threshold_metrics_raise_instead_of_warning():
    with pytest.raises(MetricError, match="ppv is undefined at threshold 0.9"):
        ppv([0, 1, 1], [0.2, 0.5, 0.6], threshold=0.9)
    with pytest.raises(MetricError, match="sensitivity is undefined"):
        sensitivity([0, 0], [0.2, 0.6])
    with pytest.raises(MetricError, match="threshold must be a probability"):
        specificity([0, 1], [0.2, 0.6], threshold=2)


def test_declared_classes_score_a_split_that_lacks_one():
    """A rare class absent from a small test split: brier / log_loss over the model's classes
    equal scikit-learn's with labels=; without them the shapes disagree (an error, not a guess)."""
    from sklearn.metrics import brier_score_loss
    from sklearn.metrics import log_loss as sk_log_loss

    from lightsaber.metrics import MetricError, evaluate

    rng = np.random.default_rng(0)
    y = np.array([0, 1, 2, 1, 0, 2, 1, 0])  # class 3 never occurs here
    proba = rng.dirichlet(np.ones(4), size=len(y))
    got = evaluate("classification", y, proba, metrics=["brier", "log_loss"],
                   classes=[0, 1, 2, 3])
    assert got["brier"] == pytest.approx(brier_score_loss(y, proba, labels=[0, 1, 2, 3]),
                                         abs=1e-12)
    assert got["log_loss"] == pytest.approx(sk_log_loss(y, proba, labels=[0, 1, 2, 3]),
                                            abs=1e-12)
    with pytest.raises(MetricError, match="one column per class"):
        evaluate("classification", y, proba, metrics=["brier"])
    with pytest.raises(MetricError, match="not one of the 4 classes"):
        evaluate("classification", np.r_[y, 9], np.r_[proba, proba[:1]], metrics=["brier"],
                 classes=[0, 1, 2, 3])
