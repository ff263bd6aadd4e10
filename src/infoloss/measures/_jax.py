"""The JAX path of the measures: eager calls run one cached jitted program.

Eagerly, every array-API call of the generic path is its own dispatch (and the checks read
the data three more times and wait on the device three times): about 6x the time of the same
call under the user's ``jax.jit``. Here an eager call runs ``jax.jit`` of the public function
itself (so the numbers are exactly those under the user's jit), made once per measure and
options (``jax.jit`` then compiles once per shape and dtype), with the distribution checks
computed in the same program: one pass per argument sums each row with every entry that is not
finite and >= 0 made NaN (:func:`_entries_or_nan`), and one flag says whether every row is
within tolerance of 1 (with ``normalize=True``: positive; for entropy and cross-entropy the
entries' minimum and maximum and the rows' sums, which their normalised values take too),
read back in the one sync that the value needs. Where the flag is False, the generic checks
run on the arguments for their precise message (argument, position, value); only then is
the bad entry located. Small arrays on one CPU device
(:data:`infoloss._array.HOST_CHECK_MAX_ENTRIES`) are checked on the host instead
(:func:`infoloss._validate.distributions_pass` of their zero-copy NumPy views) while the
program without checks computes the value: the call then reads nothing back, as the user's
jit does not (a program of 1000 flops or more runs on XLA's CPU worker thread, whose wake-up
a read waits for: 40-50 us of a 64x10 call). KL's and JS's clamp (``measures._clamped``) is
part of their program (``Inputs.clamped`` tells the public function); decompose's runs as one
more cached program (:func:`clamped`), not three eager operations.

Under an outer ``jax.jit``, ``jax.grad`` or ``jax.vmap`` the arguments are tracers: no
checks, and the same values as the eager program's. KL and JS there (and in the eager program)
are :func:`_kl_sum` and :func:`_js_sum`: the generic path's accurate terms
(:func:`infoloss._array.log_ratio_term`) take four logarithms per entry (``log1p`` near a ratio
of 1, ``log`` of a normal ratio, ``log p - log q`` where the ratio under- or overflows), all of
which XLA computes for every entry (a ``where`` evaluates both sides): 3x the time of
``jnp.sum(rel_entr(p, q))``. As the NumPy kernel does, the plain terms come first (one division
and one ``log`` per entry, closed-form gradients), and only where a row's plain total is not
finite or cancels is the sum taken again from the accurate terms (``jax.lax.cond``), the
values the same to a few ulps. Their derivatives, and cross-entropy's and entropy's (whose
values are the generic path's, one log per entry already), are closed forms
(``jax.custom_jvp``), so ``jax.grad`` computes no value. ``normalize=True`` gives the generic
path's values bit for bit from fewer passes (:func:`_normalized_values`: rows of ordinary sums
are not rescaled; KL's terms take one log per entry, not four), and for JS the generic path's
shares with the lean JS terms (to a few ulps). float16/bfloat16 input (computed in float32,
returned in its own dtype) takes the generic path.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _array, _validate
from .._typing import Array
from . import _dispatch

if TYPE_CHECKING:
    from .._convert import Inputs


def compute(name: str, inputs: Inputs, keepdims: bool) -> _dispatch.Result:
    """The measure of JAX arrays from the cached jitted program, or None (tracing)."""
    arrays = list(inputs.arrays.values())
    if inputs.out_dtype != arrays[0].dtype or str(arrays[0].dtype) not in ("float32", "float64"):
        return None
    if any(_array.is_tracing(a) for a in arrays):  # under the user's jit, grad or vmap: no checks
        if name not in (_LEAN_NORMALIZED if inputs.normalize else _LEAN):
            return None
        return _values(name, arrays, inputs.axis, keepdims, inputs.normalize)
    if any(0 in a.shape for a in arrays):
        return None
    axes = tuple(inputs.axis_of(a) for a in arrays)
    # the divergences' clamp in the same program (a second program, dispatched on the first's
    # result, would wait for JAX's worker a second time)
    clamp = inputs.validate and name in _CLAMPED
    inputs.clamped = clamp
    if inputs.validate and _array.on_one_cpu(arrays):
        # Small arrays: the value's program alone is dispatched, and the arguments are checked
        # on the host meanwhile, so the call reads nothing back (a check in the program makes
        # it wait for JAX's worker thread: 40-50 us of a 64x10 call, measured)
        value, _ = _program(name, inputs.axis, axes, keepdims, inputs.normalize, False, clamp)(*arrays)
        if not all(
            _validate.distributions_pass(np.asarray(a), own_axis, normalize=inputs.normalize)
            for a, own_axis in zip(arrays, axes)
        ):
            inputs.checked()  # raises the generic message (or, within rounding, accepts after all)
        return value
    program = _program(name, inputs.axis, axes, keepdims, inputs.normalize, inputs.validate, clamp)
    value, valid = program(*arrays)
    if inputs.validate and not bool(valid):
        inputs.checked()  # raises the generic message (or, within rounding, accepts after all)
    return value


def clamped(value: Array, high: float | None) -> Array:
    """The measures' clamp (``measures._clamped``) of a concrete JAX value, as one cached
    jitted program: eagerly its three operations would be three dispatches (10-30 us each)."""
    return _clamp_program(high)(value)


@functools.lru_cache(maxsize=16)
def _clamp_program(high: float | None) -> Callable[[Array], Array]:
    import jax
    import jax.numpy as jnp

    clamp = _dispatch.public("_clamped")
    return jax.jit(lambda value: clamp(jnp, value, high))


#: The measures whose validated values are clamped (``measures._clamp``): in their program.
_CLAMPED = ("kl_divergence", "js_divergence")


@functools.lru_cache(maxsize=256)
def _program(
    name: str,
    axis: int,
    axes: tuple[int, ...],
    keepdims: bool,
    normalize: bool,
    validate: bool,
    clamp: bool = False,
) -> Callable[..., tuple[Array | tuple[Array, Array], Array]]:
    """``jax.jit`` of the measure with its checks, for one measure and set of options; with
    ``clamp``, the value clamped as ``measures._clamp`` does (JS below log 2)."""
    import jax
    import jax.numpy as jnp

    def run(*arrays: Array) -> tuple[Array | tuple[Array, Array], Array]:
        value = _values(name, list(arrays), axis, keepdims, normalize)
        if clamp:
            high = _dispatch.public("_log2_below")(arrays[0].dtype) if name == "js_divergence" else None
            value = _dispatch.public("_clamped")(jnp, value, high)
        if not validate:
            return value, jnp.asarray(True)
        tolerance = _validate.sum_tolerance(arrays[0].dtype)
        if name == "entropy" and not normalize:
            # -sum p log p is finite for a row of valid entries (at most 1 + tolerance) and not
            # where an entry is NaN, negative (its log is NaN) or +inf: the value checks the
            # entries, and a plain sum (fused with the value's reduction) the rows
            sums = jnp.sum(arrays[0], axis=axes[0])
            entries_ok = jnp.all(jnp.isfinite(value))  # type: ignore[arg-type]  # (entropy's value: one array)
            return value, entries_ok & (jnp.max(jnp.abs(sums - 1)) <= tolerance)
        valid = []
        for x, own_axis in zip(arrays, axes):
            if normalize and name in ("entropy", "cross_entropy"):
                # (their normalised values take the rows' sums, maxima and minima too: XLA
                # computes these once; the one-pass form below measured slower here)
                entries_ok = (jnp.min(x) >= 0) & (jnp.max(x) < math.inf)
                valid.append(entries_ok & (jnp.min(jnp.sum(x, axis=own_axis)) > 0))
                continue
            if normalize:
                # each row's smallest entry and its sum (the sum as the lean normalised values
                # take it, so computed once), sibling reductions that XLA makes in one loop:
                # then entries >= 0 and every row sum positive and finite (valid entries whose
                # sum overflows send the call to the generic checks, which accept them)
                sums = _array.row_sums(jnp, x, own_axis)
                lows = jnp.min(x, axis=own_axis, keepdims=True)
                valid.append((jnp.min(lows) >= 0) & (jnp.min(sums) > 0) & (jnp.max(sums) < math.inf))
                continue
            # NaN where a row has an entry that is not finite and >= 0, so one comparison per
            # row checks its entries and its sum: one pass, not three (sum, min, max)
            sums = jnp.sum(_entries_or_nan(x), axis=own_axis)
            valid.append(jnp.max(jnp.abs(sums - 1)) <= tolerance)
        return value, functools.reduce(jnp.logical_and, valid)

    return jax.jit(run)


def _entries_or_nan(x: Array) -> Array:
    """``x`` where its entry is finite and >= 0 (``-0.0`` as ``+0.0``), NaN elsewhere, with no
    compare or select: ``x + (sqrt(x) - sqrt(x))``, as ``sqrt`` is NaN below 0 and for NaN,
    and ``inf - inf`` is NaN.

    Its sum is one reduction pass that XLA's CPU code vectorises as it does ``sum(x)`` (a
    ``where`` in it measured 8x that; the sum, minimum and maximum of each argument were three
    passes, half the time of cross-entropy's value at 2e7 entries). Entries that XLA's CPU
    code reads as 0 (subnormal ones: it flushes them) count as 0, as in ``min(x) >= 0``.

    >>> import jax.numpy as jnp
    >>> print(_entries_or_nan(jnp.asarray([0.5, 0.0, -0.0, -1.0, jnp.inf, jnp.nan])))
    [0.5 0.  0.  nan nan nan]
    """
    import jax.numpy as jnp

    root = jnp.sqrt(x)
    return x + (root - root)


#: The measures with a leaner traced program than the generic path's (without normalize=True).
_LEAN = ("entropy", "cross_entropy", "kl_divergence", "js_divergence", "decompose")
#: The same with normalize=True (:func:`_normalized_values`).
_LEAN_NORMALIZED = ("entropy", "cross_entropy", "kl_divergence", "js_divergence", "decompose")


def _values(
    name: str, arrays: list[Array], axis: int, keepdims: bool, normalize: bool
) -> Array | tuple[Array, Array]:
    """The unclamped values (traced): :func:`_kl_terms` for KL and JS, :func:`_normalized_values`
    for ``normalize=True``, else the generic path's."""
    if normalize and name in _LEAN_NORMALIZED:
        return _normalized_values(name, arrays, axis, keepdims)
    if normalize or name not in _LEAN:
        value: Array | tuple[Array, Array] = _dispatch.generic_values(
            name, arrays, axis=axis, keepdims=keepdims, normalize=normalize
        )
        return value
    import jax.numpy as jnp

    if name == "entropy":
        return _divergence_sums()[3](arrays[0], axis, keepdims)
    p, q = jnp.broadcast_arrays(*arrays)
    if name == "cross_entropy":
        return _divergence_sums()[2](p, q, axis, keepdims)
    if name == "kl_divergence":
        return _kl_sum(p, q, axis, keepdims)
    if name == "decompose":
        return _divergence_sums()[3](p, axis, keepdims), _kl_sum(p, q, axis, keepdims)
    return _js_sum(p, q, axis, keepdims)


