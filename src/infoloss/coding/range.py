"""Arithmetic (range) coding under a model: the one place that talks to ``constriction``.

Two users share this wiring: :func:`arithmetic_encode` / :func:`arithmetic_decode` (any
symbols under one fixed or one per-position model, ``perfect=False``: constriction quantises)
and the byte compressor (an order-0 model quantised here to 24-bit frequencies, ``perfect=True``:
the file stores exactly the model the coder used), which streams blocks through
:class:`Encoder` and :class:`BoundedDecoder`.

Words and information. constriction's range coder keeps a 64-bit range and emits a 32-bit
word whenever the range falls below 2^32; coding a symbol of probability ``f / 2^24`` shrinks
the range by at least that factor (the truncation only shrinks it more). So after ``I`` bits
of information the encoder has emitted ``W >= (I - 32) / 32`` words, and a payload of ``P``
words can carry at most ``I <= 32 P + 32`` bits (measured: ``I - 32 P <= -1.4`` on random
models). The decoder mirrors the encoder word for word, so counting the information of what it
has decoded counts the words it has read: once ``I`` passes ``32 P + 64`` it is reading past
the payload's end (constriction then feeds it zeros, forever), and :class:`BoundedDecoder`
stops. Before decoding anything, ``n * min_bits <= 32 P + 64`` (``min_bits`` the shortest
code length in the model) bounds how many symbols a payload can hold at all.

References: R. Bamler, "Understanding entropy coding with asymmetric numeral systems (ANS): a
statistician's perspective", arXiv:2201.01741 (constriction's design); T. M. Cover and
J. A. Thomas, *Elements of Information Theory*, 2nd ed., sec. 13.3 (arithmetic coding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NoReturn, overload

import numpy as np

from .. import _array
from .._typing import ArrayLike
from .._validate import InputError, InputTypeError, check_real

__all__ = ["Compressed", "ideal_code_length", "coder_probabilities", "arithmetic_encode", "arithmetic_decode"]

PRECISION = 24  # bits of the byte compressor's model: frequencies sum to 2**24
TOTAL = 1 << PRECISION
WORD_BITS = 32
SLACK_BITS = 64  # two words: the final flush, and rounding of the information sums


@dataclass(frozen=True)
class Compressed:
    """A symbol sequence coded by :func:`arithmetic_encode`.

    Attributes:
      data: the range coder's output, 32-bit words in little-endian byte order.
      length: the number of symbols coded.
      ideal_bits: ``sum_i -log2 q_i(x_i)`` under the model used (after any floor): the
        information content that the size approaches.
    """

    data: bytes
    length: int
    ideal_bits: float

    @property
    def bits(self) -> int:
        """The compressed size in bits (``8 * len(data)``)."""
        return 8 * len(self.data)


def ideal_code_length(
    symbols: ArrayLike, q: ArrayLike, /, *, floor: float | None = None, normalize: bool = False
) -> float:
    """``sum_i -log2 q_i(x_i)`` in bits: the code length of ``symbols`` under the model ``q``.

    For ``n`` samples from ``p`` and a fixed ``q`` this is ``n H(p_hat, q)``, ``p_hat`` the
    empirical distribution: cross-entropy as a bit count (the negative log-likelihood of the
    data under the model, in bits). ``+inf`` if some symbol has probability 0 (unless
    ``floor`` is given). Arguments as for :func:`arithmetic_encode`.

    >>> ideal_code_length([0, 1, 2, 3, 0], [1/2, 1/4, 1/8, 1/8])
    10.0
    """
    table, labels, fixed = _model("q", q, floor=floor, normalize=normalize)
    x = _symbol_indices(symbols, labels, table.shape[-1])
    _check_length(x, table, fixed)
    probabilities = _probabilities_of(x, table, fixed)
    if np.any(probabilities == 0):
        return math.inf
    return float(-np.sum(np.log2(probabilities))) + 0.0


def coder_probabilities(
    q: ArrayLike, /, *, floor: float | None = None, normalize: bool = False
) -> np.ndarray | dict[Any, float]:
    """The probabilities :func:`arithmetic_encode` actually codes with, for each row of ``q``.

    The range coder works in 24-bit fixed point: each distribution of ``K`` probabilities
    (after ``floor``) becomes integer weights summing to ``2^24``, every one at least 1. With
    ``S_k = q_0 + ... + q_(k-1)`` summed left to right in float64 and
    ``s = (2^24 - K) / S_K``, symbol ``k`` starts at ``floor(S_k s) + k`` and ends where the
    next starts (the last at ``2^24``); its probability is the width over ``2^24``. This is
    constriction's ``from_floating_point_probabilities_fast`` rule (``perfect=False``,
    constriction 0.5), checked against the coder itself in the tests.

    So ``ideal_code_length(symbols, coder_probabilities(q))`` is the information content
    under the model the coder really used: the coded size is within 64 bits of it (two
    32-bit words of termination), whereas the unquantised ``sum_i -log2 q_i(x_i)`` can be
    off by thousands of bits when many coded symbols have ``q < 2^-24``. A one-symbol
    alphabet is coded in 0 bits: probability 1.

    Args:
      q, floor, normalize: as for :func:`arithmetic_encode`.

    Returns:
      float64 probabilities (multiples of ``2^-24``) in the shape of ``q``: ``(K,)`` or
      ``(n, K)``; a dict label -> probability when ``q`` is a mapping.

    >>> (coder_probabilities([[0.5, 0.5], [1.0, 0.0]]) * 2**24).astype(int).tolist()
    [[8388608, 8388608], [16777215, 1]]
    >>> q = [0.7, 0.2, 0.1]
    >>> symbols = [0, 0, 1, 0, 2, 0, 0, 1]
    >>> 0 <= arithmetic_encode(symbols, q).bits - ideal_code_length(symbols, coder_probabilities(q)) <= 64
    True

    Reference: R. Bamler, constriction 0.5 documentation, ``ContiguousCategoricalEntropyModel``
    and ``LazyContiguousCategoricalEntropyModel``, ``from_floating_point_probabilities_fast``.
    """
    table, labels, fixed = _model("q", q, floor=floor, normalize=normalize)
    probabilities = coder_weights(table) / TOTAL
    if fixed:
        probabilities = probabilities[0]
        if labels is not None:
            return dict(zip(labels, probabilities.tolist()))
    return probabilities


def arithmetic_encode(
    symbols: ArrayLike, q: ArrayLike, /, *, floor: float | None = None, normalize: bool = False
) -> Compressed:
    """Code ``symbols`` under the model ``q`` with a range coder (arithmetic coding).

    The size is within 64 bits (two 32-bit output words) of ``sum_i -log2 q_i(x_i)``, plus a
    per-symbol cost of the coder's 24-bit fixed-point arithmetic (typically about 1e-4 bit,
    tested below 1e-3); that is ``n`` times the cross-entropy between the data and the model,
    in bits. (Probabilities below ``2^-24`` are coded as ``2^-24``, so rare symbols may cost
    less than their ideal length.) Decode with :func:`arithmetic_decode` and the same ``q``
    (and ``floor``).

    The coder is ``constriction``'s ``RangeEncoder`` with its ``Categorical`` model
    (``perfect=False``): a maintained Rust implementation, exact (integer arithmetic, so
    encoder and decoder agree bit for bit on every platform), tens of MB/s from NumPy arrays.

    Args:
      symbols: a 1-D sequence/array of ints in ``[0, K)``, or of labels when ``q`` is a mapping.
      q: the model: one distribution of length ``K`` for every position (sequence, 1-D array
        or mapping label -> probability), or a 2-D array ``(n, K)`` with one distribution per
        position (e.g. a classifier's predicted probabilities for each sample). Any backend.
      floor: if given (``0 < floor < 1``), every probability is raised to at least ``floor``
        and each distribution renormalised, so that any symbol can be coded. Without it, a
        symbol with probability 0 is an error naming its position.
      normalize: divide each distribution of ``q`` by its sum first.

    Returns:
      a :class:`Compressed` with the bytes, the number of symbols and the ideal size in bits.

    >>> q = [0.7, 0.2, 0.1]
    >>> message = arithmetic_encode([0, 0, 1, 0, 2, 0, 0, 1], q)
    >>> message.bits, round(message.ideal_bits, 2)
    (32, 10.54)
    >>> arithmetic_decode(message, q).tolist()
    [0, 0, 1, 0, 2, 0, 0, 1]
    """
    table, labels, fixed = _model("q", q, floor=floor, normalize=normalize)
    x = _symbol_indices(symbols, labels, table.shape[-1])
    _check_length(x, table, fixed)
    probabilities = _probabilities_of(x, table, fixed)
    zero = np.flatnonzero(probabilities == 0)
    if zero.size:
        _raise_zero_probability(int(zero[0]), symbols, labels, x, fixed)
    ideal = float(-np.sum(np.log2(probabilities))) + 0.0  # + 0.0: no -0.0 for empty input
    data = b""
    if table.shape[-1] > 1 and x.size:  # a one-symbol alphabet carries no information
        encoder = Encoder()
        encoder.encode(x.astype(np.int32), table[0] if fixed else table, perfect=False)
        data = encoder.words().astype("<u4", copy=False).tobytes()
    return Compressed(data=data, length=int(x.size), ideal_bits=ideal)


def arithmetic_decode(
    compressed: Compressed, q: ArrayLike, /, *, floor: float | None = None, normalize: bool = False
) -> np.ndarray | list[Any]:
    """The symbols coded in ``compressed``, decoded under the same model ``q`` (and ``floor``).

    Returns a NumPy int64 array, or a list of labels when ``q`` is a mapping. Decoding with a
    model other than the encoder's gives other symbols: the model is part of the key. A
    ``Compressed`` whose ``length`` the data cannot hold under ``q`` (more than its words can
    carry at the model's shortest code length) is refused before anything is decoded.
    See :func:`arithmetic_encode` for an example.
    """
    if not isinstance(compressed, Compressed):
        raise InputTypeError(
            f"must be a Compressed from arithmetic_encode, got {type(compressed).__name__}",
            argument="compressed",
        )
    table, labels, fixed = _model("q", q, floor=floor, normalize=normalize)
    n = compressed.length
    if not fixed and table.shape[0] != n:
        raise InputError(
            f"has {table.shape[0]} per-position distributions but {n} symbols were coded", argument="q"
        )
    if table.shape[-1] == 1 or n == 0:
        x = np.zeros(n, dtype=np.int64)
    else:
        if len(compressed.data) % 4:
            raise InputError(
                f"has {len(compressed.data)} bytes, not a whole number of 32-bit words",
                argument="compressed.data",
            )
        words = np.frombuffer(compressed.data, dtype="<u4").astype(np.uint32)
        # constriction quantises (perfect=False) so that no symbol's probability exceeds
        # 1 - (K - 1) 2^-24: the shortest code length under q is at least that one's.
        shortest = -np.log2(np.minimum(table.max(axis=-1), 1 - (table.shape[-1] - 1) / TOTAL))
        minimum_bits = float(shortest[0] * n if fixed else shortest.sum())
        if minimum_bits > capacity_bits(words.size):
            raise InputError(
                f"announces {n} symbols, which need at least {minimum_bits:.0f} bits under q, but its "
                f"{words.size} words hold at most {capacity_bits(words.size)}",
                argument="compressed",
                hint="it was not made by arithmetic_encode with this q, or it is damaged",
            )
        x = _categorical_decode(words, table[0] if fixed else table, n).astype(np.int64)
    return [labels[i] for i in x] if labels is not None else x


# --------------------------------------------------------------------------------------------
# The byte compressor's wiring: quantised model, streaming encoder, bounded decoder
# --------------------------------------------------------------------------------------------


def quantise(probabilities: np.ndarray) -> np.ndarray:
    """Integer frequencies summing to 2**24, >= 1 exactly where ``probabilities > 0``.

    Rounds ``p * 2**24`` to the nearest integer (at least 1), then moves the rounding residue
    (at most a few hundred units) onto the most probable byte, where one unit changes the
    probability least.

    >>> quantise(np.array([0.5, 0.25, 0.25, 0.0])).tolist()
    [8388608, 4194304, 4194304, 0]
    """
    frequencies = np.where(probabilities > 0, np.maximum(1, np.rint(probabilities * TOTAL)), 0).astype(
        np.int64
    )
    frequencies[int(np.argmax(frequencies))] += TOTAL - int(frequencies.sum())
    return frequencies


def coder_weights(table: np.ndarray) -> np.ndarray:
    """Integer weights (rows summing to 2**24) that ``Categorical(perfect=False)`` gives ``table``'s rows.

    See :func:`coder_probabilities`: starts ``floor(S_k (2^24 - K) / S_K) + k``, the last
    symbol ending at ``2^24``. ``np.cumsum`` adds left to right, as the coder does, so the
    float64 running sums, and hence the truncations, are the coder's own.

    >>> coder_weights(np.array([[0.25, 0.75]])).tolist()
    [[4194304, 12582912]]
    """
    rows, size = table.shape
    if size == 1:  # nothing to code: arithmetic_encode writes no words for a one-symbol alphabet
        return np.full((rows, 1), TOTAL, dtype=np.int64)
    running = np.cumsum(table, axis=1)
    scale = float(TOTAL - size) / running[:, -1:]
    starts = np.empty((rows, size + 1), dtype=np.int64)
    starts[:, 0] = 0
    # Symbol k > 0 starts at floor(S_k s) + k (truncation towards zero, as Rust's float -> int cast).
    starts[:, 1:size] = np.floor(running[:, :-1] * scale).astype(np.int64) + np.arange(1, size)
    starts[:, size] = TOTAL
    return np.diff(starts, axis=1)


def code_bits(frequencies: np.ndarray) -> np.ndarray:
    """``-log2(f / 2^24)``: each symbol's code length in bits under a quantised model."""
    return -np.log2(np.asarray(frequencies, dtype=np.float64) / TOTAL)


@overload
def capacity_bits(words: int) -> int: ...
@overload
def capacity_bits(words: np.ndarray) -> np.ndarray: ...
def capacity_bits(words: int | np.ndarray) -> int | np.ndarray:
    """The most information ``words`` 32-bit words of range-coder output can carry (plus slack)."""
    return WORD_BITS * words + SLACK_BITS


@overload
def capacity_symbols(words: int, frequencies: np.ndarray) -> int | None: ...
@overload
def capacity_symbols(words: np.ndarray, frequencies: np.ndarray) -> np.ndarray | None: ...
def capacity_symbols(words: int | np.ndarray, frequencies: np.ndarray) -> int | np.ndarray | None:
    """How many symbols ``words`` words can hold at most under ``frequencies`` (None: unbounded).

    Every symbol costs at least the shortest code length; a one-symbol model costs nothing.
    ``words`` an int (an int is returned) or an array of word counts (an int64 array).
    """
    if len(frequencies) < 2:
        return None
    shortest = float(code_bits(frequencies).min())
    if np.ndim(words) == 0:
        return math.floor(capacity_bits(int(words)) / shortest)
    return np.floor(capacity_bits(np.asarray(words, dtype=np.int64)) / shortest).astype(np.int64)


class Encoder:
    """constriction's queue ``RangeEncoder``, fed block by block (first in, first out)."""

    def __init__(self) -> None:
        import constriction

        self._coder = constriction.stream.queue.RangeEncoder()

    def encode(self, symbols: np.ndarray, probabilities: np.ndarray, *, perfect: bool) -> None:
        """Code int32 ``symbols`` under one distribution (1-D) or one per symbol (2-D)."""
        import constriction

        if probabilities.ndim == 1:
            self._coder.encode(symbols, constriction.stream.model.Categorical(probabilities, perfect=perfect))
        else:
            self._coder.encode(symbols, constriction.stream.model.Categorical(perfect=perfect), probabilities)

    def words(self) -> np.ndarray:
        """The output so far, uint32 words (the coder flushes its state into the last ones)."""
        return self._coder.get_compressed()


class PayloadExhausted(InputError):
    """The decoder was asked for more symbols than the payload holds."""


class BoundedDecoder:
    """Decodes bytes of one quantised model from a payload, never past its end.

    Counts the information of what it has decoded (the words it has read, see the module
    docstring) and raises :class:`PayloadExhausted` as soon as that exceeds what the payload's
    words can carry, instead of decoding constriction's zero padding forever. The count costs
    one byte histogram per call (:func:`count_bytes`, pairs of bytes at a time).
    """

    def __init__(self, words: np.ndarray, byte_values: np.ndarray, frequencies: np.ndarray) -> None:
        import constriction

        self._coder = constriction.stream.queue.RangeDecoder(words)
        self._model = constriction.stream.model.Categorical(frequencies / TOTAL, perfect=True)
        self._byte_values = byte_values
        self._identity = int(byte_values[-1]) == len(byte_values) - 1  # byte value = symbol index
        self._bits = np.zeros(256)  # code length of each byte value (0 for values not in the model)
        self._bits[byte_values] = code_bits(frequencies)
        self._capacity = capacity_bits(words.size)
        self._decoded_bits = 0.0

    def decode(self, count: int) -> np.ndarray:
        """The next ``count`` bytes (uint8)."""
        symbols = self._coder.decode(self._model, count)
        data = symbols.astype(np.uint8) if self._identity else np.take(self._byte_values, symbols)
        self._decoded_bits += float(count_bytes(data) @ self._bits)
        if self._decoded_bits > self._capacity:
            raise PayloadExhausted(
                f"is exhausted: its {self._capacity - SLACK_BITS} bits hold fewer symbols than the header announces",
                argument="payload",
            )
        return data


def count_bytes(chunk: np.ndarray) -> np.ndarray:
    """Byte histogram (256 int64 counts) of a uint8 array; counting byte pairs (uint16) halves
    bincount's per-element work.

    >>> count_bytes(np.frombuffer(b"abracadabra", np.uint8))[[97, 98, 114]].tolist()
    [5, 2, 2]
    """
    even = chunk.size & ~1
    pairs = np.bincount(chunk[:even].view(np.uint16), minlength=1 << 16).reshape(256, 256)
    counts = pairs.sum(axis=0) + pairs.sum(axis=1)  # both bytes of each pair, either byte order
    if chunk.size & 1:
        counts[chunk[-1]] += 1
    return counts


# --------------------------------------------------------------------------------------------
# Helpers: models and symbols of arithmetic_encode
# --------------------------------------------------------------------------------------------


def _categorical_decode(words: np.ndarray, probabilities: np.ndarray, count: int) -> np.ndarray:
    import constriction

    decoder = constriction.stream.queue.RangeDecoder(words)
    if probabilities.ndim == 1:
        return decoder.decode(constriction.stream.model.Categorical(probabilities, perfect=False), count)
    return decoder.decode(constriction.stream.model.Categorical(perfect=False), probabilities)


def _model(
    name: str, q: ArrayLike, *, floor: float | None, normalize: bool
) -> tuple[np.ndarray, list[Any] | None, bool]:
    """(table (rows, K) float64, labels or None, fixed?) with the floor applied."""
    from .._convert import prepare  # here: the compressor's start-up does not need the public edge

    inputs = prepare({name: q}, axis=-1, normalize=normalize, validate=True)
    (array,) = inputs.checked()
    table = np.asarray(_array.to_numpy(array), dtype=np.float64)
    if table.ndim not in (1, 2):
        raise InputError(
            f"must be one distribution (1-D) or one per position (2-D, (n, K)), got shape {tuple(table.shape)}",
            argument=name,
        )
    fixed = table.ndim == 1
    return apply_floor(np.atleast_2d(table), floor), inputs.labels, fixed


def apply_floor(probabilities: np.ndarray, floor: float | None) -> np.ndarray:
    """``max(p, floor)`` renormalised along the last axis; ``p`` itself when ``floor`` is None."""
    check_real(
        "floor",
        floor,
        low=0,
        high=1,
        low_open=True,
        high_open=True,
        allow_none=True,
        meaning="the least probability every symbol gets",
    )
    if floor is None:
        return probabilities
    floored = np.maximum(probabilities, float(floor))
    return floored / floored.sum(axis=-1, keepdims=True)


def _symbol_indices(symbols: ArrayLike, labels: list[Any] | None, size: int) -> np.ndarray:
    """Symbols as int64 indices into the alphabet, checked: error names position and value."""
    if labels is not None:
        index = {label: i for i, label in enumerate(labels)}
        out = np.empty(len(symbols), dtype=np.int64)
        for position, symbol in enumerate(symbols):
            if symbol not in index:
                raise InputError(
                    f"= {symbol!r} is not a label of q (labels: {_short(labels)})",
                    argument="symbols",
                    index=(position,),
                    value=_short(symbol),
                )
            out[position] = index[symbol]
        return out
    values = np.asarray(_array.to_numpy(symbols) if _array.is_array(symbols) else symbols)
    if values.ndim != 1:
        raise InputError(f"must be a 1-D sequence, got shape {tuple(values.shape)}", argument="symbols")
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    if values.dtype.kind == "f":  # integer-valued floats (labels stored as floats) are fine
        bad = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))
        if bad.size:
            position = int(bad[0])
            raise InputTypeError(
                f"= {float(values[position])!r} is not an integer symbol",
                argument="symbols",
                index=(position,),
                value=float(values[position]),
                hint=f"symbols index q's alphabet 0..{size - 1}",
            )
        values = values.astype(np.int64)
    elif values.dtype.kind not in "iu":
        raise InputTypeError(
            f"must be integers indexing q's alphabet 0..{size - 1}, got {values.dtype} values",
            argument="symbols",
        )
    outside = np.flatnonzero((values < 0) | (values >= size))
    if outside.size:
        position = int(outside[0])
        raise InputError(
            f"= {int(values[position])} is outside q's alphabet 0..{size - 1}",
            argument="symbols",
            index=(position,),
            value=int(values[position]),
        )
    return values.astype(np.int64, copy=False)


def _check_length(x: np.ndarray, table: np.ndarray, fixed: bool) -> None:
    if not fixed and table.shape[0] != x.size:
        raise InputError(
            f"has {table.shape[0]} per-position distributions but symbols has {x.size} entries", argument="q"
        )


def _probabilities_of(x: np.ndarray, table: np.ndarray, fixed: bool) -> np.ndarray:
    if fixed:
        return table[0, x]
    return table[np.arange(x.size), x]


def _raise_zero_probability(
    position: int, symbols: ArrayLike, labels: list[Any] | None, x: np.ndarray, fixed: bool
) -> NoReturn:
    symbol = symbols[position] if labels is not None else int(x[position])
    where = "q" if fixed else f"q[{position}]"
    raise InputError(
        f"= {symbol!r} has probability 0 under {where}, so it cannot be coded (its code length -log2 0 is infinite)",
        argument="symbols",
        index=(position,),
        value=_short(symbol),
        hint="pass floor=1e-9 (or another small probability) to give every symbol at least that probability",
    )


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
