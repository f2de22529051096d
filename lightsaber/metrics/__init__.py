"""Evaluation metrics for classification and survival models, with confidence intervals.

One sign convention for the whole package: a survival **risk** score is higher for an
**earlier** event (scikit-survival's ``predict``); survival probabilities are matrices with one
row per patient and one column per time. Inputs are validated at the boundary
(:mod:`lightsaber.metrics.validation`, and the project's outcome checkers in
:mod:`lightsaber.data.targets`); problems raise :class:`MetricError`.

Most users need three entry points:

* :func:`evaluate` — several metrics by stable name, ``{name: value}``;
* :func:`bootstrap_ci` / :func:`paired_bootstrap` — seeded percentile intervals;
* :func:`get_metric` / :func:`list_metrics` — the registry (direction, inputs, references).

Definitions, conventions and the reference each metric is tested against are in
``docs/metrics.md``.

Examples
--------
>>> from lightsaber.metrics import evaluate, get_metric
>>> evaluate("survival", ([1, 1, 0], [1.0, 2.0, 3.0]), [3.0, 1.0, 2.0], metrics=["c_index"])
{'c_index': 0.6666666666666666}
>>> get_metric("c_index").direction
'higher'
"""

from lightsaber.exceptions import MetricError
from lightsaber.metrics.bootstrap import (
    BootstrapResult,
    PairedBootstrapResult,
    bootstrap_ci,
    paired_bootstrap,
)
from lightsaber.metrics.calibration import (
    ReliabilityCurve,
    expected_calibration_error,
    reliability_curve,
)
from lightsaber.metrics.catalogue import Metric, evaluate, get_metric, list_metrics
from lightsaber.metrics.classification import (
    average_precision,
    balanced_accuracy,
    brier,
    f1,
    log_loss,
    npv,
    ppv,
    roc_auc,
    sensitivity,
    specificity,
)
from lightsaber.metrics.competing import (
    brier_score_competing,
    cause_specific_auc,
    cumulative_incidence,
    integrated_brier_score_competing,
    wolbers_c,
)
from lightsaber.metrics.competing_calibration import (
    CIFCalibration,
    cif_at_times,
    cif_calibration_at_horizon,
)
from lightsaber.metrics.concordance import (
    ConcordanceResult,
    antolini_c,
    concordance_summary,
    harrell_c,
    uno_c,
)
from lightsaber.metrics.prediction import CompetingPrediction, SurvivalPrediction
from lightsaber.metrics.survival import (
    TimeDependentAUC,
    brier_score,
    cumulative_dynamic_auc,
    integrated_auc,
    integrated_brier_score,
    integrated_negative_binomial_log_likelihood,
    mae_event_time,
    negative_binomial_log_likelihood,
    survival_at_times,
)
from lightsaber.metrics.survival_calibration import (
    DCalibration,
    HorizonCalibration,
    ICIResult,
    calibration_at_horizon,
    d_calibration,
    integrated_calibration_index,
)
from lightsaber.metrics.topk import precision_at_k, recall_at_k
from lightsaber.metrics.validation import check_risk

__all__ = [
    "BootstrapResult",
    "CIFCalibration",
    "CompetingPrediction",
    "ConcordanceResult",
    "DCalibration",
    "HorizonCalibration",
    "ICIResult",
    "Metric",
    "MetricError",
    "PairedBootstrapResult",
    "ReliabilityCurve",
    "SurvivalPrediction",
    "TimeDependentAUC",
    "antolini_c",
    "average_precision",
    "balanced_accuracy",
    "bootstrap_ci",
    "brier",
    "brier_score",
    "brier_score_competing",
    "calibration_at_horizon",
    "cause_specific_auc",
    "check_risk",
    "cif_at_times",
    "cif_calibration_at_horizon",
    "concordance_summary",
    "cumulative_dynamic_auc",
    "cumulative_incidence",
    "d_calibration",
    "evaluate",
    "expected_calibration_error",
    "f1",
    "get_metric",
    "harrell_c",
    "integrated_auc",
    "integrated_brier_score",
    "integrated_brier_score_competing",
    "integrated_calibration_index",
    "integrated_negative_binomial_log_likelihood",
    "list_metrics",
    "log_loss",
    "mae_event_time",
    "negative_binomial_log_likelihood",
    "npv",
    "paired_bootstrap",
    "ppv",
    "precision_at_k",
    "recall_at_k",
    "reliability_curve",
    "roc_auc",
    "sensitivity",
    "specificity",
    "survival_at_times",
    "uno_c",
    "wolbers_c",
]
