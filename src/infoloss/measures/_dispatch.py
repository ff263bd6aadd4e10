"""The one dispatch seam of the measures: each backend's fast path, or None for the generic path.

``compute(name, inputs, keepdims)`` is what every public measure calls after ``prepare``:

* NumPy: :func:`._fast.compute` (the single-pass, multi-threaded kernel);
* PyTorch: :mod:`._torch` (CPU tensors through the NumPy kernel zero-copy; an autograd
  Function with the closed-form gradients when a gradient is needed);
* JAX: :mod:`._jax` (eager calls run one cached jitted program per shape, dtype and options,
  with the checks fused into it; under tracing KL and JS take its lean terms, no checks);
* Dask: :mod:`._dask` (each chunk through the NumPy kernel, the checks in the same graph).

Every backend returns what ``_fast.compute`` returns (the unclamped values with the reduced
axis removed or kept, a pair ``(entropy, kl)`` for ``decompose``), or None, and then the
generic array-API code in ``measures/__init__.py`` runs; under ``torch.compile`` and
``torch.func`` tracing, and under ``jax.jit`` but for JAX's KL and JS, every backend returns
None. The public function applies the one clamping rule and the unit to whatever came back.
A backend path may compute its values by calling the public function with ``validate=False``
inside :func:`generic_only`, which makes this seam answer None (the generic path, exactly),
after checking the input its own way.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeAlias

from .. import _array
from .._typing import Array
from . import _fast

if TYPE_CHECKING:
    from .._convert import Inputs

#: What a backend's fast path gives: the values, a pair (entropy, kl) for ``decompose``, or
#: None (the generic path runs).
Result: TypeAlias = Array | tuple[Array, Array] | None

_GENERIC_ONLY = contextvars.ContextVar("infoloss_generic_only", default=False)


def compute(name: str, inputs: Inputs, keepdims: bool) -> Result:
    """The measure ``name`` from its backend's fast path, or None for the generic path."""
    first = next(iter(inputs.arrays.values()))
    if _array.is_torch_array(first) and _array.is_tracing(first):
        return None  # (first: torch.compile cannot trace a ContextVar)
    if _GENERIC_ONLY.get():
        return None
    if _array.is_torch_array(first):
        from . import _torch

        return _torch.compute(name, inputs, keepdims)
    if _array.is_jax_array(first):
        from . import _jax

        return _jax.compute(name, inputs, keepdims)
    if _array.is_dask(first):
        from . import _dask

        return _dask.compute(name, inputs, keepdims)
    return _fast.compute(name, inputs, keepdims)


@contextlib.contextmanager
def generic_only() -> Iterator[None]:
    """Within this block :func:`compute` answers None: the public functions run the generic code."""
    token = _GENERIC_ONLY.set(True)
    try:
        yield
    finally:
        _GENERIC_ONLY.reset(token)


def public(name: str) -> Callable[..., Any]:
    """The public measure ``name`` (imported late: this module is imported by the package)."""
    from .. import measures

    return getattr(measures, name)


def generic_values(name: str, arrays: list[Array], *, axis: int, keepdims: bool, normalize: bool) -> Any:
    """The generic path's unclamped values (a pair for ``decompose``), without checks.

    Any: an array, or the pair ``(entropy, kl)`` for ``decompose`` (the caller knows which).
    """
    with generic_only():
        value = public(name)(*arrays, axis=axis, keepdims=keepdims, normalize=normalize, validate=False)
    if name == "decompose":
        return value.entropy, value.kl_divergence
    return value
