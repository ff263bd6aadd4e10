"""PyTorch fast paths of :mod:`infoloss.losses`: the common call straight to ``torch.nn.functional``.

A training loop calls a loss on small batches thousands of times, where the general path's
argument conversion, namespace lookups and one check per condition (each a reduction and a
device sync) cost several times the loss itself. Here, for the common case (2-D ``(N, C)``
float32/float64 tensors, no mask, the class axis 1), the option checks are cached per distinct
option values and the value checks read only extremes (``aminmax``) of the arrays, with the
loss itself as a sentinel where ``F.*``'s value can differ from the general path's (a ``-inf``
logit where the general path has ``0 log 0 = 0``, a 'mean' over no kept element), all in one
device sync (:func:`_read`). When every extreme is fine, the result is the general path's,
from one ``F.*`` call. When one is not (an out-of-range target, a ``-inf`` logit, a NaN
loss), or any argument is unusual, the function returns :data:`NotImplemented` and the caller
runs the general path, which repeats its detailed checks to raise the precise error (argument,
position, value) or computes the special case. With ``validate=False`` only what the
semantics need is read (mostly the loss itself).

Nothing here imports torch: these run only for tensors, when torch is already imported.
"""

from __future__ import annotations

import contextlib
import math
import sys
from types import ModuleType, NotImplementedType
from typing import Any

from .. import _array, _validate
from .._typing import Array, DType

# Option tuples already checked (with their types: True == 1 but a bool is no ignore_index).
_CHECKED: set[tuple[Any, ...]] = set()
_CHECKED_MAX = 512
_TOLERANCES: dict[DType, float] = {}  # per dtype (a handful)


def is_tensor(x: object) -> bool:
    """``x`` is a torch tensor (torch already imported: else it cannot be one)."""
    tensor = _array.loaded("torch", "Tensor")
    return tensor is not None and isinstance(x, tensor)


def cross_entropy(
    input: Array,
    target: Array,
    weight: Array | None,
    *,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
    axis: int | None,
    validate: bool,
) -> Array | NotImplementedType:
    """``losses.cross_entropy`` for a plain call on (N, C) tensors, or NotImplemented."""
    torch = sys.modules["torch"]
    n_classes = _plain_rows(torch, input, target, axis)
    if not n_classes:
        return NotImplemented
    key = ("ce", type(ignore_index), ignore_index, reduction, type(label_smoothing), label_smoothing)
    if not _options_ok(key):
        _validate.check_reduction(reduction)
        _validate.check_cross_entropy_options(ignore_index=ignore_index, label_smoothing=label_smoothing)
        _remember(key)
    if weight is not None and not _weight_ok(torch, weight, input, validate):
        return NotImplemented
    F = torch.nn.functional
    if target.dtype is torch.int64 and target.dim() == 1:  # (N,): _plain_rows compared the lengths
        return _class_index_loss(
            torch,
            F.cross_entropy,
            input,
            target,
            weight,
            n_classes,
            ignore_index,
            reduction,
            validate,
            label_smoothing,
        )
    if target.dtype is input.dtype and target.shape == input.shape and ignore_index == -100:
        loss = F.cross_entropy(input, target, weight, None, -100, None, reduction, label_smoothing)
        # A -inf logit with target 0 needs 0 log 0 = 0 (the general path): PyTorch gives NaN there.
        # A reduced loss that is not NaN says there was none; elementwise, the lowest logit says it.
        sentinel = loss if reduction != "none" else input.amin()
        if validate:
            low_sum, high_sum = torch.aminmax(target.sum(1))
            low, low_sum, high_sum, value = _read(torch, target.min(), low_sum, high_sum, sentinel)
            if not probabilities_ok(low, low_sum, high_sum, tolerance_of(target.dtype)):
                return NotImplemented
        else:
            value = sentinel.item()
        # (-inf: a logit, elementwise; or a loss that only negative targets give, the same there)
        return NotImplemented if math.isnan(value) or value == -math.inf else loss
    return NotImplemented


