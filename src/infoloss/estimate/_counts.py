"""Counting: samples of any hashable labels (NumPy, sequences, pandas, Dask) -> count vectors.

Every estimator in :mod:`infoloss.estimate` works from counts, so this is the only module that
looks at raw samples. The path is chosen from the data, fastest first:

* integers (and bools) whose range ``max - min + 1`` is at most ``2 n + 2**16`` (``n``
  samples; found in one pass): a dense table over that range (offset by ``min``, so negative
  and large-offset labels qualify too), counted in place: no sort, no copy of the input. The
  table is uint32 (4 bytes per entry, at most the size of an int64 input) in the compiled
  kernel ``_count_kernels.c``; without it, :func:`numpy.bincount` (up to ``n + 2**16``);
* other integers and floats: a hash table (the compiled kernel) while at most ``2**16``
  distinct labels turn up, which stays in cache; past that a sort (:func:`numpy.unique`).
  Without the kernel, pandas's hash table when a strided sample shows few distinct labels,
  else the sort;
* strings, tuples, objects: :func:`pandas.factorize` (its hash table), when pandas is
  installed, else :func:`numpy.unique`;
* Dask arrays and Dask Series: each chunk is counted on its worker and the per-chunk tables are
  merged in a tree, all in one ``dask.compute`` (the raw data never leave the workers).

Labels come in a fixed order: numbers (ints, bools, floats, complex, datetimes) ascending, rows
of a 2-D sample in lexicographic order, other labels (strings, tuples, objects) in order of
first appearance (Dask: of their first appearance in the merged per-chunk tables).

Floats are labels like any other (``0.5`` and ``0.50`` are one symbol, and so are ``0.0`` and
``-0.0``); NaN is an error, since a missing value is not a symbol. A 2-D NumPy array of
samples has one sample per row (the row is the label, as a tuple would be).

``INFOLOSS_NO_KERNELS=1`` in the environment (read at import, as for the measures' kernels)
keeps the NumPy code; the counts are the same.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

from .. import _array
from .._typing import ArrayLike
from .._validate import InputError, InputTypeError

# A dense table over the integers' range when it has at most 2 n + _DENSE_SLACK entries: its
# uint32 entries then take at most the bytes of an int64 input, and filling and scanning it
# costs less than sorting (measured: 1e7 samples over 2**24 values, dense 2x faster than
# np.unique). The slack keeps small alphabets dense however few the samples.
_DENSE_SLACK = 1 << 16
# The largest table the dense path builds (entries): 2**31 uint32 = 8 GiB, for n >= 1e9.
_DENSE_MAX = 1 << 31
# Hash counting stops past this many distinct labels (the table, at most a quarter full,
# is then 4 MiB), and past one distinct label per _HASH_SAMPLES_PER_LABEL samples: a sort
# (SIMD in NumPy >= 2) is then faster. Measured: 1e8 samples of 100 / 3000 / 30000 distinct
# wide-range int64, hashing 5.7x / 5.9x / 3.3x faster than np.unique; 1e7 samples of 6e4
# distinct, hashing 1.7x slower.
_HASH_MAX_DISTINCT = 1 << 16
_HASH_SAMPLES_PER_LABEL = 1024
# One call of the dense kernel counts at most this many samples (its uint32 entries cannot overflow).
_KERNEL_SAMPLES = (1 << 32) - 2
# Codes are remapped in blocks of this many samples (a temporary of 8 MiB, not of n).
_BLOCK = 1 << 20

_HAVE_PANDAS = importlib.util.find_spec("pandas") is not None  # its hash table, when installed


def _load_kernels() -> Any:
    """The compiled counting kernels (``_count_kernels.c``), or None.

    ``INFOLOSS_NO_KERNELS=1`` (read at import) keeps the NumPy code, as for the measures' kernels.
    """
    if os.environ.get("INFOLOSS_NO_KERNELS", "0") not in ("", "0"):
        return None
    try:
        from . import _count_kernels  # type: ignore[attr-defined]  # a C extension: no stub
    except ImportError:  # installed without a compiler
        return None
    return _count_kernels


_KERNELS = _load_kernels()


@dataclass(frozen=True)
class Counts:
    """How often each distinct label occurs: ``counts[i]`` times ``labels[i]``.

    ``labels`` is a 1-D array (object dtype for strings and tuples; for 2-D samples a 2-D
    array, one distinct row each), in the order the module docstring gives (numbers
    ascending, rows lexicographic, other labels by first appearance); ``counts`` int64 > 0;
    ``codes`` (optional) the label index of every sample, kept for pairing x with y.
    """

    labels: np.ndarray
    counts: np.ndarray
    codes: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.counts.sum())


# count_joint's result: (x_codes, y_codes, weights or None, x_labels, y_labels).
_Joint: TypeAlias = tuple[np.ndarray, np.ndarray, "np.ndarray | None", np.ndarray, np.ndarray]


def count(x: ArrayLike, name: str = "x", *, keep_codes: bool = False) -> Counts:
    """Count the samples ``x`` (1-D, or 2-D with one sample per row): ``labels`` and ``counts``.

    Numbers come out ascending, strings (and other objects) in order of first appearance, rows
    of a 2-D sample in lexicographic order.

    >>> c = count(["b", "a", "b", "c", "b"])
    >>> c.labels.tolist(), c.counts.tolist()
    (['b', 'a', 'c'], [3, 1, 1])
    >>> c = count([7, -2, 7, 10**12])
    >>> c.labels.tolist(), c.counts.tolist()
    ([-2, 7, 1000000000000], [1, 2, 1])
    """
    if _is_dask_series(x):
        return _count_dask_series(x, name)
    if _array.is_dask(x):
        if keep_codes:
            raise InputTypeError(
                "is a Dask array; pairing two Dask samples (x with y) is not supported, "
                "compute a sample that fits in memory or pass joint counts",
                argument=name,
            )
        return _count_dask_array(x, name)
    values = _as_sample_array(x, name)
    return _count_numpy(values, name, keep_codes=keep_codes)


def count_pairs(x: ArrayLike, y: ArrayLike) -> tuple[Counts, Counts]:
    """Counts (with codes) of paired samples ``x`` and ``y``, which need equal lengths."""
    cx = count(x, "x", keep_codes=True)
    cy = count(y, "y", keep_codes=True)
    assert cx.codes is not None and cy.codes is not None  # keep_codes=True
    if len(cx.codes) != len(cy.codes):
        raise InputError(
            f"has {len(cx.codes)} samples but y has {len(cy.codes)}; paired samples need the same length",
            argument="x",
            value=len(cx.codes),
        )
    return cx, cy


def count_joint(x: ArrayLike, y: ArrayLike) -> _Joint:
    """The joint table of paired samples in sparse form: ``(x_codes, y_codes, weights, x_labels, y_labels)``.

    Cell ``(x_codes[i], y_codes[i])`` holds ``weights[i]`` pairs (``weights`` None: one each,
    NumPy's case, where the codes are the samples'). Dask arrays (or two columns of one Dask
    DataFrame) are counted chunk by chunk: each worker factorises its chunks of x and y and
    counts the pairs ``x_code * K_y + y_code`` with :func:`numpy.bincount`; the per-chunk
    tables of label pairs are merged in a tree, all in one ``dask.compute``.

    >>> x_codes, y_codes, weights, x_labels, y_labels = count_joint(["a", "b", "a"], [1, 1, 2])
    >>> x_codes.tolist(), y_codes.tolist(), weights, x_labels.tolist(), y_labels.tolist()
    ([0, 1, 0], [0, 0, 1], None, ['a', 'b'], [1, 2])
    """
    if _is_lazy(x) or _is_lazy(y):
        return _count_dask_pairs(x, y)
    cx, cy = count_pairs(x, y)
    assert cx.codes is not None and cy.codes is not None  # count_pairs keeps them
    return cx.codes, cy.codes, None, cx.labels, cy.labels


def union(first: Counts, second: Counts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The two count vectors over the union of their labels: ``(counts_1, counts_2, labels)``."""
    first, second = _rows_as_tuples(first), _rows_as_tuples(second)
    labels = np.concatenate(
        [_object_if_mixed(first.labels, second.labels), _object_if_mixed(second.labels, first.labels)]
    )
    codes, uniques = _factorize(labels)
    size = len(uniques)
    split = len(first.labels)
    one = np.bincount(codes[:split], weights=first.counts, minlength=size)
    two = np.bincount(codes[split:], weights=second.counts, minlength=size)
    return one, two, uniques


