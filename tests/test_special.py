"""Tests for the public logit helpers of infoloss.special: logsumexp, log_softmax, softmax.

Reference: scipy.special on float64 NumPy; gradients against central finite differences of
scipy.special. Every backend, masked (-inf) logits and logits of size 1e4.
"""

from __future__ import annotations

import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special as sp
import torch

import infoloss as il
from tests.backends import BACKENDS, jax_float64, to_backend, to_float64  # noqa: F401 (jax_float64: autouse fixture)

HELPERS = {
    "logsumexp": (il.logsumexp, sp.logsumexp),
    "softmax": (il.softmax, sp.softmax),
    "log_softmax": (il.log_softmax, sp.log_softmax),
}
# Logits with masked classes (-inf) and entries of size 1e4 (exp overflows without a shift).
LOGITS = np.array([
    [1.0, -2.0, 0.5, 3.0, -np.inf],
    [1e4, 1e4 - 1.0, -1e4, 0.0, 1e4 - 20.0],
    [-1e4, -1e4 + 2.0, -np.inf, -1e4 - 1.0, -np.inf],
    [0.0, 0.0, 0.0, 0.0, 0.0],
])





def same_kind(result, example) -> bool:
    if isinstance(example, np.ndarray):
        return isinstance(result, np.ndarray)
    return type(result) is type(example) or (isinstance(example, jax.Array) and isinstance(result, jax.Array))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(HELPERS))
@pytest.mark.parametrize("axis", [0, -1])
def test_matches_scipy_on_every_backend(backend, dtype, name, axis):
    ours, reference = HELPERS[name]
    z = to_backend(backend, LOGITS, dtype)
    result = ours(z, axis=axis)
    assert same_kind(result, z)
    assert str(result.dtype).rsplit(".", 1)[-1] == dtype
    want = reference(LOGITS.astype(dtype).astype(np.float64), axis=axis)
    got = to_float64(result)
    assert not np.isnan(got).any()
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))  # masked stays -inf
    rtol = 1e-12 if dtype == "float64" else 1e-6
    # log-probabilities near 1e4 in magnitude: float32 spacing there is ~1e-3
    atol = 1e-12 if dtype == "float64" else (2e-3 if name != "softmax" else 1e-6)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


@pytest.mark.parametrize("backend", BACKENDS)
def test_masked_classes_get_probability_exactly_zero(backend):
    z = to_backend(backend, LOGITS)
    probabilities = to_float64(il.softmax(z))
    assert (probabilities[np.isneginf(LOGITS)] == 0).all()
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-15)
    assert (np.isneginf(to_float64(il.log_softmax(z))) == np.isneginf(LOGITS)).all()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # dask computes log(0) lazily
