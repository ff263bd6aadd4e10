"""Counting: samples of any hashable labels (NumPy, sequences, pandas, Dask) -> count vectors.

Every estimator in :mod:`infoloss.estimate` works from counts, so this is the only module that
looks at raw samples. Three paths, fastest first:

* non-negative integers below ``2**24``: :func:`numpy.bincount` straight on the input (no sort,
  no copy of the input);
* other NumPy numbers, strings, objects: :func:`pandas.factorize` (a hash table), when pandas is
  installed, else :func:`numpy.unique`;
* Dask arrays and Dask Series: each chunk is counted on its worker and the per-chunk tables are
  merged in a tree, all in one ``dask.compute`` (the raw data never leave the workers).

Floats are labels like any other (``0.5`` and ``0.50`` are one symbol); NaN is an error, since a
missing value is not a symbol. A 2-D NumPy array of samples has one sample per row (the row is
the label, as a tuple would be).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np

from .. import _array
from .._validate import InputError, InputTypeError

# Labels below this use bincount: a table of 2**24 int64 is 128 MiB at most, and in practice
# it is the largest label seen plus one.
_BINCOUNT_LIMIT = 1 << 24

_HAVE_PANDAS = importlib.util.find_spec("pandas") is not None  # its hash table, when installed


@dataclass(frozen=True)
class Counts:
    """How often each distinct label occurs: ``counts[i]`` times ``labels[i]``.

    ``labels`` is a 1-D array (object dtype for strings and tuples), ``counts`` int64 > 0,
    ``codes`` (optional) the label index of every sample, kept for pairing x with y.
    """

    labels: np.ndarray
    counts: np.ndarray
    codes: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.counts.sum())


def count(x, name: str = "x", *, keep_codes: bool = False) -> Counts:
    """Count the samples ``x`` (1-D, or 2-D with one sample per row).

    >>> c = count(["a", "b", "a", "c", "a"])
    >>> c.labels.tolist(), c.counts.tolist()
    (['a', 'b', 'c'], [3, 1, 1])
    """
    if _is_dask_series(x):
        return _count_dask_series(x, name)
    if _array.is_dask(x):
        if keep_codes:
            raise InputTypeError("is a Dask array; pairing two Dask samples (x with y) is not supported, "
                                 "compute a sample that fits in memory or pass joint counts",
                                 argument=name)
        return _count_dask_array(x, name)
    values = _as_sample_array(x, name)
    return _count_numpy(values, name, keep_codes=keep_codes)


def count_pairs(x, y) -> tuple[Counts, Counts]:
    """Counts (with codes) of paired samples ``x`` and ``y``, which need equal lengths."""
    cx = count(x, "x", keep_codes=True)
    cy = count(y, "y", keep_codes=True)
    if len(cx.codes) != len(cy.codes):
        raise InputError(f"has {len(cx.codes)} samples but y has {len(cy.codes)}; paired samples "
                         "need the same length", argument="x", value=len(cx.codes))
    return cx, cy


def count_joint(x, y):
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
    return cx.codes, cy.codes, None, cx.labels, cy.labels


def union(first: Counts, second: Counts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The two count vectors over the union of their labels: ``(counts_1, counts_2, labels)``."""
    labels = np.concatenate([_object_if_mixed(first.labels, second.labels),
                             _object_if_mixed(second.labels, first.labels)])
    codes, uniques = _factorize(labels)
    size = len(uniques)
    split = len(first.labels)
    one = np.bincount(codes[:split], weights=first.counts, minlength=size)
    two = np.bincount(codes[split:], weights=second.counts, minlength=size)
    return one, two, uniques


def check_counts(x, name: str = "x") -> np.ndarray:
    """``x`` as a float64 NumPy array of counts: finite, non-negative whole numbers.

    Counts may be floats holding whole numbers (``3.0``); ``2.5`` or ``-1`` is an error naming
    the position.
    """
    if _array.is_dask(x):
        import dask

        x = dask.compute(x)[0]
    array = np.asarray(_array.to_numpy(x) if hasattr(x, "__array_namespace__") else x)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise InputTypeError(f"holds {array.dtype} values; counts must be numbers (counts=True)",
                             argument=name, value=str(array.dtype))
    if array.ndim == 0:
        raise InputError("is a scalar; counts=True needs a vector of counts (one per symbol)",
                         argument=name, value=array.item())
    if array.size == 0:
        raise InputError(f"is empty (shape {array.shape}); an estimate needs at least one count",
                         argument=name)
    values = array.astype(np.float64, copy=False)
    bad = ~(np.isfinite(values) & (values >= 0) & (values == np.floor(values)))
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        value = float(values[index])
        what = "is NaN" if np.isnan(value) else (
            "is negative" if value < 0 else ("is infinite" if np.isinf(value) else "is not a whole number"))
        raise InputError(f"= {value!r} {what}; counts must be finite whole numbers >= 0",
                         argument=name, index=index if array.ndim > 1 else index[0], value=value,
                         hint="pass the samples themselves with counts=False")
    return values


