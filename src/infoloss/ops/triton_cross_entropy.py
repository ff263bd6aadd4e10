"""Triton kernel for the per-row cross-entropy work on a chunk of logits (CUDA path).

The chunk engine (:func:`infoloss.ops.cross_entropy.run_chunks`) forms each chunk's
logits with a cuBLAS matmul; this kernel then does, per row (one Triton program per row), the
rest in two sweeps over vocabulary tiles of ``BLOCK_V`` columns, in float32:

1. online (blockwise) logsumexp: running max ``m`` and ``s = sum exp(z - m)`` rescaled tile
   by tile (Milakov & Gimelshein 2018), plus the target logit and the logit sum for label
   smoothing; softcap is applied on load;
2. the gradient ``softmax (1 + 2 c lse) - (1 - eps) onehot - eps / V`` (times ``1 - tanh^2``
   under softcap), times the row's scale, written over the logits in place.

With class weights ``w`` (the row's target weight ``w_y`` given per row, ``W = sum w``) the
terms are those of :func:`infoloss.ops.cross_entropy.cross_entropy_rows`: ``lse`` counts
``m = (1 - eps) w_y + eps W / V`` times, the logit sum becomes ``sum w_j z_j`` and the gradient
``softmax (m + 2 c lse) - (1 - eps) w_y onehot - eps w / V``.

So a row's logits are read twice and written once, with no extra ``chunk x V`` buffer (the
PyTorch rule needs a second one under softcap). This is the Liger-Kernel arrangement (matmul in
BLAS, softmax in Triton), not Cut Cross-Entropy's, which also fuses the matmul into the kernel.
Runs under Triton's interpreter (``TRITON_INTERPRET=1``) on CPU tensors, which is how the tests
check it without a GPU.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

__all__ = ["cross_entropy_rows"]


def cross_entropy_rows(
    z: torch.Tensor,
    target: torch.Tensor,
    valid: torch.Tensor,
    loss_out: torch.Tensor,
    lse_out: torch.Tensor,
    scale: torch.Tensor | None,
    *,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    lse_known: bool,
    class_weight: torch.Tensor | None = None,
    target_weight: torch.Tensor | None = None,
    weight_total: float | None = None,
) -> torch.Tensor:
    """Same contract as :func:`infoloss.ops.cross_entropy.cross_entropy_rows` (one block holds
    the whole vocabulary).

    ``z`` (n, V) float32 (any strides) is overwritten with the scaled gradient when ``scale``
    is given; ``loss_out`` and (unless ``lse_known``) ``lse_out`` receive per-row values.
    """
    n_rows, vocab = z.shape
    if n_rows == 0:
        return z
    block = min(triton.next_power_of_2(vocab), 4096 if z.is_cuda else 64)
    valid_i32 = valid.to(torch.int32)
    weighted = class_weight is not None
    _cross_entropy_rows_kernel[(n_rows,)](
        z,
        z.stride(0),
        z.stride(1),
        target,
        valid_i32,
        loss_out if scale is None else scale,
        class_weight if weighted else loss_out,
        target_weight if weighted else loss_out,
        loss_out,
        lse_out,
        vocab,
        float(label_smoothing),
        float(z_loss),
        1.0 if softcap is None else float(softcap),
        float(weight_total) if weighted and weight_total is not None else float(vocab),
        HAS_SOFTCAP=softcap is not None,
        HAS_SCALE=scale is not None,
        HAS_WEIGHT=weighted,
        LSE_KNOWN=bool(lse_known),
        BLOCK_V=block,
    )
    return z


# The kernels' parameters stay unannotated: Triton reads a kernel's annotations (tl.constexpr,
# pointer and scalar types) to specialise it, so annotating them for mypy would change the kernels.
@triton.jit
def _tanh(x):  # type: ignore[no-untyped-def]  # (a Triton kernel: see above)
    # 1 - 2 / (exp(2x) + 1): exact limits +-1 for large |x| (exp overflows to inf or goes to 0).
    return 1.0 - 2.0 / (tl.exp(2.0 * x) + 1.0)


@triton.jit  # type: ignore[untyped-decorator]  # (triton ships no type information)
def _cross_entropy_rows_kernel(  # type: ignore[no-untyped-def]  # (a Triton kernel: see above)
    z_ptr,
    stride_row,
    stride_col,
    target_ptr,
    valid_ptr,
    scale_ptr,
    class_weight_ptr,
    target_weight_ptr,
    loss_ptr,
    lse_ptr,
    vocab,
    label_smoothing,
    z_loss,
    softcap,
    weight_total,
    HAS_SOFTCAP: tl.constexpr,
    HAS_SCALE: tl.constexpr,
    HAS_WEIGHT: tl.constexpr,
    LSE_KNOWN: tl.constexpr,
    BLOCK_V: tl.constexpr,
):
    row = tl.program_id(0).to(tl.int64)
    row_ptr = z_ptr + row * stride_row
    target = tl.load(target_ptr + row)
    valid = tl.load(valid_ptr + row) != 0
    offsets = tl.arange(0, BLOCK_V)
    # mass: how many times lse counts in the loss, (1 - eps) w_y + eps W / V (1 without weights).
    if HAS_WEIGHT:
        target_weight = tl.load(target_weight_ptr + row).to(tl.float32)
        mass = (1.0 - label_smoothing) * target_weight + (label_smoothing / vocab) * weight_total
    else:
        target_weight = 1.0
        mass = 1.0

    if LSE_KNOWN:
        lse = tl.load(lse_ptr + row)
        loss = 0.0
    else:
        running_max = float("-inf")
        running_sum = 0.0
        target_logit = 0.0
        logit_sum = 0.0
        for start in range(0, vocab, BLOCK_V):
            cols = start + offsets
            in_range = cols < vocab
            x = tl.load(row_ptr + cols * stride_col, mask=in_range, other=0.0).to(tl.float32)
            if HAS_SOFTCAP:
                x = softcap * _tanh(x / softcap)
            target_logit += tl.sum(tl.where(cols == target, x, 0.0))
            if HAS_WEIGHT:
                w = tl.load(class_weight_ptr + cols, mask=in_range, other=0.0).to(tl.float32)
                logit_sum += tl.sum(tl.where(in_range, x * w, 0.0))
            else:
                logit_sum += tl.sum(tl.where(in_range, x, 0.0))
            x = tl.where(in_range, x, float("-inf"))
            new_max = tl.maximum(running_max, tl.max(x, 0))
            running_sum = running_sum * tl.exp(running_max - new_max) + tl.sum(tl.exp(x - new_max))
            running_max = new_max
        lse = running_max + tl.log(running_sum)
        tl.store(lse_ptr + row, lse)
        loss = (
            mass * lse
            - (1.0 - label_smoothing) * target_weight * target_logit
            - (label_smoothing / vocab) * logit_sum
        )
        loss += z_loss * lse * lse
    tl.store(loss_ptr + row, tl.where(valid, loss, 0.0))

    if HAS_SCALE:
        weight = tl.where(valid, tl.load(scale_ptr + row), 0.0)
        factor = weight * (mass + 2.0 * z_loss * lse)
        hit = (1.0 - label_smoothing) * target_weight * weight
        spread = (label_smoothing / vocab) * weight
        for start in range(0, vocab, BLOCK_V):
            cols = start + offsets
            in_range = cols < vocab
            x = tl.load(row_ptr + cols * stride_col, mask=in_range, other=0.0).to(tl.float32)
            if HAS_SOFTCAP:
                t = _tanh(x / softcap)
                x = softcap * t
            if HAS_WEIGHT:
                w = tl.load(class_weight_ptr + cols, mask=in_range, other=0.0).to(tl.float32)
                grad = tl.exp(x - lse) * factor - tl.where(cols == target, hit, 0.0) - spread * w
            else:
                grad = tl.exp(x - lse) * factor - tl.where(cols == target, hit, 0.0) - spread
            if HAS_SOFTCAP:
                grad = grad * (1.0 - t * t)
            tl.store(row_ptr + cols * stride_col, grad, mask=in_range)