def test_all_masked_row_gives_minus_inf(backend, dtype):
    z = to_backend(backend, [[-np.inf, -np.inf, -np.inf], [0.0, -np.inf, 1.0]], dtype)
    got = to_float64(il.logsumexp(z))
    assert got[0] == -math.inf
    assert got[1] == pytest.approx(sp.logsumexp([0.0, 1.0]), rel=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_logits_are_stable(backend, dtype):
    for sign in (1.0, -1.0):
        logits = sign * np.array([1e4, 1e4 - 1.0, 1e4 - 3.0])
        z = to_backend(backend, logits, dtype)
        lse = to_float64(il.logsumexp(z))
        assert np.isfinite(lse)
        assert lse == pytest.approx(sp.logsumexp(logits), rel=1e-7 if dtype == "float32" else 1e-15)
        np.testing.assert_allclose(to_float64(il.softmax(z)), sp.softmax(logits), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
def test_logsumexp_keepdims(backend):
    z = to_backend(backend, LOGITS)
    got = il.logsumexp(z, axis=0, keepdims=True)
    assert tuple(got.shape) == (1, 5)
    np.testing.assert_allclose(to_float64(got), sp.logsumexp(LOGITS, axis=0, keepdims=True), rtol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("temperature", [0.5, 2, 10.0, np.float32(3.0)])
def test_temperature(backend, temperature):
    z = to_backend(backend, LOGITS[:1], "float32")
    scaled = LOGITS[:1].astype(np.float32).astype(np.float64) / float(temperature)
    probabilities = il.softmax(z, temperature=temperature)
    assert str(probabilities.dtype).endswith("float32")  # a NumPy-scalar temperature does not promote
    np.testing.assert_allclose(to_float64(probabilities), sp.softmax(scaled, axis=-1), rtol=1e-6)
    np.testing.assert_allclose(
        to_float64(il.log_softmax(z, temperature=temperature)), sp.log_softmax(scaled, axis=-1), rtol=1e-6, atol=1e-6
    )
    # a higher temperature flattens the distribution: its entropy grows
    assert il.entropy(il.softmax(LOGITS[0, :4], temperature=10.0)) > il.entropy(il.softmax(LOGITS[0, :4]))


@pytest.mark.parametrize("temperature,error", [
    (0, ValueError), (-1.0, ValueError), (float("nan"), ValueError), (float("inf"), ValueError),
    ("2", TypeError), (True, TypeError), (None, TypeError),
])
@pytest.mark.parametrize("function", [il.softmax, il.log_softmax])
def test_bad_temperature(function, temperature, error):
    with pytest.raises(error, match=rf"temperature=.*{re.escape(repr(temperature))}$"):
        function([1.0, 2.0], temperature=temperature)


def test_sequences_and_integers():
    result = il.softmax([1, 1, 3])
    assert isinstance(result, np.ndarray) and result.dtype == np.float64
    np.testing.assert_allclose(result, sp.softmax([1.0, 1.0, 3.0]), rtol=1e-15)
    assert il.logsumexp(torch.tensor([0, 0])).dtype == torch.float32  # torch's default float
    assert float(il.logsumexp(torch.tensor([0, 0]))) == pytest.approx(math.log(2), rel=1e-7)


@pytest.mark.parametrize("backend,dtype", [("numpy", "float16"), ("torch", "bfloat16"), ("jax", "bfloat16")])
def test_half_precision_in_and_out(backend, dtype):
    z = to_backend(backend, LOGITS[:1, :4], dtype)
    for name, (ours, reference) in HELPERS.items():
        result = ours(z)
        assert str(result.dtype).rsplit(".", 1)[-1] == dtype
        np.testing.assert_allclose(to_float64(result), reference(to_float64(z), axis=-1), rtol=1e-2, atol=1e-2)


# --------------------------------------------------------------------------------------------
# Gradients at masked logits: no NaN, and equal to finite differences where finite
# --------------------------------------------------------------------------------------------

Z = np.array([0.3, -np.inf, 1.2, -0.7, -np.inf])
FINITE = np.isfinite(Z)
WEIGHTS = np.array([0.5, -1.0, 2.0, 0.25, 3.0])


def objective_scipy(name, z):
    """A scalar of each helper that uses every output, computed by scipy.special."""
    if name == "logsumexp":
        return sp.logsumexp(z)
    if name == "softmax":
        return np.sum(WEIGHTS * sp.softmax(z))
    return np.sum((WEIGHTS * sp.log_softmax(z))[FINITE])  # log-probabilities of finite logits


def central_difference_on_finite(name, eps=1e-6):
    grad = np.zeros_like(Z)
    for i in np.flatnonzero(FINITE):
        step = np.zeros_like(Z)
        step[i] = eps
        grad[i] = (objective_scipy(name, Z + step) - objective_scipy(name, Z - step)) / (2 * eps)
    return grad


@pytest.mark.parametrize("name", list(HELPERS))
def test_torch_gradients_at_masked_logits(name):
    z = torch.tensor(Z, requires_grad=True)
    out = HELPERS[name][0](z)
    weights, finite = torch.tensor(WEIGHTS), torch.tensor(FINITE)
    value = {"logsumexp": lambda: out, "softmax": lambda: (weights * out).sum(),
             "log_softmax": lambda: (weights * out)[finite].sum()}[name]()
    (grad,) = torch.autograd.grad(value, z)
    assert not torch.isnan(grad).any()
    assert (grad[~finite] == 0).all()  # a masked class does not move
    np.testing.assert_allclose(grad.numpy(), central_difference_on_finite(name), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", list(HELPERS))
def test_jax_gradients_at_masked_logits(name):
    weights, finite = jnp.asarray(WEIGHTS), jnp.asarray(FINITE)

    def value(z):
        out = HELPERS[name][0](z)
        if name == "logsumexp":
            return out
        if name == "softmax":
            return jnp.sum(weights * out)
        return jnp.sum(jnp.where(finite, weights * jnp.where(finite, out, 0.0), 0.0))

    grad = np.asarray(jax.grad(value)(jnp.asarray(Z)))
    assert not np.isnan(grad).any()
    assert (grad[~FINITE] == 0).all()
    np.testing.assert_allclose(grad, central_difference_on_finite(name), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", list(HELPERS))
def test_gradients_at_large_logits(name):
    logits = np.array([1e4, 1e4 - 1.0, -1e4, 1e4 - 2.0])
    z = torch.tensor(logits, requires_grad=True)
    out = HELPERS[name][0](z)
    (grad,) = torch.autograd.grad(out.sum() if name == "logsumexp" else (torch.tensor(WEIGHTS[:4]) * out).sum(), z)
    assert torch.isfinite(grad).all()
    jax_grad = jax.grad(lambda v: jnp.sum(HELPERS[name][0](v) * (1.0 if name == "logsumexp" else jnp.asarray(WEIGHTS[:4]))))(
        jnp.asarray(logits)
    )
    np.testing.assert_allclose(np.asarray(jax_grad), grad.numpy(), rtol=1e-12, atol=1e-15)
    if name == "logsumexp":  # d lse / dz = softmax(z)
        np.testing.assert_allclose(grad.numpy(), sp.softmax(logits), rtol=1e-12)
