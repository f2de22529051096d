"""One tracking store for the report tests: a classifier, a survival model and a tuning study.

The study is faked with the tags the tuning layer writes (a parent run tagged
``lightsaber.role = study``; trial children with ``mlflow.parentRunId`` and
``lightsaber.role = trial``; a ``refit`` child that is a full ``ls.fit`` run), so the report
tests do not depend on the tuning engine.
"""

from __future__ import annotations

import io
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.linear_model import LogisticRegression
from sksurv.linear_model import CoxPHSurvivalAnalysis

import lightsaber as ls
from lightsaber.tracking import tracked_run

EXPERIMENT = "report-demo"


def png_bytes(color: str) -> bytes:
    fig = Figure(figsize=(2, 2))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color=color)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    return buffer.getvalue()


def _fake_study(uri, cohort, splits, root):
    trials = []
    with tracked_run(EXPERIMENT, tracking_uri=uri, run_name="study-logreg",
                     tags={"lightsaber.role": "study", "lightsaber.study": "logreg-C",
                           "task": "classification"}) as parent:
        parent.log_params({"algorithm": "random", "metric": "auc_roc", "direction": "higher"})
        for k, c in enumerate([0.01, 0.1, 1.0]):
            with tracked_run(EXPERIMENT, tracking_uri=uri, run_name=f"trial-{k}",
                             tags={"mlflow.parentRunId": parent.run_id,
                                   "lightsaber.role": "trial", "lightsaber.trial": str(k),
                                   "lightsaber.study": "logreg-C"}) as trial:
                fitted = ls.fit(LogisticRegression(C=c, max_iter=500), cohort, splits,
                                track=False, progress=False)
                trial.log_params({"C": c})
                trial.log_metrics({"val_auc_roc": fitted.metrics["val"]["auc_roc"]})
                trials.append((c, fitted.metrics["val"]["auc_roc"], trial.run_id))
        best = max(trials, key=lambda t: t[1])
        (root / "history.png").write_bytes(png_bytes("red"))
        parent.log_artifact(root / "history.png", "analysis")
        refit = ls.fit(LogisticRegression(C=best[0], max_iter=500), cohort, splits,
                       experiment=EXPERIMENT, tracking_uri=uri, run_name="study-refit",
                       tags={"mlflow.parentRunId": parent.run_id, "lightsaber.role": "refit"},
                       log_model=False, progress=False)
    return parent.run_id, [t[2] for t in trials], refit


@pytest.fixture(scope="module")
def tracked(tmp_path_factory, template_store):
    """Store with runs ``clf`` (logistic), ``surv`` (CoxPH) and a study; uri and cohort."""
    root = tmp_path_factory.mktemp("reports")
    shutil.copyfile(template_store, root / "mlflow.db")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    cohort = ls.datasets.load_sample_mortality(n_patients=300)
    splits = cohort.split(val=0.2, test=0.2, stratify="label", seed=0)
    clf = ls.fit(LogisticRegression(max_iter=500), cohort, splits, experiment=EXPERIMENT,
                 tracking_uri=uri, run_name="logistic", progress=False)
    calibration_png = png_bytes("green")
    (root / "reliability.png").write_bytes(calibration_png)
    from lightsaber.tracking.lifecycle import _client

    _client(uri).log_artifact(clf.run_id, str(root / "reliability.png"), "calibration")
    surv = ls.fit(CoxPHSurvivalAnalysis(alpha=0.1), cohort, splits, experiment=EXPERIMENT,
                  tracking_uri=uri, run_name="coxph", progress=False)
    study_id, trial_ids, refit = _fake_study(uri, cohort, splits, root)
    return SimpleNamespace(root=root, uri=uri, cohort=cohort, splits=splits, clf=clf,
                           surv=surv, study_id=study_id, trial_ids=trial_ids, refit=refit,
                           calibration_png=calibration_png, ids=np.asarray(cohort.ids))
