"""Speed of ``infoloss.estimate`` against NumPy, pandas, SciPy and scikit-learn, and its bias tables.

Issue targets (ratios measured in the same run, best of ``--repeat``; a busy machine slows both,
so each counting row also gives the ratio of CPU times, which other processes disturb less):

* counting 1e8 non-negative ints below 2**24: at least 3x faster than ``np.unique(x, return_counts=True)``;
* wide-range int64 and strings: no slower than ``pandas.Series.value_counts``;
* (also shown: 1e7 ints below 2**24, where the table is larger than the sample; ints in a range
  that does not start at 0; wide int64 with few and with mostly distinct labels; peak memory
  beside np.unique's);
* NSB on K = 1e5 symbols with N = 1e6 samples: under 1 s;
* KSG MI on n = 1e5, d = 2 (x and y 1-D): no slower than ``sklearn.feature_selection.mutual_info_regression``;
* Kozachenko-Leonenko entropy up to n = 1e6 at d <= 3, and d = 20 at n = 1e5 (times; SciPy's
  ``differential_entropy`` for the 1-D case).

``--bias`` prints the Monte-Carlo bias and RMSE table (uniform and Zipf, K in {10, 100, 1000},
N in {K/5, K, 10K}) that is checked in as ``benchmarks/bench_estimate_bias.txt``.

Run: ``python benchmarks/bench_estimate.py [--size 1e8] [--repeat 3] [--bias] [--reps 50] [--part counting]``
(``INFOLOSS_NO_KERNELS=1`` in front: the NumPy-only counting paths).
"""

from __future__ import annotations

import argparse
import math
import time
import tracemalloc

import numpy as np

from infoloss import estimate


def best(function, repeat):
    """(best wall time, result); the best CPU time of the same runs is kept in ``best.cpu``."""
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = function()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    best.cpu = min(cpu)
    return min(times), result


def peak_memory(function) -> int:
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def row(name, ours, theirs=None, reference="", cpu=None):
    ratio = f"{theirs / ours:6.2f}x vs {reference}" if theirs is not None else ""
    if cpu is not None:
        ratio += f" (cpu {cpu[1] / cpu[0]:.2f}x)"
    print(
        f"  {name:<46} {ours * 1e3:10.1f} ms  {'' if theirs is None else f'{theirs * 1e3:10.1f} ms':>13}  {ratio}"
    )


def compare(name, sample, references, repeat, memory=False):
    """Count ``sample`` with infoloss and with each reference (name -> function); check the counts."""
    # Interleaved (ours, each reference, ours, ...) so that a change in the machine's load
    # falls on both sides of each ratio.
    wall, cpu = {}, {}
    for _ in range(repeat):
        for who, function in {"ours": estimate.count, **references}.items():
            elapsed, result = best(lambda function=function: function(sample), 1)
            wall[who], cpu[who] = min(wall.get(who, elapsed), elapsed), min(cpu.get(who, best.cpu), best.cpu)
            if who == "ours":
                table = result
            else:
                labels, counts = result
                order = np.argsort(labels)  # value_counts sorts by count; count() gives numbers ascending
                assert np.array_equal(table.labels, labels[order]) and np.array_equal(
                    table.counts, counts[order]
                )
    for reference in references:
        row(name, wall["ours"], wall[reference], reference, (cpu["ours"], cpu[reference]))
        name = ""
    if memory:
        extra = peak_memory(lambda: estimate.count(sample))
        unique = peak_memory(lambda: np.unique(sample, return_counts=True))
        print(
            f"  {'':<46} extra peak memory {extra / 2**20:.0f} MiB (np.unique {unique / 2**20:.0f} MiB) "
            f"for {sample.nbytes / 2**20:.0f} MiB of input"
        )


