"""Run a config's ``tuning`` study: :func:`lightsaber.tune` with the prepared experiment's objects.

What ``lightsaber tune`` runs, and the tuning counterpart of :func:`~lightsaber.config.run_fit`:
the search space checked by :func:`~lightsaber.config.prepare`, the study settings of the
``tuning`` section, the tracking settings and the fit arguments of the rest of the config.
"""

from __future__ import annotations

from typing import Any

from lightsaber.config.experiment import Experiment
from lightsaber.exceptions import ConfigError

__all__ = ["run_tune"]


def run_tune(experiment: Experiment, *, max_trials: int | None = None,
             progress: bool | None = None) -> Any:
    """Run the experiment's hyperparameter study, then (``tuning.refit``) refit the best model.

    Parameters
    ----------
    experiment : Experiment
        A prepared experiment (:func:`~lightsaber.config.prepare`) whose config has a
        ``tuning`` section.
    max_trials : int, optional
        Overrides ``tuning.max_trials``.
    progress : bool, optional
        Progress bars (default: the config's ``trainer.progress``).

    Returns
    -------
    StudyResult
        What :func:`lightsaber.tune` returns (``best_params``, ``best_value``, ...).

    Raises
    ------
    ConfigError
        At path ``tuning`` when the config has no tuning section.
    """
    spec = experiment.config.tuning
    if spec is None:
        raise ConfigError.at("tuning", "required key is missing for `lightsaber tune`",
                             allowed="a tuning section (tuning: {space: default} searches the "
                                     "model's default space)")
    from lightsaber.tuning import tune

    cfg = experiment.config
    fit_kwargs = experiment.fit_kwargs()
    fit_kwargs.pop("task", None)
    tracking = cfg.tracking
    return tune(experiment.model, experiment.cohort, experiment.splits, experiment.space,
                algorithm=spec.algorithm, max_trials=max_trials or spec.max_trials,
                metric=spec.metric, seed=cfg.seed, backend=spec.backend, address=spec.address,
                resume=spec.resume, study_name=spec.study_name or cfg.name,
                experiment=tracking.experiment, tracking_uri=tracking.tracking_uri,
                refit=spec.refit, baseline=spec.baseline,
                progress=cfg.trainer.progress if progress is None else progress,
                config=experiment.resolved_config, **fit_kwargs)
