"""Tests for infoloss.measures: SciPy parity, conventions, properties, backends, gradients.

References are SciPy (``scipy.stats.entropy``, ``scipy.special.rel_entr``/``entr``/``xlogy``,
``scipy.spatial.distance.jensenshannon``), ``torch.autograd.gradcheck`` and central finite
differences of the SciPy formulas. Input validation has its own file, test_checks.py.
"""

from __future__ import annotations

import dataclasses
import math
import zlib

import dask.array as da
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st
import torch
from hypothesis import given, settings, strategies as hs
from hypothesis.extra import numpy as hnp
from scipy.spatial.distance import jensenshannon

import infoloss as il
from infoloss import _validate as _checks
from tests.backends import BACKENDS, jax_float64, to_backend, to_float64  # noqa: F401 (jax_float64: autouse fixture)

MEASURES = {
    "entropy": il.entropy,
    "cross_entropy": il.cross_entropy,
    "kl_divergence": il.kl_divergence,
    "js_divergence": il.js_divergence,
}
LOG2 = math.log(2)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def random_distributions(rng, shape, axis=-1, zero_fraction=0.3):
    """Random distributions along ``axis`` with about ``zero_fraction`` exact zeros."""
    x = np.where(rng.random(shape) < zero_fraction, 0.0, rng.random(shape))
    # one guaranteed positive entry per slice, at a random position
    reduced = list(shape)
    reduced[axis] = 1
    where = rng.integers(0, shape[axis], size=reduced)
    np.put_along_axis(x, where, rng.random(reduced) + 0.1, axis=axis)
    return x / x.sum(axis=axis, keepdims=True)


def is_kind(backend, result) -> bool:
    return {
        "numpy": lambda r: isinstance(r, (np.ndarray, np.generic)),
        "torch": lambda r: isinstance(r, torch.Tensor),
        "jax": lambda r: isinstance(r, jax.Array),
        "dask": lambda r: isinstance(r, da.Array),
        "array_api_strict": lambda r: type(r).__module__.startswith("array_api_strict"),
    }[backend](result)


def dtype_name(result) -> str:
    return str(result.dtype).rsplit(".", 1)[-1]


def scipy_reference(name, p, q=None, *, axis=-1, base=None):
    """The measure computed by SciPy on float64 NumPy input."""
    if name == "entropy":
        return st.entropy(p, axis=axis, base=base)
    if name == "kl_divergence":
        return st.entropy(p, q, axis=axis, base=base)
    if name == "cross_entropy":
        value = -np.sum(sp.xlogy(p, q), axis=axis)
        return value if base is None else value / np.log(base)
    if name == "js_divergence":
        return jensenshannon(p, q, axis=axis, base=base) ** 2
    raise AssertionError(name)


def call(name, p, q, **kwargs):
    return MEASURES[name](p, **kwargs) if name == "entropy" else MEASURES[name](p, q, **kwargs)


# --------------------------------------------------------------------------------------------
# Parity with SciPy (NumPy, float64)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MEASURES))
@pytest.mark.parametrize("base", [None, 2, 10])
@pytest.mark.parametrize("axis", [-3, -2, -1, 0, 1, 2])
def test_scipy_parity_nd_every_axis(name, base, axis):
    rng = np.random.default_rng(zlib.crc32(repr((name, base, axis)).encode()))  # same inputs every run
    p = random_distributions(rng, (3, 4, 5), axis)
    q = random_distributions(rng, (3, 4, 5), axis)
    if name == "cross_entropy":  # keep it finite here; +inf has its own test
        q = random_distributions(rng, (3, 4, 5), axis, zero_fraction=0.0)
    got = call(name, p, q, axis=axis, base=base)
    want = scipy_reference(name, p, q, axis=axis, base=base)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", list(MEASURES))
