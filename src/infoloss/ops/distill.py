"""Distillation (KL, generalised JS) between student and teacher logits, chunk by chunk.

:func:`divergence_rows` is the one row function of the KL / JS divergences: the fused
distillation losses of :mod:`infoloss.losses` (logits in full, :func:`fused_distillation`) and
the linear distillation from a student's hidden states and output weight
(:func:`linear_distill_op`, on the chunk engine) both call it through :class:`DistillRule`.
The teacher is a fixed target: no gradient flows to it.

With temperature ``T``, ``s = log_softmax(z_s / T)``, ``t = log_softmax(z_t / T)`` and
``p_s = exp(s)``, ``p_t = exp(t)``, per row:

* forward KL(p_t || p_s) = sum p_t (t - s);          d/d(z_s/T) = p_s - p_t
* reverse KL(p_s || p_t) = sum p_s (s - t);          d/d(z_s/T) = p_s (f - KL),  f = s - t
* JS_beta with m = beta p_t + (1 - beta) p_s:
  beta KL(p_t || m) + (1 - beta) KL(p_s || m);       d/d(z_s/T) = (1 - beta) p_s (g - KL(p_s || m)),
  g = s - log m

(the last from JS_beta = beta sum p_t t + (1 - beta) sum p_s s - sum m log m). beta = 0.5 is the
ordinary Jensen-Shannon divergence. ``T**2`` scaling (Hinton et al. 2015) multiplies loss and
gradient when asked for. ``0 log 0 = 0``: a class with probability 0 (a -inf logit) contributes
nothing and gets a finite gradient; a row of -inf logits has probabilities 0, not NaN.

Each chunk is computed in a few work blocks of the chunk's shape that the rule allocates once
and reuses (``out=`` and in-place steps): fresh chunk-sized temporaries are freed and
re-allocated from the OS chunk after chunk, and their page faults cost as much as the
arithmetic on CPU.
"""

from __future__ import annotations

import math

import torch

from ._engine import (
    LinearLossFunction,
    LogitsLossFunction,
    accumulation_dtype,
    auto_chunk_size,
    empty_result,
    finite_or_zero,
    logits_chunk_rows,
)

__all__ = ["DistillRule", "divergence_rows", "fused_distillation", "linear_distill_op"]


def fused_distillation(
    student: torch.Tensor,
    teacher: torch.Tensor,
    *,
    mode: str,
    beta: float | None,
    temperature: float,
    teacher_format: str,
    scale_by_temperature: bool,
    reduction: str,
    mask: torch.Tensor | None,
) -> torch.Tensor:
    """The losses' fused distillation: ``student``, ``teacher`` (N, V) rows, ``mask`` (N,) or None.

    Returns the loss (0-d, or (N,) for 'none'); the student's gradient is taken in the forward
    pass (:class:`infoloss.ops._engine.LogitsLossFunction`).
    """
    n_rows = student.shape[0]
    acc = accumulation_dtype(student.dtype)
    valid = torch.ones(n_rows, dtype=torch.bool, device=student.device) if mask is None else mask.reshape(-1)
    row_scale = valid.to(acc)
    if reduction == "mean":
        row_scale = row_scale / valid.sum().clamp_min(1)
    rule = DistillRule(
        teacher=teacher,
        teacher_weight=None,
        teacher_bias=None,
        divergence=mode,
        beta=beta,
        temperature=temperature,
        scale_t2=scale_by_temperature,
        valid=valid,
        teacher_format=teacher_format,
    )
    return LogitsLossFunction.apply(
        student,
        rule,
        row_scale,
        reduction != "none",  # type: ignore[no-untyped-call]
        logits_chunk_rows(student.shape[1]),
    )  # (Function.apply is unannotated)


