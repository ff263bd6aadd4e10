"""Cross-entropy of logits blocks, and the fused linear cross-entropy on the chunk engine.

:func:`cross_entropy_rows` is the one row function of cross-entropy with PyTorch's options
(ignore_index, label smoothing) plus z-loss and softcap: the fused linear loss
(:mod:`infoloss.ops._engine`), the fused linear loss over a sharded vocabulary and the sharded
logits (:mod:`infoloss.ops.vocab_parallel`, which passes an all-reduce hook) all call it. Per
row that counts, with target ``y``, smoothing ``eps``, z-loss coefficient ``c`` over ``V``
classes (``z`` softcapped first when ``softcap`` is set)::

    lse   = logsumexp(z)
    loss  = lse - (1 - eps) z_y - eps/V sum_j z_j + c lse^2
    dl/dz = softmax(z) (1 + 2 c lse) - (1 - eps) onehot(y) - eps/V

which is ``(1 - eps) NLL + eps * mean_j(-log_softmax_j)`` (PyTorch's label smoothing) plus
PaLM's z-loss ``c * lse^2``. Softcap (Gemma 2) maps ``z -> s tanh(z / s)`` with derivative
``1 - tanh^2``. A row that counts for nothing has loss 0 and gradient 0, whatever its logits
(also a row of -inf logits, e.g. from a -inf bias).

On a vocabulary sharded over ranks each block holds some columns: the row maximum and the sums
(of exponentials, of the target logit, of the logits) are per-block partials that the
``all_reduce`` hook combines (Megatron-LM's vocabulary-parallel cross-entropy, Shoeybi et al.
2019); everything else is local.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ._engine import Grads, LinearLossFunction, auto_chunk_size, empty_result, finite_or_zero

__all__ = ["CrossEntropyRule", "cross_entropy_rows", "linear_cross_entropy_op", "triton_available"]


class CrossEntropyRule:
    """Per-chunk cross-entropy for the engine: targets, options and, for a sharded vocabulary,
    this block's first column and width, the full vocabulary size and the communication hooks.

    ``kernel`` picks who does the per-row work on a chunk: 'torch' (:func:`cross_entropy_rows`)
    or 'triton' (one Triton program per row, blockwise over vocabulary tiles; see
    :mod:`infoloss.ops.triton_cross_entropy`).

    ``class_weight`` (V,): PyTorch's class weights over the full vocabulary (every rank holds
    all of them, as it holds every target); ``count``, the divisor of 'mean', is then the sum
    of the kept rows' target weights, as in ``F.cross_entropy``.
    """

    def __init__(
        self,
        target: torch.Tensor,
        *,
        ignore_index: int,
        label_smoothing: float,
        z_loss: float,
        softcap: float | None,
        kernel: str = "torch",
        first_column: int = 0,
        block_width: int | None = None,
        vocab: int | None = None,
        all_reduce: Callable[[torch.Tensor, str], object] | None = None,
        finish_grads: Callable[[Grads], object] | None = None,
        class_weight: torch.Tensor | None = None,
    ) -> None:
        self.ignore_index = ignore_index
        self.label_smoothing = float(label_smoothing)
        self.z_loss = float(z_loss)
        self.softcap = None if softcap is None else float(softcap)
        self.kernel = kernel
        self.vocab = vocab
        self.all_reduce = all_reduce
        self.finish_grads = finish_grads  # called by the engine with (grad_hidden, grad_weight, grad_bias)
        self.valid = target != ignore_index
        self.count: float = int(self.valid.sum()) if target.numel() else 0
        local = target - first_column
        if vocab is None:  # one block holds every column
            self.in_block: torch.Tensor | None = None
            self.local_target = torch.where(self.valid, local, torch.zeros_like(local))
        else:
            assert block_width is not None  # (a block of a sharded vocabulary has its width)
            self.in_block = self.valid & (local >= 0) & (local < block_width)
            self.local_target = torch.where(self.in_block, local, torch.zeros_like(local))
        self.class_weight = class_weight
        if class_weight is not None:
            safe = torch.where(self.valid, target, torch.zeros_like(target))
            self.target_weight = torch.where(
                self.valid, class_weight[safe], torch.zeros_like(class_weight[safe])
            )
            self.count = float(self.target_weight.sum(dtype=torch.float64)) if target.numel() else 0.0
            self.weight_total = float(class_weight.sum(dtype=torch.float64))
            width = class_weight.shape[0] if block_width is None else block_width
            self.block_weight = class_weight[first_column : first_column + width]
        self._weights: tuple[torch.Tensor, torch.Tensor] | None = None
        self._capped: torch.Tensor | None = None

    def reserve(self, rows: int, vocab: int, dtype: torch.dtype, device: torch.device) -> None:
        # Softcap needs a second buffer: one keeps tanh(z/s) for the derivative, one the logits.
        if self.softcap is not None and self.kernel == "torch":
            self._capped = torch.empty(vocab, rows, dtype=dtype, device=device).t()

    def release(self) -> None:
        self._capped = None

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
    ) -> torch.Tensor | None:
        valid = self.valid[start:stop]
        target = self.local_target[start:stop]
        options: dict[str, Any] = dict(
            label_smoothing=self.label_smoothing,
            z_loss=self.z_loss,
            softcap=self.softcap,
            lse_known=lse_known,
        )
        if self.class_weight is not None:
            if self._weights is None:  # in the chunks' float dtype, converted once
                self._weights = (self.block_weight.to(z.dtype), self.target_weight.to(z.dtype))
            options.update(
                class_weight=self._weights[0],
                target_weight=self._weights[1][start:stop],
                weight_total=self.weight_total,
            )
        if self.kernel == "triton":
            from .triton_cross_entropy import cross_entropy_rows as triton_rows

            triton_rows(z, target, valid, loss_out, lse_out, scale, **options)
            return z
        return cross_entropy_rows(
            z,
            target,
            valid,
            loss_out,
            lse_out,
            scale,
            **options,
            vocab=self.vocab,
            in_block=None if self.in_block is None else self.in_block[start:stop],
            all_reduce=self.all_reduce,
            capped_buffer=None if self._capped is None else self._capped[: z.shape[0]],
        )


def cross_entropy_rows(
    z: torch.Tensor,
    target: torch.Tensor | None,
    valid: torch.Tensor,
    loss_out: torch.Tensor,
    lse_out: torch.Tensor,
    scale: torch.Tensor | None,
    *,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    lse_known: bool,
    capped_buffer: torch.Tensor | None = None,
    vocab: int | None = None,
    in_block: torch.Tensor | None = None,
    all_reduce: Callable[[torch.Tensor, str], object] | None = None,
    target_probs: torch.Tensor | None = None,
    class_weight: torch.Tensor | None = None,
    target_weight: torch.Tensor | None = None,
    weight_total: float | None = None,
) -> torch.Tensor | None:
    """Rows of cross-entropy on a float logits block ``z`` (n, V_block), in place.

    ``target`` (n,) is each row's target column in this block (any in-range value where the row
    does not count or its target lies in another block); ``valid`` (n,) the rows that count.
    Writes each row's loss into ``loss_out`` (0 for rows that do not count) and, unless
    ``lse_known``, its logsumexp into ``lse_out`` (with ``lse_known`` it reads it from there and
    skips the max and sum passes). With ``scale`` (n,) it returns ``dloss/dz * scale`` per row
    (zero rows where not valid), written over ``z`` or ``capped_buffer``; without, None.

    Sharded vocabulary: ``vocab`` is the full size, ``in_block`` (n,) marks the rows whose target
    is in this block, and ``all_reduce(tensor, op)`` (op ``'max'`` or ``'sum'``) combines a
    per-row statistic over the blocks in place (the backward recompute, ``lse_known``, needs no
    communication).

    Dense targets: ``target_probs`` (n, V) holds each row's target weights ``t`` (probabilities,
    already smoothed and multiplied by any class weights; rows need not sum to 1) and replaces
    ``target``; then ``loss = sum(t) lse - sum_j t_j z_j`` (``0 * -inf = 0``) and
    ``dl/dz = softmax(z) (sum(t) + 2 c lse) - t``; ``label_smoothing`` must be 0 (fold it into
    ``t``), and the vocabulary is not sharded.

    Class weights (PyTorch's ``weight=``): ``class_weight`` (V_block,) holds this block's
    classes' weights ``w``, ``target_weight`` (n,) each row's ``w_y`` (the caller's, since ``y``
    may lie in another block) and ``weight_total`` ``W = sum_j w_j`` over the full vocabulary;
    then, with ``m = (1 - eps) w_y + eps W / V``::

        loss  = m lse - (1 - eps) w_y z_y - eps/V sum_j w_j z_j + c lse^2
        dl/dz = softmax(z) (m + 2 c lse) - (1 - eps) w_y onehot(y) - eps/V w

    (``F.cross_entropy``'s weighted terms; the z-loss is not weighted, as in
    :func:`infoloss.losses.cross_entropy`).

    >>> import torch
    >>> z = torch.tensor([[1.0, 1.0, 3.0], [-float('inf')] * 3])
    >>> loss, lse = torch.empty(2), torch.empty(2)
    >>> grad = cross_entropy_rows(z.clone(), torch.tensor([2, 0]), torch.tensor([True, False]), loss, lse,
    ...                           torch.ones(2), label_smoothing=0.0, z_loss=0.0, softcap=None, lse_known=False)
    >>> [round(float(v), 4) for v in loss], bool(torch.all(grad[1] == 0))
    ([0.2395, 0.0], True)
    """
    vocab = z.shape[1] if vocab is None else vocab
    eps = label_smoothing
    tanh = None
    if softcap is not None:
        masked = torch.isneginf(z)  # masked classes stay masked (-inf), as in losses.cross_entropy
        tanh = z.div_(softcap).tanh_()
        capped = capped_buffer if capped_buffer is not None else torch.empty_like(z)
        z = torch.mul(tanh, softcap, out=capped).masked_fill_(masked, -torch.inf)
    # Dense targets come as target_probs (target is None), class weights as class_weight with
    # target_weight and weight_total: the checks below test the arguments themselves.
    mass = target_probs.sum(1) if target_probs is not None else None  # sum(t): 1 for a class-index target
    if target_weight is not None:  # the weight of the row's lse in its loss: (1 - eps) w_y + eps W / V
        mass = target_weight
        if eps:
            assert weight_total is not None  # (given with the class weights)
            mass = (1.0 - eps) * target_weight + (eps / vocab) * weight_total
    column = None if target is None else target.unsqueeze(1)
    if lse_known:
        lse = lse_out
        # exp(z - lse) is already the softmax (a row of -inf logits: lse = -inf, shifted by 0).
        z.sub_(finite_or_zero(lse).unsqueeze(1)).exp_()
        normaliser = None
    else:
        if target_probs is not None:  # sum_j t_j z_j, with 0 * -inf = 0 (a masked class no target puts
            # weight on); a NaN logit or target still makes the loss NaN, through lse or sum(t)
            target_logit = (
                torch.mul(target_probs, z).nan_to_num_(nan=0.0, posinf=torch.inf, neginf=-torch.inf).sum(1)
            )
        else:
            assert column is not None  # (class-index targets)
            target_logit = z.gather(1, column).squeeze(1)
            if target_weight is not None:
                target_logit = target_logit * target_weight
        if in_block is not None:
            target_logit = torch.where(in_block, target_logit, torch.zeros_like(target_logit))
        if not eps:
            logit_sum = torch.zeros_like(target_logit)
        else:  # sum_j z_j, or sum_j w_j z_j with class weights
            logit_sum = torch.mv(z, class_weight) if class_weight is not None else z.sum(1)
        row_max = z.amax(1)
        if all_reduce is not None:
            all_reduce(row_max, "max")
        row_max = finite_or_zero(row_max)  # a row of -inf: exp gives zeros, not NaN
        z.sub_(row_max.unsqueeze(1)).exp_()
        sum_exp = z.sum(1)
        if all_reduce is not None:
            stats = torch.stack([sum_exp, target_logit, logit_sum])
            all_reduce(stats, "sum")
            sum_exp, target_logit, logit_sum = stats
        lse = row_max + sum_exp.log()
        lse_out.copy_(lse)
        normaliser = sum_exp
        row_loss = (lse if mass is None else lse * mass) - (1.0 - eps) * target_logit
        if eps:
            row_loss = row_loss - (eps / vocab) * logit_sum
        if z_loss:
            row_loss = row_loss + z_loss * lse.square()
        loss_out.copy_(torch.where(valid, row_loss, torch.zeros_like(row_loss)))
    if scale is None:
        return None
    zero = torch.zeros_like(scale)
    weight = torch.where(valid, scale, zero)
    if mass is not None:
        factor = weight * (mass + 2.0 * z_loss * lse) if z_loss else weight * mass
    else:
        factor = weight * (1.0 + 2.0 * z_loss * lse) if z_loss else weight
    if normaliser is not None:
        factor = factor / normaliser
    # Rows that do not count get exactly 0 (their lse may be -inf: 0 * inf and 0 / 0 are NaN).
    factor = torch.where(valid, factor, zero)
    z.mul_(factor.unsqueeze(1))
    target_step = -(1.0 - eps) * (weight * target_weight if target_weight is not None else weight)
    if in_block is not None:
        target_step = torch.where(in_block, target_step, zero)
    if target_probs is not None:
        z.addcmul_(target_probs, target_step.unsqueeze(1))
    else:
        assert column is not None  # (class-index targets)
        z.scatter_add_(1, column, target_step.unsqueeze(1))
    if eps and class_weight is not None:
        z.addr_(weight, class_weight, alpha=-eps / vocab)
    elif eps:
        z.sub_(((eps / vocab) * weight).unsqueeze(1))
    if tanh is not None:
        # d(s tanh(x/s))/dx = 1 - tanh^2
        z.mul_(tanh.square_().neg_().add_(1.0))
    return z


# --------------------------------------------------------------------------------------------
# Op entry point (validated arguments; see infoloss.nn.functional for the public edge)
# --------------------------------------------------------------------------------------------


def linear_cross_entropy_op(
    hidden: torch.Tensor,
    linear_weight: torch.Tensor,
    target: torch.Tensor,
    linear_bias: torch.Tensor | None = None,
    *,
    class_weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    softcap: float | None = None,
    chunk_size: int | None = None,
    return_lse: bool = False,
    kernel: str = "auto",
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Fused linear cross-entropy on already-validated arguments.

    ``hidden`` (..., D) and ``target`` (...) are flattened to rows; ``linear_weight`` (V, D),
    ``linear_bias`` (V,) or None, ``class_weight`` (V,) or None (PyTorch's ``weight=``).
    ``kernel``: 'auto' uses Triton on CUDA tensors when Triton is importable, else the chunked
    PyTorch rule; 'torch' and 'triton' force one (the tests run 'triton' on CPU under
    ``TRITON_INTERPRET=1``).
    """
    batch_shape = target.shape
    flat_target = target.reshape(-1).to(torch.long)
    rows = hidden.reshape(flat_target.shape[0], hidden.shape[-1])  # (not -1: D may be 0)
    vocab = linear_weight.shape[0]
    if kernel == "auto":
        kernel = "triton" if hidden.is_cuda and triton_available() else "torch"
    buffers = 2 if (softcap is not None and kernel == "torch") else 1
    chunk = chunk_size or auto_chunk_size(rows.shape[0], vocab, hidden.device, buffers)
    rule = CrossEntropyRule(
        flat_target,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        z_loss=z_loss,
        softcap=softcap,
        kernel=kernel,
        class_weight=class_weight,
    )
    if rows.shape[0] == 0:
        return empty_result(hidden, linear_weight, linear_bias, batch_shape, reduction, return_lse)
    loss, lse = LinearLossFunction.apply(  # type: ignore[no-untyped-call]  # (Function.apply is unannotated)
        rows, linear_weight, linear_bias, rule, reduction, chunk
    )
    if reduction == "none":
        loss = loss.reshape(batch_shape)
    if return_lse:
        return loss, lse.reshape(batch_shape)
    return loss


def triton_available() -> bool:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True
