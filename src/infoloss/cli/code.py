"""``infoloss code``: Huffman tables, and a compressor that shows H and H(p, q) as bit counts.

    infoloss code --p 1/2,1/4,1/8,1/8                 the Huffman code, L, H(p), efficiency
    infoloss code --p a=.5,b=.3,c=.2 --q a=.2,b=.3,c=.5   q's code used under p: L vs H(p, q)
    infoloss code compress FILE [-o OUT] [--model OTHER [--floor P]] [--force]
    infoloss code decompress OUT [-o FILE] [--force]

Distributions are read like ``infoloss measure`` reads them (:mod:`infoloss._cli_inputs`).
Every problem is one line ``Error: ...`` on stderr and exit status 2.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table
from rich.text import Text

from .. import coding
from .inputs import InputError, align, library_call, read
from ..measures import cross_entropy, entropy

__all__ = ["code"]

SUFFIX = ".ilc"
PROGRESS_FROM = 8 << 20  # show a progress bar for inputs of 8 MiB and more


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--p", "p_inline", metavar="VALUES", help="The distribution to code, inline as for `infoloss measure` (0.5,0.25,0.25 or a=.5,b=.25,c=.25 or 1/2,1/4,1/4).")
@click.option("--p-file", metavar="FILE", help="Read p from a file (.csv, .tsv, .npy, .json), one row.")
@click.option("--q", "q_inline", metavar="VALUES", help="Build the code for q instead, and measure it under p (the cross-entropy view).")
@click.option("--q-file", metavar="FILE", help="Read q from a file, like --p-file.")
@click.option("--counts", is_flag=True, help="The numbers are counts or weights: divide by their sum.")
@click.option("--digits", type=click.IntRange(0, 17), default=4, show_default=True, help="Decimals in the table.")
@click.pass_context
def code(ctx, p_inline, q_inline, p_file, q_file, counts, digits):
    """Code lengths in bits: the Huffman code of a distribution, or compress/decompress a file.

    With --p: the optimal prefix (Huffman) code of p, one row per symbol, with its expected
    length L, the entropy H(p) and the efficiency H(p)/L; H(p) <= L < H(p) + 1, with L = H(p)
    when every probability is a power of 1/2. With --q too, the code is built for q and
    used under p: its expected length is H(p,q) = H(p) + KL(p||q) for dyadic q.

    \b
    Examples:
      infoloss code --p 1/2,1/4,1/8,1/8
      infoloss code --p a=.5,b=.25,c=.125,d=.125 --q a=.25,b=.25,c=.25,d=.25
      infoloss code compress notes.txt -o notes.ilc
      infoloss code compress notes.txt -o notes-q.ilc --model other.txt --floor 1e-6
      infoloss code decompress notes.ilc -o notes.txt
    """
    given = [p_inline, p_file, q_inline, q_file]
    if ctx.invoked_subcommand is not None:
        if any(value is not None for value in given):
            raise InputError(f"--p/--q go without a subcommand: `infoloss code --p ...`, not with `{ctx.invoked_subcommand}`")
        return
    p = read("p", p_inline, p_file)
    q = read("q", q_inline, q_file)
    if p is None:
        if q is not None:
            raise InputError("--q needs --p: the code is built for q and measured under p")
        click.echo(ctx.get_help())
        return
    _huffman_table(p, q, counts, digits)


@code.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", metavar="OUT", help=f"The compressed file [default: SOURCE{SUFFIX}].")
@click.option("--model", metavar="OTHER", type=click.Path(exists=True, dir_okay=False), help="Code with OTHER's byte frequencies instead of SOURCE's own: the output grows by KL(p||q) bits per byte.")
@click.option("--floor", type=float, metavar="P", help="Give every byte value at least probability P under the model, so bytes the model never saw can be coded.")
@click.option("-f", "--force", is_flag=True, help="Overwrite OUT if it exists.")
def compress(source, output, model, floor, force):
    """Compress SOURCE's bytes with a range coder under an order-0 byte model.

    The model is SOURCE's own byte frequencies (the payload approaches n H(p) bits), or with
    --model those of another file (it approaches n H(p,q) = n (H(p) + KL(p||q))). Prints the
    sizes, the bits per byte and the predicted entropy, cross-entropy and their gap.
    """
    output = output or source + SUFFIX
    weights = coding.byte_counts(model) if model else None
    with _progress(Path(source).stat().st_size, "compress") as progress:
        stats = _run(coding.compress_file, source, output, model=weights, floor=floor, force=force, progress=progress)
    heading, table = _compression_report(source, output, model, stats)
    console = _console()
    console.print(heading, soft_wrap=True)  # long paths stay on one line
    console.print(table)


@code.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", metavar="FILE", help=f"The restored file [default: SOURCE without {SUFFIX}].")
@click.option("-f", "--force", is_flag=True, help="Overwrite FILE if it exists.")
def decompress(source, output, force):
    """Restore a file written by `infoloss code compress`, checking its checksums.

    A truncated, corrupted or foreign file is refused and nothing is written.
    """
    if output is None:
        if not source.endswith(SUFFIX):
            raise InputError(f"{source} does not end in {SUFFIX}; name the restored file with -o FILE")
        output = source[: -len(SUFFIX)]
    with _progress(Path(source).stat().st_size, "decompress") as progress:
        stats = _run(coding.decompress_file, source, output, force=force, progress=progress)
    _console().print(
        Text.assemble(
            ("restored ", "bold"), f"{output}: {stats.original_bytes:,} bytes from {stats.compressed_bytes:,} "
            f"(SHA-256 verified) in {stats.seconds:.2f} s{_speed(stats.original_bytes, stats.seconds)}"
        ),
        soft_wrap=True,
    )


# --------------------------------------------------------------------------------------------
# Huffman table
# --------------------------------------------------------------------------------------------


def _huffman_table(p, q, counts: bool, digits: int) -> None:
    if q is not None:
        p, q = align(p, q)
    for source in (p, q):
        if source is not None and len(source.values) != 1:
            raise InputError(f"{source.origin} has {len(source.values)} rows; `infoloss code` codes one distribution")
    # The measures validate (and name bad entries by option, item and label) before the code is built.
    h_p = float(library_call(entropy, p, base=2, normalize=counts)[0])
    builder = q if q is not None else p
    if q is not None:
        h_pq = float(library_call(cross_entropy, p, q, base=2, normalize=counts)[0])
    labels = builder.labels if builder.labels is not None else [str(i + 1) for i in range(builder.values.shape[1])]
    table = coding.huffman_code(dict(zip(labels, builder.values[0].tolist())), normalize=counts)
    p_values = dict(zip(labels, (p.values[0] / p.values[0].sum() if counts else p.values[0]).tolist()))
    length = coding.expected_length(table, p_values)

    rows = Table()
    rows.add_column("symbol")
    rows.add_column("p", justify="right")
    if q is not None:
        rows.add_column("q", justify="right")
        q_values = q.values[0] / q.values[0].sum() if counts else q.values[0]
    rows.add_column("codeword")
    rows.add_column("length", justify="right")
    for i, label in enumerate(labels):
        word = table.get(label)
        cells = [label, f"{p_values[label]:.{digits}f}"]
        if q is not None:
            cells.append(f"{q_values[i]:.{digits}f}")
        cells += [word or "(none: probability 0)", str(len(word)) if word else "-"]
        rows.add_row(*cells, style=None if word else "dim")
    console = _console()
    console.print(_title(q is not None), soft_wrap=True)
    console.print(rows)
    console.print(_summary(length, h_p, h_pq if q is not None else None, coding.kraft_sum(table), digits))


def _title(cross: bool) -> Text:
    if cross:
        return Text.assemble(("Huffman code built for q", "bold"), ", used for messages from p (bits)")
    return Text.assemble(("Huffman code of p", "bold"), " (bits)")


def _summary(length: float, h_p: float, h_pq: float | None, kraft: float, digits: int) -> Table:
    summary = Table.grid(padding=(0, 2))
    summary.add_column()
    summary.add_column(justify="right")
    summary.add_column(style="dim")
    summary.add_row("expected length L", _bits(length, digits), "sum p_i * length_i")
    summary.add_row("entropy H(p)", _bits(h_p, digits), "the shortest possible average length")
    if h_pq is not None:
        summary.add_row("cross-entropy H(p,q)", _bits(h_pq, digits), "the length the code for q should cost under p")
        summary.add_row("KL(p||q) = H(p,q) - H(p)", _bits(h_pq - h_p, digits), "the excess over H(p) the mismatch predicts")
    efficiency = h_p / length if math.isfinite(length) and length > 0 else 0.0
    summary.add_row("efficiency H(p)/L", f"{100 * efficiency:.2f} %", "100 % iff every p_i is a power of 1/2")
    summary.add_row("redundancy L - H(p)", _bits(length - h_p, digits), "0 <= L - H(p) < 1 for p's own code")
    summary.add_row("Kraft sum", f"{kraft:g}", "sum 2^-length_i: 1 for a complete prefix code")
    return summary


def _bits(value: float, digits: int) -> str:
    return f"{value + 0.0:.{digits}f} bits" if math.isfinite(value) else "inf"


# --------------------------------------------------------------------------------------------
# Compression report
# --------------------------------------------------------------------------------------------


def _compression_report(source: str, output: str, model: str | None, stats) -> tuple[Text, Table]:
    origin = f"{model}'s byte frequencies" if model else f"{source}'s own byte frequencies"
    heading = Text.assemble(("compressed ", "bold"), f"{source} -> {output}, order-0 model: {origin}")
    table = Table(show_header=False)
    table.add_column()
    table.add_column(justify="right")
    table.add_column(style="dim")
    n = stats.original_bytes
    table.add_row("size before", f"{n:,} bytes", "")
    ratio = f"{100 * stats.compressed_bytes / n:.2f} % of the original" if n else ""
    table.add_row("size after", f"{stats.compressed_bytes:,} bytes",
                  f"{ratio}; header {stats.header_bytes:,} + payload {stats.payload_bytes:,}".lstrip("; "))
    if not n:
        table.add_row("bits per byte", "n/a", "the file is empty: no distribution to measure")
        table.add_row("time", f"{stats.seconds:.2f} s", "")
        return heading, table
    table.add_row("bits per byte", f"{stats.bits_per_byte:.4f}", f"payload alone {stats.payload_bits_per_byte:.4f}")
    table.add_row("entropy H(p)", f"{stats.entropy:.4f}", "predicted bound: p = the file's byte distribution")
    table.add_row("cross-entropy H(p,q)", f"{stats.cross_entropy:.4f}", "predicted payload: q = the model as coded (24-bit)")
    table.add_row("gap KL(p||q)", f"{stats.kl_divergence:.4f}", "predicted: H(p,q) - H(p), what the model costs")
    table.add_row("observed gap", f"{stats.payload_bits_per_byte - stats.entropy:.4f}", "payload bits per byte - H(p)")
    table.add_row("coder overhead", f"{stats.overhead:+.6f}",
                  f"payload - H(p,q), {100 * stats.overhead / stats.cross_entropy:+.4f} %" if stats.cross_entropy else "payload - H(p,q)")
    table.add_row("time", f"{stats.seconds:.2f} s", _speed(n, stats.seconds).strip(" ,"))
    return heading, table


def _speed(size: int, seconds: float) -> str:
    return f", {size / seconds / 1e6:.1f} MB/s" if seconds > 0 and size >= 1 << 20 else ""


# --------------------------------------------------------------------------------------------
# Plumbing
# --------------------------------------------------------------------------------------------


def _run(function, *args, **keywords):
    """Call the library; its errors become one-line messages (exit status 2)."""
    try:
        return function(*args, **keywords)
    except (coding.FormatError, FileExistsError, IsADirectoryError, ValueError, TypeError, RuntimeError) as error:
        message = str(error).replace("force=True (--force)", "--force").replace("floor=1e-6, or --floor 1e-6", "--floor 1e-6")
        raise InputError(message.replace("floor=", "--floor ")) from None
    except OSError as error:
        raise InputError(f"{error.filename or ''}: {error.strerror or error}".lstrip(": ")) from None


class _progress:
    """A rich progress bar on stderr for large inputs; a callback ``(phase, done, total)``."""

    def __init__(self, size: int, action: str):
        self.enabled = size >= PROGRESS_FROM
        self.action, self.tasks = action, {}
        self.bar = Progress(
            TextColumn("{task.description:<10}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
            TimeRemainingColumn(), console=Console(stderr=True), transient=True,
        ) if self.enabled else None

    def __enter__(self):
        if self.bar is None:
            return None
        self.bar.start()
        return self.update

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False

    def update(self, phase: str, done: int, total: int) -> None:
        if phase not in self.tasks:
            self.tasks[phase] = self.bar.add_task(phase, total=total)
        self.bar.update(self.tasks[phase], completed=done)


def _console() -> Console:
    piped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(highlight=False, width=120 if piped else None)
