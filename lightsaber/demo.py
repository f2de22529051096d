"""The main job on the bundled sample: what ``make demo`` / ``lightsaber demo`` runs.

Ingest, validate, split and preprocess (static table and padded 48-hour sequences), then fit,
evaluate and track two models — a logistic regression on flattened features and a GRU on the
hourly sequences — in MLflow (``sqlite:///mlflow.db`` in the working directory unless
``MLFLOW_TRACKING_URI`` says otherwise), and print a summary.
"""

from __future__ import annotations

import time

from tqdm.auto import tqdm

from lightsaber.data import Preprocessor, SequencePreprocessor
from lightsaber.data.datasets import load_sample_mortality

__all__ = ["run_demo"]


def run_demo(n_patients: int | None = None, seed: int = 7, progress: bool = True,
             train: bool = True) -> dict:
    """Run the demo pipeline and print what it did.

    Parameters
    ----------
    n_patients : int, optional
        Generate a synthetic cohort of this size instead of reading ``data_samples/``.
    seed : int
        Split seed.
    progress : bool
        Show a progress bar over the pipeline stages.
    train : bool
        Also fit, evaluate and track the two models (skip for a data-only run).

    Returns
    -------
    dict
        ``cohort``, ``splits`` and the preprocessed ``features`` per split.

    Examples
    --------
    >>> out = run_demo(n_patients=120, progress=False, train=False)  # doctest: +ELLIPSIS
    lightsaber demo...
    >>> sorted(out["features"])
    ['test', 'train', 'val']
    """
    stages = tqdm(total=4, desc="demo", disable=not progress, leave=False)
    t0 = time.perf_counter()
    cohort = load_sample_mortality(n_patients)
    stages.update()
    splits = cohort.split(val=0.15, test=0.15, stratify="label", seed=seed)
    parts = splits.cohorts(cohort)
    stages.update()
    pre = Preprocessor(sequence=SequencePreprocessor(grid=(0, 48, 1))).fit(parts["train"])
    stages.update()
    features = {name: pre.transform(part) for name, part in parts.items()}
    stages.update()
    stages.close()
    elapsed = time.perf_counter() - t0

    d = cohort.describe()
    print("lightsaber demo: synthetic in-hospital mortality cohort")
    print(f"  {cohort!r}")
    print(f"  follow-up {d['follow_up_min']:.1f}-{d['follow_up_max']:.1f} days "
          f"(median {d['follow_up_median']:.1f}); censoring rate {d['censoring_rate']:.1%}")
    print(f"  split (seed {seed}, stratified by label):")
    for name, summary in splits.manifest["splits"].items():
        feats = features[name]
        print(f"    {name:<5} {summary['n_patients']:>5} patients  label rate "
              f"{summary['label_rate']:.3f}  static {feats.static.shape}  "
              f"sequences {feats.sequences.shape}  ids sha256 {summary['ids_sha256'][:12]}")
    miss = cohort.missingness().head(3)
    worst = ", ".join(f"{r.feature} {r.missing_rate:.0%}" for r in miss.itertuples())
    print(f"  most missing: {worst}")
    print(f"  data ready in {elapsed:.2f} s")
    runs = _train(cohort, splits, progress) if train else {}
    return {"cohort": cohort, "splits": splits, "features": features, "runs": runs}


def _train(cohort, splits, progress: bool) -> dict:
    """Fit, evaluate and track the demo models; print their test metrics."""
    from sklearn.linear_model import LogisticRegression

    from lightsaber.models import ClassifierNet, SequenceNet
    from lightsaber.tracking import resolve_tracking_uri
    from lightsaber.training.fit import fit

    models = {
        "logistic regression (flattened 48 h aggregates)": (LogisticRegression(max_iter=2000),
                                                             None),
        "GRU over hourly sequences": (
            ClassifierNet(SequenceNet, module__hidden_size=32, max_epochs=30, lr=3e-3),
            Preprocessor(sequence=SequencePreprocessor(grid=(0, 48, 1)))),
    }
    runs = {}
    print(f"  tracking in {resolve_tracking_uri()} (experiment 'lightsaber-demo')")
    for name, (model, pre) in models.items():
        t0 = time.perf_counter()
        net = isinstance(model, ClassifierNet)  # only the net has epochs to stop early
        run = fit(model, cohort, splits, preprocessor=pre, early_stopping=5 if net else None,
                  monitor="auc_roc" if net else None, experiment="lightsaber-demo",
                  progress=progress)
        test = run.metrics["test"]
        print(f"  {name}: test AUC-ROC {test['auc_roc']:.3f}, AUC-PR {test['auc_pr']:.3f}, "
              f"Brier {test['brier']:.3f} ({time.perf_counter() - t0:.1f} s, run {run.run_id})")
        runs[name] = run
    return runs
