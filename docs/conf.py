"""Sphinx configuration of infoloss's documentation (built by ``./dev docs`` into build/docs/).

Sphinx with MyST: the pages are Markdown (MyST), the API reference comes from the docstrings
(autodoc + autosummary, Google-style sections through napoleon), the tutorials are MyST
notebooks executed by myst-nb at every build (no cache), and every ```python block of every
other page runs at build time through ``_ext/run_blocks.py`` (the rule of
``tests/markdown_blocks.py``, shared with the tests). Warnings are errors (``-W``).
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path[:0] = [str(DOCS / "_ext"), str(DOCS.parent)]  # the extensions; tests.markdown_blocks

import infoloss  # noqa: E402

project = "infoloss"
author = "the infoloss developers"
copyright = "the infoloss developers, MIT licence"
release = infoloss.__version__
version = release

extensions = [
    "myst_nb",  # MyST Markdown for every page, and executed notebooks for the tutorials
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "run_blocks",  # every ```python block of the non-notebook pages runs at build time
    "infoloss_api",  # the API pages: every name in each public module's __all__
    "plain_math",  # math as TeX source: no MathJax from a CDN, the site works offline
]

source_suffix = {".md": "myst-nb"}
exclude_patterns = ["_build", "_ext", "**/.ipynb_checkpoints"]
root_doc = "index"
nitpicky = False

# MyST
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # pages moved from the README may skip a heading level

# myst-nb: execute every tutorial at every build; an error in a cell fails the build.
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# API reference
autosummary_generate = False
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {"show-inheritance": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
# The result classes (Estimate, ...) list their fields under "Fields:".
napoleon_custom_sections = [("Fields", "params_style")]

# HTML: Furo, no external requests (fonts and scripts ship with the theme).
html_theme = "furo"
highlight_language = "text"  # untagged blocks are program output, not Python
html_title = f"infoloss {release}"
html_static_path = []
html_math_renderer = "plain"
html_show_sourcelink = False
html_copy_source = False


def _write_explorer(app, exception) -> None:
    # The explorer page, as `infoloss tour` writes it, copied into the site for explorer.md's iframe.
    if exception is None and app.builder.format == "html":
        from infoloss import explore

        target = Path(app.outdir) / "_explorer" / "infoloss-explore.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        explore.write_tour_page(target)


def setup(app):
    app.connect("build-finished", _write_explorer)
