"""``infoloss code``: Huffman tables, and a compressor that shows H and H(p, q) as bit counts.

    infoloss code --p 1/2,1/4,1/8,1/8                 the Huffman code, L, H(p), efficiency
    infoloss code --p a=.5,b=.3,c=.2 --q a=.2,b=.3,c=.5   q's code used under p: L vs H(p, q)
    infoloss code compress FILE [-o OUT] [--model OTHER [--floor P]] [--force]
    infoloss code decompress OUT [-o FILE] [--force]

Distributions are read like ``infoloss measure`` reads them (:mod:`infoloss.cli.inputs`);
unlabelled symbols are numbered from 0, as :func:`infoloss.coding.huffman_code` numbers them.
Every problem is one line ``Error: ...`` on stderr and exit status 2; SIGTERM, SIGHUP and
SIGINT remove the partial output (``OUT.part``) and exit with 128 + the signal's number.
"""

from __future__ import annotations

import math
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

# rich, the readers of distributions (.inputs) and the measures are imported where they are
# used: `compress` and `decompress` need none of them (their reports are plain text), and only
# a file of 8 MiB or more, on a terminal, draws a progress bar.
if TYPE_CHECKING:
    from types import FrameType

    from rich.progress import Progress, TaskID
    from rich.table import Table
    from rich.text import Text

    from ..coding.files import CompressionStats
    from .inputs import Distributions

from .. import coding
from .._validate import InfolossError
from ._plots import code_plot_option
from ._sizes import max_size, max_size_option
from .main import CommandError as InputError, console as _console, printable

__all__ = ["code"]

SUFFIX = ".ilc"
PROGRESS_FROM = 8 << 20  # show a progress bar for inputs of 8 MiB and more
MAX_ROWS = 100  # rows of the Huffman table shown by default (rich renders about 0.4 ms a row)

_workers_option = click.option(
    "-j",
    "--workers",
    type=click.IntRange(1),
    metavar="N",
    help=(
        "Processes coding blocks at the same time, this one included [default: one per CPU for "
        "files of 2 MiB and more, else 1]."
    ),
)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--p",
    "p_inline",
    metavar="VALUES",
    help="The distribution to code, inline as for `infoloss measure` (0.5,0.25,0.25 or a=.5,b=.25,c=.25 "
    "or 1/2,1/4,1/4).",
)
@click.option("--p-file", metavar="FILE", help="Read p from a file (.csv, .tsv, .npy, .json), one row.")
@click.option(
    "--q",
    "q_inline",
    metavar="VALUES",
    help="Build the code for q instead, and measure it under p (the cross-entropy view).",
)
@click.option("--q-file", metavar="FILE", help="Read q from a file, like --p-file.")
@click.option("--counts", is_flag=True, help="The numbers are counts or weights: divide by their sum.")
@click.option(
    "--digits", type=click.IntRange(0, 17), default=4, show_default=True, help="Decimals in the table."
)
@click.option(
    "--max-rows",
    type=click.IntRange(0),
    default=MAX_ROWS,
    show_default=True,
    help="Show at most this many symbols in the table (0: all); the summary always covers every symbol.",
)
@max_size_option
@code_plot_option
@click.pass_context
def code(
    ctx: click.Context,
    p_inline: str | None,
    q_inline: str | None,
    p_file: str | None,
    q_file: str | None,
    counts: bool,
    digits: int,
    max_rows: int,
    plot_path: str | None,
) -> None:
    """Code lengths in bits: the Huffman code of a distribution, or compress/decompress a file.

    With --p: the optimal prefix (Huffman) code of p, one row per symbol, with its expected
    length L, the entropy H(p) and the efficiency H(p)/L; H(p) <= L < H(p) + 1, with L = H(p)
    when every probability is a power of 1/2. With --q too, the code is built for q and
    used under p: L - H(p) = KL(p||q) + (L - H(p,q)), the mismatch plus the rounding of q's
    code lengths to whole bits (0 when every q_i is a power of 1/2). Unlabelled symbols are
    numbered from 0, as in infoloss.coding.huffman_code.

    \b
    Examples:
      infoloss code --p 1/2,1/4,1/8,1/8
      infoloss code --p a=.5,b=.25,c=.125,d=.125 --q a=.25,b=.25,c=.25,d=.25
      infoloss code compress notes.txt -o notes.ilc
      infoloss code compress notes.txt -o notes-q.ilc --model other.txt --floor 1e-6
      infoloss code decompress notes.ilc -o notes.txt
    """
    given = [p_inline, p_file, q_inline, q_file, plot_path]
    if ctx.invoked_subcommand is not None:
        if any(value is not None for value in given):
            raise InputError(
                f"--p/--q/--plot go without a subcommand: `infoloss code --p ...`, not with `{ctx.invoked_subcommand}`"
            )
        return
    from .inputs import read

    p = read("p", p_inline, p_file)
    q = read("q", q_inline, q_file)
    if p is None:
        if q is not None:
            raise InputError("--q needs --p: the code is built for q and measured under p")
        click.echo(ctx.get_help())
        return
    _huffman_table(p, q, counts, digits, max_rows)
    if plot_path:
        from ._plots import save_code_plot

        save_code_plot(plot_path, p, q, normalize=counts)


