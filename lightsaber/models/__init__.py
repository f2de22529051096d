"""Networks and estimators: modules, skorch nets, survival recipes and competing-risks models.

Competing risks: :class:`CauseSpecificCox` and :class:`FineGray` (classical), and the deep
:class:`DeepHitCompeting` and :class:`LogisticHazardCompeting` (on :class:`CompetingRisksNet`).
Time-varying covariates: :class:`TimeVaryingCox` on counting-process rows.
"""

from lightsaber.models.competing import CauseSpecificCox, FineGray
from lightsaber.models.competing_recipes import DeepHitCompeting, LogisticHazardCompeting
from lightsaber.models.modules import MLP, SequenceNet
from lightsaber.models.nets import ClassifierNet, CompetingRisksNet, LossFunction, SurvivalNet
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
from lightsaber.models.time_varying import TimeVaryingCox

__all__ = [
    "CauseSpecificCox",
    "ClassifierNet",
    "CompetingRisksNet",
    "DeepHit",
    "DeepHitCompeting",
    "DeepSurv",
    "FineGray",
    "LogisticHazard",
    "LogisticHazardCompeting",
    "LossFunction",
    "MLP",
    "MTLR",
    "PMF",
    "RankSVX",
    "SequenceNet",
    "SurvivalNet",
    "TimeVaryingCox",
    "VAECox",
    "VAECoxNetwork",
    "WeibullAFT",
]
