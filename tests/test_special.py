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
LOGITS = np.array(
    [
        [1.0, -2.0, 0.5, 3.0, -np.inf],
        [1e4, 1e4 - 1.0, -1e4, 0.0, 1e4 - 20.0],
        [-1e4, -1e4 + 2.0, -np.inf, -1e4 - 1.0, -np.inf],
        [0.0, 0.0, 0.0, 0.0, 0.0],
    ]
)


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
        to_float64(il.log_softmax(z, temperature=temperature)),
        sp.log_softmax(scaled, axis=-1),
        rtol=1e-6,
        atol=1e-6,
    )
    # a higher temperature flattens the distribution: its entropy grows
    assert il.entropy(il.softmax(LOGITS[0, :4], temperature=10.0)) > il.entropy(il.softmax(LOGITS[0, :4]))


@pytest.mark.parametrize(
    "temperature,error",
    [
        (0, ValueError),
        (-1.0, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ("2", TypeError),
        (True, TypeError),
        (None, TypeError),
    ],
)
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
    for ours, reference in HELPERS.values():
        result = ours(z)
        assert str(result.dtype).rsplit(".", 1)[-1] == dtype
        np.testing.assert_allclose(
            to_float64(result), reference(to_float64(z), axis=-1), rtol=1e-2, atol=1e-2
        )


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
    value = {
        "logsumexp": lambda: out,
        "softmax": lambda: (weights * out).sum(),
        "log_softmax": lambda: (weights * out)[finite].sum(),
    }[name]()
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
    (grad,) = torch.autograd.grad(
        out.sum() if name == "logsumexp" else (torch.tensor(WEIGHTS[:4]) * out).sum(), z
    )
    assert torch.isfinite(grad).all()
    jax_grad = jax.grad(
        lambda v: jnp.sum(HELPERS[name][0](v) * (1.0 if name == "logsumexp" else jnp.asarray(WEIGHTS[:4])))
    )(jnp.asarray(logits))
    np.testing.assert_allclose(np.asarray(jax_grad), grad.numpy(), rtol=1e-12, atol=1e-15)
    if name == "logsumexp":  # d lse / dz = softmax(z)
        np.testing.assert_allclose(grad.numpy(), sp.softmax(logits), rtol=1e-12)


# --------------------------------------------------------------------------------------------
# Accuracy of logsumexp for terms below 1 ulp of 1; empty and 0-d input; extreme temperatures
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_logsumexp_keeps_terms_below_one_ulp(backend):
    mpmath = pytest.importorskip("mpmath")
    rows = np.array([[0.0, -40.0, -np.inf], [3.0, 3.0 - 50.0, 3.0 - 60.0], [-700.0, -740.0, -800.0]])
    mpmath.mp.dps = 50
    want = [float(mpmath.log(sum(mpmath.e ** mpmath.mpf(v) for v in row if np.isfinite(v)))) for row in rows]
    got = to_float64(il.logsumexp(to_backend(backend, rows)))
    np.testing.assert_allclose(got, want, rtol=2e-16, atol=0)
    assert got[0] == np.logaddexp(0.0, -40.0) == 4.248354255291589e-18
    if backend == "numpy":
        np.testing.assert_allclose(got, sp.logsumexp(rows, axis=-1), rtol=2e-16, atol=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_logsumexp_of_an_empty_axis_is_minus_inf(backend):
    got = il.logsumexp(to_backend(backend, np.zeros((3, 0))))
    assert got.shape == (3,)
    assert (to_float64(got) == -np.inf).all()
    assert to_float64(il.logsumexp(to_backend(backend, np.zeros((3, 0))), keepdims=True)).shape == (3, 1)
    np.testing.assert_array_equal(
        to_float64(il.logsumexp(to_backend(backend, np.zeros((0, 2))), axis=0)),
        sp.logsumexp(np.zeros((0, 2)), axis=0),
    )
    assert to_float64(il.softmax(to_backend(backend, np.zeros((2, 0))))).shape == (2, 0)
    assert float(il.logsumexp([])) == -np.inf


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax", "array_api_strict"])
def test_zero_dimensional_logits_are_a_row_of_one(backend):
    z = to_backend(backend, np.float64(2.5))
    for name, want in (("softmax", 1.0), ("log_softmax", 0.0), ("logsumexp", 2.5)):
        got = HELPERS[name][0](z)
        assert got.shape == ()
        assert float(to_float64(got)) == want == float(HELPERS[name][1](np.float64(2.5)))
    with pytest.raises(il.InputError, match=r"^axis=1 is out of range for z with 0 dimension"):
        il.softmax(z, axis=1)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("temperature", [1e-308, 5e-324, 1e-40])
@pytest.mark.filterwarnings(
    "ignore:overflow encountered:RuntimeWarning"
)  # dask divides lazily, outside errstate
def test_tiny_temperature_gives_the_one_hot_limit(backend, temperature):
    z = to_backend(backend, [[1.0, 2.0, -np.inf], [3.0, 3.0, 1.0]])
    probabilities = to_float64(il.softmax(z, temperature=temperature))
    np.testing.assert_array_equal(probabilities, [[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])  # ties share
    log_probabilities = to_float64(il.log_softmax(z, temperature=temperature))
    assert not np.isnan(log_probabilities).any()
    with np.errstate(over="ignore"):
        lowest = np.float64(-1.0) / temperature  # (1 - 2) / T, or -inf where that overflows
    if backend == "jax" and temperature < np.finfo(np.float64).tiny:
        lowest = -np.inf  # XLA flushes a subnormal T to 0: -1 / 0
    np.testing.assert_allclose(
        log_probabilities[:, :2], [[lowest, 0.0], [-np.log(2), -np.log(2)]], rtol=1e-15
    )


def test_huge_temperature_gives_uniform():
    np.testing.assert_allclose(il.softmax([1.0, 2.0, 5.0], temperature=1e300), [1 / 3] * 3, rtol=1e-15)


@pytest.mark.parametrize("function", [il.softmax, il.log_softmax, il.logsumexp])
def test_bad_axis_and_tensors_are_clear_errors(function):
    with pytest.raises(il.InputError, match=r"^axis=5 is out of range for z with 2 dimension") as raised:
        function(torch.zeros(2, 3), axis=5)
    assert raised.value.argument == "axis"
    with pytest.raises(il.InputTypeError, match=r"^z is a sparse torch tensor") as raised:
        function(torch.eye(3).to_sparse())
    assert raised.value.argument == "z"
    with pytest.raises(il.InputTypeError, match=r"^z is a torch tensor on the meta device") as raised:
        function(torch.empty(2, 3, device="meta"))
    with pytest.raises(il.InputTypeError, match=r"^z is a numpy masked array"):
        function(np.ma.masked_array([1.0, 2.0], mask=[False, True]))


@pytest.mark.parametrize(
    "rows",
    [
        np.array([[0.0, -40.0, -np.inf, 1.0], [-np.inf, -np.inf, -np.inf, -np.inf], [2.0, 2.0, 2.0, -3.0]]),
    ],
)
def test_logsumexp_gradients_are_softmax_and_zero_for_all_masked_rows(rows):
    z = torch.tensor(rows, requires_grad=True)
    (torch_grad,) = torch.autograd.grad(il.logsumexp(z).sum(), z)
    jax_grad = np.asarray(jax.grad(lambda v: jnp.sum(il.logsumexp(v)))(jnp.asarray(rows)))
    with np.errstate(invalid="ignore"):
        want = sp.softmax(rows, axis=-1)
    want[1] = 0.0  # a row that counts for nothing does not move
    for grad in (torch_grad.numpy(), jax_grad):
        assert not np.isnan(grad).any()
        np.testing.assert_allclose(grad, want, rtol=1e-14, atol=1e-300)
    # finite differences on the finite entries of the first row
    eps = 1e-6
    for i in (0, 1, 3):
        step = np.zeros(4)
        step[i] = eps
        numeric = (sp.logsumexp(rows[0] + step) - sp.logsumexp(rows[0] - step)) / (2 * eps)
        assert torch_grad[0, i].item() == pytest.approx(numeric, rel=1e-6, abs=1e-12)


def test_under_jax_jit():
    rows = np.array([[0.0, -40.0, -np.inf], [1.0, 2.0, 3.0]])
    jitted = jax.jit(
        lambda z: (il.logsumexp(z), il.softmax(z, temperature=1e-300), il.log_softmax(jnp.asarray(2.0)))
    )
    lse, one_hot, scalar = jitted(jnp.asarray(rows))
    np.testing.assert_allclose(np.asarray(lse), sp.logsumexp(rows, axis=-1), rtol=2e-16, atol=0)
    np.testing.assert_array_equal(np.asarray(one_hot), [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert float(scalar) == 0.0


@pytest.mark.slow
def test_under_torch_compile_fullgraph():
    rows = torch.tensor([[0.0, -40.0, -np.inf], [1.0, 2.0, 3.0]], dtype=torch.float64)
    compiled = torch.compile(lambda z: (il.logsumexp(z), il.softmax(z, temperature=1e-300)), fullgraph=True)
    lse, one_hot = compiled(rows)
    np.testing.assert_allclose(lse.numpy(), sp.logsumexp(rows.numpy(), axis=-1), rtol=2e-16, atol=0)
    np.testing.assert_array_equal(one_hot.numpy(), [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
