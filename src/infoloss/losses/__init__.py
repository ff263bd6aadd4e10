"""Training losses from logits, with the names and arguments of ``torch.nn.functional``.

``from infoloss import losses`` and write ``losses.cross_entropy`` where you wrote
``F.cross_entropy``: the same numbers and gradients, on NumPy, PyTorch, JAX and
array-api-strict arrays (the result is the input's kind, device and dtype; float16/bfloat16
are computed in float32). Arguments after ``weight`` are keyword-only, so a positional call
meant for PyTorch's deprecated ``size_average``/``reduce`` slots fails loudly instead of
silently meaning something else.

Every loss takes ``axis=``, the class axis. Its default is PyTorch's: 1 for inputs with two or
more dimensions, 0 for a single distribution; JAX/optax users with ``(..., C)`` logits pass
``axis=-1``.

Deliberate differences from PyTorch, all about never returning NaN for valid input:

* ``reduction='mean'`` over a batch whose targets are all ``ignore_index`` (or all masked) is
  0 with a zero gradient, not NaN.
* Probability targets and ``kl_div`` treat ``0 * log 0`` as 0, so ``-inf`` logits (masked
  classes) with zero target probability give a finite loss and a NaN-free gradient.
* Soft-label targets can be ignored per element with ``mask=`` (PyTorch's ``ignore_index``
  works for class indices only).

On top of PyTorch's options, :func:`cross_entropy` has ``z_loss`` (PaLM), ``softcap``
(Gemma 2) and ``return_entropy`` (the prediction's entropy per element from the same
log-softmax); distillation between student and teacher logits is :func:`distillation_kl`
and :func:`distillation_js`.

On PyTorch tensors the losses call PyTorch's own fused kernels wherever the semantics match.

References: PyTorch, ``torch.nn.functional`` documentation; Szegedy et al., "Rethinking the
Inception architecture" (2016) for label smoothing; Chowdhery et al., "PaLM" (2022) for the
z-loss; Gemma Team, "Gemma 2" (2024) for logit soft-capping.
"""

from __future__ import annotations

import math
import sys
import threading
from typing import Any, Literal, overload

import numpy as np

from .. import _array, _validate
from .._typing import Array, ArrayLike, DType, Namespace
from . import _args as args, _jax_fast, _torch_fast
from ._distill import distillation_js, distillation_kl

__all__ = [
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "kl_div",
    "distillation_kl",
    "distillation_js",
]

# From this many logits up (16 MiB of float32), a PyTorch cross-entropy whose gradient will be
# needed takes the memory-saving path. Below, the memory hardly matters and PyTorch's fused
# log-softmax kernels win: the chunked path makes more passes, each a parallel region whose
# thread start-up is not amortised on small logits (measured ~1x F.cross_entropy single-threaded
# at 512 x 1000, several times slower with 2 threads on a busy machine).
FUSED_MIN_ELEMENTS = 1 << 22


@overload
def cross_entropy(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = ...,
    *,
    ignore_index: int = ...,
    reduction: str = ...,
    label_smoothing: float = ...,
    axis: int | None = ...,
    mask: ArrayLike | None = ...,
    z_loss: float = ...,
    softcap: float | None = ...,
    return_entropy: Literal[True],
    inplace_backward: bool = ...,
    validate: bool = ...,
) -> tuple[Array, Array]: ...


@overload
def cross_entropy(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = ...,
    *,
    ignore_index: int = ...,
    reduction: str = ...,
    label_smoothing: float = ...,
    axis: int | None = ...,
    mask: ArrayLike | None = ...,
    z_loss: float = ...,
    softcap: float | None = ...,
    return_entropy: bool = ...,
    inplace_backward: bool = ...,
    validate: bool = ...,
) -> Array: ...


