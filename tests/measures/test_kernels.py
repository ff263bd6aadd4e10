"""The compiled kernels (``_kernels.c``) against the NumPy block code of ``_numpy_fast`` and SciPy.

Every kernel module that is built and runs on this CPU is tested (the baseline build and, on
AVX2 machines, the AVX2 build), each entry point on float64 and float32 blocks, for the totals,
the row sums and the block minimum that the fused validation of ``_numpy_fast`` relies on.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import math
import os
import platform
import subprocess
import sys

import numpy as np
import pytest
import scipy.special

import infoloss
from infoloss.measures import _fast as _numpy_fast
from tests.backends import distributions


def _runnable_modules() -> dict:
    """name -> module, for every kernel build present that this CPU can run."""
    from numpy._core._multiarray_umath import __cpu_features__ as features

    names = ["_kernels"] + (["_kernels_avx2"] if features.get("AVX2") and features.get("FMA3") else [])
    modules = {}
    for name in names:
        with contextlib.suppress(ImportError):
            modules[name] = importlib.import_module(f"infoloss.measures.{name}")
    return modules


MODULES = _runnable_modules()
MEASURES = {
    "entropy": _numpy_fast._ENTROPY,
    "cross_entropy": _numpy_fast._CROSS_ENTROPY,
    "kl_divergence": _numpy_fast._KL_DIVERGENCE,
    "js_divergence": _numpy_fast._JS_DIVERGENCE,
    "decompose": _numpy_fast._DECOMPOSE,
}
TOLERANCE = {np.float64: dict(rtol=1e-13, atol=1e-15), np.float32: dict(rtol=2e-6, atol=1e-6)}
# (rows, n): single entries, odd lengths around the SIMD widths (2, 4, 8), long rows
BLOCK_SHAPES = [(1, 1), (3, 2), (5, 3), (4, 7), (2, 9), (9, 17), (6, 31), (2, 1000), (1, 8192)]


def compiled(module, name, p, q):
    """One kernel call: (totals, sums, smallest entry)."""
    blocks = (p,) if name == "entropy" else (p, q)
    totals = np.full((MEASURES[name].outputs, len(p)), -123.0)
    sums = np.full((len(blocks), len(p)), -123.0)
    smallest = getattr(module, name)(*blocks, totals, sums)
    return (totals[0] if len(totals) == 1 else totals), sums, smallest


def numpy_block(name, p, q):
    """The same block through the NumPy ufunc code: (totals, sums, smallest entry)."""
    measure = MEASURES[name]
    blocks = [p] if name == "entropy" else [p, q]
    scratch = _numpy_fast._Scratch(p.dtype, p.size, measure)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        totals = np.asarray(measure.block(blocks, scratch), dtype=np.float64)
    sums = np.array([b.sum(axis=1, dtype=np.float64) for b in blocks])
    return totals, sums, np.min([b.min() for b in blocks])


@pytest.fixture(params=sorted(MODULES))
def module(request):
    return MODULES[request.param]


# --------------------------------------------------------------------------------------------
# The build itself
# --------------------------------------------------------------------------------------------


def test_ci_builds_the_kernels():
    """In CI (and wherever the package was built with a compiler) the kernels must be in use."""
    expected = "none"
    if MODULES:
        expected = "avx2" if "_kernels_avx2" in MODULES else "baseline"
    disabled = os.environ.get("INFOLOSS_NO_KERNELS", "0") not in ("", "0")
    if disabled:
        expected = "none"
    assert _numpy_fast.KERNEL == expected
    if os.environ.get("CI") and not disabled:  # CI's second run turns them off on purpose
        assert _numpy_fast.KERNEL != "none", "CI must build the compiled kernels (setup.py)"
        x86_glibc = platform.machine() in ("x86_64", "AMD64") and platform.libc_ver()[0] == "glibc"
        if x86_glibc and sys.platform.startswith("linux"):
            assert (
                "_kernels" in MODULES
                and "_kernels_avx2" in importlib.util.find_spec("infoloss.measures._kernels_avx2").origin
            )


def test_environment_variable_turns_the_kernels_off():
    code = "import infoloss.measures._fast as f; print(f.KERNEL, f._KERNELS)"
    env = dict(os.environ, INFOLOSS_NO_KERNELS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["none", "None"]


# --------------------------------------------------------------------------------------------
# Same numbers as the NumPy block code and SciPy
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MEASURES)
@pytest.mark.parametrize("shape", BLOCK_SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernel_equals_numpy_block(module, name, shape, dtype):
    p, q = distributions(shape, seed=shape[0] * 100 + shape[1], dtype=dtype)
    totals, sums, smallest = compiled(module, name, p, q)
    expected_totals, expected_sums, expected_smallest = numpy_block(name, p, q)
    np.testing.assert_allclose(totals, expected_totals, **TOLERANCE[dtype])
    np.testing.assert_allclose(sums, expected_sums, **TOLERANCE[dtype])
    assert smallest == expected_smallest


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernel_against_scipy(module, dtype):
    p, q = distributions((11, 37), seed=1, dtype=dtype)
    p64, q64 = p.astype(np.float64), q.astype(np.float64)
    entr = scipy.special.entr(p64).sum(1)
    rel_entr = scipy.special.rel_entr(p64, q64).sum(1)
    mixture = (p64 + q64) / 2
    js2 = scipy.special.rel_entr(p64, mixture).sum(1) + scipy.special.rel_entr(q64, mixture).sum(1)
    tolerance = TOLERANCE[dtype]
    np.testing.assert_allclose(compiled(module, "entropy", p, q)[0], -entr, **tolerance)
    np.testing.assert_allclose(compiled(module, "cross_entropy", p, q)[0], -(entr + rel_entr), **tolerance)
    np.testing.assert_allclose(compiled(module, "kl_divergence", p, q)[0], rel_entr, **tolerance)
    np.testing.assert_allclose(compiled(module, "js_divergence", p, q)[0], js2, **tolerance)
    np.testing.assert_allclose(
        compiled(module, "kl_divergence", p, q)[1], [p64.sum(1), q64.sum(1)], **tolerance
    )


# --------------------------------------------------------------------------------------------
# Conventions: zeros, identical inputs, infinities, subnormals
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_identical_inputs_give_exactly_zero(module, dtype):
    p, _ = distributions((5, 67), seed=2, dtype=dtype)
    assert np.all(compiled(module, "kl_divergence", p, p.copy())[0] == 0)
    assert np.all(compiled(module, "js_divergence", p, p.copy())[0] == 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_zero_and_infinite_terms(module, dtype):
    p = np.array([[0.5, 0.0, 0.5, 0.0, 0.0], [0.5, 0.25, 0.25, 0.0, 0.0]], dtype)
    q = np.array([[0.25, 0.0, 0.75, 0.0, 0.0], [0.5, 0.0, 0.5, 0.0, 0.0]], dtype)
    # row 0: zero in both contributes nothing; row 1: p > 0 = q
    kl, ce, js = (
        compiled(module, name, p, q)[0] for name in ("kl_divergence", "cross_entropy", "js_divergence")
    )
    reference = scipy.special.rel_entr(p[0].astype(float), q[0].astype(float)).sum()
    np.testing.assert_allclose(kl[0], reference, **TOLERANCE[dtype])
    assert kl[1] == np.inf and ce[1] == -np.inf
    assert np.all(np.isfinite(js)) and np.all(np.isfinite(ce[:1]))
    assert compiled(module, "entropy", np.zeros((1, 3), dtype), None)[0][0] == 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_overflowing_ratio_is_exact(module, dtype):
    """q subnormal: p / q overflows, and the row is redone from log p - log q."""
    tiny = np.finfo(dtype).smallest_subnormal * 1000
    p = np.full((3, 40), 1 / 40, dtype)
    q = np.full((3, 40), 1 / 39, dtype)
    q[1, 7] = tiny
    q[1, 8] = 1 / 39 - tiny
    q[2, 7] = 0  # a true infinity stays one
    totals = compiled(module, "kl_divergence", p, q)[0]
    expected = scipy.special.rel_entr(p[1].astype(float), q[1].astype(float)).sum()
    assert np.isfinite(totals[1])
    np.testing.assert_allclose(totals[1], expected, rtol=1e-12 if dtype == np.float64 else 2e-6)
    np.testing.assert_allclose(totals, numpy_block("kl_divergence", p, q)[0], **TOLERANCE[dtype])
    assert totals[2] == np.inf


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_subnormal_entries(module, dtype):
    tiny = np.finfo(dtype).smallest_subnormal
    p = np.array([[tiny, 0.0, 0.5, 0.5 - tiny], [0.0, 1.0, 0.0, 0.0]], dtype)
    q = np.array([[0.0, tiny, 0.5, 0.5], [tiny, 1.0 - tiny, 0.0, 0.0]], dtype)
    for name in MEASURES:
        totals, sums, smallest = compiled(module, name, p, q)
        expected = numpy_block(name, p, q)
        np.testing.assert_allclose(totals, expected[0], **TOLERANCE[dtype])
        np.testing.assert_array_equal(sums, expected[1])
        assert smallest == 0
    assert np.all(np.isfinite(compiled(module, "js_divergence", p, q)[0]))


# --------------------------------------------------------------------------------------------
# What validation needs: NaN, negative and infinite entries show
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("where", ["p", "q"])
@pytest.mark.parametrize("position", [(0, 0), (2, 10), (4, 20)])
def test_bad_entries_show_in_minimum_or_sums(module, dtype, where, position):
    for name in MEASURES:
        if name == "entropy" and where == "q":
            continue
        for bad in (np.nan, -0.25, np.inf):
            p, q = distributions((5, 21), seed=3, dtype=dtype)
            (p if where == "p" else q)[position] = bad
            _, sums, smallest = compiled(module, name, p, q)
            if np.isnan(bad):
                assert np.isnan(smallest)
            elif bad < 0:
                assert smallest == np.float32(bad)
            else:
                assert sums[0 if where == "p" else 1, position[0]] == np.inf
                assert smallest == 0


def test_arguments_are_checked(module):
    p, q = distributions((3, 4), seed=4)
    totals, sums = np.empty(3), np.empty((2, 3))
    with pytest.raises(TypeError, match="2-D float64 or float32"):
        module.kl_divergence(p.astype(np.int64), q, totals, sums)
    with pytest.raises(ValueError, match="same shape and dtype"):
        module.kl_divergence(p, q.astype(np.float32), totals, sums)
    with pytest.raises(TypeError, match="at least 6 entries"):
        module.kl_divergence(p, q, totals, np.empty(5))
    with pytest.raises(ValueError, match="not C-contiguous"):  # NumPy's buffer export says so
        module.entropy(p[:, ::2], totals, None)  # not contiguous
    with pytest.raises(TypeError, match="expected 3 arguments"):
        module.entropy(p, q, totals, sums)


# --------------------------------------------------------------------------------------------
# Through the public functions: with and without the kernels, across block and thread bounds
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2**17 + 3,), (3, 3 * 8192 + 5), (600, 301)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_public_functions_same_with_and_without_kernels(monkeypatch, shape, dtype):
    p, q = distributions(shape, seed=5, dtype=dtype)
    with_kernels = [
        infoloss.entropy(p),
        infoloss.cross_entropy(p, q),
        infoloss.kl_divergence(p, q),
        infoloss.js_divergence(p, q),
        infoloss.kl_divergence(100 * p, q, normalize=True),
    ]
    monkeypatch.setattr(_numpy_fast, "_KERNELS", None)
    without = [
        infoloss.entropy(p),
        infoloss.cross_entropy(p, q),
        infoloss.kl_divergence(p, q),
        infoloss.js_divergence(p, q),
        infoloss.kl_divergence(100 * p, q, normalize=True),
    ]
    for fast, slow in zip(with_kernels, without):
        np.testing.assert_allclose(fast, slow, **TOLERANCE[dtype])


@pytest.mark.parametrize("name", ["kl_divergence", "js_divergence", "decompose"])
def test_modes_plain_checked_accurate(module, name):
    # row 0 nearly equal coins (true KL 8.467e-28; its plain total is rounding noise, -1.8e-17),
    # row 1 far apart
    x, y = 0.2671141599494014, 0.2671141599493832
    p, q = np.array([[x, 1 - x], [0.3, 0.7]]), np.array([[y, 1 - y], [0.6, 0.4]])
    outputs = MEASURES[name].outputs

    def totals(mode):
        out, sums = np.empty((outputs, 2)), np.empty((2, 2))
        getattr(module, name)(p, q, out, sums, mode)
        return out[0]

    plain, checked, accurate = (
        totals(_numpy_fast.PLAIN),
        totals(_numpy_fast.CHECKED),
        totals(_numpy_fast.ACCURATE),
    )
    if name == "js_divergence":
        m = (p + q) / 2
        terms = scipy.special.rel_entr(p, m) + scipy.special.rel_entr(q, m)
    else:
        terms = scipy.special.rel_entr(p, q)  # log1p near 1: accurate terms
    exact = np.array([math.fsum(row) for row in terms])
    size = np.abs(scipy.special.rel_entr(p, q)).sum(axis=1)
    assert abs(accurate[0] - exact[0]) <= 16 * np.finfo(np.float64).eps * size[0] or name == "js_divergence"
    assert abs(plain[0] - accurate[0]) > 100 * abs(accurate[0])  # the plain total is noise there
    assert checked[0] == accurate[0]  # checked: row 0 redone accurately ...
    assert checked[1] == plain[1]  # ... row 1 left plain
    assert accurate[1] == pytest.approx(plain[1], rel=1e-14)
    # validated distributions: the loop without the underflow scan gives the same totals
    np.testing.assert_array_equal(totals(_numpy_fast.CHECKED | _numpy_fast._SCANLESS), checked)
    with pytest.raises(ValueError, match="mode"):
        getattr(module, name)(p, q, np.empty((outputs, 2)), None, 3)
