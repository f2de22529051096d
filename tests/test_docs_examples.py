"""The ``python`` examples of ``docs/*.md`` and ``README.md`` run, so the docs cannot drift.

Each page's ```` ```python ```` blocks run in order in one namespace (as a reader would paste
them), in a fresh working directory, with ``MLFLOW_TRACKING_URI`` pointing at a fresh sqlite
store there. Two HTML comments, invisible on the rendered page, steer it:

* ``<!-- no-run: <reason> -->`` as the last non-blank line before a block skips that block; the
  reason is required (a server, a fragment, ``pending: <what>`` for a known problem);
* ``<!-- run-hidden: <what>`` + lines of Python + ``-->`` runs those lines at that point without
  showing them: input files a reader would have, tensors for a fragment.

``../shared/data/...`` (the real datasets, beside the repository in CI) resolves from the working
directory as from the repository root.
"""

from __future__ import annotations

import re
import shutil
import sys
import textwrap
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")) + [
    "README.md"]
# Pages whose examples train sequence networks or run studies (tens of seconds on a laptop CPU).
SLOW = {"README.md", "docs/training.md", "docs/tuning.md"}
# Skipped blocks over all pages; raise it knowingly (every skip is an example nobody checks).
MAX_SKIPPED = 6

FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)")
NO_RUN = re.compile(r"^\s*<!--\s*no-run:(?P<reason>.*?)-->\s*$")
HIDDEN_OPEN = re.compile(r"^<!--\s*run-hidden:(?P<what>.*)$")


@dataclass
class Block:
    """A runnable piece of a page: its code, first line (1-based), and why it is skipped."""

    code: str
    line: int
    hidden: bool = False
    skip: str | None = None


def extract(text: str) -> list[Block]:
    """The python blocks of a markdown page, in order (hidden ones included)."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        hidden = HIDDEN_OPEN.match(line)
        if hidden:
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "-->"), None)
            assert end is not None, f"line {i + 1}: <!-- run-hidden: ... has no closing -->"
            blocks.append(Block("\n".join(lines[i + 1:end]), i + 2, hidden=True))
            i = end + 1
            continue
        fence = FENCE_OPEN.match(line)
        if not fence:
            i += 1
            continue
        indent = fence["indent"]
        end = next((j for j in range(i + 1, len(lines))
                    if lines[j].strip() == "```" and lines[j].startswith(indent)), None)
        assert end is not None, f"line {i + 1}: unclosed code fence"
        if fence["lang"] == "python":
            previous = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            marker = NO_RUN.match(previous)
            skip = None
            if marker:
                skip = marker["reason"].strip()
                assert skip, f"line {i}: <!-- no-run: --> needs a reason"
            code = textwrap.dedent("\n".join(lines[i + 1:end]))
            blocks.append(Block(code, i + 2, skip=skip))
        i = end + 1
    return blocks


def test_extract_reads_fences_markers_and_hidden_blocks():
    page = textwrap.dedent("""\
        Text.

        ```python
        a = 1
        ```

        <!-- no-run: needs a server -->
        ```python
        serve()
        ```

        <!-- run-hidden: make b
        b = a + 1
        -->

        * in a list:

          ```python
          c = b
          ```

        ```bash
        echo no
        ```
        """)
    blocks = extract(page)
    assert [(b.code, b.line, b.hidden, b.skip) for b in blocks] == [
        ("a = 1", 4, False, None), ("serve()", 9, False, "needs a server"),
        ("b = a + 1", 13, True, None), ("c = b", 19, False, None)]
    with pytest.raises(AssertionError, match="needs a reason"):
        extract("<!-- no-run: -->\n```python\nx\n```\n")


def test_skipped_examples_are_few_and_say_why():
    skipped = [f"{page}:{block.line}: {block.skip}" for page in PAGES
               for block in extract((ROOT / page).read_text()) if block.skip is not None]
    assert len(skipped) <= MAX_SKIPPED, "too many <!-- no-run --> examples:\n" + "\n".join(
        skipped)


def _workdir(tmp_path: Path) -> Path:
    """A working directory whose ``../shared`` is the real ../shared (when there is one)."""
    work = tmp_path / "work"
    work.mkdir()
    shared = ROOT.parent / "shared"
    if shared.is_dir():
        (tmp_path / "shared").symlink_to(shared, target_is_directory=True)
    return work


def _has_examples(page: str) -> bool:
    return any(b.skip is None for b in extract((ROOT / page).read_text()))


# Only pages with runnable examples are parameters: a skipped test fails under CI.
RUNNABLE = [page for page in PAGES if _has_examples(page)]


@pytest.mark.parametrize("page", [
    pytest.param(page, marks=pytest.mark.slow) if page in SLOW else page for page in RUNNABLE])
def test_page_examples_run(page, tmp_path, template_store, monkeypatch):
    blocks = extract((ROOT / page).read_text())
    runnable = [b for b in blocks if b.skip is None]
    work = _workdir(tmp_path)
    shutil.copyfile(template_store, work / "mlflow.db")
    monkeypatch.chdir(work)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{work / 'mlflow.db'}")
    # A real module, as a script or notebook is: classes the page defines can be pickled.
    module = types.ModuleType(f"docs_example_{Path(page).stem}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    for block in runnable:
        # Leading newlines keep the page's line numbers in a traceback.
        code = compile("\n" * (block.line - 1) + block.code, str(ROOT / page), "exec")
        try:
            exec(code, namespace)  # noqa: S102 - the project's own documentation
        except Exception as exc:
            kind = "hidden block" if block.hidden else "example"
            raise AssertionError(
                f"{page}:{block.line}: the {kind} raised {type(exc).__name__}: {exc}\n"
                f"Fix the example, or mark it with <!-- no-run: <reason> --> before the "
                f"fence.") from exc
