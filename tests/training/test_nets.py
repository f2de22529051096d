from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from skorch.callbacks import Callback
from sksurv.util import Surv

from lightsaber.exceptions import UnknownMetricError
from lightsaber.losses import cox_ph_loss
from lightsaber.models import MLP, ClassifierNet, SequenceNet, SurvivalNet


def _binary(n=400, p=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


class Snapshots(Callback):
    """Keep the module weights after every epoch."""

    def initialize(self):
        self.states = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.states.append(copy.deepcopy(net.module_.state_dict()))


def test_early_stopping_stops_and_restores_best_weights():
    X, y = _binary(n=120, p=30)
    X_val, y_val = _binary(n=400, p=30, seed=1)
    snaps = Snapshots()
    net = ClassifierNet(MLP, module__hidden=(256, 256), lr=0.01, max_epochs=200,
                        early_stopping=4, batch_size=32, callbacks=[("snap", snaps)])
    net.fit(X, y, val=(X_val, y_val))
    losses = [row["valid_loss"] for row in net.history]
    best = int(np.argmin(losses)) + 1
    assert len(net.history) < 200, "did not stop early on an over-fitting net"
    assert len(net.history) == best + 4
    assert net.best_epoch_ == best
    restored = net.module_.state_dict()
    for key, value in snaps.states[best - 1].items():
        torch.testing.assert_close(restored[key], value, rtol=0, atol=0)
    logits = torch.as_tensor(net.decision_function(X_val), dtype=torch.float32)
    val_loss = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, torch.as_tensor(y_val, dtype=torch.float32)).item()
    assert val_loss == pytest.approx(losses[best - 1], rel=1e-5)


def test_early_stopping_on_a_metric_uses_its_direction():
    X, y = _binary(n=150, p=20)
    X_val, y_val = _binary(n=300, p=20, seed=2)
    net = ClassifierNet(MLP, module__hidden=(128,), lr=0.01, max_epochs=100, monitor="auc_roc",
                        early_stopping=3).fit(X, y, val=(X_val, y_val))
    aucs = [row["valid_auc_roc"] for row in net.history]
    assert net.best_epoch_ == int(np.argmax(aucs)) + 1
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y_val, net.predict_proba(X_val)[:, 1]) == pytest.approx(max(aucs))


def test_same_seed_same_result_and_global_rng_untouched():
    X, y = _binary()
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = ClassifierNet(MLP, max_epochs=3, module__dropout=0.3, random_state=5).fit(X, y)
    after = torch.rand(1)
    b = ClassifierNet(MLP, max_epochs=3, module__dropout=0.3, random_state=5).fit(X, y)
    c = ClassifierNet(MLP, max_epochs=3, module__dropout=0.3, random_state=6).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    assert torch.equal(before, after)


def test_clone_pickle_and_params():
    X, y = _binary()
    net = ClassifierNet(MLP, max_epochs=2, module__hidden=(8,), class_weight="balanced")
    assert clone(net).get_params()["module__hidden"] == (8,)
    net.fit(X, y)
    assert net.get_params()["device"] == "auto"
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(restored.predict_proba(X), net.predict_proba(X))
    assert getattr(restored, "_validation_source", None) is None


def test_multiclass_and_class_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    y = np.array(["a", "b", "c"])[np.argmax(X[:, :3], axis=1)]
    net = ClassifierNet(MLP, max_epochs=20, lr=0.02, class_weight="balanced").fit(X, y)
    assert net.predict_proba(X).shape == (300, 3)
    assert (net.predict(X) == y).mean() > 0.8
    assert net.criterion_.weight is not None