def cross_entropy(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    axis: int | None = None,
    mask: ArrayLike | None = None,
    z_loss: float = 0.0,
    softcap: float | None = None,
    return_entropy: bool = False,
    inplace_backward: bool = False,
    validate: bool = True,
) -> Array | tuple[Array, Array]:
    r"""Cross-entropy between logits and targets: ``torch.nn.functional.cross_entropy``.

    With class indices ``y`` and ``log q = log_softmax(input)`` along the class axis, element
    ``n`` contributes ``l_n = -w[y_n] log q[n, y_n]``; with label smoothing ``eps`` it is
    ``(1 - eps) l_n - (eps / C) sum_c w[c] log q[n, c]``. Elements whose target is
    ``ignore_index`` (or where ``mask`` is False) contribute 0, and ``'mean'`` divides the sum by
    ``sum_n w[y_n]`` over the kept elements.

    With class probabilities ``p`` (smoothed to ``(1 - eps) p + eps / C``) the element loss is
    ``-sum_c w[c] p[n, c] log q[n, c]`` and ``'mean'`` divides by the number of elements (kept
    elements, with ``mask``).

    Args:
      input: logits, shape ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)`` (class axis ``axis``).
      target: integer class indices of ``input``'s shape without the class axis, or floating
        class probabilities of ``input``'s shape.
      weight: optional non-negative weight per class, shape ``(C,)``.
      ignore_index: class-index value that contributes nothing (class-index targets only); an
        int that fits in int64.
      reduction: ``'mean'``, ``'sum'`` or ``'none'`` (per-element loss).
      label_smoothing: ``eps`` in ``[0, 1]``.
      axis: the class axis; ``None`` is PyTorch's (1, or 0 for 1-D input).
      mask: optional boolean array of the per-element shape; False elements contribute
        nothing, for either kind of target (this is how soft labels are ignored).
      z_loss: coefficient of ``logsumexp(input)**2`` added to each kept element's loss (PaLM's
        auxiliary loss; not multiplied by ``weight``).
      softcap: if given, logits become ``softcap * tanh(input / softcap)`` first (``-inf``
        stays ``-inf``); in ``[1e-15, 1e15]`` (outside, float32 under- or overflows).
      Elements that count for nothing (``ignore_index``, ``mask`` False) have a zero gradient
      whatever their logits, also a row of ``-inf``.
      return_entropy: also return the entropy of the prediction ``softmax(input)`` per element,
        computed from the same log-softmax.
      inplace_backward: PyTorch, memory-saving path only (see below): write the gradient into
        ``input``'s own storage. **The logits are overwritten** (with their gradient) by the
        forward call; an autograd op that saved them raises at its backward.
      validate: check target values and weights (skipped anyway under jit/compile tracing).

    Returns:
      The loss: a 0-d array, or the per-element shape for ``reduction='none'``; with
      ``return_entropy=True`` a pair ``(loss, entropy)``.

    PyTorch memory: when ``input``'s gradient will be needed (``input.requires_grad`` under grad
    mode, outside ``torch.compile`` and ``torch.func``; at least :data:`FUSED_MIN_ELEMENTS`
    logits, or ``inplace_backward=True``) the gradient is computed in the forward pass, chunk
    by chunk, into one buffer the size of the logits (:mod:`infoloss.ops.logits_cross_entropy`):
    a step takes about one copy of the logits beyond them, where ``F.cross_entropy`` takes two
    (its saved log-softmax, then the gradient). The backward only scales that buffer, once: a
    second backward through the same loss (``retain_graph=True``) is an error, and
    ``backward(create_graph=True)`` recomputes the gradient by the plain path (so second
    derivatives work, except with ``inplace_backward``). ``return_entropy``, a probability
    target or ``weight`` that needs a gradient, and smaller inputs take the plain path.

    A classifier's scores (1, 1, 3) with true class 2: the loss is ``-log softmax(z)[2] = -log 0.787``.

    >>> import numpy as np
    >>> round(float(cross_entropy(np.array([[1.0, 1.0, 3.0]]), np.array([2]))), 4)
    0.2395
    >>> loss, h = cross_entropy(np.array([[1.0, 1.0, 3.0]]), np.array([2]), return_entropy=True)
    >>> [round(float(v), 4) for v in h]
    [0.6656]
    """
    # (z_loss a float 0: None or False must reach check_real, which refuses them)
    if (
        mask is None
        and type(z_loss) is float
        and not (z_loss or softcap is not None or return_entropy or inplace_backward)
    ):
        loss = _torch_fast.cross_entropy(  # (positional: the fastest call; NotImplemented unless a tensor)
            input, target, weight, ignore_index, reduction, label_smoothing, axis, validate, _fused_applies
        )
        if loss is not NotImplemented:
            return loss
    if _jax_fast.is_concrete(input):
        loss = _jax_fast.call(
            "cross_entropy",
            cross_entropy,
            dict(input=input, target=target, weight=weight, mask=mask),
            dict(
                ignore_index=ignore_index,
                reduction=reduction,
                label_smoothing=label_smoothing,
                axis=axis,
                z_loss=z_loss,
                softcap=softcap,
                return_entropy=return_entropy,
            ),
            validate,
        )
        if loss is not NotImplemented:
            return loss
    arrays, xp = args.arrays_of_one_kind({"input": input, "target": target, "weight": weight, "mask": mask})
    input, target, weight, mask = arrays.values()
    axis = args.class_axis("input", tuple(input.shape), axis)
    _validate.check_reduction(reduction)
    _validate.check_cross_entropy_options(
        ignore_index=ignore_index, label_smoothing=label_smoothing, z_loss=z_loss, softcap=softcap
    )
    kind = _validate.loss_target_kind(xp, input, target, axis)
    z, out_dtype = args.compute_dtype(xp, input, "input")
    n_classes = input.shape[axis]
    validating = args.should_validate(validate, input, target, weight, mask)
    weight = args.class_weight(xp, weight, n_classes, z.dtype, validating)
    element_shape = tuple(s for i, s in enumerate(input.shape) if i != axis)
    mask = args.element_mask(xp, mask, element_shape)
    target_dtype = target.dtype  # its own tolerance: a bfloat16 row sums to 1 only within bfloat16's
    if kind == "probs":
        if ignore_index != -100:  # PyTorch refuses it too; say what to use instead
            raise _validate.InputError(
                f"={ignore_index} applies to class-index targets only",
                argument="ignore_index",
                value=ignore_index,
                hint="to ignore elements with probability targets pass mask= (False = ignore)",
            )
        target = args.restore(xp, target, z.dtype)
    if validating:
        _check_targets(xp, target, kind, n_classes, ignore_index, mask, axis, target_dtype)

    if _array.is_torch_array(z) and _fused_applies(input, target, weight, return_entropy, inplace_backward):
        options = dict(
            weight=weight,
            ignore_index=ignore_index,
            mask=mask,
            reduction=reduction,
            label_smoothing=label_smoothing,
            z_loss=z_loss,
            softcap=softcap,
        )
        return _torch_fused_cross_entropy(input, target, kind, axis, element_shape, options, inplace_backward)

    plain = not (z_loss or softcap is not None or return_entropy)
    if kind == "index" and plain and _array.is_torch_array(z):
        loss = _torch_index_loss(
            z,
            target,
            axis=axis,
            weight=weight,
            ignore_index=ignore_index,
            mask=mask,
            reduction=reduction,
            label_smoothing=label_smoothing,
            fused="cross_entropy",
        )
        return args.restore(xp, loss, out_dtype)

    z = xp.moveaxis(z, axis, -1)
    if softcap is not None:
        z = _softcap(xp, z, softcap)
    raw_z = z
    if _array.is_torch_array(z) or _array.is_jax_array(z):
        z = _without_uncounted_rows(xp, z, (target != ignore_index) if kind == "index" else None, mask)
    log_q = _array._log_softmax(xp, z, axis=-1)
    if kind == "index":
        per, kept, total = _index_terms(xp, log_q, target, weight, ignore_index, mask, label_smoothing)
    else:
        per, kept, total = _prob_terms(
            xp, log_q, xp.moveaxis(target, axis, -1), weight, mask, label_smoothing
        )
    if z_loss:
        squared = _array._logsumexp(xp, z, axis=-1) ** 2
        per = per + z_loss * (squared if kept is None else xp.where(kept, squared, xp.zeros_like(squared)))
    loss = args.restore(xp, _reduce(xp, per, reduction, total), out_dtype)
    if return_entropy:  # of every element's prediction, counted or not
        log_q = log_q if raw_z is z else _array._log_softmax(xp, raw_z, axis=-1)
        return loss, args.restore(xp, _entropy_of_log_probs(xp, log_q), out_dtype)
    return loss


