"""The worked examples, as data: what five texts on entropy, cross-entropy and KL divergence
claim, the numbers each claim is about, and the infoloss calls that check it.

The texts are a Q&A thread (why a KL-divergence loss "adds a negative entropy") and four blog
posts (cross-entropy and KL with a weather forecast; entropy from the deep-learning point of
view with a handwritten digit and Huffman codes; loss functions with a coin, a die and a bag of
coloured balls; KL, cross-entropy and likelihood). Each :class:`Example` says in plain words
where its numbers come from, and holds:

- ``claims``: each a :class:`Claim` with the ``statement`` in words, its ``inputs`` (name ->
  the numbers, as plain lists), what the text ``says`` (a figure as printed, or a formula),
  the ``precision`` it must be met to, the ``code`` (the infoloss calls, as text) and
  ``compute``, the function of the inputs that computes it now;
- ``presets``: the example's distributions p and q, ready for an interactive page.

``claim.check()`` computes one claim; :func:`check_all` computes them all. Nothing on the
computed side is written down: change the library and a check fails. ``infoloss tour``
prints them (:mod:`infoloss.cli.tour`); ``infoloss explore`` offers the presets.

>>> [example.topic for example in EXAMPLES]
['kl-loss', 'weather', 'coding', 'loss-functions', 'likelihood']
>>> checks = check_all()
>>> sum(check.ok for _, results in checks for check in results), sum(len(r) for _, r in checks)
(40, 40)
>>> claim = EXAMPLES[3].claims[4]
>>> claim.statement, claim.inputs["p"], claim.says, claim.precision
('A bag of balls (red .8, green .1, yellow .1): the entropy of the truth', [0.8, 0.1, 0.1], '0.6390', 'as printed')
>>> claim.check().computed
'0.639032 nats'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import coding, losses
from ._typing import ArrayLike
from .measures import cross_entropy, decompose, entropy, kl_divergence
from .special import log_softmax, softmax

__all__ = [
    "EXAMPLES",
    "Example",
    "Claim",
    "Check",
    "Preset",
    "check_all",
    "presets",
    "topics",
    "PRINTED",
    "EXACT",
    "IDENTITY",
    "CONDITION",
]

# How closely a computed value must meet what the text says (Claim.precision):
PRINTED = "as printed"  # each figure to half a unit of its last printed digit
EXACT = "exact"  # a figure exact in mathematics ("0", "1 bit"): to rounding
IDENTITY = "identity"  # two computations of one quantity: equal to rounding, elementwise
CONDITION = "condition"  # an inequality or ordering, checked on computed numbers

# "To rounding": float64 sums of a handful of terms agree far closer than this.
IDENTITY_RTOL = 1e-12
IDENTITY_ATOL = 1e-14


@dataclass(frozen=True)
class Check:
    """What infoloss computes for a claim, formatted, and whether it meets the claim."""

    claim: Claim
    computed: str
    ok: bool


@dataclass(frozen=True)
class Claim:
    """One claim of a text, and how to check it.

    ``compute(**inputs)`` returns, by ``precision``: the value(s) for :data:`PRINTED` and
    :data:`EXACT`; a pair ``(lhs, rhs)`` for :data:`IDENTITY`; a pair ``(holds, description)``
    for :data:`CONDITION`.
    """

    statement: str  # the claim, in words
    inputs: Mapping[str, Any]  # the numbers it is about, by name
    says: str  # what the text states: a figure as printed, or a formula
    precision: str  # PRINTED, EXACT, IDENTITY or CONDITION
    code: str  # the infoloss calls that compute it, as text
    compute: Callable[..., Any] = field(repr=False)
    unit: str = ""  # "nats", "bits", ... for figures

    def check(self) -> Check:
        """Compute the claim now and compare it with what the text says.

        An error while computing is a failed check that names the error (the tour shows it as a
        mismatch instead of stopping).
        """
        try:
            result = self.compute(**self.inputs)
        except Exception as error:  # noqa: BLE001 - any failure of the library is a failed claim
            return Check(self, f"raised {type(error).__name__}: {error}", False)
        if self.precision == IDENTITY:
            ok, computed = agree(*result)
        elif self.precision == CONDITION:
            ok, computed = bool(result[0]), result[1]
        else:
            ok, computed = rounds_to(self.says, result, exact=self.precision == EXACT)
            computed += f" {self.unit}" if self.unit else ""
        return Check(self, computed, ok)


@dataclass(frozen=True)
class Preset:
    """Numbers from an example, for the explorer page: distributions p and q, or logits.

    ``p``/``q`` are distributions (tuples summing to 1) or None; ``logits`` (with ``target``,
    the true class) is for the page's logits mode, where q = softmax(logits); ``unit`` the
    unit the text uses ("bits" or "nats").
    """

    key: str  # a short id, unique among the presets
    title: str
    p: tuple[float, ...] | None = None
    q: tuple[float, ...] | None = None
    labels: tuple[str, ...] | None = None
    logits: tuple[float, ...] | None = None
    target: int | None = None
    unit: str = "bits"


@dataclass(frozen=True)
class Example:
    """The worked examples of one text."""

    topic: str  # a short name: `infoloss tour --topic weather`
    title: str
    source: str  # where the numbers come from, in plain words
    summary: str
    claims: tuple[Claim, ...]
    presets: tuple[Preset, ...] = ()


def check_all(topics_wanted: Sequence[str] | None = None) -> list[tuple[Example, tuple[Check, ...]]]:
    """Check every claim of every example (or of the examples with the given topics).

    >>> [(example.topic, all(check.ok for check in checks)) for example, checks in check_all(["weather"])]
    [('weather', True)]
    """
    chosen = [e for e in EXAMPLES if not topics_wanted or e.topic in topics_wanted]
    return [(example, tuple(claim.check() for claim in example.claims)) for example in chosen]


def presets() -> list[Preset]:
    """Every example's p, q pairs, in tour order."""
    return [preset for example in EXAMPLES for preset in example.presets]