def check_counts(x: ArrayLike, name: str = "x") -> np.ndarray:
    """``x`` as a float64 NumPy array of counts: finite, non-negative whole numbers.

    Counts may be floats holding whole numbers (``3.0``); ``2.5`` or ``-1`` is an error naming
    the position.
    """
    if _array.is_dask(x):
        import dask

        x = dask.compute(x)[0]
    array = np.asarray(_array.to_numpy(x) if hasattr(x, "__array_namespace__") else x)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise InputTypeError(
            f"holds {array.dtype} values; counts must be numbers (counts=True)",
            argument=name,
            value=str(array.dtype),
        )
    if array.ndim == 0:
        raise InputError(
            "is a scalar; counts=True needs a vector of counts (one per symbol)",
            argument=name,
            value=array.item(),
        )
    if array.size == 0:
        raise InputError(
            f"is empty (shape {array.shape}); an estimate needs at least one count", argument=name
        )
    values = array.astype(np.float64, copy=False)
    bad = ~(np.isfinite(values) & (values >= 0) & (values == np.floor(values)))
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        value = float(values[index])
        what = (
            "is NaN"
            if np.isnan(value)
            else (
                "is negative"
                if value < 0
                else ("is infinite" if np.isinf(value) else "is not a whole number")
            )
        )
        raise InputError(
            f"= {value!r} {what}; counts must be finite whole numbers >= 0",
            argument=name,
            index=index if array.ndim > 1 else index[0],
            value=value,
            hint="pass the samples themselves with counts=False",
        )
    return values


