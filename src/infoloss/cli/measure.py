"""``infoloss measure``: H(p), H(q), H(p,q), KL both ways and JS of distributions given inline or in files.

    infoloss measure --p 0.14,0.37,0.03,0.46
    infoloss measure --p red=.8,green=.1,yellow=.1 --q red=.2,green=.2,yellow=.6
    infoloss measure --p-file counts.csv --counts --bits --json

Inputs are read by :mod:`.inputs` (inline, CSV/TSV, NPY, JSON; bounded readers); bad input is one
line on stderr and exit status 2.
"""

from __future__ import annotations

import json
import math
from typing import Any

import click
import numpy as np
from rich.table import Table
from rich.text import Text

from ..measures import cross_entropy, entropy, js_divergence, kl_divergence
from ._plots import measure_plot_option, save_measure_plot
from .inputs import FILE_TYPES, Distributions, InputError, align, library_call, max_size_option, read
from .main import console, printable

__all__ = ["measure"]

_SOURCES_HELP = (
    "inline as comma-separated numbers (0.14,0.37,0.03,0.46), labelled numbers "
    "(rain=.14,snow=.37,...) or fractions (1/2,1/4,1/4)"
)
LABELS_SHOWN = 20  # the heading lists this many labels, then says how many there are


@click.command()
@click.option("--p", "p_inline", metavar="VALUES", help=f"The distribution p, {_SOURCES_HELP}.")
@click.option("--q", "q_inline", metavar="VALUES", help="The distribution q (the model), given like --p.")
@click.option(
    "--p-file",
    metavar="FILE",
    help=f"Read p from a file ({', '.join(FILE_TYPES)}), one distribution per row; a CSV may start "
    "with a header row of labels, a JSON file may hold label -> number objects.",
)
@click.option("--q-file", metavar="FILE", help="Read q from a file, like --p-file.")
@click.option("--counts", is_flag=True, help="Rows are counts or weights: divide each by its sum.")
@click.option(
    "--base", type=float, default=None, help="Logarithm base: 2 for bits, 10 for hartleys [default: e, nats]."
)
@click.option("--bits", is_flag=True, help="Same as --base 2.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table (full precision).")
@click.option(
    "--digits", type=click.IntRange(0, 17), default=6, show_default=True, help="Decimals in the table."
)
@max_size_option
@measure_plot_option
def measure(
    p_inline: str | None,
    q_inline: str | None,
    p_file: str | None,
    q_file: str | None,
    counts: bool,
    base: float | None,
    bits: bool,
    as_json: bool,
    digits: int,
    plot_path: str | None,
) -> None:
    """H(p), H(q), H(p,q), KL(p||q), KL(q||p) and JS(p,q), one result row per distribution row.

    With only p, its entropy. When p and q are both labelled they are aligned by label (a label
    one lacks has probability 0 there); when neither is, by position (labelled and unlabelled
    do not mix). A single row on one side is compared with every row of the other. Rows and
    columns in messages count from 1.

    \b
    Examples:
      infoloss measure --p 0.14,0.37,0.03,0.46
      infoloss measure --p red=.8,green=.1,yellow=.1 --q red=.2,green=.2,yellow=.6
      infoloss measure --p-file votes.csv --q-file predictions.npy --counts --bits --json
    """
    p = read("p", p_inline, p_file)
    q = read("q", q_inline, q_file)
    if p is None:
        raise InputError("give the distribution p with --p VALUES or --p-file FILE")
    if q is not None:
        p, q = align(p, q)
    base = _base(base, bits)
    columns = _measure_columns(p, q, base=base, normalize=counts)
    if plot_path:
        save_measure_plot(plot_path, p, q, base=base, normalize=counts)
    labels = p.labels
    unit = _unit(base)
    if as_json:
        # One line: json.dumps with indent= falls back to the pure-Python encoder (slow for 10^6 labels).
        click.echo(json.dumps(_as_json(columns, labels, unit, base, counts), allow_nan=False))
        return
    out = console()
    out.print(_measure_heading(labels, unit, counts))
    out.print(_measure_table(columns, digits))


def _measure_columns(p: Distributions, q: Distributions | None, **options: Any) -> dict[str, np.ndarray]:
    """Each measure for every row, by table heading; validation errors name file/row/column."""
    results = {"H(p)": library_call(entropy, p, **options)}
    if q is not None:
        results["H(q)"] = library_call(entropy, q, **options)
        results["H(p,q)"] = library_call(cross_entropy, p, q, **options)
        results["KL(p||q)"] = library_call(kl_divergence, p, q, **options)
        results["KL(q||p)"] = library_call(kl_divergence, q, p, **options)
        results["JS(p,q)"] = library_call(js_divergence, p, q, **options)
    # A single-row side is compared with every row of the other: its H repeats on each row.
    rows = max(len(p.values), len(q.values) if q is not None else 0)
    return {name: np.broadcast_to(np.asarray(v, dtype=np.float64), (rows,)) for name, v in results.items()}


# Names in the JSON output (table headings -> keys that are easy to use in jq or Python).
_JSON_KEYS = {
    "H(p)": "entropy_p",
    "H(q)": "entropy_q",
    "H(p,q)": "cross_entropy",
    "KL(p||q)": "kl_p_q",
    "KL(q||p)": "kl_q_p",
    "JS(p,q)": "js",
}


def _as_json(
    columns: dict[str, np.ndarray], labels: list[str] | None, unit: str, base: float | None, counts: bool
) -> dict[str, Any]:
    rows = len(next(iter(columns.values())))
    return {
        "unit": unit,
        "base": base,
        "counts": counts,
        "labels": labels,
        "rows": [
            {"row": r + 1, **{_JSON_KEYS[name]: _json_float(values[r]) for name, values in columns.items()}}
            for r in range(rows)
        ],
    }


def _json_float(value: float) -> float | str:
    # Strict JSON has no infinity; KL and CE are +inf where q = 0 < p.
    return float(value) if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")


def _measure_heading(labels: list[str] | None, unit: str, counts: bool) -> Text:
    heading = Text.assemble(("infoloss measure", "bold"), f", in {unit}")
    if counts:
        heading.append(", each row divided by its sum (--counts)")
    if labels is not None:
        shown = ", ".join(printable(label) for label in labels[:LABELS_SHOWN])
        more = f", ... ({len(labels)} labels)" if len(labels) > LABELS_SHOWN else ""
        heading.append(f"; labels: {shown}{more}")  # a Text: labels are never read as rich markup
    return heading


def _measure_table(columns: dict[str, np.ndarray], digits: int) -> Table:
    rows = len(next(iter(columns.values())))
    table = Table(caption="H(p,q) = H(p) + KL(p||q)" if "H(p,q)" in columns else None)
    if rows > 1:
        table.add_column("row", justify="right", style="dim")
    for name in columns:
        table.add_column(name, justify="right")
    for r in range(rows):
        cells = [_cell(values[r], digits) for values in columns.values()]
        table.add_row(*([str(r + 1)] if rows > 1 else []), *cells)
    return table


def _cell(value: float, digits: int) -> str:
    return f"{value + 0.0:.{digits}f}" if math.isfinite(value) else "inf"


def _base(base: float | None, bits: bool) -> float | None:
    if bits and base is not None and base != 2:
        raise InputError(f"--bits means --base 2, but --base {base:g} was given too")
    return 2.0 if bits else base


def _unit(base: float | None) -> str:
    if base is None or base == math.e:
        return "nats"
    return {2.0: "bits", 10.0: "hartleys"}.get(float(base), f"log-base-{base:g} units")