# --------------------------------------------------------------------------------------------
# NumPy
# --------------------------------------------------------------------------------------------


def _as_sample_array(x, name: str) -> np.ndarray:
    """Samples as a 1-D NumPy array (object dtype for tuples), or 2-D rows -> one code per row."""
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):  # pandas Series / Index / Categorical
        values = x.to_numpy()
    elif isinstance(x, np.ndarray):
        values = x
    elif hasattr(x, "__array_namespace__") or hasattr(x, "__dlpack__"):
        values = _array.to_numpy(x)
    else:
        items = list(x) if not isinstance(x, (str, bytes)) else None
        if items is None:
            raise InputTypeError(f"is a single {type(x).__name__}; pass a sequence of samples (labels)",
                                 argument=name, value=x)
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
        raise InputError("is a scalar; pass a 1-D sequence of samples (labels)", argument=name,
                         value=values.item() if values.dtype != object else None)
    if values.ndim > 2:
        raise InputError(f"has {values.ndim} dimensions, shape {values.shape}; samples are 1-D "
                         "(one label each) or 2-D (one sample per row)", argument=name)
    if len(values) == 0:
        raise InputError("is empty; an estimate needs at least one sample", argument=name)
    _check_no_missing(values, name)
    if values.ndim == 2:
        # One label per row: the row's position among the distinct rows.
        _, inverse = np.unique(values, axis=0, return_inverse=True)
        return inverse.reshape(-1)
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


def _raise_missing(name: str, index: tuple):
    raise InputError("is missing (NaN or None); a missing value is not a symbol",
                     argument=name, index=index if len(index) > 1 else index[0], value=None,
                     hint="drop the missing samples first, or give them a label of their own")


def _object_missing(values: np.ndarray) -> np.ndarray:
    """None or NaN entries of an object array."""
    if _HAVE_PANDAS:
        import pandas as pd

        return pd.isna(values)
    flat = (v is None or (isinstance(v, float) and v != v) for v in values.ravel())  # pragma: no cover
    return np.fromiter(flat, dtype=bool, count=values.size).reshape(values.shape)


def _count_numpy(values: np.ndarray, name: str, *, keep_codes: bool) -> Counts:
    if values.dtype.kind in "iub" and values.size:
        low, high = int(values.min()), int(values.max())
        if low >= 0 and high < _BINCOUNT_LIMIT:
            # bincount reads int64 in place; other integer types are cast (a copy) only if needed
            table = np.bincount(values if np.can_cast(values.dtype, np.intp) else values.astype(np.intp))
            labels = np.flatnonzero(table)
            codes = None
            if keep_codes:
                lookup = np.zeros(len(table), dtype=np.int64)
                lookup[labels] = np.arange(len(labels))
                codes = lookup[values]
            # flatnonzero and the table are int64 already: no further copies.
            return Counts(labels.astype(values.dtype, copy=False), table[labels], codes)
    codes, labels = _factorize(values)
    if values.dtype == object and len(codes) and codes.min() < 0:  # pandas's sentinel for None/NaN
        _raise_missing(name, (int(np.argmax(codes < 0)),))
    counts = np.bincount(codes, minlength=len(labels)).astype(np.int64)
    return Counts(labels, counts, codes if keep_codes else None)


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, uniques)`` with ``uniques[codes] == values``: pandas's hash table if present."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is in the test environment
        uniques, codes = np.unique(values, return_inverse=True)
        return codes.reshape(-1), uniques
    codes, uniques = pd.factorize(values)  # None and NaN get code -1 (callers check)
    return codes.astype(np.int64, copy=False), np.asarray(uniques)


def _object_if_mixed(labels: np.ndarray, other: np.ndarray) -> np.ndarray:
    # 1 and "1" are different labels: never let NumPy coerce one kind to the other.
    return labels.astype(object) if labels.dtype != other.dtype else labels


# --------------------------------------------------------------------------------------------
# Dask: one pass, counted where the chunks live
# --------------------------------------------------------------------------------------------


def _is_dask_series(x) -> bool:
    module = type(x).__module__ or ""
    return module.startswith("dask") and hasattr(x, "value_counts") and hasattr(x, "npartitions")


def _count_dask_array(x, name: str) -> Counts:
    import dask

    if x.ndim != 1:
        raise InputError(f"is a {x.ndim}-D Dask array, shape {x.shape}; Dask samples must be 1-D",
                         argument=name)
    if x.shape[0] == 0:
        raise InputError("is empty; an estimate needs at least one sample", argument=name)
    blocks = [dask.delayed(_block_table)(block, name) for block in x.to_delayed().ravel()]
    while len(blocks) > 1:  # tree reduction, 8 tables at a time
        blocks = [dask.delayed(_merge_tables)(*blocks[i:i + 8]) for i in range(0, len(blocks), 8)]
    labels, counts = dask.compute(blocks[0])[0]
    return Counts(labels, counts)


