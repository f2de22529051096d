"""lightsaber: clinical and survival modelling from cohort to tracked model.

The handful of names a notebook user needs are re-exported here; everything else lives in the
sub-packages (:mod:`lightsaber.data`, ...).

Examples
--------
>>> import lightsaber as ls
>>> cohort = ls.datasets.load_sample_mortality(n_patients=200)
>>> splits = cohort.split(val=0.15, test=0.15, stratify="label", seed=7)
>>> sorted(splits.names)
['test', 'train', 'val']
"""

from lightsaber import datasets
from lightsaber.data import Cohort, Preprocessor, SequencePreprocessor, Splits
from lightsaber.exceptions import LightsaberError

__version__ = "0.1.0"

__all__ = [
    "Cohort",
    "LightsaberError",
    "Preprocessor",
    "SequencePreprocessor",
    "Splits",
    "__version__",
    "datasets",
]
