"""Run every ```python block of every page (but the notebooks, which myst-nb executes) while the
docs build reads it; a block that fails is a warning at its line, so ``-W`` fails the build.

The rule (doctests and scripts, each alone) is ``tests/markdown_blocks.py``'s, the same one
``tests/test_docs.py`` applies, so ``pytest tests/test_docs.py -k <page>`` reproduces a failure.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.util import logging

from tests.markdown_blocks import blocks, gpu_available, is_notebook, run

logger = logging.getLogger(__name__)


def _run_page_blocks(app, docname: str, source: list[str]) -> None:
    if is_notebook(source[0]):
        return  # myst-nb executes it (nb_execution_mode = "force")
    path = Path(app.env.doc2path(docname))
    for block in blocks(path):
        if block.needs_gpu and not gpu_available():
            logger.info(
                "%s:%d needs a CUDA GPU (marked '# needs: gpu'); none here, not run", docname, block.line
            )
            continue
        failure = run(block)
        if failure is not None:
            logger.warning(
                "this Python block does not run as written:\n%s", failure, location=(docname, block.line)
            )


def setup(app):
    app.connect("source-read", _run_page_blocks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
