"""The compressed format of ``infoloss code compress`` (version 1) and the engine behind it.

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

Reading checks, in order: magic, version, header length, header CRC, header consistency,
payload length against the file's size (truncation, trailing bytes), payload CRC, then the
SHA-256 of the decoded bytes before the output file is moved into place.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tempfile
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"\x89ILC\r\n\x1a\n"
VERSION = 1
MODEL_ORDER0 = 1
PRECISION = 24
TOTAL = 1 << PRECISION
CHUNK = 1 << 20  # bytes per block: the int32 symbols of a block (4 MiB) stay in cache

_FIXED = struct.Struct("<8sHBBQQI32sH")  # magic .. k: 66 bytes
_ENTRY = np.dtype([("byte", "u1"), ("frequency", "<u4")])  # 5 bytes, packed
_CRC = struct.Struct("<I")


class FormatError(ValueError):
    """A compressed file that cannot be decoded: foreign, newer, truncated or corrupted."""


@dataclass(frozen=True)
class CompressionStats:
    """What :func:`infoloss.coding.compress_file` did; rates in bits per original byte.

    ``entropy`` is ``H(p)`` of the data's byte distribution ``p`` (the order-0 bound),
    ``cross_entropy`` is ``H(p, q)`` under the coding model ``q`` as stored (24-bit), and
    ``kl_divergence`` is ``D(p || q)``: what the model costs over the bound. None for empty input.
    """

    original_bytes: int
    compressed_bytes: int
    header_bytes: int
    payload_bytes: int
    entropy: float | None
    cross_entropy: float | None
    kl_divergence: float | None
    model: str  # "fitted" (the data's own byte frequencies) or "given"
    seconds: float

    @property
    def bits_per_byte(self) -> float | None:
        """Whole output (header included) in bits per original byte."""
        return 8 * self.compressed_bytes / self.original_bytes if self.original_bytes else None

    @property
    def payload_bits_per_byte(self) -> float | None:
        """Coded payload in bits per original byte: what ``cross_entropy`` predicts."""
        return 8 * self.payload_bytes / self.original_bytes if self.original_bytes else None

    @property
    def overhead(self) -> float | None:
        """Payload bits per byte minus the predicted cross-entropy (the coder's own cost)."""
        if not self.original_bytes:
            return None
        return self.payload_bits_per_byte - self.cross_entropy


@dataclass(frozen=True)
class DecompressionStats:
    """What :func:`infoloss.coding.decompress_file` did."""

    compressed_bytes: int
    original_bytes: int
    seconds: float


@dataclass(frozen=True)
class Scan:
    """One pass over the data: byte counts, length and checksums."""

    counts: np.ndarray  # int64, 256
    length: int
    sha256: bytes
    crc32: int


@dataclass(frozen=True)
class Header:
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
# Public engine (called by infoloss.coding)
# --------------------------------------------------------------------------------------------


def scan(source, progress=None) -> Scan:
    """Count bytes and hash ``source`` (bytes-like or path) in one pass."""
    data = _Source(source)
    counts = np.zeros(256, dtype=np.int64)
    sha, crc, done = hashlib.sha256(), 0, 0
    for chunk in data.chunks():
        sha.update(chunk)
        crc = zlib.crc32(chunk, crc)
        counts += _count_bytes(chunk)
        done += chunk.size
        _report(progress, "scan", done, data.size)
    return Scan(counts=counts, length=done, sha256=sha.digest(), crc32=crc)


def compress_bytes(data, *, model=None, floor=None) -> bytes:
    header, payload, _ = _compress(_Source(data), model=model, floor=floor, progress=None)
    return header.pack() + bytes(payload)


def decompress_bytes(blob) -> bytes:
    blob = bytes(blob)
    header, payload = _read(io.BytesIO(blob), len(blob), "data")
    out = io.BytesIO()
    _decode_into(header, payload, out, "data", progress=None)
    return out.getvalue()


def compress_path(source, target, *, model, floor, force, progress) -> CompressionStats:
    start = time.perf_counter()
    _check_target(source, target, force)
    header, payload, stats = _compress(_Source(source), model=model, floor=floor, progress=progress)
    with _output(target, force) as out:
        out.write(header.pack())
        out.write(payload)
    return CompressionStats(**stats, header_bytes=header.size, payload_bytes=len(payload),
                            compressed_bytes=header.size + len(payload), seconds=time.perf_counter() - start)


def decompress_path(source, target, *, force, progress) -> DecompressionStats:
    start = time.perf_counter()
    _check_target(source, target, force)
    name = str(source)
    with open(source, "rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        header, payload = _read(stream, size, name)
    with _output(target, force) as out:
        _decode_into(header, payload, out, name, progress=progress)
    return DecompressionStats(compressed_bytes=size, original_bytes=header.length,
                              seconds=time.perf_counter() - start)


def quantise(probabilities: np.ndarray) -> np.ndarray:
    """Integer frequencies summing to 2**24, >= 1 exactly where ``probabilities > 0``.

    Rounds ``p * 2**24`` to the nearest integer (at least 1), then moves the rounding residue
    (at most a few hundred units) onto the most probable byte, where one unit changes the
    probability least.
    """
    frequencies = np.where(probabilities > 0, np.maximum(1, np.rint(probabilities * TOTAL)), 0).astype(np.int64)
    frequencies[int(np.argmax(frequencies))] += TOTAL - int(frequencies.sum())
    return frequencies


# --------------------------------------------------------------------------------------------
# Compression
# --------------------------------------------------------------------------------------------


def _compress(data: "_Source", *, model, floor, progress):
    import constriction

    from ..measures import cross_entropy, entropy, kl_divergence

    seen = scan(data.source, progress)
    probabilities = _model_probabilities(seen, model, floor)
    frequencies = quantise(probabilities) if probabilities is not None else np.zeros(256, np.int64)
    unmodelled = (seen.counts > 0) & (frequencies == 0)
    if unmodelled.any():
        _raise_unmodelled(data, unmodelled)

    byte_values = np.flatnonzero(frequencies).astype(np.uint8)
    payload = memoryview(b"")
    if seen.length and len(byte_values) > 1:
        coder_model = constriction.stream.model.Categorical(frequencies[byte_values] / TOTAL, perfect=True)
        to_symbol = np.zeros(256, dtype=np.int32)
        to_symbol[byte_values] = np.arange(len(byte_values), dtype=np.int32)
        identity = int(byte_values[-1]) == len(byte_values) - 1  # skip the lookup when possible
        encoder = constriction.stream.queue.RangeEncoder()
        crc, done = 0, 0
        for chunk in data.chunks():
            crc = zlib.crc32(chunk, crc)
            encoder.encode(chunk.astype(np.int32) if identity else to_symbol[chunk], coder_model)
            done += chunk.size
            _report(progress, "encode", done, seen.length)
        if crc != seen.crc32 or done != seen.length:
            raise RuntimeError(f"{data.name} changed while it was being compressed; nothing was written")
        words = encoder.get_compressed()
        del encoder  # free the coder's buffer before the header and the write
        payload = memoryview(words.astype("<u4", copy=False)).cast("B")  # no copy on little-endian

    header = Header(
        length=seen.length, payload_bytes=len(payload), payload_crc=zlib.crc32(payload),
        sha256=seen.sha256, byte_values=byte_values, frequencies=frequencies[byte_values],
    )
    figures = {"entropy": None, "cross_entropy": None, "kl_divergence": None}
    if seen.length:
        counts, coded = seen.counts.astype(np.float64), frequencies.astype(np.float64)
        figures = {
            "entropy": entropy(counts, base=2, normalize=True),
            "cross_entropy": cross_entropy(counts, coded, base=2, normalize=True),
            "kl_divergence": kl_divergence(counts, coded, base=2, normalize=True),
        }
    figures = {key: None if value is None else float(value) for key, value in figures.items()}
    stats = dict(original_bytes=seen.length, model="fitted" if model is None else "given", **figures)
    return header, payload, stats


def _model_probabilities(seen: Scan, model, floor):
    """The order-0 model as 256 probabilities (floored), or None for empty data and no model."""
    if model is None:
        if not seen.length:
            return None
        weights = seen.counts.astype(np.float64)
    else:
        weights = _checked_model(model)
    probabilities = weights / weights.sum()
    if floor is not None:
        if isinstance(floor, bool) or not isinstance(floor, (int, float, np.floating)) or not 0 < floor < 1:
            raise ValueError(f"floor must be a probability in (0, 1), got floor={floor!r}")
        probabilities = np.maximum(probabilities, float(floor))
        probabilities /= probabilities.sum()
    return probabilities


def _checked_model(model) -> np.ndarray:
    try:
        weights = np.asarray(model, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"model must be 256 byte counts or probabilities, could not read it as numbers ({error})") from None
    if weights.shape != (256,):
        raise ValueError(f"model must hold one weight per byte value, shape (256,), got shape {weights.shape}")
    bad = np.flatnonzero(~(np.isfinite(weights) & (weights >= 0)))
    if bad.size:
        raise ValueError(f"model[{int(bad[0])}] = {weights[bad[0]]!r}; byte weights must be finite and >= 0")
    if weights.sum() <= 0:
        raise ValueError("model is all zeros; it must give some byte a positive weight")
    return weights


def _raise_unmodelled(data: "_Source", unmodelled: np.ndarray):
    offset = 0
    for chunk in data.chunks():
        hits = np.flatnonzero(unmodelled[chunk])
        if hits.size:
            position = offset + int(hits[0])
            value = int(chunk[hits[0]])
            raise ValueError(
                f"byte {value} (0x{value:02x}, {bytes([value])!r}) at offset {position} of {data.name} "
                "has probability 0 under the model (it never occurs in the model's data), so it cannot "
                "be coded; pass a floor probability (floor=1e-6, or --floor 1e-6) to give every byte "
                "value at least that much"
            )
        offset += chunk.size
    raise RuntimeError(f"{data.name} changed while it was being compressed")


def _count_bytes(chunk: np.ndarray) -> np.ndarray:
    """Byte histogram; counting byte pairs (uint16) halves bincount's per-element work."""
    even = chunk.size & ~1
    pairs = np.bincount(chunk[:even].view(np.uint16), minlength=1 << 16).reshape(256, 256)
    counts = pairs.sum(axis=0) + pairs.sum(axis=1)  # both bytes of each pair, either byte order
    if chunk.size & 1:
        counts[chunk[-1]] += 1
    return counts


# --------------------------------------------------------------------------------------------
# Decompression
# --------------------------------------------------------------------------------------------


def _read(stream, size: int, name: str):
    """Parse and check the header, then read and check the payload."""
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

    available = size - header.size
    if available < payload_bytes:
        raise FormatError(
            f"{name} is truncated: its header announces a {payload_bytes}-byte payload but only "
            f"{max(available, 0)} bytes follow"
        )
    if available > payload_bytes:
        raise FormatError(
            f"{name} has {available - payload_bytes} unexpected byte(s) after its {payload_bytes}-byte "
            "payload (damaged, or something was appended)"
        )
    payload = stream.read(payload_bytes)
    if len(payload) != payload_bytes:
        raise FormatError(f"{name} is truncated: the payload is {len(payload)} of {payload_bytes} bytes")
    if zlib.crc32(payload) != payload_crc:
        raise FormatError(f"{name} has a corrupted payload (payload checksum mismatch); refusing to decode it")
    return header, payload


def _check_consistent(header: Header, kind: int, precision: int, name: str) -> None:
    """Fields that passed the CRC but make no sense: a writer bug or a forged file."""
    problems = []
    if kind != MODEL_ORDER0:
        problems.append(f"unknown model kind {kind}")
    if precision != PRECISION:
        problems.append(f"model precision {precision} bits (expected {PRECISION})")
    k = len(header.byte_values)
    if k and (np.any(np.diff(header.byte_values.astype(np.int64)) <= 0) or np.any(header.frequencies < 1)
              or int(header.frequencies.sum()) != TOTAL):
        problems.append("the model table is not increasing byte values with frequencies summing to 2**24")
    if header.length and not k:
        problems.append(f"{header.length} bytes but an empty model")
    if header.payload_bytes % 4 or ((header.length == 0 or k == 1) and header.payload_bytes):
        problems.append(f"payload length {header.payload_bytes}")
    if problems:
        raise FormatError(f"{name} has an inconsistent header: {'; '.join(problems)}")


def _decode_into(header: Header, payload: bytes, out, name: str, *, progress) -> None:
    """Decode block by block into ``out``; FormatError unless the SHA-256 matches."""
    sha, done = hashlib.sha256(), 0
    for block in _decoded_blocks(header, payload, name):
        sha.update(block)
        out.write(block)
        done += block.size
        _report(progress, "decode", done, header.length)
    if done != header.length or sha.digest() != header.sha256:
        raise FormatError(f"{name} decodes to bytes whose SHA-256 differs from the original's; refusing to write them")


def _decoded_blocks(header: Header, payload: bytes, name: str):
    import constriction

    remaining = header.length
    if remaining and len(header.byte_values) == 1:
        block = np.full(min(CHUNK, remaining), header.byte_values[0], dtype=np.uint8)
        while remaining:
            yield block[: min(CHUNK, remaining)]
            remaining -= min(CHUNK, remaining)
        return
    if not remaining:
        return
    coder_model = constriction.stream.model.Categorical(header.frequencies / TOTAL, perfect=True)
    decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(payload, dtype="<u4").astype(np.uint32, copy=False))
    byte_values = header.byte_values
    identity = int(byte_values[-1]) == len(byte_values) - 1
    while remaining:
        count = min(CHUNK, remaining)
        try:
            symbols = decoder.decode(coder_model, count)
        except Exception as error:  # noqa: BLE001 - constriction reports damaged data by raising
            raise FormatError(f"{name} has a payload that cannot be decoded ({error})") from None
        yield symbols.astype(np.uint8) if identity else byte_values[symbols]
        remaining -= count


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


class _Source:
    """Bytes-like data or a file path, read in CHUNK-sized uint8 arrays (one pass per call)."""

    def __init__(self, source):
        self.source = source
        if isinstance(source, (str, os.PathLike)):
            self.path, self.name = Path(source), str(source)
            self.size = self.path.stat().st_size
        else:
            self.path, self.name = None, "data"
            self.view = np.frombuffer(memoryview(source).cast("B"), dtype=np.uint8)
            self.size = self.view.size

    def chunks(self):
        if self.path is None:
            for start in range(0, self.size, CHUNK):
                yield self.view[start:start + CHUNK]
            return
        buffer = bytearray(CHUNK)
        with open(self.path, "rb", buffering=0) as stream:
            while True:
                count = stream.readinto(buffer)
                if not count:
                    return
                yield np.frombuffer(buffer, dtype=np.uint8, count=count)


def _check_target(source, target, force: bool) -> None:
    target = Path(target)
    if target.exists():
        if Path(source).exists() and os.path.samefile(source, target):
            raise ValueError(f"{target} is the input file itself; choose another output path")
        if not force:
            raise FileExistsError(f"{target} already exists; pass force=True (--force) to overwrite it")
        if target.is_dir():
            raise IsADirectoryError(f"{target} is a directory, not a file")


@contextmanager
def _output(target, force: bool):
    """Write to a temporary file beside ``target``; move it into place only on success."""
    target = Path(target)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            yield stream
        os.chmod(temporary, 0o666 & ~_umask())
        if target.exists() and not force:
            raise FileExistsError(f"{target} already exists; pass force=True (--force) to overwrite it")
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _report(progress, phase: str, done: int, total: int) -> None:
    if progress is not None:
        progress(phase, done, total)