def nll_loss(
    input: Array,
    target: Array,
    weight: Array | None,
    *,
    ignore_index: int,
    reduction: str,
    axis: int | None,
    validate: bool,
) -> Array | NotImplementedType:
    """``losses.nll_loss`` for a plain call on (N, C) tensors, or NotImplemented."""
    torch = sys.modules["torch"]
    n_classes = _plain_rows(torch, input, target, axis)
    if not n_classes or target.dtype is not torch.int64 or target.dim() != 1:
        return NotImplemented
    key = ("nll", type(ignore_index), ignore_index, reduction)
    if not _options_ok(key):
        _validate.check_reduction(reduction)
        _validate.check_cross_entropy_options(ignore_index=ignore_index)
        _remember(key)
    if weight is not None and not _weight_ok(torch, weight, input, validate):
        return NotImplemented
    F = torch.nn.functional
    return _class_index_loss(
        torch, F.nll_loss, input, target, weight, n_classes, ignore_index, reduction, validate, None
    )


def kl_div(
    input: Array, target: Array, *, reduction: str, log_target: bool, axis: int | None, validate: bool
) -> Array | NotImplementedType:
    """``losses.kl_div`` on float32/float64 tensors of one shape (no ``axis``), or NotImplemented."""
    torch = sys.modules["torch"]
    if (
        axis is not None
        or type(target) is not torch.Tensor
        or type(input) is not torch.Tensor
        or (input.dtype is not torch.float32 and input.dtype is not torch.float64)
        or target.dtype is not input.dtype
        or target.shape != input.shape
        or input.ndim == 0
        or input.numel() == 0
        or target.requires_grad
        or type(log_target) is not bool
        or _traced(torch)
    ):
        return NotImplemented
    if not _options_ok(("kl", reduction)):
        _validate.check_reduction(reduction, (*_validate.REDUCTIONS, "batchmean"))
        _remember(("kl", reduction))
    F = torch.nn.functional
    if reduction == "mean":  # the sum over all elements (F.kl_div warns about 'mean' at every call)
        loss = F.kl_div(input, target, reduction="sum", log_target=log_target) / input.numel()
    else:
        loss = F.kl_div(input, target, reduction=reduction, log_target=log_target)
    # F.kl_div gives 0 * -inf = NaN where the general path's 0 log 0 = 0 applies (and NaN for NaN
    # input, which the general path reports): a reduced loss that is not NaN says neither occurred.
    if reduction != "none":
        sentinel = loss
    elif log_target:  # elementwise: the lowest input and log-target say it, -inf or NaN
        sentinel = torch.minimum(input.amin(), target.amin())
    else:
        sentinel = input.amin()
    if validate and not log_target:
        value, low, high = _read(torch, sentinel, *torch.aminmax(target))
        if not non_negative_ok(low, high):
            return NotImplemented
    else:
        value = sentinel.item()
    if math.isnan(value) or (value == -math.inf and reduction == "none"):
        return NotImplemented
    return loss


