"""Which default configuration should each recipe ship? A study across real cohorts.

For every recipe (DeepSurv, RankSVX, VAECox, DeepHit, LogisticHazard, PMF, MTLR, WeibullAFT)
and the classifier nets (``ClassifierNet`` with ``MLP``, and with ``SequenceNet`` = a GRU), a
few candidate default configurations are fitted through ``ls.fit`` on every cohort, and the
winner is chosen by **validation** metrics only: on each dataset the candidates are ranked by
validation C-index and by validation IBS (survival; AUC-ROC and log loss for classifiers), the
two ranks are averaged, and the candidate with the best rank averaged over the datasets wins.
The test rows are scored once, by the same ``ls.fit`` call, for the record; they choose nothing.

Cohorts (all offline): the DeepSurv paper's WHAS, SUPPORT, METABRIC and GBSG files (published
train/test, a seeded event-stratified 20% of train for validation), scikit-survival's whas500,
gbsg2 and flchain (without ``chapter``, the cause-of-death chapter, which leaks the outcome),
PBC2's first visits and the bundled sample cohort (60/20/20, seeded, stratified by event). The
classifier MLP reads SUPPORT2's in-hospital death, the sample cohort's in-hospital death, and a
fixed-horizon death label (event before the median observed time; rows censored earlier are
dropped) of whas500, gbsg2, PBC2 and METABRIC. The GRU reads the sample cohort's 48 h vitals
(three generated cohorts of 2,000 patients, seeds 0-2): no real longitudinal classification
cohort is available offline (PBC2's later visits are after its baseline prediction time).

``--phase tune`` runs a 20-trial ``ls.tune`` (TPE) with each model's default search space
(:func:`lightsaber.tuning.default_space`) on the listed datasets and records its time.

Every fit appends one JSON line to ``--out`` (default ``defaults_study.jsonl``), so an
interrupted study resumes where it stopped; ``--table`` prints the Markdown tables of
``docs/benchmarks.md`` from that file.

Run: ``python benchmarks/defaults_study.py [--models DeepSurv ...] [--datasets whas ...]``
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

import lightsaber as ls
from lightsaber.models import (
    MLP,
    MTLR,
    PMF,
    ClassifierNet,
    DeepHit,
    DeepSurv,
    LogisticHazard,
    RankSVX,
    SequenceNet,
    VAECox,
    WeibullAFT,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from survival_recipes import load as load_deepsurv_split  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# ----------------------------------------------------------------------------- candidates
#: The defaults every net shipped with up to 0.1 (``MLP`` 2 x 64, no dropout, Adam 1e-3,
#: batch 256, 100 epochs, patience 10, no weight decay; 20 equidistant cuts).
OLD = {"module__hidden": (64, 64), "module__dropout": 0.0, "lr": 1e-3, "batch_size": 256,
       "max_epochs": 100, "early_stopping": 10, "optimizer__weight_decay": 0.0}
#: Candidate defaults, as changes to :data:`OLD`.
CANDIDATES: dict[str, dict[str, Any]] = {
    "old": {},
    "small+dropout": {"module__hidden": (32, 32), "module__dropout": 0.1, "max_epochs": 500,
                      "early_stopping": 20},
    "wide+dropout+wd": {"module__dropout": 0.1, "max_epochs": 500, "early_stopping": 20,
                        "optimizer__weight_decay": 1e-4},
    "small+dropout, lr 3e-3": {"module__hidden": (32, 32), "module__dropout": 0.1, "lr": 3e-3,
                               "max_epochs": 500, "early_stopping": 20},
}
#: Discrete-time recipes also try quantile cuts (equal events per interval).
DISCRETE_EXTRA = {"small+dropout, quantile cuts": {
    **CANDIDATES["small+dropout"], "cut_scheme": "quantiles"}}
#: VAECox's module is VAECoxNetwork (hidden (64,), 16 latent dimensions).
VAE_OLD = {"module__hidden": (64,), "module__latent_features": 16, "module__dropout": 0.0,
           "lr": 1e-3, "batch_size": 256, "max_epochs": 100, "early_stopping": 10,
           "optimizer__weight_decay": 0.0, "pretrain_epochs": 50}
VAE_CANDIDATES: dict[str, dict[str, Any]] = {
    "old": {},
    "small+dropout": {"module__hidden": (32,), "module__latent_features": 8,
                      "module__dropout": 0.1, "max_epochs": 500, "early_stopping": 20},
    "wide+dropout+wd": {"module__dropout": 0.1, "max_epochs": 500, "early_stopping": 20,
                        "optimizer__weight_decay": 1e-4},
    "small+dropout, lr 3e-3": {"module__hidden": (32,), "module__latent_features": 8,
                               "module__dropout": 0.1, "lr": 3e-3, "max_epochs": 500,
                               "early_stopping": 20},
}
#: The GRU: SequenceNet's hidden_size 64, one layer, no dropout, no head.
GRU_OLD = {"module__hidden_size": 64, "module__dropout": 0.0, "lr": 1e-3, "batch_size": 256,
           "max_epochs": 100, "early_stopping": 10, "optimizer__weight_decay": 0.0}
GRU_CANDIDATES: dict[str, dict[str, Any]] = {
    "old": {},
    "small+dropout": {"module__hidden_size": 32, "module__head": (32,), "module__dropout": 0.1,
                      "max_epochs": 500, "early_stopping": 20},
    "wide+dropout+wd": {"module__head": (64,), "module__dropout": 0.1, "max_epochs": 500,
                        "early_stopping": 20, "optimizer__weight_decay": 1e-4},
    "small+dropout, lr 3e-3": {"module__hidden_size": 32, "module__head": (32,),
                               "module__dropout": 0.1, "lr": 3e-3, "max_epochs": 500,
                               "early_stopping": 20},
}

SURVIVAL_MODELS: dict[str, Callable[..., Any]] = {
    "DeepSurv": DeepSurv, "RankSVX": RankSVX, "VAECox": VAECox, "DeepHit": DeepHit,
    "LogisticHazard": LogisticHazard, "PMF": PMF, "MTLR": MTLR, "WeibullAFT": WeibullAFT}
DISCRETE = ("DeepHit", "LogisticHazard", "PMF", "MTLR")
CLASSIFIERS = ("MLP classifier", "GRU classifier")


def candidates(model: str) -> dict[str, dict[str, Any]]:
    """``{candidate: full parameter set}`` for ``model``."""
    if model == "VAECox":
        return {name: {**VAE_OLD, **change} for name, change in VAE_CANDIDATES.items()}
    if model == "GRU classifier":
        return {name: {**GRU_OLD, **change} for name, change in GRU_CANDIDATES.items()}
    table = {**CANDIDATES, **(DISCRETE_EXTRA if model in DISCRETE else {})}
    old = {**OLD, **({"cuts": 20, "cut_scheme": "equidistant"} if model in DISCRETE else {})}
    return {name: {**old, **change} for name, change in table.items()}


def build(model: str, params: dict[str, Any] | None = None, seed: int = 0) -> Any:
    """The estimator ``model`` with ``params`` (none: its class defaults)."""
    params = {**(params or {}), "random_state": seed}
    if model == "MLP classifier":
        return ClassifierNet(MLP, **params)
    if model == "GRU classifier":
        return ClassifierNet(SequenceNet, **params)
    return SURVIVAL_MODELS[model](**params)


# ----------------------------------------------------------------------------- cohorts
SURVIVAL_DATASETS = ("whas", "support", "metabric", "gbsg", "whas500", "gbsg2", "flchain",
                     "pbc2_first", "sample")
CLASSIFICATION_DATASETS = ("support2_hospdead", "sample", "whas500", "gbsg2", "pbc2_first",
                           "metabric")
SEQUENCE_DATASETS = ("sample_seed0", "sample_seed1", "sample_seed2")


def _split(cohort: ls.Cohort, seed: int, stratify: str) -> ls.Splits:
    return cohort.split(val=0.2, test=0.2, stratify=stratify, seed=seed)


def pbc2_first_visits() -> pd.DataFrame:
    """PBC2's first visit per patient, signs coded 0/1 and edema 0 / 0.5 / 1."""
    frame = pd.read_csv(SHARED / "auton" / "pbc2.csv").sort_values(["id", "year"])
    first = frame.groupby("id", sort=True).first().reset_index()
    for column in ("ascites", "hepatomegaly", "spiders"):
        first[column] = first[column].map({"Yes": 1.0, "No": 0.0})
    first["edema"] = first["edema"].map({"No edema": 0.0, "edema no diuretics": 0.5,
                                         "edema despite diuretics": 1.0})
    return first.drop(columns=["sno.", "status", "year"])


