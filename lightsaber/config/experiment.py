"""A validated experiment: everything built from a config before anything runs, then run.

:func:`prepare` turns a config into the cohort, splits, preprocessor, estimator and metrics,
raising :class:`~lightsaber.config.ConfigError` for anything wrong (nothing is written to MLflow
before that). :func:`run_fit` then calls :func:`lightsaber.fit` with exactly these objects — the
same call a notebook would make — and logs the resolved config with the run.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from lightsaber.config.adapters import MetricAdapter
from lightsaber.config.data import build_cohort, build_preprocessor, build_splits
from lightsaber.config.loading import load_config
from lightsaber.config.model import build_model, check_adapter, network_class, resolve_transforms
from lightsaber.config.schema import ExperimentConfig, MetricSpec
from lightsaber.config.search import check_space
from lightsaber.config.targets import instantiate, locate
from lightsaber.data.cohort import Cohort
from lightsaber.data.preprocess import Preprocessor
from lightsaber.data.splits import Splits
from lightsaber.exceptions import ConfigError, Issue
from lightsaber.models.protocol import is_net, task_of

__all__ = ["Experiment", "prepare", "run_fit"]

#: What a custom metric's adapter can map, by task (none yet for competing risks).
METRIC_QUANTITIES = {"survival": ("prediction", "duration", "event", "input"),
                     "classification": ("prediction", "label", "input")}


@dataclass
class Experiment:
    """The objects a config describes, validated and ready to run.

    Attributes
    ----------
    config : ExperimentConfig
    cohort, splits, preprocessor, model
        What :func:`lightsaber.fit` receives.
    task : str
    metrics : list of str or None
        Registry metric names.
    custom_metrics : dict
        ``{name: MetricAdapter}`` computed per split after fitting.
    """

    config: ExperimentConfig
    cohort: Cohort
    splits: Splits
    preprocessor: Preprocessor
    model: Any
    task: str
    metrics: list[str] | None = None
    custom_metrics: dict[str, MetricAdapter] = field(default_factory=dict)
    space: Any = None

    @property
    def resolved_config(self) -> dict[str, Any]:
        """The full config, defaults filled (what is logged as ``config.json``)."""
        return self.config.resolved()

    def fit_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`lightsaber.fit` (besides model, cohort and splits)."""
        cfg = self.config
        out: dict[str, Any] = {
            "task": self.task, "preprocessor": self.preprocessor,
            "early_stopping": cfg.trainer.early_stopping, "monitor": cfg.trainer.monitor,
            "metrics": self.metrics, "flatten": cfg.preprocess.flatten,
            "flatten_window": cfg.preprocess.flatten_window,
        }
        if cfg.evaluation.times is not None:
            out["times"] = list(cfg.evaluation.times)
        if cfg.calibration.method is not None:
            out["calibrate"] = cfg.calibration.method
            if cfg.calibration.horizons is not None:  # not classification (checked up front)
                from lightsaber.calibration import resolve_calibrator

                out["calibrate"] = resolve_calibrator(cfg.calibration.method, self.task
                                                      ).set_params(
                    horizons=list(cfg.calibration.horizons))
        return out


def _task(config: ExperimentConfig, target: Any, cohort: Cohort) -> str:
    """The experiment's task: ``task``, else the model's, else the cohort's; checked."""
    task = config.task
    if task is None:
        task = task_of(target) if is_net(target) else None
    if task is None and isinstance(target, type):
        module = target.__module__
        if module.startswith("sksurv"):
            task = "survival"
        else:
            from sklearn.base import ClassifierMixin

            task = "classification" if issubclass(target, ClassifierMixin) else None
    task = task or task_of(target) or (cohort.task if cohort.task in ("survival", "competing")
                                          else "classification")
    if task == "competing" and cohort.causes is None:
        raise ConfigError.at("data.causes", "a competing-risks model needs the cohort's causes",
                             allowed="data.causes: {1: death, 2: discharge} (the codes of the "
                                     "data.event column; 0 = censored)")
    if cohort.causes is not None:
        return task  # which models fit competing causes: _check_model_task, once built
    if task == "survival" and cohort.duration is None:
        raise ConfigError.at("data.duration", "a survival model needs `duration` and `event`",
                             allowed="the follow-up time column")
    if task == "classification" and cohort.label is None:
        raise ConfigError.at("data.label", "a classifier needs a `label` column",
                             allowed="the outcome column")
    return task