def nll_loss(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    axis: int | None = None,
    validate: bool = True,
) -> Array:
    r"""Negative log-likelihood of class indices: ``torch.nn.functional.nll_loss``.

    Element ``n`` contributes ``-w[y_n] input[n, y_n]``, where ``input`` holds
    log-probabilities (e.g. ``log_softmax`` output) along the class axis; ignored elements
    contribute 0 and ``'mean'`` divides by ``sum_n w[y_n]`` over the kept ones (0, not NaN,
    when none is kept). ``cross_entropy(z, y) == nll_loss(log_softmax(z), y)``: cross-entropy
    of logits is the negative log-likelihood of their log-softmax.

    Args:
      input: log-probabilities, shape ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``.
      target: integer class indices, ``input``'s shape without the class axis.
      weight, ignore_index, reduction, axis, validate: as for :func:`cross_entropy`.

    Returns:
      A 0-d array, or the per-element shape for ``reduction='none'``.

    >>> import numpy as np
    >>> float(nll_loss(np.log(np.array([[0.25, 0.75], [0.5, 0.5]])), np.array([1, -100])))
    0.2876820724517809
    """
    loss = _torch_fast.nll_loss(input, target, weight, ignore_index, reduction, axis, validate)
    if loss is not NotImplemented:
        return loss
    if _jax_fast.is_concrete(input):
        loss = _jax_fast.call(
            "nll_loss",
            nll_loss,
            dict(input=input, target=target, weight=weight),
            dict(ignore_index=ignore_index, reduction=reduction, axis=axis),
            validate,
        )
        if loss is not NotImplemented:
            return loss
    arrays, xp = args.arrays_of_one_kind({"input": input, "target": target, "weight": weight})
    input, target, weight = arrays.values()
    axis = args.class_axis("input", tuple(input.shape), axis)
    _validate.check_reduction(reduction)
    _validate.check_cross_entropy_options(ignore_index=ignore_index)
    if _validate.loss_target_kind(xp, input, target, axis) != "index":
        raise _validate.InputTypeError(
            "must hold integer class indices for nll_loss",
            argument="target",
            value=_validate._dtype_name(target.dtype),
            hint="for probability targets use cross_entropy or kl_div",
        )
    log_q, out_dtype = args.compute_dtype(xp, input, "input")
    n_classes = input.shape[axis]
    validating = args.should_validate(validate, input, target, weight)
    weight = args.class_weight(xp, weight, n_classes, log_q.dtype, validating)
    if validating:
        _validate.check_class_indices(xp, target, n_classes, ignore_index)
    if _array.is_torch_array(log_q):
        loss = _torch_index_loss(
            log_q,
            target,
            axis=axis,
            weight=weight,
            ignore_index=ignore_index,
            mask=None,
            reduction=reduction,
            label_smoothing=0.0,
            fused="nll_loss",
        )
        return args.restore(xp, loss, out_dtype)
    per, _, total = _index_terms(xp, xp.moveaxis(log_q, axis, -1), target, weight, ignore_index, None, 0.0)
    return args.restore(xp, _reduce(xp, per, reduction, total), out_dtype)


