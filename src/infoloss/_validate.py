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
from collections.abc import Sequence
from typing import Any, NoReturn, Self

import numpy as np

from . import _array
from ._typing import Array, DType, Namespace

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

    def __init__(
        self,
        reason: str,
        *,
        argument: str | None = None,
        index: Any = None,
        value: Any = None,
        hint: str | None = None,
    ):
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

    def with_hint(self, hint: str | None) -> Self:
        """The same error with another fix suggested (each API suggests its own)."""
        return type(self)(self.reason, argument=self.argument, index=self.index, value=self.value, hint=hint)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        fields = dict(argument=self.argument, index=self.index, value=self.value, hint=self.hint)
        return (_rebuild, (type(self), self.reason, fields))


class InputError(InfolossError, ValueError):
    """A value is wrong: a negative probability, a row that does not sum to 1, a bad option."""


class InputTypeError(InfolossError, TypeError):
    """A type is wrong: a string where a number is needed, a bool axis."""


# Shown as infoloss.InputError in tracebacks (the public name; pickles by it too).
for _error_class in (InfolossError, InputError, InputTypeError):
    _error_class.__module__ = "infoloss"
del _error_class


def _rebuild(cls: type[InfolossError], reason: str, fields: dict[str, Any]) -> InfolossError:
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
    xp: Namespace,
    x: Array,
    name: str,
    axis: int,
    *,
    normalize: bool,
    labels: Sequence[object] | None = None,
    input_dtype: DType = None,
    hint: str | None = None,
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
    infoloss.InputError: p sums to 0.9 along axis 0, not 1 (tolerance 1.5e-08 for float64); pass normalize=True to rescale counts or weights
    """
    if 0 in x.shape:  # no distributions at all (e.g. shape (0, 3)): nothing to check, and
        return  # min/max of an empty array raise
    # No reduction here may overflow (valid input never warns): with entries >= 0 a positive sum
    # is a positive maximum, and a slice with an entry above 1 + tolerance, invalid anyway, is
    # summed scaled by 2**-k (n <= 2**k entries: at most the largest float; exact, so the
    # comparison below is the unscaled one's). Dask's slices are summed scaled (one compute).
    lazy = _array.is_dask(x)
    dtype = x.dtype if input_dtype is None else input_dtype
    tolerance = sum_tolerance(dtype)
    length = x.shape[axis]
    # A Dask array of unknown chunk sizes (after boolean indexing) has length NaN here: 2**-64
    # covers every length an array can have.
    scale = 2.0 ** -math.ceil(math.log2(max(length, 1))) if length == length else 2.0**-64
    lowest, highest = xp.min(x), xp.max(x)
    slices: Any = xp.max(x, axis=axis) if normalize else (xp.sum(x * scale, axis=axis) if lazy else None)
    if lazy:
        import dask

        lowest, highest, slices = dask.compute(lowest, highest, slices)
    # min/max propagate NaN, so one comparison catches NaN, negative and infinite entries.
    if not (bool(lowest >= 0) and bool(highest < math.inf)):
        _raise_bad_entry(x, name, labels)
    if normalize:
        bad_rows = slices <= 0
        if bool(xp.any(bad_rows)):
            row = _first_true(bad_rows)
            raise InputError(
                f"sums to 0 along axis {axis}",
                argument=name,
                index=_slice_index(row, axis, x.ndim),
                value=0.0,
                hint="normalize=True cannot rescale an all-zero slice",
            )
        return
    if not lazy:
        scale = 1.0 if bool(highest <= 1 + tolerance) else scale
        slices = xp.sum(x if scale == 1.0 else x * scale, axis=axis)
    bad_rows = xp.abs(slices - scale) > tolerance * scale
    if bool(xp.any(bad_rows)):
        row = _first_true(bad_rows)
        total = (float(_array.to_numpy(slices)[row]) if row else float(_array.to_numpy(slices))) / scale
        raise InputError(
            f"sums to {total!r} along axis {axis}, not 1 (tolerance {tolerance:.2g} for {_dtype_name(dtype)})",
            argument=name,
            index=_slice_index(row, axis, x.ndim),
            value=total,
            hint=hint,
        )


#: The dtypes :func:`distributions_pass` reads.
QUICK_CHECK_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def distributions_pass(values: np.ndarray, axis: int, *, normalize: bool) -> bool:
    """A quick :func:`check_distribution` of a non-empty float32 or float64 NumPy array (a host
    view of a small array): True where that check passes, False where it may not (the caller
    then runs it, for its error or its verdict).

    Entries finite and >= 0 (the minimum is NaN if any entry is); each slice along ``axis``
    summing to 1 within the tolerance of its dtype, or with ``normalize`` having a positive
    maximum. The sums are taken in float64, where
    check_distribution sums in the array's dtype: a slice within a margin of ``4 n eps``
    (``n`` entries) of the tolerance is left to it. Nothing warns (no sum can overflow: an
    entry above ``1 + tolerance`` fails first).

    >>> rows = np.array([[0.5, 0.5], [0.2, 0.7]])
    >>> distributions_pass(rows, -1, normalize=False), distributions_pass(rows, -1, normalize=True)
    (False, True)
    """
    tolerance = sum_tolerance(values.dtype)
    low, high = np.minimum.reduce(values, None), np.maximum.reduce(values, None)
    if not low >= 0:  # (also NaN)
        return False
    if normalize:
        return bool(high < math.inf and np.minimum.reduce(np.maximum.reduce(values, axis), None) > 0)
    if not high <= 1 + tolerance:
        return False
    deviation = np.maximum.reduce(np.abs(np.add.reduce(values, axis, dtype=np.float64) - 1), None)
    return bool(deviation <= tolerance - 4 * values.shape[axis] * float(np.finfo(values.dtype).eps))


def sum_tolerance(dtype: DType) -> float:
    """How far from 1 a row sum may be: sqrt of the dtype's machine epsilon (remembered per
    dtype: every call of a measure or loss asks)."""
    key = (type(dtype), dtype)  # (the type first: dtypes of two libraries may not be compared)
    tolerance = _TOLERANCES.get(key)
    if tolerance is None:
        eps = {
            "float64": 2.220446049250313e-16,
            "float32": 1.1920929e-07,
            "float16": 9.765625e-04,
            "bfloat16": 7.8125e-03,
        }.get(_dtype_name(dtype), 1.1920929e-07)
        tolerance = math.sqrt(eps)
        if len(_TOLERANCES) < 64:
            _TOLERANCES[key] = tolerance
    return tolerance


_TOLERANCES: dict[tuple[type, Any], float] = {}


def check_axis(name: str, shape: tuple[int, ...], axis: Any) -> int:
    """``axis`` as a non-negative int, or a clear error for 0-d input, bad or empty axes.

    >>> check_axis("p", (2, 3), -1)
    1
    >>> check_axis("p", (2, 3), 2)
    Traceback (most recent call last):
    ...
    infoloss.InputError: axis=2 is out of range for p with 2 dimension(s), shape (2, 3)
    """
    _check_axis_type(axis)
    if len(shape) == 0:
        raise InputError(
            "must have at least one dimension (a distribution), got a scalar",
            argument=name,
            value=tuple(shape),
        )
    axis = check_axis_range(name, shape, axis)
    if shape[axis] == 0:
        raise InputError(
            f"has an empty axis {axis} (shape {tuple(shape)}); a distribution needs at least one entry",
            argument=name,
            value=tuple(shape),
        )
    return axis


def check_axis_range(name: str, shape: tuple[int, ...], axis: Any) -> int:
    """``axis`` of an array of ``shape`` (an int in ``[-ndim, ndim)``) as a non-negative int.

    A 0-d array has one axis here, 0 (``-1``), as for NumPy's and torch's reductions (the
    logit helpers treat a scalar as a row of length 1). Empty axes are allowed.

    >>> check_axis_range("z", (), -1)
    0
    >>> check_axis_range("z", (2, 3), 5)
    Traceback (most recent call last):
    ...
    infoloss.InputError: axis=5 is out of range for z with 2 dimension(s), shape (2, 3)
    """
    _check_axis_type(axis)
    ndim = max(len(shape), 1)
    if not -ndim <= axis < ndim:
        raise InputError(
            f"={axis} is out of range for {name} with {len(shape)} dimension(s), shape {tuple(shape)}",
            argument="axis",
            value=int(axis),
        )
    return int(axis) % ndim


def _check_axis_type(axis: object) -> None:
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise InputTypeError(f"must be an int, got axis={axis!r}", argument="axis", value=_short_value(axis))


def check_array(name: str, x: Any) -> None:
    """Refuse arrays whose values infoloss cannot read as they are meant.

    - NumPy masked arrays (``numpy.ma``): the math would silently use the hidden values. The
      mask is not guessed at (dropping entries changes the rows' lengths; zeros change the
      sums): pass ``x.filled(0)`` (masked entries count as probability 0, with
      ``normalize=True`` for counts) or ``x.compressed()`` (a 1-d row of the kept entries).
    - torch sparse tensors (no dense math here) and meta tensors (shapes without values).

    >>> check_array("p", np.ma.masked_array([0.5, 0.5], mask=[False, True]))
    Traceback (most recent call last):
    ...
    infoloss.InputTypeError: p is a numpy masked array, whose mask infoloss would ignore; pass p.filled(0) to count masked entries as 0 (with normalize=True for counts), or p.compressed() for the kept entries of a 1-d row
    """
    # np.ma is one of NumPy's lazy submodules: not loaded (or half-loaded by another thread),
    # nothing can be a masked array yet
    masked_type = _array.loaded("numpy.ma", "MaskedArray")
    if masked_type is not None and isinstance(x, masked_type):
        raise InputTypeError(
            "is a numpy masked array, whose mask infoloss would ignore",
            argument=name,
            value="numpy.ma.MaskedArray",
            hint=f"pass {name}.filled(0) to count masked entries as 0 (with normalize=True for counts), "
            f"or {name}.compressed() for the kept entries of a 1-d row",
        )
    if type(x).__module__.partition(".")[0] != "torch":
        return
    import torch  # x is a torch tensor

    if x.layout != torch.strided:
        raise InputTypeError(
            f"is a sparse torch tensor (layout {x.layout})",
            argument=name,
            value=str(x.layout),
            hint=f"pass {name}.to_dense()",
        )
    if x.device.type == "meta":
        raise InputTypeError(
            "is a torch tensor on the meta device, which has a shape but no values",
            argument=name,
            value="meta",
            hint="pass a tensor on a real device (cpu, cuda)",
        )


def check_same_support(shapes: dict, axis: int) -> None:
    """``p`` and ``q`` need the same length along ``axis``; other dims broadcast as in NumPy.

    ``axis`` (non-negative) counts in the broadcast shape; an argument with fewer dimensions
    lacks the leading ones, and must still have the axis itself (a distribution is never
    broadcast along its own axis). The error concerns both arguments, so its ``argument`` is
    None and its ``value`` is the pair of shapes.

    >>> check_same_support({"p": (1000, 50), "q": (50,)}, 1)
    >>> check_same_support({"p": (2, 3), "q": (4,)}, 1)
    Traceback (most recent call last):
    ...
    infoloss.InputError: shape mismatch: p has shape (2, 3) and q has shape (4,); they need the same length along axis 1
    """
    (name_a, shape_a), (name_b, shape_b) = shapes.items()
    ndim = max(len(shape_a), len(shape_b))
    lengths = [
        shape[axis - ndim + len(shape)] if axis >= ndim - len(shape) else None for shape in (shape_a, shape_b)
    ]
    if lengths[0] != lengths[1]:
        missing = [
            (name, len(shape)) for name, shape, n in zip(shapes, shapes.values(), lengths) if n is None
        ]
        extra = "".join(f" ({name} has only {k} dimension(s), without that axis)" for name, k in missing)
        raise InputError(
            f"shape mismatch: {name_a} has shape {shape_a} and {name_b} has shape {shape_b}; "
            f"they need the same length along axis {axis}{extra}",
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


def check_real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
    meaning: str = "",
) -> None:
    """A finite real number (Python or NumPy scalar, not bool) in the stated range.

    ``low``/``high`` are the bounds (inclusive unless ``*_open``); ``meaning`` says what the
    option does, for the message ("2 gives bits").
    """
    if value is None and allow_none:
        return

    def described() -> str:  # built only for an error: torch.compile(dynamic=True) traces the number
        extra = f" ({meaning})" if meaning else ""
        return f"{_range_text(low, high, low_open, high_open)}{' or None' if allow_none else ''}{extra}"

    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InputTypeError(
            f"must be a real number{described()}, got {name}={value!r}",
            argument=name,
            value=_short_value(value),
        )
    try:  # every option is used as a float: an int beyond float64's range (2**2000) is refused
        number = float(value)
    except OverflowError:
        number = math.inf
    ok = (
        -math.inf < number < math.inf
    )  # not math.isfinite: torch.compile(dynamic=True) traces floats symbolically
    if ok and low is not None:
        ok = number > low if low_open else number >= low
    if ok and high is not None:
        ok = number < high if high_open else number <= high
    if not ok:
        raise InputError(
            f"must be a finite number{described()}, got {name}={value!r}",
            argument=name,
            value=_short_value(value),
        )


def check_integer(
    name: str, value: object, *, low: int | None = None, allow_none: bool = False, meaning: str = ""
) -> None:
    """A Python or NumPy integer (not bool), at least ``low``."""
    if value is None and allow_none:
        return
    extra = f" ({meaning})" if meaning else ""
    none_text = " or None" if allow_none else ""
    bound = f" >= {low}" if low is not None else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise InputTypeError(
            f"must be an int{bound}{none_text}{extra}, got {name}={value!r}",
            argument=name,
            value=_short_value(value),
        )
    if low is not None and value < low:
        raise InputError(
            f"must be an int{bound}{none_text}{extra}, got {name}={value!r}", argument=name, value=int(value)
        )


def check_choice(name: str, value: object, allowed: tuple[object, ...]) -> None:
    """One of ``allowed`` (strings such as reductions and modes)."""
    if not isinstance(value, str) or value not in allowed:
        raise InputError(
            f"must be one of {', '.join(map(repr, allowed))}, got {name}={value!r}",
            argument=name,
            value=_short_value(value),
        )


def check_temperature(temperature: object) -> None:
    check_real("temperature", temperature, low=0, low_open=True)


def check_base(base: object) -> None:
    check_real("base", base, low=0, low_open=True, allow_none=True, meaning="2 gives bits, None nats")
    if base is not None and base == 1:
        raise InputError(
            "must be a finite number > 0 other than 1 (2 gives bits, None nats), got base=1",
            argument="base",
            value=base,
        )


def check_fraction(name: str, value: object, *, low_open: bool = False, high_open: bool = False) -> None:
    check_real(name, value, low=0, high=1, low_open=low_open, high_open=high_open)


def check_chunk_size(chunk_size: object) -> None:
    check_integer("chunk_size", chunk_size, low=1, allow_none=True, meaning="rows per chunk")


def _range_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high}"
    return ""


def _short_value(value: object, limit: int = 60) -> int | float | str | None:
    """The value for an error's ``value`` field: scalars as they are, anything else as short text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        text = value if not isinstance(value, str) or len(value) <= limit else value[:limit] + "..."
        return text
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# --------------------------------------------------------------------------------------------
# Message helpers (error path only: they may copy to NumPy)
# --------------------------------------------------------------------------------------------


