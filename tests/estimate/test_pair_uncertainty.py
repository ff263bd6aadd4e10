"""Confidence intervals of the two-variable estimators: coverage of a known truth, the paired
and two-sample resampling schemes, the jackknife against a leave-one-out loop, determinism."""

import math

import numpy as np
import pytest
from scipy import stats

from infoloss import estimate

JOINT = np.array([[0.30, 0.05, 0.05], [0.05, 0.20, 0.05], [0.02, 0.08, 0.20]])
P = np.array([0.4, 0.3, 0.2, 0.1])
Q = np.array([0.25, 0.25, 0.25, 0.25])


def _truth(quantity):
    p_x, p_y = JOINT.sum(axis=1), JOINT.sum(axis=0)
    h_xy = stats.entropy(JOINT.ravel())
    return {
        "mi": stats.entropy(p_x) + stats.entropy(p_y) - h_xy,
        "conditional": h_xy - stats.entropy(p_y),
        "joint": h_xy,
        "kl": stats.entropy(P, Q),
        "cross": stats.entropy(P) + stats.entropy(P, Q),
        "js": 0.5 * stats.entropy(P, (P + Q) / 2) + 0.5 * stats.entropy(Q, (P + Q) / 2),
    }[quantity]


def _pairs(rng, n):
    cells = rng.choice(JOINT.size, size=n, p=JOINT.ravel())
    return cells // 3, cells % 3


@pytest.mark.parametrize(
    "quantity, function, ci_method",
    [
        ("mi", estimate.mutual_information, "bootstrap"),
        ("conditional", estimate.conditional_entropy, "jackknife"),
        ("joint", estimate.joint_entropy, "bc"),
        ("kl", estimate.kl_divergence, "bootstrap"),
        ("cross", estimate.cross_entropy, "jackknife"),
        ("js", estimate.js_divergence, "bc"),
    ],
)
def test_intervals_cover_the_truth_at_about_the_nominal_rate(quantity, function, ci_method):
    rng = np.random.default_rng(11)
    truth, covered, reps = _truth(quantity), 0, 60
    for rep in range(reps):
        if quantity in ("mi", "conditional", "joint"):
            x, y = _pairs(rng, 1000)
        else:
            x, y = rng.choice(4, size=800, p=P), rng.choice(4, size=800, p=Q)
        result = function(
            x,
            y,
            "miller-madow" if quantity in ("mi", "conditional", "joint") else "plugin",
            ci=0.9,
            n_boot=200,
            ci_method=ci_method,
            random_state=rep,
        )
        low, high = result.ci
        covered += low <= truth <= high
    # 90% nominal; 60 draws: a binomial 95% range is about 0.82-0.97, allowed a little wider.
    assert 0.75 <= covered / reps <= 1.0


def test_intervals_are_deterministic_with_random_state():
    rng = np.random.default_rng(1)
    x, y = _pairs(rng, 300)
    first = estimate.mutual_information(x, y, ci=0.95, n_boot=300, random_state=7)
    again = estimate.mutual_information(x, y, ci=0.95, n_boot=300, random_state=7)
    other = estimate.mutual_information(x, y, ci=0.95, n_boot=300, random_state=8)
    assert first.ci == again.ci and first.std == again.std
    assert first.ci != other.ci
    a, b = rng.choice(4, size=200, p=P), rng.choice(4, size=300, p=Q)
    assert (
        estimate.kl_divergence(a, b, "laplace", ci=0.9, random_state=3).ci
        == estimate.kl_divergence(a, b, "laplace", ci=0.9, random_state=3).ci
    )


def test_counts_and_samples_give_the_same_interval():
    rng = np.random.default_rng(2)
    a, b = rng.choice(4, size=200, p=P), rng.choice(4, size=300, p=Q)
    counts_a, counts_b = np.bincount(a, minlength=4), np.bincount(b, minlength=4)
    for function in (estimate.kl_divergence, estimate.cross_entropy, estimate.js_divergence):
        samples = function(a, b, "jeffreys", ci=0.9, n_boot=200, random_state=5)
        counted = function(counts_a, counts_b, "jeffreys", counts=True, ci=0.9, n_boot=200, random_state=5)
        assert samples.value == counted.value and samples.ci == counted.ci