def topics() -> list[str]:
    """The examples' short names, in tour order.

    >>> topics()
    ['kl-loss', 'weather', 'coding', 'loss-functions', 'likelihood']
    """
    return [example.topic for example in EXAMPLES]


# --------------------------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------------------------


def rounds_to(says: str, value: Any, *, exact: bool = False) -> tuple[bool, str]:
    """Does each computed value round to the figure printed in ``says``? And the values shown.

    ``says`` holds one figure or several (``"0.6390"``, ``"(0.1065, 0.1065, 0.7870)"``); each
    value must be within half a unit of the figure's last digit (a 16-decimal figure must be
    met exactly). ``exact=True`` is for figures exact in mathematics: they hold to rounding.

    >>> rounds_to("0.693", math.log(2))
    (True, '0.69315')
    >>> rounds_to("0.692", math.log(2))[0]
    False
    """
    printed = re.findall(r"-?(?:\d+(?:\.\d*)?|\.\d+)", says)
    values = [float(v) + 0.0 for v in np.ravel(np.asarray(value, dtype=np.float64))]  # + 0.0: no -0.0
    if len(printed) != len(values):
        raise ValueError(f"{says!r} states {len(printed)} figure(s) but {len(values)} were computed")
    ok = True
    shown = []
    for text, v in zip(printed, values):
        decimals = len(text.partition(".")[2])
        if exact:
            ok &= math.isclose(v, float(text), rel_tol=IDENTITY_RTOL, abs_tol=IDENTITY_ATOL)
        else:
            ok &= abs(v - float(text)) <= 0.5 * 10.0**-decimals * (1 + 1e-9)
        shown.append(repr(v) if exact or decimals >= 15 else f"{v:.{decimals + 2}f}")
    return bool(ok), shown[0] if len(shown) == 1 else f"({', '.join(shown)})"


def agree(lhs: Any, rhs: Any) -> tuple[bool, str]:
    """Two computations of the same quantity, equal to rounding (relative 1e-12), elementwise.

    >>> agree(0.1 + 0.2, 0.3)[0], agree(1.0, 1.0 + 1e-9)[0]
    (True, False)
    """
    left = np.ravel(np.asarray(lhs, dtype=np.float64))
    right = np.ravel(np.asarray(rhs, dtype=np.float64))
    same_shape = left.shape == right.shape
    ok = same_shape and bool(np.all(np.isclose(left, right, rtol=IDENTITY_RTOL, atol=IDENTITY_ATOL)))
    gap = float(np.max(np.abs(left - right))) if same_shape else math.inf
    return ok, f"{_short(left)} = {_short(right)}  (differ by {gap:.1g})"


# --------------------------------------------------------------------------------------------
# The examples. Inputs are plain lists; compute functions look the library up at call time.
# --------------------------------------------------------------------------------------------

VOTES = [0.7, 0.2, 0.1]  # soft targets: three annotators' votes
LOGITS = [2.0, 0.5, -1.0]
WEATHER = {"rain": 0.14, "snow": 0.37, "sleet": 0.03, "hail": 0.46}
DYADIC_P = {"a": 1 / 2, "b": 1 / 4, "c": 1 / 8, "d": 1 / 8}
DYADIC_Q = {"a": 1 / 8, "b": 1 / 8, "c": 1 / 4, "d": 1 / 2}
BALLS_TRUE, BALLS_PREDICTED = [0.8, 0.1, 0.1], [0.2, 0.2, 0.6]


