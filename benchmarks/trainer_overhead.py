"""Trainer overhead (issue 3): our ClassifierNet epoch vs a hand-written PyTorch loop.

    python benchmarks/trainer_overhead.py [--epochs 5]

100,000 x 20 tabular rows, MLP 64-64, batch 256, Adam, validation on 20,000 rows every epoch.
Ours runs with early stopping (patience larger than the run, so every epoch is timed) and
per-epoch MLflow logging to a sqlite store in a temporary directory. The hand-written loop
shuffles in-memory tensors, steps, and computes the validation loss each epoch. Both run in
this process, same seed, same thread count; we report the median epoch time.

Target: ours <= 1.25x the hand-written loop.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

N_TRAIN, N_VAL, N_FEATURES, BATCH = 100_000, 20_000, 20, 256


def make_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=N_FEATURES)
    X = rng.normal(size=(N_TRAIN + N_VAL, N_FEATURES)).astype(np.float32)
    y = (X @ w + rng.normal(size=len(X)) > 0).astype(np.int64)
    return X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]


def hand_written(X, y, X_val, y_val, epochs: int) -> list[float]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(N_FEATURES, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y).float()
    Xv, yv = torch.from_numpy(X_val), torch.from_numpy(y_val).float()
    gen = torch.Generator().manual_seed(0)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(len(Xt), generator=gen)
        running = 0.0
        for start in range(0, len(Xt), BATCH):
            idx = order[start:start + BATCH]
            opt.zero_grad()
            loss = loss_fn(model(Xt[idx]).reshape(-1), yt[idx])
            loss.backward()
            opt.step()
            running += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            val_loss = sum(loss_fn(model(Xv[s:s + BATCH]).reshape(-1), yv[s:s + BATCH]).item()
                           * len(yv[s:s + BATCH]) for s in range(0, len(Xv), BATCH)) / len(Xv)
        assert np.isfinite(val_loss) and np.isfinite(running)
        times.append(time.perf_counter() - t0)
    return times


def ours(X, y, X_val, y_val, epochs: int, store: Path) -> list[float]:
    from lightsaber.models import MLP, ClassifierNet
    from lightsaber.tracking import tracked_run

    with tracked_run("trainer-overhead", tracking_uri=f"sqlite:///{store / 'mlflow.db'}") as run:
        net = ClassifierNet(MLP, module__hidden=(64, 64), batch_size=BATCH, max_epochs=epochs,
                            lr=1e-3, early_stopping=epochs + 1, device="cpu")
        net.log_epochs_to(run.log_metrics).fit(X, y, val=(X_val, y_val))
    return [row["dur"] for row in net.history]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    X, y, X_val, y_val = make_data()
    with tempfile.TemporaryDirectory() as tmp:
        ours(X[:2000], y[:2000], X_val[:500], y_val[:500], 1, Path(tmp))  # warm-up imports
        hand = hand_written(X, y, X_val, y_val, args.epochs)
        mine = ours(X, y, X_val, y_val, args.epochs, Path(tmp))
        hand2 = hand_written(X, y, X_val, y_val, args.epochs)  # bracket ours, catch drift
    hand_med = statistics.median(hand + hand2)
    our_med = statistics.median(mine)
    import skorch

    import lightsaber

    print(f"machine: {platform.platform()}, python {platform.python_version()}, torch "
          f"{torch.__version__} ({torch.get_num_threads()} threads), skorch {skorch.__version__}, "
          f"lightsaber {lightsaber.__version__}")
    print(f"{N_TRAIN:,} x {N_FEATURES} rows, MLP 64-64, batch {BATCH}, validation {N_VAL:,} rows "
          f"per epoch, {args.epochs} epochs each")
    print(f"hand-written loop : median epoch {hand_med * 1000:.0f} ms "
          f"({', '.join(f'{t * 1000:.0f}' for t in hand + hand2)})")
    print(f"lightsaber (skorch, early stopping, MLflow per epoch): median epoch "
          f"{our_med * 1000:.0f} ms ({', '.join(f'{t * 1000:.0f}' for t in mine)})")
    ratio = our_med / hand_med
    print(f"ratio ours / hand-written: {ratio:.2f}x (target <= 1.25x) "
          f"{'OK' if ratio <= 1.25 else 'MISSED'}")


if __name__ == "__main__":
    main()
