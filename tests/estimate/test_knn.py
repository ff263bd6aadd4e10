"""k-NN estimators against closed forms, SciPy and scikit-learn; the duplicate-point rule.

Tolerances come from n: the Kozachenko-Leonenko and Wang-Kulkarni-Verdu estimates have
standard deviation about ``sqrt((Var log f + 2 d^2 psi_1(k)) / n)`` (the log-density term plus
the variance of the log neighbour distances, psi_1(k) each; a deliberately generous bound),
and each check allows 4 of those; the seeds are fixed, so the checks are deterministic.
"""

import math

import numpy as np
import pytest
import scipy.stats
from scipy import special
from scipy.spatial.distance import cdist

from infoloss import InputError, InputTypeError, estimate


def _sd(n, d, k, log_density_variance):
    return math.sqrt((log_density_variance + 2 * d * d * special.polygamma(1, k)) / n)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_gaussian_entropy(d):
    n, k, s = 4000, 3, 2.0
    x = np.random.default_rng(d).normal(scale=s, size=(n, d))
    truth = 0.5 * d * math.log(2 * math.pi * math.e * s * s)
    assert estimate.differential_entropy(x, k=k).value == pytest.approx(truth, abs=4 * _sd(n, d, k, d / 2))


def test_uniform_entropy_and_scipy():
    n, k = 4000, 3
    x = np.random.default_rng(7).uniform(0, 3, size=n)
    ours = estimate.differential_entropy(x, k=k).value
    # Uniform on [0, 3]: log 3. The boundary biases k-NN slightly low; 4 sd still covers it.
    assert ours == pytest.approx(math.log(3), abs=4 * _sd(n, 1, k, 0.0) + 0.01)
    assert ours == pytest.approx(scipy.stats.differential_entropy(x), abs=4 * _sd(n, 1, k, 0.0) + 0.01)
    normal = np.random.default_rng(8).normal(size=n)
    assert estimate.differential_entropy(normal, k=k).value == pytest.approx(
        scipy.stats.differential_entropy(normal), abs=4 * _sd(n, 1, k, 0.5)
    )


def test_entropy_in_bits_and_through_entropy_k():
    x = np.random.default_rng(0).normal(size=(500, 2))
    nats = estimate.differential_entropy(x, k=4)
    assert estimate.entropy(x, k=4).value == nats.value
    assert estimate.differential_entropy(x, k=4, base=2).value == pytest.approx(
        nats.value / math.log(2), rel=1e-14
    )
    assert nats.method == "kozachenko-leonenko" and nats.details == {"k": 4, "d": 2}


def test_gaussian_kl():
    n, k = 5000, 3
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=n), rng.normal(loc=1.0, size=n)
    # Var of log(f/g)(X) for N(0,1) vs N(1,1) is 1; two distance terms.
    result = estimate.kl_divergence(x, y, k=k)
    assert result.value == pytest.approx(0.5, abs=4 * _sd(n, 1, k, 1.0))
    assert result.method == "wang-kulkarni-verdu"


def test_gaussian_mi_and_scikit_learn():
    feature_selection = pytest.importorskip("sklearn.feature_selection")
    n, k, rho = 3000, 3, 0.6
    rng = np.random.default_rng(5)
    x = rng.normal(size=n)
    y = rho * x + math.sqrt(1 - rho * rho) * rng.normal(size=n)
    ours = estimate.mutual_information(x, y, k=k).value
    assert ours == pytest.approx(-0.5 * math.log(1 - rho * rho), abs=0.05)
    # scikit-learn's KSG (its 1e-10 noise aside) is the same estimator on the same data.
    theirs = feature_selection.mutual_info_regression(x[:, None], y, n_neighbors=k, random_state=0)[0]
    assert ours == pytest.approx(theirs, abs=1e-6)


def test_two_dimensional_mi():
    n = 3000
    rng = np.random.default_rng(6)
    x = rng.normal(size=(n, 2))
    y = x[:, :1] * 0.8 + 0.6 * rng.normal(size=(n, 1))  # depends on x[:, 0] only, rho = 0.8
    assert estimate.mutual_information(x, y, k=3).value == pytest.approx(-0.5 * math.log(1 - 0.64), abs=0.06)


