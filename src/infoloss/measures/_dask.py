"""The Dask path of the measures: each chunk through the NumPy kernel, the checks in the graph.

The generic path on Dask arrays is a chain of lazy elementwise operations (each chunk through
NumPy's ufuncs, several full-size temporaries) and, before it, an eager pass over the data for
the checks. Here the graph has, per chunk, one task that computes the chunk's share of each
row's measure with the NumPy fast path (:mod:`._fast`: one pass, the compiled kernel), the
chunk's row sums and minimum; per block of rows, one task that adds up the shares of the
chunks along the distribution axis (compensated, so the combination adds no rounding of its
own beyond the last bit); and one small task that takes every chunk's verdict and raises the
first error in the order and with the message of the eager checks (the entries of ``p``, the
row sums of ``p``, then those of ``q``), which the result's blocks wait on. Nothing is computed
before ``.compute()``; the result is a Dask array chunked like the rows of the input.

The measures are sums over the entries (entropy's ``-p log p``, KL's ``p log(p / q)``, JS's
terms), so a chunk's share of a row is the measure of its part of the row computed without
checks. Error messages: an entry's error is the eager one for its chunk with the position made
global; a row's is the eager one for that row's total (the sum of the chunks' row sums when
the distribution axis is cut into several chunks, which can differ from NumPy's summation of
the whole row in its last bit). ``normalize=True``, arguments of two shapes or dtypes, other
dtypes than float32/float64 and unknown chunk sizes take the generic path.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from .. import _validate
from .._typing import Array
from . import _dispatch, _fast

if TYPE_CHECKING:
    from .._convert import Inputs

#: A chunk's task result: its share of each row's measure (one array per output), the eager error
#: for its first bad entry per argument (or None), and its row sums per argument (when validating).
_Share: TypeAlias = tuple[tuple[np.ndarray, ...], list[_validate.InputError | None], list[np.ndarray]]
#: A block of rows' task result: the shares added up along the distribution axis, and the row
#: sums per argument.
_Combined: TypeAlias = tuple[tuple[np.ndarray, ...], list[np.ndarray]]


def compute(name: str, inputs: Inputs, keepdims: bool) -> _dispatch.Result:
    """The measure of Dask arrays as a lazy Dask array, or None for the generic path."""
    arrays = list(inputs.arrays.values())
    first = arrays[0]
    if inputs.normalize or inputs.originals is not None or 0 in first.shape:
        return None
    if any(a.shape != first.shape or a.dtype != first.dtype for a in arrays):
        return None
    if first.dtype not in (np.float32, np.float64) or inputs.out_dtype != first.dtype:
        return None
    if any(math.isnan(size) for a in arrays for sizes in a.chunks for size in sizes):
        return None  # unknown chunk sizes (after boolean indexing): no positions for the errors
    import dask.array as da
    from dask import delayed

    if len(arrays) == 2 and arrays[1].chunks != first.chunks:
        letters = _letters(first.ndim)
        arrays = list(da.core.unify_chunks(arrays[0], letters, arrays[1], letters)[1])
        first = arrays[0]
    axis, names = inputs.axis, list(inputs.arrays)
    chunks = first.chunks
    starts = [np.cumsum((0, *c[:-1])).tolist() for c in chunks]
    blocks = [a.to_delayed(optimize_graph=False) for a in arrays]
    row_grid = [range(len(c)) for i, c in enumerate(chunks) if i != axis]
    # (the Delayed objects of the tasks, per block of rows)
    shares: dict[tuple[int, ...], Any] = {}
    verdicts: list[Any] = []
    outputs: dict[tuple[int, ...], list[Array]] = {}
    for row_block in itertools.product(*row_grid):
        parts = []
        for k in range(len(chunks[axis])):
            index = (*row_block[:axis], k, *row_block[axis:])
            offsets = tuple(starts[d][i] for d, i in enumerate(index))
            part = delayed(_chunk_share, pure=True)(
                name, axis, inputs.validate, names, offsets, *[b[index] for b in blocks]
            )
            parts.append(part)
            verdicts.append(part)
        shares[row_block] = delayed(_combine, pure=True)(*parts)
    row_offsets = {
        rb: tuple(starts[d][i] for d, i in zip([d for d in range(first.ndim) if d != axis], rb))
        for rb in shares
    }
    check = delayed(_check, pure=True)(
        names,
        axis,
        first.shape,
        inputs.validate,
        _validate.sum_tolerance(inputs.out_dtype),
        str(inputs.out_dtype),
        inputs.hint,
        verdicts,
        [(row_offsets[rb], shares[rb]) for rb in shares],
    )
    decompose = name == "decompose"
    for row_block, share in shares.items():
        shape = tuple(chunks[d][i] for d, i in zip([d for d in range(first.ndim) if d != axis], row_block))
        result_shape = (*shape[:axis], 1, *shape[axis:]) if keepdims else shape
        value = delayed(_values, pure=True)(share, check, axis if keepdims else None)
        outputs[row_block] = [
            da.from_delayed(value[i] if decompose else value, result_shape, dtype=np.float64)
            for i in range(2 if decompose else 1)
        ]
    results = [
        _assemble({rb: out[i] for rb, out in outputs.items()}, len(row_grid), keepdims, axis)
        for i in range(2 if decompose else 1)
    ]
    return tuple(results) if decompose else results[0]


def _letters(ndim: int) -> str:
    return "abcdefghijklmnopqrstuvwxyz"[:ndim]


def _assemble(blocks: dict[tuple[int, ...], Array], ndim: int, keepdims: bool, axis: int) -> Array:
    """One Dask array from the result blocks, placed as the input's rows."""
    import dask.array as da

    if ndim == 0:
        out = blocks[()]
        return out
    grid = np.empty(tuple(max(rb[d] for rb in blocks) + 1 for d in range(ndim)), dtype=object)
    for row_block, block in blocks.items():
        grid[row_block] = block
    if keepdims:
        grid = np.expand_dims(grid, axis)
    return da.block(grid.tolist())


