"""Every counting path (dense table, hash table, sort; compiled kernel and NumPy) against np.unique.

The path is chosen from the data (range and size), so each case below also checks that it took
the path it was written for; the reference is :func:`numpy.unique`, whose labels are ascending,
which is the order ``count`` promises for numbers.
"""

import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from infoloss import estimate
from infoloss.estimate import _counts

KERNELS = _counts._KERNELS

rng = np.random.default_rng(12)
WIDE_POOL = rng.integers(-(1 << 63), (1 << 63) - 1, 50, dtype=np.int64)

# name -> (sample, the path count must take)
CASES = {
    "small non-negative ints": (rng.integers(0, 300, 5000), "dense"),
    "table past 1 MiB (prefetched)": (rng.integers(-(1 << 18), 1 << 18, 500_000), "dense"),
    "negative offset": (rng.integers(-(1 << 40), -(1 << 40) + 4000, 3000), "dense"),
    "large offset, int32": (rng.integers(2**31 - 5000, 2**31 - 1, 3000).astype(np.int32), "dense"),
    "int8, full range": (rng.integers(-128, 128, 2000).astype(np.int8), "dense"),
    "uint16": (rng.integers(0, 1 << 16, 100).astype(np.uint16), "dense"),
    "uint64 near 2**64": (np.uint64(2**64 - 1) - rng.integers(0, 50, 999).astype(np.uint64), "dense"),
    "one value (interleaved table)": (np.full(4097, 7, dtype=np.int64), "dense"),
    "bool": (rng.random(301) < 0.3, "dense"),
    "wide int64, 50 distinct": (WIDE_POOL[rng.integers(0, 50, 4000)], "hash"),
    "wide uint64, 40 distinct": (
        rng.integers(0, 1 << 63, 40, dtype=np.uint64)[rng.integers(0, 40, 2000)] * np.uint64(2),
        "hash",
    ),
    "wide int32": (rng.integers(-(2**31), 2**31 - 1, 30).astype(np.int32)[rng.integers(0, 30, 700)], "hash"),
    "floats with -0.0": (np.array([0.5, -0.0, 0.0, -2.5, 1e300, -1e-300, 0.5, -np.inf, np.inf] * 20), "hash"),
    "wide int64, differing in high bits": ((np.arange(-20, 20) << 48)[rng.integers(0, 40, 3000)], "hash"),
    "float32": (rng.normal(size=20).astype(np.float32)[rng.integers(0, 20, 500)], "hash"),
    "wide int64, mostly distinct": (rng.integers(-(1 << 62), 1 << 62, 5000), "sort"),
    "floats, mostly distinct": (rng.normal(size=5000), "sort"),
    "float16": (rng.normal(size=200).astype(np.float16), "sort"),
    "complex": (np.array([1 + 2j, 3j, 1 + 2j, -1]), "sort"),
}
# Without the kernels, pandas's hash table takes the hash table's cases (few distinct labels).
NUMPY_PATH = {"dense": "dense", "hash": "pandas", "sort": "sort"}


def _reference(x):
    labels, counts = np.unique(x, return_counts=True)
    return labels, counts


def _spy(monkeypatch):
    """Record which of the three counting functions produced the result."""
    taken = []
    for path, function in (
        ("dense", "_count_in_range"),
        ("hash", "_count_by_hashing"),
        ("pandas", "_count_by_pandas"),
        ("sort", "_count_by_sorting"),
    ):
        original = getattr(_counts, function)

        def spy(*args, _original=original, _path=path, **kwargs):
            result = _original(*args, **kwargs)
            if result is not None:
                taken.append(_path)
            return result

        monkeypatch.setattr(_counts, function, spy)
    return taken


