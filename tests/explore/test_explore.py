"""infoloss.explore from Python and from the command line (the browser tests are in test_page.py)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

import infoloss
from infoloss import examples, explore
from infoloss.cli.main import main


def test_the_page_is_one_self_contained_file():
    html = explore.page([0.5, 0.25, 0.125, 0.125], [0.25] * 4)
    assert html.count("<script") == 1 and '<script type="module">' in html
    # No attribute or call that could load anything: no src/href, no import(), fetch, XHR.
    assert not re.search(r"\s(src|href)\s*=", html)
    assert not re.search(r"\bimport\s*[({]|\bfetch\(|XMLHttpRequest|WebSocket|@import|url\(", html)
    # The only URL in it is the SVG namespace (an identifier, never requested).
    assert set(re.findall(r"https?://[^\s\"'`]+", html)) == {"http://www.w3.org/2000/svg"}
    assert "default-src 'none'" in html  # and the browser is told to refuse any request anyway
    for testid in (
        "entropy-p",
        "entropy-q",
        "cross-entropy",
        "kl-pq",
        "kl-qp",
        "js",
        "huffman-p-length",
        "huffman-q-length",
    ):
        assert f'"{testid}"' in html


def test_the_initial_state_is_the_hash_of_the_arguments():
    html = explore.page(
        {"rain": 0.14, "snow": 0.37, "sleet": 0.03, "hail": 0.46},
        {"rain": 0.25, "snow": 0.25, "sleet": 0.25, "hail": 0.25},
    )
    assert (
        "#mode=distributions&p=0.14,0.37,0.03,0.46&q=0.25,0.25,0.25,0.25&labels=rain,snow,sleet,hail" in html
    )
    # Labels are aligned like the measures align mappings; counts are divided by their sum.
    assert explore.state_hash({"b": 1, "a": 3}, {"a": 0.5, "b": 0.5}).startswith(
        "#mode=distributions&p=0.25,0.75&q=0.5,0.5&labels=b,a"
    )
    assert "logits=1,1,3&temperature=2&target=2" in explore.state_hash(logits=[1, 1, 3], temperature=2.0)
    assert "target=p&smoothing=0.1&p=0.7,0.2,0.1" in explore.state_hash(
        [0.7, 0.2, 0.1], logits=[2, 0.5, -1], smoothing=0.1
    )


@pytest.mark.parametrize(
    "call, argument, words",
    [
        (lambda: explore.state_hash([0.5, -0.5, 1.0]), "p", "negative"),
        (lambda: explore.state_hash([1.0]), "p", "2 to 16"),
        (lambda: explore.state_hash([1 / 17] * 17), "p", "2 to 16"),
        (lambda: explore.state_hash([0.5, 0.5], [0.2, 0.3, 0.5]), None, ""),
        (lambda: explore.state_hash(unit="furlongs"), "unit", "'bits', 'nats'"),
        (lambda: explore.state_hash(logits=[1, 2], temperature=0), "temperature", "> 0"),
        (lambda: explore.state_hash(logits=[1, float("nan")]), "logits", "finite"),
        (lambda: explore.state_hash(logits=[1, 2], target=2), "target", "0..1"),
        (lambda: explore.state_hash([0.5, 0.5], labels=["x"]), "labels", "1 labels for 2"),
        (lambda: explore.page(open_browser=True), "open_browser", "path"),
        (lambda: explore.state_hash(q=[0.5, 0.5], logits=[1, 2]), "q", "softmax"),
    ],
)
def test_bad_arguments_are_clear_errors(call, argument, words):
    with pytest.raises(infoloss.InfolossError) as error:
        call()
    if argument is not None:
        assert error.value.argument == argument
    assert words in str(error.value)


def test_presets_are_the_tour_examples():
    presets = explore.tour_presets()
    assert [p["id"] for p in presets] == [p.key for p in examples.presets()]
    by_id = {p["id"]: p["hash"] for p in presets}
    assert "p=0.5,0.25,0.125,0.125&q=0.125,0.125,0.25,0.5" in by_id["huffman"]
    assert "logits=1,1,3" in by_id["softmax"] and "mode=logits" in by_id["softmax"]


def test_write_tour_page_replaces_its_copy(tmp_path):
    path = tmp_path / "build" / "infoloss-explore.html"
    path.parent.mkdir()
    path.write_text("old")
    assert explore.write_tour_page(path) == path
    html = path.read_text()
    assert html.startswith("<!doctype html>") and all(
        p["title"].split(":")[0] in html for p in explore.tour_presets()
    )


def test_the_explore_command_writes_the_page_and_prints_its_address(tmp_path):
    out = tmp_path / "page.html"
    result = CliRunner().invoke(
        main, ["explore", "--p", "1/2,1/4,1/8,1/8", "--q", "1/4,1/4,1/4,1/4", "--nats", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.resolve().as_uri() in result.output
    assert "p=0.5,0.25,0.125,0.125&q=0.25,0.25,0.25,0.25&labels=a,b,c,d&unit=nats" in out.read_text()
    result = CliRunner().invoke(main, ["explore", "--logits", "1,1,3", "--temperature", "2", "-o", str(out)])
    assert result.exit_code == 0 and "logits=1,1,3&temperature=2&target=2" in out.read_text()
    counts = tmp_path / "counts.csv"
    counts.write_text("rain,snow,sleet,hail\n3,11,1,15\n")
    result = CliRunner().invoke(
        main,
        ["explore", "--p-file", str(counts), "--q", "rain=.25,snow=.25,sleet=.25,hail=.25", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert (
        "p=0.1,0.36666666666666664,0.03333333333333333,0.5&q=0.25,0.25,0.25,0.25&labels=rain,snow,sleet,hail"
        in out.read_text()
    )


def test_page_takes_any_backend_and_mappings():
    torch = pytest.importorskip("torch")
    assert explore.state_hash(torch.tensor([0.25, 0.75], dtype=torch.float64)) == explore.state_hash(
        [0.25, 0.75]
    )
    assert "logits=1,2.5" in explore.state_hash(logits=torch.tensor([1.0, 2.5]))
    # A label one side lacks has probability 0 there, as in the measures.
    assert explore.state_hash({"a": 1.0}, {"a": 0.5, "b": 0.5}).startswith(
        "#mode=distributions&p=1,0&q=0.5,0.5&labels=a,b"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--p", "0,0"], "--p"),
        (["--p", "1,-1"], "--p item 2"),
        (["--logits", "1,2", "--temperature", "0"], "--temperature"),
        (["--temperature", "2"], "--temperature"),
        (["--p", "a=.5,b=.5", "--q", "0.5,0.5"], "label"),
    ],
)
def test_the_explore_command_reports_bad_input_in_one_line(tmp_path, args, message):
    result = CliRunner().invoke(main, ["explore", *args, "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.html").exists()


def test_open_uses_the_web_browser(tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    CliRunner().invoke(main, ["explore", "-o", str(tmp_path / "x.html"), "--open"])
    assert opened == [(tmp_path / "x.html").resolve().as_uri()]
    explore.page(path=tmp_path / "y.html", open_browser=True)
    assert opened[-1] == (tmp_path / "y.html").resolve().as_uri()


def test_the_widget_uses_the_same_javascript():
    pytest.importorskip("anywidget")
    widget = explore.widget([0.5, 0.5], [0.9, 0.1])
    assert widget.hash == explore.state_hash([0.5, 0.5], [0.9, 0.1])
    assert (
        "export default" in widget._esm
        and "function mount(" in widget._esm
        and "function huffmanCode(" in widget._esm
    )
    assert widget._css == explore.style()
    assert infoloss.explore is explore


def test_tour_page_note_says_where_the_page_is(tmp_path):
    path = tmp_path / "build" / "infoloss-explore.html"
    note = explore.tour_page_note(path)
    assert note.endswith(path.resolve().as_uri()) and path.exists()
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert "could not be written" in explore.tour_page_note(blocked / "page.html")


def test_the_tour_ends_by_writing_the_page_and_printing_its_address(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "infoloss-explore.html").write_text("an earlier copy")
    result = CliRunner().invoke(main, ["tour", "--topic", "coding"], env={"COLUMNS": "80"})
    page = tmp_path / "build" / "infoloss-explore.html"
    assert page.read_text().startswith("<!doctype html>")  # replaced
    assert (
        f"See and change these examples in your browser: {page.resolve().as_uri()}"
        in result.output.splitlines()
    )