# --------------------------------------------------------------------------------------------
# NumPy
# --------------------------------------------------------------------------------------------


def _as_sample_array(x: ArrayLike, name: str) -> np.ndarray:
    """Samples as a NumPy array: 1-D (object dtype for tuples), or 2-D with one sample per row."""
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):  # pandas Series / Index / Categorical
        values = x.to_numpy()
    elif isinstance(x, np.ndarray):
        values = x
    elif hasattr(x, "__array_namespace__") or hasattr(x, "__dlpack__"):
        values = _array.to_numpy(x)
    else:
        items = list(x) if not isinstance(x, (str, bytes)) else None
        if items is None:
            raise InputTypeError(
                f"is a single {type(x).__name__}; pass a sequence of samples (labels)", argument=name, value=x
            )
        if items and isinstance(items[0], (tuple, list)):
            # Tuples are labels: keep them whole (np.asarray would make a 2-D array of their parts).
            values = np.empty(len(items), dtype=object)
            for i, item in enumerate(items):
                values[i] = tuple(item) if isinstance(item, list) else item
        else:
            values = np.asarray(items)
            if values.ndim != 1:
                values = np.empty(len(items), dtype=object)
                values[:] = items
    if values.ndim == 0:
        raise InputError(
            "is a scalar; pass a 1-D sequence of samples (labels)",
            argument=name,
            value=values.item() if values.dtype != object else None,
        )
    if values.ndim > 2:
        raise InputError(
            f"has {values.ndim} dimensions, shape {values.shape}; samples are 1-D "
            "(one label each) or 2-D (one sample per row)",
            argument=name,
        )
    if len(values) == 0:
        raise InputError("is empty; an estimate needs at least one sample", argument=name)
    _check_no_missing(values, name)
    return values


