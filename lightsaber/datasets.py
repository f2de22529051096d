"""Sample and reference datasets as cohorts (alias of :mod:`lightsaber.data.datasets`)."""

from lightsaber.data.datasets import (
    SKSURV_DATASETS,
    SUPPORT2_LEAKS,
    load_deepsurv,
    load_pbc2,
    load_sample_mortality,
    load_sksurv,
    load_support2,
)

__all__ = [
    "SKSURV_DATASETS",
    "SUPPORT2_LEAKS",
    "load_deepsurv",
    "load_pbc2",
    "load_sample_mortality",
    "load_sksurv",
    "load_support2",
]
