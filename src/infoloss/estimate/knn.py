"""k-nearest-neighbour estimators for continuous samples, on ``scipy.spatial.cKDTree`` or brute force.

=========================  ==================================================================
estimator                  formula (nats)
=========================  ==================================================================
differential_entropy       ``psi(n) - psi(k) + log V_d + (d/n) sum_i log eps_i`` (Kozachenko and
                           Leonenko 1987), ``eps_i`` the Euclidean distance from ``x_i`` to its
                           k-th neighbour, ``V_d = pi^(d/2) / Gamma(d/2 + 1)`` the unit ball
kl_divergence              ``(d/n) sum_i log(nu_i / rho_i) + log(m / (n - 1))`` (Wang, Kulkarni and
                           Verdu 2009), ``rho_i`` the k-th neighbour distance of ``x_i`` among the
                           other ``x``, ``nu_i`` among the m ``y``
mutual_information         ``psi(k) + psi(n) - < psi(n_x + 1) + psi(n_y + 1) >`` (Kraskov, Stoegbauer
                           and Grassberger 2004, estimator I): ``eps_i`` the max-norm distance to
                           the k-th neighbour in the joint space, ``n_x(i)`` the points with
                           ``|x_j - x_i|_max < eps_i`` (likewise ``n_y``)
=========================  ==================================================================

Duplicate points (the rule): a neighbour distance is the distance to the k-th nearest point
at a *positive* distance. Copies of the point itself (and, for ``nu_i``, points of ``y`` equal
to ``x_i``) are skipped, so ties never give ``log 0``; copies of other points count as
neighbours like any other point. Without duplicates this is the usual definition. Data that
are mostly ties (rounded or discrete values) are better served by the discrete estimators.

KSG standardises each coordinate of ``x`` and ``y`` to unit standard deviation first (as its
authors and scikit-learn do), since the max-norm is not scale-invariant; the k-NN entropy and
KL are used on the data as given (they transform exactly under scaling). The KSG estimate is not
clipped at 0: it is unbiased-ish and may be slightly negative for independent data.

Each tree query runs on all cores (``workers=-1``). From ``BRUTE_FROM_DIMENSION`` (16) dimensions
on, where a KD-tree prunes almost nothing and degenerates into a slow brute force, ``"auto"``
switches to an exact blocked brute force (:func:`_kth_positive_brute`: BLAS distances, the
candidates' distances recomputed from the differences, the same duplicate rule); it costs
``O(n m d)`` time and a fixed memory budget; ``algorithm=`` forces either path.

References: L. F. Kozachenko and N. N. Leonenko, Probl. Inf. Transm. 23 (1987); Q. Wang,
S. R. Kulkarni and S. Verdu, IEEE Trans. Inf. Theory 55 (2009); A. Kraskov, H. Stoegbauer and
P. Grassberger, Phys. Rev. E 69, 066138 (2004).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special
from scipy.spatial import cKDTree

from .. import _array
from .._typing import ArrayLike
from .._validate import InputError, InputTypeError, check_base, check_choice, check_integer
from ._result import Estimate, make

__all__ = ["differential_entropy", "kl_divergence", "mutual_information"]

ALGORITHMS = ("auto", "tree", "brute")

# From this many dimensions on, "auto" uses exact blocked brute force instead of the KD-tree:
# a tree prunes almost nothing there. Measured at n = 2e4, k = 3 on 2 heavily loaded cores
# (brute / tree seconds): d = 8: 9.3 / 1.5; d = 12: 13.2 / 6.1; d = 14: 6.3 / 5.3;
# d = 16: 5.4 / 5.0; d = 20: 8.9 / 22.6. At n = 1e5, d = 20: brute 114 s, the tree > 20 min.
BRUTE_FROM_DIMENSION = 16

# The brute-force path holds at most this many bytes of distances at once (cache-sized:
# each block is read a few times).
_BRUTE_BLOCK_BYTES = 1 << 25


def differential_entropy(
    x: ArrayLike, k: int = 3, *, base: float | None = None, algorithm: str = "auto"
) -> Estimate:
    """Kozachenko-Leonenko estimate of the differential entropy of continuous samples ``x``.

    Args:
      x: shape (n,) or (n, d) of real numbers, n > k.
      k: the neighbour used (3 is a common bias/variance balance).
      base: logarithm base (None: nats).
      algorithm: ``"tree"`` (``cKDTree``), ``"brute"`` (exact blocked brute force, BLAS) or
        ``"auto"``: brute from ``d >= BRUTE_FROM_DIMENSION``. Both give the same distances.

    >>> rng = np.random.default_rng(0)
    >>> estimate = differential_entropy(rng.normal(size=20000), k=3)
    >>> bool(abs(estimate - 0.5 * np.log(2 * np.pi * np.e)) < 0.03)  # N(0, 1): 1.4189 nats
    True
    """
    check_base(base)
    check_integer("k", k, low=1, meaning="the neighbour used")
    points = _points(x, "x", k + 1)
    n, d = points.shape
    if _brute(algorithm, d):
        eps = _kth_positive_brute(points, points, k, p=2)
    else:
        eps = _kth_positive_distance(cKDTree(points), points, k, in_tree=True, p=2)
    log_ball = d / 2 * math.log(math.pi) - special.gammaln(d / 2 + 1)
    value = special.digamma(n) - special.digamma(k) + log_ball + d * np.mean(np.log(eps))
    return _finish(value, "kozachenko-leonenko", "differential entropy", n, base, k, d)


def kl_divergence(
    x: ArrayLike, y: ArrayLike, k: int = 1, *, base: float | None = None, algorithm: str = "auto"
) -> Estimate:
    """Wang-Kulkarni-Verdu estimate of ``D(P || Q)`` from continuous ``x ~ P`` (n, d) and ``y ~ Q`` (m, d).

    ``algorithm`` as for :func:`differential_entropy`.

    >>> rng = np.random.default_rng(0)
    >>> estimate = kl_divergence(rng.normal(size=20000), rng.normal(1.0, size=20000), k=3)
    >>> bool(abs(estimate - 0.5) < 0.05)  # KL(N(0, 1) || N(1, 1)) = 1/2
    True
    """
    check_base(base)
    check_integer("k", k, low=1, meaning="the neighbour used")
    xs = _points(x, "x", k + 1)
    ys = _points(y, "y", k)
    if xs.shape[1] != ys.shape[1]:
        raise InputError(
            f"has {xs.shape[1]} dimension(s) per sample but y has {ys.shape[1]}",
            argument="x",
            value=xs.shape[1],
        )
    n, d = xs.shape
    if _brute(algorithm, d):
        rho, nu = _kth_positive_brute(xs, xs, k, p=2), _kth_positive_brute(ys, xs, k, p=2)
    else:
        tree = cKDTree(xs)
        rho = _kth_positive_distance(tree, xs, k, in_tree=True, p=2)
        nu = _kth_positive_distance(cKDTree(ys), xs, k, in_tree=False, p=2, order=tree.indices)
    value = d * np.mean(np.log(nu / rho)) + math.log(len(ys) / (n - 1))
    return _finish(value, "wang-kulkarni-verdu", "KL divergence", (n, len(ys)), base, k, d)


def mutual_information(
    x: ArrayLike, y: ArrayLike, k: int = 3, *, base: float | None = None, algorithm: str = "auto"
) -> Estimate:
    """KSG (estimator I) mutual information of paired continuous samples ``x`` (n, d_x), ``y`` (n, d_y).

    ``algorithm`` as for :func:`differential_entropy`, chosen on the joint dimension for the
    k-th neighbour and on each marginal's for the counts (max-norm throughout).

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=5000)
    >>> y = 0.6 * x + 0.8 * rng.normal(size=5000)  # correlation 0.6
    >>> bool(abs(mutual_information(x, y, k=3) - (-0.5 * np.log(1 - 0.36))) < 0.03)
    True
    """
    check_base(base)
    check_integer("k", k, low=1, meaning="the neighbour used")
    xs, ys = _standardized(_points(x, "x", k + 1)), _standardized(_points(y, "y", k + 1))
    if len(xs) != len(ys):
        raise InputError(
            f"has {len(xs)} samples but y has {len(ys)}; paired samples need the same length",
            argument="x",
            value=len(xs),
        )
    joint = np.hstack([xs, ys])
    n = len(joint)
    if _brute(algorithm, joint.shape[1]):
        eps = _kth_positive_brute(joint, joint, k, p=np.inf)
    else:
        eps = _kth_positive_distance(cKDTree(joint), joint, k, in_tree=True, p=np.inf)
    radius = np.nextafter(eps, 0)  # strictly closer than eps
    n_x, n_y = (
        (_count_within_brute if _brute(algorithm, part.shape[1]) else _count_within)(part, radius)
        for part in (xs, ys)
    )
    value = (
        special.digamma(k)
        + special.digamma(n)
        - np.mean(special.digamma(n_x + 1))
        - np.mean(special.digamma(n_y + 1))
    )
    return _finish(value, "ksg", "mutual information", n, base, k, joint.shape[1])


def _kth_positive_distance(
    tree: cKDTree, queries: np.ndarray, k: int, *, in_tree: bool, p: float, order: np.ndarray | None = None
) -> np.ndarray:
    """The k-th positive-distance neighbour of each query, asked in ``order`` (default: the
    tree's own leaf order when the queries are its points), so that consecutive queries walk
    the same part of the tree: 5x faster than random order for 10^6 points."""
    if order is None and in_tree:
        order = tree.indices
    if order is None:
        return _kth_positive_unordered(tree, queries, k, in_tree=in_tree, p=p)
    out = np.empty(len(queries))
    out[order] = _kth_positive_unordered(tree, queries[order], k, in_tree=in_tree, p=p, positions=order)
    return out


def _kth_positive_unordered(
    tree: cKDTree,
    queries: np.ndarray,
    k: int,
    *,
    in_tree: bool,
    p: float,
    positions: np.ndarray | None = None,
) -> np.ndarray:
    """Distance from each query to its k-th nearest tree point at a positive distance.

    One query for all points; only points with ``t`` tree points at distance 0 (copies; the
    point itself when ``in_tree``) are asked again, for neighbour number ``t + k``.
    ``tied`` is found from the nearest other point, not the k-th: a point with fewer than k
    copies still has them among its first k neighbours.
    """
    offset = int(in_tree)
    # Neighbour number 1 + offset is the nearest other point: at distance 0 exactly for copies.
    found = tree.query(queries, k=sorted({1 + offset, k + offset}), p=p, workers=-1)[0]
    distance = found[:, -1]
    tied = np.flatnonzero(found[:, 0] == 0)
    if tied.size:
        copies = np.asarray(tree.query_ball_point(queries[tied], r=0, p=p, return_length=True, workers=-1))
        for count in np.unique(copies):
            chosen = tied[copies == count]
            if count + k > tree.n:
                point = int(chosen[0] if positions is None else positions[chosen[0]])  # the caller's index
                raise InputError(
                    f"has fewer than k={k} points apart from the copies of point {point}; "
                    "every point needs k neighbours at a positive distance",
                    argument="x",
                    index=point,
                    hint="use a smaller k, or the discrete estimators for data with many ties",
                )
            distance[chosen] = tree.query(queries[chosen], k=[int(count) + k], p=p, workers=-1)[0][:, 0]
    return distance


def _kth_positive_brute(points: np.ndarray, queries: np.ndarray, k: int, *, p: float) -> np.ndarray:
    """Exact brute-force twin of :func:`_kth_positive_unordered` (same duplicate rule).

    ``p=2``: squared distances ``|q|^2 + |x|^2 - 2 q.x`` by BLAS a block of query rows at a
    time (at most :data:`_BRUTE_BLOCK_BYTES` per block), ``np.argpartition`` for the ``m``
    smallest, and those candidates' distances recomputed from the differences: the BLAS form
    loses less than ``4 (d + 4) eps (|q|^2 + |x|^2)`` to cancellation, so copies are recognised
    (distance exactly 0) and the k-th distance is the exact one. A row is exact when every point
    whose BLAS value lies within that error bound of the k-th candidate's is a candidate; the
    rare row that fails is recomputed in full. ``p=inf`` (KSG's max-norm): computed from the
    differences directly, one coordinate at a time.
    """
    n, d = points.shape
    rows = max(1, _BRUTE_BLOCK_BYTES // (8 * n))
    out = np.empty(len(queries))
    if p == 2:
        # The BLAS form on centred copies (small norms, small cancellation); exact distances
        # from the data as given, as the tree computes them.
        centre = points.mean(axis=0)
        centred, centred_queries = points - centre, queries - centre
        point_norms = np.einsum("ij,ij->i", centred, centred)
        centred_t = np.ascontiguousarray(centred.T)  # BLAS runs 2-5x faster on this layout
        slack = 4 * (d + 4) * np.finfo(np.float64).eps
    for start in range(0, len(queries), rows):
        block = queries[start : start + rows]
        if p != 2:
            distance = _max_norm_distances(block, points)
            distance[distance == 0] = np.inf  # copies (the point itself among them)
            out[start : start + len(block)] = _kth_column(distance, k, block, start, n)
            continue
        centred_block = centred_queries[start : start + rows]
        block_norms = np.einsum("ij,ij->i", centred_block, centred_block)
        # |q - x|^2 - |q|^2 = |x|^2 - 2 q.x: the row's constant |q|^2 moves to the thresholds.
        approx = (-2 * centred_block) @ centred_t
        approx += point_norms[None, :]
        error = slack * (block_norms + point_norms.max())  # per row, bounds every entry's
        possible_copies = np.count_nonzero(approx <= (error - block_norms)[:, None], axis=1)
        m = min(n, k + int(possible_copies.max()) + 8)
        if m < n:
            # Row by row: measured 8x faster than argpartition(axis=1) on these blocks (NumPy 2).
            candidates = np.stack([np.argpartition(values, m - 1)[:m] for values in approx])
        else:
            candidates = np.broadcast_to(np.arange(n), (len(block), n))
        exact = np.sqrt(np.sum((block[:, None, :] - points[candidates]) ** 2, axis=-1))
        exact[exact == 0] = np.inf
        kth = _kth_column(exact, k, block, start, n, enough=m == n)
        # Any point closer than kth has a BLAS value below kth^2 + its error: all must be candidates.
        inside = np.count_nonzero(approx <= (kth**2 + error - block_norms)[:, None], axis=1)
        redo = np.flatnonzero((inside > m) | ~np.isfinite(kth)) if m < n else np.empty(0, dtype=np.intp)
        for r in map(int, redo):
            full = np.sqrt(np.sum((block[r] - points) ** 2, axis=-1))
            full[full == 0] = np.inf
            kth[r] = _kth_column(full[None, :], k, block[r : r + 1], start + r, n)[0]
        out[start : start + len(block)] = kth
    return out


def _kth_column(
    distance: np.ndarray, k: int, block: np.ndarray, start: int, n: int, *, enough: bool = True
) -> np.ndarray:
    """The k-th smallest finite entry of each row (zeros already set to inf); the tree path's
    error when a row of all the points has fewer than k. ``enough=False``: rows of candidates
    only, where too few is answered with inf (the caller recomputes them)."""
    kth = np.partition(distance, k - 1, axis=1)[:, k - 1]
    short = np.flatnonzero(~np.isfinite(kth))
    if short.size and enough:
        point = start + int(short[0])
        raise InputError(
            f"has fewer than k={k} points apart from the copies of point {point}; "
            "every point needs k neighbours at a positive distance",
            argument="x",
            index=point,
            hint="use a smaller k, or the discrete estimators for data with many ties",
        )
    return kth


def _max_norm_distances(block: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``max_j |block[i, j] - points[l, j]|`` for every pair, one coordinate at a time."""
    distance = np.abs(block[:, :1] - points[None, :, 0])
    for j in range(1, points.shape[1]):
        np.maximum(distance, np.abs(block[:, j : j + 1] - points[None, :, j]), out=distance)
    return distance


def _count_within_brute(points: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Brute-force twin of :func:`_count_within` (max-norm, ``<= radius``, self excluded)."""
    n = len(points)
    rows = max(1, _BRUTE_BLOCK_BYTES // (8 * n))
    out = np.empty(n, dtype=np.int64)
    for start in range(0, n, rows):
        distance = _max_norm_distances(points[start : start + rows], points)
        out[start : start + len(distance)] = np.count_nonzero(
            distance <= radius[start : start + rows, None], axis=1
        )
    return out - 1


def _brute(algorithm: str, d: int) -> bool:
    """Whether to use the brute-force path for points of dimension ``d``."""
    check_choice("algorithm", algorithm, ALGORITHMS)
    return algorithm == "brute" or (algorithm == "auto" and d >= BRUTE_FROM_DIMENSION)


def _count_within(points: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """How many other points lie within ``radius[i]`` (max-norm) of each point, in tree order
    (one dimension: by binary search in the sorted points, see :func:`_count_within_sorted`)."""
    if points.shape[1] == 1:
        return _count_within_sorted(points[:, 0], radius)
    tree = cKDTree(points)
    order = tree.indices
    out = np.empty(len(points), dtype=np.int64)
    out[order] = tree.query_ball_point(points[order], radius[order], p=np.inf, return_length=True, workers=-1)
    return out - 1


def _count_within_sorted(values: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """1-D :func:`_count_within`: the points with ``|v_j - v_i| <= r_i`` are a run of the sorted
    values (the rounded difference grows with v_j), found by :func:`numpy.searchsorted` at
    ``v_i -+ r_i`` and then moved, where the rounding of ``v_i -+ r_i`` put an end one place
    off, until every end meets the same test as the tree's (``abs(v_j - v_i) <= r_i``).
    O(n log n); for 1e5 points measured several times faster than the tree's ball counts."""
    ordered = np.sort(values)
    n = len(ordered)
    low = np.searchsorted(ordered, values - radius, side="left")
    high = np.searchsorted(ordered, values + radius, side="right")  # one past the run

    def inside(at: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.abs(ordered[at] - values[rows]) <= radius[rows]

    rows = np.arange(n)
    while True:  # move low down while the point before it is inside, up while low itself is not
        down = rows[(low > 0) & inside(np.maximum(low - 1, 0), rows)]
        up = rows[(low < n) & ~inside(np.minimum(low, n - 1), rows)]
        if not (down.size or up.size):
            break
        low[down] -= 1
        low[up] += 1
    while True:  # move high up while the point at it is inside, down while the one before is not
        up = rows[(high < n) & inside(np.minimum(high, n - 1), rows)]
        down = rows[(high > 0) & ~inside(np.maximum(high - 1, 0), rows)]
        if not (down.size or up.size):
            break
        high[up] += 1
        high[down] -= 1
    return high - low - 1


def _points(x: ArrayLike, name: str, least: int) -> np.ndarray:
    """``x`` as a finite float64 (n, d) array with at least ``least`` rows."""
    if _array.is_dask(x):
        raise InputTypeError(
            "is a Dask array; the k-NN estimators need the points in memory",
            argument=name,
            hint="pass x.compute() (a sample that fits in memory)",
        )
    array = np.asarray(_array.to_numpy(x) if _array.is_array(x) else x)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise InputTypeError(
            f"holds {array.dtype} values; the k-NN estimators need real numbers",
            argument=name,
            value=str(array.dtype),
            hint="for labels use the discrete estimators (no k=)",
        )
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise InputError(f"has shape {array.shape}; continuous samples are (n,) or (n, d)", argument=name)
    array = array.astype(np.float64, copy=False)
    if len(array) < least:
        raise InputError(
            f"has {len(array)} sample(s); this estimator needs at least {least} (more than k)",
            argument=name,
            value=len(array),
        )
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"= {float(array[index])!r} is not finite; samples must be finite numbers",
            argument=name,
            index=index if array.shape[1] > 1 else index[0],
            value=float(array[index]),
        )
    return array


def _standardized(points: np.ndarray) -> np.ndarray:
    scale = points.std(axis=0)
    return points / np.where(scale > 0, scale, 1.0)


def _finish(
    value: float, method: str, quantity: str, n: int | tuple[int, int], base: float | None, k: int, d: int
) -> Estimate:
    value = float(value) if base is None else float(value) / math.log(base)
    return make(value, method=method, quantity=quantity, n=n, base=base, details={"k": k, "d": d})
