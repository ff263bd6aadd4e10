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
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .. import _array
from .._convert import prepare
from .._typing import ArrayLike
from .._validate import InputError, InputTypeError

__all__ = [
    "huffman_code",
    "huffman_lengths",
    "canonical_code",
    "code_lengths",
    "kraft_sum",
    "expected_length",
]


def huffman_code(p: ArrayLike, /, *, normalize: bool = False) -> dict[Any, str]:
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
    order they were made) in vectorised rounds, so ``n`` symbols take ``O(n log n)`` time in
    NumPy's sort and ``O(n)`` after it. For very many symbols, :func:`huffman_lengths` and
    :func:`canonical_code` give the same code as arrays, spelling only the codewords asked for.

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
    lengths = _lengths_by_position(probabilities)
    positive = np.flatnonzero(lengths)
    words = _canonical_codewords(lengths, positive)
    return {labels[i]: word for i, word in zip(positive.tolist(), words)}


def huffman_lengths(p: ArrayLike, /, *, normalize: bool = False) -> np.ndarray:
    """The codeword length of each symbol in :func:`huffman_code`'s code for ``p``, as an array.

    Position ``i`` holds ``len(huffman_code(p)[label_i])``, and 0 for a symbol of probability 0
    (it gets no codeword; a codeword is never empty). With :func:`canonical_code` this is the
    same code without a string per symbol, and :func:`expected_length` and :func:`kraft_sum`
    take it as it is: the array form for millions of symbols.

    Args:
      p, normalize: as for :func:`huffman_code`.

    Returns:
      an int64 array of shape ``(n,)``, in the order of ``p``'s labels.

    >>> huffman_lengths([1/2, 1/4, 0, 1/8, 1/8]).tolist()
    [1, 2, 0, 3, 3]
    >>> expected_length(huffman_lengths([1/2, 1/4, 0, 1/8, 1/8]), [1/2, 1/4, 0, 1/8, 1/8])
    1.75
    """
    probabilities, _ = _one_distribution("p", p, normalize=normalize)
    return _lengths_by_position(probabilities)


def canonical_code(lengths: ArrayLike, /, *, symbols: ArrayLike | None = None) -> dict[int, str]:
    """The canonical prefix code with the given codeword lengths: a dict position -> codeword.

    Sorted by (length, position), the codewords count up in binary, each shifted left to its
    length (DEFLATE's rule, RFC 1951 sec. 3.2.2): codeword ``j`` in that order is the binary
    fraction ``sum_(i<j) 2^(-l_i)`` written with ``l_j`` bits. Such a code exists exactly when
    the Kraft sum ``sum_i 2^(-l_i) <= 1``. ``canonical_code(huffman_lengths(p))`` is
    ``huffman_code(p)`` keyed by position.

    Args:
      lengths: a 1-D sequence or array of ints ``>= 0``, one per symbol; 0: no codeword.
      symbols: the positions whose codewords to spell (default: every one with a codeword).
        Every codeword is computed (as a number) either way; spelling them out as strings is
        what costs, so a table showing a few rows of a million-symbol code asks for those.

    >>> canonical_code([2, 1, 0, 3, 3])
    {0: '10', 1: '0', 3: '110', 4: '111'}
    >>> canonical_code([2, 1, 0, 3, 3], symbols=[4])
    {4: '111'}
    """
    sizes = _length_array(lengths)
    total = kraft_sum(sizes)
    if total > 1:
        raise InputError(
            f"has Kraft sum {total:g} > 1: no prefix code has these lengths",
            argument="lengths",
            hint="lengthen some codewords until sum 2^-length <= 1",
        )
    wanted = np.flatnonzero(sizes) if symbols is None else np.unique(np.asarray(symbols, dtype=np.int64))
    if wanted.size and (wanted[0] < 0 or wanted[-1] >= sizes.size):
        bad = int(wanted[0] if wanted[0] < 0 else wanted[-1])
        raise InputError(
            f"= {bad} is not a position of lengths (0..{sizes.size - 1})", argument="symbols", value=bad
        )
    wanted = wanted[sizes[wanted] > 0]
    return dict(zip(wanted.tolist(), _canonical_codewords(sizes, wanted)))


def code_lengths(code: Mapping[Any, str]) -> dict[Any, int]:
    """The length of each codeword: a dict label -> ``len(codeword)``.

    >>> code_lengths({'a': '0', 'b': '10', 'c': '11'})
    {'a': 1, 'b': 2, 'c': 2}
    """
    return {label: len(word) for label, word in _checked_code(code).items()}


