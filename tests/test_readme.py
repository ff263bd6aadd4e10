"""Every Python block of the README runs as written, on its own.

Blocks with ``>>>`` prompts are doctests (pytest's ``--doctest-glob=README.md`` runs the file as
one session); here each of them also runs alone, with fresh globals, and every other ```python
block is executed in a fresh namespace, so a block that needs a name from an earlier block (or a
model, data or import it does not define) fails.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks(doctests: bool) -> list[tuple[int, str]]:
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in _BLOCK.finditer(text):
        code = match.group(1)
        if bool(re.search(r"^>>> ", code, re.M)) == doctests:
            blocks.append((text.count("\n", 0, match.start()) + 1, code))
    return blocks


def _script_blocks() -> list[tuple[int, str]]:
    return _blocks(doctests=False)


def test_readme_has_script_blocks():
    assert _script_blocks(), "the README's Python examples moved: update this test's pattern"


@pytest.mark.parametrize("line, code", _script_blocks(), ids=lambda v: f"line{v}" if isinstance(v, int) else "")
def test_readme_block_runs(line, code):
    namespace: dict = {"__name__": f"readme_line_{line}"}
    exec(compile(code, f"README.md:{line}", "exec"), namespace)  # noqa: S102 - the README's own code


@pytest.mark.parametrize("line, code", _blocks(doctests=True), ids=lambda v: f"line{v}" if isinstance(v, int) else "")
def test_readme_doctest_block_runs_alone(line, code):
    flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    test = doctest.DocTestParser().get_doctest(code, {}, f"README.md:{line}", "README.md", line)
    runner = doctest.DocTestRunner(optionflags=flags)
    runner.run(test)
    assert runner.failures == 0, f"the README block at line {line} does not run on its own (see the output above)"
