"""``.. infoloss-api:: MODULE``: MODULE's docstring, a summary table and the full entry of every
public name of MODULE.

The names are the module's ``__all__`` (submodules left out: they get their own page), so the
reference cannot fall behind the code: a name added to ``__all__`` appears at the next build,
and a docstring that Sphinx cannot read fails it (``-W``). ``:skip:`` leaves out names
documented on another page (re-exports); ``:names:`` gives an explicit list instead.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from typing import ClassVar

from docutils.parsers.rst import directives
from sphinx.errors import PycodeError
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.docutils import SphinxDirective


class InfolossApi(SphinxDirective):
    required_arguments = 1
    option_spec: ClassVar = {"skip": directives.unchanged, "names": directives.unchanged}

    def run(self):
        modname = self.arguments[0]
        module = importlib.import_module(modname)
        names = self.options["names"].split() if "names" in self.options else list(module.__all__)
        skip = set(self.options.get("skip", "").split())
        entries = [name for name in names if name not in skip and not inspect.ismodule(getattr(module, name))]
        lines = []
        if "names" not in self.options:  # the module's own docstring: its conventions, formulas, references
            lines += [
                f".. automodule:: {modname}",
                *(["   :no-index:"] if _shadowed(modname, module) else []),
                "",
            ]
        lines += [f".. currentmodule:: {modname}", "", ".. autosummary::", ""]
        # Constants stay out of the table: autosummary would summarise their type's docstring.
        lines += [f"   {name}" for name in entries if _documented_by_autodoc(getattr(module, name))] + [""]
        for name in entries:
            lines += [*_entry(modname, name, getattr(module, name)), ""]
        return self.parse_text_to_nodes("\n".join(lines))


def _shadowed(modname: str, module: object) -> bool:
    # infoloss.demo.digits is a function; the module of that name is documented, not indexed.
    parent, _, last = modname.rpartition(".")
    return bool(parent) and getattr(importlib.import_module(parent), last, module) is not module


def _documented_by_autodoc(obj: object) -> bool:
    return inspect.isclass(obj) or callable(obj)


def _entry(modname: str, name: str, obj: object) -> list[str]:
    if inspect.isclass(obj):
        return [f".. autoclass:: {name}", "   :members:"]
    if callable(obj):
        return [f".. autofunction:: {name}"]
    # A constant: its value and its ``#:`` comment. (autodoc's autodata would show the docstring
    # of the value's type, ``int`` or ``dict``, where the constant has no comment.)
    value = repr(obj)
    lines = [f".. py:data:: {name}"]
    if len(value) <= 200 and "\n" not in value:
        lines.append(f"   :value: {value}")
    return lines + [""] + [f"   {line}" for line in _attribute_comment(modname, name)]


def _attribute_comment(modname: str, name: str) -> list[str]:
    # The ``#:`` comment of ``name`` in modname or in the submodule that defines it.
    candidates = [m for m in sorted(sys.modules) if m == modname or m.startswith(modname + ".")]
    for candidate in candidates:
        try:
            comments = ModuleAnalyzer.for_module(candidate).find_attr_docs()
        except PycodeError:
            continue
        if ("", name) in comments:
            return list(comments[("", name)])
    return []


def public_names(modname: str) -> list[str]:
    """The names ``.. infoloss-api:: modname`` documents when given no options."""
    module = importlib.import_module(modname)
    return [name for name in module.__all__ if not inspect.ismodule(getattr(module, name))]


def setup(app):
    app.add_directive("infoloss-api", InfolossApi)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
