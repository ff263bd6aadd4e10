"""Distributions for the ``infoloss`` command: read from the command line or from files.

The command takes a distribution inline (``--p 0.14,0.37,0.03,0.46``, or labelled
``--p rain=.14,snow=.37,...``, or fractions ``--p 1/2,1/4,1/8,1/8``) or from a file (CSV/TSV,
NPY or JSON; one distribution per row). :func:`read` gives a :class:`Distributions` (a
``(rows, k)`` float64 array, optional labels, and where every row and column came from), and
:func:`library_call` runs an infoloss function on it, turning the library's ValueError/TypeError
(which name ``p[row, column]``) into an :class:`InputError` that names the file, row, column and
label instead. Every problem is one line and exit status 2, never a traceback.

Also used by ``infoloss code`` (``--p``/``--p-file`` read the same way).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import click
import numpy as np

__all__ = ["InputError", "Distributions", "read", "align", "library_call", "FILE_TYPES"]

FILE_TYPES = (".csv", ".tsv", ".npy", ".json")


class InputError(click.ClickException):
    """Bad input: printed as one line ``Error: ...`` on stderr, exit status 2."""

    exit_code = 2


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

    A label one side lacks is probability 0 there (as for label mappings in the library).
    Rows must match or one side must have a single row (it is compared with every row).
    """
    if p.labels is not None and q.labels is not None and p.labels != q.labels:
        labels = list(dict.fromkeys(p.labels + q.labels))
        p, q = _reorder(p, labels), _reorder(q, labels)
    elif p.values.shape[1] != q.values.shape[1]:
        raise InputError(
            f"shape mismatch: {p.origin} has {p.values.shape[1]} entries per row but {q.origin} has "
            f"{q.values.shape[1]}; give both the same entries (or label both, to align by label)"
        )
    else:
        labels = p.labels if p.labels is not None else q.labels
        p, q = _with_labels(p, labels), _with_labels(q, labels)
    rows_p, rows_q = len(p.values), len(q.values)
    if rows_p != rows_q and 1 not in (rows_p, rows_q):
        raise InputError(
            f"shape mismatch: {p.origin} has {rows_p} rows but {q.origin} has {rows_q}; give the same "
            "number of rows, or one row to compare with every row of the other"
        )
    return p, q


def library_call(function, *sources: Distributions, **keywords):
    """``function(p.values[, q.values], axis=-1, **keywords)``, errors named by file/row/column."""
    try:
        return function(*(s.values for s in sources), axis=-1, **keywords)
    except (ValueError, TypeError) as error:
        raise InputError(_translate(str(error), dict(zip("pq", sources)))) from None


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
        for i, label in enumerate(labels):
            if not label:
                raise InputError(f"{origin} item {i + 1} {items[i]!r} has an empty label")
            if labels.index(label) != i:
                raise InputError(f"{origin} gives label {label!r} twice (items {labels.index(label) + 1} and {i + 1})")
        items = [value.strip() for _, value in pairs]
    values = []
    for i, item in enumerate(items):
        where = f"{origin} item {i + 1}" + (f" ({labels[i]!r})" if labels else "")
        values.append(_number(item, where))
    return Distributions(np.array([values], dtype=np.float64), labels, origin, inline=True)