def counting(size, repeat):
    import pandas as pd

    def unique(x):
        return np.unique(x, return_counts=True)

    def value_counts(x):
        table = pd.Series(x).value_counts()
        return table.index.to_numpy(), table.to_numpy()

    from infoloss.estimate import _counts

    rng = np.random.default_rng(0)
    print(
        f"counting {size:.0e} labels (infoloss.estimate.count; reference time; speed-up; kernels "
        f"{'on' if _counts._KERNELS is not None else 'off'})"
    )
    small = rng.integers(0, 1 << 24, size, dtype=np.int64)
    compare(f"ints in [0, 2^24) ({size:.0e})", small, {"np.unique": unique}, repeat, memory=True)
    del small
    tenth = size // 10
    sparse = rng.integers(0, 1 << 24, tenth, dtype=np.int64)
    compare(f"ints in [0, 2^24) ({tenth:.0e}: table > n)", sparse, {"np.unique": unique}, repeat, memory=True)
    del sparse
    shifted = rng.integers(-(1 << 62), 1 << 62, tenth, dtype=np.int64) // (1 << 40)
    compare(
        f"ints in [-2^22, 2^22) ({tenth:.0e})",
        shifted,
        {"pandas value_counts": value_counts, "np.unique": unique},
        repeat,
    )
    del shifted
    pool = rng.integers(-(1 << 63), (1 << 63) - 1, 1000, dtype=np.int64)
    few = pool[rng.integers(0, 1000, size)]
    compare(
        f"wide int64, 1e3 distinct ({size:.0e})",
        few,
        {"pandas value_counts": value_counts, "np.unique": unique},
        repeat,
    )
    del few
    wide = rng.integers(-(1 << 63), (1 << 63) - 1, tenth, dtype=np.int64)
    compare(
        f"wide int64, mostly distinct ({tenth:.0e})",
        wide,
        {"pandas value_counts": value_counts, "np.unique": unique},
        repeat,
    )
    del wide
    words = np.array([f"w{i}" for i in range(50_000)], dtype=object)[rng.integers(0, 50_000, size // 20)]
    ours, table = best(lambda: estimate.count(words), repeat)
    ours_cpu = best.cpu
    theirs, reference = best(lambda: pd.Series(words).value_counts(), repeat)
    assert dict(zip(table.labels, table.counts)) == reference.to_dict()
    row(
        f"strings, 5e4 distinct ({size // 20:.0e})", ours, theirs, "pandas value_counts", (ours_cpu, best.cpu)
    )


def nsb(repeat):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 100_000, 1_000_000)
    table = np.bincount(x, minlength=100_000)
    print("NSB")
    ours, result = best(lambda: estimate.entropy(table, "nsb", counts=True), repeat)
    row(f"K=1e5, N=1e6 (H={result.value:.6f} +- {result.std:.2g})", ours)
    skewed = rng.zipf(1.3, 1_000_000) % 100_000
    ours, result = best(lambda: estimate.entropy(skewed, "nsb", alphabet_size=100_000), repeat)
    row("Zipf(1.3) on K=1e5, N=1e6 incl. counting", ours)


def knn(repeat):
    from scipy import stats
    from sklearn.feature_selection import mutual_info_regression

    rng = np.random.default_rng(2)
    print("k-NN (cKDTree, workers=-1)")
    n = 100_000
    x = rng.normal(size=n)
    y = 0.6 * x + 0.8 * rng.normal(size=n)
    ours, mi = best(lambda: estimate.mutual_information(x, y, k=3), repeat)
    theirs, reference = best(
        lambda: mutual_info_regression(x[:, None], y, n_neighbors=3, random_state=0), repeat
    )
    row(
        f"KSG MI n=1e5 d=2 ({mi.value:.4f} vs sklearn {reference[0]:.4f}, truth {-0.5 * math.log(0.64):.4f})",
        ours,
        theirs,
        "sklearn",
    )
    for n, d in [(10**6, 1), (10**6, 2), (10**6, 3)]:
        points = rng.normal(size=(n, d))
        ours, h = best(lambda points=points: estimate.differential_entropy(points, k=3), 1)
        truth = 0.5 * d * math.log(2 * math.pi * math.e)
        if d == 1:
            theirs, _ = best(lambda points=points: stats.differential_entropy(points[:, 0]), 1)
            row(f"KL entropy n={n:.0e} d={d} (err {h.value - truth:+.4f})", ours, theirs, "scipy vasicek")
        else:
            row(f"KL entropy n={n:.0e} d={d} (err {h.value - truth:+.4f})", ours)
    knn_high(rng)
    n = 10**6
    a, b = rng.normal(size=(n, 3)), rng.normal(loc=1.0, size=(n, 3))
    ours, kl = best(lambda: estimate.kl_divergence(a, b, k=3), 1)
    row(f"WKV KL n=m=1e6 d=3 (err {kl.value - 1.5:+.4f})", ours)


def knn_high(rng=None):
    """High dimension: exact blocked brute force against the KD-tree ("auto" switches at d = 16)."""
    from infoloss.estimate.knn import BRUTE_FROM_DIMENSION

    rng = np.random.default_rng(3) if rng is None else rng
    print(f"k-NN at high dimension (auto = brute force from d >= {BRUTE_FROM_DIMENSION})")
    for d in (8, 12, 16, 20):
        points = rng.normal(size=(20_000, d))
        ours, _ = best(lambda points=points: estimate.differential_entropy(points, k=3, algorithm="brute"), 1)
        theirs, _ = best(
            lambda points=points: estimate.differential_entropy(points, k=3, algorithm="tree"), 1
        )
        row(f"KL entropy n=2e4 d={d}: brute vs tree", ours, theirs, "tree")
    points = rng.normal(size=(10**5, 20))
    ours, h = best(lambda: estimate.differential_entropy(points, k=3), 1)
    row(f"KL entropy n=1e5 d=20 (err {h.value - 10 * math.log(2 * math.pi * math.e):+.4f})", ours)


def bias_table(reps):
    """Bias and RMSE (nats) over ``reps`` draws, for each distribution, K and N."""
    methods = ("plugin", "miller-madow", "jeffreys", "shrink", "chao-shen", "grassberger", "zhang", "nsb")
    print(
        f"Monte-Carlo bias / RMSE in nats over {reps} draws "
        "(NSB given K; the others K only where their formula uses it)"
    )
    print(f"{'distribution':<12} {'K':>5} {'N':>6} {'H':>7}  " + "  ".join(f"{m:>15}" for m in methods))
    for name in ("uniform", "zipf"):
        for size in (10, 100, 1000):
            weights = np.ones(size) if name == "uniform" else 1 / np.arange(1, size + 1)
            p = weights / weights.sum()
            truth = -np.sum(p * np.log(p))
            for draws in (size // 5, size, 10 * size):
                errors = {m: [] for m in methods}
                for seed in range(reps):
                    table = np.random.default_rng(seed).multinomial(draws, p)
                    for m in methods:
                        errors[m].append(estimate.entropy(table, m, counts=True).value - truth)
                cells = [
                    f"{np.mean(e):+7.3f}/{math.sqrt(np.mean(np.square(e))):6.3f}" for e in errors.values()
                ]
                print(
                    f"{name:<12} {size:>5} {draws:>6} {truth:7.3f}  " + "  ".join(f"{c:>15}" for c in cells)
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=float, default=1e8, help="labels to count (default 1e8)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per call; the best counts")
    parser.add_argument("--bias", action="store_true", help="print only the bias/RMSE table")
    parser.add_argument("--reps", type=int, default=50, help="Monte-Carlo draws per cell of the bias table")
    parser.add_argument(
        "--part",
        choices=("all", "counting", "nsb", "knn", "knn-high"),
        default="all",
        help="run one part only",
    )
    args = parser.parse_args()
    if args.bias:
        bias_table(args.reps)
        return
    if args.part in ("all", "counting"):
        counting(int(args.size), args.repeat)
    if args.part in ("all", "nsb"):
        nsb(args.repeat)
    if args.part == "knn-high":
        knn_high()
    if args.part in ("all", "knn"):
        knn(args.repeat)


if __name__ == "__main__":
    main()