@pytest.mark.parametrize("base", [None, 2, 10])
def test_scipy_parity_1d(name, base):
    rng = np.random.default_rng(7)
    for _ in range(5):
        p, q = random_distributions(rng, (9,)), random_distributions(rng, (9,), zero_fraction=0.1)
        got = call(name, p, q, base=base)
        want = scipy_reference(name, p, q, base=base)
        assert np.ndim(got) == 0
        if np.isinf(want):
            assert got == want
        else:
            assert got == pytest.approx(float(want), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_elementwise_parity_with_entr_and_rel_entr(axis):
    rng = np.random.default_rng(11)
    p, q = random_distributions(rng, (6, 7), axis), random_distributions(rng, (6, 7), axis)
    np.testing.assert_allclose(il.entropy(p, axis=axis), sp.entr(p).sum(axis=axis), rtol=1e-12)
    kl = il.kl_divergence(p, q, axis=axis)
    want = sp.rel_entr(p, q).sum(axis=axis)
    assert np.isinf(want).any()  # the zeros do create support mismatches here
    np.testing.assert_allclose(kl, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", list(MEASURES))
@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_keepdims(name, axis):
    rng = np.random.default_rng(3)
    p = random_distributions(rng, (2, 3, 4), axis)
    q = random_distributions(rng, (2, 3, 4), axis, zero_fraction=0.0)
    got = call(name, p, q, axis=axis, keepdims=True, base=2)
    want = np.expand_dims(scipy_reference(name, p, q, axis=axis, base=2), axis)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", list(MEASURES))
@pytest.mark.parametrize("axis", [0, -1])
def test_normalize_matches_scipy_normalising(name, axis):
    rng = np.random.default_rng(5)
    counts_p = rng.integers(0, 5, size=(4, 6))
    counts_q = rng.integers(1, 5, size=(4, 6)).astype(np.float64) * 0.37  # weights
    counts_p[0, 0] = counts_p[-1, -1] = 3  # no all-zero slice along either axis
    got = call(name, counts_p, counts_q, axis=axis, normalize=True)
    p = counts_p / counts_p.sum(axis=axis, keepdims=True)
    q = counts_q / counts_q.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(got, scipy_reference(name, p, q, axis=axis), rtol=1e-12, atol=1e-15)
    if name in ("entropy", "kl_divergence"):  # scipy.stats.entropy normalises by itself
        raw = st.entropy(counts_p, None if name == "entropy" else counts_q, axis=axis)
        np.testing.assert_allclose(got, raw, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape", [(200_001,), (3, 70_000), (5000, 40)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_large_numpy_inputs_match_scipy(shape, dtype):
    """Sizes that cross NumPy's block and thread boundaries (long rows, many short rows)."""
    rng = np.random.default_rng(shape[-1])
    p = random_distributions(rng, shape).astype(dtype)
    q = random_distributions(rng, shape, zero_fraction=0.0).astype(dtype)
    q_zeros = random_distributions(rng, shape).astype(dtype)
    p64, q64, q_zeros64 = (x.astype(np.float64) for x in (p, q, q_zeros))
    rtol = 1e-13 if dtype == "float64" else 2e-6
    cases = [
        (il.entropy(p), st.entropy(p64, axis=-1)),
        (il.cross_entropy(p, q), -sp.xlogy(p64, q64).sum(axis=-1)),
        (il.kl_divergence(p, q), st.entropy(p64, q64, axis=-1)),
        (il.kl_divergence(p, q_zeros, base=2), st.entropy(p64, q_zeros64, axis=-1, base=2)),
        (il.js_divergence(p, q_zeros), jensenshannon(p64, q_zeros64, axis=-1) ** 2),
        (il.entropy(p * 3, normalize=True), st.entropy(p64, axis=-1)),
        (il.kl_divergence(p * 7, q / 2, normalize=True), st.entropy(p64, q64, axis=-1)),
    ]
    for got, want in cases:
        assert np.asarray(got).dtype == dtype
        np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want, rtol=rtol, atol=0)


def test_integer_counts_are_computed_in_float():
    assert il.entropy(np.array([3, 1, 0, 4]), normalize=True) == pytest.approx(
        st.entropy([3, 1, 0, 4]), rel=1e-14
    )
    assert il.entropy(np.array([3, 1, 0, 4]), normalize=True).dtype == np.float64
    # a probability sequence beside an integer array is not truncated to integers
    got = il.kl_divergence(np.array([1, 2, 3]), [0.2, 0.3, 0.5], normalize=True)
    assert got == pytest.approx(st.entropy([1, 2, 3], [0.2, 0.3, 0.5]), rel=1e-12)


def test_empty_batch_gives_empty_result():
    assert il.entropy(np.zeros((0, 3))).shape == (0,)
    assert il.kl_divergence(np.zeros((2, 0, 3)), np.zeros((2, 0, 3))).shape == (2, 0)


def test_broadcasting_between_p_and_q():
    rng = np.random.default_rng(2)
    p, q = random_distributions(rng, (1, 5)), random_distributions(rng, (4, 5), zero_fraction=0)
    want = st.entropy(np.broadcast_to(p, q.shape), q, axis=-1)
    np.testing.assert_allclose(il.kl_divergence(p, q), want, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# Conventions at the edges
# --------------------------------------------------------------------------------------------


def test_zero_log_zero_is_zero_and_positive():
    value = il.entropy([1.0, 0.0, 0.0])
    assert value == 0.0 and math.copysign(1.0, value) == 1.0  # +0.0, not -0.0
    ce = il.cross_entropy([1.0, 0.0], [1.0, 0.0])
    assert ce == 0.0 and math.copysign(1.0, ce) == 1.0
    assert il.kl_divergence([0.5, 0.5, 0.0], [0.5, 0.5, 0.0]) == 0.0
    for backend in BACKENDS:  # the generic path too (NumPy lists may take the fast path)
        one_hot = to_backend(backend, [[0.0, 1.0, 0.0]])
        for value in (il.entropy(one_hot), il.cross_entropy(one_hot, one_hot)):
            assert math.copysign(1.0, float(to_float64(value)[0])) == 1.0, backend
    assert il.entropy(np.array([[0.0, 1.0], [0.5, 0.5]])).tolist() == [0.0, pytest.approx(LOG2, rel=1e-15)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # dask computes log(0) lazily
def test_support_mismatch_is_inf(backend):
    p = to_backend(backend, [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])
    q = to_backend(backend, [[0.5, 0.0, 0.5], [0.0, 0.5, 0.5]])
    ce, kl, js = (to_float64(f(p, q)) for f in (il.cross_entropy, il.kl_divergence, il.js_divergence))
    assert ce[0] == math.inf and kl[0] == math.inf
    assert ce[1] == pytest.approx(LOG2, rel=1e-15) and kl[1] == 0.0
    assert np.isfinite(js).all() and 0 < js[0] <= LOG2 and js[1] == 0.0
    assert not np.isnan(ce).any()
    # q = 0 where p = 0 is fine: those terms are 0
    np.testing.assert_array_equal(to_float64(il.kl_divergence(q, q)), [0.0, 0.0])


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_kl_of_p_with_itself_is_exactly_zero(backend, dtype):
    p = random_distributions(np.random.default_rng(4), (3, 6))
    x = to_backend(backend, p, dtype)
    assert (to_float64(il.kl_divergence(x, x)) == 0).all()
    assert (to_float64(il.js_divergence(x, x)) == 0).all()


def test_js_disjoint_supports_is_log2_and_never_more():
    rng = np.random.default_rng(9)
    for _ in range(20):
        raw = rng.random(8)
        p, q = raw.copy(), raw.copy()
        p[:4], q[4:] = 0, 0
        p, q = p / p.sum(), q / q.sum()
        value = il.js_divergence(p, q)
        assert value == pytest.approx(LOG2, rel=1e-15)
        assert value <= LOG2 * (1 + 4e-16)
    assert il.js_divergence([1.0, 0.0], [0.0, 1.0], base=2) == 1.0


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax", "dask", "array_api_strict"])
def test_js_finite_with_subnormal_entries(backend):
    # (p + q) / 2 underflows to 0 for p = 5e-324, q = 0; JS must stay finite and <= log 2
    p = np.array([[5e-324, 1 - 5e-324, 0.0], [5e-324, 0.0, 1.0]])
    q = np.array([[0.0, 0.5, 0.5], [0.0, 1.0, 0.0]])
    got = to_float64(il.js_divergence(to_backend(backend, p), to_backend(backend, q)))
    # SciPy's jensenshannon has the underflow itself (it gives inf); the subnormal entry adds at
    # most 5e-324 * log 2, so the same rows without it are the reference
    want = jensenshannon(np.where(p < 1e-300, 0.0, p), q, axis=-1) ** 2
    assert np.isfinite(got).all() and (got <= LOG2).all()
    np.testing.assert_allclose(got, want, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# decompose
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("base", [None, 2])
def test_decompose_ce_is_h_plus_kl(base):
    rng = np.random.default_rng(21)
    p = random_distributions(rng, (5, 7))
    q = random_distributions(rng, (5, 7), zero_fraction=0.0)
    parts = il.decompose(p, q, base=base)
    ce, h, kl = parts  # unpacks in this order
    np.testing.assert_allclose(ce, h + kl, rtol=1e-13)
    np.testing.assert_allclose(ce, scipy_reference("cross_entropy", p, q, base=base), rtol=1e-12)
    np.testing.assert_allclose(h, st.entropy(p, axis=-1, base=base), rtol=1e-12)
    np.testing.assert_allclose(kl, st.entropy(p, q, axis=-1, base=base), rtol=1e-12)
    with pytest.raises(dataclasses.FrozenInstanceError):
        parts.entropy = 0.0


def test_decompose_prints_a_table():
    parts = il.decompose([0.8, 0.1, 0.1], [0.2, 0.2, 0.6], base=2)
    lines = str(parts).splitlines()
    assert "bits" in lines[0]
    assert [line.split()[0] for line in lines[1:]] == ["cross-entropy", "entropy", "KL"]
    assert isinstance(parts.entropy, float)
    assert float(lines[2].split()[-1]) == pytest.approx(st.entropy([0.8, 0.1, 0.1], base=2), rel=1e-5)
    assert "inf" in str(il.decompose([0.5, 0.5], [1.0, 0.0]))


# --------------------------------------------------------------------------------------------
# Properties (Hypothesis)
# --------------------------------------------------------------------------------------------


def distributions(size):
    entries = hs.floats(0.0, 1.0, allow_subnormal=False)
    return (
        hnp.arrays(np.float64, size, elements=entries)
        .filter(lambda x: x.sum() > 1e-6)
        .map(lambda x: x / x.sum())
    )


pairs = hs.integers(1, 8).flatmap(lambda n: hs.tuples(distributions(n), distributions(n)))
PROPERTY = settings(max_examples=60, deadline=None)


@PROPERTY
@given(pairs)
def test_cross_entropy_at_least_entropy(pq):
    p, q = pq
    ce, h = il.cross_entropy(p, q), il.entropy(p)
    assert ce >= h - 1e-13 * max(1.0, abs(ce))


@PROPERTY
@given(pairs)
def test_kl_nonnegative_and_zero_on_itself(pq):
    p, q = pq
    assert il.kl_divergence(p, q) >= -1e-13
    assert il.kl_divergence(p, p) == 0.0


@PROPERTY
@given(pairs)
def test_js_symmetric_bounded(pq):
    p, q = pq
    js = il.js_divergence(p, q)
    assert js == il.js_divergence(q, p)  # m = (p + q) / 2 is symmetric, so exactly
    assert -1e-15 <= js <= LOG2 * (1 + 1e-14)
    assert math.isfinite(js)


@PROPERTY
@given(pairs, hs.sampled_from([2, 10, math.e, 0.5, 3.7]))
def test_base_conversion(pq, base):
    p, q = pq
    for name in MEASURES:
        nats = call(name, p, q)
        in_base = call(name, p, q, base=base)
        if math.isinf(nats):  # log base 0.5 is negative: +inf nats is -inf there
            assert in_base == math.copysign(math.inf, math.log(base))
        else:
            assert in_base * math.log(base) == pytest.approx(nats, rel=1e-14, abs=1e-300)


@PROPERTY
@given(pairs, hs.randoms(use_true_random=False))
def test_permutation_invariance(pq, random):
    p, q = pq
    order = list(range(len(p)))
    random.shuffle(order)
    for name in MEASURES:
        before, after = call(name, p, q), call(name, p[order], q[order])
        if math.isinf(before):
            assert after == before
        else:
            assert after == pytest.approx(before, rel=1e-13, abs=1e-15)


# --------------------------------------------------------------------------------------------
# Backends, dtypes, Python inputs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(MEASURES))
def test_every_backend_own_kind_same_numbers(backend, dtype, name):
    rng = np.random.default_rng(13)
    p = random_distributions(rng, (3, 5), axis=0)
    q = random_distributions(rng, (3, 5), axis=0, zero_fraction=0.0)
    p_in, q_in = to_backend(backend, p, dtype), to_backend(backend, q, dtype)
    result = call(name, p_in, q_in, axis=0, base=2)
    assert is_kind(backend, result)
    assert dtype_name(result) == dtype
    assert result.shape == (5,)
    # the reference sees the same (possibly float32-rounded) inputs
    p32, q32 = (np.asarray(x, dtype=dtype).astype(np.float64) for x in (p, q))
    want = scipy_reference(name, p32, q32, axis=0, base=2)
    rtol, atol = (1e-12, 1e-15) if dtype == "float64" else (2e-6, 1e-6)
    np.testing.assert_allclose(to_float64(result), want, rtol=rtol, atol=atol)


@pytest.mark.parametrize(
    "backend,dtype",
    [
        ("numpy", "float16"),
        ("torch", "float16"),
        ("torch", "bfloat16"),
        ("jax", "float16"),
        ("jax", "bfloat16"),
    ],
)
@pytest.mark.parametrize("name", list(MEASURES))
def test_half_precision_computed_in_float32(backend, dtype, name):
    rng = np.random.default_rng(17)
    p = random_distributions(rng, (4, 6))
    q = random_distributions(rng, (4, 6), zero_fraction=0.0)
    p_low, q_low = to_backend(backend, p, dtype), to_backend(backend, q, dtype)
    result = call(name, p_low, q_low)
    assert is_kind(backend, result) and dtype_name(result) == dtype
    # computed in float32 from the low-precision values, then rounded once to the input dtype
    p32, q32 = (
        to_backend(backend, to_float64(p_low), "float32"),
        to_backend(backend, to_float64(q_low), "float32"),
    )
    in_float32 = call(name, p32, q32, validate=False)  # bfloat16 rows miss float32's tolerance
    rounded = in_float32.astype(p_low.dtype) if backend != "torch" else in_float32.to(p_low.dtype)
    np.testing.assert_array_equal(to_float64(result), to_float64(rounded))
    want = scipy_reference(name, to_float64(p_low), to_float64(q_low))
    rtol = 2e-3 if dtype == "float16" else 1e-2
    np.testing.assert_allclose(to_float64(result), want, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("backend", ["torch", "jax", "array_api_strict"])
def test_result_on_the_input_device(backend):
    import array_api_compat

    p = to_backend(backend, [[0.25, 0.75], [1.0, 0.0]])
    assert array_api_compat.device(il.entropy(p)) == array_api_compat.device(p)


def test_sequence_beside_an_array_takes_the_array_kind():
    result = il.kl_divergence(torch.tensor([0.5, 0.5], dtype=torch.float64), [0.25, 0.75])
    assert isinstance(result, torch.Tensor)
    assert float(result) == pytest.approx(st.entropy([0.5, 0.5], [0.25, 0.75]), rel=1e-12)


def test_python_sequences_give_python_floats():
    value = il.kl_divergence([0.5, 0.5], [0.25, 0.75])
    assert type(value) is float
    assert value == pytest.approx(st.entropy([0.5, 0.5], [0.25, 0.75]), rel=1e-15)
    rows = il.entropy([[0.5, 0.5], [1.0, 0.0]])
    assert isinstance(rows, list) and all(type(v) is float for v in rows)
    assert rows == [pytest.approx(LOG2, rel=1e-15), 0.0]
    assert type(il.entropy((0.25, 0.25, 0.5), base=2)) is float
    assert il.entropy((0.25, 0.25, 0.5), base=2) == 1.5


def test_seed_weather_mapping_exactly():
    assert il.entropy({"rain": 0.14, "snow": 0.37, "sleet": 0.03, "hail": 0.46}) == 1.1055291211185652
    bits = il.entropy({"rain": 0.14, "snow": 0.37, "sleet": 0.03, "hail": 0.46}, base=2)
    assert type(bits) is float and round(bits, 4) == 1.5949


def test_seed_claims():
    """Every number the seed documents state (../shared/seeds/DIGEST.md), to their precision."""
    assert il.entropy([1.0, 0.0]) == 0.0  # a coin that always lands heads (001)
    assert il.entropy([0.5, 0.5], base=2) == 1.0  # a fair coin: 1 bit, the maximum (002)
    assert il.entropy([0.5, 0.25, 0.125, 0.125], base=2) == 1.75  # the Huffman example (002)
    assert round(il.entropy([0.5, 0.5]), 3) == 0.693  # coin, nats (003)
    assert round(il.entropy([1 / 6] * 6), 2) == 1.79  # die, nats (003)
    ce, h, kl = il.decompose([0.8, 0.1, 0.1], [0.2, 0.2, 0.6])  # bag of balls (003)
    assert (round(h, 4), round(ce, 4), round(kl, 4)) == (0.6390, 1.4996, 0.8605)
    assert [round(float(v), 4) for v in il.softmax([1.0, 1.0, 3.0])] == [0.1065, 0.1065, 0.7870]
    # a one-hot target has entropy 0, so its KL is its cross-entropy (002)
    assert il.kl_divergence([0.0, 1.0, 0.0], [0.2, 0.5, 0.3]) == il.cross_entropy(
        [0.0, 1.0, 0.0], [0.2, 0.5, 0.3]
    )
    # NLL of observed counts under q, per observation, is H(empirical p, q) (004)
    counts, q = np.array([3, 0, 5, 2]), np.array([0.1, 0.2, 0.4, 0.3])
    nll = -np.sum(counts * np.log(q)) / counts.sum()
    assert il.cross_entropy(counts, q, normalize=True) == pytest.approx(nll, rel=1e-15)


def test_mappings_align_by_label():
    p = {"a": 0.5, "b": 0.25, "c": 0.25}
    q_shuffled = {"c": 0.5, "a": 0.25, "b": 0.25}
    want = st.entropy([0.5, 0.25, 0.25], [0.25, 0.25, 0.5])
    assert il.kl_divergence(p, q_shuffled) == pytest.approx(want, rel=1e-15)
    # a label of p missing from q means q = 0 there: +inf
    assert il.kl_divergence(p, {"a": 0.5, "b": 0.5}) == math.inf
    assert il.cross_entropy(p, {"a": 0.5, "b": 0.5}) == math.inf
    # a label of q missing from p means p = 0 there: that term vanishes
    assert il.kl_divergence({"a": 1.0}, {"a": 0.5, "z": 0.5}) == pytest.approx(LOG2, rel=1e-15)
    assert il.cross_entropy({"a": 1.0}, {"a": 0.5, "z": 0.5}) == pytest.approx(LOG2, rel=1e-15)
    js = il.js_divergence({"a": 1.0}, {"z": 1.0})
    assert type(js) is float and js == pytest.approx(LOG2, rel=1e-15)
    ce, h, kl = il.decompose({"x": 0.5, "y": 0.5}, {"y": 0.9, "x": 0.1})
    assert all(type(v) is float for v in (ce, h, kl))
    assert kl == pytest.approx(st.entropy([0.5, 0.5], [0.1, 0.9]), rel=1e-14)


def test_mapping_with_numpy_scalars_and_ints():
    assert il.entropy({"a": np.float64(0.5), "b": np.float32(0.5)}) == pytest.approx(LOG2, rel=1e-7)
    assert il.entropy({"a": 1, "b": 3}, normalize=True) == pytest.approx(st.entropy([1, 3]), rel=1e-15)


# --------------------------------------------------------------------------------------------
# Gradients: torch.autograd.gradcheck and JAX against central finite differences
# --------------------------------------------------------------------------------------------

# p has a zero entry (index 0); q_pos is positive everywhere; q_js has a zero where p > 0.
P = np.array([0.0, 0.1, 0.2, 0.3, 0.4])
Q_POS = np.array([0.3, 0.1, 0.2, 0.15, 0.25])
Q_JS = np.array([0.25, 0.25, 0.0, 0.25, 0.25])

# (measure, argument differentiated, q, entries where the derivative is finite)
GRADIENT_CASES = [
    ("entropy", "p", Q_POS, P > 0),  # d/dp(-p log p) = +inf at p = 0
    ("cross_entropy", "p", Q_POS, np.ones(5, bool)),  # -log q: finite even where p = 0
    ("cross_entropy", "q", Q_POS, np.ones(5, bool)),
    ("kl_divergence", "p", Q_POS, P > 0),
    ("kl_divergence", "q", Q_POS, np.ones(5, bool)),  # -p/q: 0 where p = 0
    ("js_divergence", "p", Q_JS, P > 0),  # log(p/m)/2: finite where p > 0, even if q = 0
    ("js_divergence", "q", Q_JS, Q_JS > 0),  # finite where q > 0, even if p = 0
]


def scipy_formula(name, p, q):
    """The measure from scipy.special, for finite differences (no normalisation, no checks)."""
    if name == "entropy":
        return np.sum(sp.entr(p))
    if name == "cross_entropy":
        return -np.sum(sp.xlogy(p, q))
    if name == "kl_divergence":
        return np.sum(sp.rel_entr(p, q))
    m = (p + q) / 2
    return np.sum(sp.rel_entr(p, m) + sp.rel_entr(q, m)) / 2


def central_difference(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


@pytest.mark.parametrize("name,wrt,q,finite", GRADIENT_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_torch_gradcheck(name, wrt, q, finite):
    p_t = torch.tensor(P, dtype=torch.float64)
    q_t = torch.tensor(q, dtype=torch.float64)
    held = p_t if wrt == "p" else q_t
    mask = torch.tensor(finite)

    def measure_of_free_entries(free):
        arg = held.clone()
        arg[mask] = free
        p_arg, q_arg = (arg, q_t) if wrt == "p" else (p_t, arg)
        return call(name, p_arg, q_arg, validate=False)

    free = held[mask].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(measure_of_free_entries, (free,), eps=1e-7, atol=1e-7, rtol=1e-6)

    # the full gradient (all entries, finite math or not) has no NaN
    full = held.clone().requires_grad_(True)
    p_arg, q_arg = (full, q_t) if wrt == "p" else (p_t, full)
    (grad,) = torch.autograd.grad(call(name, p_arg, q_arg), full)
    assert not torch.isnan(grad).any()
    # and it matches the SciPy formula's finite differences where the math is finite
    reference = central_difference(
        lambda v: scipy_formula(name, *((v, q) if wrt == "p" else (P, v))), held.numpy().copy()
    )
    np.testing.assert_allclose(grad.numpy()[finite], reference[finite], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name,wrt,q,finite", GRADIENT_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_jax_grad_matches_finite_differences(name, wrt, q, finite):
    p_j, q_j = jnp.asarray(P), jnp.asarray(q)

    def measure(arg):
        p_arg, q_arg = (arg, q_j) if wrt == "p" else (p_j, arg)
        return call(name, p_arg, q_arg, validate=False)

    held = P if wrt == "p" else q
    grad = np.asarray(jax.grad(measure)(jnp.asarray(held)))
    assert grad.dtype == np.float64
    assert not np.isnan(grad).any()
    reference = central_difference(
        lambda v: scipy_formula(name, *((v, q) if wrt == "p" else (P, v))), held.copy()
    )
    np.testing.assert_allclose(grad[finite], reference[finite], rtol=1e-6, atol=1e-8)


def test_gradients_along_axis_0_batched():
    rng = np.random.default_rng(8)
    p = random_distributions(rng, (4, 3), axis=0)
    q = torch.tensor(random_distributions(rng, (4, 3), axis=0, zero_fraction=0), requires_grad=True)
    il.kl_divergence(torch.tensor(p), q, axis=0).sum().backward()
    np.testing.assert_allclose(q.grad.numpy(), -p / q.detach().numpy(), rtol=1e-12)  # d/dq p log(p/q)


# --------------------------------------------------------------------------------------------
# Under jax.jit and torch.compile: validation skipped while tracing
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MEASURES))
def test_jax_jit(name):
    rng = np.random.default_rng(1)
    p = random_distributions(rng, (3, 4))
    q = random_distributions(rng, (3, 4), zero_fraction=0.0)
    compiled = jax.jit(lambda a, b: call(name, a, b, base=2))
    got = compiled(jnp.asarray(p), jnp.asarray(q))
    np.testing.assert_allclose(np.asarray(got), scipy_reference(name, p, q, base=2), rtol=1e-12, atol=1e-15)
    # no eager checks on tracers: an input that eager mode rejects does not raise under jit
    np.asarray(compiled(jnp.asarray(p) * 2, jnp.asarray(q)))
    # and grad-of-jit works through them
    grad = jax.grad(lambda b: compiled(jnp.asarray(p), b).sum())(jnp.asarray(q))
    assert np.isfinite(np.asarray(grad)).all()


def test_jax_vmap():
    rng = np.random.default_rng(6)
    p, q = random_distributions(rng, (3, 4)), random_distributions(rng, (3, 4), zero_fraction=0)
    got = jax.vmap(il.kl_divergence)(jnp.asarray(p), jnp.asarray(q))
    np.testing.assert_allclose(np.asarray(got), st.entropy(p, q, axis=-1), rtol=1e-12)


@pytest.mark.parametrize("name", list(MEASURES))
def test_torch_func_vmap_and_grad(name):
    rng = np.random.default_rng(16)
    p = random_distributions(rng, (3, 4))
    q = random_distributions(rng, (3, 4), zero_fraction=0.0)
    batched = torch.func.vmap(lambda a, b: call(name, a, b))(torch.tensor(p), torch.tensor(q))
    np.testing.assert_allclose(batched.numpy(), scipy_reference(name, p, q), rtol=1e-12, atol=1e-15)
    wrt = 0 if name == "entropy" else 1
    grads = torch.func.vmap(torch.func.grad(lambda a, b: call(name, a, b), argnums=wrt))(
        torch.tensor(p), torch.tensor(q)
    )
    assert not torch.isnan(grads).any()


@pytest.mark.parametrize("name", ["entropy", "kl_divergence", "js_divergence"])
def test_torch_compile_fullgraph(name):
    # "aot_eager" runs the real dynamo trace and AOT autograd without inductor's slow C++ build.
    torch._dynamo.reset()
    compiled = torch.compile(lambda a, b: call(name, a, b), fullgraph=True, backend="aot_eager")
    rng = np.random.default_rng(2)
    p = random_distributions(rng, (2, 4))
    q = random_distributions(rng, (2, 4), zero_fraction=0.0)
    p_t, q_t = torch.tensor(p, requires_grad=True), torch.tensor(q, requires_grad=True)
    got = compiled(p_t, q_t)
    np.testing.assert_allclose(got.detach().numpy(), scipy_reference(name, p, q), rtol=1e-12, atol=1e-15)
    got.sum().backward()
    differentiated = p_t if name == "entropy" else q_t
    assert torch.isfinite(differentiated.grad).all()
    # no eager checks while compiling: an input eager mode rejects goes through
    compiled(torch.tensor(p) * 2, torch.tensor(q))


def test_checks_skipped_while_compiling(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("validation ran while tracing")

    monkeypatch.setattr(_checks, "check_distribution", refuse)
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    p = torch.tensor([0.5, 0.6])
    assert float(il.entropy(p)) == pytest.approx(float(sp.entr([0.5, 0.6]).sum()), rel=1e-6)
