"""Mutual information, conditional and joint entropy of paired discrete samples.

``x`` and ``y`` are paired samples (``x[i]`` and ``y[i]`` observed together), counted into the
joint table ``n_xy`` over ``K_x x K_y`` cells (``alphabet_size=(K_x, K_y)``; default the symbols
seen in each). Two kinds of method:

* a distribution estimate of the joint (``plugin``, ``jeffreys``, ``laplace``, ``sg``, ``minimax``,
  ``shrink``): the joint table is smoothed, and ``I = D(p_xy || p_x p_y)`` of that joint is
  computed by :func:`infoloss.measures.kl_divergence` (as R's ``mi.plugin``, ``mi.Dirichlet``
  and ``mi.shrink`` do);
* an entropy estimator (``miller-madow``, ``chao-shen``, ``grassberger``, ``zhang``, ``nsb``):
  ``I = H(X) + H(Y) - H(X, Y)``, each term by that estimator (NSB: on ``K_x``, ``K_y`` and
  ``K_x K_y`` symbols).

``plugin`` equals scikit-learn's ``mutual_info_score``. With ``k=`` and continuous samples,
:func:`mutual_information` is the KSG k-NN estimator (:func:`infoloss.estimate.knn.mutual_information`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import measures
from .._typing import ArrayLike
from .._validate import InputError, InputTypeError, check_base, check_choice, check_integer
from . import _counts, _uncertainty
from ._result import Estimate, make
from .discrete import DISTRIBUTION_METHODS, METHODS, distributions, estimate_rows

__all__ = ["mutual_information", "conditional_entropy", "joint_entropy"]

_PAIR_METHODS = tuple(m for m in METHODS if m != "auto")


def mutual_information(
    x: ArrayLike,
    y: ArrayLike,
    method: str = "plugin",
    *,
    alphabet_size: int | tuple[int, int] | None = None,
    base: float | None = None,
    ci: float | None = None,
    n_boot: int = 1000,
    ci_method: str = "bootstrap",
    random_state: int | np.random.Generator | None = None,
    k: int | None = None,
    algorithm: str = "auto",
) -> Estimate:
    """Estimate ``I(X; Y) = H(X) + H(Y) - H(X, Y)`` from paired samples.

    Args:
      x, y: paired samples of equal length (labels of any hashable kind; 2-D arrays: one
        sample per row).
      method: see the module docstring; ``nsb`` needs ``alphabet_size``.
      alphabet_size: ``(K_x, K_y)``, the possible symbols of each (default: those seen).
      base: logarithm base (None: nats).
      ci, n_boot, ci_method, random_state: a confidence interval at level ``ci`` as for
        :func:`infoloss.estimate.entropy`, resampling the *pairs* (a multinomial draw of the
        joint table; the jackknife leaves out one pair at a time).
      k: an int: treat ``x`` (n, d_x) and ``y`` (n, d_y) as continuous and use the KSG
        estimator with k neighbours.
      algorithm: with ``k``: ``"auto"``, ``"tree"`` or ``"brute"`` (see
        :func:`infoloss.estimate.differential_entropy`).

    >>> mutual_information([0, 0, 1, 1], [0, 0, 1, 1], base=2).value  # y is x: 1 bit
    1.0
    >>> mutual_information([0, 1, 0, 1], [0, 0, 1, 1]).value  # independent in the sample
    0.0
    """
    if k is not None:
        from .knn import mutual_information as ksg

        return ksg(x, y, k=k, base=base, algorithm=algorithm)
    return _paired(
        "mutual information", x, y, method, alphabet_size, base, (ci, n_boot, ci_method, random_state)
    )


def conditional_entropy(
    x: ArrayLike,
    y: ArrayLike,
    method: str = "plugin",
    *,
    alphabet_size: int | tuple[int, int] | None = None,
    base: float | None = None,
    ci: float | None = None,
    n_boot: int = 1000,
    ci_method: str = "bootstrap",
    random_state: int | np.random.Generator | None = None,
) -> Estimate:
    """Estimate ``H(X | Y) = H(X, Y) - H(Y)`` from paired samples. Arguments as for :func:`mutual_information`.

    >>> conditional_entropy([0, 1, 0, 1], [0, 0, 1, 1], base=2).value  # y says nothing about x
    1.0
    """
    return _paired(
        "conditional entropy", x, y, method, alphabet_size, base, (ci, n_boot, ci_method, random_state)
    )


def joint_entropy(
    x: ArrayLike,
    y: ArrayLike,
    method: str = "plugin",
    *,
    alphabet_size: int | tuple[int, int] | None = None,
    base: float | None = None,
    ci: float | None = None,
    n_boot: int = 1000,
    ci_method: str = "bootstrap",
    random_state: int | np.random.Generator | None = None,
) -> Estimate:
    """Estimate ``H(X, Y)``, the entropy of the pairs ``(x[i], y[i])``, on ``K_x K_y`` symbols.

    Arguments as for :func:`mutual_information`.

    >>> joint_entropy([0, 1, 0, 1], [0, 0, 1, 1], base=2).value
    2.0
    """
    return _paired("joint entropy", x, y, method, alphabet_size, base, (ci, n_boot, ci_method, random_state))


def _paired(
    quantity: str,
    x: ArrayLike,
    y: ArrayLike,
    method: str,
    alphabet_size: int | tuple[int, int] | None,
    base: float | None,
    uncertainty: tuple[float | None, int, str, int | np.random.Generator | None],
) -> Estimate:
    """The Estimate of ``quantity`` on the joint table of x and y, with its interval if asked."""
    check_base(base)
    table, n = _joint(x, y, method, alphabet_size)
    values, std, details = _on_rows(quantity, table.reshape(1, -1), table.shape, method)
    scale = 1.0 if base is None else 1 / np.log(base)
    level, n_boot, ci_method, random_state = uncertainty
    interval = None
    if level is not None:
        if std is not None:  # NSB: the posterior std stays in details; std goes with the ci
            details = {**details, "posterior_std": float(std[0]) * scale}
        std, low, high = _uncertainty.interval(
            table.reshape(1, -1),
            lambda rows: _on_rows(quantity, rows, table.shape, method)[0],
            values,
            level=level,
            method=ci_method,
            n_boot=n_boot,
            random_state=random_state,
            symmetric=quantity == "joint entropy",
        )
        interval = (float(low[0]) * scale, float(high[0]) * scale)
    joint = quantity == "joint entropy"
    return make(
        float(values[0]) * scale,
        method=method,
        quantity=quantity,
        n=n,
        observed=int(np.count_nonzero(table)) if joint else None,
        alphabet_size=table.size if joint else table.shape,
        base=base,
        std=None if std is None else float(std[0]) * scale,
        ci=interval,
        level=level,
        details=details,
    )


def _on_rows(
    quantity: str, rows: np.ndarray, shape: tuple[int, int], method: str
) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """``(values, std or None, details)`` in nats for each row of flattened joint tables (r, K_x K_y).

    Distribution methods: the smoothed joint ``p``, then ``I = D(p || p_x p_y)``,
    ``H(X | Y) = H(p) - H(p_y)``, ``H(X, Y) = H(p)``. Entropy estimators: the same identities
    with each entropy estimated from its counts.
    """
    if quantity == "joint entropy":
        return estimate_rows(rows, method)
    tables = rows.reshape(-1, *shape)
    if method in DISTRIBUTION_METHODS:
        joint, details = distributions(rows, method)
        joint = joint.reshape(tables.shape)
        p_x, p_y = joint.sum(axis=2), joint.sum(axis=1)
        if quantity == "mutual information":
            product = p_x[:, :, None] * p_y[:, None, :]
            values = measures.kl_divergence(
                joint.reshape(len(rows), -1), product.reshape(len(rows), -1), axis=-1
            )
        else:
            values = measures.entropy(joint.reshape(len(rows), -1), axis=-1) - measures.entropy(p_y, axis=-1)
        return np.asarray(values, dtype=np.float64).reshape(-1), None, details
    h_xy, h_y = _h(rows, method), _h(tables.sum(axis=1), method)
    if quantity == "mutual information":
        return _h(tables.sum(axis=2), method) + h_y - h_xy, None, {}
    return h_xy - h_y, None, {}


def _h(counts: np.ndarray, method: str) -> np.ndarray:
    return np.asarray(estimate_rows(counts.astype(np.float64), method)[0], dtype=np.float64).reshape(-1)


def _joint(
    x: ArrayLike, y: ArrayLike, method: str, alphabet_size: int | tuple[int, int] | None
) -> tuple[np.ndarray, int]:
    """The dense joint count table (K_x, K_y) of paired samples, and N."""
    check_choice("method", method, _PAIR_METHODS)
    if alphabet_size is not None:
        if not isinstance(alphabet_size, (tuple, list)) or len(alphabet_size) != 2:
            raise InputTypeError(
                f"must be a pair (K_x, K_y), got alphabet_size={alphabet_size!r}",
                argument="alphabet_size",
                value=repr(alphabet_size),
            )
        for name, size in zip(("alphabet_size[0]", "alphabet_size[1]"), alphabet_size):
            check_integer(name, size, low=1)
    elif method == "nsb":
        raise InputError(
            "is needed by method='nsb' (the prior spreads over K_x K_y joint symbols, seen or not)",
            argument="alphabet_size",
            value=None,
            hint="pass alphabet_size=(K_x, K_y)",
        )
    x_codes, y_codes, weights, x_labels, y_labels = _counts.count_joint(x, y)
    kx, ky = len(x_labels), len(y_labels)
    if alphabet_size is not None:
        for axis_name, seen, size in (("x", kx, alphabet_size[0]), ("y", ky, alphabet_size[1])):
            if size < seen:
                raise InputError(
                    f"is smaller than the {seen} distinct symbols observed in {axis_name}",
                    argument="alphabet_size",
                    value=tuple(alphabet_size),
                    hint="give the number of possible symbols, at least the number seen",
                )
        kx, ky = alphabet_size
    joint = x_codes * ky + y_codes  # cell index in the padded (kx, ky) table
    table = np.bincount(joint, weights=weights, minlength=kx * ky).astype(np.float64).reshape(kx, ky)
    return table, int(table.sum())
