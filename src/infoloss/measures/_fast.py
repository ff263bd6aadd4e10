"""The NumPy fast path of the measures: one pass, cache-sized blocks, every core, compiled loops.

The generic path (``measures/__init__.py``) is written in array-API calls, and on NumPy every call
materialises a full-size temporary: ``scipy.stats.entropy(p, q)``-style code reads and writes
the data about ten times and needs several times the input size in extra memory. Here the data
are read once, in blocks small enough that every temporary stays in the core's L2 cache:

* **Blocks.** The arrays are viewed as ``(rows, n)`` (distributions along the last axis). Short
  rows (``n <= _CHUNK``) go in blocks of whole rows, about ``_BLOCK`` entries each; a long row
  is cut into chunks of ``_CHUNK`` entries (plus a shorter tail), taken ``_BLOCK // _CHUNK``
  (4) at a time as a ``(4, _CHUNK)`` block. Each part of the work (see Threads) preallocates
  scratch buffers of one block; a block is transformed in place in those
  (``np.divide``/``np.fmax``/``np.log`` with ``out=``) and reduced per row (``np.vecdot``, or
  small BLAS matrix-vector products for short rows). A long row's per-chunk totals (one float
  per 8192 entries) are added up exactly (``math.fsum``) at the end. Nothing full-size is
  allocated besides the result.
* **Compiled kernels.** Where the optional C extension is built (``_kernels.c``, by
  ``setup.py``), a block is one call into it instead: one loop per row computes the measure's
  total, the row sums and the block minimum in a single read of the data, accumulating in
  double, with the GIL released. With glibc on x86-64 the ``log`` in that loop is glibc's
  vector log (libmvec; 4 doubles or 8 floats per AVX2 instruction), where NumPy's float64
  ``np.log`` is scalar libm on AVX2 machines (~5 ns per entry): the whole KL costs less than
  ``np.log`` alone. Two builds exist, chosen at import (``KERNEL``): ``avx2`` (AVX2 + FMA, when
  NumPy reports both) and ``baseline``; ``none`` when neither is built or when
  ``INFOLOSS_NO_KERNELS=1`` is set, and then the NumPy ufunc code below runs. Their blocks
  are ``_KERNEL_BLOCKS`` times larger (no scratch buffers to keep in cache). The kernels follow
  the conventions of the NumPy block functions entry by entry (next two points); the
  comments in each point at the other.
* **Threads.** ``np.log`` of float64 (scalar libm on AVX2) dominates the cost, so the work is
  CPU-bound, not memory-bound (with the kernels too, if less so): the rows (or the chunks of
  long rows) are cut into up to ``_PARTS_PER_THREAD`` contiguous parts per thread (no part
  smaller than a block), which the calling thread and the pool's workers take in turn, so
  that on a shared machine a thread that gets more CPU does more. The number of threads is
  :func:`num_threads` (``set_num_threads``, ``INFOLOSS_NUM_THREADS``, ``OMP_NUM_THREADS``, or
  the CPUs this process may use). NumPy releases the GIL inside
  ufuncs and BLAS calls, as the kernels do, so the threads run in parallel; Python's own
  per-block work is small next to a block's arithmetic. Small inputs stay on the calling
  thread (``_PARALLEL_MIN``, measured: below it a thread costs more than it saves).
* **Zeros without masks.** ``where=``-masked ufuncs are several times slower than plain ones,
  so the ``0 log 0 = 0`` convention is met arithmetically: the ratio ``p / q`` (or ``p``) is
  raised to the smallest normal number before the log (``np.fmax``, which also turns the
  ``0 / 0`` NaN into that number), so a ``p = 0`` entry contributes ``0 * log(tiny) = 0``;
  cross-entropy takes ``log(q + [p == 0])``, which is ``log q`` wherever ``p > 0`` and finite
  elsewhere. A row with a ``p != 0`` whose ratio is not a normal number (it underflowed,
  ``p = 1e-200`` against ``q = 1e200``, or an entry is NaN or negative), or whose total is
  ``inf`` or NaN (some ``p > 0 = q``, or a ratio that overflowed), is redone entry by entry as
  SciPy's ``rel_entr`` (``_exact_kl_row``): the clamp never changes a result.
* **Accurate terms, where they matter.** ``p log(p / q)`` loses the rounding of the ratio (up
  to ``eps p / 2``), all there is of the term when p and q nearly agree. The first pass takes
  the plain terms (as fast as the kernels were before the accurate terms); a row whose total
  is small next to its mass (KL below ``sum p / 8``, JS below ``(sum p + sum q) / 32``:
  elsewhere the two agree to 4 and 16 ulps) is computed again with the ratios' exact
  residuals added back (see ``_kl_block``; modes ``PLAIN``, ``CHECKED``, ``ACCURATE``), so KL
  of nearly equal distributions keeps its digits. Whole rows are checked where they are
  computed (in the kernel), long rows once all their chunks are in (``_Job.combine``). No
  result is clamped here: the measures apply one rule to every path (validated input: KL,
  JS >= 0, JS <= log 2).
  Jensen-Shannon takes ``x / m`` as ``2x / (p + q)`` (``(p + q) / 2`` underflows to 0 for a
  subnormal entry beside a zero; ``p + q`` never does).
* **Validation and normalisation fused into the pass.** Per block, the minimum of ``p`` (and
  ``q``) and the per-row sums are taken from the same cache-resident data, or in the kernel's
  loop (min propagates NaN, so ``min >= 0`` rejects NaN and negative entries; a ``+inf`` entry
  makes its row sum infinite). ``normalize=True`` needs no second pass either: with row sums
  ``sp``, ``sq``,

      H(p / sp)              = (sp log sp - sum p log p) / sp
      H(p / sp, q / sq)      = (sp log sq - sum p log q) / sp
      KL(p / sp || q / sq)   = (sum p log(p / q) + sp log(sq / sp)) / sp

  (written so that a one-hot row gives exactly 0). Where the KL identity's two parts cancel
  (nearly proportional rows; ``[1, 1e-320]`` against ``[4, 1e-323]``), the row is computed
  by the generic path's normalised terms instead (``_cancelling``, ``_normalized_kl``); so are
  rows where the entropy or cross-entropy identity cancels (near-certain counts ``[1e6, 1e-3]``,
  or counts with a large sum: ``_Job.shares_cancelling``, ``_normalized_cross_entropy``, whose
  terms take the log of a dominant share as ``log1p`` of minus the others'). If a
  check fails, the generic validator
  (``Inputs.checked``) is run so the error message is exactly the generic one; if it does not
  raise (a row sum within rounding of the tolerance), or a normalising sum is so extreme that
  the identities could lose accuracy, the caller is told to use the generic path (``None``).

The one entry point, :func:`compute`, takes a measure's name and the ``Inputs`` of
``_convert.prepare`` and returns float64 values with the reduced axis removed (or kept with
``keepdims``), a NumPy scalar for 1-D input (a tuple of them for ``decompose``), or ``None``
for "use the generic path" (also whenever ``Inputs.numpy_fast_path`` does not hold).
The results agree with the generic path to about 1e-15 relative in float64 (float32 input is
computed in float32 blocks, summed in float64, and agrees to about 1e-6); with or without the
kernels (glibc's vector log differs from libm's by up to 2 ulps, measured) to about 1e-14.
"""

