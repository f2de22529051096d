"""Config -> estimator: ``model`` (with ``network`` and ``loss``) plus the ``trainer`` settings.

Every argument is checked against the signature of the class or function it goes to, so a
misspelt argument names its key path and the closest accepted name.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from lightsaber.config.adapters import CriterionAdapter, LossAdapter
from lightsaber.config.errors import suggest
from lightsaber.config.loading import RUNTIME_PREFIX
from lightsaber.config.schema import AdapterSpec, ExperimentConfig, LossSpec
from lightsaber.config.targets import check_arguments, instantiate, locate, signature_names
from lightsaber.exceptions import ConfigError
from lightsaber.models.protocol import is_net

__all__ = ["NET_ONLY", "build_model", "network_class", "resolve_transforms"]

#: ``trainer`` keys that only neural-network estimators take.
NET_ONLY = ("max_epochs", "batch_size", "lr", "optimizer", "device", "gradient_clip")
_PREFIXES = ("module", "optimizer", "criterion", "iterator_train", "iterator_valid", "dataset",
             "callbacks")
#: What a loss can receive from the pipeline, by task. Competing risks: ``prediction`` is the
#: ``(n, K, n_bins)`` score array, ``duration`` the time-bin index and ``event`` the cause
#: position ``1..K`` (0 = censored), as :class:`~lightsaber.models.CompetingRisksNet` passes them.
LOSS_QUANTITIES = {"survival": ("prediction", "duration", "event"),
                   "competing": ("prediction", "duration", "event"),
                   "classification": ("prediction", "label")}


def _dunder(key: str) -> bool:
    return "__" in key and key.split("__", 1)[0] in _PREFIXES


def network_class(config: ExperimentConfig, target: Any) -> Any:
    """The ``nn.Module`` class a net will train (from ``model.network`` or its default)."""
    if config.model.network is not None:
        return locate(config.model.network.target, "model.network._target_")
    param = inspect.signature(target).parameters.get("module")
    if param is None or param.default is inspect.Parameter.empty:
        raise ConfigError.at("model.network", "required key is missing",
                             allowed=f"{target.__name__} needs a network, e.g. "
                                     "{_target_: lightsaber.models.MLP}")
    return param.default


def resolve_transforms(adapter: AdapterSpec | None, path: str) -> dict[str, Any]:
    """The adapter's transforms as names or callables, checked."""
    from lightsaber.config.adapters import TRANSFORMS

    out: dict[str, Any] = {}
    for quantity, step in (adapter.transform if adapter else {}).items():
        where = f"{path}._adapter_.transform.{quantity}"
        if isinstance(step, str):
            if step not in TRANSFORMS:
                close = suggest(step, TRANSFORMS)
                raise ConfigError.at(where, "unknown transform", value=step,
                                     allowed=", ".join(TRANSFORMS) + " or a _target_ mapping",
                                     hint=f"did you mean '{close}'?" if close else "")
            out[quantity] = step
        else:
            spec = step.model_dump(by_alias=True)
            spec["_partial_"] = bool(step.arguments)
            spec["_call_"] = bool(step.arguments)
            out[quantity] = instantiate(spec, where)
    return out


def check_adapter(fn: Any, adapter: AdapterSpec | None, path: str, allowed: tuple[str, ...],
                  options: Mapping[str, Any]) -> None:
    """The adapter maps real arguments of ``fn`` onto quantities the pipeline provides."""
    if adapter is None:
        return
    for arg, quantity in adapter.arguments.items():
        if quantity not in allowed:
            raise ConfigError.at(f"{path}._adapter_.arguments.{arg}",
                                 "this quantity is not available here", value=quantity,
                                 allowed=", ".join(allowed))
    check_arguments(fn, {**adapter.arguments, **options}, path)
    for quantity in adapter.transform:
        if quantity not in allowed:
            raise ConfigError.at(f"{path}._adapter_.transform.{quantity}",
                                 "this quantity is not available here", value=quantity,
                                 allowed=", ".join(allowed))


def _loss_arguments(config: ExperimentConfig, target: Any, task: str) -> dict[str, Any]:
    loss = config.model.loss
    if loss is None:
        return {}
    if not is_net(target):
        raise ConfigError.at("model.loss", "only neural-network models take a loss",
                             value=loss if isinstance(loss, str) else loss.target,
                             allowed=f"remove it for {target.__name__}")
    if isinstance(loss, str):
        from lightsaber.losses.catalogue import LOSSES, get_loss

        if loss not in LOSSES:
            close = suggest(loss, LOSSES)
            raise ConfigError.at("model.loss", "unknown loss name", value=loss,
                                 allowed=", ".join(sorted(LOSSES)) + " or a _target_ mapping",
                                 hint=f"did you mean '{close}'?" if close else "")
        if task == "classification":
            raise ConfigError.at("model.loss", "registry losses are survival losses",
                                 value=loss, allowed="a _target_ mapping for a classifier")
        from lightsaber.losses.catalogue import PER_CAUSE_AND_TIME_BIN

        spec = get_loss(loss)
        competing = spec.output_width == PER_CAUSE_AND_TIME_BIN
        if competing != (task == "competing"):
            wanted = sorted(n for n, s in LOSSES.items()
                            if (s.output_width == PER_CAUSE_AND_TIME_BIN) == (task == "competing"))
            what = "a competing-risks" if competing else "a single-event"
            raise ConfigError.at("model.loss", f"{what} loss cannot train a {task} model",
                                 value=loss, allowed=", ".join(wanted))
        return {"loss": loss}
    return _custom_loss(loss, task)


