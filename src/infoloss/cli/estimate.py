"""``infoloss estimate``: entropy, mutual information and KL estimated from columns of a data file.

    infoloss estimate survey.csv --column answer --method nsb --alphabet-size 12 --ci 0.95
    infoloss estimate events.parquet --column region --column outcome --bits --json
    infoloss estimate points.npy --column 0 --column 1 --k 3

One column: its entropy. Two columns (paired rows): H(X), H(Y), H(X,Y), I(X;Y), H(X|Y),
H(Y|X), KL(X||Y) and KL(Y||X) (the two columns as samples of distributions over one alphabet).
With ``--k`` the columns are continuous numbers and the k-NN estimators run instead.
Files: CSV and TSV (a header row names the columns), Parquet (with pyarrow) and NPY (columns
are indices of a 2-D array; a 1-D array is one column). A progress bar shows on stderr while
a file over 64 MiB is read. Bad input (no such column, an empty column, missing labels) is one
line ``Error: ...`` and exit status 2.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import click
import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .._validate import InfolossError
from .inputs import InputError, check_file, max_size_option

if TYPE_CHECKING:
    from ..estimate import Estimate

# The chosen columns (NumPy arrays of the values as read) and their names.
_Columns = tuple[list[np.ndarray], list[str]]

__all__ = ["estimate"]

FILE_TYPES = (".csv", ".tsv", ".parquet", ".npy")
_PROGRESS_BYTES = 64 << 20
_METHODS = (
    "plugin",
    "miller-madow",
    "jeffreys",
    "laplace",
    "sg",
    "minimax",
    "shrink",
    "chao-shen",
    "grassberger",
    "zhang",
    "nsb",
    "auto",
)


@click.command("estimate")
@click.argument("file", metavar="FILE")
@click.option(
    "--column",
    "columns",
    multiple=True,
    metavar="NAME",
    help="A column to use (give it twice for two); NPY: an index. Default: the only column.",
)
@click.option(
    "--method",
    type=click.Choice(_METHODS),
    default="plugin",
    show_default=True,
    help="The estimator (see infoloss.estimate); auto: nsb when --alphabet-size is given, else chao-shen.",
)
@click.option(
    "--alphabet-size",
    type=int,
    default=None,
    metavar="K",
    help="The number of possible symbols of each column [default: the number seen].",
)
@click.option("--bits", is_flag=True, help="Bits instead of nats.")
@click.option(
    "--ci",
    type=float,
    default=None,
    metavar="LEVEL",
    help="A confidence interval for each discrete estimate (entropies, MI, conditional, KL), e.g. 0.95.",
)
@click.option(
    "--ci-method",
    type=click.Choice(("bootstrap", "bc", "jackknife")),
    default="bootstrap",
    show_default=True,
    help="How --ci is computed.",
)
@click.option("--n-boot", type=int, default=1000, show_default=True, help="Bootstrap resamples for --ci.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")
@click.option(
    "--k",
    "neighbours",
    type=int,
    default=None,
    metavar="K",
    help="Continuous columns: k-NN estimators (Kozachenko-Leonenko, KSG, Wang-Kulkarni-Verdu) with k "
    "neighbours.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (full precision) instead of a table.")
@max_size_option
def estimate(
    file: str,
    columns: tuple[str, ...],
    method: str,
    alphabet_size: int | None,
    bits: bool,
    ci: float | None,
    ci_method: str,
    n_boot: int,
    seed: int,
    neighbours: int | None,
    as_json: bool,
) -> None:
    """Estimate entropy (one column) or MI, conditional entropy and KL (two columns) of FILE."""
    from .. import estimate as est

    if len(columns) > 2:
        raise InputError(f"give one or two --column options, not {len(columns)}")
    data, names = _read(Path(file), list(columns))
    base = 2.0 if bits else None
    origin = Path(file).name
    try:
        rows = _estimates(
            est,
            data,
            names,
            method=method,
            alphabet_size=alphabet_size,
            base=base,
            ci=ci,
            ci_method=ci_method,
            n_boot=n_boot,
            seed=seed,
            k=neighbours,
        )
    except InfolossError as error:
        raise InputError(_translate(error, origin, names)) from None
    unit = "bits" if bits else "nats"
    if as_json:
        click.echo(
            json.dumps(
                {
                    "file": str(file),
                    "columns": names,
                    "unit": unit,
                    "results": [_json_row(label, r) for label, r in rows],
                },
                indent=2,
                allow_nan=False,
            )
        )
        return
    _print(rows, origin, names, unit)


def _estimates(
    est: ModuleType,
    data: list[np.ndarray],
    names: list[str],
    *,
    method: str,
    alphabet_size: int | None,
    base: float | None,
    ci: float | None,
    ci_method: str,
    n_boot: int,
    seed: int,
    k: int | None,
) -> list[tuple[str, Estimate]]:
    """(label, Estimate) for every quantity this many columns give."""
    options: dict[str, Any] = dict(base=base)
    entropy_options = dict(options, ci=ci, ci_method=ci_method, n_boot=n_boot, random_state=seed)
    if k is not None:
        rows = [(f"h({names[0]})", est.differential_entropy(data[0], k=k, base=base))]
        if len(data) == 2:
            rows.append((f"h({names[1]})", est.differential_entropy(data[1], k=k, base=base)))
            rows.append(
                (f"I({names[0]};{names[1]})", est.mutual_information(data[0], data[1], k=k, base=base))
            )
            rows.append(
                (f"KL({names[0]}||{names[1]})", est.kl_divergence(data[0], data[1], k=max(k, 1), base=base))
            )
        return rows
    if len(data) == 1:
        return [
            (f"H({names[0]})", est.entropy(data[0], method, alphabet_size=alphabet_size, **entropy_options))
        ]
    x, y = data
    x_name, y_name = names
    pair = (alphabet_size, alphabet_size) if alphabet_size is not None else None
    pair_method = (
        "chao-shen" if method == "auto" and pair is None else ("nsb" if method == "auto" else method)
    )
    kl_method = pair_method if pair_method in est.DISTRIBUTION_METHODS else "plugin"
    pair_options = dict(entropy_options, alphabet_size=pair)
    kl_options = dict(entropy_options, alphabet_size=alphabet_size)
    return [
        (f"H({x_name})", est.entropy(x, method, alphabet_size=alphabet_size, **entropy_options)),
        (
            f"H({y_name})",
            _second_column(est.entropy, y, method, alphabet_size=alphabet_size, **entropy_options),
        ),
        (f"H({x_name},{y_name})", est.joint_entropy(x, y, pair_method, **pair_options)),
        (f"I({x_name};{y_name})", est.mutual_information(x, y, pair_method, **pair_options)),
        (f"H({x_name}|{y_name})", est.conditional_entropy(x, y, pair_method, **pair_options)),
        (f"H({y_name}|{x_name})", est.conditional_entropy(y, x, pair_method, **pair_options)),
        (f"KL({x_name}||{y_name})", est.kl_divergence(x, y, kl_method, **kl_options)),
        (f"KL({y_name}||{x_name})", est.kl_divergence(y, x, kl_method, **kl_options)),
    ]


def _second_column(function: Callable[..., Estimate], y: np.ndarray, *args: Any, **options: Any) -> Estimate:
    """``function(y, ...)``, a one-sample estimate of the second column: its errors name it (the
    library calls its one sample x, which :func:`_translate` would take for the first column)."""
    try:
        return function(y, *args, **options)
    except InfolossError as error:
        if error.argument == "x":
            error.argument = "y"
        raise


# --------------------------------------------------------------------------------------------
# Reading columns
# --------------------------------------------------------------------------------------------


def _read(path: Path, columns: list[str]) -> _Columns:
    """The chosen columns as NumPy arrays (labels as read), and their names."""
    suffix = path.suffix.lower()
    origin = path.name
    if suffix not in FILE_TYPES:
        raise InputError(
            f"{origin}: unknown file type {suffix or '(no extension)'!r}; use one of {', '.join(FILE_TYPES)}"
        )
    size = check_file(path, origin)  # a regular file within --max-size (never a device or FIFO)
    try:
        if suffix == ".npy":
            return _read_npy(path, origin, columns)
        if suffix == ".parquet":
            return _read_parquet(path, origin, columns, size)
        return _read_text(path, origin, columns, size, "\t" if suffix == ".tsv" else ",")
    except OSError as error:
        raise InputError(f"{origin}: cannot read it ({error.strerror or error})") from None


def _choose(origin: str, available: list[str], columns: list[str]) -> list[str]:
    if not columns:
        if len(available) != 1:
            raise InputError(
                f"{origin} has {len(available)} columns ({_listed(available)}); "
                "choose one or two with --column"
            )
        return available
    for name in columns:
        if name not in available:
            raise InputError(f"{origin}: no column {name!r}; its columns are {_listed(available)}")
    return columns


def _checked(origin: str, name: str, values: np.ndarray) -> np.ndarray:
    if len(values) == 0:
        raise InputError(f"{origin}: column {name!r} is empty; an estimate needs at least one value")
    return values


def _read_text(path: Path, origin: str, columns: list[str], size: int, delimiter: str) -> _Columns:
    import pandas as pd

    try:
        header = pd.read_csv(path, sep=delimiter, nrows=0).columns.tolist()
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
        kind = "TSV" if delimiter == chr(9) else "CSV"
        raise InputError(f"{origin}: not a readable {kind} file ({_first_line(error)})") from None
    names = _choose(origin, [str(h) for h in header], columns)
    read = dict(sep=delimiter, usecols=list(dict.fromkeys(names)))
    try:
        if size > _PROGRESS_BYTES:
            frame = _read_text_with_progress(pd, path, size, read)
        else:
            frame = pd.read_csv(path, **read)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        raise InputError(f"{origin}: not a readable file ({_first_line(error)})") from None
    return [_checked(origin, n, frame[n].to_numpy()) for n in names], names


def _read_text_with_progress(pd: ModuleType, path: Path, size: int, read: dict[str, Any]) -> Any:
    from rich.progress import Progress

    with open(path, "rb") as raw, Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(f"reading {path.name}", total=size)
        parts: list[Any] = []  # pandas DataFrames
        for chunk in pd.read_csv(raw, chunksize=1 << 20, **read):
            parts.append(chunk)
            progress.update(task, completed=raw.tell())
    return pd.concat(parts, ignore_index=True)


def _read_parquet(path: Path, origin: str, columns: list[str], size: int) -> _Columns:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{origin}: reading Parquet needs pyarrow (pip install pyarrow)") from None
    try:
        handle = pq.ParquetFile(path)
    except Exception as error:  # noqa: BLE001 - pyarrow raises its own ArrowInvalid for a file that is not Parquet
        raise InputError(f"{origin}: not a readable Parquet file ({_first_line(error)})") from None
    names = _choose(origin, handle.schema_arrow.names, columns)
    wanted = list(dict.fromkeys(names))
    if size > _PROGRESS_BYTES:
        from rich.progress import Progress

        batches: list[Any] = []  # pyarrow Tables
        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task(f"reading {path.name}", total=handle.num_row_groups)
            for group in range(handle.num_row_groups):
                batches.append(handle.read_row_group(group, columns=wanted))
                progress.advance(task)
        import pyarrow as pa

        table = pa.concat_tables(batches)
    else:
        table = handle.read(columns=wanted)
    return [_checked(origin, n, table.column(n).to_pandas().to_numpy()) for n in names], names


def _read_npy(path: Path, origin: str, columns: list[str]) -> _Columns:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, EOFError) as error:
        raise InputError(f"{origin}: not a readable .npy array ({_first_line(error)})") from None
    if array.ndim == 1:
        available = ["0"]
    elif array.ndim == 2:
        available = [str(i) for i in range(array.shape[1])]
    else:
        raise InputError(
            f"{origin}: has shape {array.shape}; expected 1 dimension (one column) or 2 (columns)"
        )
    names = _choose(origin, available, columns)
    data = [np.asarray(array if array.ndim == 1 else array[:, int(n)]) for n in names]
    return [_checked(origin, n, d) for n, d in zip(names, data)], names


# --------------------------------------------------------------------------------------------
# Errors and output
# --------------------------------------------------------------------------------------------

_OPTIONS = {
    "alphabet_size": "--alphabet-size",
    "ci": "--ci",
    "n_boot": "--n-boot",
    "k": "--k",
    "ci_method": "--ci-method",
    "base": "--bits",
}


def _translate(error: InfolossError, origin: str, names: list[str]) -> str:
    """A library error in the command's terms: the file, the column and the row (1-based)."""
    reason = error.reason
    for argument, option in _OPTIONS.items():
        reason = reason.replace(f"{argument}=", f"{option} ")
    reason = reason.replace("method='nsb'", "--method nsb")
    if error.argument in ("x", "y") and len(names) >= 1:
        column = names[0] if error.argument == "x" or len(names) == 1 else names[1]
        where = f"{origin}, column {column!r}"
        if isinstance(error.index, int):
            where += f", row {error.index + 1}"
        elif isinstance(error.index, tuple) and error.index and isinstance(error.index[0], int):
            where += f", row {error.index[0] + 1}"
        return f"{where}: {reason}"
    named = _OPTIONS.get(error.argument or "", error.argument)  # the option, else the library's argument
    text = f"{named} {reason}" if named else reason
    return f"{origin}: {text}"