def binary_cross_entropy(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    *,
    reduction: str = "mean",
    axis: int | None = None,
    validate: bool = True,
) -> Array:
    r"""Binary cross-entropy of probabilities: ``torch.nn.functional.binary_cross_entropy``.

    ``l = -w [t log x + (1 - t) log(1 - x)]`` elementwise, each log clamped at -100 as PyTorch
    does (so ``x`` of exactly 0 or 1 gives at most 100 per element). ``'mean'`` averages over
    all elements. For two classes this is the categorical cross-entropy.

    Args:
      input: probabilities in ``[0, 1]``, any shape.
      target: probabilities in ``[0, 1]`` (0/1 labels or soft), ``input``'s shape.
      weight: optional non-negative weights broadcast against ``input``.
      reduction: ``'mean'``, ``'sum'`` or ``'none'``.
      axis: ``None`` broadcasts ``weight`` as NumPy/PyTorch do (against the last axis); an int
        lays a 1-D ``weight`` along that axis instead (per class in ``(N, C, H, W)``).
      validate: check the value ranges (skipped anyway under jit/compile tracing).

    >>> import numpy as np
    >>> round(float(binary_cross_entropy(np.array([0.8, 0.4]), np.array([1.0, 0.0]))), 4)
    0.367
    """
    if weight is None and axis is None:
        loss = _torch_fast.binary_cross_entropy(input, target, False, reduction, validate)
        if loss is not NotImplemented:
            return loss
    if _jax_fast.is_concrete(input):
        loss = _jax_fast.call(
            "binary_cross_entropy",
            binary_cross_entropy,
            dict(input=input, target=target, weight=weight),
            dict(reduction=reduction, axis=axis),
            validate,
        )
        if loss is not NotImplemented:
            return loss
    x, t, weight, _, xp, out_dtype, validating = _binary_inputs(
        input, target, weight, None, reduction, axis, validate
    )
    if validating:
        _validate.check_in_unit_interval(xp, x, "input")
    if _array.is_torch_array(x):
        import torch.nn.functional as F

        return args.restore(xp, F.binary_cross_entropy(x, t, weight, reduction=reduction), out_dtype)
    inside = (x > 0) & (x < 1)  # the double where keeps log's gradient finite at x = 0 or 1
    safe = xp.where(inside, x, xp.full_like(x, 0.5))
    floor = xp.full_like(x, -100.0)
    log_x = xp.where(inside, xp.maximum(xp.log(safe), floor), xp.where(x <= 0, floor, xp.zeros_like(x)))
    log_not_x = xp.where(
        inside, xp.maximum(xp.log1p(-safe), floor), xp.where(x >= 1, floor, xp.zeros_like(x))
    )
    per = -(t * log_x + (1 - t) * log_not_x)
    if weight is not None:
        per = per * weight
    return args.restore(xp, _reduce(xp, per, reduction, math.prod(per.shape)), out_dtype)


