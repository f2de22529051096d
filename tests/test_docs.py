"""The documentation site: every page is reachable, and ``mkdocs build --strict`` passes."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _nav_pages() -> list[str]:
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with mkdocs (dev requirement)")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    pages: list[str] = []

    def walk(item):
        if isinstance(item, str):
            pages.append(item)
        elif isinstance(item, dict):
            for value in item.values():
                walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)

    walk(config["nav"])
    return pages


def test_every_page_is_in_the_nav_and_every_nav_entry_exists():
    nav = _nav_pages()
    assert len(nav) == len(set(nav)), "a page is listed twice in mkdocs.yml"
    missing = [page for page in nav if not (DOCS / page).is_file()]
    assert not missing, f"mkdocs.yml lists pages that do not exist: {missing}"
    orphans = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")
                     if str(p.relative_to(DOCS)) not in nav)
    assert not orphans, f"add these pages to the nav in mkdocs.yml: {orphans}"


def test_api_reference_covers_every_subpackage_and_targets_import():
    targets = set()
    for page in (DOCS / "api").glob("*.md"):
        for name in re.findall(r"^::: ([\w.]+)\s*$", page.read_text(), flags=re.M):
            importlib.import_module(name)  # a typo fails here, not only in the site build
            targets.add(name)
    packages = {"lightsaber"} | {
        f"lightsaber.{p.name}" for p in (ROOT / "lightsaber").iterdir()
        if (p / "__init__.py").is_file()} | {"lightsaber.datasets", "lightsaber.registry"}
    uncovered = sorted(p for p in packages
                       if not any(t == p or t.startswith(f"{p}.") for t in targets))
    assert not uncovered, f"add an API page (docs/api/*.md) for {uncovered}"


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is a dev requirement (docs extra)")
    pytest.importorskip("mkdocstrings_handlers.python",
                        reason="mkdocstrings[python] is a dev requirement (docs extra)")
    env = {**os.environ, "JUPYTER_PLATFORM_DIRS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "api" / "metrics" / "index.html").is_file()
    assert "lightsaber.metrics.harrell_c" in (
        tmp_path / "site" / "api" / "metrics" / "index.html").read_text()