def survival_data(name: str, seed: int = 0) -> tuple[ls.Cohort, ls.Splits]:
    """A survival cohort and its train/val/test split."""
    if name in ("whas", "support", "metabric", "gbsg"):
        return load_deepsurv_split(name, seed)
    if name in ("whas500", "gbsg2", "flchain"):
        cohort = ls.datasets.load_sksurv(name)
        if name == "flchain":
            cohort = ls.Cohort(frame_of(cohort).drop(columns=["chapter"]), id="row_id",
                               duration="time", event="event")
        return cohort, _split(cohort, seed, "event")
    if name == "pbc2_first":
        cohort = ls.Cohort(pbc2_first_visits(), id="id", duration="years", event="status2")
        return cohort, _split(cohort, seed, "event")
    if name == "sample":
        cohort = ls.datasets.load_sample_mortality()
        return cohort, _split(cohort, seed, "event")
    raise SystemExit(f"unknown survival dataset {name!r}; choose from {SURVIVAL_DATASETS}")


def frame_of(cohort: ls.Cohort) -> pd.DataFrame:
    """The cohort's id, static features and outcome columns as one frame."""
    frame = pd.concat([cohort.static.reset_index(drop=True),
                       cohort.targets.reset_index(drop=True)], axis=1)
    frame.insert(0, cohort.id_column, cohort.ids)
    return frame


