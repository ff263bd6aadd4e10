"""Hypothesis on the measures: every backend, float32 and float64, the fast and generic paths.

Asserted on every path, for validated input: KL >= 0, 0 <= JS <= log 2 and, within
``decompose``, cross-entropy >= entropy (the README's promises, issue 9's invariants); and
agreement with the divergence of the stored floats computed by mpmath (40 digits) to a few
rounding errors of the computation (its condition: the size of the terms, and of log(sum)
when normalising). With ``validate=False`` nothing is clamped: the value is the accurate sum of
the terms, also for extreme ratios (``1e-200`` against ``1e200``).

Deterministic and bounded when ``HYPOTHESIS_PROFILE`` is unset or ``ci`` (derandomized, a few
dozen examples per path: well under a minute on 2 cores); ``long`` runs its many examples.
"""

from __future__ import annotations

import math
import os

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import infoloss
from infoloss.measures import _fast
from tests.backends import BACKENDS, jax_float64, to_backend, to_float64  # noqa: F401 (fixture)

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
BOUNDED = settings(
    max_examples=5000 if LONG else 12,
    derandomize=not LONG,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# The NumPy fast path (with and without its compiled kernels), NumPy's generic path (reached by
# a strided view), and every other backend (always the generic path).
PATHS = ["numpy kernels", "numpy ufuncs", "numpy strided"] + [b for b in BACKENDS if b != "numpy"]
EPS = {"float64": 2.0**-52, "float32": 2.0**-23}
LOG2 = math.log(2)


# --------------------------------------------------------------------------------------------
# Strategies: weights with zeros, tiny and huge entries, and q close to p
# --------------------------------------------------------------------------------------------

weights = st.one_of(
    st.just(0.0),
    st.floats(1e-6, 1.0),
    st.floats(1.0, 1e6),
    st.sampled_from([1e-30, 1e-12, 0.5, 1.0, 3.0]),
)


@st.composite
def pairs(draw, dtype):
    """``(p, q)`` weight rows of shape (rows, n), every row of p with a positive entry, q > 0
    where p > 0 (finite KL); q sometimes a relative perturbation of p (KL near 0)."""
    # a few shapes only: JAX compiles each operation once per shape
    rows, n = draw(st.sampled_from([(1, 1), (1, 2), (1, 5), (2, 3), (2, 6)]))
    p = np.array([[draw(weights) for _ in range(n)] for _ in range(rows)])
    p[:, draw(st.integers(0, n - 1))] += draw(st.floats(1e-3, 10.0))
    kind = draw(st.sampled_from(["independent", "close", "equal"]))
    if kind == "independent":
        q = np.array([[draw(weights) for _ in range(n)] for _ in range(rows)])
        q = np.where((p > 0) & (q == 0), 1.0, q)
    elif kind == "close":
        scale = draw(st.sampled_from([1e-15, 1e-12, 1e-8, 1e-4]))
        noise = np.array([[draw(st.floats(-1, 1)) for _ in range(n)] for _ in range(rows)])
        q = p * (1 + scale * noise)
    else:
        q = p.copy()
    return p.astype(dtype), q.astype(dtype)


def as_distributions(p, q):
    """Rows divided by their sums in float64, then stored in the input dtype (valid input)."""
    dtype = p.dtype
    p64, q64 = p.astype(np.float64), q.astype(np.float64)
    return (p64 / p64.sum(-1, keepdims=True)).astype(dtype), (q64 / q64.sum(-1, keepdims=True)).astype(dtype)


# --------------------------------------------------------------------------------------------
# References: the stored floats, in mpmath
# --------------------------------------------------------------------------------------------

mpmath.mp.dps = 40


def reference(p, q, normalize):
    """Per row: (entropy, KL, JS, condition) of the stored floats (normalised exactly if asked).

    ``condition`` is what a float computation's error is proportional to: the sum of the terms'
    sizes, plus (normalising) the sizes of the logs of the sums, plus 1.
    """
    out = []
    for row_p, row_q in zip(p.astype(np.float64), q.astype(np.float64)):
        a = [mpmath.mpf(float(v)) for v in row_p]
        b = [mpmath.mpf(float(v)) for v in row_q]
        condition = mpmath.mpf(1)
        if normalize:
            sa, sb = sum(a), sum(b)
            condition += abs(mpmath.log(sa)) + abs(mpmath.log(sb))
            a, b = [x / sa for x in a], [x / sb for x in b]
        h = -sum(x * mpmath.log(x) for x in a if x > 0)
        kl_terms = [x * mpmath.log(x / y) for x, y in zip(a, b) if x > 0]
        js_terms = []
        for x, y in zip(a, b):
            m = (x + y) / 2
            js_terms += [x * mpmath.log(x / m) / 2] if x > 0 else []
            js_terms += [y * mpmath.log(y / m) / 2] if y > 0 else []
        condition += sum(abs(t) for t in kl_terms) + sum(abs(t) for t in js_terms) + abs(h)
        out.append((float(h), float(sum(kl_terms)), float(sum(js_terms)), float(condition)))
    return np.array(out).T


# --------------------------------------------------------------------------------------------
# Running one path
# --------------------------------------------------------------------------------------------


def on_path(path, dtype, function, p, q=None, **options):
    """``function`` on the path's arrays; each result as float64 NumPy (a tuple for decompose)."""
    arrays = [p] if q is None else [p, q]
    kernels = _fast._KERNELS
    try:
        if path == "numpy ufuncs":
            _fast._KERNELS = None
        if path == "numpy strided":  # every other column of a wider array: not C-contiguous
            arrays = [np.repeat(a, 2, axis=-1)[..., ::2] for a in arrays]
            assert not arrays[0].flags.c_contiguous or arrays[0].shape[-1] == 1
            if arrays[0].flags.c_contiguous:  # a single column is contiguous: force generic
                arrays = [np.asfortranarray(np.repeat(a, 2, axis=0))[::2] for a in arrays]
        elif not path.startswith("numpy"):
            arrays = [to_backend(path, a, dtype) for a in arrays]
        result = function(*arrays, **options)
    finally:
        _fast._KERNELS = kernels
    if isinstance(result, infoloss.Decomposition):
        return tuple(to_float64(v) for v in result)
    return to_float64(result)


def assert_close(value, expected, condition, dtype, what, factor=16):
    bound = factor * EPS[dtype] * condition + 1e-300
    error = np.abs(value - expected)
    assert np.all(error <= bound), f"{what}: {value} vs {expected} (error {error}, bound {bound})"


@pytest.fixture(params=PATHS)
def path(request):
    if request.param == "numpy kernels" and _fast._KERNELS is None:
        pytest.skip("compiled kernels not built")
    return request.param


@pytest.fixture(params=["float64", "float32"])
def dtype(request):
    return request.param


# --------------------------------------------------------------------------------------------
# The properties
# --------------------------------------------------------------------------------------------


@BOUNDED
@given(data=st.data())
def test_validated_distributions(path, dtype, data):
    p, q = as_distributions(*data.draw(pairs(np.dtype(dtype))))
    h_ref, kl_ref, js_ref, condition = reference(p, q, normalize=False)
    kl = on_path(path, dtype, infoloss.kl_divergence, p, q)
    js = on_path(path, dtype, infoloss.js_divergence, p, q)
    ce, h, kl_decomposed = on_path(path, dtype, infoloss.decompose, p, q)
    assert np.all(kl >= 0) and np.all(kl_decomposed >= 0)
    assert np.all(js >= 0) and np.all(js <= LOG2)
    assert np.all(ce >= h)
    # the clamp moves a value by at most its rounding: compare with the clamped reference
    assert_close(kl, np.maximum(kl_ref, 0), condition, dtype, "KL")
    assert_close(kl_decomposed, np.maximum(kl_ref, 0), condition, dtype, "decompose KL")
    assert_close(h, h_ref, condition, dtype, "decompose H")
    assert_close(js, np.clip(js_ref, 0, LOG2), condition, dtype, "JS")


@BOUNDED
@given(data=st.data())
def test_counts_normalised(path, dtype, data):
    p, q = data.draw(pairs(np.dtype(dtype)))
    h_ref, kl_ref, js_ref, condition = reference(p, q, normalize=True)
    # float32 input is normalised in float32 on the generic path: each entry within an ulp
    factor = 16 if dtype == "float64" else 64
    h = on_path(path, dtype, infoloss.entropy, p, normalize=True)
    kl = on_path(path, dtype, infoloss.kl_divergence, p, q, normalize=True)
    js = on_path(path, dtype, infoloss.js_divergence, p, q, normalize=True)
    assert np.all(kl >= 0) and np.all(js >= 0) and np.all(js <= LOG2)
    assert_close(h, h_ref, condition, dtype, "H", factor)
    assert_close(kl, np.maximum(kl_ref, 0), condition, dtype, "KL", factor)
    assert_close(js, np.clip(js_ref, 0, LOG2), condition, dtype, "JS", factor)


extreme = st.sampled_from([1e-300, 1e-200, 1e-100, 1e-20, 1.0, 1e20, 1e100, 1e200, 1e300])


@BOUNDED
@given(p=st.lists(extreme, min_size=1, max_size=5), data=st.data())
def test_unvalidated_extreme_ratios_are_the_plain_sum(path, p, data):
    """``validate=False``: no clamp, and ratios that overflow or underflow are not clamped
    either: the value is the sum of ``p (log p - log q)``, as scipy.special.rel_entr's."""
    q = data.draw(st.lists(extreme, min_size=len(p), max_size=len(p)))
    p, q = np.array([p]), np.array([q])
    kl = on_path(path, "float64", infoloss.kl_divergence, p, q, validate=False)
    terms = [mpmath.mpf(a) * mpmath.log(mpmath.mpf(a) / mpmath.mpf(b)) for a, b in zip(p[0], q[0])]
    expected = float(sum(terms))
    condition = float(sum(abs(t) for t in terms)) + 1e-320
    assert_close(kl, expected, condition, "float64", "KL", factor=8)
