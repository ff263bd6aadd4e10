"""Counting samples: NumPy paths, pandas, and Dask in one pass (checked against NumPy)."""

import numpy as np
import pytest

from infoloss import InputError, estimate


def _as_dict(counts):
    return dict(zip(counts.labels.tolist(), counts.counts.tolist()))


def _numpy_reference(x):
    labels, counts = np.unique(np.asarray(x), return_counts=True)
    return dict(zip(labels.tolist(), counts.tolist()))


@pytest.mark.parametrize(
    "x",
    [
        np.array([3, 1, 3, 0, 3, 1]),  # small non-negative ints: bincount
        np.array([-5, 2**40, -5, 7]),  # wide-range ints: hashing
        np.array([0.5, 0.25, 0.5, 1e300]),  # floats are labels
        np.array(["x", "yy", "x", ""]),  # strings
        np.array([True, False, True]),
    ],
)
def test_numpy_paths_agree_with_unique(x):
    assert _as_dict(estimate.count(x)) == _numpy_reference(x)


def test_bincount_path_reads_the_input_in_place():
    # The fast path must not make a sorted copy: the input stays untouched and ordered.
    x = np.array([5, 1, 5, 2], dtype=np.int64)
    before = x.copy()
    estimate.count(x)
    np.testing.assert_array_equal(x, before)


def test_dask_array_counts_in_one_pass_like_numpy():
    da = pytest.importorskip("dask.array")
    import dask

    rng = np.random.default_rng(0)
    for values in (
        rng.integers(0, 50, 1003),
        rng.integers(-(10**12), 10**12, 997) // 10**11,
        rng.choice(np.array(["a", "b", "c", "dd"]), 1000),
    ):
        lazy = da.from_array(values, chunks=97)  # 11 chunks
        computed = []

        def count_computes(*args, computed=computed, **kwargs):
            computed.append(1)

        with dask.config.set(scheduler="threads"), dask.callbacks.Callback(start=count_computes):
            result = estimate.count(lazy)
        assert len(computed) == 1  # one compute for the whole table
        assert _as_dict(result) == _numpy_reference(values)
        assert estimate.entropy(lazy, "miller-madow").value == pytest.approx(
            estimate.entropy(values, "miller-madow").value, rel=1e-13
        )


def test_dask_array_with_nan_is_an_error():
    da = pytest.importorskip("dask.array")
    lazy = da.from_array(np.array([1.0, 2.0, np.nan, 1.0]), chunks=2)
    with pytest.raises(InputError, match="missing"):
        estimate.entropy(lazy)


def test_dask_dataframe_column_like_numpy():
    pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    import dask.dataframe as dd

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"colour": rng.choice(np.array(["red", "green", "blue"]), 600), "n": rng.integers(0, 9, 600)}
    )
    lazy = dd.from_pandas(frame, npartitions=5)
    for column in ("colour", "n"):
        assert _as_dict(estimate.count(lazy[column])) == _numpy_reference(frame[column].to_numpy())
        assert estimate.entropy(lazy[column], "shrink").value == pytest.approx(
            estimate.entropy(frame[column], "shrink").value, rel=1e-13
        )
    with pytest.raises(InputError, match="missing"):
        estimate.entropy(dd.from_pandas(pd.Series([1.0, None, 2.0]), npartitions=2))


def test_pandas_series_with_missing_values():
    pd = pytest.importorskip("pandas")
    with pytest.raises(InputError, match=r"x\[1\] is missing"):
        estimate.entropy(pd.Series(["a", None, "b"]))