def binary_cross_entropy_with_logits(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    *,
    reduction: str = "mean",
    pos_weight: ArrayLike | None = None,
    axis: int | None = None,
    validate: bool = True,
) -> Array:
    r"""Binary cross-entropy of logits: ``torch.nn.functional.binary_cross_entropy_with_logits``.

    ``l = w [p t softplus(-x) + (1 - t) softplus(x)]`` elementwise, with ``p`` the weight of
    positive examples (``pos_weight``); ``softplus(-x) = -log sigmoid(x)`` is computed without
    overflow. ``'mean'`` averages over all elements. Same as two-class :func:`cross_entropy`
    on logits ``(0, x)``.

    Args:
      input: logits, any shape.
      target: probabilities in ``[0, 1]``, ``input``'s shape.
      weight: optional non-negative weights broadcast against ``input``.
      pos_weight: optional non-negative weight of positives, broadcast like ``weight``
        (typically one per class).
      reduction, axis, validate: as for :func:`binary_cross_entropy`.

    Infinite logits with the matching label (``+inf`` with 1, ``-inf`` with 0) have loss 0 and
    gradient 0. ``'mean'`` over an empty input is an error (no elements to average), on every
    backend; ``'sum'`` of nothing is 0.

    >>> import numpy as np
    >>> round(float(binary_cross_entropy_with_logits(np.array([2.0]), np.array([1.0]))), 4)
    0.1269
    """
    if weight is None and pos_weight is None and axis is None:
        loss = _torch_fast.binary_cross_entropy(input, target, True, reduction, validate)
        if loss is not NotImplemented:
            return loss
    if _jax_fast.is_concrete(input):
        loss = _jax_fast.call(
            "binary_cross_entropy_with_logits",
            binary_cross_entropy_with_logits,
            dict(input=input, target=target, weight=weight, pos_weight=pos_weight),
            dict(reduction=reduction, axis=axis),
            validate,
        )
        if loss is not NotImplemented:
            return loss
    x, t, weight, pos_weight, xp, out_dtype, _ = _binary_inputs(
        input, target, weight, pos_weight, reduction, axis, validate
    )
    # An infinite logit with the matching label has loss 0 (and gradient 0), but the textbook
    # (1 - t) x gives 0 * inf = NaN there. Clipping to the largest finite value changes no finite
    # input, and its gradient at +-inf is 0, the limit.
    big = float(np.finfo(_validate._dtype_name(x.dtype)).max)
    x = xp.clip(x, -big, big)
    if _array.is_torch_array(x):
        import torch.nn.functional as F

        loss = F.binary_cross_entropy_with_logits(x, t, weight, reduction=reduction, pos_weight=pos_weight)
        return args.restore(xp, loss, out_dtype)
    zero = xp.zeros_like(x)
    softplus_neg = xp.maximum(-x, zero) + xp.log1p(xp.exp(-xp.abs(x)))  # -log sigmoid(x)
    scale = 1.0 if pos_weight is None else 1 + (pos_weight - 1) * t
    per = (1 - t) * x + scale * softplus_neg  # (1 - t) softplus(x) + p t softplus(-x)
    if weight is not None:
        per = per * weight
    return args.restore(xp, _reduce(xp, per, reduction, math.prod(per.shape)), out_dtype)