def test_paired_bootstrap_resamples_pairs_together():
    # y = x: I(X; Y) = H(X) on every resample of the pairs, so both intervals have the same spread.
    # Resampling x and y separately would break the pairing and pull MI far below H.
    rng = np.random.default_rng(3)
    x = rng.choice(4, size=400, p=P)
    mi = estimate.mutual_information(x, x, ci=0.9, n_boot=400, random_state=1)
    h = estimate.entropy(x, ci=0.9, n_boot=400, random_state=2)
    assert mi.value == pytest.approx(h.value, rel=1e-12)
    assert 0.8 < mi.std / h.std < 1.25
    assert mi.ci[0] > h.value - 4 * h.std


def _jackknife_se(thetas):
    thetas = np.asarray(thetas)
    n = len(thetas)
    return math.sqrt((n - 1) / n * np.sum((thetas - thetas.mean()) ** 2))


def test_paired_jackknife_equals_a_leave_one_pair_out_loop():
    rng = np.random.default_rng(4)
    x, y = _pairs(rng, 60)
    for function, method in (
        (estimate.mutual_information, "plugin"),
        (estimate.conditional_entropy, "miller-madow"),
        (estimate.mutual_information, "shrink"),
        (estimate.joint_entropy, "chao-shen"),
    ):
        result = function(x, y, method, ci=0.9, ci_method="jackknife", alphabet_size=(3, 3))
        loop = [
            function(np.delete(x, i), np.delete(y, i), method, alphabet_size=(3, 3)).value
            for i in range(len(x))
        ]
        assert result.std == pytest.approx(_jackknife_se(loop), rel=1e-10)
        z = stats.norm.ppf(0.95)
        assert result.ci == pytest.approx(
            (result.value - z * result.std, result.value + z * result.std), rel=1e-12
        )


def test_two_sample_jackknife_sums_each_samples_variance():
    rng = np.random.default_rng(5)
    a, b = rng.choice(4, size=40, p=P), rng.choice(4, size=30, p=Q)
    for function, method in ((estimate.kl_divergence, "laplace"), (estimate.js_divergence, "plugin")):
        result = function(a, b, method, ci=0.9, ci_method="jackknife", alphabet_size=4)
        left_a = [function(np.delete(a, i), b, method, alphabet_size=4).value for i in range(len(a))]
        left_b = [function(a, np.delete(b, i), method, alphabet_size=4).value for i in range(len(b))]
        expected = math.sqrt(_jackknife_se(left_a) ** 2 + _jackknife_se(left_b) ** 2)
        assert result.std == pytest.approx(expected, rel=1e-10)


def test_interval_in_bits_is_the_nats_interval_scaled():
    rng = np.random.default_rng(6)
    x, y = _pairs(rng, 300)
    nats = estimate.mutual_information(x, y, "jeffreys", ci=0.9, n_boot=200, random_state=1)
    bits = estimate.mutual_information(x, y, "jeffreys", ci=0.9, n_boot=200, random_state=1, base=2)
    assert bits.ci == pytest.approx(tuple(v / math.log(2) for v in nats.ci), rel=1e-12)
    assert bits.std == pytest.approx(nats.std / math.log(2), rel=1e-12)
    a, b = rng.choice(4, size=200, p=P), rng.choice(4, size=300, p=Q)
    kl_nats = estimate.kl_divergence(a, b, "laplace", ci=0.9, n_boot=200, random_state=1)
    kl_bits = estimate.kl_divergence(a, b, "laplace", ci=0.9, n_boot=200, random_state=1, base=2)
    assert kl_bits.ci == pytest.approx(tuple(v / math.log(2) for v in kl_nats.ci), rel=1e-12)


def test_nsb_keeps_its_posterior_std_in_details_when_a_ci_is_asked():
    rng = np.random.default_rng(7)
    x, y = _pairs(rng, 200)
    plain = estimate.joint_entropy(x, y, "nsb", alphabet_size=(3, 3))
    with_ci = estimate.joint_entropy(x, y, "nsb", alphabet_size=(3, 3), ci=0.9, ci_method="jackknife")
    assert with_ci.details["posterior_std"] == pytest.approx(plain.std, rel=1e-12)
    assert with_ci.value == plain.value
