"""Fused linear + cross-entropy that never holds the N x V logits.

The engine (:func:`run_chunks`) walks the rows of ``hidden`` in chunks of ``chunk`` rows. For
each chunk it forms the chunk's logits ``z = h_c @ W.T + b`` in one preallocated float32 buffer
of ``chunk x V``, hands it to a *rule* that computes the per-row loss and overwrites the buffer
with ``dloss/dz`` (scaled per row), and folds that gradient straight into ``grad_hidden`` rows,
``grad_weight`` and ``grad_bias`` (float32 accumulators). Peak extra memory is therefore
``O(chunk x V)`` plus the gradient buffers, never ``O(N x V)``.

Reduced losses ('mean', 'sum') take their gradient in the forward pass, and the backward
only scales the stored gradients by ``grad_output`` (no second matmul pass), as in
Liger-Kernel's fused linear cross-entropy. ``reduction='none'`` cannot do that, because
``grad_weight = sum_i g_i z_i'^T h_i`` needs every row's own upstream gradient ``g_i``: the
forward keeps the per-row logsumexp (N floats) and the backward recomputes each chunk's logits
once, turning them into probabilities with the stored logsumexp (no max/sum pass).

Cross-entropy rule, per non-ignored row with target ``y``, smoothing ``eps``, z-loss
coefficient ``c`` over ``V`` classes (``z`` softcapped first when ``softcap`` is set)::

    lse   = logsumexp(z)
    loss  = lse - (1 - eps) z_y - eps/V sum_j z_j + c lse^2
    dl/dz = softmax(z) (1 + 2 c lse) - (1 - eps) onehot(y) - eps/V

which is ``(1 - eps) NLL + eps * mean_j(-log_softmax_j)`` (PyTorch's label smoothing) plus
PaLM's z-loss ``c * lse^2``. Softcap (Gemma 2) maps ``z -> s tanh(z / s)`` with derivative
``1 - tanh^2``.
"""

from __future__ import annotations

import torch

__all__ = ["LinearLossFunction", "CrossEntropyRule", "run_chunks", "auto_chunk_size", "linear_cross_entropy_op"]

# Bytes one chunk's float32 logits buffer may take on CPU. Each chunk streams W (V x D) twice and
# grad_weight once through memory, so taller chunks amortise that traffic; 64 MiB (256 rows at
# V = 65536) keeps the buffer a fraction of grad_weight itself at LLM shapes.
_CPU_CHUNK_BYTES = 64 * 2**20
# On CUDA the matmuls want taller chunks; 256 MiB per buffer is still small next to N x V.
_CUDA_CHUNK_BYTES = 256 * 2**20
_MIN_CHUNK_BYTES = 4 * 2**20


