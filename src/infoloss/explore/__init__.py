"""``infoloss explore``: an offline interactive page of H(p), H(p,q), KL, JS and Huffman codes.

:func:`page` writes ONE self-contained HTML file: the JavaScript (``core.mjs``, all the math,
and ``app.mjs``, the interface) and the CSS are inlined, and it makes no request to any host,
so it works from ``file://`` with the network off. In it a learner drags the bars of ``p`` and
``q`` (or types logits, with a temperature and label smoothing), and sees the entropy,
cross-entropy, both KL divergences and JS in bits or nats, ``H(p,q) = H(p) + KL(p||q)`` as a
stacked bar, the surprisal ``-log q_i`` weighted by ``p_i``, the Huffman codes of ``p`` and
``q`` with their trees and expected lengths, and a seeded sample coded with ``q``'s code. The
URL hash holds the whole state, so a link reproduces the view.

:func:`widget` is the same page as a Jupyter widget (``pip install infoloss[widget]``, anywidget).
:func:`write_tour_page` writes the page with the tour's worked examples as presets (the last
step of ``infoloss tour``).

The page's numbers are the library's: ``tests/explore`` checks ``core.mjs`` against golden
values computed by infoloss (to 1e-12) and drives the page in Chromium.

>>> html = page([0.5, 0.25, 0.125, 0.125], [0.25] * 4)
>>> html.startswith("<!doctype html>") and "<script type=\\"module\\">" in html
True
>>> state_hash([0.5, 0.5], [0.9, 0.1], unit="nats")
'#mode=distributions&p=0.5,0.5&q=0.9,0.1&labels=a,b&unit=nats&seed=1&n=1000'
"""

from __future__ import annotations

import json
import math
import os
import re
import webbrowser
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from .. import _validate
from .._convert import as_float64, outcome_labels, prepare
from .._typing import ArrayLike

__all__ = [
    "page",
    "state_hash",
    "widget",
    "tour_presets",
    "write_tour_page",
    "tour_page_note",
    "TOUR_PAGE",
    "MIN_OUTCOMES",
    "MAX_OUTCOMES",
]

MIN_OUTCOMES, MAX_OUTCOMES = 2, 16
TOUR_PAGE = Path("build") / "infoloss-explore.html"
UNITS = ("bits", "nats")


def page(
    p: ArrayLike | Mapping[Any, float] | None = None,
    q: ArrayLike | Mapping[Any, float] | None = None,
    path: str | os.PathLike[str] | None = None,
    *,
    logits: ArrayLike | None = None,
    labels: Sequence[str] | None = None,
    unit: str = "bits",
    temperature: float = 1.0,
    target: int | None = None,
    smoothing: float = 0.0,
    seed: int = 1,
    n: int = 1000,
    presets: Sequence[dict[str, Any]] | None = None,
    title: str = "infoloss explore",
    open_browser: bool = False,
) -> str | Path:
    """The explorer as one self-contained HTML page, showing ``p`` and ``q`` (or ``logits``).

    Args:
      p, q: distributions of 2 to 16 outcomes (sequences, 1-D arrays of any backend, or
        mappings label -> probability, aligned by label); counts are divided by their sum.
        Either may be omitted: p defaults to (1/2, 1/4, 1/8, 1/8), q to uniform.
      path: where to write the page; None returns the HTML text instead.
      logits: start in the logits mode with these scores (q = softmax(logits / temperature));
        ``target`` is then the class index of the one-hot target, or None for the soft target ``p``.
      labels: outcome labels (default: a mapping's keys, else a, b, c, ...).
      unit: ``"bits"`` or ``"nats"``.
      temperature, smoothing: the logits mode's temperature (> 0) and label smoothing (in [0, 1]).
      seed, n: the sample button's seed and sample size.
      presets: a list of ``{"id", "title", "hash"}`` for the page's example menu (default:
        :func:`tour_presets`).
      open_browser: open the written page with :mod:`webbrowser` (needs ``path``).

    Returns:
      the HTML (``path`` None) or the ``Path`` written.

    >>> "entropy-p" in page({'rain': .14, 'snow': .37, 'sleet': .03, 'hail': .46})
    True
    """
    initial = state_hash(
        p,
        q,
        logits=logits,
        labels=labels,
        unit=unit,
        temperature=temperature,
        target=target,
        smoothing=smoothing,
        seed=seed,
        n=n,
    )
    html = _html(initial, tour_presets() if presets is None else list(presets), title)
    if path is None:
        if open_browser:
            raise _validate.InputError(
                "needs a path to write the page to before it can be opened",
                argument="open_browser",
                value=True,
            )
        return html
    target_path = Path(path)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    target_path.write_text(html, encoding="utf-8")
    if open_browser:
        webbrowser.open(target_path.resolve().as_uri())
    return target_path