class DistillRule:
    """Per-chunk KL / JS between student logits (the engine's buffer) and a teacher: logits
    (``teacher_weight`` None; or log-probabilities, or probabilities with ``teacher_format``) or
    hidden states with ``teacher_weight`` (and ``teacher_bias``)."""

    def __init__(
        self,
        *,
        teacher: torch.Tensor,
        teacher_weight: torch.Tensor | None,
        teacher_bias: torch.Tensor | None,
        divergence: str,
        beta: float | None,
        temperature: float,
        scale_t2: bool,
        valid: torch.Tensor,
        teacher_format: str = "logits",
    ) -> None:
        self.teacher = teacher
        self.teacher_weight = teacher_weight
        self.teacher_bias = teacher_bias
        self.divergence = divergence
        self.beta = float(beta) if beta is not None else None
        self.temperature = float(temperature)
        self.loss_scale = self.temperature**2 if scale_t2 else 1.0
        self.teacher_format = teacher_format
        self.valid = valid
        self.count = int(valid.sum()) if valid.numel() else 0
        self._teacher_buffer: torch.Tensor | None = None
        self._work: list[torch.Tensor] | None = None

    def reserve(self, rows: int, vocab: int, dtype: torch.dtype, device: torch.device) -> None:
        # Vocabulary-major like the engine's buffer (see run_chunks: W @ h.T streams W once).
        self._teacher_buffer = torch.empty(vocab, rows, dtype=dtype, device=device)

    def release(self) -> None:
        self._teacher_buffer = None
        self._work = None

    def _work_blocks(self, z: torch.Tensor) -> list[torch.Tensor]:
        """The row function's work blocks for chunk ``z``: the first rows of blocks made for the
        first (tallest) chunk. Row-major whatever ``z``'s layout: PyTorch's ``log_softmax``
        writes a row-major result without a temporary (measured: a vocabulary-major one costs a
        hidden copy, slower than the allocation it saves)."""
        if self._work is None or self._work[0].shape[0] < z.shape[0]:
            self._work = _blocks(z, _WORK_BLOCKS[self.divergence])
        return [block[: z.shape[0]] for block in self._work]

    def _teacher_logits(self, start: int, stop: int, dtype: torch.dtype) -> torch.Tensor:
        """The chunk's teacher logits, read only (the row function writes into its work blocks)."""
        if self._teacher_buffer is None:  # logits in full: the chunk's rows (a copy only to convert)
            out = self.teacher[start:stop].to(dtype)
            return out.log() if self.teacher_format == "probs" else out
        out_t = self._teacher_buffer[:, : stop - start]
        if self.teacher_weight is None:
            out_t.copy_(self.teacher[start:stop].t())
        else:
            rows = self.teacher[start:stop]
            fast = rows.dtype == out_t.dtype and out_t.is_contiguous()
            if fast and self.teacher_bias is None:
                torch.mm(self.teacher_weight, rows.t(), out=out_t)
            elif fast and self.teacher_bias is not None:
                torch.addmm(self.teacher_bias.unsqueeze(1), self.teacher_weight, rows.t(), out=out_t)
            else:
                out_t.copy_(self.teacher_weight @ rows.t())
                if self.teacher_bias is not None:
                    out_t.add_(self.teacher_bias.unsqueeze(1))
        return out_t.t()

    # The engine's logits block is only read (LogitsLossFunction then skips its copy), and the
    # scaled gradient is written straight into the engine's gradient buffer.
    overwrites_logits = False
    fills_grad_out = True

    def chunk(
        self,
        start: int,
        stop: int,
        z: torch.Tensor,
        loss_out: torch.Tensor,
        lse_out: torch.Tensor,
        scale: torch.Tensor | None,
        *,
        lse_known: bool,
        grad_out: torch.Tensor | None = None,
    ) -> torch.Tensor | None:
        # lse_out is left as it is: no distillation result uses the student's logsumexp.
        valid = self.valid[start:stop]
        teacher = self._teacher_logits(start, stop, z.dtype)
        per, grad = divergence_rows(
            z,
            teacher,
            mode=self.divergence,
            beta=self.beta,
            temperature=self.temperature,
            need_grad=scale is not None,
            work=self._work_blocks(z),
        )
        loss_out.copy_(torch.where(valid, per, torch.zeros_like(per)) * self.loss_scale)
        if scale is None:
            return None
        assert grad is not None  # (need_grad was True)
        if self.count < self.valid.numel():  # masked rows: exactly 0, whatever they held
            grad.masked_fill_(~valid.unsqueeze(1), 0)
        factor = (
            torch.where(valid, scale, torch.zeros_like(scale)) * (self.loss_scale / self.temperature)
        ).unsqueeze(1)
        if grad_out is not None:
            return torch.mul(grad, factor, out=grad_out)
        return grad.mul_(factor)


