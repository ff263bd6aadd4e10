"""matplotlib figures of infoloss's results (``pip install infoloss[plot]``).

Each function draws on ``ax`` (a new figure when None) and returns the matplotlib ``Axes``, so a
figure can be composed, restyled or saved (``ax.figure.savefig("kl.png")``). Colours follow
the explorer page: the truth ``p`` red, the model ``q`` blue, entropy orange, KL purple.

* :func:`distributions`: the bars of ``p`` and ``q`` side by side (a classifier's predicted
  probabilities against the one-hot truth), with H(p), H(p,q) and KL in the title.
* :func:`decomposition`: ``H(p,q) = H(p) + KL(p||q)`` as stacked bars (also
  :meth:`infoloss.Decomposition.plot`).
* :func:`huffman_tree`: a prefix code (``infoloss.coding.huffman_code``) as its binary tree.
* :func:`entropy_curve`: the binary entropy ``H(x, 1 - x)`` against ``x``.
* :func:`estimates`: the bias of entropy estimators against the sample size
  (:mod:`infoloss.estimate`).

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from infoloss import plot
>>> ax = plot.distributions([0.8, 0.1, 0.1], [0.2, 0.2, 0.6], labels=["red", "green", "yellow"])
>>> [float(round(bar.get_height(), 2)) for bar in ax.containers[0]]
[0.8, 0.1, 0.1]
>>> ax.get_title()
'H(p) = 0.639, H(p,q) = 1.5, KL(p‖q) = 0.8605 nats'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, SupportsFloat

import numpy as np

from .. import _validate
from .._convert import as_float64, outcome_labels, prepare
from .._typing import ArrayLike
from ..measures import Decomposition, cross_entropy, decompose, entropy, kl_divergence

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn
    from matplotlib.axes import Axes

__all__ = ["distributions", "decomposition", "huffman_tree", "entropy_curve", "estimates", "COLORS"]

COLORS = {"p": "#c0392b", "q": "#1f6fb2", "entropy": "#e67e22", "kl": "#8e44ad"}


def distributions(
    p: ArrayLike,
    q: ArrayLike | None = None,
    *,
    labels: Sequence[object] | None = None,
    base: float | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Bars of ``p`` (and ``q``) side by side, one group per outcome; H, H(p,q), KL in the title.

    ``p`` is drawn in red as the truth (a one-hot label, votes, the data), ``q`` in blue as the
    model's prediction: the picture of a classifier's softmax output against the truth.

    Args:
      p, q: distributions (sequences, 1-D arrays of any backend, or mappings label -> p, which
        are aligned by label). ``q`` may be omitted.
      labels: the outcomes' names (default: the mappings' labels, else 0, 1, ...).
      base: logarithm base of the numbers in the title (None: nats, 2: bits).
      ax: the Axes to draw on; None makes a new figure.
      title: replaces the default title.

    Returns:
      the Axes; ``ax.containers[0]`` holds p's bars, ``ax.containers[1]`` q's.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = distributions([0, 0, 1.0], [0.1, 0.2, 0.7], base=2)
    >>> ax.get_title()
    'H(p) = 0, H(p,q) = 0.5146, KL(p‖q) = 0.5146 bits'
    """
    values, found = _distributions({"p": p} if q is None else {"p": p, "q": q})
    k = len(values[0])
    names = outcome_labels(labels, found, k, default=str)
    ax = _axes(ax)
    width = 0.4 if q is not None else 0.7
    x = np.arange(k)
    offsets = (-width / 2, width / 2) if q is not None else (0.0,)
    for name, row, offset in zip(("p", "q"), values, offsets):
        role = "p (truth)" if name == "p" else "q (model)"
        ax.bar(x + offset, row, width, color=COLORS[name], label=role)
    ax.set_xticks(x, names)
    ax.set_ylim(0, max(1.0, max(max(row) for row in values)) * 1.05)
    ax.set_ylabel("probability")
    ax.set_xlabel("outcome")
    unit = _unit(base)
    if title is None:
        h = entropy(values[0], base=base)
        title = f"H(p) = {_short(h)} {unit}"
        if q is not None:
            ce, kl = (
                cross_entropy(values[0], values[1], base=base),
                kl_divergence(values[0], values[1], base=base),
            )
            title = f"H(p) = {_short(h)}, H(p,q) = {_short(ce)}, KL(p‖q) = {_short(kl)} {unit}"
    ax.set_title(title)
    ax.legend(frameon=False)
    return ax