@code.command()
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("-o", "--output", metavar="OUT", help=f"The compressed file [default: SOURCE{SUFFIX}].")
@click.option(
    "--model",
    metavar="OTHER",
    type=click.Path(dir_okay=False),
    help="Code with OTHER's byte frequencies instead of SOURCE's own: the output grows by KL(p||q) bits "
    "per byte.",
)
@click.option(
    "--floor",
    type=float,
    metavar="P",
    help="Give every byte value at least probability P under the model, so bytes the model never saw can "
    "be coded.",
)
@click.option("-f", "--force", is_flag=True, help="Overwrite OUT if it exists.")
@click.option(
    "--format-version",
    type=click.Choice(["1", "2"]),
    default="2",
    show_default=True,
    help="2: blocks of 1 MiB, decoded on every core; 1: one coder, readable by infoloss before version 2.",
)
@_workers_option
@max_size_option
def compress(
    source: str,
    output: str | None,
    model: str | None,
    floor: float | None,
    force: bool,
    format_version: str,
    workers: int | None,
) -> None:
    """Compress SOURCE's bytes with a range coder under an order-0 byte model.

    The model is SOURCE's own byte frequencies (the payload approaches n H(p) bits), or with
    --model those of another file (it approaches n H(p,q) = n (H(p) + KL(p||q))). Prints the
    sizes, the bits per byte and the predicted entropy, cross-entropy and their gap. SOURCE
    and OTHER must be regular files of at most --max-size bytes.
    """
    output = output or source + SUFFIX
    limit = max_size()
    with _signals_interrupt() as stop:
        weights = _run(coding.byte_counts, model, max_size=limit) if model else None
        with _progress(_size_of(source), "compress", stop) as progress:
            stats = _run(
                coding.compress_file,
                source,
                output,
                model=weights,
                floor=floor,
                force=force,
                progress=progress,
                max_size=limit,
                format_version=int(format_version),
                workers=workers,
            )
    for line in _compression_report(source, output, model, stats):
        click.echo(line)  # styles only on a terminal


@code.command()
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("-o", "--output", metavar="FILE", help=f"The restored file [default: SOURCE without {SUFFIX}].")
@click.option("-f", "--force", is_flag=True, help="Overwrite FILE if it exists.")
@_workers_option
@max_size_option
def decompress(source: str, output: str | None, force: bool, workers: int | None) -> None:
    """Restore a file written by `infoloss code compress`, checking its checksums.

    A truncated, corrupted, forged or foreign file is refused and nothing is written; so is
    one that announces more than --max-size bytes or more than the free space where FILE goes.
    """
    if output is None:
        if not source.endswith(SUFFIX):
            raise InputError(f"{source} does not end in {SUFFIX}; name the restored file with -o FILE")
        output = source[: -len(SUFFIX)]
    limit = max_size()
    with _signals_interrupt() as stop, _progress(_size_of(source), "decompress", stop) as progress:
        stats = _run(
            coding.decompress_file,
            source,
            output,
            force=force,
            progress=progress,
            max_output=limit,
            max_size=limit,
            workers=workers,
        )
    # click, not rich: a one-line report need not wait for rich's import (about 26 ms)
    click.echo(
        click.style("restored ", bold=True)
        + f"{printable(output)}: {stats.original_bytes:,} bytes from {stats.compressed_bytes:,} "
        f"(SHA-256 verified) in {stats.seconds:.2f} s{_speed(stats.original_bytes, stats.seconds)}"
    )


