"""Networks and estimators: MLP / GRU-LSTM modules and the skorch-based nets."""

from lightsaber.models.nets import ClassifierNet, LossFunction, SurvivalNet
from lightsaber.models.networks import MLP, SequenceNet

__all__ = ["MLP", "ClassifierNet", "LossFunction", "SequenceNet", "SurvivalNet"]