def _brute_positive_kth(points, queries, k, same):
    distances = cdist(queries, points)
    out = []
    for row in distances:
        positive = np.sort(row[row > 0])
        out.append(positive[k - 1])
    return np.array(out)


def test_duplicate_rule_against_brute_force():
    rng = np.random.default_rng(9)
    base = np.round(rng.normal(size=(60, 2)), 1)
    x = np.concatenate([base, base[:20], base[:5]])  # copies: some points three times
    k = 2
    eps = _brute_positive_kth(x, x, k, same=True)
    n, d = x.shape
    expected = (
        special.digamma(n)
        - special.digamma(k)
        + math.log(math.pi)
        - special.gammaln(2)
        + d * np.mean(np.log(eps))
    )
    assert estimate.differential_entropy(x, k=k).value == pytest.approx(expected, rel=1e-12)
    y = np.concatenate([x[:10], rng.normal(size=(50, 2))])  # y shares points with x
    nu = _brute_positive_kth(y, x, k, same=False)
    expected_kl = d * np.mean(np.log(nu / eps)) + math.log(len(y) / (n - 1))
    assert estimate.kl_divergence(x, y, k=k).value == pytest.approx(expected_kl, rel=1e-12)


def test_duplicated_sample_is_finite_and_follows_the_rule():
    # Every point twice: the 2nd positive-distance neighbour is the 1st of the original sample.
    x = np.random.default_rng(10).normal(size=(500, 1))
    doubled = np.repeat(x, 2, axis=0)
    once = estimate.differential_entropy(x, k=1).value
    twice = estimate.differential_entropy(doubled, k=2).value
    n = len(x)
    shift = special.digamma(2 * n) - special.digamma(n) - special.digamma(2) + special.digamma(1)
    assert math.isfinite(twice)
    assert twice == pytest.approx(once + shift, rel=1e-12)
    assert math.isfinite(estimate.mutual_information(doubled, doubled[::-1], k=3).value)


def test_bad_input():
    with pytest.raises(InputError, match="needs at least 4"):
        estimate.differential_entropy([1.0, 2.0, 3.0], k=3)
    with pytest.raises(InputError, match=r"x\[1\] = nan is not finite"):
        estimate.differential_entropy([1.0, float("nan"), 3.0, 4.0, 5.0], k=1)
    with pytest.raises(InputTypeError, match="labels"):
        estimate.differential_entropy(["a", "b", "c"], k=1)
    with pytest.raises(InputError, match="has 5 samples but y has 4"):
        estimate.mutual_information(np.arange(5.0), np.arange(4.0), k=1)
    with pytest.raises(InputError, match="2 dimension"):
        estimate.kl_divergence(np.zeros((5, 2)) + np.arange(5)[:, None], np.arange(5.0), k=1)
    with pytest.raises(InputError, match="fewer than k=2 points apart from the copies"):
        estimate.differential_entropy([1.0, 1.0, 1.0, 2.0], k=2)
    with pytest.raises(InputError, match="k"):
        estimate.differential_entropy([1.0, 2.0], k=0)


