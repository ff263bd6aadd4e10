"""The tour of the seed claims: every claim reproduced, and the checks able to fail."""

import math

import numpy as np
import pytest

import infoloss
from infoloss import examples as tour
from infoloss.examples import figure, holds, identity


def all_claims():
    return [claim for section in tour.tour() for claim in section.claims]


def test_every_claim_of_every_seed_is_reproduced():
    sections = tour.tour()
    assert [s.seed for s in sections] == ["000", "001", "002", "003", "004"]
    failed = [c.statement for c in all_claims() if not c.ok]
    assert failed == []


@pytest.mark.parametrize(
    "printed",
    ["1.1055291211185652", "1.5949", "0.693", "1.79", "0.6390", "1.4996", "0.8605",
     "(0.1065, 0.1065, 0.7870)", "(.2, .2, .6)", "1.75"],
)
def test_every_figure_of_the_digest_is_among_the_claims(printed):
    assert any(claim.says.startswith(printed) and claim.ok for claim in all_claims())


@pytest.mark.parametrize(
    "phrase",
    ["CE - KL = H(p)", "identical steps", "one-hot", "uniform", "Huffman", "sigmoid and softmax",
     "NLL = CE", "CE = H + KL", "NLL o log_softmax", "maximising likelihood"],
)
def test_every_identity_of_the_digest_is_shown(phrase):
    assert any(phrase in claim.statement and claim.ok for claim in all_claims())


# --------------------------------------------------------------------------------------------
# The checks can fail
# --------------------------------------------------------------------------------------------


def test_figure_agrees_to_half_a_unit_of_the_last_printed_digit():
    assert figure("x", "0.6390", 0.639049, "").ok
    assert not figure("x", "0.6390", 0.639051, "").ok
    assert figure("x", "(.2, .6)", [0.2, 0.6], "").ok
    assert figure("x", "(.2, .6)", [0.2, 0.64], "").ok  # .64 rounds to the printed .6
    assert not figure("x", "(.2, .6)", [0.2, 0.66], "").ok


def test_a_sixteen_decimal_figure_must_be_met_exactly():
    value = infoloss.entropy([0.14, 0.37, 0.03, 0.46])
    assert figure("x", "1.1055291211185652", value, "").ok
    assert not figure("x", "1.1055291211185652", np.nextafter(value, 2.0), "").ok


def test_exact_figures_hold_to_rounding_only():
    assert figure("x", "1", 1.0, "", exact=True).ok
    assert not figure("x", "1", 1.0 + 1e-9, "", exact=True).ok
    assert figure("x", "0", -0.0, "", exact=True).computed == "0.0"


def test_figure_refuses_a_count_mismatch():
    with pytest.raises(ValueError, match="prints 2 figure"):
        figure("x", "(1, 2)", [1.0], "")


def test_identity_is_to_rounding_and_elementwise():
    assert identity("x", "", [1.0, 2.0], [1.0, 2.0 * (1 + 1e-14)], "").ok
    assert not identity("x", "", [1.0, 2.0], [1.0, 2.0 * (1 + 1e-9)], "").ok
    assert not identity("x", "", [1.0, 2.0], [1.0], "").ok


def test_holds_reports_the_condition():
    assert holds("x", "", True, "", "").ok
    assert not holds("x", "", np.bool_(False), "", "").ok


def test_a_wrong_kl_breaks_the_claims_that_use_it(monkeypatch):
    true_kl = tour.kl_divergence
    monkeypatch.setattr(tour, "kl_divergence", lambda *a, **k: true_kl(*a, **k) * (1 + 1e-6))
    failed = {c.statement for c in all_claims() if not c.ok}
    assert "... KL divergence" not in failed  # 0.8605 still rounds the same ...
    assert "KL is the expected log-ratio" in failed  # ... but the identities catch it
    assert "KL is the excess over the optimum H(p)" in failed


def test_a_wrong_softmax_breaks_the_softmax_figure(monkeypatch):
    true_softmax = tour.softmax
    monkeypatch.setattr(tour, "softmax", lambda z, **k: true_softmax(np.asarray(z) / 1.01, **k))  # a stray temperature
    failed = {c.statement for c in all_claims() if not c.ok}
    assert "Softmax of scores (1, 1, 3)" in failed


def test_the_losses_witnesses_are_compared_when_present(monkeypatch):
    monkeypatch.setattr(tour, "_losses", lambda: (lambda z, y: 0.0, lambda log_p, y: 0.0))
    claim = next(c for c in all_claims() if "NLL o log_softmax" in c.statement)
    assert not claim.ok and "losses.cross_entropy" in claim.code


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def test_finite_difference_matches_an_analytic_gradient():
    z = np.array([0.3, -1.2, 2.0])
    grad = tour._finite_difference(lambda v: float(np.sum(v**3)), z)
    np.testing.assert_allclose(grad, 3 * z**2, rtol=1e-8)


def test_canonical_code_is_prefix_free_with_the_given_lengths():
    lengths = {"a": 1, "b": 2, "c": 3, "d": 3}
    code = tour._canonical(lengths)
    assert {s: len(w) for s, w in code.items()} == lengths
    words = list(code.values())
    assert not any(u != w and w.startswith(u) for u in words for w in words)
    assert sum(2.0 ** -len(w) for w in words) == 1.0  # Kraft equality: a complete code


def test_prefix_code_lengths_are_optimal_for_the_dyadic_example():
    p = {"a": 1 / 2, "b": 1 / 4, "c": 1 / 8, "d": 1 / 8}
    code, _ = tour._prefix_code(p)
    assert sorted(len(w) for w in code.values()) == [1, 2, 3, 3]
    assert sum(p[s] * len(code[s]) for s in p) == 1.75 == -sum(v * math.log2(v) for v in p.values())
