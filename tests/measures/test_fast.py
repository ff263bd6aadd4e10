"""The NumPy fast path (``_numpy_fast``) against the generic path and against SciPy.

The generic path is reached by switching ``Inputs.numpy_fast_path`` off. Every case runs twice:
with the real block size, and with tiny blocks and threading from 100 entries on, so that rows
straddle block boundaries, long rows are split across blocks and threads, and both threads
run, all on small arrays.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.special
import scipy.stats

import infoloss
from infoloss import _convert as _inputs
from infoloss.measures import _fast as _numpy_fast
from tests.backends import distributions

MEASURES = {
    "entropy": infoloss.entropy,
    "cross_entropy": infoloss.cross_entropy,
    "kl_divergence": infoloss.kl_divergence,
    "js_divergence": infoloss.js_divergence,
}
# The last two also cross the real chunk (8192), block and thread (2**17) boundaries.
SHAPES = [(1,), (6,), (3, 5), (2, 3, 4), (1000,), (37, 29), (3, 333), (150, 2), (140_001,), (7, 20_000)]
TOLERANCE = {np.float64: dict(rtol=1e-12, atol=1e-14), np.float32: dict(rtol=1e-5, atol=1e-6)}


@pytest.fixture(params=["real blocks", "tiny blocks"], autouse=True)
def blocks(request, monkeypatch):
    if request.param == "tiny blocks":
        monkeypatch.setattr(_numpy_fast, "_BLOCK", 64)
        monkeypatch.setattr(_numpy_fast, "_CHUNK", 16)  # rows longer than 16 are cut into chunks
        monkeypatch.setattr(_numpy_fast, "_VECDOT_MIN", 8)
        monkeypatch.setattr(_numpy_fast, "_PARALLEL_MIN", 100)
    return request.param


@pytest.fixture(params=["compiled kernels", "numpy ufuncs"], autouse=True)
def kernels(request, monkeypatch):
    """Every test with the compiled block kernels (_kernels.c, where built) and without them."""
    if request.param == "numpy ufuncs":
        monkeypatch.setattr(_numpy_fast, "_KERNELS", None)
    return request.param


def generic(function, *args, **kwargs):
    """``function`` computed by the array-API path."""
    fast = _inputs.Inputs.numpy_fast_path
    _inputs.Inputs.numpy_fast_path = property(lambda self: False)
    try:
        return function(*args, **kwargs)
    finally:
        _inputs.Inputs.numpy_fast_path = fast


def fast_only(name, p, q, *, keepdims=False, **kwargs):
    """The fast path itself (not the public function, which may fall back to the generic one)."""
    named = {"p": p} if name == "entropy" else {"p": p, "q": q}
    inputs = _inputs.prepare(named, axis=-1, base=None, **{"normalize": False, "validate": True, **kwargs})
    assert inputs.numpy_fast_path
    value = _numpy_fast.compute(name, inputs, keepdims)
    assert value is not None, "the fast path declined"
    return inputs.finish(value)


def call(name, p, q, **kwargs):
    return MEASURES[name](p, **kwargs) if name == "entropy" else MEASURES[name](p, q, **kwargs)


def assert_same(fast, slow, dtype=np.float64):
    assert type(fast) is type(slow)
    assert np.shape(fast) == np.shape(slow)
    assert np.asarray(fast).dtype == np.asarray(slow).dtype
    np.testing.assert_allclose(fast, slow, **TOLERANCE[dtype])


# --------------------------------------------------------------------------------------------
# Same numbers as the generic path
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MEASURES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fast_equals_generic(name, shape, dtype):
    p, q = distributions(shape, seed=len(shape) + shape[-1], dtype=dtype)
    assert_same(fast_only(name, p, q), generic(call, name, p, q), dtype)
    assert_same(call(name, p, q), generic(call, name, p, q), dtype)


@pytest.mark.parametrize("name", MEASURES)
@pytest.mark.parametrize("shape", [(7,), (40, 9), (2, 300)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fast_equals_generic_normalize(name, shape, dtype):
    p, q = distributions(shape, seed=3, dtype=dtype, normalized=False)
    slow = generic(call, name, p, q, normalize=True)
    if name != "js_divergence":  # JS with normalize=True is the generic path by design
        assert_same(fast_only(name, p, q, normalize=True), slow, dtype)
    assert_same(call(name, p, q, normalize=True), slow, dtype)


@pytest.mark.parametrize("name", MEASURES)
@pytest.mark.parametrize("options", [dict(keepdims=True), dict(base=2), dict(validate=False)])
def test_fast_equals_generic_options(name, options):
    p, q = distributions((20, 11), seed=4)
    assert_same(call(name, p, q, **options), generic(call, name, p, q, **options))
    assert_same(call(name, p[0], q[0], **options), generic(call, name, p[0], q[0], **options))


@pytest.mark.parametrize("name", MEASURES)
def test_sequences_give_python_floats(name):
    p, q = distributions((5,), seed=5)
    fast = call(name, p.tolist(), q.tolist())
    assert type(fast) is float
    assert fast == pytest.approx(generic(call, name, p.tolist(), q.tolist()), rel=1e-12)


# --------------------------------------------------------------------------------------------
# Against SciPy
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_against_scipy(shape):
    p, q = distributions(shape, seed=6)
    entr = scipy.special.entr(p).sum(-1)
    rel_entr = scipy.special.rel_entr(p, q).sum(-1)
    np.testing.assert_allclose(infoloss.entropy(p), scipy.stats.entropy(p, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(infoloss.entropy(p), entr, rtol=1e-12)
    np.testing.assert_allclose(
        infoloss.kl_divergence(p, q), scipy.stats.entropy(p, q, axis=-1), rtol=1e-12, atol=1e-15
    )
    np.testing.assert_allclose(infoloss.kl_divergence(p, q), rel_entr, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(infoloss.cross_entropy(p, q), entr + rel_entr, rtol=1e-12)
    js = scipy.spatial.distance.jensenshannon(p, q, axis=-1) ** 2
    np.testing.assert_allclose(infoloss.js_divergence(p, q), js, rtol=1e-10, atol=1e-15)


def test_against_scipy_counts_in_bits():
    p, q = distributions((30, 17), seed=7, normalized=False)
    np.testing.assert_allclose(
        infoloss.kl_divergence(p, q, normalize=True, base=2),
        scipy.stats.entropy(p, q, axis=1, base=2),
        rtol=1e-12,
        atol=1e-15,
    )
    np.testing.assert_allclose(
        infoloss.entropy(p, normalize=True, base=2), scipy.stats.entropy(p, axis=1, base=2), rtol=1e-12
    )


# --------------------------------------------------------------------------------------------
# Edges: zeros, identical inputs, overflowing ratios, extreme sums
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kl_of_identical_inputs_is_exactly_zero(normalize, dtype):
    p, _ = distributions((9, 130), seed=8, dtype=dtype, normalized=not normalize)
    assert np.all(infoloss.kl_divergence(p, p.copy(), normalize=normalize) == 0)
    assert np.all(infoloss.kl_divergence(p[0], p[0].copy(), normalize=normalize) == 0)


def test_js_of_identical_inputs_is_exactly_zero():
    p, _ = distributions((9, 130), seed=8)
    assert np.all(infoloss.js_divergence(p, p.copy()) == 0)


def test_certain_outcome_has_entropy_plus_zero():
    for p, normalize in [([0.0, 1.0, 0.0], False), ([0.0, 7.0, 0.0], True), ([[3.0, 0.0], [0.0, 2.5]], True)]:
        p = np.asarray(p)
        for value in np.ravel(infoloss.entropy(p, normalize=normalize)):
            assert value == 0 and math.copysign(1, value) == 1
        for value in np.ravel(infoloss.cross_entropy(p, p, normalize=normalize)):
            assert value == 0 and math.copysign(1, value) == 1


@pytest.mark.parametrize("name", ["cross_entropy", "kl_divergence"])
def test_q_zero_where_p_positive_is_infinite(name):
    p, q = distributions((4, 200), seed=9)
    q[1, 5], q[1, 6] = 0, q[1, 5] + q[1, 6]
    p[1, 5], p[1, 0] = p[1, 5] + 1e-3, p[1, 0] - 1e-3
    fast, slow = call(name, p, q), generic(call, name, p, q)
    assert np.isinf(fast[1]) and fast[1] > 0
    assert_same(fast, slow)


def test_zero_in_both_contributes_nothing():
    p, q = np.array([0.5, 0.0, 0.5]), np.array([0.25, 0.0, 0.75])
    for name in MEASURES:
        assert np.isfinite(call(name, p, q))
        assert call(name, p, q) == pytest.approx(call(name, p[[0, 2]], q[[0, 2]]), rel=1e-15)


def test_overflowing_ratio_is_redone_exactly():
    """p / q overflows for a subnormal q; the block is recomputed with log p - log q."""
    p = np.full(300, 1 / 300)
    q = np.full(300, (1 - 1e-310) / 299)
    q[7] = 1e-310
    fast = infoloss.kl_divergence(p, q)
    assert np.isfinite(fast)
    np.testing.assert_allclose(fast, scipy.stats.entropy(p, q), rtol=1e-12)
    assert_same(fast, generic(infoloss.kl_divergence, p, q))


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_extreme_sums_take_the_generic_path(scale):
    p, q = distributions((3, 50), seed=10, normalized=False)
    for name in MEASURES:
        kwargs = dict(normalize=True)
        assert_same(call(name, p * scale, q, **kwargs), generic(call, name, p * scale, q, **kwargs))


# --------------------------------------------------------------------------------------------
# Bad input: the generic validator's exact messages
# --------------------------------------------------------------------------------------------


def _bad_inputs():
    p, q = distributions((40, 30), seed=11)
    negative, nan, inf, unnormalised = p.copy(), p.copy(), p.copy(), p.copy()
    negative[33, 4] = -0.1
    nan[35, 2] = np.nan
    inf[37, 1] = np.inf
    unnormalised[38] *= 1.001
    zero_row = 10 * p
    zero_row[39] = 0
    return [
        ("negative", negative, q, {}),
        ("nan", nan, q, {}),
        ("inf", inf, q, {}),
        ("bad q", p, unnormalised, {}),
        ("unnormalised", unnormalised, q, {}),
        ("zero row", zero_row, q, dict(normalize=True)),
        ("1-D", unnormalised[38], q[38], {}),
    ]


@pytest.mark.parametrize(
    "name, case",
    [(name, case) for name in MEASURES for case in _bad_inputs() if (name, case[0]) != ("entropy", "bad q")],
    ids=lambda value: value if isinstance(value, str) else value[0],
)
def test_errors_equal_the_generic_messages(name, case):
    _, p, q, kwargs = case
    with pytest.raises(infoloss.InputError) as slow:
        generic(call, name, p, q, **kwargs)
    with pytest.raises(infoloss.InputError) as fast:
        call(name, p, q, **kwargs)
    assert str(fast.value) == str(slow.value)
    assert fast.value.__context__ is None  # no internal exception chained to the user's error


def test_rejected_by_the_fast_checks_but_not_the_generic_one(monkeypatch):
    """A row sum on the edge of the tolerance: the generic validator decides, then its math."""

    def too_strict(self, sums):
        raise _numpy_fast._Invalid

    monkeypatch.setattr(_numpy_fast._Job, "check_sums", too_strict)
    p, q = distributions((5, 20), seed=12)
    for name in MEASURES:
        assert_same(call(name, p, q), generic(call, name, p, q))


def test_not_contiguous_or_other_axis_is_not_the_fast_path():
    p, q = distributions((20, 30), seed=13)
    assert _inputs.prepare({"p": p, "q": q}, axis=-1, normalize=False, validate=True).numpy_fast_path
    assert not _inputs.prepare({"p": p[:, ::2]}, axis=-1, normalize=True, validate=True).numpy_fast_path
    assert not _inputs.prepare({"p": p}, axis=0, normalize=True, validate=True).numpy_fast_path
