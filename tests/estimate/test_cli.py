"""``infoloss estimate``: every file type, one and two columns, the options, one-line errors."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from infoloss import estimate
from infoloss.cli.main import main

pd = pytest.importorskip("pandas")


def run(*args):
    return CliRunner().invoke(main, ["estimate", *map(str, args)], catch_exceptions=False)


def results(*args) -> dict:
    outcome = run(*args, "--json")
    assert outcome.exit_code == 0, outcome.output
    return {row["quantity"]: row for row in json.loads(outcome.stdout)["results"]}


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 300)
    y = (x + rng.integers(0, 2, 300)) % 6
    return x, y


@pytest.fixture
def files(tmp_path, data):
    x, y = data
    frame = pd.DataFrame({"x": x, "y": y, "colour": np.array(list("abcde"))[x]})
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_csv(tmp_path / "d.tsv", index=False, sep="\t")
    np.save(tmp_path / "d.npy", np.stack([x, y], 1))
    paths = {"csv": tmp_path / "d.csv", "tsv": tmp_path / "d.tsv", "npy": tmp_path / "d.npy"}
    try:
        import pyarrow  # noqa: F401

        frame.to_parquet(tmp_path / "d.parquet")
        paths["parquet"] = tmp_path / "d.parquet"
    except ImportError:
        pass
    return paths


@pytest.mark.parametrize("kind", ["csv", "tsv", "npy", "parquet"])
def test_one_column_every_file_type(files, data, kind):
    if kind not in files:
        pytest.skip("pyarrow is not installed")
    column = "0" if kind == "npy" else "x"
    row = results(files[kind], "--column", column, "--method", "miller-madow")[f"H({column})"]
    assert row["value"] == pytest.approx(estimate.entropy(data[0], "miller-madow").value, rel=1e-14)
    assert (row["n"], row["observed"], row["method"]) == (300, 5, "miller-madow")


def test_two_columns(files, data):
    x, y = data
    rows = results(files["csv"], "--column", "colour", "--column", "y", "--bits")
    assert rows["I(colour;y)"]["value"] == pytest.approx(
        estimate.mutual_information(x, y, base=2).value, rel=1e-13
    )
    assert rows["H(colour|y)"]["value"] == pytest.approx(
        estimate.conditional_entropy(x, y, base=2).value, rel=1e-13
    )
    assert rows["H(colour,y)"]["value"] == pytest.approx(
        estimate.joint_entropy(x, y, base=2).value, rel=1e-13
    )
    # 'colour' letters and 'y' numbers share no symbol: KL with the plug-in is infinite.
    assert rows["KL(colour||y)"]["value"] == "Infinity"


def test_nsb_ci_and_alphabet(files, data):
    rows = results(
        files["csv"], "--column", "x", "--method", "nsb", "--alphabet-size", 8, "--ci", 0.9, "--n-boot", 50
    )
    row = rows["H(x)"]
    expected = estimate.entropy(data[0], "nsb", alphabet_size=8, ci=0.9, n_boot=50, random_state=0)
    assert row["value"] == pytest.approx(expected.value, rel=1e-14)
    assert row["ci"] == pytest.approx(list(expected.ci), rel=1e-14) and row["level"] == 0.9
    assert row["alphabet_size"] == 8


def test_continuous_columns(tmp_path):
    rng = np.random.default_rng(1)
    points = rng.normal(size=(400, 2))
    np.save(tmp_path / "p.npy", points)
    rows = results(tmp_path / "p.npy", "--column", 0, "--column", 1, "--k", 3)
    assert rows["h(0)"]["value"] == pytest.approx(
        estimate.differential_entropy(points[:, 0], k=3).value, rel=1e-14
    )
    assert rows["I(0;1)"]["method"] == "ksg"


def test_table_output(files):
    outcome = run(files["csv"], "--column", "x", "--method", "auto")
    assert outcome.exit_code == 0
    assert "H(x)" in outcome.stdout and "chao-shen" in outcome.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--column", "nope"], "no column 'nope'; its columns are 'x', 'y', 'colour'"),
        ([], "has 3 columns"),
        (["--column", "x", "--method", "nsb"], "--alphabet-size is needed by --method nsb"),
        (["--column", "x", "--alphabet-size", 2], "--alphabet-size is smaller than the 5 distinct symbols"),
        (["--column", "x", "--ci", 2], "--ci must be a finite number in (0, 1)"),
        (["--column", "x", "--column", "y", "--column", "colour"], "one or two --column"),
    ],
)
def test_errors_are_one_line_exit_2(files, args, message):
    outcome = run(files["csv"], *args)
    assert outcome.exit_code == 2
    assert message in outcome.stderr and len(outcome.stderr.strip().splitlines()) == 1


def test_file_errors(tmp_path):
    (tmp_path / "gap.csv").write_text("x,y\n1,2\n,3\n4,5\n")
    (tmp_path / "empty.csv").write_text("x,y\n")
    (tmp_path / "d.txt").write_text("1\n")
    for path, message in [
        (tmp_path / "gap.csv", "gap.csv, column 'x', row 2: is missing"),
        (tmp_path / "empty.csv", "column 'x' is empty"),
        (tmp_path / "missing.csv", "no such file"),
        (tmp_path / "d.txt", "unknown file type '.txt'"),
    ]:
        outcome = run(path, "--column", "x")
        assert outcome.exit_code == 2, outcome.output
        assert message in outcome.stderr and len(outcome.stderr.strip().splitlines()) == 1


def test_errors_in_the_second_column_name_it(tmp_path):
    (tmp_path / "gap.csv").write_text("a,b\nx,1\ny,2\nx,1\nz,3\n,4\n")
    outcome = run(tmp_path / "gap.csv", "--column", "b", "--column", "a")
    assert outcome.exit_code == 2
    assert "gap.csv, column 'a', row 5: is missing" in outcome.stderr
    outcome = run(tmp_path / "gap.csv", "--column", "a", "--column", "b")
    assert "gap.csv, column 'a', row 5: is missing" in outcome.stderr


def test_large_files_read_in_chunks_with_progress(files, data, monkeypatch):
    # Files over 64 MiB are read in chunks behind a progress bar (on stderr); the threshold is
    # lowered here so that path runs on a small file and must give the same numbers.
    from infoloss.cli import estimate as command

    monkeypatch.setattr(command, "_PROGRESS_BYTES", 10)
    for kind in ("csv", "parquet"):
        if kind not in files:
            continue
        row = results(files[kind], "--column", "x")["H(x)"]
        assert row["value"] == pytest.approx(estimate.entropy(data[0]).value, rel=1e-14)


def test_two_columns_with_intervals(files, data):
    x, y = data
    rows = results(files["csv"], "--column", "x", "--column", "y", "--ci", 0.9, "--n-boot", 50)
    options = dict(ci=0.9, n_boot=50, random_state=0)
    for label, expected in (
        ("I(x;y)", estimate.mutual_information(x, y, **options)),
        ("H(x|y)", estimate.conditional_entropy(x, y, **options)),
        ("H(x,y)", estimate.joint_entropy(x, y, **options)),
        ("KL(x||y)", estimate.kl_divergence(x, y, **options)),
    ):
        assert rows[label]["ci"] == pytest.approx(list(expected.ci), rel=1e-14), label
        assert rows[label]["level"] == 0.9
    # y has a symbol (5) x never shows: plug-in KL(y||x) is infinite, and so is its interval's
    # top; resamples of y without that symbol are finite. Never NaN.
    kl = rows["KL(y||x)"]
    assert kl["value"] == "Infinity" and kl["ci"][1] == "Infinity"
    assert "NaN" not in str(kl)
