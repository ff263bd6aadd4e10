"""Knowledge-distillation losses between student and teacher logits (what PyTorch lacks).

Public names live in :mod:`infoloss.losses`; this module holds their math: one array-API
implementation for every backend, and a fused PyTorch path that computes the loss and the
student's gradient chunk by chunk in the forward pass (a few chunk-sized temporaries plus one
gradient the size of the logits, instead of the half-dozen full-size temporaries that autograd
keeps for ``log_softmax`` + ``kl_div``).

References: G. Hinton, O. Vinyals, J. Dean, "Distilling the knowledge in a neural network"
(2015) for the temperature and its ``T**2`` gradient scaling; Y. Gu et al., "MiniLLM" (2024)
for reverse KL; R. Agarwal et al., "On-policy distillation of language models" (GKD, 2024) for
the generalised Jensen-Shannon divergence.
"""

from __future__ import annotations

import math

from .. import _array, _validate
from .._typing import Array, ArrayLike, DType, Namespace
from . import _args as args

__all__ = ["distillation_kl", "distillation_js"]

TEACHER_FORMATS = ("logits", "log_probs", "probs")


def distillation_kl(
    student: ArrayLike,
    teacher: ArrayLike,
    *,
    direction: str = "forward",
    temperature: float = 1.0,
    teacher_format: str = "logits",
    scale_by_temperature: bool = True,
    reduction: str = "mean",
    mask: ArrayLike | None = None,
    axis: int | None = None,
    validate: bool = True,
) -> Array:
    r"""KL divergence between teacher and student predictions at temperature ``T``.

    With ``s = log_softmax(student / T)`` and ``t`` the teacher's log-probabilities at the same
    temperature, the loss of each element (each distribution along the class axis) is

    * ``direction='forward'``: ``KL(teacher || student) = sum_c e^t (t - s)`` (Hinton et al.;
      mean-seeking: the student spreads over everything the teacher allows);
    * ``direction='reverse'``: ``KL(student || teacher) = sum_c e^s (s - t)`` (MiniLLM;
      mode-seeking: the student concentrates where the teacher is confident),

    times ``T**2`` if ``scale_by_temperature`` (so gradient magnitudes do not shrink as ``1/T**2``
    when ``T`` changes). ``0 log 0 = 0``: classes masked with ``-inf`` in both give a finite loss
    and a NaN-free gradient.

    Args:
      student: student logits, shape ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``.
      teacher: teacher output of the same shape, as ``teacher_format``: ``'logits'``,
        ``'log_probs'`` or ``'probs'``. Temperature applies to all three (probabilities become
        ``p**(1/T)`` renormalised, the same as dividing the teacher's logits by ``T``).
      direction: ``'forward'`` or ``'reverse'``.
      temperature: ``T`` in ``[1e-15, 1e4]`` (:data:`infoloss._validate.TEMPERATURE_RANGE`):
        below, ``T**2`` underflows float32; above, a softmax at ``T`` is uniform to within
        rounding. In float32 the relative error grows like ``T**2 * 1e-7`` (as for PyTorch's
        ``log_softmax`` + ``kl_div``): use float64 for large temperatures.
      scale_by_temperature: multiply by ``T**2``.
      reduction: ``'mean'`` over elements (the per-example KL, like ``kl_div``'s
        ``'batchmean'`` for ``(N, C)``), ``'sum'`` or ``'none'``.
      mask: optional boolean array of the per-element shape; False elements (padding) contribute
        nothing, with a zero gradient whatever they hold, and ``'mean'`` averages over the True
        ones (0 if none).
      axis: the class axis; ``None`` is PyTorch's (1, or 0 for 1-D input).
      validate: check ``teacher`` as a distribution for ``'probs'``/``'log_probs'``.

    On PyTorch tensors with a teacher that needs no gradient, a fused path computes the
    student's gradient in the forward pass (once-differentiable: no double backward).

    >>> import numpy as np
    >>> student, teacher = np.array([[1.0, 2.0, 3.0]]), np.array([[1.0, 2.0, 3.0]])
    >>> float(distillation_kl(student, teacher, temperature=2.0))
    0.0
    >>> round(float(distillation_kl(np.log([[.2, .2, .6]]), np.array([[.8, .1, .1]]), teacher_format='probs')), 4)
    0.8605
    """
    _validate.check_distillation_options(direction=direction, temperature=temperature)
    return _distill(
        student,
        teacher,
        mode=direction,
        beta=None,
        temperature=temperature,
        teacher_format=teacher_format,
        scale_by_temperature=scale_by_temperature,
        reduction=reduction,
        mask=mask,
        axis=axis,
        validate=validate,
    )


