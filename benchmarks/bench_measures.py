"""Speed and extra memory of infoloss's NumPy measures against SciPy and the np.dot floor.

Issue 2's targets, on 5e7 float64 entries (p and q normalised, with zeros):

* ``kl_divergence`` at least 8x faster than ``scipy.stats.entropy(p, q)``;
* ``kl_divergence`` within 6x of ``np.dot(p, q)`` (reading both arrays once: the floor);
* ``entropy`` at least 3x faster than ``scipy.stats.entropy(p)``;
* extra peak memory of each infoloss call at most 1% of its inputs' size;
* ``decompose`` at most the time of the three separate calls it replaces (it reads the data
  once, for entropy and KL together).

Every ratio compares timings taken in the same run (best of ``--repeat``), so a busy machine
slows both sides. Peak memory is measured with ``tracemalloc``, which sees NumPy's array
allocations. The rows marked ``[NumPy ufuncs]`` run the fast path with its compiled kernels
(``_kernels.c``) turned off, to show what they add; the first line says which kernel build ran.
Run: ``python benchmarks/bench_measures.py [--size 5e7] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import gc
import math
import time
import tracemalloc

import numpy as np
import scipy.stats

import infoloss
from infoloss import _convert as _inputs
from infoloss.measures import _fast as _numpy_fast


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=float, default=5e7, help="entries per array (default 5e7)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per call; the best counts")
    parser.add_argument("--columns", type=int, default=1000, help="row length of the 2-D case")
    parser.add_argument("--generic", action="store_true", help="also time the generic (array-API) path")
    args = parser.parse_args()
    size = int(args.size)

    p, q = _distributions(size, np.random.default_rng(0))
    input_bytes = p.nbytes + q.nbytes
    print(
        f"compiled kernels: {_numpy_fast.KERNEL} (avx2, baseline, or none: NumPy ufuncs only); "
        f"threads: {_numpy_fast.num_threads()} (infoloss.set_num_threads, INFOLOSS_NUM_THREADS)"
    )
    print(
        f"1-D: p, q float64 of {size:,} entries ({input_bytes / 2**20:,.0f} MiB together), "
        f"best of {args.repeat}"
    )
    cases = {
        "np.dot(p, q)  [floor]": (lambda: np.dot(p, q), p.nbytes + q.nbytes),
        "scipy.stats.entropy(p, q)": (lambda: scipy.stats.entropy(p, q), 2 * p.nbytes),
        "scipy.stats.entropy(p)": (lambda: scipy.stats.entropy(p), p.nbytes),
        "infoloss.kl_divergence": (lambda: infoloss.kl_divergence(p, q), 2 * p.nbytes),
        "infoloss.entropy": (lambda: infoloss.entropy(p), p.nbytes),
        "infoloss.cross_entropy": (lambda: infoloss.cross_entropy(p, q), 2 * p.nbytes),
        "infoloss.js_divergence": (lambda: infoloss.js_divergence(p, q), 2 * p.nbytes),
        "infoloss.decompose": (lambda: infoloss.decompose(p, q), 2 * p.nbytes),
        "infoloss.kl_divergence(normalize=True)": (
            lambda: infoloss.kl_divergence(p, q, normalize=True),
            2 * p.nbytes,
        ),
        "infoloss.kl_divergence [one thread]": (
            lambda: _one_thread(infoloss.kl_divergence, p, q),
            2 * p.nbytes,
        ),
        "infoloss.kl_divergence [NumPy ufuncs]": (
            lambda: _numpy_ufuncs(infoloss.kl_divergence, p, q),
            2 * p.nbytes,
        ),
        "infoloss.entropy [NumPy ufuncs]": (lambda: _numpy_ufuncs(infoloss.entropy, p), p.nbytes),
    }
    if args.generic:
        cases["generic path: kl_divergence"] = (lambda: _generic(infoloss.kl_divergence, p, q), 2 * p.nbytes)
        cases["generic path: entropy"] = (lambda: _generic(infoloss.entropy, p), p.nbytes)
    results = _measure(cases, args.repeat)
    floor = results["np.dot(p, q)  [floor]"][0]
    _table(
        results,
        floor,
        {
            "infoloss.kl_divergence": "scipy.stats.entropy(p, q)",
            "infoloss.kl_divergence(normalize=True)": "scipy.stats.entropy(p, q)",
            "infoloss.kl_divergence [one thread]": "scipy.stats.entropy(p, q)",
            "infoloss.kl_divergence [NumPy ufuncs]": "scipy.stats.entropy(p, q)",
            "infoloss.entropy [NumPy ufuncs]": "scipy.stats.entropy(p)",
            "infoloss.cross_entropy": "scipy.stats.entropy(p, q)",
            "infoloss.js_divergence": "scipy.stats.entropy(p, q)",
            "infoloss.decompose": "scipy.stats.entropy(p, q)",
            "infoloss.entropy": "scipy.stats.entropy(p)",
            "generic path: kl_divergence": "scipy.stats.entropy(p, q)",
            "generic path: entropy": "scipy.stats.entropy(p)",
        },
    )
    kl = results["infoloss.kl_divergence"][0]
    h = results["infoloss.entropy"][0]
    worst_memory = max(r[1] for name, r in results.items() if name.startswith("infoloss"))
    print("\ntargets (issue 2)")
    _target(
        "kl_divergence >= 8x faster than scipy.stats.entropy(p, q)",
        results["scipy.stats.entropy(p, q)"][0] / kl,
        ">=",
        8,
    )
    _target("kl_divergence within 6x of the np.dot(p, q) floor", kl / floor, "<=", 6)
    _target(
        "entropy >= 3x faster than scipy.stats.entropy(p)", results["scipy.stats.entropy(p)"][0] / h, ">=", 3
    )
    _target("extra memory of every infoloss call <= 1% of its inputs", 100 * worst_memory, "<=", 1, "%")
    _target(
        "decompose at most the three separate calls (entropy, cross_entropy, kl_divergence)",
        results["infoloss.decompose"][0] / _three_calls(results),
        "<=",
        1,
    )

    rows = max(1, size // args.columns)
    p2, q2 = (
        p[: rows * args.columns].reshape(rows, args.columns),
        q[: rows * args.columns].reshape(rows, args.columns),
    )
    p2, q2 = p2 / p2.sum(axis=1, keepdims=True), q2 / q2.sum(axis=1, keepdims=True)
    # Frees the 1-D arrays, which the lambdas above hold (`del` would leave their names undefined).
    p = q = None
    gc.collect()
    print(
        f"\n2-D: {rows:,} rows x {args.columns:,} (distributions along the last axis), best of {args.repeat}"
    )
    cases = {
        "np.einsum('ij,ij->i', p, q)  [floor]": (lambda: np.einsum("ij,ij->i", p2, q2), 2 * p2.nbytes),
        "scipy.stats.entropy(p, q, axis=1)": (lambda: scipy.stats.entropy(p2, q2, axis=1), 2 * p2.nbytes),
        "scipy.stats.entropy(p, axis=1)": (lambda: scipy.stats.entropy(p2, axis=1), p2.nbytes),
        "infoloss.kl_divergence": (lambda: infoloss.kl_divergence(p2, q2), 2 * p2.nbytes),
        "infoloss.entropy": (lambda: infoloss.entropy(p2), p2.nbytes),
        "infoloss.cross_entropy": (lambda: infoloss.cross_entropy(p2, q2), 2 * p2.nbytes),
        "infoloss.js_divergence": (lambda: infoloss.js_divergence(p2, q2), 2 * p2.nbytes),
        "infoloss.decompose": (lambda: infoloss.decompose(p2, q2), 2 * p2.nbytes),
        "infoloss.kl_divergence [NumPy ufuncs]": (
            lambda: _numpy_ufuncs(infoloss.kl_divergence, p2, q2),
            2 * p2.nbytes,
        ),
        "infoloss.decompose [NumPy ufuncs]": (
            lambda: _numpy_ufuncs(infoloss.decompose, p2, q2),
            2 * p2.nbytes,
        ),
    }
    results = _measure(cases, args.repeat)
    _table(
        results,
        results["np.einsum('ij,ij->i', p, q)  [floor]"][0],
        {
            "infoloss.kl_divergence": "scipy.stats.entropy(p, q, axis=1)",
            "infoloss.cross_entropy": "scipy.stats.entropy(p, q, axis=1)",
            "infoloss.js_divergence": "scipy.stats.entropy(p, q, axis=1)",
            "infoloss.decompose": "scipy.stats.entropy(p, q, axis=1)",
            "infoloss.entropy": "scipy.stats.entropy(p, axis=1)",
            "infoloss.kl_divergence [NumPy ufuncs]": "scipy.stats.entropy(p, q, axis=1)",
            "infoloss.decompose [NumPy ufuncs]": "scipy.stats.entropy(p, q, axis=1)",
        },
    )
    _target(
        "decompose at most the three separate calls",
        results["infoloss.decompose"][0] / _three_calls(results),
        "<=",
        1,
    )


def _three_calls(results: dict) -> float:
    """What decompose would cost as entropy + cross_entropy + kl_divergence, timed in this run."""
    return sum(results[f"infoloss.{name}"][0] for name in ("entropy", "cross_entropy", "kl_divergence"))


def _distributions(size: int, rng):
    """p with 5% zeros; q with zeros on half of those (so KL stays finite); both sum to 1."""
    p = rng.random(size)
    zeros = rng.random(size) < 0.05
    p[zeros] = 0
    q = rng.random(size)
    q[zeros & (rng.random(size) < 0.5)] = 0
    del zeros
    p /= p.sum()
    q /= q.sum()
    return p, q


def _generic(function, *arrays):
    """The array-API path: what the measures do without the NumPy fast path."""
    fast = _inputs.Inputs.numpy_fast_path
    _inputs.Inputs.numpy_fast_path = property(lambda self: False)
    try:
        return function(*arrays)
    finally:
        _inputs.Inputs.numpy_fast_path = fast


def _one_thread(function, *arrays):
    """The fast path kept on the calling thread: shows what the second thread adds."""
    threshold = _numpy_fast._PARALLEL_MIN
    _numpy_fast._PARALLEL_MIN = math.inf
    try:
        return function(*arrays)
    finally:
        _numpy_fast._PARALLEL_MIN = threshold


def _numpy_ufuncs(function, *arrays):
    """The fast path without its compiled kernels: the NumPy ufunc code of ``_numpy_fast``."""
    kernels = _numpy_fast._KERNELS
    _numpy_fast._KERNELS = None
    try:
        return function(*arrays)
    finally:
        _numpy_fast._KERNELS = kernels


def _measure(cases: dict, repeat: int) -> dict:
    """name -> (best seconds, extra peak memory as a fraction of the inputs, CPU / wall time)."""
    results = {}
    for name, (call, input_bytes) in cases.items():
        call()  # warm up: thread pool, scratch caches, page faults
        best, cores = min(_seconds(call) for _ in range(repeat))
        gc.collect()
        tracemalloc.start()
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        call()
        peak = tracemalloc.get_traced_memory()[1] - baseline
        tracemalloc.stop()
        results[name] = (best, peak / input_bytes, cores)
    return results


def _seconds(call) -> tuple[float, float]:
    """Wall seconds, and the process's CPU seconds per wall second (cores kept busy)."""
    start, cpu = time.perf_counter(), time.process_time()
    call()
    wall = time.perf_counter() - start
    return wall, (time.process_time() - cpu) / wall


def _table(results: dict, floor: float, references: dict) -> None:
    width = max(len(name) for name in results)
    print(
        f"{'call':<{width}}  {'ms':>8}  {'vs reference':>12}  {'x floor':>8}  {'extra memory':>12}  {'cores':>5}"
    )
    for name, (seconds, memory, cores) in results.items():
        reference = references.get(name)
        speedup = f"{results[reference][0] / seconds:.1f}x faster" if reference else ""
        print(
            f"{name:<{width}}  {seconds * 1e3:8.1f}  {speedup:>12}  {seconds / floor:8.1f}  "
            f"{100 * memory:11.3f}%  {cores:5.2f}"
        )
    print(
        "(vs reference: SciPy's call on the same arrays; x floor: multiple of the first row;\n"
        " cores: CPU time / wall time of the best run, below 1 when the machine is shared)"
    )


def _target(text: str, value: float, sense: str, goal: float, unit: str = "x") -> None:
    met = value >= goal if sense == ">=" else value <= goal
    print(f"  {'PASS' if met else 'MISS'}  {text}: {value:.3g}{unit} (target {sense} {goal}{unit})")


if __name__ == "__main__":
    main()
