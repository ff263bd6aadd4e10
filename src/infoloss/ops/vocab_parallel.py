"""Cross-entropy over a vocabulary sharded across the ranks of a torch.distributed group.

Rank ``r`` holds columns ``[start_r, start_r + V_r)`` of the logits (or the matching rows of
the output weight), in rank order. Per token the global quantities come from all-reduces of
per-row statistics only (Megatron-LM's vocabulary-parallel cross-entropy, Shoeybi et al. 2019):

1. ``m = max_r max_j z_j``                                   (all-reduce MAX, n floats)
2. ``[sum_j exp(z_j - m), z_y, sum_j z_j]``                   (all-reduce SUM, 3n floats)

giving ``lse = m + log(sum exp)`` and the loss of :mod:`infoloss.ops.cross_entropy`.
The gradient of the loss w.r.t. a rank's own logits needs only its own logits, ``lse`` and the
target, so the backward does no communication (no all-gather of logits, ever). In the linear
form ``hidden`` is replicated, so its gradient is the sum of every rank's ``g_r @ W_r``: one
all-reduce of N x D, done in the forward pass together with the rest of the gradient.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from .cross_entropy import LinearLossFunction, accumulation_dtype, auto_chunk_size

__all__ = ["vocab_parallel_cross_entropy_op", "vocab_parallel_linear_cross_entropy_op"]


def vocab_parallel_cross_entropy_op(logits, target, *, group, ignore_index, reduction, label_smoothing, z_loss, softcap):
    """Sharded-logits cross-entropy on validated arguments (see nn.functional)."""
    start, vocab = _shard_offsets(logits.shape[-1], logits.device, group)
    rows = logits.reshape(-1, logits.shape[-1])
    flat_target = target.reshape(-1).to(torch.long)
    shard = _Shard(flat_target, start, rows.shape[1], vocab, group, ignore_index, label_smoothing, z_loss, softcap)
    loss = _ShardedLogitsFunction.apply(rows, shard, reduction)
    return loss.reshape(target.shape) if reduction == "none" else loss


def vocab_parallel_linear_cross_entropy_op(
    hidden, weight, target, bias=None, *, group, ignore_index, reduction, label_smoothing, z_loss, softcap, chunk_size
):
    """Sharded-weight fused linear cross-entropy on validated arguments (see nn.functional)."""
    start, vocab = _shard_offsets(weight.shape[0], hidden.device, group)
    rows = hidden.reshape(-1, hidden.shape[-1])
    flat_target = target.reshape(-1).to(torch.long)
    shard = _Shard(flat_target, start, weight.shape[0], vocab, group, ignore_index, label_smoothing, z_loss, softcap)
    buffers = 2 if softcap is not None else 1
    # Every rank must run the same number of chunks (the all-reduces pair up chunk by chunk).
    chunk = chunk_size or auto_chunk_size(rows.shape[0], max(weight.shape[0], vocab // max(_world(group), 1)),
                                          hidden.device, buffers)
    chunk = _agree_on(chunk, hidden.device, group)
    loss, _ = LinearLossFunction.apply(rows, weight, bias, _ShardRule(shard), reduction, chunk)
    return loss.reshape(target.shape) if reduction == "none" else loss


# --------------------------------------------------------------------------------------------
# Shared per-row work on one rank's slice
# --------------------------------------------------------------------------------------------


class _Shard:
    """What a rank knows about its slice: targets, its column range, options, the group."""

    def __init__(self, target, start, width, vocab, group, ignore_index, label_smoothing, z_loss, softcap):
        self.group = group
        self.vocab = vocab
        self.label_smoothing = float(label_smoothing)
        self.z_loss = float(z_loss)
        self.softcap = None if softcap is None else float(softcap)
        self.valid = target != ignore_index
        self.count = int(self.valid.sum()) if target.numel() else 0
        local = target - start
        self.in_shard = self.valid & (local >= 0) & (local < width)
        self.local_target = torch.where(self.in_shard, local, torch.zeros_like(local))

    def rows(self, start, stop, z, loss_out, lse_out, scale, *, lse_known):
        """Loss rows (all ranks agree) and, with ``scale``, this slice's gradient, in ``z``."""
        eps, vocab = self.label_smoothing, self.vocab
        valid = self.valid[start:stop]
        in_shard = self.in_shard[start:stop]
        column = self.local_target[start:stop].unsqueeze(1)
        tanh = None
        if self.softcap is not None:
            tanh = z.div_(self.softcap).tanh_()
            z = tanh * self.softcap
        if lse_known:
            # Backward recompute: probabilities from the stored global logsumexp, no collectives.
            lse = lse_out
            z.sub_(lse.unsqueeze(1)).exp_()
            normaliser = None
        else:
            target_logit = torch.where(in_shard, z.gather(1, column).squeeze(1), torch.zeros_like(z[:, 0]))
            logit_sum = z.sum(1)
            row_max = z.amax(1)
            dist.all_reduce(row_max, op=dist.ReduceOp.MAX, group=self.group)
            z.sub_(row_max.unsqueeze(1)).exp_()
            stats = torch.stack([z.sum(1), target_logit, logit_sum])
            dist.all_reduce(stats, op=dist.ReduceOp.SUM, group=self.group)
            sum_exp, target_logit, logit_sum = stats
            lse = row_max + sum_exp.log()
            lse_out.copy_(lse)
            normaliser = sum_exp
            row_loss = lse - (1.0 - eps) * target_logit - (eps / vocab) * logit_sum + self.z_loss * lse.square()
            loss_out.copy_(torch.where(valid, row_loss, torch.zeros_like(row_loss)))
        if scale is None:
            return None
        weight = torch.where(valid, scale, torch.zeros_like(scale))
        factor = weight * (1.0 + 2.0 * self.z_loss * lse)
        if normaliser is not None:
            factor = factor / normaliser
        z.mul_(factor.unsqueeze(1))
        z.scatter_add_(1, column, torch.where(in_shard, -(1.0 - eps) * weight, torch.zeros_like(weight)).unsqueeze(1))
        if eps:
            z.sub_(((eps / vocab) * weight).unsqueeze(1))
        if tanh is not None:
            z.mul_(tanh.square_().neg_().add_(1.0))
        return z


