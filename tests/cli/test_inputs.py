"""The command's readers under hostile and extreme input: one line on stderr, exit status 2.

Devices, FIFOs, oversized files, lying .npy headers, JSON bombs, huge numbers, control
characters in labels; and label handling that stays linear (guarded against hangs only: speed
is measured in benchmarks/bench_cli.py).
"""

import json
import os
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from infoloss.cli.inputs import DEFAULT_MAX_SIZE, ByteSize
from infoloss.cli.main import main
from tests.fuzz.hostile import run_infoloss


def run(*args):
    return CliRunner().invoke(main, ["measure", *map(str, args)], catch_exceptions=False)


def one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    line = result.stderr.rstrip("\n")
    assert "\n" not in line and line.startswith("Error: "), line
    for fragment in fragments:
        assert fragment in line, line
    return line


def subprocess_measure(*args):
    """``infoloss measure ARGS`` in a child process (memory limit, hang guard); output as bytes."""
    done = run_infoloss(["measure", *args])
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.encode(), done.stderr.encode())


# --------------------------------------------------------------------------------------------
# Regular files only, size checked before reading
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
@pytest.mark.parametrize("suffix", [".csv", ".json", ".npy"])
def test_a_link_to_a_device_is_refused_unread(tmp_path, device, suffix):
    link = tmp_path / f"data{suffix}"
    link.symlink_to(device)
    one_line_error(run("--p-file", link), f"{link}: is a device, not a regular file")


def test_a_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "p.csv"
    os.mkfifo(fifo)
    done = subprocess_measure("--p-file", fifo)  # nobody writes to it: opening it would block
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode().count("\n") == 1 and b"is a FIFO, not a regular file" in done.stderr


def test_a_directory_and_a_missing_file(tmp_path):
    (tmp_path / "d.csv").mkdir()
    one_line_error(run("--p-file", tmp_path / "d.csv"), "is a directory")
    one_line_error(run("--p-file", tmp_path / "none.csv"), "no such file")


def test_a_file_over_max_size_is_refused_before_reading(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("0.5,0.5\n")  # 8 bytes
    one_line_error(
        run("--p-file", path, "--max-size", "7"), "is 8 bytes, over the 7 bytes limit", "--max-size"
    )
    assert run("--p-file", path, "--max-size", "8").exit_code == 0
    assert run("--p-file", path).exit_code == 0  # the default: 4 GiB


def test_a_sparse_file_of_five_gibibytes_is_refused_by_the_default_limit(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "wb") as handle:
        handle.truncate(5 << 30)  # sparse: no disk used
    one_line_error(run("--p-file", path), "is 5 GiB, over the 4 GiB limit")


@pytest.mark.parametrize(
    "text, size",
    [
        ("1000", 1000),
        ("512K", 512 << 10),
        ("100M", 100 << 20),
        ("4G", 4 << 30),
        ("4GiB", 4 << 30),
        ("1.5k", 1536),
        ("2 MB", 2 << 20),
        ("1T", 1 << 40),
    ],
)
def test_sizes(text, size):
    assert ByteSize().convert(text, None, None) == size
    assert DEFAULT_MAX_SIZE == 4 << 30


# --------------------------------------------------------------------------------------------
# .npy: the header is checked before anything is allocated
# --------------------------------------------------------------------------------------------


def npy_with_header(path, shape, dtype="<f8", data=b""):
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": dtype, "fortran_order": False, "shape": shape})
        handle.write(data)


def test_an_npy_header_announcing_eight_tebibytes_is_refused(tmp_path):
    path = tmp_path / "huge.npy"
    npy_with_header(path, (2**40,))
    one_line_error(
        run("--p-file", path), "announces shape (1099511627776,) of float64 (8 TiB)", "holds only 0 bytes"
    )


def test_a_truncated_npy_is_refused(tmp_path):
    path = tmp_path / "short.npy"
    npy_with_header(path, (4,), data=np.array([0.25, 0.25], dtype="<f8").tobytes())
    one_line_error(run("--p-file", path), "(32 bytes)", "holds only 16 bytes")


def test_an_npz_renamed_npy_is_refused(tmp_path):
    np.savez(tmp_path / "pair.npz", p=np.array([0.5, 0.5]))
    os.rename(tmp_path / "pair.npz", tmp_path / "pair.npy")
    one_line_error(run("--p-file", tmp_path / "pair.npy"), "not a readable .npy array", "zip archive")


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0,)])
def test_an_empty_npy_is_an_error(tmp_path, shape):
    np.save(tmp_path / "empty.npy", np.zeros(shape))
    one_line_error(run("--p-file", tmp_path / "empty.npy"), "empty")


@pytest.mark.parametrize(
    "array",
    [np.array([1 + 1j, 0j]), np.array([(0.5, 0.5)], dtype=[("a", "f8"), ("b", "f8")])],
    ids=["complex", "structured"],
)
def test_an_npy_of_other_values_is_refused(tmp_path, array):
    np.save(tmp_path / "other.npy", array)
    one_line_error(run("--p-file", tmp_path / "other.npy"), "expected real numbers")