def _raise_bad_entry(x: Array, name: str, labels: Sequence[object] | None) -> NoReturn:
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
    # labels name the entries of a 1-d distribution; rows of 2-d input keep their positions
    where = labels[index[0]] if labels is not None and len(index) == 1 else (index or None)
    raise InputError(
        what, argument=name, index=where, value=value, hint="probabilities must be finite and >= 0"
    )


def _entry_name(name: str, index: Any) -> str:
    """``p[1, 2]`` (``p`` for the empty index): the position in a message."""
    return location(name, index)


def _first_true(mask: Array) -> tuple[int, ...]:
    found = np.argwhere(np.asarray(_array.to_numpy(mask)))
    return tuple(int(i) for i in found[0]) if found.size else ()


def _slice_index(row: tuple[int, ...], axis: int, ndim: int) -> tuple[Any, ...] | None:
    """The index of a slice along ``axis``: ``(1, ":")``; None for a 1-d array as a whole."""
    if ndim == 1:
        return None
    parts: list = list(row)
    parts.insert(axis, ":")
    return tuple(parts)


def _dtype_name(dtype: DType) -> str:
    return str(dtype).rsplit(".", 1)[-1].replace("'", "").replace(">", "")


# --------------------------------------------------------------------------------------------
# Loss arguments (infoloss.losses, infoloss.nn.functional): options and targets, one rule each,
# so the losses from logits and their fused and vocabulary-parallel forms accept the same values.
# Errors here suggest the losses' own fixes (LOSS_HINT, validate=False), never normalize=True.
# --------------------------------------------------------------------------------------------

