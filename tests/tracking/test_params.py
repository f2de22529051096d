"""flatten_params: nesting, None, stringification, collisions, refusal of arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lightsaber.tracking import TrackingError, flatten_params
from lightsaber.tracking.params import MAX_PARAM_VALUE_LENGTH, check_key, truncate


def test_nested_mappings_flatten_with_dots_sorted():
    flat = flatten_params({"z": 1, "model": {"b": {"c": True}, "a": "x"}, "none": None})
    assert flat == {"model.a": "x", "model.b.c": "True", "z": "1"}
    assert list(flat) == sorted(flat)


def test_prefix_and_empty_mappings():
    assert flatten_params({"a": {}, "b": 2}, prefix="p") == {"p.b": "2"}
    assert flatten_params({}) == {}


def test_numpy_scalars_and_sequences_are_plain():
    flat = flatten_params({"lr": np.float64(0.1), "n": np.int64(3),
                           "grid": [np.float32(0.5), 1], "hidden": (64, np.int64(32))})
    assert flat == {"grid": "[0.5, 1]", "hidden": "(64, 32)", "lr": "0.1", "n": "3"}


def test_objects_are_stringified():
    from sklearn.linear_model import LogisticRegression

    flat = flatten_params({"est": LogisticRegression(C=2.0)})
    assert flat == {"est": "LogisticRegression(C=2.0)"}


def test_colliding_keys_are_an_error():
    with pytest.raises(TrackingError, match="'a.b' occurs twice"):
        flatten_params({"a.b": 1, "a": {"b": 2}})


@pytest.mark.parametrize("value", [np.zeros(3), pd.Series([1, 2]), pd.DataFrame({"x": [1]})])
def test_arrays_and_tables_are_refused(value):
    with pytest.raises(TrackingError, match="row-level patient data"):
        flatten_params({"data": value})


def test_truncation_keeps_mlflow_limit_and_marks_the_cut():
    import mlflow.utils.validation as v

    assert v.MAX_PARAM_VAL_LENGTH == MAX_PARAM_VALUE_LENGTH  # catch an upstream change
    long = "x" * (MAX_PARAM_VALUE_LENGTH + 10)
    cut = truncate(long)
    assert len(cut) == MAX_PARAM_VALUE_LENGTH and cut.endswith("...")
    assert truncate("short") == "short"
    exact = "y" * MAX_PARAM_VALUE_LENGTH
    assert truncate(exact) == exact


@pytest.mark.parametrize("key", ["", "a..b/../c", "/abs", "bad|char", "x" * 251, 3])
def test_keys_mlflow_would_refuse_fail_early(key):
    with pytest.raises(TrackingError):
        check_key(key, "Metric")


@pytest.mark.parametrize("key", ["valid_auc", "test c-index", "fold/0:auc", "model.hidden"])
def test_valid_keys_pass(key):
    assert check_key(key, "Metric") == key
