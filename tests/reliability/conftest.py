"""Shared helpers of the reliability suite: small cohorts and run-status checks of a store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

N_PATIENTS = 40


def make_frames(n: int = N_PATIENTS, seed: int = 0, prefix: str = "RELIAB-ID-"
                ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Static, targets and longitudinal tables of ``n`` patients with ids ``<prefix>0000``..."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"{prefix}{i:04d}" for i in range(n)])
    static = pd.DataFrame({
        "pid": ids,
        "age": rng.normal(60, 10, n).round(1),
        "sex": rng.choice(["f", "m"], n),
        "lab_a": rng.normal(size=n),
    })
    targets = pd.DataFrame({
        "pid": ids[::-1],
        "days": rng.exponential(100, n).round(2) + 0.5,
        "died": (np.arange(n) % 3 == 0).astype(int),
        "label": (np.arange(n) % 2).astype(int),
    })
    rows = []
    for i, pid in enumerate(ids):
        for t in range(3 + i % 3):
            rows.append((pid, float(t), float(rng.normal(80, 10))))
    long = pd.DataFrame(rows, columns=["pid", "hour", "hr"])
    return static, targets, long


def run_statuses(db: Path) -> list[str]:
    """Status of every run in a sqlite MLflow store (read with sqlite3, no MLflow client)."""
    with sqlite3.connect(db) as con:
        return [row[0] for row in con.execute("SELECT status FROM runs")]