def test_an_npy_object_array_is_refused_without_unpickling(tmp_path):
    np.save(tmp_path / "objects.npy", np.array([0.5, None], dtype=object), allow_pickle=True)
    one_line_error(run("--p-file", tmp_path / "objects.npy"), "holds object values")


def test_big_endian_and_fortran_order_npy_are_read(tmp_path):
    p = np.asfortranarray(np.array([[0.5, 0.5], [0.25, 0.75]], dtype=">f4"))
    np.save(tmp_path / "p.npy", p)
    result = CliRunner().invoke(main, ["measure", "--p-file", str(tmp_path / "p.npy"), "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)["rows"]
    assert [r["entropy_p"] for r in rows] == pytest.approx(
        [np.log(2), -(0.25 * np.log(0.25) + 0.75 * np.log(0.75))]
    )


# --------------------------------------------------------------------------------------------
# JSON, CSV and inline numbers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document, fragments",
    [
        ('{"a": 0.5, "a": 0.5, "b": 0.5}', ["label 'a' appears twice in one object"]),
        ('[{"a": 1}, {"b": 1, "b": 2}]', ["label 'b' appears twice"]),
        ("[" * 1000 + "]" * 1000, ["nested too deeply"]),
        ("[" * 100_000 + "]" * 100_000, ["nested too deeply"]),
        ("[[[0.5]]]", ["row 1, column 1: is a list, not a number"]),
        ("[" + "1" * 400 + ", 1]", ["row 1, column 1: an integer of 400 digits is too large"]),
        ("[-" + "9" * 5000 + ", 1]", ["an integer of more than 4300 digits is too large"]),
        (
            "[" + "1" * 308 + ", 1]",
            ["row 1 sums to 1.1111111111111111e+307, not 1"],
        ),  # a float, but no probability
        ("[1e999, 1]", ["column 1", "infinite"]),
        ('{"": 1}', ["label 1 has an empty label"]),
        ("[]", ["expected a list of numbers"]),
        ("", ["invalid JSON"]),
        ('[0.5, "' + "x" * 1000 + '"]', ['"xxxxxxxxxx', 'x"... is not a number']),
    ],
    ids=[
        "duplicate",
        "duplicate-row-2",
        "deep-1000",
        "deep-100000",
        "nested",
        "int-400",
        "int-5000",
        "int-308",
        "1e999",
        "empty-label",
        "empty-list",
        "empty-file",
        "long-string",
    ],
)
def test_hostile_json(tmp_path, document, fragments):
    path = tmp_path / "p.json"
    path.write_text(document)
    line = one_line_error(run("--p-file", path), *fragments)
    assert len(line) < 400


def test_a_csv_field_over_128_kib(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("0.5,0.5\n" + "1" * (200 << 10) + ",1\n")
    one_line_error(run("--p-file", path), "line 2: not readable as CSV", "field larger than field limit")


def test_csv_that_is_not_utf8_and_csv_with_nul_bytes(tmp_path):
    (tmp_path / "latin.csv").write_bytes(b"caf\xe9,b\n0.5,0.5\n")
    one_line_error(run("--p-file", tmp_path / "latin.csv"), "not a UTF-8 text file (byte 4")
    (tmp_path / "nul.csv").write_bytes(b"0.5,0.5\x00\n")
    one_line_error(run("--p-file", tmp_path / "nul.csv"), "column 2", "not a number")


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("1" * 400 + "/3,1", "is too large for a floating-point number"),
        ("1/" + "3" * 5000 + ",1", "has 5001 digits"),
        ("1" * 400 + ",1", "infinite"),
        ("1e400,1", "infinite"),
        ("0x10,1", "'0x10' is not a number"),
    ],
)
def test_huge_inline_numbers(value, fragment):
    one_line_error(run("--p", value), "--p item 1", fragment)


# --------------------------------------------------------------------------------------------
# Labels cannot drive the terminal
# --------------------------------------------------------------------------------------------


def test_escape_sequences_in_labels_are_shown_escaped():
    result = CliRunner().invoke(
        main,
        ["measure", "--p", "\x1b[31mred=0.5,[bold]b[/bold]=0.5", "--q", "\x1b[31mred=0.5,[bold]b[/bold]=0.5"],
    )
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout
    assert "\\x1b[31mred" in result.stdout and "[bold]b[/bold]" in result.stdout  # not read as markup


def test_escape_sequences_in_an_error_are_shown_escaped(tmp_path):
    line = one_line_error(run("--p", "\x1b[2J=0.5,\x1b[2J=0.5"), "label '\\x1b[2J' appears twice")
    assert "\x1b" not in line
    (tmp_path / "evil\x1b[2J.csv").write_text("a,b\n0.5,-0.5\n")
    line = one_line_error(run("--p-file", tmp_path / "evil\x1b[2J.csv"), "evil\\x1b[2J.csv, row 1")
    assert "\x1b" not in line


