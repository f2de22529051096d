"""Test C-index of every survival recipe on the DeepSurv paper's published splits.

Each model is trained on the published training rows, with a seeded, event-stratified 20% of
them held out for validation (early stopping on the validation loss); the published test rows
are scored once at the end. Features are standardised on the training rows by ``ls.fit``'s
default preprocessor. One fixed configuration per recipe (no tuning), so the numbers are a
floor, comparable in protocol with the DeepSurv paper (Katzman et al. 2018, Table 2 values
printed alongside) and pycox.

Run: ``python benchmarks/survival_recipes.py [--datasets whas support ...] [--seed 0]``
(needs ``../shared/data/deepsurv``). Prints a Markdown table for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import torch

import lightsaber as ls
from lightsaber.models import (
    MTLR,
    PMF,
    DeepHit,
    DeepSurv,
    LogisticHazard,
    RankSVX,
    VAECox,
    WeibullAFT,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "deepsurv"
FILES = {
    "whas": "whas_train_test.h5",
    "support": "support_train_test.h5",
    "metabric": "metabric_IHC4_clinical_train_test.h5",
    "gbsg": "gbsg_cancer_train_test.h5",
    "linear": "linear_survival_data.h5",
    "gaussian": "gaussian_survival_data.h5",
}
#: DeepSurv paper (Katzman et al. 2018, Table 2/3): CPH and DeepSurv test C-index.
PUBLISHED = {
    "whas": {"CPH (paper)": 0.816, "DeepSurv (paper)": 0.862},
    "support": {"CPH (paper)": 0.583, "DeepSurv (paper)": 0.618},
    "metabric": {"CPH (paper)": 0.631, "DeepSurv (paper)": 0.654},
    "gbsg": {"CPH (paper)": 0.658, "DeepSurv (paper)": 0.668},
    "linear": {"CPH (paper)": 0.773, "DeepSurv (paper)": 0.774},
    "gaussian": {"CPH (paper)": 0.506, "DeepSurv (paper)": 0.648},
}


def recipes(seed: int) -> dict[str, object]:
    """One fixed configuration per recipe: a 2 x 32 MLP with dropout, Adam, early stopping."""
    common = {"module__hidden": (32, 32), "module__dropout": 0.1, "lr": 1e-3,
              "batch_size": 256, "max_epochs": 300, "early_stopping": 15,
              "random_state": seed}
    discrete = {"cuts": 20, "cut_scheme": "quantiles"}
    vae_common = {k: v for k, v in common.items() if k != "module__dropout"}
    return {
        "DeepSurv": DeepSurv(**common),
        "RankSVX": RankSVX(loss_options={"margin": 1.0, "max_pairs": 20_000}, **common),
        "VAECox": VAECox(module__hidden=(32,), module__latent_features=8,
                         pretrain_epochs=50, **{k: v for k, v in vae_common.items()
                                                if k != "module__hidden"}),
        "DeepHit": DeepHit(**common, **discrete),
        "LogisticHazard": LogisticHazard(**common, **discrete),
        "PMF": PMF(**common, **discrete),
        "MTLR": MTLR(**common, **discrete),
        "WeibullAFT": WeibullAFT(**common),
    }


def classics(seed: int) -> dict[str, object]:
    """scikit-survival baselines through the same ``ls.fit`` path."""
    from sksurv.ensemble import RandomSurvivalForest
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    return {"CoxPH (sksurv)": CoxPHSurvivalAnalysis(ties="efron"),
            "RSF (sksurv)": RandomSurvivalForest(n_estimators=100, min_samples_leaf=15,
                                                 n_jobs=-1, random_state=seed)}


def load(name: str, seed: int, val_fraction: float = 0.2) -> tuple[ls.Cohort, ls.Splits]:
    """The published split, with validation rows carved from train when the file has none."""
    frames = []
    with h5py.File(DATA / FILES[name], "r") as handle:
        for group in ("train", "valid", "test"):
            if group not in handle:
                continue
            x = np.asarray(handle[group]["x"], dtype=np.float32)
            part = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
            part["time"] = np.asarray(handle[group]["t"], dtype=float)
            part["event"] = np.asarray(handle[group]["e"]).astype(int)
            part["split"] = {"valid": "val"}.get(group, group)
            frames.append(part)
    frame = pd.concat(frames, ignore_index=True)
    if not (frame["split"] == "val").any():
        rng = np.random.default_rng(seed)
        for event in (0, 1):  # stratified by event
            rows = frame.index[(frame["split"] == "train") & (frame["event"] == event)]
            chosen = rng.choice(rows, size=int(round(val_fraction * len(rows))), replace=False)
            frame.loc[chosen, "split"] = "val"
    frame.insert(0, "row", np.arange(len(frame)))
    cohort = ls.Cohort(frame, id="row", duration="time", event="event", meta=["split"])
    return cohort, ls.Splits.from_column(cohort, "split")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=list(FILES))
    parser.add_argument("--models", nargs="*", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not DATA.exists():
        print(f"missing {DATA}; nothing to do", file=sys.stderr)
        return 1
    torch.set_num_threads(max(1, torch.get_num_threads()))
    rows = []
    for dataset in args.datasets:
        cohort, splits = load(dataset, args.seed)
        models = {**classics(args.seed), **recipes(args.seed)}
        for name, model in models.items():
            if args.models and name not in args.models:
                continue
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run = ls.fit(model, cohort, splits, task="survival", track=False,
                             progress=False, metrics=["c_index", "ibs"])
            seconds = time.perf_counter() - start
            epochs = len(getattr(run, "history", []) or [])
            rows.append({"dataset": dataset, "model": name,
                         "c_index": run.metrics["test"]["c_index"],
                         "ibs": run.metrics["test"].get("ibs", np.nan),
                         "val_c_index": run.metrics["val"]["c_index"],
                         "epochs": epochs, "seconds": seconds})
            print(f"{dataset:9s} {name:16s} test C={rows[-1]['c_index']:.3f} "
                  f"IBS={rows[-1]['ibs']:.3f} epochs={epochs} {seconds:.1f}s", flush=True)
    table = pd.DataFrame(rows)
    wide = table.pivot(index="model", columns="dataset", values="c_index")
    for dataset in wide.columns:
        for label, value in PUBLISHED.get(dataset, {}).items():
            wide.loc[label, dataset] = value
    order = [m for m in [*classics(0), *recipes(0), "CPH (paper)", "DeepSurv (paper)"]
             if m in wide.index]
    print()
    print(f"Python {platform.python_version()}, torch {torch.__version__}, "
          f"lightsaber {ls.__version__}, {platform.machine()}, {torch.get_num_threads()} threads")
    print(wide.loc[order, [d for d in args.datasets if d in wide.columns]]
          .round(3).to_markdown())
    print()
    print(table.pivot(index="model", columns="dataset", values="ibs").round(3).to_markdown())
    print()
    print(f"total fit time {table['seconds'].sum():.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
