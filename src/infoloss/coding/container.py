"""The compressed format of ``infoloss code compress`` (version 1): header, payload, checks.

Layout, little-endian, 70 + 5k header bytes then the payload::

    offset  size  field
    0       8     magic  89 49 4C 43 0D 0A 1A 0A  ("\\x89ILC\\r\\n\\x1a\\n", PNG-style: catches
                  7-bit and newline-translating transfers)
    8       2     format version (1); everything after this field may change with the version
    10      1     model kind (1 = static order-0 byte model)
    11      1     model precision in bits (24: frequencies sum to 2**24)
    12      8     original length n in bytes
    20      8     payload length in bytes (a multiple of 4)
    28      4     CRC-32 of the payload
    32      32    SHA-256 of the original bytes
    64      2     k, the number of byte values in the model (0..256)
    66      5k    k entries (byte value u8, frequency u32), byte values increasing, frequencies
                  >= 1 summing to 2**24; probability of a byte = frequency / 2**24
    66+5k   4     CRC-32 of header bytes [0, 66+5k)
    70+5k   ...   payload: constriction 0.5 RangeEncoder output (32-bit words), coding the n
                  bytes as indices into the model's byte values under
                  Categorical(frequencies / 2**24, perfect=True). Empty when n = 0 or k = 1.

Reading checks, in order, all before a single output byte exists: magic, version, header
length, header CRC, header consistency (including that the payload can hold n bytes at the
model's shortest code length, see :mod:`infoloss.coding.range`), payload length against the
file's size (truncation, trailing bytes), payload CRC, the caller's size limit. While decoding,
the decoder stops as soon as it would read past the payload; at the end the SHA-256 of the
decoded bytes must match before the output is moved into place.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from .._validate import InputError
from .range import TOTAL, BoundedDecoder, Encoder, PayloadExhausted, apply_floor, capacity_symbols, quantise

MAGIC = b"\x89ILC\r\n\x1a\n"
VERSION = 1
MODEL_ORDER0 = 1
PRECISION = 24
CHUNK = 1 << 20  # bytes per block: the int32 symbols of a block (4 MiB) stay in cache

_FIXED = struct.Struct("<8sHBBQQI32sH")  # magic .. k: 66 bytes
_ENTRY = np.dtype([("byte", "u1"), ("frequency", "<u4")])  # 5 bytes, packed
_CRC = struct.Struct("<I")
HEADER_MAX = _FIXED.size + 256 * _ENTRY.itemsize + _CRC.size


class FormatError(InputError):
    """A compressed file that cannot be decoded: foreign, newer, truncated, corrupted or forged.

    An :class:`infoloss.InputError` (so a ``ValueError``) whose message names the file.
    """


@dataclass(frozen=True)
class Scan:
    """One pass over the data: byte counts, length and checksums."""

    counts: np.ndarray  # int64, 256
    length: int
    sha256: bytes
    crc32: int


@dataclass(frozen=True)
class Header:
    """The fields of a version-1 header (see the module docstring)."""

    length: int
    payload_bytes: int
    payload_crc: int
    sha256: bytes
    byte_values: np.ndarray  # uint8, increasing
    frequencies: np.ndarray  # int64, sum TOTAL (empty only for empty data)

    @property
    def size(self) -> int:
        return _FIXED.size + _ENTRY.itemsize * len(self.byte_values) + _CRC.size

    def pack(self) -> bytes:
        entries = np.empty(len(self.byte_values), dtype=_ENTRY)
        entries["byte"] = self.byte_values
        entries["frequency"] = self.frequencies
        body = _FIXED.pack(
            MAGIC, VERSION, MODEL_ORDER0, PRECISION, self.length, self.payload_bytes,
            self.payload_crc, self.sha256, len(self.byte_values),
        ) + entries.tobytes()
        return body + _CRC.pack(zlib.crc32(body))


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def scan(source, progress=None) -> Scan:
    """Count bytes and hash ``source`` (anything with ``chunks()`` and ``size``) in one pass."""
    counts = np.zeros(256, dtype=np.int64)
    sha, crc, done = hashlib.sha256(), 0, 0
    for chunk in source.chunks():
        sha.update(chunk)
        crc = zlib.crc32(chunk, crc)
        counts += _count_bytes(chunk)
        done += chunk.size
        _report(progress, "scan", done, source.size)
    return Scan(counts=counts, length=done, sha256=sha.digest(), crc32=crc)


def build(source, *, model, floor, progress):
    """Header, payload and the predicted rates of ``source`` coded under ``model`` (or its own)."""
    from ..measures import cross_entropy, entropy, kl_divergence

    seen = scan(source, progress)
    probabilities = _model_probabilities(seen, model, floor)
    frequencies = quantise(probabilities) if probabilities is not None else np.zeros(256, np.int64)
    unmodelled = (seen.counts > 0) & (frequencies == 0)
    if unmodelled.any():
        _raise_unmodelled(source, unmodelled)

    byte_values = np.flatnonzero(frequencies).astype(np.uint8)
    payload = memoryview(b"")
    if seen.length and len(byte_values) > 1:
        payload = _encode(source, seen, byte_values, frequencies[byte_values], progress)
    header = Header(
        length=seen.length, payload_bytes=len(payload), payload_crc=zlib.crc32(payload),
        sha256=seen.sha256, byte_values=byte_values, frequencies=frequencies[byte_values],
    )
    figures = {"entropy": None, "cross_entropy": None, "kl_divergence": None}
    if seen.length:
        counts, coded = seen.counts.astype(np.float64), frequencies.astype(np.float64)
        figures = {
            "entropy": float(entropy(counts, base=2, normalize=True)),
            "cross_entropy": float(cross_entropy(counts, coded, base=2, normalize=True)),
            "kl_divergence": float(kl_divergence(counts, coded, base=2, normalize=True)),
        }
    return header, payload, dict(original_bytes=seen.length, model="fitted" if model is None else "given", **figures)


def _encode(source, seen: Scan, byte_values, frequencies, progress) -> memoryview:
    probabilities = frequencies / TOTAL
    to_symbol = np.zeros(256, dtype=np.int32)
    to_symbol[byte_values] = np.arange(len(byte_values), dtype=np.int32)
    identity = int(byte_values[-1]) == len(byte_values) - 1  # skip the lookup when possible
    encoder = Encoder()
    crc, done = 0, 0
    for chunk in source.chunks():
        crc = zlib.crc32(chunk, crc)
        encoder.encode(chunk.astype(np.int32) if identity else to_symbol[chunk], probabilities, perfect=True)
        done += chunk.size
        _report(progress, "encode", done, seen.length)
    if crc != seen.crc32 or done != seen.length:
        raise InputError("changed while it was being compressed; nothing was written", argument=source.name)
    words = encoder.words()
    del encoder  # free the coder's buffer before the header and the write
    return memoryview(words.astype("<u4", copy=False)).cast("B")  # no copy on little-endian


def _model_probabilities(seen: Scan, model, floor):
    """The order-0 model as 256 probabilities (floored), or None for empty data and no model."""
    if model is None:
        if not seen.length:
            apply_floor(np.ones(1), floor)  # the floor is checked even when there is nothing to code
            return None
        weights = seen.counts.astype(np.float64)
    else:
        weights = _checked_model(model)
    return apply_floor(weights / weights.sum(), floor)


def _checked_model(model) -> np.ndarray:
    try:
        weights = np.asarray(model, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputError(f"must be 256 byte counts or probabilities, could not read it as numbers ({error})",
                         argument="model") from None
    if weights.shape != (256,):
        raise InputError(f"must hold one weight per byte value, shape (256,), got shape {weights.shape}",
                         argument="model")
    bad = np.flatnonzero(~(np.isfinite(weights) & (weights >= 0)))
    if bad.size:
        raise InputError(f"= {weights[bad[0]]!r}; byte weights must be finite and >= 0", argument="model",
                         index=(int(bad[0]),), value=float(weights[bad[0]]))
    if weights.sum() <= 0:
        raise InputError("is all zeros; it must give some byte a positive weight", argument="model")
    return weights


def _raise_unmodelled(source, unmodelled: np.ndarray):
    offset = 0
    for chunk in source.chunks():
        hits = np.flatnonzero(unmodelled[chunk])
        if hits.size:
            position = offset + int(hits[0])
            value = int(chunk[hits[0]])
            raise InputError(
                f"byte {value} (0x{value:02x}, {bytes([value])!r}) at offset {position} of {source.name} "
                "has probability 0 under the model (it never occurs in the model's data), so it cannot "
                "be coded", argument=None, value=value,
                hint="pass a floor probability (floor=1e-6, or --floor 1e-6) to give every byte value at least that much")
        offset += chunk.size
    raise InputError("changed while it was being compressed; nothing was written", argument=source.name)


def _count_bytes(chunk: np.ndarray) -> np.ndarray:
    """Byte histogram; counting byte pairs (uint16) halves bincount's per-element work."""
    even = chunk.size & ~1
    pairs = np.bincount(chunk[:even].view(np.uint16), minlength=1 << 16).reshape(256, 256)
    counts = pairs.sum(axis=0) + pairs.sum(axis=1)  # both bytes of each pair, either byte order
    if chunk.size & 1:
        counts[chunk[-1]] += 1
    return counts


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def read(stream, size: int, name: str, *, max_output: int | None = None):
    """Parse and check the header, then read and check the payload; nothing is decoded yet.

    ``stream`` is positioned at the start of the file, whose total size is ``size``; at most
    ``HEADER_MAX`` bytes of header and the announced payload (checked against ``size`` first)
    are read. ``max_output``: refuse a file that announces more original bytes.
    """
    header = _read_header(stream, size, name)
    if max_output is not None and header.length > max_output:
        raise FormatError(
            f"{name} announces {header.length:,} original bytes, more than the limit of {max_output:,}; "
            "refusing to decode it", argument=None, value=header.length,
            hint="raise the limit (max_output=, --max-size) if you trust the file")
    available = size - header.size
    if available < header.payload_bytes:
        raise FormatError(
            f"{name} is truncated: its header announces a {header.payload_bytes}-byte payload but only "
            f"{max(available, 0)} bytes follow"
        )
    if available > header.payload_bytes:
        raise FormatError(
            f"{name} has {available - header.payload_bytes} unexpected byte(s) after its "
            f"{header.payload_bytes}-byte payload (damaged, or something was appended)"
        )
    payload = stream.read(header.payload_bytes)
    if len(payload) != header.payload_bytes:
        raise FormatError(f"{name} is truncated: the payload is {len(payload)} of {header.payload_bytes} bytes")
    if zlib.crc32(payload) != header.payload_crc:
        raise FormatError(f"{name} has a corrupted payload (payload checksum mismatch); refusing to decode it")
    return header, payload


