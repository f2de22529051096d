"""Every public function and class has a numpydoc docstring (the acceptance rule of issue 10).

Public = the callables and classes named in ``__all__`` of each package below. Two rules:

1. ``numpydoc.validate`` reports none of :data:`CHECKS` — a docstring exists (GL08), opens with a
   one-line, capitalised, full-stop summary (SS01-SS04, SS06) and its sections are well formed
   (known names in the right order, no stray blank lines, parameter and return entries
   well formatted).
2. A function or class that takes arguments has a ``Parameters`` section, or — for
   dataclasses and small helpers — ``Attributes`` or ``Examples`` instead. Exceptions are
   exempt (their one argument is the message). :data:`KNOWN_GAPS` lists today's exceptions to
   this rule; it may only shrink (a test fails when a listed name gets fixed, so that the entry
   is removed).

Docstring examples run as doctests through ``--doctest-modules`` (see ``pyproject.toml``).
"""

from __future__ import annotations

import importlib
import inspect
import warnings

import pytest

numpydoc_validate = pytest.importorskip(
    "numpydoc.validate", reason="numpydoc is a dev requirement (docstring checks)")
docscrape = pytest.importorskip("numpydoc.docscrape")

#: Packages (and, for ``lightsaber.training``, which re-exports nothing, modules) whose
#: ``__all__`` is public API.
PACKAGES = (
    "lightsaber",
    "lightsaber.calibration",
    "lightsaber.config",
    "lightsaber.data",
    "lightsaber.data.datasets",
    "lightsaber.exceptions",
    "lightsaber.losses",
    "lightsaber.metrics",
    "lightsaber.models",
    "lightsaber.tracking.model_registry",
    "lightsaber.reports",
    "lightsaber.serving",
    "lightsaber.tracking",
    "lightsaber.models.skorch.callbacks",
    "lightsaber.metrics.split_scores",
    "lightsaber.training.fit",
    "lightsaber.training.run",
    "lightsaber.serving.pipeline",
    "lightsaber.models.protocol",
    "lightsaber.tracking.client",
    "lightsaber.tuning",
)
#: Packages still being written in parallel: skipped (with this reason) until they import.
IN_PROGRESS = {"lightsaber.config", "lightsaber.tracking.model_registry", "lightsaber.reports",
               "lightsaber.serving", "lightsaber.tuning"}

#: numpydoc checks enforced on every public docstring (codes: ``numpydoc.validate.ERROR_MSGS``).
CHECKS = frozenset({
    "GL01", "GL02", "GL03", "GL05", "GL06", "GL07", "GL08", "GL10",
    "SS01", "SS02", "SS03", "SS04", "SS06",
    "PR03", "PR05", "PR06", "PR10",
    "RT04", "RT05",
})

#: Public callables taking arguments whose docstring has no Parameters / Attributes /
#: Examples section yet (rule 2). Fix the docstring, then delete the entry.
KNOWN_GAPS = frozenset({
    "lightsaber.calibration.model_survival",
    "lightsaber.config.ExperimentConfig",
    "lightsaber.config.run_fit",
    "lightsaber.reports.load_predictions",
    "lightsaber.reports.render_report",
    "lightsaber.serving.required_columns",
})
SECTIONS_FOR_ARGUMENTS = ("Parameters", "Other Parameters", "Attributes", "Examples")


def _public(package: str) -> list[tuple[str, object]]:
    if package in IN_PROGRESS:
        module = pytest.importorskip(package, reason=f"{package} is not merged yet")
    else:
        module = importlib.import_module(package)
    names = getattr(module, "__all__", None)
    assert names is not None, f"{package} must declare its public names in __all__"
    out = []
    for name in names:
        obj = getattr(module, name)
        if inspect.ismodule(obj) or not (inspect.isclass(obj) or inspect.isroutine(obj)):
            continue  # sub-packages are checked on their own; constants need no docstring
        out.append((f"{package}.{name}", obj))
    return out


def _takes_arguments(obj: object) -> bool:
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return False
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return False
    return any(p.name not in ("self", "cls") for p in signature.parameters.values())


def _has_argument_section(obj: object) -> bool:
    with warnings.catch_warnings():  # numpydoc warns on sections it does not know
        warnings.simplefilter("ignore")
        doc = docscrape.NumpyDocString(inspect.getdoc(obj) or "")
    return any(doc[section] for section in SECTIONS_FOR_ARGUMENTS)


@pytest.mark.parametrize("package", PACKAGES)
def test_public_docstrings_pass_numpydoc_checks(package):
    problems = []
    for path, _ in _public(package):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = numpydoc_validate.validate(path)
        problems += [f"{path}: {code} {message}" for code, message in result["errors"]
                     if code in CHECKS]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("package", PACKAGES)
def test_public_callables_taking_arguments_document_them(package):
    missing = [path for path, obj in _public(package)
               if path not in KNOWN_GAPS and _takes_arguments(obj)
               and not _has_argument_section(obj)]
    assert not missing, (
        "add a Parameters (or Attributes / Examples) section to: " + ", ".join(missing))


def test_known_gaps_only_shrink():
    fixed = []
    for path in sorted(KNOWN_GAPS):
        package, name = path.rsplit(".", 1)
        try:
            obj = getattr(importlib.import_module(package), name)
        except ImportError:
            if package in IN_PROGRESS:
                continue  # a sibling package that is not merged yet
            raise
        except AttributeError:
            fixed.append(f"{path} (no longer public)")
            continue
        if not _takes_arguments(obj) or _has_argument_section(obj):
            fixed.append(path)
    assert not fixed, f"remove from KNOWN_GAPS in tests/test_docstrings.py: {fixed}"