def _chunk_share(
    name: str, axis: int, validate: bool, names: list[str], offsets: tuple[int, ...], *blocks: np.ndarray
) -> _Share:
    """One chunk: its share of each row's measure, and (validating) its verdict.

    The verdict per argument: the eager error for this chunk's first bad entry (with its
    global position), and the chunk's row sums (the row checks need the whole rows).
    """
    moved = [np.ascontiguousarray(np.moveaxis(b, axis, -1)) for b in blocks]
    share = _numpy_share(name, moved)
    entry_errors: list[_validate.InputError | None] = []
    sums: list[np.ndarray] = []
    for argument, block in zip(names, blocks):
        error = None
        if validate:
            with np.errstate(over="ignore"):  # a row past the largest float sums to inf: its error says so
                row_sums = np.sum(block, axis=axis)
            # NaN fails min >= 0; a finite row sum means finite entries (an infinite sum may be
            # finite entries past the largest float: their row check reports it)
            if not (block.min() >= 0 and (row_sums.max() < math.inf or block.max() < math.inf)):
                error = _entry_error(argument, block, axis, offsets)
            sums.append(row_sums)
        entry_errors.append(error)
    return share, entry_errors, sums


def _numpy_share(name: str, moved: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """The measure of one chunk (distributions along its last axis), unchecked and unclamped."""
    from .._convert import prepare

    named = dict(zip(("p", "q"), moved))
    inputs = prepare(named, axis=-1, normalize=False, validate=False)
    value = _fast.compute(name, inputs, False)
    if value is None:
        value = _dispatch.generic_values(name, moved, axis=-1, keepdims=False, normalize=False)
    values = value if isinstance(value, tuple) else (value,)
    return tuple(np.asarray(v, dtype=np.float64) for v in values)


def _entry_error(
    argument: str, block: np.ndarray, axis: int, offsets: tuple[int, ...]
) -> _validate.InputError | None:
    """The eager checks' error for this chunk, its position counted in the whole array."""
    try:
        _validate.check_distribution(np, block, argument, axis, normalize=True)
    except _validate.InputError as error:
        if isinstance(error.index, tuple) and len(error.index) == block.ndim and ":" not in error.index:
            position = tuple(int(i) + o for i, o in zip(error.index, offsets))
            return _validate.InputError(
                error.reason, argument=error.argument, index=position, value=error.value, hint=error.hint
            )
    return None  # (a chunk whose rows sum to 0 is no error: the rows go on in other chunks)


def _combine(*parts: _Share) -> _Combined:
    """Add the chunks' shares and row sums along the distribution axis (compensated)."""
    shares = [part[0] for part in parts]
    values = tuple(_compensated_sum([s[i] for s in shares]) for i in range(len(shares[0])))
    sums = [_compensated_sum([part[2][a] for part in parts]) for a in range(len(parts[0][2]))]
    return values, sums


def _compensated_sum(terms: Sequence[np.ndarray]) -> np.ndarray:
    """Neumaier's sum of equally shaped arrays (exact up to the last bit for a few terms)."""
    if len(terms) == 1:
        return terms[0]
    total = np.asarray(terms[0], dtype=np.float64).copy()
    error = np.zeros_like(total)
    with np.errstate(invalid="ignore"):
        for term in terms[1:]:
            new = total + term
            error += np.where(np.abs(total) >= np.abs(term), (total - new) + term, (term - new) + total)
            total = new
        return np.where(np.isfinite(total), total + np.where(np.isfinite(error), error, 0.0), total)


def _check(
    names: list[str],
    axis: int,
    shape: tuple[int, ...],
    validate: bool,
    tolerance: float,
    dtype: str,
    hint: str | None,
    verdicts: list[_Share],
    row_sums: list[tuple[tuple[int, ...], _Combined]],
) -> None:
    """Raise the first error of the eager checks (entries, then rows; p, then q), or None."""
    if not validate:
        return None
    for a, argument in enumerate(names):
        errors = [e for e in (v[1][a] for v in verdicts) if e is not None]
        if errors:
            raise min(errors, key=lambda e: e.index if isinstance(e.index, tuple) else ())
        first_row: tuple[tuple[int, ...], float] | None = None
        for offsets, share in row_sums:
            sums = share[1][a]
            bad = np.abs(np.asarray(sums) - 1) > tolerance
            if bad.any():
                local = np.unravel_index(int(np.argmax(bad)), np.shape(sums)) if np.ndim(sums) else ()
                row = tuple(int(i) + o for i, o in zip(local, offsets))
                total = float(np.asarray(sums)[local]) if local else float(sums)
                if first_row is None or row < first_row[0]:
                    first_row = (row, total)
        if first_row is not None:
            _raise_row_error(argument, axis, shape, dtype, hint, *first_row)
    return None


def _raise_row_error(
    argument: str,
    axis: int,
    shape: tuple[int, ...],
    dtype: str,
    hint: str | None,
    row: tuple[int, ...],
    total: float,
) -> None:
    """The eager check's error for a row summing to ``total``: the check itself, run on a
    stand-in with that row's total as its one entry (the other rows sum to 1)."""
    if total == math.inf:  # finite entries past the largest float: a stand-in row of two maxima
        stand_in = np.full((*shape[:axis], 2, *shape[axis + 1 :]), 0.5)
        whole_row: tuple[int | slice, ...] = (*row[:axis], slice(None), *row[axis:])
        stand_in[whole_row] = np.finfo(np.float64).max
    else:
        stand_in = np.ones((*shape[:axis], 1, *shape[axis + 1 :]), dtype=np.float64)
        stand_in[(*row[:axis], 0, *row[axis:])] = total
    _validate.check_distribution(
        np, stand_in, argument, axis, normalize=False, input_dtype=np.dtype(dtype), hint=hint
    )
    # (it raises; if not, the total was within rounding of the tolerance: accepted, as eagerly)


def _values(share: _Combined, check: object, keep_axis: int | None) -> np.ndarray | tuple[np.ndarray, ...]:
    """The result block (after the check task has passed: ``check`` is its result, None)."""
    values = share[0]
    if keep_axis is not None:
        values = tuple(np.expand_dims(v, keep_axis) for v in values)
    return values if len(values) > 1 else values[0]