def state_hash(
    p: ArrayLike | Mapping[Any, float] | None = None,
    q: ArrayLike | Mapping[Any, float] | None = None,
    *,
    logits: ArrayLike | None = None,
    labels: Sequence[str] | None = None,
    unit: str = "bits",
    temperature: float = 1.0,
    target: int | None = None,
    smoothing: float = 0.0,
    seed: int = 1,
    n: int = 1000,
) -> str:
    """The page's URL hash for these numbers (``#p=...&q=...&unit=bits...``); checked like :func:`page`.

    Numbers are written in Python's shortest exact form (``repr``), which JavaScript reads
    back to the same float.

    >>> state_hash([.8, .1, .1], [.2, .2, .6], unit="nats")
    '#mode=distributions&p=0.8,0.1,0.1&q=0.2,0.2,0.6&labels=a,b,c&unit=nats&seed=1&n=1000'
    """
    _validate.check_choice("unit", unit, UNITS)
    _validate.check_integer("seed", seed, low=0)
    _validate.check_integer("n", n, low=1)
    if n > 100_000:
        raise _validate.InputError(
            f"must be at most 100000 (symbols drawn per sample), got n={n}", argument="n", value=n
        )
    _validate.check_temperature(temperature)
    _validate.check_fraction("smoothing", smoothing)
    pv, qv, found = _distributions(p, q)
    if logits is not None:
        if q is not None:
            raise _validate.InputError(
                "goes without logits: in the logits mode q is softmax(logits / temperature)", argument="q"
            )
        z = _logits(logits)
        k = len(z)
        if target is None and p is None:
            target = int(np.argmax(z))
        if target is not None:
            _validate.check_integer("target", target, low=0)
            if target >= k:
                raise _validate.InputError(
                    f"must be a class index 0..{k - 1}, got target={target}", argument="target", value=target
                )
        elif len(pv) != k:
            raise _validate.InputError(
                f"has {len(pv)} outcomes but logits has {k}; give target=CLASS or a p of {k}",
                argument="p",
                value=len(pv),
            )
        names = outcome_labels(labels, found, k, default=_default_label)
        parts = [
            "mode=logits",
            f"logits={_join(z)}",
            f"temperature={_number(temperature)}",
            f"target={'p' if target is None else int(target)}",
            f"smoothing={_number(smoothing)}",
        ]
        if target is None:
            parts.append(f"p={_join(pv)}")
    else:
        if target is not None:
            raise _validate.InputError(
                "is for the logits mode: give logits=... too", argument="target", value=target
            )
        names = outcome_labels(labels, found, len(pv), default=_default_label)
        parts = ["mode=distributions", f"p={_join(pv)}", f"q={_join(qv)}"]
    parts += [
        f"labels={','.join(quote(str(name), safe='') for name in names)}",
        f"unit={unit}",
        f"seed={seed}",
        f"n={n}",
    ]
    return "#" + "&".join(parts)


def widget(
    p: ArrayLike | Mapping[Any, float] | None = None,
    q: ArrayLike | Mapping[Any, float] | None = None,
    **options: Any,
) -> Any:
    """The explorer as a Jupyter widget (anywidget), built from the same JavaScript as the page.

    Arguments as for :func:`page` (without ``path``). The widget's ``hash`` trait holds the
    state as the page's URL hash does, both ways: set it from Python to change the view,
    read it after dragging. Needs ``pip install infoloss[widget]``.
    """
    from ._widget import Explorer

    presets = options.pop("presets", None)
    return Explorer(
        hash=state_hash(p, q, **options), presets=tour_presets() if presets is None else list(presets)
    )


def tour_presets() -> list[dict[str, Any]]:
    """The tour's worked examples as page presets: ``[{"id", "title", "hash"}, ...]``.

    >>> [preset["id"] for preset in tour_presets()][:3]
    ['votes', 'weather-good', 'weather-uniform']
    """
    from ._presets import presets

    return presets()


def write_tour_page(path: str | os.PathLike[str] = TOUR_PAGE) -> Path:
    """Write the page with every worked example of the tour as a preset.

    It opens on the Huffman example (the codes, the trees and the sample all have something
    to show there). Replaces an earlier copy; returns the path (``infoloss tour`` prints its
    ``file://`` address).
    """
    presets = tour_presets()
    first = next((preset for preset in presets if preset["id"] == "huffman"), presets[0])
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        _html(first["hash"], presets, "infoloss explore: the tour's examples"), encoding="utf-8"
    )
    return target


