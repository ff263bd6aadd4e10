"""Module forms of the fused large-vocabulary losses in :mod:`infoloss.nn.functional`.

:class:`LinearCrossEntropyLoss` is ``torch.nn.LinearCrossEntropyLoss``'s drop-in: it owns its
output layer (``self.linear``, a ``torch.nn.Linear``) and its class weights (the ``weight``
buffer), so a ``state_dict`` moves between the two. For the loss over a layer the model already
has, call :func:`infoloss.nn.functional.linear_cross_entropy` with ``head.weight``. The
distillation modules keep the functional convention: ``forward`` takes the output layer's weight
(and bias), so a model keeps its ``nn.Linear`` head and hands ``head.weight`` over.
"""

from __future__ import annotations

from typing import Any

import torch

from .. import _validate
from . import functional as F

__all__ = ["LinearCrossEntropyLoss", "LinearKLDivLoss", "LinearJSDivLoss"]


class LinearCrossEntropyLoss(torch.nn.Module):
    """``torch.nn.LinearCrossEntropyLoss``'s constructor and ``forward(input, target)``, on the
    chunked :func:`infoloss.nn.functional.linear_cross_entropy`.

    ``in_features`` D and ``num_classes`` V size the owned layer ``self.linear`` (weight (V, D),
    bias (V,) with ``bias=True``, on ``device`` in ``dtype``); ``weight`` (V,) are class weights,
    kept as a buffer; ``reduction``, ``ignore_index`` (None: -100), ``label_smoothing`` and
    ``options`` (accepted, ignored) as in PyTorch; ``z_loss``, ``softcap`` and ``chunk_size`` are
    infoloss's. ``out_features`` (PyTorch's K-dimensional loss) must be ``()``: flatten the
    positions into the batch instead.

    >>> import torch
    >>> loss = LinearCrossEntropyLoss(4, 10, bias=True, label_smoothing=0.1)
    >>> h, y = torch.randn(6, 4), torch.randint(0, 10, (6,))
    >>> reference = torch.nn.functional.cross_entropy(loss.linear(h), y, label_smoothing=0.1)
    >>> bool(torch.allclose(loss(h, y), reference))
    True
    """

    weight: torch.Tensor | None  # a buffer (registered in __init__)

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        *,
        out_features: tuple = (),
        bias: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        reduction: str = "mean",
        weight: torch.Tensor | None = None,
        ignore_index: int | None = None,
        label_smoothing: float = 0.0,
        options: object | None = None,
        z_loss: float = 0.0,
        softcap: float | None = None,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        _validate.check_integer("in_features", in_features, low=0, meaning="the input size D")
        _validate.check_integer("num_classes", num_classes, low=1, meaning="the number of classes V")
        if tuple(out_features) != ():
            raise _validate.InputError(
                f"={tuple(out_features)!r}: the K-dimensional loss is not supported; flatten the positions into the "
                "batch (input (N * d1 * ..., D), target (N * d1 * ...,))",
                argument="out_features",
                value=tuple(out_features),
            )
        _validate.check_reduction(reduction)
        _validate.check_cross_entropy_options(
            ignore_index=-100 if ignore_index is None else ignore_index,
            label_smoothing=label_smoothing,
            z_loss=z_loss,
            softcap=softcap,
        )
        _validate.check_chunk_size(chunk_size)
        F._check_options(options)
        if weight is not None:
            weight = F._class_weight(weight, num_classes, weight)
        self.num_classes = num_classes
        self.out_features = ()
        self.linear = torch.nn.Linear(in_features, num_classes, bias=bias, device=device, dtype=dtype)
        self.register_buffer("weight", weight)
        self.reduction, self.ignore_index, self.label_smoothing = reduction, ignore_index, label_smoothing
        self.options, self.z_loss, self.softcap, self.chunk_size = options, z_loss, softcap, chunk_size

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.linear_cross_entropy(
            input,
            self.linear.weight,
            target,
            linear_bias=self.linear.bias,
            weight=self.weight,
            reduction=self.reduction,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            options=self.options,
            z_loss=self.z_loss,
            softcap=self.softcap,
            chunk_size=self.chunk_size,
        )

    def extra_repr(self) -> str:
        text = (
            f"in_features={self.linear.in_features}, num_classes={self.num_classes}, "
            f"bias={self.linear.bias is not None}, reduction={self.reduction!r}, "
            f"ignore_index={self.ignore_index}, label_smoothing={self.label_smoothing}"
        )
        extras = dict(
            z_loss=(self.z_loss, 0.0), softcap=(self.softcap, None), chunk_size=(self.chunk_size, None)
        )
        return text + "".join(
            f", {name}={value!r}" for name, (value, default) in extras.items() if value != default
        )


class _LinearDistillLoss(torch.nn.Module):
    def __init__(
        self,
        *,
        temperature: float = 1.0,
        scale_by_temperature: bool = True,
        reduction: str = "mean",
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        self.temperature = temperature
        self.scale_by_temperature = scale_by_temperature
        self.reduction = reduction
        self.chunk_size = chunk_size

    def _options(self) -> dict[str, Any]:
        return dict(
            temperature=self.temperature,
            scale_by_temperature=self.scale_by_temperature,
            reduction=self.reduction,
            chunk_size=self.chunk_size,
        )


class LinearKLDivLoss(_LinearDistillLoss):
    """``F.linear_kl_div`` as a module.

    ``loss(input, linear_weight, teacher, teacher_linear_weight=None, *, linear_bias=None,
    teacher_linear_bias=None, mask=None)``; ``direction`` is 'forward' (KL(teacher || student))
    or 'reverse'.
    """

    def __init__(self, *, direction: str = "forward", **options: Any) -> None:
        super().__init__(**options)
        self.direction = direction

    def forward(
        self,
        input: torch.Tensor,
        linear_weight: torch.Tensor,
        teacher: torch.Tensor,
        teacher_linear_weight: torch.Tensor | None = None,
        *,
        linear_bias: torch.Tensor | None = None,
        teacher_linear_bias: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return F.linear_kl_div(
            input,
            linear_weight,
            teacher,
            teacher_linear_weight,
            linear_bias=linear_bias,
            teacher_linear_bias=teacher_linear_bias,
            mask=mask,
            direction=self.direction,
            **self._options(),
        )


class LinearJSDivLoss(_LinearDistillLoss):
    """``F.linear_js_div`` as a module (generalised JS with mixing weight ``beta``)."""

    def __init__(self, *, beta: float = 0.5, **options: Any) -> None:
        super().__init__(**options)
        self.beta = beta

    def forward(
        self,
        input: torch.Tensor,
        linear_weight: torch.Tensor,
        teacher: torch.Tensor,
        teacher_linear_weight: torch.Tensor | None = None,
        *,
        linear_bias: torch.Tensor | None = None,
        teacher_linear_bias: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return F.linear_js_div(
            input,
            linear_weight,
            teacher,
            teacher_linear_weight,
            linear_bias=linear_bias,
            teacher_linear_bias=teacher_linear_bias,
            mask=mask,
            beta=self.beta,
            **self._options(),
        )
