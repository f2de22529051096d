"""Hyperparameter tuning and ablation studies, resumable and recorded in MLflow.

:func:`tune` runs a study (hyperopt TPE or random search, a grid, or an ablation design) in
this process or on Ray Tune; every trial is a child run of the study's MLflow parent run, and a
study killed mid-way resumes from the tracking store. See ``docs/tuning.md``.

Examples
--------
>>> from lightsaber.tuning import Choice, LogUniform, space_from_dict
>>> space_from_dict({"C": {"loguniform": [1e-3, 10]}, "penalty": {"choice": ["l2", None]}})
{'C': LogUniform(low=0.001, high=10), 'penalty': Choice(options=['l2', None])}
"""

from lightsaber.exceptions import SearchSpaceError, SpaceKeyError, TrialDiverged, TuningError
from lightsaber.tuning.analysis import StudyResult
from lightsaber.tuning.defaults import default_space, has_default_space
from lightsaber.tuning.space import (
    Choice,
    Dimension,
    IntUniform,
    LogUniform,
    QUniform,
    Uniform,
    space_from_dict,
)
from lightsaber.tuning.study import ALGORITHMS, BACKENDS, tune
from lightsaber.tuning.trial import ERROR_CLASSES

__all__ = [
    "ALGORITHMS",
    "BACKENDS",
    "Choice",
    "Dimension",
    "ERROR_CLASSES",
    "IntUniform",
    "LogUniform",
    "QUniform",
    "SearchSpaceError",
    "SpaceKeyError",
    "StudyResult",
    "TrialDiverged",
    "TuningError",
    "Uniform",
    "default_space",
    "has_default_space",
    "space_from_dict",
    "tune",
]
