"""Argument handling for :mod:`infoloss.losses`: conversion, class axis, targets, weights.

Every check names the argument, the position and the value. Checks that look at values
(class indices in range, non-negative weights, probabilities) run only in eager code: they are
skipped under ``jax.jit``/``torch.compile`` tracing and with ``validate=False``. Shape and dtype
checks are free (they read metadata only) and always run.
"""

from __future__ import annotations

import math

import array_api_compat
import numpy as np

from .. import _array, _validate

REDUCTIONS = ("none", "mean", "sum")


def arrays_of_one_kind(named: dict):
    """``{name: value}`` as arrays of one kind, and their namespace.

    Python sequences become NumPy arrays (integers stay integers), or, beside an array of
    another library, that library's arrays on the same device. ``None`` values stay ``None``.
    """
    template = next((v for v in named.values() if _array.is_array(v)), None)
    out = {}
    for name, value in named.items():
        if value is None or _array.is_array(value):
            out[name] = value
            continue
        try:
            as_numpy = np.asarray(value)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must be an array or a sequence of numbers; could not read it ({error})") from None
        if as_numpy.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers, got {as_numpy.dtype} values")
        if template is None or _array.is_numpy(template):
            out[name] = as_numpy
        else:
            xp = array_api_compat.array_namespace(template)
            out[name] = xp.asarray(as_numpy, device=array_api_compat.device(template))
    present = [(name, a) for name, a in out.items() if a is not None]
    return out, _array.array_namespace(*present)


def compute_dtype(xp, x, name: str):
    """``x`` in the dtype to compute in, and the dtype to return: float16/bfloat16 go through
    float32, integer input through the default float dtype."""
    if xp.isdtype(x.dtype, "bool"):
        raise TypeError(f"{name} must be real numbers (logits or probabilities), got dtype bool")
    return _array.floating(xp, x)


def class_axis(name: str, shape: tuple, axis) -> int:
    """The class axis as a non-negative int; ``None`` means PyTorch's (1 if ndim >= 2, else 0)."""
    if axis is None:
        axis = 1 if len(shape) >= 2 else 0
    return _validate.check_axis(name, shape, axis)


def check_reduction(reduction, allowed=REDUCTIONS) -> None:
    if reduction not in allowed:
        raise ValueError(f"reduction must be one of {', '.join(map(repr, allowed))}; got reduction={reduction!r}")


def check_fraction(name: str, value, *, low_open=False, high_open=False) -> None:
    """A number in [0, 1] (ends excluded where asked)."""
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and (0 < value if low_open else 0 <= value)
    ok = ok and (value < 1 if high_open else value <= 1)
    if not ok:
        low, high = ("(" if low_open else "["), (")" if high_open else "]")
        raise ValueError(f"{name} must be a number in {low}0, 1{high}, got {name}={value!r}")


