"""``torch.nn.Module`` wrappers of :mod:`infoloss.losses`, with PyTorch's class names.

Each module stores its options (and ``weight``/``pos_weight`` as buffers, so they follow
``.to(device)`` and ``state_dict``) and calls the function of the same meaning in
:mod:`infoloss.losses`. Arguments after ``weight`` are keyword-only, as in the functions.

>>> import torch
>>> loss = CrossEntropyLoss(label_smoothing=0.1)
>>> round(float(loss(torch.tensor([[1.0, 1.0, 3.0]]), torch.tensor([2]))), 4)
0.3729
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from .. import losses

__all__ = [
    "CrossEntropyLoss",
    "NLLLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "KLDivLoss",
    "DistillationKLLoss",
    "DistillationJSLoss",
]


class _Loss(torch.nn.Module):
    """Common ``extra_repr``: the options that differ from their defaults."""

    _defaults: ClassVar[dict[str, Any]] = {}

    def extra_repr(self) -> str:
        changed = {k: getattr(self, k) for k, v in self._defaults.items() if getattr(self, k) != v}
        return ", ".join(f"{k}={v!r}" for k, v in changed.items())


class CrossEntropyLoss(_Loss):
    """:func:`infoloss.losses.cross_entropy` as a module; ``forward(input, target, mask=None)``.

    Options as ``torch.nn.CrossEntropyLoss`` plus ``axis``, ``z_loss``, ``softcap`` and
    ``return_entropy`` (then ``forward`` returns ``(loss, entropy)``). The other modules follow
    the same pattern: options in the constructor, the function's arguments in ``forward``.

    >>> import torch
    >>> criterion = CrossEntropyLoss(label_smoothing=0.1)
    >>> logits, target = torch.zeros(2, 4), torch.tensor([0, 3])
    >>> round(criterion(logits, target).item(), 6)        # log 4: a uniform prediction
    1.386294
    >>> torch.allclose(criterion(logits, target), torch.nn.CrossEntropyLoss(label_smoothing=0.1)(logits, target))
    True
    """

    _defaults: ClassVar[dict[str, Any]] = dict(
        ignore_index=-100,
        reduction="mean",
        label_smoothing=0.0,
        axis=None,
        z_loss=0.0,
        softcap=None,
        return_entropy=False,
    )

    def __init__(
        self,
        weight: torch.Tensor | None = None,
        *,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
        axis: int | None = None,
        z_loss: float = 0.0,
        softcap: float | None = None,
        return_entropy: bool = False,
        validate: bool = True,
    ) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index, self.reduction, self.label_smoothing = ignore_index, reduction, label_smoothing
        self.axis, self.z_loss, self.softcap, self.return_entropy = axis, z_loss, softcap, return_entropy
        self.validate = validate

    def forward(
        self, input: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        return losses.cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
            axis=self.axis,
            mask=mask,
            z_loss=self.z_loss,
            softcap=self.softcap,
            return_entropy=self.return_entropy,
            validate=self.validate,
        )


class NLLLoss(_Loss):
    """:func:`infoloss.losses.nll_loss` as a module (log-probabilities in)."""

    _defaults: ClassVar[dict[str, Any]] = dict(ignore_index=-100, reduction="mean", axis=None)

    def __init__(
        self,
        weight: torch.Tensor | None = None,
        *,
        ignore_index: int = -100,
        reduction: str = "mean",
        axis: int | None = None,
        validate: bool = True,
    ) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index, self.reduction, self.axis, self.validate = ignore_index, reduction, axis, validate

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return losses.nll_loss(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            axis=self.axis,
            validate=self.validate,
        )


class BCELoss(_Loss):
    """:func:`infoloss.losses.binary_cross_entropy` as a module (probabilities in)."""

    _defaults: ClassVar[dict[str, Any]] = dict(reduction="mean", axis=None)

    def __init__(
        self,
        weight: torch.Tensor | None = None,
        *,
        reduction: str = "mean",
        axis: int | None = None,
        validate: bool = True,
    ) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.reduction, self.axis, self.validate = reduction, axis, validate

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return losses.binary_cross_entropy(
            input, target, self.weight, reduction=self.reduction, axis=self.axis, validate=self.validate
        )


class BCEWithLogitsLoss(_Loss):
    """:func:`infoloss.losses.binary_cross_entropy_with_logits` as a module (logits in)."""

    _defaults: ClassVar[dict[str, Any]] = dict(reduction="mean", axis=None)

    def __init__(
        self,
        weight: torch.Tensor | None = None,
        *,
        reduction: str = "mean",
        pos_weight: torch.Tensor | None = None,
        axis: int | None = None,
        validate: bool = True,
    ) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)
        self.reduction, self.axis, self.validate = reduction, axis, validate

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return losses.binary_cross_entropy_with_logits(
            input,
            target,
            self.weight,
            reduction=self.reduction,
            pos_weight=self.pos_weight,
            axis=self.axis,
            validate=self.validate,
        )


class KLDivLoss(_Loss):
    """:func:`infoloss.losses.kl_div` as a module: ``forward(input, target)``, input log q."""

    _defaults: ClassVar[dict[str, Any]] = dict(reduction="mean", log_target=False, axis=None)

    def __init__(
        self,
        *,
        reduction: str = "mean",
        log_target: bool = False,
        axis: int | None = None,
        validate: bool = True,
    ) -> None:
        super().__init__()
        self.reduction, self.log_target, self.axis, self.validate = reduction, log_target, axis, validate

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return losses.kl_div(
            input,
            target,
            reduction=self.reduction,
            log_target=self.log_target,
            axis=self.axis,
            validate=self.validate,
        )


class DistillationKLLoss(_Loss):
    """:func:`infoloss.losses.distillation_kl`: ``forward(student, teacher, mask=None)``.

    ``direction='forward'`` is KL(teacher || student) (Hinton et al.), ``'reverse'`` is
    KL(student || teacher); scaled by ``temperature**2`` unless ``scale_by_temperature=False``.
    """

    _defaults: ClassVar[dict[str, Any]] = dict(
        direction="forward",
        temperature=1.0,
        teacher_format="logits",
        scale_by_temperature=True,
        reduction="mean",
        axis=None,
    )

    def __init__(
        self,
        *,
        direction: str = "forward",
        temperature: float = 1.0,
        teacher_format: str = "logits",
        scale_by_temperature: bool = True,
        reduction: str = "mean",
        axis: int | None = None,
        validate: bool = True,
    ) -> None:
        super().__init__()
        self.direction, self.temperature, self.teacher_format = direction, temperature, teacher_format
        self.scale_by_temperature, self.reduction, self.axis = scale_by_temperature, reduction, axis
        self.validate = validate
        losses.distillation_kl(
            torch.zeros(1), torch.zeros(1), **self._options(), validate=False
        )  # check options now

    def _options(self) -> dict[str, Any]:
        return dict(
            direction=self.direction,
            temperature=self.temperature,
            teacher_format=self.teacher_format,
            scale_by_temperature=self.scale_by_temperature,
            reduction=self.reduction,
        )

    def forward(
        self, student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        return losses.distillation_kl(
            student, teacher, **self._options(), mask=mask, axis=self.axis, validate=self.validate
        )


class DistillationJSLoss(_Loss):
    """:func:`infoloss.losses.distillation_js` (generalised Jensen-Shannon with ``beta``)."""

    _defaults: ClassVar[dict[str, Any]] = dict(
        beta=0.5,
        temperature=1.0,
        teacher_format="logits",
        scale_by_temperature=True,
        reduction="mean",
        axis=None,
    )

    def __init__(
        self,
        *,
        beta: float = 0.5,
        temperature: float = 1.0,
        teacher_format: str = "logits",
        scale_by_temperature: bool = True,
        reduction: str = "mean",
        axis: int | None = None,
        validate: bool = True,
    ) -> None:
        super().__init__()
        self.beta, self.temperature, self.teacher_format = beta, temperature, teacher_format
        self.scale_by_temperature, self.reduction, self.axis = scale_by_temperature, reduction, axis
        self.validate = validate
        losses.distillation_js(
            torch.zeros(1), torch.zeros(1), **self._options(), validate=False
        )  # check options now

    def _options(self) -> dict[str, Any]:
        return dict(
            beta=self.beta,
            temperature=self.temperature,
            teacher_format=self.teacher_format,
            scale_by_temperature=self.scale_by_temperature,
            reduction=self.reduction,
        )

    def forward(
        self, student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        return losses.distillation_js(
            student, teacher, **self._options(), mask=mask, axis=self.axis, validate=self.validate
        )
