"""Logits to probabilities: ``softmax``, ``log_softmax`` and ``logsumexp``, on every backend.

Public (``infoloss.softmax`` ...), so they live here rather than in the private backend seam
:mod:`infoloss._array`, which holds the array-namespace math they share with the losses.
"""

from __future__ import annotations

import array_api_compat
import numpy as np

from . import _validate
from ._array import _log_softmax, _logsumexp, _softmax, floating, is_array

__all__ = ["logsumexp", "log_softmax", "softmax"]




def logsumexp(z, /, *, axis: int = -1, keepdims: bool = False):
    """``log(sum(exp(z)))`` along ``axis``, without overflow.

    The row maximum ``m`` is subtracted before exponentiating: ``m + log(sum(exp(z - m)))``.
    Entries of ``-inf`` (masked classes) contribute 0; a row that is all ``-inf`` gives
    ``-inf``. Stable for logits up to about ±1e4 in float32 and float64, and gradients are
    NaN-free wherever the result is finite.

    Args:
      z: array of logits, any backend (NumPy, PyTorch, JAX, Dask, array-api-strict) or a
        Python sequence (which gives NumPy back).
      axis: the axis to reduce.
      keepdims: keep the reduced axis with length 1.

    Returns:
      An array of ``z``'s kind and dtype with ``axis`` reduced.

    >>> float(logsumexp([1000.0, 1000.0]))  # log(2 e^1000), no overflow
    1000.6931471805599
    """
    z, xp, restore = _logits_in(z)
    out = _logsumexp(xp, z, axis=axis, keepdims=keepdims)
    return restore(out)


def log_softmax(z, /, *, axis: int = -1, temperature: float = 1.0):
    """``z / T - logsumexp(z / T)`` along ``axis``: log-probabilities from logits.

    Never computed as ``log(softmax(z))``, which underflows to ``-inf`` for very negative
    logits. ``-inf`` logits give ``-inf`` log-probabilities (probability 0).

    >>> [round(float(v), 4) for v in log_softmax([1.0, 1.0, 3.0])]
    [-2.2395, -2.2395, -0.2395]
    """
    _validate.check_temperature(temperature)
    z, xp, restore = _logits_in(z)
    return restore(_log_softmax(xp, _scale(z, temperature), axis=axis))


def softmax(z, /, *, axis: int = -1, temperature: float = 1.0):
    """``exp(z / T) / sum(exp(z / T))`` along ``axis``: probabilities from logits.

    Seed 003's example: scores (1, 1, 3) normalised by counting give (.2, .2, .6), but the
    softmax favours the large score:

    >>> [round(float(v), 4) for v in softmax([1.0, 1.0, 3.0])]
    [0.1065, 0.1065, 0.787]

    A higher temperature flattens the distribution; ``-inf`` logits get probability 0.
    """
    _validate.check_temperature(temperature)
    z, xp, restore = _logits_in(z)
    return restore(_softmax(xp, _scale(z, temperature), axis=axis))


def _logits_in(z):
    """Accept any array or a Python sequence; return (float array, xp, restore-dtype fn)."""
    if not is_array(z):
        try:
            z = np.asarray(z, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise _validate.InputTypeError(
                f"must be an array or a sequence of numbers; could not read it as numbers ({error})",
                argument="z", value=_validate._short_value(z),
            ) from None
    xp = array_api_compat.array_namespace(z)
    work, out_dtype = floating(xp, z, name="z")

    def restore(result):
        return result if result.dtype == out_dtype else xp.astype(result, out_dtype)

    return work, xp, restore


def _scale(z, temperature):
    # float(): a NumPy scalar (np.float32(2)) would be refused by array-api-strict, and could
    # promote a float32 array on others; a Python float keeps z's dtype everywhere.
    return z if temperature == 1.0 else z / float(temperature)
