"""Benchmark the ICI's Cox fit (``lightsaber.metrics._cox``) against scikit-survival, lifelines.

Run: ``.venv/bin/python benchmarks/cox_fit.py [--repeat 11]`` (about two minutes on 2 cores).
Reads the DeepSurv splits in ``../shared/data/deepsurv``.

The design is the one :func:`lightsaber.metrics.integrated_calibration_index` builds: a linear
Cox model (scikit-survival, fitted on the training split) predicts ``S(h | x)`` on a split, ``h``
the median training event time (as ``ls.fit`` picks it); the calibration model regresses the
split's outcome on a 3-knot restricted cubic spline of ``log(-log S(h | x))`` (two columns).
Each fit is timed with what the ICI needs from it, ``S(h | x)`` for every row:

* ours: ``fit_cox(basis, event, time).survival_at(basis, h)``;
* scikit-survival 0.28 ``CoxPHSurvivalAnalysis(ties=...)`` (its defaults otherwise: tol 1e-9,
  100 iterations), then ``predict_survival_function(basis, return_array=True)`` read at ``h``
  (and, for Breslow, its ``fit`` alone);
* lifelines ``CoxPHFitter()`` (Efron ties only), then ``predict_survival_function(times=[h])``
  (lifelines interpolates its baseline linearly between event times, so its ``S(h)`` is not
  the step function's).

Coefficients are compared at tight tolerances (scikit-survival tol 1e-12, lifelines precision
1e-12), where every fit has converged. Timings: ``--repeat`` interleaved repetitions, each on
fresh copies of the inputs and a fresh estimator; median, interquartile range and min-max,
milliseconds. Then behaviours: designs that splines of near-constant, coarsely rounded or
near-separating predictions produce, and what each fitter does with them (result, warning or
exception), and the per-call overhead on small designs (a bootstrap calls the ICI once per
resample).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import h5py
import numpy as np
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.util import Surv

from lightsaber.metrics._cox import fit_cox, rcs_basis

try:
    import lifelines
    import pandas as pd
except ImportError:  # a dev-only dependency
    lifelines = None

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "deepsurv"
DATASETS = {
    "whas": "whas_train_test.h5",
    "metabric": "metabric_IHC4_clinical_train_test.h5",
    "gbsg": "gbsg_cancer_train_test.h5",
    "support": "support_train_test.h5",
}


def load(name: str) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    with h5py.File(DATA / DATASETS[name], "r") as handle:
        return {split: (handle[split]["e"][:].astype(bool), handle[split]["t"][:].astype(float),
                        handle[split]["x"][:].astype(float)) for split in ("train", "test")}


def ici_basis(survival_at_h: np.ndarray) -> np.ndarray:
    """The ICI's design, as ``integrated_calibration_index`` builds it."""
    s = np.clip(survival_at_h, 1e-12, 1.0 - 1e-12)
    cll = np.log(-np.log(s))
    knots = np.quantile(cll, [0.1, 0.5, 0.9])
    if np.unique(knots).shape[0] < 3:
        return cll[:, None]
    return rcs_basis(cll, knots)


def designs() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, float]]:
    """(label, basis, event, time, horizon) per dataset and split."""
    out = []
    for name in DATASETS:
        data = load(name)
        e_tr, t_tr, x_tr = data["train"]
        model = CoxPHSurvivalAnalysis(alpha=1e-4).fit(x_tr, Surv.from_arrays(e_tr, t_tr))
        h = float(np.median(t_tr[e_tr]))
        for split in ("test", "train"):
            e, t, x = data[split]
            s_h = np.array([fn(h) for fn in model.predict_survival_function(x)])
            out.append((f"{name} {split}", ici_basis(s_h), e, t, h))
    return out


def ours(basis, event, time_, h):
    return fit_cox(basis, event, time_).survival_at(basis, h)


def sksurv_fit(basis, event, time_, ties="breslow", **options):
    return CoxPHSurvivalAnalysis(ties=ties, **options).fit(basis, Surv.from_arrays(event, time_))


def sksurv_at(model, basis, h):
    curves = model.predict_survival_function(basis, return_array=True)
    times = model.unique_times_
    idx = np.searchsorted(times, h, side="right") - 1
    return np.ones(basis.shape[0]) if idx < 0 else curves[:, idx]


def sksurv(basis, event, time_, h, ties="breslow"):
    return sksurv_at(sksurv_fit(basis, event, time_, ties), basis, h)


def lifelines_fit(basis, event, time_, **fit_options):
    frame = pd.DataFrame(basis, columns=[f"c{j}" for j in range(basis.shape[1])])
    frame = frame.assign(T=time_, E=event)
    return lifelines.CoxPHFitter().fit(frame, "T", "E", fit_options=fit_options or None), frame


def lifelines_s(basis, event, time_, h):
    model, frame = lifelines_fit(basis, event, time_)
    return model.predict_survival_function(frame.drop(columns=["T", "E"]), times=[h]).to_numpy()


def candidates():
    out = {"ours (Breslow)": ours,
           "sksurv Breslow": sksurv,
           "  its fit alone": lambda b, e, t, h: sksurv_fit(b, e, t),
           "sksurv Efron": lambda b, e, t, h: sksurv(b, e, t, h, ties="efron")}
    if lifelines is not None:
        out["lifelines Efron"] = lifelines_s
    return out


