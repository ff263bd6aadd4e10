"""Every check of every public function, in one place, raising structured errors.

Each check names the argument, the position and the offending value, and says what to change.
The errors are :class:`InputError` (a ``ValueError``) and :class:`InputTypeError` (a
``TypeError``); both carry the fields ``argument``, ``index``, ``value``, ``reason`` and
``hint``, so the command line can point at its own option names, files, rows and columns
without parsing message text, and each API can suggest its own fix (the measures
``normalize=True``, the losses ``validate=False``, the command line ``--counts``). They pickle
with their fields (they are raised inside Dask tasks and worker processes).

Checks that read values run only in eager code: callers skip them under ``jax.jit``/
``torch.compile`` tracing and with ``validate=False`` (see ``_convert.prepare``).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from . import _array


# --------------------------------------------------------------------------------------------
# The errors
# --------------------------------------------------------------------------------------------


class InfolossError(Exception):
    """Base of infoloss's input errors: what is wrong, where, and what to change.

    Attributes:
      argument: the argument's name (``"p"``, ``"temperature"``), or None.
      index: the position inside it: a tuple of ints (``":"`` marks the reduced axis of a
        slice), a label of a mapping, or None for the whole argument.
      value: the offending value (a Python scalar or a short text), or None.
      reason: what is wrong, as a phrase that follows the location ("is negative").
      hint: what to change ("pass normalize=True to rescale counts or weights"), or None.
    """

    def __init__(self, reason: str, *, argument: str | None = None, index: Any = None,
                 value: Any = None, hint: str | None = None):
        self.reason = reason
        self.argument = argument
        self.index = index
        self.value = value
        self.hint = hint
        super().__init__(self.message)

    @property
    def location(self) -> str:
        """``p[1, :]``, ``p['rain']`` or ``p``: the argument and the position in it."""
        return location(self.argument, self.index)

    @property
    def message(self) -> str:
        """``location reason; hint``, e.g. ``p[1, :] sums to 0.6 ...; pass normalize=True ...``.

        A reason that starts with ``=`` and a value (``=2 is out of range``) is written right
        after the location (``axis=2``), as in the keyword the user typed.
        """
        where = self.location
        glued = self.reason.startswith("=") and not self.reason.startswith("= ")
        text = (f"{where}{self.reason}" if glued else f"{where} {self.reason}") if where else self.reason
        return f"{text}; {self.hint}" if self.hint else text

    def with_hint(self, hint: str | None):
        """The same error with another fix suggested (each API suggests its own)."""
        return type(self)(self.reason, argument=self.argument, index=self.index, value=self.value, hint=hint)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        fields = dict(argument=self.argument, index=self.index, value=self.value, hint=self.hint)
        return (_rebuild, (type(self), self.reason, fields))


class InputError(InfolossError, ValueError):
    """A value is wrong: a negative probability, a row that does not sum to 1, a bad option."""


class InputTypeError(InfolossError, TypeError):
    """A type is wrong: a string where a number is needed, a bool axis."""


def _rebuild(cls, reason, fields):
    return cls(reason, **fields)


def location(argument: str | None, index: Any = None) -> str:
    """How an error names a position: ``p``, ``p[3]``, ``p[1, :]``, ``p['rain']``."""
    if argument is None:
        return ""
    if index is None or index == ():
        return argument
    if isinstance(index, tuple) and all(i == ":" or isinstance(i, (int, np.integer)) for i in index):
        return f"{argument}[{', '.join(str(i) for i in index)}]"
    return f"{argument}[{index!r}]"  # a label of a mapping (even a tuple of strings)


# The fix each API suggests for a row that does not sum to 1 (check_distribution's ``hint``).
MEASURE_HINT = "pass normalize=True to rescale counts or weights"
LOSS_HINT = (
    "make each target row sum to 1 (divide counts by their sum, or apply softmax to scores), "
    "or pass validate=False to skip this check"
)

def check_distribution(
    xp, x, name: str, axis: int, *, normalize: bool, labels=None, input_dtype=None, hint: str | None = None
) -> None:
    """Raise :class:`InputError` unless ``x`` holds distributions along ``axis``.

    Every entry must be finite and >= 0. Without ``normalize`` each slice along ``axis`` must
    sum to 1 within a tolerance set by the dtype (``sqrt(eps)``: 1.5e-8 in float64, 3.5e-4 in
    float32, 8.8e-2 in bfloat16); ``input_dtype`` is the dtype the user passed when ``x`` is a
    float32 working copy of float16/bfloat16 input. With ``normalize`` a slice must merely have
    a positive sum.

    ``hint`` is the caller's advice for a slice that does not sum to 1 (each API has its own:
    :data:`MEASURE_HINT`, :data:`LOSS_HINT`, the command line's ``--counts``).

    The error's ``index`` is the entry (``(1, 2)``), the slice (``(1, ":")``, ``":"`` at the
    reduced axis), a label of ``labels`` (``'snow'``), or None for a 1-d ``x`` as a whole.

    >>> check_distribution(np, np.array([0.5, 0.4]), "p", 0, normalize=False, hint=MEASURE_HINT)
    Traceback (most recent call last):
    ...
    infoloss._validate.InputError: p sums to 0.9 along axis 0, not 1 (tolerance 1.5e-08 for float64); pass normalize=True to rescale counts or weights
    """
    if 0 in x.shape:  # no distributions at all (e.g. shape (0, 3)): nothing to check, and
        return  # min/max of an empty array raise
    lowest, highest, sums = xp.min(x), xp.max(x), xp.sum(x, axis=axis)
    if _array.is_dask(x):
        import dask

        lowest, highest, sums = dask.compute(lowest, highest, sums)
    # min/max propagate NaN, so one comparison catches NaN, negative and infinite entries.
    if not (bool(lowest >= 0) and bool(highest < math.inf)):
        _raise_bad_entry(x, name, labels)
    if normalize:
        bad_rows = sums <= 0
        if bool(xp.any(bad_rows)):
            row = _first_true(bad_rows)
            raise InputError(
                f"sums to 0 along axis {axis}", argument=name, index=_slice_index(row, axis, x.ndim), value=0.0,
                hint="normalize=True cannot rescale an all-zero slice",
            )
        return
    dtype = x.dtype if input_dtype is None else input_dtype
    tolerance = sum_tolerance(dtype)
    bad_rows = xp.abs(sums - 1) > tolerance
    if bool(xp.any(bad_rows)):
        row = _first_true(bad_rows)
        total = float(_array.to_numpy(sums)[row]) if row else float(_array.to_numpy(sums))
        raise InputError(
            f"sums to {total!r} along axis {axis}, not 1 (tolerance {tolerance:.2g} for {_dtype_name(dtype)})",
            argument=name, index=_slice_index(row, axis, x.ndim), value=total, hint=hint,
        )


def sum_tolerance(dtype) -> float:
    """How far from 1 a row sum may be: sqrt of the dtype's machine epsilon."""
    name = _dtype_name(dtype)
    eps = {
        "float64": 2.220446049250313e-16,
        "float32": 1.1920929e-07,
        "float16": 9.765625e-04,
        "bfloat16": 7.8125e-03,
    }.get(name, 1.1920929e-07)
    return math.sqrt(eps)


