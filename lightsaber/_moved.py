"""Old module paths of the 0.1.0 architecture pass, still importable with a DeprecationWarning.

Modules that moved keep working under their old dotted path, so that

* models pickled before the move (an MLflow pyfunc holds ``lightsaber.training.pipeline``
  classes by path) still load,
* YAML configs whose ``_target_`` names an old path (``lightsaber.datasets.load_sksurv``) still
  run, and
* notebooks written against the documented old names (``from lightsaber.registry import
  load_pipeline``) keep working while they are updated.

An old path resolves to a module whose attributes are looked up in the new homes, in order.

Examples
--------
>>> import warnings
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     from lightsaber.datasets import load_sksurv
>>> load_sksurv.__module__, caught[0].category.__name__
('lightsaber.data.datasets', 'DeprecationWarning')
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

__all__ = ["MOVED", "RENAMED", "install", "renamed", "renamed_keywords"]

#: Old module path -> the modules that now hold its names (first match wins).
MOVED: dict[str, tuple[str, ...]] = {
    "lightsaber.calibration.plots": ("lightsaber.metrics.plots",),
    "lightsaber.datasets": ("lightsaber.data.datasets",),
    "lightsaber.registry": ("lightsaber.tracking.model_registry", "lightsaber.serving.load",
                            "lightsaber.exceptions"),
    "lightsaber.losses.registry": ("lightsaber.losses.catalogue",),
    "lightsaber.metrics.registry": ("lightsaber.metrics.catalogue",),
    "lightsaber.models.batching": ("lightsaber.models.skorch.batching",),
    "lightsaber.models.networks": ("lightsaber.models.modules",),
    "lightsaber.training.callbacks": ("lightsaber.models.skorch.callbacks",),
    "lightsaber.training.checkpoint": ("lightsaber.models.skorch.checkpoint",
                                       "lightsaber.exceptions"),
    "lightsaber.training.evaluate": ("lightsaber.metrics.split_scores",
                                     "lightsaber.models.protocol"),
    "lightsaber.training.pipeline": ("lightsaber.serving.pipeline", "lightsaber.models.protocol"),
    "lightsaber.training.pyfunc": ("lightsaber.serving.pyfunc",),
    "lightsaber.training.run_warnings": ("lightsaber.tracking.run_warnings",),
    "lightsaber.training.scoring": ("lightsaber.models.skorch.scoring",),
}

#: Names that changed with the move: old path -> {old name: "new.module:new_name"}.
RENAMED: dict[str, dict[str, str]] = {
    "lightsaber.training.pipeline": {"model_task": "lightsaber.models.protocol:task_of"},
    "lightsaber.training.evaluate": {"time_grid": "lightsaber.metrics.split_scores:default_times"},
    "lightsaber.models.nets": {"ConfigurationError": "lightsaber.exceptions:ArgumentError"},
}


class _MovedModule(types.ModuleType):
    """A stand-in for an old path: attribute lookups go to the new modules."""

    def __init__(self, name: str, targets: tuple[str, ...]) -> None:
        super().__init__(name, f"Moved: see {', '.join(targets)}.")
        self.__targets = targets

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        if attr in RENAMED.get(self.__name__, {}):
            module, _, name = RENAMED[self.__name__][attr].partition(":")
            renamed(attr, f"{module}.{name}", self.__name__)
            return getattr(importlib.import_module(module), name)
        for target in self.__targets:
            module = importlib.import_module(target)
            if hasattr(module, attr):
                return getattr(module, attr)
        raise AttributeError(f"module {self.__name__!r} (moved to "
                             f"{', '.join(self.__targets)}) has no attribute {attr!r}")


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        targets = MOVED[spec.name]
        warnings.warn(f"{spec.name} has moved to {targets[0]}; import it from there "
                      "(the old path will be removed in 0.2).", DeprecationWarning, stacklevel=2)
        return _MovedModule(spec.name, targets)

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the stand-in resolves names on first use."""


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (idempotent)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _MovedFinder())


def renamed(old: str, new: str, where: str, *, stacklevel: int = 3) -> None:
    """Warn that ``where``'s ``old`` is now ``new`` (DeprecationWarning, removed in 0.2)."""
    warnings.warn(f"{where}: {old!r} is now {new!r}; the old name will be removed in 0.2.",
                  DeprecationWarning, stacklevel=stacklevel)


def renamed_keywords(**old_to_new: str) -> Any:
    """Decorator: accept each old keyword name, with a DeprecationWarning, as its new name.

    Examples
    --------
    >>> @renamed_keywords(time_grid="times")
    ... def f(times=None):
    ...     return times
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     f(time_grid=[1.0])
    [1.0]
    """
    import functools

    clash = [old for old, new in old_to_new.items() if old == new]
    if clash:  # a rename to itself would swallow the real keyword
        raise ValueError(f"renamed_keywords: {clash} renamed to themselves")

    def wrap(fn: Any) -> Any:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{fn.__qualname__}() got {old!r} and {new!r}; "
                                        f"{old!r} is the old name of {new!r}: pass only {new!r}.")
                    renamed(old, new, f"{fn.__qualname__}()")
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return inner

    return wrap