def auto_chunk_size(n_rows: int, vocab: int, device: torch.device, buffers: int = 1) -> int:
    """Rows per chunk: ``buffers`` float32 ``chunk x vocab`` blocks within the byte budget, and
    (for small problems) at most an eighth of the rows, but no block under 4 MiB."""
    budget = _CUDA_CHUNK_BYTES if device.type == "cuda" else _CPU_CHUNK_BYTES
    row_bytes = 4 * max(vocab, 1) * buffers
    rows = min(budget // row_bytes, max(-(-n_rows // 8), _MIN_CHUNK_BYTES // row_bytes))
    return int(max(1, min(n_rows, rows)))


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
    def forward(ctx, hidden, weight, bias, rule, reduction, chunk):
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
            row_scale = torch.full((hidden.shape[0],), scale, dtype=accumulation_dtype(hidden.dtype), device=hidden.device)
        loss, lse, grads = run_chunks(hidden, weight, bias, rule, chunk, row_scale=row_scale, needs=needs)
        ctx.grads = grads
        ctx.mark_non_differentiable(lse)
        return (loss.sum() * scale).to(hidden.dtype), lse

    @staticmethod
    def backward(ctx, grad_loss, grad_lse):
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


def _reduction_scale(reduction: str, rule) -> float:
    if reduction == "sum":
        return 1.0
    count = rule.count
    # All rows ignored: the mean is 0 with a zero gradient (deliberately not PyTorch's NaN).
    return 1.0 / count if count > 0 else 0.0


# --------------------------------------------------------------------------------------------
# Chunk engine
# --------------------------------------------------------------------------------------------


def run_chunks(hidden, weight, bias, rule, chunk, *, row_scale, needs=(False, False, False), known_lse=None):
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
        scale = None if not want_grad else row_scale[start:stop]
        grad = rule.chunk(start, stop, z, loss[start:stop], lse[start:stop], scale, lse_known=known_lse is not None)
        if not want_grad:
            continue
        if need_h:
            if same_dtype:
                torch.mm(grad, weight, out=grad_hidden[start:stop])
            else:
                grad_hidden[start:stop] = grad.to(hidden.dtype) @ weight
        if need_w:
            grad_weight.addmm_(grad.t(), rows if same_dtype else rows.to(acc))
        if grad_bias is not None:
            grad_bias.add_(grad.sum(0))
    rule.release()
    finish = getattr(rule, "finish_grads", None)
    if want_grad and finish is not None:
        # e.g. the vocabulary-parallel rule sums grad_hidden over the ranks.
        finish((grad_hidden, grad_weight, grad_bias))
    return loss, lse, (grad_hidden, grad_weight, grad_bias)


def _logits_into(out, left, right, bias, *, bias_dim):
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


# --------------------------------------------------------------------------------------------
# Cross-entropy rule
# --------------------------------------------------------------------------------------------


class CrossEntropyRule:
    """Per-chunk cross-entropy with ignore_index, label smoothing, z-loss and softcap.

    ``kernel`` picks who does the per-row work on a chunk: 'torch' (ATen ops, in place) or
    'triton' (one Triton program per row, blockwise over vocabulary tiles; see
    :mod:`infoloss.ops.triton_cross_entropy`).
    """

    def __init__(self, target, *, ignore_index, label_smoothing, z_loss, softcap, kernel="torch"):
        self.target = target
        self.ignore_index = ignore_index
        self.label_smoothing = float(label_smoothing)
        self.z_loss = float(z_loss)
        self.softcap = None if softcap is None else float(softcap)
        self.kernel = kernel
        self.valid = target != ignore_index
        self.count = int(self.valid.sum()) if target.numel() else 0
        self.safe_target = torch.where(self.valid, target, torch.zeros_like(target))
        self._capped = None

    def reserve(self, rows, vocab, dtype, device):
        # Softcap needs a second buffer: one keeps tanh(z/s) for the derivative, one the logits.
        if self.softcap is not None and self.kernel == "torch":
            self._capped = torch.empty(vocab, rows, dtype=dtype, device=device).t()

    def release(self):
        self._capped = None

    def chunk(self, start, stop, z, loss_out, lse_out, scale, *, lse_known):
        valid = self.valid[start:stop]
        target = self.safe_target[start:stop]
        if self.kernel == "triton":
            from .triton_cross_entropy import cross_entropy_rows

            cross_entropy_rows(
                z, target, valid, loss_out, lse_out, scale,
                label_smoothing=self.label_smoothing, z_loss=self.z_loss, softcap=self.softcap,
                lse_known=lse_known,
            )
            return z
        return cross_entropy_rows_torch(
            z, target, valid, loss_out, lse_out, scale,
            label_smoothing=self.label_smoothing, z_loss=self.z_loss, softcap=self.softcap,
            lse_known=lse_known, capped_buffer=None if self._capped is None else self._capped[: z.shape[0]],
        )


def cross_entropy_rows_torch(
    z, target, valid, loss_out, lse_out, scale, *, label_smoothing, z_loss, softcap, lse_known, capped_buffer=None
):
    """Rows of cross-entropy on a float logits block ``z`` (n, V), in place.

    Writes each row's loss into ``loss_out`` (0 for ignored rows) and, unless ``lse_known``,
    its logsumexp into ``lse_out``. With ``scale`` (n,) it returns ``dloss/dz * scale`` per row
    (zero rows where ignored), written over ``z`` or ``capped_buffer``; without, returns None.
    """
    vocab = z.shape[1]
    eps = label_smoothing
    tanh = None
    if softcap is not None:
        tanh = z.div_(softcap).tanh_()
        capped = capped_buffer if capped_buffer is not None else torch.empty_like(z)
        z = torch.mul(tanh, softcap, out=capped)
    column = target.unsqueeze(1)
    target_logit = z.gather(1, column).squeeze(1)
    logit_sum = z.sum(1) if eps else None
    if lse_known:
        lse = lse_out
        # exp(z - lse) is already the softmax.
        z.sub_(lse.unsqueeze(1)).exp_()
        normaliser = None
    else:
        row_max = z.amax(1, keepdim=True)
        z.sub_(row_max).exp_()
        sum_exp = z.sum(1)
        lse = row_max.squeeze(1) + sum_exp.log()
        lse_out.copy_(lse)
        normaliser = sum_exp
    row_loss = lse - (1.0 - eps) * target_logit
    if eps:
        row_loss = row_loss - (eps / vocab) * logit_sum
    if z_loss:
        row_loss = row_loss + z_loss * lse.square()
    loss_out.copy_(torch.where(valid, row_loss, torch.zeros_like(row_loss)))
    if scale is None:
        return None
    weight = torch.where(valid, scale, torch.zeros_like(scale))
    factor = weight * (1.0 + 2.0 * z_loss * lse) if z_loss else weight
    if normaliser is not None:
        factor = factor / normaliser
    z.mul_(factor.unsqueeze(1))
    z.scatter_add_(1, column, (-(1.0 - eps) * weight).unsqueeze(1))
    if eps:
        z.sub_(((eps / vocab) * weight).unsqueeze(1))
    if tanh is not None:
        # d(s tanh(x/s))/dx = 1 - tanh^2
        z.mul_(tanh.square_().neg_().add_(1.0))
    return z


# --------------------------------------------------------------------------------------------
# Op entry point (validated arguments; see infoloss.nn.functional for the public edge)
# --------------------------------------------------------------------------------------------


def linear_cross_entropy_op(
    hidden, weight, target, bias=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0,
    z_loss=0.0, softcap=None, chunk_size=None, return_lse=False, kernel="auto",
):
    """Fused linear cross-entropy on already-validated arguments.

    ``hidden`` (..., D) and ``target`` (...) are flattened to rows. ``kernel``: 'auto' uses
    Triton on CUDA tensors when Triton is importable, else the chunked PyTorch rule; 'torch'
    and 'triton' force one (the tests run 'triton' on CPU under ``TRITON_INTERPRET=1``).
    """
    batch_shape = target.shape
    rows = hidden.reshape(-1, hidden.shape[-1])
    flat_target = target.reshape(-1).to(torch.long)
    vocab = weight.shape[0]
    if kernel == "auto":
        kernel = "triton" if hidden.is_cuda and triton_available() else "torch"
    buffers = 2 if (softcap is not None and kernel == "torch") else 1
    chunk = chunk_size or auto_chunk_size(rows.shape[0], vocab, hidden.device, buffers)
    rule = CrossEntropyRule(
        flat_target, ignore_index=ignore_index, label_smoothing=label_smoothing, z_loss=z_loss,
        softcap=softcap, kernel=kernel,
    )
    if rows.shape[0] == 0:
        return _empty_result(hidden, weight, bias, batch_shape, reduction, return_lse)
    loss, lse = LinearLossFunction.apply(rows, weight, bias, rule, reduction, chunk)
    if reduction == "none":
        loss = loss.reshape(batch_shape)
    if return_lse:
        return loss, lse.reshape(batch_shape)
    return loss


def _empty_result(hidden, weight, bias, batch_shape, reduction, return_lse):
    # No rows: a 'mean'/'sum' of nothing is 0, still connected to the inputs for autograd.
    anchor = hidden.sum() * 0 + weight.sum() * 0 + (bias.sum() * 0 if bias is not None else 0)
    loss = anchor if reduction != "none" else hidden.new_zeros(batch_shape) + anchor
    lse = torch.empty(batch_shape, dtype=accumulation_dtype(hidden.dtype), device=hidden.device)
    return (loss, lse) if return_lse else loss


def triton_available() -> bool:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True