def distillation_js(
    student: ArrayLike,
    teacher: ArrayLike,
    *,
    beta: float = 0.5,
    temperature: float = 1.0,
    teacher_format: str = "logits",
    scale_by_temperature: bool = True,
    reduction: str = "mean",
    mask: ArrayLike | None = None,
    axis: int | None = None,
    validate: bool = True,
) -> Array:
    r"""Generalised Jensen-Shannon divergence between teacher and student predictions.

    ``JS_beta = beta KL(teacher || m) + (1 - beta) KL(student || m)`` with the mixture
    ``m = beta teacher + (1 - beta) student`` (GKD, Agarwal et al. 2024), each distribution a
    softmax at temperature ``T``. ``beta = 0.5`` is the Jensen-Shannon divergence (at most
    ``log 2``); small ``beta`` behaves like ``beta`` times forward KL, ``beta`` near 1 like
    ``1 - beta`` times reverse KL. Always finite, even for disjoint supports.

    Args:
      beta: the teacher's share of the mixture, in ``(0, 1)``.
      Others: as for :func:`distillation_kl`.

    >>> import numpy as np
    >>> far = distillation_js(np.array([[0.0, -np.inf]]), np.array([[-np.inf, 0.0]]))
    >>> round(float(far), 6) == round(float(np.log(2)), 6)  # disjoint supports: the maximum
    True
    """
    _validate.check_distillation_options(beta=beta, temperature=temperature)
    return _distill(
        student,
        teacher,
        mode="js",
        beta=float(beta),
        temperature=temperature,
        teacher_format=teacher_format,
        scale_by_temperature=scale_by_temperature,
        reduction=reduction,
        mask=mask,
        axis=axis,
        validate=validate,
    )


# --------------------------------------------------------------------------------------------
# Edge: conversion and checks, then dispatch
# --------------------------------------------------------------------------------------------


#: (mode, beta, temperature, teacher_format): mode 'forward', 'reverse' or 'js'; beta None but for 'js'.
_Config = tuple[str, float | None, float, str]


def _distill(
    student: ArrayLike,
    teacher: ArrayLike,
    *,
    mode: str,
    beta: float | None,
    temperature: float,
    teacher_format: str,
    scale_by_temperature: bool,
    reduction: str,
    mask: ArrayLike | None,
    axis: int | None,
    validate: bool,
) -> Array:
    arrays, xp = args.arrays_of_one_kind({"student": student, "teacher": teacher, "mask": mask})
    student, teacher, mask = arrays.values()
    _validate.check_same_shape(("student", "teacher"), (student.shape, teacher.shape))
    axis = args.class_axis("student", tuple(student.shape), axis)
    _validate.check_reduction(reduction)
    _validate.check_choice("teacher_format", teacher_format, TEACHER_FORMATS)
    s, out_dtype = args.compute_dtype(xp, student, "student")
    t, _ = args.compute_dtype(xp, teacher, "teacher")
    t = args.restore(xp, t, s.dtype)
    element_shape = tuple(n for i, n in enumerate(s.shape) if i != axis)
    mask = args.element_mask(xp, mask, element_shape)
    if args.should_validate(validate, student, teacher, mask):
        _check_teacher(xp, t, teacher_format, axis, mask, teacher.dtype)
    factor = float(temperature) ** 2 if scale_by_temperature else 1.0
    config: _Config = (mode, beta, float(temperature), teacher_format)

    if _array.is_torch_array(s) and _fused_applies(s, t):
        loss = _torch_fused(s, t, config, reduction, mask, axis, element_shape, scale_by_temperature)
        return args.restore(xp, loss, out_dtype)

    s, t = xp.moveaxis(s, axis, -1), xp.moveaxis(t, axis, -1)
    if mask is not None:  # masked rows count for nothing whatever they hold: zero gradient, no NaN
        keep = xp.expand_dims(mask, axis=-1)
        s = xp.where(keep, s, xp.zeros_like(s))
        t = xp.where(keep, t, xp.ones_like(t) if teacher_format == "probs" else xp.zeros_like(t))
    log_s = _array._log_softmax(xp, _shifted_scaled(xp, s, temperature), axis=-1)
    log_t = _teacher_log_probs(xp, t, teacher_format, temperature)
    per = _divergence(xp, mode, beta, log_s, log_t)
    if factor != 1.0:
        per = per * factor
    if mask is not None:
        per = xp.where(mask, per, xp.zeros_like(per))
    if reduction == "none":
        return args.restore(xp, per, out_dtype)
    total = xp.sum(per)
    if reduction == "mean":
        count = math.prod(element_shape) if mask is None else xp.sum(xp.astype(mask, per.dtype))
        total = total / (max(count, 1) if isinstance(count, int) else args.safe_denominator(xp, count))
    return args.restore(xp, total, out_dtype)