def binary_cross_entropy(
    input: Array, target: Array, *, logits: bool, reduction: str, validate: bool
) -> Array | NotImplementedType:
    """``losses.binary_cross_entropy`` (``logits=False``) or ``..._with_logits`` without weights
    on float32/float64 tensors of one shape, or NotImplemented."""
    torch = sys.modules["torch"]
    if (
        type(target) is not torch.Tensor
        or type(input) is not torch.Tensor
        or (input.dtype is not torch.float32 and input.dtype is not torch.float64)
        or target.dtype is not input.dtype
        or target.shape != input.shape
        or input.numel() == 0
        or _traced(torch)
    ):
        return NotImplemented
    if not _options_ok(("bce", reduction)):
        _validate.check_reduction(reduction)
        _remember(("bce", reduction))
    F = torch.nn.functional
    if logits:
        if reduction == "none":
            # An infinite logit with its matching label: loss 0, not 0 * inf (see the general path).
            big = torch.finfo(input.dtype).max
            loss = F.binary_cross_entropy_with_logits(input.clamp(-big, big), target, reduction="none")
            if validate:
                low, high = _read(torch, *torch.aminmax(target))
                return loss if unit_ok(low, high) else NotImplemented
            return loss
        # Any infinite logit makes PyTorch's reduced loss NaN or inf ((1 - t) x with t = 1, or
        # x - x): a finite loss says there was none, and then clipping them would change nothing,
        # value or gradient. Else the general path clips them.
        loss = F.binary_cross_entropy_with_logits(input, target, reduction=reduction)
        if validate:
            low, high, value = _read(torch, *torch.aminmax(target), loss)
            if not unit_ok(low, high):
                return NotImplemented
        else:
            value = loss.item()
        return loss if math.isfinite(value) else NotImplemented
    if validate:
        low, high, low_input, high_input = _read(torch, *torch.aminmax(target), *torch.aminmax(input))
        if not (unit_ok(low, high) and unit_ok(low_input, high_input)):
            return NotImplemented
    return F.binary_cross_entropy(input, target, reduction=reduction)


# --------------------------------------------------------------------------------------------
# What the extremes must be for _validate's checks to pass (shared with the JAX fast path).
# Comparisons with NaN are False, so a NaN extreme always sends the call to the general path.
# --------------------------------------------------------------------------------------------


def indices_ok(low: float, high: float, n_classes: int) -> bool:
    """Kept class indices in [0, C) (check_class_indices)."""
    return low >= 0 and high < n_classes


def probabilities_ok(low: float, low_sum: float, high_sum: float, tolerance: float) -> bool:
    """Entries >= 0 and every row sum within ``tolerance`` of 1 (check_distribution): the entries
    are then at most ``1 + tolerance``, finite, so their maximum need not be read."""
    return low >= 0 and abs(low_sum - 1) <= tolerance and abs(high_sum - 1) <= tolerance


def tolerance_of(dtype: DType) -> float:
    """:func:`infoloss._validate.sum_tolerance`, remembered per dtype."""
    try:
        return _TOLERANCES[dtype]
    except KeyError:
        _TOLERANCES[dtype] = tolerance = _validate.sum_tolerance(dtype)
        return tolerance


def non_negative_ok(low: float, high: float) -> bool:
    """Finite and >= 0 (check_non_negative)."""
    return low >= 0 and high < math.inf


def unit_ok(low: float, high: float) -> bool:
    """In [0, 1] (check_in_unit_interval)."""
    return low >= 0 and high <= 1


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _plain_rows(torch: ModuleType, input: Array, target: Array, axis: int | None) -> int:
    """C, for (N, C) float32/float64 logits with N, C >= 1, classes on axis 1 and a tensor
    target with N rows first, outside tracing; else 0."""
    if type(input) is not torch.Tensor or type(target) is not torch.Tensor or input.dim() != 2:
        return 0
    if axis is not None and (type(axis) is not int or axis not in (1, -1)):
        return 0
    n_rows, n_classes = input.shape
    plain = (
        n_rows > 0
        and (input.dtype is torch.float32 or input.dtype is torch.float64)
        and target.dim() >= 1
        and target.shape[0] == n_rows
        and not _traced(torch)
    )
    return n_classes if plain else 0


def _traced(torch: ModuleType) -> bool:
    """Under ``torch.compile`` tracing or inside a ``torch.func`` transform. One global query
    instead of :func:`infoloss._array.is_torch_tracing` per tensor (a wrapped tensor exists only
    inside a transform): the general path then runs, which asks per tensor which are traced."""
    if torch.compiler.is_compiling():
        return True
    try:
        return bool(torch._C._are_functorch_transforms_active())
    except AttributeError:  # a torch without the query: the general path, always
        return True


