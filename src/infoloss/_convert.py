"""The public edge: turn what users pass (arrays, sequences, label mappings, pandas) into arrays.

``prepare`` converts and shape-checks; ``Inputs.checked`` validates and normalises;
``Inputs.finish`` turns a result back into what the user passed in (an array of the input's
kind and dtype, Python floats for sequences, mappings and pandas Series, a pandas Series
indexed like the rows of a DataFrame).

pandas is optional: it is imported only when an argument is a pandas object (detected by the
type's module, so ``import infoloss`` never imports it).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from . import _array, _validate
from ._typing import Array, ArrayLike


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
    row_index: Any = None  # a DataFrame's row index: results become a pandas Series on it
    # The arguments as passed, when ``arrays`` holds NumPy copies broadcast to one shape for the
    # fast path; checks and error positions always use these.
    originals: dict[str, Any] | None = None
    # Set by a backend whose values already had the measures' clamp (JAX's eager program).
    clamped: bool = False

    def axis_of(self, x: Array) -> int:
        """The distribution axis of one argument: ``axis`` counts in the broadcast shape, and an
        argument with fewer dimensions lacks the leading ones (NumPy broadcasting)."""
        ndim = max(a.ndim for a in (self.originals or self.arrays).values())
        return self.axis - (ndim - x.ndim)

    @property
    def numpy_fast_path(self) -> bool:
        """NumPy, float32/64, C-contiguous, equal shapes, distributions along the last axis."""
        first = next(iter(self.arrays.values()))
        return self.axis == first.ndim - 1 and all(
            _array.is_numpy(a)
            and a.dtype in (np.float32, np.float64)
            and a.dtype == first.dtype
            and a.shape == first.shape
            and a.flags.c_contiguous
            for a in self.arrays.values()
        )

    def checked(self, *, normalized: bool = True) -> list:
        """The arrays after validation (unless skipped) and normalisation, broadcast together.

        Each argument is checked and normalised in its own shape (so an error names a position
        in what the user passed), then broadcast (views: ``xp.broadcast_arrays``).
        ``normalized=False``: checked but not divided by their sums (a formula that normalises
        inside, as KL's :func:`_array.normalized_kl_terms`).
        """
        xp = self.xp
        arrays = []
        for name, x in (self.originals or self.arrays).items():
            axis = self.axis_of(x)
            if self.validate and not _array.is_tracing(x):
                _validate.check_distribution(
                    xp,
                    x,
                    name,
                    axis,
                    normalize=self.normalize,
                    labels=self.labels,
                    input_dtype=self.out_dtype,
                    hint=self.hint,
                )
            if self.normalize and normalized:
                x = _array.normalize(xp, x, axis)
            arrays.append(x)
        if len(arrays) == 2 and arrays[0].shape != arrays[1].shape:
            arrays = list(xp.broadcast_arrays(*arrays))
        return arrays

    def finish(self, value: Array, *, base: float | None = None) -> Any:
        """Convert nats to ``base``, restore the input dtype, or give Python floats back."""
        if base is not None:
            value = value / math.log(base)
        if self.row_index is not None:
            import pandas as pd  # the input was a DataFrame, so pandas is installed

            out = np.asarray(value, dtype=np.float64)
            if out.ndim == 1:
                return pd.Series(out, index=self.row_index)
            return pd.DataFrame(out, index=self.row_index)  # keepdims=True: one column
        if self.to_python:
            out = np.asarray(value)
            return float(out) if out.ndim == 0 else out.tolist()
        if value.dtype != self.out_dtype:
            value = self.xp.astype(value, self.out_dtype)
        return value


def prepare(
    named: dict[str, Any],
    *,
    axis: int,
    normalize: bool,
    validate: bool,
    base: float | None = None,
    hint: str | None = _validate.MEASURE_HINT,
) -> Inputs:
    """Convert ``{'p': p, 'q': q}`` (or ``{'p': p}``) to arrays of one kind, checking shapes.

    ``hint`` is what the errors of :meth:`Inputs.checked` suggest for a row that does not sum
    to 1 (the measures: :data:`_validate.MEASURE_HINT`).
    """
    _validate.check_base(base)
    labels = row_index = None
    to_python = False
    xp = _plain_namespace(named)
    if xp is not None:  # (the common case, kept lean for small inputs: nothing to convert)
        by_name, out_dtype = named, next(iter(named.values())).dtype
    else:
        labels, converted, row_index, axis, to_python = _arrays_of(named, axis)
        xp, by_name, out_dtype = _floating(converted)
    shapes = {name: tuple(a.shape) for name, a in by_name.items()}
    for name, shape in shapes.items():
        if not shape:
            _validate.check_axis(name, shape, axis)  # a scalar is not a distribution
    # NumPy broadcasting, as in SciPy: axis counts in the broadcast shape, whose number of
    # dimensions is the largest argument's (named in the axis errors).
    widest = next(
        name for name in shapes if len(shapes[name]) == max(map(len, shapes.values()))
    )  # the first widest (Dynamo cannot trace max(key=))
    axis = _validate.check_axis(widest, shapes[widest], axis)
    if len(shapes) == 2:
        _validate.check_same_support(shapes, axis)
    originals = None
    # (NumPy first: a set of torch.compile's symbolic shapes would fix them to constants)
    if (
        len(by_name) == 2
        and all(map(_array.is_numpy, by_name.values()))
        and len({a.shape for a in by_name.values()}) == 2
    ):
        # NumPy's fast path needs one C-contiguous shape: broadcast copies (the generic path
        # would make temporaries of that size anyway), checked against the originals.
        originals = by_name
        by_name = {
            name: np.ascontiguousarray(a) for name, a in zip(by_name, np.broadcast_arrays(*by_name.values()))
        }
    return Inputs(
        xp=xp,
        arrays=by_name,
        originals=originals,
        axis=axis,
        out_dtype=out_dtype,
        to_python=to_python,
        labels=labels,
        normalize=normalize,
        validate=validate,
        hint=hint,
        row_index=row_index,
    )


# --------------------------------------------------------------------------------------------
# Conversions
# --------------------------------------------------------------------------------------------


#: The dtypes that :func:`_plain_namespace` passes as they are.
_PLAIN_DTYPES = frozenset({np.dtype(np.float32), np.dtype(np.float64)})
#: Array types passed as they are (exactly these types: a subclass, such as NumPy's masked
#: array, goes through the checks of :func:`_arrays_of`), and their namespaces.
_PLAIN_TYPES: dict[type, Any] = {np.ndarray: np}


def _plain_namespace(named: dict[str, Any]) -> Any:
    """The namespace when every argument is a NumPy array, a concrete JAX array or a dense torch
    tensor (on a real device), all of one type and one float32 or float64 dtype: nothing to
    convert or check but shapes. Else None (the general conversion and checks)."""
    values = iter(named.values())
    first = next(values)
    kind = type(first)
    xp = _PLAIN_TYPES.get(kind)
    if xp is None:
        if kind.__name__ == "Tensor" and kind.__module__ == "torch":
            return _plain_torch_namespace(named)
        if not _array.is_jax_array(first) or kind.__name__ != "ArrayImpl":
            return None
        import jax.numpy as jnp  # (a concrete JAX array: JAX is imported)

        xp = _PLAIN_TYPES[kind] = jnp
    dtype = first.dtype
    if dtype not in _PLAIN_DTYPES:
        return None
    for value in values:
        if type(value) is not kind or value.dtype != dtype:
            return None
    return xp


def _plain_torch_namespace(named: dict[str, Any]) -> Any:
    """:func:`_plain_namespace` of torch tensors (:func:`_validate.check_array`'s conditions)."""
    import torch
    from array_api_compat import torch as torch_namespace

    first = next(iter(named.values()))
    dtype = first.dtype
    if dtype is not torch.float32 and dtype is not torch.float64:
        return None
    for value in named.values():
        if (
            type(value) is not torch.Tensor
            or value.dtype is not dtype
            or value.layout is not torch.strided
            or value.device.type == "meta"
        ):
            return None
    return torch_namespace


def _arrays_of(named: dict[str, Any], axis: int) -> tuple[Any, dict[str, Any], Any, int, bool]:
    """``(labels, arrays, row_index, axis, to_python)``: pandas objects, label mappings,
    sequences and arrays as arrays of one kind, checked by :func:`_validate.check_array`."""
    labels = row_index = None
    values = list(named.values())
    if any(_is_pandas(v) for v in values):
        labels, converted, row_index, axis = _from_pandas(named, axis)
        to_python = True
    elif any(isinstance(v, Mapping) for v in values):
        labels, converted = _from_mappings(named)
        to_python = True
    elif not any(_array.is_array(v) for v in values):
        converted = {name: _from_sequence(name, v) for name, v in named.items()}
        to_python = True
    else:
        converted = _match_arrays(named)
        to_python = False
    for name, value in converted.items():
        _validate.check_array(name, value)
    return labels, converted, row_index, axis, to_python


def _floating(converted: dict[str, Any]) -> tuple[Any, dict[str, Any], Any]:
    """``(xp, arrays, out_dtype)``: the arrays in one floating dtype to compute in, and the
    dtype to return."""
    xp = _array.array_namespace(*converted.items())
    arrays = list(converted.values())
    # ml_dtypes' bfloat16 NumPy arrays (which NumPy's type promotion does not know) are
    # computed in float32, and returned as bfloat16 when every argument is bfloat16.
    extension = {str(a.dtype) for a in arrays if _array.is_numpy(a) and str(a.dtype) == "bfloat16"}
    if extension:
        bfloat16 = arrays[[str(a.dtype) for a in arrays].index("bfloat16")].dtype
        arrays = [_array.floating(xp, a)[0] if str(a.dtype) == "bfloat16" else a for a in arrays]
    common = arrays[0].dtype if len(arrays) == 1 else xp.result_type(*arrays)
    arrays = [a if a.dtype == common else xp.astype(a, common) for a in arrays]
    floats = [_array.floating(xp, a, name=name) for name, a in zip(converted, arrays)]
    out_dtype = floats[0][1]
    if extension and all(str(v.dtype) == "bfloat16" for v in converted.values()):
        out_dtype = bfloat16
    return xp, {name: f for name, (f, _) in zip(converted, floats)}, out_dtype


def _from_mappings(named: dict[str, Any]) -> tuple[list[Any], dict[str, np.ndarray]]:
    """Align label -> probability mappings: p's labels first, then q's new ones.

    A label missing from one mapping has probability 0 there.
    """
    for name, value in named.items():
        if not isinstance(value, Mapping):
            raise _validate.InputTypeError(
                f"is a {type(value).__name__} but another argument is a mapping",
                argument=name,
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


def _is_pandas(value: object) -> bool:
    """A pandas Series or DataFrame, recognised without importing pandas."""
    return type(value).__module__.partition(".")[0] == "pandas" and type(value).__name__ in (
        "Series",
        "DataFrame",
    )


def _from_pandas(named: dict[str, Any], axis: int) -> tuple[list[Any], dict[str, np.ndarray], Any, int]:
    """Align pandas Series (by index) and DataFrames (by column), as mappings are aligned.

    A Series is one distribution over its index labels; a DataFrame holds one distribution per
    row over its column labels (``axis=-1``/``1``) or one per column over its row labels
    (``axis=0``/``-2``). Labels: p's first, then q's new ones; a label missing from one
    argument has probability 0 there. Two DataFrames need the same row labels (q's rows are
    put in p's order); a Series beside a DataFrame is used for every row. A plain mapping
    beside a Series is aligned with it too. Returns ``(labels, arrays, row index or None, axis)``.
    """
    import pandas as pd  # an argument is a pandas object, so pandas is installed

    series: dict[str, Any] = {}
    frames: dict[str, Any] = {}
    for name, value in named.items():
        if isinstance(value, pd.DataFrame):
            frames[name] = _frame_along(name, value, axis)
        elif isinstance(value, pd.Series):
            series[name] = value
        elif isinstance(value, Mapping):
            series[name] = pd.Series(
                {label: _number(name, label, v) for label, v in value.items()}, dtype=np.float64
            )
        else:
            raise _validate.InputTypeError(
                f"is a {type(value).__name__} but another argument is a pandas object",
                argument=name,
                value=_validate._short_value(value),
                hint="pass pandas Series/DataFrames (or label -> probability mappings) for both",
            )
    if not frames:
        _validate.check_axis(next(iter(named)), (1,), axis)  # a Series has one axis
    for name, value in {**series, **frames}.items():
        labels_of = value.columns if name in frames else value.index
        duplicated = labels_of.duplicated()
        if duplicated.any():
            label = labels_of[duplicated.argmax()]
            raise _validate.InputError(
                f"has the label {label!r} twice; each label needs one probability",
                argument=name,
                value=_validate._short_value(label),
            )
    labels: Any = None  # a pandas Index, extended argument by argument
    for name in named:
        own = frames[name].columns if name in frames else series[name].index
        labels = own if labels is None else labels.append(own[~own.isin(labels)])
    row_index = None
    arrays = {}
    for name in named:
        if name in frames:
            frame = frames[name].reindex(columns=labels, fill_value=0)
            if row_index is None:
                row_index = frame.index
            elif not frame.index.equals(row_index):
                if frame.index.has_duplicates or not frame.index.sort_values().equals(
                    row_index.sort_values()
                ):
                    raise _validate.InputError(
                        "has other row labels than the first DataFrame; give both the same rows",
                        argument=name,
                        value=_validate._short_value(list(frame.index)),
                    )
                frame = frame.reindex(index=row_index)
            arrays[name] = _pandas_numbers(name, frame, labels)
        else:
            values = _pandas_numbers(name, series[name].reindex(labels, fill_value=0), labels)
            arrays[name] = values[None, :] if frames else values  # one row, for every row of the frame
    return list(labels), arrays, row_index, -1


def _frame_along(name: str, frame: Any, axis: int) -> Any:
    """The DataFrame with its distributions along the columns (transposed for ``axis=0``)."""
    axis = _validate.check_axis(name, frame.shape, axis)
    return frame if axis == 1 else frame.T


def _pandas_numbers(name: str, value: Any, labels: Any) -> np.ndarray:
    """A Series' or DataFrame's values as float64 (missing values as NaN, which the checks
    report); a clear error naming the first entry that is not a number."""
    from pandas.api.types import is_numeric_dtype

    dtypes = [value.dtype] if value.ndim == 1 else list(value.dtypes)
    if not all(is_numeric_dtype(dtype) for dtype in dtypes):  # object/str columns: entry by entry
        flat = value.to_numpy(dtype=object).reshape(-1)
        for position, entry in enumerate(flat):
            _number(name, labels[position % len(labels)], entry)
    return value.to_numpy(dtype=np.float64, na_value=np.nan)


def _number(name: str, label: object, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _validate.InputTypeError(
            f"= {value!r} is not a number",
            argument=name,
            index=label,
            value=_validate._short_value(value),
            hint="mapping values must be real numbers",
        )
    try:
        return float(value)
    except OverflowError:
        raise _validate.InputError(
            _TOO_LARGE, argument=name, index=label, value=_validate._short_value(value), hint=_TOO_LARGE_HINT
        ) from None


_TOO_LARGE = "is an integer too large for a float64 (over 1.8e308)"
_TOO_LARGE_HINT = "scale the counts down (normalize=True needs only their ratios)"


def _raise_too_large(name: str, value: object) -> NoReturn:
    """The error for a sequence holding an int beyond float64's range, at its position."""
    entries = np.asarray(value, dtype=object)
    for index in np.ndindex(entries.shape):
        entry = entries[index]
        try:
            float(entry)
        except OverflowError:
            raise _validate.InputError(
                _TOO_LARGE,
                argument=name,
                index=tuple(index) or None,
                value=_validate._short_value(entry),
                hint=_TOO_LARGE_HINT,
            ) from None
        except (TypeError, ValueError):
            continue
    raise _validate.InputError(_TOO_LARGE, argument=name, hint=_TOO_LARGE_HINT)


def _from_sequence(name: str, value: object) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float64)
    except OverflowError:  # a Python int beyond float64's range (10**400)
        _raise_too_large(name, value)
    except (TypeError, ValueError) as error:
        raise _validate.InputTypeError(
            "must be an array, a sequence of numbers or a label -> probability mapping; "
            f"could not read {_short(value)} as numbers ({error})",
            argument=name,
            value=_short(value),
        ) from None


def _match_arrays(named: dict[str, Any]) -> dict[str, Any]:
    """Arrays stay as they are; a sequence beside an array becomes that array's kind."""
    template = next(v for v in named.values() if _array.is_array(v))
    xp = _array.array_namespace(("array", template))
    # The sequence takes the array's dtype only if that is floating: probabilities beside an
    # integer array of counts must not be truncated to integers.
    floating = str(template.dtype) == "bfloat16" or xp.isdtype(
        template.dtype, "real floating"
    )  # ml_dtypes too
    dtype = template.dtype if floating else None
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


def _device(x: Array) -> Any:
    return _array.device(x)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def as_float64(x: ArrayLike) -> np.ndarray:
    """Any supported array, number or sequence as a float64 NumPy array (for figures and the
    explorer page: off the hot paths, so a copy from a device is fine)."""
    return np.asarray(_array.to_numpy(x) if _array.is_array(x) else x, dtype=np.float64)


def outcome_labels(
    labels: Sequence[object] | None,
    found: Sequence[object] | None,
    k: int,
    *,
    default: Callable[[int], str] = str,
) -> list[str]:
    """Names of ``k`` outcomes: the caller's ``labels`` (one per outcome, checked), else the
    labels the input carried (``found``: a mapping's keys), else ``default(i)`` for each."""
    if labels is None:
        return [str(v) for v in found] if found is not None else [default(i) for i in range(k)]
    names = [str(v) for v in labels]
    if len(names) != k:
        raise _validate.InputError(
            f"has {len(names)} labels for {k} outcomes", argument="labels", value=len(names)
        )
    return names
