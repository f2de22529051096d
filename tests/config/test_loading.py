"""Merging, overrides, interpolation, relative paths, runtime references and resolved configs."""

from __future__ import annotations

import pytest

from lightsaber.config import load_config, prepare
from lightsaber.data import Preprocessor
from lightsaber.exceptions import ConfigError
from tests.config.conftest import BASE, patched, write_config


def test_files_merge_in_order_then_overrides(cohort_dir):
    first = write_config(cohort_dir, BASE, "base.yaml")
    second = write_config(cohort_dir, {"trainer": {"max_epochs": 5}, "seed": 3}, "more.yaml")
    cfg = load_config(first, second, overrides=["trainer.batch_size=8",
                                                "model.network.hidden=[8,8]"])
    assert (cfg.trainer.max_epochs, cfg.trainer.batch_size, cfg.seed) == (5, 8, 3)
    assert cfg.model.network.arguments["hidden"] == [8, 8]


def test_relative_paths_follow_the_config_file(cohort_dir, tmp_path_factory, monkeypatch):
    config = write_config(cohort_dir, BASE)
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    cfg = load_config(config)
    assert cfg.data.static == str(cohort_dir / "static.csv")
    assert prepare(cfg).cohort.n_patients == 40


def test_interpolation_between_keys(cohort_dir):
    cfg = load_config(patched(BASE, {"trainer.early_stopping": "${trainer.max_epochs}"}))
    assert cfg.trainer.early_stopping == 2


def test_runtime_reference_is_filled_after_preprocessing(cohort_dir):
    exp = prepare(load_config(patched(BASE, {"model.network.hidden": ["${runtime:n_features}"]})))
    train = exp.splits.cohorts(exp.cohort)["train"]
    width = Preprocessor().fit(train).transform(train).static.shape[1]
    assert exp.model.get_params()["module__hidden"] == [width]
    assert exp.resolved_config["model"]["network"]["hidden"] == ["@runtime:n_features"]


def test_resolved_config_has_every_default_and_validates_again(cohort_dir):
    exp = prepare(load_config(BASE))
    resolved = exp.resolved_config
    assert resolved["split"]["calibration"] == 0.0
    assert resolved["preprocess"]["flatten"] == ["last", "mean", "min", "max", "count"]
    assert resolved["tracking"]["enabled"] is True
    assert load_config(resolved).resolved() == resolved


def test_missing_config_file_and_bad_override(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="key.path=value"):
        load_config(BASE, overrides=["=3"])