def _normalized_values(
    name: str, arrays: list[Array], axis: int, keepdims: bool
) -> Array | tuple[Array, Array]:
    """``normalize=True``: the generic path's values, bit for bit, without its extra passes.

    The generic path first rescales each row (:func:`infoloss._array.rescaled`: a pass for the
    row maximum, and the rows divided by a factor that is 1 for every row of ordinary size,
    which XLA cannot know, so it writes the divided rows out), and its KL terms
    (:func:`infoloss._array.normalized_kl_terms`) take four logarithms per entry, every branch
    of a ``where`` being computed. Here, where every row sum lies well inside the range in
    which the rescaling leaves the rows as they are (:func:`_plain_sums`), the same terms are
    formed from the rows themselves: entropy's and cross-entropy's as the generic path forms
    them (:func:`_normalized_cross_entropy`), KL's with one logarithm per entry
    (:func:`_lean_normalized_kl_terms`); elsewhere (``jax.lax.cond``, whose rare branch reads
    only the arguments) the generic path runs.
    """
    import jax.numpy as jnp

    if name == "entropy":
        return _normalized_cross_entropy(arrays[0], None, axis, keepdims)
    p, q = jnp.broadcast_arrays(*arrays)
    if name == "cross_entropy":
        return _normalized_cross_entropy(p, q, axis, keepdims)
    if name == "kl_divergence":
        return _normalized_kl(p, q, axis, keepdims)
    if name == "js_divergence":
        return _normalized_js(p, q, axis, keepdims)
    return _normalized_cross_entropy(p, None, axis, keepdims), _normalized_kl(p, q, axis, keepdims)