REDUCTIONS = ("none", "mean", "sum")
_INT64 = (-(2**63), 2**63 - 1)


def check_reduction(reduction: object, allowed: tuple[str, ...] = REDUCTIONS) -> None:
    check_choice("reduction", reduction, allowed)


def check_cross_entropy_options(
    *, ignore_index: Any = -100, label_smoothing: object = 0.0, z_loss: object = 0.0, softcap: object = None
) -> None:
    """The options of every cross-entropy from logits (plain, fused linear, vocabulary-parallel).

    ``ignore_index``: an int that fits in int64 (a target can hold no other); ``label_smoothing``
    in [0, 1]; ``z_loss`` >= 0; ``softcap`` None or in :data:`SOFTCAP_RANGE`.

    >>> check_cross_entropy_options(label_smoothing=1.5)
    Traceback (most recent call last):
    ...
    infoloss.InputError: label_smoothing must be a finite number in [0, 1], got label_smoothing=1.5
    """
    check_integer("ignore_index", ignore_index, meaning="a target value that counts for nothing")
    if not _INT64[0] <= ignore_index <= _INT64[1]:
        raise InputError(
            f"must be an int in [{_INT64[0]}, {_INT64[1]}] (targets are int64), "
            f"got ignore_index={ignore_index!r}",
            argument="ignore_index",
            value=_short_value(ignore_index),
        )
    check_fraction("label_smoothing", label_smoothing)
    check_real("z_loss", z_loss, low=0, meaning="coefficient of logsumexp**2")
    check_real(
        "softcap",
        softcap,
        low=SOFTCAP_RANGE[0],
        high=SOFTCAP_RANGE[1],
        allow_none=True,
        meaning="logits become softcap * tanh(logits / softcap)",
    )


