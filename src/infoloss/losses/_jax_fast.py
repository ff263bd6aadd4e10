"""JAX eager calls of :mod:`infoloss.losses`: one cached ``jax.jit`` program per loss and options.

Called eagerly, the general path dispatches each array operation on its own (tens of
microseconds apiece) and syncs the device once per value check. Here the loss itself (the same
public function, traced: its value checks skip themselves under tracing) runs as one compiled
program, cached per loss, option values and the arguments present (``jax.jit`` adds shapes and
dtypes). Validating small arrays on one CPU device (:data:`infoloss._array.HOST_CHECK_MAX_ENTRIES`; not
probability targets narrower than float32, see :func:`_host_checks`), the program is dispatched
and the checks read the inputs' own buffers with NumPy (:data:`HOST_CHECKS`) meanwhile: the
call reads no result back, so it returns as optax's do, and dispatching first keeps JAX's
worker busy (XLA's CPU client runs a program of 1000 flops or more on a worker thread, which
falls asleep after a few microseconds without work: waking it costs 10-30 us on a busy
machine). Otherwise the same program
also returns the extremes the checks need (:data:`STATS`), read with one sync. Either way the
verdict follows the rules in :mod:`._torch_fast` (shared with PyTorch's fast path): fine, the
result is returned; if not, the caller runs the general eager path, which repeats the
detailed checks and raises the precise error (argument, position, value). Under an outer
``jax.jit`` nothing changes (tracers take the general path, as before).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType, NotImplementedType
from typing import Any

import numpy as np

from .. import _array, _validate
from .._typing import Array
from . import _torch_fast as rules

#: What :func:`call` runs, from the arrays present (in order): the loss and its extremes (an array,
#: or None where no stats are read: Any, as mypy cannot tie that to ``stats is not None``).
_Program = Callable[..., tuple[Array, Any]]
#: Computes the extremes a loss's checks read, from its options and (named) arrays.
_Stats = Callable[..., Array]

_KERNELS: dict[tuple[Any, ...], _Program] = {}
_KERNELS_MAX = 256


def is_concrete(x: object) -> bool:
    """``x`` is a JAX array with values (not a tracer): JAX already imported, else it cannot be."""
    array, tracer = _array.loaded("jax", "Array"), _array.loaded("jax", "core.Tracer")
    return array is not None and tracer is not None and isinstance(x, array) and not isinstance(x, tracer)


def call(
    name: str,
    function: Callable[..., Array],
    arrays: dict[str, Array | None],
    options: dict[str, Any],
    validate: bool,
) -> Array | NotImplementedType:
    """``function(**arrays, **options, validate=False)`` as one cached jitted program, or
    NotImplemented (an unhashable option, an array that is not a concrete JAX array, extremes
    that a check would refuse: the caller then runs the general path)."""
    import jax

    present = tuple(k for k, v in arrays.items() if v is not None)
    values = [arrays[k] for k in present]
    if not all(isinstance(v, jax.Array) and not isinstance(v, jax.core.Tracer) and v.size for v in values):
        return NotImplemented  # (empty arrays: the general path, whose checks need no extremes)
    stats = STATS.get(name) if validate else None
    try:
        option_items = tuple(sorted(options.items()))
        hash(option_items)
    except TypeError:  # an unhashable option value: the general path checks and refuses it
        return NotImplemented
    if stats is None:
        return _kernel(name, function, option_items, present, options, None)(*values)[0]
    if _array.on_one_cpu(values) and _host_checks(name, arrays):
        # The loss alone is dispatched first, then checked from the host's view of the inputs
        # while JAX's worker computes it: no read of a result, so the call returns as optax's
        # do. (Checking first leaves the worker idle long enough to fall asleep: its wake-up
        # then costs 20 us on a busy machine, measured.) A failed check discards the result.
        out = _kernel(name, function, option_items, present, options, None)(*values)[0]
        try:
            passed = HOST_CHECKS[name](options, **dict(zip(present, values)))
        except Exception:  # noqa: BLE001 (mismatched shapes: the general path names them)
            return NotImplemented
        return out if passed else NotImplemented
    out, extremes = _kernel(name, function, option_items, present, options, stats)(*values)
    # (the host copy's tolist: a jax.Array's own tolist costs about 3 us more, the same numbers)
    if not _fine(name, dict(zip(present, values)), options, np.asarray(extremes).tolist()):
        return NotImplemented
    return out


def _kernel(
    name: str,
    function: Callable[..., Array],
    option_items: tuple[tuple[str, Any], ...],
    present: tuple[str, ...],
    options: dict[str, Any],
    stats: _Stats | None,
) -> _Program:
    """The jitted program for these (hashable) options and arrays (with the extremes when
    ``stats``), cached."""
    key = (name, option_items, present, stats is not None)
    kernel = _KERNELS.get(key)
    if kernel is None:
        import jax

        kernel = jax.jit(_program(function, present, options, stats))
        if len(_KERNELS) < _KERNELS_MAX:
            _KERNELS[key] = kernel
    return kernel


def _program(
    function: Callable[..., Array], present: tuple[str, ...], options: dict[str, Any], stats: _Stats | None
) -> _Program:
    def program(*values: Array) -> tuple[Array, Any]:
        named = dict(zip(present, values))
        out = function(**named, **options, validate=False)
        return out, (None if stats is None else stats(options, **named))

    return program


# --------------------------------------------------------------------------------------------
# The extremes each loss's checks read (traced), and whether they pass (on the host)
# --------------------------------------------------------------------------------------------


def _jnp() -> ModuleType:
    import jax.numpy as jnp

    return jnp


def _stats_dtype() -> Any:
    """The dtype the extremes are read in: JAX's default float (float64 with x64 enabled), so
    that float64 values (and int64 indices) are not rounded to float32 and passed by mistake."""
    return _jnp().result_type(float)


def _index_stats(
    options: dict[str, Any],
    input: Array,
    target: Array,
    weight: Array | None = None,
    mask: Array | None = None,
) -> Array:
    """(lowest, highest) kept class index, ignored (and masked) elements left out; the class
    weights' extremes."""
    jnp = _jnp()
    kept = target != options.get("ignore_index", -100)
    if mask is not None:
        kept = kept & mask
    dtype = _stats_dtype()
    safe = jnp.where(kept, target, 0).astype(dtype)
    parts = [jnp.min(safe), jnp.max(safe)]
    if weight is not None:
        parts += [jnp.min(weight).astype(dtype), jnp.max(weight).astype(dtype)]
    return jnp.stack(parts)


