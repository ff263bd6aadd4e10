"""Cross-entropy of logits held in full, with the gradient taken in the forward pass.

``F.cross_entropy``'s forward saves the log-softmax (one copy of the logits) and its backward
builds the gradient beside it (a second), so a step peaks at about three times the logits.
Here the gradient is computed chunk by chunk during the forward pass, straight into one buffer
the size of the logits (:class:`infoloss.ops._engine.LogitsLossFunction`), by the one row
function of cross-entropy (:func:`infoloss.ops.cross_entropy.cross_entropy_rows`); the
backward only scales it. With ``inplace_backward`` the buffer is the logits' own storage.

:func:`infoloss.losses.cross_entropy` calls this for PyTorch tensors whose gradient will be
needed; its options map onto the row function as follows (``y`` a class index, ``w`` the class
weights, ``eps`` the smoothing, ``C`` classes):

* class indices without class weights, or with class weights alone: the row function's own
  targets; ``w[y]`` is the row's scale (``l_n = w[y_n] * nll_n``).
* class weights with label smoothing or z-loss (the z-loss is not weighted), and probability
  targets ``p``: dense target weights ``t = w * ((1 - eps) onehot(y) + eps / C)``, or
  ``w * ((1 - eps) p + eps / C)``, formed per chunk.

'mean' divides by ``sum w[y]`` over the kept elements (class indices) or by the number of kept
elements (probabilities), 0 when there are none, as :func:`infoloss.losses.cross_entropy` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ._engine import LogitsLossFunction, accumulation_dtype
from .cross_entropy import cross_entropy_rows

__all__ = ["logits_cross_entropy_op"]


def logits_cross_entropy_op(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    kind: str,
    weight: torch.Tensor | None,
    ignore_index: int,
    mask: torch.Tensor | None,
    reduction: str,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    inplace_backward: bool,
    replay: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Cross-entropy of ``logits`` (N, C) on validated arguments; the loss (0-d, or (N,) for 'none').

    ``target``: (N,) class indices (``kind='index'``) or (N, C) probabilities (``'probs'``);
    ``weight`` (C,) or None; ``mask`` (N,) bool or None. ``replay(logits, grad_output)`` gives
    the gradient by the plain path under ``create_graph=True``.

    >>> import torch
    >>> z = torch.tensor([[1.0, 1.0, 3.0], [0.0, 2.0, 0.0]], requires_grad=True)
    >>> y = torch.tensor([2, 1])
    >>> loss = logits_cross_entropy_op(z, y, kind="index", weight=None, ignore_index=-100, mask=None,
    ...                                reduction="mean", label_smoothing=0.0, z_loss=0.0, softcap=None,
    ...                                inplace_backward=False)
    >>> reference = torch.nn.functional.cross_entropy(z, y)
    >>> bool(torch.allclose(loss, reference))
    True
    """
    n_rows, n_classes = logits.shape
    acc = accumulation_dtype(logits.dtype)
    rule = _LogitsRule(
        kind=kind,
        target=target,
        weight=weight,
        ignore_index=ignore_index,
        mask=mask,
        label_smoothing=label_smoothing,
        z_loss=z_loss,
        softcap=softcap,
        acc=acc,
    )
    rule.grad_into_logits = bool(inplace_backward)
    rule.replay = replay
    row_scale = rule.row_scale
    if reduction == "mean":
        total = rule.mean_total
        row_scale = row_scale / torch.where(total == 0, torch.ones_like(total), total)
    chunk = _chunk_rows(rule, n_rows, n_classes, in_buffer=logits.dtype == acc)
    return LogitsLossFunction.apply(  # type: ignore[no-untyped-call]  # (Function.apply is unannotated)
        logits, rule, row_scale, reduction != "none", chunk
    )


# Dense targets and softcap need a few chunk-sized temporaries (about 2-3 floats per logit):
# chunks of a sixteenth of the logits keep them within ~1/5 of the logits' size, but not under 4M
# elements, where each op's thread start-up would dominate.
_DENSE_CHUNK_FRACTION = 16
_MIN_DENSE_CHUNK_ELEMENTS = 1 << 22