def _custom_loss(loss: LossSpec, task: str) -> dict[str, Any]:
    fn = locate(loss.target, "model.loss._target_")
    options = instantiate(loss.arguments, "model.loss")
    if isinstance(fn, type):
        check_arguments(fn, options, "model.loss")
        try:
            fn, options = fn(**options), {}
        except Exception as exc:
            raise ConfigError.at("model.loss", f"{loss.target}(...) raised "
                                               f"{type(exc).__name__}: {exc}") from exc
    elif loss.adapter is None:
        check_arguments(fn, options, "model.loss")
    check_adapter(fn, loss.adapter, "model.loss", LOSS_QUANTITIES[task], options)
    arguments = loss.adapter.arguments if loss.adapter else {}
    transforms = resolve_transforms(loss.adapter, "model.loss")
    if task == "classification":
        return {"criterion": CriterionAdapter(fn, arguments, transforms, options)}
    if loss.adapter is None:
        return {"loss": fn, "loss_options": options or None}
    return {"loss": LossAdapter(fn, arguments, transforms, options)}


def _fill_runtime(value: Any, values: Callable[[], Mapping[str, Any]], path: str) -> Any:
    if isinstance(value, str) and value.startswith(RUNTIME_PREFIX):
        name = value[len(RUNTIME_PREFIX):]
        known = values()
        if known.get(name) is None:
            raise ConfigError.at(path, "this runtime value is not defined for this data",
                                 value=f"${{runtime:{name}}}",
                                 allowed=", ".join(k for k, v in known.items() if v is not None))
        return known[name]
    if isinstance(value, Mapping):
        return {k: _fill_runtime(v, values, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_fill_runtime(v, values, f"{path}[{i}]") for i, v in enumerate(value))
    return value


def build_model(config: ExperimentConfig, task: str,
                runtime: Callable[[], Mapping[str, Any]]) -> Any:
    """The estimator of the ``model`` + ``trainer`` sections (not fitted).

    Parameters
    ----------
    config : ExperimentConfig
    task : {"classification", "survival", "competing"}
    runtime : callable
        Returns the runtime values (``n_features`` ...); called only when a ``${runtime:...}``
        reference needs them.
    """
    spec = config.model
    target = locate(spec.target, "model._target_")
    if not isinstance(target, type) and not callable(target):
        raise ConfigError.at("model._target_", "must name an estimator class",
                             value=spec.target)
    net = is_net(target)
    arguments = _fill_runtime(dict(spec.arguments), runtime, "model")
    kwargs: dict[str, Any] = instantiate(arguments, "model")
    names, _ = signature_names(target)
    check_arguments(target, kwargs, "model", extra_ok=_dunder if net else None)
    if spec.network is not None:
        if not net:
            raise ConfigError.at("model.network", "only neural-network models take a network",
                                 value=spec.network.target,
                                 allowed="lightsaber.models.ClassifierNet / SurvivalNet or a "
                                         "recipe such as DeepSurv")
        module = network_class(config, target)
        module_args = _fill_runtime(dict(spec.network.arguments), runtime, "model.network")
        module_args = instantiate(module_args, "model.network")
        check_arguments(module, module_args, "model.network")
        kwargs["module"] = module
        kwargs.update({f"module__{k}": v for k, v in module_args.items()})
    elif net:
        network_class(config, target)  # raises when the net has no default network
    kwargs.update(_loss_arguments(config, target, task))
    for key in NET_ONLY:
        value = getattr(config.trainer, key)
        if value is None:
            continue
        if not net:
            raise ConfigError.at(f"trainer.{key}", "applies to neural-network models only",
                                 value=value, allowed=f"remove it for {target.__name__}")
        kwargs[key] = locate(value, "trainer.optimizer") if key == "optimizer" else value
    if "random_state" in names and "random_state" not in kwargs:
        kwargs["random_state"] = config.seed
    try:
        model = target(**kwargs)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError.at("model", f"{spec.target}(...) raised {type(exc).__name__}: {exc}"
                             ) from exc
    _check_hyperparameters(model, spec.target)
    return model


def _check_hyperparameters(model: Any, target: str) -> None:
    """Run the estimator's own parameter checks now, not hours into a run."""
    import re

    check = getattr(model, "_check_params", None) if is_net(model) else None
    if check is None and hasattr(model, "_parameter_constraints"):  # scikit-learn's own
        check = model._validate_params
    if check is None and type(model).__module__ == "lightsaber.models.competing":
        from lightsaber.models.competing import _check_params

        def check() -> None:
            _check_params(model)
    if check is None:
        return
    try:
        check()
    except Exception as exc:
        text = str(exc)
        match = re.search(r"The '(\w+)' parameter|^(\w+) must", text)
        name = next((g for g in match.groups() if g), None) if match else None
        path = f"model.{name}" if name else "model"
        if name in NET_ONLY:
            path = f"trainer.{name}"
        raise ConfigError.at(path, f"invalid for {target}: {text}") from exc
