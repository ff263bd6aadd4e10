"""Distributions for the ``infoloss`` command: read from the command line or from files.

A command takes a distribution inline (``--p 0.14,0.37,0.03,0.46``, labelled
``--p rain=.14,snow=.37,...``, or fractions ``--p 1/2,1/4,1/8,1/8``) or from a file (CSV/TSV,
NPY or JSON; one distribution per row). :func:`read` gives a :class:`Distributions` (a
``(rows, k)`` float64 array, optional labels, and where every row and column came from), and
:func:`library_call` runs an infoloss function on it, formatting the library's structured
errors (``argument``, ``index``, ``value``, ``reason``, ``hint``) with the command's own names:
option, file, row, CSV line, column and label, and ``--counts`` where the library would
suggest ``normalize=True``. Every problem is one line and exit status 2, never a traceback.

Hostile input is bounded (see docs/reliability.md): only regular files are read
(a link to ``/dev/zero``, a FIFO or a device is refused before it is opened for reading), a
file larger than ``--max-size`` (default 4 GiB, :func:`max_size_option`, one setting for every
command) is refused before it is read, an ``.npy`` header is checked against the file's size
before anything is allocated, JSON duplicate keys, deep nesting and oversized integers are
refused, and label handling is linear in the number of labels.

Also used by ``infoloss code`` (``--p``/``--p-file`` read the same way).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .._validate import MEASURE_HINT, InfolossError, sum_tolerance
from ._sizes import (
    DEFAULT_MAX_SIZE,
    ByteSize as ByteSize,  # re-exported: --max-size lives in _sizes
    max_size,
    max_size_option,
)
from .main import CommandError, printable

__all__ = [
    "InputError",
    "Distributions",
    "read",
    "align",
    "library_call",
    "check_file",
    "max_size",
    "max_size_option",
    "DEFAULT_MAX_SIZE",
    "FILE_TYPES",
]

FILE_TYPES = (".csv", ".tsv", ".npy", ".json")
CLI_HINT = "pass --counts to rescale counts or weights"

InputError = CommandError  # the name the commands use for "bad input: one line, exit 2"
# Where a bad value is, built only when there is an error: called with no arguments (the lambdas
# passed bind their loop variables as defaults, which Callable[[], str] cannot express).
_Where = Callable[..., str]


def check_file(path: str | os.PathLike[str], origin: str | None = None) -> int:
    """The size of ``path`` if it is a regular file within ``--max-size``; else an InputError.

    Follows symbolic links: a link to ``/dev/zero``, a FIFO, a device or a directory is
    refused without being opened. For commands that hand the path to the library afterwards.
    """
    origin = origin or str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{origin}: no such file") from None
    except OSError as error:
        raise InputError(f"{origin}: cannot read it ({error.strerror or error})") from None
    _check_stat(origin, info)
    return info.st_size


def _check_stat(origin: str, info: os.stat_result) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{origin}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(info.st_mode)
            else "a socket"
            if stat.S_ISSOCK(info.st_mode)
            else "a device"
        )
        raise InputError(f"{origin}: is {kind}, not a regular file; save the data to a file first")
    if info.st_size > max_size():
        raise InputError(
            f"{origin}: is {_size(info.st_size)}, over the {_size(max_size())} limit; raise it with --max-size"
        )


# --------------------------------------------------------------------------------------------
# Distributions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Distributions:
    """Rows of numbers read from one option, and how to name any row and column of them.

    ``values`` is ``(rows, k)`` float64; ``labels`` the column labels (inline ``label=value``
    items, a CSV header, JSON objects) or None; ``origin`` the option and file, e.g.
    ``"--p-file weather.csv"``; ``lines`` the CSV line of each row (None for other sources).
    """

    values: np.ndarray
    labels: list[str] | None
    origin: str
    inline: bool
    lines: list[int] | None = None
    columns: list[int | None] | None = None  # aligned column -> column in the source (None: added 0)

    def where(self, row: int | None = None, column: int | None = None) -> str:
        """Name a (0-based) row and column the way the user sees them (1-based, with labels)."""
        parts = [self.origin]
        if row is not None and not (self.inline and len(self.values) == 1):
            line = f" (line {self.lines[row]})" if self.lines and self.lines[row] != row + 1 else ""
            parts.append(f"row {row + 1}{line}")
        if column is not None:
            source = column if self.columns is None else self.columns[column]
            label = f" ({self.labels[column]!r})" if self.labels is not None else ""
            if source is None:
                assert self.labels is not None, "only alignment by label adds columns"
                parts.append(f"label {self.labels[column]!r} (absent, taken as 0)")
            else:
                parts.append(("item" if self.inline else "column") + f" {source + 1}{label}")
        if self.inline:  # "--p item 3 ('sleet')"
            return " ".join(parts)
        return ", ".join(parts)  # "--p-file votes.csv, row 2 (line 3), column 3 ('sleet')"


def read(name: str, inline: str | None, path: str | None) -> Distributions | None:
    """The distribution(s) given by ``--NAME`` or ``--NAME-file``; None if neither was given."""
    if inline is not None and path is not None:
        raise InputError(f"give --{name} or --{name}-file, not both")
    if inline is not None:
        return _read_inline(name, inline)
    if path is None:
        return None
    source = _read_file(f"--{name}-file {path}", Path(path))
    if source.values.shape[1] == 0:
        raise InputError(f"{source.origin}: its rows are empty; a distribution needs at least one entry")
    return source


def align(p: Distributions, q: Distributions) -> tuple[Distributions, Distributions]:
    """Give ``p`` and ``q`` the same columns: by label when both have labels, else by position.

    A label one side lacks is probability 0 there (as for label mappings in the library). As
    in the library, labelled and unlabelled sides do not mix. Rows must match or one side must
    have a single row (it is compared with every row).
    """
    if (p.labels is None) != (q.labels is None):
        labelled, bare = (p, q) if p.labels is not None else (q, p)
        raise InputError(
            f"{labelled.origin} has labels but {bare.origin} has none; label both (rain=.5,snow=.5) to "
            "align them by label, or neither to align them by position"
        )
    if (
        p.labels is not None and q.labels is not None and p.labels != q.labels
    ):  # both labelled (checked above)
        labels = list(dict.fromkeys(p.labels + q.labels))
        p, q = _reorder(p, labels), _reorder(q, labels)
    elif p.values.shape[1] != q.values.shape[1]:
        raise InputError(
            f"shape mismatch: {p.origin} has {p.values.shape[1]} entries per row but {q.origin} has "
            f"{q.values.shape[1]}; give both the same entries (or label both, to align by label)"
        )
    rows_p, rows_q = len(p.values), len(q.values)
    if rows_p != rows_q and 1 not in (rows_p, rows_q):
        raise InputError(
            f"shape mismatch: {p.origin} has {rows_p} rows but {q.origin} has {rows_q}; give the same "
            "number of rows, or one row to compare with every row of the other"
        )
    return p, q


def library_call(function: Callable[..., Any], *sources: Distributions, **keywords: Any) -> Any:
    """``function(p.values[, q.values], axis=-1, **keywords)``; its errors in the command's terms.

    The library's :class:`~infoloss.InputError` names the argument (``p``, ``q``, ``base``)
    and the index (``(row, column)``, or ``(row, ':')`` for a whole row); they become the
    option, file, row, CSV line, column and label. ``normalize=True`` is ``--counts`` here.
    """
    try:
        return function(*(s.values for s in sources), axis=-1, **keywords)
    except InfolossError as error:
        raise InputError(_command_message(error, dict(zip("pq", sources)), keywords)) from None


def _command_message(
    error: InfolossError, sources: dict[str, Distributions], keywords: dict[str, Any]
) -> str:
    """The message of a library error, with the command's names for its argument and index."""
    source = sources.get(error.argument) if error.argument is not None else None
    if source is None:  # an option (--base) or the pair of inputs (no argument)
        where = f"--{error.argument}" if error.argument else ""
        text = f"{where} {error.reason}".strip()
        return f"{text}; {error.hint}" if error.hint else text
    row, column = error.index if isinstance(error.index, tuple) and len(error.index) == 2 else (None, None)
    hint = CLI_HINT if error.hint == MEASURE_HINT else error.hint
    if column == ":":  # a whole row: its sum
        where = source.where(row)
        if keywords.get("normalize") and error.value == 0:
            return f"{where} sums to 0; --counts cannot rescale a row of zeros"
        if (
            error.hint == MEASURE_HINT
        ):  # not 1: the library's reason says "along axis 1", which the command has not
            return (
                f"{where} sums to {error.value!r}, not 1 (tolerance {sum_tolerance(np.float64):.2g}); {hint}"
            )
    else:
        where = source.where(row, column) if row is not None else source.origin
    return f"{where} {error.reason}" + (f"; {hint}" if hint else "")