# The range of the distillation temperature and of the soft cap. Below 1e-15, T**2 (the usual
# scaling) falls under float32's smallest normal number; above 1e4 even a float64 softmax(z / T)
# of ordinary logits is uniform to within rounding, so the loss would be rounding noise. (In
# float32 the relative error grows like T**2 * 1e-7 well before that: 1e-4 at T = 100, a few
# per cent at T = 1000, as for PyTorch's log_softmax + kl_div; use float64 for large T.)
TEMPERATURE_RANGE = (1e-15, 1e4)
# A cap outside this range under- or overflows float32 in softcap * tanh(z / softcap).
SOFTCAP_RANGE = (1e-15, 1e15)


def check_distillation_options(
    *, direction: object = "forward", beta: object = None, temperature: object = 1.0
) -> None:
    """``direction`` 'forward' or 'reverse'; ``beta`` in (0, 1) (JS only); ``temperature`` in
    :data:`TEMPERATURE_RANGE`.

    >>> check_distillation_options(temperature=1e-300)
    Traceback (most recent call last):
    ...
    infoloss.InputError: temperature must be a finite number in [1e-15, 10000.0] (distillation temperature), got temperature=1e-300
    """
    check_choice("direction", direction, ("forward", "reverse"))
    if beta is not None:
        check_real(
            "beta",
            beta,
            low=0,
            high=1,
            low_open=True,
            high_open=True,
            meaning="the teacher's share of the mixture",
        )
    check_real(
        "temperature",
        temperature,
        low=TEMPERATURE_RANGE[0],
        high=TEMPERATURE_RANGE[1],
        meaning="distillation temperature",
    )


