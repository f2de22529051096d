"""A seeded synthetic in-hospital-mortality cohort (static + 48 h of vitals and labs).

The generator is the source of truth for ``data_samples/``: the committed files are its output
for the default arguments, and a test checks they match, so the sample can always be rebuilt.
Outcomes depend on the features through a latent severity, so models have something to learn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lightsaber.exceptions import CohortError

__all__ = ["LABS", "VITALS", "make_mortality_cohort"]

VITALS = ("heart_rate", "sys_bp", "dia_bp", "resp_rate", "temperature", "spo2")
LABS = ("lactate", "creatinine", "wbc", "sodium")


def make_mortality_cohort(n_patients: int = 2000, hours: int = 48, seed: int = 0
                          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate a synthetic ICU cohort.

    Parameters
    ----------
    n_patients : int
        Number of patients.
    hours : int
        Length of the observation window (hourly grid).
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    static : DataFrame
        One row per patient: ``patient_id``, ``age``, ``sex``, ``admission_type``, ``bmi``,
        ``n_comorbidities``, and outcomes ``died_in_hospital`` (0/1) and ``los_days`` (days from
        admission to death or discharge, always after the observation window).
    vitals : DataFrame
        Long table: ``patient_id``, ``hour`` (time since admission) and the vitals and labs,
        with realistic missingness (skipped hours, unmeasured vitals, sparse labs).

    Examples
    --------
    >>> static, vitals = make_mortality_cohort(n_patients=50, seed=1)
    >>> static.shape[0], vitals["patient_id"].nunique() <= 50
    (50, True)
    """
    if not isinstance(n_patients, (int, np.integer)) or n_patients < 1:
        raise CohortError(f"n_patients must be a positive integer; got {n_patients!r}.")
    rng = np.random.default_rng(seed)
    n = n_patients
    ids = np.array([f"P{100000 + i:06d}" for i in rng.permutation(n)])
    age = np.clip(rng.normal(65, 15, n), 18, 95).round(1)
    sex = rng.choice(["female", "male"], n, p=[0.45, 0.55])
    admission = rng.choice(["emergency", "urgent", "elective"], n, p=[0.7, 0.1, 0.2])
    comorb = rng.poisson(1.5, n)
    bmi = rng.normal(27, 5, n).round(1)
    bmi[rng.random(n) < 0.12] = np.nan
    adm_effect = np.select([admission == "emergency", admission == "urgent"], [0.5, 0.3], -0.6)
    severity = (0.035 * (age - 65) + 0.35 * (comorb - 1.5) + adm_effect
                + rng.normal(0, 0.8, n))
    drift = rng.normal(0.4 * severity, 0.6)  # deterioration over the 48 h

    # ---- outcome: hazard of death after the window vs. discharge
    log_hazard = -4.4 + 0.9 * severity + 0.7 * drift
    death = rng.exponential(1.0 / np.exp(log_hazard))
    discharge = rng.gamma(2.0, 3.0, n)
    window_days = hours / 24.0
    died = (death < discharge).astype(np.int64)
    los = (window_days + np.minimum(death, discharge)).round(3)

    # ---- hourly measurements
    hour_idx = np.tile(np.arange(hours), n)
    pid = np.repeat(np.arange(n), hours)
    frac = hour_idx / hours
    s, d = severity[pid], drift[pid]
    noise = rng.normal(size=(len(pid), len(VITALS) + len(LABS)))
    vit = {
        "heart_rate": 82 + 7 * s + 6 * d * frac + 6 * noise[:, 0],
        "sys_bp": 122 - 6 * s - 5 * d * frac + 9 * noise[:, 1],
        "dia_bp": 70 - 3 * s - 3 * d * frac + 6 * noise[:, 2],
        "resp_rate": 17 + 1.8 * s + 1.5 * d * frac + 2 * noise[:, 3],
        "temperature": 37.0 + 0.25 * s + 0.2 * d * frac + 0.3 * noise[:, 4],
        "spo2": np.minimum(100, 97 - 1.2 * s - 1.0 * d * frac + 1.2 * noise[:, 5]),
    }
    labs = {
        "lactate": np.exp(0.3 + 0.25 * s + 0.2 * d * frac + 0.25 * noise[:, 6]),
        "creatinine": np.exp(0.0 + 0.2 * s + 0.15 * d * frac + 0.3 * noise[:, 7]),
        "wbc": np.exp(2.2 + 0.12 * s + 0.1 * d * frac + 0.25 * noise[:, 8]),
        "sodium": 139 - 0.8 * s + 2.5 * noise[:, 9],
    }
    table = {"patient_id": ids[pid],
             "hour": (hour_idx + rng.uniform(0.0, 0.95, len(pid))).round(2)}
    for name, value in vit.items():
        value = value.round(1)
        value[rng.random(len(pid)) < 0.08] = np.nan
        table[name] = value.astype(np.float32)
    lab_draw = (hour_idx % 8 == 0) | (rng.random(len(pid)) < 0.03)
    for name, value in labs.items():
        value = value.round(2)
        value[~lab_draw | (rng.random(len(pid)) < 0.1)] = np.nan
        table[name] = value.astype(np.float32)
    vitals = pd.DataFrame(table)
    # Whole hours without any charting, more often at night and for stable patients.
    skipped = rng.random(len(pid)) < np.clip(0.12 - 0.03 * s, 0.02, 0.3)
    vitals = vitals[~skipped].reset_index(drop=True)

    static = pd.DataFrame({
        "patient_id": ids, "age": age, "sex": sex, "admission_type": admission, "bmi": bmi,
        "n_comorbidities": comorb, "died_in_hospital": died, "los_days": los,
    })
    return static, vitals
