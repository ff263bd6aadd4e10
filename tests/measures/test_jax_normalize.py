"""JAX ``normalize=True`` under ``jit`` (measures/_jax.py ``_normalized_values``): the generic
path's values bit for bit, from fewer passes, in every branch (rows as they are; shares not
normal, a dominant share, a ratio that is not normal, sums the rescaling must change), its
gradients to rounding, and SciPy's values."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

import infoloss as il
from infoloss.measures import _dispatch
from tests.backends import jax_float64  # noqa: F401 - autouse fixture: JAX in float64

NAMES = ["entropy", "cross_entropy", "kl_divergence", "decompose"]


def _weights(kind, shape, rng, dtype="float64"):
    p = rng.random(shape) * rng.choice([1e-3, 1.0, 1e3], size=(*shape[:-1], 1))
    q = rng.random(shape) + 0.01
    if kind == "zeros":  # zeros in both (shares that are 0)
        p[rng.random(shape) < 0.2] = 0.0
        q[rng.random(shape) < 0.1] = 0.0
        q[..., 0] = 1.0  # (no row of q all zero)
    elif kind == "dominant":  # a share above a half (the dominant share's log1p)
        p[..., 0] *= 1e4
        q[..., 1] *= 1e5
    elif kind == "near":  # nearly proportional (KL's close terms)
        q = 3.0 * p * (1 + 1e-6 * rng.standard_normal(shape)) + 1e-9
    elif kind == "not normal":  # a share or a ratio below the smallest normal number
        p[..., 0], q[..., 0] = 1e-300, 1e10
    elif kind == "tiny sums":  # sums the rescaling must lift, and subnormal products of them
        p, q = (x * (1e-306 if dtype == "float64" else 1e-36) for x in (p, q))
    elif kind == "huge sums":  # sums past the largest float
        p, q = (x * (1e305 if dtype == "float64" else 1e35) for x in (p, q))
    return p, q


def _call(name, p, q, axis, generic=False):
    def run(a, b):
        if generic:
            value = _dispatch.generic_values(
                name, [a] if name == "entropy" else [a, b], axis=axis, keepdims=False, normalize=True
            )
        elif name == "entropy":
            value = il.entropy(a, axis=axis, normalize=True, validate=False)
        else:
            value = getattr(il, name)(a, b, axis=axis, normalize=True, validate=False)
        if name == "decompose" and not generic:
            return value.entropy, value.kl_divergence  # (generic_values' pair)
        return tuple(value) if name == "decompose" else (value,)

    return run


KINDS = ["plain", "zeros", "dominant", "near", "not normal", "tiny sums", "huge sums"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape, axis", [((5, 40), -1), ((300, 3), 0)])
def test_values_are_the_generic_paths_bit_for_bit(kind, dtype, shape, axis):
    rng = np.random.default_rng(50)
    p, q = (jnp.asarray(x, dtype=dtype) for x in _weights(kind, shape, rng, dtype))

    def every(a, b):  # one program (one compilation) for all the measures, ours and the generic
        return [(_call(name, p, q, axis)(a, b), _call(name, p, q, axis, True)(a, b)) for name in NAMES]

    for got, expected in jax.jit(every)(p, q):
        for g, e in zip(got, expected, strict=True):
            assert g.dtype == e.dtype == p.dtype
            np.testing.assert_array_equal(np.asarray(g), np.asarray(e))


@pytest.mark.filterwarnings("error")  # (no overflow in any branch traced, float32's included)
@pytest.mark.parametrize("kind", ["plain", "zeros", "dominant", "tiny sums"])
def test_values_without_float64_are_the_generic_paths(kind):
    """JAX's default, float32 only: the working dtype is float32 too."""
    with jax.enable_x64(False):
        rng = np.random.default_rng(53)
        p, q = (jnp.asarray(x, dtype="float32") for x in _weights(kind, (5, 40), rng, "float32"))

        def every(a, b):
            return [(_call(name, p, q, -1)(a, b), _call(name, p, q, -1, True)(a, b)) for name in NAMES]

        for got, expected in jax.jit(every)(p, q):
            for g, e in zip(got, expected, strict=True):
                assert g.dtype == e.dtype == jnp.float32
                np.testing.assert_array_equal(np.asarray(g), np.asarray(e))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["plain", "zeros", "dominant", "near", "not normal"])