def decoded_blocks(header: Header, payload: bytes, name: str, *, progress=None):
    """The original bytes block by block (uint8 arrays); FormatError unless the SHA-256 matches.

    The check of the last block raises before that block is yielded, so a caller that writes
    the blocks as they come never holds a complete wrong output.
    """
    sha, done = hashlib.sha256(), 0
    pending = None
    for block in _blocks(header, payload, name):
        if pending is not None:
            yield pending
        sha.update(block)
        done += block.size
        _report(progress, "decode", done, header.length)
        pending = block
    if done != header.length or sha.digest() != header.sha256:
        raise FormatError(f"{name} decodes to bytes whose SHA-256 differs from the original's; refusing to write them")
    if pending is not None:
        yield pending


def _read_header(stream, size: int, name: str) -> Header:
    head = stream.read(len(MAGIC))
    if head != MAGIC:
        if not head:
            raise FormatError(f"{name} is empty (0 bytes), not an infoloss compressed file")
        if len(head) < len(MAGIC) and MAGIC.startswith(head):
            raise FormatError(f"{name} is truncated: {len(head)} bytes, shorter than the {_FIXED.size + 4}-byte header")
        raise FormatError(
            f"{name} is not an infoloss compressed file: it starts with {head.hex(' ')}, "
            f"not the magic bytes {MAGIC.hex(' ')}"
        )
    version_bytes = stream.read(2)
    if len(version_bytes) < 2:
        raise FormatError(f"{name} is truncated inside its header ({size} bytes)")
    (version,) = struct.unpack("<H", version_bytes)
    if version != VERSION:
        raise FormatError(
            f"{name} is in compressed format version {version}; this infoloss reads version {VERSION} "
            "(the file was written by another infoloss version, or its header is damaged)"
        )
    rest = stream.read(_FIXED.size - 10)
    if len(rest) < _FIXED.size - 10:
        raise FormatError(f"{name} is truncated inside its header ({size} bytes)")
    body = head + version_bytes + rest
    _, _, kind, precision, length, payload_bytes, payload_crc, sha, k = _FIXED.unpack(body)
    if k > 256:
        raise FormatError(f"{name} has a corrupted header (it lists {k} byte values; at most 256 exist)")
    table = stream.read(_ENTRY.itemsize * k + _CRC.size)
    if len(table) < _ENTRY.itemsize * k + _CRC.size:
        raise FormatError(f"{name} is truncated inside its header ({size} bytes)")
    body += table[:-_CRC.size]
    if zlib.crc32(body) != _CRC.unpack(table[-_CRC.size:])[0]:
        raise FormatError(f"{name} has a corrupted header (header checksum mismatch); refusing to decode it")
    entries = np.frombuffer(body, dtype=_ENTRY, offset=_FIXED.size)
    header = Header(length, payload_bytes, payload_crc, sha, entries["byte"].copy(),
                    entries["frequency"].astype(np.int64))
    _check_consistent(header, kind, precision, name)
    return header