# --------------------------------------------------------------------------------------------
# Huffman table
# --------------------------------------------------------------------------------------------


def _huffman_table(
    p: Distributions, q: Distributions | None, counts: bool, digits: int, max_rows: int
) -> None:
    from rich.table import Table
    from rich.text import Text

    from ..measures import cross_entropy, entropy
    from .inputs import align, library_call

    if q is not None:
        p, q = align(p, q)
    for source in (p, q):
        if source is not None and len(source.values) != 1:
            raise InputError(
                f"{source.origin} has {len(source.values)} rows; `infoloss code` codes one distribution"
            )
    # The measures validate (and name bad entries by option, item and label) before the code is built.
    h_p = float(library_call(entropy, p, base=2, normalize=counts)[0])
    h_pq = float(library_call(cross_entropy, p, q, base=2, normalize=counts)[0]) if q is not None else None
    builder = q if q is not None else p
    size = builder.values.shape[1]
    # Arrays, not label mappings, go to the library: lengths by position 0..n-1, and codewords
    # spelt only for the rows shown (a million-symbol code is never written out in full).
    lengths = coding.huffman_lengths(builder.values[0], normalize=counts)
    p_row = p.values[0] / p.values[0].sum() if counts else p.values[0]
    q_row = (q.values[0] / q.values[0].sum() if counts else q.values[0]) if q is not None else None
    length = coding.expected_length(lengths, p_row)
    kraft = coding.kraft_sum(lengths)
    shown = size if max_rows == 0 else min(max_rows, size)
    table = coding.canonical_code(lengths, symbols=range(shown))

    rows = Table()
    rows.add_column("symbol")
    rows.add_column("p", justify="right")
    if q is not None:
        rows.add_column("q", justify="right")
    rows.add_column("codeword")
    rows.add_column("length", justify="right")
    for i in range(shown):
        word = table.get(i)
        label = builder.labels[i] if builder.labels is not None else str(i)
        cells: list[Text | str] = [Text(printable(label)), f"{p_row[i]:.{digits}f}"]
        if q_row is not None:  # with q
            cells.append(f"{q_row[i]:.{digits}f}")
        cells += [word or "(none: probability 0)", str(len(word)) if word else "-"]
        rows.add_row(*cells, style=None if word else "dim")
    console = _console()
    console.print(_title(q is not None), soft_wrap=True)
    console.print(rows)
    if shown < size:
        console.print(f"... {size - shown:,} more symbols not shown (--max-rows 0 shows every one)")
    console.print(_summary(length, h_p, h_pq, kraft, digits))


def _title(cross: bool) -> Text:
    from rich.text import Text

    if cross:
        return Text.assemble(("Huffman code built for q", "bold"), ", used for messages from p (bits)")
    return Text.assemble(("Huffman code of p", "bold"), " (bits)")


def _summary(length: float, h_p: float, h_pq: float | None, kraft: float, digits: int) -> Table:
    """L, H(p) and their gap; with q the gap splits into KL(p||q) and q's whole-bit rounding."""
    from rich.table import Table

    summary = Table.grid(padding=(0, 2))
    summary.add_column()
    summary.add_column(justify="right")
    summary.add_column(style="dim")
    summary.add_row("expected length L", _bits(length, digits), "sum p_i * length_i")
    summary.add_row("entropy H(p)", _bits(h_p, digits), "the shortest possible average length")
    efficiency = h_p / length if math.isfinite(length) and length > 0 else 0.0
    if h_pq is None:
        summary.add_row(
            "efficiency H(p)/L", f"{100 * efficiency:.2f} %", "100 % iff every p_i is a power of 1/2"
        )
        summary.add_row(
            "redundancy L - H(p)", _bits(length - h_p, digits), "0 <= L - H(p) < 1 for p's own code"
        )
    else:
        summary.add_row(
            "cross-entropy H(p,q)", _bits(h_pq, digits), "what a code with lengths -log2 q_i costs under p"
        )
        summary.add_row(
            "KL(p||q) = H(p,q) - H(p)", _bits(h_pq - h_p, digits), "the cost of coding for q instead of p"
        )
        summary.add_row(
            "rounding L - H(p,q)",
            _bits(length - h_pq, digits),
            "q's code lengths in whole bits; 0 when every q_i is a power of 1/2",
        )
        summary.add_row(
            "efficiency H(p)/L",
            f"{100 * efficiency:.2f} %",
            "below 100 % by the two gaps: L - H(p) = KL + rounding",
        )
        summary.add_row("redundancy L - H(p)", _bits(length - h_p, digits), "KL(p||q) + (L - H(p,q))")
    summary.add_row("Kraft sum", f"{kraft:g}", "sum 2^-length_i: 1 for a complete prefix code")
    return summary


