"""Benchmark: infoloss on PyTorch (CPU, and CUDA where present), JAX and Dask against the best
hand-written code on the same backend, measured in one run.

Parts (``--part``, default all):
  measures   each measure against the fastest hand composition on torch (forward and
             forward + backward, peak memory), JAX (eager vs the user's own ``jax.jit``) and
             Dask (local scheduler and a 2-worker ``dask.distributed.LocalCluster``)
  losses     each loss at 64x10, 1024x1000 and 8192x32000 against ``torch.nn.functional`` and
             optax (time, peak memory), validation on and off

Time: the two implementations run alternately after a warm-up; the table gives the median of
the repeats and the ratio of medians (ours / reference), which PASS/MISS judges against the
target printed beside it.

Run: python benchmarks/bench_backends.py [--part measures,losses] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import time


def median_seconds(function, *, repeat, warmup=1):
    """The median wall time of ``repeat`` calls of ``function()``, after ``warmup`` calls."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compare(label, ours, reference, *, repeat, target, warmup=1):
    """Time ``ours`` and ``reference`` alternately; print one row with the ratio and PASS/MISS."""
    ours_times, reference_times = [], []
    for _ in range(warmup):
        ours(), reference()
    for _ in range(repeat):
        for function, times in ((ours, ours_times), (reference, reference_times)):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
    ours_median, reference_median = statistics.median(ours_times), statistics.median(reference_times)
    ratio = ours_median / reference_median
    verdict = "PASS" if ratio <= target else "MISS"
    print(f"{label:<58} {_format_seconds(ours_median):>10} {_format_seconds(reference_median):>10} "
          f"{ratio:6.2f}x  (target {target:.2f}x) {verdict}")
    return ratio


def _format_seconds(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def header(title):
    print(f"\n## {title}\n{'case':<58} {'infoloss':>10} {'reference':>10}  ratio")


# Each part is a function taking the parsed arguments; it prints its own table.
PARTS: dict = {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default=None, help="comma-separated parts (default: all)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    names = args.part.split(",") if args.part else list(PARTS)
    for name in names:
        if name not in PARTS:
            parser.error(f"--part: unknown part {name!r}; choose from {', '.join(PARTS)}")
        PARTS[name](args)


if __name__ == "__main__":
    main()
