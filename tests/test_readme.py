"""Every Python block of the README runs as written, on its own.

Blocks with ``>>>`` prompts are doctests (pytest's ``--doctest-glob=README.md`` runs the file as
one session); here each of them also runs alone, with fresh globals, and every other ```python
block is executed in a fresh namespace, so a block that needs a name from an earlier block (or a
model, data or import it does not define) fails. The rule is ``tests/markdown_blocks.py``'s, the
same for the docs pages (``tests/test_docs.py``).
"""

from __future__ import annotations

import re

import pytest

from tests.markdown_blocks import ROOT, blocks, gpu_available, run

README = ROOT / "README.md"
_BLOCKS = blocks(README)


def test_readme_has_script_and_doctest_blocks():
    assert any(not b.doctest for b in _BLOCKS), (
        "the README's Python examples moved: update this test's pattern"
    )
    assert any(b.doctest for b in _BLOCKS), "the README has no doctest block left"


def test_readme_python_blocks_run_when_pasted_into_a_file():
    # Sessions with >>> prompts are fenced as pycon; a ```python block is a script a reader can
    # save and run as it is.
    text = README.read_text(encoding="utf-8")
    python_blocks = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
    assert python_blocks and not any(re.search(r"^>>> ", code, re.M) for code in python_blocks)


@pytest.mark.parametrize("block", _BLOCKS, ids=lambda b: f"line{b.line}")
def test_readme_block_runs_alone(block):
    if block.needs_gpu and not gpu_available():
        pytest.skip(
            f"README block at line {block.line} needs a CUDA GPU (marked '# needs: gpu'); none is present"
        )
    failure = run(block)
    assert failure is None, f"the README block at line {block.line} does not run on its own:\n{failure}"


def test_readme_stays_a_front_page():
    # The manual is docs/ (issue 13): the README says what infoloss is, for whom, the two
    # commands, one example per audience, and links into the docs. Long sections go to docs/.
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 220, "the README grew past ~200 lines: move the new section to docs/"
    for page in (
        "docs/getting-started.md",
        "docs/guide/measures.md",
        "docs/api/index.md",
        "docs/differences.md",
    ):
        assert f"]({page})" in text, f"the README no longer links to {page}"
        assert (ROOT / page).is_file(), f"the README links to {page}, which does not exist"


def test_readme_links_resolve():
    # Sphinx checks the links between docs pages (-W); the README's own links are checked here.
    import re

    text = README.read_text(encoding="utf-8")
    targets = [t.split("#")[0] for t in re.findall(r"\]\(([^)#][^)]*)\)", text) if "://" not in t]
    assert targets, "no relative links found: the pattern is stale"
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert not missing, f"README links to missing files: {missing}"