def _probs_stats(
    options: dict[str, Any],
    input: Array,
    target: Array,
    weight: Array | None = None,
    mask: Array | None = None,
) -> Array:
    """Extremes of the kept probability rows: the lowest entry and row sums (classes on ``axis``)."""
    jnp = _jnp()
    axis = _class_axis(options, target.ndim)
    sums = jnp.sum(target, axis=axis)
    if mask is not None:
        target = jnp.where(jnp.expand_dims(mask, axis), target, 1.0 / target.shape[axis])
        sums = jnp.where(mask, sums, 1.0)
    parts = [jnp.min(target), jnp.min(sums), jnp.max(sums)]  # (no maximum: see probabilities_ok)
    if weight is not None:
        parts += [jnp.min(weight), jnp.max(weight)]
    return jnp.stack([p.astype(_stats_dtype()) for p in parts])


def _cross_entropy_stats(
    options: dict[str, Any],
    input: Array,
    target: Array,
    weight: Array | None = None,
    mask: Array | None = None,
) -> Array:
    jnp = _jnp()
    if jnp.issubdtype(target.dtype, jnp.integer):
        return _index_stats(options, input, target, weight, mask)
    return _probs_stats(options, input, target, weight, mask)


def _kl_stats(options: dict[str, Any], input: Array, target: Array) -> Array:
    jnp = _jnp()
    if options.get("log_target"):
        return jnp.stack([jnp.any(jnp.isnan(input)), jnp.any(jnp.isnan(target))]).astype(_stats_dtype())
    return jnp.stack(
        [
            jnp.any(jnp.isnan(input)).astype(_stats_dtype()),
            jnp.min(target).astype(_stats_dtype()),
            jnp.max(target).astype(_stats_dtype()),
        ]
    )


