"""JAX eager calls of :mod:`infoloss.losses`: one cached ``jax.jit`` program per loss and options.

Called eagerly, the general path dispatches each array operation on its own (tens of
microseconds apiece) and syncs the device once per value check. Here the loss itself (the same
public function, traced: its value checks skip themselves under tracing) runs as one compiled
program, cached per loss, option values and the arguments present (``jax.jit`` adds shapes and
dtypes), and, when validating, the same program also returns the extremes the checks need
(:data:`STATS`), read with one sync. Are they fine (the rules in :mod:`._torch_fast`, shared with
PyTorch's fast path), the result is returned; if not, the caller runs the general eager path,
which repeats the detailed checks and raises the precise error (argument, position, value).
Under an outer ``jax.jit`` nothing changes (tracers take the general path, as before).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType, NotImplementedType
from typing import Any

import numpy as np

from .. import _array
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
        key = (name, tuple(sorted(options.items())), present, stats is not None)
        kernel = _KERNELS.get(key)
    except TypeError:  # an unhashable option value: the general path checks and refuses it
        return NotImplemented
    if kernel is None:
        kernel = jax.jit(_program(function, present, options, stats))
        if len(_KERNELS) < _KERNELS_MAX:
            _KERNELS[key] = kernel
    out, extremes = kernel(*values)
    # (the host copy's tolist: a jax.Array's own tolist costs about 3 us more, the same numbers)
    if stats is not None and not _fine(
        name, dict(zip(present, values)), options, np.asarray(extremes).tolist()
    ):
        return NotImplemented
    return out


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
        return rules.probabilities_ok(low, low_sum, high_sum, rules.tolerance_of(target.dtype)) and (
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