def test_survival_net_protocol_and_breslow():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3)).astype(np.float32)
    time = rng.exponential(np.exp(-1.5 * X[:, 0]))
    y = Surv.from_arrays(rng.random(500) < 0.8, time)
    net = SurvivalNet(MLP, module__hidden=(16,), max_epochs=40, lr=0.01).fit(X, y)
    risk = net.predict(X)
    assert np.corrcoef(risk, X[:, 0])[0, 1] > 0.8  # higher risk = earlier event
    surv = net.predict_survival_function(X[:5], return_array=True)
    assert surv.shape == (5, len(net.unique_times_))
    assert np.all(np.diff(surv, axis=1) <= 1e-12) and surv.min() >= 0 and surv.max() <= 1
    median = net.predict_median_time(X[:5])
    for row, m in zip(surv, median, strict=True):
        if np.isfinite(m):
            k = int(np.searchsorted(net.unique_times_, m))
            assert row[k] <= 0.5 and (k == 0 or row[k - 1] > 0.5)
    assert np.argsort(median[np.isfinite(median)]).tolist() == np.argsort(
        -risk[:5][np.isfinite(median)]).tolist()  # higher risk, earlier median
    grid = net.predict_survival_matrix(X[:5], [0.0, net.unique_times_[3], 1e9])
    np.testing.assert_allclose(grid[:, 0], 1.0)
    np.testing.assert_allclose(grid[:, 1], surv[:, 3])


def test_sequence_net_with_static_features():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(200, 12, 3)).astype(np.float32)
    lengths = rng.integers(1, 13, size=200)
    static = rng.normal(size=(200, 2)).astype(np.float32)
    y = (values[np.arange(200), lengths - 1, 0] > 0).astype(int)
    X = {"values": values, "lengths": lengths, "static": static}
    net = ClassifierNet(SequenceNet, module__hidden_size=16, max_epochs=30, lr=0.02).fit(X, y)
    assert net.module_.static_features == 2
    assert (net.predict(X) == y).mean() > 0.8


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [({"max_epochs": 0}, "max_epochs must be a positive integer"),
     ({"lr": -1}, "lr must be a positive number"),
     ({"monitor": "auc_rco"}, r"Did you mean \['auc_roc'"),
     ({"device": "tpu"}, "device must be"),
     ({"gradient_clip": 0}, "gradient_clip")],
)
def test_bad_arguments_raise_clear_errors(kwargs, fragment):
    X, y = _binary(n=50)
    with pytest.raises(ValueError, match=fragment):
        ClassifierNet(MLP, **kwargs).fit(X, y)


def test_unknown_monitor_is_a_lightsaber_error():
    X, y = _binary(n=50)
    with pytest.raises(UnknownMetricError):
        SurvivalNet(MLP, monitor="auc_roc").fit(X, Surv.from_arrays(y == 1, np.arange(50.0) + 1))


def test_cox_loss_zero_event_batch_is_connected_zero():
    risk = torch.randn(5, requires_grad=True)
    loss = cox_ph_loss(risk, torch.arange(5.0), torch.zeros(5))
    loss.backward()
    assert loss.item() == 0.0 and risk.grad is not None


def test_cox_loss_matches_lifelines_partial_likelihood():
    """Sum reduction = -log partial likelihood with Breslow ties (lifelines CoxPHFitter,
    lifelines 0.30, which uses Efron: compare on tie-free times)."""
    lifelines = pytest.importorskip("lifelines")
    rng = np.random.default_rng(0)
    n = 200
    x = rng.normal(size=n)
    t = rng.exponential(np.exp(-0.7 * x)) + rng.random(n) * 1e-6
    e = rng.random(n) < 0.7
    import pandas as pd

    df = pd.DataFrame({"x": x, "t": t, "e": e.astype(int)})
    cph = lifelines.CoxPHFitter().fit(df, "t", "e")
    beta = cph.params_["x"]
    ours = cox_ph_loss(torch.tensor(beta * x), torch.tensor(t), torch.tensor(e),
                       reduction="sum").item()
    assert -ours == pytest.approx(cph.log_likelihood_, rel=1e-8)


