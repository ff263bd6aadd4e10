"""The explorer as a Jupyter widget: anywidget around the same JavaScript as the page.

The widget's module is core.mjs + app.mjs (inlined as for the page) with anywidget's
``render`` entry point; the state travels as the page's URL hash in the ``hash`` trait.
"""

from __future__ import annotations

from typing import Any

try:
    import anywidget
    import traitlets
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError("infoloss.explore.widget needs anywidget: pip install 'infoloss[widget]'") from error

from . import script, style

__all__ = ["Explorer", "WIDGET_ENTRY"]

# anywidget calls render({model, el}); the app publishes every change as a hash, and a hash set
# from Python redraws the view. The returned function is anywidget's clean-up hook.
WIDGET_ENTRY = """
export default {
  render({ model, el }) {
    const app = mount(el, {
      hash: model.get("hash"),
      presets: model.get("presets"),
      onChange(hash) {
        if (hash !== model.get("hash")) { model.set("hash", hash); model.save_changes(); }
      },
    });
    const redraw = () => { if (model.get("hash") !== app.hash()) app.setHash(model.get("hash")); };
    model.on("change:hash", redraw);
    return () => { model.off("change:hash", redraw); app.destroy(); };
  },
};
"""


class Explorer(anywidget.AnyWidget):
    """The interactive explorer in a notebook; ``hash`` is its whole state (see :func:`infoloss.explore.page`)."""

    _esm = script(WIDGET_ENTRY)
    _css = style()
    hash = traitlets.Unicode("").tag(sync=True)
    presets: traitlets.List[Any] = traitlets.List([]).tag(sync=True)