def kraft_sum(code: Mapping[Any, str | int] | ArrayLike) -> float:
    """The Kraft sum ``sum_i 2^(-l_i)`` of a code (codewords) or of code lengths (ints).

    A prefix code exists with these lengths iff the sum is ``<= 1`` (Kraft-McMillan); a
    Huffman code on two or more symbols is complete: the sum is exactly 1. A length 0 means
    "no codeword" (as :func:`huffman_lengths` gives for symbols of probability 0) and adds
    nothing. Computed exactly (``count_l * 2^-l`` per distinct length, then ``math.fsum``), so
    ``== 1.0`` is a fair test.

    Args:
      code: a mapping label -> codeword or label -> length, or a sequence/array of lengths.

    >>> kraft_sum(huffman_code([.4, .3, .2, .1]))
    1.0
    >>> kraft_sum([1, 2, 3])
    0.875
    """
    sizes = _length_array(code)
    sizes = sizes[sizes > 0]
    distinct, counts = np.unique(sizes, return_counts=True)  # a few dozen distinct lengths
    # count * 2^-l is exact (count < 2^53, a power of two down to 2^-1074); fsum rounds once.
    return math.fsum((counts * np.exp2(-distinct.astype(np.float64))).tolist())


def expected_length(
    code: Mapping[Any, str | int] | ArrayLike, p: ArrayLike, /, *, normalize: bool = False
) -> float:
    """Expected code length ``L = sum_i p_i l_i`` in bits of ``code`` under distribution ``p``.

    With ``code = huffman_code(q)`` this is the cost of coding ``p``'s messages with ``q``'s
    code: ``H(p, q)`` when ``q`` is dyadic, within a bit of it otherwise (the cross-entropy
    reading of a code built for the wrong distribution). A label with ``p_i > 0`` and no
    codeword (missing, or length 0) makes ``L`` infinite, as ``q_i = 0`` makes ``H(p, q)``.

    Args:
      code: a mapping label -> codeword (or label -> length), e.g. from :func:`huffman_code`;
        or a sequence/array of lengths by position, one per symbol of ``p`` (e.g. from
        :func:`huffman_lengths`).
      p: the distribution the messages come from: a sequence or 1-D array (labels 0..n-1) or
        a mapping label -> probability.
      normalize: divide ``p`` by its sum first.

    >>> q = [1/4, 1/4, 1/4, 1/4]
    >>> expected_length(huffman_code(q), [1/2, 1/4, 1/8, 1/8])  # H(p, q) = 2 bits
    2.0
    >>> expected_length({'x': '0'}, {'x': .5, 'y': .5})
    inf
    """
    probabilities, labels = _one_distribution("p", p, normalize=normalize)
    if isinstance(code, Mapping):
        lengths = _lengths_of(code)
        sizes = np.array([lengths.get(label, 0) for label in labels], dtype=np.int64)
    else:
        sizes = _length_array(code)
        if sizes.size != probabilities.size:
            raise InputError(
                f"has {sizes.size} lengths but p has {probabilities.size} symbols",
                argument="code",
                hint="give one length per symbol of p (0: no codeword)",
            )
    occurring = probabilities > 0
    if np.any(sizes[occurring] == 0):
        return math.inf
    return math.fsum((probabilities[occurring] * sizes[occurring]).tolist())


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _huffman_lengths(weights: np.ndarray) -> np.ndarray:
    """Codeword lengths (int64) of a Huffman code for positive ``weights`` (one symbol: length 1).

    Two queues instead of a heap: the leaves sorted by (weight, later symbol first) and the
    merged subtrees in the order they were made, whose weights never decrease (in floating
    point too: rounding is monotone). Taking the lighter front, a leaf at equal weight, pops
    exactly what a heap keyed (weight, leaves before subtrees, later leaves first, older
    subtrees first) would.

    The merges run in vectorised rounds. Let ``s`` be the weight of the first subtree a round
    makes (the two lightest fronts). Every waiting item of weight ``<= s`` is popped before
    ``s`` and before any later merge (all of them weigh at least ``s``; at a tie a leaf goes
    before a subtree and an older subtree before a newer one), so the ``c`` such items, in the
    two queues' merged order, are popped exactly as the one-at-a-time loop pops them: pairs
    ``(0, 1), (2, 3), ...``; an odd one out waits for the next round. After two rounds the
    lightest weight has at least doubled, so there are at most ``2 log2(total / lightest) + 2``
    rounds (a few thousand at the very worst in float64) and ``O(n)`` work in NumPy in all.
    """
    count = len(weights)
    if count <= 1:
        return np.ones(count, dtype=np.int64)
    # Ascending weight; at equal weight the later symbol first (lexsort: last key is primary).
    order = np.lexsort((-np.arange(count), weights))
    leaf_weights = weights[order]
    merged = np.empty(count - 1, dtype=np.float64)  # subtree j is node count + j
    parent = np.empty(2 * count - 1, dtype=np.int64)
    rounds = []  # (first, end) subtrees made in each round: their parents come from later rounds
    leaf, subtree, made = 0, 0, 0  # fronts of the two queues, subtrees made so far
    while (count - leaf) + (made - subtree) > 1:
        waiting_merged = merged[subtree:made]
        # The two lightest fronts (a leaf first at a tie) give the round's first new weight.
        fronts = np.concatenate((leaf_weights[leaf : leaf + 2], waiting_merged[:2]))
        first_two = np.argsort(fronts, kind="stable")[:2]  # stable: leaves (listed first) win ties
        lightest = float(fronts[first_two[0]] + fronts[first_two[1]])
        # Everything waiting that weighs <= lightest goes in this round (both queues are sorted).
        leaves_in = int(np.searchsorted(leaf_weights[leaf:], lightest, side="right"))
        merged_in = int(np.searchsorted(waiting_merged, lightest, side="right"))
        candidates = np.concatenate((leaf_weights[leaf : leaf + leaves_in], waiting_merged[:merged_in]))
        nodes = np.concatenate(
            (order[leaf : leaf + leaves_in], np.arange(count + subtree, count + subtree + merged_in))
        )
        popped = np.argsort(candidates, kind="stable")  # the queues' merged order, a leaf first at a tie
        pairs = len(popped) // 2
        popped = popped[: 2 * pairs]
        # Which of the candidates were popped: a prefix of each queue.
        taken_leaves = int(np.count_nonzero(popped < leaves_in))
        taken_merged = 2 * pairs - taken_leaves
        weights_popped = candidates[popped]
        merged[made : made + pairs] = weights_popped[0::2] + weights_popped[1::2]
        parent[nodes[popped]] = np.repeat(np.arange(count + made, count + made + pairs), 2)
        rounds.append((made, made + pairs))
        leaf += taken_leaves
        subtree += taken_merged
        made += pairs
    return _depths(parent, count, rounds)