def _kl_loss_example() -> Example:
    def negative_entropy_term(p: Sequence[float], z: Sequence[float]) -> Any:
        q = softmax(np.asarray(z))
        return kl_divergence(p, q), cross_entropy(p, q) + float(np.sum(np.asarray(p) * np.log(p)))

    def gap_is_entropy(p: Sequence[float], models: Sequence[Sequence[float]]) -> Any:
        gaps = [
            float(cross_entropy(p, softmax(np.asarray(z))) - kl_divergence(p, softmax(np.asarray(z))))
            for z in models
        ]
        return gaps, [float(entropy(p))] * len(models)

    def same_gradients(p: ArrayLike, z: ArrayLike) -> Any:
        z = np.asarray(z)
        grad_kl = _finite_difference(lambda v: float(kl_divergence(p, softmax(v))), z)
        grad_ce = _finite_difference(lambda v: float(cross_entropy(p, softmax(v))), z)
        analytic = softmax(z) - np.asarray(p)  # d CE / d z for softmax outputs
        gap = float(np.max(np.abs(grad_kl - grad_ce)))
        holds = gap < 1e-8 and float(np.max(np.abs(grad_kl - analytic))) < 1e-6
        return holds, (
            f"grad KL {_short(grad_kl)}, grad CE {_short(grad_ce)}, softmax(z)-p {_short(analytic)}; "
            f"max |grad KL - grad CE| = {gap:.1g}"
        )

    def soft_targets_vary(targets: Sequence[Sequence[float]]) -> Any:
        h = entropy(np.asarray(targets))
        return bool(np.all(h > 0) and np.ptp(h) > 0), f"H = {_short(h)} nats"

    def relative_to_difficulty(easy: Sequence[float], hard: Sequence[float]) -> Any:
        parts = {"easy": decompose(easy, easy), "hard": decompose(hard, hard)}
        holds = (
            parts["easy"].kl_divergence == 0 == parts["hard"].kl_divergence
            and parts["hard"].cross_entropy > parts["easy"].cross_entropy
        )
        return holds, "; ".join(
            f"{name}: CE {float(d.cross_entropy):.4f}, KL {float(d.kl_divergence)}"
            for name, d in parts.items()
        )

    one_hot = np.eye(3)[[0, 2, 1, 1]].tolist()
    smoothed = (0.9 * np.eye(3)[[0, 2]] + 0.1 / 3).tolist()
    claims = (
        Claim(
            "KL loss = cross-entropy + the targets' negative entropy sum p log p",
            {"p": VOTES, "z": LOGITS},
            "D(p||q) = H(p,q) + sum p log p",
            IDENTITY,
            "kl_divergence(p, softmax(z)); cross_entropy(p, softmax(z)) + (p*log p).sum()",
            negative_entropy_term,
        ),
        Claim(
            "That term depends only on the targets: CE - KL = H(p) for every model",
            {"p": VOTES, "models": [LOGITS, [0.0, 0.0, 0.0], [-1.0, 3.0, 0.2]]},
            "H(p,q) - D(p||q) = H(p), 3 models",
            IDENTITY,
            "cross_entropy(p, q_m) - kl_divergence(p, q_m) vs entropy(p)",
            gap_is_entropy,
        ),
        Claim(
            "Its gradient is zero: gradient descent on KL and on CE takes identical steps",
            {"p": VOTES, "z": LOGITS},
            "grad_z KL = grad_z CE",
            CONDITION,
            "central finite differences of kl_divergence/cross_entropy(p, softmax(z)) in z",
            same_gradients,
        ),
        Claim(
            "With one-hot targets the term is 0 for every sample",
            {"targets": one_hot},
            "0, 0, 0, 0",
            EXACT,
            "entropy(one_hot_rows)",
            lambda targets: entropy(np.asarray(targets)),
        ),
        Claim(
            "It varies only with soft targets (label smoothing, votes)",
            {"targets": [*smoothed, VOTES]},
            "H(soft targets) > 0, differs per sample",
            CONDITION,
            "entropy(smoothed_and_voted_rows)",
            soft_targets_vary,
        ),
        Claim(
            "As a metric KL scores a model relative to the data's difficulty: a perfect model "
            "has KL 0 on easy and hard data alike, its CE is the data's entropy",
            {"easy": [0.9, 0.05, 0.05], "hard": [0.4, 0.3, 0.3]},
            "KL = 0 both; CE(hard) > CE(easy)",
            CONDITION,
            "decompose(targets, targets)",
            relative_to_difficulty,
        ),
    )
    return Example(
        "kl-loss",
        "Why does a KL-divergence loss 'add a negative entropy'?",
        "a Q&A thread on a course forum: soft targets from three annotators' votes against a softmax output",
        f"Soft targets p = {_short(VOTES)}, logits z = {_short(LOGITS)}, q = softmax(z).",
        claims,
        (
            Preset(
                "votes",
                "Soft targets: three annotators' votes (.7, .2, .1) against softmax(2, .5, -1)",
                p=tuple(VOTES),
                logits=tuple(LOGITS),
                unit="nats",
            ),
        ),
    )


