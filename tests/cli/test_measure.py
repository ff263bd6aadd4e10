"""``infoloss measure`` through the command's entry point: options, numbers and errors.

Numbers are compared with SciPy (``scipy.stats.entropy``, ``scipy.spatial.distance``) and
with the library's own functions; errors must be one line on stderr with exit status 2.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.stats
from click.testing import CliRunner

import infoloss
from infoloss.cli.main import main

SCRIPT = Path(sys.executable).parent / "infoloss"  # the installed console script


def run(*args, env=None):
    return CliRunner(env=env).invoke(main, [str(a) for a in args], catch_exceptions=False)


def measured(*args) -> dict:
    result = run("measure", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def reference_row(p, q, base=None):
    """Every column of ``measure`` from SciPy, for probability vectors p and q."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    h_p = scipy.stats.entropy(p, base=base)
    kl = scipy.stats.entropy(p, q, base=base)
    js = scipy.spatial.distance.jensenshannon(p, q, base=base) ** 2
    return {
        "entropy_p": h_p,
        "entropy_q": scipy.stats.entropy(q, base=base),
        "cross_entropy": h_p + kl,
        "kl_p_q": kl,
        "kl_q_p": scipy.stats.entropy(q, p, base=base),
        "js": js,
    }


def assert_row(row: dict, expected: dict):
    for key, value in expected.items():
        got = float(row[key])  # "Infinity" (strict JSON) reads back as inf
        assert got == pytest.approx(value, rel=1e-12, abs=1e-15), key


# --------------------------------------------------------------------------------------------
# measure: inputs and options
# --------------------------------------------------------------------------------------------


def test_entropy_only_when_only_p_is_given():
    out = measured("--p", "0.14,0.37,0.03,0.46")
    assert out["rows"] == [{"row": 1, "entropy_p": 1.1055291211185652}]
    assert out["unit"] == "nats" and out["base"] is None and out["labels"] is None


def test_inline_p_and_q_match_scipy():
    p, q = [0.8, 0.1, 0.1], [0.2, 0.2, 0.6]
    out = measured("--p", "0.8,0.1,0.1", "--q", "0.2,0.2,0.6")
    assert_row(out["rows"][0], reference_row(p, q))
    assert out["rows"][0]["kl_p_q"] == pytest.approx(float(infoloss.kl_divergence(p, q)), rel=1e-15)


def test_labels_are_aligned_between_p_and_q():
    out = measured("--p", "rain=.14,snow=.37,sleet=.03,hail=.46", "--q", "hail=.4,sleet=.1,rain=.2,snow=.3")
    assert out["labels"] == ["rain", "snow", "sleet", "hail"]
    assert_row(out["rows"][0], reference_row([0.14, 0.37, 0.03, 0.46], [0.2, 0.3, 0.1, 0.4]))
    p = {"rain": 0.14, "snow": 0.37, "sleet": 0.03, "hail": 0.46}
    q = {"hail": 0.4, "sleet": 0.1, "rain": 0.2, "snow": 0.3}
    assert out["rows"][0]["js"] == infoloss.js_divergence(p, q)


def test_a_label_missing_from_q_is_probability_zero_and_infinite_kl_is_strict_json():
    out = measured("--p", "a=.5,b=.5", "--q", "a=1")
    row = out["rows"][0]
    assert row["cross_entropy"] == row["kl_p_q"] == "Infinity"
    assert row["kl_q_p"] == pytest.approx(np.log(2))
    assert row["js"] == pytest.approx(float(infoloss.js_divergence([0.5, 0.5], [1.0, 0.0])))


def test_fractions_inline():
    out = measured("--p", "1/2,1/4,1/8,1/8", "--bits")
    assert out["rows"][0]["entropy_p"] == 1.75


@pytest.mark.parametrize(
    "options, base, unit",
    [
        ([], None, "nats"),
        (["--bits"], 2, "bits"),
        (["--base", "2"], 2, "bits"),
        (["--base", "10"], 10, "hartleys"),
        (["--base", "3"], 3, "log-base-3 units"),
        (["--bits", "--base", "2"], 2, "bits"),
    ],
)
def test_base_and_bits(options, base, unit):
    out = measured("--p", "0.8,0.1,0.1", "--q", "0.2,0.2,0.6", *options)
    assert out["unit"] == unit and out["base"] == base
    assert_row(out["rows"][0], reference_row([0.8, 0.1, 0.1], [0.2, 0.2, 0.6], base=base))


