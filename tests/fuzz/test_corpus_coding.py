"""Every hostile file of :mod:`tests.fuzz.corpus_coding` is refused: one line, exit 2, nothing left.

Each case runs ``python -m infoloss code ...`` in a child process limited to 2 GiB of address
space (``resource.RLIMIT_AS``) with a 60 s guard against running forever (a hang guard, not a
speed target). Also the library's own bound, ``coding.decompress(..., max_output=)``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infoloss import coding
from tests.fuzz.corpus_coding import forge, generate
from tests.fuzz.hostile import case_names, run_infoloss


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hostile-coding")
    return directory, {case.name: case for case in generate(directory)}


@pytest.mark.slow
@pytest.mark.parametrize("name", case_names(generate))
def test_hostile_file_is_one_line_exit_2_and_leaves_nothing(corpus, name):
    directory, cases = corpus
    case = cases[name]
    done = run_infoloss(["code", *case.args])
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert case.message in lines[0]
    assert not Path(case.output).exists() and not Path(case.output + ".part").exists()
    assert not list(directory.glob("*.part"))


def test_max_output_is_checked_before_decoding():
    blob = coding.compress(b"abc" * 1000)
    assert coding.decompress(blob, max_output=3000) == b"abc" * 1000
    with pytest.raises(
        coding.FormatError, match="announces 3,000 original bytes, more than the limit of 2,999"
    ):
        coding.decompress(blob, max_output=2999)
    with pytest.raises(coding.FormatError, match="more than the limit"):
        coding.decompress(forge(1 << 62, [65], [1 << 24]))  # default: the machine's memory
    with pytest.raises(TypeError, match="max_output"):
        coding.decompress(blob, max_output="big")
