"""Cross-entropy, KL and Jensen-Shannon divergence between the distributions behind two samples.

Both samples are counted over the union of their symbols (or given as counts of the same
length), each is turned into a distribution by ``method`` (one of
:data:`~infoloss.estimate.discrete.DISTRIBUTION_METHODS`: ``plugin``, the Dirichlet family,
``shrink``; each sample smoothed on its own, as R's ``entropy`` package's ``KL.Dirichlet`` and
``KL.shrink`` do), and the measure is :mod:`infoloss.measures`' of those two distributions.
With ``plugin``, a symbol seen in ``x`` but not in ``y`` makes cross-entropy and KL ``+inf``, as
the math says; any smoothing method gives every symbol a positive probability, so they are finite.
With ``k=`` and continuous samples, :func:`kl_divergence` is the Wang-Kulkarni-Verdu k-NN
estimator (:func:`infoloss.estimate.knn.kl_divergence`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import measures
from .._typing import ArrayLike
from .._validate import InputError, check_base, check_choice, check_integer
from . import _counts, _uncertainty
from ._result import Estimate, make
from .discrete import DISTRIBUTION_METHODS, distributions

__all__ = ["cross_entropy", "kl_divergence", "js_divergence"]


def kl_divergence(
    x: ArrayLike,
    y: ArrayLike,
    method: str = "plugin",
    *,
    counts: bool = False,
    alphabet_size: int | None = None,
    base: float | None = None,
    axis: int = -1,
    ci: float | None = None,
    n_boot: int = 1000,
    ci_method: str = "bootstrap",
    random_state: int | np.random.Generator | None = None,
    k: int | None = None,
    algorithm: str = "auto",
) -> Estimate:
    """Estimate ``D(P || Q)`` from samples ``x ~ P`` and ``y ~ Q`` (or their counts).

    Args:
      x, y: samples (labels of any hashable kind, compared over the union of both), or with
        ``counts=True`` counts along ``axis`` of equal length (other axes broadcast).
      method: how each distribution is estimated: ``plugin``, ``jeffreys``, ``laplace``, ``sg``,
        ``minimax``, ``shrink``.
      alphabet_size: K, at least the number of symbols in the union (default: that number, or
        the counts' length); the smoothing methods spread mass over all K.
      base: logarithm base (None: nats).
      ci, n_boot, ci_method, random_state: a confidence interval at level ``ci`` as for
        :func:`infoloss.estimate.entropy`; the bootstrap resamples x and y each on its own
        (each with its own N), the jackknife leaves out one sample of either in turn.
      k: an int: treat ``x`` (n, d) and ``y`` (m, d) as continuous and use the
        Wang-Kulkarni-Verdu k-NN estimator.
      algorithm: with ``k``: ``"auto"``, ``"tree"`` or ``"brute"`` (see
        :func:`infoloss.estimate.differential_entropy`).

    Returns:
      an :class:`~infoloss.estimate.Estimate`; ``details["unseen"]`` is the number of symbols
      of ``x`` never seen in ``y`` (these make the plug-in KL infinite).

    >>> kl_divergence(["a", "a", "b"], ["a", "b", "b"]).value  # (2/3) log 2 - (1/3) log 2
    0.23104906018664842
    >>> kl_divergence(["a", "b", "c"], ["a", "b"])  # 'c' never seen in y
    Estimate(KL divergence inf nats, plugin, n=3/2)
    >>> round(kl_divergence(["a", "b", "c"], ["a", "b"], "laplace"), 6)
    0.0
    """
    if k is not None:
        from .knn import kl_divergence as knn_kl

        return knn_kl(x, y, k=k, base=base, algorithm=algorithm)
    return _between(
        measures.kl_divergence,
        "KL divergence",
        x,
        y,
        method,
        counts,
        alphabet_size,
        base,
        axis,
        (ci, n_boot, ci_method, random_state),
    )


def cross_entropy(
    x: ArrayLike,
    y: ArrayLike,
    method: str = "plugin",
    *,
    counts: bool = False,
    alphabet_size: int | None = None,
    base: float | None = None,
    axis: int = -1,
    ci: float | None = None,
    n_boot: int = 1000,
    ci_method: str = "bootstrap",
    random_state: int | np.random.Generator | None = None,
) -> Estimate:
    """Estimate ``H(P, Q) = -sum P log Q`` from samples ``x ~ P`` and ``y ~ Q``.

    Arguments as for :func:`kl_divergence` (no k-NN form).

    >>> round(cross_entropy([0, 0, 1, 1], [0, 1, 1, 1]), 6)  # -(1/2) log(1/4) - (1/2) log(3/4)
    0.836988
    """
    return _between(
        measures.cross_entropy,
        "cross-entropy",
        x,
        y,
        method,
        counts,
        alphabet_size,
        base,
        axis,
        (ci, n_boot, ci_method, random_state),
    )


def js_divergence(
    x: ArrayLike,
    y: ArrayLike,
    method: str = "plugin",
    *,
    counts: bool = False,
    alphabet_size: int | None = None,
    base: float | None = None,
    axis: int = -1,
    ci: float | None = None,
    n_boot: int = 1000,
    ci_method: str = "bootstrap",
    random_state: int | np.random.Generator | None = None,
) -> Estimate:
    """Estimate the Jensen-Shannon divergence between the distributions of ``x`` and ``y``.

    Always finite, at most ``log 2``. Arguments as for :func:`kl_divergence`.

    >>> js_divergence(["a", "a"], ["b", "b"], base=2).value  # disjoint: 1 bit
    1.0
    """
    return _between(
        measures.js_divergence,
        "JS divergence",
        x,
        y,
        method,
        counts,
        alphabet_size,
        base,
        axis,
        (ci, n_boot, ci_method, random_state),
    )


def _between(
    measure: Callable[..., Any],
    quantity: str,
    x: ArrayLike,
    y: ArrayLike,
    method: str,
    counts: bool,
    alphabet_size: int | None,
    base: float | None,
    axis: int,
    uncertainty: tuple[float | None, int, str, int | np.random.Generator | None],
) -> Estimate:
    check_choice("method", method, DISTRIBUTION_METHODS)
    check_base(base)
    check_integer(
        "alphabet_size", alphabet_size, low=1, allow_none=True, meaning="the number of possible symbols"
    )
    first, second, n = _tables(x, y, counts=counts, axis=axis, alphabet_size=alphabet_size)
    p, details_p = distributions(first, method)
    q, details_q = distributions(second, method)
    p, q = np.broadcast_arrays(p, q)
    value = measure(p, q, axis=-1, base=base)
    shape = first.shape[:-1] if first.ndim > 1 else ()
    details = {"unseen": np.count_nonzero((first > 0) & (second == 0), axis=-1)}
    if method == "shrink":
        details.update(lambda_x=details_p["lambda"], lambda_y=details_q["lambda"])
    if not shape:
        details["unseen"] = int(details["unseen"])
    std: Any = None
    interval: tuple[Any, Any] | None = None
    level, n_boot, ci_method, random_state = uncertainty
    if level is not None:
        size = first.shape[-1]

        def on_rows(rows: np.ndarray) -> np.ndarray:  # rows (r, 2K): x's counts, then y's
            return measure(
                distributions(rows[:, :size], method)[0],
                distributions(rows[:, size:], method)[0],
                axis=-1,
                base=base,
            )

        rows = np.concatenate([first, second], axis=-1).reshape(-1, 2 * size)
        bounds = _uncertainty.interval(
            rows,
            on_rows,
            np.reshape(value, -1),
            level=level,
            method=ci_method,
            n_boot=n_boot,
            random_state=random_state,
            parts=(size, size),
        )
        std, low, high = (part.reshape(shape) if shape else float(part[0]) for part in bounds)
        interval = (low, high)
    return make(
        value if shape else float(value),
        method=method,
        quantity=quantity,
        n=n,
        alphabet_size=first.shape[-1] if counts or alphabet_size is not None else None,
        base=base,
        details=details,
        std=std,
        ci=interval,
        level=level,
    )


def _tables(
    x: ArrayLike, y: ArrayLike, *, counts: bool, axis: int, alphabet_size: int | None
) -> tuple[np.ndarray, np.ndarray, tuple[Any, ...]]:
    """The count vectors of x and y over one alphabet (padded to ``alphabet_size``), and N of each."""
    if counts:
        first = np.moveaxis(_counts.check_counts(x, "x"), axis, -1)
        second = np.moveaxis(_counts.check_counts(y, "y"), axis, -1)
        if first.shape[-1] != second.shape[-1]:
            raise InputError(
                f"has {first.shape[-1]} counts along axis {axis} but y has {second.shape[-1]}; "
                "give counts of the same symbols, in the same order",
                argument="x",
                value=first.shape[-1],
            )
        try:
            first, second = np.broadcast_arrays(first, second)
        except ValueError:
            raise InputError(
                f"has shape {first.shape} and y has {second.shape}, which do not broadcast", argument="x"
            ) from None
        for name, table in (("x", first), ("y", second)):
            empty = table.sum(axis=-1) == 0
            if empty.any():
                raise InputError(
                    "holds no samples in a row (all counts 0); an estimate needs at least one",
                    argument=name,
                    index=(*tuple(int(i) for i in np.argwhere(empty)[0]), ":") if table.ndim > 1 else None,
                )
    else:
        first, second, _ = _counts.union(_counts.count(x, "x"), _counts.count(y, "y"))
    sums = (first.sum(axis=-1), second.sum(axis=-1))
    n = tuple(int(v) if np.ndim(v) == 0 else v for v in sums)
    size = first.shape[-1]
    if alphabet_size is not None:
        if alphabet_size < size:
            raise InputError(
                f"is smaller than the {size} symbols of x and y together",
                argument="alphabet_size",
                value=alphabet_size,
                hint="give the number of possible symbols, at least the number seen",
            )
        pad = [(0, 0)] * (first.ndim - 1) + [(0, alphabet_size - size)]
        first, second = np.pad(first, pad), np.pad(second, pad)
    return first.astype(np.float64), second.astype(np.float64), n
