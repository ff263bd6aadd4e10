"""infoloss.plot: every figure renders headless (Agg) and shows the right numbers.

The artists are read back: bar heights and widths against the library's values, line data
against infoloss.entropy / scipy, titles and labels naming the quantities.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy

import infoloss
from infoloss import coding, plot


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_distributions_bars_are_the_probabilities():
    p, q = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0], list(infoloss.softmax(np.linspace(-1, 2, 10)))
    ax = plot.distributions(p, q, base=2)
    p_bars, q_bars = ax.containers
    assert [bar.get_height() for bar in p_bars] == p
    assert [bar.get_height() for bar in q_bars] == pytest.approx(q, abs=0)
    assert all(a.get_x() < b.get_x() for a, b in zip(p_bars, q_bars))  # side by side, p first
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(i) for i in range(10)]
    ce = scipy_entropy(p) * 0 - math.log2(q[7])  # one-hot truth: H(p,q) = -log2 q_7
    assert ax.get_title() == f"H(p) = 0, H(p,q) = {ce:.4g}, KL(p‖q) = {ce:.4g} bits"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["p (truth)", "q (model)"]
    assert ax.get_ylabel() == "probability"


def test_distributions_of_labelled_mappings_and_p_alone():
    ax = plot.distributions(
        {"rain": 0.14, "snow": 0.37, "sleet": 0.03, "hail": 0.46},
        {"hail": 0.25, "rain": 0.25, "snow": 0.25, "sleet": 0.25},
    )
    assert [t.get_text() for t in ax.get_xticklabels()] == ["rain", "snow", "sleet", "hail"]
    assert [bar.get_height() for bar in ax.containers[0]] == [0.14, 0.37, 0.03, 0.46]
    ax = plot.distributions([0.5, 0.5])
    assert len(ax.containers) == 1 and ax.get_title() == "H(p) = 0.6931 nats"
    with pytest.raises(infoloss.InputError, match="p"):
        plot.distributions([0.5, 0.6])
    with pytest.raises(infoloss.InputError, match="labels"):
        plot.distributions([0.5, 0.5], labels=["x"])


def test_decomposition_stacks_entropy_and_kl_to_the_cross_entropy():
    p, q = np.array([[0.8, 0.1, 0.1], [0.36, 0.48, 0.16]]), np.array([[0.2, 0.2, 0.6], [1 / 3] * 3])
    ax = plot.decomposition(p, q, base=2, labels=["balls", "P vs uniform"])
    h_bars, kl_bars = ax.containers
    expected_h = scipy_entropy(p, axis=1, base=2)
    expected_kl = scipy_entropy(p, q, axis=1, base=2)
    assert [b.get_width() for b in h_bars] == pytest.approx(expected_h, rel=1e-12)
    assert [b.get_width() for b in kl_bars] == pytest.approx(expected_kl, rel=1e-12)
    assert [b.get_x() for b in kl_bars] == pytest.approx(expected_h, rel=1e-12)  # KL starts where H ends
    assert ax.get_xlabel() == "bits"
    rows = dict(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels())))
    assert rows == {1: "balls", 0: "P vs uniform"}  # the first row on top
    notes = [t.get_text() for t in ax.texts]
    assert notes == [f"H(p,q) = {v:.4g}" for v in expected_h + expected_kl]


def test_decomposition_plot_method_and_infinite_kl():
    parts = infoloss.decompose([0.5, 0.5], [1.0, 0.0])
    ax = parts.plot(title="support mismatch")
    (kl_bar,) = ax.containers[1]
    assert kl_bar.get_hatch() == "//" and ax.get_title() == "support mismatch"
    assert ax.texts[0].get_text() == "H(p,q) = ∞"
    with pytest.raises(infoloss.InputError, match="q"):
        plot.decomposition([0.5, 0.5])
    with pytest.raises(infoloss.InputError, match="base"):
        plot.decomposition(parts, base=2)


def test_huffman_tree_draws_every_codeword():
    p = {"a": 0.4, "b": 0.2, "c": 0.2, "d": 0.1, "e": 0.1}
    code = coding.huffman_code(p)
    ax = plot.huffman_tree(code, p)
    leaf_texts = {t.get_text().split("\n")[0]: t.get_text() for t in ax.texts if "\n" in t.get_text()}
    assert set(leaf_texts) == set(code)
    for label, word in code.items():
        assert leaf_texts[label] == f"{label}\n{word}\np = {p[label]:.4g}"
    # A complete code on 5 symbols has 2 * 5 - 2 edges, each labelled 0 or 1.
    assert len(ax.lines) == 8
    assert sorted(t.get_text() for t in ax.texts if t.get_text() in "01") == ["0"] * 4 + ["1"] * 4
    length = coding.expected_length(code, p)
    assert (
        ax.get_title()
        == f"Huffman code: L = {length:.4g} bits, H(p) = {scipy_entropy(list(p.values()), base=2):.4g} bits"
    )
    with pytest.raises(infoloss.InputError, match="is not a codeword"):
        plot.huffman_tree({"a": "01x"})


def test_entropy_curve_is_the_binary_entropy():
    ax = plot.entropy_curve(mark=[0.11, 0.5])
    x, y = ax.lines[0].get_data()
    assert y == pytest.approx([scipy_entropy([v, 1 - v], base=2) for v in x], abs=1e-15)
    assert y[0] == 0 and y[-1] == 0 and max(y) == 1.0
    assert ax.get_ylabel() == "entropy (bits)" and "binary entropy" in ax.get_title()
    offsets = ax.collections[0].get_offsets()
    assert list(offsets[:, 1]) == pytest.approx([scipy_entropy([0.11, 0.89], base=2), 1.0], rel=1e-12)
    nats = plot.entropy_curve(base=None)
    assert max(nats.lines[0].get_ydata()) == pytest.approx(math.log(2), rel=1e-15)
    with pytest.raises(infoloss.InputError, match="mark"):
        plot.entropy_curve(mark=[1.5])


def test_estimates_shows_the_bias_of_each_method():
    from infoloss import estimate

    p = [0.4, 0.3, 0.2, 0.05, 0.05]
    sizes, repeats = (10, 40, 160), 60
    ax = plot.estimates(p, methods=("plugin", "miller-madow"), sizes=sizes, repeats=repeats, seed=3)
    plugin, miller, zero = ax.lines
    assert (
        plugin.get_label() == "plugin"
        and miller.get_label() == "miller-madow"
        and zero.get_label() == "unbiased"
    )
    # Recompute the plug-in line one sample at a time, from the same draws.
    rng = np.random.default_rng(3)
    truth = scipy_entropy(p)
    for n, bias in zip(sizes, plugin.get_ydata()):
        counts = rng.multinomial(n, p, size=repeats)
        assert bias == pytest.approx(np.mean([scipy_entropy(c) for c in counts]) - truth, abs=1e-12)
    assert all(b < 0 for b in plugin.get_ydata())  # the plug-in estimate is biased low
    assert abs(miller.get_ydata()[-1]) < abs(plugin.get_ydata()[-1])  # Miller-Madow corrects most of it
    assert ax.get_xscale() == "log" and "bias" in ax.get_ylabel()
    assert estimate.METHODS  # the estimators plotted are infoloss.estimate's


def test_a_figure_saves_to_png(tmp_path):
    ax = plot.distributions([0.8, 0.1, 0.1], [0.2, 0.2, 0.6])
    path = tmp_path / "bars.png"
    ax.figure.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_importing_infoloss_plot_and_explore_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, infoloss; infoloss.plot; infoloss.explore; "
        "heavy = {'matplotlib', 'anywidget', 'torch', 'scipy'} & set(sys.modules); assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