def _runtime_values(cohort: Cohort, splits: Splits, pre: Preprocessor, sequences: bool,
                    flatten: Sequence[str] | None, window: Any) -> dict[str, Any]:
    from sklearn.base import clone

    train = splits.cohorts(cohort)["train"]
    if cohort.has_longitudinal and not sequences and flatten is not None:
        train = train.flatten(tuple(flatten), window=window)
    features = clone(pre).fit(train).transform(train)
    values: dict[str, Any] = {"n_features": int(features.static.shape[1]),
                              "n_train": int(train.n_patients), "n_sequence_features": None,
                              "n_steps": None, "n_classes": None}
    if features.sequences is not None:
        _, values["n_steps"], values["n_sequence_features"] = features.sequences.shape
    if cohort.label is not None:
        values["n_classes"] = int(np.unique(cohort.y_label).size)
    return values


def _check_model_task(model: Any, cohort: Cohort, task: str) -> None:
    """ls.fit's competing-risks refusals (a single-event model on competing causes ...), now."""
    from lightsaber.exceptions import FitError
    from lightsaber.training.competing import check_competing_task

    try:
        check_competing_task(model, cohort, task, task_of(model))
    except FitError as exc:
        raise ConfigError.at("model._target_", str(exc)) from None


def _cause_hint(entry: str, task: str, causes: Mapping[int, str] | None) -> str:
    """For ``wolbers_c_death``: name the metric without its cause (reported per cause)."""
    from lightsaber.metrics import list_metrics

    if task != "competing":
        return ""
    for name in list_metrics("competing"):
        if entry.startswith(f"{name}_") and entry[len(name) + 1:] in (causes or {}).values():
            return (f"list '{name}': competing-risks metrics are computed for every cause and "
                    f"reported as {entry}")
    return ""


def _check_metrics(config: ExperimentConfig, task: str,
                   causes: Mapping[int, str] | None = None
                   ) -> tuple[list[str] | None, dict[str, MetricAdapter]]:
    from lightsaber.metrics import MetricError, get_metric, list_metrics

    if config.metrics is None:
        return None, {}
    names: list[str] = []
    custom: dict[str, MetricAdapter] = {}
    issues: list[Issue] = []
    for i, entry in enumerate(config.metrics):
        path = f"metrics[{i}]"
        if isinstance(entry, MetricSpec):
            if task not in METRIC_QUANTITIES:
                issues.append(Issue(path, f"custom metrics are not yet supported for {task} "
                                          "experiments", entry.name,
                                    f"registry metrics: {', '.join(list_metrics(task))}"))
                continue
            if entry.name in custom or entry.name in names:
                issues.append(Issue(f"{path}.name", "duplicate metric name", entry.name))
                continue
            custom[entry.name] = _custom_metric(entry, path, task)
            continue
        try:
            metric = get_metric(entry)
        except MetricError as exc:
            issues.append(Issue(path, str(exc).split(";")[0], entry,
                                "a registered metric name (lightsaber.metrics.list_metrics())",
                                _cause_hint(entry, task, causes) or _hint(str(exc))))
            continue
        if metric.task != task:
            issues.append(Issue(path, f"evaluates {metric.task} models, not {task}", entry,
                                f"a {task} metric: {', '.join(list_metrics(task))}"))
        names.append(metric.name)
    if issues:
        raise ConfigError(issues)
    return names or None, custom


def _hint(text: str) -> str:
    return text[text.index("Did you mean"):].rstrip(".").replace("Did", "did") \
        if "Did you mean" in text else ""


def _custom_metric(entry: MetricSpec, path: str, task: str) -> MetricAdapter:
    fn = locate(entry.target, f"{path}._target_")
    options = instantiate(entry.arguments, path)
    check_adapter(fn, entry.adapter, path, METRIC_QUANTITIES[task], options)
    return MetricAdapter(fn, entry.adapter.arguments if entry.adapter else {},
                         resolve_transforms(entry.adapter, path), options)


