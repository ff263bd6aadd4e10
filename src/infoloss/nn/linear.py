"""Module forms of the fused large-vocabulary losses in :mod:`infoloss.nn.functional`.

Each module stores the options; ``forward`` takes the hidden states and the output layer's
weight (and bias), so a model keeps its ``nn.Linear`` head and hands ``head.weight`` over
instead of calling it.
"""

from __future__ import annotations

import torch

from . import functional as F

__all__ = ["LinearCrossEntropyLoss", "LinearKLDivLoss", "LinearJSDivLoss"]


class LinearCrossEntropyLoss(torch.nn.Module):
    """``F.linear_cross_entropy`` as a module: ``loss(hidden, weight, target, bias=None)``.

    >>> import torch
    >>> head = torch.nn.Linear(4, 10)
    >>> h, y = torch.randn(6, 4), torch.randint(0, 10, (6,))
    >>> loss = LinearCrossEntropyLoss(label_smoothing=0.1)(h, head.weight, y, head.bias)
    >>> bool(torch.allclose(loss, torch.nn.functional.cross_entropy(head(h), y, label_smoothing=0.1)))
    True
    """

    def __init__(self, *, ignore_index=-100, reduction="mean", label_smoothing=0.0, z_loss=0.0, softcap=None,
                 chunk_size=None):
        super().__init__()
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.label_smoothing = label_smoothing
        self.z_loss = z_loss
        self.softcap = softcap
        self.chunk_size = chunk_size

    def forward(self, hidden, weight, target, bias=None):
        return F.linear_cross_entropy(
            hidden, weight, target, bias, ignore_index=self.ignore_index, reduction=self.reduction,
            label_smoothing=self.label_smoothing, z_loss=self.z_loss, softcap=self.softcap,
            chunk_size=self.chunk_size,
        )


class _LinearDistillLoss(torch.nn.Module):
    def __init__(self, *, temperature=1.0, scale_by_temperature=True, reduction="mean", chunk_size=None):
        super().__init__()
        self.temperature = temperature
        self.scale_by_temperature = scale_by_temperature
        self.reduction = reduction
        self.chunk_size = chunk_size

    def _options(self):
        return dict(
            temperature=self.temperature, scale_by_temperature=self.scale_by_temperature,
            reduction=self.reduction, chunk_size=self.chunk_size,
        )


class LinearKLDivLoss(_LinearDistillLoss):
    """``F.linear_kl_div`` as a module.

    ``loss(hidden, weight, teacher, teacher_weight=None, *, bias=None, teacher_bias=None,
    mask=None)``; ``direction`` is 'forward' (KL(teacher || student)) or 'reverse'.
    """

    def __init__(self, *, direction="forward", **options):
        super().__init__(**options)
        self.direction = direction

    def forward(self, hidden, weight, teacher, teacher_weight=None, *, bias=None, teacher_bias=None, mask=None):
        return F.linear_kl_div(
            hidden, weight, teacher, teacher_weight, bias=bias, teacher_bias=teacher_bias, mask=mask,
            direction=self.direction, **self._options(),
        )


class LinearJSDivLoss(_LinearDistillLoss):
    """``F.linear_js_div`` as a module (generalised JS with mixing weight ``beta``)."""

    def __init__(self, *, beta=0.5, **options):
        super().__init__(**options)
        self.beta = beta

    def forward(self, hidden, weight, teacher, teacher_weight=None, *, bias=None, teacher_bias=None, mask=None):
        return F.linear_js_div(
            hidden, weight, teacher, teacher_weight, bias=bias, teacher_bias=teacher_bias, mask=mask,
            beta=self.beta, **self._options(),
        )
