"""Entropy as a bit count: Huffman codes, arithmetic coding under a model, a byte compressor.

``H(p)`` is the shortest average code length, and ``H(p, q)`` the average length when the
code was built for ``q`` but the messages come from ``p``; the excess is exactly
``D(p || q)``. This package makes both readings checkable:

* :mod:`~infoloss.coding.huffman`: :func:`huffman_code` builds an optimal prefix code;
  :func:`expected_length` measures any code under any distribution (``H(p) <= L < H(p) + 1``;
  a code built for a dyadic ``q`` has ``L = H(p, q)`` under ``p``); :func:`kraft_sum` is
  ``sum 2^-l``; :func:`code_lengths`; :func:`huffman_lengths` and :func:`canonical_code` give
  the same code as arrays (millions of symbols without a string each).
* :mod:`~infoloss.coding.range`: :func:`arithmetic_encode` / :func:`arithmetic_decode` code a
  symbol sequence under one fixed distribution or one distribution per position (a
  classifier's predicted probabilities) with the range coder of
  `constriction <https://bamler-lab.github.io/constriction/>`_; the size is within two 32-bit
  words of ``sum_i -log2 q_i(x_i)`` (:func:`ideal_code_length`), i.e. ``n`` times the
  cross-entropy in bits; :func:`coder_probabilities` gives the 24-bit model the coder really
  uses, under which the size is within 64 bits of the ideal with no per-symbol cost. The
  only module that talks to constriction.
* :mod:`~infoloss.coding.files`: :func:`compress_file` / :func:`decompress_file` (and
  :func:`compress` / :func:`decompress` for bytes in memory) code a file's bytes under an
  order-0 model, fitted to the file or given (the cross-entropy view), with bounded, atomic
  reading and writing; :func:`byte_counts`.
* :mod:`~infoloss.coding.container`: the versioned, checksummed file format and its checks
  (:class:`FormatError`).

Symbols of unlabelled distributions are numbered from 0 throughout (``infoloss code`` too).
"""

import importlib
from typing import Any

# Each name lives in one submodule, imported on first access (PEP 562): the command line's
# `infoloss --help` then imports none of them, and `infoloss code compress` only what it uses.
_HOMES = {
    "FormatError": "container",
    **dict.fromkeys(
        [
            "CompressionStats",
            "DecompressionStats",
            "byte_counts",
            "compress",
            "compress_file",
            "decompress",
            "decompress_file",
        ],
        "files",
    ),
    **dict.fromkeys(
        ["canonical_code", "code_lengths", "expected_length", "huffman_code", "huffman_lengths", "kraft_sum"],
        "huffman",
    ),
    **dict.fromkeys(
        ["Compressed", "arithmetic_decode", "arithmetic_encode", "coder_probabilities", "ideal_code_length"],
        "range",
    ),
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))


__all__ = [
    "huffman_code",
    "huffman_lengths",
    "canonical_code",
    "code_lengths",
    "kraft_sum",
    "expected_length",
    "ideal_code_length",
    "coder_probabilities",
    "arithmetic_encode",
    "arithmetic_decode",
    "Compressed",
    "byte_counts",
    "compress",
    "decompress",
    "compress_file",
    "decompress_file",
    "CompressionStats",
    "DecompressionStats",
    "FormatError",
]
