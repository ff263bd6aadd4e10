"""The digits demonstration's claims, as assertions on reduced runs (2 epochs, 2 seeds).

Each section function is called on its own so that each test takes a second or two; the full
runs (determinism, plots, JSON keys) are in test_cli.py and marked slow.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from infoloss import coding
from infoloss.demo.digits import (
    CLASSES,
    LABEL_SMOOTHING,
    _single_thread,
    code_labels,
    coder_probabilities,
    entropy_scale,
    entropy_scaled_step,
    load,
    logistic_regression_baseline,
    prequential_code,
    q_against_p,
    same_training,
)


@pytest.fixture(scope="module")
def data():
    return load(0)


@pytest.fixture(scope="module")
def section1(data):
    with _single_thread():
        return same_training(data, seed=0, epochs=2)


# --------------------------------------------------------------------------------------------
# Section 1
# --------------------------------------------------------------------------------------------


def test_kl_and_cross_entropy_training_end_at_the_same_parameters(section1):
    figures, _ = section1
    assert [k["target_kind"] for k in figures["target_kinds"]] == [
        "one-hot",
        "label smoothing 0.1",
        "distillation",
    ]
    for kind in figures["target_kinds"]:
        assert kind["parameter_difference"] < 1e-9, kind["target_kind"]
        assert kind["accuracy_cross_entropy_run"] == kind["accuracy_kl_run"]
    assert figures["max_param_diff"] == max(k["parameter_difference"] for k in figures["target_kinds"])
    # The comparison can fail: kl_div's default reduction='mean' (/ N x C) trains differently.
    assert figures["param_diff_with_mean_reduction"] > 1e-2


def test_the_losses_differ_by_the_batch_mean_target_entropy_at_every_step(section1):
    figures, _ = section1
    for kind in figures["target_kinds"]:
        ce, kl = np.array(kind["step_cross_entropy"]), np.array(kind["step_kl"])
        entropy = np.array(kind["step_batch_mean_target_entropy"])
        assert ce.size == kl.size == entropy.size == kind["steps"] == 2 * math.ceil(1347 / 64)
        np.testing.assert_allclose(ce - kl, entropy, rtol=0, atol=1e-9)
        assert kind["loss_gap_error"] <= 1e-9
    # Independent reference for the smoothed targets' entropy: SciPy's, of (0.91, 0.01 x 9).
    smoothed = figures["target_kinds"][1]
    row = np.full(CLASSES, LABEL_SMOOTHING / CLASSES)
    row[0] += 1 - LABEL_SMOOTHING
    np.testing.assert_allclose(
        smoothed["step_batch_mean_target_entropy"], scipy.stats.entropy(row), rtol=1e-13
    )
    assert figures["target_kinds"][0]["mean_target_entropy_nats"] == 0.0
    assert figures["target_kinds"][2]["mean_target_entropy_nats"] > 0.1  # distilled targets are soft


# --------------------------------------------------------------------------------------------
# Section 2
# --------------------------------------------------------------------------------------------


def test_entropy_scale_is_one_for_one_hot_and_zero_for_uniform_targets():
    assert entropy_scale([0.0, 0.0]) == 1.0
    assert entropy_scale([math.log(CLASSES)]) == pytest.approx(0.0, abs=1e-15)
    assert entropy_scale([0.0, math.log(CLASSES)]) == pytest.approx(0.5, abs=1e-15)


def test_entropy_scaled_step_compares_three_rules_over_the_seeds(data, section1):
    _, classifier = section1
    with _single_thread():
        figures = entropy_scaled_step(data, classifier, seed=0, epochs=2, repeats=2)
    assert [r["rule"] for r in figures["rules"]] == ["constant", "entropy-scaled", "constant, same mean step"]
    assert figures["seeds"] == [0, 1]
    # Half the examples carry votes, and not every voted example is unanimous.
    assert 0.3 < figures["voted_share"] < 0.5
    assert figures["target_entropy_nats_max"] == pytest.approx(math.log(5), rel=1e-12)
    # The scaled step is below the base step (some targets are soft), above zero.
    assert 0 < figures["mean_scaled_step"] < 0.2
    for rule in figures["rules"]:
        assert len(rule["accuracy_per_seed"]) == 2
        assert rule["accuracy_mean"] == pytest.approx(np.mean(rule["accuracy_per_seed"]), abs=0)
        assert rule["test_cross_entropy_nats_std"] == pytest.approx(
            np.std(rule["test_cross_entropy_nats_per_seed"], ddof=1), abs=0
        )
    # With two seeds no difference counts as clear.
    assert figures["verdict"].startswith("it did not help")


# --------------------------------------------------------------------------------------------
# Section 3
# --------------------------------------------------------------------------------------------


def test_test_labels_are_coded_within_64_bits_of_the_quantised_ideal(data, section1):
    _, classifier = section1
    figures = code_labels(data, classifier)
    assert figures["round_trip_ok"] is True
    assert 0 <= figures["coded_bits"] - figures["ideal_bits_quantized"] <= 64
    assert figures["coded_bits"] % 32 == 0  # whole 32-bit words
    # The ideal length is the test cross-entropy in bits times N (another code path: the loss).
    assert figures["ideal_bits"] == pytest.approx(figures["test_cross_entropy_bits_times_n"], rel=1e-12)
    assert abs(figures["quantization_gap_bits"]) < 1
    n = figures["labels"]
    assert n == 450
    assert figures["uniform_code_bits"] == pytest.approx(450 * math.log2(10), rel=1e-15)
    assert figures["fixed_length_bits"] == 1800 and figures["raw_bytes_bits"] == 3600
    counts = np.bincount(data.y_test, minlength=CLASSES)
    assert figures["order0_entropy_bits"] == pytest.approx(n * scipy.stats.entropy(counts, base=2), rel=1e-12)
    assert (
        figures["order0_entropy_bits"] <= figures["order0_huffman_bits"] < figures["order0_entropy_bits"] + n
    )
    assert figures["ideal_bits"] < figures["order0_entropy_bits"] / 2  # the classifier knows a lot


def test_coder_probabilities_are_the_ones_the_range_coder_uses():
    # Many coded symbols with q < 2^-24: the coder charges them 2^-24 or so, far from -log2 q.
    rng = np.random.default_rng(5)
    q = rng.dirichlet(np.full(CLASSES, 0.05), size=20000) + 1e-13
    q /= q.sum(axis=1, keepdims=True)
    symbols = np.concatenate([[rng.choice(CLASSES, p=row) for row in q[:100]], np.argmin(q[100:], axis=1)])
    message = coding.arithmetic_encode(symbols, q)
    quantised = coder_probabilities(q)
    assert 0 <= message.bits - coding.ideal_code_length(symbols, quantised) <= 64
    assert abs(message.bits - message.ideal_bits) > 10000  # the unquantised ideal is far off
    weights = quantised * 2**24
    np.testing.assert_array_equal(weights, np.round(weights))
    assert weights.min() >= 1
    np.testing.assert_array_equal(weights.sum(axis=1), 2**24)
    np.testing.assert_array_equal(coding.arithmetic_decode(message, q), symbols)


def test_prequential_code_is_shorter_than_the_uniform_code(data):
    with _single_thread():
        figures = prequential_code(data)
    assert figures["labels"] == 1797
    assert figures["prequential_round_trip_ok"] is True
    assert figures["prequential_coded_bits"] < figures["uniform_code_bits"] / 4
    assert 0 <= figures["prequential_coded_bits"] - figures["prequential_ideal_bits"] <= 64
    blocks = figures["blocks"]
    assert blocks[0]["trained_on"] == 0 and blocks[0]["bits_per_label"] == pytest.approx(
        math.log2(10), rel=1e-15
    )
    assert sum(b["labels"] for b in blocks) == 1797
    assert sum(b["block_ideal_bits"] for b in blocks) == pytest.approx(
        figures["prequential_ideal_bits"], rel=1e-12
    )
    # Learning shows: the last block costs far less per label than the second.
    assert blocks[-1]["bits_per_label"] < blocks[1]["bits_per_label"] / 5


def test_logistic_regression_baseline_reproduces_the_reference_point(data):
    figures = logistic_regression_baseline(data)
    assert round(figures["accuracy"], 4) == 0.9667
    assert round(figures["test_log_loss_nats"], 4) == 0.1234
    assert round(figures["test_label_bits"]) == 80


# --------------------------------------------------------------------------------------------
# Section 4
# --------------------------------------------------------------------------------------------


def test_q_against_p_cross_entropy_is_kl_for_one_hot_truth(data, section1):
    _, classifier = section1
    shown = q_against_p(data, classifier)["digits"]
    assert len(shown) == 4
    for digit in shown:
        q, p = np.array(digit["q"]), np.array(digit["p"])
        assert p[digit["true_label"]] == 1 and p.sum() == 1
        assert digit["entropy_p_bits"] == 0
        assert digit["cross_entropy_p_q_bits"] == pytest.approx(digit["kl_p_q_bits"], rel=1e-12)
        assert digit["kl_p_q_bits"] == pytest.approx(-math.log2(q[digit["true_label"]]), rel=1e-12)
        assert np.array(digit["image"]).shape == (8, 8)
    # Ordered: most confident first, then the median, then the two worst.
    costs = [d["kl_p_q_bits"] for d in shown]
    assert costs[0] <= costs[1] <= costs[3] <= costs[2]


def test_the_demo_losses_are_pytorchs_on_a_training_batch(data):
    # The claim rests on losses.cross_entropy and losses.kl_div(..., 'batchmean'); check both,
    # value and gradient, against torch.nn.functional on a batch of digits with soft targets.
    import torch
    import torch.nn.functional as F

    from infoloss import log_softmax, losses
    from infoloss.demo.digits import forward, init_params

    params = init_params(3)
    x = torch.from_numpy(data.x_train[:64])
    p = torch.softmax(
        torch.randn(64, CLASSES, dtype=torch.float64, generator=torch.Generator().manual_seed(1)), 1
    )
    ours = [
        losses.cross_entropy(forward(params, x), p),
        losses.kl_div(log_softmax(forward(params, x)), p, reduction="batchmean"),
    ]
    theirs = [
        F.cross_entropy(forward(params, x), p),
        F.kl_div(F.log_softmax(forward(params, x), dim=1), p, reduction="batchmean"),
    ]
    for mine, reference in zip(ours, theirs):
        assert mine.item() == pytest.approx(reference.item(), rel=1e-14)
        for g, h in zip(torch.autograd.grad(mine, params), torch.autograd.grad(reference, params)):
            torch.testing.assert_close(g, h, rtol=1e-12, atol=1e-15)
