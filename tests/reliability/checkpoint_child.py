"""Child process of ``test_faults``: train with a checkpoint and stall half way through a write.

Usage: ``python -m tests.reliability.checkpoint_child FOLDER {atomic,plain}``. The first weights
file is written normally; the second write puts half its bytes on disk, creates
``FOLDER/writing`` and sleeps, so the parent can kill the process in the middle of the write.
``plain`` uses skorch's own ``Checkpoint`` (which writes in place) to show what the test catches.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Checkpoint
from sksurv.util import Surv

from lightsaber.models import MLP, SurvivalNet
from lightsaber.models.skorch.checkpoint import AtomicCheckpoint


def main() -> None:
    folder, variant = Path(sys.argv[1]), sys.argv[2]
    real_save = torch.save
    calls = {"n": 0}

    def stalling_save(obj, f, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] < 2:
            return real_save(obj, f, *args, **kwargs)
        buffer = io.BytesIO()
        real_save(obj, buffer, *args, **kwargs)
        data = buffer.getvalue()
        with open(f, "wb") as out:
            out.write(data[: len(data) // 2])
            out.flush()
        (folder / "writing").touch()
        time.sleep(120)
        raise SystemExit("the parent did not kill this process")

    torch.save = stalling_save
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)).astype("float32")
    y = Surv.from_arrays(rng.random(200) < 0.7, rng.exponential(1.0, 200))
    kind = AtomicCheckpoint if variant == "atomic" else Checkpoint
    checkpoint = kind(monitor=None, dirname=str(folder / "checkpoint"), f_optimizer=None,
                      f_criterion=None, f_history="history.json")
    net = SurvivalNet(MLP, module__hidden=(64, 64), max_epochs=5, early_stopping=None,
                      callbacks=[("checkpoint", checkpoint)])
    net.fit(X, y)


if __name__ == "__main__":
    main()