# --------------------------------------------------------------------------------------------
# Inline: "0.1,0.9", "rain=.14,snow=.86", "1/2,1/2"
# --------------------------------------------------------------------------------------------


def _read_inline(name: str, text: str) -> Distributions:
    origin = f"--{name}"
    items = [item.strip() for item in text.split(",")]
    if items == [""]:
        raise InputError(f"{origin} is empty; give numbers separated by commas, e.g. {origin} 0.5,0.5")
    labelled = ["=" in item for item in items]
    if any(labelled) and not all(labelled):
        first_bare = labelled.index(False)
        raise InputError(
            f"{origin} item {first_bare + 1} {items[first_bare]!r} has no label but others have one; "
            "label every item (rain=.14,snow=.86) or none"
        )
    labels = None
    if all(labelled):
        pairs = [item.rpartition("=")[::2] for item in items]
        labels = [label.strip() for label, _ in pairs]
        _check_labels(labels, origin, "item")
        items = [value.strip() for _, value in pairs]
    values = []
    for i, item in enumerate(items):
        values.append(
            _number(item, lambda i=i: f"{origin} item {i + 1}" + (f" ({labels[i]!r})" if labels else ""))
        )
    return Distributions(np.array([values], dtype=np.float64), labels, origin, inline=True)


def _number(text: str, where: _Where) -> float:
    """A float from ``text`` ("0.5", ".5", "1/2", "1e-3", "nan"), or an InputError at ``where()``."""
    try:
        return _parse_number(text)
    except _NotANumber as problem:
        raise InputError(f"{where()}{problem}") from None