def divergence_rows(
    student: torch.Tensor,
    teacher: torch.Tensor,
    *,
    mode: str,
    beta: float | None,
    temperature: float,
    need_grad: bool,
    work: list[torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-row divergence between ``softmax(teacher / T)`` and ``softmax(student / T)``.

    ``student`` and ``teacher`` are float (n, V) blocks of logits (the teacher's may be
    log-probabilities), only read. ``mode``: 'forward' (KL(teacher || student)), 'reverse'
    (KL(student || teacher)) or 'js' (generalised JS with ``beta``). ``work``: blocks of the
    same shape to compute in (three; four for 'js'), overwritten; None allocates them. Returns
    ``(per_row, grad)``: the divergence and its gradient in ``student / T`` (one of the work
    blocks; None unless ``need_grad``).

    >>> import torch
    >>> s, t = torch.tensor([[0.0, 1.0, -float('inf')]]), torch.tensor([[0.0, 1.0, 2.0]])
    >>> per, grad = divergence_rows(t, s, mode="forward", beta=None, temperature=1.0, need_grad=True)
    >>> round(float(per[0]), 4), bool(torch.isfinite(grad).all())
    (1.0943, True)
    """
    if work is None:
        work = _blocks(student, _WORK_BLOCKS[mode])
    exact = student.device.type != "cpu"  # no per-chunk host sync off the CPU: mask always
    log_t = _log_softmax(teacher, temperature, out=work[0], spare=work[2])
    log_s = _log_softmax(student, temperature, out=work[1], spare=work[2])
    if mode == "forward":
        p_t = torch.exp(log_t, out=work[2])
        per, _ = _weighted_sum(p_t, log_t.sub_(log_s), exact, out=work[0])
        grad = log_s.exp_().sub_(p_t) if need_grad else None
    elif mode == "reverse":
        diff = torch.sub(log_s, log_t, out=work[0])
        p_s = log_s.exp_()
        per, zeros_matter = _weighted_sum(p_s, diff, exact, out=work[2])
        grad = _centred(p_s, diff, per, zeros_matter) if need_grad else None
    else:
        assert beta is not None  # ('js' always comes with its beta)
        log_m = torch.logaddexp(
            torch.add(log_t, math.log(beta), out=work[2]),
            torch.add(log_s, math.log1p(-beta), out=work[3]),
            out=work[2],
        )
        p_t = torch.exp(log_t, out=work[3])
        teacher_part, _ = _weighted_sum(p_t, log_t.sub_(log_m), exact, out=work[0])
        diff_s = torch.sub(log_s, log_m, out=work[2])
        p_s = log_s.exp_()
        kl_s, zeros_matter = _weighted_sum(p_s, diff_s, exact, out=work[0])
        per = beta * teacher_part + (1 - beta) * kl_s
        grad = _centred(p_s, diff_s, kl_s, zeros_matter).mul_(1 - beta) if need_grad else None
    return per, grad


# Work blocks the row function needs per divergence (see divergence_rows).
_WORK_BLOCKS = {"forward": 3, "reverse": 3, "js": 4}


def _blocks(z: torch.Tensor, count: int) -> list[torch.Tensor]:
    return [torch.empty(z.shape, dtype=z.dtype, device=z.device) for _ in range(count)]


def _log_softmax(
    z: torch.Tensor, temperature: float, *, out: torch.Tensor, spare: torch.Tensor
) -> torch.Tensor:
    """``log_softmax(z / T)`` into ``out`` (``spare``: a block for ``z / T``; both overwritten).

    For T < 1 the row maximum is subtracted before dividing, so ``z / T`` cannot overflow, and a
    row of -inf logits gives log-probabilities -inf rather than NaN. (For T >= 1 PyTorch's fused
    kernel; a -inf row then gives NaN, which only a masked row can hold: the rule zeroes those.)
    """
    if temperature == 1:
        return torch.log_softmax(z, 1, out=out)
    if temperature > 1:
        return torch.log_softmax(torch.div(z, temperature, out=spare), 1, out=out)
    row_max = z.amax(1, keepdim=True)
    shifted = torch.sub(z, finite_or_zero(row_max), out=spare).div_(temperature)
    torch.log_softmax(shifted, 1, out=out)
    empty_rows = row_max == -math.inf  # log_softmax of a row of -inf is NaN; these are -inf
    if z.device.type != "cpu" or bool(empty_rows.any()):  # (off the CPU: no host sync, always)
        out.masked_fill_(empty_rows, -math.inf)
    return out


def _weighted_sum(
    p: torch.Tensor, diff: torch.Tensor, exact: bool, *, out: torch.Tensor
) -> tuple[torch.Tensor, bool]:
    """``sum_c p diff`` per row with ``0 * anything = 0``, the products written to ``out`` (which
    may be ``diff``). Also returns whether any product was NaN (a 0 times an infinite
    difference), i.e. whether ``p = 0`` entries need masking in the gradient too."""
    products = torch.mul(p, diff, out=out)
    if exact:
        return products.masked_fill_(p == 0, 0).sum(-1), True
    total = products.sum(-1)
    if not torch.isnan(total).any():
        return total, False
    return products.masked_fill_(p == 0, 0).sum(-1), True


def _centred(p: torch.Tensor, diff: torch.Tensor, mean: torch.Tensor, zeros_matter: bool) -> torch.Tensor:
    """``p (diff - mean)`` (the softmax Jacobian applied to ``diff``), written over ``diff``;
    0 where ``p = 0``. With a finite ``mean``, NaN there (0 times an infinite ``diff``) only
    where the weighted sum of the same ``p`` and ``diff`` had one, so ``zeros_matter`` (from
    :func:`_weighted_sum`) says whether to mask."""
    out = diff.sub_(mean[:, None]).mul_(p)
    if zeros_matter:
        out.masked_fill_(p == 0, 0)
    return out


def linear_distill_op(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    teacher: torch.Tensor,
    teacher_weight: torch.Tensor | None = None,
    *,
    bias: torch.Tensor | None = None,
    teacher_bias: torch.Tensor | None = None,
    divergence: str = "forward",
    beta: float | None = 0.5,
    temperature: float = 1.0,
    scale_by_temperature: bool = True,
    mask: torch.Tensor | None = None,
    reduction: str = "mean",
    chunk_size: int | None = None,
) -> torch.Tensor:
    """Fused linear KL / JS distillation on already-validated arguments (see nn.functional)."""
    width = hidden.shape[-1]
    batch_shape = hidden.shape[:-1]
    rows = hidden.reshape(math.prod(batch_shape), width)  # (not -1: D may be 0)
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
        teacher=teacher_rows,
        teacher_weight=teacher_weight,
        teacher_bias=teacher_bias,
        divergence=divergence,
        beta=beta,
        temperature=temperature,
        scale_t2=scale_by_temperature,
        valid=valid,
    )
    vocab = weight.shape[0]
    # Student and teacher buffers, plus the row function's three or four work blocks in part (the
    # budget as before the work blocks, which replaced as many temporaries).
    chunk = chunk_size or auto_chunk_size(rows.shape[0], vocab, hidden.device, buffers=4)
    if rows.shape[0] == 0:
        return empty_result(hidden, weight, bias, batch_shape, reduction, False)
    loss, _ = LinearLossFunction.apply(rows, weight, bias, rule, reduction, chunk)  # type: ignore[no-untyped-call]  # torch.autograd.Function.apply is unannotated
    return loss.reshape(batch_shape) if reduction == "none" else loss
