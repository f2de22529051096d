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

__all__ = ["MOVED", "install"]

#: Old module path -> the modules that now hold its names (first match wins).
MOVED: dict[str, tuple[str, ...]] = {
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


class _MovedModule(types.ModuleType):
    """A stand-in for an old path: attribute lookups go to the new modules."""

    def __init__(self, name: str, targets: tuple[str, ...]) -> None:
        super().__init__(name, f"Moved: see {', '.join(targets)}.")
        self.__targets = targets

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
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
