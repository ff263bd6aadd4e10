"""The Dask path of the measures: each chunk through the NumPy kernel, the checks in the graph.

The generic path on Dask arrays is a chain of lazy elementwise operations (each chunk through
NumPy's ufuncs, several full-size temporaries) and, before it, an eager pass over the data for
the checks. Here the graph has, per chunk, one task that computes the chunk's share of each
row's measure, the chunk's row sums and its smallest entry in one read of the data
(:func:`._fast.chunk_parts`: the compiled kernel's pass yields the statistics the checks need
with the measure, so the checks cost no pass of their own; a chunk is read again only where
they say an entry may be bad, for the error); per block of rows, one task that adds up the shares of the
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
the whole row in its last bit; for a row within one chunk, NumPy's own sum). Arguments of two
shapes or dtypes, other dtypes than float32/float64 and unknown chunk sizes take the generic
path. A chunk's kernel runs on one thread where the graph has at least as many chunks as the
process has cores to use (the scheduler runs the chunks side by side already), else on its
share of them.

``normalize=True`` stays in the graph too, by the NumPy fast path's identities (see
:mod:`._fast`): with the row sums ``sp``, ``sq`` (added up from the chunks, in float64) and the
chunks' shares of the *unnormalised* sums (``sum p log p``, ``sum p log q``,
``sum p log(p / q)``, which the kernel computes per chunk without knowing the totals),

    H(p / sp)              = (sp log sp - sum p log p) / sp
    H(p / sp, q / sq)      = (sp log sq - sum p log q) / sp
    KL(p / sp || q / sq)   = (sum p log(p / q) + sp log(sq / sp)) / sp

so one read of the data gives them, as it gives the unnormalised measures. Per block of rows a
plan task then marks the rows the identities cannot serve (their two parts cancel, as the
fast path decides; or a sum lies outside the fast path's range, ``[2**-255, 2**255]`` in
float64): for those rows, and for every row of Jensen-Shannon (whose mixture needs the
normalised entries), a second task per chunk normalises its part of the row against the
row's totals (rows outside the range are first scaled by a power of 2, exactly) and computes
its share by the generic path's terms (:func:`infoloss._array.normalized_kl_terms`; for the
shares, :func:`infoloss._array.share_logs`, the one log of a row's dominant share, which
needs the whole row's rest, completed when the chunks are combined) or, for JS, the fast
kernel on the normalised entries. That task does nothing for the rows that are done. The
checks are those of the eager ``normalize=True`` (entries; no row summing to 0), in the graph.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

import numpy as np

from .. import _validate
from .._typing import Array
from . import _dispatch, _fast

if TYPE_CHECKING:
    from .._convert import Inputs

#: A chunk's task result: its share of each row's measure (one array per output; none for JS
#: with normalize=True), the eager error for its first bad entry per argument (or None), its row
#: sums per argument (when validating or normalising), and, per argument, its row sums scaled by
#: 2**-600 where some row sum overflowed (normalize=True only; else None).
_Share: TypeAlias = tuple[
    tuple[np.ndarray, ...], list[_validate.InputError | None], list[np.ndarray], list[np.ndarray | None]
]
#: A block of rows' task result: the shares added up along the distribution axis, the row sums
#: per argument, and the scaled row sums (or None) per argument.
_Combined: TypeAlias = tuple[tuple[np.ndarray, ...], list[np.ndarray], list[np.ndarray | None]]
#: The exponent of the scaling that keeps an overflowing row sum finite (float64 input only).
_BIG = 600


def compute(name: str, inputs: Inputs, keepdims: bool) -> _dispatch.Result:
    """The measure of Dask arrays as a lazy Dask array, or None for the generic path."""
    arrays = list(inputs.arrays.values())
    first = arrays[0]
    if inputs.originals is not None or 0 in first.shape:
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
    axis, names, normalize = inputs.axis, list(inputs.arrays), inputs.normalize
    chunks = first.chunks
    starts = [np.cumsum((0, *c[:-1])).tolist() for c in chunks]
    blocks = [a.to_delayed(optimize_graph=False) for a in arrays]
    row_grid = [range(len(c)) for i, c in enumerate(chunks) if i != axis]
    whole_rows = len(chunks[axis]) == 1
    tasks = math.prod(len(c) for c in chunks)  # (each task's threads: see _chunk_share)
    # (the Delayed objects of the tasks, per block of rows)
    shares: dict[tuple[int, ...], Any] = {}
    finals: dict[tuple[int, ...], Any] = {}  # (the values of each block of rows)
    verdicts: list[Any] = []
    outputs: dict[tuple[int, ...], list[Array]] = {}
    for row_block in itertools.product(*row_grid):
        parts, indices = [], []
        for k in range(len(chunks[axis])):
            index = (*row_block[:axis], k, *row_block[axis:])
            offsets = tuple(starts[d][i] for d, i in enumerate(index))
            options = _ChunkOptions(name, axis, inputs.validate, normalize, whole_rows, tasks, names, offsets)
            part = delayed(_chunk_share, pure=True)(options, *[b[index] for b in blocks])
            parts.append(part)
            indices.append(index)
            verdicts.append(part)
        shares[row_block] = finals[row_block] = delayed(_combine, pure=True)(*parts)
        if normalize:
            plan = delayed(_plan, pure=True)(name, str(first.dtype), shares[row_block])
            redone = [
                delayed(_chunk_redo, pure=True)(name, axis, tasks, plan, *[b[index] for b in blocks])
                for index in indices
            ]
            finals[row_block] = delayed(_normalized, pure=True)(name, plan, *redone)
    row_offsets = {
        rb: tuple(starts[d][i] for d, i in zip([d for d in range(first.ndim) if d != axis], rb))
        for rb in shares
    }
    check = delayed(_check, pure=True)(
        names,
        axis,
        first.shape,
        inputs.validate,
        normalize,
        _validate.sum_tolerance(inputs.out_dtype),
        str(inputs.out_dtype),
        inputs.hint,
        verdicts,
        [(row_offsets[rb], shares[rb]) for rb in shares],
    )
    decompose = name == "decompose"
    for row_block, share in finals.items():
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


class _ChunkOptions(NamedTuple):
    """What a chunk's task needs to know besides its blocks (one argument: the graph stays small)."""

    name: str  # the measure
    axis: int  # the distribution axis
    validate: bool
    normalize: bool
    whole_rows: bool  # the distribution axis is one chunk: every row lies whole in one chunk
    tasks: int  # chunks in the graph: see _threads
    names: list[str]  # the arguments ("p", "q")
    offsets: tuple[int, ...]  # the chunk's first position in the whole array


