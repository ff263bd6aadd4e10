"""The PyTorch path of the measures: the NumPy kernel for CPU tensors, closed-form gradients.

* **Values.** A CPU tensor is a NumPy array without a copy (``tensor.numpy()``), so its values
  come from the NumPy fast path (:mod:`._fast`: one multi-threaded pass with the checks fused
  into it), about 15x faster than PyTorch's own ``F.kl_div`` on 2e7 float64 entries. Other
  devices compute the generic path's values (``measures/__init__.py``, the same numbers as
  every backend) after one fused check (``aminmax`` and the row sums of each argument, read
  back in one device sync).
* **Gradients.** When a gradient will be needed (an argument ``requires_grad`` under grad
  mode) the values come from the same forward inside a ``torch.autograd.Function`` whose
  backward is the closed form, formed in place in one buffer per argument::

      entropy        dH/dp  = -(log p + 1)
      cross_entropy  dH/dp  = -log q              dH/dq  = -p / q
      kl_divergence  dKL/dp = log(p / q) + 1      dKL/dq = -p / q
      js_divergence  dJS/dp = log(2p / (p + q)) / 2   (and symmetrically for q)

  with the conventions of the generic path where the math is not finite (entries with
  ``p = 0``: 0 for entropy and KL, and for cross-entropy where ``q = 0`` too; JS's ``dJS/dp``
  at ``p = 0 < q`` is ``-1/2``, what the generic path's terms give), so both paths give the
  same gradients and none is NaN where the value is finite. Nothing is saved but the inputs
  (the generic path keeps about ten temporaries of the input's size for its backward).
  ``normalize=True`` and ``decompose`` with a gradient, tensors of two shapes, float16 and
  bfloat16 input and all tracing (``torch.compile``, ``torch.func``) take the generic path.
  A backward with ``create_graph=True`` differentiates the generic path's graph instead.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _array, _validate
from .._typing import Array
from . import _dispatch, _fast

if TYPE_CHECKING:
    import torch

    from .._convert import Inputs

#: The closed-form gradients of one measure: ``(*arrays, grad, wanted)`` to one gradient (or None,
#: where not wanted) per array.
_Gradient = Callable[..., tuple["torch.Tensor | None", ...]]

# Tests set this to False to run the device-generic forward (the one a CUDA tensor takes) on CPU.
NUMPY_ON_CPU = True

_DIFFERENTIABLE = ("entropy", "cross_entropy", "kl_divergence", "js_divergence")


def compute(name: str, inputs: Inputs, keepdims: bool) -> _dispatch.Result:
    """The measure of torch tensors (see the module docstring), or None for the generic path."""
    import torch

    arrays = list(inputs.arrays.values())
    first = arrays[0]
    if _array.is_tracing(first) or inputs.originals is not None:
        return None
    if not all(
        a.dtype == first.dtype and a.shape == first.shape and a.device == first.device for a in arrays
    ):
        return None
    if (
        first.dtype not in (torch.float32, torch.float64)
        or inputs.out_dtype != first.dtype
        or first.numel() == 0
    ):
        return None
    needs_grad = torch.is_grad_enabled() and any(a.requires_grad for a in arrays)
    if not needs_grad:
        return _forward(name, inputs, arrays, keepdims)
    if inputs.normalize or name not in _DIFFERENTIABLE:
        return None
    return _Measure.apply(name, inputs, keepdims, *arrays)


def _forward(
    name: str, inputs: Inputs, arrays: Sequence[torch.Tensor], keepdims: bool
) -> Array | tuple[Array, Array]:
    """The values, unclamped (float64 from the NumPy kernel, the input dtype elsewhere)."""
    import torch

    if NUMPY_ON_CPU and arrays[0].device.type == "cpu":
        value = _numpy_values(name, inputs, [a.detach() for a in arrays], keepdims)
        if value is not None:
            return value
    if inputs.validate:  # (also where the NumPy kernel declined: JS with normalize=True)
        _check_fused(inputs, arrays)
    with torch.no_grad():
        return _dispatch.generic_values(
            name,
            [a.detach() for a in arrays],
            axis=inputs.axis,
            keepdims=keepdims,
            normalize=inputs.normalize,
        )


def _numpy_values(
    name: str, inputs: Inputs, arrays: Sequence[torch.Tensor], keepdims: bool
) -> torch.Tensor | tuple[torch.Tensor, ...] | None:
    """The NumPy kernel's values on the tensors' memory (a copy only to move ``axis`` last)."""
    import torch
    from array_api_compat import numpy as numpy_namespace

    axis, last = inputs.axis, arrays[0].ndim - 1
    views = [(a if axis == last else a.movedim(axis, -1)).contiguous().numpy() for a in arrays]
    numpy_inputs = dataclasses.replace(
        inputs, xp=numpy_namespace, arrays=dict(zip(inputs.arrays, views)), axis=last
    )
    try:
        value = _fast.compute(name, numpy_inputs, False)
    except _validate.InputError:
        if axis == last:
            raise
        value = _FAILED  # the positions in the error must be those of the tensors as passed
    if value is _FAILED:
        inputs.checked()  # raises the generic message
        return None
    if value is None:
        return None
    values = value if isinstance(value, tuple) else (value,)
    out = [torch.from_numpy(np.asarray(v, dtype=np.float64)) for v in values]
    if keepdims:
        out = [v.unsqueeze(axis) for v in out]
    return tuple(out) if isinstance(value, tuple) else out[0]


_FAILED = object()


def _check_fused(inputs: Inputs, arrays: Sequence[torch.Tensor]) -> None:
    """The distribution checks of every argument in one device sync; on a failure the
    generic checks run, for their precise message (they decide a case within rounding)."""
    import torch

    statistics = []
    for x in arrays:
        low, high = torch.aminmax(x)
        sums = torch.sum(x, dim=inputs.axis)
        deviation = -torch.amin(sums) if inputs.normalize else torch.amax(torch.abs(sums - 1))
        statistics += [low, high, deviation]
    values = torch.stack(statistics).tolist()
    tolerance = _validate.sum_tolerance(inputs.out_dtype)
    for low, high, deviation in zip(values[::3], values[1::3], values[2::3]):
        entries_ok = low >= 0 and high < math.inf
        sums_ok = deviation < 0 if inputs.normalize else deviation <= tolerance
        if not (entries_ok and sums_ok):
            inputs.checked()
            return


def _autograd_function() -> type[torch.autograd.Function]:
    import torch

    class Measure(torch.autograd.Function):
        """A measure's value from :func:`_forward`, its gradient in closed form."""

        @staticmethod
        def forward(
            ctx: Any, name: str, inputs: Inputs, keepdims: bool, *arrays: torch.Tensor
        ) -> Array | tuple[Array, Array]:
            ctx.name, ctx.axis, ctx.keepdims = name, inputs.axis, keepdims
            ctx.save_for_backward(*arrays)
            return _forward(name, inputs, arrays, keepdims)

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
            arrays = ctx.saved_tensors
            wanted = ctx.needs_input_grad[3:]
            if torch.is_grad_enabled():  # create_graph=True: the generic path's graph, differentiable
                grads = _generic_gradients(
                    ctx.name, arrays, grad, wanted, axis=ctx.axis, keepdims=ctx.keepdims
                )
            else:
                if not ctx.keepdims:
                    grad = grad.unsqueeze(ctx.axis)
                grads = _GRADIENTS[ctx.name](*arrays, grad.to(arrays[0].dtype), wanted)
            return (None, None, None, *grads)

    return Measure


