"""The page's presets: the tour's worked examples (:func:`infoloss.examples.presets`) as URL hashes.

Each preset is ``{"id", "title", "hash"}``; the hash is built by :func:`infoloss.explore.state_hash`,
so a preset is checked like any other input.
"""

from __future__ import annotations

from typing import Any

from .. import examples

__all__ = ["presets"]


def presets() -> list[dict[str, Any]]:
    """Every worked example of the tour as ``{"id", "title", "hash"}``, in the tour's order.

    >>> [p["id"] for p in presets()][:2]
    ['votes', 'weather-good']
    """
    from . import state_hash

    out = []
    for preset in examples.presets():
        options: dict[str, Any] = {"p": preset.p, "q": preset.q, "labels": preset.labels, "unit": preset.unit}
        if preset.logits is not None:
            options.update(logits=preset.logits, target=preset.target)
        out.append({"id": preset.key, "title": preset.title, "hash": state_hash(**options)})
    return out
