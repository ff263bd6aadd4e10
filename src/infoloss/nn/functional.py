"""Large-vocabulary losses that never materialise the N x V logits (PyTorch).

``linear_cross_entropy(hidden, weight, target)`` equals
``torch.nn.functional.cross_entropy(hidden @ weight.T + bias, target)`` in value and in
gradients w.r.t. ``hidden``, ``weight`` and ``bias``, with the same options plus z-loss and
softcap, but holds only one ``chunk x V`` block of logits at a time. ``linear_kl_div`` and
``linear_js_div`` do the same for distillation from a teacher. The work is in
:mod:`infoloss.ops`; this module checks arguments and dispatches.

Deliberate difference from PyTorch: a ``'mean'`` whose targets are all ``ignore_index`` is 0
with zero gradients, not NaN.
"""

from __future__ import annotations

import torch  # noqa: F401 - this module needs PyTorch (the ops below import it too)

from .. import _validate
from ..ops.cross_entropy import linear_cross_entropy_op
from ..ops.distill import linear_distill_op
from ..ops.vocab_parallel import vocab_parallel_cross_entropy_op, vocab_parallel_linear_cross_entropy_op

__all__ = [
    "linear_cross_entropy",
    "linear_kl_div",
    "linear_js_div",
    "vocab_parallel_cross_entropy",
    "vocab_parallel_linear_cross_entropy",
]

def linear_cross_entropy(
    hidden, weight, target, bias=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0,
    z_loss=0.0, softcap=None, chunk_size=None, return_lse=False,
):
    r"""Cross-entropy of ``hidden @ weight.T + bias`` against class indices, chunk by chunk.

    Per non-ignored token with logits ``z`` (after ``z -> softcap * tanh(z / softcap)`` when
    ``softcap`` is set), target ``y``, smoothing ``eps`` and ``V`` classes:

    .. math:: \ell = (1-\epsilon)(\mathrm{lse}(z) - z_y)
                     + \epsilon\,\tfrac1V\textstyle\sum_j(\mathrm{lse}(z) - z_j)
                     + c\,\mathrm{lse}(z)^2

    with ``c = z_loss`` (PaLM, Chowdhery et al. 2022) and softcap from Gemma 2 (2024). Memory:
    one ``chunk x V`` float32 block of logits (two with softcap) plus the gradient buffers;
    the gradient is taken in the forward pass for 'mean'/'sum' (see :mod:`infoloss.ops`).
    Float16/bfloat16 inputs: matmuls in the input dtype, softmax and the accumulation of
    ``grad_weight``/``grad_bias`` in float32, results in the input dtype.

    Args:
      hidden: (..., D) floating tensor (D = 0 is allowed: the logits are then the bias).
      weight: (V, D) tensor, same dtype and device as ``hidden``; V >= 1.
      target: (...) integer tensor of class indices in [0, V) or ``ignore_index``.
      bias: optional (V,) tensor.
      ignore_index, reduction ('mean' | 'sum' | 'none'), label_smoothing: as in
        ``torch.nn.functional.cross_entropy``; 'mean' divides by the non-ignored tokens.
      z_loss: coefficient ``c`` >= 0 of ``lse^2``.
      softcap: None or a cap in ``[1e-15, 1e15]``; ``ignore_index`` an int that fits in int64
        (the options and their ranges are those of :func:`infoloss.losses.cross_entropy`).
      Ignored tokens have zero gradients, also when their logits are all -inf (a -inf bias).
      chunk_size: rows per chunk (default: from the shapes, about 64 MiB of logits on CPU).
      return_lse: also return the per-token logsumexp (float32, shape of ``target``, no grad).

    Returns:
      The loss (0-d, or ``target``'s shape for 'none'), in ``hidden``'s dtype; with
      ``return_lse``, ``(loss, lse)``.

    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> h, w = torch.randn(6, 4, generator=g), torch.randn(10, 4, generator=g)
    >>> y = torch.tensor([1, 2, 3, -100, 5, 9])
    >>> fused = linear_cross_entropy(h, w, y, chunk_size=4)
    >>> plain = torch.nn.functional.cross_entropy(h @ w.T, y)
    >>> bool(torch.allclose(fused, plain))
    True
    """
    _check_cross_entropy_call(hidden, weight, target, bias, ignore_index=ignore_index, reduction=reduction,
                              label_smoothing=label_smoothing, z_loss=z_loss, softcap=softcap, chunk_size=chunk_size)
    return linear_cross_entropy_op(
        hidden, weight, target, bias, ignore_index=ignore_index, reduction=reduction,
        label_smoothing=label_smoothing, z_loss=z_loss, softcap=softcap, chunk_size=chunk_size,
        return_lse=return_lse,
    )


