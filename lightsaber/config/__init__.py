"""Declarative experiments: YAML configs validated up front, built into the Python API's objects.

>>> import lightsaber.config as lc
>>> exp = lc.prepare({"data": {"_target_": "lightsaber.data.datasets.load_sksurv",
...                            "name": "whas500"},
...                   "model": {"_target_": "sksurv.linear_model.CoxPHSurvivalAnalysis"}},
...                  overrides=["split.seed=1"])
>>> exp.task
'survival'

See ``docs/config.md`` for the schema and ``docs/cli.md`` for the ``lightsaber`` command.
"""

from lightsaber.config.adapters import CriterionAdapter, LossAdapter, MetricAdapter
from lightsaber.config.evaluate import evaluate_run
from lightsaber.config.experiment import Experiment, prepare, run_fit
from lightsaber.config.loading import load_config, merge_sources, validate
from lightsaber.config.reproduce import Reproduction, reproduce_run
from lightsaber.config.schema import ExperimentConfig
from lightsaber.config.targets import instantiate, locate
from lightsaber.config.tuning import run_tune
from lightsaber.exceptions import ConfigError

__all__ = [
    "ConfigError",
    "CriterionAdapter",
    "Experiment",
    "ExperimentConfig",
    "LossAdapter",
    "MetricAdapter",
    "Reproduction",
    "evaluate_run",
    "instantiate",
    "load_config",
    "locate",
    "merge_sources",
    "prepare",
    "reproduce_run",
    "run_fit",
    "run_tune",
    "validate",
]
