"""Search spaces: parsing, validation messages, decoding, designs, hyperopt round trips."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lightsaber.tuning import (
    Choice,
    IntUniform,
    LogUniform,
    QUniform,
    SearchSpaceError,
    Uniform,
    space_from_dict,
)
from lightsaber.tuning.space import (
    baseline_sample,
    check_space,
    decode,
    iter_grid,
    labels,
    to_hyperopt,
    vals_from_sample,
)

NESTED = {
    "module__hidden": {"choice": [[32], [64, 64]]},
    "optimizer": {"choice": [
        {"optimizer": "adam", "optimizer__lr": {"loguniform": [1e-4, 1e-1]}},
        {"optimizer": "sgd", "optimizer__lr": {"loguniform": [1e-3, 1.0]},
         "optimizer__momentum": {"quniform": [0.0, 0.9, 0.1]}}]},
    "max_epochs": {"intuniform": [5, 8]},
    "dropout": {"uniform": [0.0, 0.5]},
    "batch_size": 64,
}


def test_yaml_space_parses_into_typed_dimensions():
    space = space_from_dict(NESTED)
    assert space["module__hidden"] == Choice([[32], [64, 64]])
    assert space["max_epochs"] == IntUniform(5, 8)
    assert space["dropout"] == Uniform(0.0, 0.5)
    assert space["batch_size"] == 64
    sgd = space["optimizer"].options[1]
    assert sgd["optimizer__momentum"] == QUniform(0.0, 0.9, 0.1)
    assert labels(space) == ["module__hidden", "optimizer", "optimizer.options[0].optimizer__lr",
                             "optimizer.options[1].optimizer__lr",
                             "optimizer.options[1].optimizer__momentum", "max_epochs",
                             "dropout"]


@pytest.mark.parametrize(("spec", "message"), [
    ({"lr": {"loguniform": [0, 1]}}, r"space\.lr: loguniform needs 0 < low < high; got low=0"),
    ({"lr": {"uniform": [1, "a"]}}, r"space\.lr: uniform high must be a number; got 'a'"),
    ({"lr": {"uniform": [1]}}, r"space\.lr: uniform takes \[low, high\]; got \[1\]"),
    ({"n": {"intuniform": [1.5, 3]}}, r"space\.n: intuniform low must be an integer; got 1.5"),
    ({"q": {"quniform": [0, 1, 0]}}, r"space\.q: quniform needs q > 0; got q=0"),
    ({"c": {"choice": []}}, r"space\.c: choice needs a non-empty list of options; got \[\]"),
    ({"opt": {"choice": [{"lr": {"uniform": [2, 1]}}]}},
     r"space\.opt\.options\[0\]\.lr: uniform needs low < high; got low=2, high=1"),
    ({"lr": {"normal": [0, 1]}}, r"space\.lr: unknown distribution 'normal'; allowed: choice"),
    ({"lr": {"uniform": [0, 1], "q": 2}}, r"space\.lr: a distribution spec has exactly one key"),
    ({}, r"space: the search space is empty"),
])
def test_errors_name_the_path_the_value_and_what_is_allowed(spec, message):
    with pytest.raises(SearchSpaceError, match=message):
        space_from_dict(spec)


def test_search_space_error_is_a_value_error():
    with pytest.raises(ValueError):
        check_space({"C": LogUniform(-1, 1)})


def test_conditional_choice_merges_the_chosen_branch():
    space = space_from_dict(NESTED)
    vals = {"module__hidden": 1, "optimizer": 1, "optimizer.options[1].optimizer__lr": 0.01,
            "optimizer.options[1].optimizer__momentum": 0.3, "max_epochs": 6.0,
            "dropout": 0.25}
    params, record = decode(space, vals)
    assert params == {"module__hidden": [64, 64], "optimizer": "sgd", "optimizer__lr": 0.01,
                      "optimizer__momentum": 0.3, "max_epochs": 6, "dropout": 0.25,
                      "batch_size": 64}
    assert record["optimizer"] == "sgd"
    branch, _ = decode({"o": Choice([{"a": 1}, {"b": Uniform(0, 1)}])}, {"o": 0})
    assert branch == {"a": 1}


def test_hyperopt_samples_decode_to_valid_configurations():
    from hyperopt import pyll

    space = space_from_dict(NESTED)
    expr = to_hyperopt(space)
    rng = np.random.default_rng(0)
    for _ in range(30):
        sample = pyll.stochastic.sample(expr, rng=rng)
        vals = vals_from_sample(space, sample)
        params, _ = decode(space, vals)
        assert 5 <= params["max_epochs"] <= 8 and isinstance(params["max_epochs"], int)
        assert 0 <= params["dropout"] <= 0.5
        if params["optimizer"] == "sgd":
            assert math.isclose(params["optimizer__momentum"] * 10,
                                round(params["optimizer__momentum"] * 10), abs_tol=1e-9)
        else:
            assert "optimizer__momentum" not in params
            assert 1e-4 <= params["optimizer__lr"] <= 1e-1


def test_grid_expands_conditional_branches_and_refuses_continuous_dimensions():
    space = {"a": Choice([1, 2]), "o": Choice([{"x": 0}, {"y": IntUniform(1, 3)}])}
    grid = list(iter_grid(space))
    assert len(grid) == 2 * (1 + 3)
    assert len({tuple(sorted(g.items())) for g in grid}) == len(grid)
    with pytest.raises(SearchSpaceError, match=r"space\.lr: a loguniform dimension has no "
                                               "finite levels"):
        list(iter_grid({"lr": LogUniform(1e-3, 1)}))


def test_baseline_is_matched_by_value_and_checked():
    space = {"C": Choice([1.0, 0.1]), "n": IntUniform(1, 3), "o": Choice([
        {"solver": "lbfgs"}, {"solver": "saga", "l1_ratio": QUniform(0, 1, 0.5)}])}
    assert baseline_sample(space, {"C": 0.1, "n": 2}) == {"C": 1, "n": 2, "o": 0}
    assert baseline_sample(space, {"o": 1}) == {
        "C": 0, "n": 1, "o": 1, "o.options[1].l1_ratio": 0.0}
    assert baseline_sample(space, {"solver": "saga", "l1_ratio": 0.5}) == {
        "C": 0, "n": 1, "o": 1, "o.options[1].l1_ratio": 0.5}
    with pytest.raises(SearchSpaceError, match=r"baseline\.n: 7 is not a level"):
        baseline_sample(space, {"n": 7})
    with pytest.raises(SearchSpaceError, match=r"\['gamma'\] are not parameters"):
        baseline_sample(space, {"gamma": 1})