class _NotANumber(Exception):
    """Why a text is not a number, as a phrase that follows its location."""


def _parse_number(text: str) -> float:
    if not text:
        raise _NotANumber(" is empty; expected a number")
    if "/" not in text:
        try:
            return float(text)
        except ValueError:
            raise _NotANumber(f": {_shown(text)} is not a number") from None
    # A fraction of integers; Python refuses integers of more digits than its conversion limit.
    digits = sum(map(len, re.findall(r"\d+", text)))
    if digits > sys.get_int_max_str_digits():
        raise _NotANumber(
            f" has {digits} digits, more than a number here may have ({sys.get_int_max_str_digits()})"
        )
    try:
        return float(Fraction(text))
    except ZeroDivisionError:
        raise _NotANumber(f": {_shown(text)} divides by zero") from None
    except OverflowError:
        raise _NotANumber(f": {_shown(text)} is too large for a floating-point number") from None
    except ValueError:
        raise _NotANumber(f": {_shown(text)} is not a number") from None


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def _read_file(origin: str, path: Path) -> Distributions:
    suffix = path.suffix.lower()
    origin = printable(origin)
    if suffix not in FILE_TYPES:
        raise InputError(
            f"{origin}: unknown file type {suffix or '(no extension)'!r}; use one of {', '.join(FILE_TYPES)}"
        )
    check_file(path, origin)
    try:
        # O_NONBLOCK: should the path have become a FIFO since the check, opening does not wait.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise InputError(f"{origin}: cannot read it ({error.strerror or error})") from None
    with open(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        _check_stat(origin, info)  # the file opened is the file checked
        try:
            if suffix == ".npy":
                return _read_npy(origin, handle, info.st_size)
            data = handle.read(info.st_size + 1)  # (not max_size() + 1: read() allocates what it is asked)
        except OSError as error:
            raise InputError(f"{origin}: cannot read it ({error.strerror or error})") from None
    if len(data) > info.st_size:
        raise InputError(f"{origin}: grew while it was read; read it once it is complete")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{origin}: not a UTF-8 text file (byte {error.start + 1} is not UTF-8)") from None
    if suffix == ".json":
        return _read_json(origin, text)
    return _read_csv(origin, text, delimiter="\t" if suffix == ".tsv" else ",")


def _read_csv(origin: str, text: str, delimiter: str) -> Distributions:
    """Rows of numbers; an optional header row of labels (a first row with no numbers in it).

    Blank lines and lines starting with ``#`` are skipped; every row needs the same length.
    The plain file (no quotes, comments or blank lines, finite numbers) is read by
    :func:`_read_plain_csv`; anything else, and every file with a problem, by the ``csv``
    module here, cell by cell, so that the message names the line and column.
    """
    plain = _read_plain_csv(origin, text, delimiter)
    return plain if plain is not None else _read_csv_cells(origin, text, delimiter)


def _read_csv_cells(origin: str, text: str, delimiter: str) -> Distributions:
    """:func:`_read_csv` through the ``csv`` module, cell by cell: any CSV, and the messages."""
    rows: list[list[str]] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            cells = list(map(str.strip, cells))
            if not any(cells) or cells[0].startswith("#"):
                continue
            rows.append(cells)
            lines.append(line)
    except csv.Error as error:
        raise InputError(f"{origin}, line {start}: not readable as CSV ({error})") from None
    labels = None
    if rows and not _has_number(rows[0]):
        labels, header_line = rows.pop(0), lines.pop(0)
        _check_labels(labels, f"{origin} header (line {header_line})", "column")
    if not rows:
        raise InputError(f"{origin} has no rows of numbers")
    width = len(labels) if labels is not None else len(rows[0])
    source = Distributions(np.empty((len(rows), width)), labels, origin, inline=False, lines=lines)
    for r, cells in enumerate(rows):
        if len(cells) != width:
            first = "the header" if labels is not None else "the first row"
            raise InputError(f"{source.where(r)} has {len(cells)} columns, expected {width} like {first}")
        try:
            source.values[r] = list(map(float, cells))  # the common case, fast
        except ValueError:  # fractions, empty cells, words: one by one, to name the bad one
            for c, cell in enumerate(cells):
                source.values[r, c] = _number(cell, lambda r=r, c=c: source.where(r, c))
    return source


def _read_plain_csv(origin: str, text: str, delimiter: str) -> Distributions | None:
    """The common CSV read fast: the header by ``str.split``, the numbers by NumPy's C reader.

    Only for text without quotes, carriage returns, ``#`` or blank lines, whose header is
    within the csv module's field limit and whose numbers NumPy reads as finite floats in
    rows as wide as the header: then the csv module would give the same cells. None for any
    other text, which :func:`_read_csv` reads (and names the problem in). A row of 10^6
    labelled counts takes about 0.2 s here against about 0.6 s through the csv module.
    """
    if '"' in text or "\r" in text or "#" in text:
        return None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if not lines or any(not line.strip() for line in lines):
        return None
    first = lines[0].split(delimiter)
    if max(map(len, first)) > csv.field_size_limit():
        return None
    first = list(map(str.strip, first))
    labels = None if _has_number(first) else first
    body = lines if labels is None else lines[1:]
    if not body:
        return None
    try:
        values = np.loadtxt(
            io.StringIO("\n".join(body)), delimiter=delimiter, dtype=np.float64, ndmin=2, comments=None
        )
    except ValueError:
        return None
    if values.shape != (len(body), len(first)) or not np.isfinite(values).all():
        return None
    if labels is not None:
        _check_labels(labels, f"{origin} header (line 1)", "column")
    start = 1 if labels is None else 2
    return Distributions(values, labels, origin, inline=False, lines=list(range(start, start + len(body))))


def _read_npy(origin: str, handle: BinaryIO, size: int) -> Distributions:
    """An .npy array, its header checked before any data is read or allocated."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(handle)
        reader = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
        if reader is None:
            raise ValueError(f"format version {version[0]}.{version[1]} is not supported (1.0 and 2.0 are)")
        shape, fortran_order, dtype = reader(handle)
    except (ValueError, EOFError, SyntaxError, TypeError) as error:
        handle.seek(0)
        zipped = handle.read(4) == b"PK\x03\x04"
        kind = " (it is a zip archive: an .npz? save one array with numpy.save)" if zipped else ""
        raise InputError(f"{origin}: not a readable .npy array{kind} ({_first_line(error)})") from None
    if dtype.hasobject or dtype.kind not in "biuf" or dtype.fields is not None:
        raise InputError(f"{origin}: holds {dtype} values; expected real numbers")
    if len(shape) not in (1, 2):
        raise InputError(
            f"{origin}: has {len(shape)} dimension(s), shape {shape}; expected 1 (one "
            "distribution) or 2 (one distribution per row)"
        )
    if any(n < 0 for n in shape):  # NumPy's header reader accepts any ints
        raise InputError(f"{origin}: not a readable .npy array (its header announces shape {shape})")
    if 0 in shape:
        raise InputError(f"{origin}: is empty (shape {shape}); a distribution needs at least one entry")
    needed = math.prod(shape) * dtype.itemsize
    if needed > size - handle.tell():
        raise InputError(
            f"{origin}: its header announces shape {shape} of {dtype} ({_size(needed)}) but the file holds "
            f"only {_size(size - handle.tell())} of data"
        )
    data = handle.read(needed)
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")
    return Distributions(np.atleast_2d(array.astype(np.float64)), None, origin, inline=False)


class _BadJSON(Exception):
    """A JSON document the reader refuses while parsing (duplicate keys, oversized integers)."""


def _read_json(origin: str, text: str) -> Distributions:
    """A list of numbers, a list of lists, an object label -> number, or a list of such objects."""
    try:
        data = json.loads(text, object_pairs_hook=_json_object)
    except json.JSONDecodeError as error:
        raise InputError(
            f"{origin}: invalid JSON at line {error.lineno}, column {error.colno} ({error.msg})"
        ) from None
    except _BadJSON as problem:
        raise InputError(f"{origin}: {problem}") from None
    except RecursionError:
        raise InputError(
            f"{origin}: nested too deeply; expected rows of numbers (a list of lists at most)"
        ) from None
    except ValueError:  # not a syntax error: Python's limit on the digits of an integer
        raise InputError(
            f"{origin}: an integer of more than {sys.get_int_max_str_digits()} digits is too large "
            "for a floating-point number"
        ) from None
    if isinstance(data, dict) or (isinstance(data, list) and data and not isinstance(data[0], (list, dict))):
        data = [data]
    if not isinstance(data, list) or not data:
        raise InputError(f"{origin}: expected a list of numbers, a list of lists or label -> number objects")
    kinds = {type(row) for row in data}
    if kinds == {dict}:
        labels = (
            list(data[0]) if len(data) == 1 else list(dict.fromkeys(label for row in data for label in row))
        )
        _check_labels(labels, origin, "label")
        column_of = {label: c for c, label in enumerate(labels)} if len(data) > 1 else None
        source = Distributions(np.zeros((len(data), len(labels))), labels, origin, inline=False)
        for r, row in enumerate(data):
            numbers = list(row.values())
            if _plain_numbers(numbers):  # the common case, fast
                try:
                    source.values[r, [column_of[label] for label in row] if column_of else slice(None)] = (
                        numbers
                    )
                    continue
                except OverflowError:  # an integer too large for a float: named below
                    pass
            column_of = column_of or {label: c for c, label in enumerate(labels)}
            for label, value in row.items():
                c = column_of[label]
                source.values[r, c] = _json_number(value, lambda r=r, c=c: source.where(r, c))
        return source
    if kinds != {list}:
        bad = next(r for r, row in enumerate(data) if not isinstance(row, list))
        raise InputError(
            f"{origin}, row {bad + 1}: is {_json_kind(data[bad])}; every row must be a list of "
            "numbers (or every row a label -> number object)"
        )
    width = len(data[0])
    source = Distributions(np.empty((len(data), width)), None, origin, inline=False)
    for r, row in enumerate(data):
        if len(row) != width:
            raise InputError(f"{source.where(r)} has {len(row)} entries, expected {width} like row 1")
        if _plain_numbers(row):  # the common case, fast
            try:
                source.values[r] = row
                continue
            except OverflowError:  # an integer too large for a float: named below
                pass
        for c, value in enumerate(row):
            source.values[r, c] = _json_number(value, lambda r=r, c=c: source.where(r, c))
    return source


def _json_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object, refusing a key given twice (``{"a": .5, "a": .5}`` is not one label)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for twice, _ in pairs:  # stops at the first key seen before
            if twice in seen:
                break
            seen.add(twice)
        raise _BadJSON(f"label {twice!r} appears twice in one object; give each label once")
    return obj


def _plain_numbers(values: list[Any]) -> bool:
    """Are all of ``values`` ints or floats (not bools, strings, lists)? One pass in C."""
    return set(map(type, values)) <= {int, float}


def _json_kind(value: object) -> str:
    """What a JSON value is, in JSON's words."""
    if isinstance(value, bool):
        return "true/false"
    kinds = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}
    return kinds.get(type(value), "null")


