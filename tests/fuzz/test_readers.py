"""The command's readers never show a traceback: exit 0, or exit 2 with one line on stderr.

Two parts:

- Hypothesis on inline text (``--p``/``--q``), CSV, JSON and NPY files: arbitrary bytes and
  text, and near-valid documents built from numbers, fractions, huge integers, control
  characters and labels. Run in-process (click's test runner) for speed; the profile comes from
  ``HYPOTHESIS_PROFILE`` (``ci`` in ``.ci/run``, ``long`` in ``./dev fuzz``; see conftest.py).
- The hostile corpus of :mod:`tests.fuzz.corpus_readers`, each case in a child process limited to
  2 GiB of address space with a 60 s hang guard (:mod:`tests.fuzz.hostile`), expecting one line
  on stderr, exit 2 and no output.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, strategies as st

from infoloss.cli.main import main
from tests.fuzz.corpus_readers import generate
from tests.fuzz.hostile import case_names, run_infoloss


def check_outcome(args) -> None:
    """Run ``infoloss ARGS`` in-process; exit 0 with clean output, or exit 2 with one clean line."""
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback: the failure Hypothesis is looking for
    assert result.exit_code in (0, 2), (result.exit_code, result.output)
    if result.exit_code == 2:
        line = result.stderr
        assert result.stdout == "" and line.startswith("Error: ") and line.count("\n") == 1, line
        assert line[:-1].isprintable(), line  # control characters escaped
    else:
        assert result.stderr == ""
        assert all(c.isprintable() or c == "\n" for c in result.stdout), result.stdout  # no raw ESC


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------

any_character = st.characters(codec=None, exclude_categories=())  # surrogates and controls included
numbers_as_text = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10, 10**6).map(str),
    st.fractions(max_denominator=10**6).map(str),
    st.integers(300, 5000).map(lambda digits: "9" * digits),
    st.sampled_from(["", " ", "1/0", "0x1", "1e999", "-0", "nan", "inf", "1_0", "½", "١", "1/" + "3" * 5000]),
)
labels = st.one_of(
    st.text(any_character, max_size=8), st.sampled_from(["a", "b", "\x1b[31m", "[bold]", "\ud800"])
)
cells = st.one_of(numbers_as_text, labels)


@st.composite
def inline_values(draw) -> str:
    """``--p`` text: plain or labelled numbers, or anything at all."""
    kind = draw(st.sampled_from(["numbers", "labelled", "text"]))
    if kind == "text":
        return draw(st.text(any_character, max_size=40))
    items = draw(st.lists(numbers_as_text, min_size=1, max_size=6))
    if kind == "labelled":
        names = draw(st.lists(labels, min_size=len(items), max_size=len(items)))
        items = [f"{name}={value}" for name, value in zip(names, items)]
    return ",".join(items)


@st.composite
def csv_documents(draw) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    rows = draw(st.lists(st.lists(cells, min_size=1, max_size=5), min_size=0, max_size=5))
    separator = draw(st.sampled_from([",", ";", "\t"]))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = ending.join(separator.join(row) for row in rows)
    return text.encode("utf-8", errors="surrogatepass")  # lone surrogates: invalid UTF-8 on purpose


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.floats(),
        st.integers(-(10**400), 10**400),
        st.text(any_character, max_size=5),
    ),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(labels, children, max_size=4)),
    max_leaves=20,
)


@st.composite
def json_documents(draw) -> bytes:
    kind = draw(st.sampled_from(["value", "bytes", "duplicates", "deep"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "duplicates":
        keys = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=5))
        return ("{" + ", ".join(f'"{k}": {draw(st.floats(0, 1))}' for k in keys) + "}").encode()
    if kind == "deep":
        depth = draw(st.integers(1, 3000))
        return ("[" * depth + "0.5" + "]" * depth).encode()
    return json.dumps(draw(json_values)).encode("utf-8", errors="surrogatepass")


@st.composite
def npy_documents(draw) -> bytes:
    """A valid header (random dtype and shape, possibly lying about the data) or random bytes."""
    if draw(st.booleans()):
        return b"\x93NUMPY" + draw(st.binary(max_size=200))
    dtype = np.dtype(draw(st.sampled_from(["<f8", ">f4", "<f2", "<i8", "|u1", "|b1", "<c16", "<U3", "|O"])))
    shape = tuple(draw(st.lists(st.integers(-2, 2**41), max_size=3)))
    buffer = io.BytesIO()
    header = {
        "descr": np.lib.format.dtype_to_descr(dtype),
        "fortran_order": draw(st.booleans()),
        "shape": shape,
    }
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + draw(st.binary(max_size=128))


def with_file(suffix: str, content: bytes, *args: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"input{suffix}"
        path.write_bytes(content)
        check_outcome(["measure", "--p-file", str(path), *args])


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


@given(p=inline_values(), q=st.one_of(st.none(), inline_values()), counts=st.booleans())
def test_inline_values(p, q, counts):
    check_outcome(
        ["measure", "--p", p, *(["--q", q] if q is not None else []), *(["--counts"] if counts else [])]
    )


@given(p=inline_values())
def test_inline_values_in_code(p):
    check_outcome(["code", "--p", p])


@given(content=csv_documents(), counts=st.booleans())
def test_csv_files(content, counts):
    with_file(".csv", content, *(["--counts"] if counts else []))


@given(content=json_documents(), counts=st.booleans())
def test_json_files(content, counts):
    with_file(".json", content, *(["--counts"] if counts else []))


@given(content=npy_documents())
def test_npy_files(content):
    with_file(".npy", content, "--counts")


def test_a_valid_npy_passes_the_same_check():
    """The properties above accept exit 0: make sure a valid file is one of those outcomes."""
    buffer = io.BytesIO()
    np.save(buffer, np.array([[1, 3], [2, 2]]))
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "counts.npy"
        path.write_bytes(buffer.getvalue())
        result = CliRunner().invoke(main, ["measure", "--p-file", str(path), "--counts", "--json"])
    assert result.exit_code == 0
    assert [row["entropy_p"] for row in json.loads(result.stdout)["rows"]] == pytest.approx(
        [-(0.25 * np.log(0.25) + 0.75 * np.log(0.75)), np.log(2)], rel=1e-12
    )


# --------------------------------------------------------------------------------------------
# The hostile corpus, in child processes under a memory limit
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hostile-readers")
    return {case.name: case for case in generate(directory)}


@pytest.mark.slow
@pytest.mark.parametrize("name", case_names(generate))
def test_hostile_input_is_one_line_and_exit_2(corpus, name):
    case = corpus[name]
    done = run_infoloss(case.args)
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert lines[0].isprintable()
    assert case.message in lines[0], lines[0]
