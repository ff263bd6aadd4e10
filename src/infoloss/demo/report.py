"""The digits demonstration as rich panels (the terminal report) and as a JSON document.

:func:`render` turns a :class:`~infoloss.demo.digits.DigitsReport` into one rich renderable
(a panel per section); :func:`to_json` is the ``--json`` document; :func:`text_bars` draws a
predicted distribution ``Q`` against the one-hot ``P`` with block characters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from .digits import DigitsReport

__all__ = ["render", "to_json", "text_bars"]

BAR_WIDTH = 16
SHADES = " .:-=+*#%@"  # pixel intensity 0..16, dark to bright


def to_json(report: DigitsReport) -> str:
    """The report's figures as an indented JSON document (the same for the same seed).

    Step-by-step loss curves are included (``step_cross_entropy``, ``step_kl``,
    ``step_batch_mean_target_entropy``), so the document is a few hundred kB with the defaults.
    """
    return json.dumps(report.as_dict(), indent=1, allow_nan=False)


def render(report: DigitsReport) -> Group:
    """Every section as a rich panel, plus the settings line and the run time."""
    settings = report.settings
    heading = Text.assemble(
        ("infoloss demo digits", "bold"),
        f": scikit-learn's 1797 handwritten 8x8 digits, {settings['train_size']} for training and "
        f"{settings['test_size']} for testing ({settings['split']}); {settings['model']}, "
        f"{settings['optimizer']}, learning rate {settings['learning_rate']}, batches of {settings['batch_size']}, "
        f"{settings['epochs']} epochs, {settings['dtype']}, seed {settings['seed']}.",
    )
    parts: list[RenderableType] = [
        heading,
        _same_training(report.kl_vs_cross_entropy),
        _entropy_scaled(report.entropy_scaled_step),
        _coding(report.label_coding, report.prequential, report.baseline),
        _q_against_p(report.q_against_p),
    ]
    footer = Text(f"{report.seconds:.1f} s", style="dim")
    for path in report.plot_files:
        footer.append(f"\nwrote {path}", style="dim")
    for note in report.notes:
        footer.append(f"\n{note}", style="yellow")
    parts.append(footer)
    return Group(*parts)


def text_bars(q: Sequence[float], true_label: int, width: int = BAR_WIDTH) -> Text:
    """Ten rows ``digit | bar of q | q``, the true digit (where ``P = 1``) marked ``<- P``.

    >>> print(text_bars([0.5, 0.5] + [0.0] * 8, 1, width=4).plain.splitlines()[1])
    1 ██   0.500 <- P = 1
    """
    text = Text()
    for digit, probability in enumerate(q):
        filled = round(probability * width)
        style = "green" if digit == true_label else "cyan"
        text.append(f"{digit} ")
        text.append("█" * filled + " " * (width - filled), style=style)
        text.append(f" {probability:.3f}")
        if digit == true_label:
            text.append(" <- P = 1", style="bold green")
        if digit < len(q) - 1:
            text.append("\n")
    return text


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


def _same_training(figures: dict) -> Panel:
    table = Table(expand=True)
    for heading in (
        "targets",
        "mean H(p)\nnats",
        "max |θ_KL − θ_CE|\nafter training",
        "max over steps of\n|CE − KL − mean H(p)|",
        "CE, KL\nlast epoch",
        "test accuracy\nCE run / KL run",
    ):
        table.add_column(heading, justify="right" if heading != "targets" else "left")
    for kind in figures["target_kinds"]:
        table.add_row(
            kind["target_kind"],
            f"{kind['mean_target_entropy_nats']:.4f}",
            f"{kind['parameter_difference']:.1e}",
            f"{kind['loss_gap_error']:.1e}",
            f"{kind['epoch_mean_cross_entropy'][-1]:.4f}, {kind['epoch_mean_kl'][-1]:.4f}",
            f"{kind['accuracy_cross_entropy_run']:.4f} / {kind['accuracy_kl_run']:.4f}",
        )
    explanation = Text(
        "Each row: two trainings from the same initialisation on the same batches, one on "
        f"{figures['cross_entropy_call']}, one on {figures['kl_call']}. KL = CE − H(p), and H(p) does not "
        "depend on the parameters: the steps are the same, and the two loss curves differ by the batch's mean "
        "target entropy at every step.",
        style="italic",
    )
    pitfall = Text(
        f"With kl_div's default reduction='mean' (÷ N×C) instead, the parameters end "
        f"{figures['param_diff_with_mean_reduction']:.2f} apart: every step is 1/C as long.",
        style="dim",
    )
    return Panel(
        Group(explanation, table, pitfall),
        title="[bold]1. KL and cross-entropy give the same training",
        title_align="left",
    )


def _entropy_scaled(figures: dict) -> Panel:
    table = Table(expand=True)
    table.add_column("step rule")
    table.add_column("test accuracy\nmean ± std", justify="right")
    table.add_column("test cross-entropy (nats)\nmean ± std", justify="right")
    for rule in figures["rules"]:
        table.add_row(
            rule["rule"],
            f"{rule['accuracy_mean']:.4f} ± {rule['accuracy_std']:.4f}",
            f"{rule['test_cross_entropy_nats_mean']:.4f} ± {rule['test_cross_entropy_nats_std']:.4f}",
        )
    seeds = figures["seeds"]
    body = Group(
        Text(
            f"Suggestion: {figures['suggestion']}. Used: {figures['scaling']} ({figures['why']}).",
            style="italic",
        ),
        Text(
            f"Targets: {figures['targets']}; mean H(p) {figures['target_entropy_nats_mean']:.3f} nats, "
            f"at most {figures['target_entropy_nats_max']:.3f}; the scaled step averages "
            f"{figures['mean_scaled_step']:.4f}. Seeds {seeds[0]}..{seeds[-1]} (initialisation and batch order)."
        ),
        table,
        Text(figures["verdict"], style="bold"),
    )
    return Panel(body, title="[bold]2. The entropy-scaled step", title_align="left")


def _coding(figures: dict, prequential: dict, baseline: dict) -> Panel:
    n = figures["labels"]
    table = Table(expand=True)
    table.add_column(f"code for the {n} test labels")
    table.add_column("bits", justify="right")
    table.add_column("bits / label", justify="right")
    rows = [
        ("arithmetic-coded under Q (actual size)", figures["coded_bits"]),
        ("  ideal under the coder's quantised Q, Σ −log2 Q̂(y)", figures["ideal_bits_quantized"]),
        ("  ideal under Q, Σ −log2 Q(y)", figures["ideal_bits"]),
        ("  test cross-entropy in bits × N", figures["test_cross_entropy_bits_times_n"]),
        ("uniform code, log2 10 per label", figures["uniform_code_bits"]),
        ("fixed-length 4-bit codewords", figures["fixed_length_bits"]),
        ("order-0: N × H(label frequencies)", figures["order0_entropy_bits"]),
        ("order-0 Huffman code of the frequencies", figures["order0_huffman_bits"]),
        ("order-0 arithmetic code of the frequencies", figures["order0_arithmetic_bits"]),
        ("gzip -9 of the label bytes", figures["gzip_bits"]),
        ("xz -9 of the label bytes", figures["xz_bits"]),
        ("the label bytes themselves", figures["raw_bytes_bits"]),
    ]
    for name, bits in rows:
        table.add_row(name, f"{bits:.2f}" if isinstance(bits, float) else str(bits), f"{bits / n:.4f}")
    check = "✓" if figures["round_trip_ok"] else "✗ FAILED"
    summary = Text(
        f"Classifier: test accuracy {figures['test_accuracy']:.4f}, test cross-entropy "
        f"{figures['test_cross_entropy_bits_per_label']:.4f} bits per label. Coded minus quantised ideal: "
        f"{figures['coded_minus_ideal_quantized_bits']:.2f} bits (the coder's final words); quantisation adds "
        f"{figures['quantization_gap_bits']:.2e} bits. Decoded back: {check}. Order-0 codes leave out the "
        "frequency table; gzip/xz include their headers."
    )
    blocks = Table(
        expand=True, title="prequential code of all labels (learn from what was sent, code the next block)"
    )
    blocks.add_column("labels")
    blocks.add_column("model fitted on", justify="right")
    blocks.add_column("bits", justify="right")
    blocks.add_column("bits / label", justify="right")
    for block in prequential["blocks"]:
        model = "uniform" if block["trained_on"] == 0 else f"{block['trained_on']} labels"
        blocks.add_row(
            f"{block['first'] + 1}..{block['last'] + 1}",
            model,
            f"{block['block_ideal_bits']:.1f}",
            f"{block['bits_per_label']:.3f}",
        )
    check = "✓" if prequential["prequential_round_trip_ok"] else "✗ FAILED"
    total = Text(
        f"All {prequential['labels']} labels in one arithmetic-coded stream: "
        f"{prequential['prequential_coded_bits']} bits ({prequential['prequential_bits_per_label']:.3f} per label; "
        f"ideal {prequential['prequential_ideal_bits']:.1f}) "
        f"against {prequential['uniform_code_bits']:.1f} for the uniform code; decoded back: {check}. This is model + "
        "data: the receiver refits each model from the labels it has decoded."
    )
    context = Text(
        f"For context, {baseline['model']} on the same split: accuracy {baseline['accuracy']:.4f}, test log-loss "
        f"{baseline['test_log_loss_nats']:.4f} nats, {baseline['test_label_bits']:.1f} bits for the test labels.",
        style="dim",
    )
    return Panel(
        Group(summary, table, blocks, total, context),
        title="[bold]3. Labels coded at the model's cross-entropy",
        title_align="left",
    )


def _q_against_p(figures: dict) -> Panel:
    cards = []
    for digit in figures["digits"]:
        image = Text(
            "\n".join(
                "".join(SHADES[min(9, value * 10 // 17)] * 2 for value in row) for row in digit["image"]
            )
        )
        right = digit["true_label"] == digit["predicted_label"]
        verdict = "right" if right else f"predicted {digit['predicted_label']}"
        caption = Text(
            f"test digit #{digit['test_index']}: a {digit['true_label']} ({verdict})\n"
            f"H(P) = {digit['entropy_p_bits']:.0f}, H(P,Q) = KL(P||Q) = {digit['kl_p_q_bits']:.4f} bits"
        )
        grid = Table.grid(padding=(0, 2))
        grid.add_row(image, text_bars(digit["q"], digit["true_label"]))
        cards.append(Panel(Group(caption, grid), expand=False))
    explanation = Text(
        "Bars: the classifier's predicted Q for each digit; P is one-hot on the true digit, so H(P) = 0 and the "
        "cross-entropy H(P,Q) is all KL(P||Q): the bits the label costs under a code built from Q.",
        style="italic",
    )
    return Panel(Group(explanation, Columns(cards)), title="[bold]4. Q against P", title_align="left")
