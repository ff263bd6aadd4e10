"""Prefix codes: Huffman codes, code lengths, the Kraft sum and the expected code length.

Symbols of an unlabelled distribution (a sequence or 1-D array) are numbered from 0, as
everywhere in :mod:`infoloss.coding` (and in ``infoloss code``'s table).

References: D. A. Huffman, "A method for the construction of minimum-redundancy codes",
Proc. IRE 40 (1952); J. van Leeuwen, "On the construction of Huffman trees", ICALP 1976 (the
two-queue construction used here, linear after sorting); T. M. Cover and J. A. Thomas,
*Elements of Information Theory*, 2nd ed., ch. 5 (Kraft-McMillan inequality, optimality).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np

from .. import _array
from .._convert import prepare
from .._validate import InputError, InputTypeError

__all__ = ["huffman_code", "code_lengths", "kraft_sum", "expected_length"]


def huffman_code(p, /, *, normalize=False) -> dict:
    """An optimal prefix code for ``p``: a dict label -> codeword (a string of '0'/'1').

    Huffman's algorithm merges the two least probable subtrees until one tree is left; the
    expected length ``L = sum_i p_i l_i`` is the smallest of any prefix code and satisfies
    ``H(p) <= L < H(p) + 1`` bits, with ``L = H(p)`` exactly when every ``p_i`` is a power of 2.

    Conventions (deterministic, so the same ``p`` always gives the same code):

    * at equal weight, leaves are merged before subtrees (this gives, among the optimal
      codes, one with the shortest longest codeword) and later symbols before earlier ones
      (so of two equally probable symbols the earlier never has the longer codeword);
    * codewords are canonical: sorted by (length, input order) they count up in binary,
      as in DEFLATE;
    * symbols with probability 0 get no codeword (they never occur; a code for ``q`` used
      under ``p`` with ``p_i > 0 = q_i`` has infinite expected length, like ``H(p, q)``);
    * a distribution with a single possible symbol gets the one-bit code ``'0'``, so every
      message still has a written form (then ``L = 1 = H(p) + 1``, the one exception to
      ``L < H(p) + 1``).

    The construction sorts once and then merges from two queues (leaves, and subtrees in the
    order they were made), so ``n`` symbols take ``O(n log n)`` time in NumPy's sort and
    ``O(n)`` Python steps.

    Args:
      p: one distribution: a sequence or 1-D array (labels 0..n-1) or a mapping label -> p.
      normalize: divide ``p`` by its sum first (counts, weights).

    Returns:
      dict label -> codeword, in the order of ``p``'s labels, without the zero-probability ones.

    The textbook example (a blog post's four-symbol source): the code averages 1.75 bits, the
    entropy of ``p``.

    >>> code = huffman_code([1/2, 1/4, 1/8, 1/8])
    >>> code
    {0: '0', 1: '10', 2: '110', 3: '111'}
    >>> expected_length(code, [1/2, 1/4, 1/8, 1/8])
    1.75
    >>> huffman_code({'a': 3, 'b': 1, 'c': 1, 'd': 0}, normalize=True)
    {'a': '0', 'b': '10', 'c': '11'}
    """
    probabilities, labels = _one_distribution("p", p, normalize=normalize)
    positive = np.flatnonzero(probabilities > 0)
    lengths = _huffman_lengths(probabilities[positive])
    words = _canonical_codewords(lengths)
    return {labels[i]: word for i, word in zip(positive.tolist(), words)}


def code_lengths(code: Mapping) -> dict:
    """The length of each codeword: a dict label -> ``len(codeword)``.

    >>> code_lengths({'a': '0', 'b': '10', 'c': '11'})
    {'a': 1, 'b': 2, 'c': 2}
    """
    return {label: len(word) for label, word in _checked_code(code).items()}


def kraft_sum(code) -> float:
    """The Kraft sum ``sum_i 2^(-l_i)`` of a code (codewords) or of code lengths (ints).

    A prefix code exists with these lengths iff the sum is ``<= 1`` (Kraft-McMillan); a
    Huffman code on two or more symbols is complete: the sum is exactly 1. Computed exactly
    (``math.fsum`` of powers of two), so ``== 1.0`` is a fair test.

    Args:
      code: a mapping label -> codeword or label -> length, or a sequence of lengths.

    >>> kraft_sum(huffman_code([.4, .3, .2, .1]))
    1.0
    >>> kraft_sum([1, 2, 3])
    0.875
    """
    lengths = np.fromiter(_lengths_of(code).values(), dtype=np.float64)
    return math.fsum(np.exp2(-lengths).tolist())  # powers of two: exact (down to 2^-1074)


def expected_length(code, p, /, *, normalize=False) -> float:
    """Expected code length ``L = sum_i p_i l_i`` in bits of ``code`` under distribution ``p``.

    With ``code = huffman_code(q)`` this is the cost of coding ``p``'s messages with ``q``'s
    code: ``H(p, q)`` when ``q`` is dyadic, within a bit of it otherwise (the cross-entropy
    reading of a code built for the wrong distribution). A label with ``p_i > 0`` and no
    codeword makes ``L`` infinite, as ``q_i = 0`` makes ``H(p, q)``.

    Args:
      code: a mapping label -> codeword (or label -> length), e.g. from :func:`huffman_code`.
      p: the distribution the messages come from: a sequence or 1-D array (labels 0..n-1) or
        a mapping label -> probability.
      normalize: divide ``p`` by its sum first.

    >>> q = [1/4, 1/4, 1/4, 1/4]
    >>> expected_length(huffman_code(q), [1/2, 1/4, 1/8, 1/8])  # H(p, q) = 2 bits
    2.0
    >>> expected_length({'x': '0'}, {'x': .5, 'y': .5})
    inf
    """
    lengths = _lengths_of(code)
    probabilities, labels = _one_distribution("p", p, normalize=normalize)
    # -1 marks a label without a codeword: infinite length if it can occur.
    sizes = np.array([lengths.get(label, -1) for label in labels], dtype=np.float64)
    occurring = probabilities > 0
    if np.any(sizes[occurring] < 0):
        return math.inf
    return math.fsum((probabilities[occurring] * sizes[occurring]).tolist())


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _huffman_lengths(weights: np.ndarray) -> list[int]:
    """Codeword lengths of a Huffman code for positive ``weights`` (one symbol: length 1).

    Two queues instead of a heap: the leaves sorted by (weight, later symbol first) and the
    merged subtrees in the order they were made, whose weights never decrease (in floating
    point too: rounding is monotone). Taking the lighter front, a leaf at equal weight, pops
    exactly what a heap keyed (weight, leaves before subtrees, later leaves first, older
    subtrees first) would: the same deterministic code, in linear time after the sort.
    """
    count = len(weights)
    if count <= 1:
        return [1] * count
    # Ascending weight; at equal weight the later symbol first (lexsort: last key is primary).
    order = np.lexsort((-np.arange(count), weights))
    leaf_weights = weights[order].tolist()
    leaf_nodes = order.tolist()
    merged: list[float] = []  # weights of the merged subtrees; subtree j is node count + j
    parent = [0] * (2 * count - 1)
    leaf, subtree = 0, 0  # fronts of the two queues
    for next_node in range(count, 2 * count - 1):
        total = 0.0
        for _ in (0, 1):  # the two lighter fronts; written inline (no helper call): n - 1 rounds
            if leaf < count and (subtree == len(merged) or leaf_weights[leaf] <= merged[subtree]):
                weight, node = leaf_weights[leaf], leaf_nodes[leaf]
                leaf += 1
            else:
                weight, node = merged[subtree], count + subtree
                subtree += 1
            parent[node] = next_node
            total += weight  # 0.0 + w1 + w2: exactly w1 + w2
        merged.append(total)
    return _depths(np.array(parent), count)


def _depths(parent: np.ndarray, count: int) -> list[int]:
    """Depth of each leaf in a tree given by ``parent`` (the root is the last node).

    Pointer jumping: each node's (ancestor, distance) pair doubles its reach per pass, so a
    tree of depth d takes ``log2 d`` vectorised passes instead of a Python loop over nodes.
    """
    root = len(parent) - 1
    ancestor = parent.copy()
    ancestor[root] = root
    distance = np.ones(len(parent), dtype=np.int64)
    distance[root] = 0
    while np.any(ancestor != root):
        distance += np.where(ancestor != root, distance[ancestor], 0)
        ancestor = ancestor[ancestor]
    return distance[:count].tolist()


def _canonical_codewords(lengths: list[int]) -> list[str]:
    """Canonical codewords: in (length, position) order, consecutive binary numbers.

    Codeword j (in that order) is ``sum_{i<j} 2^-l_i`` written with ``l_j`` bits; with every
    length at most 63 the sums are exact in uint64 (``2^(L - l_i)`` with ``L`` the longest),
    and the words of each length are spelt out at once as a (count, length) array of digits.
    """
    if not lengths:
        return []
    sizes = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(sizes, kind="stable")  # stable: ties keep input order
    longest = int(sizes.max())
    if longest > 63:  # very deep trees (weights spanning more than 2^63): Python's unbounded ints
        return _canonical_codewords_slowly(lengths, order.tolist())
    shifts = (longest - sizes[order]).astype(np.uint64)
    starts = np.concatenate(([np.uint64(0)], np.cumsum(np.left_shift(np.uint64(1), shifts), dtype=np.uint64)[:-1]))
    values = np.empty(len(lengths), dtype=np.uint64)
    values[order] = np.right_shift(starts, shifts)
    words = np.empty(len(lengths), dtype=object)
    for size in np.unique(sizes).tolist():
        members = np.flatnonzero(sizes == size)
        digits = (values[members, None] >> np.arange(size - 1, -1, -1, dtype=np.uint64)) & np.uint64(1)
        text = (digits.astype(np.uint8) + ord("0")).view(f"S{size}").ravel()
        words[members] = text.astype(f"U{size}")
    return words.tolist()


def _canonical_codewords_slowly(lengths: list[int], order: list[int]) -> list[str]:
    words = [""] * len(lengths)
    value, previous = 0, 0
    for i in order:
        value <<= lengths[i] - previous
        previous = lengths[i]
        words[i] = format(value, f"0{previous}b")
        value += 1
    return words


def _checked_code(code) -> Mapping:
    if not isinstance(code, Mapping):
        raise InputTypeError(f"must be a mapping label -> codeword, got {type(code).__name__}", argument="code")
    for label, word in code.items():
        _check_codeword(label, word)
    return code


def _check_codeword(label, word) -> None:
    # str.strip runs in C: a codeword is non-empty and nothing is left once its 0s and 1s go.
    if not isinstance(word, str) or not word or word.strip("01"):
        raise InputError(f"= {word!r} is not a codeword", argument="code", index=label, value=repr(word)[:60],
                         hint="codewords are non-empty strings of '0' and '1'")


def _lengths_of(code) -> dict:
    """label -> length from codewords, from lengths, or from a sequence of lengths."""
    if isinstance(code, Mapping):
        words = list(code.values())
        # All codewords (the usual case) are checked at C speed: none empty, nothing but 0s and 1s.
        if all(type(word) is str for word in words) and all(words) and not "".join(words).strip("01"):
            return dict(zip(code.keys(), map(len, words)))
    items = code.items() if isinstance(code, Mapping) else enumerate(code)
    lengths = {}
    for label, value in items:
        if isinstance(value, str):
            _check_codeword(label, value)
            lengths[label] = len(value)
        elif isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0:
            lengths[label] = int(value)
        else:
            raise InputError(f"= {value!r} is neither a codeword (a string of '0'/'1') nor a length (an int >= 0)",
                             argument="code", index=label, value=repr(value)[:60])
    return lengths


def _one_distribution(name, p, *, normalize):
    """One validated distribution as a NumPy float64 vector, and its labels."""
    inputs = prepare({name: p}, axis=-1, normalize=normalize, validate=True)
    (array,) = inputs.checked()
    values = np.asarray(_array.to_numpy(array), dtype=np.float64)
    if values.ndim != 1:
        raise InputError(f"must be one distribution (1-D), got shape {tuple(values.shape)}", argument=name)
    labels = inputs.labels if inputs.labels is not None else list(range(values.shape[0]))
    return values, labels