def test_accelerate_integration_runs_on_cpu():
    pytest.importorskip("accelerate")
    from accelerate import Accelerator

    from lightsaber.models.accelerated import AcceleratedClassifierNet, AcceleratedSurvivalNet

    X, y = _binary()
    X_val, y_val = _binary(seed=3)
    net = AcceleratedClassifierNet(MLP, accelerator=Accelerator(cpu=True), max_epochs=15,
                                   lr=0.01, early_stopping=3)
    net.fit(X, y, val=(X_val, y_val))
    assert (net.predict(X_val) == y_val).mean() > 0.8
    reference = ClassifierNet(MLP, max_epochs=15, lr=0.01, early_stopping=3, device="cpu")
    reference.fit(X, y, val=(X_val, y_val))
    np.testing.assert_allclose(net.predict_proba(X_val), reference.predict_proba(X_val),
                               rtol=1e-5, atol=1e-6)
    surv = AcceleratedSurvivalNet(MLP, accelerator=Accelerator(cpu=True), max_epochs=2)
    surv.fit(X, Surv.from_arrays(y == 1, np.arange(len(y)) + 1.0))
    assert surv.predict(X).shape == (len(X),)


def test_sharded_batches_cover_the_epoch_once():
    from lightsaber.models.skorch.batching import BatchLoader, TensorSource

    source = TensorSource(torch.arange(103.0)[:, None], torch.arange(103))
    seen = []
    for rank in range(2):
        loader = BatchLoader(source, 10, shuffle=True,
                             generator=torch.Generator().manual_seed(0), shard=(rank, 2))
        seen.append(torch.cat([yb for _, yb in loader]))
        assert len(loader) == 6
    assert len(set(seen[0].tolist()) & set(seen[1].tolist())) == 0
    assert len(seen[0]) == len(seen[1]) == 51


def test_checkpoint_scheduler_clipping_profiler_tensorboard(tmp_path):
    X, y = _binary()
    X_val, y_val = _binary(seed=4)
    net = ClassifierNet(MLP, max_epochs=4, lr=0.01, gradient_clip=0.5,
                        lr_scheduler=("StepLR", {"step_size": 1, "gamma": 0.5}),
                        checkpoint_dir=str(tmp_path / "ckpt"), profile=True,
                        tensorboard_dir=str(tmp_path / "tb"), progress=True)
    net.fit(X, y, val=(X_val, y_val))
    assert (tmp_path / "ckpt" / "params.pt").exists()
    assert (tmp_path / "ckpt" / "history.json").exists()
    assert any((tmp_path / "tb").iterdir())
    assert "aten::" in net.profile_report_
    assert net.optimizer_.param_groups[0]["lr"] == pytest.approx(0.01 * 0.5 ** 4)
    names = dict(net.callbacks_)
    assert "gradient_clip" in names and names["gradient_clip"].gradient_clip_value == 0.5


def test_plateau_scheduler_monitors_the_validation_quantity():
    X, y = _binary()
    net = ClassifierNet(MLP, max_epochs=2, monitor="auc_roc",
                        lr_scheduler=("ReduceLROnPlateau", {"patience": 1}))
    net.fit(X, y, val=_binary(seed=5))
    assert dict(net.callbacks_)["lr_scheduler"].monitor == "valid_auc_roc"


def test_device_auto_resolves_and_mixed_precision_is_a_cpu_noop():
    X, y = _binary(n=100)
    net = ClassifierNet(MLP, max_epochs=1, mixed_precision=True).fit(X, y)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert next(net.module_.parameters()).device.type == expected
    assert net.predict_proba(X).dtype == np.float64


def test_progress_bar_does_not_stay_on_the_fitted_net(monkeypatch):
    """In Jupyter a tqdm bar holds the kernel's stream, which cannot be pickled."""
    import tqdm.auto

    class KernelStream:
        def write(self, text):
            return len(text)

        def flush(self):
            pass

        def __reduce__(self):
            raise TypeError("cannot pickle '_hashlib.HMAC' object")

    real = tqdm.auto.tqdm
    monkeypatch.setattr(tqdm.auto, "tqdm",
                        lambda *a, **k: real(*a, **{**k, "file": KernelStream()}))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype("float32")
    y = (X[:, 0] > 0).astype(int)
    net = ClassifierNet(MLP, module__hidden=(4,), max_epochs=2, progress=True).fit(X, y)
    assert pickle.loads(pickle.dumps(net)).predict(X).shape == (60,)
