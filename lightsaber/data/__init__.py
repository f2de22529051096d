"""Cohorts, outcome checks, splits and preprocessing: the data layer of lightsaber."""

from lightsaber.data.cohort import Cohort
from lightsaber.data.counting_process import to_counting_process
from lightsaber.data.fingerprint import cohort_fingerprint
from lightsaber.data.landmarks import (
    LandmarkCohort,
    LandmarkDesign,
    landmark_cohort,
    landmark_features,
)
from lightsaber.data.longitudinal import LongTable
from lightsaber.data.preprocess import Features, Preprocessor, TabularPreprocessor
from lightsaber.data.sequences import PaddedSequences, SequencePreprocessor
from lightsaber.data.splits import Splits
from lightsaber.data.targets import (
    check_competing_target,
    check_label,
    check_survival_target,
    encode_label,
    make_competing_target,
)

__all__ = [
    "Cohort",
    "Features",
    "LandmarkCohort",
    "LandmarkDesign",
    "LongTable",
    "PaddedSequences",
    "Preprocessor",
    "SequencePreprocessor",
    "Splits",
    "TabularPreprocessor",
    "check_competing_target",
    "check_label",
    "check_survival_target",
    "cohort_fingerprint",
    "encode_label",
    "landmark_cohort",
    "landmark_features",
    "make_competing_target",
    "to_counting_process",
]
