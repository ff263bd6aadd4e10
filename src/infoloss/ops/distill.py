"""Distillation losses (KL, generalised JS) from a student's hidden states and output weight.

Rides on the chunk engine of :mod:`infoloss.ops.cross_entropy`: per chunk the student's
logits ``z_s = h_c @ W.T + b`` and the teacher's logits (sliced from precomputed logits, or
``h_t @ W_t.T + b_t`` for the chunk's rows) are formed, the rule computes each row's loss and
overwrites the student buffer with ``dloss/dz_s``. The teacher is a fixed target: no gradient
flows to it.

With temperature ``T``, ``s = log_softmax(z_s / T)``, ``t = log_softmax(z_t / T)`` and
``p_s = exp(s)``, ``p_t = exp(t)``, per row:

* forward KL(p_t || p_s) = sum p_t (t - s);          d/d(z_s/T) = p_s - p_t
* reverse KL(p_s || p_t) = sum p_s (s - t);          d/d(z_s/T) = p_s (f - KL),  f = s - t
* JS_beta with m = beta p_t + (1 - beta) p_s:
  beta KL(p_t || m) + (1 - beta) KL(p_s || m);       d/d(z_s/T) = p_s (f - sum p_s f),
  f = (1 - beta)(s - log m)

(the last from JS_beta = beta sum p_t t + (1 - beta) sum p_s s - sum m log m). beta = 0.5 is the
ordinary Jensen-Shannon divergence. ``T**2`` scaling (Hinton et al. 2015) multiplies loss and
gradient when asked for.
"""

from __future__ import annotations

import math

import torch

from .cross_entropy import LinearLossFunction, _empty_result, auto_chunk_size

__all__ = ["DistillRule", "linear_distill_op"]


class DistillRule:
    """Per-chunk KL / JS between student logits (the engine's buffer) and a teacher."""

    def __init__(self, *, teacher, teacher_weight, teacher_bias, divergence, beta, temperature,
                 scale_t2, valid):
        self.teacher = teacher
        self.teacher_weight = teacher_weight
        self.teacher_bias = teacher_bias
        self.divergence = divergence
        self.beta = float(beta)
        self.temperature = float(temperature)
        self.loss_scale = self.temperature**2 if scale_t2 else 1.0
        self.valid = valid
        self.count = int(valid.sum()) if valid.numel() else 0
        self._teacher_buffer = None

    def reserve(self, rows, vocab, dtype, device):
        # Vocabulary-major like the engine's buffer (see run_chunks: W @ h.T streams W once).
        self._teacher_buffer = torch.empty(vocab, rows, dtype=dtype, device=device)

    def release(self):
        self._teacher_buffer = None

    def _teacher_logits(self, start, stop):
        out_t = self._teacher_buffer[:, : stop - start]
        if self.teacher_weight is None:
            out_t.copy_(self.teacher[start:stop].t())
        else:
            rows = self.teacher[start:stop]
            fast = rows.dtype == out_t.dtype and out_t.is_contiguous()
            if fast and self.teacher_bias is None:
                torch.mm(self.teacher_weight, rows.t(), out=out_t)
            elif fast:
                torch.addmm(self.teacher_bias.unsqueeze(1), self.teacher_weight, rows.t(), out=out_t)
            else:
                out_t.copy_(self.teacher_weight @ rows.t())
                if self.teacher_bias is not None:
                    out_t.add_(self.teacher_bias.unsqueeze(1))
        return out_t.t()

    def chunk(self, start, stop, z, loss_out, lse_out, scale, *, lse_known):
        valid = self.valid[start:stop]
        temperature = self.temperature
        log_t = self._teacher_logits(start, stop)
        log_t.div_(temperature)
        log_t.sub_(torch.logsumexp(log_t, 1, keepdim=True))
        z.div_(temperature)
        student_lse = torch.logsumexp(z, 1, keepdim=True)
        lse_out.copy_(student_lse.squeeze(1) * temperature)
        log_s = z.sub_(student_lse)  # z now holds log p_s
        if self.divergence == "forward":
            p_t = log_t.exp()
            row_loss = (p_t * (log_t - log_s)).sum(1)
            grad_u = log_s.exp_().sub_(p_t)  # p_s - p_t
        elif self.divergence == "reverse":
            f = log_s - log_t
            p_s = log_s.exp_()
            row_loss = (p_s * f).sum(1)
            grad_u = p_s.mul_(f.sub_(row_loss.unsqueeze(1)))
        else:
            row_loss, grad_u = _js_rows(log_s, log_t, self.beta)
        row_loss = torch.where(valid, row_loss, torch.zeros_like(row_loss)) * self.loss_scale
        loss_out.copy_(row_loss)
        if scale is None:
            return None
        factor = torch.where(valid, scale, torch.zeros_like(scale)) * (self.loss_scale / temperature)
        return grad_u.mul_(factor.unsqueeze(1))