def _check_no_missing(values: np.ndarray, name: str) -> None:
    """NaN or None anywhere is an error. 1-D object arrays are checked by the hash table's own
    missing-value sentinel as they are counted (one pass fewer; see :func:`_factorize`)."""
    if values.dtype.kind in "fc":
        missing = np.isnan(values)
    elif values.dtype == object and (values.ndim > 1 or not _HAVE_PANDAS):
        missing = _object_missing(values)
    else:
        return
    if missing.any():
        _raise_missing(name, tuple(int(i) for i in np.argwhere(missing)[0]))


def _raise_missing(name: str, index: tuple) -> None:
    raise InputError(
        "is missing (NaN or None); a missing value is not a symbol",
        argument=name,
        index=index if len(index) > 1 else index[0],
        value=None,
        hint="drop the missing samples first, or give them a label of their own",
    )


def _object_missing(values: np.ndarray) -> np.ndarray:
    """None or NaN entries of an object array."""
    if _HAVE_PANDAS:
        import pandas as pd

        return pd.isna(values)
    flat = (v is None or (isinstance(v, float) and v != v) for v in values.ravel())  # pragma: no cover
    return np.fromiter(flat, dtype=bool, count=values.size).reshape(values.shape)


def _count_numpy(values: np.ndarray, name: str, *, keep_codes: bool) -> Counts:
    """Count a 1-D NumPy sample (or a 2-D one, a row per sample) by the path its data call for."""
    if values.ndim == 2:
        # One label per row; the distinct rows are the labels (lexicographic order).
        labels, codes, counts = np.unique(values, axis=0, return_inverse=True, return_counts=True)
        return Counts(labels, counts.astype(np.int64, copy=False), codes.reshape(-1) if keep_codes else None)
    kind = values.dtype.kind
    if kind in "iub":
        low, high = _int_range(values)
        size = high - low + 1
        # NumPy's table is int64 and its scan (flatnonzero) slower: dense only up to R = n there
        # (measured, 1e7 samples over 2**24 values: 0.76x np.unique's speed without the kernel).
        per_sample = 2 if _KERNELS is not None else 1
        if size <= min(per_sample * len(values) + _DENSE_SLACK, _DENSE_MAX):
            return _count_in_range(values, low, size, keep_codes)
    if kind in "iuf":
        hashed = (
            _count_by_hashing(values, keep_codes)
            if _KERNELS is not None
            else _count_by_pandas(values, keep_codes)
        )
        if hashed is not None:
            return hashed
    if kind in "iufcmMb":
        return _count_by_sorting(values, keep_codes)
    codes, labels = _factorize(values)
    if values.dtype == object and len(codes) and codes.min() < 0:  # pandas's sentinel for None/NaN
        _raise_missing(name, (int(np.argmax(codes < 0)),))
    counts = np.bincount(codes, minlength=len(labels)).astype(np.int64)
    return Counts(labels, counts, codes if keep_codes else None)


def _kernel_input(values: np.ndarray) -> np.ndarray | None:
    """``values`` as the kernels read them (C-contiguous, native byte order: a copy only if it is
    not), or None without the kernels or for a type they do not take (float16)."""
    if _KERNELS is None or values.dtype.kind not in "iubf" or values.dtype == np.float16:
        return None
    if values.flags.c_contiguous and values.dtype.isnative:
        return values
    return np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("="))


def _int_range(values: np.ndarray) -> tuple[int, int]:
    """``(min, max)`` of integers as Python ints: one pass in the kernel, two in NumPy."""
    ready = _kernel_input(values)
    if ready is not None:
        return _KERNELS.int_range(ready)
    return int(values.min()), int(values.max())


