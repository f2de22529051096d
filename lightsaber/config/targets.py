"""``_target_`` instantiation: any importable class or function, including the user's project.

A mapping with a ``_target_`` key names an importable object by its dotted path; the other keys
are its keyword arguments (themselves instantiated when they are ``_target_`` mappings).
``_partial_: true`` returns a :func:`functools.partial` instead of calling, ``_call_: false``
returns the object itself. Modules in the folder named by the config's ``project:`` key are
importable like installed ones.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightsaber.config.errors import suggest
from lightsaber.exceptions import ConfigError

__all__ = ["RESERVED", "add_project", "instantiate", "is_target", "locate", "signature_names"]

#: Keys with a meaning for instantiation, never passed as arguments.
RESERVED = ("_target_", "_partial_", "_call_", "_adapter_")


def add_project(path: str | Path) -> Path:
    """Make the modules in ``path`` importable (prepended to ``sys.path`` once).

    Examples
    --------
    >>> import tempfile
    >>> folder = add_project(tempfile.gettempdir())
    >>> str(folder) in sys.path
    True
    >>> sys.path.remove(str(folder))
    """
    folder = Path(path).resolve()
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
        importlib.invalidate_caches()
    return folder


def is_target(value: Any) -> bool:
    """Whether ``value`` is a mapping with a ``_target_`` key."""
    return isinstance(value, Mapping) and "_target_" in value


def locate(target: Any, path: str) -> Any:
    """Import the object named by a dotted path such as ``"lightsaber.models.MLP"``.

    Parameters
    ----------
    target : str
        ``"package.module.attribute"`` (or a module path).
    path : str
        Key path of the ``_target_`` in the config, for error messages.

    Raises
    ------
    ConfigError
        The module cannot be found, raised while importing, or lacks the attribute (with a
        did-you-mean suggestion).

    Examples
    --------
    >>> locate("lightsaber.models.MLP", "model.network._target_").__name__
    'MLP'
    >>> locate("lightsaber.models.MLPP", "model.network._target_")
    Traceback (most recent call last):
    ...
    lightsaber.exceptions.ConfigError: invalid config: model.network._target_: ...
    """
    if not isinstance(target, str) or not target.strip() or " " in target.strip():
        raise ConfigError.at(path, "`_target_` must be a dotted import path", value=target,
                             allowed="e.g. 'sklearn.linear_model.LogisticRegression'")
    parts = target.strip().split(".")
    module, depth = None, 0
    for depth in range(len(parts), 0, -1):
        name = ".".join(parts[:depth])
        try:
            module = importlib.import_module(name)
            break
        except ModuleNotFoundError as exc:
            if exc.name is not None and not name.startswith(exc.name):
                # the module exists but imports something missing
                raise ConfigError.at(path, f"importing {name!r} failed: {exc}",
                                     value=target) from exc
            continue
        except Exception as exc:  # the user's module raised while importing
            raise ConfigError.at(path, f"importing {name!r} failed: "
                                       f"{type(exc).__name__}: {exc}", value=target) from exc
    if module is None:
        raise ConfigError.at(path, "no importable module", value=target,
                             allowed="an installed module or one in the `project:` folder")
    obj: Any = module
    for i, attr in enumerate(parts[depth:], start=depth):
        if not hasattr(obj, attr):
            names = [n for n in dir(obj) if not n.startswith("_")]
            close = suggest(attr, names)
            where = ".".join(parts[:i])
            raise ConfigError.at(path, f"{where!r} has no attribute {attr!r}", value=target,
                                 hint=f"did you mean '{where}.{close}'?" if close else "")
        obj = getattr(obj, attr)
    return obj


def signature_names(obj: Any) -> tuple[set[str], bool]:
    """Keyword names accepted by a callable, and whether it also takes ``**kwargs``.

    For classes the ``__init__`` chain is followed while it passes ``**kwargs`` upwards.

    Examples
    --------
    >>> names, extra = signature_names(sorted)
    >>> sorted(names), extra
    (['iterable', 'key', 'reverse'], False)
    """
    names: set[str] = set()
    try:
        sigs = [inspect.signature(obj)]
    except (TypeError, ValueError):
        return names, True
    if isinstance(obj, type):
        sigs += [inspect.signature(c.__init__) for c in obj.__mro__[1:]
                 if "__init__" in vars(c) and c is not object]
    extra = False
    for sig in sigs:
        params = list(sig.parameters.values())
        names.update(p.name for p in params
                     if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self")
        extra = any(p.kind is p.VAR_KEYWORD for p in params)
        if not extra:
            break
    return names, extra


def check_arguments(obj: Any, kwargs: Mapping[str, Any], path: str,
                    extra_ok: Any = None) -> None:
    """Reject keyword arguments ``obj`` does not accept, suggesting the closest name.

    ``extra_ok(name)`` may accept names the signature cannot show (e.g. skorch's ``module__*``).
    """
    names, var_kw = signature_names(obj)
    if var_kw and extra_ok is None:
        return
    for key in kwargs:
        if key in RESERVED or key in names or (extra_ok is not None and extra_ok(key)):
            continue
        if var_kw and extra_ok is None:
            continue
        close = suggest(key, names)
        label = getattr(obj, "__qualname__", repr(obj))
        raise ConfigError.at(f"{path}.{key}" if path else key,
                             f"{label} has no argument {key!r}",
                             allowed=", ".join(sorted(names)) or "none",
                             hint=f"did you mean '{close}'?" if close else "")


def instantiate(spec: Any, path: str) -> Any:
    """Build the objects a config value describes (recursively).

    Parameters
    ----------
    spec : object
        A ``_target_`` mapping, a list or mapping holding some, or a plain value (returned).
    path : str
        Key path of ``spec``, for error messages.

    Examples
    --------
    >>> instantiate({"_target_": "fractions.Fraction", "numerator": 1, "denominator": 4}, "x")
    Fraction(1, 4)
    >>> instantiate({"_target_": "math.floor", "_call_": False}, "x").__name__
    'floor'
    """
    if isinstance(spec, Mapping):
        if "_target_" not in spec:
            return {k: instantiate(v, f"{path}.{k}") for k, v in spec.items()}
        obj = locate(spec["_target_"], f"{path}._target_")
        if spec.get("_call_", True) is False:
            return obj
        kwargs = {k: instantiate(v, f"{path}.{k}") for k, v in spec.items() if k not in RESERVED}
        check_arguments(obj, kwargs, path)
        if spec.get("_partial_", False):
            return functools.partial(obj, **kwargs)
        try:
            return obj(**kwargs)
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError.at(path, f"{spec['_target_']}(...) raised "
                                       f"{type(exc).__name__}: {exc}") from exc
    if isinstance(spec, list | tuple):
        return type(spec)(instantiate(v, f"{path}[{i}]") for i, v in enumerate(spec))
    return spec