def _chunk_rows(rule: _LogitsRule, n_rows: int, n_classes: int, *, in_buffer: bool) -> int:
    """Rows per chunk. Class indices without softcap work in place in the gradient buffer and
    need no chunk-sized temporary, so one chunk of all the rows: the fewest passes (on a busy
    machine every op's parallel start-up costs, so fewer, larger ops win). Float16/bfloat16
    logits are computed in float32 copies of each chunk, so they are chunked like dense targets."""
    if in_buffer and not rule.dense and rule.softcap is None:
        return max(n_rows, 1)
    elements = max(n_rows * n_classes // _DENSE_CHUNK_FRACTION, _MIN_DENSE_CHUNK_ELEMENTS)
    return max(1, min(n_rows, elements // max(n_classes, 1)))


class _LogitsRule:
    """The chunk rule for :class:`LogitsLossFunction`: targets and options, rows by
    :func:`cross_entropy_rows` (dense target weights where the class-index form cannot say it)."""

    overwrites_logits = True
    hand_out_once = True  # the buffer is scaled in place: no second one for 'none'
    # Set by logits_cross_entropy_op; read by the engine (see LogitsLossFunction).
    grad_into_logits = False
    replay: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None

    def __init__(
        self,
        *,
        kind: str,
        target: torch.Tensor,
        weight: torch.Tensor | None,
        ignore_index: int,
        mask: torch.Tensor | None,
        label_smoothing: float,
        z_loss: float,
        softcap: float | None,
        acc: torch.dtype,
    ) -> None:
        self.z_loss = float(z_loss)
        self.softcap = None if softcap is None else float(softcap)
        self.label_smoothing = float(label_smoothing)
        self.weight = None if weight is None else weight.to(acc)
        if kind == "index":
            valid = target != ignore_index
            if mask is not None:
                valid = valid & mask
            self.target: torch.Tensor | None = torch.where(valid, target, torch.zeros_like(target))
            self.probs: torch.Tensor | None = None
            # Class weights alone scale each row's loss by w[y]; with smoothing or z-loss (which
            # is not weighted) they go into dense target weights instead.
            self.dense = self.weight is not None and bool(self.label_smoothing or self.z_loss)
            target_weight = None if self.weight is None else torch.where(valid, self.weight[self.target], 0.0)
            self.mean_total = valid.sum().to(acc) if target_weight is None else target_weight.sum()
            self.row_scale = valid.to(acc) if target_weight is None or self.dense else target_weight
        else:
            valid = (
                torch.ones(target.shape[0], dtype=torch.bool, device=target.device) if mask is None else mask
            )
            self.target, self.probs, self.dense = None, target, True
            self.mean_total = valid.sum().to(acc)
            self.row_scale = valid.to(acc)
        self.valid = valid

    def reserve(self, rows: int, vocab: int, dtype: torch.dtype, device: torch.device) -> None:
        pass

    def release(self) -> None:
        pass

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
        options: dict[str, Any] = dict(z_loss=self.z_loss, softcap=self.softcap, lse_known=lse_known)
        valid = self.valid[start:stop]
        if not self.dense:
            assert self.target is not None  # (not dense: class indices)
            return cross_entropy_rows(
                z,
                self.target[start:stop],
                valid,
                loss_out,
                lse_out,
                scale,
                label_smoothing=self.label_smoothing,
                **options,
            )
        return cross_entropy_rows(
            z,
            None,
            valid,
            loss_out,
            lse_out,
            scale,
            label_smoothing=0.0,
            target_probs=self._target_weights(start, stop, z),
            **options,
        )

    def _target_weights(self, start: int, stop: int, z: torch.Tensor) -> torch.Tensor:
        """``w * ((1 - eps) p + eps / C)`` for the chunk's rows (p one-hot for class indices)."""
        eps, n_classes = self.label_smoothing, z.shape[1]
        if self.probs is not None:
            t = self.probs[start:stop].to(z.dtype)
            t = t * (1.0 - eps) + eps / n_classes if eps else t.clone()
        else:
            assert self.target is not None  # (no probabilities: class indices)
            t = torch.full_like(z, eps / n_classes)
            t.scatter_add_(
                1,
                self.target[start:stop].unsqueeze(1),
                torch.full((stop - start, 1), 1.0 - eps, dtype=z.dtype, device=z.device),
            )
        if self.weight is not None:
            t.mul_(self.weight)
        return t
