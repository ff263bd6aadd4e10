"""Cross-entropy over a vocabulary sharded across the ranks of a torch.distributed group: the
communication only. The per-row math is :func:`infoloss.ops.cross_entropy.cross_entropy_rows`,
called with an all-reduce hook.

Rank ``r`` holds columns ``[start_r, start_r + V_r)`` of the logits (or the matching rows of
the output weight), in rank order. Per token the global quantities come from all-reduces of
per-row statistics only (Megatron-LM's vocabulary-parallel cross-entropy, Shoeybi et al. 2019):

1. ``m = max_r max_j z_j``                                   (all-reduce MAX, n floats)
2. ``[sum_j exp(z_j - m), z_y, sum_j z_j]``                   (all-reduce SUM, 3n floats)

giving ``lse = m + log(sum exp)``. The gradient of the loss w.r.t. a rank's own logits needs only
its own logits, ``lse`` and the target, so the backward does no communication (no all-gather of
logits, ever). In the linear form ``hidden`` is replicated, so its gradient is the sum of every
rank's ``g_r @ W_r``: one all-reduce of N x D, done in the forward pass with the rest of the
gradient. Every rank must run the same number of chunks (the all-reduces pair up chunk by chunk),
so the ranks agree on the chunk size first. Class weights (PyTorch's ``weight=``) are given in
full on every rank, like the targets: each rank reads its columns' weights and every target's
weight locally, and the weighted logit sum of label smoothing joins the sum all-reduce.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from .. import _validate
from ._engine import (
    Grads,
    LinearLossFunction,
    LogitsLossFunction,
    accumulation_dtype,
    auto_chunk_size,
    logits_chunk_rows,
)
from .cross_entropy import CrossEntropyRule

__all__ = ["vocab_parallel_cross_entropy_op", "vocab_parallel_linear_cross_entropy_op"]

_OPS = {"max": dist.ReduceOp.MAX, "sum": dist.ReduceOp.SUM}


def vocab_parallel_cross_entropy_op(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    group: dist.ProcessGroup | None,
    class_weight: torch.Tensor | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
) -> torch.Tensor:
    """Sharded-logits cross-entropy on validated arguments (see nn.functional)."""
    start, vocab = _shard_offsets(logits.shape[-1], logits.device, group)
    rows = logits.reshape(-1, logits.shape[-1])
    flat_target = target.reshape(-1).to(torch.long)
    _check_targets(flat_target, target, vocab, ignore_index, class_weight)
    rule = _rule(
        flat_target,
        start,
        rows.shape[1],
        vocab,
        group,
        ignore_index,
        label_smoothing,
        z_loss,
        softcap,
        class_weight,
    )
    acc = accumulation_dtype(logits.dtype)
    if reduction == "mean":
        # 'mean' divides by the kept rows' target weights (their number without class weights); 0 if none.
        row_scale = rule.valid.to(acc) / (rule.count if rule.count > 0 else 1)
    else:
        row_scale = torch.ones(rows.shape[0], dtype=acc, device=logits.device)
    chunk = _agree_on(logits_chunk_rows(rows.shape[1]), logits.device, group)
    loss = LogitsLossFunction.apply(  # type: ignore[no-untyped-call]  # (Function.apply is unannotated)
        rows, rule, row_scale, reduction != "none", chunk
    )
    return loss.reshape(target.shape) if reduction == "none" else loss


def vocab_parallel_linear_cross_entropy_op(
    hidden: torch.Tensor,
    linear_weight: torch.Tensor,
    target: torch.Tensor,
    linear_bias: torch.Tensor | None = None,
    *,
    group: dist.ProcessGroup | None,
    class_weight: torch.Tensor | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    chunk_size: int | None,
) -> torch.Tensor:
    """Sharded-weight fused linear cross-entropy on validated arguments (see nn.functional)."""
    start, vocab = _shard_offsets(linear_weight.shape[0], hidden.device, group)
    flat_target = target.reshape(-1).to(torch.long)
    rows = hidden.reshape(flat_target.shape[0], hidden.shape[-1])  # (not -1: D may be 0)
    _check_targets(flat_target, target, vocab, ignore_index, class_weight)
    rule = _rule(
        flat_target,
        start,
        linear_weight.shape[0],
        vocab,
        group,
        ignore_index,
        label_smoothing,
        z_loss,
        softcap,
        class_weight,
        linear=True,
    )
    buffers = 2 if softcap is not None else 1
    local_vocab = max(linear_weight.shape[0], vocab // max(_world(group), 1))
    chunk = chunk_size or auto_chunk_size(rows.shape[0], local_vocab, hidden.device, buffers)
    chunk = _agree_on(chunk, hidden.device, group)
    loss, _ = LinearLossFunction.apply(  # type: ignore[no-untyped-call]  # (Function.apply is unannotated)
        rows, linear_weight, linear_bias, rule, reduction, chunk
    )
    return loss.reshape(target.shape) if reduction == "none" else loss


def _rule(
    target: torch.Tensor,
    start: int,
    width: int,
    vocab: int,
    group: dist.ProcessGroup | None,
    ignore_index: int,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    class_weight: torch.Tensor | None,
    linear: bool = False,
) -> CrossEntropyRule:
    def all_reduce(tensor: torch.Tensor, op: str) -> None:
        dist.all_reduce(tensor, op=_OPS[op], group=group)

    def sum_grad_hidden(grads: Grads) -> None:  # hidden is replicated: its gradient is the sum over the ranks
        if grads[0] is not None:
            dist.all_reduce(grads[0], op=dist.ReduceOp.SUM, group=group)

    return CrossEntropyRule(
        target,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        z_loss=z_loss,
        softcap=softcap,
        first_column=start,
        block_width=width,
        vocab=vocab,
        all_reduce=all_reduce,
        finish_grads=sum_grad_hidden if linear else None,
        class_weight=class_weight,
    )


def _check_targets(
    flat_target: torch.Tensor,
    target: torch.Tensor,
    vocab: int,
    ignore_index: int,
    class_weight: torch.Tensor | None,
) -> None:
    """Targets are global class indices: in [0, V) for the full V, or ignore_index; class
    weights, if any, one per class of the full vocabulary (every rank holds the same targets and
    weights, so every rank raises the same error)."""
    if class_weight is not None and class_weight.shape[0] != vocab:
        raise _validate.InputError(
            f"has {class_weight.shape[0]} entries but the vocabulary has {vocab} classes over the ranks; every rank "
            "passes the weights of all classes",
            argument="weight",
            value=tuple(class_weight.shape),
        )
    if flat_target.numel() and not torch.compiler.is_compiling():
        _validate.check_class_indices(torch, target, vocab, ignore_index)


def _world(group: dist.ProcessGroup | None) -> int:
    return dist.get_world_size(group)


def _shard_offsets(width: int, device: torch.device, group: dist.ProcessGroup | None) -> tuple[int, int]:
    """(first global column of this rank's slice, full vocabulary size) from every rank's width."""
    widths = [torch.zeros(1, dtype=torch.long, device=device) for _ in range(_world(group))]
    dist.all_gather(widths, torch.tensor([width], dtype=torch.long, device=device), group=group)
    sizes = [int(w) for w in widths]
    rank = dist.get_rank(group)
    return sum(sizes[:rank]), sum(sizes)


def _agree_on(chunk: int, device: torch.device, group: dist.ProcessGroup | None) -> int:
    value = torch.tensor([chunk], dtype=torch.long, device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MIN, group=group)
    return int(value)
