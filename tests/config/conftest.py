"""Small cohort files and a valid base config for the config tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

DELETE = object()

BASE: dict[str, Any] = {
    "data": {"static": "static.csv", "targets": "targets.csv", "id": "pid",
             "duration": "days", "event": "died"},
    "split": {"val": 0.2, "test": 0.2, "seed": 1},
    "model": {"_target_": "lightsaber.models.SurvivalNet",
              "network": {"_target_": "lightsaber.models.MLP", "hidden": [4]},
              "loss": "cox"},
    "trainer": {"max_epochs": 2, "batch_size": 16},
    "metrics": ["c_index"],
    "tracking": {"experiment": "config-tests", "log_model": False},
}


def patched(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``base`` with dotted keys set (``DELETE`` removes a key)."""
    out = copy.deepcopy(base)
    for dotted, value in patch.items():
        node = out
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        if value is DELETE:
            node.pop(last, None)
        else:
            node[last] = copy.deepcopy(value)
    return out


@pytest.fixture
def cohort_dir(tmp_path: Path, static_frame, target_frame, monkeypatch) -> Path:
    """tmp_path holding static.csv / targets.csv (ids SECRET-PATIENT-*), as the cwd."""
    static_frame.to_csv(tmp_path / "static.csv", index=False)
    target_frame.to_csv(tmp_path / "targets.csv", index=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def write_config(folder: Path, data: dict[str, Any], name: str = "experiment.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
