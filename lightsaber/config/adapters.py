"""Adapters: plug a third-party loss or metric in by naming what each argument receives.

The pipeline provides ``prediction`` (the network output inside a loss; the positive-class
probability or the risk score in a metric), ``duration``, ``event``, ``label`` and, for metrics,
``input`` (the preprocessed model input). An adapter maps the callable's argument names onto
those and may transform a quantity first (``sigmoid``, ``softmax``, ``argmax``, ...)::

    loss:
      _target_: my_project.losses.hinge
      _adapter_:
        arguments: {scores: prediction, times: duration, observed: event}
        transform: {prediction: sigmoid}
      margin: 0.5          # other keys: the callable's own options

Without ``arguments`` the lightsaber conventions apply: a survival loss is called as
``fn(prediction, duration, event)``, a classification loss as ``fn(prediction, label)``, a
classification metric as ``fn(label, prediction)`` (scikit-learn's order) and a survival metric as
``fn(event, duration, prediction)`` (scikit-survival's order; a tuple result gives its first item).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["CriterionAdapter", "LossAdapter", "MetricAdapter", "TRANSFORMS", "transform"]


def _sigmoid(x: Any) -> Any:
    return torch.sigmoid(x) if torch.is_tensor(x) else 1.0 / (1.0 + np.exp(-np.asarray(x)))


def _softmax(x: Any) -> Any:
    if torch.is_tensor(x):
        return torch.softmax(x, dim=-1)
    z = np.asarray(x, dtype=float)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _argmax(x: Any) -> Any:
    return torch.argmax(x, dim=-1) if torch.is_tensor(x) else np.argmax(np.asarray(x), axis=-1)


def _squeeze(x: Any) -> Any:
    return x.reshape(-1) if torch.is_tensor(x) else np.asarray(x).reshape(-1)


def _threshold(x: Any) -> Any:
    return (x >= 0.5).long() if torch.is_tensor(x) else (np.asarray(x) >= 0.5).astype(int)


#: Transforms by name; each works on tensors (losses) and arrays (metrics).
TRANSFORMS: Mapping[str, Callable[[Any], Any]] = {
    "identity": lambda x: x,
    "sigmoid": _sigmoid,
    "softmax": _softmax,
    "argmax": _argmax,
    "threshold": _threshold,
    "exp": lambda x: torch.exp(x) if torch.is_tensor(x) else np.exp(x),
    "log": lambda x: torch.log(x) if torch.is_tensor(x) else np.log(x),
    "neg": lambda x: -x,
    "squeeze": _squeeze,
    "float": lambda x: x.float() if torch.is_tensor(x) else np.asarray(x, dtype=float),
    "bool": lambda x: x.bool() if torch.is_tensor(x) else np.asarray(x, dtype=bool),
}


def transform(name_or_fn: str | Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A transform by name (see :data:`TRANSFORMS`) or the callable itself.

    Examples
    --------
    >>> transform("sigmoid")(np.array([0.0])).tolist()
    [0.5]
    """
    return TRANSFORMS[name_or_fn] if isinstance(name_or_fn, str) else name_or_fn


class _Adapted:
    """Shared mapping logic: which quantity each argument receives, after which transform."""

    positional: tuple[str, ...] = ()

    def __init__(self, fn: Callable[..., Any], arguments: Mapping[str, str] | None = None,
                 transforms: Mapping[str, Any] | None = None,
                 options: Mapping[str, Any] | None = None) -> None:
        self.fn = fn
        self.arguments = dict(arguments or {})
        self.transforms = dict(transforms or {})
        self.options = dict(options or {})

    def _call(self, quantities: Mapping[str, Any], positional: tuple[str, ...]) -> Any:
        values = {}
        for name, value in quantities.items():
            step = self.transforms.get(name)
            values[name] = transform(step)(value) if step is not None else value
        if self.arguments:
            return self.fn(**{arg: values[q] for arg, q in self.arguments.items()},
                           **self.options)
        return self.fn(*(values[q] for q in positional), **self.options)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", type(self.fn).__name__)
        return f"{type(self).__name__}({name}, arguments={self.arguments})"


class LossAdapter(_Adapted):
    """A survival loss with lightsaber's signature ``(prediction, duration, event)``.

    Examples
    --------
    >>> def my_loss(risk, time, status, scale=1.0):
    ...     return scale * (risk.reshape(-1) * status).sum() + 0 * time.sum()
    >>> loss = LossAdapter(my_loss, {"risk": "prediction", "time": "duration",
    ...                              "status": "event"}, options={"scale": 2.0})
    >>> float(loss(torch.ones(3, 1), torch.ones(3), torch.tensor([1.0, 0.0, 1.0])))
    4.0
    """

    def __call__(self, prediction: Any, duration: Any, event: Any, **options: Any) -> Any:
        """Apply the wrapped loss."""
        quantities = {"prediction": prediction, "duration": duration, "event": event}
        return self._call(quantities, ("prediction", "duration", "event"))


class CriterionAdapter(nn.Module):
    """A classification loss as the ``criterion`` of :class:`lightsaber.models.ClassifierNet`.

    Examples
    --------
    >>> crit = CriterionAdapter(torch.nn.functional.binary_cross_entropy,
    ...                         {"input": "prediction", "target": "label"},
    ...                         {"prediction": "sigmoid"})
    >>> round(float(crit(torch.zeros(2), torch.ones(2))), 4)
    0.6931
    """

    def __init__(self, fn: Callable[..., Any], arguments: Mapping[str, str] | None = None,
                 transforms: Mapping[str, Any] | None = None,
                 options: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.adapted = _Adapted(fn, arguments, transforms, options)

    def forward(self, prediction: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """Apply the wrapped loss."""
        return self.adapted._call({"prediction": prediction, "label": label},
                                  ("prediction", "label"))


class MetricAdapter(_Adapted):
    """A metric computed from the pipeline's quantities of one split.

    Examples
    --------
    >>> from sklearn.metrics import roc_auc_score
    >>> metric = MetricAdapter(roc_auc_score, {"y_true": "label", "y_score": "prediction"})
    >>> metric({"label": np.array([0, 1, 1]), "prediction": np.array([0.2, 0.9, 0.7])})
    1.0
    """

    def __call__(self, quantities: Mapping[str, Any], task: str = "classification") -> float:
        """The metric's value (the first item when it returns a tuple)."""
        positional = (("label", "prediction") if task == "classification"
                      else ("event", "duration", "prediction"))
        value = self._call(quantities, positional)
        if isinstance(value, tuple):
            value = value[0]
        return float(value)