def check_real_dtype(xp: Namespace, x: Array, name: str) -> None:
    """Logits and probabilities must be real numbers (integers are taken as floats), not bools."""
    if xp.isdtype(x.dtype, "bool"):
        raise InputTypeError(
            "must hold real numbers (logits or probabilities), got dtype bool", argument=name, value="bool"
        )


def loss_target_kind(xp: Namespace, input: Array, target: Array, axis: int) -> str:
    """``'index'`` for class-index targets, ``'probs'`` for class-probability targets.

    PyTorch's rule: integer targets are class indices with ``input``'s shape minus the class
    axis; floating targets are probabilities with ``input``'s full shape.
    """
    index_shape = tuple(s for i, s in enumerate(input.shape) if i != axis)
    shape, input_shape = tuple(target.shape), tuple(input.shape)
    if xp.isdtype(target.dtype, "integral"):
        if shape != index_shape:
            raise InputError(
                f"has shape {shape}, but class-index targets need input's shape without the class axis "
                f"{axis}: {index_shape} (input has shape {input_shape})",
                argument="target",
                value=shape,
            )
        return "index"
    if xp.isdtype(target.dtype, "real floating"):
        if shape == input_shape:
            return "probs"
        if shape == index_shape:
            raise InputTypeError(
                f"has shape {shape}, the shape of class indices, but floating dtype {_dtype_name(target.dtype)}; "
                f"class indices must be integers (e.g. target.long() or target.astype(int)), probability "
                f"targets need input's shape {input_shape}",
                argument="target",
                value=_dtype_name(target.dtype),
            )
        raise InputError(
            f"has shape {shape}, but probability targets need input's shape {input_shape}",
            argument="target",
            value=shape,
        )
    raise InputTypeError(
        f"must hold integer class indices or floating probabilities, got dtype {target.dtype}",
        argument="target",
        value=_dtype_name(target.dtype),
    )