def _weather_example() -> Example:
    p = list(WEATHER.values())
    good, poor = [0.15, 0.35, 0.04, 0.46], [0.25, 0.25, 0.25, 0.25]

    def good_close_poor_far(p: Sequence[float], good: Sequence[float], poor: Sequence[float]) -> Any:
        holds = 0 < kl_divergence(p, good) < kl_divergence(p, poor)
        return holds, (
            f"H(p) {entropy(p):.4f}; good q: H(p,q) {cross_entropy(p, good):.4f}, "
            f"KL {kl_divergence(p, good):.4f}; uniform q: H(p,q) {cross_entropy(p, poor):.4f}, "
            f"KL {kl_divergence(p, poor):.4f}"
        )

    def same_ranking(p: Sequence[float], models: Sequence[Sequence[float]]) -> Any:
        by_kl = np.argsort([kl_divergence(p, m) for m in models])
        by_ce = np.argsort([cross_entropy(p, m) for m in models])
        return bool(np.array_equal(by_kl, by_ce)), f"order by KL {by_kl.tolist()}, by CE {by_ce.tolist()}"

    claims = (
        Claim(
            "The weather distribution's entropy, from a Python dict",
            {"p": WEATHER},
            "1.1055291211185652",
            PRINTED,
            "entropy({'rain': .14, 'snow': .37, 'sleet': .03, 'hail': .46})",
            lambda p: entropy(p),
            unit="nats",
        ),
        Claim(
            "The same in bits",
            {"p": WEATHER},
            "1.5949",
            PRINTED,
            "entropy(p, base=2)",
            lambda p: entropy(p, base=2),
            unit="bits",
        ),
        Claim(
            "A coin that always lands heads has entropy 0",
            {"p": [1.0, 0.0]},
            "0",
            EXACT,
            "entropy([1, 0])",
            lambda p: entropy(p),
        ),
        Claim(
            "A good classifier has H(p,q) close to H(p); the gap is KL >= 0",
            {"p": p, "good": good, "poor": poor},
            "KL(good) small, KL(poor) larger, both > 0",
            CONDITION,
            "cross_entropy(p, q), kl_divergence(p, q)",
            good_close_poor_far,
        ),
        Claim(
            "KL is zero when p = q",
            {"p": WEATHER},
            "0",
            EXACT,
            "kl_divergence(p, p)",
            lambda p: kl_divergence(p, p),
        ),
        Claim(
            "H(p) is constant in the model, so minimising KL = minimising CE",
            {
                "p": p,
                "models": [good, poor, [0.1, 0.4, 0.1, 0.4], [0.4, 0.3, 0.2, 0.1], [0.14, 0.36, 0.04, 0.46]],
            },
            "same ranking of 5 models",
            CONDITION,
            "argsort of kl_divergence(p, q_m) and of cross_entropy(p, q_m)",
            same_ranking,
        ),
    )
    labels = tuple(WEATHER)
    return Example(
        "weather",
        "Cross-entropy and KL divergence",
        "a blog post on cross-entropy and KL divergence: a weather forecast of rain, snow, sleet and hail",
        "p = {rain: .14, snow: .37, sleet: .03, hail: .46}, the true weather distribution.",
        claims,
        (
            Preset(
                "weather-good",
                "Weather: a good forecaster (H(p,q) close to H(p))",
                tuple(p),
                tuple(good),
                labels,
            ),
            Preset(
                "weather-uniform",
                "Weather: a forecaster who knows nothing (q uniform)",
                tuple(p),
                tuple(poor),
                labels,
            ),
            Preset(
                "coin-heads",
                "A coin that always lands heads: entropy 0",
                (1.0, 0.0),
                (0.5, 0.5),
                ("heads", "tails"),
            ),
        ),
    )