def _json_number(value: object, where: _Where) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        # Containers by kind only: dumping a deeply nested one would recurse as deep again.
        shown: str | None
        if isinstance(value, str):
            shown = json.dumps(value[:40]) + ("..." if len(value) > 40 else "")
        else:
            shown = None if isinstance(value, (list, dict)) else json.dumps(value)
        raise InputError(
            f"{where()}: "
            + (f"{shown} is not a number" if shown else f"is {_json_kind(value)}, not a number")
        )
    try:
        return float(value)
    except OverflowError:
        raise InputError(
            f"{where()}: an integer of {len(str(abs(value)))} digits is too large for a floating-point number"
        ) from None


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _reorder(source: Distributions, labels: list[str]) -> Distributions:
    """``source`` with columns in ``labels`` order; labels it lacks get probability 0."""
    assert source.labels is not None, "align() reorders labelled sources only"
    index = {label: i for i, label in enumerate(source.labels)}
    values = np.zeros((len(source.values), len(labels)))
    columns: list[int | None] = []
    for j, label in enumerate(labels):
        i = index.get(label)
        columns.append(None if i is None else (i if source.columns is None else source.columns[i]))
        if i is not None:
            values[:, j] = source.values[:, i]
    return Distributions(values, labels, source.origin, source.inline, source.lines, columns)