def check_axis(name: str, shape: tuple, axis) -> int:
    """``axis`` as a non-negative int, or a clear error for 0-d input, bad or empty axes.

    >>> check_axis("p", (2, 3), -1)
    1
    >>> check_axis("p", (2, 3), 2)
    Traceback (most recent call last):
    ...
    infoloss._validate.InputError: axis=2 is out of range for p with 2 dimension(s), shape (2, 3)
    """
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise InputTypeError(f"must be an int, got axis={axis!r}", argument="axis", value=_short_value(axis))
    ndim = len(shape)
    if ndim == 0:
        raise InputError("must have at least one dimension (a distribution), got a scalar", argument=name,
                         value=tuple(shape))
    if not -ndim <= axis < ndim:
        raise InputError(f"={axis} is out of range for {name} with {ndim} dimension(s), shape {tuple(shape)}",
                         argument="axis", value=int(axis))
    axis = int(axis) % ndim
    if shape[axis] == 0:
        raise InputError(f"has an empty axis {axis} (shape {tuple(shape)}); a distribution needs at least one entry",
                         argument=name, value=tuple(shape))
    return axis


def check_same_support(shapes: dict, axis: int) -> None:
    """``p`` and ``q`` need the same length along ``axis``; other dims must broadcast.

    The error concerns both arguments, so its ``argument`` is None and its ``value`` is the
    pair of shapes.
    """
    (name_a, shape_a), (name_b, shape_b) = shapes.items()
    if len(shape_a) != len(shape_b) or shape_a[axis] != shape_b[axis]:
        raise InputError(
            f"shape mismatch: {name_a} has shape {shape_a} and {name_b} has shape {shape_b}; "
            f"they need the same number of dimensions and the same length along axis {axis}",
            value=(tuple(shape_a), tuple(shape_b)),
        )
    try:
        np.broadcast_shapes(shape_a, shape_b)
    except ValueError:
        raise InputError(
            f"shape mismatch: {name_a} has shape {shape_a} and {name_b} has shape {shape_b}, "
            "which do not broadcast",
            value=(tuple(shape_a), tuple(shape_b)),
        ) from None


