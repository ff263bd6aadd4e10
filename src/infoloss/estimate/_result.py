"""The :class:`Estimate` type: a number with where it came from and how sure it is."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .._validate import InputTypeError


@dataclass(frozen=True, eq=False)
class Estimate:
    """An estimated entropy, divergence or mutual information, usable as a number.

    Fields:
      value: the estimate, in nats (``base=None``) or in ``base`` units; a float, or an array
        over the other axes when counts with several rows were given.
      method: the estimator that ran (for ``method="auto"``, the one it chose; see ``note``).
      quantity: what was estimated ("entropy", "mutual information", ...).
      n: the number of samples (per row: an array for several rows).
      observed: distinct symbols seen (None for the k-NN estimators).
      alphabet_size: the number of possible symbols used (None for the k-NN estimators).
      base: the logarithm base (None: nats).
      std: standard deviation where the method has one (NSB posterior; bootstrap or jackknife
        when ``ci`` was asked for), else None.
      ci: ``(low, high)`` at level ``level``, or None.
      level: the CI level, or None.
      note: why ``auto`` chose ``method``, and method details (shrinkage intensity ...).
      details: method-specific numbers, e.g. ``{"lambda": 0.77}`` for ``shrink``.

    It is float-like: ``float(e)``, ``e + 1``, ``e < 2``, ``round(e, 3)``, ``f"{e:.3f}"`` and
    ``np.asarray(e)`` use ``value`` (``float`` of a multi-row estimate is an error).
    """

    value: Any
    method: str
    quantity: str = "entropy"
    n: Any = None
    observed: Any = None
    alphabet_size: Any = None
    base: float | None = None
    std: Any = None
    ci: tuple | None = None
    level: float | None = None
    note: str | None = None
    details: dict = field(default_factory=dict)

    # ---- a number --------------------------------------------------------------------------

    def __float__(self) -> float:
        value = np.asarray(self.value)
        if value.ndim:
            raise InputTypeError(
                f"holds {value.size} estimates (shape {value.shape}, one per row of counts); float() "
                "needs a single one: use .value for the array, or index a row",
                argument="Estimate",
            )
        return float(value)

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        return np.asarray(self.value, dtype=dtype)

    def __round__(self, digits: int | None = None) -> float:
        return round(float(self), digits)

    def __format__(self, spec: str) -> str:
        if not spec:
            return str(self)
        return format(float(self), spec)

    def __bool__(self) -> bool:
        return bool(float(self))

    def __hash__(self) -> int:
        return hash(float(self))

    def __neg__(self) -> Any:
        return -self.value

    def __abs__(self) -> Any:
        return abs(self.value)

    def __str__(self) -> str:
        return self.__repr__()

    def __repr__(self) -> str:
        """One line: ``Estimate(entropy 2.152593 nats, miller-madow, n=19, observed 8 of 11)``."""
        value = np.asarray(self.value)
        unit = "nats" if self.base is None else ("bits" if self.base == 2 else f"log base {self.base:g}")
        parts = [f"{self.quantity} {_number(value)} {unit}", self.method]
        if self.note:
            parts[-1] += f" ({self.note})"
        if isinstance(self.n, tuple):
            parts.append("n=" + "/".join(_number(np.asarray(v), integer=True) for v in self.n))
        elif self.n is not None:
            parts.append(f"n={_number(np.asarray(self.n), integer=True)}")
        if self.observed is not None:
            seen = f"observed {_number(np.asarray(self.observed), integer=True)}"
            if self.alphabet_size is not None:
                seen += f" of {self.alphabet_size}"
            parts.append(seen)
        if self.std is not None:
            parts.append(f"std {_number(np.asarray(self.std))}")
        if self.ci is not None:
            low, high = self.ci
            parts.append(f"{self.level:.0%} CI [{_number(np.asarray(low))}, {_number(np.asarray(high))}]")
        return f"Estimate({', '.join(parts)})"

    def in_base(self, base: float | None) -> Estimate:
        """The same estimate in another logarithm base (None: nats)."""
        scale = (1.0 if self.base is None else math.log(self.base)) / (
            1.0 if base is None else math.log(base)
        )
        ci = None if self.ci is None else tuple(np.asarray(c) * scale for c in self.ci)
        details = {key: _scaled(v, scale) if key == "posterior_std" else v for key, v in self.details.items()}
        return replace(
            self,
            value=_scaled(self.value, scale),
            base=base,
            details=details,
            std=None if self.std is None else _scaled(self.std, scale),
            ci=_unwrap_ci(ci),
        )


def _binary(op: Callable[[Any, Any], Any], reflected: bool = False) -> Callable[[Estimate, Any], Any]:
    def method(self: Estimate, other: Any) -> Any:
        other = other.value if isinstance(other, Estimate) else other
        return op(other, self.value) if reflected else op(self.value, other)

    return method


for _name, _op in [
    ("add", operator.add),
    ("sub", operator.sub),
    ("mul", operator.mul),
    ("truediv", operator.truediv),
    ("pow", operator.pow),
]:
    setattr(Estimate, f"__{_name}__", _binary(_op))
    setattr(Estimate, f"__r{_name}__", _binary(_op, reflected=True))
for _name, _op in [
    ("lt", operator.lt),
    ("le", operator.le),
    ("gt", operator.gt),
    ("ge", operator.ge),
    ("eq", operator.eq),
    ("ne", operator.ne),
]:
    setattr(Estimate, f"__{_name}__", _binary(_op))


def make(value: Any, **fields: Any) -> Estimate:
    """An Estimate with NumPy scalars turned into Python floats (0-d results)."""
    fields = {k: _unwrap(v) if k in ("n", "observed", "std") else v for k, v in fields.items()}
    if fields.get("ci") is not None:
        fields["ci"] = _unwrap_ci(fields["ci"])
    return Estimate(_unwrap(value), **fields)


def _unwrap(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, tuple):  # (n_x, n_y) of two samples
        return tuple(_unwrap(v) for v in value)
    array = np.asarray(value)
    if array.ndim == 0:
        return int(array) if array.dtype.kind in "iu" else float(array)
    return array


def _unwrap_ci(ci: tuple[Any, ...] | None) -> tuple[Any, Any] | None:
    return None if ci is None else (_unwrap(ci[0]), _unwrap(ci[1]))


def _scaled(value: Any, scale: float) -> Any:
    return _unwrap(np.asarray(value) * scale)


def _number(value: np.ndarray, integer: bool = False) -> str:
    if value.ndim == 0:
        return str(int(value)) if integer else f"{float(value):.6g}"
    if value.size <= 4:
        return "[" + ", ".join(_number(v, integer) for v in value.ravel()) + "]"
    return f"array of shape {value.shape}"