def _check_trainer(config: ExperimentConfig, model: Any, task: str) -> None:
    monitor = config.trainer.monitor
    if monitor is None:
        return
    if not is_net(model):
        raise ConfigError.at("trainer.monitor", "applies to neural-network models only",
                             value=monitor, allowed="remove it (or use trainer.early_stopping)")
    from lightsaber.models.skorch.scoring import metric_direction

    try:
        metric_direction(monitor, task)
    except Exception as exc:
        if task == "competing":
            raise ConfigError.at("trainer.monitor", "competing-risks nets stop early on the "
                                 "validation loss only", value=monitor, allowed="'loss'",
                                 hint="their metrics are per cause and scored after fitting, "
                                      "as <split>_<metric>_<cause name>") from exc
        raise ConfigError.at("trainer.monitor", str(exc).split(";")[0], value=monitor,
                             allowed="'loss' or a metric of the task", hint=_hint(str(exc))
                             ) from exc


def _check_calibration(config: ExperimentConfig, task: str) -> None:
    if config.calibration.method is None:
        if config.calibration.horizons is not None:
            raise ConfigError.at("calibration.horizons", "horizons need a calibration method",
                                 value=config.calibration.horizons,
                                 allowed="set calibration.method too")
        return
    from lightsaber.training.fit import fit

    accepted = inspect.signature(fit).parameters
    if "calibrate" not in accepted:
        raise ConfigError.at("calibration.method", "calibration is not available in this "
                             "lightsaber installation", value=config.calibration.method,
                             allowed="null")
    import lightsaber.calibration as calibration

    methods = {"classification": calibration.CLASSIFIER_METHODS,
               "survival": calibration.SURVIVAL_METHODS,
               "competing": calibration.COMPETING_METHODS}[task]
    timed = (*calibration.SURVIVAL_METHODS, *calibration.COMPETING_METHODS)
    if config.calibration.horizons is not None and (task == "classification" or
                                                    config.calibration.method not in timed):
        raise ConfigError.at("calibration.horizons", "horizons apply to survival and "
                             "competing-risks recalibration only",
                             value=config.calibration.horizons,
                             allowed=f"null, or calibration.method in {sorted(set(timed))} "
                                     "for a survival or competing-risks model")
    if config.calibration.method not in methods:
        raise ConfigError.at("calibration.method", f"does not apply to a {task} model",
                             value=config.calibration.method, allowed=", ".join(methods))


def prepare(config: ExperimentConfig | str | Path | Mapping[str, Any], *,
            overrides: Sequence[str] = ()) -> Experiment:
    """Validate a config completely and build its objects; nothing is fitted or tracked.

    Parameters
    ----------
    config : ExperimentConfig, path or mapping
        A validated config, or what :func:`~lightsaber.config.load_config` accepts.
    overrides : sequence of str
        ``key.path=value`` overrides (when ``config`` is a path or mapping).

    Raises
    ------
    ConfigError
        Naming the key path of the first problem found.

    Examples
    --------
    >>> exp = prepare({"data": {"_target_": "lightsaber.data.datasets.load_sksurv",
    ...                         "name": "whas500"},
    ...                "model": {"_target_": "sksurv.linear_model.CoxPHSurvivalAnalysis"}})
    >>> exp.task, type(exp.model).__name__, sorted(exp.splits.names)
    ('survival', 'CoxPHSurvivalAnalysis', ['test', 'train', 'val'])
    """
    if not isinstance(config, ExperimentConfig):
        config = load_config(config, overrides=overrides)
    cohort = build_cohort(config)
    target = locate(config.model.target, "model._target_")
    task = _task(config, target, cohort)
    metrics, custom = _check_metrics(config, task, cohort.causes)
    splits = build_splits(config, cohort)
    sequences = False
    if is_net(target):
        from lightsaber.models.protocol import uses_sequences

        sequences = uses_sequences(type("_", (), {"module": network_class(config, target)}))
    if sequences and not cohort.has_longitudinal:
        raise ConfigError.at("model.network", "this network reads sequences but the data "
                             "have no longitudinal table", value=config.model.network.target
                             if config.model.network else None,
                             allowed="set data.longitudinal, or use a static network")
    pre = build_preprocessor(config, cohort, sequences)

    @cache
    def runtime() -> dict[str, Any]:
        return _runtime_values(cohort, splits, pre, sequences, config.preprocess.flatten,
                               config.preprocess.flatten_window)

    model = build_model(config, task, runtime)
    _check_model_task(model, cohort, task)
    _check_trainer(config, model, task)
    _check_calibration(config, task)
    if config.evaluation.times is not None and task == "classification":
        raise ConfigError.at("evaluation.times", "sets the evaluation grid of survival and "
                             "competing-risks models", value=config.evaluation.times,
                             allowed=f"remove it (this is a {task} experiment)")
    space = None
    if config.tuning is not None and task == "competing":
        raise ConfigError.at("tuning", "tuning is not yet supported for competing risks",
                             allowed="remove the tuning section (and use lightsaber fit)")
    if config.tuning is not None:
        space = check_space(config.tuning.space, model)  # "default": the model's space
        if config.tuning.metric is not None:
            try:
                _check_metrics(config.model_copy(update={"metrics": [config.tuning.metric]}),
                               task, cohort.causes)
            except ConfigError as exc:
                raise ConfigError([Issue("tuning.metric", i.problem, i.value, i.allowed, i.hint)
                                   for i in exc.issues]) from None
    return Experiment(config, cohort, splits, pre, model, task, metrics, custom, space)


