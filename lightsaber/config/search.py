"""The ``tuning.space`` check: every key a model parameter, sound ranges, the tuner's own check."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from lightsaber.config.errors import suggest
from lightsaber.exceptions import ConfigError, LightsaberError
from lightsaber.models.protocol import is_net

__all__ = ["check_space"]

_NET_PREFIXES = ("module", "optimizer", "criterion")


def check_space(space: Mapping[str, Any] | str, model: Any) -> Any:
    """Check a search space against ``model``; returns the tuner's space when it is installed.

    ``"default"`` (YAML ``tuning.space: default``) is the model's default space
    (:func:`lightsaber.tuning.default_space`); a model without one is a config error at
    ``tuning.space``.

    Keys are estimator parameters (``get_params(deep=True)`` names; for nets also
    ``module__<arg>``, ``optimizer__<arg>`` ...), also inside the options of a conditional
    choice. With the tuning package installed, the dimensions are parsed and checked by
    :func:`lightsaber.tuning.space_from_dict` (``{loguniform: [1e-4, 1e-1]}``,
    ``{choice: [...]}`` ...) and the keys by :func:`lightsaber.tuning.study.check_space_keys`,
    the check :func:`lightsaber.tune` itself runs before trial 0.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> check_space({"Cc": [0.1, 1.0]}, LogisticRegression())
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.ConfigError: invalid config: tuning.space.Cc: ...
    """
    try:
        tuning = importlib.import_module("lightsaber.tuning")
    except ModuleNotFoundError:
        if space == "default":
            return None
        _check_top_level_keys(space, model)
        return None
    if space == "default":
        try:
            space = tuning.default_space(model)
        except tuning.TuningError as exc:
            raise ConfigError.at("tuning.space", str(exc).split("; ")[0],
                                 value="default",
                                 allowed="a mapping of parameter names to specs") from None
    try:
        parsed = tuning.space_from_dict(dict(space), path="tuning.space")
    except (ValueError, TypeError, KeyError, LightsaberError) as exc:
        text = str(exc)
        head, _, rest = text.partition(": ")
        if head.startswith("tuning.space") and " " not in head:
            raise ConfigError.at(head, rest.rstrip(".")) from exc
        raise ConfigError.at("tuning.space", text) from exc
    study = importlib.import_module("lightsaber.tuning.study")
    try:
        study.check_space_keys(parsed, model, path="tuning.space")
    except study.SpaceKeyError as exc:
        raise ConfigError.at(exc.path, exc.problem, allowed=exc.allowed,
                             hint=exc.hint) from None
    return parsed


def _check_top_level_keys(space: Mapping[str, Any], model: Any) -> None:
    """The key check without the tuning package: top-level keys only."""
    params = set(model.get_params(deep=True))
    net = is_net(model)
    for key in space:
        path = f"tuning.space.{key}"
        known = key in params or (net and "__" in key and key.split("__", 1)[0]
                                  in _NET_PREFIXES)
        if not known:
            close = suggest(key, params)
            raise ConfigError.at(path, f"not a parameter of {type(model).__name__}",
                                 allowed="its get_params() names (nets: also module__<arg>)",
                                 hint=f"did you mean '{close}'?" if close else "")
