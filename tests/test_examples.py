"""The worked examples as data: every claim reproduced, each source named in plain words, and
the comparisons able to fail."""

import json
import math

import numpy as np
import pytest

import infoloss
from infoloss import examples
from infoloss.examples import CONDITION, EXACT, IDENTITY, PRINTED, agree, rounds_to


def all_checks():
    return [check for _, checks in examples.check_all() for check in checks]


def test_every_claim_of_every_example_is_reproduced():
    checks = all_checks()
    assert len(checks) == 40
    assert [c.claim.statement for c in checks if not c.ok] == []


def test_topics_select_examples():
    assert examples.topics() == ["kl-loss", "weather", "coding", "loss-functions", "likelihood"]
    chosen = examples.check_all(["coding", "weather"])
    assert [e.topic for e, _ in chosen] == ["weather", "coding"]  # tour order, not the order asked


@pytest.mark.parametrize(
    "printed",
    [
        "1.1055291211185652",
        "1.5949",
        "0.693",
        "1.79",
        "0.6390",
        "1.4996",
        "0.8605",
        "(0.1065, 0.1065, 0.7870)",
        "(.2, .2, .6)",
        "1.75",
    ],
)
def test_every_printed_figure_of_the_texts_is_among_the_claims(printed):
    assert any(check.claim.says == printed and check.ok for check in all_checks())


@pytest.mark.parametrize(
    "phrase",
    [
        "CE - KL = H(p)",
        "identical steps",
        "one-hot",
        "uniform",
        "Huffman",
        "sigmoid and softmax",
        "NLL = CE",
        "CE = H + KL",
        "NLL o log_softmax",
        "maximising likelihood",
    ],
)
def test_every_identity_of_the_texts_is_shown(phrase):
    assert any(phrase in check.claim.statement and check.ok for check in all_checks())


def test_claims_are_data_with_a_known_precision_and_inputs_that_are_plain_numbers():
    for example in examples.EXAMPLES:
        for claim in example.claims:
            assert claim.precision in (PRINTED, EXACT, IDENTITY, CONDITION)
            json.dumps(claim.inputs)  # plain lists, dicts and numbers: usable by a web page
            assert claim.statement and claim.says and claim.code


def test_each_example_says_where_its_numbers_come_from_in_plain_words():
    """No project-internal names: a learner never heard of the files the project grew from."""
    for example in examples.EXAMPLES:
        assert example.source.startswith(("a blog post", "a Q&A thread"))
        text = " ".join(
            [example.title, example.source, example.summary]
            + [c.statement + c.says + c.code for c in example.claims]
        )
        for word in ("seed", "DIGEST", "purple", "orange", "blue"):
            assert word.lower() not in text.lower(), (example.topic, word)
    assert "seed" not in (examples.__doc__ or "").lower()


def test_presets_are_distributions_or_logits():
    presets = examples.presets()
    assert len({p.key for p in presets}) == len(presets) >= len(examples.EXAMPLES)
    for preset in presets:
        assert (preset.p is not None) or (preset.logits is not None)
        for side in (preset.p, preset.q):
            if side is not None:
                assert math.fsum(side) == pytest.approx(1, abs=1e-12)
                assert preset.labels is None or len(preset.labels) == len(side)
        if preset.p is not None and preset.q is not None:
            assert len(preset.p) == len(preset.q)
        if preset.target is not None:
            assert 0 <= preset.target < len(preset.logits)
        assert preset.unit in ("bits", "nats")
    balls = next(p for p in presets if p.key == "balls")
    assert infoloss.kl_divergence(balls.p, balls.q) == pytest.approx(0.8605, abs=5e-5)
    assert any(p.key == "huffman" and p.p == (0.5, 0.25, 0.125, 0.125) for p in presets)


# --------------------------------------------------------------------------------------------
# The comparisons can fail
# --------------------------------------------------------------------------------------------


def test_a_printed_figure_is_met_to_half_a_unit_of_its_last_digit():
    assert rounds_to("0.6390", 0.639049)[0]
    assert not rounds_to("0.6390", 0.639051)[0]
    assert rounds_to("(.2, .6)", [0.2, 0.6])[0]
    assert rounds_to("(.2, .6)", [0.2, 0.64])[0]  # .64 rounds to the printed .6
    assert not rounds_to("(.2, .6)", [0.2, 0.66])[0]