def _number(text: str, where: str) -> float:
    """A float from ``text`` ("0.5", ".5", "1/2", "1e-3", "nan"), or an InputError at ``where``."""
    if not text:
        raise InputError(f"{where} is empty; expected a number")
    try:
        return float(Fraction(text)) if "/" in text else float(text)
    except (ValueError, ZeroDivisionError):
        raise InputError(f"{where}: {text!r} is not a number") from None


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def _read_file(origin: str, path: Path) -> Distributions:
    suffix = path.suffix.lower()
    if suffix not in FILE_TYPES:
        raise InputError(
            f"{origin}: unknown file type {suffix or '(no extension)'!r}; use one of {', '.join(FILE_TYPES)}"
        )
    if not path.exists():
        raise InputError(f"{origin}: no such file")
    if path.is_dir():
        raise InputError(f"{origin}: is a directory, not a file")
    try:
        if suffix == ".npy":
            return _read_npy(origin, path)
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise InputError(f"{origin}: cannot read it ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise InputError(f"{origin}: not a UTF-8 text file") from None
    if suffix == ".json":
        return _read_json(origin, text)
    return _read_csv(origin, text, delimiter="\t" if suffix == ".tsv" else ",")


def _read_csv(origin: str, text: str, delimiter: str) -> Distributions:
    """Rows of numbers; an optional header row of labels (a first row with no numbers in it).

    Blank lines and lines starting with ``#`` are skipped; every row needs the same length.
    """
    rows: list[list[str]] = []
    lines: list[int] = []
    for number, cells in enumerate(csv.reader(text.splitlines(), delimiter=delimiter), start=1):
        cells = [cell.strip() for cell in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        rows.append(cells)
        lines.append(number)
    labels = None
    if rows and not any(_is_number(cell) for cell in rows[0]):
        labels, header_line = rows.pop(0), lines.pop(0)
        _check_labels(labels, f"{origin} header (line {header_line})")
    if not rows:
        raise InputError(f"{origin} has no rows of numbers")
    width = len(labels) if labels is not None else len(rows[0])
    source = Distributions(np.empty((len(rows), width)), labels, origin, inline=False, lines=lines)
    for r, cells in enumerate(rows):
        if len(cells) != width:
            first = "the header" if labels is not None else "the first row"
            raise InputError(f"{source.where(r)} has {len(cells)} columns, expected {width} like {first}")
        for c, cell in enumerate(cells):
            source.values[r, c] = _number(cell, source.where(r, c))
    return source


def _read_npy(origin: str, path: Path) -> Distributions:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as error:
        raise InputError(f"{origin}: not a readable .npy array ({_first_line(error)})") from None
    if not isinstance(array, np.ndarray) or not (
        np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer) or array.dtype == bool
    ):
        raise InputError(f"{origin}: holds {array.dtype} values; expected real numbers")
    if array.ndim not in (1, 2):
        raise InputError(
            f"{origin}: has {array.ndim} dimension(s), shape {array.shape}; expected 1 (one "
            "distribution) or 2 (one distribution per row)"
        )
    return Distributions(np.atleast_2d(array.astype(np.float64)), None, origin, inline=False)


def _read_json(origin: str, text: str) -> Distributions:
    """A list of numbers, a list of lists, an object label -> number, or a list of such objects."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{origin}: invalid JSON at line {error.lineno}, column {error.colno} ({error.msg})") from None
    if isinstance(data, dict) or (isinstance(data, list) and data and not isinstance(data[0], (list, dict))):
        data = [data]
    if not isinstance(data, list) or not data:
        raise InputError(f"{origin}: expected a list of numbers, a list of lists or label -> number objects")
    kinds = {type(row) for row in data}
    if kinds == {dict}:
        labels = list(dict.fromkeys(label for row in data for label in row))
        source = Distributions(np.zeros((len(data), len(labels))), labels, origin, inline=False)
        for r, row in enumerate(data):
            for label, value in row.items():
                c = labels.index(label)
                source.values[r, c] = _json_number(value, source.where(r, c))
        return source
    if kinds != {list}:
        bad = next(r for r, row in enumerate(data) if not isinstance(row, list))
        raise InputError(
            f"{origin}, row {bad + 1}: is a {type(data[bad]).__name__}; every row must be a list of "
            "numbers (or every row a label -> number object)"
        )
    width = len(data[0])
    source = Distributions(np.empty((len(data), width)), None, origin, inline=False)
    for r, row in enumerate(data):
        if len(row) != width:
            raise InputError(f"{source.where(r)} has {len(row)} entries, expected {width} like row 1")
        for c, value in enumerate(row):
            source.values[r, c] = _json_number(value, source.where(r, c))
    return source


def _json_number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where}: {json.dumps(value)} is not a number")
    return float(value)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _reorder(source: Distributions, labels: list[str]) -> Distributions:
    """``source`` with columns in ``labels`` order; labels it lacks get probability 0."""
    index = {label: i for i, label in enumerate(source.labels)}
    values = np.zeros((len(source.values), len(labels)))
    columns: list[int | None] = []
    for j, label in enumerate(labels):
        i = index.get(label)
        columns.append(None if i is None else (i if source.columns is None else source.columns[i]))
        if i is not None:
            values[:, j] = source.values[:, i]
    return Distributions(values, labels, source.origin, source.inline, source.lines, columns)


def _with_labels(source: Distributions, labels) -> Distributions:
    if labels is None or source.labels is not None:
        return source
    return Distributions(source.values, labels, source.origin, source.inline, source.lines, source.columns)


# The library names entries p[row, column] and rows p[row, :] (2-D input along the last axis).
_POSITION = re.compile(r"\b([pq])\[(\d+), (\d+|:)\]")


def _translate(message: str, sources: dict[str, Distributions]) -> str:
    """Rewrite a library message in the command's terms: options, files, rows, columns."""

    def name(match: re.Match) -> str:
        source = sources[match.group(1)]
        column = None if match.group(3) == ":" else int(match.group(3))
        return source.where(int(match.group(2)), column)

    message = _POSITION.sub(name, message)
    message = message.replace(" along axis 1", "").replace("normalize=True", "--counts")
    message = re.sub(r"\bbase=", "--base ", message)
    return message.replace("\n", " ")


def _check_labels(labels: list[str], where: str) -> None:
    for i, label in enumerate(labels):
        if not label:
            raise InputError(f"{where}: column {i + 1} has an empty label")
        if labels.index(label) != i:
            raise InputError(f"{where}: label {label!r} appears twice (columns {labels.index(label) + 1} and {i + 1})")


def _is_number(text: str) -> bool:
    try:
        _number(text, "")
    except InputError:
        return False
    return True


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
