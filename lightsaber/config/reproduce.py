"""Re-run the config a run logged and compare: same test metrics, same data, same split.

What ``lightsaber reproduce`` runs. :func:`prepare_reproduction` reads the run's logged config
(:func:`~lightsaber.config.logged.logged_config`) and validates it, data included, into a
:class:`ReproductionPlan`; :meth:`ReproductionPlan.run` fits and tracks it again (the new run is
tagged ``lightsaber.reproduces``) and returns a :class:`Reproduction`: the test metrics of both
runs, their data fingerprints (tag ``lightsaber.data_fingerprint``) and split hashes (tag
``lightsaber.split_hash``), and notes on what changed. :func:`reproduce_run` does both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lightsaber.config.experiment import Experiment, prepare, run_fit
from lightsaber.config.loading import load_config
from lightsaber.config.logged import logged_config

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["Reproduction", "ReproductionPlan", "prepare_reproduction", "reproduce_run"]


@dataclass(frozen=True)
class Reproduction:
    """A run and its re-run, compared.

    Attributes
    ----------
    original_run_id : str
        The run that was reproduced.
    run : Run
        The new run (:class:`lightsaber.Run`).
    original_metrics : dict
        ``{metric: value}``: the test metrics the original run logged.
    metrics : dict
        ``{metric: value}``: the new run's finite test metrics.
    original_fingerprint : str or None
        The original run's data fingerprint (``None``: logged before lightsaber recorded one).
    fingerprint : str
        The data fingerprint now.
    original_split_hash, split_hash : str or None
        The split hashes of both runs.

    Examples
    --------
    >>> r = Reproduction("a" * 32, None, {"auc_roc": 0.8}, {"auc_roc": 0.8}, "f" * 64,
    ...                  "f" * 64, None, None)
    >>> r.reproduced, r.same_data, r.notes
    (True, True, [])
    """

    original_run_id: str
    run: Any
    original_metrics: dict[str, float]
    metrics: dict[str, float]
    original_fingerprint: str | None
    fingerprint: str
    original_split_hash: str | None
    split_hash: str | None

    @property
    def run_id(self) -> str:
        """The new run's id."""
        return self.run.run_id

    @property
    def differences(self) -> dict[str, tuple[float | None, float | None]]:
        """``{metric: (then, now)}`` of the test metrics that differ (or exist in one run only)."""
        names = sorted(k for k in set(self.original_metrics) | set(self.metrics)
                       if self.original_metrics.get(k) != self.metrics.get(k))
        return {k: (self.original_metrics.get(k), self.metrics.get(k)) for k in names}

    @property
    def reproduced(self) -> bool:
        """Whether every test metric is identical."""
        return not self.differences

    @property
    def same_data(self) -> bool:
        """Whether both runs read data with the same fingerprint."""
        return self.original_fingerprint == self.fingerprint

    @property
    def data_note(self) -> str:
        """Why the data may differ (fingerprints changed, or none logged then); else ``""``."""
        was, now = self.original_fingerprint, self.fingerprint
        if was is None:
            from lightsaber.tracking.tags import DATA_FINGERPRINT as FINGERPRINT_TAG

            return (f"run {self.original_run_id} has no data fingerprint (tag {FINGERPRINT_TAG}: "
                    "it was logged before lightsaber recorded one), so whether the data changed "
                    f"cannot be told; the data now have fingerprint {now[:12]}")
        if was != now:
            return (f"the data changed since run {self.original_run_id}: data fingerprint "
                    f"{was[:12]} then, {now[:12]} now (a changed value, column, dtype or "
                    "patient order in the files the config reads)")
        return ""

    @property
    def split_note(self) -> str:
        """That the split differs (both runs have a split hash and they differ); else ``""``."""
        was, now = self.original_split_hash, self.split_hash
        if was and now and was != now:
            return (f"the split differs from run {self.original_run_id}'s: split hash "
                    f"{was[:12]} then, {now[:12]} now")
        return ""

    @property
    def notes(self) -> list[str]:
        """The warnings a reproduction deserves: :attr:`data_note`, :attr:`split_note`."""
        return [note for note in (self.data_note, self.split_note) if note]


