"""The public edge (infoloss._convert): pandas input aligned by label, and broadcasting.

References: the same call with dicts (aligned by label) and SciPy on arrays aligned by hand.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st

import infoloss as il
from tests.backends import BACKENDS, distributions, jax_float64, to_backend, to_float64  # noqa: F401

# --------------------------------------------------------------------------------------------
# pandas: Series align by index, DataFrames by column; rows of a DataFrame are distributions
# --------------------------------------------------------------------------------------------

# Two samples of the same weather with the categories in different orders of frequency, so
# that value_counts() lists them in different orders (matching by position would be wrong).
MONDAYS = pd.Series(["rain"] * 6 + ["sun"] * 3 + ["snow"] * 1)
TUESDAYS = pd.Series(["sun"] * 7 + ["snow"] * 2 + ["rain"] * 1 + ["fog"] * 2)


def test_value_counts_align_by_label():
    p, q = MONDAYS.value_counts(), TUESDAYS.value_counts()
    assert list(p.index) != list(q.index)[: len(p)]  # the orders differ
    got = il.kl_divergence(q, p.reindex(q.index, fill_value=0) + 1, normalize=True)
    labels = list(q.index)
    aligned_q = np.array([q[label] for label in labels], dtype=float)
    aligned_p = np.array([p.get(label, 0) + 1 for label in labels], dtype=float)
    assert isinstance(got, float)
    assert got == pytest.approx(st.entropy(aligned_q, aligned_p), rel=1e-14)
    # the same with dicts, and with the labels in another order: the same value
    as_dicts = il.kl_divergence(q.to_dict(), (p.reindex(q.index, fill_value=0) + 1).to_dict(), normalize=True)
    assert got == pytest.approx(as_dicts, rel=1e-14)


def test_value_counts_versus_dicts_and_scipy():
    p, q = MONDAYS.value_counts(), TUESDAYS.value_counts()
    # p has no fog: KL(q || p) is inf, KL(p || q) finite; each compared with the dict version
    for measure in (il.kl_divergence, il.cross_entropy, il.js_divergence):
        assert measure(p, q, normalize=True) == pytest.approx(
            measure(p.to_dict(), q.to_dict(), normalize=True), rel=1e-14
        )
    labels = ["rain", "sun", "snow", "fog"]
    aligned_p = np.array([6, 3, 1, 0], dtype=float)
    aligned_q = np.array([1, 7, 2, 2], dtype=float)
    want = st.entropy(aligned_p, aligned_q)
    assert want == pytest.approx(0.6 * np.log(7.2) + 0.3 * np.log(3.6 / 7) + 0.1 * np.log(0.6), rel=1e-14)
    assert il.kl_divergence(p, q, normalize=True) == pytest.approx(want, rel=1e-14)
    assert il.kl_divergence(q, p, normalize=True) == np.inf
    # matching by position (the defect) would give another value
    positional = st.entropy(p.to_numpy(float), q.to_numpy(float)[:3])
    assert abs(positional - want) > 0.1
    assert il.entropy(p, normalize=True) == pytest.approx(st.entropy(aligned_p), rel=1e-14)
    assert labels[:3] == list(p.index)


def test_series_beside_a_dict_is_aligned_too():
    p = pd.Series({"a": 0.25, "b": 0.75})
    assert il.kl_divergence(p, {"b": 0.5, "a": 0.5}) == pytest.approx(
        st.entropy([0.25, 0.75], [0.5, 0.5]), rel=1e-14
    )


def test_dataframe_rows_are_distributions_and_keep_the_index():
    frame = pd.DataFrame(
        {"rain": [6.0, 1.0, 2.0], "sun": [3.0, 7.0, 2.0], "snow": [1.0, 2.0, 0.0]},
        index=pd.Index(["mon", "tue", "wed"], name="day"),
    )
    got = il.entropy(frame, normalize=True)
    assert isinstance(got, pd.Series)
    assert got.index.equals(frame.index)
    np.testing.assert_allclose(got.to_numpy(), st.entropy(frame.to_numpy(), axis=1), rtol=1e-14)
    # q's columns in another order and q's rows in another order: aligned by label
    other = frame.iloc[::-1, ::-1] + 1.0
    got = il.kl_divergence(frame, other, normalize=True)
    want = st.entropy(frame.to_numpy(), (frame + 1.0).to_numpy(), axis=1)
    assert list(got.index) == ["mon", "tue", "wed"]
    np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-14)
    # a Series beside a DataFrame is the q of every row (aligned by label)
    q = pd.Series({"snow": 1.0, "sun": 1.0, "rain": 2.0})
    got = il.cross_entropy(frame, q, normalize=True)
    want = [-(row / row.sum() * np.log(np.array([2, 1, 1]) / 4)).sum() for row in frame.to_numpy()]
    np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-14)
    # axis=0: each column is a distribution over the rows
    got = il.entropy(frame, normalize=True, axis=0)
    assert list(got.index) == ["rain", "sun", "snow"]
    np.testing.assert_allclose(got.to_numpy(), st.entropy(frame.to_numpy(), axis=0), rtol=1e-14)


def test_dataframe_decompose_gives_series():
    frame = pd.DataFrame({"a": [0.5, 0.9], "b": [0.5, 0.1]}, index=[10, 20])
    parts = il.decompose(frame, frame.iloc[::-1])
    for part in parts:
        assert isinstance(part, pd.Series) and list(part.index) == [10, 20]
    np.testing.assert_allclose(parts.kl_divergence.to_numpy(), [0.0, 0.0], atol=0)


def test_pandas_errors_name_the_argument_and_the_label():
    with pytest.raises(il.InputError) as raised:
        il.entropy(pd.Series({"rain": 0.5, "sun": -0.5, "fog": 1.0}))
    assert (raised.value.argument, raised.value.index) == ("p", "sun")
    assert str(raised.value).startswith("p['sun'] = -0.5 is negative")
    with pytest.raises(il.InputTypeError) as raised:
        il.entropy(pd.Series({"rain": 0.5, "sun": "lots"}))
    assert (raised.value.argument, raised.value.index, raised.value.value) == ("p", "sun", "lots")
    with pytest.raises(il.InputError, match=r"^q has the label 'a' twice"):
        il.kl_divergence(pd.Series([0.5, 0.5], index=["a", "b"]), pd.Series([0.5, 0.5], index=["a", "a"]))
    with pytest.raises(il.InputTypeError, match=r"^q is a list but another argument is a pandas object"):
        il.kl_divergence(pd.Series([0.5, 0.5]), [0.5, 0.5])
    with pytest.raises(il.InputError, match=r"^q has other row labels"):
        il.kl_divergence(pd.DataFrame([[0.5, 0.5]], index=["x"]), pd.DataFrame([[0.5, 0.5]], index=["y"]))
    with pytest.raises(il.InputError, match=r"^p\[1, :\] sums to 0\.9"):
        il.entropy(pd.DataFrame([[0.5, 0.5], [0.5, 0.4]]))
    with pytest.raises(il.InputError, match=r"^p\['b'\] is NaN"):  # a missing value is NaN
        il.entropy(pd.Series([0.5, None], index=["a", "b"], dtype="Float64"))


def test_pandas_is_not_imported_for_other_input():
    code = (
        "import sys, numpy as np, infoloss as il\n"
        "il.entropy([0.5, 0.5]); il.kl_divergence({'a': 1.0}, {'a': 1.0})\n"
        "il.js_divergence(np.ones(2) / 2, np.ones(2) / 2)\n"
        "assert 'pandas' not in sys.modules, 'pandas imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------------------------
# Broadcasting: NumPy's rules for every dimension but the distribution axis
# --------------------------------------------------------------------------------------------

SCIPY_MEASURES = {
    "entropy": None,
    "cross_entropy": lambda p, q, axis: st.entropy(p, axis=axis) + st.entropy(p, q, axis=axis),
    "kl_divergence": lambda p, q, axis: st.entropy(p, q, axis=axis),
    "js_divergence": lambda p, q, axis: _scipy_js(p, q, axis),
}


def _scipy_js(p, q, axis):
    from scipy.spatial.distance import jensenshannon

    return jensenshannon(p, q, axis=axis) ** 2


# every backend for KL and JS; cross-entropy (the same broadcast, another sum) on two of them
@pytest.mark.slow
@pytest.mark.parametrize(
    "backend,name",
    [(b, n) for b in BACKENDS for n in ("kl_divergence", "js_divergence")]
    + [("numpy", "cross_entropy"), ("torch", "cross_entropy")],
)
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # dask's lazy log(0) of p = 0 entries
@pytest.mark.parametrize(
    "p_shape,q_shape,axis",
    [
        ((1000, 50), (50,), -1),
        ((50,), (1000, 50), -1),
        ((3,), (2, 3), -1),
        ((4, 1, 6), (5, 6), -1),
        ((6, 4), (6, 1), 0),
        ((2, 6, 3), (6, 1), 1),
    ],
)
def test_broadcasting_matches_scipy_on_explicit_broadcasts(backend, name, p_shape, q_shape, axis):
    ndim = max(len(p_shape), len(q_shape))  # axis counts in the broadcast shape
    p = (
        distributions(p_shape, seed=1)[0]
        if axis == -1
        else _along(p_shape, axis - ndim + len(p_shape), seed=1)
    )
    q = (
        distributions(q_shape, seed=2)[1]
        if axis == -1
        else _along(q_shape, axis - ndim + len(q_shape), seed=2)
    )
    p_full, q_full = np.broadcast_arrays(p, q)
    want = SCIPY_MEASURES[name](p_full, q_full, axis)
    got = getattr(il, name)(_as(backend, p), _as(backend, q), axis=axis)
    assert got.shape == want.shape
    np.testing.assert_allclose(to_float64(got), want, rtol=1e-12, atol=1e-15)
    # the same with counts and normalize=True (each argument normalised in its own shape)
    got = getattr(il, name)(_as(backend, 7 * p), _as(backend, 3 * q), axis=axis, normalize=True)
    np.testing.assert_allclose(to_float64(got), want, rtol=1e-12, atol=1e-15)


def _as(backend, x):
    """Like ``to_backend``, but with a few large Dask chunks (its chunks of 2 would make
    thousands of tasks for the (1000, 50) case); still several chunks along every axis."""
    if backend == "dask":
        import dask.array as da

        return da.from_array(x, chunks=tuple(max(1, (n + 1) // 2) for n in x.shape))
    return to_backend(backend, x)


def _along(shape, axis, seed):
    """Distributions along ``axis`` (no zeros) of the given shape."""
    x = np.random.default_rng(seed).random(shape) + 0.01
    return x / x.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_errors_name_positions_in_the_unbroadcast_argument(backend):
    p = to_backend(backend, distributions((4, 3), seed=3)[0])
    q = np.array([0.5, 0.6, -0.1])
    with pytest.raises(il.InputError) as raised:
        il.kl_divergence(p, to_backend(backend, q))
    assert (raised.value.argument, raised.value.index) == ("q", (2,))
    with pytest.raises(il.InputError, match=r"^q sums to 1\.1 along axis 0"):
        il.kl_divergence(p, to_backend(backend, [0.5, 0.6, 0.0]))


@pytest.mark.parametrize("name", ["cross_entropy", "kl_divergence", "js_divergence"])
@pytest.mark.parametrize("normalize", [False, True])
def test_numpy_broadcast_gives_what_the_explicit_broadcast_gives(name, normalize):
    """NumPy input of two shapes takes the fast path on broadcast copies: the same numbers."""
    p, q = distributions((300, 40), seed=4)[0], distributions((40,), seed=5)[1]
    explicit = np.ascontiguousarray(np.broadcast_to(q, p.shape))
    function = getattr(il, name)
    np.testing.assert_array_equal(
        function(p, q, normalize=normalize), function(p, explicit, normalize=normalize)
    )
    np.testing.assert_array_equal(
        function(q, p, normalize=normalize), function(explicit, p, normalize=normalize)
    )


def test_arrays_that_need_no_conversion_take_the_plain_lane():
    """NumPy, concrete JAX arrays and dense torch tensors of one float32/float64 dtype pass as
    they are (their namespace); anything else takes the general conversion and its checks."""
    import jax.numpy as jnp
    import torch
    from array_api_compat import torch as torch_namespace

    from infoloss import _convert

    x = np.full((2, 4), 0.25)
    plain = _convert._plain_namespace
    assert plain({"p": x, "q": x.astype(np.float64)}) is np
    assert plain({"p": jnp.asarray(x, dtype=jnp.float32)}) is jnp
    assert plain({"p": torch.from_numpy(x), "q": torch.from_numpy(x)}) is torch_namespace
    for named in (
        {"p": x, "q": x.astype(np.float32)},  # two dtypes
        {"p": x.astype(np.float16)},
        {"p": np.ones((2, 4), dtype=np.int64)},
        {"p": np.ma.masked_array(x)},  # a subclass: check_array refuses it
        {"p": x, "q": torch.from_numpy(x)},  # two kinds
        {"p": x, "q": [0.25] * 4},  # a sequence
        {"p": torch.nn.Parameter(torch.from_numpy(x))},
        {"p": torch.from_numpy(x).to_sparse()},
        {"p": torch.empty((2, 4), dtype=torch.float64, device="meta")},
    ):
        assert plain(named) is None, named
    # (and the general path still refuses what it refused)
    with pytest.raises(il.InputTypeError, match="masked array"):
        il.entropy(np.ma.masked_array(x, mask=[[False] * 4, [True] * 4]), axis=1)
    with pytest.raises(il.InputTypeError, match="meta"):
        il.entropy(torch.empty((2, 4), dtype=torch.float64, device="meta"), axis=1)
