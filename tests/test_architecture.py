"""The layer rule of docs/architecture.md, checked over every module's imports.

Every ``import`` of a ``lightsaber`` module, at the top of a file or inside a function, is read
statically (``ast``) and checked against the table of allowed layer dependencies below, so
that the one-way flow cannot erode one lazy import at a time. Imports under ``if
TYPE_CHECKING:`` count too: a type annotation that needs an upper layer is a design smell as
well. The same walk finds import circles between modules (lazy imports included).
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lightsaber"

#: The layers, lowest first: each may import itself and any layer listed before it.
LAYERS = (
    "exceptions",
    "data",
    "losses",
    "metrics",
    "models",
    "calibration",
    "tracking",
    "serving",
    "training",
    "tuning",
    "reports",
    "config",
    "entry",  # cli, demo, __main__, the package __init__
)
#: Helpers every layer may use (no imports of their own from lightsaber, except lazily the
#: modules they stand in for).
ANYWHERE = {"lightsaber._version", "lightsaber._moved", "lightsaber.exceptions"}
#: Top-level modules that are not a package, and their layer.
TOP_LEVEL = {"lightsaber.exceptions": "exceptions", "lightsaber.cli": "entry",
             "lightsaber.demo": "entry", "lightsaber.__main__": "entry", "lightsaber": "entry",
             "lightsaber._version": "exceptions", "lightsaber._moved": "exceptions"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def layer_of(module: str) -> str:
    """The layer of a module: its sub-package, or the table above for top-level modules."""
    if module in TOP_LEVEL:
        return TOP_LEVEL[module]
    return module.split(".")[1]


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:`` (never executed)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out |= {id(child) for stmt in node.body for child in ast.walk(stmt)}
    return out


def _imports(module: str, path: Path, *, typing_only: bool = True) -> list[tuple[int, str]]:
    """``(line, imported module)`` for every lightsaber import in ``path``.

    ``typing_only=False`` leaves out the imports under ``if TYPE_CHECKING:``.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    skip = set() if typing_only else _type_checking_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # `from lightsaber.x import y` where y is a module imports that module too
            found += [(node.lineno, f"{target}.{a.name}") for a in node.names
                      if f"{target}.{a.name}" in MODULES]
    return [(line, t) for line, t in found if t == "lightsaber" or t.startswith("lightsaber.")]


def _owning_module(target: str) -> str:
    """The module an import names (a name inside a module resolves to that module)."""
    while target not in MODULES and "." in target:
        target = target.rpartition(".")[0]
    return target


def _graph(*, typing_only: bool = True) -> dict[str, dict[str, int]]:
    graph: dict[str, dict[str, int]] = defaultdict(dict)
    for module, path in MODULES.items():
        for line, target in _imports(module, path, typing_only=typing_only):
            graph[module].setdefault(_owning_module(target), line)
    return graph


def test_the_layer_table_names_every_subpackage():
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert subpackages <= set(LAYERS), f"add {sorted(subpackages - set(LAYERS))} to LAYERS"
    top = {name for name in MODULES if name.count(".") <= 1 and layer_of(name) not in
           subpackages}
    assert top <= set(TOP_LEVEL), f"add {sorted(top - set(TOP_LEVEL))} to TOP_LEVEL"


def test_imports_point_down_the_pipeline():
    upward = []
    for module, targets in _graph().items():
        low = LAYERS.index(layer_of(module))
        for target, line in targets.items():
            if target in ANYWHERE or target == module:
                continue
            if LAYERS.index(layer_of(target)) > low:
                upward.append(f"{MODULES[module].relative_to(ROOT)}:{line} ({layer_of(module)}) "
                              f"imports {target} ({layer_of(target)})")
    assert not upward, "imports against the layer order of docs/architecture.md:\n" + \
        "\n".join(sorted(upward))


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, {}):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in list(graph):
        if node not in index:
            visit(node)
    return out


def test_no_import_circle_between_modules():
    # A package's __init__ re-exports its modules: the edge "module -> own package" is the
    # usual `from lightsaber.metrics import X` inside lightsaber.metrics, resolved to the
    # defining module instead, so it is not a circle of concepts. Imports under
    # `if TYPE_CHECKING:` never run, so they close no circle (they still obey the layers).
    graph = _graph(typing_only=False)
    for module in graph:
        for target in list(graph[module]):
            if module.startswith(f"{target}.") and target in MODULES \
                    and MODULES[target].name == "__init__.py":
                del graph[module][target]
    assert _cycles(graph) == []


def test_the_check_sees_a_violation():
    """The walk is not vacuous: a known downward edge and a synthetic upward one are found."""
    assert "lightsaber.data.cohort" in _graph()["lightsaber.training.fit"]
    assert LAYERS.index(layer_of("lightsaber.training.fit")) > \
        LAYERS.index(layer_of("lightsaber.metrics.split_scores"))
    fake = {"a": {"b": 1}, "b": {"a": 1}}
    assert _cycles(fake) == [["a", "b"]]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "lightsaber.__main__"))
def test_every_all_is_sorted_and_exists(module):
    imported = importlib.import_module(module)
    names = getattr(imported, "__all__", None)
    if names is None:
        return
    assert list(names) == sorted(names), f"{module}.__all__ is not sorted"
    missing = [n for n in names if not hasattr(imported, n)]
    assert not missing, f"{module}.__all__ names {missing}, which it does not define"


def test_importing_main_does_not_run_the_cli():
    done = subprocess.run([sys.executable, "-c", "import lightsaber.__main__; print('alive')"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == "alive", done.stderr[-2000:]
