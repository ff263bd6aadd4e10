"""A corpus of hostile inputs for the command's readers (``infoloss measure``, ``infoloss code --p-file``).

``python -m tests.fuzz.corpus_readers DIR`` writes the files into DIR and prints one line per
case; :func:`generate` returns the cases for ``tests/fuzz/test_readers.py``, which runs each in
a subprocess under a memory limit and a hang guard and expects one line on stderr and exit
status 2.

Cases: links to ``/dev/zero`` and ``/dev/urandom`` and FIFOs for every file type and file option;
a sparse file over the size limit and a small one over ``--max-size``; ``.npy`` headers that
lie (8 TiB, 2^124 entries, negative dimensions, a 100 KB header, a truncated header, an
``.npz`` renamed); deeply nested JSON (10^3 to 10^6 levels), integers of 400 to 10^6
digits, duplicate keys; a CSV field of 1 MiB and a header of 10^5 labels with a duplicate at
the end; inline fractions of 10^5 digits; escape sequences in a duplicated label.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Case:
    """One hostile run: ``infoloss ARGS``; ``message`` is expected in the one-line error."""

    name: str
    args: tuple[str, ...]
    message: str


def generate(directory) -> list[Case]:
    """Write every hostile file into ``directory``; the cases that use them."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def file_case(name: str, content: bytes | str, message: str, *extra: str, command=("measure",)) -> None:
        path = directory / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        cases.append(Case(name, (*command, "--p-file", str(path), *extra), message))

    # Not regular files: never opened for reading (opening a FIFO nobody writes to would block).
    for device in ("/dev/zero", "/dev/urandom"):
        for suffix in (".csv", ".tsv", ".json", ".npy"):
            link = directory / f"{Path(device).name}{suffix}"
            link.unlink(missing_ok=True)
            link.symlink_to(device)
            cases.append(Case(f"link-{link.name}", ("measure", "--p-file", str(link)), "is a device"))
    zero, random = directory / "zero.json", directory / "urandom.csv"
    cases.append(Case("link-zero.json-as-q", ("measure", "--p", "1", "--q-file", str(zero)), "is a device"))
    cases.append(Case("link-urandom.csv-in-code", ("code", "--p-file", str(random)), "is a device"))
    fifo = directory / "fifo.csv"
    fifo.unlink(missing_ok=True)
    os.mkfifo(fifo)
    cases.append(Case("fifo-p", ("measure", "--p-file", str(fifo)), "is a FIFO"))
    cases.append(Case("fifo-code", ("code", "--p-file", str(fifo)), "is a FIFO"))

    # Sizes: refused before reading.
    sparse = directory / "sparse-5GiB.csv"
    with open(sparse, "wb") as handle:
        handle.truncate(5 << 30)
    cases.append(Case("sparse-5GiB", ("measure", "--p-file", str(sparse)), "over the 4 GiB limit"))
    file_case("over-max-size.csv", "0.5,0.5\n" * 256, "over the 1 KiB limit", "--max-size", "1K")
    file_case(
        "over-max-size-code.csv",
        "0.5,0.5\n" * 256,
        "over the 1 KiB limit",
        "--max-size",
        "1K",
        command=("code",),
    )

    # .npy headers that lie.
    def npy(shape, version=(1, 0), descr="<f8", data=b"") -> bytes:
        import io

        buffer = io.BytesIO()
        header = {"descr": descr, "fortran_order": False, "shape": shape}
        writer = (
            np.lib.format.write_array_header_1_0
            if version == (1, 0)
            else np.lib.format.write_array_header_2_0
        )
        writer(buffer, header)
        return buffer.getvalue() + data

    file_case("npy-8TiB.npy", npy((2**40,)), "announces shape (1099511627776,)")
    file_case("npy-2^124.npy", npy((2**62, 2**62), version=(2, 0)), "but the file holds only 0 bytes")
    file_case("npy-negative.npy", npy((-1, 3)), "not a readable .npy array")
    file_case("npy-empty-rows.npy", npy((0, 3)), "is empty (shape (0, 3))")
    file_case("npy-truncated-data.npy", npy((1000,), data=bytes(80)), "holds only 80 bytes")
    file_case("npy-truncated-header.npy", npy((3,))[:20], "not a readable .npy array")
    file_case(
        "npy-header-100KB.npy",
        b"\x93NUMPY\x02\x00" + (100_000).to_bytes(4, "little") + b" " * 100_000,
        "not a readable .npy array",
    )
    file_case("npy-object.npy", npy((2,), descr="|O", data=bytes(16)), "holds object values")
    file_case("npy-3d.npy", npy((2, 2, 2), data=bytes(64)), "3 dimension(s)")
    file_case("npy-garbage.npy", os.urandom(4096), "not a readable .npy array")
    npz = directory / "renamed.npz"
    np.savez(npz, p=np.array([0.5, 0.5]))
    file_case("npz-renamed.npy", npz.read_bytes(), "zip archive")

    # JSON bombs.
    for depth in (1_000, 100_000, 1_000_000):
        file_case(f"json-deep-{depth}.json", "[" * depth + "]" * depth, "nested too deeply")
    file_case("json-deep-objects.json", '{"a":' * 100_000 + "1" + "}" * 100_000, "nested too deeply")
    file_case("json-int-400.json", "[" + "7" * 400 + ", 1]", "an integer of 400 digits is too large")
    for digits in (5_000, 1_000_000):
        file_case(
            f"json-int-{digits}.json", "[" + "7" * digits + ", 1]", "an integer of more than 4300 digits"
        )
    file_case("json-duplicate-key.json", '{"a": 0.5, "a": 0.5, "b": 0.5}', "label 'a' appears twice")
    file_case(
        "json-100k-duplicate.json",
        "{" + ", ".join(f'"l{i}": 1' for i in range(100_000)) + ', "l7": 1}',
        "label 'l7' appears twice",
    )
    file_case("json-not-utf8.json", b'{"\xff": 1}', "not a UTF-8 text file")
    file_case("json-nan-literal.json", "[NaN, 1]", "NaN")

    # CSV.
    file_case("csv-field-1MiB.csv", "0.5,0.5\n" + "1" * (1 << 20) + ",1\n", "not readable as CSV")
    file_case(
        "csv-header-100k-duplicate.csv",
        ",".join(f"l{i}" for i in range(100_000)) + ",l3\n" + ",".join(["1"] * 100_001) + "\n",
        "label 'l3' appears twice",
    )
    file_case("csv-ragged.csv", "1,2,3\n" + "1," * 10_000 + "1\n", "has 10001 columns, expected 3")
    file_case("csv-only-header.csv", "a,b,c\n", "has no rows of numbers")
    file_case("csv-binary.csv", bytes(range(256)) * 16, "not a UTF-8 text file")

    # Inline values.
    cases.append(
        Case("inline-fraction-100k-digits", ("measure", "--p", "1/" + "3" * 100_000 + ",1"), "digits")
    )
    cases.append(Case("inline-fraction-400-digits", ("measure", "--p", "7" * 400 + "/3,1"), "too large"))
    cases.append(Case("inline-escape-duplicate", ("measure", "--p", "\x1b[2J=0.5,\x1b[2J=0.5"), "\\x1b[2J"))
    cases.append(
        Case("inline-labelled-vs-bare", ("measure", "--p", "a=.5,b=.5", "--q", ".9,.1"), "has labels")
    )
    cases.append(Case("usage-unknown-option", ("measure", "--pp", "1"), "see 'infoloss measure --help'"))
    return cases


if __name__ == "__main__":
    for case in generate(sys.argv[1] if len(sys.argv) > 1 else "hostile-readers"):
        print(f"{case.name}: infoloss {' '.join(a if len(a) < 80 else a[:77] + '...' for a in case.args)}")