def _generic_gradients(
    name: str,
    arrays: Sequence[torch.Tensor],
    grad: torch.Tensor,
    wanted: Sequence[bool],
    *,
    axis: int,
    keepdims: bool,
) -> tuple[torch.Tensor | None, ...]:
    """The gradients through the generic path, with a graph (for second derivatives)."""
    import torch

    with torch.enable_grad():
        value = _dispatch.generic_values(name, list(arrays), axis=axis, keepdims=keepdims, normalize=False)
        wrt = [a for a, want in zip(arrays, wanted) if want]
        found = iter(torch.autograd.grad(value, wrt, grad.to(value.dtype), create_graph=True))
    return tuple(next(found) if want else None for want in wanted)


class _LazyFunction:
    """The autograd Function, made at first use (``import infoloss`` does not import torch)."""

    function: type[torch.autograd.Function] | None = None

    def apply(self, *args: Any) -> Any:
        if _LazyFunction.function is None:
            _LazyFunction.function = _autograd_function()
        # torch.autograd.Function.apply has no annotations in torch
        return _LazyFunction.function.apply(*args)  # type: ignore[no-untyped-call]


_Measure = _LazyFunction()


# --------------------------------------------------------------------------------------------
# Closed-form gradients: ``grad`` broadcasts along the distribution axis; ``wanted`` says which
# arguments need one. Each is formed in one buffer, in place.
# --------------------------------------------------------------------------------------------