def _working(x: Array) -> Array:
    """``x`` in the generic path's working dtype: float32 in float64 where JAX has float64."""
    import jax.numpy as jnp

    return x.astype(jnp.float64) if x.dtype == jnp.float32 and _array.has_float64(x) else x


def _plain_sums(x: Array, axis: int) -> tuple[Array, Array]:
    """The row sums (kept dims), as :func:`infoloss._array.rescaled` takes them, and whether
    every row is one that it leaves as it is: a sum in ``[2 n t, 1 / (2 n t)]`` (``n`` entries,
    ``t`` the smallest normal number) puts the row maximum in its range ``[t, 1 / (n t)]``
    (with a factor 2 to spare for the sum's rounding)."""
    import jax.numpy as jnp

    total = _array.row_sums(jnp, x, axis)
    smallest, n = float(np.finfo(x.dtype).smallest_normal), x.shape[axis]
    return total, jnp.all((total >= 2 * n * smallest) & (total <= (1 / smallest) / (2 * n)))


def _normalized_cross_entropy(p: Array, q: Array | None, axis: int, keepdims: bool) -> Array:
    """``H(p / sum p, q / sum q)`` (entropy where ``q`` is None): the generic path's terms
    (:func:`infoloss._array.share_logs`, :func:`infoloss._array.normalized_cross_entropy_terms`)
    of the rows as they are, where :func:`_plain_sums` allows; the row sums of the entries not
    above half their row's sum (:func:`infoloss._array.dominant_rest`, a pass of its own) only
    where some entry is (else the logs do not read them)."""
    import jax
    import jax.numpy as jnp

    dtype = p.dtype
    working_p = _working(p)
    working_q = working_p if q is None else _working(q)
    p_total, p_plain = _plain_sums(working_p, axis)
    q_total, q_plain = (p_total, p_plain) if q is None else _plain_sums(working_q, axis)
    top = jnp.max(working_q, axis=axis, keepdims=True)
    dominant = jnp.any(top > q_total / 2)
    # every share positive, normal and at most a half: then the generic terms are these, with no
    # select per entry (a compare or select in the loop keeps XLA's CPU code from vectorising
    # the log: measured 5x the time of the plain loop); else share_logs' terms
    smallest = float(np.finfo(working_q.dtype).smallest_normal)
    # (the share, not q_total * smallest: XLA's CPU code flushes a subnormal product to 0)
    plain_shares = ~dominant & jnp.all(jnp.min(working_q, axis=axis, keepdims=True) / q_total >= smallest)

    def terms_of_plain_shares() -> Array:
        return 0.0 - (working_p / p_total) * jnp.log(working_q / q_total)

    def terms_of_any_shares() -> Array:
        rest = jax.lax.cond(
            dominant, lambda: _array.dominant_rest(jnp, working_q, q_total, axis), lambda: q_total
        )
        logs = _array.share_logs(jnp, working_q, q_total, rest)
        return _array.normalized_cross_entropy_terms(jnp, working_p, working_q, p_total, logs)

    terms = jax.lax.cond(plain_shares, terms_of_plain_shares, terms_of_any_shares)
    lean = jnp.sum(terms, axis=axis, keepdims=keepdims).astype(dtype)

    def generic() -> Array:
        name, arrays = ("entropy", [p]) if q is None else ("cross_entropy", [p, q])
        value: Array = _dispatch.generic_values(name, arrays, axis=axis, keepdims=keepdims, normalize=True)
        return value

    return jax.lax.cond(p_plain & q_plain, lambda: lean, generic)