@pytest.mark.parametrize("kernels", ["kernel", "numpy"])
@pytest.mark.parametrize("case", list(CASES))
def test_every_path_equals_unique_in_order_with_codes(monkeypatch, case, kernels):
    if kernels == "kernel" and KERNELS is None:
        pytest.skip("the counting kernels are not built here (or INFOLOSS_NO_KERNELS=1)")
    if kernels == "numpy":
        monkeypatch.setattr(_counts, "_KERNELS", None)
    x, path = CASES[case]
    taken = _spy(monkeypatch)
    labels, counts = _reference(x)
    for keep_codes in (False, True):
        result = _counts.count(x, keep_codes=keep_codes)
        assert result.labels.dtype == x.dtype
        np.testing.assert_array_equal(result.labels, labels)
        np.testing.assert_array_equal(result.counts, counts)
        assert result.counts.dtype == np.int64
        if keep_codes:
            np.testing.assert_array_equal(result.labels[result.codes], np.where(x == 0, 0, x))  # -0.0 is 0.0
    assert taken == [path if kernels == "kernel" else NUMPY_PATH[path]] * 2


@pytest.mark.parametrize("kernels", ["kernel", "numpy"])
def test_non_contiguous_and_byte_swapped_inputs(monkeypatch, kernels):
    if kernels == "kernel" and KERNELS is None:
        pytest.skip("the counting kernels are not built here (or INFOLOSS_NO_KERNELS=1)")
    if kernels == "numpy":
        monkeypatch.setattr(_counts, "_KERNELS", None)
    base = rng.integers(-50, 50, 3001)
    few_wide = WIDE_POOL[rng.integers(0, 50, 3000)]
    for x in (
        base[::3],
        base.astype(">i8"),
        WIDE_POOL[rng.integers(0, 50, 999)].astype(">i8")[::2],
        few_wide.astype(">i8"),
        few_wide.astype(">i8")[::2],
        (few_wide / 7).astype(">f8"),
    ):
        labels, counts = _reference(x)
        result = _counts.count(x, keep_codes=True)
        np.testing.assert_array_equal(result.labels, labels)
        np.testing.assert_array_equal(result.counts, counts)
        np.testing.assert_array_equal(result.labels[result.codes], x)


def test_byte_swapped_samples_in_divergences():
    x, y = np.array([1, 2, 2, 3], dtype=">i8"), np.array([2, 3, 3, 4], dtype=">i8")
    native = (x.astype("<i8"), y.astype("<i8"))
    for function in (estimate.kl_divergence, estimate.js_divergence, estimate.mutual_information):
        assert float(function(x, y, "laplace")) == float(function(*native, "laplace"))


def test_hash_table_gives_way_to_a_sort_past_its_limit(monkeypatch):
    if KERNELS is None:
        pytest.skip("the counting kernels are not built here (or INFOLOSS_NO_KERNELS=1)")
    # 1100 distinct wide labels in 4400 samples: more than the 1024 the table takes at this size.
    x = rng.integers(-(1 << 62), 1 << 62, 1100)[rng.integers(0, 1100, 4400)]
    assert _counts._count_by_hashing(x, False) is None
    taken = _spy(monkeypatch)
    result = _counts.count(x)
    assert taken == ["sort"]
    np.testing.assert_array_equal(result.counts, _reference(x)[1])


def test_kernel_in_parts_and_numpy_in_blocks(monkeypatch):
    """More samples than one uint32 table may count (here made small), and blockwise NumPy code."""
    x = np.concatenate([rng.integers(-40, 40, 2500), np.full(1000, 3)])
    counts = _reference(x)[1]
    monkeypatch.setattr(_counts, "_KERNEL_SAMPLES", 700)
    monkeypatch.setattr(_counts, "_BLOCK", 256)
    for kernels in ([KERNELS] if KERNELS is not None else []) + [None]:
        monkeypatch.setattr(_counts, "_KERNELS", kernels)
        for sample in (x, x.astype(np.uint64) + np.uint64(2**63)):
            result = _counts.count(sample, keep_codes=True)
            np.testing.assert_array_equal(result.labels, np.unique(sample))
            np.testing.assert_array_equal(result.counts, counts)
            np.testing.assert_array_equal(result.labels[result.codes], sample)


