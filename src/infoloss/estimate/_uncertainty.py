"""Confidence intervals for estimators of counts: percentile bootstrap and jackknife.

Both work on the count vector alone. A bootstrap resample of N samples is a multinomial draw
of N with the observed frequencies; the jackknife leaves out one sample at a time, and since
every entropy estimator here is a symmetric function of the counts, leaving out any one sample
of a symbol seen ``c`` times gives the same value: one evaluation per distinct count value.

Two-variable estimators use the same two resampling schemes on a count row too:

* paired samples (mutual information, conditional and joint entropy): the row is the flattened
  joint table; a multinomial draw of it resamples the *pairs* (x[i], y[i]) together, and the
  jackknife leaves out one pair (one evaluation per non-empty cell, ``symmetric=False``: these
  estimators are not symmetric in the cells);
* two independent samples (cross-entropy, KL, JS): the row is x's counts followed by y's
  (``parts=(K, K)``); each part is resampled with its own total (a stratified bootstrap), and the
  jackknife variance is the sum of each sample's (Efron and Tibshirani 1993, section 11.5).

References: B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap* (1993), ch. 11,
13 and 14 (jackknife standard error, percentile and bias-corrected percentile intervals);
B. Efron, "Nonparametric standard errors and confidence intervals", Can. J. Stat. 9 (1981).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

from .._validate import InputError, check_choice, check_fraction, check_integer

CI_METHODS = ("bootstrap", "bc", "jackknife")

# Resamples are estimated a block at a time: at most this many counts in memory at once.
_BLOCK_ENTRIES = 1 << 22


def interval(
    table: np.ndarray,
    estimator: Callable[[np.ndarray], np.ndarray],
    values: np.ndarray,
    *,
    level: float,
    method: str,
    n_boot: int,
    random_state: int | np.random.Generator | None = None,
    parts: Sequence[int] | None = None,
    symmetric: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(std, low, high)`` per row of ``table`` (rows, K) for ``estimator`` (rows -> values).

    ``parts``: lengths of the independent samples the row is made of (default one, ``(K,)``);
    ``symmetric``: whether the estimator is a symmetric function of the counts (of one part).

    ``method="bootstrap"``: the standard deviation and the ``(1 - level) / 2`` and
    ``(1 + level) / 2`` quantiles of the estimator over ``n_boot`` multinomial resamples.
    ``method="bc"``: the same resamples, bias-corrected percentile quantiles
    ``Phi(2 z0 +- z)``, ``z0 = Phi^-1(share of resamples below the estimate)``: entropy
    estimators are biased low on resamples too, and BC moves the interval back.
    ``method="jackknife"``: ``se = sqrt((N - 1) / N * sum_i (theta_(i) - mean)^2)`` over the
    N leave-one-out estimates, and ``values +- z se``.
    """
    check_fraction("ci", level, low_open=True, high_open=True)
    check_choice("ci_method", method, CI_METHODS)
    rows = len(table)
    std, low, high = np.empty(rows), np.empty(rows), np.empty(rows)
    if method != "jackknife":
        check_integer("n_boot", n_boot, low=2, meaning="bootstrap resamples")
        rng = np.random.default_rng(random_state)
        for r, row in enumerate(table):
            replicates = bootstrap(row, estimator, n_boot, rng, parts=parts)
            finite = np.isfinite(replicates).all()
            # An infinite replicate (plug-in KL of a resample missing a symbol of y): std inf, and
            # quantiles that pick replicates rather than interpolate (inf - inf would be NaN).
            std[r] = replicates.std(ddof=1) if finite else np.inf
            low[r], high[r] = np.quantile(
                replicates,
                _levels(replicates, values[r], level, method),
                method="linear" if finite else "inverted_cdf",
            )
    else:
        z = stats.norm.ppf((1 + level) / 2)
        for r, row in enumerate(table):
            std[r] = jackknife_se(row, estimator, parts=parts, symmetric=symmetric)
            if np.isfinite(std[r]) and np.isfinite(values[r]):
                low[r], high[r] = values[r] - z * std[r], values[r] + z * std[r]
            else:  # an infinite leave-one-out value: the jackknife says nothing
                std[r], low[r], high[r] = np.inf, -np.inf, np.inf
    return std, low, high


