"""The ``infoloss`` command: measures from the command line, and the tour of the seed examples.

    infoloss measure --p rain=.14,snow=.37,sleet=.03,hail=.46 --q rain=.25,snow=.25,sleet=.25,hail=.25
    infoloss measure --p-file counts.csv --counts --bits --json
    infoloss tour

Argument parsing with click, tables with rich. Bad input is one line on stderr and exit
status 2 (see :mod:`infoloss._cli_inputs`). Subcommands are registered on the ``main`` group;
other modules add theirs with ``main.add_command(...)``.
"""

from __future__ import annotations

import json
import math
import os
import sys

import click
import numpy as np
from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .. import __version__
from .inputs import FILE_TYPES, InputError, align, library_call, read
from ..measures import cross_entropy, entropy, js_divergence, kl_divergence
from ..examples import tour as seed_tour

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="infoloss")
def main():
    """infoloss: entropy, cross-entropy and KL divergence, as measures, losses and code lengths."""


# --------------------------------------------------------------------------------------------
# infoloss measure
# --------------------------------------------------------------------------------------------

_SOURCES_HELP = (
    "inline as comma-separated numbers (0.14,0.37,0.03,0.46), labelled numbers "
    "(rain=.14,snow=.37,...) or fractions (1/2,1/4,1/4)"
)


@main.command()
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
@click.option("--base", type=float, default=None, help="Logarithm base: 2 for bits, 10 for hartleys [default: e, nats].")
@click.option("--bits", is_flag=True, help="Same as --base 2.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table (full precision).")
@click.option("--digits", type=click.IntRange(0, 17), default=6, show_default=True, help="Decimals in the table.")
def measure(p_inline, q_inline, p_file, q_file, counts, base, bits, as_json, digits):
    """H(p), H(q), H(p,q), KL(p||q), KL(q||p) and JS(p,q), one result row per distribution row.

    With only p, its entropy. When p and q are both labelled they are aligned by label (a label
    one lacks has probability 0 there); otherwise by position. A single row on one side is
    compared with every row of the other. Rows and columns in messages count from 1.

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
    labels = p.labels
    unit = _unit(base)
    if as_json:
        click.echo(json.dumps(_as_json(columns, labels, unit, base, counts), indent=2, allow_nan=False))
        return
    console = _console()
    console.print(_measure_heading(labels, unit, counts))
    console.print(_measure_table(columns, digits))


def _measure_columns(p, q, **options) -> dict[str, np.ndarray]:
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


def _as_json(columns: dict, labels, unit: str, base, counts: bool) -> dict:
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


def _json_float(value: float):
    # Strict JSON has no infinity; KL and CE are +inf where q = 0 < p.
    return float(value) if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")


def _measure_heading(labels, unit: str, counts: bool) -> Text:
    heading = Text.assemble(("infoloss measure", "bold"), f", in {unit}")
    if counts:
        heading.append(", each row divided by its sum (--counts)")
    if labels is not None:
        heading.append(f"; labels: {', '.join(labels)}")
    return heading


def _measure_table(columns: dict, digits: int) -> Table:
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


def _base(base, bits: bool):
    if bits and base is not None and base != 2:
        raise InputError(f"--bits means --base 2, but --base {base:g} was given too")
    return 2.0 if bits else base


def _unit(base) -> str:
    if base is None or base == math.e:
        return "nats"
    return {2.0: "bits", 10.0: "hartleys"}.get(float(base), f"log-base-{base:g} units")


# --------------------------------------------------------------------------------------------
# infoloss tour
# --------------------------------------------------------------------------------------------


@main.command()
@click.option(
    "--seed",
    "seeds",
    multiple=True,
    type=click.Choice(["000", "001", "002", "003", "004"]),
    help="Show only this seed document's examples (repeatable) [default: all].",
)
@click.pass_context
def tour(ctx, seeds):
    """Recompute every worked example of the seed documents and check it against its claim.

    Each claim is printed next to what infoloss computes, with a check mark when they agree
    to the precision the seed states. Exit status 0 iff every claim is reproduced.
    """
    console = _console()
    sections = [s for s in seed_tour() if not seeds or s.seed in seeds]
    console.print(
        Text.assemble(
            ("infoloss tour", "bold"),
            f" {__version__}: every worked example of the seed documents (see seeds/DIGEST.md), "
            "computed with the library and checked against what the seed says.",
        )
    )
    for section in sections:
        console.print(_section_panel(section))
    claims = [claim for section in sections for claim in section.claims]
    reproduced = sum(claim.ok for claim in claims)
    style = "bold green" if reproduced == len(claims) else "bold red"
    console.print(Text(f"{reproduced}/{len(claims)} claims reproduced", style=style))
    ctx.exit(0 if reproduced == len(claims) else 1)


def _section_panel(section) -> Panel:
    table = Table(expand=True, show_lines=True)
    table.add_column("", width=2, no_wrap=True)
    table.add_column("claim", ratio=5)
    table.add_column("the seed says", ratio=3)
    table.add_column("infoloss computes", ratio=4)
    for claim in section.claims:
        mark = Text("✓", style="bold green") if claim.ok else Text("✗", style="bold red")
        statement = Text(claim.statement)
        statement.append(f"\n{claim.code}", style="dim")
        computed = Text(claim.computed) if claim.ok else Text(f"MISMATCH: {claim.computed}", style="bold red")
        table.add_row(mark, statement, Text(claim.says), computed)
    return Panel(
        Group(Text(section.summary, style="italic"), table),
        title=f"[bold]seed {section.seed}[/bold]: {escape(section.title)}",
        title_align="left",
    )


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def _console() -> Console:
    """Console on stdout; 120 columns when piped (rich would use 80) unless COLUMNS says."""
    piped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(highlight=False, width=120 if piped else None)


from .code import code  # noqa: E402 - registered after main exists
main.add_command(code)