def _depths(parent: np.ndarray, count: int, rounds: list) -> np.ndarray:
    """Depth of each leaf; ``parent`` of every node but the root (the last subtree made).

    A subtree's parent is made in a later round than the subtree itself, so walking the rounds
    backwards gives every subtree its depth (its parent's plus one) one round at a time, and
    then every leaf.
    """
    depth = np.zeros(count - 1, dtype=np.int64)  # of the subtrees; the root's stays 0
    for first, end in reversed(rounds[:-1]):  # the last round makes only the root
        depth[first:end] = depth[parent[count + first : count + end] - count] + 1
    return depth[parent[:count] - count] + 1


def _canonical_codewords(sizes: np.ndarray, wanted: np.ndarray) -> list[str]:
    """Canonical codewords of the positions ``wanted`` (each with ``sizes > 0``).

    In (length, position) order over every position with a codeword, codeword j is
    ``sum_{i<j} 2^-l_i`` written with ``l_j`` bits; with every length at most 63 the sums are
    exact in uint64 (``2^(L - l_i)`` with ``L`` the longest), and the wanted words of each
    length are spelt out at once as a (count, length) array of digits.
    """
    if not wanted.size:
        return []
    coded = np.flatnonzero(sizes)
    order = coded[np.argsort(sizes[coded], kind="stable")]  # stable: ties keep position order
    longest = int(sizes[order[-1]])
    if longest > 63:  # very deep trees (weights spanning more than 2^63): Python's unbounded ints
        return _canonical_codewords_slowly(sizes, order, wanted)
    shifts = (longest - sizes[order]).astype(np.uint64)
    starts = np.concatenate(
        ([np.uint64(0)], np.cumsum(np.left_shift(np.uint64(1), shifts), dtype=np.uint64)[:-1])
    )
    values = np.zeros(len(sizes), dtype=np.uint64)
    values[order] = np.right_shift(starts, shifts)
    wanted_sizes = sizes[wanted]
    words = np.empty(len(wanted), dtype=object)
    for size in np.unique(wanted_sizes).tolist():
        members = np.flatnonzero(wanted_sizes == size)
        # One ASCII line per codeword: '0'/'1' digits, then a newline; str.split makes the strings in C.
        lines = np.full((members.size, size + 1), ord("\n"), dtype=np.uint8)
        bits = np.unpackbits(values[wanted[members]].astype(">u8").view(np.uint8).reshape(-1, 8), axis=1)
        lines[:, :size] = bits[:, 64 - size :] + ord(
            "0"
        )  # the last `size` of the 64 bits, most significant first
        words[members] = lines.tobytes().decode("ascii").split("\n")[:-1]
    return words.tolist()


