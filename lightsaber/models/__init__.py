"""Networks and estimators: modules, skorch nets, survival recipes and competing-risks models."""

from lightsaber.models.competing import CauseSpecificCox, FineGray
from lightsaber.models.modules import MLP, SequenceNet
from lightsaber.models.nets import ClassifierNet, LossFunction, SurvivalNet
from lightsaber.models.recipes import (
    MTLR,
    PMF,
    DeepHit,
    DeepSurv,
    LogisticHazard,
    RankSVX,
    VAECox,
    VAECoxNetwork,
    WeibullAFT,
)

__all__ = [
    "CauseSpecificCox",
    "ClassifierNet",
    "DeepHit",
    "DeepSurv",
    "FineGray",
    "LogisticHazard",
    "LossFunction",
    "MLP",
    "MTLR",
    "PMF",
    "RankSVX",
    "SequenceNet",
    "SurvivalNet",
    "VAECox",
    "VAECoxNetwork",
    "WeibullAFT",
]