def _check_consistent(header: Header, kind: int, precision: int, name: str) -> None:
    """Fields that passed the CRC but make no sense: a writer bug or a forged file."""
    problems = []
    if kind != MODEL_ORDER0:
        problems.append(f"unknown model kind {kind}")
    if precision != PRECISION:
        problems.append(f"model precision {precision} bits (expected {PRECISION})")
    k = len(header.byte_values)
    model_ok = not k or not (np.any(np.diff(header.byte_values.astype(np.int64)) <= 0)
                             or np.any(header.frequencies < 1) or int(header.frequencies.sum()) != TOTAL)
    if not model_ok:
        problems.append("the model table is not increasing byte values with frequencies summing to 2**24")
    if header.length and not k:
        problems.append(f"{header.length} bytes but an empty model")
    if header.payload_bytes % 4 or ((header.length == 0 or k == 1) and header.payload_bytes):
        problems.append(f"payload length {header.payload_bytes}")
    if header.length and k > 1 and not header.payload_bytes:
        problems.append(f"{header.length} bytes of {k} byte values but an empty payload")
    if model_ok and not problems:
        capacity = capacity_symbols(header.payload_bytes // 4, header.frequencies)
        if capacity is not None and header.length > capacity:
            problems.append(
                f"it announces {header.length:,} bytes, but a {header.payload_bytes}-byte payload holds at "
                f"most {capacity:,} under its model (each byte costs at least the shortest code length)")
    if problems:
        raise FormatError(f"{name} has an inconsistent header: {'; '.join(problems)}")


def _blocks(header: Header, payload: bytes, name: str):
    remaining = header.length
    if remaining and len(header.byte_values) == 1:
        block = np.full(min(CHUNK, remaining), header.byte_values[0], dtype=np.uint8)
        while remaining:
            yield block[: min(CHUNK, remaining)]
            remaining -= min(CHUNK, remaining)
        return
    if not remaining:
        return
    decoder = BoundedDecoder(np.frombuffer(payload, dtype="<u4").astype(np.uint32, copy=False), header.frequencies)
    byte_values = header.byte_values
    identity = int(byte_values[-1]) == len(byte_values) - 1
    while remaining:
        count = min(CHUNK, remaining)
        try:
            symbols = decoder.decode(count)
        except PayloadExhausted as error:
            raise FormatError(f"{name}'s payload {error.reason}; refusing to decode it") from None
        except Exception as error:  # noqa: BLE001 - constriction reports damaged data by raising
            raise FormatError(f"{name} has a payload that cannot be decoded ({error})") from None
        yield symbols.astype(np.uint8) if identity else byte_values[symbols]
        remaining -= count


def _report(progress, phase: str, done: int, total: int) -> None:
    if progress is not None:
        progress(phase, done, total)
