"""PyTorch fast paths of :mod:`infoloss.losses`: the common call straight to ``torch.nn.functional``.

A training loop calls a loss on small batches thousands of times, where the general path's
argument conversion, namespace lookups and one check per condition (each a reduction and a
device sync) cost several times the loss itself. Here, for the common case (2-D ``(N, C)``
float32/float64 tensors, no mask, the class axis 1), the option checks are cached per distinct
option values and the value checks are fused into one reduction pass with one sync: the
extremes of the targets (and of the logits, where a ``-inf`` would need the general path's
``0 log 0 = 0``). When every extreme is fine, the result is exactly the general path's, from
one ``F.*`` call. When one is not (an ignored element, an out-of-range target, a ``-inf``
logit), or any argument is unusual, the function returns :data:`NotImplemented` and the caller
runs the general path, which repeats its detailed checks to raise the precise error (argument,
position, value) or computes the special case. With ``validate=False`` only the reduction that
the semantics need is kept (is any element ignored? is any logit ``-inf``?).

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


def is_tensor(x: object) -> bool:
    """``x`` is a torch tensor (torch already imported: else it cannot be one)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


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
    if not _plain_rows(torch, input, target, axis):
        return NotImplemented
    if not _options_ok(
        ("ce", type(ignore_index), ignore_index, reduction, type(label_smoothing), label_smoothing)
    ):
        _validate.check_reduction(reduction)
        _validate.check_cross_entropy_options(ignore_index=ignore_index, label_smoothing=label_smoothing)
        _remember(("ce", type(ignore_index), ignore_index, reduction, type(label_smoothing), label_smoothing))
    n_rows, n_classes = input.shape
    if weight is not None and not _weight_ok(torch, weight, input, validate):
        return NotImplemented
    F = torch.nn.functional
    if target.dtype == torch.int64 and target.shape == (n_rows,):
        if not _no_ignored_targets(torch, target, n_classes, ignore_index, validate):
            return NotImplemented
        if weight is not None and reduction == "mean":  # divisor sum w[y] (0 when all weights are 0)
            loss = F.cross_entropy(input, target, weight, reduction="sum", label_smoothing=label_smoothing)
            total = weight[target].sum()
            return loss / torch.where(total == 0, 1, total)
        return F.cross_entropy(input, target, weight, reduction=reduction, label_smoothing=label_smoothing)
    if target.dtype == input.dtype and target.shape == input.shape and ignore_index == -100:
        loss = F.cross_entropy(input, target, weight, reduction=reduction, label_smoothing=label_smoothing)
        # A -inf logit with target 0 needs 0 log 0 = 0 (the general path): PyTorch gives NaN there.
        # A reduced loss that is not NaN says there was none, in the same sync as the checks.
        sentinel = loss.detach() if reduction != "none" else input.amin() > -math.inf
        if validate:
            low, high, low_sum, high_sum, value = torch.stack(
                (*torch.aminmax(target), *torch.aminmax(target.sum(1)), sentinel.to(target.dtype))
            ).tolist()
            ok = probabilities_ok(low, high, low_sum, high_sum, tolerance_of(target.dtype))
        else:
            value = sentinel.item()
            ok = True
        if not ok or math.isnan(value) or (value == 0 and reduction == "none"):  # ('none': the flag, False)
            return NotImplemented
        return loss
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
    if not _plain_rows(torch, input, target, axis):
        return NotImplemented
    n_rows, n_classes = input.shape
    if target.dtype != torch.int64 or target.shape != (n_rows,):
        return NotImplemented
    if not _options_ok(("nll", type(ignore_index), ignore_index, reduction)):
        _validate.check_reduction(reduction)
        _validate.check_cross_entropy_options(ignore_index=ignore_index)
        _remember(("nll", type(ignore_index), ignore_index, reduction))
    if weight is not None and not _weight_ok(torch, weight, input, validate):
        return NotImplemented
    if not _no_ignored_targets(torch, target, n_classes, ignore_index, validate):
        return NotImplemented
    F = torch.nn.functional
    if weight is not None and reduction == "mean":
        loss = F.nll_loss(input, target, weight, reduction="sum")
        total = weight[target].sum()
        return loss / torch.where(total == 0, 1, total)
    return F.nll_loss(input, target, weight, reduction=reduction)


