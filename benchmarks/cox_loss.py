"""Benchmark lightsaber's Cox loss against torchsurv and pycox, in one process.

Run: ``.venv/bin/python benchmarks/cox_loss.py`` (about a minute on 2 cores). Needs
``torchsurv`` (``pip install -c constraints.txt torchsurv``). Prints the machine, library
versions, forward + backward wall-clock times (best and median of ``REPEAT`` interleaved runs,
milliseconds) and ratios ``reference / lightsaber`` (> 1 = lightsaber faster), and checks values
where the definitions agree:

* torchsurv ``neg_partial_log_likelihood(log_hz, event, time, ties_method=..., reduction="sum")``
  is minus the same partial log-likelihood as ours with ``reduction="sum"``, for Efron and for
  Breslow. (Its ``"mean"`` divides by the number of *distinct event times* when times are tied;
  ours divides by the number of events, so means are not compared.) torchsurv 0.2 coerces its
  inputs to float32 (``tools/validators.py``), so it is compared in float32 rounding: expect
  relative deltas ~1e-8 to 1e-7 against our float64 value.
* pycox ``cox_ph_loss(log_h, durations, events)`` ignores ties (each tied subject's risk set
  depends on the sort order), so it is compared with our Breslow mean on the same data with the
  ties broken by a small jitter, where both are Cox's partial likelihood over the events.

Data: risk ~ N(0, 1) plus noise, exponential times rounded to whole days (heavy ties: ~2,000
distinct times at n = 1e5), 30% censoring. Timings in float32 (training precision); value checks
in float64.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
import warnings
from importlib.metadata import version

import numpy as np
import torch
from pycox.models.loss import cox_ph_loss as pycox_cox_ph_loss
from torchsurv.loss.cox import neg_partial_log_likelihood

from lightsaber.losses import cox_ph_loss

REPEAT = 25
SIZES = (10_000, 100_000)


def cohort(n: int, seed: int, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    event_time = rng.exponential(200.0 * np.exp(-x))
    censor_time = rng.exponential(470.0, size=n)
    duration = np.ceil(np.minimum(event_time, censor_time))  # whole days: ties
    event = event_time <= censor_time
    risk = x + 0.5 * rng.normal(size=n)
    return (torch.tensor(risk, dtype=dtype), torch.tensor(duration, dtype=dtype),
            torch.tensor(event))


def torchsurv_loss(risk, duration, event, ties: str, reduction: str = "sum"):
    with warnings.catch_warnings():  # torchsurv warns on every batch with tied times
        warnings.simplefilter("ignore")
        return neg_partial_log_likelihood(risk, event, duration, ties_method=ties,
                                          reduction=reduction)


def candidates(duration, event):
    events_float = event.to(torch.float32)
    return {
        "lightsaber Efron": lambda r: cox_ph_loss(r, duration, event, ties="efron",
                                                  reduction="sum"),
        "lightsaber Breslow": lambda r: cox_ph_loss(r, duration, event, reduction="sum"),
        "torchsurv Efron": lambda r: torchsurv_loss(r, duration, event, "efron"),
        "torchsurv Breslow": lambda r: torchsurv_loss(r, duration, event, "breslow"),
        "pycox (no ties)": lambda r: pycox_cox_ph_loss(r, duration, events_float),
    }


def time_forward_backward(functions, risk) -> dict[str, list[float]]:
    """Interleaved runs: each repetition times every function once, so drifts in machine load
    hit all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(REPEAT):
        for name, fn in functions.items():
            r = risk.clone().requires_grad_(True)
            start = time.perf_counter()
            fn(r).backward()
            times[name].append(time.perf_counter() - start)
    return times


def check_values(n: int) -> list[str]:
    risk, duration, event = cohort(n, seed=n + 1, dtype=torch.float64)
    lines = []
    for ties in ("efron", "breslow"):
        ours = cox_ph_loss(risk, duration, event, ties=ties, reduction="sum").item()
        theirs = torchsurv_loss(risk, duration, event, ties).item()
        lines.append(f"{ties} sum vs torchsurv: ours {ours:.10f}, torchsurv {theirs:.10f}, "
                     f"relative delta {abs(ours - theirs) / abs(theirs):.1e}")
    jitter = torch.from_numpy(np.random.default_rng(n).uniform(0, 1e-3, n))
    untied = duration + jitter
    ours = cox_ph_loss(risk, untied, event).item()
    theirs = pycox_cox_ph_loss(risk, untied, event.double()).item()
    lines.append(f"no-ties mean vs pycox: ours {ours:.10f}, pycox {theirs:.10f}, relative "
                 f"delta {abs(ours - theirs) / abs(theirs):.1e}")
    return lines


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    print(f"machine: {os.cpu_count()} cores ({cpu_model()}), {platform.system()} "
          f"{platform.release()}; torch threads {torch.get_num_threads()}")
    print(f"python {sys.version.split()[0]}; " + ", ".join(
        f"{p} {version(p)}" for p in ("torch", "numpy", "torchsurv", "pycox", "torchtuples")))
    for n in SIZES:
        risk, duration, event = cohort(n, seed=n, dtype=torch.float32)
        print(f"\nn = {n:,}: {int(event.sum()):,} events, "
              f"{len(torch.unique(duration)):,} distinct times, float32, forward + backward")
        times = time_forward_backward(candidates(duration, event), risk)
        best = {name: min(values) for name, values in times.items()}
        median = {name: statistics.median(values) for name, values in times.items()}
        print("| loss | best ms | median ms | vs lightsaber Efron (best / median) |")
        print("|---|---|---|---|")
        for name in times:
            ratio = (f"{best[name] / best['lightsaber Efron']:.2f}x / "
                     f"{median[name] / median['lightsaber Efron']:.2f}x")
            print(f"| {name} | {best[name] * 1e3:.2f} | {median[name] * 1e3:.2f} | {ratio} |")
        for line in check_values(n):
            print("  " + line)


if __name__ == "__main__":
    main()
