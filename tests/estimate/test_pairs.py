"""Divergences between samples and mutual information of paired samples.

References: scikit-learn's ``mutual_info_score`` (plug-in MI), ``scipy.stats.entropy`` (KL of
the smoothed distributions, computed here from the counts independently), R's ``entropy``
package definitions (KL.Dirichlet smooths each sample on its own).
"""

import math

import numpy as np
import pytest
import scipy.stats
from scipy.spatial import distance

from infoloss import InputError, InputTypeError, estimate


def test_plugin_mi_equals_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, 2000)
    y = (x + rng.integers(0, 3, 2000)) % 7
    assert estimate.mutual_information(x, y).value == pytest.approx(
        metrics.mutual_info_score(x, y), rel=1e-12
    )
    labels = np.array(list("abcdef"))[x]
    assert estimate.mutual_information(labels, y).value == pytest.approx(
        metrics.mutual_info_score(x, y), rel=1e-12
    )


def test_mi_identities_for_every_method():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 4, 500)
    y = (x + rng.integers(0, 2, 500)) % 5
    for method in ("plugin", "miller-madow", "grassberger", "zhang", "chao-shen"):
        mi = estimate.mutual_information(x, y, method).value
        hx = estimate.entropy(x, method).value
        hy = estimate.entropy(y, method).value
        hxy = estimate.joint_entropy(x, y, method).value
        assert mi == pytest.approx(hx + hy - hxy, rel=1e-12), method
        assert estimate.conditional_entropy(x, y, method).value == pytest.approx(hxy - hy, rel=1e-12)
    # Plug-in joint entropy is the entropy of the pairs as labels.
    pairs = list(zip(x.tolist(), y.tolist()))
    assert estimate.joint_entropy(x, y).value == pytest.approx(estimate.entropy(pairs).value, rel=1e-13)


def test_smoothed_mi_is_kl_of_the_smoothed_joint():
    x = np.array([0, 0, 1, 1, 2, 2, 2, 0])
    y = np.array([1, 1, 0, 0, 1, 0, 0, 1])
    table = np.zeros((3, 2))
    np.add.at(table, (x, y), 1)
    joint = (table + 0.5) / (table.sum() + 0.5 * table.size)
    product = np.outer(joint.sum(1), joint.sum(0))
    expected = scipy.stats.entropy(joint.ravel(), product.ravel())
    assert estimate.mutual_information(x, y, "jeffreys").value == pytest.approx(expected, rel=1e-12)
    shrunk = estimate.mutual_information(x, y, "shrink")
    assert 0 <= shrunk.details["lambda"] <= 1


def test_nsb_mi_uses_the_joint_alphabet():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 3, 300)
    y = rng.integers(0, 4, 300)
    mi = estimate.mutual_information(x, y, "nsb", alphabet_size=(3, 4)).value
    parts = (
        estimate.entropy(x, "nsb", alphabet_size=3).value
        + estimate.entropy(y, "nsb", alphabet_size=4).value
        - estimate.entropy(list(zip(x, y)), "nsb", alphabet_size=12).value
    )
    assert mi == pytest.approx(parts, rel=1e-10)
    assert abs(mi) < 0.05  # independent


def test_kl_plugin_is_infinite_and_smoothing_makes_it_finite():
    x = ["a"] * 5 + ["b"] * 3 + ["c"] * 2
    y = ["a"] * 6 + ["b"] * 4  # 'c' never seen in y
    assert estimate.kl_divergence(x, y).value == math.inf
    assert estimate.cross_entropy(x, y).value == math.inf
    for method in ("laplace", "jeffreys", "shrink", "sg", "minimax"):
        assert math.isfinite(estimate.kl_divergence(x, y, method).value)
    # Laplace by hand over the union {a, b, c}: each sample smoothed on its own.
    p = (np.array([5, 3, 2]) + 1) / 13
    q = (np.array([6, 4, 0]) + 1) / 13
    assert estimate.kl_divergence(x, y, "laplace").value == pytest.approx(
        scipy.stats.entropy(p, q), rel=1e-12
    )
    assert estimate.cross_entropy(x, y, "laplace").value == pytest.approx(
        scipy.stats.entropy(p) + scipy.stats.entropy(p, q), rel=1e-12
    )
    assert estimate.js_divergence(x, y, "laplace").value == pytest.approx(
        distance.jensenshannon(p, q) ** 2, rel=1e-10
    )


def test_divergences_from_counts_rows_and_alphabet():
    x = np.array([[5, 3, 2, 0], [1, 1, 1, 1]])
    y = np.array([6, 4, 0, 0])
    rows = estimate.kl_divergence(x, y, "jeffreys", counts=True)
    p = (x + 0.5) / (x.sum(1, keepdims=True) + 2)
    q = (y + 0.5) / (y.sum() + 2)
    np.testing.assert_allclose(rows.value, scipy.stats.entropy(p, q, axis=1), rtol=1e-12)
    padded = estimate.kl_divergence(x[0], y, "jeffreys", counts=True, alphabet_size=6).value
    p6 = (np.r_[x[0], 0, 0] + 0.5) / (10 + 3)
    q6 = (np.r_[y, 0, 0] + 0.5) / (10 + 3)
    assert padded == pytest.approx(scipy.stats.entropy(p6, q6), rel=1e-12)


def test_samples_and_counts_agree():
    rng = np.random.default_rng(4)
    x, y = rng.integers(0, 5, 100), rng.integers(0, 5, 80)
    cx, cy = np.bincount(x, minlength=5), np.bincount(y, minlength=5)
    for method in ("plugin", "shrink", "laplace"):
        assert estimate.js_divergence(x, y, method).value == pytest.approx(
            estimate.js_divergence(cx, cy, method, counts=True).value, rel=1e-12
        )


