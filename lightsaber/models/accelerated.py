"""Multi-GPU data parallel training through skorch's Hugging Face ``accelerate`` integration.

Optional extra: ``pip install "lightsaber[accelerate]"``. Launch a script that fits one of these
nets with ``accelerate launch --multi_gpu script.py``; each process trains on its own shard of
every epoch's shuffled order and ``accelerate`` averages the gradients. On a single CPU or GPU
the nets behave like :class:`~lightsaber.models.ClassifierNet` / ``SurvivalNet``.

Examples
--------
>>> from accelerate import Accelerator
>>> from lightsaber.models import MLP
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(64, 3)).astype("float32"); y = (X[:, 0] > 0).astype(int)
>>> net = AcceleratedClassifierNet(MLP, accelerator=Accelerator(cpu=True), max_epochs=2)
>>> net.fit(X, y).predict(X[:3]).shape
(3,)
"""

from __future__ import annotations

from typing import Any

import numpy as np  # noqa: F401  (doctest namespace)
from skorch.hf import AccelerateMixin

from lightsaber.models.nets import ClassifierNet, SurvivalNet
from lightsaber.models.nets.base import silent
from lightsaber.models.skorch.batching import BatchLoader

__all__ = ["AcceleratedClassifierNet", "AcceleratedSurvivalNet"]


class _ShardedBatches(AccelerateMixin):
    """Shard each epoch's batches across ``accelerate`` processes; keep devices to accelerate."""

    def __init__(self, *args: Any, accelerator: Any, **kwargs: Any) -> None:
        kwargs.setdefault("device", None)
        kwargs.setdefault("callbacks__print_log__sink", silent)
        super().__init__(*args, accelerator=accelerator, **kwargs)

    def get_default_callbacks(self) -> list[tuple[str, Any]]:
        from skorch.callbacks import PrintLog

        callbacks = super().get_default_callbacks()
        if not any(name == "print_log" for name, _ in callbacks):
            callbacks.append(("print_log", PrintLog(sink=silent)))
        return callbacks

    def _device_for_fit(self) -> str | None:
        return self.device  # None: the accelerator places modules and batches

    def get_iterator(self, dataset: Any, training: bool = False) -> BatchLoader:
        acc = self.accelerator
        return BatchLoader(dataset, self.batch_size, shuffle=training,
                           generator=getattr(self, "_generator", None),
                           shard=(acc.process_index, acc.num_processes) if training else None)


class AcceleratedClassifierNet(_ShardedBatches, ClassifierNet):
    """:class:`~lightsaber.models.ClassifierNet` trained through ``accelerate``."""


class AcceleratedSurvivalNet(_ShardedBatches, SurvivalNet):
    """:class:`~lightsaber.models.SurvivalNet` trained through ``accelerate``."""

