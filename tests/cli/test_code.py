"""`infoloss code`: Huffman tables and the file compressor, through the command's entry point."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from infoloss import coding, cross_entropy, kl_divergence
from infoloss.cli.main import main


def run(*args, **keywords):
    # A wide console, whatever the terminal: the tests read rows of the tables.
    result = CliRunner(env={"COLUMNS": "200"}).invoke(main, ["code", *map(str, args)], **keywords)
    return result


def ok(*args):
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result.output


def _value(output: str, row: str) -> float:
    match = re.search(rf"{re.escape(row)}\s*│?\s*([-+]?\d+\.\d+)", output)
    assert match, f"no row {row!r} in:\n{output}"
    return float(match.group(1))


def _skewed_bytes(n, seed, exponent):
    rng = np.random.default_rng(seed)
    w = 1.0 / np.arange(1, 257) ** exponent
    return rng.choice(256, size=n, p=w / w.sum()).astype(np.uint8).tobytes()


# --------------------------------------------------------------------------------------------
# Huffman table
# --------------------------------------------------------------------------------------------


def test_seed_002_table():
    out = ok("--p", "1/2,1/4,1/8,1/8")
    # Symbols are numbered from 0, exactly as the library numbers them.
    for symbol, word in coding.huffman_code([1 / 2, 1 / 4, 1 / 8, 1 / 8]).items():
        assert re.search(rf"│ {symbol}\s+│ [\d.]+ │ {word}\s+│\s+{len(word)} │", out), out
    assert _value(out, "expected length L") == 1.75
    assert _value(out, "entropy H(p)") == 1.75
    assert "100.00 %" in out


def test_labels_counts_and_zero_probability_rows():
    out = ok("--p", "a=3,b=1,c=1,d=0", "--counts")
    assert re.search(r"│ a\s+│ 0.6000 │ 0 ", out)
    assert re.search(r"│ d\s+│ 0.0000 │ \(none: probability 0\)", out)
    assert _value(out, "expected length L") == 1.4


def test_code_for_q_under_p_costs_cross_entropy():
    out = ok("--p", "a=.5,b=.25,c=.125,d=.125", "--q", "a=.25,b=.25,c=.25,d=.25")
    assert _value(out, "expected length L") == 2.0
    assert _value(out, "cross-entropy H(p,q)") == 2.0
    assert _value(out, "KL(p||q) = H(p,q) - H(p)") == 0.25


def test_code_for_q_explains_the_gap_instead_of_promising_100_percent():
    # p is dyadic, yet q's code reaches only 87.5 %: the gap is KL(p||q), not p's shape.
    out = ok("--p", "a=.5,b=.25,c=.125,d=.125", "--q", "a=.25,b=.25,c=.25,d=.25")
    assert "87.50 %" in out and "iff every p_i" not in out
    assert _value(out, "rounding L - H(p,q)") == 0.0
    # A non-dyadic q: the whole-bit rounding is the rest of the gap, L - H(p) = KL + rounding.
    out = ok("--p", ".5,.3,.2", "--q", ".4,.4,.2", "--digits", "8")
    p, q = [0.5, 0.3, 0.2], [0.4, 0.4, 0.2]
    length = coding.expected_length(coding.huffman_code(q), p)
    assert _value(out, "expected length L") == pytest.approx(length, abs=1e-8)
    assert _value(out, "rounding L - H(p,q)") == pytest.approx(length - cross_entropy(p, q, base=2), abs=1e-8)
    assert _value(out, "KL(p||q) = H(p,q) - H(p)") == pytest.approx(kl_divergence(p, q, base=2), abs=1e-8)


def test_long_tables_are_cut_but_the_summary_covers_every_symbol():
    p = np.full(2500, 1 / 2500)
    out = ok("--p", ",".join(map(str, p)), "--max-rows", "10")
    assert "2,490 more symbols not shown" in out and "│ 9 " in out and "│ 10 " not in out
    assert _value(out, "expected length L") == pytest.approx(
        coding.expected_length(coding.huffman_code(p), p)
    )
    assert "more symbols" not in ok("--p", ",".join(map(str, p[:20] * 125)), "--max-rows", "0")


def test_shown_codewords_are_the_librarys_code(tmp_path):
    # Only the shown rows are spelt out; they must be huffman_code's words, in the same places.
    counts = np.random.default_rng(4).integers(0, 50, size=300)
    (tmp_path / "p.csv").write_text(
        ",".join(f"s{i}" for i in range(300)) + "\n" + ",".join(map(str, counts)) + "\n"
    )
    out = ok("--p-file", tmp_path / "p.csv", "--counts", "--max-rows", "40")
    code = coding.huffman_code({f"s{i}": float(c) for i, c in enumerate(counts)}, normalize=True)
    rows = dict(re.findall(r"│ (s\d+)\s+│[^│]*│ ([01]+|\(none: probability 0\))\s+│", out))
    assert len(rows) == 40
    assert rows == {f"s{i}": code.get(f"s{i}", "(none: probability 0)") for i in range(40)}
    p = {f"s{i}": float(c) for i, c in enumerate(counts / counts.sum())}
    assert _value(out, "expected length L") == pytest.approx(coding.expected_length(code, p), rel=1e-4)
    assert re.search(r"Kraft sum\s+1\s", out)


def test_labels_cannot_drive_the_terminal():
    out = ok("--p", "\x1b[31mred=0.5,b=0.5")
    assert "\x1b" not in out and "\\x1b[31mred" in out


def test_p_from_a_file(tmp_path):
    (tmp_path / "p.csv").write_text("sun,rain,snow\n2,1,1\n")
    out = ok("--p-file", tmp_path / "p.csv", "--counts")
    assert re.search(r"│ sun\s+│ 0.5000 │ 0 ", out)
    assert _value(out, "expected length L") == 1.5


@pytest.mark.parametrize(
    "args, message",
    [
        (["--p", "0.5,-0.1,0.6"], "--p item 2"),
        (["--p", "0.5,0.6"], "sums to"),
        (["--q", "0.5,0.5"], "--q needs --p"),
        (["--p", "0.5,0.5", "compress", "x"], "without a subcommand"),
        (["--plot", "out.png", "compress", "x"], "without a subcommand"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_bare_command_prints_help():
    out = ok()
    assert "compress" in out and "decompress" in out


def test_several_rows_are_refused(tmp_path):
    (tmp_path / "p.csv").write_text("0.5,0.5\n0.2,0.8\n")
    result = run("--p-file", tmp_path / "p.csv")
    assert result.exit_code == 2 and "2 rows" in result.output


# --------------------------------------------------------------------------------------------
# compress / decompress
# --------------------------------------------------------------------------------------------


def test_round_trip_with_default_names(tmp_path):
    source = tmp_path / "notes.txt"
    data = b"entropy is the shortest average code length; " * 200
    source.write_bytes(data)
    out = ok("compress", source)
    assert (tmp_path / "notes.txt.ilc").exists()
    assert "size before" in out and f"{len(data):,} bytes" in out
    entropy, payload = _value(out, "entropy H(p)"), _value(out, "payload alone")
    assert entropy <= payload <= entropy + 0.01
    (tmp_path / "notes.txt").unlink()
    out = ok("decompress", tmp_path / "notes.txt.ilc")
    assert "SHA-256 verified" in out
    assert source.read_bytes() == data


def test_existing_output_needs_force(tmp_path):
    source, target = tmp_path / "a.bin", tmp_path / "a.ilc"
    source.write_bytes(b"abcabcabd")
    target.write_bytes(b"precious")
    result = run("compress", source, "-o", target)
    assert result.exit_code == 2 and "--force" in result.output
    assert target.read_bytes() == b"precious"
    ok("compress", source, "-o", target, "--force")
    result = run("decompress", target, "-o", source)
    assert result.exit_code == 2 and "already exists" in result.output
    ok("decompress", target, "-o", source, "-f")
    assert source.read_bytes() == b"abcabcabd"


def test_empty_file(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    out = ok("compress", tmp_path / "empty", "-o", tmp_path / "empty.ilc")
    assert "n/a" in out
    ok("decompress", tmp_path / "empty.ilc", "-o", tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == b""


def test_other_model_gap_is_the_kl(tmp_path):
    (tmp_path / "data.bin").write_bytes(_skewed_bytes(100_000, seed=1, exponent=1.1))
    (tmp_path / "other.bin").write_bytes(_skewed_bytes(100_000, seed=2, exponent=1.5))
    own = ok("compress", tmp_path / "data.bin", "-o", tmp_path / "own.ilc")
    cross = ok(
        "compress", tmp_path / "data.bin", "-o", tmp_path / "cross.ilc", "--model", tmp_path / "other.bin"
    )
    assert "other.bin's byte frequencies" in cross
    kl = _value(cross, "gap KL(p||q)")
    assert kl > 0.1
    assert _value(cross, "observed gap") == pytest.approx(kl, abs=2e-3)
    growth = _value(cross, "payload alone") - _value(own, "payload alone")
    assert growth == pytest.approx(kl, abs=2e-3)
    ok("decompress", tmp_path / "cross.ilc", "-o", tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == (tmp_path / "data.bin").read_bytes()


def test_unseen_byte_needs_floor(tmp_path):
    (tmp_path / "data.txt").write_bytes(b"hello")
    (tmp_path / "model.txt").write_bytes(b"hell")
    result = run("compress", tmp_path / "data.txt", "--model", tmp_path / "model.txt")
    assert result.exit_code == 2
    assert "at offset 4" in result.output and "--floor" in result.output and "floor=" not in result.output
    ok("compress", tmp_path / "data.txt", "--model", tmp_path / "model.txt", "--floor", "1e-6")
    result = run("compress", tmp_path / "data.txt", "--floor", "2", "-f")
    assert result.exit_code == 2 and "--floor must be a probability in (0, 1), got 2.0" in result.output


def test_size_limit_and_non_regular_inputs(tmp_path):
    (tmp_path / "data.txt").write_bytes(b"x" * 100)
    result = run("--max-size", "99", "compress", tmp_path / "data.txt")
    assert result.exit_code == 2 and "more than the limit of 99; raise --max-size" in result.output
    assert not (tmp_path / "data.txt.ilc").exists()
    result = run("compress", tmp_path / "data.txt", "--model", "/dev/zero")
    assert result.exit_code == 2 and "/dev/zero is a character device, not a regular file" in result.output
    ok("compress", tmp_path / "data.txt", "--max-size", "100")
    result = run("decompress", tmp_path / "data.txt.ilc", "-o", tmp_path / "back", "--max-size", "99")
    assert (
        result.exit_code == 2 and "more than the limit" in result.output and not (tmp_path / "back").exists()
    )


def test_damaged_file_is_refused_and_nothing_written(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"some words, some more words " * 50)
    ok("compress", tmp_path / "a.txt", "-o", tmp_path / "a.ilc")
    blob = bytearray((tmp_path / "a.ilc").read_bytes())
    blob[-3] ^= 0x40
    (tmp_path / "bad.ilc").write_bytes(bytes(blob))
    result = run("decompress", tmp_path / "bad.ilc", "-o", tmp_path / "out.txt")
    assert result.exit_code == 2 and "corrupted payload" in result.output
    assert not (tmp_path / "out.txt").exists()
    (tmp_path / "cut.ilc").write_bytes(bytes(blob[:40]))
    result = run("decompress", tmp_path / "cut.ilc", "-o", tmp_path / "out.txt")
    assert result.exit_code == 2 and "truncated" in result.output
    result = run("decompress", tmp_path / "a.txt", "-o", tmp_path / "out.txt")
    assert result.exit_code == 2 and "not an infoloss compressed file" in result.output
    result = run("decompress", tmp_path / "a.txt")
    assert result.exit_code == 2 and "-o FILE" in result.output


def test_progress_bar_on_large_files(tmp_path, monkeypatch):
    import infoloss.cli.code as cli_code
    import infoloss.coding.container as container

    monkeypatch.setattr(cli_code, "PROGRESS_FROM", 1)
    monkeypatch.setattr(cli_code, "_stderr_is_terminal", lambda: True)
    monkeypatch.setattr(container, "CHUNK", 4096)
    updates = []
    original_update = cli_code._progress.update
    import threading

    from rich.live import _RefreshThread

    def update(self, *arguments):
        # The bar is drawn, and by no refresh thread (with one, worker processes could not be forked).
        refreshing = any(isinstance(thread, _RefreshThread) for thread in threading.enumerate())
        updates.append((self.bar is not None and not refreshing, *arguments))
        original_update(self, *arguments)

    monkeypatch.setattr(cli_code._progress, "update", update)
    data = _skewed_bytes(50_000, seed=3, exponent=1.3)
    (tmp_path / "big").write_bytes(data)
    ok("compress", tmp_path / "big", "-o", tmp_path / "big.ilc")
    ok("decompress", tmp_path / "big.ilc", "-o", tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == data
    assert updates and all(update[0] for update in updates)  # the bar was drawn for every phase
    assert {update[1] for update in updates} == {"scan", "encode", "decode"}
    monkeypatch.setattr(cli_code, "_stderr_is_terminal", lambda: False)
    assert cli_code._progress(1 << 30, "compress", cli_code._Stop()).bar is None  # piped: no bar


def test_installed_entry_point(tmp_path):
    script = Path(sys.executable).with_name("infoloss")
    (tmp_path / "x.txt").write_bytes(b"abracadabra" * 10)
    done = subprocess.run(
        [str(script), "code", "compress", str(tmp_path / "x.txt")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    again = subprocess.run(
        [str(script), "code", "compress", str(tmp_path / "x.txt")], capture_output=True, text=True
    )
    assert again.returncode == 2 and "--force" in again.stderr and "Traceback" not in again.stderr
    assert coding.decompress((tmp_path / "x.txt.ilc").read_bytes()) == b"abracadabra" * 10


_IMPORTED_BY = """
import sys
from infoloss.cli.main import main
try:
    main(sys.argv[1:], prog_name="infoloss")
