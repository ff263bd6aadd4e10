"""Entropy, divergences and mutual information estimated from data: samples or counts.

Scientists start from data, not from distributions. This subpackage keeps three things apart
(as ComplexityMeasures.jl does): the *data* (samples of any hashable labels, pandas, Dask, or
counts: :mod:`._counts` turns them into count vectors), the *estimator* (``method=``: a
documented formula with its reference, in :mod:`.discrete`, :mod:`.nsb`, :mod:`.knn`) and the
*measure* (entropy, cross-entropy, KL, JS, mutual information; the plug-in ones are
:mod:`infoloss.measures` applied to the estimated distributions).

Discrete (labels; floats are labels too):
  :func:`entropy`, :func:`cross_entropy`, :func:`kl_divergence`, :func:`js_divergence`,
  :func:`mutual_information`, :func:`conditional_entropy`, :func:`joint_entropy`.
Continuous (pass ``k=``; k-nearest neighbours on a KD-tree):
  :func:`differential_entropy` (Kozachenko-Leonenko), ``kl_divergence(x, y, k=1)``
  (Wang-Kulkarni-Verdu), ``mutual_information(x, y, k=3)`` (KSG).

Every function returns an :class:`Estimate`: a float-like value with the method, the number
of samples, the symbols observed, the alphabet size, and ``std``/``ci`` where there is one.

>>> from infoloss import estimate
>>> shrunk = estimate.entropy([4, 2, 3, 0, 2, 4, 0, 0, 2, 1, 1], "shrink", counts=True)
>>> round(shrunk, 6), round(shrunk.details["lambda"], 6)  # R's entropy.shrink: 2.379603, lambda 0.766393
(2.379603, 0.766393)
"""

from __future__ import annotations

from ._counts import Counts, count
from ._result import Estimate
from .discrete import DISTRIBUTION_METHODS, METHODS, entropy
from .divergence import cross_entropy, js_divergence, kl_divergence
from .knn import differential_entropy
from .mutual import conditional_entropy, joint_entropy, mutual_information

__all__ = [
    "entropy",
    "cross_entropy",
    "kl_divergence",
    "js_divergence",
    "mutual_information",
    "conditional_entropy",
    "joint_entropy",
    "differential_entropy",
    "count",
    "Counts",
    "Estimate",
    "METHODS",
    "DISTRIBUTION_METHODS",
]