def _bits(value: float, digits: int) -> str:
    if math.isnan(value):  # inf - inf: a gap between two infinite lengths
        return "undefined"
    return f"{value + 0.0:.{digits}f} bits" if math.isfinite(value) else ("inf" if value > 0 else "-inf")


# --------------------------------------------------------------------------------------------
# Compression report
# --------------------------------------------------------------------------------------------


def _compression_report(source: str, output: str, model: str | None, stats: CompressionStats) -> list[str]:
    """The report's lines: a heading, then label, value and note in aligned columns.

    Plain text, not a rich table: rich's import alone costs about 26 ms, 6 % of compressing
    20 MB from the command line, and a report in columns is also what scripts parse.
    """
    origin = f"{model}'s byte frequencies" if model else f"{source}'s own byte frequencies"
    heading = click.style("compressed ", bold=True) + printable(
        f"{source} -> {output}, order-0 model: {origin}"
    )
    n = stats.original_bytes
    ratio = f"{100 * stats.compressed_bytes / n:.2f} % of the original; " if n else ""
    rows = [
        ("size before", f"{n:,} bytes", ""),
        (
            "size after",
            f"{stats.compressed_bytes:,} bytes",
            f"{ratio}header {stats.header_bytes:,} + payload {stats.payload_bytes:,}",
        ),
    ]
    if not n:
        rows.append(("bits per byte", "n/a", "the file is empty: no distribution to measure"))
        rows.append(("time", f"{stats.seconds:.2f} s", ""))
        return [heading, *_columns(rows)]
    payload_rate, entropy_rate, overhead = stats.payload_bits_per_byte, stats.entropy, stats.overhead
    assert payload_rate is not None and entropy_rate is not None and overhead is not None, (
        "None only for empty input"
    )
    share = f", {100 * overhead / stats.cross_entropy:+.4f} %" if stats.cross_entropy else ""
    rows += [
        ("bits per byte", f"{stats.bits_per_byte:.4f}", f"payload alone {payload_rate:.4f}"),
        ("entropy H(p)", f"{entropy_rate:.4f}", "predicted bound: p = the file's byte distribution"),
        (
            "cross-entropy H(p,q)",
            f"{stats.cross_entropy:.4f}",
            "predicted payload: q = the model as coded (24-bit)",
        ),
        ("gap KL(p||q)", f"{stats.kl_divergence:.4f}", "predicted: H(p,q) - H(p), what the model costs"),
        ("observed gap", f"{payload_rate - entropy_rate:.4f}", "payload bits per byte - H(p)"),
        ("coder overhead", f"{overhead:+.6f}", f"payload - H(p,q){share}"),
        ("time", f"{stats.seconds:.2f} s", _speed(n, stats.seconds).strip(" ,")),
    ]
    return [heading, *_columns(rows)]


