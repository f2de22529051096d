"""skorch callbacks used by lightsaber's nets: validation metrics, progress, tracking, profiling.

All of them read the cohort's own validation split (passed explicitly to ``fit``), never a
random internal split.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from skorch.callbacks import Callback

__all__ = ["EpochLogger", "EpochProgress", "TorchProfiler", "ValidationMetric"]


class ValidationMetric(Callback):
    """Score the validation predictions of each epoch with a registry metric.

    Predictions are collected from the validation batches skorch already runs (no second
    forward pass). Records ``valid_{name}`` and ``valid_{name}_best`` in the history.

    Parameters
    ----------
    name : str
        Metric name, e.g. ``"auc_roc"`` or ``"c_index"``.
    score : callable
        ``score(y_true, raw_output) -> float`` where ``raw_output`` is the concatenated network
        output (logits or risks) as a NumPy array.
    lower_is_better : bool
        Direction, for the ``_best`` flag.
    """

    def __init__(self, name: str, score: Callable[[np.ndarray, np.ndarray], float],
                 lower_is_better: bool = False) -> None:
        self.name = name
        self.score = score
        self.lower_is_better = lower_is_better

    def initialize(self) -> ValidationMetric:
        """Reset the state kept across epochs."""
        self.best_ = np.inf if self.lower_is_better else -np.inf
        self._outputs: list[torch.Tensor] = []
        return self

    def on_epoch_begin(self, net, **kwargs: Any) -> None:
        """Start collecting the epoch's validation outputs."""
        self._outputs = []

    def on_batch_end(self, net, batch=None, training: bool = False, **kwargs: Any) -> None:
        """Collect (or count) one batch."""
        if not training and "y_pred" in kwargs:
            self._outputs.append(kwargs["y_pred"].detach().to("cpu", torch.float32))

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs: Any) -> None:
        """Handle the end of an epoch."""
        if dataset_valid is None or not self._outputs:
            return
        output = torch.cat(self._outputs).numpy()
        y_true = dataset_valid.y.cpu().numpy()
        value = float(self.score(y_true, output))
        better = value < self.best_ if self.lower_is_better else value > self.best_
        if better:
            self.best_ = value
        key = f"valid_{self.name}"
        net.history.record(key, value)
        net.history.record(f"{key}_best", bool(better))
        self._outputs = []


class EpochProgress(Callback):
    """A tqdm bar over epochs showing the latest train/validation numbers.

    Parameters
    ----------
    keys : tuple of str
        History keys shown next to the bar (validation metrics are always shown).
    """

    def __init__(self, keys: tuple[str, ...] = ("train_loss", "valid_loss")) -> None:
        self.keys = keys

    def on_train_begin(self, net, **kwargs: Any) -> None:
        """Start at the beginning of training."""
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=net.max_epochs, desc=type(net).__name__, unit="epoch",
                         leave=False)

    def on_epoch_end(self, net, **kwargs: Any) -> None:
        """Handle the end of an epoch."""
        row = net.history[-1]
        keys = [k for k in row if k in self.keys or (k.startswith("valid_") and
                                                     not k.endswith(("_best", "_count")))]
        self.bar_.set_postfix({k: f"{row[k]:.4g}" for k in keys
                               if isinstance(row.get(k), (int, float))}, refresh=False)
        self.bar_.update()

    def on_train_end(self, net, **kwargs: Any) -> None:
        """Finish at the end of training."""
        self.bar_.close()
        self.bar_ = None  # a bar holds its output stream (in Jupyter, unpicklable)


class EpochLogger(Callback):
    """Send each epoch's losses and validation metrics to ``log(metrics, step)``.

    Parameters
    ----------
    log : callable
        ``log(metrics, step)``; typically :meth:`lightsaber.tracking.TrackedRun.log_metrics`.
    """

    def __init__(self, log: Callable[[Mapping[str, float], int], None]) -> None:
        self.log = log

    def on_epoch_end(self, net, **kwargs: Any) -> None:
        """Handle the end of an epoch."""
        row = net.history[-1]
        metrics = {k: float(v) for k, v in row.items()
                   if (k in ("train_loss", "valid_loss") or k.startswith("valid_"))
                   and not k.endswith("_best") and isinstance(v, (int, float))
                   and not isinstance(v, bool)}
        if metrics:
            self.log(metrics, int(row["epoch"]))


class TorchProfiler(Callback):
    """Profile the first ``batches`` training batches with :mod:`torch.profiler`.

    The operator table (sorted by self CPU time) is kept in ``report_`` after training.

    Parameters
    ----------
    batches : int, default 20
        Number of training batches to profile.
    """

    def __init__(self, batches: int = 20) -> None:
        self.batches = batches

    def on_train_begin(self, net, **kwargs: Any) -> None:
        """Start at the beginning of training."""
        from torch.profiler import ProfilerActivity, profile

        activities = [ProfilerActivity.CPU]
        if torch.cuda.is_available():
            activities.append(ProfilerActivity.CUDA)
        self.profiler_ = profile(activities=activities, record_shapes=False)
        self.profiler_.__enter__()
        self.seen_ = 0
        self.report_ = ""

    def on_batch_end(self, net, training: bool = False, **kwargs: Any) -> None:
        """Collect (or count) one batch."""
        if training and self.profiler_ is not None:
            self.seen_ += 1
            if self.seen_ >= self.batches:
                self._stop()

    def _stop(self) -> None:
        self.profiler_.__exit__(None, None, None)
        self.report_ = self.profiler_.key_averages().table(sort_by="self_cpu_time_total",
                                                           row_limit=25)
        self.profiler_ = None

    def on_train_end(self, net, **kwargs: Any) -> None:
        """Finish at the end of training."""
        if self.profiler_ is not None:
            self._stop()