def decomposition(
    p_or_parts: Decomposition | ArrayLike,
    q: ArrayLike | None = None,
    *,
    base: float | None = None,
    labels: Sequence[object] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """``H(p,q) = H(p) + KL(p||q)``: one horizontal bar per row, entropy then KL stacked.

    Args:
      p_or_parts: a :class:`infoloss.Decomposition` (from ``infoloss.decompose``), or ``p``
        with ``q`` given: one distribution or a 2-D batch (one bar per row).
      q: the model, when the first argument is ``p``.
      base: logarithm base when computing from ``p`` and ``q`` (None: nats, 2: bits).
      labels: a name per bar (default: row numbers).
      ax, title: as for :func:`distributions`.

    Returns:
      the Axes; ``ax.containers[0]`` holds the H(p) bars, ``ax.containers[1]`` the KL bars,
      whose right ends are the cross-entropies. An infinite KL is drawn hatched to the edge.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = decomposition([.8, .1, .1], [.2, .2, .6])
    >>> [float(round(bar.get_width(), 4)) for bar in ax.containers[1]]
    [0.8605]
    """
    if isinstance(p_or_parts, Decomposition):
        if q is not None or base is not None:
            raise _validate.InputError(
                "goes with p and q, not with a Decomposition (it has its unit already)",
                argument="q" if q is not None else "base",
            )
        parts = p_or_parts
    else:
        if q is None:
            raise _validate.InputError(
                "is needed: decomposition(p, q) or decomposition(infoloss.decompose(p, q))", argument="q"
            )
        parts = decompose(p_or_parts, q, base=base)
    ce, h, kl = (np.atleast_1d(as_float64(v)).ravel() for v in parts)
    rows = ce.shape[0]
    names = (
        [str(v) for v in labels]
        if labels is not None
        else ([""] if rows == 1 else [str(i + 1) for i in range(rows)])
    )
    if len(names) != rows:
        raise _validate.InputError(
            f"has {len(names)} names for {rows} bars", argument="labels", value=len(names)
        )
    ax = _axes(ax)
    y = np.arange(rows)[::-1]
    finite_ce = ce[np.isfinite(ce)]
    right = (max(float(finite_ce.max()) if finite_ce.size else 0.0, float(h.max()), 1e-12)) * 1.15
    shown_kl = np.where(np.isfinite(kl), kl, right - h)
    ax.barh(y, h, color=COLORS["entropy"], label="H(p), entropy")
    kl_bars = ax.barh(y, shown_kl, left=h, color=COLORS["kl"], label="KL(p‖q), the excess")
    for bar, value in zip(kl_bars, kl):
        if not math.isfinite(value):
            bar.set_hatch("//")
            bar.set_alpha(0.5)
    for yi, total in zip(y, ce):
        ax.annotate(
            f"H(p,q) = {_short(total)}",
            (min(total, right), yi),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize="small",
        )
    ax.set_yticks(y, names)
    ax.set_xlim(0, right * 1.25)
    ax.set_xlabel(f"{parts.unit}")
    ax.set_title(title if title is not None else "cross-entropy = entropy + KL divergence")
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    return ax


def huffman_tree(
    code: Mapping[Any, str], p: ArrayLike | None = None, *, ax: Axes | None = None, title: str | None = None
) -> Axes:
    """A prefix code drawn as its binary tree: 0 to the left, 1 to the right, leaves labelled.

    Args:
      code: a mapping label -> codeword, e.g. ``infoloss.coding.huffman_code(p)``.
      p: optionally the distribution (same labels, or positions for a sequence) to print each
        leaf's probability, and the expected length L and H(p) in the title.
      ax, title: as for :func:`distributions`.

    Returns:
      the Axes; each leaf's text is ``"label\\ncodeword"`` (plus ``p`` if given).

    >>> import matplotlib; matplotlib.use("Agg")
    >>> from infoloss.coding import huffman_code
    >>> ax = huffman_tree(huffman_code([1/2, 1/4, 1/8, 1/8]), [1/2, 1/4, 1/8, 1/8])
    >>> ax.get_title()
    'Huffman code: L = 1.75 bits, H(p) = 1.75 bits'
    """
    from ..coding import code_lengths, expected_length

    code_lengths(code)  # checks the codewords
    words = dict(code)
    if not words:
        raise _validate.InputError("has no codewords", argument="code")
    probabilities = None
    if p is not None:
        values, found = _distributions({"p": p})
        keys = found if found is not None else list(range(len(values[0])))
        probabilities = dict(zip(keys, values[0]))
    nodes = _trie(words)
    leaves = [n for n in nodes.values() if n["leaf"] is not None]
    for position, node in enumerate(sorted(leaves, key=lambda n: n["word"])):
        node["x"] = float(position)
    for word in sorted(nodes, key=len, reverse=True):  # inner nodes centred over their children
        node = nodes[word]
        if node["leaf"] is None:
            node["x"] = float(np.mean([nodes[c]["x"] for c in (word + "0", word + "1") if c in nodes]))
    ax = _axes(ax)
    for word, node in nodes.items():
        for bit in "01":
            child = nodes.get(word + bit)
            if child is None:
                continue
            ax.plot([node["x"], child["x"]], [-len(word), -len(word) - 1], color="#777", lw=1.2, zorder=1)
            ax.text(
                (node["x"] + child["x"]) / 2 + (-0.12 if bit == "0" else 0.12),
                -len(word) - 0.5,
                bit,
                ha="center",
                va="center",
                fontsize="small",
                color="#555",
            )
    for node in leaves:
        ax.scatter([node["x"]], [-len(node["word"])], s=60, color=COLORS["p"], zorder=2)
        text = f"{node['leaf']}\n{node['word']}"
        if probabilities is not None and node["leaf"] in probabilities:
            text += f"\np = {_short(probabilities[node['leaf']])}"
        ax.text(node["x"], -len(node["word"]) - 0.18, text, ha="center", va="top", fontsize="small")
    inner = [n for n in nodes.values() if n["leaf"] is None]
    ax.scatter([n["x"] for n in inner], [-len(n["word"]) for n in inner], s=15, color="#777", zorder=2)
    depth = max(len(w) for w in words.values())
    ax.set_ylim(-depth - 1.2, 0.4)
    ax.set_xlim(-0.7, len(leaves) - 0.3)
    ax.set_axis_off()
    if title is None:
        title = "Huffman code"
        if probabilities is not None:
            length = expected_length(words, p)
            h = entropy(list(probabilities.values()), base=2)
            title = f"Huffman code: L = {_short(length)} bits, H(p) = {_short(h)} bits"
    ax.set_title(title)
    return ax


def entropy_curve(
    *,
    base: float | None = 2,
    points: int = 401,
    mark: ArrayLike | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """The binary entropy ``H(x, 1 - x)`` against ``x``: 0 at certainty, the maximum at 1/2.

    Args:
      base: logarithm base (2: bits, the maximum is 1; None: nats, log 2).
      points: how many values of ``x`` in [0, 1] (at least 3).
      mark: optionally some ``x`` values to mark with their entropy.
      ax, title: as for :func:`distributions`.

    Returns:
      the Axes; ``ax.lines[0]`` is the curve (its data are computed with :func:`infoloss.entropy`).

    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = entropy_curve(mark=[0.5])
    >>> float(max(ax.lines[0].get_ydata()))
    1.0
    """
    _validate.check_integer("points", points, low=3)
    _validate.check_base(base)
    x = np.linspace(0.0, 1.0, points)
    y = entropy(np.stack([x, 1 - x], axis=-1), base=base)
    ax = _axes(ax)
    unit = _unit(base)
    ax.plot(x, y, color=COLORS["entropy"], lw=2, label="H(x, 1 − x)")
    if mark is not None:
        marks = np.atleast_1d(np.asarray(mark, dtype=np.float64))
        bad = np.flatnonzero(~((marks >= 0) & (marks <= 1)))
        if bad.size:
            raise _validate.InputError(
                "must be a probability in [0, 1]",
                argument="mark",
                index=(int(bad[0]),),
                value=float(marks[bad[0]]),
            )
        heights = entropy(np.stack([marks, 1 - marks], axis=-1), base=base)
        ax.scatter(marks, heights, color=COLORS["kl"], zorder=3)
        for xm, hm in zip(marks, np.atleast_1d(heights)):
            ax.annotate(
                f"{_short(hm)}", (xm, hm), xytext=(5, 5), textcoords="offset points", fontsize="small"
            )
    ax.set_xlabel("x = P(outcome 1)")
    ax.set_ylabel(f"entropy ({unit})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, float(np.max(y)) * 1.1)
    ax.set_title(title if title is not None else f"binary entropy H(x, 1 − x) in {unit}")
    return ax


def estimates(
    p: ArrayLike,
    *,
    methods: Sequence[str] = ("plugin", "miller-madow", "chao-shen", "nsb"),
    sizes: Sequence[int] = (10, 20, 50, 100, 200, 500, 1000),
    repeats: int = 200,
    base: float | None = None,
    seed: int = 0,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """The bias of entropy estimators against the sample size: mean estimate minus H(p).

    For each sample size ``N``, ``repeats`` count vectors are drawn from the multinomial
    ``(N, p)`` (NumPy's generator seeded with ``seed``) and each method of
    :func:`infoloss.estimate.entropy` is applied to them; the line is the mean error, the band
    its standard error. The plug-in estimate is biased low by about ``(K - 1) / 2N`` nats
    (Miller-Madow's correction); the others trade that bias for variance.

    Returns:
      the Axes; ``ax.lines[i]`` is ``methods[i]``'s mean bias at ``sizes`` (log scale in N),
      the last line the zero of an unbiased estimator.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = estimates([0.5, 0.25, 0.125, 0.125], methods=("plugin",), sizes=(10, 100), repeats=50)
    >>> [line.get_label() for line in ax.lines]
    ['plugin', 'unbiased']
    """
    from .. import estimate

    values, _ = _distributions({"p": p})
    dist = np.asarray(values[0])
    n_values = [int(n) for n in sizes]
    for i, n in enumerate(n_values):
        _validate.check_integer(f"sizes[{i}]", n, low=1)
    _validate.check_integer("repeats", repeats, low=2)
    rng = np.random.default_rng(seed)
    draws = {n: rng.multinomial(n, dist, size=repeats) for n in n_values}
    truth = float(entropy(dist, base=base))
    ax = _axes(ax)
    for method in methods:
        bias_of_n, error_of_n = [], []
        for n in n_values:
            est = np.asarray(
                estimate.entropy(draws[n], method, counts=True, base=base, alphabet_size=dist.size).value,
                dtype=np.float64,
            )
            bias_of_n.append(float(np.mean(est)) - truth)
            error_of_n.append(float(np.std(est, ddof=1) / math.sqrt(repeats)))
        means, errors = np.array(bias_of_n), np.array(error_of_n)
        (line,) = ax.plot(n_values, means, marker="o", label=method)
        ax.fill_between(n_values, means - errors, means + errors, color=line.get_color(), alpha=0.2)
    ax.axhline(0.0, color="#777", lw=1, label="unbiased")
    ax.set_xscale("log")
    ax.set_xlabel("sample size N")
    ax.set_ylabel(f"bias: mean estimate − H(p) ({_unit(base)})")
    ax.set_title(
        title
        if title is not None
        else f"entropy estimators, H(p) = {_short(truth)} {_unit(base)}, {repeats} samples per N"
    )
    ax.legend(frameon=False)
    return ax


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    return ax


def _distributions(named: dict[str, Any]) -> tuple[list[list[float]], list[str] | None]:
    """1-D distributions as float lists (aligned by label for mappings), and the labels."""
    inputs = prepare(named, axis=-1, normalize=False, validate=True)
    rows = [as_float64(a) for a in inputs.checked()]
    for name, row in zip(named, rows):
        if row.ndim != 1:
            raise _validate.InputError(
                f"must be one distribution (1-D), got shape {tuple(row.shape)}", argument=name
            )
    return [list(map(float, row)) for row in rows], inputs.labels


def _trie(words: Mapping[Any, str]) -> dict[str, dict[str, Any]]:
    """Every prefix of the codewords -> node {word, leaf}; leaf is the label at a codeword."""
    nodes = {"": {"word": "", "leaf": None}}
    for label, word in words.items():
        for i in range(1, len(word) + 1):
            nodes.setdefault(word[:i], {"word": word[:i], "leaf": None})
        nodes[word]["leaf"] = label
    return nodes


def _unit(base: float | None) -> str:
    if base is None or base == math.e:
        return "nats"
    return "bits" if base == 2 else f"log-{base:g} units"


def _short(value: SupportsFloat) -> str:
    value = float(value)
    return f"{value:.4g}" if math.isfinite(value) else "∞"
