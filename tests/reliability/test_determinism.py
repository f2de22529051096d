"""Same config and seed, two separate processes: byte-identical manifests, identical metrics.

Covers every model family on CPU: scikit-learn LogisticRegression and HistGradientBoosting,
scikit-survival CoxPH and random survival forest, a ClassifierNet MLP, a ClassifierNet over a
GRU (SequenceNet), and the DeepSurv and DeepHit recipes. GPU caveats are in
``docs/reliability.md``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reliability._procs import start_child, wait_all
from tests.reliability.fit_child import families


@pytest.mark.slow
def test_same_seed_in_two_processes_gives_identical_results(tmp_path: Path):
    outs = [tmp_path / f"result-{i}.json" for i in range(2)]
    logs = [tmp_path / f"child-{i}.log" for i in range(2)]
    children = [start_child(["determinism", str(out)], log)
                for out, log in zip(outs, logs, strict=True)]
    wait_all(children, logs)
    first, second = (json.loads(out.read_text()) for out in outs)
    assert sorted(first) == sorted(families())
    for family in first:
        assert first[family]["manifest"] == second[family]["manifest"], family
        assert first[family]["test"] == second[family]["test"], family
        assert first[family]["predictions"] == second[family]["predictions"], family
        assert first[family]["test"], family  # metrics were computed
