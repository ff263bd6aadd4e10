"""The eager JAX program's checks (measures/_jax.py ``_program``), and the host's of small
arrays (``infoloss._validate.distributions_pass``): their verdict is the generic check's, entry
kind by entry kind, and the values are those of the user's ``jax.jit``.

The program returns the measure and one flag; where the flag says the input is not a set of
distributions, the generic checks run for their message. So the flag must be False wherever
the generic check (``infoloss._validate.check_distribution`` on JAX arrays) raises (else an
error is missed), and True wherever it accepts (else every valid call pays for the generic
checks too). Both are tested here on the flag itself, and the error against the generic path's
(message, argument, index, value).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import infoloss as il
from infoloss import InputError, _array, _validate
from infoloss.measures import _dispatch, _jax
from tests.backends import jax_float64  # noqa: F401 - autouse fixture: JAX in float64

NAMES = ("entropy", "cross_entropy", "kl_divergence", "js_divergence", "decompose")


def _call(name, arrays, **options):
    function = getattr(il, name)
    value = function(*arrays[:1], **options) if name == "entropy" else function(*arrays, **options)
    return tuple(value) if name == "decompose" else value


def _outcome(name, arrays, **options):
    """The value (NumPy) or the InputError's fields (its value as repr: NaN is not NaN)."""
    try:
        value = _call(name, arrays, **options)
    except InputError as error:
        return ("error", str(error), error.argument, error.index, repr(error.value))
    return ("value", np.asarray(value))


def _entries(dtype, normalize):
    """(label, entry) put at one place of a distribution: each kind the checks tell apart."""
    smallest = float(np.finfo(dtype).smallest_normal)
    subnormal = float(np.finfo(dtype).smallest_subnormal) * 4
    entries = [
        ("nan", math.nan),
        ("+inf", math.inf),
        ("-inf", -math.inf),
        ("negative", -0.25),
        ("smallest negative normal", -smallest),
        ("negative zero", -0.0),  # valid
        ("negative subnormal", -subnormal),  # read as -0 by XLA's CPU code: valid there
        ("positive subnormal", subnormal),
        ("huge", float(np.finfo(dtype).max) / 4),  # the row sums past 1 (or to inf)
    ]
    return entries + ([("zero row", None)] if normalize else [("sum 1.5", None), ("sum 1 + tol / 2", None)])


def _with_entry(base, label, entry, row, column, dtype, normalize):
    x = base.copy()
    if label == "zero row":
        x[row] = 0.0
    elif label == "sum 1.5":
        x[row] *= 1.5
    elif label == "sum 1 + tol / 2":
        x[row] *= 1 + math.sqrt(np.finfo(dtype).eps) / 2
    else:  # the row's sum kept (where the entry is finite): the entry check alone must catch it
        if math.isfinite(entry) and abs(entry) < 1:
            x[row, column - 1] += x[row, column] - entry
        x[row, column] = entry
    return x