def _block_table(block: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    block = np.asarray(block)
    if block.size == 0:
        return block[:0], np.zeros(0, dtype=np.int64)
    _check_no_missing(block, name)
    table = _count_numpy(block, name, keep_codes=False)
    return table.labels, table.counts


def _merge_tables(*tables) -> tuple[np.ndarray, np.ndarray]:
    labels = np.concatenate([t[0] for t in tables])
    counts = np.concatenate([t[1] for t in tables])
    if labels.size == 0:
        return labels, counts
    codes, uniques = _factorize(labels)
    return uniques, np.bincount(codes, weights=counts, minlength=len(uniques)).astype(np.int64)


def _count_dask_series(x, name: str) -> Counts:
    import dask

    table, missing, total = dask.compute(x.value_counts(dropna=True), x.isna().sum(), x.size)
    if int(total) == 0:
        raise InputError("is empty; an estimate needs at least one sample", argument=name)
    if int(missing):
        raise InputError(f"has {int(missing)} missing values (NaN or None); a missing value is not a symbol",
                         argument=name, hint="drop the missing samples first, or give them a label of their own")
    return Counts(np.asarray(table.index), table.to_numpy().astype(np.int64))


def _is_lazy(x) -> bool:
    return _is_dask_series(x) or _array.is_dask(x)


def _count_dask_pairs(x, y):
    """:func:`count_joint` of two Dask arrays (chunked alike, or rechunked so) or two Dask Series."""
    import dask

    if _is_dask_series(x) and _is_dask_series(y):
        if x.npartitions != y.npartitions:
            raise InputError(f"has {x.npartitions} partitions but y has {y.npartitions}; paired Dask "
                             "samples must be partitioned alike", argument="x", value=x.npartitions,
                             hint="pass two columns of one Dask DataFrame")
        x_blocks, y_blocks = x.to_delayed(), y.to_delayed()
    elif _array.is_dask(x) and _array.is_dask(y):
        for name, array in (("x", x), ("y", y)):
            if array.ndim != 1:
                raise InputError(f"is a {array.ndim}-D Dask array, shape {array.shape}; Dask samples must be 1-D",
                                 argument=name)
        if not (np.isnan(x.shape[0]) or np.isnan(y.shape[0])) and x.shape[0] != y.shape[0]:
            raise InputError(f"has {x.shape[0]} samples but y has {y.shape[0]}; paired samples need the same "
                             "length", argument="x", value=x.shape[0])
        if x.chunks != y.chunks:
            y = y.rechunk(x.chunks)  # same length: lazily aligned, nothing computed
        x_blocks, y_blocks = x.to_delayed().ravel(), y.to_delayed().ravel()
    else:
        raise InputTypeError("and y must both be Dask arrays or both columns of Dask DataFrames to be paired "
                             f"lazily, got {type(x).__name__} and {type(y).__name__}", argument="x",
                             hint="wrap the other one with dask.array.from_array, or compute both")
    blocks = [dask.delayed(_block_pair_table)(a, b, i) for i, (a, b) in enumerate(zip(x_blocks, y_blocks))]
    while len(blocks) > 1:  # tree reduction, 8 tables at a time
        blocks = [dask.delayed(_merge_pair_tables)(*blocks[i:i + 8]) for i in range(0, len(blocks), 8)]
    x_labels, y_labels, counts = dask.compute(blocks[0])[0]
    if counts.sum() == 0:
        raise InputError("is empty; an estimate needs at least one sample", argument="x")
    x_codes, x_uniques = _factorize(x_labels)
    y_codes, y_uniques = _factorize(y_labels)
    return x_codes, y_codes, counts, x_uniques, y_uniques


def _block_pair_table(x_block, y_block, index: int):
    """The label pairs of one chunk and how often each occurs: ``(x_labels, y_labels, counts)``."""
    x_block = x_block.to_numpy() if hasattr(x_block, "to_numpy") else np.asarray(x_block)
    y_block = y_block.to_numpy() if hasattr(y_block, "to_numpy") else np.asarray(y_block)
    if len(x_block) != len(y_block):
        raise InputError(f"has {len(x_block)} samples in chunk {index} but y has {len(y_block)}; paired "
                         "samples need the same length, chunked alike", argument="x", index=index,
                         value=len(x_block))
    if len(x_block) == 0:
        return x_block[:0], y_block[:0], np.zeros(0, dtype=np.int64)
    for name, block in (("x", x_block), ("y", y_block)):
        _check_no_missing(block, name)
    cx = _count_numpy(x_block, "x", keep_codes=True)
    cy = _count_numpy(y_block, "y", keep_codes=True)
    size_y = len(cy.labels)
    table = np.bincount(cx.codes * size_y + cy.codes, minlength=len(cx.labels) * size_y)
    cells = np.flatnonzero(table)
    return cx.labels[cells // size_y], cy.labels[cells % size_y], table[cells]


def _merge_pair_tables(*tables):
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
