"""A PyTorch classifier as a scikit-learn estimator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from lightsaber._moved import renamed_keywords
from lightsaber.data.targets import check_label
from lightsaber.exceptions import ArgumentError
from lightsaber.models.nets.base import LightsaberNet, with_defaults

__all__ = ["ClassifierNet"]


#: The winners of ``benchmarks/defaults_study.py``, per module: for the MLP a smaller network
#: with dropout and a larger step, trained for longer and ended by early stopping; the GRU
#: (``SequenceNet``) keeps ``LightsaberNet``'s defaults (no candidate beat them on validation).
#: Any other module gets the MLP's training settings (``module__*`` defaults reach lightsaber's
#: modules only).
CLASSIFIER_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "MLP": {"module__hidden": (32, 32), "module__dropout": 0.1, "lr": 3e-3,
            "max_epochs": 500, "early_stopping": 20},
    "SequenceNet": {},
}


def classifier_defaults(module: Any) -> Mapping[str, Any]:
    """The :data:`CLASSIFIER_DEFAULTS` row of ``module`` (its class or the first base listed).

    Examples
    --------
    >>> from lightsaber.models import SequenceNet
    >>> from lightsaber.models import MLP
    >>> classifier_defaults(MLP)["lr"]
    0.003
    >>> classifier_defaults(SequenceNet)
    {}
    """
    cls = module if isinstance(module, type) else type(module)
    for base in cls.__mro__:
        if base.__module__.startswith("lightsaber.") and base.__name__ in CLASSIFIER_DEFAULTS:
            return CLASSIFIER_DEFAULTS[base.__name__]
    return CLASSIFIER_DEFAULTS["MLP"]


class ClassifierNet(LightsaberNet):
    """A PyTorch classifier as a scikit-learn estimator (binary or multi-class).

    Parameters
    ----------
    module : nn.Module class or instance
        E.g. :class:`lightsaber.models.MLP`; ``module__<name>`` sets its arguments. Input and
        output sizes (``in_features``, ``static_features``, ``out_features``) are filled from
        the data when the class accepts them.
    class_weight : "balanced", dict or None
        Weights for imbalanced labels (binary: BCE ``pos_weight``; multi-class: CE weights).
    monitor : str, default "loss"
        Validation quantity for early stopping: ``"loss"`` or a metric such as ``"auc_roc"``.
    **kwargs
        See :class:`_LightsaberNet` (``lr``, ``max_epochs``, ``batch_size``, ``early_stopping``,
        ``device``, ``random_state``, ``gradient_clip``, ``lr_scheduler``, ``checkpoint_dir``,
        ``mixed_precision``, ``tensorboard_dir``, ``profile``, ``progress``) and skorch's
        ``NeuralNet`` (``optimizer__*``, ``module__*``, ...).

    Notes
    -----
    Defaults depend on the module (chosen by validation metrics across six cohorts for the MLP
    and three for the GRU, ``benchmarks/defaults_study.py``; ``docs/benchmarks.md``): with
    ``MLP``, ``module__hidden=(32, 32)``, ``module__dropout=0.1``, ``lr=0.003``,
    ``max_epochs=500``, ``early_stopping=20``; ``SequenceNet`` keeps ``LightsaberNet``'s
    defaults (no candidate beat them). Other modules get the MLP's training settings;
    ``module__*`` defaults reach lightsaber's own modules only (:data:`CLASSIFIER_DEFAULTS`).

    Examples
    --------
    >>> from lightsaber.models import MLP
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4)).astype("float32"); y = (X[:, 0] > 0).astype(int)
    >>> net = ClassifierNet(MLP, module__hidden=(8,), max_epochs=5, lr=0.05)
    >>> net.fit(X[:150], y[:150], val=(X[150:], y[150:])).predict_proba(X[:2]).shape
    (2, 2)
    """

    task: str = "classification"

    def __init__(self, module: type[nn.Module] | nn.Module, *,
                 class_weight: str | Mapping[Any, float] | None = None, **kwargs: Any) -> None:
        super().__init__(module, **with_defaults(module, kwargs, classifier_defaults(module)))
        self.class_weight = class_weight

    def _extra_dims(self, y: Any) -> dict[str, int]:
        labels = check_label(y, name="y")
        self.classes_ = np.unique(labels)
        return {"out_features": 1 if len(self.classes_) == 2 else len(self.classes_)}

    def _target_tensor(self, y: Any) -> torch.Tensor:
        labels = check_label(y, name="y", allow_single_class=True)
        index = np.searchsorted(self.classes_, labels)
        known = (index < len(self.classes_)) & (self.classes_[np.minimum(
            index, len(self.classes_) - 1)] == labels)
        if not known.all():
            raise ArgumentError(
                f"{int((~known).sum())} label(s) were not seen in the training labels "
                f"{self.classes_.tolist()}.")
        dtype = torch.float32 if len(self.classes_) == 2 else torch.int64
        return torch.as_tensor(index, dtype=dtype)

    def _class_weights(self) -> torch.Tensor | None:
        if self.class_weight is None:
            return None
        counts = getattr(self, "_class_counts", None)
        if self.class_weight == "balanced":
            weights = counts.sum() / (len(counts) * np.maximum(counts, 1))
        elif isinstance(self.class_weight, Mapping):
            weights = np.array([float(self.class_weight.get(c, 1.0)) for c in self.classes_])
        else:
            raise ArgumentError(
                f"class_weight must be 'balanced', a dict or None; got {self.class_weight!r}.")
        return torch.as_tensor(weights, dtype=torch.float32)

    @renamed_keywords(validation="val")
    def fit(self, X: Any, y: Any = None, val: tuple[Any, Any] | None = None,
            **fit_params: Any) -> ClassifierNet:
        """Fit on ``(X, y)``; see the class docstring."""
        labels = check_label(y, name="y")
        self._class_counts = np.array([(labels == c).sum() for c in np.unique(labels)])
        return super().fit(X, y, val=val, **fit_params)

    def initialize_criterion(self) -> ClassifierNet:
        """Build the loss."""
        if self.criterion is not None:
            self.criterion_ = self.initialized_instance(self.criterion,
                                                        self.get_params_for("criterion"))
            return self
        ignored = sorted(self.get_params_for("criterion"))
        if ignored:
            raise ArgumentError(
                f"{', '.join('criterion__' + k for k in ignored)} set, but criterion=None: the "
                "default loss (BCE / cross-entropy) takes no options; weight classes with "
                "class_weight=, or pass criterion=<nn.Module class> for those options to apply.")
        weights = self._class_weights()
        if len(self.classes_) == 2:
            pos_weight = None if weights is None else (weights[1] / weights[0]).reshape(1)
            self.criterion_ = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
        else:
            self.criterion_ = nn.CrossEntropyLoss(weight=weights)
        return self

    def get_loss(self, y_pred: torch.Tensor, y_true: torch.Tensor, X: Any = None,
                 training: bool = False) -> torch.Tensor:
        """Loss of a batch."""
        y_true = y_true.to(y_pred.device)
        if len(self.classes_) == 2:
            return self.criterion_(y_pred.reshape(-1), y_true.float())
        return self.criterion_(y_pred, y_true.long())

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(n, n_classes)``, columns in ``classes_`` order."""
        logits = self._raw_output(X)
        if len(self.classes_) == 2:
            p = torch.sigmoid(logits.reshape(-1)).double().numpy()
            return np.column_stack([1.0 - p, p])
        return torch.softmax(logits.double(), dim=1).numpy()

    def decision_function(self, X: Any) -> np.ndarray:
        """Raw logits (binary: shape ``(n,)``)."""
        logits = self._raw_output(X).double().numpy()
        return logits.reshape(-1) if len(self.classes_) == 2 else logits

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class label."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