def _js_rows(log_s, log_t, beta):
    """Generalised JS rows and d/d(z_s/T); ``log_s`` is overwritten with the gradient."""
    # log m = logaddexp(log beta + t, log(1 - beta) + s); beta in {0, 1} gives -inf + finite = -inf
    # on one side, which logaddexp handles exactly.
    log_beta = math.log(beta) if beta > 0 else -math.inf
    log_one_minus = math.log1p(-beta) if beta < 1 else -math.inf
    log_m = torch.logaddexp(log_t + log_beta, log_s + log_one_minus)
    p_t = log_t.exp()
    teacher_part = (p_t * (log_t - log_m)).sum(1) if beta > 0 else torch.zeros_like(log_t[:, 0])
    f = log_s - log_m
    p_s = log_s.exp_()
    student_part = (p_s * f).sum(1)
    row_loss = beta * teacher_part + (1.0 - beta) * student_part
    f.mul_(1.0 - beta)
    grad_u = p_s.mul_(f.sub_((1.0 - beta) * student_part.unsqueeze(1)))
    return row_loss, grad_u


def linear_distill_op(
    hidden, weight, teacher, teacher_weight=None, *, bias=None, teacher_bias=None, divergence="forward",
    beta=0.5, temperature=1.0, scale_by_temperature=True, mask=None, reduction="mean", chunk_size=None,
):
    """Fused linear KL / JS distillation on already-validated arguments (see nn.functional)."""
    width = hidden.shape[-1]
    batch_shape = hidden.shape[:-1]
    rows = hidden.reshape(-1, width)
    if teacher_weight is None:
        teacher_rows = teacher.reshape(-1, teacher.shape[-1]).detach()
    else:
        teacher_rows = teacher.reshape(-1, teacher.shape[-1]).detach()
        teacher_weight = teacher_weight.detach()
        teacher_bias = None if teacher_bias is None else teacher_bias.detach()
    if mask is None:
        valid = torch.ones(rows.shape[0], dtype=torch.bool, device=hidden.device)
    else:
        valid = mask.reshape(-1).to(device=hidden.device, dtype=torch.bool)
    rule = DistillRule(
        teacher=teacher_rows, teacher_weight=teacher_weight, teacher_bias=teacher_bias,
        divergence=divergence, beta=beta, temperature=temperature,
        scale_t2=scale_by_temperature, valid=valid,
    )
    vocab = weight.shape[0]
    # Student and teacher buffers, plus about two block-sized temporaries in the rule.
    chunk = chunk_size or auto_chunk_size(rows.shape[0], vocab, hidden.device, buffers=4)
    if rows.shape[0] == 0:
        return _empty_result(hidden, weight, bias, batch_shape, reduction, False)
    loss, _ = LinearLossFunction.apply(rows, weight, bias, rule, reduction, chunk)
    return loss.reshape(batch_shape) if reduction == "none" else loss