def test_gradients_are_the_generic_paths(kind):
    rng = np.random.default_rng(51)
    p, q = (jnp.asarray(x) for x in _weights(kind, (4, 30), rng))
    cases = [
        (name, argument) for name in ("entropy", "cross_entropy", "kl_divergence") for argument in (0, 1)
    ]
    cases = [(name, argument) for name, argument in cases if not (name == "entropy" and argument == 1)]

    def gradients(a, b):  # one program for every case, ours and the generic
        def total(a, b, name, generic):
            return jnp.sum(_call(name, p, q, -1, generic)(a, b)[0])

        return [
            tuple(jax.grad(total, argnums=argument)(a, b, name, generic) for generic in (False, True))
            for name, argument in cases
        ]

    for got, expected in jax.jit(gradients)(p, q):
        got, expected = np.asarray(got), np.asarray(expected)
        np.testing.assert_array_equal(np.isfinite(got), np.isfinite(expected))
        finite = np.isfinite(expected)
        if not finite.any():
            continue  # (p > 0 = q in every row: the measure and its gradient are infinite)
        # (the cotangents add up in another order, which XLA picks per fusion of this one
        # program: rounding of the largest entry; near-proportional rows, whose gradient with
        # respect to q cancels to 1e-4 of 1/sum(q), were seen 64 of its ulps apart)
        scale = np.abs(expected[finite]).max()
        np.testing.assert_allclose(got[finite], expected[finite], rtol=0, atol=128 * np.spacing(scale))


# Rows whose shares are far below the smallest normal number (a log of the share itself would
# be -inf, and 0 * -inf the term): the values of the stored floats at 800 digits (mpmath), in
# float32 without JAX's float64 (XLA reads float32 subnormals as 0: none here) and float64.
TINY_SHARES = {
    "float32": [
        ([1e30, 1e-35, 1.0], None),
        ([1e30, 1e-38, 1e-30], "reversed"),
        ([1e36, 1e-30, 2e-37], "reversed"),
    ],
    "float64": [([1e300, 1e-300, 1.0], None), ([1e300, 1e-307, 1e-300], "reversed")],
}


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", sorted(TINY_SHARES))
def test_tiny_shares_keep_their_digits(dtype):
    import mpmath

    def reference(p, q):
        with mpmath.workdps(800):
            p, q = [mpmath.mpf(float(v)) for v in p], [mpmath.mpf(float(v)) for v in q]
            return float(-sum(a / sum(p) * mpmath.log(b / sum(q)) for a, b in zip(p, q) if a > 0))

    with jax.enable_x64(dtype == "float64"):
        for row, other in TINY_SHARES[dtype]:
            p = np.asarray(row, dtype)
            q = p[::-1].copy() if other else p
            expected = reference(p, q)
            for namespace in (np, jnp):
                a, b = namespace.asarray(p), namespace.asarray(q)
                got = (
                    il.entropy(a, normalize=True) if other is None else il.cross_entropy(a, b, normalize=True)
                )
                assert float(got) == pytest.approx(expected, rel=8 * float(np.finfo(dtype).eps), abs=0)


