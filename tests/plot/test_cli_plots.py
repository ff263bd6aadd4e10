"""``--plot FILE`` of ``infoloss measure`` and ``infoloss code`` (infoloss.cli._plots): the saved figures."""

from __future__ import annotations

import pytest
from scipy.stats import entropy as scipy_entropy

from infoloss import coding
from infoloss.cli._plots import save_code_plot, save_measure_plot
from infoloss.cli.inputs import InputError, read

PNG = b"\x89PNG\r\n\x1a\n"


def test_measure_plot_shows_p_q_and_the_decomposition_of_every_row(tmp_path):
    p = read("p", "rain=.14,snow=.37,sleet=.03,hail=.46", None)
    q = read("q", "rain=.25,snow=.25,sleet=.25,hail=.25", None)
    figure = save_measure_plot(tmp_path / "m.png", p, q, base=2.0)
    assert (tmp_path / "m.png").read_bytes()[:8] == PNG
    bars, stack = figure.axes
    assert [b.get_height() for b in bars.containers[0]] == [0.14, 0.37, 0.03, 0.46]
    assert [t.get_text() for t in bars.get_xticklabels()] == ["rain", "snow", "sleet", "hail"]
    (kl_bar,) = stack.containers[1]
    assert kl_bar.get_width() == pytest.approx(
        scipy_entropy([0.14, 0.37, 0.03, 0.46], [0.25] * 4, base=2), rel=1e-12
    )
    assert stack.get_xlabel() == "bits"


def test_measure_plot_of_several_rows_and_counts(tmp_path):
    p = read("p", "3,11,1,15", None)
    q = read("q", "1,1,1,1", None)
    figure = save_measure_plot(tmp_path / "m.svg", p, q, normalize=True)
    assert (tmp_path / "m.svg").read_text().lstrip().startswith("<?xml")
    assert [b.get_height() for b in figure.axes[0].containers[0]] == pytest.approx(
        [0.1, 11 / 30, 1 / 30, 0.5], rel=1e-15
    )
    p_only = save_measure_plot(tmp_path / "p.png", read("p", "0.5,0.5", None), None)
    assert len(p_only.axes) == 1 and p_only.axes[0].get_title() == "H(p) = 0.6931 nats"


def test_code_plot_draws_the_tree_of_the_code_used(tmp_path):
    p = read("p", "a=.5,b=.25,c=.125,d=.125", None)
    q = read("q", "a=.25,b=.25,c=.25,d=.25", None)
    figure = save_code_plot(tmp_path / "c.png", p, q)
    leaves = sorted(t.get_text() for t in figure.axes[0].texts if "\n" in t.get_text())
    code = coding.huffman_code({"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25})
    assert leaves == sorted(
        f"{s}\n{w}\np = {v:.4g}" for (s, w), v in zip(code.items(), [0.5, 0.25, 0.125, 0.125])
    )
    assert figure.axes[0].get_title() == "code built for q, used under p: L = 2 bits, H(p) = 1.75 bits"
    own = save_code_plot(tmp_path / "own.png", read("p", "1/2,1/4,1/8,1/8", None))
    assert own.axes[0].get_title() == "Huffman code: L = 1.75 bits, H(p) = 1.75 bits"


def test_a_bad_plot_file_is_a_one_line_error(tmp_path):
    p = read("p", "0.5,0.5", None)
    with pytest.raises(InputError, match=r"--plot .*nowhere"):
        save_measure_plot(tmp_path / "nowhere" / "m.png", p, None)
    with pytest.raises(InputError, match=r"--plot .*m\.xyz"):
        save_measure_plot(tmp_path / "m.xyz", p, None)


def test_too_many_outcomes_to_draw_is_refused(tmp_path):
    p = read("p", ",".join(["1"] * 65), None)
    with pytest.raises(InputError, match="at most 64 outcomes"):
        save_code_plot(tmp_path / "c.png", p, normalize=True)
    assert not (tmp_path / "c.png").exists()


def test_measure_and_code_take_plot(tmp_path):
    from click.testing import CliRunner

    from infoloss.cli.main import main

    runner = CliRunner()
    out = tmp_path / "kl.png"
    result = runner.invoke(
        main,
        [
            "measure",
            "--p",
            "red=.8,green=.1,yellow=.1",
            "--q",
            "red=.2,green=.2,yellow=.6",
            "--bits",
            "--json",
            "--plot",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == PNG
    tree = tmp_path / "tree.svg"
    result = runner.invoke(main, ["code", "--p", "1/2,1/4,1/8,1/8", "--plot", str(tree)])
    assert result.exit_code == 0, result.output
    assert "<svg" in tree.read_text()
    result = runner.invoke(
        main, ["code", "--p", "0.5,0.5", "--plot", str(tmp_path / "no" / "such" / "dir.png")]
    )
    assert result.exit_code == 2 and "--plot" in result.output
