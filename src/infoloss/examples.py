"""The tour: every worked example of the seed documents, recomputed with infoloss.

Each :class:`Claim` pairs what a seed document says (a figure as printed, an identity, an
inequality) with what the library computes now, and whether the two agree to the precision
the seed states: a printed figure to half a unit of its last digit, an identity to rounding
(relative 1e-12). Nothing on the computed side is written down: change the library and the
tour shows the mismatch. ``infoloss tour`` prints it (see :mod:`infoloss.cli`).

NumPy only, so the tour runs wherever ``pip install infoloss`` does. ``infoloss.losses`` and
``infoloss.coding`` are used when they are importable, as extra witnesses.

>>> sections = tour()
>>> [section.seed for section in sections]
['000', '001', '002', '003', '004']
>>> all(claim.ok for section in sections for claim in section.claims)
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .measures import cross_entropy, decompose, entropy, kl_divergence
from .special import log_softmax, softmax

__all__ = ["Claim", "Section", "tour", "figure", "identity", "holds"]

# Identities hold "to rounding": float64 sums of a handful of terms agree far closer than this.
IDENTITY_RTOL = 1e-12
IDENTITY_ATOL = 1e-14


@dataclass(frozen=True)
class Claim:
    """One claim of a seed, next to what infoloss computes for it."""

    statement: str  # what the seed says, in words
    says: str  # the seed's figure or formula, as printed
    computed: str  # what infoloss computed, formatted
    ok: bool  # do they agree to the seed's stated precision?
    code: str  # the calls that computed it


@dataclass(frozen=True)
class Section:
    """The claims of one seed document."""

    seed: str
    title: str
    summary: str
    claims: tuple[Claim, ...]


def tour() -> list[Section]:
    """Compute every worked example of seeds 000-004 (see ``DIGEST.md``) and check each claim."""
    return [_seed_000(), _seed_001(), _seed_002(), _seed_003(), _seed_004()]


# --------------------------------------------------------------------------------------------
# Kinds of claim
# --------------------------------------------------------------------------------------------


def figure(statement: str, says: str, value, code: str, *, unit: str = "", exact: bool = False) -> Claim:
    """A printed figure (or tuple of figures) against computed value(s).

    ``says`` is the figure as the seed prints it, e.g. ``"0.6390"`` or ``"(0.1065, 0.7870)"``;
    each computed value must round to it: ``|value - figure| <= 0.5e-d`` for ``d`` stated
    decimals (so a 16-decimal figure must be met exactly). ``exact=True`` is for figures that
    are exact in mathematics (``"1"`` bit, ``"0"``): they must hold to rounding.

    >>> figure("coin", "0.693", math.log(2), "log(2)").ok
    True
    >>> figure("coin", "0.692", math.log(2), "log(2)").ok
    False
    """
    printed = re.findall(r"-?(?:\d+(?:\.\d*)?|\.\d+)", says)
    values = [float(v) + 0.0 for v in np.ravel(np.asarray(value, dtype=np.float64))]  # + 0.0: no -0.0
    if len(printed) != len(values):
        raise ValueError(f"{statement!r}: the seed prints {len(printed)} figure(s), {len(values)} computed")
    ok = True
    shown = []
    for text, v in zip(printed, values):
        decimals = len(text.partition(".")[2])
        if exact:
            ok &= math.isclose(v, float(text), rel_tol=IDENTITY_RTOL, abs_tol=IDENTITY_ATOL)
        else:
            ok &= abs(v - float(text)) <= 0.5 * 10.0**-decimals * (1 + 1e-9)
        shown.append(repr(v) if exact or decimals >= 15 else f"{v:.{decimals + 2}f}")
    computed = shown[0] if len(shown) == 1 else f"({', '.join(shown)})"
    suffix = f" {unit}" if unit else ""
    return Claim(statement, says + suffix + (" (exact)" if exact else ""), computed + suffix, bool(ok), code)


def identity(statement: str, says: str, lhs, rhs, code: str) -> Claim:
    """Two computations of the same quantity, equal to rounding (relative 1e-12), elementwise.

    >>> identity("x", "a = b", 0.1 + 0.2, 0.3, "sum").ok
    True
    """
    left = np.ravel(np.asarray(lhs, dtype=np.float64))
    right = np.ravel(np.asarray(rhs, dtype=np.float64))
    ok = left.shape == right.shape and bool(
        np.all(np.isclose(left, right, rtol=IDENTITY_RTOL, atol=IDENTITY_ATOL))
    )
    gap = float(np.max(np.abs(left - right))) if left.shape == right.shape else math.inf
    computed = f"{_short(left)} = {_short(right)}  (differ by {gap:.1g})"
    return Claim(statement, says, computed, ok, code)


def holds(statement: str, says: str, ok: bool, computed: str, code: str) -> Claim:
    """A qualitative claim (an inequality, an ordering) checked on computed numbers."""
    return Claim(statement, says, computed, bool(ok), code)


# --------------------------------------------------------------------------------------------
# The seeds
# --------------------------------------------------------------------------------------------


def _seed_000() -> Section:
    votes = np.array([0.7, 0.2, 0.1])  # soft targets: three annotators' votes
    logits = np.array([2.0, 0.5, -1.0])
    q = softmax(logits)
    models = [softmax(np.array(z)) for z in ([2.0, 0.5, -1.0], [0.0, 0.0, 0.0], [-1.0, 3.0, 0.2])]
    gaps = [float(cross_entropy(votes, m) - kl_divergence(votes, m)) for m in models]

    def kl_of(z):
        return float(kl_divergence(votes, softmax(z)))

    def ce_of(z):
        return float(cross_entropy(votes, softmax(z)))

    grad_kl, grad_ce = _finite_difference(kl_of, logits), _finite_difference(ce_of, logits)
    analytic = q - votes  # d CE / d z for softmax outputs
    same_steps = np.max(np.abs(grad_kl - grad_ce)) < 1e-8 and np.max(np.abs(grad_kl - analytic)) < 1e-6

    one_hot = np.eye(3)[[0, 2, 1, 1]]
    smoothed = 0.9 * np.eye(3)[[0, 2]] + 0.1 / 3
    soft = np.vstack([smoothed, votes])
    easy, hard = np.array([0.9, 0.05, 0.05]), np.array([0.4, 0.3, 0.3])
    perfect = {name: decompose(t, t) for name, t in (("easy", easy), ("hard", hard))}

    claims = (
        identity(
            "KL loss = cross-entropy + the targets' negative entropy sum p log p",
            "D(p||q) = H(p,q) + sum p log p",
            kl_divergence(votes, q),
            cross_entropy(votes, q) + float(np.sum(votes * np.log(votes))),
            "kl_divergence(p, softmax(z)); cross_entropy(p, softmax(z)) + (p*log p).sum()",
        ),
        identity(
            "That term depends only on the targets: CE - KL = H(p) for every model",
            "H(p,q) - D(p||q) = H(p), 3 models",
            gaps,
            [float(entropy(votes))] * 3,
            "cross_entropy(p, q_m) - kl_divergence(p, q_m) vs entropy(p)",
        ),
        holds(
            "Its gradient is zero: gradient descent on KL and on CE takes identical steps",
            "grad_z KL = grad_z CE",
            same_steps,
            f"grad KL {_short(grad_kl)}, grad CE {_short(grad_ce)}, softmax(z)-p {_short(analytic)}; "
            f"max |grad KL - grad CE| = {np.max(np.abs(grad_kl - grad_ce)):.1g}",
            "central finite differences of kl_divergence/cross_entropy(p, softmax(z)) in z",
        ),
        figure(
            "With one-hot targets the term is 0 for every sample",
            "0, 0, 0, 0",
            entropy(one_hot),
            "entropy(one_hot_rows)",
            exact=True,
        ),
        holds(
            "It varies only with soft targets (label smoothing, votes)",
            "H(soft targets) > 0, differs per sample",
            bool(np.all(entropy(soft) > 0) and np.ptp(entropy(soft)) > 0),
            f"H = {_short(entropy(soft))} nats",
            "entropy(smoothed_and_voted_rows)",
        ),
        holds(
            "As a metric KL scores a model relative to the data's difficulty: a perfect model "
            "has KL 0 on easy and hard data alike, its CE is the data's entropy",
            "KL = 0 both; CE(hard) > CE(easy)",
            perfect["easy"].kl_divergence == 0 == perfect["hard"].kl_divergence
            and perfect["hard"].cross_entropy > perfect["easy"].cross_entropy,
            f"easy: CE {float(perfect['easy'].cross_entropy):.4f}, KL {float(perfect['easy'].kl_divergence)}; "
            f"hard: CE {float(perfect['hard'].cross_entropy):.4f}, KL {float(perfect['hard'].kl_divergence)}",
            "decompose(targets, targets)",
        ),
    )
    return Section(
        "000",
        "Q&A: why does KL-divergence loss 'add a negative entropy'?",
        f"Soft targets p = {_short(votes)}, logits z = {_short(logits)}, q = softmax(z).",
        claims,
    )


def _seed_001() -> Section:
    weather = {"rain": 0.14, "snow": 0.37, "sleet": 0.03, "hail": 0.46}
    p = list(weather.values())
    good, poor = [0.15, 0.35, 0.04, 0.46], [0.25, 0.25, 0.25, 0.25]
    models = [good, poor, [0.1, 0.4, 0.1, 0.4], [0.4, 0.3, 0.2, 0.1], [0.14, 0.36, 0.04, 0.46]]
    by_kl = np.argsort([kl_divergence(p, m) for m in models])
    by_ce = np.argsort([cross_entropy(p, m) for m in models])
    claims = (
        figure(
            "The weather distribution's entropy, from a Python dict",
            "1.1055291211185652",
            entropy(weather),
            "entropy({'rain': .14, 'snow': .37, 'sleet': .03, 'hail': .46})",
            unit="nats",
        ),
        figure("The same in bits", "1.5949", entropy(weather, base=2), "entropy(p, base=2)", unit="bits"),
        figure(
            "A coin that always lands heads has entropy 0",
            "0",
            entropy([1.0, 0.0]),
            "entropy([1, 0])",
            exact=True,
        ),
        holds(
            "A good classifier has H(p,q) close to H(p); the gap is KL >= 0",
            "KL(good) small, KL(poor) larger, both > 0",
            0 < kl_divergence(p, good) < kl_divergence(p, poor),
            f"H(p) {entropy(p):.4f}; good q: H(p,q) {cross_entropy(p, good):.4f}, KL {kl_divergence(p, good):.4f}; "
            f"uniform q: H(p,q) {cross_entropy(p, poor):.4f}, KL {kl_divergence(p, poor):.4f}",
            "cross_entropy(p, q), kl_divergence(p, q)",
        ),
        figure("KL is zero when p = q", "0", kl_divergence(weather, weather), "kl_divergence(p, p)", exact=True),
        holds(
            "H(p) is constant in the model, so minimising KL = minimising CE",
            "same ranking of 5 models",
            bool(np.array_equal(by_kl, by_ce)),
            f"order by KL {by_kl.tolist()}, by CE {by_ce.tolist()}",
            "argsort of kl_divergence(p, q_m) and of cross_entropy(p, q_m)",
        ),
    )
    return Section(
        "001",
        "Blog: cross-entropy and KL divergence",
        "p = {rain: .14, snow: .37, sleet: .03, hail: .46}, the true weather distribution.",
        claims,
    )


def _seed_002() -> Section:
    rng = np.random.default_rng(2)
    random_rows = rng.dirichlet(np.ones(4), size=2000)
    uniform = np.full(4, 0.25)
    digit = np.eye(10)[7]  # MNIST ground truth "7", one-hot
    prediction = softmax(np.array([0.1, -1.2, 0.3, 0.8, -0.5, 0.0, -2.0, 3.1, 0.4, -0.3]))
    p = {"a": 1 / 2, "b": 1 / 4, "c": 1 / 8, "d": 1 / 8}
    q = {"a": 1 / 8, "b": 1 / 8, "c": 1 / 4, "d": 1 / 2}
    p_code, how = _prefix_code(p)
    q_code, _ = _prefix_code(q)
    own_length = sum(p[s] * len(p_code[s]) for s in p)
    cross_length = sum(p[s] * len(q_code[s]) for s in p)
    book = " ".join(f"{s}:{w}" for s, w in p_code.items())
    claims = (
        figure("A fair coin has 1 bit of entropy", "1", entropy([0.5, 0.5], base=2), "entropy([.5, .5], base=2)",
               unit="bit", exact=True),
        holds(
            "A uniform distribution has the maximum entropy",
            "H(any p) <= H(uniform) = log2 4 = 2 bits",
            float(np.max(entropy(random_rows, base=2))) < float(entropy(uniform, base=2))
            and math.isclose(float(entropy(uniform, base=2)), 2.0, rel_tol=IDENTITY_RTOL),
            f"max over 2000 random 4-outcome p: {np.max(entropy(random_rows, base=2)):.4f} bits; "
            f"uniform: {float(entropy(uniform, base=2))!r} bits",
            "entropy(dirichlet_rows, base=2), entropy(uniform, base=2)",
        ),
        figure("An MNIST one-hot ground truth P has entropy 0", "0", entropy(digit), "entropy(one_hot_7)",
               exact=True),
        identity(
            "So KL(P||Q) is cross-entropy (purple) minus entropy (orange) = cross-entropy",
            "D(P||Q) = H(P,Q) - H(P) = H(P,Q)",
            kl_divergence(digit, prediction),
            cross_entropy(digit, prediction),
            "kl_divergence(P, softmax(z)), cross_entropy(P, softmax(z))",
        ),
        figure(
            f"The Huffman code for p = (1/2, 1/4, 1/8, 1/8) ({book}) averages",
            "1.75",
            own_length,
            f"sum p_i len(codeword_i) with {how}",
            unit="bits/symbol",
        ),
        identity(
            "No code does better: the optimal average length is the entropy",
            "L(Huffman) = H(p) in bits",
            own_length,
            entropy(p, base=2),
            "entropy(p, base=2)",
        ),
        identity(
            "Cross-entropy = average length of p's messages coded with the codebook built for q",
            "L(q's code under p) = H(p,q), q = (1/8, 1/8, 1/4, 1/2)",
            cross_length,
            cross_entropy(p, q, base=2),
            "cross_entropy(p, q, base=2)",
        ),
        identity(
            "KL is the excess over the optimum H(p)",
            "L(q's code) - L(p's code) = D(p||q)",
            cross_length - own_length,
            kl_divergence(p, q, base=2),
            "kl_divergence(p, q, base=2)",
        ),
    )
    return Section(
        "002",
        "Blog: entropy from the deep-learning point of view",
        "Disorder, a one-hot MNIST target against a softmax prediction, and the coding view.",
        claims,
    )


def _seed_003() -> Section:
    coin, die = np.full(2, 1 / 2), np.full(6, 1 / 6)
    weather = np.array([0.14, 0.37, 0.03, 0.46])
    true, pred = [0.8, 0.1, 0.1], [0.2, 0.2, 0.6]
    parts = decompose(true, pred)
    scores, louder = np.array([1.0, 1.0, 3.0]), np.array([1.0, 1.0, 4.0])
    bce_cases = [(1.0, _sigmoid(1.4)), (0.0, _sigmoid(-0.85)), (0.75, _sigmoid(0.4))]
    bce_formula = [-(y * math.log(x) + (1 - y) * math.log(1 - x)) for y, x in bce_cases]
    bce_two_class = [cross_entropy([y, 1 - y], [x, 1 - x]) for y, x in bce_cases]
    zs = np.array([-30.0, -2.0, 0.0, 0.4, 5.0, 30.0])
    two_class = softmax(np.stack([zs, np.zeros_like(zs)], axis=-1))[:, 0]
    count_gain = float(louder[2] / louder.sum() - scores[2] / scores.sum())
    softmax_gain = float(softmax(louder)[2] - softmax(scores)[2])
    claims = (
        figure("A fair coin's entropy", "0.693", entropy(coin), "entropy([1/2] * 2)", unit="nats"),
        figure("A die's entropy", "1.79", entropy(die), "entropy([1/6] * 6)", unit="nats"),
        holds("The die's entropy is higher than the coin's", "H(die) > H(coin)", entropy(die) > entropy(coin),
              f"{float(entropy(die)):.4f} > {float(entropy(coin)):.4f}", "entropy"),
        identity(
            "log(1/p) is an outcome's information; entropy is its expectation",
            "H(p) = sum p log(1/p)",
            entropy(weather),
            float(np.sum(weather * np.log(1 / weather))),
            "entropy(p) vs (p * log(1/p)).sum() in NumPy",
        ),
        figure("Bag of balls (red .8, green .1, yellow .1): entropy of the truth", "0.6390",
               entropy(true), "entropy(true)", unit="nats"),
        figure("... cross-entropy against the prediction (.2, .2, .6)", "1.4996",
               cross_entropy(true, pred), "cross_entropy(true, pred)", unit="nats"),
        figure("... KL divergence", "0.8605", kl_divergence(true, pred), "kl_divergence(true, pred)", unit="nats"),
        identity("... and CE = H + KL on these numbers", "H(p,q) = H(p) + D(p||q)",
                 parts.cross_entropy, parts.entropy + parts.kl_divergence, "decompose(true, pred)"),
        identity(
            "Binary cross-entropy on a sigmoid output is two-class cross-entropy",
            "-(y log x + (1-y) log(1-x)) = H((y,1-y), (x,1-x))",
            bce_formula,
            bce_two_class,
            "math.log formula vs cross_entropy([y, 1-y], [x, 1-x]), 3 cases",
        ),
        figure("Softmax of scores (1, 1, 3)", "(0.1065, 0.1065, 0.7870)", softmax(scores), "softmax([1, 1, 3])"),
        figure("Normalising the same scores by counting", "(.2, .2, .6)", scores / scores.sum(),
               "scores / scores.sum()", exact=True),
        holds(
            "Softmax favours the large value and reacts strongly to small changes",
            "raise 3 to 4: softmax's top share grows more",
            softmax_gain > count_gain > 0,
            f"top share: softmax {float(softmax(scores)[2]):.4f} -> {float(softmax(louder)[2]):.4f}, "
            f"counting {scores[2] / scores.sum():.4f} -> {louder[2] / louder.sum():.4f}",
            "softmax([1, 1, 4]) vs [1, 1, 4] / 6",
        ),
        identity(
            "For two classes sigmoid and softmax coincide",
            "sigmoid(z) = softmax([z, 0])[0], z from -30 to 30",
            [_sigmoid(z) for z in zs],
            two_class,
            "1 / (1 + exp(-z)) vs softmax(stack([z, 0]))[:, 0]",
        ),
    )
    return Section(
        "003",
        "Blog: loss functions (entropy, CE, BCE, categorical CE, softmax)",
        "Natural logs throughout: a coin, a die, a bag of balls, sigmoid and softmax.",
        claims,
    )


def _seed_004() -> Section:
    P, Q = np.array([0.36, 0.48, 0.16]), np.full(3, 1 / 3)
    model_q = np.array([0.25, 0.6, 0.15])
    rng = np.random.default_rng(4)
    draws = rng.choice(3, size=100_000, p=P)
    surprisal = -np.log(model_q)[draws]
    standard_error = float(np.std(surprisal) / math.sqrt(draws.size))
    estimate = float(np.mean(surprisal))

    counts = np.array([3, 11, 1, 15])  # a month of weather: rain, snow, sleet, hail
    model = np.array([0.14, 0.37, 0.03, 0.46])
    n = int(counts.sum())
    likelihood = math.prod(float(q_i) ** int(n_i) for q_i, n_i in zip(model, counts))
    observed = rng.permutation(np.repeat(np.arange(4), counts))  # the days, in some order
    nll = float(np.mean(-np.log(model)[observed]))
    ce_counts = float(cross_entropy(counts, model, normalize=True))

    heads, flips = 7, 10
    thetas = np.round(np.arange(1, 100) / 100, 2)
    coins = np.stack([thetas, 1 - thetas], axis=-1)
    empirical = np.array([heads, flips - heads])
    log_lik = heads * np.log(thetas) + (flips - heads) * np.log(1 - thetas)
    best = {
        "likelihood": thetas[np.argmax(log_lik)],
        "CE": thetas[np.argmin(cross_entropy(np.broadcast_to(empirical, coins.shape), coins, normalize=True))],
        "KL": thetas[np.argmin(kl_divergence(np.broadcast_to(empirical, coins.shape), coins, normalize=True))],
    }

    logits = np.array([[2.0, -1.0, 0.5, 0.1], [0.3, 0.3, -2.0, 1.7], [-0.4, 1.1, 0.0, 2.6]])
    labels = np.array([2, 0, 3])
    nll_of_log_softmax = float(-np.mean(log_softmax(logits)[np.arange(3), labels]))
    ce_measure = float(np.mean(cross_entropy(np.eye(4)[labels], softmax(logits))))
    witnesses, how = [ce_measure], "mean cross_entropy(one_hot(y), softmax(z))"
    losses_ce, losses_nll = _losses()
    if losses_ce is not None and losses_nll is not None:
        witnesses += [float(losses_ce(logits, labels)), float(losses_nll(log_softmax(logits), labels))]
        how += ", losses.cross_entropy(z, y), losses.nll_loss(log_softmax(z), y)"
    else:
        how += " (infoloss.losses not available)"

    claims = (
        identity(
            "KL is the expected log-ratio",
            "D(P||Q) = sum P log(P/Q)",
            kl_divergence(P, Q),
            float(np.sum(P * np.log(P / Q))),
            "kl_divergence(P, Q) vs (P * log(P / Q)).sum() in NumPy",
        ),
        identity("... and equals cross-entropy minus entropy", "D(P||Q) = H(P,Q) - H(P)",
                 kl_divergence(P, Q), cross_entropy(P, Q) - entropy(P), "cross_entropy(P, Q) - entropy(P)"),
        holds(
            "Cross-entropy is the expected surprisal under the model: H(p,q) = -E_p[log q]",
            "mean of -log q(x), x ~ p, 100000 draws",
            abs(estimate - float(cross_entropy(P, model_q))) < 4 * standard_error,
            f"sample mean {estimate:.5f} +- {standard_error:.5f}, H(P,q) = {float(cross_entropy(P, model_q)):.5f}",
            "cross_entropy(P, q) vs sampled -log q, q = (.25, .6, .15)",
        ),
        identity(
            f"Likelihood of counts N = {counts.tolist()} under q: -(1/N) log L = H(p_empirical, q)",
            "-(1/N) log prod q_i^N_i = H(N/N, q)",
            -math.log(likelihood) / n,
            ce_counts,
            "math.prod(q_i ** N_i) vs cross_entropy(counts, q, normalize=True)",
        ),
        identity(
            "Hence NLL = CE: the mean negative log-likelihood of the observed days",
            "mean -log q(x_t) = H(p_empirical, q)",
            nll,
            ce_counts,
            "mean(-log q[days]) vs cross_entropy(counts, q, normalize=True)",
        ),
        holds(
            "Minimising KL = minimising CE = maximising likelihood (7 heads in 10 flips, theta grid)",
            "same best theta = 0.7",
            best["likelihood"] == best["CE"] == best["KL"] == heads / flips,
            ", ".join(f"{k}: {v:.2f}" for k, v in best.items()),
            "argmax log L, argmin cross_entropy / kl_divergence(counts, coins, normalize=True)",
        ),
        identity(
            "CrossEntropyLoss takes raw logits, NLLLoss log-probabilities: CE = NLL o log_softmax",
            "CE(z, y) = NLL(log_softmax(z), y)",
            [nll_of_log_softmax] * len(witnesses),
            witnesses,
            f"-mean(log_softmax(z)[i, y_i]) vs {how}",
        ),
    )
    return Section(
        "004",
        "Blog: KL, cross-entropy and likelihood",
        "P = (.36, .48, .16) against uniform Q; a month of weather counts; a batch of logits.",
        claims,
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


def _prefix_code(p: dict) -> tuple[dict, str]:
    """A codebook for ``p``: ``infoloss.coding.huffman_code`` when it is there.

    Without it, the Shannon code: codewords of length -log2 p_i (integers for the seed's
    dyadic p, where it is optimal), assigned canonically.
    """
    try:
        from .coding import huffman_code
    except ImportError:
        lengths = {s: round(-math.log2(v)) for s, v in p.items()}
        return _canonical(lengths), "Shannon code lengths -log2 p (infoloss.coding not available)"
    return dict(huffman_code(p)), "huffman_code(p)"


def _canonical(lengths: dict) -> dict:
    """Canonical prefix code for the given codeword lengths (shortest first)."""
    code, value, previous = {}, 0, 0
    for symbol in sorted(lengths, key=lambda s: (lengths[s], list(lengths).index(s))):
        value <<= lengths[symbol] - previous
        code[symbol] = format(value, f"0{lengths[symbol]}b")
        value, previous = value + 1, lengths[symbol]
    return {s: code[s] for s in lengths}


def _losses():
    """``losses.cross_entropy`` and ``losses.nll_loss`` when ``infoloss.losses`` provides them."""
    try:
        from . import losses
    except ImportError:
        return None, None
    return getattr(losses, "cross_entropy", None), getattr(losses, "nll_loss", None)


def _short(values) -> str:
    values = np.ravel(np.asarray(values, dtype=np.float64))
    if values.size == 1:
        return f"{float(values[0]) + 0.0:.6g}"
    return "(" + ", ".join(f"{float(v) + 0.0:.4g}" for v in values) + ")"
