"""Logits to probabilities: ``softmax``, ``log_softmax`` and ``logsumexp``, on every backend.

Public (``infoloss.softmax`` ...), so they live here rather than in the private backend seam
:mod:`infoloss._array`, which holds the array-namespace math they share with the losses.

Shapes: any array; ``axis`` is reduced (``logsumexp``) or normalised over (``softmax``,
``log_softmax``). A 0-d input is a row of one logit (as in NumPy and torch, also on JAX):
``softmax`` gives 1, ``log_softmax`` 0 and ``logsumexp`` the logit itself. An empty axis gives
``-inf`` from ``logsumexp`` (the log of an empty sum, as in SciPy, torch and JAX) and an empty
result from the other two.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import _array, _validate
from ._array import _finite_max, _log_softmax, _logsumexp, _softmax, floating, is_array
from ._typing import Array, ArrayLike, Namespace

__all__ = ["logsumexp", "log_softmax", "softmax"]


def logsumexp(z: ArrayLike, /, *, axis: int = -1, keepdims: bool = False) -> Array:
    """``log(sum(exp(z)))`` along ``axis``, without overflow and without losing small terms.

    With ``m = z_k`` the row maximum: ``m + log1p(sum_{j != k} exp(z_j - m))``. Subtracting
    ``m`` avoids overflow; leaving the max's own term (1) out of the sum and using ``log1p``
    keeps terms far below 1 ulp of 1 (``log(1 + 4e-18)`` would round to 0). Entries of
    ``-inf`` (masked classes) contribute 0; a row that is all ``-inf`` gives ``-inf`` with a
    zero gradient. The gradient is ``softmax(z)``, NaN-free wherever the result is finite.

    Args:
      z: array of logits, any backend (NumPy, PyTorch, JAX, Dask, array-api-strict) or a
        Python sequence (which gives NumPy back).
      axis: the axis to reduce.
      keepdims: keep the reduced axis with length 1.

    Returns:
      An array of ``z``'s kind and dtype with ``axis`` reduced.

    >>> float(logsumexp([1000.0, 1000.0]))  # log(2 e^1000), no overflow
    1000.6931471805599
    >>> float(logsumexp([0.0, -40.0]))  # log(1 + e^-40), as numpy.logaddexp(0, -40)
    4.248354255291589e-18
    >>> float(logsumexp([]))  # the log of an empty sum
    -inf

    Reference: SciPy's ``scipy.special.logsumexp`` (the same ``log1p`` form since 1.15).
    """
    z, xp, axis, restore = _logits_in(z, axis)
    if z.shape[axis] == 0:
        shape = tuple(1 if i == axis else n for i, n in enumerate(z.shape) if keepdims or i != axis)
        return restore(xp.full(shape, -np.inf, dtype=z.dtype, device=_array.device(z)))
    return restore(_logsumexp(xp, z, axis=axis, keepdims=keepdims))


def log_softmax(z: ArrayLike, /, *, axis: int = -1, temperature: float = 1.0) -> Array:
    """``z / T - logsumexp(z / T)`` along ``axis``: log-probabilities from logits.

    Never computed as ``log(softmax(z))``, which underflows to ``-inf`` for very negative
    logits. ``-inf`` logits give ``-inf`` log-probabilities (probability 0). ``temperature``
    is any finite ``T > 0``: the logits are shifted by their maximum before the division, so
    a tiny ``T`` (down to the smallest subnormal) gives 0 for the largest logit and ``-inf``
    where ``(z - max) / T`` overflows (also for a subnormal ``T`` on JAX, whose XLA flushes it
    to 0), never NaN; a huge ``T`` gives ``-log n`` (uniform).

    >>> [round(float(v), 4) for v in log_softmax([1.0, 1.0, 3.0])]
    [-2.2395, -2.2395, -0.2395]

    Reference: Goodfellow, Bengio and Courville, *Deep Learning* (2016), section 4.1.
    """
    _validate.check_temperature(temperature)
    z, xp, axis, restore = _logits_in(z, axis)
    if z.shape[axis] == 0:
        return restore(z)
    return restore(_log_softmax(xp, _scale(xp, z, temperature, axis), axis=axis))


def softmax(z: ArrayLike, /, *, axis: int = -1, temperature: float = 1.0) -> Array:
    """``exp(z / T) / sum(exp(z / T))`` along ``axis``: probabilities from logits.

    A blog post's example of scores for three classes: normalising (1, 1, 3) by their sum gives
    (.2, .2, .6), but the softmax favours the large score more:

    >>> [round(float(v), 4) for v in softmax([1.0, 1.0, 3.0])]
    [0.1065, 0.1065, 0.787]

    A higher temperature flattens the distribution; ``-inf`` logits get probability 0.
    ``temperature`` is any finite ``T > 0``; as ``T -> 0`` the softmax tends to the one-hot
    vector of the maximum (shared equally between tied maxima), and that is what a tiny ``T``
    gives, never NaN (the logits are shifted by their maximum before the division):

    >>> [float(v) for v in softmax([1.0, 2.0], temperature=1e-308)]
    [0.0, 1.0]

    Reference: J. S. Bridle, "Probabilistic interpretation of feedforward classification
    network outputs" (1990).
    """
    _validate.check_temperature(temperature)
    z, xp, axis, restore = _logits_in(z, axis)
    if z.shape[axis] == 0:
        return restore(z)
    return restore(_softmax(xp, _scale(xp, z, temperature, axis), axis=axis))


def _logits_in(z: ArrayLike, axis: int) -> tuple[Array, Namespace, int, Callable[[Array], Array]]:
    """Accept any array or a Python sequence; return (float array, xp, axis, restore fn).

    A 0-d ``z`` is computed as a row of length 1; ``restore`` gives the result back in the
    input dtype and, for 0-d input, as 0-d (it has no axis for ``keepdims`` to keep).
    """
    if not is_array(z):
        try:
            z = np.asarray(z, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise _validate.InputTypeError(
                f"must be an array or a sequence of numbers; could not read it as numbers ({error})",
                argument="z",
                value=_validate._short_value(z),
            ) from None
    _validate.check_array("z", z)
    axis = _validate.check_axis_range("z", tuple(z.shape), axis)
    xp = _array.array_namespace(("z", z))
    work, out_dtype = floating(xp, z, name="z")
    scalar = work.ndim == 0
    if scalar:
        work = xp.reshape(work, (1,))

    def restore(result: Array) -> Array:
        if scalar:
            result = xp.reshape(result, ())
        return result if result.dtype == out_dtype else xp.astype(result, out_dtype)

    return work, xp, axis, restore


def _scale(xp: Namespace, z: Array, temperature: float, axis: int) -> Array:
    """``(z - max) / T``: shifted first, so that a tiny ``T`` cannot overflow ``z / T`` to
    ``inf`` (``inf - inf`` is NaN); softmax and log_softmax do not change under the shift.

    float(): a NumPy scalar (np.float32(2)) would be refused by array-api-strict, and could
    promote a float32 array on others; a Python float keeps z's dtype everywhere.
    """
    if temperature == 1.0:
        return z
    shifted = z - _finite_max(xp, z, axis)
    # The max stays exactly 0: XLA flushes a subnormal T to 0, and 0 / 0 would be NaN.
    at_max = shifted == 0
    if _array.is_torch_array(z) or _array.is_jax_array(z):
        # torch and JAX never warn (and np.errstate breaks torch.compile)
        return xp.where(at_max, xp.zeros_like(shifted), shifted / float(temperature))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # below -1.8e308: -inf
        return xp.where(at_max, xp.zeros_like(shifted), shifted / float(temperature))