def linear_kl_div(
    hidden, weight, teacher, teacher_weight=None, *, bias=None, teacher_bias=None, direction="forward",
    temperature=1.0, scale_by_temperature=True, mask=None, reduction="mean", chunk_size=None,
):
    r"""KL divergence between a teacher and the student ``softmax((hidden @ weight.T + bias) / T)``.

    ``direction='forward'``: :math:`KL(p_t \| p_s) = \sum_j p_{t,j}(\log p_{t,j} - \log p_{s,j})`
    (the usual distillation loss, Hinton et al. 2015); ``'reverse'``: :math:`KL(p_s \| p_t)`.
    Both sides use temperature ``T``; ``scale_by_temperature`` (default, as in
    :func:`infoloss.losses.distillation_kl`) multiplies by ``T**2`` so gradient magnitudes do not
    shrink with ``T``. The teacher is a fixed target: given as
    logits (..., V) when ``teacher_weight`` is None, else as hidden states (..., D_t) with
    ``teacher_weight`` (V, D_t) and optional ``teacher_bias``; no gradient flows to it.

    Args:
      hidden, weight, bias: the student, as in :func:`linear_cross_entropy`.
      teacher, teacher_weight, teacher_bias: the teacher (see above).
      mask: optional boolean (...) tensor; False tokens (padding) contribute nothing.
      reduction: 'mean' over the kept tokens (0 if none; ``kl_div``'s 'batchmean' for 2-D
        input), 'sum' or 'none' (per token).
      temperature: in ``[1e-15, 1e4]``, as for :func:`infoloss.losses.distillation_kl`; a -inf
        teacher logit (a class the teacher rules out) is fine: ``0 log 0 = 0``.
      chunk_size: rows per chunk.

    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> h, w, t = torch.randn(5, 3, generator=g), torch.randn(7, 3, generator=g), torch.randn(5, 7, generator=g)
    >>> fused = linear_kl_div(h, w, t, temperature=2.0, scale_by_temperature=False)
    >>> plain = torch.nn.functional.kl_div(torch.log_softmax(h @ w.T / 2, -1),
    ...                                    torch.log_softmax(t / 2, -1), reduction="batchmean", log_target=True)
    >>> bool(torch.allclose(fused, plain))
    True
    """
    _validate.check_distillation_options(direction=direction, temperature=temperature)
    return _linear_distill(
        hidden, weight, teacher, teacher_weight, bias=bias, teacher_bias=teacher_bias, divergence=direction,
        beta=0.5, temperature=temperature, scale_by_temperature=scale_by_temperature, mask=mask,
        reduction=reduction, chunk_size=chunk_size,
    )


def linear_js_div(
    hidden, weight, teacher, teacher_weight=None, *, bias=None, teacher_bias=None, beta=0.5,
    temperature=1.0, scale_by_temperature=True, mask=None, reduction="mean", chunk_size=None,
):
    r"""Generalised Jensen-Shannon divergence between a teacher and the student, chunk by chunk.

    With ``m = beta * p_t + (1 - beta) * p_s``:
    :math:`JS_\beta = \beta\,KL(p_t \| m) + (1-\beta)\,KL(p_s \| m)`; ``beta = 0.5`` is the
    Jensen-Shannon divergence (Lin 1991), at most ``log 2`` (the definition of
    :func:`infoloss.losses.distillation_js`; ``beta`` in (0, 1)). Arguments as in
    :func:`linear_kl_div`.

    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> h, w = torch.randn(4, 3, generator=g), torch.randn(6, 3, generator=g)
    >>> bool(linear_js_div(h, w, h @ w.T).abs() < 1e-6)  # identical teacher: 0
    True
    """
    _validate.check_distillation_options(beta=beta, temperature=temperature)
    return _linear_distill(
        hidden, weight, teacher, teacher_weight, bias=bias, teacher_bias=teacher_bias, divergence="js",
        beta=beta, temperature=temperature, scale_by_temperature=scale_by_temperature, mask=mask,
        reduction=reduction, chunk_size=chunk_size,
    )


def vocab_parallel_cross_entropy(
    logits, target, *, group=None, ignore_index=-100, reduction="mean", label_smoothing=0.0, z_loss=0.0,
    softcap=None,
):
    """Cross-entropy of logits sharded by vocabulary across the ranks of ``group``.

    Each rank passes its own slice ``logits`` (..., V_r) of the full (..., V) logits, the slices
    in rank order, and the same full-vocabulary ``target`` (...). The result equals
    :func:`torch.nn.functional.cross_entropy` on the concatenated logits (plus z-loss and
    softcap as in :func:`linear_cross_entropy`) and is the same on every rank. Communication:
    an all-gather of the slice widths (one int per rank), an all-reduce MAX of the row maxima and
    one all-reduce SUM of (sum of exponentials, target logit, logit sum) per row. The backward is
    local: each rank's gradient is that of the global loss w.r.t. its own slice. Targets are
    global class indices, checked against the full vocabulary (``0 <= target < V``, as in
    ``F.cross_entropy``) on every rank.
    """
    _validate.check_reduction(reduction)
    _validate.check_cross_entropy_options(ignore_index=ignore_index, label_smoothing=label_smoothing, z_loss=z_loss,
                                          softcap=softcap)
    _validate.check_float_tensor("logits", logits)
    if logits.ndim < 1:
        raise _validate.InputError("must have a vocabulary axis, got a 0-d tensor", argument="logits", value=())
    _validate.check_index_target_tensor(target, logits, None, ignore_index, hidden_name="logits")
    return vocab_parallel_cross_entropy_op(
        logits, target, group=group, ignore_index=ignore_index, reduction=reduction,
        label_smoothing=label_smoothing, z_loss=z_loss, softcap=softcap,
    )