@pytest.mark.parametrize("path", ["host", "program"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_the_programs_verdict_and_error_are_the_generic_checks(name, normalize, dtype, path, monkeypatch):
    """``path``: the small arrays checked on the host (the default) or, as large ones are, by
    the program's flag."""
    if path == "program":
        monkeypatch.setattr(_array, "HOST_CHECK_MAX_ENTRIES", 0)
    rng = np.random.default_rng(11)
    p = rng.random((3, 6))
    q = rng.random((3, 6))
    if not normalize:
        p, q = p / p.sum(axis=1, keepdims=True), q / q.sum(axis=1, keepdims=True)
    arguments = 1 if name == "entropy" else 2
    program = _jax._program(name, 1, (1,) * arguments, False, normalize, True)
    for label, entry in _entries(dtype, normalize):
        for bad in range(arguments):
            arrays = [p, q][:arguments]
            arrays[bad] = _with_entry(arrays[bad], label, entry, 1, 4, dtype, normalize)
            inputs = [jnp.asarray(x.astype(dtype)) for x in arrays]
            with _dispatch.generic_only():
                expected = _outcome(name, inputs, normalize=normalize)
            got = _outcome(name, inputs, normalize=normalize)
            case = f"{label} in argument {bad}"
            assert got[0] == expected[0], case
            if expected[0] == "error":
                assert got == expected, case
            elif "subnormal" not in label:
                # the generic path's value to rounding (the bitwise one is the jit's, below); not
                # with subnormal entries, which XLA's CPU code flushes to 0 inside a jitted
                # program (any jit, the user's too) but not always in the generic path's eager
                # operations (float32 worked in float64): there the values differ, as before
                np.testing.assert_allclose(
                    got[1], expected[1], rtol=2e-5 if dtype == "float32" else 1e-12, err_msg=case
                )
            _, valid = program(*inputs)
            assert bool(valid) == (expected[0] == "value"), case
            # the host's verdict: the same, but where NumPy reads a subnormal entry that XLA
            # flushes to 0 (a negative one: refused, then the generic checks accept it)
            host = all(_validate.distributions_pass(np.asarray(x), 1, normalize=normalize) for x in inputs)
            assert host == (expected[0] == "value") or label == "negative subnormal", case


@pytest.mark.parametrize("axis", [0, -1])
def test_the_checks_read_each_argument_along_its_own_axis(axis):
    # q broadcast along the other axis: its one row is checked as it was passed
    rng = np.random.default_rng(12)
    p = rng.random((4, 5))
    p /= p.sum(axis=axis, keepdims=True)
    q = rng.random(p.shape[axis])
    q /= q.sum()
    q_shaped = q.reshape((-1, 1) if axis == 0 else (1, -1))
    got = il.kl_divergence(jnp.asarray(p), jnp.asarray(q_shaped), axis=axis)
    np.testing.assert_allclose(np.asarray(got), il.kl_divergence(p, q_shaped, axis=axis), rtol=1e-12)
    with pytest.raises(InputError) as error:
        il.kl_divergence(jnp.asarray(p), jnp.asarray(q_shaped * 2), axis=axis)
    assert error.value.argument == "q"
    with pytest.raises(InputError) as numpy_error:
        il.kl_divergence(p, q_shaped * 2, axis=axis)
    assert str(error.value) == str(numpy_error.value)


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_eager_is_the_users_jit_bit_for_bit_on_long_rows(name, normalize):
    # long rows take XLA's other (vectorised) reductions, where a change to the checks could
    # have changed how the value's sum is fused
    rng = np.random.default_rng(13)
    p, q = rng.random((2, 10_000)), rng.random((2, 10_000))
    p[rng.random(p.shape) < 0.05] = 0.0
    if normalize:
        p, q = p * 1e3, q * 1e-3
    else:
        p, q = p / p.sum(axis=1, keepdims=True), q / q.sum(axis=1, keepdims=True)
    for dtype in ("float32", "float64"):
        arrays = [jnp.asarray(p.astype(dtype)), jnp.asarray(q.astype(dtype))]
        eager = _call(name, arrays, normalize=normalize)
        jitted = jax.jit(lambda a, b: _call(name, [a, b], normalize=normalize))(*arrays)
        np.testing.assert_array_equal(np.asarray(eager), np.asarray(jitted))


@pytest.mark.parametrize("name", ["kl_divergence", "decompose", "cross_entropy"])
def test_p_facing_a_negative_zero_q_is_the_generic_inf(name):
    """q = -0.0 where p > 0 (valid: -0.0 is 0): +inf, as on the generic path, eagerly and under
    jit (p / -0.0 is -inf, whose log is NaN: the plain terms' NaN sends the row to the accurate
    terms, which read -0.0 as 0)."""
    p, q = jnp.asarray([0.25, 0.25, 0.5]), jnp.asarray([0.5, 0.5, -0.0])

    def divergence(a, b):
        value = getattr(il, name)(a, b)
        return value.kl_divergence if name == "decompose" else value

    with _dispatch.generic_only():
        assert float(divergence(p, q)) == math.inf
    assert float(divergence(p, q)) == math.inf
    assert float(jax.jit(divergence)(p, q)) == math.inf