def _check_teacher(
    xp: Namespace, t: Array, teacher_format: str, axis: int, mask: Array | None, input_dtype: DType
) -> None:
    if teacher_format == "logits":
        _validate.check_not_nan(xp, t, "teacher")
        return
    probs = t if teacher_format == "probs" else xp.exp(t)
    name = "teacher" if teacher_format == "probs" else "exp(teacher)"
    _validate.check_probability_targets(xp, probs, axis, name=name, keep=mask, input_dtype=input_dtype)


# --------------------------------------------------------------------------------------------
# The math, class axis last, in standard array-API calls
# --------------------------------------------------------------------------------------------


def _shifted_scaled(xp: Namespace, z: Array, temperature: float) -> Array:
    """``z / T``, less the row maximum first when T < 1 (so the division cannot overflow)."""
    if temperature == 1:
        return z
    if temperature < 1:
        top = xp.max(z, axis=-1, keepdims=True)
        z = z - xp.where(xp.isfinite(top), top, xp.zeros_like(top))
    return z / temperature


def _teacher_log_probs(xp: Namespace, t: Array, teacher_format: str, temperature: float) -> Array:
    if teacher_format == "probs":
        present = t > 0
        safe = xp.where(present, t, xp.ones_like(t))
        t = xp.where(present, xp.log(safe), xp.full_like(t, -math.inf))
    return _array._log_softmax(xp, _shifted_scaled(xp, t, temperature), axis=-1)


def _divergence(xp: Namespace, mode: str, beta: float | None, log_s: Array, log_t: Array) -> Array:
    """Per-element divergence from log-probabilities (classes on the last axis)."""
    if mode == "forward":
        return _kl_rows(xp, log_t, log_s)
    if mode == "reverse":
        return _kl_rows(xp, log_s, log_t)
    assert beta is not None  # mode 'js': distillation_js always passes its beta
    both_absent = (log_s == -math.inf) & (log_t == -math.inf)
    zero = xp.zeros_like(log_s)
    # logaddexp's gradient at (-inf, -inf) is NaN: feed it zeros there and put -inf back after.
    log_m = xp.logaddexp(
        xp.where(both_absent, zero, log_t) + math.log(beta),
        xp.where(both_absent, zero, log_s) + math.log1p(-beta),
    )
    log_m = xp.where(both_absent, xp.full_like(log_m, -math.inf), log_m)
    return beta * _kl_rows(xp, log_t, log_m) + (1 - beta) * _kl_rows(xp, log_s, log_m)


def _kl_rows(xp: Namespace, log_a: Array, log_b: Array) -> Array:
    """``sum_c a (log a - log b)`` with ``a = exp(log_a)``; 0 where ``a = 0``; NaN-free gradient."""
    absent = log_a == -math.inf
    zero = xp.zeros_like(log_a)
    safe_a = xp.where(absent, zero, log_a)
    safe_b = xp.where(absent, zero, log_b)
    return xp.sum(xp.where(absent, zero, xp.exp(safe_a) * (safe_a - safe_b)), axis=-1)


# --------------------------------------------------------------------------------------------
# PyTorch: fused loss and student gradient, chunk by chunk (infoloss.ops.distill, imported here
# only, so that importing infoloss.losses never imports torch)
# --------------------------------------------------------------------------------------------


def _fused_applies(s: Array, t: Array) -> bool:
    import torch

    return not torch.compiler.is_compiling() and not t.requires_grad


def _torch_fused(
    s: Array,
    t: Array,
    config: _Config,
    reduction: str,
    mask: Array | None,
    axis: int,
    element_shape: tuple[int, ...],
    scale_by_temperature: bool,
) -> Array:
    import torch

    from ..ops.distill import fused_distillation

    mode, beta, temperature, teacher_format = config
    n_classes = s.shape[axis]
    rows_s = torch.movedim(s, axis, -1).reshape(-1, n_classes)
    rows_t = torch.movedim(t, axis, -1).reshape(-1, n_classes)
    loss = fused_distillation(
        rows_s,
        rows_t,
        mode=mode,
        beta=beta,
        temperature=temperature,
        teacher_format=teacher_format,
        scale_by_temperature=scale_by_temperature,
        reduction=reduction,
        mask=mask,
    )
    return loss if reduction != "none" else loss.reshape(element_shape)
