"""Large-vocabulary losses that never materialise the N x V logits (PyTorch).

``linear_cross_entropy(input, linear_weight, target, linear_bias=..., weight=...)`` has the
signature and defaults of ``torch.nn.functional.linear_cross_entropy`` (PyTorch 2.13) and equals
``torch.nn.functional.cross_entropy(input @ linear_weight.T + linear_bias, target, weight=...)``
in value and in gradients w.r.t. ``input``, ``linear_weight`` and ``linear_bias``, with z-loss
and softcap on top, but holds only one ``chunk x V`` block of logits at a time.
``linear_kl_div`` and ``linear_js_div`` do the same for distillation from a teacher. The work
is in :mod:`infoloss.ops`; this module checks arguments and dispatches.

Deliberate difference from PyTorch: a ``'mean'`` whose targets are all ``ignore_index`` (or whose
kept targets all have class weight 0) is 0 with zero gradients, not NaN.
"""

from __future__ import annotations

from typing import Literal, overload

import torch
import torch.distributed as dist

from .. import _array, _validate
from ..losses import _args
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

# PyTorch's default: ignore_index=None means -100 for class-index targets.
_DEFAULT_IGNORE_INDEX = -100
_LINEAR_NAMES = ("input", "linear_weight", "linear_bias")


@overload
def linear_cross_entropy(
    input: torch.Tensor,
    linear_weight: torch.Tensor,
    target: torch.Tensor,
    *,
    linear_bias: torch.Tensor | None = ...,
    weight: torch.Tensor | None = ...,
    reduction: str = ...,
    ignore_index: int | None = ...,
    label_smoothing: float = ...,
    options: object | None = ...,
    z_loss: float = ...,
    softcap: float | None = ...,
    chunk_size: int | None = ...,
    return_lse: Literal[True],
) -> tuple[torch.Tensor, torch.Tensor]: ...


@overload
def linear_cross_entropy(
    input: torch.Tensor,
    linear_weight: torch.Tensor,
    target: torch.Tensor,
    *,
    linear_bias: torch.Tensor | None = ...,
    weight: torch.Tensor | None = ...,
    reduction: str = ...,
    ignore_index: int | None = ...,
    label_smoothing: float = ...,
    options: object | None = ...,
    z_loss: float = ...,
    softcap: float | None = ...,
    chunk_size: int | None = ...,
    return_lse: Literal[False] = ...,
) -> torch.Tensor: ...


@overload
def linear_cross_entropy(
    input: torch.Tensor,
    linear_weight: torch.Tensor,
    target: torch.Tensor,
    *,
    linear_bias: torch.Tensor | None = ...,
    weight: torch.Tensor | None = ...,
    reduction: str = ...,
    ignore_index: int | None = ...,
    label_smoothing: float = ...,
    options: object | None = ...,
    z_loss: float = ...,
    softcap: float | None = ...,
    chunk_size: int | None = ...,
    return_lse: bool = ...,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]: ...