def kl_div(
    input: ArrayLike,
    target: ArrayLike,
    *,
    reduction: str = "mean",
    log_target: bool = False,
    axis: int | None = None,
    validate: bool = True,
) -> Array:
    r"""Pointwise KL divergence: ``torch.nn.functional.kl_div``.

    ``input`` is the model's log-probabilities ``log q``; ``target`` the probabilities ``p``
    (or ``log p`` with ``log_target=True``). Elementwise ``l = p (log p - log q)``, with
    ``0 log 0 = 0`` (so ``-inf`` in ``input`` where ``p = 0`` is fine). Note the argument order,
    opposite to the math: ``kl_div(log q, p)`` sums to ``D(p || q)``.

    Reductions: ``'sum'``; ``'batchmean'`` (the sum over ``input.shape[0]``: the KL divergence
    per example for ``(N, C)`` input, which is what is usually wanted); ``'mean'`` (the sum over
    *all* elements, PyTorch's default and rarely what is meant); ``'none'`` (elementwise).
    With ``axis`` given, ``'batchmean'`` divides by the number of distributions along that
    axis instead (``input.size / input.shape[axis]``), also for 1-D or ``(N, T, C)`` input.

    Soft targets: ``kl_div(log_softmax(z), p)`` and ``cross_entropy(z, p)`` differ by
    the targets' entropy, a constant, and have the same gradient in ``z``.

    >>> import numpy as np
    >>> p, q = np.array([[.8, .1, .1]]), np.array([[.2, .2, .6]])
    >>> round(float(kl_div(np.log(q), p, reduction='batchmean')), 4)
    0.8605
    """
    loss = _torch_fast.kl_div(input, target, reduction, log_target, axis, validate)
    if loss is not NotImplemented:
        return loss
    if _jax_fast.is_concrete(input):
        loss = _jax_fast.call(
            "kl_div",
            kl_div,
            dict(input=input, target=target),
            dict(reduction=reduction, log_target=log_target, axis=axis),
            validate,
        )
        if loss is not NotImplemented:
            return loss
    arrays, xp = args.arrays_of_one_kind({"input": input, "target": target})
    input, target = arrays.values()
    _validate.check_reduction(reduction, (*_validate.REDUCTIONS, "batchmean"))
    _validate.check_same_shape(("input", "target"), (input.shape, target.shape))
    if reduction in ("mean", "batchmean"):
        _validate.check_not_empty(tuple(input.shape))
    if axis is not None:
        axis = args.class_axis("input", tuple(input.shape), axis)
    log_q, out_dtype = args.compute_dtype(xp, input, "input")
    target, _ = args.compute_dtype(xp, target, "target")
    target = args.restore(xp, target, log_q.dtype)
    if args.should_validate(validate, input, target):
        _validate.check_not_nan(xp, log_q, "input")
        if log_target:
            _validate.check_not_nan(xp, target, "target")
        else:
            _validate.check_non_negative(xp, target, "target")
    if log_target:
        absent = target == -math.inf
        log_p = xp.where(absent, xp.zeros_like(target), target)
        safe_q = xp.where(absent, xp.zeros_like(log_q), log_q)
        per = xp.where(absent, xp.zeros_like(log_q), xp.exp(log_p) * (log_p - safe_q))
    else:
        absent = target == 0
        safe_p = xp.where(absent, xp.ones_like(target), target)
        safe_q = xp.where(absent, xp.zeros_like(log_q), log_q)
        # p log p - p log q, in PyTorch's order of operations (same rounding)
        per = xp.where(absent, xp.zeros_like(log_q), target * xp.log(safe_p) - target * safe_q)
    if reduction == "batchmean":
        # PyTorch divides by input.size(0) when there is one; a 0-d input has none: its sum.
        if log_q.ndim == 0:
            count = 1
        else:
            count = input.shape[0] if axis is None else math.prod(input.shape) // input.shape[axis]
        return args.restore(xp, _reduce(xp, per, "mean", count), out_dtype)
    return args.restore(xp, _reduce(xp, per, reduction, math.prod(per.shape)), out_dtype)


# --------------------------------------------------------------------------------------------
# Helpers: the math in standard array-API calls, class axis last
# --------------------------------------------------------------------------------------------


def _index_terms(
    xp: Namespace,
    log_q: Array,
    target: Array,
    weight: Array | None,
    ignore_index: int,
    mask: Array | None,
    label_smoothing: float,
) -> tuple[Array, Array, Array]:
    """Per-element loss of class-index targets, the kept elements, and the 'mean' divisor."""
    kept = target != ignore_index
    if mask is not None:
        kept = kept & mask
    safe_target = xp.where(kept, target, xp.zeros_like(target))
    picked = xp.take_along_axis(log_q, xp.expand_dims(safe_target, axis=-1), axis=-1)[..., 0]
    zero = xp.zeros_like(picked)
    if weight is None:
        per = xp.where(kept, -picked, zero)
        total = xp.sum(xp.astype(kept, log_q.dtype))
    else:
        target_weight = xp.reshape(xp.take(weight, xp.reshape(safe_target, (-1,))), safe_target.shape)
        per = xp.where(kept, -target_weight * picked, zero)
        total = xp.sum(xp.where(kept, target_weight, zero))
    if label_smoothing:
        n_classes = log_q.shape[-1]
        spread = -xp.sum(log_q if weight is None else log_q * weight, axis=-1)
        per = (1 - label_smoothing) * per + (label_smoothing / n_classes) * xp.where(kept, spread, zero)
    return per, kept, total