def tour_page_note(path: str | os.PathLike[str] = TOUR_PAGE) -> str:
    """Write the tour's page (:func:`write_tour_page`) and say where: the last line of ``infoloss tour``.

    A page that cannot be written (a read-only directory) is said, not raised: the tour's
    checks stand on their own.
    """
    try:
        written = write_tour_page(path)
    except OSError as error:
        return f"(the interactive page could not be written to {path}: {error.strerror or error})"
    return f"See and change these examples in your browser: {written.resolve().as_uri()}"


# --------------------------------------------------------------------------------------------
# Building the page
# --------------------------------------------------------------------------------------------


def script(tail: str) -> str:
    """core.mjs and app.mjs as one ES module (their ``export``/``import`` lines removed), then ``tail``."""
    core = _source("core.mjs")
    app = _source("app.mjs")
    app, imports = re.subn(r'^import \{[^}]*\} from "\./core\.mjs";\n', "", app, flags=re.M)
    if imports != 1:
        raise RuntimeError("app.mjs must import from ./core.mjs in one `import { ... } from` statement")
    body = re.sub(r"^export (?=(async )?function|const|class|let)", "", core + "\n" + app, flags=re.M)
    return body + "\n" + tail


def style() -> str:
    """The page's CSS."""
    return _source("style.css")


def _html(initial_hash: str, presets: list[dict], title: str) -> str:
    options = {"useHash": True, "defaultHash": initial_hash, "presets": presets}
    bootstrap = f'mount(document.getElementById("app"), {_json_for_script(options)});\n'
    code = script(bootstrap)
    css = style()
    for text in (code, css):
        if "</script" in text.lower() or "</style" in text.lower():
            raise RuntimeError("the inlined JavaScript/CSS must not contain a closing tag")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>{_escape(title)}</title>
<style>
{css}</style>
</head>
<body style="margin:0;background:#f4f4f7">
<main id="app"><noscript>This page needs JavaScript (it runs entirely in your browser, offline).</noscript></main>
<script type="module">
{code}</script>
</body>
</html>
"""


def _source(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _json_for_script(value: Any) -> str:
    # "<" as \\u003c: no "</script>" can end the inline script early.
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _distributions(
    p: ArrayLike | Mapping[Any, float] | None, q: ArrayLike | Mapping[Any, float] | None
) -> tuple[list[float], list[float], list[str] | None]:
    """(p, q, labels found in mappings) as float lists; counts divided by their sum."""
    default_p = [0.5, 0.25, 0.125, 0.125]
    given = {name: value for name, value in (("p", p), ("q", q)) if value is not None}
    if not given:
        return default_p, [0.25] * 4, None
    try:  # distributions stay as given; counts and weights are divided by their sum
        inputs = prepare(given, axis=-1, normalize=False, validate=True)
        checked = inputs.checked()
    except _validate.InputError:
        inputs = prepare(given, axis=-1, normalize=True, validate=True)
        checked = inputs.checked()
    arrays = [as_float64(a) for a in checked]
    for name, array in zip(given, arrays):
        if array.ndim != 1:
            raise _validate.InputError(
                f"must be one distribution (1-D), got shape {tuple(array.shape)}", argument=name
            )
        if not MIN_OUTCOMES <= array.shape[0] <= MAX_OUTCOMES:
            raise _validate.InputError(
                f"has {array.shape[0]} outcomes; the page shows {MIN_OUTCOMES} to {MAX_OUTCOMES}",
                argument=name,
                value=int(array.shape[0]),
            )
    values = dict(zip(given, ([float(v) for v in a] for a in arrays)))
    k = len(next(iter(values.values())))
    return values.get("p", [1 / k] * k), values.get("q", [1 / k] * k), inputs.labels


def _logits(logits: ArrayLike) -> list[float]:
    z = as_float64(logits)
    if z.ndim != 1 or not MIN_OUTCOMES <= z.shape[0] <= MAX_OUTCOMES:
        raise _validate.InputError(
            f"must be {MIN_OUTCOMES} to {MAX_OUTCOMES} numbers, got shape {tuple(z.shape)}", argument="logits"
        )
    bad = np.flatnonzero(~np.isfinite(z))
    if bad.size:
        raise _validate.InputError(
            "is not a finite number", argument="logits", index=(int(bad[0]),), value=float(z[bad[0]])
        )
    return [float(v) for v in z]


def _default_label(i: int) -> str:
    return chr(97 + i % 26) + (str(i) if i >= 26 else "")


def _number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() and math.isfinite(value) else repr(value)


def _join(values: Sequence[float]) -> str:
    return ",".join(_number(v) for v in values)