def check_class_indices(
    xp: Namespace, target: Array, n_classes: int, ignore_index: int, keep: Array | None = None
) -> None:
    """Every kept target is a class index in [0, n_classes) or ``ignore_index``.

    The same condition as PyTorch's ``cross_entropy`` (``0 <= target < C``), with the position
    and the value in the message.
    """
    bad = ((target < 0) | (target >= n_classes)) & (target != ignore_index)
    if keep is not None:
        bad = bad & keep
    if bool(xp.any(bad)):
        position = _first_true(bad)
        value = int(_array.to_numpy(target)[position])
        raise InputError(
            f"= {value} is not a class index for {n_classes} classes (in [0, {n_classes})) nor "
            f"ignore_index={ignore_index}",
            argument="target",
            index=position or None,
            value=value,
            hint="pass class indices in range, or ignore_index for elements that count for nothing",
        )


def check_probability_targets(
    xp: Namespace,
    target: Array,
    axis: int,
    *,
    name: str = "target",
    keep: Array | None = None,
    input_dtype: DType = None,
) -> None:
    """Probability targets are distributions along ``axis`` (``keep``: only those rows)."""
    if keep is not None:  # padding rows may hold anything (masked out)
        target = xp.where(
            xp.expand_dims(keep, axis=axis), target, xp.full_like(target, 1 / target.shape[axis])
        )
    check_distribution(xp, target, name, axis, normalize=False, input_dtype=input_dtype, hint=LOSS_HINT)


def check_non_negative(xp: Namespace, x: Array, name: str) -> None:
    """Every entry finite and >= 0 (class weights, pos_weight, kl_div's target)."""
    if not bool(xp.all(xp.isfinite(x) & (x >= 0))):
        values = _array.to_numpy(x)
        position = tuple(int(i) for i in np.argwhere(~(np.isfinite(values) & (values >= 0)))[0])
        value = float(values[position])
        raise InputError(
            f"= {value!r}; {name} entries must be finite and >= 0",
            argument=name,
            index=position or None,
            value=value,
            hint="or pass validate=False to skip this check",
        )


