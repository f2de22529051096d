"""The set-up contract: valid requirement ranges, torch pinned only through constraints, the
README's two commands, and a CI script that runs them (the previous generation shipped invalid
requirement specifiers and a CI that ran no test)."""

from __future__ import annotations

import configparser
import re

from packaging.requirements import Requirement

from tests.conftest import REPO


def _requirements() -> list[Requirement]:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    lines = [line.strip() for line in cfg["options"]["install_requires"].splitlines()]
    extras = cfg["options.extras_require"]
    for name in extras:
        lines += [line.strip() for line in extras[name].splitlines()]
    return [Requirement(line) for line in lines if line]  # raises on an invalid specifier


def test_requirements_are_valid_ranges_not_pins():
    reqs = _requirements()
    assert reqs, "setup.cfg lists no requirement"
    for req in reqs:
        for spec in req.specifier:
            assert spec.operator != "==", f"{req} is pinned in setup.cfg; use a range"
    torch = next(r for r in reqs if r.name == "torch")
    assert torch.specifier.contains("2.13.0")


def test_torch_pinned_through_constraints_used_by_make():
    constraints = (REPO / "constraints.txt").read_text()
    assert re.search(r"^torch==2\.13\.0$", constraints, re.M)
    makefile = (REPO / "Makefile").read_text()
    assert makefile.count("-c constraints.txt") >= 2


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    head = (REPO / "README.md").read_text().splitlines()[:6]
    assert any(line.startswith("make demo") for line in head)
    assert any(line.startswith("make test") for line in head)
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith("#")]
    assert ci[-1] == "make test"


def test_no_shared_reference_files_committed():
    import subprocess

    files = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=REPO).stdout
    leaked = [f for f in files.splitlines()
              if f.endswith(".h5") or f.endswith(("pbc2.csv", "support2.csv"))
              or re.search(r"benchmark_.*\.json$", f)]
    assert not leaked


def test_readme_ten_line_example_runs():
    text = (REPO / "README.md").read_text()
    block = text.split("## Ten lines", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    assert len([line for line in block.splitlines() if line.strip()]) <= 10
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["test"].static.shape == (300, 9)
    assert namespace["test"].sequences.shape == (300, 48, 10)