def _check_labels(labels: list[str], where: str, kind: str) -> None:
    """Every label non-empty and given once (linear in the number of labels)."""
    if all(labels) and len(set(labels)) == len(labels):
        return
    first_at: dict[str, int] = {}
    for i, label in enumerate(labels):
        if not label:
            raise InputError(f"{where}: {kind} {i + 1} has an empty label")
        if label in first_at:
            raise InputError(
                f"{where}: label {label!r} appears twice ({kind}s {first_at[label] + 1} and {i + 1})"
            )
        first_at[label] = i


# Where a cell (after a separator) could start a number: one regex pass over a whole header row.
_NUMBER_START = re.compile(r"\x00\s*(?:[-+.\d]|nan|inf)", re.IGNORECASE)  # a literal first: a fast scan


def _has_number(cells: list[str]) -> bool:
    """Is any cell a number? (A CSV's first row is a header of labels when none is.)"""
    if not _NUMBER_START.search(
        "\x00" + "\x00".join(cells)
    ):  # the usual header: no cell even starts like one
        return False
    return any(_is_number(cell) for cell in cells)


def _is_number(text: str) -> bool:
    try:
        float(text)  # the common case, without building a message for every header label
        return True
    except ValueError:
        if "/" not in text:
            return False
    try:
        _parse_number(text)
    except _NotANumber:
        return False
    return True


def _shown(text: str, limit: int = 40) -> str:
    """``repr(text)``, cut to ``limit`` characters: a 5000-digit number is not repeated whole."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def _size(n: int) -> str:
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
