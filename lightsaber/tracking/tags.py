"""Every MLflow tag name lightsaber writes or reads, in one place.

A tag is part of the tracking store's format: reports, the model registry, resumed studies and
``lightsaber reproduce`` read back what ``ls.fit`` and ``ls.tune`` wrote, so a name is defined
once, here, and imported wherever it is used. ``docs/tracking.md`` describes each.

Examples
--------
>>> ROLE, SPLIT_HASH
('lightsaber.role', 'lightsaber.split_hash')
>>> warning_tag("small_split")
'lightsaber.warning.small_split'
"""

from __future__ import annotations

__all__ = [
    "BEST_SAMPLE",
    "BEST_TRIAL",
    "DATA_FINGERPRINT",
    "EXPERIMENT",
    "MAX_TAG",
    "MAX_TRIALS",
    "METRIC",
    "METRIC_VALUE",
    "MODEL_DIGESTS",
    "PARENT",
    "PREFIX",
    "REFIT_RUN",
    "REPORT",
    "REPORT_RUNS",
    "REPRODUCES",
    "ROLE",
    "RUN_ID",
    "SKIPPED_METRICS",
    "SPLIT_HASH",
    "STUDY",
    "STUDY_FAILURE",
    "SUPERSEDED",
    "TRIAL",
    "TRIAL_ERROR",
    "TRIAL_NODE",
    "TRIAL_SAMPLE",
    "TRIAL_STATUS",
    "TRIAL_TRACEBACK",
    "VERSION",
    "WARNING_PREFIX",
    "warning_tag",
]

#: Namespace of every lightsaber tag.
PREFIX = "lightsaber."
#: MLflow's own tag linking a child run (trial, refit) to its parent (study).
PARENT = "mlflow.parentRunId"
#: Longest tag value lightsaber writes (MLflow's limit is larger; long texts are cut).
MAX_TAG = 5000

# --- every run ---------------------------------------------------------------------------
#: What a run is: ``trial``, ``study``, ``refit``, ``report`` (absent: a plain ``ls.fit``).
ROLE = f"{PREFIX}role"
#: SHA-256 of the split manifest: runs compare only on the same split.
SPLIT_HASH = f"{PREFIX}split_hash"
#: Fingerprint of the cohort's content (no identifiers), checked by ``reproduce``.
DATA_FINGERPRINT = f"{PREFIX}data_fingerprint"
#: ``lightsaber.warning.<kind>``: a warning ``ls.fit`` issued, with its text.
WARNING_PREFIX = f"{PREFIX}warning."
#: The default metrics a split could not support, with reasons (JSON).
SKIPPED_METRICS = f"{PREFIX}skipped_metrics"
#: On a ``reproduce`` run: the run it reproduces.
REPRODUCES = f"{PREFIX}reproduces"
#: SHA-256 of every file of the run's ``model/`` artifact, recorded when it is logged and
#: checked before it is unpickled (compact JSON, see :mod:`lightsaber.tracking.integrity`).
MODEL_DIGESTS = f"{PREFIX}model_digests"

# --- reports ------------------------------------------------------------------------------
#: On a report run (``lightsaber report --log``): ``"true"``.
REPORT = f"{PREFIX}report"
#: On a report run: the run ids it covers.
REPORT_RUNS = f"{PREFIX}report.runs"

# --- model registry (version tags) --------------------------------------------------------
RUN_ID = f"{PREFIX}run_id"
VERSION = f"{PREFIX}version"
METRIC = f"{PREFIX}metric"
METRIC_VALUE = f"{PREFIX}metric_value"
EXPERIMENT = f"{PREFIX}experiment"

# --- tuning ---------------------------------------------------------------------------------
STUDY = f"{PREFIX}study"
STUDY_FAILURE = f"{PREFIX}study.failure"
MAX_TRIALS = f"{PREFIX}max_trials"
TRIAL = f"{PREFIX}trial"
TRIAL_SAMPLE = f"{PREFIX}trial.sample"
TRIAL_STATUS = f"{PREFIX}trial.status"
TRIAL_ERROR = f"{PREFIX}trial.error_class"
TRIAL_NODE = f"{PREFIX}trial.node"
TRIAL_TRACEBACK = f"{PREFIX}trial.traceback"
BEST_TRIAL = f"{PREFIX}best_trial"
BEST_SAMPLE = f"{PREFIX}best_trial.sample_hash"
#: On a study: the run id of its current refit of the best trial.
REFIT_RUN = f"{PREFIX}refit_run_id"
#: On an earlier refit: the refit that replaced it.
SUPERSEDED = f"{PREFIX}refit.superseded_by"


def warning_tag(kind: str) -> str:
    """The tag of one kind of run warning, ``lightsaber.warning.<kind>``."""
    return f"{WARNING_PREFIX}{kind}"