def test_kernels_reject_bad_arguments():
    if KERNELS is None:
        pytest.skip("the counting kernels are not built here (or INFOLOSS_NO_KERNELS=1)")
    x = np.array([5, 9, 7], dtype=np.int64)
    assert KERNELS.int_range(x) == (5, 9)
    with pytest.raises(ValueError, match="empty"):
        KERNELS.int_range(x[:0])
    with pytest.raises(ValueError, match=r"x\[1\] lies outside"):
        KERNELS.count_dense(x, 5, np.zeros(3, dtype=np.uint32))  # 9 is not in [5, 8)
    with pytest.raises(TypeError, match="integers"):
        KERNELS.count_dense(x.astype(np.float64), 5, np.zeros(5, dtype=np.uint32))
    with pytest.raises(ValueError, match="nonzero entries"):
        KERNELS.dense_nonzero(
            np.array([1, 0, 2], dtype=np.uint32), np.empty(1, np.int64), np.empty(1, np.int64)
        )
    with pytest.raises(ValueError, match="codes"):
        KERNELS.hash_count(x, 4, np.empty(4, np.uint64), np.empty(4, np.int64), np.empty(2, np.int64))
    assert KERNELS.hash_count(x, 2, np.empty(2, np.uint64), np.empty(2, np.int64), None) == -1


def test_dense_path_makes_no_copy_of_the_input():
    """Peak memory of counting 1e6 int64 labels (8 MB) below 2**16: the table and the output only."""
    x = rng.integers(0, 1 << 16, 1_000_000)
    for kernels in ([KERNELS] if KERNELS is not None else []) + [None]:
        _counts._KERNELS, saved = kernels, _counts._KERNELS
        try:
            tracemalloc.start()
            estimate.count(x)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            _counts._KERNELS = saved
        assert peak < x.nbytes / 2, (kernels, peak)  # a copy of the input alone would be x.nbytes


def test_environment_variable_turns_the_counting_kernels_off():
    code = (
        "from infoloss.estimate import _counts, count; import numpy as np; "
        "c = count(np.array([2**40, -1, 2**40])); "
        "print(_counts._KERNELS is None, c.labels.tolist(), c.counts.tolist())"
    )
    env = dict(os.environ, INFOLOSS_NO_KERNELS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "[-1,", "1099511627776]", "[1,", "2]"]


def test_two_dimensional_samples_match_rows_by_content():
    """Rows are labels: two 2-D samples are compared row by row content, as tuples would be."""
    x = np.array([[0, 0], [1, 1], [1, 1]])
    y = np.array([[1, 1], [2, 2], [2, 2]])
    as_tuples = ([tuple(r) for r in x.tolist()], [tuple(r) for r in y.tolist()])
    counted = estimate.count(x)
    assert counted.labels.tolist() == [[0, 0], [1, 1]] and counted.counts.tolist() == [1, 2]
    for method in ("plugin", "laplace"):
        assert float(estimate.kl_divergence(x, y, method)) == float(
            estimate.kl_divergence(*as_tuples, method)
        )
        assert float(estimate.js_divergence(x, y, method)) == float(
            estimate.js_divergence(*as_tuples, method)
        )
    assert float(estimate.kl_divergence(x, y)) == np.inf  # [0, 0] never occurs in y
    # By hand: p = (1/3, 2/3, 0), q = (0, 1/3, 2/3) over [0,0], [1,1], [2,2]; JS in nats.
    p, q = np.array([1 / 3, 2 / 3, 0]), np.array([0, 1 / 3, 2 / 3])
    from scipy.spatial.distance import jensenshannon

    assert float(estimate.js_divergence(x, y)) == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-12)


def test_dask_numbers_come_out_ascending():
    da = pytest.importorskip("dask.array")
    x = rng.integers(-(1 << 62), 1 << 62, 20)[rng.integers(0, 20, 1000)]
    result = estimate.count(da.from_array(x, chunks=101))
    labels, counts = _reference(x)
    np.testing.assert_array_equal(result.labels, labels)
    np.testing.assert_array_equal(result.counts, counts)