# --------------------------------------------------------------------------------------------
# Scalar options: one rule per option, the same in every function that takes it.
# A value of the wrong type (a string, a bool, None where a number is needed) raises
# InputTypeError; a number outside the accepted range (or not finite) raises InputError.
# --------------------------------------------------------------------------------------------


def check_real(name: str, value, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False, allow_none: bool = False,
               meaning: str = "") -> None:
    """A finite real number (Python or NumPy scalar, not bool) in the stated range.

    ``low``/``high`` are the bounds (inclusive unless ``*_open``); ``meaning`` says what the
    option does, for the message ("2 gives bits").
    """
    if value is None and allow_none:
        return
    range_text = _range_text(low, high, low_open, high_open)
    extra = f" ({meaning})" if meaning else ""
    none_text = " or None" if allow_none else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InputTypeError(f"must be a real number{range_text}{none_text}{extra}, got {name}={value!r}",
                             argument=name, value=_short_value(value))
    number = float(value) if not isinstance(value, int) else value
    ok = isinstance(number, int) or math.isfinite(number)
    if ok and low is not None:
        ok = number > low if low_open else number >= low
    if ok and high is not None:
        ok = number < high if high_open else number <= high
    if not ok:
        raise InputError(f"must be a finite number{range_text}{none_text}{extra}, got {name}={value!r}",
                         argument=name, value=_short_value(value))


def check_integer(name: str, value, *, low: int | None = None, allow_none: bool = False, meaning: str = "") -> None:
    """A Python or NumPy integer (not bool), at least ``low``."""
    if value is None and allow_none:
        return
    extra = f" ({meaning})" if meaning else ""
    none_text = " or None" if allow_none else ""
    bound = f" >= {low}" if low is not None else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise InputTypeError(f"must be an int{bound}{none_text}{extra}, got {name}={value!r}",
                             argument=name, value=_short_value(value))
    if low is not None and value < low:
        raise InputError(f"must be an int{bound}{none_text}{extra}, got {name}={value!r}",
                         argument=name, value=int(value))


def check_choice(name: str, value, allowed: tuple) -> None:
    """One of ``allowed`` (strings such as reductions and modes)."""
    if not isinstance(value, str) or value not in allowed:
        raise InputError(f"must be one of {', '.join(map(repr, allowed))}, got {name}={value!r}",
                         argument=name, value=_short_value(value))


def check_temperature(temperature) -> None:
    check_real("temperature", temperature, low=0, low_open=True)


def check_base(base) -> None:
    check_real("base", base, low=0, low_open=True, allow_none=True, meaning="2 gives bits, None nats")
    if base is not None and base == 1:
        raise InputError("must be a finite number > 0 other than 1 (2 gives bits, None nats), got base=1",
                         argument="base", value=base)


def check_fraction(name: str, value, *, low_open: bool = False, high_open: bool = False) -> None:
    check_real(name, value, low=0, high=1, low_open=low_open, high_open=high_open)


def check_chunk_size(chunk_size) -> None:
    check_integer("chunk_size", chunk_size, low=1, allow_none=True, meaning="rows per chunk")


def _range_text(low, high, low_open, high_open) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high}"
    return ""


def _short_value(value, limit: int = 60):
    """The value for an error's ``value`` field: scalars as they are, anything else as short text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        text = value if not isinstance(value, str) or len(value) <= limit else value[:limit] + "..."
        return text
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# --------------------------------------------------------------------------------------------
# Message helpers (error path only: they may copy to NumPy)
# --------------------------------------------------------------------------------------------


def _raise_bad_entry(x, name, labels):
    values = _array.to_numpy(x)
    bad = ~(np.isfinite(values) & (values >= 0))
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    value = float(values[index])
    if math.isnan(value):
        what = "is NaN"
    elif math.isinf(value):
        what = f"is infinite ({value})"
    else:
        what = f"= {value!r} is negative"
    where = labels[index[0]] if labels is not None else (index or None)
    raise InputError(what, argument=name, index=where, value=value,
                     hint="probabilities must be finite and >= 0")


def _entry_name(name, index) -> str:
    """``p[1, 2]`` (``p`` for the empty index): the position in a message."""
    return location(name, index)


def _first_true(mask) -> tuple:
    found = np.argwhere(np.asarray(_array.to_numpy(mask)))
    return tuple(int(i) for i in found[0]) if found.size else ()


def _slice_index(row: tuple, axis: int, ndim: int):
    """The index of a slice along ``axis``: ``(1, ":")``; None for a 1-d array as a whole."""
    if ndim == 1:
        return None
    parts: list = list(row)
    parts.insert(axis, ":")
    return tuple(parts)


def _dtype_name(dtype) -> str:
    return str(dtype).rsplit(".", 1)[-1].replace("'", "").replace(">", "")