def _count_in_range(values: np.ndarray, low: int, size: int, keep_codes: bool) -> Counts:
    """Counts of integers in ``[low, low + size)`` from a dense table over that range."""
    ready = _kernel_input(values)
    codes = None
    if ready is not None and len(ready) <= _KERNEL_SAMPLES:
        table = np.zeros(size, dtype=np.uint32)
        _KERNELS.count_dense(ready, low, table)
        distinct = np.count_nonzero(table)
        offsets = np.empty(distinct, dtype=np.int64)
        counts = np.empty(distinct, dtype=np.int64)
        _KERNELS.dense_nonzero(table, offsets, counts)
        if keep_codes:
            codes = np.empty(len(ready), dtype=np.int64)
            _KERNELS.dense_codes(ready, low, table, codes)  # the table becomes the ranks
    else:
        table = _dense_table(values, low, size) if ready is None else _dense_table_in_parts(ready, low, size)
        offsets = np.flatnonzero(table)
        counts = table[offsets].astype(np.int64, copy=False)
        if keep_codes:
            rank = np.zeros(size, dtype=np.int64)
            rank[offsets] = np.arange(len(offsets))
            codes = np.empty(len(values), dtype=np.int64)
            for start in range(0, len(values), _BLOCK):
                codes[start : start + _BLOCK] = rank[_offsets(values[start : start + _BLOCK], low)]
    return Counts(_labels_at(offsets, low, values.dtype), counts, codes)


def _dense_table(values: np.ndarray, low: int, size: int) -> np.ndarray:
    """NumPy's table (int64) of integers in ``[low, low + size)``: :func:`numpy.bincount` in place
    where it can read them (non-negative, ``low`` at most ``size``), else block by block."""
    if 0 <= low <= size and np.can_cast(values.dtype, np.intp):
        return np.bincount(values, minlength=low + size)[low:]
    table = np.zeros(size, dtype=np.int64)
    # Blocks of at least the table's length, so that the bincounts' tables cost at most as much as the samples.
    block = max(_BLOCK, size)
    for start in range(0, len(values), block):
        table += np.bincount(_offsets(values[start : start + block], low), minlength=size)
    return table


def _dense_table_in_parts(values: np.ndarray, low: int, size: int) -> np.ndarray:
    """The kernel's table for more samples than one uint32 table holds: int64, part by part."""
    table = np.zeros(size, dtype=np.int64)
    part = np.zeros(size, dtype=np.uint32)
    for start in range(0, len(values), _KERNEL_SAMPLES):
        part[:] = 0
        _KERNELS.count_dense(values[start : start + _KERNEL_SAMPLES], low, part)
        table += part
    return table


def _offsets(values: np.ndarray, low: int) -> np.ndarray:
    """``values - low`` as intp, without overflow in the values' own type."""
    if values.dtype == np.uint64:
        return (values - np.uint64(low)).astype(np.intp)
    return values.astype(np.intp) - low


def _labels_at(offsets: np.ndarray, low: int, dtype: np.dtype) -> np.ndarray:
    """The labels ``low + offsets`` in the samples' dtype (int64: in place, no second array)."""
    if dtype == np.uint64:
        return offsets.astype(np.uint64) + np.uint64(low)
    if dtype == offsets.dtype:
        return np.add(offsets, low, out=offsets)
    return (offsets + low).astype(dtype)