def _options_ok(key: tuple[Any, ...]) -> bool:
    try:
        return key in _CHECKED
    except TypeError:  # an unhashable option: checked (and refused) every time
        return False


def _remember(key: tuple[Any, ...]) -> None:
    if len(_CHECKED) < _CHECKED_MAX:
        with contextlib.suppress(TypeError):  # an unhashable option: not cached
            _CHECKED.add(key)


def _weight_ok(torch: ModuleType, weight: Array, input: Array, validate: bool) -> bool:
    """A (C,) class weight of input's dtype, finite and >= 0 when validating (else the general
    path checks it again for the message)."""
    if type(weight) is not torch.Tensor or weight.shape != (input.shape[1],) or weight.dtype != input.dtype:
        return False
    if not validate:
        return True
    low, high = torch.aminmax(weight)
    return non_negative_ok(low.item(), high.item())


def _class_index_loss(
    torch: ModuleType,
    kernel: Any,
    input: Array,
    target: Array,
    weight: Array | None,
    n_classes: int,
    ignore_index: int,
    reduction: str,
    validate: bool,
    label_smoothing: float | None,
) -> Array | NotImplementedType:
    """``kernel`` (``F.cross_entropy``, or ``F.nll_loss`` with ``label_smoothing=None``) on int64
    class indices of (N, C) rows.

    An ignored element changes nothing in ``kernel``'s forward but two things: a 'mean' over no
    kept element (0 / 0: NaN in PyTorch, 0 on the general path) and the gradient of an ignored
    row of non-finite logits (NaN in PyTorch, 0 there). So when a gradient may be taken (or the
    'mean' is weighted: its divisor is computed here) the call must have no ignored element, read
    from the targets' extremes; when none will be, an ignored element is fine and a NaN 'mean'
    sends the call to the general path. Validating, the extremes are read anyway: every target
    a class index in [0, C) (no ignored element either, unless ``ignore_index`` is a class).
    Without validation an out-of-range target fails in PyTorch's kernel, as on the general path.
    """
    weighted_mean = weight is not None and reduction == "mean"
    all_kept = weighted_mean or (
        (input.requires_grad or (weight is not None and weight.requires_grad)) and torch.is_grad_enabled()
    )
    if all_kept and 0 <= ignore_index < n_classes:  # an ignore_index that is a class: the general path
        return NotImplemented
    if validate:
        low, high = _read(torch, *torch.aminmax(target))
        if not indices_ok(low, high, n_classes):  # an ignored element (or a bad one): the general path
            return NotImplemented
    elif all_kept and (ignore_index >= n_classes or target.min().item() < 0):
        return NotImplemented
    # Positional (faster than keywords): input, target, weight, size_average, ignore_index, reduce,
    # reduction[, label_smoothing], the order of both signatures.
    smoothing = () if label_smoothing is None else (label_smoothing,)
    if weight is not None and weighted_mean:  # divisor sum w[y] (0 if all weights are 0), all kept
        loss = kernel(input, target, weight, None, ignore_index, None, "sum", *smoothing)
        total = weight[target].sum()
        return loss / torch.where(total == 0, 1, total)
    loss = kernel(input, target, weight, None, ignore_index, None, reduction, *smoothing)
    # Can every element be ignored? Not if the checks above excluded ignored ones.
    if (
        reduction == "mean"
        and not all_kept
        and (not validate or 0 <= ignore_index < n_classes)
        and math.isnan(loss.item())  # (or a NaN logit: the general path gives NaN too)
    ):
        return NotImplemented
    return loss


def _read(torch: ModuleType, *values: Array) -> list[Any]:
    """Python numbers of 0-d tensors on one device, in one device sync: on the CPU one
    ``.item()`` each (no sync there, and cheaper than stacking them), elsewhere one transfer."""
    if values[0].is_cpu or values[0].device.type == "mps":  # (MPS has no float64 to stack them in)
        return [v.item() for v in values]
    return torch.stack([v.detach().to(torch.float64) for v in values]).tolist()
