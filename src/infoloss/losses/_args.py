"""Argument conversion for :mod:`infoloss.losses`: arrays of one kind, compute dtype, class axis,
weights and masks in shape; the checks themselves are :mod:`infoloss._validate`'s.

Checks that look at values (class indices in range, non-negative weights, probabilities) run
only in eager code: they are skipped under ``jax.jit``/``torch.compile`` tracing and with
``validate=False`` (:func:`should_validate`). Shape and dtype checks are free (they read
metadata only) and always run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _array, _validate
from .._typing import Array, DType, Namespace


def arrays_of_one_kind(named: dict[str, Any]) -> tuple[dict[str, Array], Namespace]:
    """``{name: value}`` as arrays of one kind, and their namespace.

    Python sequences become NumPy arrays (integers stay integers), or, beside an array of
    another library, that library's arrays on the same device. ``None`` values stay ``None``.
    """
    template = next((v for v in named.values() if _array.is_array(v)), None)
    out: dict[str, Array] = {}
    for name, value in named.items():
        if value is None or _array.is_array(value):
            out[name] = value
            continue
        try:
            as_numpy = np.asarray(value)
        except (TypeError, ValueError) as error:
            raise _validate.InputTypeError(
                f"must be an array or a sequence of numbers; could not read it ({error})",
                argument=name,
                value=type(value).__name__,
            ) from None
        if as_numpy.dtype.kind not in "biuf":
            raise _validate.InputTypeError(
                f"must hold real numbers, got {as_numpy.dtype} values",
                argument=name,
                value=str(as_numpy.dtype),
            )
        if template is None or _array.is_numpy(template):
            out[name] = as_numpy
        else:
            xp = _array.array_namespace(("input", template))
            out[name] = xp.asarray(as_numpy, device=_array.device(template))
    present = [(name, a) for name, a in out.items() if a is not None]
    return out, _array.array_namespace(*present)


def compute_dtype(xp: Namespace, x: Array, name: str) -> tuple[Array, DType]:
    """``x`` in the dtype to compute in, and the dtype to return: float16/bfloat16 go through
    float32, integer input through the default float dtype."""
    _validate.check_real_dtype(xp, x, name)
    return _array.floating(xp, x)


def class_axis(name: str, shape: tuple[int, ...], axis: int | None) -> int:
    """The class axis as a non-negative int; ``None`` means PyTorch's (1 if ndim >= 2, else 0)."""
    if axis is None:
        axis = 1 if len(shape) >= 2 else 0
    return _validate.check_axis(name, shape, axis)


def should_validate(validate: bool, *arrays: Array | None) -> bool:
    return bool(validate) and not any(_array.is_tracing(a) for a in arrays if a is not None)


def class_weight(
    xp: Namespace, weight: Array | None, n_classes: int, dtype: DType, validate: bool, name: str = "weight"
) -> Array | None:
    """A 1-D, finite, non-negative weight per class, in ``dtype``."""
    if weight is None:
        return None
    if tuple(weight.shape) != (n_classes,):
        raise _validate.InputError(
            f"must have shape ({n_classes},), one entry per class; got shape {tuple(weight.shape)}",
            argument=name,
            value=tuple(weight.shape),
        )
    weight = weight if weight.dtype == dtype else xp.astype(weight, dtype)
    if validate:
        _validate.check_non_negative(xp, weight, name)
    return weight


def element_mask(
    xp: Namespace, mask: Array | None, shape: tuple[int, ...], name: str = "mask"
) -> Array | None:
    """A boolean array with the per-element loss shape (input's shape without the class axis)."""
    if mask is None:
        return None
    _validate.check_loss_mask(xp, mask, shape, name)
    return mask


def along_axis(xp: Namespace, vector: Array | None, ndim: int, axis: int | None) -> Array | None:
    """A 1-D ``vector`` shaped to broadcast along ``axis`` of an ``ndim``-dimensional array.

    ``axis=None`` leaves it as it is (NumPy/PyTorch broadcasting against the last axis).
    """
    if axis is None or vector is None or vector.ndim != 1 or ndim == 0:
        return vector
    axis = _validate.check_axis("input", (1,) * ndim, axis)
    shape = [1] * ndim
    shape[axis] = vector.shape[0]
    return xp.reshape(vector, tuple(shape))


def safe_denominator(xp: Namespace, total: Array) -> Array:
    """``total`` with 0 replaced by 1: a 'mean' over nothing is 0 (with a zero gradient), not NaN."""
    return xp.where(total == 0, xp.ones_like(total), total)


def restore(xp: Namespace, value: Array, dtype: DType) -> Array:
    return value if value.dtype == dtype else xp.astype(value, dtype)