def _binary_stats(
    options: dict[str, Any],
    input: Array,
    target: Array,
    weight: Array | None = None,
    pos_weight: Array | None = None,
    logits: bool = False,
) -> Array:
    jnp = _jnp()
    parts = [jnp.min(target), jnp.max(target)]
    if not logits:
        parts += [jnp.min(input), jnp.max(input)]
    for w in (weight, pos_weight):
        if w is not None:
            parts += [jnp.min(w), jnp.max(w)]
    return jnp.stack([p.astype(_stats_dtype()) for p in parts])


def _class_axis(options: dict[str, Any], ndim: int) -> int:
    axis = options.get("axis")
    if axis is None:
        axis = 1 if ndim >= 2 else 0
    return axis % max(ndim, 1)


def _binary_logits_stats(
    options: dict[str, Any],
    input: Array,
    target: Array,
    weight: Array | None = None,
    pos_weight: Array | None = None,
) -> Array:
    return _binary_stats(options, input, target, weight, pos_weight, logits=True)


STATS: dict[str, _Stats] = {
    "cross_entropy": _cross_entropy_stats,
    "nll_loss": _index_stats,
    "kl_div": _kl_stats,
    "binary_cross_entropy": _binary_stats,
    "binary_cross_entropy_with_logits": _binary_logits_stats,
}


def _fine(name: str, arrays: dict[str, Array], options: dict[str, Any], extremes: list[float]) -> bool:
    """Do the extremes pass the checks the general path would run? (False: it runs them.)"""
    input, target = arrays["input"], arrays["target"]
    if name in ("cross_entropy", "nll_loss") and target.dtype.kind in "iu":  # (class indices)
        n_classes = input.shape[_class_axis(options, input.ndim)]
        return rules.indices_ok(extremes[0], extremes[1], n_classes) and _non_negative(extremes[2:])
    if name == "cross_entropy":
        low, low_sum, high_sum = extremes[:3]
        return rules.probabilities_ok(low, low_sum, high_sum, _validate.sum_tolerance(target.dtype)) and (
            _non_negative(extremes[3:])
        )
    if name == "kl_div":
        if options.get("log_target"):
            return extremes == [0.0, 0.0]
        return extremes[0] == 0.0 and _non_negative(extremes[1:])
    low, high = extremes[:2]
    rest = extremes[2:]
    if name == "binary_cross_entropy":
        return rules.unit_ok(low, high) and rules.unit_ok(rest[0], rest[1]) and _non_negative(rest[2:])
    return rules.unit_ok(low, high) and _non_negative(rest)


def _non_negative(extremes: list[float]) -> bool:
    """Pairs (min, max) of weights: finite and >= 0."""
    return all(rules.non_negative_ok(extremes[i], extremes[i + 1]) for i in range(0, len(extremes), 2))


# --------------------------------------------------------------------------------------------
# The same checks on the host (small arrays on a CPU device): NumPy reads the inputs' own
# buffers, so nothing waits on JAX's worker thread. True: the general path's checks pass;
# False: they may not (the general path runs them and raises the precise error).
# --------------------------------------------------------------------------------------------


def _host_checks(name: str, arrays: dict[str, Array | None]) -> bool:
    """Does :data:`HOST_CHECKS` check this call? Not probability targets narrower than float32
    (float16, bfloat16: their row sums are left to the program's extremes). Checking float32
    probabilities on the host (row sums about 3 us for 64x10) measured 12-20 us faster a call
    than the program's extremes, which make the program too large for XLA to run on the
    calling thread (it then waits for JAX's worker: `bench_backends.py --part losses --small`)."""
    target = arrays["target"]
    assert target is not None  # (every loss has a target)
    return (
        name != "cross_entropy" or target.dtype.kind in "iu" or target.dtype in _validate.QUICK_CHECK_DTYPES
    )


