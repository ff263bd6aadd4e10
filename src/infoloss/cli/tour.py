"""``infoloss tour``: every worked example of :mod:`infoloss.examples`, computed and checked.

    infoloss tour                       all of them
    infoloss tour --topic weather       one text's examples (repeatable)

One panel per text: where its numbers come from, then each claim beside what the text says
and what infoloss computes, with a check mark when they agree to the stated precision. Exit
status 0 iff every claim shown is reproduced.
"""

from __future__ import annotations

import click
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .. import __version__, examples
from .main import console

__all__ = ["tour"]


@click.command()
@click.option(
    "--topic",
    "topics",
    multiple=True,
    type=click.Choice(examples.topics()),
    help="Show only the examples on this topic (repeatable) [default: all].",
)
@click.pass_context
def tour(ctx: click.Context, topics: tuple[str, ...]) -> None:
    """Recompute the worked examples of five texts on entropy, cross-entropy and KL divergence.

    The texts are a Q&A thread and four blog posts (a weather forecast, Huffman codes, a bag of
    coloured balls, likelihood). Each claim is printed next to what infoloss computes, with a
    check mark when they agree to the precision the text states. Exit status 0 iff every
    claim is reproduced.
    """
    out = console()
    results = examples.check_all(topics)
    out.print(
        Text.assemble(
            ("infoloss tour", "bold"),
            f" {__version__}: the worked examples of a Q&A thread and four blog posts on entropy, "
            "cross-entropy and KL divergence, computed with the library and checked against what each text says.",
        )
    )
    for example, example_checks in results:
        out.print(_panel(example, example_checks))
    checks = [check for _, example_checks in results for check in example_checks]
    reproduced = sum(check.ok for check in checks)
    style = "bold green" if reproduced == len(checks) else "bold red"
    # The page with these examples as presets: build/infoloss-explore.html
    from ..explore import tour_page_note

    out.print(tour_page_note(), soft_wrap=True, markup=False)  # one line, the path taken as it is
    out.print(Text(f"{reproduced}/{len(checks)} claims reproduced", style=style))
    ctx.exit(0 if reproduced == len(checks) else 1)


def _panel(example: examples.Example, checks: tuple[examples.Check, ...]) -> Panel:
    table = Table(expand=True, show_lines=True)
    table.add_column("", width=2, no_wrap=True)
    table.add_column("claim", ratio=5)
    table.add_column("the text says", ratio=3)
    table.add_column("infoloss computes", ratio=4)
    for check in checks:
        claim = check.claim
        mark = Text("✓", style="bold green") if check.ok else Text("✗", style="bold red")
        statement = Text(claim.statement)
        statement.append(f"\n{claim.code}", style="dim")
        says = claim.says + (f" {claim.unit}" if claim.unit else "")
        computed = Text(check.computed) if check.ok else Text(f"MISMATCH: {check.computed}", style="bold red")
        table.add_row(mark, statement, Text(says), computed)
    source = Text(f"From {example.source}. ", style="italic")
    source.append(example.summary)
    return Panel(
        Group(source, table),
        title=Text.assemble((example.topic, "bold"), f": {example.title}"),
        title_align="left",
    )
