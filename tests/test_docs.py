"""Every Python block of every docs page runs as written (the rule: ``tests/markdown_blocks.py``).

The docs build runs the same blocks (``./dev docs``); this test lets you check one page quickly:
``pytest -p no:xdist tests/test_docs.py -k coding``. Test ids are the page's path under docs/
and the block's first line, e.g. ``guide/coding.md:12``.
"""

from __future__ import annotations

import pytest

from tests.markdown_blocks import DOCS, blocks, is_notebook, pages

_BLOCKS = [block for page in pages() for block in blocks(page)]
# A tutorial (a notebook page) runs as one block, all its cells: several seconds each, hence slow.
_PARAMS = [
    pytest.param(block, marks=pytest.mark.slow)
    if is_notebook(block.path.read_text(encoding="utf-8"))
    else block
    for block in _BLOCKS
]


def test_docs_pages_have_blocks():
    names = {block.path.relative_to(DOCS).as_posix() for block in _BLOCKS}
    for page in ("guide/measures.md", "guide/estimate.md", "guide/losses.md", "guide/coding.md"):
        assert page in names, f"{page} has no Python block: the block pattern or the page moved"


@pytest.mark.parametrize("block", _PARAMS, ids=lambda b: f"{b.path.relative_to(DOCS).as_posix()}:{b.line}")
def test_docs_block_runs(block):
    from tests.markdown_blocks import gpu_available, run

    if block.needs_gpu and not gpu_available():
        pytest.skip(f"{block.name} needs a CUDA GPU (marked '# needs: gpu'); none is present")
    failure = run(block)
    assert failure is None, f"{block.name} does not run as written:\n{failure}"


def test_a_rotten_block_fails(tmp_path):
    # The check can fail: a doctest whose output changed, a script that raises, and a notebook
    # page whose later cell needs a name the earlier cells never defined.
    from tests.markdown_blocks import run

    page = tmp_path / "page.md"
    page.write_text(
        "# A page\n\n```python\n>>> 1 + 1\n3\n\n```\n\n```python\nimport math\nmath.log(0)\n```\n\n"
        "```python\n>>> round(2.5)\n2\n\n```\n",
        encoding="utf-8",
    )
    wrong, raising, fine = blocks(page)
    assert wrong.doctest and "Expected:\n    3\nGot:\n    2" in run(wrong)
    assert not raising.doctest and "ValueError: math domain error" in run(raising)
    assert run(fine) is None
    notebook = tmp_path / "notebook.md"
    notebook.write_text(
        "---\nkernelspec:\n  name: python3\n---\n# N\n\n```{code-cell} ipython3\nx = 1\n```\n\n"
        "```{code-cell} ipython3\n:tags: [hide-input]\nprint(x + y)\n```\n",
        encoding="utf-8",
    )
    (cells,) = blocks(notebook)
    assert ":tags:" not in cells.code and "NameError: name 'y' is not defined" in run(cells)


def test_every_public_module_has_an_api_page():
    # The API pages document each public module's __all__ through `.. infoloss-api:: MODULE`
    # (docs/_ext/infoloss_api.py); a public subpackage without such a page would be missing.
    import importlib
    import inspect
    import re

    import infoloss

    documented = set()
    for page in (DOCS / "api").glob("*.md"):
        documented |= set(re.findall(r"^\.\. infoloss-api:: (\S+)", page.read_text(encoding="utf-8"), re.M))
    public = {"infoloss.measures"} | {
        f"infoloss.{name}" for name in infoloss.__all__ if inspect.ismodule(getattr(infoloss, name))
    }
    public |= {"infoloss.nn.functional", "infoloss.demo.digits"}
    for name in sorted(public):
        importlib.import_module(name)
    assert public <= documented, f"no API page for {sorted(public - documented)}"
    top_level = {name for name in infoloss.__all__ if not inspect.ismodule(getattr(infoloss, name))}
    elsewhere = set(infoloss.measures.__all__) | set(infoloss.special.__all__)
    errors = set(
        re.findall(r":names: (.*)", (DOCS / "api" / "errors.md").read_text(encoding="utf-8"))[0].split()
    )
    assert top_level <= elsewhere | errors, (
        f"top-level names on no API page: {sorted(top_level - elsewhere - errors)}"
    )


def test_gpu_marker(tmp_path):
    # `# needs: gpu` on a block's first line (after `>>> ` in a doctest) marks it; nothing else does.
    page = tmp_path / "page.md"
    page.write_text(
        "```python\n# needs: gpu (CUDA)\nimport torch\n```\n\n```python\n>>> # needs: gpu\n>>> 1\n1\n\n```\n\n"
        "```python\nimport torch  # needs: gpu is only a marker on the first line\n```\n",
        encoding="utf-8",
    )
    assert [block.needs_gpu for block in blocks(page)] == [True, True, False]