def _normalized_kl(p: Array, q: Array, axis: int, keepdims: bool) -> Array:
    """``KL(p / sum p || q / sum q)``: :func:`_lean_normalized_kl_terms` of the rows as they
    are, where :func:`_plain_sums` allows and every term is finite, else the generic path."""
    import jax
    import jax.numpy as jnp

    dtype = p.dtype
    working_p, working_q = _working(p), _working(q)
    (p_total, p_plain), (q_total, q_plain) = _plain_sums(working_p, axis), _plain_sums(working_q, axis)
    terms = _lean_normalized_kl_terms(working_p, working_q, p_total, q_total)
    total = jnp.sum(terms, axis=axis, keepdims=keepdims)
    lean = p_plain & q_plain & jnp.all(jnp.abs(total) < math.inf)

    def generic() -> Array:
        value: Array = _dispatch.generic_values(
            "kl_divergence", [p, q], axis=axis, keepdims=keepdims, normalize=True
        )
        return value

    return jax.lax.cond(lean, lambda: total.astype(dtype), generic)


def _normalized_js(p: Array, q: Array, axis: int, keepdims: bool) -> Array:
    """``JS(p / sum p, q / sum q)``: the generic path's shares (:func:`_plain_shares`, bit for
    bit) where :func:`_plain_sums` allows, then :func:`_js_sum` of them (plain terms first, as
    without ``normalize``: the generic path's JS terms to a few ulps); else the generic path."""
    import jax

    (p_total, p_plain), (q_total, q_plain) = _plain_sums(p, axis), _plain_sums(q, axis)

    def lean() -> Array:
        return _js_sum(_plain_shares(p, p_total), _plain_shares(q, q_total), axis, keepdims)

    def generic() -> Array:
        value: Array = _dispatch.generic_values(
            "js_divergence", [p, q], axis=axis, keepdims=keepdims, normalize=True
        )
        return value

    return jax.lax.cond(p_plain & q_plain, lean, generic)


