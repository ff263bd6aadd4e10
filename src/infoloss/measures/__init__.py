"""Entropy, cross-entropy, KL and Jensen-Shannon divergence between distributions.

Probabilities in, along ``axis`` (default the last). Every function takes NumPy, PyTorch,
JAX, Dask and array-api-strict arrays (the result is the same kind of array, on the same
device, in the input dtype; float16/bfloat16 are computed in float32), Python sequences, and
label -> probability mappings (aligned by label; both give Python floats back).

Conventions: ``0 log 0 = 0``; a ``p > 0`` where ``q = 0`` makes cross-entropy and KL ``+inf``.
Results are in nats; ``base=2`` gives bits. Input that is not a distribution is an error,
unless ``normalize=True`` asks to divide counts or weights by their sum.

References: T. M. Cover and J. A. Thomas, *Elements of Information Theory*, 2nd ed., ch. 2;
J. Lin, "Divergence measures based on the Shannon entropy", IEEE Trans. Inf. Theory 37 (1991).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _array
from .._array import (
    dominant_rest,
    has_float64,
    log_ratio_term,
    normalized_cross_entropy_terms,
    normalized_kl_terms,
    rescaled,
    share_logs,
    stop_gradient,
    xlogy,
)
from .._convert import Inputs, prepare
from .._typing import Array, DType, Namespace
from . import _dispatch
from ._fast import set_num_threads

if TYPE_CHECKING:  # matplotlib is imported only when a plot is drawn
    from matplotlib.axes import Axes

__all__ = [
    "entropy",
    "cross_entropy",
    "kl_divergence",
    "js_divergence",
    "decompose",
    "Decomposition",
    "set_num_threads",
]


def entropy(
    p: Array,
    /,
    *,
    axis: int = -1,
    base: float | None = None,
    keepdims: bool = False,
    normalize: bool = False,
    validate: bool = True,
) -> Array:
    """Shannon entropy ``H(p) = -sum_i p_i log p_i``, with ``0 log 0 = 0``.

    Args:
      p: probabilities along ``axis``: an array (any supported backend), a sequence, or a
        mapping label -> probability.
      axis: the axis holding each distribution.
      base: logarithm base; None for nats, 2 for bits.
      keepdims: keep the reduced axis with length 1.
      normalize: divide ``p`` by its sum along ``axis`` first (counts, weights).
      validate: check that ``p`` is a distribution (skipped anyway under jit/compile tracing).

    Returns:
      ``p``'s shape without ``axis``; a Python float for sequences and mappings.

    A weather forecast's four outcomes (a blog post's example), in nats and in bits:

    >>> entropy({'rain': .14, 'snow': .37, 'sleet': .03, 'hail': .46})
    1.1055291211185652
    >>> round(entropy([.14, .37, .03, .46], base=2), 4)
    1.5949
    >>> entropy([1.0, 0.0])  # a coin that always lands heads
    0.0
    """
    inputs = prepare({"p": p}, axis=axis, normalize=normalize, validate=validate, base=base)
    if (fast := _dispatch.compute("entropy", inputs, keepdims)) is not None:
        return inputs.finish(fast, base=base)
    xp, (p,) = inputs.xp, inputs.checked(normalized=False)  # _entropy_sum normalises
    return inputs.finish(_entropy_sum(xp, p, inputs.axis, keepdims, normalize=inputs.normalize), base=base)


def cross_entropy(
    p: Array,
    q: Array,
    /,
    *,
    axis: int = -1,
    base: float | None = None,
    keepdims: bool = False,
    normalize: bool = False,
    validate: bool = True,
) -> Array:
    """Cross-entropy ``H(p, q) = -sum_i p_i log q_i``: the code length of ``p`` under ``q``.

    Terms with ``p_i = 0`` are 0; ``p_i > 0`` with ``q_i = 0`` gives ``+inf``. ``H(p, q) >= H(p)``
    with equality iff ``p = q``. Arguments as for :func:`entropy`; ``p`` and ``q`` need the
    same length along ``axis`` (other dimensions broadcast).

    A bag of red, green and yellow balls in proportions .8/.1/.1, predicted as .2/.2/.6:

    >>> round(cross_entropy([.8, .1, .1], [.2, .2, .6]), 4)
    1.4996
    """
    inputs = prepare({"p": p, "q": q}, axis=axis, normalize=normalize, validate=validate, base=base)
    if (fast := _dispatch.compute("cross_entropy", inputs, keepdims)) is not None:
        return inputs.finish(fast, base=base)
    xp, (p, q) = inputs.xp, inputs.checked(normalized=False)
    if inputs.normalize:
        value = _normalized_cross_entropy_sum(xp, p, q, inputs.axis, keepdims)
    else:
        value = 0.0 - xp.sum(xlogy(xp, p, q), axis=inputs.axis, keepdims=keepdims)  # +0.0, not -0.0
    return inputs.finish(value, base=base)


def kl_divergence(
    p: Array,
    q: Array,
    /,
    *,
    axis: int = -1,
    base: float | None = None,
    keepdims: bool = False,
    normalize: bool = False,
    validate: bool = True,
) -> Array:
    """Kullback-Leibler divergence ``D(p || q) = sum_i p_i log(p_i / q_i) = H(p, q) - H(p)``.

    Exactly 0 when ``p == q``, ``+inf`` where ``p_i > 0 = q_i``. Each term is formed
    accurately, also where ``p_i / q_i`` is near 1 (as SciPy's ``rel_entr``) or overflows or
    underflows; for validated input the sum is then clamped at 0 (a row may sum to 1 only
    within tolerance, so the stored floats' exact divergence can be -1e-17), and with
    ``validate=False`` it is the plain sum of the terms, ``scipy.special.rel_entr(p, q).sum()``.
    Arguments as for :func:`cross_entropy`. Same value as ``scipy.stats.entropy(p, q)``.

    >>> round(kl_divergence([.8, .1, .1], [.2, .2, .6]), 4)
    0.8605
    >>> kl_divergence({'a': .5, 'b': .5}, {'a': .5, 'b': .5})
    0.0
    >>> x, y = 0.2671141599494014, 0.2671141599493832  # nearly equal coins: true KL 8.467e-28
    >>> print(f"{kl_divergence([x, 1 - x], [y, 1 - y]):.3g}")
    8.49e-28
    >>> kl_divergence([1e-200], [1e200], validate=False)  # p / q underflows; p (log p - log q)
    -9.210340371976183e-198
    """
    inputs = prepare({"p": p, "q": q}, axis=axis, normalize=normalize, validate=validate, base=base)
    value = _dispatch.compute("kl_divergence", inputs, keepdims)
    if value is None:
        xp, (p, q) = inputs.xp, inputs.checked(normalized=False)  # _kl_sum normalises
        value = _kl_sum(xp, p, q, inputs.axis, keepdims, normalize=inputs.normalize)
    return inputs.finish(_clamp(inputs, value), base=base)


def js_divergence(
    p: Array,
    q: Array,
    /,
    *,
    axis: int = -1,
    base: float | None = None,
    keepdims: bool = False,
    normalize: bool = False,
    validate: bool = True,
) -> Array:
    """Jensen-Shannon divergence ``JS(p, q) = KL(p || m) / 2 + KL(q || m) / 2``, ``m = (p + q) / 2``.

    Symmetric, always finite, between 0 and ``log 2`` (1 bit): for validated input the result
    is clamped to that range (in float32, to the largest float32 below log 2), with
    ``validate=False`` it is the plain sum of the terms. Its square root is a metric
    (``scipy.spatial.distance.jensenshannon``). Arguments as for :func:`cross_entropy`.

    >>> js_divergence([1.0, 0.0], [0.0, 1.0], base=2)  # disjoint supports: the maximum
    1.0
    """
    inputs = prepare({"p": p, "q": q}, axis=axis, normalize=normalize, validate=validate, base=base)
    value = _dispatch.compute("js_divergence", inputs, keepdims)
    if value is None:
        xp, (p, q) = inputs.xp, inputs.checked()
        # p log(p / m) = (2p log(2p / (p + q))) / 2: (p + q) / 2 underflows to 0 for a
        # subnormal p beside q = 0 (then log(p / m) = inf), while 2p and p + q never do.
        # Both stay symmetric. The rounding of p + q is added back (TwoSum: p + q = m + error
        # exactly), which over both terms is -2 error: what decides JS when p and q nearly agree.
        total = p + q
        back = total - p
        rounding = (p - (total - back)) + (q - back)
        terms = log_ratio_term(xp, 2 * p, total) + log_ratio_term(xp, 2 * q, total) - 2 * rounding
        value = xp.sum(terms, axis=inputs.axis, keepdims=keepdims) / 4
    return inputs.finish(_clamp(inputs, value, high=_log2_below(inputs.out_dtype)), base=base)


@dataclass(frozen=True)
class Decomposition:
    """``H(p, q) = H(p) + D(p || q)``: cross-entropy split into entropy and KL divergence.

    Unpacks as ``cross_entropy, entropy, kl_divergence = decompose(p, q)``.
    """

    cross_entropy: Any
    entropy: Any
    kl_divergence: Any
    unit: str = "nats"

    def __iter__(self) -> Iterator[Array]:
        return iter((self.cross_entropy, self.entropy, self.kl_divergence))

    def plot(self, **options: Any) -> Axes:
        """Draw ``H(p,q) = H(p) + KL(p||q)`` as stacked bars (:func:`infoloss.plot.decomposition`)."""
        from ..plot import decomposition

        return decomposition(self, **options)

    def __str__(self) -> str:
        rows = [
            ("cross-entropy H(p, q)", self.cross_entropy),
            ("entropy H(p)", self.entropy),
            ("KL divergence D(p || q)", self.kl_divergence),
        ]
        width = max(len(label) for label, _ in rows)
        lines = [f"{'measure':<{width}}  value ({self.unit})"]
        lines += [f"{label:<{width}}  {_format(value)}" for label, value in rows]
        return "\n".join(lines)


def decompose(
    p: Array,
    q: Array,
    /,
    *,
    axis: int = -1,
    base: float | None = None,
    keepdims: bool = False,
    normalize: bool = False,
    validate: bool = True,
) -> Decomposition:
    """Cross-entropy, entropy and KL divergence of ``p`` and ``q`` in one call.

    ``cross_entropy == entropy + kl_divergence``: the cross-entropy is formed as that sum, with
    the KL divergence clamped at 0 for validated input, so ``cross_entropy >= entropy`` holds
    exactly. On NumPy one pass over the data gives entropy and KL together. Arguments as for
    :func:`cross_entropy`; validation runs once.

    >>> print(decompose([.8, .1, .1], [.2, .2, .6]))
    measure                  value (nats)
    cross-entropy H(p, q)    1.49958
    entropy H(p)             0.639032
    KL divergence D(p || q)  0.860545
    """
    inputs = prepare({"p": p, "q": q}, axis=axis, normalize=normalize, validate=validate, base=base)
    fast = _dispatch.compute("decompose", inputs, keepdims)  # entropy and KL from one read
    if fast is not None:
        own, excess = fast
    else:
        xp, (p, q) = inputs.xp, inputs.checked(normalized=False)  # _kl_sum normalises
        own = _entropy_sum(xp, p, inputs.axis, keepdims, normalize=inputs.normalize)
        excess = _kl_sum(xp, p, q, inputs.axis, keepdims, normalize=inputs.normalize)
    excess = _clamp(inputs, excess)
    total = own + excess  # so that H(p, q) >= H(p) holds exactly where KL is clamped
    unit = "nats" if base is None else ("bits" if base == 2 else f"log base {base}")
    return Decomposition(
        cross_entropy=inputs.finish(total, base=base),
        entropy=inputs.finish(own, base=base),
        kl_divergence=inputs.finish(excess, base=base),
        unit=unit,
    )


def _entropy_sum(xp: Namespace, p: Array, axis: int, keepdims: bool, normalize: bool = False) -> Array:
    """``-sum p log p`` along ``axis`` (the generic path); ``normalize``: of ``p / sum p``."""
    if normalize:
        return _normalized_cross_entropy_sum(xp, p, None, axis, keepdims)
    # 0 - sum, not -sum: a certain outcome has entropy +0.0, never -0.0.
    return 0.0 - xp.sum(xlogy(xp, p, p), axis=axis, keepdims=keepdims)


def _normalized_cross_entropy_sum(
    xp: Namespace, p: Array, q: Array | None, axis: int, keepdims: bool
) -> Array:
    """``H(p / sum p, q / sum q)`` along ``axis`` (entropy where ``q`` is None), from the weights.

    By :func:`infoloss._array.normalized_cross_entropy_terms` with the logs of the shares of
    :func:`infoloss._array.share_logs`: each term is >= 0 and accurate, also for a dominant
    share near 1 (``log1p`` of minus the others' share), so near-certain counts such as
    ``[1e6, 1e-3]`` keep their digits (``log(c / S)`` of the rounded share would not); the
    NumPy fast path computes its cancelling rows by the same terms. float32 rows are computed
    in float64 where the backend has it, as KL's (:func:`_kl_sum`).
    """
    dtype = p.dtype
    if dtype == xp.float32 and has_float64(p):
        p = xp.astype(p, xp.float64)
        q = None if q is None else xp.astype(q, xp.float64)
    p, p_total = rescaled(xp, p, axis)
    q, q_total = (p, p_total) if q is None else rescaled(xp, q, axis)
    logs = share_logs(xp, q, q_total, dominant_rest(xp, q, q_total, axis))
    terms = normalized_cross_entropy_terms(xp, p, q, p_total, logs)
    return xp.astype(xp.sum(terms, axis=axis, keepdims=keepdims), dtype)


def _kl_sum(xp: Namespace, p: Array, q: Array, axis: int, keepdims: bool, normalize: bool = False) -> Array:
    """``sum p log(p / q)`` along ``axis``, each term accurate (the generic path).

    ``normalize``: the KL of the rows divided by their sums, from the weights, by the terms of
    :func:`infoloss._array.normalized_kl_terms` (each >= 0, so the sum does not cancel, and the
    rounding of the divided entries does not enter it to first order); the NumPy fast path
    computes its cancelling rows by the same terms. float32 rows are computed in float64 where
    the backend has it (as the fast path does): the ratios' float32 rounding would otherwise
    decide the divergence of nearly proportional counts.
    """
    if not normalize:
        return xp.sum(log_ratio_term(xp, p, q), axis=axis, keepdims=keepdims)
    dtype = p.dtype
    if dtype == xp.float32 and has_float64(p):
        p, q = xp.astype(p, xp.float64), xp.astype(q, xp.float64)
    (p, p_total), (q, q_total) = rescaled(xp, p, axis), rescaled(xp, q, axis)
    terms = normalized_kl_terms(xp, p, q, p_total, q_total)
    return xp.astype(xp.sum(terms, axis=axis, keepdims=keepdims), dtype)


def _clamp(inputs: Inputs, value: Array, *, high: float | None = None) -> Array:
    """The one rounding rule of the divergences: for validated input, 0 <= value (<= high).

    The terms are formed accurately, but a validated row sums to 1 only within tolerance, so
    the exact value of the stored floats can be -1e-17 (or log 2 + 1e-16 for JS) where the
    distributions' true divergence cannot. With ``validate=False`` the value is the plain
    sum of the terms (as ``scipy.special.rel_entr(p, q).sum()``). NaN stays NaN. Under
    autograd the gradient is the unclamped value's: the clamp corrects rounding, not the math.
    """
    if not inputs.validate or inputs.clamped:
        return value
    if isinstance(value, (float, np.floating, np.ndarray)):
        out = np.maximum(value, 0.0)  # np.maximum keeps NaN
        return out if high is None else np.minimum(out, high)
    if _array.is_jax_array(value) and not _array.is_tracing(value):
        from . import _jax

        return _jax.clamped(value, high)  # (the same, as one jitted program)
    if _array.is_torch_array(value) and not value.requires_grad and not _array.is_tracing(value):
        return value.clamp(0.0, high)  # (no gradient to keep: one operation, NaN stays NaN)
    return _clamped(inputs.xp, value, high)


def _clamped(xp: Namespace, value: Array, high: float | None) -> Array:
    """:func:`_clamp`'s arithmetic: ``value`` raised to 0 (lowered to ``high``), the gradient
    left as it is."""
    change = xp.where(value < 0, -value, xp.zeros_like(value))  # NaN compares False: stays NaN
    if high is not None:
        change = xp.where(value > high, high - value, change)
    return value + stop_gradient(xp, change)  # exact: v + (-v) = 0, v + (h - v) = h (Sterbenz)


def _log2_below(dtype: DType) -> float:
    """The largest number of the result's dtype that is at most log 2 (JS's upper bound).

    float32's nearest number to log 2 is above it (0.69314718246...), so clamping there and
    rounding to float32 would break ``JS <= log 2``; the number just below is used instead.
    """
    name = str(dtype)
    for key, bound in _LOG2_BELOW.items():
        if key in name:
            return bound
    return math.log(2)  # float64: 0.6931471805599453 is below log 2 already


# Checked with np.nextafter(np.float32(math.log(2)), 0) and the like; bfloat16's nearest is below.
_LOG2_BELOW = {"bfloat16": 0.69140625, "float16": 0.69287109375, "float32": 0.6931471228599548}


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    return str(value)
