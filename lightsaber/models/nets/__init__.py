"""skorch-based estimators: any ``nn.Module`` plus any loss, trained the lightsaber way.

:class:`ClassifierNet` and :class:`SurvivalNet` are scikit-learn estimators (``fit`` /
``predict_proba`` / ``predict`` / ``predict_survival_function``) built on skorch's
``NeuralNet``; :class:`CompetingRisksNet` is the ``SurvivalNet`` of competing risks
(``predict_cumulative_incidence``). Compared with plain skorch they:

* batch by slicing in-memory tensors (:mod:`lightsaber.models.skorch.batching`), not
  per-sample indexing;
* validate on data you pass (``fit(X, y, val=(X_val, y_val))``, which ``ls.fit`` fills
  with the cohort's validation split), never on a random internal split;
* stop early on a validation metric and restore the best epoch's weights;
* infer input sizes from the data, seed everything from ``random_state`` without touching the
  global RNG, pick ``device="auto"``, and optionally clip gradients, schedule the learning rate,
  checkpoint, use bf16 autocast on GPU, log to TensorBoard, or profile.
"""

from lightsaber.models.nets.base import LightsaberNet, LossFunction
from lightsaber.models.nets.classifier import ClassifierNet
from lightsaber.models.nets.competing import CompetingRisksNet
from lightsaber.models.nets.survival import SurvivalNet

__all__ = ["ClassifierNet", "CompetingRisksNet", "LightsaberNet", "LossFunction", "SurvivalNet"]
