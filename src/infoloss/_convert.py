"""The public edge: turn what users pass (arrays, sequences, label mappings) into arrays.

``prepare`` converts and shape-checks; ``Inputs.checked`` validates and normalises;
``Inputs.finish`` turns a result back into what the user passed in (an array of the input's
kind and dtype, or Python floats for sequences and mappings).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _validate, _array


@dataclass
class Inputs:
    """Arrays ready for the math, with what is needed to finish the result."""

    xp: Any
    arrays: dict[str, Any]  # name -> floating array (float32 for float16/bfloat16 input)
    axis: int
    out_dtype: Any
    to_python: bool  # sequences and mappings in: Python floats out
    labels: list | None
    normalize: bool
    validate: bool
    hint: str | None = _validate.MEASURE_HINT  # the fix suggested for a row not summing to 1

    @property
    def numpy_fast_path(self) -> bool:
        """NumPy, float32/64, C-contiguous, equal shapes, distributions along the last axis."""
        first = next(iter(self.arrays.values()))
        return (
            self.axis == first.ndim - 1
            and all(
                _array.is_numpy(a)
                and a.dtype in (np.float32, np.float64)
                and a.dtype == first.dtype
                and a.shape == first.shape
                and a.flags.c_contiguous
                for a in self.arrays.values()
            )
        )

    def checked(self) -> list:
        """The arrays after validation (unless skipped) and normalisation, broadcast together."""
        xp, axis = self.xp, self.axis
        arrays = []
        for name, x in self.arrays.items():
            if self.validate and not _array.is_tracing(x):
                _validate.check_distribution(
                    xp, x, name, axis, normalize=self.normalize, labels=self.labels,
                    input_dtype=self.out_dtype, hint=self.hint,
                )
            if self.normalize:
                x = x / xp.sum(x, axis=axis, keepdims=True)
            arrays.append(x)
        if len(arrays) == 2 and arrays[0].shape != arrays[1].shape:
            arrays = list(xp.broadcast_arrays(*arrays))
        return arrays

    def finish(self, value, *, base=None):
        """Convert nats to ``base``, restore the input dtype, or give Python floats back."""
        if base is not None:
            value = value / math.log(base)
        if self.to_python:
            out = np.asarray(value)
            return float(out) if out.ndim == 0 else out.tolist()
        if value.dtype != self.out_dtype:
            value = self.xp.astype(value, self.out_dtype)
        return value


def prepare(named: dict[str, Any], *, axis, normalize: bool, validate: bool, base=None,
            hint: str | None = _validate.MEASURE_HINT) -> Inputs:
    """Convert ``{'p': p, 'q': q}`` (or ``{'p': p}``) to arrays of one kind, checking shapes.

    ``hint`` is what the errors of :meth:`Inputs.checked` suggest for a row that does not sum
    to 1 (the measures: :data:`_validate.MEASURE_HINT`).
    """
    _validate.check_base(base)
    labels = None
    values = list(named.values())
    if any(isinstance(v, Mapping) for v in values):
        labels, converted = _from_mappings(named)
        to_python = True
    elif not any(_array.is_array(v) for v in values):
        converted = {name: _from_sequence(name, v) for name, v in named.items()}
        to_python = True
    else:
        converted = _match_arrays(named)
        to_python = False

    xp = _array.array_namespace(*converted.items())
    arrays = list(converted.values())
    common = arrays[0].dtype if len(arrays) == 1 else xp.result_type(*arrays)
    arrays = [a if a.dtype == common else xp.astype(a, common) for a in arrays]
    floats = [_array.floating(xp, a, name=name) for name, a in zip(converted, arrays)]
    out_dtype = floats[0][1]

    shapes = {name: tuple(a.shape) for name, a in zip(converted, arrays)}
    first_name = next(iter(shapes))
    axis = _validate.check_axis(first_name, shapes[first_name], axis)
    if len(shapes) == 2:
        _validate.check_same_support(shapes, axis)
    return Inputs(
        xp=xp,
        arrays={name: f for name, (f, _) in zip(converted, floats)},
        axis=axis,
        out_dtype=out_dtype,
        to_python=to_python,
        labels=labels,
        normalize=normalize,
        validate=validate,
        hint=hint,
    )


# --------------------------------------------------------------------------------------------
# Conversions
# --------------------------------------------------------------------------------------------


def _from_mappings(named: dict[str, Any]):
    """Align label -> probability mappings: p's labels first, then q's new ones.

    A label missing from one mapping has probability 0 there.
    """
    for name, value in named.items():
        if not isinstance(value, Mapping):
            raise _validate.InputTypeError(
                f"is a {type(value).__name__} but another argument is a mapping", argument=name,
                value=_validate._short_value(value),
                hint="pass label -> probability mappings for both, or arrays/sequences for both",
            )
    labels: list = []
    seen = set()
    for mapping in named.values():
        for label in mapping:
            if label not in seen:
                seen.add(label)
                labels.append(label)
    arrays = {}
    for name, mapping in named.items():
        column = np.zeros(len(labels), dtype=np.float64)
        for i, label in enumerate(labels):
            if label in mapping:
                column[i] = _number(name, label, mapping[label])
        arrays[name] = column
    return labels, arrays


def _number(name, label, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _validate.InputTypeError(f"= {value!r} is not a number", argument=name, index=label,
                                       value=_validate._short_value(value),
                                       hint="mapping values must be real numbers")
    return float(value)


def _from_sequence(name, value):
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise _validate.InputTypeError(
            "must be an array, a sequence of numbers or a label -> probability mapping; "
            f"could not read {_short(value)} as numbers ({error})", argument=name, value=_short(value),
        ) from None


def _match_arrays(named: dict[str, Any]) -> dict[str, Any]:
    """Arrays stay as they are; a sequence beside an array becomes that array's kind."""
    template = next(v for v in named.values() if _array.is_array(v))
    xp = _array.array_namespace(("array", template))
    # The sequence takes the array's dtype only if that is floating: probabilities beside an
    # integer array of counts must not be truncated to integers.
    dtype = template.dtype if xp.isdtype(template.dtype, "real floating") else None
    out = {}
    for name, value in named.items():
        if _array.is_array(value):
            out[name] = value
            continue
        try:
            out[name] = xp.asarray(_from_sequence(name, value), dtype=dtype, device=_device(template))
        except TypeError:
            out[name] = xp.asarray(_from_sequence(name, value))
    return out


def _device(x):
    import array_api_compat

    return array_api_compat.device(x)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