def _coding_example() -> Example:
    def uniform_is_largest(outcomes: int, samples: int) -> Any:
        rows = np.random.default_rng(2).dirichlet(np.ones(outcomes), size=samples)
        uniform = np.full(outcomes, 1 / outcomes)
        largest, top = float(np.max(entropy(rows, base=2))), float(entropy(uniform, base=2))
        holds = largest < top and math.isclose(top, math.log2(outcomes), rel_tol=IDENTITY_RTOL)
        return (
            holds,
            f"max over {samples} random {outcomes}-outcome p: {largest:.4f} bits; uniform: {top!r} bits",
        )

    def own_code(p: Sequence[float]) -> Any:
        return coding.expected_length(coding.huffman_code(p), p)

    def cross_code(p: Sequence[float], q: Sequence[float]) -> Any:
        return coding.expected_length(coding.huffman_code(q), p)

    digit_logits = [0.1, -1.2, 0.3, 0.8, -0.5, 0.0, -2.0, 3.1, 0.4, -0.3]
    seven = np.eye(10)[7].tolist()  # the ground truth "7" of a handwritten digit, one-hot
    claims = (
        Claim(
            "A fair coin has 1 bit of entropy",
            {"p": [0.5, 0.5]},
            "1",
            EXACT,
            "entropy([.5, .5], base=2)",
            lambda p: entropy(p, base=2),
            unit="bit",
        ),
        Claim(
            "A uniform distribution has the maximum entropy",
            {"outcomes": 4, "samples": 2000},
            "H(any p) <= H(uniform) = log2 4 = 2 bits",
            CONDITION,
            "entropy(dirichlet_rows, base=2), entropy(uniform, base=2)",
            uniform_is_largest,
        ),
        Claim(
            "A handwritten digit's one-hot ground truth P has entropy 0",
            {"p": seven},
            "0",
            EXACT,
            "entropy(one_hot_7)",
            lambda p: entropy(p),
        ),
        Claim(
            "So KL(P||Q), cross-entropy minus entropy, is the cross-entropy itself",
            {"p": seven, "z": digit_logits},
            "D(P||Q) = H(P,Q) - H(P) = H(P,Q)",
            IDENTITY,
            "kl_divergence(P, softmax(z)), cross_entropy(P, softmax(z))",
            lambda p, z: (kl_divergence(p, softmax(np.asarray(z))), cross_entropy(p, softmax(np.asarray(z)))),
        ),
        Claim(
            "The Huffman code for p = (1/2, 1/4, 1/8, 1/8) averages",
            {"p": DYADIC_P},
            "1.75",
            PRINTED,
            "coding.expected_length(coding.huffman_code(p), p)",
            own_code,
            unit="bits/symbol",
        ),
        Claim(
            "No code does better: the optimal average length is the entropy",
            {"p": DYADIC_P},
            "L(Huffman) = H(p) in bits",
            IDENTITY,
            "expected_length(huffman_code(p), p) vs entropy(p, base=2)",
            lambda p: (own_code(p), entropy(p, base=2)),
        ),
        Claim(
            "Cross-entropy = average length of p's messages coded with the codebook built for q",
            {"p": DYADIC_P, "q": DYADIC_Q},
            "L(q's code under p) = H(p,q), q = (1/8, 1/8, 1/4, 1/2)",
            IDENTITY,
            "expected_length(huffman_code(q), p) vs cross_entropy(p, q, base=2)",
            lambda p, q: (cross_code(p, q), cross_entropy(p, q, base=2)),
        ),
        Claim(
            "KL is the excess over the optimum H(p)",
            {"p": DYADIC_P, "q": DYADIC_Q},
            "L(q's code) - L(p's code) = D(p||q)",
            IDENTITY,
            "kl_divergence(p, q, base=2)",
            lambda p, q: (cross_code(p, q) - own_code(p), kl_divergence(p, q, base=2)),
        ),
    )
    return Example(
        "coding",
        "Entropy from the deep-learning point of view",
        "a blog post on entropy for deep learning: disorder, a classifier of handwritten digits, and Huffman codes",
        "Disorder, a one-hot digit label against a softmax prediction, and the coding view.",
        claims,
        (
            Preset(
                "huffman",
                "Huffman code of 1.75 bits: p = (1/2, 1/4, 1/8, 1/8), q's code built for (1/8, 1/8, 1/4, 1/2)",
                tuple(DYADIC_P.values()),
                tuple(DYADIC_Q.values()),
                tuple(DYADIC_P),
            ),
            Preset(
                "huffman-uniform",
                "The same p coded with a fixed-length code (q uniform): 2 bits",
                tuple(DYADIC_P.values()),
                (0.25,) * 4,
                tuple(DYADIC_P),
            ),
            Preset(
                "digit",
                'A digit classifier: one-hot truth "7" against its softmax prediction',
                labels=tuple(str(d) for d in range(10)),
                logits=tuple(digit_logits),
                target=7,
            ),
        ),
    )


