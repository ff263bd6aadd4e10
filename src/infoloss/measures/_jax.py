"""The JAX path of the measures: eager calls run one cached jitted program.

Eagerly, every array-API call of the generic path is its own dispatch (and the checks read
the data three more times and wait on the device three times): about 6x the time of the same
call under the user's ``jax.jit``. Here an eager call runs ``jax.jit`` of the public function
itself (so the numbers are exactly those under the user's jit), made once per measure and
options (``jax.jit`` then compiles once per shape and dtype), with the distribution checks
computed in the same program: the entries' minimum and maximum and each row's distance from a
sum of 1 (or its smallest sum, with ``normalize=True``), read back in one sync. When they fail,
the generic checks run on the arguments for their precise message.

Under an outer ``jax.jit``, ``jax.grad`` or ``jax.vmap`` the arguments are tracers and the
generic path runs as before (the seam answers None). float16/bfloat16 input (computed in
float32, returned in its own dtype) also takes the generic path.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import _array, _validate
from .._typing import Array
from . import _dispatch

if TYPE_CHECKING:
    from .._convert import Inputs


def compute(name: str, inputs: Inputs, keepdims: bool) -> _dispatch.Result:
    """The measure of JAX arrays from the cached jitted program, or None (tracing)."""
    arrays = list(inputs.arrays.values())
    if any(_array.is_tracing(a) for a in arrays) or any(0 in a.shape for a in arrays):
        return None
    if inputs.out_dtype != arrays[0].dtype or str(arrays[0].dtype) not in ("float32", "float64"):
        return None
    axes = tuple(inputs.axis_of(a) for a in arrays)
    program = _program(name, inputs.axis, axes, keepdims, inputs.normalize, inputs.validate)
    value, valid = program(*arrays)
    if inputs.validate and not bool(valid):
        inputs.checked()  # raises the generic message (or, within rounding, accepts after all)
    return value


@functools.lru_cache(maxsize=256)
def _program(
    name: str, axis: int, axes: tuple[int, ...], keepdims: bool, normalize: bool, validate: bool
) -> Callable[..., tuple[Array | tuple[Array, Array], Array]]:
    """``jax.jit`` of the measure with its checks, for one measure and set of options."""
    import jax
    import jax.numpy as jnp

    def run(*arrays: Array) -> tuple[Array | tuple[Array, Array], Array]:
        value = _dispatch.generic_values(
            name, list(arrays), axis=axis, keepdims=keepdims, normalize=normalize
        )
        if not validate:
            return value, jnp.asarray(True)
        tolerance = _validate.sum_tolerance(arrays[0].dtype)
        valid = []
        for x, own_axis in zip(arrays, axes):
            sums = jnp.sum(x, axis=own_axis)
            rows_ok = jnp.min(sums) > 0 if normalize else jnp.max(jnp.abs(sums - 1)) <= tolerance
            valid.append((jnp.min(x) >= 0) & (jnp.max(x) < math.inf) & rows_ok)
        return value, functools.reduce(jnp.logical_and, valid)

    return jax.jit(run)