def test_a_sixteen_decimal_figure_must_be_met_exactly():
    value = infoloss.entropy([0.14, 0.37, 0.03, 0.46])
    assert rounds_to("1.1055291211185652", value)[0]
    assert not rounds_to("1.1055291211185652", np.nextafter(value, 2.0))[0]


def test_exact_figures_hold_to_rounding_only():
    assert rounds_to("1", 1.0, exact=True)[0]
    assert not rounds_to("1", 1.0 + 1e-9, exact=True)[0]
    assert rounds_to("0", -0.0, exact=True) == (True, "0.0")


def test_a_figure_count_mismatch_is_an_error():
    with pytest.raises(ValueError, match="states 2 figure"):
        rounds_to("(1, 2)", [1.0])


def test_identities_are_to_rounding_and_elementwise():
    assert agree([1.0, 2.0], [1.0, 2.0 * (1 + 1e-14)])[0]
    assert not agree([1.0, 2.0], [1.0, 2.0 * (1 + 1e-9)])[0]
    assert not agree([1.0, 2.0], [1.0])[0]


def test_a_condition_is_what_its_function_returns():
    claim = examples.EXAMPLES[1].claims[3]
    assert claim.precision == CONDITION
    wrong = examples.Claim(
        claim.statement,
        {"p": [0.5, 0.5], "good": [0.25, 0.75], "poor": [0.5, 0.5]},
        claim.says,
        CONDITION,
        claim.code,
        claim.compute,
    )
    assert claim.check().ok and not wrong.check().ok  # the poor model is exact here: KL 0


def test_a_wrong_kl_breaks_the_claims_that_use_it(monkeypatch):
    true_kl = examples.kl_divergence
    monkeypatch.setattr(examples, "kl_divergence", lambda *a, **k: true_kl(*a, **k) * (1 + 1e-6))
    failed = {c.claim.statement for c in all_checks() if not c.ok}
    assert "... the KL divergence" not in failed  # 0.8605 still rounds the same ...
    assert "KL is the expected log-ratio" in failed  # ... but the identities catch it
    assert "KL is the excess over the optimum H(p)" in failed


def test_a_wrong_softmax_breaks_the_softmax_figure(monkeypatch):
    true_softmax = examples.softmax
    monkeypatch.setattr(
        examples, "softmax", lambda z, **k: true_softmax(np.asarray(z) / 1.01, **k)
    )  # a stray temperature
    failed = {c.claim.statement for c in all_checks() if not c.ok}
    assert "Softmax of scores (1, 1, 3)" in failed


def test_a_wrong_loss_breaks_the_log_softmax_identity(monkeypatch):
    monkeypatch.setattr(examples.losses, "nll_loss", lambda log_p, y: 0.0)
    check = next(c for c in all_checks() if "NLL o log_softmax" in c.claim.statement)
    assert not check.ok


def test_a_wrong_huffman_code_breaks_the_coding_claims(monkeypatch):
    monkeypatch.setattr(examples.coding, "huffman_code", lambda p: dict.fromkeys(p, "00"))  # 2 bits each
    failed = {c.claim.statement for c in all_checks() if not c.ok}
    assert "The Huffman code for p = (1/2, 1/4, 1/8, 1/8) averages" in failed
    assert "No code does better: the optimal average length is the entropy" in failed


def test_a_claim_whose_computation_raises_is_a_failed_check(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("broken on purpose")

    monkeypatch.setattr(examples, "entropy", broken)
    failed = [c for c in all_checks() if not c.ok]
    assert "The weather distribution's entropy, from a Python dict" in {c.claim.statement for c in failed}
    assert any(c.computed == "raised ValueError: broken on purpose" for c in failed)


def test_finite_difference_matches_an_analytic_gradient():
    z = np.array([0.3, -1.2, 2.0])
    grad = examples._finite_difference(lambda v: float(np.sum(v**3)), z)
    np.testing.assert_allclose(grad, 3 * z**2, rtol=1e-8)