def _loss_functions_example() -> Example:
    def information_expectation(p: Sequence[float]) -> Any:
        return entropy(p), float(np.sum(np.asarray(p) * np.log(1 / np.asarray(p))))

    def bce_is_two_class_ce(cases: Sequence[tuple[float, float]]) -> Any:
        formula = [-(y * math.log(_sigmoid(z)) + (1 - y) * math.log(1 - _sigmoid(z))) for y, z in cases]
        two_class = [cross_entropy([y, 1 - y], [_sigmoid(z), 1 - _sigmoid(z)]) for y, z in cases]
        return formula, two_class

    def softmax_reacts(scores: ArrayLike, louder: ArrayLike) -> Any:
        scores, louder = np.asarray(scores), np.asarray(louder)
        count_gain = float(louder[2] / louder.sum() - scores[2] / scores.sum())
        softmax_gain = float(softmax(louder)[2] - softmax(scores)[2])
        return softmax_gain > count_gain > 0, (
            f"top share: softmax {float(softmax(scores)[2]):.4f} -> {float(softmax(louder)[2]):.4f}, "
            f"counting {scores[2] / scores.sum():.4f} -> {louder[2] / louder.sum():.4f}"
        )

    def sigmoid_is_softmax(z: ArrayLike) -> Any:
        z = np.asarray(z)
        return [_sigmoid(v) for v in z], softmax(np.stack([z, np.zeros_like(z)], axis=-1))[:, 0]

    def entropies(coin: Sequence[float], die: Sequence[float]) -> Any:
        h_coin, h_die = float(entropy(coin)), float(entropy(die))
        return h_die > h_coin, f"{h_die:.4f} > {h_coin:.4f}"

    coin, die = [1 / 2] * 2, [1 / 6] * 6
    claims = (
        Claim(
            "A fair coin's entropy",
            {"p": coin},
            "0.693",
            PRINTED,
            "entropy([1/2] * 2)",
            lambda p: entropy(p),
            unit="nats",
        ),
        Claim(
            "A die's entropy",
            {"p": die},
            "1.79",
            PRINTED,
            "entropy([1/6] * 6)",
            lambda p: entropy(p),
            unit="nats",
        ),
        Claim(
            "The die's entropy is higher than the coin's",
            {"coin": coin, "die": die},
            "H(die) > H(coin)",
            CONDITION,
            "entropy",
            entropies,
        ),
        Claim(
            "log(1/p) is an outcome's information; entropy is its expectation",
            {"p": list(WEATHER.values())},
            "H(p) = sum p log(1/p)",
            IDENTITY,
            "entropy(p) vs (p * log(1/p)).sum() in NumPy",
            information_expectation,
        ),
        Claim(
            "A bag of balls (red .8, green .1, yellow .1): the entropy of the truth",
            {"p": BALLS_TRUE},
            "0.6390",
            PRINTED,
            "entropy(p)",
            lambda p: entropy(p),
            unit="nats",
        ),
        Claim(
            "... the cross-entropy against the prediction (.2, .2, .6)",
            {"p": BALLS_TRUE, "q": BALLS_PREDICTED},
            "1.4996",
            PRINTED,
            "cross_entropy(p, q)",
            lambda p, q: cross_entropy(p, q),
            unit="nats",
        ),
        Claim(
            "... the KL divergence",
            {"p": BALLS_TRUE, "q": BALLS_PREDICTED},
            "0.8605",
            PRINTED,
            "kl_divergence(p, q)",
            lambda p, q: kl_divergence(p, q),
            unit="nats",
        ),
        Claim(
            "... and CE = H + KL on these numbers",
            {"p": BALLS_TRUE, "q": BALLS_PREDICTED},
            "H(p,q) = H(p) + D(p||q)",
            IDENTITY,
            "decompose(p, q)",
            lambda p, q: (
                decompose(p, q).cross_entropy,
                decompose(p, q).entropy + decompose(p, q).kl_divergence,
            ),
        ),
        Claim(
            "Binary cross-entropy on a sigmoid output is two-class cross-entropy",
            {"cases": [[1.0, 1.4], [0.0, -0.85], [0.75, 0.4]]},
            "-(y log x + (1-y) log(1-x)) = H((y,1-y), (x,1-x))",
            IDENTITY,
            "math.log formula vs cross_entropy([y, 1-y], [x, 1-x]), x = sigmoid(z), 3 cases",
            bce_is_two_class_ce,
        ),
        Claim(
            "Softmax of scores (1, 1, 3)",
            {"z": [1.0, 1.0, 3.0]},
            "(0.1065, 0.1065, 0.7870)",
            PRINTED,
            "softmax([1, 1, 3])",
            lambda z: softmax(np.asarray(z)),
        ),
        Claim(
            "Normalising the same scores by counting",
            {"scores": [1.0, 1.0, 3.0]},
            "(.2, .2, .6)",
            EXACT,
            "scores / scores.sum()",
            lambda scores: np.asarray(scores) / np.sum(scores),
        ),
        Claim(
            "Softmax favours the large value and reacts strongly to small changes",
            {"scores": [1.0, 1.0, 3.0], "louder": [1.0, 1.0, 4.0]},
            "raise 3 to 4: softmax's top share grows more",
            CONDITION,
            "softmax([1, 1, 4]) vs [1, 1, 4] / 6",
            softmax_reacts,
        ),
        Claim(
            "For two classes sigmoid and softmax coincide",
            {"z": [-30.0, -2.0, 0.0, 0.4, 5.0, 30.0]},
            "sigmoid(z) = softmax([z, 0])[0], z from -30 to 30",
            IDENTITY,
            "1 / (1 + exp(-z)) vs softmax(stack([z, 0]))[:, 0]",
            sigmoid_is_softmax,
        ),
    )
    return Example(
        "loss-functions",
        "Loss functions: entropy, cross-entropy, BCE, softmax",
        "a blog post on loss functions: a coin, a die, a bag of red, green and yellow balls, sigmoid and softmax",
        "Natural logs throughout: a coin, a die, a bag of balls, sigmoid and softmax.",
        claims,
        (
            Preset("coin", "A fair coin: 1 bit", (0.5, 0.5), (0.5, 0.5), ("heads", "tails")),
            Preset("die", "A fair die: log 6", (1 / 6,) * 6, (1 / 6,) * 6, tuple("123456"), unit="nats"),
            Preset(
                "balls",
                "Bag of balls: true (.8, .1, .1), predicted (.2, .2, .6)",
                tuple(BALLS_TRUE),
                tuple(BALLS_PREDICTED),
                ("red", "green", "yellow"),
            ),
            Preset(
                "softmax",
                "Scores (1, 1, 3): softmax (0.1065, 0.1065, 0.7870) against counting (.2, .2, .6)",
                logits=(1.0, 1.0, 3.0),
                target=2,
                unit="nats",
            ),
        ),
    )