from __future__ import annotations

import importlib
import itertools
import math
import os
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .. import _array, _validate
from .._threads import environment_threads
from .._typing import Array

if TYPE_CHECKING:  # concurrent.futures (with logging) and numpy.typing: 6 ms of every import
    from concurrent.futures import ThreadPoolExecutor

    import numpy.typing as npt

    from .._convert import Inputs


def _load_kernels() -> tuple[ModuleType | None, str]:
    """The compiled kernels (``_kernels.c``) best for this CPU, and which: avx2, baseline or none.

    ``INFOLOSS_NO_KERNELS=1`` in the environment (read at import) keeps the NumPy code.
    """
    if os.environ.get("INFOLOSS_NO_KERNELS", "0") not in ("", "0"):
        return None, "none"
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # a NumPy without this (private) table: the baseline build is safe
        features = {}
    if features.get("AVX2") and features.get("FMA3"):
        try:  # by name: the compiled modules have no stubs (and may not exist)
            return importlib.import_module("._kernels_avx2", __package__), "avx2"
        except ImportError:
            pass
    try:
        return importlib.import_module("._kernels", __package__), "baseline"
    except ImportError:  # installed without a compiler
        return None, "none"


# The compiled kernels module (None: the NumPy ufunc code) and its name, for benchmarks/reports.
_KERNELS, KERNEL = _load_kernels()

# Entries per block: 32768 float64 = 256 KiB per buffer, so a block of p, of q and the scratch
# buffer stay in the 1 MiB L2 cache while Python's per-block overhead stays small.
_BLOCK = 1 << 15
# The compiled kernels need no scratch buffers (one loop reads the block once), so their blocks
# are this many times larger: 2**18 entries, ~1 ms of work per block, which makes Python's
# per-block cost negligible (measured on 1e7 entries: 1-D KL 31 ms with 2**15, 23 ms with
# 2**17, 22.6 ms with 2**18 and 22 ms with 2**20).
_KERNEL_BLOCKS = 8
# Rows longer than this are cut into chunks of this width (the block is then 4 chunks). It is
# also the largest reduction handed to BLAS: OpenBLAS moves a dot of more than 10000 entries,
# or a matrix-vector product of more than 9216, to its own thread pool, which serialises and
# spins when two of our threads call it at once (measured: 1-D KL on 5e6 entries, 15x slower).
_CHUNK = 8192
# Below this many entries (per input array) everything runs on the calling thread. Handing
# half to the pool costs ~30 us (measured); from 2**17 entries each half is ~0.4 ms of work.
_PARALLEL_MIN = 1 << 17
# The work is cut into up to this many parts per thread (but none smaller than a block), and
# each thread takes the next part when done with one: on a shared machine, where one thread
# gets less CPU than the other, the faster one does more, instead of waiting for a fixed half.
_PARTS_PER_THREAD = 8
# Rows at least this long are reduced with np.vecdot; shorter ones with small BLAS products.
_VECDOT_MIN = 128

# Normalising sums must lie in [2**-L, 2**L] (else: generic path). In float64 this keeps the
# terms of p log p off the subnormal range (where they lose digits) and sp * log(sp) finite;
# in float32 it bounds log(sp), whose float32 rounding the identities amplify by log(sp) / H.
_SCALE_LIMIT = {np.dtype(np.float64): 255, np.dtype(np.float32): 31}


def compute(name: str, inputs: Inputs, keepdims: bool) -> Array | tuple[Array, ...] | None:
    """The measure ``name`` per row, or None for the generic path (the one dispatcher).

    ``name`` is one of ``entropy``, ``cross_entropy``, ``kl_divergence``, ``js_divergence``
    (float64 values) or ``decompose`` (a tuple: cross-entropy, entropy, KL divergence, all from
    one read of the data). None when ``Inputs.numpy_fast_path`` does not hold, or for the cases
    the identities cannot serve (the mixture of JS needs normalised entries, see the module
    docstring; a normalising sum too extreme).
    """
    measure = _MEASURES[name]
    if not inputs.numpy_fast_path or (inputs.normalize and not measure.normalizes):
        return None
    return _compute(measure, inputs, keepdims)


@dataclass(frozen=True)
class ChunkParts:
    """One chunk's part of a measure, and what its checks need (see :func:`chunk_parts`)."""

    values: tuple[np.ndarray, ...]  # per output, per row: the measure of the row as given (float64)
    sums: list[np.ndarray]  # per argument, per row: the sum of its entries (float64)
    smallest: float  # the smallest entry of every argument (NaN if any entry is NaN)

    def suspect(self) -> bool:
        """Whether some entry may be NaN, negative or infinite: the smallest is not >= 0, or a
        row sum is not finite (a ``+inf`` entry; or finite entries past the largest float)."""
        return not (self.smallest >= 0 and all(total.max() < math.inf for total in self.sums))


def chunk_parts(name: str, arrays: Sequence[np.ndarray], threads: int) -> ChunkParts:
    """The measure ``name`` of each row, unchecked and unnormalised, with the rows' statistics.

    For a part of a larger array (the chunk of a Dask array, ``measures/_dask.py``): the
    values are those of :func:`compute` with ``validate=False, normalize=False`` (the measure
    of each row as it is: ``-sum p log p``, ``-sum p log q``, ``sum p log(p / q)``, JS; for
    ``decompose`` the pair entropy, KL), and the same read of the data gives what the checks of
    the whole array need: each row's sums ``sum_j x_j`` of each argument and the smallest entry
    of all. Nothing is raised: the caller decides what an entry or a sum means (it knows the
    whole rows), and looks closer only where :meth:`ChunkParts.suspect` says so.

    ``arrays``: ``(rows, n)`` float32 or float64 arrays of one shape and dtype (copied where not
    C-contiguous), distributions along the last axis (p, and q for the two-argument measures); ``threads``:
    at most this many threads (fewer for small inputs, as :func:`compute`).

    >>> p, q = np.array([[0.5, 0.25, 0.25]]), np.array([[0.25, 0.25, 0.5]])
    >>> parts = chunk_parts("kl_divergence", [p, q], threads=1)
    >>> float(parts.values[0][0]), [float(s[0]) for s in parts.sums], parts.smallest
    (0.17328679513998632, [1.0, 1.0], 0.25)

    (KL: ``0.5 log 2 - 0.25 log 2 = 0.25 log 2``, as ``scipy.stats.entropy(p, q)``.)
    """
    measure = _MEASURES[name]
    views = [np.ascontiguousarray(a) for a in arrays]
    job = _Job(measure, views, normalize=False, validate=False, keep_statistics=True)
    values = job.run(threads if views[0].size >= _PARALLEL_MIN else 1)
    smallest = float(np.min(job.minima)) if job.minima else math.inf
    return ChunkParts(tuple(values), job.row_sums, smallest)