def fixed_horizon(cohort: ls.Cohort) -> ls.Cohort:
    """Death before the median observed time; rows censored before it are dropped."""
    frame = frame_of(cohort)
    duration, event = cohort.duration, cohort.event
    horizon = float(np.median(frame[duration]))
    known = (frame[duration] >= horizon) | (frame[event] == 1)
    frame = frame[known].copy()
    frame["died_by_horizon"] = ((frame[duration] < horizon) & (frame[event] == 1)).astype(int)
    return ls.Cohort(frame.drop(columns=[duration, event]), id=cohort.id_column,
                     label="died_by_horizon")


def classification_data(name: str, seed: int = 0) -> tuple[ls.Cohort, ls.Splits]:
    """A binary cohort and its train/val/test split."""
    if name == "support2_hospdead":
        cohort = ls.datasets.load_support2(SHARED / "auton" / "support2.csv",
                                           outcome="hospdead")
    elif name == "sample":
        cohort = ls.datasets.load_sample_mortality()
    elif name.startswith("sample_seed"):
        cohort = ls.datasets.load_sample_mortality(n_patients=2000, seed=int(name[-1]))
        return cohort, _split(cohort, seed, "label")
    else:
        cohort = fixed_horizon(survival_data(name, seed)[0])
    return cohort, _split(cohort, seed, "label")


#: Datasets of the 20-trial studies (a subset: a study costs ~20 default fits).
TUNE_DATASETS = {"survival": ("whas", "metabric", "gbsg", "pbc2_first"),
                 "classification": ("support2_hospdead", "whas500", "pbc2_first"),
                 "sequence": ("sample_seed0",)}


def tune_datasets_of(model: str) -> tuple[str, ...]:
    if model == "GRU classifier":
        return TUNE_DATASETS["sequence"]
    return TUNE_DATASETS[task_of(model)]


def task_of(model: str) -> str:
    return "classification" if model in CLASSIFIERS else "survival"


def datasets_of(model: str) -> tuple[str, ...]:
    if model == "GRU classifier":
        return SEQUENCE_DATASETS
    return CLASSIFICATION_DATASETS if model in CLASSIFIERS else SURVIVAL_DATASETS


def load(model: str, dataset: str, seed: int) -> tuple[ls.Cohort, ls.Splits]:
    loader = classification_data if task_of(model) == "classification" else survival_data
    return loader(dataset, seed)


#: The candidate each model ships as its defaults since 0.2 (``lightsaber.models``): the
#: winner when it beats ``old`` by more than :data:`MARGIN` mean rank, else ``old``.
SHIPPED = {"DeepSurv": "old", "RankSVX": "wide+dropout+wd", "VAECox": "small+dropout, lr 3e-3",
           "WeibullAFT": "small+dropout, lr 3e-3", "DeepHit": "old",
           "LogisticHazard": "small+dropout, quantile cuts", "PMF": "small+dropout, lr 3e-3",
           "MTLR": "small+dropout", "MLP classifier": "small+dropout, lr 3e-3",
           "GRU classifier": "old"}
#: Mean-rank lead a candidate needs over ``old`` to replace it (ranks of one candidate move by
#: about this much between the two seeds).
MARGIN = 0.25

#: Validation metrics that choose (name, greater is better).
CHOOSING = {"survival": (("c_index", True), ("ibs", False)),
            "classification": (("auc_roc", True), ("log_loss", False))}


