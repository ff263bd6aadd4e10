"""``infoloss explore``: write the interactive page (one offline HTML file) and open it.

    infoloss explore                                        the page with the tour's examples
    infoloss explore --p 1/2,1/4,1/8,1/8 --q 1/4,1/4,1/4,1/4 --output page.html --open
    infoloss explore --logits 1,1,3 --temperature 2

Distributions are read like ``infoloss measure`` reads them (:mod:`infoloss.cli.inputs`);
every problem is one line ``Error: ...`` on stderr and exit status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .. import _validate
from .inputs import Distributions, InputError, align, max_size_option, read

__all__ = ["explore"]

DEFAULT_OUTPUT = "infoloss-explore.html"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--p",
    "p_inline",
    metavar="VALUES",
    help="The distribution p (2 to 16 outcomes), inline as for `infoloss measure` (0.5,0.25,0.25, "
    "a=.5,b=.5 or 1/2,1/4,1/4); counts are divided by their sum.",
)
@click.option("--q", "q_inline", metavar="VALUES", help="The model q, given like --p.")
@click.option(
    "--p-file",
    metavar="FILE",
    help="Read p from a file (.csv, .tsv, .npy, .json; one row), as `infoloss measure` does.",
)
@click.option("--q-file", metavar="FILE", help="Read q from a file, like --p-file.")
@click.option(
    "--logits",
    "logits_inline",
    metavar="VALUES",
    help="Start in the logits mode with these scores (q = softmax(logits / T)).",
)
@click.option(
    "--target",
    type=int,
    default=None,
    help="With --logits: the one-hot target's class (from 0) [default: the largest logit, or the soft "
    "target --p].",
)
@click.option(
    "--temperature",
    type=float,
    default=1.0,
    show_default=True,
    help="With --logits: the softmax temperature.",
)
@click.option("--nats", is_flag=True, help="Show nats instead of bits.")
@click.option(
    "--seed", type=click.IntRange(0), default=1, show_default=True, help="The sample button's seed."
)
@click.option(
    "-o",
    "--output",
    metavar="PAGE",
    default=DEFAULT_OUTPUT,
    show_default=True,
    help="The HTML file to write.",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the web browser.")
@max_size_option
def explore(
    p_inline: str | None,
    q_inline: str | None,
    p_file: str | None,
    q_file: str | None,
    logits_inline: str | None,
    target: int | None,
    temperature: float,
    nats: bool,
    seed: int,
    output: str,
    open_browser: bool,
) -> None:
    """Write the interactive page of H(p), H(p,q), KL, JS and Huffman codes, and print its address.

    One self-contained HTML file (no network: it works from file:// offline). Drag the bars
    of p and q, or type logits; the link in the address bar reproduces the view. Without
    --p/--q/--logits it starts at the tour's first example, with every example as a preset.

    \b
    Examples:
      infoloss explore --open
      infoloss explore --p rain=.14,snow=.37,sleet=.03,hail=.46 --q rain=.25,snow=.25,sleet=.25,hail=.25
      infoloss explore --logits 1,1,3 --nats -o softmax.html
    """
    from .. import explore as explorer

    p = read("p", p_inline, p_file)
    q = read("q", q_inline, q_file)
    logits = read("logits", logits_inline, None)
    if p is not None and q is not None:
        p, q = align(p, q)
    options: dict[str, Any] = {"unit": "nats" if nats else "bits", "seed": seed}
    if logits is not None:
        options.update(logits=_one_row(logits, "--logits"), temperature=temperature, target=target)
    elif target is not None or temperature != 1.0:
        raise InputError("--target and --temperature go with --logits")
    labels = next((d.labels for d in (p, q, logits) if d is not None and d.labels is not None), None)
    try:
        path = Path(explorer.page(_one_row(p, "--p"), _one_row(q, "--q"), output, labels=labels, **options))
    except _validate.InfolossError as error:
        raise InputError(_cli_message(error)) from None
    click.echo(f"wrote {path}: {path.resolve().as_uri()}")
    if open_browser:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())


def _one_row(distributions: Distributions | None, option: str) -> list[float] | None:
    if distributions is None:
        return None
    if len(distributions.values) != 1:
        raise InputError(f"{option} must be one row, got {len(distributions.values)}")
    return [float(v) for v in distributions.values[0]]


def _cli_message(error: _validate.InfolossError) -> str:
    # The library names its arguments (p, q, logits, temperature): the user typed --p, --q ...
    argument = error.argument
    where = f"--{argument}" if argument else ""
    index = error.index
    if isinstance(index, tuple) and len(index) == 1 and isinstance(index[0], int):
        where += f" item {index[0] + 1}"
    return f"{where} {error.reason}".strip() + (f"; {error.hint}" if error.hint else "")
