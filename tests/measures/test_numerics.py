"""Accurate terms, the clamp rule, extreme ratios, overflow-free normalising and the thread
setting, on every path: the compiled kernels, the NumPy ufunc code, the generic (array-API)
path on NumPy views and on every backend. References: mpmath at 50 digits, SciPy's rel_entr.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import warnings

import mpmath
import numpy as np
import pytest
import scipy.special
import torch

import infoloss
from infoloss import _convert
from infoloss.measures import _fast
from tests.backends import BACKENDS, jax_float64, to_backend, to_float64  # noqa: F401 (fixture)

mpmath.mp.dps = 50

# [x, 1 - x] against [y, 1 - y] with y within 2e-14 of x: p log(p / q) summed as plain float64
# terms gives -1.76e-17; the divergence of these stored floats is 8.467e-28 (mpmath).
NEAR_P = [0.2671141599494014, 1 - 0.2671141599494014]
NEAR_Q = [0.2671141599493832, 1 - 0.2671141599493832]
PATHS = ["kernels", "numpy ufuncs", "generic numpy"] + [b for b in BACKENDS if b != "numpy"]


def exact_kl(p, q) -> float:
    """KL of the stored floats, in 50 digits (p and q normalised exactly first)."""
    p, q = [mpmath.mpf(float(v)) for v in p], [mpmath.mpf(float(v)) for v in q]
    sp, sq = sum(p), sum(q)
    return float(sum((a / sp) * mpmath.log((a / sp) / (b / sq)) for a, b in zip(p, q) if a != 0))


def run(path, function, *arrays, monkeypatch, dtype="float64", **options):
    """``function(*arrays)`` on one path; the result as float64 NumPy."""
    arrays = [np.asarray(a, dtype=dtype) for a in arrays]
    if path == "kernels" and _fast._KERNELS is None:
        pytest.skip("compiled kernels not built")
    if path == "numpy ufuncs":
        monkeypatch.setattr(_fast, "_KERNELS", None)
    if path == "generic numpy":  # what a strided view or another axis takes
        monkeypatch.setattr(_convert.Inputs, "numpy_fast_path", property(lambda self: False))
    if path not in ("kernels", "numpy ufuncs", "generic numpy"):
        arrays = [to_backend(path, a, dtype) for a in arrays]
    result = function(*arrays, **options)
    if isinstance(result, infoloss.Decomposition):
        return tuple(to_float64(v) for v in result)
    return to_float64(result)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("validate", [True, False])
def test_nearly_equal_distributions_give_the_accurate_tiny_kl(path, validate, monkeypatch):
    value = float(
        run(path, infoloss.kl_divergence, NEAR_P, NEAR_Q, monkeypatch=monkeypatch, validate=validate)
    )
    true = exact_kl(NEAR_P, NEAR_Q)
    assert true == pytest.approx(8.467e-28, rel=1e-3)
    # The terms are ~1.8e-14 with opposite signs: their sum can be no closer than a few ulps
    # of a term (3e-30), which is what SciPy's rel_entr (log1p near 1) achieves too.
    terms = np.abs(scipy.special.rel_entr(NEAR_P, NEAR_Q)).max()
    assert value > 0
    assert abs(value - true) <= 2 * np.spacing(terms)
    assert value == pytest.approx(
        scipy.special.rel_entr(NEAR_P, NEAR_Q).sum(), rel=0, abs=2 * np.spacing(terms)
    )


@pytest.mark.parametrize("path", PATHS)
def test_ratio_that_underflows_is_not_clamped(path, monkeypatch):
    # p / q = 1e-400 underflows: SciPy, torch and JAX give p (log p - log q) = -9.21e-198.
    value = run(path, infoloss.kl_divergence, [1e-200], [1e200], monkeypatch=monkeypatch, validate=False)
    expected = scipy.special.rel_entr(1e-200, 1e200)
    assert expected == pytest.approx(-9.210340371976183e-198, rel=1e-15)
    assert float(value) == pytest.approx(expected, rel=1e-14, abs=0)
    log_q, p = (
        torch.log(torch.tensor([1e200], dtype=torch.float64)),
        torch.tensor([1e-200], dtype=torch.float64),
    )
    torch_value = torch.nn.functional.kl_div(log_q, p, reduction="sum")  # p (log p - log q)
    assert float(value) == pytest.approx(float(torch_value), rel=1e-12, abs=0)


@pytest.mark.parametrize("path", PATHS)
def test_validate_false_is_the_plain_sum_of_the_terms(path, monkeypatch):
    # q sums to 1 + 1e-9 (valid within tolerance): the divergence of the stored floats is -1e-9.
    p, q = [0.5, 0.5], [0.5 + 1e-9, 0.5]
    unclamped = float(run(path, infoloss.kl_divergence, p, q, monkeypatch=monkeypatch, validate=False))
    assert unclamped == pytest.approx(scipy.special.rel_entr(p, q).sum(), rel=1e-12, abs=0)
    assert unclamped < 0
    assert float(run(path, infoloss.kl_divergence, p, q, monkeypatch=monkeypatch)) == 0.0


@pytest.mark.parametrize("path", PATHS)
def test_js_is_clamped_at_log_2_for_validated_input(path, monkeypatch):
    # disjoint supports with p summing to 1 + 1e-9: the stored floats' JS exceeds log 2
    p, q = [1 + 1e-9, 0.0], [0.0, 1.0]
    unclamped = float(run(path, infoloss.js_divergence, p, q, monkeypatch=monkeypatch, validate=False))
    assert unclamped > math.log(2)
    assert float(run(path, infoloss.js_divergence, p, q, monkeypatch=monkeypatch)) == math.log(2)
    assert float(run(path, infoloss.js_divergence, p, q, monkeypatch=monkeypatch, base=2)) == 1.0


@pytest.mark.parametrize("path", PATHS)
def test_decompose_keeps_cross_entropy_at_least_entropy(path, monkeypatch):
    p, q = [0.5, 0.5], [0.5 + 1e-9, 0.5]
    ce, h, kl = (float(v) for v in run(path, infoloss.decompose, p, q, monkeypatch=monkeypatch))
    assert kl == 0.0 and ce == h == pytest.approx(math.log(2), rel=1e-15)
    ce, h, kl = (
        float(v) for v in run(path, infoloss.decompose, p, q, monkeypatch=monkeypatch, validate=False)
    )
    assert kl < 0 and ce == h + kl


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype, big", [("float64", 1e308), ("float32", 3e38)])
def test_normalising_sums_that_overflow(path, dtype, big, monkeypatch):
    value = float(
        run(path, infoloss.entropy, [big, big], monkeypatch=monkeypatch, dtype=dtype, normalize=True)
    )
    assert value == pytest.approx(math.log(2), rel=1e-15 if dtype == "float64" else 1e-6)
    kl = float(
        run(
            path,
            infoloss.kl_divergence,
            [big, big / 2],
            [big / 2, big],
            monkeypatch=monkeypatch,
            dtype=dtype,
            normalize=True,
        )
    )
    assert kl == pytest.approx(math.log(2) / 3, rel=1e-14 if dtype == "float64" else 1e-5)


def test_float32_rows_summing_past_2_to_the_31(monkeypatch):
    # counts of ~1e9 in float32 (row sums 4e9): the fast path's sums and identity are float64
    rng = np.random.default_rng(0)
    p = (rng.random(8) * 1e9).astype(np.float32)
    q = (p * (1 + 1e-4 * rng.standard_normal(8))).astype(np.float32)
    true = exact_kl(p, q)
    assert 1e-9 < true < 1e-8
    for kernels in ([_fast._KERNELS] if _fast._KERNELS is not None else []) + [None]:
        monkeypatch.setattr(_fast, "_KERNELS", kernels)
        # float32 logs of ratios within 1e-4 of 1: a few float32 ulps of log(q_i / p_i) each
        assert float(infoloss.kl_divergence(p, q, normalize=True)) == pytest.approx(true, rel=2e-3)


def test_decompose_takes_the_fast_path(monkeypatch):
    calls = []
    compute = _fast.compute

    def counted(name, inputs, keepdims):
        value = compute(name, inputs, keepdims)
        calls.append((name, value is not None))
        return value

    monkeypatch.setattr(_fast, "compute", counted)
    rng = np.random.default_rng(1)
    p, q = rng.random((300, 700)), rng.random((300, 700))
    p, q = p / p.sum(1, keepdims=True), q / q.sum(1, keepdims=True)
    ce, h, kl = infoloss.decompose(p, q)
    assert calls == [("decompose", True)]
    np.testing.assert_allclose(h, -scipy.special.xlogy(p, p).sum(1), rtol=1e-13)
    np.testing.assert_allclose(kl, scipy.special.rel_entr(p, q).sum(1), rtol=1e-12)
    np.testing.assert_allclose(ce, -scipy.special.xlogy(p, q).sum(1), rtol=1e-13)
    assert np.all(ce >= h)


# --------------------------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------------------------


def threads_used(monkeypatch, size=1 << 19):
    """The distinct threads that computed parts of one large KL."""
    seen = set()
    rows_part = _fast._Job.rows_part

    def recording(self, *args):
        seen.add(threading.get_ident())
        return rows_part(self, *args)

    monkeypatch.setattr(_fast._Job, "rows_part", recording)
    started = []
    in_parallel = _fast._in_parallel

    def counting(function, argument_lists, threads):
        started.append(threads)
        return in_parallel(function, argument_lists, threads)

    monkeypatch.setattr(_fast, "_in_parallel", counting)
    p = np.full((size // 1000, 1000), 1e-3)
    assert float(infoloss.kl_divergence(p, p).max()) == 0.0
    return started[0], len(seen)


def test_set_num_threads_is_honoured(monkeypatch):
    try:
        infoloss.set_num_threads(1)
        assert threads_used(monkeypatch) == (1, 1)
        infoloss.set_num_threads(3)
        requested, used = threads_used(monkeypatch)
        assert requested == 3 and 1 <= used <= 3
        assert _fast._POOL_SIZE >= 2  # two workers beside the calling thread
    finally:
        infoloss.set_num_threads(None)


def test_thread_count_from_environment_and_cpus(monkeypatch):
    import os

    monkeypatch.delenv("INFOLOSS_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert _fast.num_threads() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("OMP_NUM_THREADS", "5,2")
    assert _fast.num_threads() == 5
    monkeypatch.setenv("INFOLOSS_NUM_THREADS", "2")
    assert _fast.num_threads() == 2
    monkeypatch.setenv("INFOLOSS_NUM_THREADS", "1")
    assert threads_used(monkeypatch) == (1, 1)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_num_threads_refuses_bad_values(bad):
    with pytest.raises((ValueError, TypeError), match="n"):
        infoloss.set_num_threads(bad)


def test_threadpoolctl_limits_the_pool(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if _fast._KERNELS is None:
        pytest.skip("threadpoolctl finds the pool by the compiled kernels' file")
    monkeypatch.delenv("INFOLOSS_NUM_THREADS", raising=False)
    try:
        infoloss.set_num_threads(3)
        assert _fast.num_threads() == 3  # registers the controller, threadpoolctl being imported
        with threadpoolctl.threadpool_limits(limits=1):
            assert threads_used(monkeypatch) == (1, 1)
        assert _fast.num_threads() == 3  # restored after the block
        infoloss_pools = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "infoloss"]
        # one entry per kernel build loaded (the tests of the kernels load both)
        assert infoloss_pools and all(i["num_threads"] == 3 for i in infoloss_pools)
    finally:
        infoloss.set_num_threads(None)


def test_threadpoolctl_registers_after_a_call_with_the_kernels_off():
    # a call while the kernels were turned off (as tests do) once marked the pool registered
    # for good: threadpool_limits then never reached it in that process
    pytest.importorskip("threadpoolctl")
    if _fast._KERNELS is None:
        pytest.skip("threadpoolctl finds the pool by the compiled kernels' file")
    code = (
        "import infoloss\n"
        "from infoloss.measures import _fast\n"
        "import threadpoolctl\n"  # after the fast path: registered at the next call
        "kernels, _fast._KERNELS = _fast._KERNELS, None\n"
        "_fast.num_threads()\n"
        "_fast._KERNELS = kernels\n"
        "infoloss.set_num_threads(3)\n"
        "assert _fast.num_threads() == 3\n"  # the next call (registers, the kernels being back)
        "with threadpoolctl.threadpool_limits(limits=1):\n"
        "    print(_fast.num_threads())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "INFOLOSS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "1"


@pytest.mark.parametrize("path", PATHS)
def test_nearly_equal_distributions_give_the_accurate_tiny_js(path, monkeypatch):
    value = float(run(path, infoloss.js_divergence, NEAR_P, NEAR_Q, monkeypatch=monkeypatch, validate=False))
    p, q = [mpmath.mpf(v) for v in NEAR_P], [mpmath.mpf(v) for v in NEAR_Q]
    true = float(
        sum(a * mpmath.log(2 * a / (a + b)) / 2 + b * mpmath.log(2 * b / (a + b)) / 2 for a, b in zip(p, q))
    )
    assert true == pytest.approx(2.1168e-28, rel=1e-4)
    # a few ulps of the largest term (~1e-14), as for KL
    terms = [abs(float(a * mpmath.log(2 * a / (a + b)) / 2)) for a, b in zip(p, q)]
    assert abs(value - true) <= 4 * np.spacing(max(terms))
    assert value > 0


# --------------------------------------------------------------------------------------------
# Normalising inside KL's terms (subnormal weights, nearly proportional counts, float32 sums)
# and the plain-then-accurate rule of the fast path
# --------------------------------------------------------------------------------------------


def exact_normalised_kl(p, q) -> float:
    """KL of the rows divided exactly by their sums, at 400 digits: at 50, 1 + 1e-320 rounds
    to 1 and the first term of [1, 1e-320] against [4, 1e-323] (-1e-320) is lost."""
    with mpmath.workdps(400):
        p, q = [mpmath.mpf(float(v)) for v in p], [mpmath.mpf(float(v)) for v in q]
        sp, sq = sum(p), sum(q)
        return float(sum((a / sp) * mpmath.log((a / sp) / (b / sq)) for a, b in zip(p, q) if a != 0))


@pytest.mark.parametrize("path", PATHS)
def test_entropy_of_a_subnormal_entry_on_every_path(path, monkeypatch):
    # -1e-320 log(1e-320): the fast paths once clamped p to the smallest normal number before
    # the log (log(2.2e-308) for log(1e-320): 4% off); a subnormal p keeps its own log
    p = [1.0, 1e-320]
    with mpmath.workdps(400):
        true = float(-mpmath.mpf(p[1]) * mpmath.log(mpmath.mpf(p[1])))
    value = float(run(path, infoloss.entropy, p, monkeypatch=monkeypatch))
    if path == "jax":  # XLA on CPU flushes subnormal numbers to 0: it sees [1, 0]
        assert value == 0.0
        return
    assert value == pytest.approx(true, rel=1e-12, abs=0)


@pytest.mark.parametrize("path", PATHS)
def test_subnormal_weights_normalised_on_every_path(path, monkeypatch):
    p, q = [1.0, 1e-320], [4.0, 1e-323]
    true = exact_normalised_kl(p, q)
    assert true == pytest.approx(7.30614e-320, rel=1e-5)
    value = float(run(path, infoloss.kl_divergence, p, q, monkeypatch=monkeypatch, normalize=True))
    _, _, kl = run(path, infoloss.decompose, p, q, monkeypatch=monkeypatch, normalize=True)
    if path == "jax":  # XLA on CPU flushes subnormal numbers to 0: it sees [1, 0] against [4, 0]
        assert value == float(kl) == 0.0
        return
    smallest = np.finfo(np.float64).smallest_subnormal
    assert abs(value - true) <= 2 * smallest
    assert abs(float(kl) - true) <= 2 * smallest


@pytest.mark.parametrize("path", PATHS)
def test_nearly_proportional_counts_keep_their_digits(path, monkeypatch):
    # q is 3 p within 1e-9: the divergence (~1e-19) is what is left after the normalising
    # sums, and so the identity (sum p log(p / q) + sp log(sq / sp)) / sp cancels to noise
    rng = np.random.default_rng(5)
    p = rng.random((2, 7)) * 1000
    q = 3 * p * (1 + 1e-9 * rng.standard_normal((2, 7)))
    true = np.array([exact_normalised_kl(a, b) for a, b in zip(p, q)])
    assert np.all((1e-20 < true) & (true < 1e-17))
    value = run(path, infoloss.kl_divergence, p, q, monkeypatch=monkeypatch, normalize=True)
    # the floor of any float computation: the rounding of the ratios (eps each, relative to
    # their distance from 1, ~1e-9) makes a relative error of about eps / 1e-9 in the divergence
    np.testing.assert_allclose(value, true, rtol=2e-6, atol=0)


@pytest.mark.parametrize("path", PATHS)
def test_float32_counts_past_2_to_the_31_on_every_path(path, monkeypatch):
    # the generic path sums float32 rows in float64 where the backend has it (float32 sums of
    # these counts are off by several float32 ulps, which the divergence magnifies 1e4 times)
    rng = np.random.default_rng(0)
    p = (rng.random(8) * 1e9).astype(np.float32)
    q = (p * (1 + 1e-4 * rng.standard_normal(8))).astype(np.float32)
    true = exact_normalised_kl(p, q)
    value = float(
        run(path, infoloss.kl_divergence, p, q, monkeypatch=monkeypatch, dtype="float32", normalize=True)
    )
    assert value == pytest.approx(true, rel=2e-3)


@pytest.mark.parametrize("path", PATHS)
def test_huge_entries_give_no_warnings(path, monkeypatch):
    # rows of 1e308 sum to inf: valid input (normalize=True) computes without a RuntimeWarning,
    # and invalid input gets its error, also without one
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = float(run(path, infoloss.entropy, [1e308] * 4, monkeypatch=monkeypatch, normalize=True))
        kl = float(
            run(
                path,
                infoloss.kl_divergence,
                [1e308, 5e307],
                [5e307, 1e308],
                monkeypatch=monkeypatch,
                normalize=True,
            )
        )
        with pytest.raises(infoloss.InputError, match="sums to inf"):
            run(path, infoloss.entropy, [1e308, 1e308], monkeypatch=monkeypatch)
    assert h == pytest.approx(math.log(4), rel=1e-15)
    assert kl == pytest.approx(math.log(2) / 3, rel=1e-14)


def long_row_modes(monkeypatch):
    """The modes in which the fast path computed the chunks of long rows (PLAIN, ACCURATE)."""
    modes = []
    units_part = _fast._Job.units_part

    def recording(self, *args):
        modes.append(self.mode)
        return units_part(self, *args)

    monkeypatch.setattr(_fast._Job, "units_part", recording)
    return modes


@pytest.mark.parametrize("path", ["kernels", "numpy ufuncs"])
@pytest.mark.parametrize("name", ["kl_divergence", "js_divergence"])
def test_long_nearly_equal_rows_are_redone_accurately(path, name, monkeypatch):
    # a row of 3 chunks and a tail: its chunks are summed plainly, then, as the row's total is
    # tiny next to its mass, computed again with the ratios' rounding added back
    rng = np.random.default_rng(7)
    p = rng.dirichlet(np.ones(_fast._CHUNK + 5))
    q = p * (1 + 1e-12 * rng.standard_normal(p.size))
    modes = long_row_modes(monkeypatch)
    value = float(run(path, getattr(infoloss, name), p, q, monkeypatch=monkeypatch, validate=False))
    assert _fast.PLAIN in modes and _fast.ACCURATE in modes
    with mpmath.workdps(30):  # the stored floats' divergence and the sizes of its terms
        a, b = [mpmath.mpf(float(v)) for v in p], [mpmath.mpf(float(v)) for v in q]
        if name == "kl_divergence":
            terms = [x * mpmath.log(x / y) for x, y in zip(a, b)]
        else:
            terms = [x * mpmath.log(2 * x / (x + y)) / 2 for x, y in zip(a, b)]
            terms += [y * mpmath.log(2 * y / (x + y)) / 2 for x, y in zip(a, b)]
        true, size = float(sum(terms)), float(sum(abs(t) for t in terms))
    # a few ulps of the terms' sizes; the plain sum is off by ~eps sqrt(sum p^2) = 2e-18
    assert abs(value - true) <= 16 * np.finfo(np.float64).eps * size


@pytest.mark.parametrize("path", ["kernels", "numpy ufuncs"])
def test_long_row_whose_chunks_cancel_is_redone(path, monkeypatch):
    # each chunk's KL is large (ratio 3/2 or 2/3 throughout), the row's is small: the rule is
    # applied to the whole row, not to its chunks
    half = _fast._CHUNK
    p = np.concatenate([np.full(half, 0.6 / half), np.full(half, 0.4 / half)])
    q = np.concatenate([np.full(half, 0.4 / half), np.full(half, 0.6 / half)])
    modes = long_row_modes(monkeypatch)
    value = float(run(path, infoloss.kl_divergence, p, q, monkeypatch=monkeypatch))
    assert modes.count(_fast.ACCURATE) >= 1
    assert value == pytest.approx(0.6 * math.log(1.5) + 0.4 * math.log(0.4 / 0.6), rel=1e-14)
    modes.clear()
    # a divergence that is large next to the row's mass is not computed twice
    far = np.concatenate([np.full(half, 0.9 / half), np.full(half, 0.1 / half)])
    value = float(run(path, infoloss.kl_divergence, p, far, monkeypatch=monkeypatch))
    assert value == pytest.approx(0.6 * math.log(0.6 / 0.9) + 0.4 * math.log(4), rel=1e-14)
    assert modes and _fast.ACCURATE not in modes


def exact_normalised_cross_entropy(p, q=None) -> float:
    """H(p / sum p, q / sum q) of the stored floats at 400 digits (entropy where q is None)."""
    with mpmath.workdps(400):
        p = [mpmath.mpf(float(v)) for v in p]
        q = p if q is None else [mpmath.mpf(float(v)) for v in q]
        sp, sq = sum(p), sum(q)
        return float(-sum((a / sp) * mpmath.log(b / sq) for a, b in zip(p, q) if a != 0))


# Near-certain counts: the fast path's identity log S - (1/S) sum c log c cancels (it was off
# by 1.3e-7 and 1.5e-5 relative), and log(c / S) of the dominant share, within an ulp of 1,
# loses the share's rounding (the generic path was off by 4e-9 and 2e-7).
NEAR_CERTAIN = [
    ([1e6, 1e-3], None),
    ([1e12, 1.0, 3.0], None),
    ([1e6, 1e-3], [1e6, 2e-3]),
    ([1e12, 1.0, 3.0], [1e12, 2.0, 3.0]),
    ([2e6, 2e6], None),
    ([5.0, 3.0, 2.0], [1.0, 1.0, 1e-9]),
]
FEW_ULPS = 3 * np.finfo(np.float64).eps


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("p, q", NEAR_CERTAIN)
def test_near_certain_counts_normalised_to_a_few_ulps(path, p, q, monkeypatch):
    true = exact_normalised_cross_entropy(p, q)
    if q is None:
        value = float(run(path, infoloss.entropy, p, monkeypatch=monkeypatch, normalize=True))
        own, _, _ = (
            float(v) for v in run(path, infoloss.decompose, p, p, monkeypatch=monkeypatch, normalize=True)
        )
        assert own == pytest.approx(true, rel=FEW_ULPS, abs=0)
    else:
        value = float(run(path, infoloss.cross_entropy, p, q, monkeypatch=monkeypatch, normalize=True))
        _, own, _ = (
            float(v) for v in run(path, infoloss.decompose, p, q, monkeypatch=monkeypatch, normalize=True)
        )
        assert own == pytest.approx(exact_normalised_cross_entropy(p), rel=FEW_ULPS, abs=0)
    assert value == pytest.approx(true, rel=FEW_ULPS, abs=0)


@pytest.mark.parametrize("path", ["kernels", "numpy ufuncs"])
def test_long_near_certain_row_is_redone_in_chunks(path, monkeypatch):
    # rows longer than a chunk are summed chunk by chunk and recomputed once complete
    n = 4 * _fast._CHUNK + 5
    p, q = np.ones(n), np.ones(n)
    p[5] = q[5] = 1e15
    q[7] = 3.0
    rows = np.stack([p, p[::-1]])
    with mpmath.workdps(60):  # the n - 1 (n - 2) equal entries in closed form
        sp, sq = mpmath.mpf(n - 1) + mpmath.mpf(1e15), mpmath.mpf(n - 2) + mpmath.mpf(1e15) + 3
        own = float(
            -(n - 1) / sp * mpmath.log(1 / sp) - mpmath.mpf(1e15) / sp * mpmath.log(mpmath.mpf(1e15) / sp)
        )
        cross = float(
            -(n - 2) / sp * mpmath.log(1 / sq)
            - mpmath.mpf(1e15) / sp * mpmath.log(mpmath.mpf(1e15) / sq)
            - 1 / sp * mpmath.log(3 / sq)
        )
    entropies = run(path, infoloss.entropy, rows, monkeypatch=monkeypatch, normalize=True)
    np.testing.assert_allclose(entropies, [own, own], rtol=1e-15, atol=0)
    value = float(run(path, infoloss.cross_entropy, p, q, monkeypatch=monkeypatch, normalize=True))
    assert value == pytest.approx(cross, rel=1e-15, abs=0)


@pytest.mark.parametrize("path", PATHS)
def test_normalised_entropy_of_a_certain_row_is_exactly_zero(path, monkeypatch):
    value = run(
        path, infoloss.entropy, [[0.0, 3.0, 0.0], [1e300, 0.0, 0.0]], monkeypatch=monkeypatch, normalize=True
    )
    assert value.tolist() == [0.0, 0.0]


def test_normalised_cross_entropy_gradient_at_a_zero_weight():
    # dH/dp_j = (-log b_j - H) / S_p, finite at p_j = 0 where q_j > 0 (cross-entropy is linear in p)
    p = torch.tensor([2.0, 0.0, 1e-3], dtype=torch.float64, requires_grad=True)
    q = torch.tensor([2e6, 1.0, 3.0], dtype=torch.float64)
    value = infoloss.cross_entropy(p, q, normalize=True)
    value.backward()
    b = q / q.sum()
    expected = (-torch.log(b) - value.detach()) / p.detach().sum()
    torch.testing.assert_close(p.grad, expected, rtol=1e-12, atol=0)
    assert torch.autograd.gradcheck(
        lambda x: infoloss.entropy(x, normalize=True),
        (torch.tensor([3.0, 1e6, 1e-3], dtype=torch.float64, requires_grad=True),),
    )