# ----------------------------------------------------------------------------- running
def fit_once(model: str, dataset: str, candidate: str, params: dict[str, Any],
             seed: int) -> dict[str, Any]:
    """One ``ls.fit``: validation and test metrics, epochs, seconds."""
    cohort, splits = load(model, dataset, seed)
    task = task_of(model)
    metrics = [m for m, _ in CHOOSING[task]]
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run = ls.fit(build(model, params, seed), cohort, splits, task=task, track=False,
                         progress=False, metrics=metrics)
    except ls.exceptions.LightsaberError as exc:  # recorded, e.g. zero durations for Weibull
        return {"phase": "defaults", "model": model, "dataset": dataset,
                "candidate": candidate, "seed": seed, "error": str(exc).split(";")[0],
                "seconds": time.perf_counter() - start,
                **{f"{part}_{m}": np.nan for part in ("val", "test") for m in metrics}}
    seconds = time.perf_counter() - start
    history = getattr(run.model, "history_", None) or getattr(run.model, "history", None)
    return {"phase": "defaults", "model": model, "dataset": dataset, "candidate": candidate,
            "seed": seed, "seconds": seconds, "epochs": len(history or []),
            **{f"val_{m}": run.metrics["val"].get(m, np.nan) for m in metrics},
            **{f"test_{m}": run.metrics["test"].get(m, np.nan) for m in metrics}}


def tune_once(model: str, dataset: str, seed: int, trials: int) -> dict[str, Any]:
    """A ``trials``-trial TPE study with the default space, refit scored on test."""
    cohort, splits = load(model, dataset, seed)
    task = task_of(model)
    metrics = [m for m, _ in CHOOSING[task]]
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        study = ls.tune(build(model, None, seed), cohort, splits, max_trials=trials,
                        seed=seed, progress=False, task=task, metrics=metrics,
                        tracking_uri=f"sqlite:///{Path(tmp) / 'mlflow.db'}")
        seconds = time.perf_counter() - start
    best = study.trials[study.trials["number"] == study.best_trial].iloc[0]
    return {"phase": "tune", "model": model, "dataset": dataset, "candidate": "tuned",
            "seed": seed, "seconds": seconds, "trials": trials,
            "failed": int((study.trials["status"] != "ok").sum()),
            "best_params": {k: repr(v) for k, v in study.best_params.items()},
            **{f"val_{m}": float(best.get(f"val_{m}", np.nan)) for m in metrics},
            **{f"test_{m}": study.test_metrics.get(m, np.nan) for m in metrics}}


def done(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def record(out: Path, row: dict[str, Any]) -> None:
    with out.open("a") as handle:
        handle.write(json.dumps(row, default=float) + "\n")
    shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()
             if k not in ("best_params",)}
    print(shown, flush=True)


# ----------------------------------------------------------------------------- tables
def ranks(rows: pd.DataFrame, task: str) -> pd.Series:
    """Mean over datasets and seeds of each candidate's mean validation rank (1 = best)."""
    per_dataset = []
    for _, group in rows.groupby(["dataset", "seed"]):
        metric_ranks = [group[f"val_{m}"].rank(ascending=not greater)
                        for m, greater in CHOOSING[task]]
        per_dataset.append(pd.concat(metric_ranks, axis=1).mean(axis=1)
                           .set_axis(group["candidate"]))
    return pd.concat(per_dataset, axis=1).mean(axis=1).sort_values()


def tables(rows: list[dict[str, Any]]) -> str:
    """Markdown: per model, candidates x datasets (val / test), mean rank, the winner."""
    frame = pd.DataFrame(rows)
    lines = [f"Python {platform.python_version()}, torch {torch.__version__}, lightsaber "
             f"{ls.__version__}, {platform.machine()}, {torch.get_num_threads()} threads", ""]
    for model, group in frame[frame["phase"] == "defaults"].groupby("model", sort=False):
        task = task_of(model)
        first, second = (m for m, _ in CHOOSING[task])
        order = ranks(group, task)
        seeds = sorted(group["seed"].unique())
        lines.append(f"**{model}** — validation {first} / {second} (test {first} in brackets), "
                     f"mean over seeds {', '.join(map(str, seeds))}; winner by mean validation "
                     f"rank: **{order.index[0]}**")
        lines.append("")
        datasets = list(dict.fromkeys(group["dataset"]))
        lines.append("| candidate | " + " | ".join(datasets) + " | mean rank | fit s |")
        lines.append("|:--|" + "--:|" * (len(datasets) + 2))
        tuned = frame[(frame["phase"] == "tune") & (frame["model"] == model)]
        for candidate in [*order.index, *(["tuned (20 trials)"] if len(tuned) else [])]:
            part = tuned if candidate.startswith("tuned") else group[
                group["candidate"] == candidate]
            failed = set(part.loc[part["error"].notna(), "dataset"]) if "error" in part else set()
            means = part.groupby("dataset").mean(numeric_only=True)
            cells = []
            for dataset in datasets:
                if dataset in failed:
                    cells.append("fails")
                    continue
                if dataset not in means.index:
                    cells.append("")
                    continue
                row = means.loc[dataset]
                cells.append(f"{row[f'val_{first}']:.3f} / {row[f'val_{second}']:.3f} "
                             f"({row[f'test_{first}']:.3f})")
            rank = f"{order[candidate]:.2f}" if candidate in order else "-"
            label = f"**{candidate}** (shipped)" if SHIPPED.get(model) == candidate else candidate
            lines.append(f"| {label} | " + " | ".join(cells)
                         + f" | {rank} | {part['seconds'].median():.1f} |")
        lines.append("")
    return "\n".join([*lines, *summary(frame)])