def _plain_shares(x: Array, total: Array) -> Array:
    """:func:`infoloss._array.normalize` of rows it leaves unscaled (:func:`_plain_sums`):
    ``x / total``, a positive weight whose share rounds to 0 keeping the smallest share."""
    import jax.numpy as jnp

    limits = np.finfo(x.dtype)
    out = x / total
    smallest_share = jnp.asarray(float(limits.smallest_normal) * float(limits.eps), dtype=x.dtype)
    return jnp.where((out == 0) & (x > 0), smallest_share, out)


def _lean_normalized_kl_terms(p: Array, q: Array, p_total: Array, q_total: Array) -> Array:
    """:func:`infoloss._array.normalized_kl_terms` with one logarithm per entry, the same terms
    wherever the ratio ``r`` is a normal number: ``b (r log r - (r - 1))`` for ``r`` in (1/2, 2),
    ``a log r - a + b`` elsewhere, ``b`` where ``p = 0`` (the generic function takes ``log r``
    of the near ratios and of the other normal ones in two logarithms, and two more for the
    ratios that are not normal). A term whose ratio is not normal is ``-inf`` here, and so is
    ``p > 0 = q``'s ``+inf``: such rows' sums are not finite and :func:`_normalized_kl` takes
    the generic path's. Each branch reads safe arguments (NaN-free gradients)."""
    import jax.numpy as jnp

    zero_p, zero_q = p == 0, q == 0
    one = jnp.ones_like(p)
    safe_p, safe_q = jnp.where(zero_p, one, p), jnp.where(zero_q, one, q)
    scale = q_total / p_total
    a, b = p / p_total, q / q_total
    ratio = (safe_p / safe_q) * scale
    near = (ratio > 0.5) & (ratio < 2)
    normal = (ratio >= np.finfo(p.dtype).smallest_normal) & (ratio < math.inf)
    log_ratio = jnp.log(jnp.where(normal, ratio, one))
    near_ratio = jnp.where(near, ratio, one)
    close = b * (near_ratio * log_ratio - (near_ratio - 1))
    apart = a * log_ratio - a + b
    terms = jnp.where(near, close, jnp.where(normal, apart, -math.inf))
    terms = jnp.where(zero_p, b, terms)
    return jnp.where(zero_q & ~zero_p, jnp.full_like(terms, math.inf), terms)


def _kl_sum(p: Array, q: Array, axis: int, keepdims: bool) -> Array:
    """``sum p log(p / q)`` along ``axis``: the plain terms, or :func:`_kl_terms` where needed.

    As the NumPy kernel (:mod:`._fast`) does: first the plain terms (:func:`_plain_terms`, one
    division and one ``log`` per entry, as ``rel_entr``); where some row's total is not finite
    (a ratio that under- or overflowed gives ``-inf`` or ``inf`` there; so does ``p > 0 = q``,
    whose KL is ``inf``) or is below an eighth of its mass ``sum p`` (nearly equal
    distributions, where the ratios' rounding is all there is of the terms; elsewhere the plain
    sum is within 4 ulps of the accurate one), the sum is computed again from the accurate
    terms. ``jax.lax.cond``: one branch runs (under ``vmap``, both). The derivatives are the
    closed forms (:func:`_divergence_sums`), which need no value: ``jax.grad`` computes only them.
    """
    return _divergence_sums()[0](p, q, axis, keepdims)


def _js_sum(p: Array, q: Array, axis: int, keepdims: bool) -> Array:
    """JS along ``axis`` as the generic path writes it, plain terms first (see :func:`_kl_sum`).

    Accurate: ``(p log(2p / (p + q)) + q log(2q / (p + q))) / 2`` from :func:`_kl_terms` of
    ``2p`` and ``2q`` against ``p + q``, less twice the rounding of ``p + q`` (TwoSum), over 4.
    Plain: the same terms by :func:`_plain_terms`, kept where every row's total is finite and
    at least 1/32 of its mass ``sum p + sum q`` in the kernel's measure (``2 JS``; there the two
    agree to 16 ulps).
    """
    return _divergence_sums()[1](p, q, axis, keepdims)