def test_json_output_escapes_labels():
    result = CliRunner().invoke(main, ["measure", "--p", "\x1b[31m=0.5,b=0.5", "--json"])
    assert result.exit_code == 0 and "\x1b" not in result.stdout
    assert json.loads(result.stdout)["labels"] == ["\x1b[31m", "b"]


def test_a_lone_surrogate_label_from_the_command_line():
    """Python decodes undecodable argv bytes to lone surrogates, which no terminal encoding
    can write: they are shown escaped, in tables and messages."""
    done = subprocess_measure(b"--p", b"\xff=0.5,b=0.5")
    assert done.returncode == 0, done.stderr
    assert b"\\udcff" in done.stdout and b"Traceback" not in done.stderr
    done = subprocess_measure(b"--p", b"\xff=0.5,\xff=0.5")
    assert done.returncode == 2 and done.stderr.count(b"\n") == 1 and b"\\udcff" in done.stderr


def test_a_lone_surrogate_label_from_json(tmp_path):
    path = tmp_path / "p.json"
    path.write_text('{"\\ud800": 0.5, "b": 0.5}')
    done = subprocess_measure("--p-file", path)
    assert done.returncode == 0 and b"\\ud800" in done.stdout
    path.write_text('{"\\ud800": -0.5, "b": 0.5}')
    done = subprocess_measure("--p-file", path)
    assert done.returncode == 2 and done.stderr.count(b"\n") == 1 and b"\\ud800" in done.stderr


def test_a_heading_with_many_labels_lists_a_few():
    labels = ",".join(f"s{i}=1" for i in range(1000))
    result = CliRunner().invoke(main, ["measure", "--p", labels, "--counts"])
    assert result.exit_code == 0
    assert "s19" in result.stdout and "s20," not in result.stdout and "(1000 labels)" in result.stdout


# --------------------------------------------------------------------------------------------
# Label handling is linear (hang guards; the speed is in benchmarks/bench_cli.py)
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("n", [10_000, 200_000])
def test_many_csv_header_labels(tmp_path, n):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"label{i}" for i in range(n)) + "\n" + ",".join(["1"] * n) + "\n")
    done = subprocess_measure("--p-file", path, "--q-file", path, "--counts", "--json")
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout)["rows"][0]
    assert row["entropy_p"] == pytest.approx(np.log(n), rel=1e-12) and row["kl_p_q"] == 0


@pytest.mark.slow
def test_many_json_labels_and_a_duplicate_among_them(tmp_path):
    n = 100_000
    path = tmp_path / "wide.json"
    path.write_text(json.dumps({f"label{i}": 1 for i in range(n)}))
    done = subprocess_measure("--p-file", path, "--counts", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"][0]["entropy_p"] == pytest.approx(np.log(n), rel=1e-12)
    labels = ",".join(f"l{i}=1" for i in range(n)) + ",l5=1"
    one_line_error(run("--p", labels, "--counts"), "label 'l5' appears twice (items 6 and 100001)")


@pytest.mark.parametrize(
    "text",
    [
        "a,b,c\n1,2,3\n",
        "a,b\n0.5,0.5\n0.25,0.75",
        "1,2,3\n4,5,6\n",
        " a , b \n 1 , 2 \n",
        "x\ty\n1\t2\n",
        "a,b\n1,2\n3\n",
        "a,b\n1,\n",
        "a,b\n1/2,1/2\n",
        "a,b\n\n1,2\n",
        "# c\na,b\n1,2\n",
        '"a",b\n1,2\n',
        "a,b\r\n1,2\r\n",
        "a,a\n1,2\n",
        "a,b\n1,inf\n",
        "a,b\n1_0,2\n",
        "a,b\n",
        "a,b\n1e400,1\n",
    ],
)
def test_the_fast_csv_path_reads_what_the_csv_module_reads(text):
    # Either the plain reader declines (and the csv module reads the file), or both give the same.
    from infoloss.cli import inputs

    delimiter = "\t" if "\t" in text else ","
    try:
        reference = inputs._read_csv_cells("--p-file f.csv", text, delimiter)
    except inputs.InputError as error:
        reference = error
    try:
        plain = inputs._read_plain_csv("--p-file f.csv", text, delimiter)
    except inputs.InputError as error:
        assert isinstance(reference, inputs.InputError) and str(error) == str(reference)  # noqa: PT017 - two readers' errors compared
        return
    if plain is None:
        return
    assert not isinstance(reference, Exception), reference
    np.testing.assert_array_equal(plain.values, reference.values)
    assert (plain.labels, plain.lines) == (reference.labels, reference.lines)
    assert text.startswith(
        ("a,b,c", "a,b\n0.5", "1,2,3", " a ", "x\ty")
    )  # the plain files take the fast path


def test_a_million_labels_go_through_the_fast_path(tmp_path):
    from infoloss.cli import inputs

    text = ",".join(f"s{i}" for i in range(10**6)) + "\n" + ",".join(["1"] * 10**6) + "\n"
    plain = inputs._read_plain_csv("--p-file f.csv", text, ",")
    assert plain is not None and plain.values.shape == (1, 10**6) and plain.labels[-1] == "s999999"
