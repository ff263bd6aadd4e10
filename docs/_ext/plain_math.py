"""Math as its TeX source in <code>: Sphinx's default renderer loads MathJax from a CDN, and this
site must read offline. The few formulas written as ``:math:`` in docstrings stay readable."""

from __future__ import annotations

from docutils import nodes


def _inline(self, node):
    self.body.append(self.starttag(node, "code", "", CLASS="math"))
    self.body.append(self.encode(node.astext()))
    self.body.append("</code>")
    raise nodes.SkipNode


def _block(self, node):
    self.body.append(self.starttag(node, "pre", "", CLASS="math"))
    self.body.append(self.encode(node.astext()))
    self.body.append("</pre>\n")
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer("plain", (_inline, None), (_block, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