def test_values_are_scipys():
    rng = np.random.default_rng(52)
    p, q = _weights("zeros", (6, 50), rng)
    jp, jq = jnp.asarray(p), jnp.asarray(q)
    pn, qn = p / p.sum(axis=-1, keepdims=True), q / q.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = -np.sum(np.where(pn > 0, pn * np.log(qn), 0.0), axis=-1)
    np.testing.assert_allclose(
        jax.jit(lambda a: il.entropy(a, normalize=True))(jp), st.entropy(p, axis=-1), rtol=1e-13
    )
    np.testing.assert_allclose(
        jax.jit(lambda a, b: il.kl_divergence(a, b, normalize=True))(jp, jq),
        st.entropy(p, q, axis=-1),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        jax.jit(lambda a, b: il.cross_entropy(a, b, normalize=True))(jp, jq), cross, rtol=1e-13
    )
    from scipy.spatial.distance import jensenshannon

    np.testing.assert_allclose(
        jax.jit(lambda a, b: il.js_divergence(a, b, normalize=True))(jp, jq),
        jensenshannon(p, q, axis=-1) ** 2,
        rtol=1e-13,
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_js_is_the_generic_paths_to_a_few_ulps(kind, dtype):
    """JS with normalize=True: the generic path's shares, then the lean JS terms (not bit for
    bit: the generic path takes the accurate terms everywhere); and the JS of those shares at
    40 digits (mpmath: the rounding of the shares, which both paths share, decides nearly
    equal rows, whose JS is 1e-13 of their mass)."""
    import mpmath

    from infoloss import _array

    rng = np.random.default_rng(54)
    p, q = (jnp.asarray(x, dtype=dtype) for x in _weights(kind, (5, 40), rng, dtype))

    def both(a, b):
        return _call("js_divergence", p, q, -1)(a, b)[0], _call("js_divergence", p, q, -1, True)(a, b)[0]

    got, generic = (np.asarray(v) for v in jax.jit(both)(p, q))
    eps = float(np.finfo(dtype).eps)
    np.testing.assert_allclose(got, generic, rtol=32 * eps, atol=0)
    if kind == "tiny sums":
        return  # (rows of subnormal weights, which XLA reads as zeros: NaN on both paths)
    shares_p, shares_q = (np.asarray(_array.normalize(jnp, x, -1), dtype=np.float64) for x in (p, q))
    for i, value in enumerate(got):
        with mpmath.workdps(40):
            pairs = [(mpmath.mpf(float(x)), mpmath.mpf(float(y))) for x, y in zip(shares_p[i], shares_q[i])]
            exact = float(sum(_half_js_term(x, y) + _half_js_term(y, x) for x, y in pairs) / 2)
        # (nearly equal rows: the terms, of 1e-6 of the mass, cancel to a JS of 1e-13 of it,
        # on this path and the generic one alike)
        assert float(value) == pytest.approx(exact, rel=8 * eps if kind != "near" else 1e7 * eps, abs=0), i


def _half_js_term(x, y):
    """``x log(2x / (x + y))`` (0 at x = 0) in mpmath."""
    import mpmath

    return x * mpmath.log(2 * x / (x + y)) if x > 0 else 0


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["plain", "zeros", "dominant", "near"])
def test_js_gradients_are_the_generic_paths(kind):
    rng = np.random.default_rng(55)
    p, q = (jnp.asarray(x) for x in _weights(kind, (4, 30), rng))

    def gradients(a, b):
        def total(a, b, generic):
            return jnp.sum(_call("js_divergence", p, q, -1, generic)(a, b)[0])

        return [jax.grad(total, argnums=(0, 1))(a, b, generic) for generic in (False, True)]

    got, expected = jax.jit(gradients)(p, q)
    for g, e, x in zip(got, expected, (p, q)):
        # dJS/dp = (log(2a / (a + b)) / 2 - JS-weighted mean) / sum p: the closed form's log is
        # exact to an ulp of its scale, log 2, over the row's sum (nearly equal rows cancel to
        # 1e-8 of that, where the generic path's log1p keeps more digits)
        scale = max(math.log(2) / float(np.min(np.sum(np.asarray(x), axis=-1))), float(np.abs(e).max()))
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=0, atol=32 * np.spacing(scale))
