"""Boundary checks: the sign convention's gate and privacy of error messages."""

from __future__ import annotations

import numpy as np
import pytest

from lightsaber.exceptions import LightsaberError
from lightsaber.metrics import (
    MetricError,
    SurvivalPrediction,
    check_risk,
    evaluate,
    harrell_c,
    roc_auc,
)


def test_metric_error_is_a_value_error_and_a_lightsaber_error():
    assert issubclass(MetricError, ValueError) and issubclass(MetricError, LightsaberError)


@pytest.mark.parametrize("bad, message", [
    ([[0.1, 0.2]], "one-dimensional"),
    (["a", "b"], "must be numeric"),
    ([0.1, np.inf], "NaN or infinite"),
])
def test_check_risk_rejects(bad, message):
    with pytest.raises(MetricError, match=message):
        check_risk(bad)


def test_sign_convention_higher_risk_means_earlier_event():
    # the earliest event gets the highest risk: perfect concordance; survival *times* as a
    # "risk" are the classic sign error and give 0
    event, time = np.array([1, 1, 1]), np.array([1.0, 2.0, 3.0])
    assert harrell_c((event, time), [3.0, 2.0, 1.0]) == 1.0
    assert harrell_c((event, time), time) == 0.0


def test_error_messages_carry_no_raw_values(secret_ids):
    # values a user passed by mistake (ids, feature cells) never appear in messages
    n = len(secret_ids)
    risk = np.linspace(0.123456, 0.987654, n)
    risk[3] = np.nan
    with pytest.raises(MetricError) as info:
        harrell_c((np.ones(n), np.arange(n, dtype=float)), risk)
    assert "0.123456" not in str(info.value) and "rows 3" in str(info.value)
    with pytest.raises(MetricError) as info:
        roc_auc(secret_ids[:2], [0.1, 0.9])
    assert "SECRET-PATIENT" not in str(info.value)
    with pytest.raises(MetricError) as info:
        evaluate("survival", (np.ones(n), np.arange(n, dtype=float)), secret_ids,
                 metrics=["c_index"])
    assert "SECRET-PATIENT" not in str(info.value)


def test_survival_prediction_structure_errors():
    with pytest.raises(MetricError, match="survival and times go together"):
        SurvivalPrediction(survival=[[0.5]])
    with pytest.raises(MetricError, match="disagree on the number of patients"):
        SurvivalPrediction(risk=[1.0, 2.0], predicted_time=[1.0])
    with pytest.raises(MetricError, match="unknown survival prediction field"):
        SurvivalPrediction.coerce({"risks": [1.0]})
    with pytest.raises(MetricError, match="must be a risk vector"):
        SurvivalPrediction.coerce(np.ones((2, 2)))
