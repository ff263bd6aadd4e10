"""Entropy of a discrete distribution estimated from samples or counts.

Each estimator is a function of the count vector ``n_1 .. n_K`` (``N = sum n_i`` samples,
``m`` symbols with ``n_i > 0``, ``K`` the alphabet size, zeros included), vectorised over rows.
The estimators that produce a distribution (``plugin``, the Dirichlet family, ``shrink``) hand it
to :func:`infoloss.measures.entropy`; the others are their own formulas:

=============  =============================================================================
method         formula (nats)
=============  =============================================================================
plugin         ``H(n / N)`` (maximum likelihood)
miller-madow   ``H(n / N) + (m - 1) / (2N)`` (Miller 1955)
jeffreys       ``H((n + a) / (N + K a))``, ``a = 1/2``  (Dirichlet posterior mean; Krichevsky-Trofimov)
laplace        same, ``a = 1``
sg             same, ``a = 1/K`` (Schuermann and Grassberger 1996)
minimax        same, ``a = sqrt(N) / K`` (Trybula 1958)
shrink         ``H(lambda / K + (1 - lambda) n / N)``, James-Stein ``lambda`` (Hausser and Strimmer 2009)
chao-shen      ``-sum C p_i log(C p_i) / (1 - (1 - C p_i)^N)``, ``C = 1 - f1 / N`` (Chao and Shen 2003)
grassberger    ``log N - (1/N) sum n_i G(n_i)``, ``G(n) = psi(n) + (-1)^n (psi((n+1)/2) - psi(n/2)) / 2`` (Grassberger 2003)
zhang          ``sum_i (n_i/N) sum_{v=1}^{N-n_i} (1/v) prod_{j=1}^{v} (1 + (1 - n_i)/(N - j))`` (Zhang 2012)
nsb            posterior mean under the Nemenman-Shafee-Bialek mixture of Dirichlet priors (see :mod:`.nsb`)
=============  =============================================================================

``f1`` is the number of singletons; when every sample is a singleton (``f1 = N``) Chao-Shen
uses ``f1 = N - 1`` so the coverage ``C`` stays positive (as R's ``entropy`` package does), and
the estimate stays finite.

References: G. A. Miller, "Note on the bias of information estimates" (1955); J. Hausser and
K. Strimmer, "Entropy inference and the James-Stein estimator", JMLR 10 (2009), and their R
package ``entropy``; T. Schuermann and P. Grassberger, Chaos 6 (1996); A. Chao and T.-J. Shen,
Environ. Ecol. Stat. 10 (2003); P. Grassberger, "Entropy estimates from insufficient
samplings", arXiv:physics/0307138 (2003); Z. Zhang, "Entropy estimation in Turing's
perspective", Neural Computation 24 (2012); I. Nemenman, F. Shafee and W. Bialek, NIPS 14 (2002).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from .. import measures
from .._typing import ArrayLike
from .._validate import InputError, check_base, check_choice, check_integer
from . import _counts, _uncertainty
from ._result import Estimate, make

__all__ = ["entropy", "METHODS", "DISTRIBUTION_METHODS"]

# Methods that estimate the distribution itself (so divergences and MI can use them too).
DISTRIBUTION_METHODS = ("plugin", "jeffreys", "laplace", "sg", "minimax", "shrink")
METHODS = (
    "plugin",
    "miller-madow",
    "jeffreys",
    "laplace",
    "sg",
    "minimax",
    "shrink",
    "chao-shen",
    "grassberger",
    "zhang",
    "nsb",
    "auto",
)


def entropy(
    x: ArrayLike,
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
) -> Estimate:
    """Estimate the Shannon entropy of the distribution that ``x`` was drawn from.

    Args:
      x: samples (a 1-D array or sequence of hashable labels: ints, floats, strings, tuples; a
        pandas Series; a Dask array or Series; a 2-D array is one sample per row), or with
        ``counts=True`` counts along ``axis`` (non-negative whole numbers; other axes are rows).
      method: one of :data:`METHODS` (the table in this module's docstring). ``"auto"`` picks
        ``nsb`` when the alphabet size is known (``alphabet_size`` given, or ``counts=True``)
        and ``chao-shen`` otherwise, and says so in ``Estimate.note``.
      counts: ``x`` holds counts, not samples.
      alphabet_size: the number ``K`` of possible symbols. Default: the number of distinct
        labels seen (samples), or the length of ``axis`` (counts). ``nsb`` needs it for samples.
      base: logarithm base (None: nats; 2: bits).
      axis: the axis of the counts (``counts=True`` only).
      ci: a level in (0, 1), e.g. 0.95, for a confidence interval; None for none.
      n_boot: bootstrap resamples (``ci_method="bootstrap"``).
      ci_method: ``"bootstrap"`` (percentile interval of the estimator on multinomial
        resamples of the counts), ``"bc"`` (bias-corrected percentile, same resamples) or
        ``"jackknife"`` (estimate +- z * leave-one-out standard error). Over repetitions at
        N = 10K their 90% intervals cover the truth 84-95% of the time for the corrected
        methods (tests/estimate). No interval fixes the plug-in bias when ``N << K``: the
        resamples never see the unseen symbols either.
      random_state: seed or :class:`numpy.random.Generator` for the bootstrap.
      k: pass an int to treat ``x`` as continuous and use the Kozachenko-Leonenko k-NN
        estimator instead (:func:`infoloss.estimate.differential_entropy`).

    Returns:
      an :class:`Estimate` (float-like; ``.value``, ``.std``, ``.ci`` ...).

    R's ``entropy`` package example (``y = c(4, 2, 3, 0, 2, 4, 0, 0, 2, 1, 1)``):

    >>> y = [4, 2, 3, 0, 2, 4, 0, 0, 2, 1, 1]
    >>> round(entropy(y, counts=True), 6)
    1.968382
    >>> round(entropy(y, "miller-madow", counts=True), 6)
    2.152593
    >>> entropy(["a", "b", "a", "c"], base=2)
    Estimate(entropy 1.5 bits, plugin, n=4, observed 3 of 3)
    """
    if k is not None:
        from .knn import differential_entropy

        return differential_entropy(x, k=k, base=base)
    check_choice("method", method, METHODS)
    check_base(base)
    table, n_samples = _count_table(
        x, counts=counts, axis=axis, alphabet_size=alphabet_size, needs_size=method == "nsb"
    )
    method, note = _resolve(method, alphabet_size is not None or counts)
    values, std, details = estimate_rows(table, method)
    if ci is not None:
        if std is not None:  # NSB: the posterior std stays in details; std goes with the ci
            details = {**details, "posterior_std": _shaped(std, n_samples)}
        std, low, high = _uncertainty.interval(
            table,
            lambda t: estimate_rows(t, method)[0],
            values,
            level=ci,
            method=ci_method,
            n_boot=n_boot,
            random_state=random_state,
        )
        interval = (_shaped(low, n_samples), _shaped(high, n_samples))
    result = make(
        _shaped(values, n_samples),
        method=method,
        quantity="entropy",
        n=n_samples,
        observed=_shaped(np.count_nonzero(table, axis=-1), n_samples),
        alphabet_size=table.shape[-1],
        std=_shaped(std, n_samples),
        ci=interval if ci is not None else None,
        level=ci,
        note=note,
        details=details,
    )
    return result.in_base(base) if base is not None else result


def estimate_rows(table: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """``(values, std or None, details)`` of ``method`` on each row of counts ``table`` (rows, K)."""
    if method == "nsb":
        from .nsb import nsb_rows

        return nsb_rows(table)
    if method in DISTRIBUTION_METHODS:
        distribution, details = distributions(table, method)
        return measures.entropy(distribution, axis=-1), None, details
    return _FORMULAS[method](table), None, {}


def distributions(table: np.ndarray, method: str) -> tuple[np.ndarray, dict[str, Any]]:
    """The estimated probabilities of each row of counts, and details (``lambda`` for shrink).

    >>> p, _ = distributions(np.array([[3.0, 1.0, 0.0]]), "laplace")
    >>> p.tolist()
    [[0.5714285714285714, 0.2857142857142857, 0.14285714285714285]]
    """
    total = table.sum(axis=-1, keepdims=True)
    size = table.shape[-1]
    if method == "plugin":
        return table / total, {}
    if method == "shrink":
        return _shrink(table, total)
    prior = {"jeffreys": 0.5, "laplace": 1.0, "sg": 1.0 / size}.get(method)
    if prior is None:  # minimax: a = sqrt(N) / K
        prior = np.sqrt(total) / size
    return (table + prior) / (total + size * prior), {}


def _shrink(table: np.ndarray, total: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """James-Stein shrinkage toward the uniform distribution (Hausser and Strimmer 2009, eq. 8).

    ``lambda = sum var(u_i) / sum (1/K - u_i)^2`` with ``u = n / N`` and
    ``var(u_i) = u_i (1 - u_i) / (N - 1)``, clipped to [0, 1]; 1 when the sum of squares is 0
    (the sample is already uniform) or ``N = 1`` (no variance estimate: all shrinkage).
    """
    size = table.shape[-1]
    frequencies = table / total
    target = 1.0 / size
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = (frequencies * (1 - frequencies)).sum(axis=-1, keepdims=True) / (total - 1)
        distance = ((frequencies - target) ** 2).sum(axis=-1, keepdims=True)
        intensity = np.where((distance == 0) | (total <= 1), 1.0, np.clip(variance / distance, 0, 1))
    lam = intensity[..., 0]
    return intensity * target + (1 - intensity) * frequencies, {
        "lambda": float(lam.reshape(-1)[0]) if lam.size == 1 else lam
    }


# --------------------------------------------------------------------------------------------
# Estimators that are not a plug-in of an estimated distribution
# --------------------------------------------------------------------------------------------


def _miller_madow(table: np.ndarray) -> np.ndarray:
    total = table.sum(axis=-1)
    observed = np.count_nonzero(table, axis=-1)
    return measures.entropy(table / total[:, None], axis=-1) + (observed - 1) / (2 * total)


def _chao_shen(table: np.ndarray) -> np.ndarray:
    total = table.sum(axis=-1, keepdims=True)
    singletons = (table == 1).sum(axis=-1, keepdims=True)
    # All singletons would give coverage 0 and 0/0: use f1 = N - 1 (the R package's rule).
    singletons = np.where(singletons == total, total - 1, singletons)
    coverage = 1 - singletons / total
    adjusted = coverage * table / total
    with np.errstate(divide="ignore", invalid="ignore"):
        # Probability that each seen symbol shows up at least once in N draws (Horvitz-Thompson);
        # 1 exactly for a symbol holding every sample (log1p(-1) = -inf).
        seen = -np.expm1(total * np.log1p(-adjusted))
        terms = np.where(table > 0, -special.xlogy(adjusted, adjusted) / seen, 0.0)
    return terms.sum(axis=-1)


def _grassberger(table: np.ndarray) -> np.ndarray:
    total = table.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sign = np.where(np.mod(table, 2) == 0, 1.0, -1.0)
        g = special.digamma(table) + 0.5 * sign * (
            special.digamma((table + 1) / 2) - special.digamma(table / 2)
        )
        terms = np.where(table > 0, table * g, 0.0)
    return np.log(total) - terms.sum(axis=-1) / total


def _zhang(table: np.ndarray) -> np.ndarray:
    """Zhang's (2012) estimator, summed over distinct count values (symbols with equal counts
    contribute equally), each inner sum a cumulative product of ``1 + (1 - c) / (N - j)``."""
    out = np.empty(len(table))
    for r, row in enumerate(table):
        total = int(row.sum())
        values, multiplicity = np.unique(row[row > 0], return_counts=True)
        value = 0.0
        for c, times in zip(values.astype(np.int64), multiplicity):
            if c == total:  # a single symbol: entropy 0 (the inner sum is empty)
                continue
            j = np.arange(1, total - c + 1, dtype=np.float64)
            products = np.cumprod(1 + (1 - c) / (total - j))
            value += times * (c / total) * np.sum(products / j)
        out[r] = value
    return out


_FORMULAS = {
    "miller-madow": _miller_madow,
    "chao-shen": _chao_shen,
    "grassberger": _grassberger,
    "zhang": _zhang,
}


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------


def _resolve(method: str, size_known: bool) -> tuple[str, str | None]:
    if method != "auto":
        return method, None
    if size_known:
        return "nsb", "auto: the alphabet size is known"
    return "chao-shen", "auto: alphabet size unknown"


def _count_table(
    x: ArrayLike, *, counts: bool, axis: int, alphabet_size: int | None, needs_size: bool, name: str = "x"
) -> tuple[np.ndarray, np.ndarray | int]:
    """``(table, n)``: counts as a (rows, K) float64 array padded with zeros to K, and N per row
    (an array shaped like the other axes; a scalar for one row)."""
    check_integer(
        "alphabet_size", alphabet_size, low=1, allow_none=True, meaning="the number of possible symbols"
    )
    if counts:
        array = _counts.check_counts(x, name)
        check_integer("axis", axis)
        if not -array.ndim <= axis < array.ndim:
            raise InputError(
                f"is out of range for {name} with {array.ndim} dimension(s), shape {array.shape}",
                argument="axis",
                value=int(axis),
            )
        array = np.moveaxis(array, axis, -1)
        batch_shape = array.shape[:-1]
        table = array.reshape(-1, array.shape[-1])
    else:
        if needs_size and alphabet_size is None:
            raise InputError(
                "is needed by method='nsb' with samples (the prior spreads over K symbols, seen or not)",
                argument="alphabet_size",
                value=None,
                hint="pass alphabet_size=K, the number of possible symbols",
            )
        table = _counts.count(x, name).counts.astype(np.float64)[None, :]
        batch_shape = ()
    totals = table.sum(axis=-1)
    if (totals == 0).any():
        row = int(np.flatnonzero(totals == 0)[0])
        raise InputError(
            "holds no samples (all counts are 0); an estimate needs at least one",
            argument=name,
            index=(*np.unravel_index(row, batch_shape), ":") if batch_shape else None,
        )
    if alphabet_size is not None:
        observed = int(np.count_nonzero(table, axis=-1).max())
        if alphabet_size < table.shape[-1] and (counts or alphabet_size < observed):
            what = (
                f"the length {table.shape[-1]} of the counts' axis"
                if counts and alphabet_size >= observed
                else f"the {observed} distinct symbols observed"
            )
            raise InputError(
                f"is smaller than {what}",
                argument="alphabet_size",
                value=alphabet_size,
                hint="give the number of possible symbols, at least the number seen",
            )
        if alphabet_size > table.shape[-1]:
            table = np.concatenate([table, np.zeros((len(table), alphabet_size - table.shape[-1]))], axis=-1)
    totals = totals.astype(np.int64)
    return table, totals.reshape(batch_shape) if batch_shape else int(totals[0])


def _shaped(values: np.ndarray | None, n_samples: np.ndarray | int) -> Any:
    """Per-row values shaped like the batch (the counts' other axes); a scalar for one row."""
    if values is None:
        return None
    shape = np.shape(n_samples)
    return np.asarray(values).reshape(shape) if shape else np.asarray(values).reshape(-1)[0]
