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
from collections.abc import Callable
from types import ModuleType, NotImplementedType
from typing import Any

from .. import _validate
from .._typing import Array

# Option tuples already checked (with their types: True == 1 but a bool is no ignore_index).
_CHECKED: set[tuple[Any, ...]] = set()
_CHECKED_MAX = 512


def cross_entropy(
    input: Array,
    target: Array,
    weight: Array | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
    axis: int | None,
    validate: bool,
    fused_applies: Callable[..., bool] | None = None,
) -> Array | NotImplementedType:
    """``losses.cross_entropy`` for a plain call on (N, C) tensors, or NotImplemented (also for
    an input that is no tensor). ``fused_applies(input, target, weight, False, False)``: does the
    memory-saving path take this call (asked only when ``input.requires_grad``)?

    Positional arguments (keywords cost a dict per call on the hottest path)."""
    torch = sys.modules.get("torch")
    if torch is None or type(input) is not getattr(torch, "Tensor", None):
        return NotImplemented
    n_classes = _plain_rows(torch, input, target, axis)
    if not n_classes:
        return NotImplemented
    requires_grad = input.requires_grad
    if requires_grad and fused_applies is not None and fused_applies(input, target, weight, False, False):
        return NotImplemented
    key = ("ce", type(ignore_index), ignore_index, reduction, type(label_smoothing), label_smoothing)
    if not _options_ok(key):
        _validate.check_reduction(reduction)
        _validate.check_cross_entropy_options(ignore_index=ignore_index, label_smoothing=label_smoothing)
        _remember(key)
    if weight is not None and not _weight_ok(torch, weight, input, validate):
        return NotImplemented
    target_dtype = target.dtype
    if target_dtype is torch.int64:  # (N,) class indices (_plain_rows compared the shapes)
        return _class_index_loss(
            torch,
            torch.nn.functional.cross_entropy,
            input,
            requires_grad,
            target,
            weight,
            n_classes,
            ignore_index,
            reduction,
            validate,
            label_smoothing,
        )
    if ignore_index != -100:  # (N, C) probabilities: the general path refuses an ignore_index
        return NotImplemented
    loss = torch.nn.functional.cross_entropy(
        input, target, weight, None, -100, None, reduction, label_smoothing
    )
    # A -inf logit with target 0 needs 0 log 0 = 0 (the general path): PyTorch gives NaN there.
    # A reduced loss that is not NaN says there was none; elementwise, the lowest logit says it.
    sentinel = loss if reduction != "none" else input.amin()
    if validate:
        # Entries >= 0 and row sums within the tolerance of 1 (their maximum need not be read):
        # three reductions, the fewest that give the general path's exact sums.
        low_sum, high_sum = torch.aminmax(target.sum(1))
        low, low_sum, high_sum, value = _read(torch, target.min(), low_sum, high_sum, sentinel)
        if not probabilities_ok(low, low_sum, high_sum, _validate.sum_tolerance(target_dtype)):
            return NotImplemented
    else:
        value = sentinel.item()
    # (-inf: a logit, elementwise; or a loss that only negative targets give, the same there)
    return NotImplemented if value != value or value == -math.inf else loss


def nll_loss(
    input: Array,
    target: Array,
    weight: Array | None,
    ignore_index: int,
    reduction: str,
    axis: int | None,
    validate: bool,
) -> Array | NotImplementedType:
    """``losses.nll_loss`` for a plain call on (N, C) tensors, or NotImplemented (also for an
    input that is no tensor). Positional arguments, as :func:`cross_entropy`."""
    torch = sys.modules.get("torch")
    if torch is None or type(input) is not getattr(torch, "Tensor", None):
        return NotImplemented
    n_classes = _plain_rows(torch, input, target, axis)
    if not n_classes or target.dtype is not torch.int64:
        return NotImplemented
    key = ("nll", type(ignore_index), ignore_index, reduction)
    if not _options_ok(key):
        _validate.check_reduction(reduction)
        _validate.check_cross_entropy_options(ignore_index=ignore_index)
        _remember(key)
    if weight is not None and not _weight_ok(torch, weight, input, validate):
        return NotImplemented
    return _class_index_loss(
        torch,
        torch.nn.functional.nll_loss,
        input,
        input.requires_grad,
        target,
        weight,
        n_classes,
        ignore_index,
        reduction,
        validate,
        None,
    )


