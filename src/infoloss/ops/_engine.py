"""The chunk engine of the fused PyTorch losses: chunk sizing, accumulation dtype, the chunk loop
and the autograd Functions. What a loss computes per row is a *rule* (``ops.cross_entropy``,
``ops.distill``); this module only walks the rows and folds the rule's gradients in.

A rule has ``reserve(rows, vocab, dtype, device)`` / ``release()`` (scratch buffers),
``count`` (the rows that count, for 'mean'), optionally ``finish_grads(grads)`` (e.g. an
all-reduce), and ``chunk(start, stop, z, loss_out, lse_out, scale, *, lse_known)``: given the
float block ``z`` of the chunk's logits (overwritten) it writes each row's loss (0 for rows that
count for nothing) and logsumexp and, with ``scale`` (n,), returns ``dloss/dz * scale`` per row
(in ``z``'s storage), zero on rows that count for nothing whatever their logits.

* :class:`LinearLossFunction`: logits ``hidden @ weight.T + bias`` formed chunk by chunk in one
  preallocated float32 ``chunk x V`` buffer; their gradient is folded straight into
  ``grad_hidden`` rows, ``grad_weight`` and ``grad_bias`` (float32 accumulators), so peak extra
  memory is ``O(chunk x V)`` plus the gradient buffers, never ``O(N x V)``. Reduced losses take
  their gradient in the forward pass and the backward only scales it by ``grad_output`` (no
  second matmul pass), as in Liger-Kernel's fused linear cross-entropy. ``reduction='none'``
  cannot (``grad_weight = sum_i g_i z_i'^T h_i`` needs every row's own upstream gradient): its
  forward keeps the per-row logsumexp (N floats) and the backward recomputes each chunk's logits
  once.
* :class:`LogitsLossFunction`: a loss of logits held in full (the fused distillation losses,
  vocabulary-parallel cross-entropy of sharded logits): the gradient is taken chunk by chunk in
  the forward pass into one buffer the size of the logits, a few chunk-sized temporaries beside
  it; the backward scales it (once-differentiable: no double backward).
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias, overload

import torch

__all__ = [
    "LinearLossFunction",
    "LogitsLossFunction",
    "run_chunks",
    "auto_chunk_size",
    "logits_chunk_rows",
    "accumulation_dtype",
    "empty_result",
    "finite_or_zero",
]

# Bytes one chunk's float32 logits buffer may take on CPU. Each chunk streams W (V x D) twice and
# grad_weight once through memory, so taller chunks amortise that traffic; 64 MiB (256 rows at
# V = 65536) keeps the buffer a fraction of grad_weight itself at LLM shapes.
_CPU_CHUNK_BYTES = 64 * 2**20
# On CUDA the matmuls want taller chunks; 256 MiB per buffer is still small next to N x V.
_CUDA_CHUNK_BYTES = 256 * 2**20
_MIN_CHUNK_BYTES = 4 * 2**20

#: A chunk rule (see the module docstring): duck-typed, since the rules differ in the optional
#: hooks the engine reads with ``getattr`` (finish_grads, hand_out_once, grad_into_logits, replay,
#: fills_grad_out) and in what ``chunk`` returns (None without ``scale``).
ChunkRule: TypeAlias = Any
#: (grad_hidden, grad_weight, grad_bias), each None where not wanted.
Grads: TypeAlias = tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]


def auto_chunk_size(n_rows: int, vocab: int, device: torch.device, buffers: int = 1) -> int:
    """Rows per chunk: ``buffers`` float32 ``chunk x vocab`` blocks within the byte budget, and
    (for small problems) at most an eighth of the rows, but no block under 4 MiB."""
    budget = _CUDA_CHUNK_BYTES if device.type == "cuda" else _CPU_CHUNK_BYTES
    row_bytes = 4 * max(vocab, 1) * buffers
    rows = min(budget // row_bytes, max(-(-n_rows // 8), _MIN_CHUNK_BYTES // row_bytes))
    return int(max(1, min(n_rows, rows)))


# Elements per chunk when the logits are given in full (LogitsLossFunction): ~16 MB per float32
# temporary. Small enough that the half-dozen chunk temporaries are a rounding error beside
# full-size ones, large enough that each op's thread-pool start-up is amortised.
_LOGITS_CHUNK_ELEMENTS = 1 << 22


def logits_chunk_rows(vocab: int) -> int:
    """Rows per chunk for logits given in full: about 4M elements per chunk."""
    return max(1, _LOGITS_CHUNK_ELEMENTS // max(vocab, 1))


def finite_or_zero(x: torch.Tensor) -> torch.Tensor:
    """``x`` with infinite (and NaN) entries replaced by 0: the shift of a logsumexp, so that a row
    of -inf logits gives exp(...) = 0 (probabilities 0, gradient 0) instead of NaN."""
    return torch.where(torch.isfinite(x), x, torch.zeros_like(x))


def accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32 for float32/bfloat16/float16 inputs, float64 for float64."""
    return torch.promote_types(dtype, torch.float32)