def _kl_value(p: Array, q: Array, axis: int, keepdims: bool) -> Array:
    import jax
    import jax.numpy as jnp

    total = jnp.sum(_plain_terms(p, q), axis=axis, keepdims=keepdims)
    mass = jnp.sum(p, axis=axis, keepdims=keepdims)
    magnitude = jnp.abs(total)
    redo = jnp.any(~((magnitude >= mass / 8) & (magnitude < math.inf)))  # (NaN: redone, NaN again)
    return jax.lax.cond(redo, lambda: jnp.sum(_kl_terms(p, q), axis=axis, keepdims=keepdims), lambda: total)


def _js_value(p: Array, q: Array, axis: int, keepdims: bool) -> Array:
    import jax
    import jax.numpy as jnp

    total = p + q
    doubled = jnp.sum(_plain_terms(2 * p, total) + _plain_terms(2 * q, total), axis=axis, keepdims=keepdims)
    mass = jnp.sum(total, axis=axis, keepdims=keepdims)
    magnitude = jnp.abs(doubled)  # 4 JS; the kernel's measure 2 JS < mass / 32 is this < mass / 16
    redo = jnp.any(~((magnitude >= mass / 16) & (magnitude < math.inf)))

    def accurate() -> Array:
        back = total - p
        rounding = (p - (total - back)) + (q - back)
        terms = _kl_terms(2 * p, total) + _kl_terms(2 * q, total) - 2 * rounding
        return jnp.sum(terms, axis=axis, keepdims=keepdims)

    return jax.lax.cond(redo, accurate, lambda: doubled) / 4


