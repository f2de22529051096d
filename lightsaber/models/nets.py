"""skorch-based estimators: any ``nn.Module`` plus any loss, trained the lightsaber way.

:class:`ClassifierNet` and :class:`SurvivalNet` are scikit-learn estimators (``fit`` /
``predict_proba`` / ``predict`` / ``predict_survival_function``) built on skorch's
``NeuralNet``. Compared with plain skorch they:

* batch by slicing in-memory tensors (:mod:`lightsaber.models.batching`), not per-sample indexing;
* validate on data you pass (``fit(X, y, validation=(X_val, y_val))``, which ``ls.fit`` fills
  with the cohort's validation split), never on a random internal split;
* stop early on a validation metric and restore the best epoch's weights;
* infer input sizes from the data, seed everything from ``random_state`` without touching the
  global RNG, pick ``device="auto"``, and optionally clip gradients, schedule the learning rate,
  checkpoint, use bf16 autocast on GPU, log to TensorBoard, or profile.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import (
    EarlyStopping,
    EpochTimer,
    GradientNormClipping,
    LRScheduler,
    PassthroughScoring,
    PrintLog,
)
from torch import nn

from lightsaber.data.targets import check_label, check_survival_target
from lightsaber.exceptions import LightsaberError, NotFittedError
from lightsaber.losses.cox import cox_ph_loss
from lightsaber.losses.registry import LossSpec
from lightsaber.models.batching import BatchLoader, TensorSource, as_tensor_tree
from lightsaber.models.survival_outputs import (
    DISCRETE_KINDS,
    OUTPUT_KINDS,
    discrete_survival,
    restricted_mean,
    step_survival_at,
    weibull_median,
    weibull_survival,
)
from lightsaber.training.callbacks import (
    EpochLogger,
    EpochProgress,
    TorchProfiler,
    ValidationMetric,
)
from lightsaber.training.checkpoint import AtomicCheckpoint
from lightsaber.training.scoring import metric_direction, output_scorer

__all__ = ["ClassifierNet", "LossFunction", "SurvivalNet"]


class ConfigurationError(LightsaberError, ValueError):
    """An estimator argument has an invalid value."""


class LossFunction(nn.Module):
    """Wrap a plain ``loss(prediction, *targets, **options)`` function as skorch's criterion.

    Parameters
    ----------
    fn : callable
        The loss function (e.g. a :class:`lightsaber.losses.LossSpec` or any function).
    **options
        Keyword arguments passed to ``fn`` on every call.
    """

    def __init__(self, fn: Callable[..., torch.Tensor], **options: Any) -> None:
        super().__init__()
        self.fn = fn
        self.options = options

    def forward(self, prediction: torch.Tensor, *targets: torch.Tensor) -> torch.Tensor:
        """Apply the loss to a prediction and its targets."""
        return self.fn(prediction, *targets, **self.options)


def _silent(*args: Any, **kwargs: Any) -> None:
    """A picklable sink that prints nothing (lightsaber shows its own progress bar)."""


def _accepts(module: Any, name: str) -> bool:
    if not isinstance(module, type):
        return False
    return name in inspect.signature(module.__init__).parameters


def _check_keywords(target: Any, names: Sequence[str], prefix: str, what: str, *,
                    skip: int = 0, alternative: str = "") -> None:
    """Raise :class:`ConfigurationError` for keyword ``names`` that ``target`` cannot take.

    Done before training, so a misspelt ``module__*``, ``loss__*`` or ``loss_options`` key
    fails at once with its name instead of as a ``TypeError`` from inside skorch or the first
    batch. ``skip`` leading positional parameters are supplied by the caller (a loss's
    prediction, duration and event), so they are not offered as options; ``alternative`` is
    appended to the message (the other spelling of the same option).
    """
    import difflib

    try:
        signature = inspect.signature(target.__init__ if isinstance(target, type) else target)
    except (TypeError, ValueError):
        return  # a builtin or C callable: nothing to check against
    parameters = [p for p in signature.parameters.values() if p.name != "self"]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    positional = [p for p in parameters if p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                      inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    supplied = {p.name for p in positional[:skip]}
    accepted = [p.name for p in parameters if p.name not in supplied
                and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                               inspect.Parameter.KEYWORD_ONLY)]
    for name in names:
        if name not in accepted:
            close = difflib.get_close_matches(name, accepted, n=1)
            hint = f" Did you mean '{prefix}{close[0]}'?" if close else ""
            raise ConfigurationError(
                f"'{prefix}{name}' is not an argument of {what} "
                f"(accepted: {', '.join(accepted) or 'none'}).{hint}{alternative}")


def _resolve_device(device: str | None) -> str:
    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class _LightsaberNet(NeuralNet):
    """Shared machinery of :class:`ClassifierNet` and :class:`SurvivalNet`."""

    _task = ""

    def __init__(self, module: type[nn.Module] | nn.Module, *, criterion: Any = None,
                 optimizer: type[torch.optim.Optimizer] = torch.optim.Adam, lr: float = 1e-3,
                 max_epochs: int = 100, batch_size: int = 256, device: str = "auto",
                 random_state: int = 0, early_stopping: int | None = 10,
                 monitor: str = "loss", gradient_clip: float | None = None,
                 lr_scheduler: tuple[str, Mapping[str, Any]] | None = None,
                 checkpoint_dir: str | None = None, mixed_precision: bool = False,
                 tensorboard_dir: str | None = None, profile: bool = False,
                 progress: bool = False, verbose: int = 0, callbacks: list | None = None,
                 **kwargs: Any) -> None:
        # Validation always comes from ``fit(validation=...)``; skorch's internal split is off.
        kwargs["train_split"] = None
        kwargs.setdefault("predict_nonlinearity", None)
        super().__init__(module, criterion=criterion, optimizer=optimizer, lr=lr,
                         max_epochs=max_epochs, batch_size=batch_size, device=device,
                         callbacks=callbacks, verbose=verbose, **kwargs)
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.monitor = monitor
        self.gradient_clip = gradient_clip
        self.lr_scheduler = lr_scheduler
        self.checkpoint_dir = checkpoint_dir
        self.mixed_precision = mixed_precision
        self.tensorboard_dir = tensorboard_dir
        self.profile = profile
        self.progress = progress

    # ------------------------------------------------------------------ parameters
    #: Prefixes of ``<prefix>__<name>`` arguments that the class routes and checks itself
    #: (``SurvivalNet``: ``loss__*``); skorch's own name check leaves them alone.
    _routed_prefixes: tuple[str, ...] = ()

    def _validate_params(self) -> None:
        """Check argument names as skorch does, except the prefixes this class routes itself.

        skorch's ``ValueError`` (a misspelt or unknown argument) is raised again as
        :class:`ConfigurationError`, which is still a ``ValueError``.
        """
        saved = self._params_to_validate
        self._params_to_validate = {key for key in saved
                                    if key.split("__", 1)[0] not in self._routed_prefixes}
        try:
            super()._validate_params()
        except ValueError as exc:
            hint = ""
            if any(key.startswith("loss__") for key in self._params_to_validate):
                hint = (f" {type(self).__name__} has no `loss`: its loss is skorch's criterion "
                        "(criterion=<nn.Module class>, criterion__<name>=...).")
            raise ConfigurationError(f"{type(self).__name__}: {exc}{hint}") from None
        finally:
            self._params_to_validate = saved

    def _check_params(self) -> None:
        def positive_int(name: str, value: Any, allow_none: bool = False) -> None:
            if value is None and allow_none:
                return
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ConfigurationError(f"{name} must be a positive integer; got {value!r}.")

        positive_int("max_epochs", self.max_epochs)
        positive_int("batch_size", self.batch_size)
        positive_int("early_stopping", self.early_stopping, allow_none=True)
        if not isinstance(self.lr, (int, float)) or not self.lr > 0:
            raise ConfigurationError(f"lr must be a positive number; got {self.lr!r}.")
        if self.gradient_clip is not None and not self.gradient_clip > 0:
            raise ConfigurationError(
                f"gradient_clip must be a positive number or None; got {self.gradient_clip!r}.")
        if self.device not in (None, "auto", "cpu") and not str(self.device).startswith("cuda"):
            raise ConfigurationError(
                f"device must be 'auto', 'cpu' or 'cuda[:n]'; got {self.device!r}.")
        if str(self.device).startswith("cuda") and not torch.cuda.is_available():
            raise ConfigurationError(
                f"device={self.device!r} but no CUDA device is available; use device='auto'.")
        metric_direction(self.monitor, self._task)  # raises on unknown names

    def get_params(self, deep: bool = True, **kwargs: Any) -> dict[str, Any]:
        params = super().get_params(deep=deep, **kwargs)
        if hasattr(self, "_device_requested"):
            params["device"] = self._device_requested
        return params

    def _monitor_key(self) -> str:
        return "valid_loss" if self.monitor == "loss" else f"valid_{self.monitor}"

    def get_default_callbacks(self) -> list[tuple[str, Any]]:
        callbacks: list[tuple[str, Any]] = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
        ]
        if self.monitor != "loss":
            score = output_scorer(self.monitor, self._task)
            callbacks.append(("valid_metric", ValidationMetric(
                self.monitor, score, lower_is_better=metric_direction(self.monitor, self._task))))
        if getattr(self, "epoch_log_", None) is not None:
            # Before early stopping, which ends training by raising in on_epoch_end.
            callbacks.append(("epoch_log", EpochLogger(self.epoch_log_)))
        if self.gradient_clip is not None:
            callbacks.append(("gradient_clip", GradientNormClipping(self.gradient_clip)))
        if self.lr_scheduler is not None:
            policy, options = self.lr_scheduler
            options = dict(options)
            if policy == "ReduceLROnPlateau":
                options.setdefault("monitor", self._monitor_key())
            callbacks.append(("lr_scheduler", LRScheduler(policy=policy, **options)))
        if self.early_stopping is not None:
            callbacks.append(("early_stopping", EarlyStopping(
                monitor=self._monitor_key(), patience=self.early_stopping, threshold=0.0,
                lower_is_better=metric_direction(self.monitor, self._task), load_best=True,
                sink=_silent)))
        if self.checkpoint_dir is not None:
            callbacks.append(("checkpoint", AtomicCheckpoint(
                monitor=f"{self._monitor_key()}_best", dirname=self.checkpoint_dir,
                f_optimizer=None, f_criterion=None, f_history="history.json",
                load_best=False, sink=_silent)))
        if self.tensorboard_dir is not None:
            try:
                from skorch.callbacks import TensorBoard
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:
                raise ConfigurationError(
                    "tensorboard_dir needs the `tensorboard` package: pip install tensorboard"
                ) from exc
            callbacks.append(("tensorboard", TensorBoard(SummaryWriter(self.tensorboard_dir))))
        if self.profile:
            callbacks.append(("profiler", TorchProfiler()))
        if self.progress:
            callbacks.append(("progress", EpochProgress()))
        if self.verbose:
            callbacks.append(("print_log", PrintLog()))
        return callbacks

    # ------------------------------------------------------------------ data
    def _dims(self, X: Any) -> dict[str, int]:
        if isinstance(X, Mapping):
            dims = {}
            if "values" in X:
                dims["in_features"] = int(np.shape(X["values"])[-1])
                if X.get("static") is not None:
                    dims["static_features"] = int(np.shape(X["static"])[1])
            elif "static" in X:
                dims["in_features"] = int(np.shape(X["static"])[1])
            return dims
        return {"in_features": int(np.shape(X)[1])}

    def _target_tensor(self, y: Any) -> torch.Tensor:  # overridden
        raise NotImplementedError

    def get_dataset(self, X: Any, y: Any = None) -> TensorSource:
        if isinstance(X, TensorSource):
            return X
        return TensorSource(as_tensor_tree(X), None if y is None else self._target_tensor(y))

    def get_iterator(self, dataset: TensorSource, training: bool = False):
        return BatchLoader(dataset, self.batch_size, shuffle=training,
                           generator=getattr(self, "_generator", None))

    def get_split_datasets(self, X: Any, y: Any = None, **fit_params: Any):
        train = self.get_dataset(X, y)
        valid = self._validation_source
        return train, valid

    def infer(self, x: Any, **fit_params: Any) -> torch.Tensor:
        if self.mixed_precision and str(self.device).startswith("cuda"):
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
                return super().infer(x, **fit_params).float()
        return super().infer(x, **fit_params)

    def initialize_module(self) -> _LightsaberNet:
        kwargs = self.get_params_for("module")
        if isinstance(self.module, type):
            _check_keywords(self.module, list(kwargs), "module__", self.module.__qualname__)
        for name, value in getattr(self, "_inferred_dims", {}).items():
            if name not in kwargs and _accepts(self.module, name):
                kwargs[name] = value
        self.module_ = self.initialized_instance(self.module, kwargs)
        return self

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any = None, validation: tuple[Any, Any] | None = None,
            **fit_params: Any) -> _LightsaberNet:
        """Train on ``(X, y)``, validating each epoch on ``validation=(X_val, y_val)``.

        Without ``validation`` there is no validation loss, so ``early_stopping`` and a
        ``monitor`` metric are ignored (a warning-free, fixed ``max_epochs`` run).
        """
        self._check_params()
        if hasattr(self, "_device_requested"):
            self.device = self._device_requested
        self._device_requested = self.device
        self.device = self._device_for_fit()
        self._inferred_dims = {**self._dims(X), **self._extra_dims(y)}
        self._validation_source = None
        if validation is not None:
            X_val, y_val = validation
            self._validation_source = self.get_dataset(X_val, y_val)
        devices = [torch.cuda.current_device()] if str(self.device).startswith("cuda") else []
        try:
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(self.random_state)
                self._generator = torch.Generator().manual_seed(self.random_state)
                if validation is None:
                    saved = (self.early_stopping, self.monitor)
                    self.early_stopping, self.monitor = None, "loss"
                    try:
                        super().fit(X, y, **fit_params)
                    finally:
                        self.early_stopping, self.monitor = saved
                else:
                    super().fit(X, y, **fit_params)
        except Exception as err:
            # The best weights so far stay on disk; say where, whatever stopped training.
            if self.checkpoint_dir is not None and hasattr(err, "add_note"):
                err.add_note(f"lightsaber: the checkpoint of the best epoch so far is kept in "
                             f"'{self.checkpoint_dir}' (restore it with "
                             "lightsaber.training.checkpoint.restore_checkpoint).")
            raise
        finally:
            # Never keep validation rows (or the RNG) on the fitted estimator: it gets pickled.
            self._validation_source = None
            self._generator = None
        self._after_fit(X, y)
        return self

    def _extra_dims(self, y: Any) -> dict[str, int]:
        return {}

    def _device_for_fit(self) -> str | None:
        return _resolve_device(self.device)

    def _after_fit(self, X: Any, y: Any) -> None:
        pass

    @property
    def best_epoch_(self) -> int:
        """Epoch (1-based) whose weights the estimator holds after early stopping."""
        key = f"{self._monitor_key()}_best"
        epochs = [row["epoch"] for row in self.history if row.get(key)]
        return int(epochs[-1]) if epochs else int(self.history[-1]["epoch"])

    def _raw_output(self, X: Any) -> torch.Tensor:
        if not getattr(self, "initialized_", False):
            raise NotFittedError(f"this {type(self).__name__} is not fitted; call fit first.")
        return self.forward(X, training=False, device="cpu")

    @property
    def profile_report_(self) -> str:
        """The torch.profiler table of the last fit (``profile=True``), else empty."""
        cb = dict(self.callbacks_).get("profiler")
        return getattr(cb, "report_", "") if cb is not None else ""

    def log_epochs_to(self, log: Any) -> _LightsaberNet:
        """Send each epoch's losses and validation metrics to ``log(metrics, step)``.

        Applies to the next ``fit``; ``log`` is typically
        :meth:`lightsaber.tracking.TrackedRun.log_metrics`. Never pickled with the model.
        """
        self.epoch_log_ = log
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_generator", None)
        state.pop("_validation_source", None)
        state.pop("epoch_log_", None)
        state["callbacks_"] = [(n, cb) for n, cb in state.get("callbacks_", [])
                               if n != "epoch_log"]
        return state


class ClassifierNet(_LightsaberNet):
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

    Examples
    --------
    >>> from lightsaber.models import MLP
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4)).astype("float32"); y = (X[:, 0] > 0).astype(int)
    >>> net = ClassifierNet(MLP, module__hidden=(8,), max_epochs=5, lr=0.05)
    >>> net.fit(X[:150], y[:150], validation=(X[150:], y[150:])).predict_proba(X[:2]).shape
    (2, 2)
    """

    _task = "classification"

    def __init__(self, module: type[nn.Module] | nn.Module, *,
                 class_weight: str | Mapping[Any, float] | None = None, **kwargs: Any) -> None:
        super().__init__(module, **kwargs)
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
            raise ConfigurationError(
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
            raise ConfigurationError(
                f"class_weight must be 'balanced', a dict or None; got {self.class_weight!r}.")
        return torch.as_tensor(weights, dtype=torch.float32)

    def fit(self, X: Any, y: Any = None, validation: tuple[Any, Any] | None = None,
            **fit_params: Any) -> ClassifierNet:
        """Fit on ``(X, y)``; see the class docstring."""
        labels = check_label(y, name="y")
        self._class_counts = np.array([(labels == c).sum() for c in np.unique(labels)])
        return super().fit(X, y, validation=validation, **fit_params)

    def initialize_criterion(self) -> ClassifierNet:
        """Build the loss."""
        if self.criterion is not None:
            self.criterion_ = self.initialized_instance(self.criterion,
                                                        self.get_params_for("criterion"))
            return self
        ignored = sorted(self.get_params_for("criterion"))
        if ignored:
            raise ConfigurationError(
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


class SurvivalNet(_LightsaberNet):
    """A PyTorch survival model as a scikit-survival-style estimator.

    ``fit(X, y)`` takes a scikit-survival structured array (event, time); ``predict`` returns a
    risk score where **higher means an earlier event**; ``predict_survival_function``,
    ``predict_survival_matrix`` and ``predict_median_time`` give curves and times. How the
    network's output is read depends on the loss (see :mod:`lightsaber.models.survival_outputs`):
    a risk (Cox, ranking; curves from a Breslow baseline fitted on the training split after
    training), one column per time bin (DeepHit, logistic hazard, PMF, N-MTLR; the grid is fitted
    on the training durations), or Weibull scale and shape.

    Parameters
    ----------
    module : nn.Module class or instance
        The network. Its ``out_features`` is set from the loss (1, 2 or the number of bins).
    loss : str or callable, default :func:`lightsaber.losses.cox_ph_loss`
        A name from :data:`lightsaber.losses.LOSSES` (``"cox_efron"``, ``"deephit"``,
        ``"weibull_aft"`` ...) or any ``loss(prediction, duration, event, **loss_options)``.
    loss_options : dict, optional
        Extra keyword arguments for ``loss``, e.g. ``{"alpha": 0.2, "sigma": 0.1}`` for
        ``"deephit"``. skorch's spelling works too: ``loss__sigma=0.1`` is the same as
        ``loss_options={"sigma": 0.1}`` (and is what a tuning space names, as ``module__*``).
        Each option is given once, one way or the other; names the loss does not take raise
        :class:`ConfigurationError` when fitting starts.
    output : {"risk", "logistic_hazard", "pmf", "mtlr", "weibull"}, optional
        How to read the network's output. Default: from the registered loss (``"risk"`` for a
        custom callable). Set it when a custom loss uses a discrete-time or Weibull output.
    cuts : int or sequence of float, default 20
        Discrete outputs only: grid points to fit on the training durations, or the grid.
    cut_scheme : {"equidistant", "quantiles"}, default "equidistant"
        Discrete outputs only: how the grid is fitted (pycox's label transform). Quantiles of
        tied durations can coincide; the grid then has fewer points (``cuts_`` is the one used).
    baseline : {"breslow", None}
        Risk outputs only: fit a Breslow baseline after training so survival curves exist.
    monitor : str, default "loss"
        ``"loss"`` or a survival metric such as ``"c_index"``.
    **kwargs
        As for :class:`ClassifierNet`.

    Examples
    --------
    >>> from lightsaber.models import MLP
    >>> from sksurv.util import Surv
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3)).astype("float32")
    >>> y = Surv.from_arrays(rng.random(300) < 0.7, rng.exponential(np.exp(-X[:, 0])))
    >>> net = SurvivalNet(MLP, module__hidden=(8,), max_epochs=5, lr=0.01).fit(X, y)
    >>> net.predict(X[:3]).shape, bool(net.predict_survival_function(X[:1])[0](0.0) <= 1.0)
    ((3,), True)
    >>> hazard = SurvivalNet(MLP, loss="logistic_hazard", cuts=10, max_epochs=5).fit(X, y)
    >>> hazard.predict_survival_matrix(X[:2], [0.5, 1.0]).shape
    (2, 2)
    >>> SurvivalNet(MLP, loss="deephit", loss__sigma=0.5).get_params()["loss__sigma"]
    0.5
    """

    _task = "survival"
    _routed_prefixes = ("loss",)

    def __init__(self, module: type[nn.Module] | nn.Module, *,
                 loss: str | Callable[..., torch.Tensor] = cox_ph_loss,
                 loss_options: Mapping[str, Any] | None = None, output: str | None = None,
                 cuts: int | Sequence[float] = 20, cut_scheme: str = "equidistant",
                 baseline: str | None = "breslow", **kwargs: Any) -> None:
        super().__init__(module, **kwargs)
        self.loss = loss
        self.loss_options = loss_options
        self.output = output
        self.cuts = cuts
        self.cut_scheme = cut_scheme
        self.baseline = baseline

    # ------------------------------------------------------------------ loss and output
    def set_params(self, **kwargs: Any) -> SurvivalNet:
        """Set parameters (scikit-learn's protocol); ``loss__<name>`` sets a loss option.

        skorch treats an unknown ``<prefix>__<name>`` as a component it cannot re-initialise,
        so ``loss__*`` keys are stored here and the loss is rebuilt on an initialised net.
        """
        options = {key: value for key, value in kwargs.items() if key.startswith("loss__")}
        super().set_params(**{key: value for key, value in kwargs.items()
                              if key not in options})
        for key, value in options.items():
            setattr(self, key, value)
        if options and getattr(self, "initialized_", False):
            reason = self._format_reinit_msg("criterion", options)
            self._initialize_criterion(reason=reason)
            self._initialize_optimizer(reason=self._format_reinit_msg(
                "optimizer", triggered_directly=False))
        return self

    def _loss_name(self) -> str:
        if isinstance(self.loss, str):
            return repr(self.loss)
        return getattr(self.loss, "__name__", None) or getattr(
            self.loss, "name", None) or type(self.loss).__name__

    def _loss_options(self) -> dict[str, Any]:
        """``loss_options`` merged with the ``loss__<name>`` arguments; a key set twice raises."""
        options = dict(self.loss_options or {})
        prefixed = self.get_params_for("loss")
        both = sorted(set(options) & set(prefixed))
        if both:
            raise ConfigurationError(
                f"loss option {both[0]!r} is set twice: loss__{both[0]}="
                f"{prefixed[both[0]]!r} and loss_options[{both[0]!r}]={options[both[0]]!r} "
                f"(loss {self._loss_name()}). Give each option once, either as "
                f"loss__{both[0]}=... or in loss_options={{...}}.")
        return {**options, **prefixed}

    def _loss_spec(self) -> Any:
        if isinstance(self.loss, str):
            from lightsaber.losses import get_loss

            try:
                return get_loss(self.loss)
            except ValueError as exc:
                raise ConfigurationError(str(exc)) from None
        return self.loss if isinstance(self.loss, LossSpec) else None

    def _output_kind(self) -> str:
        if self.output is not None:
            if self.output not in OUTPUT_KINDS:
                raise ConfigurationError(
                    f"output must be one of {OUTPUT_KINDS}; got {self.output!r}.")
            return self.output
        spec = self._loss_spec()
        if spec is None or spec.output_width == 1:
            return "risk"
        if spec.output_width == 2:
            return "weibull"
        return "pmf" if spec.name == "deephit" else spec.name

    def _extra_dims(self, y: Any) -> dict[str, int]:
        kind = self._output_kind()
        width = {"risk": 1, "weibull": 2}.get(kind)
        return {"out_features": width if width is not None else len(self.cuts_)}

    def _target_tensor(self, y: Any) -> torch.Tensor:
        target = check_survival_target(y, allow_all_censored=True)
        time, event = target["time"], target["event"]
        kind = self._output_kind()
        if kind in DISCRETE_KINDS:
            from lightsaber.losses import discretise_durations

            grid = discretise_durations(time, event, cuts=self.cuts_)
            time, event = grid.duration_index, grid.event
        elif kind == "weibull":
            time = time / self.time_scale_
        return torch.as_tensor(np.column_stack([time, event]), dtype=torch.float32)

    def fit(self, X: Any, y: Any = None, validation: tuple[Any, Any] | None = None,
            **fit_params: Any) -> SurvivalNet:
        """Fit on ``(X, y)``; see the class docstring."""
        if self.baseline not in ("breslow", None):
            raise ConfigurationError(f"baseline must be 'breslow' or None; got {self.baseline!r}.")
        if not (callable(self.loss) or isinstance(self.loss, str)):
            raise ConfigurationError(
                f"loss must be a registered loss name or a callable; got {self.loss!r}.")
        kind = self._output_kind()
        target = check_survival_target(y)
        if kind in DISCRETE_KINDS:
            from lightsaber.losses import discretise_durations

            try:
                with warnings.catch_warnings():
                    # Quantile grids merge tied cut points; len(cuts_) is the grid used.
                    warnings.filterwarnings("ignore", message="cuts are not unique")
                    self.cuts_ = discretise_durations(target["time"], target["event"],
                                                      cuts=self.cuts,
                                                      scheme=self.cut_scheme).cuts
            except ValueError as exc:
                raise ConfigurationError(f"cuts / cut_scheme: {exc}") from None
        if kind == "weibull":
            # The network learns log scale in units of the median training time, so a
            # zero-initialised output starts near the data instead of at 1 day / 1 year.
            positive = target["time"][target["time"] > 0]
            self.time_scale_ = float(np.median(positive)) if positive.size else 1.0
        return super().fit(X, y, validation=validation, **fit_params)

    def initialize_criterion(self) -> SurvivalNet:
        """Build the loss."""
        spec = self._loss_spec()
        function = spec.function if spec is not None else self.loss
        options = self._loss_options()
        what = f"loss {self._loss_name()}"
        # The loss is called as fn(prediction, duration, event, **options).
        _check_keywords(function, list(dict(self.loss_options or {})), "loss_options.", what,
                        skip=3, alternative=" The same options can be given as loss__<name>=.")
        _check_keywords(function, list(self.get_params_for("loss")), "loss__", what, skip=3,
                        alternative=" loss__<name>=value is the same as "
                                    "loss_options={'<name>': value}.")
        self.criterion_ = LossFunction(spec if spec is not None else self.loss, **options)
        return self

    def get_loss(self, y_pred: torch.Tensor, y_true: torch.Tensor, X: Any = None,
                 training: bool = False) -> torch.Tensor:
        """Loss of a batch."""
        y_true = y_true.to(y_pred.device)
        return self.criterion_(y_pred, y_true[:, 0], y_true[:, 1])

    def _after_fit(self, X: Any, y: Any) -> None:
        self.baseline_ = None
        target = check_survival_target(y)
        kind = self._output_kind()
        self.output_kind_ = kind
        if kind == "risk":
            if self.baseline == "breslow":
                from sksurv.linear_model.coxph import BreslowEstimator

                self.baseline_ = BreslowEstimator().fit(self.predict(X), target["event"],
                                                        target["time"])
                self.unique_times_ = self.baseline_.unique_times_
        elif kind in DISCRETE_KINDS:
            self.unique_times_ = np.asarray(self.cuts_, dtype=float)
        else:
            self.unique_times_ = np.unique(target["time"][target["event"]])

    # ------------------------------------------------------------------ prediction
    @property
    def has_survival_curves_(self) -> bool:
        """Whether this fitted net can give survival curves."""
        kind = getattr(self, "output_kind_", None)
        return kind is not None and (kind != "risk" or self.baseline_ is not None)

    def _output(self, X: Any) -> np.ndarray:
        output = self._raw_output(X).double().numpy()
        output = output.reshape(output.shape[0], -1)
        if self._output_kind() == "weibull" and hasattr(self, "time_scale_"):
            output[:, 0] += np.log(self.time_scale_)  # back to the durations' units
        return output

    def predict(self, X: Any) -> np.ndarray:
        """Risk score per row (higher = earlier event), float64.

        The network output for risk losses; minus the restricted mean time on the grid for
        discrete-time outputs; minus the log median time for Weibull outputs.
        """
        output = self._output(X)
        kind = getattr(self, "output_kind_", None) or self._output_kind()
        if kind in DISCRETE_KINDS:
            return -restricted_mean(discrete_survival(output, kind), self.cuts_)
        if kind == "weibull":
            return -np.log(weibull_median(output))
        return output[:, 0]

    def _require_curves(self) -> None:
        if not getattr(self, "initialized_", False) or not hasattr(self, "output_kind_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted; call fit first.")
        if not self.has_survival_curves_:
            raise NotFittedError(
                "no baseline hazard: fit with baseline='breslow' to get survival curves.")

    def predict_survival_matrix(self, X: Any, times: Sequence[float]) -> np.ndarray:
        """S(t | x) at arbitrary ``times`` (n_rows x n_times); 1 before the first grid time."""
        self._require_curves()
        times = np.asarray(times, dtype=float)
        kind = self.output_kind_
        if kind in DISCRETE_KINDS:
            return step_survival_at(discrete_survival(self._output(X), kind), self.cuts_, times)
        if kind == "weibull":
            return weibull_survival(self._output(X), times)
        base = self.baseline_.baseline_survival_
        s0 = step_survival_at(np.asarray(base.y)[None, :], base.x, times)[0]
        return s0[None, :] ** np.exp(self.predict(X))[:, None]

    def predict_survival_function(self, X: Any, return_array: bool = False):
        """Survival curves S(t | x) (scikit-survival's convention).

        Returns an array of step functions on ``unique_times_``, or with ``return_array=True``
        the matrix of survival probabilities at ``unique_times_``.
        """
        self._require_curves()
        if self.output_kind_ == "risk":
            functions = self.baseline_.get_survival_function(self.predict(X))
            if return_array:
                return np.vstack([fn(self.unique_times_) for fn in functions])
            return functions
        matrix = self.predict_survival_matrix(X, self.unique_times_)
        if return_array:
            return matrix
        from sksurv.functions import StepFunction

        return np.array([StepFunction(self.unique_times_, row) for row in matrix])

    def predict_cumulative_hazard_function(self, X: Any, return_array: bool = False):
        """Cumulative hazard functions H(t | x) = -log S(t | x)."""
        self._require_curves()
        if self.output_kind_ == "risk":
            functions = self.baseline_.get_cumulative_hazard_function(self.predict(X))
            if return_array:
                return np.vstack([fn(self.unique_times_) for fn in functions])
            return functions
        with np.errstate(divide="ignore"):
            matrix = -np.log(self.predict_survival_matrix(X, self.unique_times_))
        if return_array:
            return matrix
        from sksurv.functions import StepFunction

        return np.array([StepFunction(self.unique_times_, row) for row in matrix])

    def predict_median_time(self, X: Any) -> np.ndarray:
        """Median survival time per row: the first time S(t | x) <= 0.5 (``inf`` if never).

        Closed form for Weibull outputs; on ``unique_times_`` otherwise.
        """
        self._require_curves()
        if self.output_kind_ == "weibull":
            return weibull_median(self._output(X))
        surv = self.predict_survival_function(X, return_array=True)
        below = surv <= 0.5
        first = np.argmax(below, axis=1)
        return np.where(below.any(axis=1), self.unique_times_[first], np.inf)