def _prob_terms(
    xp: Namespace, log_q: Array, p: Array, weight: Array | None, mask: Array | None, label_smoothing: float
) -> tuple[Array, Array | None, Array | int]:
    """Per-element loss of probability targets (``0 log q = 0`` even for ``q = 0``)."""
    if label_smoothing:
        p = p * (1 - label_smoothing) + label_smoothing / p.shape[-1]
    # 0 log 0 = 0 even for masked classes (log q = -inf), while the gradient in p stays log q
    # wherever that is finite (cross-entropy is linear in p).
    undefined = (p == 0) & (log_q == -math.inf)
    terms = p * xp.where(undefined, xp.zeros_like(log_q), log_q)
    if weight is not None:
        terms = terms * weight
    per = -xp.sum(terms, axis=-1)
    if mask is None:
        return per, None, math.prod(per.shape)
    return xp.where(mask, per, xp.zeros_like(per)), mask, xp.sum(xp.astype(mask, per.dtype))


def _reduce(xp: Namespace, per: Array, reduction: str, total: Array | int) -> Array:
    if reduction == "none":
        return per
    summed = xp.sum(per)
    if reduction == "sum":
        return summed
    if isinstance(total, int):
        return summed / max(total, 1)
    return summed / args.safe_denominator(xp, total)


def _without_uncounted_rows(xp: Namespace, z: Array, kept: Array | None, mask: Array | None) -> Array:
    """``z`` (classes last) with the rows that count for nothing set to 0: their gradient is then
    exactly 0 whatever they held (a row of -inf logits has a NaN log-softmax gradient)."""
    if mask is not None:
        kept = mask if kept is None else kept & mask
    if kept is None:
        return z
    return xp.where(xp.expand_dims(kept, axis=-1), z, xp.zeros_like(z))


def _entropy_of_log_probs(xp: Namespace, log_q: Array) -> Array:
    """``-sum q log q`` along the last axis, 0 for ``q = 0`` classes, NaN-free gradient."""
    present = log_q > -math.inf
    safe = xp.where(present, log_q, xp.zeros_like(log_q))
    return -xp.sum(xp.where(present, xp.exp(safe) * safe, xp.zeros_like(log_q)), axis=-1)


def _softcap(xp: Namespace, z: Array, cap: float) -> Array:
    capped = cap * xp.tanh(z / cap)
    return xp.where(z == -math.inf, z, capped)  # masked classes stay masked


def _check_targets(
    xp: Namespace,
    target: Array,
    kind: str,
    n_classes: int,
    ignore_index: int,
    mask: Array | None,
    axis: int,
    input_dtype: DType,
) -> None:
    if kind == "index":
        _validate.check_class_indices(xp, target, n_classes, ignore_index, mask)
        return
    _validate.check_probability_targets(xp, target, axis, keep=mask, input_dtype=input_dtype)


def _check_broadcasts(name: str, shape: tuple[int, ...], input_shape: tuple[int, ...]) -> None:
    try:
        ok = np.broadcast_shapes(tuple(shape), tuple(input_shape)) == tuple(input_shape)
    except ValueError:
        ok = False
    if not ok:
        raise _validate.InputError(
            f"of shape {tuple(shape)} does not broadcast to input's shape {tuple(input_shape)}",
            argument=name,
            value=tuple(shape),
        )


def _binary_inputs(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None,
    pos_weight: ArrayLike | None,
    reduction: str,
    axis: int | None,
    validate: bool,
) -> tuple[Array, Array, Array | None, Array | None, Namespace, DType, bool]:
    """(input, target, weight, pos_weight) converted and checked, the namespace, the dtype to
    return, and whether the value checks run."""
    named = {"input": input, "target": target, "weight": weight, "pos_weight": pos_weight}
    arrays, xp = args.arrays_of_one_kind(named)
    input, target, weight, pos_weight = arrays.values()
    _validate.check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise _validate.InputError(
            f"must have input's shape {tuple(input.shape)}, got shape {tuple(target.shape)}",
            argument="target",
            value=tuple(target.shape),
        )
    if reduction == "mean":
        _validate.check_not_empty(tuple(input.shape))
    x, out_dtype = args.compute_dtype(xp, input, "input")
    t = args.restore(xp, target, x.dtype)
    validating = args.should_validate(validate, input, target, weight, pos_weight)
    weights = {"weight": weight, "pos_weight": pos_weight}
    for name, w in weights.items():
        w = args.along_axis(xp, w, x.ndim, axis)
        if w is not None:
            _check_broadcasts(name, w.shape, x.shape)
            w = args.restore(xp, w, x.dtype)
            if validating:
                _validate.check_non_negative(xp, w, name)
        weights[name] = w
    if validating:
        _validate.check_in_unit_interval(xp, t, "target")
    return x, t, weights["weight"], weights["pos_weight"], xp, out_dtype, validating