def timed(functions, basis, event, time_, h, repeat):
    times = {name: [] for name in functions}
    for _ in range(repeat):
        for name, fn in functions.items():
            args = (basis.copy(), event.copy(), time_.copy(), h)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.perf_counter()
                fn(*args)
                times[name].append(time.perf_counter() - start)
    return times


def summary(seconds: list[float]) -> str:
    ms = sorted(1e3 * s for s in seconds)
    q1, _, q3 = statistics.quantiles(ms, n=4)
    return (f"{statistics.median(ms):9.2f} (IQR {q1:.2f}-{q3:.2f}, range {ms[0]:.2f}-"
            f"{ms[-1]:.2f})")


def agreement(basis, event, time_, h) -> str:
    fit = fit_cox(basis, event, time_)
    s_ours = fit.survival_at(basis, h)
    ref = sksurv_fit(basis, event, time_, "breslow", tol=1e-12, n_iter=1000)
    efron = sksurv_fit(basis, event, time_, "efron", tol=1e-12, n_iter=1000)
    parts = [f"|dcoef| sksurv-Breslow {np.abs(fit.coef - ref.coef_).max():.1e}",
             f"|dS(h)| {np.abs(s_ours - sksurv_at(ref, basis, h)).max():.1e}",
             f"| Efron: |dcoef| {np.abs(fit.coef - efron.coef_).max():.1e}",
             f"|dS(h)| {np.abs(s_ours - sksurv_at(efron, basis, h)).max():.1e}"]
    if lifelines is not None:
        model, _ = lifelines_fit(basis, event, time_, precision=1e-12)
        parts.append(f"| lifelines-Efron |dcoef| "
                     f"{np.abs(fit.coef - model.params_.to_numpy()).max():.1e}")
    return ", ".join(parts)


def outcome(fn) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = fn()
        except Exception as exc:  # noqa: BLE001 - what each library raises is the result
            text = f"raises {type(exc).__name__}: {str(exc)[:70]}"
        else:
            text = f"coef {np.array2string(np.asarray(value), precision=4)}"
    kinds = sorted({f"{w.category.__name__}: {str(w.message)[:60]}" for w in caught})
    return text + (f"; warns {kinds}" if kinds else "")


def hard_designs():
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    t = rng.exponential(np.exp(-x))
    c = rng.exponential(2.0, n)
    event, time_ = t <= c, np.minimum(t, c)
    s_true = np.exp(-np.exp(x) * 0.5)
    sep_x = np.linspace(-40, 40, 60)
    sep_t = np.arange(60, 0, -1).astype(float)
    sep_e = np.ones(60, dtype=bool)
    sep_e[::7] = False
    return {
        # the spline of predictions that barely vary: columns ~1e-6 apart, near collinear
        "near-constant predictions": (ici_basis(0.5 + 1e-7 * s_true), event, time_),
        # a discrete-time model's S(h) rounded to 2 decimals: few distinct values
        "predictions rounded to 0.05": (ici_basis(np.round(s_true / 0.05) * 0.05), event, time_),
        # predictions that separate events almost perfectly (fit_cox's stability test)
        "near separation": (np.column_stack([sep_x, sep_x ** 3 / 1e3]), sep_e, sep_t),
        # an exactly collinear design: singular Hessian
        "collinear columns": (np.column_stack([x, 2 * x]), event, time_),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
          f"python {sys.version.split()[0]}; " + ", ".join(
              f"{p} {version(p)}" for p in ("numpy", "scipy", "scikit-survival", "lifelines")
              if p != "lifelines" or lifelines is not None))
    print(f"date: {time.strftime('%Y-%m-%d')}; repeat {args.repeat}\n")

    print("== agreement (tight tolerances) and time of fit + S(h|x) for all rows, ms")
    for label, basis, event, time_, h in designs():
        n_ties = int(event.sum() - np.unique(time_[event]).shape[0])
        print(f"-- {label}: n={event.shape[0]}, events={int(event.sum())}, tied events "
              f"{n_ties}, columns {basis.shape[1]}")
        print("   " + agreement(basis, event, time_, h))
        times = timed(candidates(), basis, event, time_, h, args.repeat)
        base = statistics.median(times["ours (Breslow)"])
        for name, values in times.items():
            print(f"   {name:16s} {summary(values)}  x{statistics.median(values) / base:.1f}")

    print("\n== per-call overhead on small designs (ms)")
    rng = np.random.default_rng(1)
    for n in (50, 200):
        x = rng.normal(size=n)
        t, c = rng.exponential(np.exp(-x)), rng.exponential(2.0, n)
        event, time_ = t <= c, np.minimum(t, c)
        basis = ici_basis(np.exp(-np.exp(x) * 0.5))
        h = float(np.median(time_))
        times = timed(candidates(), basis, event, time_, h, max(args.repeat, 21))
        base = statistics.median(times["ours (Breslow)"])
        for name, values in times.items():
            ratio = statistics.median(values) / base
            print(f"   n={n:3d} {name:16s} {summary(values)}  x{ratio:.1f}")

    print("\n== designs that splines produce: what each fitter does")
    for label, (basis, event, time_) in hard_designs().items():
        print(f"-- {label}")
        print(f"   ours:   {outcome(lambda b=basis, e=event, t=time_: fit_cox(b, e, t).coef)}")
        print("   sksurv: " + outcome(lambda b=basis, e=event, t=time_: sksurv_fit(b, e, t).coef_))
        if lifelines is not None:
            print("   lifelines: " + outcome(
                lambda b=basis, e=event, t=time_: lifelines_fit(b, e, t)[0].params_.to_numpy()))


if __name__ == "__main__":
    main()