def _with_duplicates(rng, n, d, far=0.0):
    """Normal points, a tenth of them repeated once or twice, some rounded to make ties."""
    x = rng.normal(size=(n, d)) + far
    x[: n // 10] = np.round(x[: n // 10], 1)
    return np.vstack([x, x[: n // 10], x[: n // 20]])


@pytest.mark.parametrize("d", [1, 3, 9, 20])
@pytest.mark.parametrize("p", [2, np.inf])
@pytest.mark.parametrize("far", [0.0, 1e4])  # far from the origin: the BLAS form's cancellation
def test_brute_force_neighbours_equal_the_tree_and_cdist(d, p, far, monkeypatch):
    from scipy.spatial import cKDTree

    from infoloss.estimate import knn

    monkeypatch.setattr(knn, "_BRUTE_BLOCK_BYTES", 8 * 700 * 7)  # several blocks of 7 rows
    rng = np.random.default_rng(d)
    x = _with_duplicates(rng, 600, d, far)
    y = np.vstack([rng.normal(size=(300, d)) + far, x[:40]])  # y shares some points with x
    metric = "euclidean" if p == 2 else "chebyshev"
    for k in (1, 4):
        for data, in_tree in ((x, True), (y, False)):
            tree = knn._kth_positive_unordered(cKDTree(data), x, k, in_tree=in_tree, p=p)
            brute = knn._kth_positive_brute(data, x, k, p=p)
            full = cdist(x, data, metric)
            full[full == 0] = np.inf
            reference = np.sort(full, axis=1)[:, k - 1]
            assert np.all(np.isfinite(brute))
            np.testing.assert_allclose(brute, tree, rtol=1e-15, atol=0)  # summation order: 1 ulp
            np.testing.assert_allclose(brute, reference, rtol=1e-15, atol=0)


def test_brute_force_estimates_equal_the_tree_path():
    rng = np.random.default_rng(3)
    x = _with_duplicates(rng, 400, 3)
    y = _with_duplicates(rng, 400, 3)[: len(x)]
    pairs = [
        (estimate.differential_entropy, (x,), {"k": 3}),
        (estimate.kl_divergence, (x, y + 0.5), {"k": 2}),
        (estimate.mutual_information, (x, 0.5 * x + y), {"k": 3}),
        (estimate.mutual_information, (x[:, 0], x[:, 1:]), {"k": 3}),
    ]
    for function, args, options in pairs:
        tree = function(*args, algorithm="tree", **options).value
        brute = function(*args, algorithm="brute", **options).value
        assert brute == pytest.approx(tree, rel=1e-13)


def test_auto_uses_brute_force_from_the_dimension_threshold(monkeypatch):
    from infoloss.estimate import knn

    calls = []
    original = knn._kth_positive_brute
    monkeypatch.setattr(
        knn, "_kth_positive_brute", lambda *a, **kw: calls.append(a[0].shape) or original(*a, **kw)
    )
    rng = np.random.default_rng(4)
    estimate.differential_entropy(rng.normal(size=(50, knn.BRUTE_FROM_DIMENSION - 1)), k=2)
    assert calls == []
    estimate.differential_entropy(rng.normal(size=(50, knn.BRUTE_FROM_DIMENSION)), k=2)
    assert calls == [(50, knn.BRUTE_FROM_DIMENSION)]


def test_brute_force_bad_input():
    with pytest.raises(InputError, match="fewer than k=2 points apart from the copies of point 0"):
        estimate.differential_entropy([1.0, 1.0, 1.0, 2.0], k=2, algorithm="brute")
    with pytest.raises(InputError, match="'tree'"):
        estimate.differential_entropy([1.0, 2.0, 3.0], k=1, algorithm="kd")


def test_one_dimensional_counts_by_sorting_equal_the_tree():
    """The 1-D ball counts (binary search, ends fixed up) equal cKDTree's, ties and rounding included."""
    from scipy.spatial import cKDTree

    from infoloss.estimate.knn import _count_within_sorted

    rng = np.random.default_rng(31)
    grid = np.round(rng.normal(size=4000), 1)  # many ties, radii exactly on the grid
    offset = 1e8 + np.round(rng.normal(size=4000), 2) * 0.5  # v +- r rounds at this magnitude
    smooth = rng.normal(size=4000)
    for values, radius in (
        (grid, np.full(4000, 0.1)),
        (grid, rng.choice([0.0, 0.1, 0.2, 0.3], 4000)),
        (offset, np.full(4000, 0.005)),
        (offset, np.abs(rng.normal(size=4000)) * 0.01),
        (smooth, np.abs(rng.normal(size=4000)) * 0.01),
    ):
        tree = cKDTree(values[:, None])
        expected = (
            np.asarray(tree.query_ball_point(values[:, None], radius, p=np.inf, return_length=True)) - 1
        )
        np.testing.assert_array_equal(_count_within_sorted(values, radius), expected)