def kl_div(
    input: Array, target: Array, *, reduction: str, log_target: bool, axis: int | None, validate: bool
) -> Array | NotImplementedType:
    """``losses.kl_div`` on float32/float64 tensors of one shape (no ``axis``), or NotImplemented."""
    torch = sys.modules["torch"]
    if (
        axis is not None
        or type(target) is not torch.Tensor
        or type(input) is not torch.Tensor
        or input.dtype not in (torch.float32, torch.float64)
        or target.dtype != input.dtype
        or target.shape != input.shape
        or input.ndim == 0
        or input.numel() == 0
        or target.requires_grad
        or _array.is_torch_tracing(torch, input)
        or type(log_target) is not bool
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
    if reduction == "none":
        sentinel = torch.stack((input.amin(), target.amin() if log_target else input.amin())).amin()
    else:
        sentinel = loss.detach()
    if validate and not log_target:
        value, low, high = torch.stack((sentinel, *torch.aminmax(target))).tolist()
        ok = non_negative_ok(low, high)
    else:
        value, ok = sentinel.item(), True
    bad = math.isnan(value) or (reduction == "none" and value == -math.inf)
    return NotImplemented if bad or not ok else loss


def binary_cross_entropy(
    input: Array, target: Array, *, logits: bool, reduction: str, validate: bool
) -> Array | NotImplementedType:
    """``losses.binary_cross_entropy`` (``logits=False``) or ``..._with_logits`` without weights
    on float32/float64 tensors of one shape, or NotImplemented."""
    torch = sys.modules["torch"]
    if (
        type(target) is not torch.Tensor
        or type(input) is not torch.Tensor
        or input.dtype not in (torch.float32, torch.float64)
        or target.dtype != input.dtype
        or target.shape != input.shape
        or input.numel() == 0
        or _array.is_torch_tracing(torch, input)
    ):
        return NotImplemented
    if not _options_ok(("bce", reduction)):
        _validate.check_reduction(reduction)
        _remember(("bce", reduction))
    F = torch.nn.functional
    if logits:
        if validate:
            low, high, low_logit, high_logit = torch.stack(
                (*torch.aminmax(target), *torch.aminmax(input))
            ).tolist()
            if not unit_ok(low, high):
                return NotImplemented
            finite = -math.inf < low_logit and high_logit < math.inf
        else:
            finite = False
        if (
            not finite
        ):  # an infinite logit with its matching label: loss 0, not 0 * inf (see the general path)
            big = torch.finfo(input.dtype).max
            input = input.clamp(-big, big)
        return F.binary_cross_entropy_with_logits(input, target, reduction=reduction)
    if validate:
        low, high, low_input, high_input = torch.stack(
            (*torch.aminmax(target), *torch.aminmax(input))
        ).tolist()
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


def probabilities_ok(low: float, high: float, low_sum: float, high_sum: float, tolerance: float) -> bool:
    """Finite entries >= 0 and every row sum within ``tolerance`` of 1 (check_distribution)."""
    return low >= 0 and high < math.inf and abs(low_sum - 1) <= tolerance and abs(high_sum - 1) <= tolerance


def tolerance_of(dtype: DType) -> float:
    return _validate.sum_tolerance(dtype)


def non_negative_ok(low: float, high: float) -> bool:
    """Finite and >= 0 (check_non_negative)."""
    return low >= 0 and high < math.inf


def unit_ok(low: float, high: float) -> bool:
    """In [0, 1] (check_in_unit_interval)."""
    return low >= 0 and high <= 1


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _plain_rows(torch: ModuleType, input: Array, target: Array, axis: int | None) -> bool:
    """(N, C) float32/float64 logits with N, C >= 1, classes on axis 1, a tensor target, outside
    tracing."""
    if type(input) is not torch.Tensor or type(target) is not torch.Tensor or input.dim() != 2:
        return False
    if axis is not None and (type(axis) is not int or axis not in (1, -1)):
        return False
    n_rows, n_classes = input.shape
    return (
        n_rows > 0
        and n_classes > 0
        and (input.dtype is torch.float32 or input.dtype is torch.float64)
        and not _array.is_torch_tracing(torch, input)
        and not _array.is_torch_tracing(torch, target)
    )


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


def _no_ignored_targets(
    torch: ModuleType, target: Array, n_classes: int, ignore_index: int, validate: bool
) -> bool:
    """Every target a class index in [0, C), so none is ``ignore_index`` (a negative or >= C
    one): the one reduction of the fast path. Without validation only ``min >= 0`` is read (an
    out-of-range index then fails in PyTorch's kernel, as it would on the general path)."""
    if 0 <= ignore_index < n_classes:  # an ignore_index that is a class: the general path looks for it
        return False
    if validate:
        low, high = torch.aminmax(target)
        return indices_ok(low.item(), high.item(), n_classes)
    if ignore_index >= n_classes:
        return False
    return target.min().item() >= 0