def _host_indices(
    options: dict[str, Any],
    input: Array,
    target: Array,
    weight: Array | None = None,
    mask: Array | None = None,
) -> bool:
    """Kept class indices in [0, C) (check_class_indices); the class weights finite, >= 0."""
    indices = np.asarray(target)
    n_classes = input.shape[_class_axis(options, input.ndim)]
    if not rules.indices_ok(_lowest(indices, None), _highest(indices, None), n_classes):
        # (ignored or masked elements may hold anything: only the kept ones count)
        kept = indices != options.get("ignore_index", -100)
        if mask is not None:
            kept &= np.asarray(mask)
        kept_indices = np.where(kept, indices, 0)
        if not rules.indices_ok(_lowest(kept_indices, None), _highest(kept_indices, None), n_classes):
            return False
    return weight is None or _host_non_negative(weight)


def _host_cross_entropy(
    options: dict[str, Any],
    input: Array,
    target: Array,
    weight: Array | None = None,
    mask: Array | None = None,
) -> bool:
    """Class indices as :func:`_host_indices`; probabilities as check_probability_targets:
    kept entries >= 0, each kept row summing to 1 within the dtype's tolerance."""
    if target.dtype.kind in "iu":
        return _host_indices(options, input, target, weight, mask)
    probs = np.asarray(target)
    axis = _class_axis(options, probs.ndim)
    if mask is not None:  # (masked rows may hold anything: they count as a uniform row)
        probs = np.where(np.expand_dims(np.asarray(mask), axis), probs, 1.0 / probs.shape[axis])
    if not _validate.distributions_pass(probs, axis, normalize=False):
        return False
    return weight is None or _host_non_negative(weight)


#: The least and greatest entry (NaN if any entry is; axis None): the ufuncs' own reductions,
#: without the Python wrapper of ``ndarray.min`` (a few tenths of a microsecond each).
_lowest, _highest = np.minimum.reduce, np.maximum.reduce


def _host_kl(options: dict[str, Any], input: Array, target: Array) -> bool:
    """No NaN in input (check_not_nan: a minimum is NaN when an entry is); the target finite and
    >= 0, or with ``log_target`` not NaN."""
    lowest_input = _lowest(np.asarray(input), None)
    if lowest_input != lowest_input:
        return False
    target_values = np.asarray(target)
    if options.get("log_target"):
        lowest_target = _lowest(target_values, None)
        return bool(lowest_target == lowest_target)
    return rules.non_negative_ok(_lowest(target_values, None), _highest(target_values, None))


def _host_binary(
    options: dict[str, Any],
    input: Array,
    target: Array,
    weight: Array | None = None,
    pos_weight: Array | None = None,
    logits: bool = False,
) -> bool:
    """The target (and input, unless logits) in [0, 1]; the weights finite, >= 0."""
    target_values = np.asarray(target)
    if not rules.unit_ok(_lowest(target_values, None), _highest(target_values, None)):
        return False
    if not logits:
        input_values = np.asarray(input)
        if not rules.unit_ok(_lowest(input_values, None), _highest(input_values, None)):
            return False
    return all(w is None or _host_non_negative(w) for w in (weight, pos_weight))


def _host_binary_logits(
    options: dict[str, Any],
    input: Array,
    target: Array,
    weight: Array | None = None,
    pos_weight: Array | None = None,
) -> bool:
    return _host_binary(options, input, target, weight, pos_weight, logits=True)


def _host_non_negative(weight: Array) -> bool:
    values = np.asarray(weight)
    return rules.non_negative_ok(_lowest(values, None), _highest(values, None))


HOST_CHECKS: dict[str, Callable[..., bool]] = {
    "cross_entropy": _host_cross_entropy,
    "nll_loss": _host_indices,
    "kl_div": _host_kl,
    "binary_cross_entropy": _host_binary,
    "binary_cross_entropy_with_logits": _host_binary_logits,
}
