"""``infoloss demo``: demonstrations on real data.

    infoloss demo digits                    the report, as panels
    infoloss demo digits --json             every figure as JSON
    infoloss demo digits --plot figures/    also PNG figures (needs matplotlib)

The experiments live in :mod:`infoloss.demo`, imported only when a demo runs (it imports torch
and scikit-learn). Without the extra ``infoloss[demo]`` the command says how to install it in
one line on stderr, exit status 2.
"""

from __future__ import annotations

import click

from .main import CommandError, console

__all__ = ["demo"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def demo() -> None:
    """Demonstrations on real data (needs the extra: pip install 'infoloss[demo]')."""


@demo.command(short_help="Learning is compression, on handwritten digits: KL vs CE, coded labels, Q vs P.")
@click.option("--json", "as_json", is_flag=True, help="Print every figure as JSON instead of the panels.")
@click.option(
    "--plot",
    "plot_dir",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Also write PNG figures into DIR (needs matplotlib).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seeds the split, initialisations, batch order and simulated votes.",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Passes over the training digits per training run (fewer: a quicker look).",
)
@click.option(
    "--repeats",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    help="Seeds of the entropy-scaled-step comparison.",
)
def digits(as_json: bool, plot_dir: str | None, seed: int, epochs: int, repeats: int) -> None:
    """Learning is compression, on scikit-learn's 1797 handwritten digits.

    \b
    1. KL and cross-entropy training take the same steps (float64, same batches).
    2. The entropy-scaled learning rate against the constant one, several seeds.
    3. The test labels arithmetic-coded under the classifier's predictions, against
       fixed-length, Huffman, gzip and xz codes; the prequential code of all labels.
    4. The predicted Q against the one-hot P for a few test digits.

    Deterministic for a seed; CPU only, one thread, about 20 s of CPU time.
    """
    from ..demo import MissingExtraError, digits as run_digits

    try:
        report = run_digits(seed=seed, epochs=epochs, repeats=repeats, plot_dir=plot_dir)
    except MissingExtraError as error:
        raise CommandError(str(error)) from None
    if as_json:
        from ..demo.report import to_json

        click.echo(to_json(report))
        for note in report.notes:
            click.echo(note, err=True)
        return
    console().print(report)