def _json_row(label: str, result: Estimate) -> dict[str, Any]:
    row: dict[str, Any] = {"quantity": label, "method": result.method, "value": _json_float(result.value)}
    for field in ("n", "observed", "alphabet_size"):
        value = getattr(result, field)
        if value is not None:
            row[field] = np.asarray(value).tolist()
    if result.std is not None:
        row["std"] = _json_float(result.std)
    if result.ci is not None:
        row["ci"] = [_json_float(result.ci[0]), _json_float(result.ci[1])]
        row["level"] = result.level
    if result.note:
        row["note"] = result.note
    if "lambda" in result.details:
        row["lambda"] = _json_float(result.details["lambda"])
    return row


def _json_float(value: Any) -> float | str:
    value = float(value)
    return value if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")


def _print(rows: list[tuple[str, Estimate]], origin: str, names: list[str], unit: str) -> None:
    piped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    console = Console(highlight=False, width=120 if piped else None)
    console.print(
        Text.assemble(("infoloss estimate", "bold"), f" {origin}, column(s) {', '.join(names)}, in {unit}")
    )
    table = Table()
    justify: Literal["left", "right"]
    for heading, justify in (
        ("quantity", "left"),
        ("estimate", "right"),
        ("std", "right"),
        ("CI", "right"),
        ("method", "left"),
        ("n", "right"),
    ):
        table.add_column(heading, justify=justify)
    for label, result in rows:
        ci = f"[{result.ci[0]:.6f}, {result.ci[1]:.6f}] ({result.level:.0%})" if result.ci is not None else ""
        std = f"{result.std:.6f}" if result.std is not None else ""
        method = result.method + (f" ({result.note})" if result.note else "")
        n = " / ".join(map(str, result.n)) if isinstance(result.n, tuple) else str(result.n)
        value = f"{result.value:.6f}" if math.isfinite(result.value) else "inf"
        table.add_row(Text(label), value, std, ci, method, n)
    console.print(table)


def _listed(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:12])
    return shown + (f", ... ({len(names)} in all)" if len(names) > 12 else "")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
