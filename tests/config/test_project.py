"""User project modules: a custom network, loss (with adapter), metric and data function."""

from __future__ import annotations

import textwrap

import numpy as np

from lightsaber.config import load_config, prepare, run_fit
from tests.config.conftest import BASE, patched

PROJECT = textwrap.dedent('''
    import torch
    from sklearn.metrics import roc_auc_score

    import lightsaber as ls

    class TinyNet(torch.nn.Module):
        def __init__(self, n_inputs, width=4):
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Linear(n_inputs, width), torch.nn.ReLU(),
                                            torch.nn.Linear(width, 1))

        def forward(self, static):
            return self.body(static)

    def ranked_loss(scores, times, observed, scale=1.0):
        order = torch.argsort(times, descending=True)
        risk, events = scores.reshape(-1)[order], observed[order]
        return -scale * ((risk - torch.logcumsumexp(risk, 0)) * events).sum() / events.sum()

    def harrell(times, risk, observed):
        from sksurv.metrics import concordance_index_censored
        return concordance_index_censored(observed.astype(bool), times, risk)[0]

    def load(path, id="pid"):
        import pandas as pd
        static = pd.read_csv(path + "/static.csv")
        targets = pd.read_csv(path + "/targets.csv")
        return ls.Cohort(static, targets, id=id, duration="days", event="died")
''')


def test_custom_network_loss_metric_and_data_from_the_project(cohort_dir):
    (cohort_dir / "proj").mkdir()
    (cohort_dir / "proj" / "my_cfg_project.py").write_text(PROJECT)
    config = patched(BASE, {
        "project": "proj",
        "data": {"_target_": "my_cfg_project.load", "path": str(cohort_dir)},
        "model.network": {"_target_": "my_cfg_project.TinyNet",
                          "n_inputs": "${runtime:n_features}", "width": 3},
        "model.loss": {"_target_": "my_cfg_project.ranked_loss", "scale": 1.0,
                       "_adapter_": {"arguments": {"scores": "prediction", "times": "duration",
                                                   "observed": "event"}}},
        "metrics": ["c_index", {"name": "my_c", "_target_": "my_cfg_project.harrell",
                                "_adapter_": {"arguments": {"times": "duration",
                                                            "risk": "prediction",
                                                            "observed": "event"}}}],
    })
    exp = prepare(load_config(config))
    assert exp.model.get_params()["module__n_inputs"] == 6  # age, lab_a, lab_b + indicator, sex
    run = run_fit(exp, track=False, progress=False)
    for split in ("train", "val", "test"):
        assert np.isclose(run.metrics[split]["my_c"], run.metrics[split]["c_index"])


def test_classification_criterion_adapter_and_transform(cohort_dir):
    config = patched(BASE, {
        "data": {"static": "static.csv", "targets": "targets.csv", "id": "pid",
                 "label": "label"},
        "model._target_": "lightsaber.models.ClassifierNet",
        "model.loss": {"_target_": "torch.nn.functional.binary_cross_entropy",
                       "_adapter_": {"arguments": {"input": "prediction", "target": "label"},
                                     "transform": {"prediction": "sigmoid"}}},
        "metrics": ["auc_roc", {"name": "auc_sklearn",
                                "_target_": "sklearn.metrics.roc_auc_score"}],
    })
    run = run_fit(prepare(load_config(config)), track=False, progress=False)
    assert np.isclose(run.metrics["test"]["auc_sklearn"], run.metrics["test"]["auc_roc"])
