"""The metric registry: a contract test over every registered metric, and the evaluate() API."""

from __future__ import annotations

import numpy as np
import pytest

from lightsaber.metrics import (
    CompetingPrediction,
    Metric,
    MetricError,
    SurvivalPrediction,
    evaluate,
    get_metric,
    harrell_c,
    list_metrics,
    wolbers_c,
)

INPUTS = {"classification": {"proba"}, "survival": {"risk", "survival", "predicted_time"},
          "competing": {"cif", "risk"}}
CONTEXT = {"y_train", "times", "horizon", "tau", "threshold", "n_bins", "tied_tol", "classes",
           "cause"}


def _classification(multiclass: bool):
    rng = np.random.default_rng(0)
    n = 600
    if not multiclass:
        y = (rng.random(n) < 0.3).astype(int)
        good = np.clip(0.3 + 0.45 * (y - 0.3) + rng.normal(0, 0.15, n), 0.01, 0.99)
        return y, good, 1 - good  # reversed: worse on every metric
    y = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3)) + 2.0 * np.eye(3)[y]
    good = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, good, good[:, [1, 2, 0]]  # columns shifted: wrong class favoured


def _survival():
    rng = np.random.default_rng(1)

    def cohort(n):
        x = rng.normal(size=n)
        t = rng.exponential(np.exp(-x))
        c = rng.exponential(2.0, n)
        return x, t <= c, np.minimum(t, c)

    x, event, time = cohort(800)
    _, e_tr, t_tr = cohort(800)
    grid = np.linspace(0, np.quantile(time, 0.99), 200)

    def prediction(sign):
        return SurvivalPrediction(
            risk=sign * x,
            survival=np.exp(-np.outer(np.exp(sign * x), grid)),
            times=grid,
            predicted_time=np.log(2) * np.exp(-sign * x),  # median of the model
        )

    context = {"y_train": (e_tr, t_tr), "times": np.quantile(time[event], [0.2, 0.4, 0.6]),
               "horizon": float(np.quantile(time[event], 0.5)),
               "tau": float(np.quantile(time, 0.8))}  # G reaches 0 at the end without tau
    return (event, time), prediction(1.0), prediction(-1.0), context


def _competing():
    """Two exponential causes driven by x in opposite directions; the true CIFs vs reversed."""
    rng = np.random.default_rng(2)

    def cohort(n):
        x = rng.normal(size=n)
        t1, t2 = rng.exponential(np.exp(-x)), rng.exponential(np.exp(x))
        c = rng.exponential(2.0, n)
        status = np.select([t1 <= np.minimum(t2, c), t2 <= c], [1, 2], 0)
        return x, (status, np.minimum.reduce([t1, t2, c]))

    x, y = cohort(800)
    _, y_train = cohort(800)
    grid = np.quantile(y[1][y[0] > 0], np.linspace(0.1, 0.8, 8))

    def prediction(sign):
        h1, h2 = np.exp(sign * x), np.exp(-sign * x)  # cause-specific hazards of the model
        free = 1 - np.exp(-np.outer(h1 + h2, grid))
        return CompetingPrediction(cif={1: free * (h1 / (h1 + h2))[:, None],
                                        2: free * (h2 / (h1 + h2))[:, None]}, times=grid)

    return y, prediction(1.0), prediction(-1.0), {"y_train": y_train, "times": grid,
                                                  "tau": float(grid[-1]), "cause": 1}


@pytest.mark.parametrize("name", list_metrics())
def test_every_metric_honours_its_contract(name):
    m = get_metric(name)
    assert isinstance(m, Metric) and m.name == name
    assert m.task in ("classification", "survival", "competing")
    assert m.direction in ("higher", "lower")
    assert set(m.inputs) <= INPUTS[m.task] and m.inputs
    assert set(m.requires) | set(m.options) <= CONTEXT
    assert m.description and m.reference
    if m.task == "classification":
        y, good, bad = _classification(m.multiclass and name not in ("brier", "log_loss",
                                                                      "balanced_accuracy"))
        context = {}
    else:
        *data, full = _survival() if m.task == "survival" else _competing()
        y, good, bad = data
        context = {k: v for k, v in full.items() if k in m.requires or k in m.options}
    value_good = evaluate(m.task, y, good, metrics=[name], **context)[name]
    value_bad = evaluate(m.task, y, bad, metrics=[name], **context)[name]
    assert np.isfinite(value_good) and np.isfinite(value_bad)
    # direction: the informative model must score better than the reversed/wrong one
    assert m.is_better(value_good, value_bad), (name, value_good, value_bad)
    # calling the Metric directly gives the same number
    assert m(y, good, **context) == value_good


