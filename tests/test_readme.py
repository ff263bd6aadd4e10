"""Every Python block of the README runs as written.

Blocks with ``>>>`` prompts are doctests (pytest's ``--doctest-glob=README.md``); every other
```python block is executed here on its own, in a fresh namespace, so a block that needs a name
from an earlier block (or a model, data or import it does not define) fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _script_blocks() -> list[tuple[int, str]]:
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in _BLOCK.finditer(text):
        code = match.group(1)
        if not re.search(r"^>>> ", code, re.M):
            blocks.append((text.count("\n", 0, match.start()) + 1, code))
    return blocks


def test_readme_has_script_blocks():
    assert _script_blocks(), "the README's Python examples moved: update this test's pattern"


@pytest.mark.parametrize("line, code", _script_blocks(), ids=lambda v: f"line{v}" if isinstance(v, int) else "")
def test_readme_block_runs(line, code):
    namespace: dict = {"__name__": f"readme_line_{line}"}
    exec(compile(code, f"README.md:{line}", "exec"), namespace)  # noqa: S102 - the README's own code