def check_temperature(temperature) -> None:
    ok = isinstance(temperature, (int, float, np.floating, np.integer)) and not isinstance(temperature, bool)
    if not (ok and math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite number > 0, got temperature={temperature!r}")


def target_kind(xp, input, target, axis: int) -> str:
    """``'index'`` for class-index targets, ``'probs'`` for class-probability targets.

    PyTorch's rule: integer targets are class indices with ``input``'s shape minus the class
    axis; floating targets are probabilities with ``input``'s full shape.
    """
    index_shape = tuple(s for i, s in enumerate(input.shape) if i != axis)
    shape = tuple(target.shape)
    if xp.isdtype(target.dtype, "integral"):
        if shape != index_shape:
            raise ValueError(
                f"target has shape {shape}, but class-index targets need input's shape without "
                f"the class axis {axis}: {index_shape} (input has shape {tuple(input.shape)})"
            )
        return "index"
    if xp.isdtype(target.dtype, "real floating"):
        if shape == tuple(input.shape):
            return "probs"
        if shape == index_shape:
            raise TypeError(
                f"target has shape {shape}, the shape of class indices, but floating dtype "
                f"{_validate._dtype_name(target.dtype)}; class indices must be integers (e.g. "
                "target.long() or target.astype(int)), probability targets need input's shape "
                f"{tuple(input.shape)}"
            )
        raise ValueError(
            f"probability targets need input's shape {tuple(input.shape)}, got target of shape {shape}"
        )
    raise TypeError(
        f"target must hold integer class indices or floating probabilities, got dtype {target.dtype}"
    )


def should_validate(validate: bool, *arrays) -> bool:
    return bool(validate) and not any(_array.is_tracing(a) for a in arrays if a is not None)


def check_class_indices(xp, target, n_classes: int, ignore_index: int, keep=None) -> None:
    """Every kept target is a class index in [0, n_classes) or ``ignore_index``."""
    bad = ((target < 0) | (target >= n_classes)) & (target != ignore_index)
    if keep is not None:
        bad = bad & keep
    if bool(xp.any(bad)):
        position = _validate._first_true(bad)
        value = int(_array.to_numpy(target)[position])
        raise ValueError(
            f"{_validate._entry_name('target', position)} = {value} is not a class index for "
            f"{n_classes} classes (0 to {n_classes - 1}) nor ignore_index={ignore_index}"
        )


def class_weight(xp, weight, n_classes: int, dtype, validate: bool, name: str = "weight"):
    """A 1-D, finite, non-negative weight per class, in ``dtype``."""
    if weight is None:
        return None
    if tuple(weight.shape) != (n_classes,):
        raise ValueError(f"{name} must have shape ({n_classes},), one entry per class; got shape {tuple(weight.shape)}")
    weight = weight if weight.dtype == dtype else xp.astype(weight, dtype)
    if validate:
        check_non_negative(xp, weight, name)
    return weight


def check_non_negative(xp, x, name: str) -> None:
    if not bool(xp.all(xp.isfinite(x) & (x >= 0))):
        values = _array.to_numpy(x)
        position = tuple(int(i) for i in np.argwhere(~(np.isfinite(values) & (values >= 0)))[0])
        raise ValueError(
            f"{_validate._entry_name(name, position)} = {float(values[position])!r}; {name} entries "
            "must be finite and >= 0"
        )


def check_in_unit_interval(xp, x, name: str) -> None:
    if not bool(xp.all((x >= 0) & (x <= 1))):
        values = _array.to_numpy(x)
        position = tuple(int(i) for i in np.argwhere(~((values >= 0) & (values <= 1)))[0])
        raise ValueError(
            f"{_validate._entry_name(name, position)} = {float(values[position])!r}; {name} must "
            "hold probabilities in [0, 1]"
        )


def check_not_nan(xp, x, name: str) -> None:
    if bool(xp.any(xp.isnan(x))):
        position = _validate._first_true(xp.isnan(x))
        raise ValueError(f"{_validate._entry_name(name, position)} is NaN")


def element_mask(xp, mask, shape: tuple, name: str = "mask"):
    """A boolean array with the per-element loss shape (input's shape without the class axis)."""
    if mask is None:
        return None
    if not xp.isdtype(mask.dtype, "bool"):
        raise TypeError(f"{name} must be a boolean array (True = keep), got dtype {mask.dtype}")
    if tuple(mask.shape) != tuple(shape):
        raise ValueError(
            f"{name} must have the shape of the per-element loss {tuple(shape)} (input's shape "
            f"without the class axis); got shape {tuple(mask.shape)}"
        )
    return mask


def along_axis(xp, vector, ndim: int, axis):
    """A 1-D ``vector`` shaped to broadcast along ``axis`` of an ``ndim``-dimensional array.

    ``axis=None`` leaves it as it is (NumPy/PyTorch broadcasting against the last axis).
    """
    if axis is None or vector is None or vector.ndim != 1 or ndim == 0:
        return vector
    axis = _validate.check_axis("input", (1,) * ndim, axis)
    shape = [1] * ndim
    shape[axis] = vector.shape[0]
    return xp.reshape(vector, tuple(shape))


def safe_denominator(xp, total):
    """``total`` with 0 replaced by 1: a 'mean' over nothing is 0 (with a zero gradient), not NaN."""
    return xp.where(total == 0, xp.ones_like(total), total)


def restore(xp, value, dtype):
    return value if value.dtype == dtype else xp.astype(value, dtype)