def test_list_metrics_by_task_is_sorted_and_partitions_the_registry():
    cls = list_metrics("classification")
    surv = list_metrics("survival")
    comp = list_metrics("competing")
    assert list(cls) == sorted(cls) and list(surv) == sorted(surv) and list(comp) == sorted(comp)
    assert set(cls) | set(surv) | set(comp) == set(list_metrics())
    assert not set(cls) & set(surv) and not set(comp) & (set(cls) | set(surv))
    assert comp == ("cause_specific_auc", "ibs_competing", "wolbers_c")
    assert {"c_index", "c_index_uno", "c_index_td", "cumulative_auc", "ibs", "ibll",
            "brier_at_horizon", "mae_event_time", "d_calibration", "ici_at_horizon"} <= set(surv)
    assert {"auc_roc", "auc_pr", "brier", "log_loss", "ece", "balanced_accuracy",
            "f1", "sensitivity", "specificity", "ppv", "npv", "recall_at_10pct",
            "precision_at_10pct"} <= set(cls)


def test_evaluate_defaults_use_what_is_available():
    y, good, _, context = _survival()
    only_risk = evaluate("survival", y, good.risk)
    assert list(only_risk) == ["c_index"]
    everything = evaluate("survival", y, good, **context)
    assert set(everything) == set(list_metrics("survival"))
    y_c, p_c, _ = _classification(False)
    assert list(evaluate("classification", y_c, p_c)) == ["auc_roc", "auc_pr",
                                                           "brier", "log_loss", "ece"]
    y_m, p_m, _ = _classification(True)
    assert "auc_roc_ovr_macro" in evaluate("classification", y_m, p_m)


def test_evaluate_equals_direct_functions_and_passes_options():
    y, good, _, context = _survival()
    out = evaluate("survival", y, {"risk": good.risk}, metrics=["c_index"], tied_tol=0.0)
    assert out == {"c_index": harrell_c(y, good.risk, tied_tol=0.0)}


def test_evaluate_errors_are_explicit():
    y, good, _, context = _survival()
    with pytest.raises(MetricError, match="unknown metric 'cindex'.*Did you mean"):
        evaluate("survival", y, good, metrics=["cindex"])
    with pytest.raises(MetricError, match=r"metric\(s\) \['auc_roc'\] do not evaluate"):
        evaluate("survival", y, good, metrics=["auc_roc"])
    with pytest.raises(MetricError, match=r"'ibs' needs \['y_train', 'times'\]"):
        evaluate("survival", y, good, metrics=["ibs"])
    with pytest.raises(MetricError, match=r"got \['treshold'\], which none of the metrics"):
        evaluate("classification", [0, 1], [0.2, 0.7], metrics=["ppv"], treshold=0.3)
    with pytest.raises(MetricError, match=r"needs the prediction's \['survival'\]"):
        evaluate("survival", y, good.risk, metrics=["c_index_td"])
    with pytest.raises(MetricError, match="task must be one of"):
        evaluate("regression", y, good, metrics=["c_index"])
    with pytest.raises(MetricError, match="does not take"):
        get_metric("c_index")(y, good, horizon=3.0)


def test_is_better_handles_nan():
    m = get_metric("c_index")
    assert m.is_better(0.7, float("nan")) and not m.is_better(float("nan"), 0.7)
    assert get_metric("ibs").is_better(0.1, 0.2)


def test_competing_metrics_score_one_cause_from_the_prediction():
    y, good, _, context = _competing()
    everything = evaluate("competing", y, good, **context)
    assert set(everything) == set(list_metrics("competing"))
    # wolbers_c reads the risk, which defaults to the CIF at the last time, with tau there
    assert everything["wolbers_c"] == wolbers_c(y, good.cif[1][:, -1], cause=1,
                                                 tau=context["tau"])
    other = evaluate("competing", y, good, metrics=["wolbers_c"], cause=2)["wolbers_c"]
    assert other > 0.6 and other != everything["wolbers_c"]
    with pytest.raises(MetricError, match=r"'wolbers_c' needs \['cause'\]"):
        evaluate("competing", y, good, metrics=["wolbers_c"])
    only_one = CompetingPrediction(cif={1: good.cif[1]}, times=good.times)
    with pytest.raises(MetricError, match="no cumulative incidence of cause 2"):
        evaluate("competing", y, only_one, metrics=["ibs_competing"], cause=2,
                 y_train=context["y_train"], times=context["times"])
    with pytest.raises(MetricError, match="no cumulative incidence of cause 2"):
        evaluate("competing", y, only_one, metrics=["wolbers_c"], cause=2)