def _canonical_codewords_slowly(sizes: np.ndarray, order: np.ndarray, wanted: np.ndarray) -> list[str]:
    words = {}
    value, previous = 0, 0
    for i in order.tolist():
        size = int(sizes[i])
        value <<= size - previous
        previous = size
        words[i] = format(value, f"0{size}b")
        value += 1
    return [words[i] for i in wanted.tolist()]


def _lengths_by_position(probabilities: np.ndarray) -> np.ndarray:
    """Huffman codeword lengths by position, 0 where the probability is 0."""
    lengths = np.zeros(len(probabilities), dtype=np.int64)
    positive = np.flatnonzero(probabilities > 0)
    lengths[positive] = _huffman_lengths(probabilities[positive])
    return lengths


def _checked_code(code: Any) -> Mapping[Any, str]:
    if not isinstance(code, Mapping):
        raise InputTypeError(
            f"must be a mapping label -> codeword, got {type(code).__name__}", argument="code"
        )
    for label, word in code.items():
        _check_codeword(label, word)
    return code


def _check_codeword(label: Any, word: Any) -> None:
    # str.strip runs in C: a codeword is non-empty and nothing is left once its 0s and 1s go.
    if not isinstance(word, str) or not word or word.strip("01"):
        raise InputError(
            f"= {word!r} is not a codeword",
            argument="code",
            index=label,
            value=repr(word)[:60],
            hint="codewords are non-empty strings of '0' and '1'",
        )


def _lengths_of(code: Mapping[Any, Any] | Iterable[Any]) -> dict[Any, int]:
    """label -> length from codewords, from lengths, or from a sequence of lengths."""
    if isinstance(code, Mapping):
        words = list(code.values())
        # All codewords (the usual case) are checked at C speed: none empty, nothing but 0s and 1s.
        if all(type(word) is str for word in words) and all(words) and not "".join(words).strip("01"):
            return dict(zip(code.keys(), map(len, words)))
    items: Iterable[tuple[Any, Any]] = code.items() if isinstance(code, Mapping) else enumerate(code)
    lengths: dict[Any, int] = {}
    for label, value in items:
        if isinstance(value, str):
            _check_codeword(label, value)
            lengths[label] = len(value)
        elif isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= 0:
            lengths[label] = int(value)
        else:
            raise InputError(
                f"= {value!r} is neither a codeword (a string of '0'/'1') nor a length (an int >= 0)",
                argument="code",
                index=label,
                value=repr(value)[:60],
            )
    return lengths


def _length_array(code: Mapping[Any, Any] | ArrayLike) -> np.ndarray:
    """Codeword lengths as an int64 array: from a mapping's values, or a sequence/array by position."""
    if isinstance(code, Mapping):
        return np.fromiter(_lengths_of(code).values(), dtype=np.int64, count=len(code))
    if isinstance(code, (str, bytes)):
        raise InputTypeError(
            f"must be a mapping label -> codeword or a sequence of lengths, got {type(code).__name__}",
            argument="code",
        )
    values = np.asarray(_array.to_numpy(code) if _array.is_array(code) else code)
    if values.ndim == 1 and values.dtype.kind in "iu":  # the array form: checked at NumPy speed
        negative = np.flatnonzero(values < 0)
        if negative.size:
            position = int(negative[0])
            raise InputError(
                f"= {int(values[position])} is neither a codeword (a string of '0'/'1') nor a length "
                "(an int >= 0)",
                argument="code",
                index=position,
                value=repr(int(values[position])),
            )
        return values.astype(np.int64, copy=False)
    if values.ndim > 1:
        raise InputError(
            f"must be one length per symbol (1-D), got shape {tuple(values.shape)}", argument="code"
        )
    return np.fromiter(_lengths_of(list(code)).values(), dtype=np.int64)


def _one_distribution(name: str, p: ArrayLike, *, normalize: bool) -> tuple[np.ndarray, list[Any]]:
    """One validated distribution as a NumPy float64 vector, and its labels."""
    inputs = prepare({name: p}, axis=-1, normalize=normalize, validate=True)
    (array,) = inputs.checked()
    values = np.asarray(_array.to_numpy(array), dtype=np.float64)
    if values.ndim != 1:
        raise InputError(f"must be one distribution (1-D), got shape {tuple(values.shape)}", argument=name)
    labels = inputs.labels if inputs.labels is not None else list(range(values.shape[0]))
    return values, labels
