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

import numpy as np

from .. import measures
from .._validate import InputError, InputTypeError, check_base, check_choice, check_integer
from . import _counts
from .discrete import DISTRIBUTION_METHODS, METHODS, distributions, estimate_rows
from ._result import make

__all__ = ["mutual_information", "conditional_entropy", "joint_entropy"]

_PAIR_METHODS = tuple(m for m in METHODS if m != "auto")


def mutual_information(x, y, method="plugin", *, alphabet_size=None, base=None, k=None, algorithm="auto"):
    """Estimate ``I(X; Y) = H(X) + H(Y) - H(X, Y)`` from paired samples.

    Args:
      x, y: paired samples of equal length (labels of any hashable kind; 2-D arrays: one
        sample per row).
      method: see the module docstring; ``nsb`` needs ``alphabet_size``.
      alphabet_size: ``(K_x, K_y)``, the possible symbols of each (default: those seen).
      base: logarithm base (None: nats).
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
    table, n = _joint(x, y, method, alphabet_size)
    if method in DISTRIBUTION_METHODS:
        joint, details = distributions(table.reshape(1, -1), method)
        joint = joint.reshape(table.shape)
        product = np.outer(joint.sum(axis=1), joint.sum(axis=0))
        value = measures.kl_divergence(joint.ravel(), product.ravel(), base=base)
    else:
        value = (_h(table.sum(axis=1), method) + _h(table.sum(axis=0), method) - _h(table.ravel(), method))
        value = value if base is None else value / np.log(base)
        details = {}
    return make(float(value), method=method, quantity="mutual information", n=n,
                alphabet_size=table.shape, base=base, details=details)


def conditional_entropy(x, y, method="plugin", *, alphabet_size=None, base=None):
    """Estimate ``H(X | Y) = H(X, Y) - H(Y)`` from paired samples. Arguments as for :func:`mutual_information`.

    >>> conditional_entropy([0, 1, 0, 1], [0, 0, 1, 1], base=2).value  # y says nothing about x
    1.0
    """
    table, n = _joint(x, y, method, alphabet_size)
    if method in DISTRIBUTION_METHODS:
        joint, details = distributions(table.reshape(1, -1), method)
        value = measures.entropy(joint[0]) - measures.entropy(joint.reshape(table.shape).sum(axis=0))
    else:
        value, details = _h(table.ravel(), method) - _h(table.sum(axis=0), method), {}
    value = value if base is None else value / np.log(base)
    return make(float(value), method=method, quantity="conditional entropy", n=n,
                alphabet_size=table.shape, base=base, details=details)


def joint_entropy(x, y, method="plugin", *, alphabet_size=None, base=None):
    """Estimate ``H(X, Y)``, the entropy of the pairs ``(x[i], y[i])``, on ``K_x K_y`` symbols.

    Arguments as for :func:`mutual_information`.

    >>> joint_entropy([0, 1, 0, 1], [0, 0, 1, 1], base=2).value
    2.0
    """
    table, n = _joint(x, y, method, alphabet_size)
    values, std, details = estimate_rows(table.reshape(1, -1), method)
    value = float(values[0]) if base is None else float(values[0]) / np.log(base)
    std = None if std is None else float(std[0]) / (1 if base is None else np.log(base))
    return make(value, method=method, quantity="joint entropy", n=n, observed=int(np.count_nonzero(table)),
                alphabet_size=table.size, base=base, std=std, details=details)


def _h(counts: np.ndarray, method: str) -> float:
    return float(estimate_rows(counts.reshape(1, -1).astype(np.float64), method)[0][0])


def _joint(x, y, method, alphabet_size):
    """The dense joint count table (K_x, K_y) of paired samples, and N."""
    check_choice("method", method, _PAIR_METHODS)
    if alphabet_size is not None:
        if not isinstance(alphabet_size, (tuple, list)) or len(alphabet_size) != 2:
            raise InputTypeError(f"must be a pair (K_x, K_y), got alphabet_size={alphabet_size!r}",
                                 argument="alphabet_size", value=repr(alphabet_size))
        for name, size in zip(("alphabet_size[0]", "alphabet_size[1]"), alphabet_size):
            check_integer(name, size, low=1)
    elif method == "nsb":
        raise InputError("is needed by method='nsb' (the prior spreads over K_x K_y joint symbols, seen or not)",
                         argument="alphabet_size", value=None, hint="pass alphabet_size=(K_x, K_y)")
    cx, cy = _counts.count_pairs(x, y)
    kx, ky = len(cx.labels), len(cy.labels)
    if alphabet_size is not None:
        for axis_name, seen, size in (("x", kx, alphabet_size[0]), ("y", ky, alphabet_size[1])):
            if size < seen:
                raise InputError(f"is smaller than the {seen} distinct symbols observed in {axis_name}",
                                 argument="alphabet_size", value=tuple(alphabet_size),
                                 hint="give the number of possible symbols, at least the number seen")
        kx, ky = alphabet_size
    joint = cx.codes * ky + cy.codes  # cell index in the padded (kx, ky) table
    table = np.bincount(joint, minlength=kx * ky).astype(np.float64).reshape(kx, ky)
    return table, int(len(cx.codes))