def _chunk_share(options: _ChunkOptions, *blocks: np.ndarray) -> _Share:
    """One chunk: its share of each row's measure, and (validating) its verdict, from one read.

    :func:`._fast.chunk_parts` gives the share, each row's sums and the chunk's smallest entry
    from one pass of the kernel (the checks cost no pass of their own). The verdict per
    argument: the eager error for this chunk's first bad entry (with its global position;
    looked for only where the statistics say an entry may be bad), and the row sums (the row
    checks need the whole rows). Where a whole row lies in this chunk and fails its check,
    its sum is taken again as the eager check takes it (``np.sum`` in the input dtype), so that
    the error reports the same number. With ``normalize`` the share is that of the unnormalised
    sums (none for JS, whose rows are all redone: its statistics come from ``np.sum`` and
    ``min``), with the rows' 2**-600 scaled sums where one overflowed.
    """
    name, axis, validate, normalize = options.name, options.axis, options.validate, options.normalize
    if normalize and name == "js_divergence":
        parts = _plain_statistics(blocks, axis)
    else:
        parts = _chunk_parts(name, axis, options.tasks, blocks)
    share, sums = parts.values, list(parts.sums)  # (a copy: whole rows that fail are summed again)
    suspect = validate and parts.suspect()
    entry_errors: list[_validate.InputError | None] = []
    scaled: list[np.ndarray | None] = []
    for a, (argument, block) in enumerate(zip(options.names, blocks)):
        # (a finite row sum means finite entries; an infinite one may be finite entries past
        # the largest float, which the row check reports: _entry_error tells them apart)
        entry_errors.append(_entry_error(argument, block, axis, options.offsets) if suspect else None)
        big = None
        if normalize and not sums[a].max() < math.inf and block.max() < math.inf:
            big = np.sum(np.ldexp(block, -_BIG), axis=axis)  # exact but for negligible entries
        scaled.append(big)
        if validate and not normalize and options.whole_rows:
            tolerance = _validate.sum_tolerance(block.dtype)
            with np.errstate(invalid="ignore"):
                failing = ~(np.abs(sums[a] - 1) <= tolerance)
            if failing.any():  # (rare: only rows that fail)
                with np.errstate(over="ignore"):
                    sums[a] = np.where(failing, np.sum(block, axis=axis), sums[a])
    if not (validate or normalize):
        sums, scaled = [], []  # (nothing to check or normalise: nothing to combine)
    return share, entry_errors, sums, scaled


