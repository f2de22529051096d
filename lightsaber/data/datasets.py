"""Loaders that return ready :class:`~lightsaber.data.Cohort` objects.

* the bundled synthetic in-hospital-mortality sample (``data_samples/``);
* scikit-survival's bundled datasets;
* DeepSurv-format HDF5 files and the SUPPORT2 / PBC2 CSVs, from a path you give.

Nothing is downloaded: every loader reads local files or package data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lightsaber.data.cohort import Cohort
from lightsaber.data.synthetic import make_mortality_cohort
from lightsaber.exceptions import CohortError

__all__ = [
    "PBC2_CAUSES",
    "SAMPLE_CAUSES",
    "SAMPLE_DIR",
    "SKSURV_DATASETS",
    "SUPPORT2_LEAKS",
    "load_deepsurv",
    "load_pbc2",
    "load_sample_mortality",
    "load_sksurv",
    "load_support2",
]

#: Where the committed sample files live (a source checkout's ``data_samples/``).
SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data_samples"
SAMPLE_STATIC = "mortality_static.csv"
SAMPLE_VITALS = "mortality_vitals.parquet"

#: scikit-survival datasets available through :func:`load_sksurv`.
SKSURV_DATASETS = ("aids", "breast_cancer", "flchain", "gbsg2", "veterans_lung_cancer",
                   "whas500")

#: SUPPORT2 columns that leak the outcome or are measured after baseline.
SUPPORT2_LEAKS = ("death", "hospdead", "d.time", "slos", "hday", "sfdm2", "surv2m", "surv6m",
                  "prg2m", "prg6m", "dnr", "dnrday", "charges", "totcst", "totmcst")


#: The sample cohort's competing causes: every stay ends in death or discharge alive.
SAMPLE_CAUSES = {1: "death", 2: "discharge"}


def load_sample_mortality(n_patients: int | None = None, *, seed: int = 0,
                          directory: str | Path | None = None,
                          competing: bool = False) -> Cohort:
    """The synthetic in-hospital-mortality cohort: static features, 48 h of vitals, outcomes.

    Parameters
    ----------
    n_patients : int, optional
        Generate a cohort of this size instead of reading the committed sample (2,000 patients).
    seed : int
        Seed when generating.
    directory : path, optional
        Folder holding ``mortality_static.csv`` and ``mortality_vitals.parquet`` (default: the
        repository's ``data_samples/``; regenerated in memory if absent).
    competing : bool, default False
        Death vs discharge as competing risks: the event column ``status`` (derived, 1 = died
        in hospital, 2 = discharged alive, :data:`SAMPLE_CAUSES`) with duration ``los_days``
        and no label. Every stay ends in one of the two, so nobody is censored.

    Returns
    -------
    Cohort
        ``label="died_in_hospital"``, survival outcome ``los_days`` / ``died_in_hospital``,
        longitudinal table with time column ``hour``; with ``competing``, task ``"competing"``.

    Examples
    --------
    >>> cohort = load_sample_mortality(n_patients=100)
    >>> cohort.task, cohort.has_longitudinal
    ('both', True)
    >>> load_sample_mortality(n_patients=100, competing=True).causes
    {1: 'death', 2: 'discharge'}
    """
    folder = Path(directory) if directory is not None else SAMPLE_DIR
    if n_patients is None and (folder / SAMPLE_STATIC).exists():
        static = pd.read_csv(folder / SAMPLE_STATIC)
        vitals = pd.read_parquet(folder / SAMPLE_VITALS)
    else:
        static, vitals = make_mortality_cohort(
            n_patients=2000 if n_patients is None else n_patients, seed=seed)
    if competing:
        status = np.where(static["died_in_hospital"] == 1, 1, 2)
        return Cohort(static.assign(status=status), id="patient_id", duration="los_days",
                      event="status", causes=SAMPLE_CAUSES, exclude=["died_in_hospital"],
                      longitudinal=vitals, time="hour")
    return Cohort(static, id="patient_id", label="died_in_hospital", duration="los_days",
                  event="died_in_hospital", longitudinal=vitals, time="hour")


def load_sksurv(name: str) -> Cohort:
    """A scikit-survival bundled dataset as a survival cohort (columns ``time``, ``event``).

    Parameters
    ----------
    name : str
        One of :data:`SKSURV_DATASETS`.

    Examples
    --------
    >>> load_sksurv("whas500").n_patients
    500
    """
    if name not in SKSURV_DATASETS:
        raise CohortError(
            f"unknown scikit-survival dataset {name!r}; choose from {SKSURV_DATASETS}.")
    from sksurv import datasets

    X, y = getattr(datasets, f"load_{name}")()
    event_field, time_field = y.dtype.names
    frame = X.reset_index(drop=True).copy()
    frame.insert(0, "row_id", np.arange(len(frame)))
    frame["time"] = y[time_field].astype(float)
    frame["event"] = y[event_field].astype(int)
    return Cohort(frame, id="row_id", duration="time", event="event")


def load_deepsurv(path: str | Path) -> Cohort:
    """A DeepSurv-format HDF5 file (groups with ``x``, ``t``, ``e``) as one survival cohort.

    The file's groups become the meta column ``split`` (``train``, ``test``, and ``val`` for a
    ``valid`` group), so the published split is kept: ``Splits.from_column(cohort, "split")``.

    Parameters
    ----------
    path : str or Path
        E.g. ``../shared/data/deepsurv/whas_train_test.h5``.
    """
    import h5py

    path = Path(path)
    if not path.exists():
        raise CohortError(f"DeepSurv file not found: '{path}'.")
    frames = []
    with h5py.File(path, "r") as handle:
        for group in ("train", "valid", "test"):
            if group not in handle:
                continue
            x = np.asarray(handle[group]["x"], dtype=np.float32)
            part = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
            part["time"] = np.asarray(handle[group]["t"], dtype=float)
            part["event"] = np.asarray(handle[group]["e"]).astype(int)
            part["split"] = "val" if group == "valid" else group
            frames.append(part)
    if not frames:
        raise CohortError(f"'{path.name}' has none of the groups train/valid/test.")
    frame = pd.concat(frames, ignore_index=True)
    frame.insert(0, "row_id", np.arange(len(frame)))
    return Cohort(frame, id="row_id", duration="time", event="event", meta=["split"])


def load_support2(path: str | Path, *, outcome: str = "survival",
                  exclude: tuple[str, ...] = SUPPORT2_LEAKS) -> Cohort:
    """The SUPPORT2 cohort (9,105 seriously ill hospitalised adults).

    Parameters
    ----------
    path : str or Path
        ``support2.csv``.
    outcome : {"survival", "hospdead"}
        Time to death (``d.time`` days, ``death``) or in-hospital death as a binary label.
    exclude : tuple of str
        Columns dropped from the features; defaults to :data:`SUPPORT2_LEAKS`, the columns that
        leak the outcome.
    """
    frame = pd.read_csv(Path(path))
    drop = [c for c in exclude if c in frame.columns]
    if outcome == "survival":
        keep = [c for c in drop if c not in ("death", "d.time")]
        return Cohort(frame, id="sno", duration="d.time", event="death", exclude=keep)
    if outcome == "hospdead":
        keep = [c for c in drop if c != "hospdead"]
        return Cohort(frame, id="sno", label="hospdead", exclude=keep)
    raise CohortError(f"outcome must be 'survival' or 'hospdead'; got {outcome!r}.")


_PBC2_BASELINE = ("drug", "age", "sex")
_PBC2_LABS = ("serBilir", "serChol", "albumin", "alkaline", "SGOT", "platelets", "prothrombin",
              "histologic")
_PBC2_BINARY = ("ascites", "hepatomegaly", "spiders")
_PBC2_EDEMA = {"No edema": 0.0, "edema no diuretics": 0.5, "edema despite diuretics": 1.0}


#: PBC2's competing causes: death, and liver transplantation (after which PBC death is gone).
PBC2_CAUSES = {1: "death", 2: "transplant"}


def load_pbc2(path: str | Path, *, competing: bool = False) -> Cohort:
    """The Mayo PBC2 longitudinal cohort (312 patients, 1,945 visits).

    Baseline ``drug``, ``age``, ``sex`` are static features; lab values and the signs
    (ascites, hepatomegaly, spiders as 0/1, edema coded 0 / 0.5 / 1) are longitudinal with visit
    time ``year``. Outcome: ``years`` to death (``status2`` = 1) or censoring.

    Parameters
    ----------
    path : str or Path
        The PBC2 CSV, e.g. ``../shared/data/auton/pbc2.csv``.
    competing : bool, default False
        Death vs transplant as competing risks: the event column ``status`` (0 = alive at the
        end of follow-up, 1 = died, 2 = transplanted; :data:`PBC2_CAUSES`) instead of
        ``status2``, which censors the 29 transplanted patients.
    """
    frame = pd.read_csv(Path(path))
    frame = frame.sort_values(["id", "year"], kind="stable")
    static = frame.groupby("id", sort=True).first().reset_index()
    static["status"] = static["status"].map({"alive": 0, "dead": 1, "transplanted": 2})
    static = static[["id", *_PBC2_BASELINE, "years", "status2" if not competing else "status"]]
    long = frame[["id", "year", *_PBC2_LABS]].copy()
    for col in _PBC2_BINARY:
        long[col] = frame[col].map({"Yes": 1.0, "No": 0.0})
    long["edema"] = frame["edema"].map(_PBC2_EDEMA)
    if competing:
        return Cohort(static, id="id", duration="years", event="status", causes=PBC2_CAUSES,
                      longitudinal=long, time="year")
    return Cohort(static, id="id", duration="years", event="status2", longitudinal=long,
                  time="year")