def _count_by_hashing(values: np.ndarray, keep_codes: bool) -> Counts | None:
    """Counts from the kernel's hash table (labels then sorted), or None: no kernel, or more
    distinct labels than the table is worth (see ``_HASH_MAX_DISTINCT``; a sort is faster then)."""
    ready = _kernel_input(values)
    if ready is None:
        return None
    room = min(_HASH_MAX_DISTINCT, max(len(ready) // _HASH_SAMPLES_PER_LABEL, 1024))
    keys = np.empty(room, dtype=np.uint64)
    counts = np.empty(room, dtype=np.int64)
    codes = np.empty(len(ready), dtype=np.int64) if keep_codes else None
    distinct = _KERNELS.hash_count(ready, room, keys, counts, codes)
    if distinct < 0:
        return None
    keys = keys[:distinct]
    order = np.argsort(keys)  # the kernel's keys sort like the labels
    if codes is not None:
        rank = np.empty(distinct, dtype=np.int64)
        rank[order] = np.arange(distinct)
        for start in range(0, len(codes), _BLOCK):
            codes[start : start + _BLOCK] = rank[codes[start : start + _BLOCK]]
    return Counts(
        _labels_of_keys(keys[order], ready.dtype).astype(values.dtype, copy=False),
        counts[:distinct][order],
        codes,
    )


def _count_by_pandas(values: np.ndarray, keep_codes: bool) -> Counts | None:
    """Without the kernels: pandas's hash table (labels then sorted) when a strided sample of the
    data shows few distinct labels, where it beats a sort (measured: 1e8 wide int64 of 1000
    distinct, 2.2x faster than np.unique); None (sort) otherwise or without pandas."""
    if not _HAVE_PANDAS:
        return None
    sample = values[:: max(1, len(values) // _PANDAS_SAMPLE)]  # strided: sorted data cannot fool it
    if len(np.unique(sample)) * _PANDAS_SAMPLES_PER_LABEL > len(sample):
        return None
    codes, labels = _factorize(values)
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(codes, minlength=len(labels)).astype(np.int64, copy=False)[order]
    if keep_codes:
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        for start in range(0, len(codes), _BLOCK):
            codes[start : start + _BLOCK] = rank[codes[start : start + _BLOCK]]
    return Counts(labels[order].astype(values.dtype, copy=False), counts, codes if keep_codes else None)


# The NumPy path's test for "few distinct labels": at most one per 16 samples in a strided
# sample of about 2**14.
_PANDAS_SAMPLE = 1 << 14
_PANDAS_SAMPLES_PER_LABEL = 16

_SIGN_BIT = np.uint64(1 << 63)


def _labels_of_keys(keys: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Undo the kernel's order-preserving uint64 keys: signed ints have their sign bit flipped,
    floats (as float64) are negated bit patterns when negative and have the sign bit set when not."""
    if dtype.kind == "u" or dtype == np.bool_:
        return keys.astype(dtype)
    if dtype.kind == "i":
        return (keys ^ _SIGN_BIT).view(np.int64).astype(dtype)
    bits = np.where(keys & _SIGN_BIT, keys ^ _SIGN_BIT, ~keys)
    return bits.view(np.float64).astype(dtype)


def _count_by_sorting(values: np.ndarray, keep_codes: bool) -> Counts:
    """Counts by :func:`numpy.unique` (a sort; labels ascending)."""
    if keep_codes:
        labels, codes, counts = np.unique(values, return_inverse=True, return_counts=True)
        codes = codes.reshape(-1).astype(np.int64, copy=False)
    else:
        (labels, counts), codes = np.unique(values, return_counts=True), None
    return Counts(labels, counts.astype(np.int64, copy=False), codes)


def _rows_as_tuples(counts: Counts) -> Counts:
    """2-D labels (distinct rows) as a 1-D object array of tuples, so rows match by content."""
    if counts.labels.ndim != 2:
        return counts
    rows = np.empty(len(counts.labels), dtype=object)
    rows[:] = [tuple(row) for row in counts.labels.tolist()]
    return Counts(rows, counts.counts, counts.codes)


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, uniques)`` with ``uniques[codes] == values``: pandas's hash table if present."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is in the test environment
        # A sort, then the labels in order of first appearance (as pandas gives them).
        uniques, first, codes = np.unique(values, return_index=True, return_inverse=True)
        order = np.argsort(first)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return rank[codes.reshape(-1)], uniques[order]
    if not values.dtype.isnative:  # pandas's hash tables read native byte order only
        values = values.astype(values.dtype.newbyteorder("="))
    codes, uniques = pd.factorize(values)  # None and NaN get code -1 (callers check)
    return codes.astype(np.int64, copy=False), np.asarray(uniques)


def _object_if_mixed(labels: np.ndarray, other: np.ndarray) -> np.ndarray:
    # 1 and "1" are different labels: never let NumPy coerce one kind to the other.
    return labels.astype(object) if labels.dtype != other.dtype else labels


# --------------------------------------------------------------------------------------------
# Dask: one pass, counted where the chunks live
# --------------------------------------------------------------------------------------------


def _is_dask_series(x: ArrayLike) -> bool:
    module = type(x).__module__ or ""
    return module.startswith("dask") and hasattr(x, "value_counts") and hasattr(x, "npartitions")


def _count_dask_array(x: ArrayLike, name: str) -> Counts:
    import dask

    if x.ndim != 1:
        raise InputError(
            f"is a {x.ndim}-D Dask array, shape {x.shape}; Dask samples must be 1-D", argument=name
        )
    if x.shape[0] == 0:
        raise InputError("is empty; an estimate needs at least one sample", argument=name)
    blocks = [dask.delayed(_block_table)(block, name) for block in x.to_delayed().ravel()]
    while len(blocks) > 1:  # tree reduction, 8 tables at a time
        blocks = [dask.delayed(_merge_tables)(*blocks[i : i + 8]) for i in range(0, len(blocks), 8)]
    labels, counts = dask.compute(blocks[0])[0]
    return Counts(*_in_label_order(labels, counts))


def _block_table(block: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    block = np.asarray(block)
    if block.size == 0:
        return block[:0], np.zeros(0, dtype=np.int64)
    _check_no_missing(block, name)
    table = _count_numpy(block, name, keep_codes=False)
    return table.labels, table.counts


def _merge_tables(*tables: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    labels = np.concatenate([t[0] for t in tables])
    counts = np.concatenate([t[1] for t in tables])
    if labels.size == 0:
        return labels, counts
    codes, uniques = _factorize(labels)
    return uniques, np.bincount(codes, weights=counts, minlength=len(uniques)).astype(np.int64)


def _count_dask_series(x: ArrayLike, name: str) -> Counts:
    import dask

    table, missing, total = dask.compute(x.value_counts(dropna=True), x.isna().sum(), x.size)
    if int(total) == 0:
        raise InputError("is empty; an estimate needs at least one sample", argument=name)
    if int(missing):
        raise InputError(
            f"has {int(missing)} missing values (NaN or None); a missing value is not a symbol",
            argument=name,
            hint="drop the missing samples first, or give them a label of their own",
        )
    return Counts(*_in_label_order(np.asarray(table.index), table.to_numpy().astype(np.int64)))


def _in_label_order(labels: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numbers ascending, as the NumPy paths give them (other labels keep the order they have)."""
    if labels.dtype.kind not in "iufcmMb":
        return labels, counts
    order = np.argsort(labels, kind="stable")
    return labels[order], counts[order]


def _is_lazy(x: ArrayLike) -> bool:
    return _is_dask_series(x) or _array.is_dask(x)


def _count_dask_pairs(x: ArrayLike, y: ArrayLike) -> _Joint:
    """:func:`count_joint` of two Dask arrays (chunked alike, or rechunked so) or two Dask Series."""
    import dask

    if _is_dask_series(x) and _is_dask_series(y):
        if x.npartitions != y.npartitions:
            raise InputError(
                f"has {x.npartitions} partitions but y has {y.npartitions}; paired Dask "
                "samples must be partitioned alike",
                argument="x",
                value=x.npartitions,
                hint="pass two columns of one Dask DataFrame",
            )
        x_blocks, y_blocks = x.to_delayed(), y.to_delayed()
    elif _array.is_dask(x) and _array.is_dask(y):
        for name, array in (("x", x), ("y", y)):
            if array.ndim != 1:
                raise InputError(
                    f"is a {array.ndim}-D Dask array, shape {array.shape}; Dask samples must be 1-D",
                    argument=name,
                )
        if not (np.isnan(x.shape[0]) or np.isnan(y.shape[0])) and x.shape[0] != y.shape[0]:
            raise InputError(
                f"has {x.shape[0]} samples but y has {y.shape[0]}; paired samples need the same length",
                argument="x",
                value=x.shape[0],
            )
        if x.chunks != y.chunks:
            y = y.rechunk(x.chunks)  # same length: lazily aligned, nothing computed
        x_blocks, y_blocks = x.to_delayed().ravel(), y.to_delayed().ravel()
    else:
        raise InputTypeError(
            "and y must both be Dask arrays or both columns of Dask DataFrames to be paired "
            f"lazily, got {type(x).__name__} and {type(y).__name__}",
            argument="x",
            hint="wrap the other one with dask.array.from_array, or compute both",
        )
    blocks = [dask.delayed(_block_pair_table)(a, b, i) for i, (a, b) in enumerate(zip(x_blocks, y_blocks))]
    while len(blocks) > 1:  # tree reduction, 8 tables at a time
        blocks = [dask.delayed(_merge_pair_tables)(*blocks[i : i + 8]) for i in range(0, len(blocks), 8)]
    x_labels, y_labels, counts = dask.compute(blocks[0])[0]
    if counts.sum() == 0:
        raise InputError("is empty; an estimate needs at least one sample", argument="x")
    x_codes, x_uniques = _factorize(x_labels)
    y_codes, y_uniques = _factorize(y_labels)
    return x_codes, y_codes, counts, x_uniques, y_uniques


def _block_pair_table(
    x_block: np.ndarray, y_block: np.ndarray, index: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The label pairs of one chunk and how often each occurs: ``(x_labels, y_labels, counts)``."""
    x_block = x_block.to_numpy() if hasattr(x_block, "to_numpy") else np.asarray(x_block)
    y_block = y_block.to_numpy() if hasattr(y_block, "to_numpy") else np.asarray(y_block)
    if len(x_block) != len(y_block):
        raise InputError(
            f"has {len(x_block)} samples in chunk {index} but y has {len(y_block)}; paired "
            "samples need the same length, chunked alike",
            argument="x",
            index=index,
            value=len(x_block),
        )
    if len(x_block) == 0:
        return x_block[:0], y_block[:0], np.zeros(0, dtype=np.int64)
    for name, block in (("x", x_block), ("y", y_block)):
        _check_no_missing(block, name)
    cx = _count_numpy(x_block, "x", keep_codes=True)
    cy = _count_numpy(y_block, "y", keep_codes=True)
    assert cx.codes is not None and cy.codes is not None  # keep_codes=True
    size_y = len(cy.labels)
    table = np.bincount(cx.codes * size_y + cy.codes, minlength=len(cx.labels) * size_y)
    cells = np.flatnonzero(table)
    return cx.labels[cells // size_y], cy.labels[cells % size_y], table[cells]


def _merge_pair_tables(
    *tables: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x_labels = np.concatenate([t[0] for t in tables])
    y_labels = np.concatenate([t[1] for t in tables])
    counts = np.concatenate([t[2] for t in tables])
    if counts.size == 0:
        return x_labels, y_labels, counts
    x_codes, x_uniques = _factorize(x_labels)
    y_codes, y_uniques = _factorize(y_labels)
    cells, inverse = np.unique(x_codes * len(y_uniques) + y_codes, return_inverse=True)
    merged = np.bincount(inverse.reshape(-1), weights=counts, minlength=len(cells)).astype(np.int64)
    return x_uniques[cells // len(y_uniques)], y_uniques[cells % len(y_uniques)], merged
