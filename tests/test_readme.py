"""Every Python block of the README runs as written, on its own.

Blocks with ``>>>`` prompts are doctests (pytest's ``--doctest-glob=README.md`` runs the file as
one session); here each of them also runs alone, with fresh globals, and every other ```python
block is executed in a fresh namespace, so a block that needs a name from an earlier block (or a
model, data or import it does not define) fails. The rule is ``tests/markdown_blocks.py``'s, the
same for the docs pages (``tests/test_docs.py``).
"""

from __future__ import annotations

import pytest

from tests.markdown_blocks import ROOT, blocks, gpu_available, run

README = ROOT / "README.md"
_BLOCKS = blocks(README)


def test_readme_has_script_and_doctest_blocks():
    assert any(not b.doctest for b in _BLOCKS), (
        "the README's Python examples moved: update this test's pattern"
    )
    assert any(b.doctest for b in _BLOCKS), "the README has no doctest block left"


@pytest.mark.parametrize("block", _BLOCKS, ids=lambda b: f"line{b.line}")
def test_readme_block_runs_alone(block):
    if block.needs_gpu and not gpu_available():
        pytest.skip(
            f"README block at line {block.line} needs a CUDA GPU (marked '# needs: gpu'); none is present"
        )
    failure = run(block)
    assert failure is None, f"the README block at line {block.line} does not run on its own:\n{failure}"