class _ShardedLogitsFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, shard, reduction):
        acc = accumulation_dtype(logits.dtype)
        n_rows = logits.shape[0]
        loss = torch.empty(n_rows, dtype=acc, device=logits.device)
        lse = torch.empty(n_rows, dtype=acc, device=logits.device)
        shard.rows(0, n_rows, logits.to(acc, copy=True), loss, lse, None, lse_known=False)
        ctx.save_for_backward(logits, lse)
        ctx.shard, ctx.reduction = shard, reduction
        if reduction == "none":
            return loss.to(logits.dtype)
        total = loss.sum()
        if reduction == "mean":
            total = total / shard.count if shard.count else total * 0
        return total.to(logits.dtype)

    @staticmethod
    def backward(ctx, grad_loss):
        logits, lse = ctx.saved_tensors
        shard = ctx.shard
        acc = lse.dtype
        n_rows = logits.shape[0]
        if ctx.reduction == "none":
            scale = grad_loss.to(acc)
        else:
            per_row = grad_loss.to(acc) / shard.count if ctx.reduction == "mean" and shard.count else grad_loss.to(acc)
            if ctx.reduction == "mean" and not shard.count:
                per_row = per_row * 0
            scale = per_row.expand(n_rows)
        scratch = torch.empty(n_rows, dtype=acc, device=logits.device)
        grad = shard.rows(0, n_rows, logits.to(acc, copy=True), scratch, lse, scale, lse_known=True)
        return grad.to(logits.dtype), None, None


class _ShardRule:
    """Chunk rule for the engine: the sharded rows plus the all-reduce of grad_hidden."""

    def __init__(self, shard):
        self.shard = shard
        self.count = shard.count

    def reserve(self, rows, vocab, dtype, device):
        pass

    def release(self):
        pass

    def chunk(self, start, stop, z, loss_out, lse_out, scale, *, lse_known):
        return self.shard.rows(start, stop, z, loss_out, lse_out, scale, lse_known=lse_known)

    def finish_grads(self, grads):
        grad_hidden = grads[0]
        if grad_hidden is not None:
            dist.all_reduce(grad_hidden, op=dist.ReduceOp.SUM, group=self.shard.group)


def _world(group) -> int:
    return dist.get_world_size(group)


def _shard_offsets(width, device, group):
    """(first global column of this rank's slice, full vocabulary size) from every rank's width."""
    widths = [torch.zeros(1, dtype=torch.long, device=device) for _ in range(_world(group))]
    dist.all_gather(widths, torch.tensor([width], dtype=torch.long, device=device), group=group)
    widths = [int(w) for w in widths]
    rank = dist.get_rank(group)
    return sum(widths[:rank]), sum(widths)


def _agree_on(chunk, device, group):
    value = torch.tensor([chunk], dtype=torch.long, device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MIN, group=group)
    return int(value)