@functools.cache
def _divergence_sums() -> tuple[Callable[..., Array], ...]:
    """KL, JS, cross-entropy and entropy sums as ``jax.custom_jvp`` functions with closed-form
    derivatives (made once; cross-entropy's and entropy's values are the generic path's, one log
    per entry already).

    Per entry, where ``p > 0``: KL's ``d/dp = log(p / q) + 1`` and ``d/dq = -p / q`` (0 where
    ``p == 0``); JS's ``d/dp = log(2p / (p + q)) / 2`` (where ``p == 0 < q``, ``-1/2``; 0 where
    both are 0), and the same in ``q`` -- the derivatives of the generic path's terms, also at
    its zeros. No derivative needs the value, so under ``jax.grad`` the value (and its choice
    of terms) is not computed, and a zero tangent (``symbolic_zeros``) costs nothing; where a
    plain log ratio under- or overflowed the logs are :func:`_log_ratios` (``lax.cond``).
    """
    import jax
    import jax.numpy as jnp

    def plain_logs(x: Array, y: Array) -> Array:
        """``log(x / y)``, right where ``x > 0`` (the factors below take no other entry)."""
        return jnp.log(x / jnp.where(x > 0, y, jnp.ones_like(y)))

    def log_factor(make: Callable[[Callable[[Array, Array], Array]], Array]) -> Array:
        """A derivative per entry, ``make(logs)``, from the plain log ratios (``logs(x, y)`` is
        ``log(x / y)`` where ``x > 0``) or, where one of them under- or overflowed (then the
        factors' sum is not finite: every other factor is), from :func:`_log_ratios`.

        ``jax.lax.cond`` computes its operands before the choice: the whole factor is made
        first (one pass with its sum), and the rare branch makes its own from the arguments
        (which ``make`` reads), so that no log or intermediate array is written out and read
        back (measured with the choice between bare logs: 1.4x the time of the hand-written
        derivative under ``jit(grad)``, 2e7 entries).
        """
        plain = make(plain_logs)
        extreme = ~(jnp.abs(jnp.sum(plain)) < math.inf)  # (a sum: cheaper than any() on XLA's CPU)
        return jax.lax.cond(extreme, lambda: make(_log_ratios), lambda: plain)

    def given(tangent: Any) -> bool:
        return not isinstance(tangent, jax.custom_derivatives.SymbolicZero)

    kl = jax.custom_jvp(_kl_value, nondiff_argnums=(2, 3))
    js = jax.custom_jvp(_js_value, nondiff_argnums=(2, 3))

    def kl_derivative(
        axis: int, keepdims: bool, primals: tuple[Array, Array], tangents: tuple[Any, Any]
    ) -> tuple[Array, Array]:
        (p, q), (dp, dq) = primals, tangents
        positive = p > 0
        change = jnp.zeros_like(p)
        if given(dp):
            factor = log_factor(lambda logs: jnp.where(positive, logs(p, q) + 1, jnp.zeros_like(p)))
            change = change + factor * dp
        if given(dq):
            change = change - jnp.where(positive, p / jnp.where(positive, q, jnp.ones_like(q)), 0.0) * dq
        return _kl_value(p, q, axis, keepdims), jnp.sum(change, axis=axis, keepdims=keepdims)

    def js_derivative(
        axis: int, keepdims: bool, primals: tuple[Array, Array], tangents: tuple[Any, Any]
    ) -> tuple[Array, Array]:
        (p, q), (dp, dq) = primals, tangents
        change = jnp.zeros_like(p)
        for x, other, dx in ((p, q, dp), (q, p, dq)):
            if given(dx):

                def by_x(logs: Callable[[Array, Array], Array], x: Array = x, other: Array = other) -> Array:
                    return jnp.where(x > 0, logs(2 * x, x + other) / 2, jnp.where(other > 0, -0.5, 0.0))

                change = change + log_factor(by_x) * dx
        return _js_value(p, q, axis, keepdims), jnp.sum(change, axis=axis, keepdims=keepdims)

    def cross_entropy_value(p: Array, q: Array, axis: int, keepdims: bool) -> Array:
        value: Array = _dispatch.generic_values(
            "cross_entropy", [p, q], axis=axis, keepdims=keepdims, normalize=False
        )
        return value

    def cross_entropy_derivative(
        axis: int, keepdims: bool, primals: tuple[Array, Array], tangents: tuple[Any, Any]
    ) -> tuple[Array, Array]:
        """``-sum xlogy(p, q)``'s: ``d/dp = -log q``, ``d/dq = -p / q``, with xlogy's ``q = 1``
        where ``p = 0`` and ``q`` is 0 or not finite (so 0 there)."""
        (p, q), (dp, dq) = primals, tangents
        change = jnp.zeros_like(p)
        if given(dp):
            undefined = (p == 0) & ~((q > 0) & (q < math.inf))
            change = change - jnp.log(jnp.where(undefined, jnp.ones_like(q), q)) * dp
        if given(dq):
            # (p = 0 gives 0 with any q: one select, where xlogy's rule above takes five)
            change = change - (p / jnp.where(p == 0, jnp.ones_like(q), q)) * dq
        return cross_entropy_value(p, q, axis, keepdims), jnp.sum(change, axis=axis, keepdims=keepdims)

    def entropy_value(p: Array, axis: int, keepdims: bool) -> Array:
        value: Array = _dispatch.generic_values("entropy", [p], axis=axis, keepdims=keepdims, normalize=False)
        return value

    def entropy_derivative(
        axis: int, keepdims: bool, primals: tuple[Array], tangents: tuple[Array]
    ) -> tuple[Array, Array]:
        """``-sum xlogy(p, p)``'s: ``d/dp = -(log p + 1)``, 0 where ``p = 0`` (and where ``p < 0``,
        as the generic path's double ``where`` gives)."""
        (p,), (dp,) = primals, tangents
        factor = jnp.where(p > 0, jnp.log(p) + 1, jnp.zeros_like(p))
        return entropy_value(p, axis, keepdims), 0.0 - jnp.sum(factor * dp, axis=axis, keepdims=keepdims)

    cross_entropy = jax.custom_jvp(cross_entropy_value, nondiff_argnums=(2, 3))
    entropy = jax.custom_jvp(entropy_value, nondiff_argnums=(1, 2))
    kl.defjvp(kl_derivative, symbolic_zeros=True)
    js.defjvp(js_derivative, symbolic_zeros=True)
    cross_entropy.defjvp(cross_entropy_derivative, symbolic_zeros=True)
    entropy.defjvp(entropy_derivative)
    return kl, js, cross_entropy, entropy


def _log_ratios(p: Array, q: Array) -> Array:
    """``log(p / q)`` where ``p > 0`` (0 elsewhere; ``inf`` where ``q = 0``), one ``log`` per entry,
    also where the ratio under- or overflows (by :func:`_kl_terms`' exact scalings)."""
    import jax.numpy as jnp

    shift = _RANGE_SHIFT[str(p.dtype)]
    positive = p > 0
    one = jnp.ones_like(p)
    safe_p, safe_q = jnp.where(positive, p, one), jnp.where(positive, q, one)
    ratio = safe_p / safe_q
    normal = (ratio >= np.finfo(p.dtype).smallest_normal) & (ratio < math.inf)
    below = ratio < 1
    scale = jnp.where(below, 2.0**shift, 2.0**-shift).astype(p.dtype)
    inverse = jnp.where(below, 2.0**-shift, 2.0**shift).astype(p.dtype)
    scaled = (safe_p * scale) / (safe_q * inverse)
    doubled = 2 * shift * math.log(2)
    shifted = jnp.where(normal, 0.0, jnp.where(below, -doubled, doubled))
    return jnp.where(positive, jnp.log(jnp.where(normal, ratio, scaled)) + shifted, jnp.zeros_like(p))


