"""ls.fit on the deep competing-risks recipes: per-cause metrics tracked, early stopping on val.

The cohort is ``load_sample_mortality(n_patients=400, competing=True)`` (death vs discharge,
nobody censored), split 240 / 80 / 80 so that every split holds at least 10 deaths (fewer
would raise a ``SmallSplitWarning``). The nets train for a few epochs only: these tests are
about the plumbing (what is fitted on which split, what is logged), not about accuracy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lightsaber as ls
from lightsaber.exceptions import ArgumentError
from lightsaber.models import DeepHitCompeting, LogisticHazardCompeting, SequenceNet
from lightsaber.training.fit import fit

METRICS = ("cause_specific_auc", "ibs_competing", "wolbers_c")
CAUSES = ("death", "discharge")
SPLITS = ("train", "val", "test")
NAMES = {f"{m}_{c}" for m in METRICS for c in CAUSES}
RECIPES = {"deephit": DeepHitCompeting, "logistic_hazard": LogisticHazardCompeting}


@pytest.fixture(scope="module")
def sample():
    cohort = ls.datasets.load_sample_mortality(n_patients=400, competing=True)
    return cohort, cohort.split(val=0.2, test=0.2, stratify="event", seed=7)


@pytest.fixture
def store_uri(store, monkeypatch):
    """A fresh sqlite store (tests/mlflow_fixtures.py) in the working directory (artifacts)."""
    monkeypatch.chdir(store)
    return f"sqlite:///{store / 'mlflow.db'}"


def _client(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _check_tracked(run, splits):
    """Every per-cause metric of every split is in Run.metrics and in MLflow, as logged."""
    assert run.task == "competing"
    logged = _client(run.tracking_uri).get_run(run.run_id)
    assert logged.info.status == "FINISHED" and logged.data.tags["task"] == "competing"
    for split in SPLITS:
        assert set(run.metrics[split]) == NAMES, split
        for name, value in run.metrics[split].items():
            assert np.isfinite(value) and 0.0 <= value <= 1.0, (split, name, value)
            assert logged.data.metrics[f"{split}_{name}"] == pytest.approx(value, rel=1e-12)
        prediction = run.predictions[split]
        assert sorted(prediction.cif) == [1, 2]
        for cif in prediction.cif.values():
            assert cif.shape == (len(splits[split]), prediction.times.size)
            assert np.all(np.diff(cif, axis=1) >= 0)
        assert np.all(prediction.cif[1] + prediction.cif[2] <= 1 + 1e-9)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_cause_metric_tracked_and_read_back(sample, store_uri, name):
    cohort, splits = sample
    run = fit(RECIPES[name](max_epochs=5, random_state=0), cohort, splits,
              tracking_uri=store_uri, experiment="competing-nets", progress=False,
              log_model=False)
    _check_tracked(run, splits)
    assert len(run.history) == 5  # no early stopping asked for
    curve = _client(store_uri).get_metric_history(run.run_id, "valid_loss")
    assert [m.step for m in curve] == [1, 2, 3, 4, 5]
    assert [m.value for m in curve] == pytest.approx([row["valid_loss"] for row in run.history])
    assert run.model.n_validation_ == len(splits.val)  # validated on the cohort's val split


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_early_stopping_on_the_val_split(sample, store_uri, name):
    cohort, splits = sample
    # A large learning rate overfits 240 patients within a few epochs, so patience 2 ends
    # training long before max_epochs (measured: 3 epochs for both recipes, torch 2 on CPU).
    run = fit(RECIPES[name](max_epochs=50, lr=0.05, random_state=0), cohort, splits,
              early_stopping=2, tracking_uri=store_uri, experiment="competing-nets",
              progress=False, log_model=False)
    _check_tracked(run, splits)
    stopped = len(run.history)
    assert stopped < 50
    losses = [row["valid_loss"] for row in run.history]
    assert losses[run.model.best_epoch_ - 1] == min(losses)  # best weights restored
    assert stopped - run.model.best_epoch_ == 2  # patience ran out
    assert run.model.n_validation_ == len(splits.val)
    curve = _client(store_uri).get_metric_history(run.run_id, "valid_loss")
    assert len(curve) == stopped
    logged = _client(store_uri).get_run(run.run_id).data.params
    assert logged["early_stopping"] == "2"


@pytest.mark.slow  # about 10 s: logs and reloads the pyfunc
def test_sequence_net_reads_the_longitudinal_data(sample, store_uri):
    """SequenceNet over the hourly vitals: ls.fit pads the sequences, as for one event."""
    import mlflow.pyfunc

    cohort, splits = sample
    model = DeepHitCompeting(SequenceNet, module__hidden_size=8, max_epochs=3, random_state=0)
    run = fit(model, cohort, splits, tracking_uri=store_uri, experiment="competing-nets",
              progress=False)
    _check_tracked(run, splits)
    assert run.pipeline.sequences and run.pipeline.flatten is None
    X = run.pipeline.transform(cohort.subset(splits.test[:5]))
    assert set(X) == {"values", "lengths", "static"} and X["values"].ndim == 3
    logged = _client(store_uri).get_run(run.run_id)
    assert logged.data.params["preprocess.sequences"] == "True"
    # the logged pyfunc reads the long format (vitals rows) and serves what the pipeline does
    loaded = mlflow.pyfunc.load_model(f"{logged.info.artifact_uri}/model")
    frame = run.pipeline.input_frame(cohort.subset(splits.test[:10]))
    pd.testing.assert_frame_equal(loaded.predict(frame), run.pipeline.predict_frame(frame),
                                  rtol=1e-6)


@pytest.mark.parametrize("monitor", ["wolbers_c", "wolbers_c_death", "c_index"])
def test_monitor_other_than_loss_is_refused(sample, monitor):
    cohort, splits = sample
    with pytest.raises(ArgumentError, match=r"stops early on the validation loss only "
                                            r"\(monitor='loss'\)"):
        fit(DeepHitCompeting(max_epochs=2), cohort, splits, monitor=monitor, early_stopping=2,
            track=False, progress=False)