# --------------------------------------------------------------------------------------------
# Per-block kernels: transform a block in the scratch buffer, then reduce each row.
# ``blocks`` holds the 2-D block of p (and q): whole short rows, or chunks of a long row.
# Each returns one total per row of the block. _kernels.c computes the same totals in compiled
# loops, entry by entry with the same conventions (the clamp to tiny, q + [p == 0], the ratio
# of exactly 1 for p == q, 2x / (p + q), the exact redo of an overflowed KL row): a change to
# one belongs in the other, and tests/test_kernels.py compares the two.
# --------------------------------------------------------------------------------------------


def _row_dots(weights: np.ndarray, values: np.ndarray, ones: np.ndarray) -> np.ndarray:
    """``sum(weights * values)`` per row (``values`` is scratch and may be overwritten)."""
    if weights.shape[1] >= _VECDOT_MIN:
        return np.vecdot(weights, values)
    np.multiply(weights, values, out=values)
    return _row_sums(values, ones)


def _row_sums(x: np.ndarray, ones: np.ndarray) -> np.ndarray:
    """Row sums: np.vecdot for long rows, else matrix-vector products of <= _CHUNK entries."""
    rows, n = x.shape
    if n >= _VECDOT_MIN:
        return np.vecdot(x, ones[:n])
    if rows * n <= _CHUNK:
        return x @ ones[:n]
    per_call = max(1, _CHUNK // n)
    full = rows - rows % per_call
    out = np.empty(rows, x.dtype)
    if full:
        out[:full] = (x[:full].reshape(-1, per_call, n) @ ones[:n]).reshape(-1)
    if full < rows:
        out[full:] = x[full:] @ ones[:n]
    return out


def _entropy_block(blocks: Sequence[np.ndarray], scratch: _Scratch) -> np.ndarray:
    (p,) = blocks
    log_p = scratch.buffer(p.shape)
    # p = 0 -> a finite log, times p = 0; a subnormal p keeps its own log (no clamp to tiny)
    np.fmax(p, scratch.smallest, out=log_p)
    np.log(log_p, out=log_p)
    return _row_dots(p, log_p, scratch.ones)


def _cross_entropy_block(blocks: Sequence[np.ndarray], scratch: _Scratch) -> np.ndarray:
    p, q = blocks
    log_q = scratch.buffer(p.shape)
    p_is_zero = scratch.mask(p.shape)
    np.equal(p, 0, out=p_is_zero)
    np.add(q, p_is_zero, out=log_q)  # q + 1 where p = 0: finite log, times p = 0
    np.log(log_q, out=log_q)  # -inf where p > 0 = q: cross-entropy +inf, as intended
    return _row_dots(p, log_q, scratch.ones)


def _kl_block(blocks: Sequence[np.ndarray], scratch: _Scratch) -> np.ndarray:
    """``sum p log(p / q)`` per row, each term accurate also where ``p / q`` is near 1.

    ``p log(r)`` with ``r = p / q`` rounded loses the ratio's rounding, up to ``eps p / 2``
    per term: all there is when p and q nearly agree (SciPy gh-20710). The kernels add the
    exact residual ``p - q r`` (one fma). NumPy has no fma, but for ``r`` in [1/2, 2] both
    ``p - q`` and ``r - 1`` are exact (Sterbenz), so ``(p - q) - q (r - 1)`` is that residual
    to ``eps`` of itself; clamping ``p`` at ``q / 2`` and ``r`` at 1/2 makes it exactly 0
    below (where the ratio's rounding is negligible next to the term ``|p log r| > 0.69 p``).
    That costs seven more passes over the block, so it is done only where it can matter
    (:func:`_needs_accuracy`, the kernels' rule: a row whose total is below an eighth of its
    mass ``sum p``; elsewhere the omitted rounding, at most ``eps sum p / 2``, is within 4 ulps
    of the total), always with ``scratch.mode == ACCURATE`` and never with ``PLAIN``.
    """
    p, q = blocks
    ratio = scratch.buffer(p.shape)
    np.divide(p, q, out=ratio)  # exactly 1 where p == q, so KL(p, p) is exactly 0
    extreme = _extreme_ratios(p, ratio, scratch) if scratch.ratios_can_underflow else None
    np.fmax(ratio, scratch.tiny, out=ratio)  # p = 0 (ratio 0 or 0/0 = NaN) -> tiny
    np.log(ratio, out=ratio)
    totals = _row_dots(p, ratio, scratch.ones)
    if _needs_accuracy(scratch.mode, totals, lambda: scratch.row_sums(p), _KL_MARGIN):
        np.divide(p, q, out=ratio)  # a block with a row that needs the residuals
        totals += _kl_residuals(p, q, ratio, scratch)
    # Redone entry by entry: rows with a ratio that is not a normal number (see
    # _extreme_ratios), and rows whose total is +inf (some p > 0 = q, or p / q overflowed)
    # or NaN (NaN entries, or the residual of q = 0).
    redo = ~(totals < math.inf) if extreme is None else extreme | ~(totals < math.inf)
    for row in np.flatnonzero(redo):
        totals[row] = _exact_kl_row(p[row], q[row])
    return totals


def _kl_residuals(p: np.ndarray, q: np.ndarray, ratio: np.ndarray, scratch: _Scratch) -> np.ndarray:
    """Per row, the sum of ``p - q r`` (to rounding, see :func:`_kl_block`); ``ratio`` kept."""
    residual = scratch.buffer(p.shape, 1)
    part = scratch.buffer(p.shape, 2)
    # entry by entry, summed once: both parts are large below r = 1/2, where they cancel exactly
    np.multiply(q, 0.5, out=residual)
    np.fmax(p, residual, out=residual)
    np.subtract(residual, q, out=residual)
    np.fmax(ratio, 0.5, out=part)
    np.subtract(part, 1.0, out=part)
    np.multiply(part, q, out=part)
    np.subtract(residual, part, out=residual)
    return _row_sums(residual, scratch.ones)


def _extreme_ratios(p: np.ndarray, ratio: np.ndarray, scratch: _Scratch) -> npt.NDArray[np.bool_] | np.bool_:
    """Per row: some ``p != 0`` whose ``p / q`` is below the smallest normal number or NaN.

    Such a ratio underflowed (``p = 1e-200``, ``q = 1e200``) or comes from a NaN or negative
    entry; the clamp to ``tiny`` would change its term, so the row is redone exactly. Not
    looked for in validated distributions (``q <= 1``, so only a subnormal p can underflow,
    and the clamp changes its term by less than ``1e-306``).
    """
    low = scratch.mask(p.shape)
    nonzero = scratch.mask(p.shape, second=True)
    np.greater_equal(ratio, scratch.tiny, out=low)
    np.logical_not(low, out=low)
    np.not_equal(p, 0, out=nonzero)
    np.logical_and(low, nonzero, out=low)
    return low.any(axis=1)


def _exact_kl_row(p: np.ndarray, q: np.ndarray) -> float:
    """One row's KL entry by entry, as SciPy's ``rel_entr``: rare (flagged rows only).

    ``p log r`` plus the exact residual where the ratio ``r`` is a normal number, else
    ``p (log p - log q)``; 0 where p = 0, +inf where p > 0 = q, NaN for NaN or negative p.
    Mirrors ``EXACT_KL_ROW`` in ``_kernels.c``.
    """
    support = p != 0
    p, q = p[support].astype(np.float64), q[support].astype(np.float64)
    if not (np.all(p > 0) and np.all(q >= 0)):
        return math.nan
    if np.any(q == 0):
        return math.inf
    ratio = p / q
    normal = (ratio >= _TINY64) & (ratio < math.inf)
    # p log r + (p - q r), the residual exact to rounding (Dekker's product, as NumPy has no fma)
    terms = np.where(
        normal, p * np.log(np.where(normal, ratio, 1.0)) + _residual(p, q, ratio), p * (np.log(p) - np.log(q))
    )
    return math.fsum(terms)


_TINY64 = np.finfo(np.float64).tiny


def _residual(
    p: npt.NDArray[np.float64], q: npt.NDArray[np.float64], ratio: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``p - q * ratio`` exactly to rounding, in float64 (Dekker's product; rare rows only)."""

    def split(x: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        t = 134217729.0 * x
        high = t - (t - x)
        return high, x - high

    with np.errstate(over="ignore", invalid="ignore"):
        qh, ql = split(q)
        rh, rl = split(ratio)
        product = q * ratio
        error = ((qh * rh - product) + qh * rl + ql * rh) + ql * rl
        residual = (p - product) - error
    return np.where(np.isfinite(residual), residual, 0.0)


def _js_block(blocks: Sequence[np.ndarray], scratch: _Scratch) -> np.ndarray:
    """``sum p log(2p / (p + q)) + q log(2q / (p + q))`` per row (twice the JS divergence).

    Made accurate as the kernels' ``JS_ACCURATE_ROW`` where that matters (see
    :func:`_js_corrections` and :func:`_needs_accuracy`): for blocks with a row whose total is
    below 1/32 of its mass ``sum p + q`` (JS is often small); elsewhere the omitted rounding
    (at most ``eps (sum p + q) / 2``) is within 16 ulps of the total.
    """
    p, q = blocks
    mixture = scratch.buffer(p.shape)
    log_ratio = scratch.buffer(p.shape, 1)
    # x / m computed as 2x / (p + q): (p + q) / 2 underflows to 0 for a subnormal entry
    # beside a zero, while p + q never does.
    np.add(p, q, out=mixture)
    halves = []  # added at the end, so that JS(p, q) == JS(q, p) exactly
    for x in (p, q):
        np.divide(x, mixture, out=log_ratio)  # <= 1: no overflow; 0/0 where p = q = 0
        np.multiply(log_ratio, 2.0, out=log_ratio)
        np.fmax(log_ratio, scratch.tiny, out=log_ratio)
        np.log(log_ratio, out=log_ratio)
        halves.append(_row_dots(x, log_ratio, scratch.ones))
    totals = halves[0] + halves[1]
    if _needs_accuracy(scratch.mode, totals, lambda: _row_sums(mixture, scratch.ones), _JS_MARGIN):
        totals += _js_corrections(p, q, mixture, scratch)
    return totals


# How KL and JS rows are finished (the kernels' enum mode, same values): PLAIN leaves out the
# rounding of the ratios, ACCURATE adds it back, CHECKED adds it back where it can matter.
PLAIN, CHECKED, ACCURATE = 0, 1, 2
# Added to a mode for the kernels: validated distributions, whose ratios cannot underflow but
# for subnormal p (see _extreme_ratios): no scan for them (_kernels.c's SCANLESS).
_SCANLESS = 4
# A plain KL (JS) total is within 4 (16) ulps of the accurate one when it is at least this
# fraction of the row's mass, sum p (sum p + sum q): _kernels.c's ACCURATE_MARGIN, JS_ACCURATE_MARGIN.
_KL_MARGIN, _JS_MARGIN = 0.125, 0.03125


def _needs_accuracy(mode: int, totals: np.ndarray, mass: Callable[[], np.ndarray], margin: float) -> bool:
    """Whether a block's totals need the accurate terms: ``mass()`` gives the rows' masses."""
    if mode != CHECKED:
        return mode == ACCURATE
    return not np.all(np.abs(totals) >= margin * mass())


def _js_corrections(p: np.ndarray, q: np.ndarray, mixture: np.ndarray, scratch: _Scratch) -> np.ndarray:
    """What the rounding of ``m = p + q`` and of the shares ``s = x / m`` took from JS's terms.

    With ``s = fl(x / m)`` each term is ``x log(2s)`` plus the residual ``x - m s``, less the
    rounding of ``m`` (TwoSum: ``p + q = m + e`` exactly) once per entry. NumPy has no fma: for
    ``s`` in [1/4, 1] both ``x - m / 2`` and ``s - 1/2`` are exact (Sterbenz), so
    ``(x - m / 2) - m (s - 1/2)`` is the residual to ``eps`` of itself; clamping ``x`` at
    ``m / 4`` and ``s`` at 1/4 makes it exactly 0 below (where ``|x log 2s| > 0.69 x``).
    """
    share = scratch.buffer(p.shape, 1)
    residual = scratch.buffer(p.shape, 2)
    part = scratch.buffer(p.shape, 3)
    np.subtract(mixture, p, out=part)  # TwoSum: e = (p - (m - b)) + (q - b), b = m - p
    np.subtract(mixture, part, out=residual)
    np.subtract(p, residual, out=residual)
    np.subtract(q, part, out=part)
    np.add(residual, part, out=residual)
    rounding = _row_sums(residual, scratch.ones)
    halves = []
    for x in (p, q):
        np.divide(x, mixture, out=share)
        np.multiply(mixture, 0.25, out=residual)
        np.fmax(x, residual, out=residual)
        np.multiply(mixture, 0.5, out=part)
        np.subtract(residual, part, out=residual)
        np.fmax(share, 0.25, out=part)
        np.subtract(part, 0.5, out=part)
        np.multiply(part, mixture, out=part)
        np.subtract(residual, part, out=residual)
        halves.append(_row_sums(residual, scratch.ones))
    return (halves[0] + halves[1]) - rounding


def _decompose_block(blocks: Sequence[np.ndarray], scratch: _Scratch) -> tuple[np.ndarray, np.ndarray]:
    """KL's and entropy's per-row totals of one block (the kernels do both in one loop)."""
    return _kl_block(blocks, scratch), _entropy_block(blocks[:1], scratch)


# --------------------------------------------------------------------------------------------
# Per-row results from the block sums (float64 arrays: S = the weighted sum, sp, sq = sums).
# No clamping here: the measures apply one rule to every path's result (validated input:
# KL, JS >= 0 and JS <= log 2), so with validate=False the value is the plain sum of the terms.
# --------------------------------------------------------------------------------------------


def _entropy_value(
    total: np.ndarray, sp: np.ndarray | None, sq: np.ndarray | None, normalize: bool
) -> np.ndarray:
    if not normalize:
        return 0.0 - total  # +0.0, never -0.0, for a certain outcome (as the generic path)
    assert sp is not None  # the row sums are given with normalize=True
    return (sp * np.log(sp) - total) / sp


def _cross_entropy_value(
    total: np.ndarray, sp: np.ndarray | None, sq: np.ndarray | None, normalize: bool
) -> np.ndarray:
    if not normalize:
        return 0.0 - total
    assert sp is not None and sq is not None  # the row sums are given with normalize=True
    with np.errstate(invalid="ignore"):  # -inf total (p > 0 = q) stays +inf
        return (sp * np.log(sq) - total) / sp


def _kl_value(total: np.ndarray, sp: np.ndarray | None, sq: np.ndarray | None, normalize: bool) -> np.ndarray:
    if not normalize:
        return total
    assert sp is not None and sq is not None  # the row sums are given with normalize=True
    return (total + sp * np.log(sq / sp)) / sp


def _js_value(total: np.ndarray, sp: np.ndarray | None, sq: np.ndarray | None, normalize: bool) -> np.ndarray:
    return total / 2


def _decompose_value(
    totals: np.ndarray, sp: np.ndarray | None, sq: np.ndarray | None, normalize: bool
) -> tuple[np.ndarray, np.ndarray]:
    kl, own = totals
    return _entropy_value(own, sp, sq, normalize), _kl_value(kl, sp, sq, normalize)


def _cancelling(total: np.ndarray, sp: np.ndarray, sq: np.ndarray) -> np.ndarray:
    """Rows whose normalised KL, ``(total + sp log(sq / sp)) / sp``, could lose digits.

    Its two parts are each rounded (and ``total`` leaves out the ratios' rounding, up to
    ``eps sp / 2``): where they cancel to below an eighth of their sizes, as for distributions
    that are nearly proportional, or ``[1, 1e-320]`` against ``[4, 1e-323]`` (where the parts
    are +-log 4 and the divergence 7.3e-320), the row is computed by :func:`_normalized_kl`.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        shift = sp * np.log(sq / sp)
        return ~(np.abs(total + shift) >= _KL_MARGIN * (sp + np.abs(total) + np.abs(shift)))


def _shares_cancelling(total: np.ndarray, sp: np.ndarray, sq: np.ndarray) -> np.ndarray:
    """Rows whose normalised cross-entropy (entropy: ``sq = sp``), ``(sp log sq - total) / sp``
    with ``total = sum p log q``, could lose digits: its two parts cancel to below an eighth
    of their sizes (see :meth:`_Job.shares_cancelling`)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        shift = sp * np.log(sq)
        return ~(np.abs(shift - total) >= _KL_MARGIN * (np.abs(shift) + np.abs(total)))


def _normalized_kl(p: np.ndarray, q: np.ndarray, sp: np.ndarray, sq: np.ndarray) -> npt.NDArray[np.float64]:
    """Per row, ``KL(p / sp || q / sq)`` by the generic path's formula (rows (r, n), sums (r,)).

    :func:`infoloss._array.normalized_kl_terms`: every term is >= 0, so nothing cancels, and
    the normalisation's rounding enters the sum only relative to it. In float64 whatever the
    input dtype (the sums of float32 rows are float64 here already).
    """
    p, q = p.astype(np.float64), q.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        terms = _array.normalized_kl_terms(np, p, q, sp[:, None], sq[:, None])
    return np.sum(terms, axis=1)


def _normalized_cross_entropy(
    p: np.ndarray, q: np.ndarray | None, sp: np.ndarray, sq: np.ndarray
) -> npt.NDArray[np.float64]:
    """Per row, ``H(p / sp, q / sq)`` (entropy where ``q`` is None) by the generic path's terms.

    :func:`infoloss._array.normalized_cross_entropy_terms`: each term >= 0 and accurate, also
    for a dominant share near 1, so near-certain counts keep their digits. In float64 whatever
    the input dtype (rows (r, n), sums (r,)).
    """
    q, sq = (p, sp) if q is None else (q, sq)
    q = q.astype(np.float64)
    rest = _array.dominant_rest(np, q, sq[:, None], -1)
    return np.sum(_cross_entropy_terms(p, q, sp, sq, rest), axis=1)


def _cross_entropy_terms(
    p: np.ndarray, q: np.ndarray, sp: np.ndarray, sq: np.ndarray, rest: np.ndarray
) -> npt.NDArray[np.float64]:
    """The terms of :func:`_normalized_cross_entropy`, given the rows' dominant rests (r, 1)."""
    p, q = p.astype(np.float64), q.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        logs = _array.share_logs(np, q, sq[:, None], rest)
        return _array.normalized_cross_entropy_terms(np, p, q, sp[:, None], logs)


@dataclass(frozen=True)
class _Measure:
    names: tuple[str, ...]
    kernel: str  # the compiled kernel's name in _kernels.c (same conventions as `block`)
    block: Callable[[Sequence[np.ndarray], _Scratch], np.ndarray | tuple[np.ndarray, np.ndarray]]
    value: Callable[..., np.ndarray | tuple[np.ndarray, np.ndarray]]
    outputs: int = 1  # totals per row (decompose: KL and entropy)
    masks: int = 0  # boolean scratch buffers needed
    floats: int = 1  # float scratch buffers needed
    normalizes: bool = True  # normalize=True by the identities of the module docstring
    shares: bool = False  # an entropy/cross-entropy identity that can cancel (see shares_cancelling)


_ENTROPY = _Measure(("p",), "entropy", _entropy_block, _entropy_value, shares=True)
_CROSS_ENTROPY = _Measure(
    ("p", "q"), "cross_entropy", _cross_entropy_block, _cross_entropy_value, masks=1, shares=True
)
_KL_DIVERGENCE = _Measure(("p", "q"), "kl_divergence", _kl_block, _kl_value, masks=2, floats=3)
_JS_DIVERGENCE = _Measure(("p", "q"), "js_divergence", _js_block, _js_value, floats=4, normalizes=False)
_DECOMPOSE = _Measure(
    ("p", "q"), "decompose", _decompose_block, _decompose_value, outputs=2, masks=2, floats=3, shares=True
)
_MEASURES = {
    "entropy": _ENTROPY,
    "cross_entropy": _CROSS_ENTROPY,
    "kl_divergence": _KL_DIVERGENCE,
    "js_divergence": _JS_DIVERGENCE,
    "decompose": _DECOMPOSE,
}


# --------------------------------------------------------------------------------------------
# The driver: plan blocks, split across threads, validate, combine
# --------------------------------------------------------------------------------------------


class _Invalid(Exception):
    """A block failed validation: let the generic validator say why."""


class _Fallback(Exception):
    """A normalising sum is too extreme for the identities: use the generic path."""


class _Scratch:
    """One thread's preallocated buffers, each one block long."""

    def __init__(self, dtype: np.dtype, size: int, measure: _Measure) -> None:
        self.tiny = np.finfo(dtype).tiny
        self.smallest = np.finfo(dtype).smallest_subnormal
        self.ones = _ones(dtype)
        self._floats = [np.empty(size, dtype) for _ in range(measure.floats)]
        # Set by the job: unvalidated or normalised input can hold ratios that underflow.
        self.ratios_can_underflow = True
        self.mode = CHECKED  # KL and JS: see PLAIN, CHECKED, ACCURATE (set by the job)
        self._summed: tuple[np.ndarray, np.ndarray] | None = None  # (block, its row sums): see row_sums
        self._masks = [np.empty(size, np.bool_) for _ in range(measure.masks)]

    def buffer(self, shape: tuple[int, int], index: int = 0) -> np.ndarray:
        return self._floats[index][: shape[0] * shape[1]].reshape(shape)

    def row_sums(self, x: np.ndarray) -> np.ndarray:
        """``_row_sums(x)``, once per block: KL's accuracy check and the validation both need p's."""
        if self._summed is None or self._summed[0] is not x:
            self._summed = (x, _row_sums(x, self.ones))
        return self._summed[1]

    def mask(self, shape: tuple[int, int], second: bool = False) -> np.ndarray:
        return self._masks[1 if second else 0][: shape[0] * shape[1]].reshape(shape)


@dataclass
class _Job:
    """One call: the (rows, n) views, the options, and the two layouts of blocks.

    Short rows (n <= _CHUNK): a block is whole rows, and its values go straight into the
    result. Long rows: each row is cut into "units", chunks of _CHUNK entries plus a shorter
    tail; a block is up to _BLOCK // _CHUNK units of one row, the per-unit totals and sums are
    kept (a few per 8192 entries), and each row's are added up at the end.
    """

    measure: _Measure
    views: list[np.ndarray]  # (rows, n) views of p (and q)
    normalize: bool
    validate: bool
    # chunk_parts: keep every row's sums (float64) and every block's minimum, check nothing
    keep_statistics: bool = False
    # set by a thread whose check failed, read by the others: a plain flag (GIL-atomic), as a
    # threading.Event per call cost 1.6 us of a 64x10 call's 25
    stopped: bool = False

    def __post_init__(self) -> None:
        self.kernel = getattr(_KERNELS, self.measure.kernel) if _KERNELS is not None else None
        self.block = _BLOCK * _KERNEL_BLOCKS if self.kernel is not None else _BLOCK
        self.rows, self.n = self.views[0].shape
        self.dtype = self.views[0].dtype
        # KL and JS leave out the rounding of their ratios where it cannot matter (see PLAIN,
        # CHECKED, ACCURATE): a whole row is checked where it is computed; a long row once all
        # its chunks are in (combine), from the row's sums; a normalised KL row by its identity.
        self.divergence = self.measure in (_KL_DIVERGENCE, _JS_DIVERGENCE, _DECOMPOSE)
        self.mode = CHECKED if self.n <= _CHUNK and not self.normalize else PLAIN
        self.need_sums = (
            self.normalize or self.validate or self.keep_statistics or (self.divergence and self.n > _CHUNK)
        )
        self.minima: list[float] = []  # keep_statistics: each block's smallest entry (NaN: some NaN)
        self.row_sums: list[np.ndarray] = []  # keep_statistics: per argument, every row's sum
        self.ratios_can_underflow = self.normalize or not self.validate  # see _extreme_ratios
        self.tolerance = _validate.sum_tolerance(self.dtype)
        # KL's logs take ratios only, so in float32 (sums and identity in float64) no sum is extreme.
        ratio_only = self.measure is _KL_DIVERGENCE and self.dtype == np.float32
        limit = 1000 if ratio_only else _SCALE_LIMIT[self.dtype]
        self.scale = (2.0**-limit, 2.0**limit)

    def run(self, threads: int) -> np.ndarray:
        self.threads = threads
        parts = 1
        if threads > 1:
            blocks = self.rows * self.n // self.block
            parts = min(threads * _PARTS_PER_THREAD, max(threads, blocks))
        outputs = self.measure.outputs
        if self.n <= _CHUNK:
            out = np.empty((outputs, self.rows))
            if self.keep_statistics:
                self.row_sums = [np.empty(self.rows) for _ in self.views]
            _in_parallel(self.rows_part, [(a, b, out) for a, b in _split(self.rows, parts)], threads)
            return out
        self.full_chunks, tail = divmod(self.n, _CHUNK)
        self.units_per_row = self.full_chunks + (tail > 0)
        units = self.rows * self.units_per_row
        self.totals = np.empty((outputs, units))
        self.sums = [np.empty(units) for _ in self.views] if self.need_sums else []
        _in_parallel(self.units_part, list(_split(units, parts)), threads)
        return self.combine()

    # -- checks shared by both layouts --------------------------------------------------------

    def check_entries(self, minima: Iterable[Any], sums: Sequence[np.ndarray]) -> None:
        """NaN or negative entries (the blocks' minima: NaN if any is NaN) or infinite ones (row sums)."""
        if not self.validate:
            return
        if not (all(least >= 0 for least in minima) and all(total.max() < math.inf for total in sums)):
            raise _Invalid

    def check_sums(self, sums: Sequence[np.ndarray]) -> None:
        """Row sums: 1 within tolerance, or (normalize) positive and not extreme."""
        for total in sums:
            if self.normalize:
                if self.validate and not total.min() > 0:
                    raise _Invalid
                low, high = self.scale
                if not (total.min() >= low and total.max() <= high):
                    raise _Fallback
            elif self.validate and not np.abs(total - 1).max() <= self.tolerance:
                raise _Invalid

    def value(self, totals: np.ndarray, sums: Sequence[np.ndarray]) -> np.ndarray:
        """The per-row values, (outputs, rows), from the (outputs, rows) totals and the sums."""
        sp = sums[0] if self.normalize else None
        sq = sums[-1] if self.normalize else None
        per_output = totals if self.measure.outputs > 1 else totals[0]
        values = self.measure.value(per_output, sp, sq, self.normalize)
        return np.reshape(values, (self.measure.outputs, -1))

    def step(
        self, blocks: Sequence[np.ndarray], scratch: _Scratch | None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """One block: the measure's per-row totals, then the row sums (checked).

        In this order the block is fetched from memory once, by the measure's first ufunc;
        the checks then read it from the cache (measured: ~0.4 ns per entry, not ~1.3). The
        compiled kernel does all of it in one loop, with the GIL released.
        """
        if self.kernel is not None:
            totals = np.empty((self.measure.outputs, len(blocks[0])))
            sums_out = np.empty((len(blocks), len(blocks[0]))) if self.need_sums else None
            mode = (self.mode | (0 if self.ratios_can_underflow else _SCANLESS),) if self.divergence else ()
            smallest = self.kernel(*blocks, totals, sums_out, *mode)
            kernel_sums = list(sums_out) if sums_out is not None else []
            if self.keep_statistics:
                self.minima.append(smallest)
            self.check_entries((smallest,), kernel_sums)
            return totals, kernel_sums
        assert scratch is not None  # Job.scratch makes one wherever there is no kernel
        totals = np.reshape(
            np.asarray(self.measure.block(blocks, scratch), dtype=np.float64), (self.measure.outputs, -1)
        )
        sums: list[np.ndarray]
        if not self.need_sums:
            sums = []
        elif (self.normalize or self.keep_statistics) and self.dtype == np.float32:
            sums = [b.sum(axis=1, dtype=np.float64) for b in blocks]  # float32 sums can overflow
        else:
            sums = [scratch.row_sums(b) for b in blocks]
        if self.keep_statistics:
            self.minima.append(float(np.min([b.min() for b in blocks])))  # (np.min keeps a NaN)
        self.check_entries((b.min() for b in blocks), sums)
        return totals, sums

    def scratch(self, size: int) -> _Scratch | None:
        """The NumPy code's buffers for blocks of ``size`` entries (the kernels need none)."""
        if self.kernel is not None:
            return None
        scratch = _Scratch(self.dtype, size, self.measure)
        scratch.ratios_can_underflow = self.ratios_can_underflow
        scratch.mode = self.mode
        return scratch

    # -- short rows ----------------------------------------------------------------------------

    def rows_part(self, start: int, stop: int, out: np.ndarray) -> None:
        per_block = max(1, self.block // self.n)
        scratch = self.scratch(min(per_block, stop - start) * self.n)
        with _guard(self), np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for first in range(start, stop, per_block):
                if self.stopped:
                    return
                last = min(first + per_block, stop)
                blocks = [v[first:last] for v in self.views]
                totals, block_sums = self.step(blocks, scratch)
                sums = [s.astype(np.float64) for s in block_sums]
                for collected, more in zip(self.row_sums, sums):  # (keep_statistics only)
                    collected[first:last] = more
                self.check_sums(sums)
                values = self.value(totals, sums)
                if self.normalize and self.divergence:
                    redo = np.flatnonzero(_cancelling(totals[0], sums[0], sums[-1]))
                    if len(redo):
                        values[-1, redo] = _normalized_kl(
                            blocks[0][redo], blocks[1][redo], sums[0][redo], sums[-1][redo]
                        )
                if self.normalize and self.measure.shares:
                    redo = np.flatnonzero(self.shares_cancelling(totals, sums))
                    if len(redo):
                        q = blocks[1][redo] if self.measure is _CROSS_ENTROPY else None
                        values[0, redo] = _normalized_cross_entropy(
                            blocks[0][redo], q, sums[0][redo], sums[-1][redo]
                        )
                out[:, first:last] = values

    # -- long rows -----------------------------------------------------------------------------

    def units_part(self, start: int, stop: int) -> None:
        """The units [start, stop): per unit, the measure's total and the sums of p (and q)."""
        per_block = max(1, self.block // _CHUNK)
        scratch = self.scratch(min(per_block * _CHUNK, self.n))
        unit = start
        with _guard(self), np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            while unit < stop:
                if self.stopped:
                    return
                row, chunk = divmod(unit, self.units_per_row)
                if chunk < self.full_chunks:
                    count = min(per_block, self.full_chunks - chunk, stop - unit)
                    columns = slice(chunk * _CHUNK, (chunk + count) * _CHUNK)
                    blocks = [v[row, columns].reshape(count, _CHUNK) for v in self.views]
                else:  # the row's tail, shorter than a chunk
                    count = 1
                    blocks = [v[row, self.full_chunks * _CHUNK :].reshape(1, -1) for v in self.views]
                totals, sums = self.step(blocks, scratch)
                self.totals[:, unit : unit + count] = totals
                for collected, more in zip(self.sums, sums):
                    collected[unit : unit + count] = more
                unit += count

    def combine(self) -> np.ndarray:
        """Each row's units added up (exactly rounded), checked, then the per-row values.

        KL and JS chunks are plain (their rounding left out): a row whose whole total is small
        next to its mass is computed again with accurate terms (or, normalised KL, whose
        identity cancels, by :func:`_normalized_kl`), as whole rows are where they are computed.
        """
        shape = (self.rows, self.units_per_row)
        totals = np.array([[_fsum(row) for row in t.reshape(shape)] for t in self.totals])
        sums = [np.array([_fsum(row) for row in s.reshape(shape)]) for s in self.sums]
        if self.keep_statistics:
            self.row_sums = sums
        self.check_sums(sums)
        redo: list[int] | np.ndarray = []
        if self.divergence and not self.normalize:
            margin, mass = (
                (_JS_MARGIN, sums[0] + sums[1]) if self.measure is _JS_DIVERGENCE else (_KL_MARGIN, sums[0])
            )
            with np.errstate(invalid="ignore"):
                redo = np.flatnonzero((np.abs(totals[0]) < math.inf) & ~(np.abs(totals[0]) >= margin * mass))
        if len(redo):
            self.mode = ACCURATE
            units = [(row * self.units_per_row, (row + 1) * self.units_per_row) for row in redo]
            _in_parallel(
                self.units_part,
                [part for a, b in units for part in _split_range(a, b, self.threads)],
                self.threads,
            )
            for row in redo:
                totals[:, row] = [_fsum(t.reshape(shape)[row]) for t in self.totals]
        with np.errstate(divide="ignore", invalid="ignore"):
            values = self.value(totals, sums)
            if self.normalize and self.divergence:
                for row in np.flatnonzero(_cancelling(totals[0], sums[0], sums[-1])):
                    values[-1, row] = self.normalized_kl_row(int(row), sums[0][row], sums[-1][row])
            if self.normalize and self.measure.shares:
                for row in np.flatnonzero(self.shares_cancelling(totals, sums)):
                    values[0, row] = self.normalized_cross_entropy_row(int(row), sums[0][row], sums[-1][row])
        return values

    def shares_cancelling(self, totals: np.ndarray, sums: Sequence[np.ndarray]) -> np.ndarray:
        """Rows whose normalised entropy (cross-entropy; decompose's entropy) identity cancels.

        ``(S_p log S_q - sum p log q) / S_p``: where its two parts cancel to below an eighth of
        their sizes (near-certain counts ``[1e6, 1e-3]``, or counts with a large sum), the row is
        computed by :func:`_normalized_cross_entropy`. Rows of probabilities (``S_p`` near 1)
        do not cancel and are left as computed.
        """
        q_sums = sums[-1] if self.measure is _CROSS_ENTROPY else sums[0]
        return _shares_cancelling(totals[-1], sums[0], q_sums)  # decompose: totals (kl, own)

    def normalized_cross_entropy_row(self, row: int, sp: float, sq: float) -> float:
        """:func:`_normalized_cross_entropy` of one long row, a block of chunks at a time."""
        p = self.views[0][row : row + 1]
        q = self.views[1][row : row + 1] if self.measure is _CROSS_ENTROPY else p
        q_total = np.array([[sq if self.measure is _CROSS_ENTROPY else sp]])
        step = _BLOCK * _KERNEL_BLOCKS
        rest = math.fsum(
            float(_array.dominant_rest(np, q[:, i : i + step].astype(np.float64), q_total, -1)[0, 0])
            for i in range(0, self.n, step)
        )
        rest_row = np.array([[rest]])
        sp_row, sq_row = np.array([sp]), q_total[:, 0]
        return math.fsum(
            float(
                _cross_entropy_terms(p[:, i : i + step], q[:, i : i + step], sp_row, sq_row, rest_row).sum()
            )
            for i in range(0, self.n, step)
        )  # terms >= 0: the chunks' sums do not cancel

    def normalized_kl_row(self, row: int, sp: float, sq: float) -> float:
        """:func:`_normalized_kl` of one long row, a block of chunks at a time."""
        p, q = self.views[0][row : row + 1], self.views[1][row : row + 1]
        step, sp_row, sq_row = _BLOCK * _KERNEL_BLOCKS, np.array([sp]), np.array([sq])
        return math.fsum(
            _normalized_kl(p[:, i : i + step], q[:, i : i + step], sp_row, sq_row)[0]
            for i in range(0, self.n, step)
        )


class _guard:
    """On a failed check in one thread, tell the other thread to stop too."""

    def __init__(self, job: _Job) -> None:
        self.job = job

    def __enter__(self) -> _guard:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> Literal[False]:
        if kind is not None:
            self.job.stopped = True
        return False


def _split_range(start: int, stop: int, parts: int) -> list[tuple[int, int]]:
    """``_split`` of ``range(start, stop)``: the units of one row for ``parts`` threads."""
    return [(start + a, start + b) for a, b in _split(stop - start, parts)]


def _split(count: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous, near-equal, non-empty ranges of ``range(count)``."""
    bounds = [count * i // parts for i in range(parts + 1)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _compute(measure: _Measure, inputs: Inputs, keepdims: bool) -> Array | tuple[Array, ...] | None:
    arrays = [inputs.arrays[name] for name in measure.names]
    shape = arrays[0].shape
    size, n = arrays[0].size, shape[-1]
    if size == 0:
        return None
    job = _Job(measure, [a.reshape(size // n, n) for a in arrays], inputs.normalize, inputs.validate)
    try:
        values = job.run(num_threads() if size >= _PARALLEL_MIN else 1)
    except _Fallback:
        return None
    except _Invalid:
        values = None
    if values is None:  # outside the except clause, so the user's error has no chained noise
        inputs.checked()  # raises the generic, precise message
        return None  # within rounding of the tolerance after all: the generic path decides
    results: list[Array] = []
    for value in values:
        out = value.reshape(shape[:-1] + ((1,) if keepdims else ()))
        results.append(out[()] if out.ndim == 0 else out)
    return results[0] if measure.outputs == 1 else tuple(results)


def _in_parallel(
    function: Callable[..., None], argument_lists: Sequence[tuple[Any, ...]], threads: int
) -> None:
    """``function(*args)`` for each, run by this thread and ``threads - 1`` pool threads.

    Each thread takes the next arguments when it is done, so a thread that gets more CPU
    (a shared machine) takes more of them.
    """
    if threads == 1 or len(argument_lists) == 1:  # (small inputs: no pool, no lock)
        for args in argument_lists:
            function(*args)
        return
    pending = iter(argument_lists)
    lock = threading.Lock()

    def take_turns() -> None:
        while True:
            with lock:
                args = next(pending, None)
            if args is None:
                return
            function(*args)

    workers = min(threads, len(argument_lists)) - 1
    futures = [_pool(workers).submit(take_turns) for _ in range(workers)] if workers > 0 else []
    try:
        take_turns()
    finally:
        # Wait for the workers even when this thread failed: they write into our arrays.
        errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error


def _fsum(values: np.ndarray) -> float:
    """``math.fsum``, which raises on ``inf + -inf``; such a row is NaN (unvalidated input)."""
    try:
        return math.fsum(values)
    except (OverflowError, ValueError):
        return float(np.sum(values))


_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_POOL_LOCK = threading.Lock()
_ONES: dict[np.dtype, np.ndarray] = {}
_NUM_THREADS: int | None = None  # set_num_threads; None: from the environment and the CPUs


def set_num_threads(n: int | None) -> None:
    """Use up to ``n`` threads (the calling one included) in the NumPy measures; None: the default.

    The default is ``INFOLOSS_NUM_THREADS`` if set, else ``OMP_NUM_THREADS`` (the usual limit
    of a process's compute threads, also set by job schedulers), else the CPUs this process
    may run on (``os.sched_getaffinity``, or ``os.cpu_count()``). ``threadpoolctl``'s
    ``threadpool_limits(n)`` sets it too, for its block. Only large inputs (2**17 entries and
    more) are split: smaller ones stay on the calling thread.

    >>> import infoloss
    >>> infoloss.set_num_threads(1)  # e.g. when every process of a pool should use one core
    >>> infoloss.set_num_threads(None)  # back to the default
    """
    global _NUM_THREADS
    _validate.check_integer("n", n, low=1, allow_none=True)
    n = None if n is None else int(n)
    _NUM_THREADS = n


def num_threads() -> int:
    """The number of threads a large NumPy measure uses now (see :func:`set_num_threads`)."""
    if not _THREADPOOLCTL_REGISTERED and "threadpoolctl" in sys.modules:
        _register_with_threadpoolctl()
    if _NUM_THREADS is not None:
        return _NUM_THREADS
    return environment_threads()


_THREADPOOLCTL_REGISTERED = False


def _register_with_threadpoolctl() -> None:
    """Let ``threadpoolctl.threadpool_limits(n)`` limit this pool as it limits BLAS and OpenMP.

    threadpoolctl finds libraries among the loaded shared objects by file name; the compiled
    kernels (``_kernels*.so``) stand for the pool, and the controller maps its calls onto
    :func:`set_num_threads`. Registered when the fast path is imported if threadpoolctl is
    imported already, else at the first large call after it is (infoloss never imports it).
    """
    global _THREADPOOLCTL_REGISTERED
    threadpoolctl = sys.modules.get("threadpoolctl")
    if threadpoolctl is None or not hasattr(threadpoolctl, "register") or _KERNELS is None:
        return  # not now (kernels turned off, e.g. for a test, may be back on later): asked again
    _THREADPOOLCTL_REGISTERED = True

    # threadpoolctl is untyped (no stubs, ignored in the mypy configuration): its base class is Any.
    lib_controller: Any = threadpoolctl.LibController

    class _PoolController(lib_controller):  # type: ignore[misc]  # subclassing Any (untyped base)
        user_api = internal_api = "infoloss"
        filename_prefixes = ("_kernels",)

        def get_num_threads(self) -> int:
            return num_threads()

        def set_num_threads(self, num_threads: int) -> None:
            set_num_threads(max(1, int(num_threads)))

        def get_version(self) -> None:
            return None

    threadpoolctl.register(_PoolController)


def _pool(workers: int) -> ThreadPoolExecutor:
    """The worker pool, with at least ``workers`` threads (a larger setting makes a new one)."""
    global _POOL, _POOL_SIZE
    with _POOL_LOCK:
        if _POOL is None or _POOL_SIZE < workers:
            from concurrent.futures import ThreadPoolExecutor

            if _POOL is not None:
                _POOL.shutdown(wait=False)
            _POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="infoloss")
            _POOL_SIZE = workers
        return _POOL


def _forget_pool() -> None:
    """A forked child has none of the parent's threads: start a new pool when needed."""
    global _POOL, _POOL_SIZE, _POOL_LOCK
    _POOL, _POOL_SIZE, _POOL_LOCK = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
if "threadpoolctl" in sys.modules:
    _register_with_threadpoolctl()


def _ones(dtype: npt.DTypeLike) -> np.ndarray:
    """A read-only row of ones (row sums as BLAS matrix-vector products or vecdot)."""
    key = np.dtype(dtype)
    ones = _ONES.get(key)
    if ones is None or ones.size < max(_BLOCK, _CHUNK):
        ones = np.ones(max(_BLOCK, _CHUNK), key)
        ones.flags.writeable = False
        _ONES[key] = ones
    return ones
