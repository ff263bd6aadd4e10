"""``--plot FILE`` for ``infoloss measure`` and ``infoloss code``: the figures of :mod:`infoloss.plot`.

Figures are built on a bare ``matplotlib.figure.Figure`` (no pyplot, no GUI backend) and saved
in the format of FILE's suffix (.png, .svg, .pdf, ...). matplotlib is the optional extra
``infoloss[plot]``; without it ``--plot`` is a one-line error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
import numpy as np

from .main import CommandError as InputError  # inputs.InputError; inputs itself is not needed here

if TYPE_CHECKING:  # matplotlib is optional and imported only when a figure is drawn
    from matplotlib.figure import Figure

    from .inputs import Distributions

_Command = TypeVar("_Command", bound=Callable[..., Any])  # a click command, returned with the option added

__all__ = ["measure_plot_option", "code_plot_option", "save_measure_plot", "save_code_plot", "MAX_OUTCOMES"]

MAX_OUTCOMES = 64  # bars and tree leaves beyond this are unreadable: --plot says so instead


def measure_plot_option(function: _Command) -> _Command:
    """The ``--plot FILE`` option of ``infoloss measure``."""
    return click.option(
        "--plot",
        "plot_path",
        metavar="FILE",
        type=click.Path(dir_okay=False),
        help="Also save a figure to FILE (.png, .svg, .pdf): the bars of p and q (first row) and "
        "H(p,q) = H(p) + KL(p||q) stacked for every row. Needs infoloss[plot].",
    )(function)


def code_plot_option(function: _Command) -> _Command:
    """The ``--plot FILE`` option of ``infoloss code``."""
    return click.option(
        "--plot",
        "plot_path",
        metavar="FILE",
        type=click.Path(dir_okay=False),
        help="Also save the Huffman tree (of q's code with --q) to FILE (.png, .svg, .pdf). Needs infoloss[plot].",
    )(function)


def save_measure_plot(
    path: str,
    p: Distributions,
    q: Distributions | None,
    *,
    base: float | None = None,
    normalize: bool = False,
) -> Figure:
    """Bars of p and q's first rows beside the stacked H(p) + KL(p||q) of every row; or p's bars alone.

    ``p``, ``q``: :class:`infoloss.cli.inputs.Distributions` (q may be None). Returns the Figure.
    """
    from .. import plot

    _check_size(p)
    figure = _figure(2 if q is not None else 1)
    axes = figure.axes
    p_rows = _rows(p, normalize)
    labels = p.labels
    if q is None:
        plot.distributions(p_rows[0], labels=labels, base=base, ax=axes[0])
    else:
        q_rows = _rows(q, normalize)
        rows = max(len(p_rows), len(q_rows))
        p_rows = np.broadcast_to(p_rows, (rows, p_rows.shape[1]))
        q_rows = np.broadcast_to(q_rows, (rows, q_rows.shape[1]))
        plot.distributions(list(p_rows[0]), list(q_rows[0]), labels=labels, base=base, ax=axes[0])
        if rows > 1:
            axes[0].set_title("row 1: " + axes[0].get_title(), fontsize="medium")
        plot.decomposition(
            np.ascontiguousarray(p_rows),
            np.ascontiguousarray(q_rows),
            base=base,
            ax=axes[1],
            labels=[f"row {r + 1}" for r in range(rows)] if rows > 1 else None,
        )
    _save(figure, path)
    return figure


def save_code_plot(
    path: str, p: Distributions, q: Distributions | None = None, *, normalize: bool = False
) -> Figure:
    """The Huffman tree of the code built for q (or p), leaves labelled with p's probabilities; returns the Figure."""
    from .. import coding, plot

    _check_size(p)
    figure = _figure(1)
    p_row = _rows(p, normalize)[0]
    labels = p.labels if p.labels is not None else list(range(len(p_row)))
    built_for = _rows(q, normalize)[0] if q is not None else p_row
    code = coding.huffman_code(dict(zip(labels, map(float, built_for))))
    ax = plot.huffman_tree(code, dict(zip(labels, map(float, p_row))), ax=figure.axes[0])
    if q is not None:
        ax.set_title(
            "code built for q, used under p: " + ax.get_title().replace("Huffman code: ", ""),
            fontsize="medium",
        )
    _save(figure, path)
    return figure


def _check_size(p: Distributions) -> None:
    k = p.values.shape[-1]
    if k > MAX_OUTCOMES:
        raise InputError(
            f"--plot draws at most {MAX_OUTCOMES} outcomes, {p.origin} has {k}; leave --plot out, "
            "or plot a summary with infoloss.plot from Python"
        )


def _rows(distributions: Distributions, normalize: bool) -> np.ndarray:
    values = np.asarray(distributions.values, dtype=np.float64)
    return values / values.sum(axis=-1, keepdims=True) if normalize else values


def _figure(panels: int) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise InputError("--plot needs matplotlib: pip install 'infoloss[plot]'") from None
    figure = Figure(figsize=(6.4 * panels, 4.2), layout="constrained")
    figure.subplots(1, panels, squeeze=False)
    return figure


def _save(figure: Figure, path: str) -> None:
    try:
        figure.savefig(path)
    except (ValueError, OSError) as error:  # an unknown suffix, a directory that does not exist
        raise InputError(f"--plot {click.format_filename(path)}: {error}") from None
    click.echo(f"plot: {click.format_filename(path)}", err=True)
