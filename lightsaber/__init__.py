"""lightsaber: clinical and survival modelling from cohort to tracked model.

The handful of names a notebook user needs are re-exported here; everything else lives in the
sub-packages. ``ls.models``, ``ls.losses``, ``ls.metrics`` and ``ls.tracking`` are imported on
first use (they pull in torch and MLflow).

Examples
--------
>>> import lightsaber as ls
>>> cohort = ls.datasets.load_sample_mortality(n_patients=200)
>>> splits = cohort.split(val=0.15, test=0.15, stratify="label", seed=7)
>>> sorted(splits.names)
['test', 'train', 'val']
"""

import importlib
from typing import Any

from lightsaber import _moved
from lightsaber._version import __version__
from lightsaber.data import Cohort, Preprocessor, SequencePreprocessor, Splits, datasets
from lightsaber.exceptions import LightsaberError
from lightsaber.training.fit import fit
from lightsaber.training.run import Run

_moved.install()  # old module paths (pickled models, YAML _target_) keep resolving

_LAZY = ("losses", "metrics", "models", "reports", "serving", "tracking", "tuning")

__all__ = [
    "Cohort",
    "LightsaberError",
    "Preprocessor",
    "Run",
    "SequencePreprocessor",
    "Splits",
    "__version__",
    "datasets",
    "fit",
    "losses",
    "metrics",
    "models",
    "reports",
    "serving",
    "tracking",
    "tune",
    "tuning",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return importlib.import_module(f"lightsaber.{name}")
    if f"lightsaber.{name}" in _moved.MOVED:  # ls.registry: moved, with a DeprecationWarning
        return importlib.import_module(f"lightsaber.{name}")
    if name == "tune":  # ls.tune: imported on first use, like the sub-packages
        return importlib.import_module("lightsaber.tuning").tune
    raise AttributeError(f"module 'lightsaber' has no attribute {name!r}")