def summary(frame: pd.DataFrame) -> list[str]:
    """Markdown: shipped vs old defaults per model (means over datasets and seeds), where the
    shipped ones score a lower test C-index / AUC than the old ones, and the tuned studies
    (against the shipped defaults on the same, first-seed split)."""
    lines = ["| model | shipped | mean rank old → shipped | val (old → shipped) | "
             "test (old → shipped) | tuned test (datasets) | worse on test |",
             "|:--|:--|--:|--:|--:|--:|:--|"]
    defaults = frame[frame["phase"] == "defaults"]
    for model, group in defaults.groupby("model", sort=False):
        task = task_of(model)
        first = CHOOSING[task][0][0]
        order = ranks(group, task)
        shipped = SHIPPED[model]
        means = {c: group[group["candidate"] == c].groupby("dataset")[
            [f"val_{first}", f"test_{first}"]].mean() for c in ("old", shipped)}
        worse = means[shipped][f"test_{first}"] < means["old"][f"test_{first}"] - 0.005
        tuned = frame[(frame["phase"] == "tune") & (frame["model"] == model)]
        tuned_cell = "-"
        if len(tuned):
            # The tuned study ran on the first seed's split only: compare on that split.
            same_split = group[(group["candidate"] == shipped)
                               & (group["seed"] == tuned["seed"].iloc[0])]
            base = same_split.set_index("dataset").loc[tuned["dataset"], f"test_{first}"].mean()
            tuned_cell = (f"{tuned[f'test_{first}'].mean():.3f} vs {base:.3f} "
                          f"({len(tuned)}; {tuned['seconds'].median():.0f} s)")
        lines.append(
            f"| {model} | {shipped} | {order['old']:.2f} → {order[shipped]:.2f} | "
            f"{means['old'][f'val_{first}'].mean():.3f} → "
            f"{means[shipped][f'val_{first}'].mean():.3f} | "
            f"{means['old'][f'test_{first}'].mean():.3f} → "
            f"{means[shipped][f'test_{first}'].mean():.3f} | {tuned_cell} | "
            f"{', '.join(worse[worse].index) or 'none'} |")
    return ["", *lines]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*",
                        default=[*SURVIVAL_MODELS, *CLASSIFIERS])
    parser.add_argument("--datasets", nargs="*", default=None)
    parser.add_argument("--phase", choices=("defaults", "tune"), default="defaults")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1],
                        help="split and initialisation seeds (tune: the first only)")
    parser.add_argument("--out", type=Path, default=Path("defaults_study.jsonl"))
    parser.add_argument("--table", action="store_true", help="print the tables and stop")
    args = parser.parse_args(argv)
    if args.table:
        print(tables(done(args.out)))
        return 0
    if not SHARED.exists():
        print(f"missing {SHARED}; nothing to do", file=sys.stderr)
        return 1
    seen = {(r["phase"], r["model"], r["dataset"], r["candidate"], r["seed"])
            for r in done(args.out)}
    for seed in args.seeds[:1] if args.phase == "tune" else args.seeds:
        for model in args.models:
            default = tune_datasets_of(model) if args.phase == "tune" else datasets_of(model)
            for dataset in args.datasets or default:
                if dataset not in datasets_of(model):
                    continue
                if args.phase == "tune":
                    if ("tune", model, dataset, "tuned", seed) not in seen:
                        record(args.out, tune_once(model, dataset, seed, args.trials))
                    continue
                for candidate, params in candidates(model).items():
                    if ("defaults", model, dataset, candidate, seed) not in seen:
                        record(args.out, fit_once(model, dataset, candidate, params, seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