def _plain_terms(p: Array, q: Array) -> Array:
    """``p log(p / q)`` per entry, 0 where ``p == 0``: one division, one ``log`` (``rel_entr``'s
    cost). Where ``p / q`` under- or overflows the term is ``-inf`` or ``inf`` (the sums that
    use it then take the accurate terms)."""
    import jax.numpy as jnp

    return jnp.where(p > 0, p * jnp.log(p / q), jnp.zeros_like(p))


#: Per dtype, ``k`` such that for a ratio ``p / q`` that under- or overflows,
#: ``(p * 2**k) / (q * 2**-k)`` (or with ``-k``) is a normal number, and neither product under-
#: or overflows (the ratio's exponent lies within [-emin - mantissa - emax, emin] or beyond emax).
_RANGE_SHIFT = {"float64": 550, "float32": 75}


def _kl_terms(p: Array, q: Array) -> Array:
    """``p log(p / q)`` per entry with one ``log`` per entry: 0 where ``p == 0``, ``inf`` where ``p > 0 = q``.

    The terms of :func:`infoloss._array.log_ratio_term`, to the same few ulps, from two
    logarithms per entry instead of four (XLA computes every side of a ``where``):

    * ratio in (1/2, 2): ``log1p((p - q) / q)`` (``p - q`` exact);
    * else one ``log``, of the ratio where it is a normal number, and where it under- or
      overflows of ``(p s) / (q / s)`` (less ``2 log s``), ``s = 2**+-k`` (:data:`_RANGE_SHIFT`),
      exact scalings that make the ratio normal.

    (``log1p(x)`` as ``log(1 + x)`` plus the rounding error of ``1 + x`` would save the other
    log, but XLA simplifies ``x - ((1 + x) - 1)`` to 0.) The sums use these terms only where
    the plain ones (:func:`_plain_terms`) are not accurate: see :func:`_kl_sum`.

    Differentiated only through :func:`_divergence_sums`' closed forms (autodiff through the
    scaled branch would overflow).

    >>> import jax.numpy as jnp  # float32: p / q = 1e-60 underflows; p (log p - log q)
    >>> print(f"{float(_kl_terms(jnp.asarray(1e-30), jnp.asarray(1e30))):.7g}")
    -1.381551e-28
    """
    return _kl_terms_and_logs(p, q)[0]


def _kl_terms_and_logs(p: Array, q: Array) -> tuple[Array, Array]:
    """:func:`_kl_terms` and the ``log(p / q)`` it used (1 where ``p == 0``)."""
    import jax.numpy as jnp

    shift = _RANGE_SHIFT[str(p.dtype)]
    # q = -0.0 (valid; also a negative subnormal, which XLA flushes) as +0.0, so that p > 0
    # facing it has the ratio +inf, not -inf (whose log is NaN): a select in this rare branch
    # only, as XLA folds q + 0.0 away and the plain terms' NaN sends such a row here
    q = jnp.where(q == 0, jnp.zeros_like(q), q)
    zero = p == 0
    one = jnp.ones_like(p)
    safe_p, safe_q = jnp.where(zero, one, p), jnp.where(zero, one, q)
    ratio = safe_p / safe_q
    near = (ratio > 0.5) & (ratio < 2)
    normal = (ratio >= np.finfo(p.dtype).smallest_normal) & (ratio < math.inf)
    near_p, near_q = jnp.where(near, safe_p, one), jnp.where(near, safe_q, one)
    close = jnp.log1p((near_p - near_q) / near_q)
    below = ratio < 1
    scale = jnp.where(below, 2.0**shift, 2.0**-shift).astype(p.dtype)
    inverse = jnp.where(below, 2.0**-shift, 2.0**shift).astype(p.dtype)
    far_p, far_q = jnp.where(normal, one, safe_p), jnp.where(normal, one, safe_q)
    # (products, not (p s) / (q / s): XLA rewrites a / (b / c) as a c / b, whose p s s underflows)
    scaled = (far_p * scale) / (far_q * inverse)
    log = jnp.log(jnp.where(normal & ~near, ratio, jnp.where(normal, one, scaled)))
    doubled = 2 * shift * math.log(2)
    log_ratio = jnp.where(near, close, jnp.where(normal, log, log + jnp.where(below, -doubled, doubled)))
    return jnp.where(zero, jnp.zeros_like(p), p * log_ratio), log_ratio