except SystemExit:
    pass
print(" ".join(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_imported_by(*args) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTED_BY, *map(str, args)], capture_output=True, text=True, timeout=120
    )
    return set(done.stderr.split())


def test_help_and_compress_import_only_what_they_need(tmp_path):
    heavy = {"torch", "scipy", "jax", "dask", "matplotlib", "pandas", "sklearn"}
    imported = _modules_imported_by("--help")
    commands = {
        "infoloss.cli.code",
        "infoloss.cli.measure",
        "infoloss.cli.tour",
        "infoloss.cli.estimate",
        "infoloss.cli.explore",
        "infoloss.cli.demo",
    }
    assert not imported & (
        heavy
        | commands
        | {
            "constriction",
            "rich",
            "rich.progress",
            "hashlib",
            "importlib.metadata",
            "infoloss.coding.files",
            "infoloss.coding.huffman",
            "infoloss.coding.range",
        }
    )
    (tmp_path / "small").write_bytes(b"abracadabra" * 100)
    imported = _modules_imported_by("code", "compress", tmp_path / "small")
    assert {
        "infoloss.coding.files",
        "infoloss.coding.container",
        "infoloss.coding.range",
        "constriction",
    } <= imported
    assert not imported & (
        heavy
        | {"rich", "infoloss.coding.huffman", "infoloss.cli.inputs"}
        | (commands - {"infoloss.cli.code"})
    )  # the readers of distributions serve --p/--q only; the report is plain text (no rich)
    imported = _modules_imported_by("code", "decompress", tmp_path / "small.ilc", "-o", tmp_path / "back")
    assert "infoloss.coding.blocks" in imported and (tmp_path / "back").read_bytes() == b"abracadabra" * 100
    assert not imported & (
        heavy
        | {"infoloss.coding.huffman", "concurrent.futures.process", "infoloss.cli.inputs", "rich"}
        | {"infoloss.measures", "infoloss.measures._fast"}
        | (commands - {"infoloss.cli.code"})
    )  # a small file: no worker processes; a one-line report; no measure to compute


