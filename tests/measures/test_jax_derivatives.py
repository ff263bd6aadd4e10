"""The JAX measures' closed-form derivatives under ``jit(grad)`` (measures/_jax.py): the factor
per entry against NumPy's formulas of the same derivatives, in the plain branch and where a
log ratio under- or overflows (the branch that recomputes the factor from the arguments),
NaN-free at the zeros of p and q."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import infoloss as il
from tests.backends import jax_float64  # noqa: F401 - autouse fixture: JAX in float64

from .test_backends import distributions


def _kl_by_p(p, q):
    """d/dp_i of sum p log(p / q): log(p / q) + 1 where p > 0, else 0 (logs apart: no overflow)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, np.log(p) - np.log(q) + 1, 0.0)


def _js_by(x, other):
    """d/dx_i of JS: log(2x / (x + y)) / 2 where x > 0, -1/2 where x = 0 < y, 0 where both are 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = (np.log(2.0) + np.log(x) - np.log(x + other)) / 2
    return np.where(x > 0, inside, np.where(other > 0, -0.5, 0.0))


def _gradient(name, argument, p, q):
    function = getattr(il, name)
    total = jax.jit(jax.grad(lambda a, b: jnp.sum(function(a, b, validate=False)), argnums=argument))
    return np.asarray(total(jnp.asarray(p), jnp.asarray(q)))


@pytest.mark.parametrize("zeros", [0.0, 0.3])
def test_plain_branch_is_the_closed_form(zeros):
    rng = np.random.default_rng(40)
    p, q = distributions(rng, (4, 300), zeros), distributions(rng, (4, 300), zeros)
    np.testing.assert_allclose(_gradient("kl_divergence", 0, p, q), _kl_by_p(p, q), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(_gradient("js_divergence", 0, p, q), _js_by(p, q), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(_gradient("js_divergence", 1, p, q), _js_by(q, p), rtol=1e-13, atol=1e-15)


def test_ratios_that_under_or_overflow_take_the_exact_logs():
    """log(p / q) of 1e-400 or 1e400 is +-inf in the plain branch: the factor is made again
    from the arguments, by logs apart (finite, exact to rounding)."""
    p = np.array([[1e-200, 0.5, 0.0, 0.5 - 1e-200], [1e200, 1.0, 0.0, 2.0]])
    q = np.array([[1e200, 0.25, 0.25, 0.5], [1e-200, 1.0, 3.0, 0.0]])
    got = _gradient("kl_divergence", 0, p, q)
    assert np.isfinite(got[0]).all() and got[1, 3] == np.inf  # (p > 0 = q: log(p / 0) = inf)
    assert got[0, 0] == pytest.approx(np.log(1e-200) - np.log(1e200) + 1, rel=1e-15)
    np.testing.assert_allclose(got[:, :3], _kl_by_p(p, q)[:, :3], rtol=1e-14, atol=0)
    # JS: 2x / (x + y) below the smallest normal number (x = 1e-300 beside 1e10)
    x = np.array([[1e-300, 0.5, 0.0, 0.25], [1e10, 0.0, 2.0, 1.0]])
    y = np.array([[1e10, 0.5, 0.3, 0.0], [1e-300, 0.0, 1.0, 1.0]])
    for argument, (a, b) in enumerate(((x, y), (y, x))):
        got = _gradient("js_divergence", argument, x, y)
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, _js_by(a, b), rtol=1e-14, atol=0)
    assert _gradient("js_divergence", 0, x, y)[0, 0] == pytest.approx(
        (np.log(2e-300) - np.log(1e10 + 1e-300)) / 2, rel=1e-15
    )


def test_forward_mode_is_the_same_factor():
    """jax.jvp takes the same closed form: the directional derivative is the factor's dot."""
    rng = np.random.default_rng(41)
    p, q = distributions(rng, (3, 50), 0.2), distributions(rng, (3, 50))  # (KL finite: q > 0)
    direction = rng.standard_normal((3, 50))
    for name, factor in (("kl_divergence", _kl_by_p(p, q)), ("js_divergence", _js_by(p, q))):
        function = getattr(il, name)
        _, tangent = jax.jvp(
            lambda a, f=function: jnp.sum(f(a, jnp.asarray(q), validate=False)),
            (jnp.asarray(p),),
            (jnp.asarray(direction),),
        )
        assert float(tangent) == pytest.approx(float(np.sum(factor * direction)), rel=1e-12)


@pytest.mark.parametrize("zeros", [0.0, 0.3])
def test_entropy_is_the_closed_form(zeros):
    """d/dp_i of -sum p log p: -(log p + 1) where p > 0, 0 at p = 0 (what the generic path's
    double where gives), under jit(grad) and jvp, NaN-free; the value the generic path's."""
    from infoloss.measures import _dispatch

    rng = np.random.default_rng(42)
    p = distributions(rng, (4, 300), zeros)
    with np.errstate(divide="ignore"):
        expected = np.where(p > 0, -(np.log(p) + 1), 0.0)
    got = np.asarray(jax.jit(jax.grad(lambda a: jnp.sum(il.entropy(a, validate=False))))(jnp.asarray(p)))
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0)
    with _dispatch.generic_only():
        generic = np.asarray(jax.grad(lambda a: jnp.sum(il.entropy(a, validate=False)))(jnp.asarray(p)))
    np.testing.assert_allclose(got, generic, rtol=1e-14, atol=0)
    direction = rng.standard_normal(p.shape)
    _, tangent = jax.jvp(
        lambda a: jnp.sum(il.entropy(a, validate=False)), (jnp.asarray(p),), (jnp.asarray(direction),)
    )
    assert float(tangent) == pytest.approx(float(np.sum(expected * direction)), rel=1e-12)
    with _dispatch.generic_only():
        value = il.entropy(jnp.asarray(p), validate=False)
    np.testing.assert_array_equal(
        np.asarray(jax.jit(lambda a: il.entropy(a, validate=False))(jnp.asarray(p))), value
    )