def kl_div(
    input: Array, target: Array, reduction: str, log_target: bool, axis: int | None, validate: bool
) -> Array | NotImplementedType:
    """``losses.kl_div`` on float32/float64 tensors of one shape (no ``axis``), or NotImplemented
    (also for an input that is no tensor). Positional arguments, as :func:`cross_entropy`."""
    torch = sys.modules.get("torch")
    if (
        torch is None
        or type(input) is not getattr(torch, "Tensor", None)
        or axis is not None
        or type(target) is not torch.Tensor
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
    input: Array, target: Array, logits: bool, reduction: str, validate: bool
) -> Array | NotImplementedType:
    """``losses.binary_cross_entropy`` (``logits=False``) or ``..._with_logits`` without weights
    on float32/float64 tensors of one shape, or NotImplemented (also for an input that is no
    tensor). Positional arguments, as :func:`cross_entropy`."""
    torch = sys.modules.get("torch")
    if (
        torch is None
        or type(input) is not getattr(torch, "Tensor", None)
        or type(target) is not torch.Tensor
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
    if not validate:
        return F.binary_cross_entropy(input, target, reduction=reduction)
    if not input.is_cpu:  # (a device kernel's range check is a fatal assert: read the input's)
        low, high, low_input, high_input = _read(torch, *torch.aminmax(target), *torch.aminmax(input))
        if not (unit_ok(low, high) and unit_ok(low_input, high_input)):
            return NotImplemented
        return F.binary_cross_entropy(input, target, reduction=reduction)
    low, high = _read(torch, *torch.aminmax(target))
    if not unit_ok(low, high):
        return NotImplemented
    # PyTorch's CPU kernel refuses every input entry outside [0, 1], NaN too: the condition of
    # check_in_unit_interval, so it validates the input at no cost; the general path then
    # raises the precise error.
    try:
        return F.binary_cross_entropy(input, target, reduction=reduction)
    except RuntimeError:
        return NotImplemented


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
    """C, for (N, C) float32/float64 logits (a tensor) with N, C >= 1 and classes on axis 1,
    outside tracing, and a tensor target of class indices (int64, shape (N,)) or probabilities
    (the logits' dtype and shape); else 0."""
    if type(target) is not torch.Tensor or (
        axis is not None and (type(axis) is not int or (axis != 1 and axis != -1))
    ):
        return 0
    shape = input.shape
    dtype = input.dtype
    if len(shape) != 2 or (dtype is not torch.float32 and dtype is not torch.float64):
        return 0
    n_rows, n_classes = shape
    target_dtype = target.dtype
    if target_dtype is torch.int64:
        target_shape = target.shape
        target_fits = len(target_shape) == 1 and target_shape[0] == n_rows
    else:
        target_fits = target_dtype is dtype and target.shape == shape
    return n_classes if n_rows and target_fits and not _traced(torch) else 0


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
    """These options were checked before."""
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
    input_requires_grad: bool,
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

    Validation: PyTorch's CPU kernel raises IndexError for every target that is neither
    ``ignore_index`` nor in [0, C), exactly the condition of check_class_indices, so on the CPU
    it validates the targets at no cost (the general path then raises the precise error). A
    device's kernel asserts instead (fatal), so there the targets' extremes are read first.

    An ignored element changes nothing in ``kernel``'s forward but two things: a 'mean' over no
    kept element (0 / 0: NaN in PyTorch, 0 on the general path) and the gradient of an ignored
    row of non-finite logits (NaN in PyTorch, 0 there). So when a gradient may be taken (or the
    'mean' is weighted: its divisor is computed here) the call must have no ignored element:
    one extreme of the targets says so (with ``ignore_index`` below 0 their minimum, above the
    classes their maximum; a class, the general path). When none will be, an ignored element
    is fine and a NaN 'mean' sends the call to the general path.
    """
    weighted_mean = weight is not None and reduction == "mean"
    all_kept = weighted_mean or (
        (input_requires_grad or (weight is not None and weight.requires_grad)) and torch.is_grad_enabled()
    )
    ignores_a_class = 0 <= ignore_index < n_classes
    if all_kept and ignores_a_class:
        return NotImplemented
    if validate and not input.is_cpu:  # (a target elsewhere fails in the kernel, as before)
        low, high = _read(torch, *torch.aminmax(target))
        if not indices_ok(low, high, n_classes):  # an ignored element (or a bad one): the general path
            return NotImplemented
        maybe_ignored = ignores_a_class
    elif all_kept:
        if ignore_index < 0 and target.min().item() < 0:  # an ignored element (or a bad one)
            return NotImplemented
        if ignore_index >= n_classes and target.max().item() >= n_classes:
            return NotImplemented
        maybe_ignored = False
    else:
        maybe_ignored = True
    # Positional (faster than keywords): input, target, weight, size_average, ignore_index, reduce,
    # reduction[, label_smoothing], the order of both signatures.
    try:
        if weight is not None and weighted_mean:  # divisor sum w[y] (0 if all weights are 0), all kept
            smoothing = () if label_smoothing is None else (label_smoothing,)
            loss = kernel(input, target, weight, None, ignore_index, None, "sum", *smoothing)
            total = weight[target].sum()
            return loss / torch.where(total == 0, 1, total)
        if label_smoothing is None:
            loss = kernel(input, target, weight, None, ignore_index, None, reduction)
        else:
            loss = kernel(input, target, weight, None, ignore_index, None, reduction, label_smoothing)
    except IndexError:  # "Target ... is out of bounds": the general path says where
        if validate:
            return NotImplemented
        raise
    # Can every element be ignored? (a NaN logit gives NaN: so does the general path)
    if reduction == "mean" and maybe_ignored and math.isnan(loss.item()):
        return NotImplemented
    return loss


def _read(torch: ModuleType, *values: Array) -> list[Any]:
    """Python numbers of 0-d tensors on one device, in one device sync: on the CPU one
    ``.item()`` each (no sync there, and cheaper than stacking them), elsewhere one transfer."""
    if values[0].is_cpu or values[0].device.type == "mps":  # (MPS has no float64 to stack them in)
        return [v.item() for v in values]
    return torch.stack([v.detach().to(torch.float64) for v in values]).tolist()
