"""Networks and estimators: MLP / GRU-LSTM modules, the skorch-based nets and survival recipes."""

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
    "ClassifierNet",
    "DeepHit",
    "DeepSurv",
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