# --------------------------------------------------------------------------------------------
# Autograd Function
# --------------------------------------------------------------------------------------------


class LinearLossFunction(torch.autograd.Function):
    """Loss of ``hidden @ weight.T + bias`` under a chunk rule; outputs (loss, lse).

    ``hidden`` is (N, D), ``weight`` (V, D), ``bias`` (V,) or None. ``rule`` holds the targets
    (class indices or a teacher) and computes each chunk's rows. ``reduction`` is 'sum',
    'mean' (divide by ``rule.count``, the rows kept) or 'none'.
    """

    @staticmethod
    def forward(
        ctx: Any,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        rule: ChunkRule,
        reduction: str,
        chunk: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        needs = tuple(ctx.needs_input_grad[:3])
        ctx.rule, ctx.reduction, ctx.chunk = rule, reduction, chunk
        ctx.out_dtype = hidden.dtype
        if reduction == "none":
            loss, lse, _ = run_chunks(hidden, weight, bias, rule, chunk, row_scale=None)
            ctx.save_for_backward(hidden, weight, bias, lse)
            ctx.mark_non_differentiable(lse)
            return loss.to(hidden.dtype), lse
        scale = _reduction_scale(reduction, rule)
        row_scale = None
        if any(needs):
            row_scale = torch.full(
                (hidden.shape[0],), scale, dtype=accumulation_dtype(hidden.dtype), device=hidden.device
            )
        loss, lse, grads = run_chunks(hidden, weight, bias, rule, chunk, row_scale=row_scale, needs=needs)
        ctx.grads = grads
        ctx.mark_non_differentiable(lse)
        return (loss.sum() * scale).to(hidden.dtype), lse

    @staticmethod
    def backward(
        ctx: Any, grad_loss: torch.Tensor, grad_lse: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, ...]:
        if ctx.reduction == "none":
            hidden, weight, bias, lse = ctx.saved_tensors
            row_scale = grad_loss.to(accumulation_dtype(hidden.dtype))
            needs = tuple(ctx.needs_input_grad[:3])
            _, _, grads = run_chunks(
                hidden, weight, bias, ctx.rule, ctx.chunk, row_scale=row_scale, needs=needs, known_lse=lse
            )
        else:
            grads = ctx.grads
            if grads is None:
                raise RuntimeError(
                    "linear loss: the gradients taken in the forward pass were already handed out; "
                    "a fused reduced loss supports one backward pass (retain_graph=True is not supported)"
                )
            ctx.grads = None
            # Scale in place: the buffers are ours and are handed out now. Skip the pass when the
            # upstream gradient is exactly 1 (the usual loss.backward()).
            if not bool(grad_loss == 1):
                for g in grads:
                    if g is not None:
                        g.mul_(grad_loss.to(g.dtype))
        grad_hidden, grad_weight, grad_bias = grads
        return (
            grad_hidden,
            None if grad_weight is None else grad_weight.to(ctx.out_dtype),
            None if grad_bias is None else grad_bias.to(ctx.out_dtype),
            None,
            None,
            None,
        )


def _reduction_scale(reduction: str, rule: ChunkRule) -> float:
    if reduction == "sum":
        return 1.0
    count = rule.count
    # All rows ignored: the mean is 0 with a zero gradient (deliberately not PyTorch's NaN).
    return 1.0 / count if count > 0 else 0.0


class LogitsLossFunction(torch.autograd.Function):
    """Loss of logits held in full, under a chunk rule; gradient taken in the forward pass.

    ``logits`` (N, V); ``row_scale`` (N,) multiplies each row's loss and gradient (the mask and a
    'mean''s divisor; 0 rows contribute nothing, even where the rule's loss is inf); ``reduced``
    sums the rows. The rule sees each chunk as a float block in the accumulation dtype: when the
    gradient buffer has that dtype, the block *is* the buffer's rows (the logits are copied there
    and the rule overwrites them with their gradient), so the extra memory is the one buffer.

    By default the backward returns the buffer times ``grad_output`` (a new tensor unless that
    is 1), once-differentiable. A rule with ``hand_out_once`` instead gets its buffer handed out
    and scaled in place (no second buffer for 'none'), so a second backward
    (``retain_graph=True``) is an error; such a rule may also have ``grad_into_logits`` (the
    buffer is ``logits``' own storage: the caller allowed its logits to be overwritten) and
    ``replay(logits, grad_output)``, a differentiable gradient by the plain path for a backward
    under ``create_graph=True`` (without it, that backward is an error).
    """

    @staticmethod
    def forward(
        ctx: Any, logits: torch.Tensor, rule: ChunkRule, row_scale: torch.Tensor, reduced: bool, chunk: int
    ) -> torch.Tensor:
        need_grad = ctx.needs_input_grad[0]
        n_rows, _ = logits.shape
        acc = row_scale.dtype
        once = getattr(rule, "hand_out_once", False)
        into_logits = need_grad and once and getattr(rule, "grad_into_logits", False)
        grad: torch.Tensor | None  # None when no gradient is wanted
        if into_logits:
            grad = logits.detach()  # shares the version counter: autograd sees the overwrite
        else:
            grad = torch.empty_like(logits) if need_grad else None
        loss = torch.empty(n_rows, dtype=acc, device=logits.device)
        lse = torch.empty(n_rows, dtype=acc, device=logits.device)
        copy = getattr(rule, "overwrites_logits", True)
        fills = need_grad and getattr(rule, "fills_grad_out", False)
        in_buffer = grad is not None and copy and not fills and grad.dtype == acc
        for start in range(0, n_rows, chunk):
            stop = min(start + chunk, n_rows)
            if in_buffer and grad is not None:  # (in_buffer implies a buffer)
                z = grad[start:stop]
                if not into_logits:
                    z.copy_(logits[start:stop])
            else:
                z = logits[start:stop].to(acc, copy=copy)
            scale = row_scale[start:stop] if need_grad else None
            if fills and grad is not None:  # the rule writes the scaled gradient straight into ours
                rule.chunk(
                    start,
                    stop,
                    z,
                    loss[start:stop],
                    lse[start:stop],
                    scale,
                    lse_known=False,
                    grad_out=grad[start:stop],
                )
                continue
            chunk_grad = rule.chunk(start, stop, z, loss[start:stop], lse[start:stop], scale, lse_known=False)
            if grad is not None and not (in_buffer and chunk_grad.data_ptr() == z.data_ptr()):
                grad[start:stop].copy_(chunk_grad)
        loss = torch.where(row_scale != 0, loss * row_scale, torch.zeros_like(loss))
        ctx.reduced, ctx.once = reduced, once
        if not once:
            if need_grad:
                ctx.save_for_backward(grad)
            return (loss.sum() if reduced else loss).to(logits.dtype)
        ctx.grad, ctx.grad_into_logits = grad, into_logits
        ctx.replay = None if into_logits else getattr(rule, "replay", None)
        if need_grad and ctx.replay is not None:
            ctx.save_for_backward(logits)  # a reference only, for create_graph=True
        return (loss.sum() if reduced else loss).to(logits.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        if not ctx.once:
            return _saved_buffer_backward(ctx, grad_output)
        if ctx.grad is None:
            raise RuntimeError(
                "fused loss: the gradient taken in the forward pass was already handed out; it supports "
                "one backward pass (a second one, with retain_graph=True, is not supported)"
            )
        if torch.is_grad_enabled():  # backward(create_graph=True): a gradient that is differentiable
            if ctx.replay is None:
                raise RuntimeError(
                    "fused loss: cannot differentiate twice (backward with create_graph=True): "
                    + (
                        "the logits were overwritten by their gradient (inplace_backward=True); call it without"
                        if ctx.grad_into_logits
                        else "this loss has no differentiable gradient"
                    )
                )
            (logits,) = ctx.saved_tensors
            ctx.grad = None
            return ctx.replay(logits, grad_output), None, None, None, None
        return _scaled_buffer(ctx, grad_output)


def _scaled_buffer(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
    """The forward pass's gradient times ``grad_output``, in place (the buffer is ours to give)."""
    grad, ctx.grad = ctx.grad, None
    if not ctx.reduced:
        grad.mul_(grad_output[:, None].to(grad.dtype))
    elif not (grad_output.device.type == "cpu" and float(grad_output) == 1.0):
        grad.mul_(grad_output.to(grad.dtype))
    return grad, None, None, None, None


@torch.autograd.function.once_differentiable
def _saved_buffer_backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
    """The saved gradient times ``grad_output`` (the buffer stays for another backward)."""
    (grad,) = ctx.saved_tensors
    if not ctx.reduced:
        grad = grad * grad_output[:, None].to(grad.dtype)
    elif not (grad_output.device.type == "cpu" and float(grad_output) == 1.0):
        grad = grad * grad_output.to(grad.dtype)
    return grad, None, None, None, None


# --------------------------------------------------------------------------------------------
# Chunk engine
# --------------------------------------------------------------------------------------------


def run_chunks(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    rule: ChunkRule,
    chunk: int,
    *,
    row_scale: torch.Tensor | None,
    needs: tuple[bool, bool, bool] = (False, False, False),
    known_lse: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, Grads]:
    """One pass over the rows of ``hidden`` in chunks; returns (loss_rows, lse, grads).

    ``row_scale`` (N,) multiplies each row's gradient (None: no gradient wanted). ``needs``
    says which of (hidden, weight, bias) gradients to build. ``known_lse`` (N,) lets the rule
    skip its max/sum pass (used by the 'none' backward recompute).
    """
    n_rows, width = hidden.shape
    vocab = weight.shape[0]
    acc = accumulation_dtype(hidden.dtype)
    device = hidden.device
    want_grad = row_scale is not None and any(needs)
    need_h, need_w, need_b = needs if want_grad else (False, False, False)

    loss = torch.empty(n_rows, dtype=acc, device=device)
    lse = torch.empty(n_rows, dtype=acc, device=device) if known_lse is None else known_lse
    grad_hidden = torch.empty(n_rows, width, dtype=hidden.dtype, device=device) if need_h else None
    grad_weight = torch.zeros(vocab, width, dtype=acc, device=device) if need_w else None
    grad_bias = torch.zeros(vocab, dtype=acc, device=device) if need_b and bias is not None else None

    # On CPU the logits buffer is laid out vocabulary-major (V x chunk) and used through its
    # transpose: ``W @ h_c.T`` streams the big weight once per chunk, whereas ``h_c @ W.T`` (a
    # short, wide product) makes MKL repack all of W for every chunk (measured ~1.5x slower).
    # On CUDA rows stay contiguous, as the Triton kernel walks a row's vocabulary tiles.
    vocab_major = device.type == "cpu"
    width_rows = min(chunk, n_rows)
    if vocab_major:
        buffer = torch.empty(vocab, width_rows, dtype=acc, device=device)
    else:
        buffer = torch.empty(width_rows, vocab, dtype=acc, device=device)
    rule.reserve(width_rows, vocab, acc, device)
    same_dtype = hidden.dtype == acc
    for start in range(0, n_rows, chunk):
        stop = min(start + chunk, n_rows)
        rows = hidden[start:stop]
        if vocab_major:
            z = _logits_into(buffer[:, : stop - start], weight, rows.t(), bias, bias_dim=0).t()
        else:
            z = _logits_into(buffer[: stop - start], rows, weight.t(), bias, bias_dim=1)
        scale = None if not want_grad or row_scale is None else row_scale[start:stop]
        grad = rule.chunk(
            start, stop, z, loss[start:stop], lse[start:stop], scale, lse_known=known_lse is not None
        )
        if not want_grad:
            continue
        if grad_hidden is not None:  # (need_h)
            if same_dtype:
                torch.mm(grad, weight, out=grad_hidden[start:stop])
            else:
                grad_hidden[start:stop] = grad.to(hidden.dtype) @ weight
        if grad_weight is not None:  # (need_w)
            grad_weight.addmm_(grad.t(), rows if same_dtype else rows.to(acc))
        if grad_bias is not None:
            grad_bias.add_(grad.sum(0))
    rule.release()
    finish = getattr(rule, "finish_grads", None)
    if want_grad and finish is not None:
        # e.g. the vocabulary-parallel rule sums grad_hidden over the ranks.
        finish((grad_hidden, grad_weight, grad_bias))
    return loss, lse, (grad_hidden, grad_weight, grad_bias)


def _logits_into(
    out: torch.Tensor, left: torch.Tensor, right: torch.Tensor, bias: torch.Tensor | None, *, bias_dim: int
) -> torch.Tensor:
    """``out = left @ right (+ bias along bias_dim)`` in ``out``'s (float) dtype."""
    if left.dtype == out.dtype and out.is_contiguous():
        if bias is None:
            return torch.mm(left, right, out=out)
        return torch.addmm(bias.unsqueeze(1 - bias_dim), left, right, out=out)
    # Reduced precision: the matmul runs in the input dtype (as the unfused call does), the rest
    # in float32. (Also the narrower last chunk of a vocabulary-major buffer, not contiguous.)
    out.copy_(left @ right)
    if bias is not None:
        out.add_(bias.unsqueeze(1 - bias_dim))
    return out


@overload
def empty_result(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    batch_shape: tuple[int, ...],
    reduction: str,
    return_lse: Literal[False],
) -> torch.Tensor: ...
@overload
def empty_result(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    batch_shape: tuple[int, ...],
    reduction: str,
    return_lse: bool,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]: ...
def empty_result(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    batch_shape: tuple[int, ...],
    reduction: str,
    return_lse: bool,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    # No rows: a 'mean'/'sum' of nothing is 0, still connected to the inputs for autograd.
    anchor = hidden.sum() * 0 + weight.sum() * 0 + (bias.sum() * 0 if bias is not None else 0)
    loss = anchor if reduction != "none" else hidden.new_zeros(batch_shape) + anchor
    lse = torch.empty(batch_shape, dtype=accumulation_dtype(hidden.dtype), device=hidden.device)
    return (loss, lse) if return_lse else loss