def _columns(rows: list[tuple[str, str, str]]) -> list[str]:
    """Label (left), value (right-aligned) and a dimmed note, two spaces between the columns."""
    label_width = max(len(label) for label, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    return [
        f"  {label:<{label_width}}  {value:>{value_width}}"
        + (f"  {click.style(note, dim=True)}" if note else "")
        for label, value, note in rows
    ]


def _speed(size: int, seconds: float) -> str:
    return f", {size / seconds / 1e6:.1f} MB/s" if seconds > 0 and size >= 1 << 20 else ""


# --------------------------------------------------------------------------------------------
# Plumbing
# --------------------------------------------------------------------------------------------


# The library's hints name its keywords; here the options do the same.
_CLI_HINTS: dict[str | None, str] = {
    "pass force=True (--force) to overwrite it": "pass --force to overwrite it",
    "pass a floor probability (floor=1e-6, or --floor 1e-6) to give every byte value at least that much": (
        "pass --floor 1e-6 to give every byte value at least that probability"
    ),
    "raise the limit (max_output=, --max-size) if you trust the file": "raise --max-size if you trust the file",
    "raise the limit (max_size=, --max-size) to read it": "raise --max-size to read it",
}


def _run(function: Callable[..., Any], *args: Any, **keywords: Any) -> Any:
    """Call the library; its errors become one-line messages (exit status 2)."""
    try:
        return function(*args, **keywords)
    except InfolossError as error:
        if error.argument == "floor":
            raise InputError(f"--floor must be a probability in (0, 1), got {error.value!r}") from None
        raise InputError(str(error.with_hint(_CLI_HINTS.get(error.hint, error.hint)))) from None
    except OSError as error:
        raise InputError(f"{error.filename or ''}: {error.strerror or error}".lstrip(": ")) from None


class _Interrupted(click.ClickException):
    """A signal stopped the command: one line on stderr, exit status 128 + its number."""

    def __init__(self, signum: int) -> None:
        self.exit_code = 128 + signum  # type: ignore[misc]  # click's ClassVar; here each signal has its own
        super().__init__(f"interrupted by {signal.Signals(signum).name}; no partial output is left")


class _Signalled(BaseException):
    """Raised at a block boundary after a signal: a BaseException, so no ``except Exception``
    on the way (the library's handling of damaged data) can take it for a data error."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Stop:
    """What the signal handler records; :meth:`check` (called between blocks) acts on it.

    The handler itself only records the signal: raising from it could land inside native code
    (constriction calling back into Python), where an exception is a crash, not a clean stop.
    A second signal while the first waits for a block boundary ends the process at once.
    """

    def __init__(self) -> None:
        self.signum: int | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        self.signum = signum

    def check(self) -> None:
        if self.signum is not None:
            raise _Signalled(self.signum)


@contextmanager
def _signals_interrupt() -> Iterator[_Stop]:
    """While coding, SIGTERM, SIGHUP and SIGINT stop the command at the next block boundary
    (the library removes ``OUT.part`` on the way out); exit status 128 + the signal."""
    stop = _Stop()
    handled = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGINT") if hasattr(signal, name)]
    try:
        previous = {number: signal.signal(number, stop.handle) for number in handled}
    except ValueError:  # not the main thread (e.g. the command called from a worker): no handlers
        yield stop
        return
    try:
        yield stop
        stop.check()  # a signal after the last block: the output is complete, the exit status says why
    except _Signalled as stopped:
        raise _Interrupted(stopped.signum) from None
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _size_of(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0  # the library names the problem


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


class _progress:
    """The library's callback ``(phase, done, total)``: a rich progress bar on stderr for large
    inputs, and for every input the block boundary where a pending signal stops the command."""

    def __init__(self, size: int, action: str, stop: _Stop) -> None:
        # Off a terminal a transient bar shows nothing: then neither rich.progress nor its thread.
        self.enabled = size >= PROGRESS_FROM and _stderr_is_terminal()
        self.action, self.stop = action, stop
        self.tasks: dict[str, TaskID] = {}
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )
        self.bar: Progress | None = (
            Progress(
                TextColumn("{task.description:<10}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
                auto_refresh=False,  # redrawn at each block (update): no refresh thread, so workers may fork
            )
            if self.enabled
            else None
        )

    def __enter__(self) -> Callable[[str, int, int], None]:
        if self.bar is not None:
            self.bar.start()
        return self.update

    def __exit__(self, *exc: object) -> Literal[False]:
        if self.bar is not None:
            self.bar.stop()
        return False

    def update(self, phase: str, done: int, total: int) -> None:
        self.stop.check()
        if self.bar is None:
            return
        if phase not in self.tasks:
            self.tasks[phase] = self.bar.add_task(phase, total=total)
        self.bar.update(self.tasks[phase], completed=done, refresh=True)