def test_counts_normalise_each_row(tmp_path):
    counts = np.array([[3, 1, 0], [2, 2, 4]])
    path = tmp_path / "counts.csv"
    path.write_text("\n".join(",".join(str(c) for c in row) for row in counts))
    out = measured("--p-file", path, "--q", "1,1,2", "--counts")
    assert out["counts"] is True
    for row, p in zip(out["rows"], counts):
        assert_row(row, reference_row(p / p.sum(), [0.25, 0.25, 0.5]))  # scipy divides by the sum too


def test_csv_with_header_comments_blank_lines_and_a_single_q_row(tmp_path):
    (tmp_path / "p.csv").write_text(
        "rain, snow ,sleet,hail\n0.14,0.37,0.03,0.46\n\n# a comment\n.25,.25,.25,.25\n"
    )
    (tmp_path / "q.csv").write_text("hail,rain,snow,sleet\n0.4,0.2,0.3,0.1\n")
    out = measured("--p-file", tmp_path / "p.csv", "--q-file", tmp_path / "q.csv")
    assert out["labels"] == ["rain", "snow", "sleet", "hail"]
    assert [row["row"] for row in out["rows"]] == [1, 2]
    assert_row(out["rows"][0], reference_row([0.14, 0.37, 0.03, 0.46], [0.2, 0.3, 0.1, 0.4]))
    assert_row(out["rows"][1], reference_row([0.25] * 4, [0.2, 0.3, 0.1, 0.4]))


def test_tsv_and_npy_files_row_by_row(tmp_path):
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(5), size=4), rng.dirichlet(np.ones(5), size=4)
    p[1, 2] = 0.0  # a zero: 0 log 0 = 0
    p[1] /= p[1].sum()
    np.save(tmp_path / "q.npy", q)
    (tmp_path / "p.tsv").write_text("\n".join("\t".join(repr(float(v)) for v in row) for row in p))
    out = measured("--p-file", tmp_path / "p.tsv", "--q-file", tmp_path / "q.npy")
    for row, p_row, q_row in zip(out["rows"], p, q, strict=True):
        assert_row(row, reference_row(p_row, q_row))
    # The library's own functions on the whole matrix give the same numbers.
    assert [r["js"] for r in out["rows"]] == pytest.approx(infoloss.js_divergence(p, q).tolist(), rel=1e-15)


def test_one_dimensional_integer_npy_with_counts(tmp_path):
    np.save(tmp_path / "counts.npy", np.array([5, 0, 3, 2]))
    out = measured("--p-file", tmp_path / "counts.npy", "--counts", "--bits")
    assert out["rows"][0]["entropy_p"] == pytest.approx(scipy.stats.entropy([5, 0, 3, 2], base=2), rel=1e-12)


