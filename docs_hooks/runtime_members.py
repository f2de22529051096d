"""Griffe extension: public names that only exist at run time are documented from the live objects.

``lightsaber.models.recipes`` makes its recipe classes from a table at import time, so static
analysis finds no ``class DeepSurv`` to document. For each module of the package whose
``__all__`` names something static analysis did not find, this imports the module, inspects it
and adds the missing members (classes with their signatures and docstrings).
"""

from __future__ import annotations

from typing import Any

import griffe

__all__ = ["RuntimeMembers"]


def _modules(module: griffe.Module):
    yield module
    for member in module.modules.values():
        if not member.is_alias:
            yield from _modules(member)


class RuntimeMembers(griffe.Extension):
    """Add the ``__all__`` names static analysis missed, inspected from the imported module."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader,
                   **kwargs: Any) -> None:
        """Fill each module's missing ``__all__`` members from the imported module."""
        for module in list(_modules(pkg)):
            missing = [name for name in (module.exports or ()) if name not in module.members]
            if not missing:
                continue
            live = griffe.inspect(module.path, docstring_parser=loader.docstring_parser,
                                  docstring_options=loader.docstring_options)
            for name in missing:
                if name in live.members:
                    member = live[name]
                    module.set_member(name, member)