def linear_cross_entropy(
    input: torch.Tensor,
    linear_weight: torch.Tensor,
    target: torch.Tensor,
    *,
    linear_bias: torch.Tensor | None = None,
    weight: torch.Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    options: object | None = None,
    z_loss: float = 0.0,
    softcap: float | None = None,
    chunk_size: int | None = None,
    return_lse: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    r"""Cross-entropy of ``input @ linear_weight.T + linear_bias`` against class indices, chunk by chunk.

    PyTorch's ``torch.nn.functional.linear_cross_entropy`` signature and defaults, plus
    infoloss's keywords ``z_loss``, ``softcap``, ``chunk_size`` and ``return_lse``. Per kept token
    with logits ``z`` (after ``z -> softcap * tanh(z / softcap)`` when ``softcap`` is set),
    target ``y``, class weights ``w`` (all 1 by default), smoothing ``eps`` and ``V`` classes:

    .. math:: \ell = (1-\epsilon)\,w_y(\mathrm{lse}(z) - z_y)
                     + \epsilon\,\tfrac1V\textstyle\sum_j w_j(\mathrm{lse}(z) - z_j)
                     + c\,\mathrm{lse}(z)^2

    (``F.cross_entropy``'s weighted, smoothed loss) with ``c = z_loss`` (PaLM, Chowdhery et al.
    2022; not weighted) and softcap from Gemma 2 (2024); 'mean' divides by ``sum w_y`` over the
    kept tokens, as ``F.cross_entropy`` does. Memory: one ``chunk x V`` float32 block of logits
    (two with softcap) plus the gradient buffers; the gradient is taken in the forward pass for
    'mean'/'sum' (see :mod:`infoloss.ops`), so a reduced loss supports one backward pass.
    Float16/bfloat16 inputs: matmuls in the input dtype, softmax and the accumulation of the
    weight and bias gradients in float32, results in the input dtype.

    Args:
      input: (..., D) floating tensor (D = 0 is allowed: the logits are then the bias). PyTorch
        takes (D,) or (N, D); any number of leading token dimensions works here.
      linear_weight: (V, D) output layer, same dtype and device as ``input``; V >= 1.
      target: (...) integer tensor of class indices in [0, V) or ``ignore_index``
        (probability targets: use :func:`infoloss.losses.cross_entropy` on the logits).
      linear_bias: optional (V,) tensor.
      weight: optional (V,) non-negative class weights (PyTorch's ``weight``), any float dtype.
      reduction: 'mean' | 'sum' | 'none'.
      ignore_index: an int that fits in int64; None (the default) means -100, as in PyTorch.
      label_smoothing: in [0, 1].
      options: PyTorch's ``LinearCrossEntropyOptions`` (its chunking strategy) or None; accepted
        for compatibility and ignored: this function always works chunk by chunk (``chunk_size``).
      z_loss: coefficient ``c`` >= 0 of ``lse^2``.
      softcap: None or a cap in ``[1e-15, 1e15]`` (the options and their ranges are those of
        :func:`infoloss.losses.cross_entropy`).
      chunk_size: rows per chunk (default: from the shapes, about 64 MiB of logits on CPU).
      return_lse: also return the per-token logsumexp (float32, shape of ``target``, no grad).

    Ignored tokens have zero gradients, also when their logits are all -inf (a -inf bias).

    Returns:
      The loss (0-d, or ``target``'s shape for 'none'), in ``input``'s dtype; with
      ``return_lse``, ``(loss, lse)``.

    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> h, w = torch.randn(6, 4, generator=g), torch.randn(10, 4, generator=g)
    >>> y = torch.tensor([1, 2, 3, -100, 5, 9])
    >>> fused = linear_cross_entropy(h, w, y, chunk_size=4)
    >>> bool(torch.allclose(fused, torch.nn.functional.linear_cross_entropy(h, w, y)))
    True
    >>> class_weight = torch.linspace(0.5, 2.0, 10)
    >>> fused = linear_cross_entropy(h, w, y, weight=class_weight, label_smoothing=0.1)
    >>> plain = torch.nn.functional.cross_entropy(h @ w.T, y, weight=class_weight, label_smoothing=0.1)
    >>> bool(torch.allclose(fused, plain))
    True
    """
    ignore_index = _DEFAULT_IGNORE_INDEX if ignore_index is None else ignore_index
    class_weight = _check_cross_entropy_call(
        input,
        linear_weight,
        target,
        linear_bias,
        weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
        z_loss=z_loss,
        softcap=softcap,
        chunk_size=chunk_size,
        options=options,
    )
    return linear_cross_entropy_op(
        input,
        linear_weight,
        target,
        linear_bias,
        class_weight=class_weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
        z_loss=z_loss,
        softcap=softcap,
        chunk_size=chunk_size,
        return_lse=return_lse,
    )


def linear_kl_div(
    input: torch.Tensor,
    linear_weight: torch.Tensor,
    teacher: torch.Tensor,
    teacher_linear_weight: torch.Tensor | None = None,
    *,
    linear_bias: torch.Tensor | None = None,
    teacher_linear_bias: torch.Tensor | None = None,
    direction: str = "forward",
    temperature: float = 1.0,
    scale_by_temperature: bool = True,
    mask: torch.Tensor | None = None,
    reduction: str = "mean",
    chunk_size: int | None = None,
) -> torch.Tensor:
    r"""KL divergence between a teacher and the student ``softmax((input @ linear_weight.T + linear_bias) / T)``.

    ``direction='forward'``: :math:`KL(p_t \| p_s) = \sum_j p_{t,j}(\log p_{t,j} - \log p_{s,j})`
    (the usual distillation loss, Hinton et al. 2015); ``'reverse'``: :math:`KL(p_s \| p_t)`.
    Both sides use temperature ``T``; ``scale_by_temperature`` (default, as in
    :func:`infoloss.losses.distillation_kl`) multiplies by ``T**2`` so gradient magnitudes do not
    shrink with ``T``. The teacher is a fixed target: given as logits (..., V) when
    ``teacher_linear_weight`` is None, else as hidden states (..., D_t) with
    ``teacher_linear_weight`` (V, D_t) and optional ``teacher_linear_bias``; no gradient flows to it.

    Args:
      input, linear_weight, linear_bias: the student, as in :func:`linear_cross_entropy`.
      teacher, teacher_linear_weight, teacher_linear_bias: the teacher (see above).
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
        input,
        linear_weight,
        teacher,
        teacher_linear_weight,
        linear_bias=linear_bias,
        teacher_linear_bias=teacher_linear_bias,
        divergence=direction,
        beta=0.5,
        temperature=temperature,
        scale_by_temperature=scale_by_temperature,
        mask=mask,
        reduction=reduction,
        chunk_size=chunk_size,
    )


def linear_js_div(
    input: torch.Tensor,
    linear_weight: torch.Tensor,
    teacher: torch.Tensor,
    teacher_linear_weight: torch.Tensor | None = None,
    *,
    linear_bias: torch.Tensor | None = None,
    teacher_linear_bias: torch.Tensor | None = None,
    beta: float = 0.5,
    temperature: float = 1.0,
    scale_by_temperature: bool = True,
    mask: torch.Tensor | None = None,
    reduction: str = "mean",
    chunk_size: int | None = None,
) -> torch.Tensor:
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
        input,
        linear_weight,
        teacher,
        teacher_linear_weight,
        linear_bias=linear_bias,
        teacher_linear_bias=teacher_linear_bias,
        divergence="js",
        beta=beta,
        temperature=temperature,
        scale_by_temperature=scale_by_temperature,
        mask=mask,
        reduction=reduction,
        chunk_size=chunk_size,
    )


def vocab_parallel_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    weight: torch.Tensor | None = None,
    group: dist.ProcessGroup | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    softcap: float | None = None,
) -> torch.Tensor:
    """Cross-entropy of logits sharded by vocabulary across the ranks of ``group``.

    Each rank passes its own slice ``logits`` (..., V_r) of the full (..., V) logits, the slices
    in rank order, and the same full-vocabulary ``target`` (...) and class weights ``weight``
    (V,) (optional, as in ``F.cross_entropy``). The result equals
    :func:`torch.nn.functional.cross_entropy` on the concatenated logits (plus z-loss and
    softcap as in :func:`linear_cross_entropy`) and is the same on every rank. Communication:
    an all-gather of the slice widths (one int per rank), an all-reduce MAX of the row maxima and
    one all-reduce SUM of (sum of exponentials, target logit, logit sum) per row. The backward is
    local: each rank's gradient is that of the global loss w.r.t. its own slice. Targets are
    global class indices, checked against the full vocabulary (``0 <= target < V``, as in
    ``F.cross_entropy``) on every rank.
    """
    _validate.check_reduction(reduction)
    _validate.check_cross_entropy_options(
        ignore_index=ignore_index, label_smoothing=label_smoothing, z_loss=z_loss, softcap=softcap
    )
    _validate.check_float_tensor("logits", logits)
    if logits.ndim < 1:
        raise _validate.InputError(
            "must have a vocabulary axis, got a 0-d tensor", argument="logits", value=()
        )
    _validate.check_index_target_tensor(target, logits, None, ignore_index, hidden_name="logits")
    class_weight = _class_weight(weight, None, logits)
    return vocab_parallel_cross_entropy_op(
        logits,
        target,
        group=group,
        class_weight=class_weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
        z_loss=z_loss,
        softcap=softcap,
    )


def vocab_parallel_linear_cross_entropy(
    input: torch.Tensor,
    linear_weight: torch.Tensor,
    target: torch.Tensor,
    *,
    linear_bias: torch.Tensor | None = None,
    weight: torch.Tensor | None = None,
    group: dist.ProcessGroup | None = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    softcap: float | None = None,
    chunk_size: int | None = None,
) -> torch.Tensor:
    """:func:`linear_cross_entropy` with ``linear_weight`` (and ``linear_bias``) sharded by vocabulary rows.

    Every rank holds the same ``input`` (..., D), ``target`` and class weights ``weight`` (V,)
    (optional, over the full vocabulary) and its own rows ``linear_weight`` (V_r, D) of the output
    layer, in rank order. Chunked like :func:`linear_cross_entropy`; per chunk two all-reduces of
    per-row statistics (as in :func:`vocab_parallel_cross_entropy`). ``input``'s gradient is
    summed over the ranks (one all-reduce of N x D, in the forward pass for 'mean'/'sum', in the
    backward for 'none'), so every rank gets the full gradient, as a replicated input should.
    """
    ignore_index = _DEFAULT_IGNORE_INDEX if ignore_index is None else ignore_index
    class_weight = _check_cross_entropy_call(
        input,
        linear_weight,
        target,
        linear_bias,
        weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
        z_loss=z_loss,
        softcap=softcap,
        chunk_size=chunk_size,
        local_vocab=True,
    )
    return vocab_parallel_linear_cross_entropy_op(
        input,
        linear_weight,
        target,
        linear_bias,
        group=group,
        class_weight=class_weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
        z_loss=z_loss,
        softcap=softcap,
        chunk_size=chunk_size,
    )


# --------------------------------------------------------------------------------------------
# Argument checks (eager only; skipped under torch.compile tracing)
# --------------------------------------------------------------------------------------------


def _check_cross_entropy_call(
    input: torch.Tensor,
    linear_weight: torch.Tensor,
    target: torch.Tensor,
    linear_bias: torch.Tensor | None,
    weight: torch.Tensor | None,
    *,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    chunk_size: int | None,
    options: object | None = None,
    local_vocab: bool = False,
) -> torch.Tensor | None:
    """The checks of :func:`linear_cross_entropy` (and its vocabulary-parallel form, whose
    ``linear_weight`` holds this rank's rows only: the targets' range and the class weights'
    length are checked once the full vocabulary size is known); returns the class weights."""
    _validate.check_reduction(reduction)
    _validate.check_cross_entropy_options(
        ignore_index=ignore_index, label_smoothing=label_smoothing, z_loss=z_loss, softcap=softcap
    )
    _validate.check_chunk_size(chunk_size)
    _check_options(options)
    vocab = _validate.check_linear(input, linear_weight, linear_bias, _LINEAR_NAMES)
    _validate.check_index_target_tensor(
        target, input, None if local_vocab else vocab, ignore_index, hidden_name="input"
    )
    return _class_weight(weight, None if local_vocab else vocab, input)


def _check_options(options: object | None) -> None:
    """``options``: None or PyTorch's ``LinearCrossEntropyOptions`` (then ignored)."""
    kind = getattr(torch.nn, "LinearCrossEntropyOptions", None)
    if options is None or (kind is not None and isinstance(options, kind)):
        return
    raise _validate.InputTypeError(
        f"must be None or a torch.nn.LinearCrossEntropyOptions, got {type(options).__name__}",
        argument="options",
        value=type(options).__name__,
        hint="pass chunk_size= to choose the rows per chunk",
    )


def _class_weight(weight: torch.Tensor | None, vocab: int | None, like: torch.Tensor) -> torch.Tensor | None:
    """PyTorch's ``weight=``: None or a 1-D float tensor of non-negative class weights on ``like``'s
    device (``vocab`` None: its length is checked later, against the full vocabulary)."""
    if weight is None:
        return None
    _validate.check_float_tensor("weight", weight)
    if weight.ndim != 1:
        raise _validate.InputError(
            f"must have shape (V,), one entry per class; got shape {tuple(weight.shape)}",
            argument="weight",
            value=tuple(weight.shape),
        )
    if weight.device != like.device:
        raise _validate.InputError(
            f"is on {weight.device} and the inputs on {like.device}; use one device",
            argument="weight",
            value=str(weight.device),
        )
    n_classes = weight.shape[0] if vocab is None else vocab
    return _args.class_weight(torch, weight, n_classes, weight.dtype, not _array.is_tracing(weight))


def _linear_distill(
    input: torch.Tensor,
    linear_weight: torch.Tensor,
    teacher: torch.Tensor,
    teacher_linear_weight: torch.Tensor | None,
    *,
    linear_bias: torch.Tensor | None,
    teacher_linear_bias: torch.Tensor | None,
    reduction: str,
    mask: torch.Tensor | None,
    temperature: float,
    chunk_size: int | None,
    divergence: str,
    beta: float,
    scale_by_temperature: bool,
) -> torch.Tensor:
    _validate.check_reduction(reduction)
    _validate.check_chunk_size(chunk_size)
    vocab = _validate.check_linear(input, linear_weight, linear_bias, _LINEAR_NAMES)
    _validate.check_float_tensor("teacher", teacher)
    if teacher.shape[:-1] != input.shape[:-1]:
        raise _validate.InputError(
            f"has shape {tuple(teacher.shape)} but input has shape {tuple(input.shape)}; they need the same "
            "leading (token) dimensions",
            argument="teacher",
            value=tuple(teacher.shape),
        )
    if teacher_linear_weight is None:
        if teacher_linear_bias is not None:
            raise _validate.InputError(
                "needs teacher_linear_weight (a teacher given as logits has no bias)",
                argument="teacher_linear_bias",
            )
        if teacher.shape[-1] != vocab:
            raise _validate.InputError(
                f"logits have {teacher.shape[-1]} classes (shape {tuple(teacher.shape)}) but linear_weight has {vocab} "
                f"rows (shape {tuple(linear_weight.shape)}); they need the same vocabulary",
                argument="teacher",
                value=tuple(teacher.shape),
            )
    else:
        teacher_vocab = _validate.check_linear(
            teacher,
            teacher_linear_weight,
            teacher_linear_bias,
            ("teacher", "teacher_linear_weight", "teacher_linear_bias"),
        )
        if teacher_vocab != vocab:
            raise _validate.InputError(
                f"has {teacher_vocab} rows but linear_weight has {vocab}; they need the same vocabulary",
                argument="teacher_linear_weight",
                value=tuple(teacher_linear_weight.shape),
            )
    if mask is not None:
        _validate.check_token_mask(mask, tuple(input.shape[:-1]))
    return linear_distill_op(
        input,
        linear_weight,
        teacher,
        teacher_linear_weight,
        bias=linear_bias,
        teacher_bias=teacher_linear_bias,
        temperature=temperature,
        mask=mask,
        reduction=reduction,
        chunk_size=chunk_size,
        divergence=divergence,
        beta=beta,
        scale_by_temperature=scale_by_temperature,
    )