@pytest.mark.parametrize(
    "document",
    [
        [0.5, 0.25, 0.25],
        [[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]],
        {"a": 0.5, "b": 0.25, "c": 0.25},
        [{"a": 0.5, "b": 0.25, "c": 0.25}, {"c": 0.8, "a": 0.1, "b": 0.1}],
    ],
    ids=["list", "rows", "object", "objects"],
)
def test_json_files(tmp_path, document):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(document))
    labelled = isinstance(document, dict) or isinstance(document[0], dict)
    out = measured("--p-file", path, "--q", "a=0.2,b=0.3,c=0.5" if labelled else "0.2,0.3,0.5")
    expected = [[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]
    for row, p in zip(out["rows"], expected):
        assert_row(row, reference_row(p, [0.2, 0.3, 0.5]))
    assert len(out["rows"]) == (
        2 if isinstance(document, list) and isinstance(document[0], (list, dict)) else 1
    )


def test_labelled_json_rows_missing_a_label_have_zero_there(tmp_path):
    path = tmp_path / "votes.json"
    path.write_text(json.dumps([{"cat": 3, "dog": 1}, {"dog": 2, "fox": 2}]))
    out = measured("--p-file", path, "--counts")
    assert out["labels"] == ["cat", "dog", "fox"]
    assert [r["entropy_p"] for r in out["rows"]] == pytest.approx(
        [scipy.stats.entropy([3, 1, 0]), scipy.stats.entropy([0, 2, 2])], rel=1e-12
    )


def test_table_output_and_digits():
    result = run(
        "measure", "--p", "red=.8,green=.1,yellow=.1", "--q", "red=.2,green=.2,yellow=.6", "--digits", "4"
    )
    assert result.exit_code == 0
    text = result.stdout
    for heading in (
        "H(p)",
        "H(q)",
        "H(p,q)",
        "KL(p||q)",
        "KL(q||p)",
        "JS(p,q)",
        "nats",
        "red, green, yellow",
    ):
        assert heading in text
    for value in (0.639032, 1.499577, 0.860545):
        assert f"{value:.4f}" in text
    assert "0.63903" not in text  # 4 decimals, not 6


def test_table_has_a_row_per_distribution_and_shows_inf():
    result = run("measure", "--p", "1,0", "--q", "0,1", "--bits")
    assert result.exit_code == 0
    assert "bits" in result.stdout and "inf" in result.stdout and "1.000000" in result.stdout  # JS = 1 bit


def test_help_and_version():
    assert "--p-file" in run("measure", "--help").stdout
    assert "tour" in run("--help").stdout and "measure" in run("--help").stdout
    assert infoloss.__version__ in run("--version").stdout


# --------------------------------------------------------------------------------------------
# measure: bad input is one line on stderr, exit status 2
# --------------------------------------------------------------------------------------------

FILES = {
    "neg.csv": "a,b,c\n0.5,0.5,0\n0.2,-0.1,0.9\n",
    "negq.csv": "a,b\n0.5,0.5\n1.1,-0.1\n",
    "nan.csv": "0.5,0.5\nnan,1\n",
    "sum.csv": "x,y\n\n0.5,0.5\n0.7,0.2\n",
    "word.csv": "0.5,0.5\n0.5,half\n",
    "empty_cell.csv": "0.5,0.5\n0.5,\n",
    "ragged.csv": "0.5,0.5\n0.2,0.3,0.5\n",
    "three.csv": "0.2,0.3,0.5\n",
    "rows3.csv": "0.5,0.5\n0.5,0.5\n0.5,0.5\n",
    "rows2.csv": "0.5,0.5\n0.5,0.5\n",
    "dupe.csv": "a,a\n0.5,0.5\n",
    "header.csv": "a,b\n",
    "p.txt": "0.5,0.5\n",
    "broken.json": "[[0.5, 0.5], [0.5",
    "string.json": '[[0.5, 0.5], [0.5, "x"]]',
    "bool.json": '{"a": true, "b": 0.5}',
    "mixed.json": "[[0.5, 0.5], 3]",
    "ragged.json": "[[0.5, 0.5], [1]]",
    "emptyrow.json": "[[]]",
    "zero.csv": "1,1\n0,0\n",
    "dupe_free.json": '{"a": 0.5, "b": 0.5}',
}


@pytest.fixture
def files(tmp_path, monkeypatch):
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    np.save(tmp_path / "neg.npy", np.array([[0.5, 0.5], [0.9, -0.1]]))
    np.save(tmp_path / "cube.npy", np.full((2, 2, 2), 0.5))
    np.save(tmp_path / "words.npy", np.array(["a", "b"]))
    (tmp_path / "garbage.npy").write_bytes(b"not an array")
    (tmp_path / "folder.csv").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


BAD_INPUT = [
    # (arguments, fragments the one line must contain)
    (["--p", "0.5,x"], ["--p item 2", "'x' is not a number"]),
    (["--p", "rain=.5,snow=lots"], ["--p item 2 ('snow')", "'lots' is not a number"]),
    (["--p", "rain=.5,.5"], ["--p item 2", "no label"]),
    (["--p", "a=.5,a=.5"], ["--p: label 'a' appears twice (items 1 and 2)"]),
    (["--p", ""], ["--p is empty"]),
    (["--p", "0.5,,0.5"], ["--p item 2 is empty"]),
    (["--p", "1/0,1"], ["--p item 1", "'1/0' divides by zero"]),
    (["--p", "0.6,-0.1,0.5"], ["--p item 2", "-0.1 is negative"]),
    (["--p", "rain=.6,snow=-.1,hail=.5"], ["--p item 2 ('snow')", "negative"]),
    (["--p", "nan,1"], ["--p item 1", "NaN"]),
    (["--p", "0.5,inf"], ["--p item 2", "infinite"]),
    (["--p", "0.5,0.4"], ["--p sums to 0.9, not 1", "pass --counts to rescale"]),
    (["--p", "0.5,0.5", "--q", "0.5,0.6"], ["--q sums to 1.1"]),
    (["--p", "0,0", "--counts"], ["--p sums to 0; --counts cannot rescale a row of zeros"]),
    (["--p-file", "neg.csv"], ["neg.csv, row 2 (line 3), column 2 ('b')", "-0.1 is negative"]),
    (["--p-file", "nan.csv"], ["nan.csv, row 2, column 1", "NaN"]),
    (["--p-file", "sum.csv"], ["sum.csv, row 2 (line 4) sums to 0.899", "--counts"]),
    (["--p-file", "zero.csv", "--counts"], ["zero.csv, row 2 sums to 0"]),
    (["--p-file", "word.csv"], ["word.csv, row 2, column 2", "'half' is not a number"]),
    (["--p-file", "empty_cell.csv"], ["empty_cell.csv, row 2, column 2 is empty"]),
    (["--p-file", "ragged.csv"], ["ragged.csv, row 2 has 3 columns, expected 2"]),
    (["--p-file", "dupe.csv"], ["dupe.csv header (line 1)", "'a' appears twice (columns 1 and 2)"]),
    (["--p-file", "header.csv"], ["header.csv has no rows"]),
    (["--p-file", "neg.npy"], ["neg.npy, row 2, column 2", "-0.1 is negative"]),
    (["--p-file", "cube.npy"], ["cube.npy", "3 dimension(s)"]),
    (["--p-file", "words.npy"], ["words.npy", "expected real numbers"]),
    (["--p-file", "garbage.npy"], ["garbage.npy", "not a readable .npy"]),
    (["--p-file", "broken.json"], ["broken.json", "invalid JSON at line 1, column 18"]),
    (["--p-file", "string.json"], ["string.json, row 2, column 2", '"x" is not a number']),
    (["--p-file", "bool.json"], ["bool.json, row 1, column 1 ('a')", "true is not a number"]),
    (["--p-file", "mixed.json"], ["mixed.json, row 2", "is a number; every row must be a list"]),
    (["--p-file", "ragged.json"], ["ragged.json, row 2 has 1 entries, expected 2"]),
    (["--p-file", "emptyrow.json"], ["emptyrow.json", "rows are empty"]),
    (["--p-file", "p.txt"], ["p.txt", "unknown file type '.txt'", ".csv"]),
    (["--p-file", "missing.csv"], ["--p-file missing.csv", "no such file"]),
    (["--p-file", "folder.csv"], ["folder.csv", "is a directory"]),
    (
        ["--p", "a=0.5,b=0.5", "--q-file", "negq.csv"],
        ["--q-file negq.csv, row 2 (line 3), column 2 ('b')", "negative"],
    ),
    (
        ["--p", "0.5,0.5", "--q-file", "three.csv"],
        ["shape mismatch", "--p has 2 entries", "--q-file three.csv has 3"],
    ),
    (["--p-file", "rows3.csv", "--q-file", "rows2.csv"], ["shape mismatch", "has 3 rows", "has 2"]),
    (["--p", "0.5,0.5", "--p-file", "rows2.csv"], ["--p or --p-file, not both"]),
    (["--q", "0.5,0.5"], ["give the distribution p"]),
    ([], ["give the distribution p"]),
    (["--p", "0.5,0.5", "--base", "1"], ["--base must be", "other than 1"]),
    (["--p", "0.5,0.5", "--base", "-2"], ["--base must be a finite number > 0"]),
    (["--p", "0.5,0.5", "--bits", "--base", "10"], ["--bits means --base 2"]),
    # Labelled and unlabelled sides do not mix, as in the library (kl_divergence(dict, list) raises).
    (["--p", "a=.5,b=.5", "--q", ".9,.1"], ["--p has labels but --q has none", "label both"]),
    (["--p", ".9,.1", "--q-file", "dupe_free.json"], ["--q-file dupe_free.json has labels but --p has none"]),
    (["--p", "0.5,0.5", "--base", "nan"], ["--base must be a finite number"]),
]


@pytest.mark.parametrize(
    "arguments, fragments", BAD_INPUT, ids=[" ".join(a) or "nothing" for a, _ in BAD_INPUT]
)
def test_bad_input_is_one_line_and_exit_status_2(files, arguments, fragments):
    result = run("measure", *arguments)
    assert result.exit_code == 2
    assert result.stdout == ""
    line = result.stderr.rstrip("\n")
    assert "\n" not in line and line.startswith("Error: ")
    for fragment in fragments:
        assert fragment in line
    assert "Traceback" not in result.output


def test_the_installed_script(tmp_path):
    assert SCRIPT.exists(), f"the console script is not installed beside {sys.executable}"
    good = subprocess.run(
        [SCRIPT, "measure", "--p", "0.8,0.1,0.1", "--q", "0.2,0.2,0.6", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    assert_row(json.loads(good.stdout)["rows"][0], reference_row([0.8, 0.1, 0.1], [0.2, 0.2, 0.6]))
    (tmp_path / "bad.csv").write_text("0.5,0.5\n0.5,-0.5,1\n")
    bad = subprocess.run(
        [SCRIPT, "measure", "--p-file", tmp_path / "bad.csv"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "bad.csv, row 2 has 3 columns" in bad.stderr