def check_in_unit_interval(xp: Namespace, x: Array, name: str) -> None:
    """Every entry in [0, 1] (binary cross-entropy's probabilities and targets)."""
    if not bool(xp.all((x >= 0) & (x <= 1))):
        values = _array.to_numpy(x)
        position = tuple(int(i) for i in np.argwhere(~((values >= 0) & (values <= 1)))[0])
        value = float(values[position])
        raise InputError(
            f"= {value!r}; {name} must hold probabilities in [0, 1]",
            argument=name,
            index=position or None,
            value=value,
            hint="or pass validate=False to skip this check",
        )


def check_not_nan(xp: Namespace, x: Array, name: str) -> None:
    if bool(xp.any(xp.isnan(x))):
        position = _first_true(xp.isnan(x))
        raise InputError("is NaN", argument=name, index=position or None, value=math.nan)


def check_not_empty(shape: tuple, name: str = "input") -> None:
    """A 'mean' over no elements is undefined: empty input is an error, as for the measures."""
    if math.prod(shape) == 0:
        raise InputError(
            f"is empty (shape {tuple(shape)}); a 'mean' over no elements is undefined",
            argument=name,
            value=tuple(shape),
            hint="pass reduction='sum' to get 0",
        )


def check_loss_mask(xp: Namespace, mask: Array, shape: tuple[int, ...], name: str = "mask") -> None:
    """A boolean array with the per-element loss shape (input's shape without the class axis)."""
    if not xp.isdtype(mask.dtype, "bool"):
        raise InputTypeError(
            f"must be a boolean array (True = keep), got dtype {_dtype_name(mask.dtype)}",
            argument=name,
            value=_dtype_name(mask.dtype),
        )
    if tuple(mask.shape) != tuple(shape):
        raise InputError(
            f"must have the shape of the per-element loss {tuple(shape)} (input's shape without "
            f"the class axis); got shape {tuple(mask.shape)}",
            argument=name,
            value=tuple(mask.shape),
        )


def check_same_shape(names: tuple, shapes: tuple) -> None:
    (name_a, name_b), (shape_a, shape_b) = names, (tuple(shapes[0]), tuple(shapes[1]))
    if shape_a != shape_b:
        raise InputError(
            f"{name_a} and {name_b} need the same shape; got {name_a} {shape_a} and {name_b} {shape_b}",
            value=(shape_a, shape_b),
        )


# The fused PyTorch losses (infoloss.nn.functional): tensors of one float dtype and device.

_FLOAT_TENSOR_DTYPES = ("float32", "float64", "bfloat16", "float16")


def check_float_tensor(name: str, x: Array) -> None:
    if not _array.is_torch_array(x):
        raise InputTypeError(
            f"must be a torch.Tensor, got {type(x).__name__}", argument=name, value=type(x).__name__
        )
    if _dtype_name(x.dtype) not in _FLOAT_TENSOR_DTYPES:
        raise InputTypeError(
            f"must be float32, float64, bfloat16 or float16, got {name}.dtype={x.dtype}",
            argument=name,
            value=_dtype_name(x.dtype),
        )