def run_fit(experiment: Experiment, *, progress: bool | None = None, track: bool | None = None,
            tags: Mapping[str, str] | None = None) -> Any:
    """Fit, evaluate and (by default) track a prepared experiment; returns the ``Run``.

    The resolved config is logged as ``config.json``; custom metrics are added to
    ``run.metrics`` and logged as ``<split>_<name>``.
    """
    from lightsaber.training.fit import fit

    cfg = experiment.config
    tracking = cfg.tracking
    enabled = tracking.enabled if track is None else track
    run = fit(experiment.model, experiment.cohort, experiment.splits,
              **experiment.fit_kwargs(), track=enabled, experiment=tracking.experiment,
              tracking_uri=tracking.tracking_uri, run_name=tracking.run_name or cfg.name,
              tags={**tracking.tags, **dict(tags or {})}, log_model=tracking.log_model,
              config=experiment.resolved_config,
              progress=cfg.trainer.progress if progress is None else progress)
    if experiment.custom_metrics:
        extra = custom_metric_values(experiment, run)
        for split, values in extra.items():
            run.metrics.setdefault(split, {}).update(values)
        if run.run_id is not None:
            _log_metrics(run, extra)
    return run


def quantities(experiment: Experiment, run: Any, split: str) -> dict[str, Any]:
    """What adapters can map for one split: prediction, label / duration + event, input."""
    part = experiment.splits.cohorts(experiment.cohort)[split]
    out: dict[str, Any] = {"prediction": run.predictions[split],
                           "input": run.pipeline.transform(part)}
    if experiment.task == "classification":
        out["label"] = part.y_label
    else:
        y = part.target("survival")
        out["duration"], out["event"] = y["time"], y["event"]
    return out


def custom_metric_values(experiment: Experiment, run: Any) -> dict[str, dict[str, float]]:
    """``{split: {name: value}}`` of the config's custom metrics."""
    out: dict[str, dict[str, float]] = {}
    for split in run.predictions:
        data = quantities(experiment, run, split)
        out[split] = {name: metric(data, experiment.task)
                      for name, metric in experiment.custom_metrics.items()}
    return out


def _log_metrics(run: Any, values: Mapping[str, Mapping[str, float]]) -> None:
    import time

    from mlflow.entities import Metric

    from lightsaber.tracking.client import open_client

    stamp = int(time.time() * 1000)
    metrics = [Metric(f"{split}_{name}", float(v), stamp, 0)
               for split, items in values.items() for name, v in items.items()
               if np.isfinite(v)]
    open_client(run.tracking_uri).log_batch(run.run_id, metrics=metrics)