def _likelihood_example() -> Example:
    def sampled_surprisal(p: Sequence[float], q: Sequence[float], draws: int) -> Any:
        x = np.random.default_rng(4).choice(len(p), size=draws, p=p)
        surprisal = -np.log(np.asarray(q))[x]
        estimate, standard_error = float(np.mean(surprisal)), float(np.std(surprisal) / math.sqrt(draws))
        exact = float(cross_entropy(p, q))
        return abs(estimate - exact) < 4 * standard_error, (
            f"sample mean {estimate:.5f} +- {standard_error:.5f}, H(P,q) = {exact:.5f}"
        )

    def likelihood_of_counts(counts: Sequence[int], q: Sequence[float]) -> Any:
        likelihood = math.prod(q_i**n_i for q_i, n_i in zip(q, counts))
        return -math.log(likelihood) / sum(counts), cross_entropy(counts, q, normalize=True)

    def nll_of_days(counts: Sequence[int], q: Sequence[float]) -> Any:
        days = np.random.default_rng(4).permutation(
            np.repeat(np.arange(len(counts)), counts)
        )  # in some order
        return float(np.mean(-np.log(np.asarray(q))[days])), cross_entropy(counts, q, normalize=True)

    def same_best_theta(heads: int, flips: int) -> Any:
        thetas = np.round(np.arange(1, 100) / 100, 2)
        coins = np.stack([thetas, 1 - thetas], axis=-1)
        observed = np.broadcast_to(np.array([heads, flips - heads]), coins.shape)
        log_likelihood = heads * np.log(thetas) + (flips - heads) * np.log(1 - thetas)
        best = {
            "likelihood": thetas[np.argmax(log_likelihood)],
            "CE": thetas[np.argmin(cross_entropy(observed, coins, normalize=True))],
            "KL": thetas[np.argmin(kl_divergence(observed, coins, normalize=True))],
        }
        holds = best["likelihood"] == best["CE"] == best["KL"] == heads / flips
        return holds, ", ".join(f"{k}: {v:.2f}" for k, v in best.items())

    def ce_is_nll_of_log_softmax(z: ArrayLike, y: ArrayLike) -> Any:
        z, y = np.asarray(z), np.asarray(y)
        by_hand = float(-np.mean(log_softmax(z)[np.arange(len(y)), y]))
        witnesses = [
            float(np.mean(cross_entropy(np.eye(z.shape[1])[y], softmax(z)))),
            float(losses.cross_entropy(z, y)),
            float(losses.nll_loss(log_softmax(z), y)),
        ]
        return [by_hand] * len(witnesses), witnesses

    P, Q, model_q = [0.36, 0.48, 0.16], [1 / 3] * 3, [0.25, 0.6, 0.15]
    counts, month_model = [3, 11, 1, 15], [0.14, 0.37, 0.03, 0.46]  # a month of rain, snow, sleet, hail
    claims = (
        Claim(
            "KL is the expected log-ratio",
            {"p": P, "q": Q},
            "D(P||Q) = sum P log(P/Q)",
            IDENTITY,
            "kl_divergence(P, Q) vs (P * log(P / Q)).sum() in NumPy",
            lambda p, q: (kl_divergence(p, q), float(np.sum(np.asarray(p) * np.log(np.divide(p, q))))),
        ),
        Claim(
            "... and equals cross-entropy minus entropy",
            {"p": P, "q": Q},
            "D(P||Q) = H(P,Q) - H(P)",
            IDENTITY,
            "cross_entropy(P, Q) - entropy(P)",
            lambda p, q: (kl_divergence(p, q), cross_entropy(p, q) - entropy(p)),
        ),
        Claim(
            "Cross-entropy is the expected surprisal under the model: H(p,q) = -E_p[log q]",
            {"p": P, "q": model_q, "draws": 100_000},
            "mean of -log q(x), x ~ p, 100000 draws",
            CONDITION,
            "cross_entropy(P, q) vs sampled -log q, q = (.25, .6, .15)",
            sampled_surprisal,
        ),
        Claim(
            f"Likelihood of counts N = {counts} under q: -(1/N) log L = H(p_empirical, q)",
            {"counts": counts, "q": month_model},
            "-(1/N) log prod q_i^N_i = H(N/N, q)",
            IDENTITY,
            "math.prod(q_i ** N_i) vs cross_entropy(counts, q, normalize=True)",
            likelihood_of_counts,
        ),
        Claim(
            "Hence NLL = CE: the mean negative log-likelihood of the observed days",
            {"counts": counts, "q": month_model},
            "mean -log q(x_t) = H(p_empirical, q)",
            IDENTITY,
            "mean(-log q[days]) vs cross_entropy(counts, q, normalize=True)",
            nll_of_days,
        ),
        Claim(
            "Minimising KL = minimising CE = maximising likelihood (7 heads in 10 flips, theta grid)",
            {"heads": 7, "flips": 10},
            "same best theta = 0.7",
            CONDITION,
            "argmax log L, argmin cross_entropy / kl_divergence(counts, coins, normalize=True)",
            same_best_theta,
        ),
        Claim(
            "CrossEntropyLoss takes raw logits, NLLLoss log-probabilities: CE = NLL o log_softmax",
            {"z": [[2.0, -1.0, 0.5, 0.1], [0.3, 0.3, -2.0, 1.7], [-0.4, 1.1, 0.0, 2.6]], "y": [2, 0, 3]},
            "CE(z, y) = NLL(log_softmax(z), y)",
            IDENTITY,
            "-mean(log_softmax(z)[i, y_i]) vs mean cross_entropy(one_hot(y), softmax(z)), "
            "losses.cross_entropy(z, y), losses.nll_loss(log_softmax(z), y)",
            ce_is_nll_of_log_softmax,
        ),
    )
    return Example(
        "likelihood",
        "KL divergence, cross-entropy and likelihood",
        "a blog post on KL divergence, cross-entropy and likelihood, after Wikipedia's presentation",
        "P = (.36, .48, .16) against uniform Q; a month of weather counts; a batch of logits.",
        claims,
        (
            Preset("kl-uniform", "P = (.36, .48, .16) against a uniform Q", tuple(P), tuple(Q)),
            Preset(
                "weather-month",
                "A month of weather counts (3, 11, 1, 15) against the forecast: the likelihood view",
                tuple(c / sum(counts) for c in counts),
                tuple(month_model),
                tuple(WEATHER),
            ),
        ),
    )


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _finite_difference(f: Callable[[np.ndarray], float], z: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """Central differences: O(step**2) error, ~1e-10 here."""
    grad = np.zeros_like(z)
    for i in range(z.size):
        shift = np.zeros_like(z)
        shift[i] = step
        grad[i] = (f(z + shift) - f(z - shift)) / (2 * step)
    return grad


def _sigmoid(z: float) -> float:
    # Two branches so that exp never overflows.
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def _short(values: Any) -> str:
    values = np.ravel(np.asarray(values, dtype=np.float64))
    if values.size == 1:
        return f"{float(values[0]) + 0.0:.6g}"
    return "(" + ", ".join(f"{float(v) + 0.0:.4g}" for v in values) + ")"


EXAMPLES: tuple[Example, ...] = (
    _kl_loss_example(),
    _weather_example(),
    _coding_example(),
    _loss_functions_example(),
    _likelihood_example(),
)