def _minus_ratio(p: torch.Tensor, q: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """``-grad * p / q``, 0 where ``p = 0`` (also where ``q = 0``: ``0 / 0``)."""
    import torch

    out = torch.div(p, q)
    out.nan_to_num_(nan=0.0, posinf=math.inf, neginf=-math.inf)  # 0 / 0 only: p = q = 0
    return out.mul_(grad).neg_()


def _entropy_gradient(p: torch.Tensor, grad: torch.Tensor, wanted: Sequence[bool]) -> tuple[torch.Tensor]:
    import torch

    # log p is -inf exactly where p = 0, whose gradient is 0: that -inf becomes -1 (then
    # log p + 1 = 0) in the same pass, NaN and +inf (invalid input) staying as they are; four
    # passes over the buffer where a mask and a negation took six
    out = torch.log(p).nan_to_num_(nan=math.nan, posinf=math.inf, neginf=-1.0).add_(1)
    return (out.mul_(-grad),)


def _cross_entropy_gradient(
    p: torch.Tensor, q: torch.Tensor, grad: torch.Tensor, wanted: Sequence[bool]
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    import torch

    dp = dq = None
    if wanted[0]:
        dp = torch.log(q).masked_fill_((p == 0) & (q == 0), 0.0).mul_(grad).neg_()
    if wanted[1]:
        dq = _minus_ratio(p, q, grad)
    return dp, dq


def _kl_gradient(
    p: torch.Tensor, q: torch.Tensor, grad: torch.Tensor, wanted: Sequence[bool]
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    import torch

    dp = dq = None
    if wanted[0]:
        dp = torch.div(p, q).log_().add_(1).masked_fill_(p == 0, 0.0).mul_(grad)
    if wanted[1]:
        dq = _minus_ratio(p, q, grad)
    return dp, dq


def _js_gradient(
    p: torch.Tensor, q: torch.Tensor, grad: torch.Tensor, wanted: Sequence[bool]
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    import torch

    # log(2a / (a + b)) / 2; -1/2 where a = 0 < b, 0 where a = b = 0
    def half_log_share(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        total = a + b
        out = torch.div(a, total).mul_(2).log_()
        out = torch.where(a > 0, out, torch.where(b > 0, -1.0, 0.0).to(out.dtype))
        return out.mul_(grad).mul_(0.5)

    return (half_log_share(p, q) if wanted[0] else None, half_log_share(q, p) if wanted[1] else None)


_GRADIENTS: dict[str, _Gradient] = {
    "entropy": _entropy_gradient,
    "cross_entropy": _cross_entropy_gradient,
    "kl_divergence": _kl_gradient,
    "js_divergence": _js_gradient,
}
