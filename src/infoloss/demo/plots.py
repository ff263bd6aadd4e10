"""PNG figures of the digits demonstration (matplotlib, optional).

:func:`write_plots` writes ``kl_vs_ce_losses.png`` (section 1's loss curves and their gap),
``entropy_scaled_step.png`` (section 2) and ``q_against_p.png`` (section 4, the bars drawn by
:func:`infoloss.plot.distributions`). Figures are made with ``matplotlib.figure.Figure``
directly, so no pyplot state or GUI backend is touched.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # matplotlib is imported when the figures are drawn
    from matplotlib.figure import Figure as MplFigure

    from .digits import DigitsReport

__all__ = ["write_plots", "NO_MATPLOTLIB"]

NO_MATPLOTLIB = "plots skipped: matplotlib is not installed (pip install matplotlib, or 'infoloss[demo]')"


def write_plots(report: DigitsReport, directory: str | os.PathLike[str]) -> tuple[list[str], str | None]:
    """Write the PNGs into ``directory`` (created if needed): ``(paths written, note or None)``.

    Without matplotlib nothing is written and the note says so in one line.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return [], NO_MATPLOTLIB
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in (
        ("kl_vs_ce_losses.png", _losses),
        ("entropy_scaled_step.png", _step_rules),
        ("q_against_p.png", _q_against_p),
    ):
        figure = draw(Figure, report)
        path = directory / name
        figure.savefig(path, dpi=110, metadata={"Software": None})  # no version stamp: same bytes per seed
        written.append(str(path))
    return written, None


def _losses(Figure: type[MplFigure], report: DigitsReport) -> MplFigure:
    kinds = report.kl_vs_cross_entropy["target_kinds"]
    figure = Figure(figsize=(4.2 * len(kinds), 3.6), layout="constrained")
    axes = figure.subplots(1, len(kinds), squeeze=False)[0]
    for ax, kind in zip(axes, kinds):
        ax.plot(kind["step_cross_entropy"], label="cross-entropy H(p,q)", color="tab:purple", lw=1)
        ax.plot(kind["step_kl"], label="KL(p||q)", color="tab:blue", lw=1)
        ax.plot(kind["step_batch_mean_target_entropy"], label="batch mean H(p)", color="tab:orange", lw=1)
        ax.set_title(
            f"{kind['target_kind']}: max |θ_KL − θ_CE| = {kind['parameter_difference']:.0e}", fontsize=9
        )
        ax.set_xlabel("step")
        ax.set_ylabel("nats")
    axes[0].legend(fontsize=8)
    figure.suptitle("KL and cross-entropy training: curves apart by H(p), same parameters", fontsize=10)
    return figure


def _step_rules(Figure: type[MplFigure], report: DigitsReport) -> MplFigure:
    rules = report.entropy_scaled_step["rules"]
    figure = Figure(figsize=(8, 3.4), layout="constrained")
    left, right = figure.subplots(1, 2)
    names = [rule["rule"].replace(", ", ",\n") for rule in rules]
    for ax, metric, label in (
        (left, "accuracy", "test accuracy"),
        (right, "test_cross_entropy_nats", "test cross-entropy (nats)"),
    ):
        means = [rule[f"{metric}_mean"] for rule in rules]
        errors = [rule[f"{metric}_std"] for rule in rules]
        ax.bar(names, means, yerr=errors, capsize=4, color=["tab:gray", "tab:green", "tab:blue"])
        for position, rule in enumerate(rules):
            values = rule[f"{metric}_per_seed"]
            ax.plot([position] * len(values), values, "k.", ms=4)
        low = min(min(rule[f"{metric}_per_seed"]) for rule in rules)
        high = max(max(rule[f"{metric}_per_seed"]) for rule in rules)
        ax.set_ylim(low - 0.5 * (high - low + 1e-3), high + 0.5 * (high - low + 1e-3))
        ax.set_ylabel(label)
        ax.tick_params(axis="x", labelsize=8)
    figure.suptitle(
        f"Entropy-scaled step, seeds {report.entropy_scaled_step['seeds']} (mean ± std, dots: seeds)",
        fontsize=10,
    )
    return figure


def _q_against_p(Figure: type[MplFigure], report: DigitsReport) -> MplFigure:
    from .. import plot

    digits = report.q_against_p["digits"]
    figure = Figure(figsize=(7, 2.3 * len(digits)), layout="constrained")
    axes = figure.subplots(len(digits), 2, squeeze=False, width_ratios=[1, 2.6])
    classes = range(len(digits[0]["q"]))
    for (image_ax, bar_ax), digit in zip(axes, digits):
        image_ax.imshow(digit["image"], cmap="gray_r", vmin=0, vmax=16)
        image_ax.set_axis_off()
        image_ax.set_title(f"test #{digit['test_index']}: a {digit['true_label']}", fontsize=9)
        # infoloss.plot's bars: p (the one-hot truth) red, q (the prediction) blue; H, H(p,q), KL in bits.
        plot.distributions(digit["p"], digit["q"], labels=list(classes), base=2, ax=bar_ax)
        bar_ax.set_xlabel("digit")
        bar_ax.title.set_fontsize(9)
    return figure