def vocab_parallel_linear_cross_entropy(
    hidden, weight, target, bias=None, *, group=None, ignore_index=-100, reduction="mean", label_smoothing=0.0,
    z_loss=0.0, softcap=None, chunk_size=None,
):
    """:func:`linear_cross_entropy` with ``weight`` (and ``bias``) sharded by vocabulary rows.

    Every rank holds the same ``hidden`` (..., D) and ``target`` and its own rows ``weight``
    (V_r, D) of the output layer, in rank order. Chunked like :func:`linear_cross_entropy`;
    per chunk two all-reduces of per-row statistics (as in
    :func:`vocab_parallel_cross_entropy`). ``hidden``'s gradient is summed over the ranks (one
    all-reduce of N x D, in the forward pass for 'mean'/'sum', in the backward for 'none'), so
    every rank gets the full gradient, as a replicated input should.
    """
    _check_cross_entropy_call(hidden, weight, target, bias, ignore_index=ignore_index, reduction=reduction,
                              label_smoothing=label_smoothing, z_loss=z_loss, softcap=softcap, chunk_size=chunk_size,
                              local_vocab=True)
    return vocab_parallel_linear_cross_entropy_op(
        hidden, weight, target, bias, group=group, ignore_index=ignore_index, reduction=reduction,
        label_smoothing=label_smoothing, z_loss=z_loss, softcap=softcap, chunk_size=chunk_size,
    )


# --------------------------------------------------------------------------------------------
# Argument checks (eager only; skipped under torch.compile tracing)
# --------------------------------------------------------------------------------------------


def _check_cross_entropy_call(hidden, weight, target, bias, *, ignore_index, reduction, label_smoothing, z_loss,
                              softcap, chunk_size, local_vocab=False):
    """The checks of :func:`linear_cross_entropy` (and its vocabulary-parallel form, whose
    ``weight`` holds this rank's rows only: the targets' range is checked once the full
    vocabulary size is known)."""
    _validate.check_reduction(reduction)
    _validate.check_cross_entropy_options(ignore_index=ignore_index, label_smoothing=label_smoothing, z_loss=z_loss,
                                          softcap=softcap)
    _validate.check_chunk_size(chunk_size)
    vocab = _validate.check_linear(hidden, weight, bias)
    _validate.check_index_target_tensor(target, hidden, None if local_vocab else vocab, ignore_index)


def _linear_distill(hidden, weight, teacher, teacher_weight, *, bias, teacher_bias, reduction, mask,
                    temperature, chunk_size, **options):
    _validate.check_reduction(reduction)
    _validate.check_chunk_size(chunk_size)
    vocab = _validate.check_linear(hidden, weight, bias)
    _validate.check_float_tensor("teacher", teacher)
    if teacher.shape[:-1] != hidden.shape[:-1]:
        raise _validate.InputError(
            f"has shape {tuple(teacher.shape)} but hidden has shape {tuple(hidden.shape)}; they need the same "
            "leading (token) dimensions", argument="teacher", value=tuple(teacher.shape),
        )
    if teacher_weight is None:
        if teacher_bias is not None:
            raise _validate.InputError("needs teacher_weight (a teacher given as logits has no bias)",
                                       argument="teacher_bias")
        if teacher.shape[-1] != vocab:
            raise _validate.InputError(
                f"logits have {teacher.shape[-1]} classes (shape {tuple(teacher.shape)}) but weight has {vocab} rows "
                f"(shape {tuple(weight.shape)}); they need the same vocabulary", argument="teacher",
                value=tuple(teacher.shape),
            )
    else:
        teacher_vocab = _validate.check_linear(teacher, teacher_weight, teacher_bias,
                                               ("teacher", "teacher_weight", "teacher_bias"))
        if teacher_vocab != vocab:
            raise _validate.InputError(f"has {teacher_vocab} rows but weight has {vocab}; they need the same vocabulary",
                                       argument="teacher_weight", value=tuple(teacher_weight.shape))
    if mask is not None:
        _validate.check_token_mask(mask, tuple(hidden.shape[:-1]))
    return linear_distill_op(
        hidden, weight, teacher, teacher_weight, bias=bias, teacher_bias=teacher_bias, temperature=temperature,
        mask=mask, reduction=reduction, chunk_size=chunk_size, **options,
    )
