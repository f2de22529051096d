"""The shared skorch base of the lightsaber nets, and the helpers they use.

See :mod:`lightsaber.models.nets` for what the nets add to plain skorch.
"""

from __future__ import annotations

import inspect
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

from lightsaber._moved import renamed_keywords
from lightsaber.exceptions import ArgumentError, NotFittedError
from lightsaber.models.skorch.batching import BatchLoader, TensorSource, as_tensor_tree
from lightsaber.models.skorch.callbacks import (
    EpochLogger,
    EpochProgress,
    TorchProfiler,
    ValidationMetric,
)
from lightsaber.models.skorch.checkpoint import AtomicCheckpoint
from lightsaber.models.skorch.scoring import metric_direction, output_scorer

__all__ = ["LightsaberNet", "LossFunction"]


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


def silent(*args: Any, **kwargs: Any) -> None:
    """A picklable sink that prints nothing (lightsaber shows its own progress bar)."""


def _accepts(module: Any, name: str) -> bool:
    if not isinstance(module, type):
        return False
    return name in inspect.signature(module.__init__).parameters


def with_defaults(module: Any, kwargs: Mapping[str, Any],
                  defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` completed with a net's ``defaults``; what the caller passed always wins.

    A ``module__<name>`` default applies only to lightsaber's own module classes (``MLP``,
    ``SequenceNet``, ``VAECoxNetwork`` and their subclasses) that take ``<name>``: a module of
    your own keeps its own defaults, and ``RankSVX(SequenceNet)`` gets no ``module__hidden``.

    Examples
    --------
    >>> from lightsaber.models import MLP, SequenceNet
    >>> with_defaults(MLP, {"lr": 0.1}, {"lr": 3e-3, "module__hidden": (32, 32)})
    {'lr': 0.1, 'module__hidden': (32, 32)}
    >>> with_defaults(SequenceNet, {}, {"module__hidden": (32, 32)})
    {}
    """
    merged = dict(kwargs)
    for key, value in defaults.items():
        if key in merged:
            continue
        if key.startswith("module__"):
            own = isinstance(module, type) and module.__module__.startswith("lightsaber.")
            if not (own and _accepts(module, key[len("module__"):])):
                continue
        merged[key] = value
    return merged


def describe_defaults(defaults: Mapping[str, Any]) -> str:
    """The docstring paragraph naming a net's changed defaults and where they come from."""
    listed = ", ".join(f"``{key}={value!r}``" for key, value in defaults.items())
    return (f"Defaults (chosen across nine cohorts by validation metrics, "
            f"``benchmarks/defaults_study.py``; ``docs/benchmarks.md``): {listed}. "
            f"``module__*`` defaults apply to lightsaber's own modules only.")


def check_keywords(target: Any, names: Sequence[str], prefix: str, what: str, *,
                    skip: int = 0, alternative: str = "") -> None:
    """Raise :class:`ArgumentError` for keyword ``names`` that ``target`` cannot take.

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
            raise ArgumentError(
                f"'{prefix}{name}' is not an argument of {what} "
                f"(accepted: {', '.join(accepted) or 'none'}).{hint}{alternative}")


def _resolve_device(device: str | None) -> str:
    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class LightsaberNet(NeuralNet):
    """Shared machinery of :class:`ClassifierNet` and :class:`SurvivalNet`."""

    task: str = ""

    def __init__(self, module: type[nn.Module] | nn.Module, *, criterion: Any = None,
                 optimizer: type[torch.optim.Optimizer] = torch.optim.Adam, lr: float = 1e-3,
                 max_epochs: int = 100, batch_size: int = 256, device: str = "auto",
                 random_state: int = 0, early_stopping: int | None = 10,
                 validation_fraction: float | None = 0.1, monitor: str = "loss",
                 gradient_clip: float | None = None,
                 lr_scheduler: tuple[str, Mapping[str, Any]] | None = None,
                 checkpoint_dir: str | None = None, mixed_precision: bool = False,
                 tensorboard_dir: str | None = None, profile: bool = False,
                 progress: bool = False, verbose: int = 0, callbacks: list | None = None,
                 **kwargs: Any) -> None:
        # Validation always comes from ``fit(val=...)``; skorch's internal split is off.
        kwargs["train_split"] = None
        kwargs.setdefault("predict_nonlinearity", None)
        super().__init__(module, criterion=criterion, optimizer=optimizer, lr=lr,
                         max_epochs=max_epochs, batch_size=batch_size, device=device,
                         callbacks=callbacks, verbose=verbose, **kwargs)
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
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
        :class:`ArgumentError`, which is still a ``ValueError``.
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
            raise ArgumentError(f"{type(self).__name__}: {exc}{hint}") from None
        finally:
            self._params_to_validate = saved

    def _check_params(self) -> None:
        def positive_int(name: str, value: Any, allow_none: bool = False) -> None:
            if value is None and allow_none:
                return
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ArgumentError(f"{name} must be a positive integer; got {value!r}.")

        positive_int("max_epochs", self.max_epochs)
        positive_int("batch_size", self.batch_size)
        positive_int("early_stopping", self.early_stopping, allow_none=True)
        fraction = self.validation_fraction
        if fraction is not None and (isinstance(fraction, bool)
                                     or not isinstance(fraction, (int, float))
                                     or not 0 < fraction < 1):
            raise ArgumentError(f"validation_fraction must be None or a number in (0, 1); got "
                                f"{fraction!r}.")
        if not isinstance(self.lr, (int, float)) or not self.lr > 0:
            raise ArgumentError(f"lr must be a positive number; got {self.lr!r}.")
        if self.gradient_clip is not None and not self.gradient_clip > 0:
            raise ArgumentError(
                f"gradient_clip must be a positive number or None; got {self.gradient_clip!r}.")
        if self.device not in (None, "auto", "cpu") and not str(self.device).startswith("cuda"):
            raise ArgumentError(
                f"device must be 'auto', 'cpu' or 'cuda[:n]'; got {self.device!r}.")
        if str(self.device).startswith("cuda") and not torch.cuda.is_available():
            raise ArgumentError(
                f"device={self.device!r} but no CUDA device is available; use device='auto'.")
        metric_direction(self.monitor, self.task)  # raises on unknown names

    def get_params(self, deep: bool = True, **kwargs: Any) -> dict[str, Any]:
        """scikit-learn parameters (skorch's, with the routed ``loss__*`` options)."""
        params = super().get_params(deep=deep, **kwargs)
        if hasattr(self, "_device_requested"):
            params["device"] = self._device_requested
        return params

    def _monitor_key(self) -> str:
        return "valid_loss" if self.monitor == "loss" else f"valid_{self.monitor}"

    def get_default_callbacks(self) -> list[tuple[str, Any]]:
        """The default callbacks: skorch's, with lightsaber's validation metric and progress."""
        callbacks: list[tuple[str, Any]] = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
        ]
        if self.monitor != "loss":
            score = output_scorer(self.monitor, self.task)
            callbacks.append(("valid_metric", ValidationMetric(
                self.monitor, score, lower_is_better=metric_direction(self.monitor, self.task))))
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
                lower_is_better=metric_direction(self.monitor, self.task), load_best=True,
                sink=silent)))
        if self.checkpoint_dir is not None:
            callbacks.append(("checkpoint", AtomicCheckpoint(
                monitor=f"{self._monitor_key()}_best", dirname=self.checkpoint_dir,
                f_optimizer=None, f_criterion=None, f_history="history.json",
                load_best=False, sink=silent)))
        if self.tensorboard_dir is not None:
            try:
                from skorch.callbacks import TensorBoard
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:
                raise ArgumentError(
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
    def _stratify_by(self, y: Any) -> Any:
        """What the held-out validation rows keep in proportion: the label, or the event."""
        y = np.asarray(y)
        if y.dtype.names:  # a survival structured array (event, time)
            return y[y.dtype.names[0]].astype(bool)
        return y

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
        """In-memory tensors of ``X`` (and ``y``), sliced per batch."""
        if isinstance(X, TensorSource):
            return X
        return TensorSource(as_tensor_tree(X), None if y is None else self._target_tensor(y))

    def get_iterator(self, dataset: TensorSource, training: bool = False):
        """A :class:`BatchLoader` over the tensors (shuffled when training)."""
        return BatchLoader(dataset, self.batch_size, shuffle=training,
                           generator=getattr(self, "_generator", None))

    def get_split_datasets(self, X: Any, y: Any = None, **fit_params: Any):
        """The training data and the validation data given to ``fit`` (never a random split)."""
        train = self.get_dataset(X, y)
        valid = self._validation_source
        return train, valid

    def infer(self, x: Any, **fit_params: Any) -> torch.Tensor:
        """The module's forward pass on a batch."""
        if self.mixed_precision and str(self.device).startswith("cuda"):
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
                return super().infer(x, **fit_params).float()
        return super().infer(x, **fit_params)

    def initialize_module(self) -> LightsaberNet:
        """Build the module, filling its input and output sizes from the data."""
        kwargs = self.get_params_for("module")
        if isinstance(self.module, type):
            check_keywords(self.module, list(kwargs), "module__", self.module.__qualname__)
        for name, value in getattr(self, "_inferred_dims", {}).items():
            if name not in kwargs and _accepts(self.module, name):
                kwargs[name] = value
        self.module_ = self.initialized_instance(self.module, kwargs)
        return self

    # ------------------------------------------------------------------ fitting
    @renamed_keywords(validation="val")
    def fit(self, X: Any, y: Any = None, val: tuple[Any, Any] | None = None,
            **fit_params: Any) -> LightsaberNet:
        """Train on ``(X, y)``, validating each epoch on ``val=(X_val, y_val)``.

        Without ``val`` and with ``early_stopping`` on, a seeded, stratified
        ``validation_fraction`` of the rows is held out for it (scikit-learn's
        ``HistGradientBoosting`` convention; ``n_validation_`` says how many); with
        ``validation_fraction=None`` (or ``early_stopping=None``) there is no validation loss,
        so ``early_stopping`` and a ``monitor`` metric are ignored (a fixed ``max_epochs`` run).
        Features whose scales differ by more than 100x earn an ``UnscaledInputWarning``.
        """
        self._check_params()
        from lightsaber.models.nets.raw_fit import check_scaling, hold_out

        check_scaling(X, type(self).__name__)
        self.n_validation_ = 0
        if val is None and self.early_stopping is not None \
                and self.validation_fraction is not None:
            (X, y), val = hold_out(X, y, self.validation_fraction, seed=self.random_state,
                                   stratify=self._stratify_by(y))
            self.n_validation_ = len(val[1])
        elif val is not None:
            self.n_validation_ = len(val[1])
        if hasattr(self, "_device_requested"):
            self.device = self._device_requested
        self._device_requested = self.device
        self.device = self._device_for_fit()
        self._inferred_dims = {**self._dims(X), **self._extra_dims(y)}
        self._validation_source = None
        if val is not None:
            X_val, y_val = val
            self._validation_source = self.get_dataset(X_val, y_val)
        devices = [torch.cuda.current_device()] if str(self.device).startswith("cuda") else []
        try:
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(self.random_state)
                self._generator = torch.Generator().manual_seed(self.random_state)
                if val is None:
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
                             "lightsaber.models.skorch.checkpoint.restore_checkpoint).")
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




_LightsaberNet = LightsaberNet  # the name before the nets were split (old pickles)