def check_linear(
    hidden: Array,
    weight: Array,
    bias: Array | None,
    names: tuple[str, str, str] = ("hidden", "weight", "bias"),
) -> int:
    """Shapes, dtypes and devices of ``hidden`` (..., D), ``weight`` (V, D), ``bias`` (V,); returns V.

    D = 0 is accepted (the logits are the bias, or 0); V = 0 is an error (no class to predict).
    """
    hidden_name, weight_name, bias_name = names
    check_float_tensor(hidden_name, hidden)
    check_float_tensor(weight_name, weight)
    if hidden.ndim < 1:
        raise InputError("must have shape (..., D), got a 0-d tensor", argument=hidden_name, value=())
    if weight.ndim != 2:
        raise InputError(
            f"must have shape (V, D), got shape {tuple(weight.shape)}",
            argument=weight_name,
            value=tuple(weight.shape),
        )
    if weight.shape[0] == 0:
        raise InputError(
            f"has no rows (shape {tuple(weight.shape)}): a loss needs at least one class (V >= 1)",
            argument=weight_name,
            value=tuple(weight.shape),
        )
    if hidden.shape[-1] != weight.shape[1]:
        raise InputError(
            f"hidden size mismatch: {hidden_name} has shape {tuple(hidden.shape)} (D={hidden.shape[-1]}) but "
            f"{weight_name} has shape {tuple(weight.shape)} (D={weight.shape[1]}); {weight_name} must be (V, D)",
            argument=weight_name,
            value=tuple(weight.shape),
        )
    if hidden.dtype != weight.dtype:
        raise InputTypeError(
            f"{hidden_name}.dtype={hidden.dtype} and {weight_name}.dtype={weight.dtype} must match",
            argument=weight_name,
            value=_dtype_name(weight.dtype),
        )
    if hidden.device != weight.device:
        raise InputError(
            f"is on {weight.device} and {hidden_name} on {hidden.device}; use one device",
            argument=weight_name,
            value=str(weight.device),
        )
    if bias is not None:
        check_float_tensor(bias_name, bias)
        if tuple(bias.shape) != (weight.shape[0],):
            raise InputError(
                f"must have shape ({weight.shape[0]},) to match {weight_name} {tuple(weight.shape)}, "
                f"got {tuple(bias.shape)}",
                argument=bias_name,
                value=tuple(bias.shape),
            )
        if bias.dtype != weight.dtype or bias.device != weight.device:
            raise InputTypeError(
                f"must have {weight_name}'s dtype and device ({weight.dtype}, {weight.device})",
                argument=bias_name,
                value=_dtype_name(bias.dtype),
            )
    return int(weight.shape[0])


def check_index_target_tensor(
    target: Array, hidden: Array, vocab: int | None, ignore_index: int, *, hidden_name: str = "hidden"
) -> None:
    """Integer class indices of shape ``hidden.shape[:-1]``, each in [0, vocab) or ``ignore_index``.

    ``vocab`` None skips the range (checked later, where the size is known); the range check
    reads values, so it is skipped under ``torch.compile`` tracing.
    """
    if not _array.is_torch_array(target):
        raise InputTypeError(
            f"must be a torch.Tensor of class indices, got {type(target).__name__}",
            argument="target",
            value=type(target).__name__,
        )
    if target.dtype.is_floating_point or target.dtype.is_complex or _dtype_name(target.dtype) == "bool":
        raise InputTypeError(
            f"must hold integer class indices (e.g. torch.long), got target.dtype={target.dtype}; "
            "soft (probability) targets are not supported by the fused loss",
            argument="target",
            value=_dtype_name(target.dtype),
        )
    if tuple(target.shape) != tuple(hidden.shape[:-1]):
        raise InputError(
            f"has shape {tuple(target.shape)} but must have shape {tuple(hidden.shape[:-1])} "
            f"({hidden_name}'s shape {tuple(hidden.shape)} without the last axis)",
            argument="target",
            value=tuple(target.shape),
        )
    if target.device != hidden.device:
        raise InputError(
            f"is on {target.device} but {hidden_name} on {hidden.device}",
            argument="target",
            value=str(target.device),
        )
    if vocab is not None and target.numel() and not _array.is_tracing(target):
        import torch

        check_class_indices(torch, target, vocab, ignore_index)


def check_token_mask(mask: Array, shape: tuple[int, ...]) -> None:
    """The fused distillation's mask: a boolean tensor with the tokens' shape."""
    if (
        not _array.is_torch_array(mask)
        or tuple(mask.shape) != tuple(shape)
        or _dtype_name(mask.dtype) != "bool"
    ):
        what = (
            f"{mask.dtype} of shape {tuple(mask.shape)}"
            if _array.is_torch_array(mask)
            else type(mask).__name__
        )
        raise InputError(
            f"must be a boolean tensor of shape {tuple(shape)}, got {what}",
            argument="mask",
            value=_short_value(what),
        )