def _chunk_parts(name: str, axis: int, tasks: int, blocks: Sequence[np.ndarray]) -> _fast.ChunkParts:
    """:func:`._fast.chunk_parts` of blocks with the distributions along ``axis``, the results
    shaped as the blocks' rows."""
    moved = [np.moveaxis(b, axis, -1) for b in blocks]  # (chunk_parts copies what is not contiguous)
    shape, n = moved[0].shape[:-1], moved[0].shape[-1]
    parts = _fast.chunk_parts(name, [m.reshape(-1, n) for m in moved], _threads(tasks))
    return _fast.ChunkParts(
        tuple(np.reshape(v, shape) for v in parts.values),
        [np.reshape(s, shape) for s in parts.sums],
        parts.smallest,
    )


def _threads(tasks: int) -> int:
    """The threads of one chunk's kernel: the chunks run side by side already (as many at once
    as the scheduler has threads, usually the cores), so a chunk takes more than one thread
    only where there are fewer chunks than the cores (read where the task runs: a
    distributed worker's environment says its own, ``OMP_NUM_THREADS=1`` by default)."""
    return max(1, _fast.num_threads() // tasks)


def _plain_statistics(blocks: Sequence[np.ndarray], axis: int) -> _fast.ChunkParts:
    """The row sums (float64) and the smallest entry of the blocks, by NumPy's reductions, and
    no values (normalised JS: the measure comes later, from the normalised entries)."""
    with np.errstate(over="ignore"):
        sums = [np.asarray(np.sum(b, axis=axis, dtype=np.float64)) for b in blocks]
    return _fast.ChunkParts((), sums, float(np.min([b.min() for b in blocks])))


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
    scaled: list[np.ndarray | None] = []
    for a in range(len(parts[0][3])):
        # (finite chunks' sums can overflow when added: then their scaled sums are needed too)
        if all(part[3][a] is None for part in parts) and not np.any(sums[a] == math.inf):
            scaled.append(None)
            continue
        terms = [part[3][a] for part in parts]
        scaled.append(
            _compensated_sum(
                [np.ldexp(part[2][a], -_BIG) if t is None else t for part, t in zip(parts, terms)]
            )
        )
    return values, sums, scaled


def _compensated_sum(terms: Sequence[np.ndarray]) -> np.ndarray:
    """Neumaier's sum of equally shaped arrays (exact up to the last bit for a few terms)."""
    if len(terms) == 1:
        return terms[0]
    total = np.asarray(terms[0], dtype=np.float64).copy()
    error = np.zeros_like(total)
    with np.errstate(invalid="ignore", over="ignore"):  # (a row past the largest float: inf)
        for term in terms[1:]:
            new = total + term
            error += np.where(np.abs(total) >= np.abs(term), (total - new) + term, (term - new) + total)
            total = new
        return np.where(np.isfinite(total), total + np.where(np.isfinite(error), error, 0.0), total)


#: Per measure, its outputs with normalize=True: how a row the identities cannot serve is redone
#: ("shares": the terms of the normalised cross-entropy, "kl": those of the normalised KL, "js":
#: the kernel on the normalised entries), and which arguments are its p and q.
_REDO_KINDS: dict[str, tuple[tuple[str, int, int], ...]] = {
    "entropy": (("shares", 0, 0),),
    "cross_entropy": (("shares", 0, 1),),
    "kl_divergence": (("kl", 0, 1),),
    "js_divergence": (("js", 0, 1),),
    "decompose": (("shares", 0, 0), ("kl", 0, 1)),
}


def _plan(name: str, dtype: str, combined: _Combined) -> dict[str, Any]:
    """normalize=True, per block of rows: the values by the identities, the rows to redo.

    A row is redone where its identity cancels (the fast path's criteria, ``_fast._cancelling``
    and ``_fast._shares_cancelling``) or where a sum lies outside the fast path's range (see
    ``_fast._SCALE_LIMIT``); those rows' entries are then scaled by ``2**-e``, ``e`` the
    exponent of the row's sum, so that the scaled sum (``totals``) lies in [1/2, 1).
    """
    shares, sums, scaled = combined
    kl_only = name == "kl_divergence" and dtype == "float32"  # as in _fast: ratios only
    limit = 1000 if kl_only else _fast._SCALE_LIMIT[np.dtype(dtype)]
    exponents, totals, outside = [], [], []
    for row_sums, big in zip(sums, scaled):
        row_sums = np.asarray(row_sums, dtype=np.float64)
        plain = (row_sums >= 2.0**-limit) & (row_sums <= 2.0**limit)
        mantissa, exponent = np.frexp(row_sums)
        if big is not None:  # rows past the largest float: their 2**-600 scaled sum
            big_mantissa, big_exponent = np.frexp(np.asarray(big, dtype=np.float64))
            over = row_sums == math.inf
            mantissa = np.where(over, big_mantissa, mantissa)
            exponent = np.where(over, big_exponent + _BIG, exponent)
        exponents.append(np.where(plain, 0, exponent))
        totals.append(np.where(plain, row_sums, mantissa))
        outside.append(~plain)
    sp, sq = sums[0], sums[-1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if name == "js_divergence":
            values: tuple[np.ndarray, ...] = (np.zeros_like(sp),)
            redo: tuple[np.ndarray, ...] = (np.ones(np.shape(sp), dtype=bool),)
        elif name == "kl_divergence":
            values = (_fast._kl_value(shares[0], sp, sq, True),)
            redo = (outside[0] | outside[1] | _fast._cancelling(shares[0], sp, sq),)
        elif name == "decompose":  # shares (entropy = -sum p log p, kl)
            own = 0.0 - shares[0]
            values = (_fast._entropy_value(own, sp, sp, True), _fast._kl_value(shares[1], sp, sq, True))
            redo = (
                outside[0] | _fast._shares_cancelling(own, sp, sp),
                outside[0] | outside[1] | _fast._cancelling(shares[1], sp, sq),
            )
        else:  # entropy, cross-entropy: shares are -sum p log q
            total = 0.0 - shares[0]
            values = (_fast._cross_entropy_value(total, sp, sq, True),)
            redo = (outside[0] | outside[-1] | _fast._shares_cancelling(total, sp, sq),)
    return {
        "values": tuple(np.asarray(v, dtype=np.float64) for v in values),
        "redo": tuple(np.asarray(r, dtype=bool) for r in redo),
        "exponents": exponents,
        "totals": totals,
    }


def _chunk_redo(
    name: str, axis: int, tasks: int, plan: dict[str, Any], *blocks: np.ndarray
) -> list[np.ndarray]:
    """normalize=True, one chunk: its part of each row to redo (per output, (width, rows)).

    "shares": the sum of the chunk's terms (the dominant share's log left at 0), its part of
    the row's dominant rest (the entries of q at most half the row's sum), the p at q's
    dominant entry and whether it is here; "kl": the sum of its terms; "js": its share.
    """
    dtype = blocks[0].dtype
    flat = [np.reshape(np.moveaxis(b, axis, -1), (-1, b.shape[axis])) for b in blocks]
    exponents = [np.reshape(e, -1) for e in plan["exponents"]]
    totals = [np.reshape(t, -1) for t in plan["totals"]]
    out = []
    for (kind, a, b), mask in zip(_REDO_KINDS[name], plan["redo"]):
        rows = np.flatnonzero(np.reshape(mask, -1))
        result = np.zeros((4 if kind == "shares" else 1, len(flat[0])))
        out.append(result)
        if not len(rows):
            continue
        p, q = (_scaled_rows(flat[i], rows, exponents[i]) for i in (a, b))
        sp, sq = totals[a][rows], totals[b][rows]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            if kind == "kl":
                result[0, rows] = _fast._normalized_kl(p, q, sp, sq)
            elif kind == "shares":
                # share_logs' rule, split by rows: every log but the dominant share's here (a
                # rest of the total leaves that one at log1p(0) = 0), the rest combined later
                terms = _fast._cross_entropy_terms(p, q, sp, sq, sq[:, None])
                dominant = q > sq[:, None] / 2
                result[0, rows] = np.sum(terms, axis=1)
                result[1, rows] = np.sum(np.where(dominant, 0.0, q), axis=1)
                result[2, rows] = np.sum(np.where(dominant, p, 0.0), axis=1)
                result[3, rows] = np.sum(dominant, axis=1)
            else:  # js: the entries normalised as _array.normalize does, in the input dtype
                shares = [_normalized_entries(x, total, dtype) for x, total in ((p, sp), (q, sq))]
                result[0, rows] = _fast.chunk_parts("js_divergence", shares, _threads(tasks)).values[0]
    return out


def _scaled_rows(x: np.ndarray, rows: np.ndarray, exponents: np.ndarray) -> np.ndarray:
    """The rows ``rows`` of ``x`` times ``2**-exponent`` each, in float64 (read only: ``x``
    itself where every row is taken unscaled in float64, as JS's rows are, all redone)."""
    every = len(rows) == len(x)
    picked = x if every else x[rows]
    shifts = exponents if every else exponents[rows]
    if not shifts.any():
        return picked.astype(np.float64, copy=False)  # (read only below)
    return np.ldexp(picked.astype(np.float64), -shifts[:, None])


def _normalized_entries(x: np.ndarray, total: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    """``x / total`` per row in ``dtype``; a positive entry whose share rounds to 0 keeps the
    smallest positive share (:func:`infoloss._array.normalize`'s rule: KL stays finite)."""
    out = np.divide(x, total[:, None]).astype(dtype, copy=False)
    lost = out == 0
    if lost.any():  # (zeros are usually zero weights: the fix is rare)
        smallest = np.finfo(dtype).smallest_normal * np.finfo(dtype).eps
        out[lost & (x > 0)] = smallest
    return out


def _normalized(name: str, plan: dict[str, Any], *parts: list[np.ndarray]) -> _Combined:
    """normalize=True, per block of rows: the plan's values with the redone rows' put in."""
    values = []
    for i, (kind, a, b) in enumerate(_REDO_KINDS[name]):
        value = np.array(plan["values"][i], dtype=np.float64)
        mask = np.reshape(plan["redo"][i], -1)
        if mask.any():
            combined = _compensated_sum([part[i] for part in parts])
            if kind == "shares":
                terms, rest, p_dominant, dominant = combined
                sp, sq = (np.reshape(plan["totals"][j], -1) for j in (a, b))
                with np.errstate(divide="ignore", invalid="ignore"):
                    rest = np.where(rest > sq / 2, 0.0, rest)
                    log = np.log1p(-rest / sq)  # the dominant share's log (share_logs)
                    redone = terms + np.where(dominant > 0, 0.0 - (p_dominant / sp) * log, 0.0)
            else:
                redone = combined[0]
            flat = np.reshape(value, -1).copy()
            flat[mask] = redone[mask]
            value = np.reshape(flat, np.shape(value))
        values.append(value)
    return tuple(values), [], []


def _check(
    names: list[str],
    axis: int,
    shape: tuple[int, ...],
    validate: bool,
    normalize: bool,
    tolerance: float,
    dtype: str,
    hint: str | None,
    verdicts: list[_Share],
    row_sums: list[tuple[tuple[int, ...], _Combined]],
) -> None:
    """Raise the first error of the eager checks (entries, then rows; p, then q), or None.

    A row's check: its sum is 1 within ``tolerance``, or (``normalize``) it is not 0."""
    if not validate:
        return None
    for a, argument in enumerate(names):
        errors = [e for e in (v[1][a] for v in verdicts) if e is not None]
        if errors:
            raise min(errors, key=lambda e: e.index if isinstance(e.index, tuple) else ())
        first_row: tuple[tuple[int, ...], float] | None = None
        for offsets, share in row_sums:
            sums = share[1][a]
            bad = np.asarray(sums) == 0 if normalize else np.abs(np.asarray(sums) - 1) > tolerance
            if bad.any():
                local = np.unravel_index(int(np.argmax(bad)), np.shape(sums)) if np.ndim(sums) else ()
                row = tuple(int(i) + o for i, o in zip(local, offsets))
                total = float(np.asarray(sums)[local]) if local else float(sums)
                if first_row is None or row < first_row[0]:
                    first_row = (row, total)
        if first_row is not None:
            _raise_row_error(argument, axis, shape, dtype, hint, normalize, *first_row)
    return None


def _raise_row_error(
    argument: str,
    axis: int,
    shape: tuple[int, ...],
    dtype: str,
    hint: str | None,
    normalize: bool,
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
        np, stand_in, argument, axis, normalize=normalize, input_dtype=np.dtype(dtype), hint=hint
    )
    # (it raises; if not, the total was within rounding of the tolerance: accepted, as eagerly)


def _values(share: _Combined, check: object, keep_axis: int | None) -> np.ndarray | tuple[np.ndarray, ...]:
    """The result block (after the check task has passed: ``check`` is its result, None)."""
    values = share[0]
    if keep_axis is not None:
        values = tuple(np.expand_dims(v, keep_axis) for v in values)
    return values if len(values) > 1 else values[0]