def test_bits():
    x, y = ["a", "a", "b"], ["a", "b", "b"]
    assert estimate.kl_divergence(x, y, base=2).value == pytest.approx(
        estimate.kl_divergence(x, y).value / math.log(2), rel=1e-14
    )
    assert estimate.mutual_information(x, y, base=2).value == pytest.approx(
        estimate.mutual_information(x, y).value / math.log(2), rel=1e-14
    )


def test_mismatched_lengths():
    with pytest.raises(InputError, match="has 3 samples but y has 2"):
        estimate.mutual_information([1, 2, 3], [1, 2])
    with pytest.raises(InputError, match="has 3 counts along axis -1 but y has 2"):
        estimate.kl_divergence([1, 2, 3], [1, 2], counts=True)


def test_bad_methods_and_sizes():
    with pytest.raises(InputError, match="'plugin', 'jeffreys'"):
        estimate.kl_divergence([1, 2], [1, 2], "miller-madow")
    with pytest.raises(InputError, match="alphabet_size is needed by method='nsb'"):
        estimate.mutual_information([1, 2], [1, 2], "nsb")
    with pytest.raises(InputTypeError, match="pair"):
        estimate.mutual_information([1, 2], [1, 2], alphabet_size=4)
    with pytest.raises(InputError, match="smaller than the 2 distinct symbols observed in y"):
        estimate.mutual_information([1, 2], [1, 2], alphabet_size=(2, 1))
    with pytest.raises(InputError, match="smaller than the 3 symbols"):
        estimate.kl_divergence([1, 2], [3], alphabet_size=2)


def _one_compute(function):
    """``function()`` and how many times Dask computed while it ran."""
    import dask

    computed = []
    with (
        dask.config.set(scheduler="threads"),
        dask.callbacks.Callback(start=lambda *args: computed.append(1)),
    ):
        result = function()
    return result, len(computed)


@pytest.mark.parametrize("kind", ["ints", "strings", "wide"])
def test_dask_pairs_equal_numpy_in_one_pass(kind):
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(21)
    x = rng.integers(0, 6, 1009)
    y = (x + rng.integers(0, 3, 1009)) % 7
    if kind == "strings":
        x, y = np.array(list("abcdef"))[x], np.array(["p", "q", "r", "s", "t", "u", "v"])[y]
    elif kind == "wide":
        x, y = x * 10**12 - 5, y.astype(np.float64) / 3
    lazy_x, lazy_y = da.from_array(x, chunks=101), da.from_array(y, chunks=230)  # chunked differently
    for function, method, options in (
        (estimate.mutual_information, "plugin", {}),
        (estimate.mutual_information, "miller-madow", {}),
        (estimate.conditional_entropy, "shrink", {}),
        (estimate.joint_entropy, "nsb", {"alphabet_size": (6, 7)}),
        (estimate.mutual_information, "nsb", {"alphabet_size": (8, 9)}),
    ):
        lazy, computes = _one_compute(lambda f=function, m=method, o=options: f(lazy_x, lazy_y, m, **o))
        assert computes == 1
        eager = function(x, y, method, **options)
        assert lazy.value == pytest.approx(eager.value, rel=1e-12, abs=1e-15)
        assert lazy.n == eager.n == len(x)
    if kind == "ints":
        metrics = pytest.importorskip("sklearn.metrics")
        assert estimate.mutual_information(lazy_x, lazy_y).value == pytest.approx(
            metrics.mutual_info_score(x, y), rel=1e-12
        )


def test_dask_dataframe_columns_pair_by_position():
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    rng = np.random.default_rng(22)
    frame = pd.DataFrame(
        {"colour": rng.choice(np.array(["red", "green", "blue"]), 700), "size": rng.integers(0, 4, 700)}
    )
    frame.loc[frame["colour"] == "red", "size"] = 0  # dependence
    lazy = dd.from_pandas(frame, npartitions=6)
    for function in (estimate.mutual_information, estimate.conditional_entropy, estimate.joint_entropy):
        result, computes = _one_compute(lambda f=function: f(lazy["colour"], lazy["size"], "jeffreys"))
        assert computes == 1
        assert result.value == pytest.approx(
            function(frame["colour"], frame["size"], "jeffreys").value, rel=1e-12
        )


def test_dask_pairs_bad_input():
    da = pytest.importorskip("dask.array")
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    with pytest.raises(InputError, match="has 10 samples but y has 9"):
        estimate.mutual_information(da.arange(10, chunks=3), da.arange(9, chunks=3))
    with pytest.raises(InputError, match="missing"):
        estimate.mutual_information(
            da.from_array(np.array([1.0, np.nan, 2.0, 1.0]), chunks=2), da.arange(4, chunks=2)
        )
    with pytest.raises(InputTypeError, match="both be Dask arrays"):
        estimate.mutual_information(da.arange(4, chunks=2), np.arange(4))
    frame = pd.DataFrame({"a": np.arange(20) % 3})
    with pytest.raises(InputError, match="partitioned alike"):
        estimate.mutual_information(
            dd.from_pandas(frame, npartitions=2)["a"], dd.from_pandas(frame, npartitions=3)["a"]
        )
    short = dd.from_pandas(pd.DataFrame({"a": np.arange(19) % 3}), npartitions=2)["a"]
    with pytest.raises(InputError, match="chunked alike"):
        estimate.mutual_information(dd.from_pandas(frame, npartitions=2)["a"], short)