@dataclass(frozen=True)
class ReproductionPlan:
    """A logged run's config, validated and ready to re-run; nothing has run yet.

    Made by :func:`prepare_reproduction`.

    Attributes
    ----------
    run_id : str
        The run to reproduce.
    experiment : Experiment
        Its logged config, prepared; tracking goes to the run's store.
    logged : mlflow.entities.RunData
        The run's logged metrics and tags.
    client : mlflow.MlflowClient
        A client on the run's store.
    """

    run_id: str
    experiment: Experiment
    logged: Any
    client: MlflowClient

    def run(self, *, progress: bool | None = None) -> Reproduction:
        """Fit and track the config again and compare with the original run.

        Parameters
        ----------
        progress : bool, optional
            Progress bars (default: the config's ``trainer.progress``).

        Returns
        -------
        Reproduction
        """
        from lightsaber.data.fingerprint import cohort_fingerprint
        from lightsaber.tracking.model_registry import REPRODUCES_TAG
        from lightsaber.tracking.runs import SPLIT_HASH_TAG
        from lightsaber.tracking.tags import DATA_FINGERPRINT as FINGERPRINT_TAG

        logged = self.logged
        original = {k[len("test_"):]: v for k, v in logged.metrics.items()
                    if k.startswith("test_")}
        run = run_fit(self.experiment, progress=progress, tags={REPRODUCES_TAG: self.run_id})
        now = self.client.get_run(run.run_id).data.tags
        fingerprint = now.get(FINGERPRINT_TAG)
        if fingerprint is None:
            fingerprint = cohort_fingerprint(self.experiment.cohort)
        metrics = {k: v for k, v in run.metrics.get("test", {}).items() if math.isfinite(v)}
        return Reproduction(self.run_id, run, original, metrics, logged.tags.get(FINGERPRINT_TAG),
                            fingerprint, logged.tags.get(SPLIT_HASH_TAG), now.get(SPLIT_HASH_TAG))


def prepare_reproduction(run_id: str, *, tracking_uri: str | None = None) -> ReproductionPlan:
    """Read and validate the config run ``run_id`` logged; nothing runs.

    Parameters
    ----------
    run_id : str
        MLflow run id.
    tracking_uri : str, optional
        Store holding the run (argument, else ``MLFLOW_TRACKING_URI``, else ``./mlflow.db``);
        the re-run is recorded there too.

    Returns
    -------
    ReproductionPlan

    Raises
    ------
    TrackingError
        When the store cannot be opened.
    ConfigError
        For an unknown run, one without a logged config, or a config that no longer validates
        (a data file gone, say).
    """
    from lightsaber.tracking.client import tracking_client

    client, uri = tracking_client(tracking_uri)
    config = logged_config(run_id, client)
    experiment = prepare(load_config(config, overrides=[f"tracking.tracking_uri={uri}"]))
    return ReproductionPlan(run_id, experiment, client.get_run(run_id).data, client)


def reproduce_run(run_id: str, *, tracking_uri: str | None = None,
                  progress: bool | None = None) -> Reproduction:
    """Re-run the config a run logged and compare the test metrics, data and split.

    :func:`prepare_reproduction` followed by :meth:`ReproductionPlan.run`.

    Parameters
    ----------
    run_id : str
        MLflow run id.
    tracking_uri : str, optional
        Store holding the run; the re-run is recorded there.
    progress : bool, optional
        Progress bars (default: the config's ``trainer.progress``).

    Returns
    -------
    Reproduction
        ``reproduced`` tells whether every test metric is identical; ``notes`` what may
        explain a difference.

    Examples
    --------
    >>> import tempfile
    >>> from lightsaber.config import prepare, run_fit
    >>> folder = tempfile.TemporaryDirectory()
    >>> uri = f"sqlite:///{folder.name}/mlflow.db"
    >>> run = run_fit(prepare(
    ...     {"data": {"_target_": "lightsaber.data.datasets.load_sksurv", "name": "whas500"},
    ...      "model": {"_target_": "sksurv.linear_model.CoxPHSurvivalAnalysis", "alpha": 0.1},
    ...      "metrics": ["c_index"], "tracking": {"tracking_uri": uri, "log_model": False}}),
    ...     progress=False)
    >>> result = reproduce_run(run.run_id, tracking_uri=uri, progress=False)
    >>> result.reproduced, result.same_data, result.notes
    (True, True, [])
    >>> folder.cleanup()
    """
    return prepare_reproduction(run_id, tracking_uri=tracking_uri).run(progress=progress)