def _torch_index_loss(
    z: Array,
    target: Array,
    *,
    axis: int,
    weight: Array | None,
    ignore_index: int,
    mask: Array | None,
    reduction: str,
    label_smoothing: float,
    fused: str,
) -> Array:
    """PyTorch's fused kernel for class-index targets; 'mean' as sum / kept weight (0 if none)."""
    import torch
    import torch.nn.functional as F

    if mask is not None:  # masked elements become ignored ones: the fused kernel still applies
        target = torch.where(mask, target, torch.full_like(target, ignore_index))
    if target.dtype != torch.int64:
        target = target.long()
    ignored = target == ignore_index
    # An ignored row of -inf logits has a NaN log-softmax gradient (NaN * 0): zero such rows first
    # (one pass, only when some row is ignored; always under tracing, where bool() cannot run:
    # of either, as torch.func.vmap over the targets alone traces them only).
    if z.ndim >= 1 and (_array.is_tracing(z) or _array.is_tracing(target) or bool(ignored.any())):
        z = torch.where(ignored.unsqueeze(axis if z.ndim >= 2 else 0), 0, z)
    element_shape = target.shape
    if z.ndim >= 2 and axis != 1:  # the kernels want classes on dim 1: (M, C) rows
        z = torch.movedim(z, axis, -1).reshape(-1, z.shape[axis])
        target = target.reshape(-1)
    kernel_reduction = "sum" if reduction == "mean" else reduction
    if fused == "cross_entropy":
        out = F.cross_entropy(
            z,
            target,
            weight,
            ignore_index=ignore_index,
            reduction=kernel_reduction,
            label_smoothing=label_smoothing,
        )
    else:
        out = F.nll_loss(z, target, weight, ignore_index=ignore_index, reduction=kernel_reduction)
    if reduction == "none":
        return out.reshape(element_shape)
    if reduction == "sum":
        return out
    kept = target != ignore_index
    if weight is None:
        total = kept.sum(dtype=z.dtype)
    else:
        total = torch.where(kept, weight[torch.where(kept, target, 0)], 0).sum()
    return out / torch.where(total == 0, 1, total)


# --------------------------------------------------------------------------------------------
# PyTorch: cross-entropy with the gradient taken in the forward pass (infoloss.ops, imported
# here only, so that importing infoloss.losses never imports torch)
# --------------------------------------------------------------------------------------------

_REPLAYING = threading.local()  # set while backward(create_graph=True) recomputes by the plain path


def _fused_applies(
    input: Array, target: Array, weight: Array | None, return_entropy: bool, inplace_backward: bool
) -> bool:
    """The memory-saving path runs when ``input``'s gradient will be needed, outside tracing
    (``torch.compile``, ``torch.func``) and the create_graph replay, for large enough input."""
    torch = sys.modules["torch"]
    if return_entropy or not (input.requires_grad and torch.is_grad_enabled()):
        return False
    if getattr(target, "requires_grad", False) or getattr(weight, "requires_grad", False):
        return False  # the fused path gives the logits their gradient only
    if getattr(_REPLAYING, "active", False) or _array.is_torch_tracing(torch, input):
        return False
    return bool(inplace_backward) or input.numel() >= FUSED_MIN_ELEMENTS


def _torch_fused_cross_entropy(
    input: Array,
    target: Array,
    kind: str,
    axis: int,
    element_shape: tuple[int, ...],
    options: dict[str, Any],
    inplace_backward: bool,
) -> Array:
    """Classes last as (M, C) rows (a view for 2-D input), then the fused op."""
    import torch

    from ..ops.logits_cross_entropy import logits_cross_entropy_op

    n_classes = input.shape[axis]
    rows = torch.movedim(input, axis, -1).reshape(-1, n_classes)
    if kind == "index":
        target = target.reshape(-1).to(torch.long)
    else:
        target = torch.movedim(target, axis, -1).reshape(-1, n_classes)
    mask = options["mask"]
    options = dict(options, mask=None if mask is None else mask.reshape(-1))
    plain = dict(options, axis=1, validate=False)

    def replay(logits: Array, grad_output: Array) -> Array:
        """The gradient by the plain path, differentiable (backward with create_graph=True)."""
        _REPLAYING.active = True
        try:
            with torch.enable_grad():
                loss = cross_entropy(logits, target, **plain)
                return torch.autograd.grad(loss, logits, grad_output, create_graph=True)[0]
        finally:
            _REPLAYING.active = False

    loss = logits_cross_entropy_op(
        rows, target, kind=kind, inplace_backward=inplace_backward, replay=replay, **options
    )
    return loss.reshape(element_shape) if options["reduction"] == "none" else loss
