"""The Python blocks of a Markdown page (the README, the pages under docs/), and running them.

One rule for every page, used by ``tests/test_readme.py``, ``tests/test_docs.py`` and the docs
build (``docs/_ext/run_blocks.py``), so a block that passes here passes there:

- a ```` ```pycon ```` block (an interactive session, as the README writes them) or a
  ```` ```python ```` block with ``>>>`` prompts is a doctest (``NORMALIZE_WHITESPACE`` and
  ``ELLIPSIS``), run alone with fresh globals;
- any other ```` ```python ```` block is a script, run alone in a fresh namespace;
- a page that is a MyST notebook (``kernelspec`` in its front matter: the tutorials) is one
  script: its ```` ```{code-cell} ```` blocks run in order in one namespace, as the kernel runs
  them at build time.

So a block that needs a name, an import or data from an earlier block fails, as it would for a
reader who copies it.

A block that needs a CUDA GPU says so on its first line, ``# needs: gpu`` (``>>> # needs: gpu`` in
a doctest), followed by why; where no GPU is present the tests skip it with that note and the
docs build leaves it unrun and says so, while the reader sees the note in the block itself.
"""

from __future__ import annotations

import contextlib
import doctest
import os
import re
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^```(python|pycon|\{code-cell\}[^\n]*)\n(.*?)^```[ \t]*$", re.S | re.M)
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
_CELL_OPTIONS = re.compile(r"\A(?:---\n.*?\n---\n|(?::[^\n]*\n)+)", re.S)
_DOCTEST_FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
_GPU_MARK = re.compile(r"\A(?:>>> )?# needs: gpu\b")


@dataclass(frozen=True)
class Block:
    """One runnable unit of a page: where it starts (1-based line) and its code."""

    path: Path
    line: int
    code: str
    doctest: bool

    @property
    def needs_gpu(self) -> bool:
        return bool(_GPU_MARK.match(self.code))

    @property
    def name(self) -> str:
        where = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{where}:{self.line}"


def is_notebook(text: str) -> bool:
    """Whether a MyST page is a notebook (executed cell by cell by myst-nb)."""
    front = _FRONT_MATTER.match(text)
    return bool(front and "kernelspec" in front.group(1))


def blocks(path: Path) -> list[Block]:
    """The runnable blocks of the page at ``path``, in page order.

    A notebook page gives one block: its code cells joined in order (cell options such as
    ``:tags:`` or a ``---`` header are dropped).
    """
    path = Path(path).resolve()
    text = path.read_text(encoding="utf-8")
    if is_notebook(text):
        cells = [
            (text.count("\n", 0, m.start()) + 1, _CELL_OPTIONS.sub("", m.group(2)))
            for m in _FENCE.finditer(text)
            if m.group(1).startswith("{code-cell}")
        ]
        if not cells:
            return []
        code = "\n".join(f"# --- cell at line {line}\n{cell}" for line, cell in cells)
        return [Block(path, cells[0][0], code, doctest=False)]
    found = []
    for match in _FENCE.finditer(text):
        if match.group(1) not in ("python", "pycon"):
            continue
        code = match.group(2)
        found.append(
            Block(path, text.count("\n", 0, match.start()) + 1, code, bool(re.search(r"^>>> ", code, re.M)))
        )
    return found


def pages() -> list[Path]:
    """Every Markdown page of the docs, sorted (the build's own output excluded)."""
    return sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts and not p.name.startswith("_"))


def gpu_available() -> bool:
    """Whether a CUDA GPU is usable here (PyTorch installed and it sees a device)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def run(block: Block) -> str | None:
    """Run one block in a fresh namespace, in a scratch working directory.

    Returns None when it ran as written, else the failure report (the doctest's diff or the
    traceback), so the tests and the docs build can each show it their way.
    """
    with _scratch_directory(), _headless_matplotlib():
        try:
            return _run_doctest(block) if block.doctest else _run_script(block)
        finally:
            _close_figures()


def _run_doctest(block: Block) -> str | None:
    test = doctest.DocTestParser().get_doctest(block.code, {}, block.name, str(block.path), block.line)
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=_DOCTEST_FLAGS)
    runner.run(test, out=report.append)
    return "".join(report) if runner.failures else None


def _run_script(block: Block) -> str | None:
    namespace: dict = {"__name__": f"block_{block.line}"}
    try:
        exec(compile(block.code, block.name, "exec"), namespace)  # noqa: S102 - the page's own example
    except Exception:  # noqa: BLE001 - whatever a page's example raises is its failure report
        return traceback.format_exc()
    return None


@contextlib.contextmanager
def _scratch_directory():
    # Blocks may write files (a page, a figure): never into the repository.
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="infoloss-block-") as scratch:
        os.chdir(scratch)
        try:
            yield
        finally:
            os.chdir(here)


@contextlib.contextmanager
def _headless_matplotlib():
    # A block calling plt.show() must not need a display.
    previous = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = previous


def _close_figures() -> None:
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