def test_decompressing_on_every_core_does_not_load_the_measures(tmp_path):
    # The measures' kernels hold the rule for how many cores to use only once they are loaded;
    # counting the cores must not load them (start-up of every decompress).
    data = np.random.default_rng(3).integers(0, 7, size=3 << 20, dtype=np.uint8).tobytes()
    (tmp_path / "big").write_bytes(data)
    coding.compress_file(tmp_path / "big", tmp_path / "big.ilc")
    imported = _modules_imported_by("code", "decompress", tmp_path / "big.ilc", "-o", tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == data
    assert "infoloss.coding.blocks" in imported and "infoloss.measures" not in imported


def test_format_version_and_workers_options(tmp_path, monkeypatch):
    import infoloss.coding.container as container
    from tests.coding.formats import layout

    monkeypatch.setattr(container, "CHUNK", 4096)  # several blocks, so two workers really start
    data = np.random.default_rng(0).choice(256, size=20_000, p=np.arange(1, 257) / np.arange(1, 257).sum())
    source = tmp_path / "d.bin"
    source.write_bytes(data.astype(np.uint8).tobytes())
    for version in ("1", "2"):
        packed = tmp_path / f"d{version}.ilc"
        result = run("compress", source, "-o", packed, "--format-version", version, "-j", "2")
        assert result.exit_code == 0, result.output
        assert layout(packed.read_bytes())["version"] == int(version)
        restored = tmp_path / f"back{version}"
        result = run("decompress", packed, "-o", restored, "--workers", "2")
        assert result.exit_code == 0, result.output
        assert restored.read_bytes() == source.read_bytes()
    result = run("compress", source, "-o", tmp_path / "x.ilc", "--format-version", "3")
    assert result.exit_code == 2 and "--format-version" in result.output