def _levels(replicates: np.ndarray, estimate: float, level: float, method: str) -> list[float]:
    """The quantile levels of the interval: plain percentile, or bias-corrected (Efron 1981)."""
    tail = (1 - level) / 2
    if method == "bootstrap":
        return [tail, 1 - tail]
    count = len(replicates)
    below = (np.sum(replicates < estimate) + 0.5 * np.sum(replicates == estimate)) / count
    z0 = stats.norm.ppf(np.clip(below, 0.5 / count, 1 - 0.5 / count))
    z = stats.norm.ppf(1 - tail)
    return [float(stats.norm.cdf(2 * z0 - z)), float(stats.norm.cdf(2 * z0 + z))]


def bootstrap(
    row: np.ndarray,
    estimator: Callable[[np.ndarray], np.ndarray],
    n_boot: int,
    rng: np.random.Generator,
    *,
    parts: Sequence[int] | None = None,
) -> np.ndarray:
    """The estimator on ``n_boot`` multinomial resamples of the counts ``row`` (each part on its own)."""
    segments = _segments(row, parts)
    block = max(1, _BLOCK_ENTRIES // len(row))
    out = np.empty(n_boot)
    for start in range(0, n_boot, block):
        size = min(block, n_boot - start)
        draws = np.concatenate(
            [rng.multinomial(int(part.sum()), part / part.sum(), size=size) for part in segments], axis=1
        ).astype(np.float64)
        out[start : start + size] = estimator(draws)
    return out


def _segments(row: np.ndarray, parts: Sequence[int] | None) -> list:
    """``row`` cut into its independent samples' counts."""
    if parts is None:
        return [row]
    return np.split(row, np.cumsum(parts)[:-1])


def jackknife_se(
    row: np.ndarray,
    estimator: Callable[[np.ndarray], np.ndarray],
    *,
    parts: Sequence[int] | None = None,
    symmetric: bool = True,
) -> float:
    """Jackknife standard error: one leave-one-out evaluation per distinct count value
    (``symmetric``), else per non-empty cell; for several parts, the sum of each part's variance."""
    if parts is not None or not symmetric:
        variance, offset = 0.0, 0
        for part in _segments(row, parts):
            variance += _jackknife_cells(row, estimator, offset, len(part))
            offset += len(part)
        return float(np.sqrt(variance))
    total = row.sum()
    _check_jackknife(total)
    distinct, first, multiplicity = np.unique(row, return_index=True, return_counts=True)
    keep = distinct > 0
    distinct, first, multiplicity = distinct[keep], first[keep], multiplicity[keep]
    left_out = np.repeat(row[None, :], len(distinct), axis=0)
    left_out[np.arange(len(distinct)), first] -= 1
    thetas = estimator(left_out)
    weights = multiplicity * distinct  # how many of the N samples give each leave-one-out value
    mean = np.sum(weights * thetas) / total
    return float(np.sqrt((total - 1) / total * np.sum(weights * (thetas - mean) ** 2)))


def _jackknife_cells(
    row: np.ndarray, estimator: Callable[[np.ndarray], np.ndarray], offset: int, length: int
) -> float:
    """``(N - 1) / N sum_i (theta_(i) - mean)^2`` over the N samples of ``row[offset:offset + length]``,
    each left out in turn (the samples of one cell give one value, weighted by its count)."""
    weights = row[offset : offset + length]
    total = weights.sum()
    _check_jackknife(total)
    cells = offset + np.flatnonzero(weights)
    thetas = np.empty(len(cells))
    block = max(1, _BLOCK_ENTRIES // len(row))
    for start in range(0, len(cells), block):
        chosen = cells[start : start + block]
        left_out = np.repeat(row[None, :], len(chosen), axis=0)
        left_out[np.arange(len(chosen)), chosen] -= 1
        thetas[start : start + len(chosen)] = estimator(left_out)
    if not np.isfinite(thetas).all():
        return np.inf
    weights = row[cells]
    mean = np.sum(weights * thetas) / total
    return float((total - 1) / total * np.sum(weights * (thetas - mean) ** 2))


def _check_jackknife(total: float) -> None:
    if total < 2:
        raise InputError(
            f"needs at least 2 samples, got {int(total)}",
            argument="ci_method",
            value="jackknife",
            hint="use ci_method='bootstrap', or more samples",
        )
