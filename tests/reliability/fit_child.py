"""Child process of the concurrency and determinism tests.

``python -m tests.reliability.fit_child concurrent URI EXPERIMENT SEED OUT``: fit a small net
(per-epoch metrics, logged model) into the tracking store ``URI``; write the run id to ``OUT``.

``python -m tests.reliability.fit_child determinism OUT``: fit every model family with fixed
seeds, untracked; write each family's split manifest and test metrics to ``OUT`` (JSON).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import lightsaber as ls
from lightsaber.models import MLP, ClassifierNet, DeepHit, DeepSurv, SequenceNet, SurvivalNet


def _concurrent(uri: str, experiment: str, seed: int, out: Path) -> None:
    cohort = ls.datasets.load_sample_mortality(n_patients=200, seed=seed)
    splits = cohort.split(val=0.2, test=0.2, seed=seed)
    net = SurvivalNet(MLP, module__hidden=(8,), max_epochs=25, early_stopping=None,
                      random_state=seed)
    run = ls.fit(net, cohort, splits, tracking_uri=uri, experiment=experiment,
                 progress=False, run_name=f"worker-{seed}")
    out.write_text(json.dumps({"run_id": run.run_id, "test": run.metrics["test"]}))


def families() -> dict:
    """Every model family, each with its own fixed seed."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sksurv.ensemble import RandomSurvivalForest
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    net = {"max_epochs": 5, "random_state": 3, "device": "cpu"}
    return {
        "logistic_regression": LogisticRegression(max_iter=500),
        "hist_gradient_boosting": HistGradientBoostingClassifier(max_iter=30, random_state=3),
        "coxph": CoxPHSurvivalAnalysis(alpha=0.1),
        "rsf": RandomSurvivalForest(n_estimators=20, min_samples_leaf=10, random_state=3,
                                    n_jobs=1),
        "classifier_mlp": ClassifierNet(MLP, module__hidden=(16,), **net),
        "sequence_net": ClassifierNet(SequenceNet, module__hidden_size=8, **net),
        "deepsurv": DeepSurv(module__hidden=(16,), **net),
        "deephit": DeepHit(module__hidden=(16,), cuts=10, **net),
    }


def _determinism(out: Path) -> None:
    cohort = ls.datasets.load_sample_mortality(n_patients=300, seed=0)
    result = {}
    for name, model in families().items():
        survival = name in ("coxph", "rsf", "deepsurv", "deephit")
        splits = cohort.split(val=0.2, test=0.2, seed=11,
                              stratify="event" if survival else "label")
        run = ls.fit(model, cohort, splits, track=False, progress=False,
                     task="survival" if survival else "classification")
        result[name] = {"manifest": splits.manifest_json(), "test": run.metrics["test"],
                        "predictions": run.predictions["test"].tolist()}
    out.write_text(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    if sys.argv[1] == "concurrent":
        _concurrent(sys.argv[2], sys.argv[3], int(sys.argv[4]), Path(sys.argv[5]))
    else:
        _determinism(Path(sys.argv[2]))
