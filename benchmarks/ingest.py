"""Ingest benchmark (issue 2): cohort load + validation + split + preprocessing to tensors.

    python benchmarks/ingest.py [--patients 100000]

1. Builds (once, cached in ``benchmarks/_data/``) a long table of N patients x 48 hourly time
   steps x 20 measurements (~10% missing) plus a static/outcome table, stored as Parquet.
2. In a fresh child process, times lightsaber's path: ``Cohort.from_files`` (reads and validates
   both tables), a stratified split, and ``Preprocessor`` with an hourly 48 h
   ``SequencePreprocessor`` fitted on train and applied to train/val/test (padded float32
   tensors + lengths + masks). Reports wall time and peak RSS of that process.
3. In this process, times the per-patient pandas ``.loc`` loop of the original Lightsaber
   (``BaseDataset.__getitem__`` selected each patient's rows with ``.loc`` on an id-indexed
   frame, then padded) on a 5,000-patient subsample, extrapolated linearly to N. This is our
   re-creation of that access pattern; it does less work than our path (no grid binning,
   forward fill or scaling), which favours the baseline.

Targets (issue 2): ours < 15 s and peak RSS < 1.5 GB at N = 100,000; >= 20x faster than the loop.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
STEPS, N_FEATURES = 48, 20


def make_data(n_patients: int, seed: int = 0) -> tuple[Path, Path]:
    DATA.mkdir(exist_ok=True)
    static_path = DATA / f"static_{n_patients}.parquet"
    long_path = DATA / f"long_{n_patients}.parquet"
    if static_path.exists() and long_path.exists():
        return static_path, long_path
    rng = np.random.default_rng(seed)
    ids = np.arange(1_000_000, 1_000_000 + n_patients, dtype=np.int64)
    severity = rng.normal(size=n_patients)
    static = pd.DataFrame({
        "patient_id": ids,
        "age": rng.normal(65, 15, n_patients).astype(np.float32),
        "sex": rng.choice(["female", "male"], n_patients),
        "died": (rng.random(n_patients) < 1 / (1 + np.exp(2 - severity))).astype(np.int8),
        "los_days": rng.gamma(2.0, 3.0, n_patients) + 2,
    })
    static.to_parquet(static_path, index=False)
    n_rows = n_patients * STEPS
    columns = {
        "patient_id": np.repeat(ids, STEPS),
        "hour": (np.tile(np.arange(STEPS), n_patients) + rng.uniform(0, 0.9, n_rows)),
    }
    for j in range(N_FEATURES):
        values = (rng.normal(size=n_rows) + 0.3 * np.repeat(severity, STEPS)).astype(np.float32)
        values[rng.random(n_rows) < 0.1] = np.nan
        columns[f"m{j:02d}"] = values
    pd.DataFrame(columns).to_parquet(long_path, index=False)
    return static_path, long_path


def measure_ours(static_path: str, long_path: str) -> dict:
    """Runs in a fresh process: the whole lightsaber path, wall time and peak RSS."""
    t0 = time.perf_counter()
    from lightsaber import Cohort, Preprocessor, SequencePreprocessor

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    cohort = Cohort.from_files(static=static_path, longitudinal=long_path, id="patient_id",
                               time="hour", label="died", duration="los_days", event="died")
    t_load = time.perf_counter() - t0
    splits = cohort.split(val=0.15, test=0.15, stratify="label", seed=0)
    parts = splits.cohorts(cohort)
    t_split = time.perf_counter() - t0 - t_load
    pre = Preprocessor(sequence=SequencePreprocessor(grid=(0, STEPS, 1))).fit(parts["train"])
    features = {name: pre.transform(part) for name, part in parts.items()}
    total = time.perf_counter() - t0
    shapes = {k: list(v.sequences.shape) for k, v in features.items()}
    tensor_bytes = sum(v.sequences.values.nbytes for v in features.values())
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"total_s": total, "load_validate_s": t_load, "split_s": t_split,
            "preprocess_s": total - t_load - t_split, "import_s": t_import,
            "peak_rss_mb": peak_kb / 1024, "tensor_mb": tensor_bytes / 2**20, "shapes": shapes}


def original_loop(long_path: Path, n_sample: int, seed: int = 0) -> tuple[float, int]:
    """The per-patient ``.loc`` access pattern of the original Lightsaber, on a subsample."""
    frame = pd.read_parquet(long_path).set_index("patient_id")
    features = [c for c in frame.columns if c != "hour"]
    ids = frame.index.unique().to_numpy()
    rng = np.random.default_rng(seed)
    sample = rng.choice(ids, size=min(n_sample, len(ids)), replace=False)
    t0 = time.perf_counter()
    out = np.zeros((len(sample), STEPS, len(features)), dtype=np.float32)
    for i, pid in enumerate(sample):
        rows = frame.loc[[pid]].sort_values("hour")
        values = rows[features].to_numpy(dtype=np.float32)[:STEPS]
        out[i, : len(values)] = np.nan_to_num(values)
    return time.perf_counter() - t0, len(sample)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--loop-sample", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3,
                        help="fresh-process runs of our path; the best is compared (timeit "
                             "convention), the worst is printed too")
    parser.add_argument("--child", nargs=2, metavar=("STATIC", "LONG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_ours(*args.child)))
        return

    static_path, long_path = make_data(args.patients)
    runs = []
    for _ in range(args.repeat):  # each in a fresh process, so peak RSS is ours alone
        child = subprocess.run([sys.executable, __file__, "--child", str(static_path),
                                str(long_path)], capture_output=True, text=True, check=True)
        runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
    ours = min(runs, key=lambda r: r["total_s"])
    worst = max(runs, key=lambda r: r["total_s"])
    loop_s, n_loop = original_loop(long_path, args.loop_sample)
    loop_full = loop_s * args.patients / n_loop
    ratio = loop_full / ours["total_s"]

    import lightsaber

    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}, "
          f"lightsaber {lightsaber.__version__}")
    print(f"cohort: {args.patients:,} patients x {STEPS} steps x {N_FEATURES} measurements "
          f"({args.patients * STEPS:,} long rows, Parquet)")
    print(f"lightsaber  best of {len(runs)} fresh-process runs (worst total "
          f"{worst['total_s']:.2f} s, worst peak RSS {worst['peak_rss_mb']:.0f} MB)")
    print(f"lightsaber  load+validate {ours['load_validate_s']:.2f} s | split "
          f"{ours['split_s']:.2f} s | preprocess to tensors {ours['preprocess_s']:.2f} s | "
          f"total {ours['total_s']:.2f} s (target < 15 s) "
          f"{'OK' if ours['total_s'] < 15 else 'MISSED'}")
    peak = max(r["peak_rss_mb"] for r in runs)
    print(f"lightsaber  peak RSS {peak:.0f} MB, max over runs (target < 1536 MB) "
          f"{'OK' if peak < 1536 else 'MISSED'}; output tensors "
          f"{ours['tensor_mb']:.0f} MB; shapes {ours['shapes']}")
    print(f"original .loc loop: {loop_s:.2f} s for {n_loop:,} patients -> "
          f"{loop_full:.1f} s extrapolated to {args.patients:,}")
    print(f"speed-up over the .loc loop: {ratio:.1f}x best run, "
          f"{loop_full / worst['total_s']:.1f}x worst run (target >= 20x) "
          f"{'OK' if ratio >= 20 else 'MISSED'}")


if __name__ == "__main__":
    main()
