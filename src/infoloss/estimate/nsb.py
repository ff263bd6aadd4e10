"""The Nemenman-Shafee-Bialek (NSB) entropy estimator: posterior mean and standard deviation.

A symmetric Dirichlet prior ``Dir(beta, ..., beta)`` on K symbols makes the prior entropy
almost certain, at ``xi(beta) = E[H | beta] = psi(K beta + 1) - psi(beta + 1)``. NSB mixes
these priors so that ``xi`` is uniform on ``(0, log K)``: the prior density of ``beta`` is
``d xi / d beta = K psi_1(K beta + 1) - psi_1(beta + 1)``. With counts ``n_i`` (``N`` in all),

    p(beta | n)  ~  (d xi / d beta) * Gamma(K beta) / Gamma(N + K beta) * prod_i Gamma(n_i + beta) / Gamma(beta)

and the estimate is ``E[H | n] = integral p(beta | n) E[H | n, beta] d beta``, where (Wolpert
and Wolf 1995), with ``A = N + K beta``,

    E[H | n, beta] = psi(A + 1) - sum_i (n_i + beta) / A * psi(n_i + beta + 1).

The posterior standard deviation uses the second moment ``E[H^2 | n, beta]`` (Wolpert and Wolf
1995; Hutter 2002, eq. for the variance), integrated the same way.

The integral is over ``t = log beta`` (weight ``beta * d xi / d beta``, the same measure as
uniform in ``xi``: integrating uniformly in ``beta`` without the Jacobian is the known mistake).
It is done on Gauss-Legendre panels between the points where the log posterior has dropped by
40 from its maximum (found on grids that zoom in on the peak), so it follows a posterior that
narrows as N grows. Every sum over symbols
runs over the distinct count values with their multiplicities (the K - m unseen symbols are one
term), so K = 10^5 and N = 10^6 cost a few hundred log-gamma evaluations per node.

References: I. Nemenman, F. Shafee and W. Bialek, "Entropy and inference, revisited", NIPS 14
(2002); D. H. Wolpert and D. R. Wolf, Phys. Rev. E 52 (1995); M. Hutter, "Distribution of mutual
information", NIPS 14 (2002); E. Archer, I. M. Park and J. W. Pillow, JMLR 15 (2014).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from .._typing import ArrayLike

__all__ = ["nsb_rows", "nsb"]

_T_RANGE = (-30.0, 30.0)  # log beta: beyond these the posterior mass is below e^-30 of the peak
_DROP = 40.0  # integrate where the log posterior is within this of its maximum
_PANELS, _NODES = 12, 24
_GL_X, _GL_W = np.polynomial.legendre.leggauss(_NODES)


def nsb_rows(table: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """NSB posterior mean and standard deviation of each row of counts ``table`` (rows, K)."""
    means, stds = np.empty(len(table)), np.empty(len(table))
    for r, row in enumerate(table):
        means[r], stds[r] = nsb(row)
    return means, stds, {}


def nsb(counts: ArrayLike) -> tuple[float, float]:
    """``(posterior mean, posterior std)`` of the entropy (nats) for one count vector over K bins.

    ``counts`` has one entry per symbol of the alphabet, zeros included (K = its length).

    >>> mean, std = nsb([4, 12, 4, 5, 3, 1, 5, 1, 2, 2, 2, 2, 11, 3, 4, 12, 12, 1, 2] + [0] * 81)
    >>> round(mean, 6)
    2.806097
    """
    counts = np.asarray(counts, dtype=np.float64)
    size = counts.size
    total = counts.sum()
    values, multiplicity = np.unique(counts, return_counts=True)
    if size == 1:
        return 0.0, 0.0
    seen = values > 0
    model = _Posterior(values[seen], multiplicity[seen].astype(np.float64), size, total)
    lo, hi = model.support()
    edges = np.linspace(lo, hi, _PANELS + 1)
    half = np.diff(edges)[:, None] / 2
    nodes = (edges[:-1, None] + half * (_GL_X[None, :] + 1)).ravel()
    weights = (half * _GL_W[None, :]).ravel()
    log_w = model.log_weight(nodes)
    w = weights * np.exp(log_w - log_w.max())
    first, second = model.moments(nodes)
    norm = w.sum()
    mean = float(np.dot(w, first) / norm)
    variance = float(np.dot(w, second) / norm) - mean * mean
    return mean, float(np.sqrt(max(variance, 0.0)))


class _Posterior:
    """The NSB posterior over ``t = log beta`` for distinct nonzero counts ``c`` seen ``m`` times."""

    def __init__(self, c: np.ndarray, m: np.ndarray, size: float, total: float) -> None:
        self.c, self.m, self.size, self.total = c, m, float(size), float(total)
        self.unseen = size - m.sum()

    def log_weight(self, t: np.ndarray) -> np.ndarray:
        """``log(beta d xi/d beta) + log likelihood`` at ``t = log beta`` (up to a constant)."""
        t = np.asarray(t, dtype=np.float64)
        beta = np.exp(t)
        likelihood = -_log_rising(self.size * beta, self.total)
        likelihood = likelihood + np.sum(self.m * _log_rising(beta[..., None], self.c), axis=-1)
        return likelihood + np.log(_prior_density(beta, self.size)) + t

    def support(self) -> tuple[float, float]:
        """An interval of t holding the posterior down to ``_DROP`` below its maximum.

        A grid over ``_T_RANGE``, then grids over the part above the drop (from the first grid
        point past it on each side, or the range's ends) until at least 16 grid points lie
        above it: a posterior that narrows as N grows is still resolved.
        """
        lo, hi = _T_RANGE
        for _ in range(12):
            grid = np.linspace(lo, hi, 161)
            values = self.log_weight(grid)
            best = int(np.argmax(values))
            above = np.flatnonzero(values >= values[best] - _DROP)
            first, last = above[0], above[-1]
            lo, hi = grid[max(first - 1, 0)], grid[min(last + 1, len(grid) - 1)]
            if last - first >= 16 or not np.isfinite(values[best]):
                break
        return lo, hi

    def moments(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``E[H | n, beta]`` and ``E[H^2 | n, beta]`` at each ``t = log beta``."""
        beta = np.exp(np.asarray(t, dtype=np.float64))[:, None]
        c, m = self.c[None, :], self.m[None, :]
        if self.unseen:  # the unseen symbols: one term with count 0
            c = np.concatenate([c, np.zeros((1, 1))], axis=1)
            m = np.concatenate([m, np.full((1, 1), self.unseen)], axis=1)
        a = c + beta
        big_a = self.total + self.size * beta  # (G, 1)
        first = (
            special.digamma(big_a[:, 0] + 1) - np.sum(m * a * special.digamma(a + 1), axis=1) / big_a[:, 0]
        )
        psi_a2, trigamma_a2 = special.digamma(big_a + 2), special.polygamma(1, big_a + 2)
        u = a * (special.digamma(a + 1) - psi_a2)
        sum_u = np.sum(m * u, axis=1, keepdims=True)
        cross = sum_u**2 - np.sum(m * u * u, axis=1, keepdims=True)
        cross = cross - trigamma_a2 * (big_a**2 - np.sum(m * a * a, axis=1, keepdims=True))
        diagonal = np.sum(
            m
            * a
            * (a + 1)
            * ((special.digamma(a + 2) - psi_a2) ** 2 + special.polygamma(1, a + 2) - trigamma_a2),
            axis=1,
            keepdims=True,
        )
        second = (cross + diagonal) / (big_a * (big_a + 1))
        return first, second[:, 0]


def _prior_density(beta: np.ndarray, size: float) -> np.ndarray:
    """``d xi / d beta = K psi_1(K beta + 1) - psi_1(beta + 1)``, without cancellation at large beta.

    For ``beta > 1000`` the asymptotic series of ``psi_1(x + 1)`` gives the difference term by
    term: ``(1 - 1/K) / (2 beta^2) - (1 - 1/K^2) / (6 beta^3) + (1 - 1/K^4) / (30 beta^5) - ...``.
    """
    beta = np.asarray(beta, dtype=np.float64)
    direct = size * special.polygamma(1, size * beta + 1) - special.polygamma(1, beta + 1)
    inv = 1.0 / beta
    series = (
        (1 - 1 / size) / 2 * inv**2
        - (1 - size**-2.0) / 6 * inv**3
        + (1 - size**-4.0) / 30 * inv**5
        - (1 - size**-6.0) / 42 * inv**7
    )
    return np.where(beta > 1e3, series, direct)


def _log_rising(x: np.ndarray, n: np.ndarray | float) -> np.ndarray:
    """``log Gamma(x + n) - log Gamma(x)`` without the cancellation of two huge log-gammas.

    For ``x >= 100`` the Stirling series gives the difference directly:
    ``(x - 1/2) log1p(n/x) + n log(x + n) - n + s(x + n) - s(x)``, ``s(z) = 1/(12z) - 1/(360z^3) + 1/(1260z^5)``.
    """
    x, n = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(n, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = special.gammaln(x + n) - special.gammaln(x)
        z = x + n
        stirling = (x - 0.5) * np.log1p(n / x) + n * np.log(z) - n + _stirling_tail(z) - _stirling_tail(x)
    return np.where(x >= 100, stirling, direct)


def _stirling_tail(z: np.ndarray) -> np.ndarray:
    inv = 1.0 / z
    return inv / 12 - inv**3 / 360 + inv**5 / 1260
