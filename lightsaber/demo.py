"""The main job on the bundled sample: what ``make demo`` / ``lightsaber demo`` runs.

For now: ingest, validate, split and preprocess (static table and padded 48-hour sequences),
then print a summary. Training, evaluation and tracking join as those layers land.
"""

from __future__ import annotations

import time

from tqdm.auto import tqdm

from lightsaber.data import Preprocessor, SequencePreprocessor
from lightsaber.data.datasets import load_sample_mortality

__all__ = ["run_demo"]


def run_demo(n_patients: int | None = None, seed: int = 7, progress: bool = True) -> dict:
    """Run the demo pipeline and print what it did.

    Parameters
    ----------
    n_patients : int, optional
        Generate a synthetic cohort of this size instead of reading ``data_samples/``.
    seed : int
        Split seed.
    progress : bool
        Show a progress bar over the pipeline stages.

    Returns
    -------
    dict
        ``cohort``, ``splits`` and the preprocessed ``features`` per split.

    Examples
    --------
    >>> out = run_demo(n_patients=120, progress=False)  # doctest: +ELLIPSIS
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
    print(f"  done in {elapsed:.2f} s")
    return {"cohort": cohort, "splits": splits, "features": features}
