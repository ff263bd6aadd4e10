"""The compressed format of ``infoloss code compress``: versions 1 and 2, their checks.

Both versions are little-endian: a header, then the payload. Version 2 (written by default)
cuts the data into blocks coded independently (on every core, :mod:`~infoloss.coding.blocks`),
with an index of the blocks in the header; version 1 (one coder for the whole file) is still
read, and written on request (``format_version=1``).

Version 2, 66 + 5k + 16m header bytes, then the m block payloads one after another::

    offset  size  field
    0       8     magic  89 49 4C 43 0D 0A 1A 0A  ("\\x89ILC\\r\\n\\x1a\\n", PNG-style: catches
                  7-bit and newline-translating transfers)
    8       2     format version (2); everything after this field may change with the version
    10      1     model kind (1 = static order-0 byte model)
    11      1     model precision in bits (24: frequencies sum to 2**24)
    12      8     original length n in bytes
    20      4     block length B in original bytes (1 .. 2**26): every block holds B bytes,
                  the last one the remaining 1 .. B
    24      4     block count m = ceil(n / B), or 0 when n = 0 or k = 1 (nothing to code)
    28      32    SHA-256 of the original bytes
    60      2     k, the number of byte values in the model (0..256)
    62      5k    k entries (byte value u8, frequency u32), byte values increasing, frequencies
                  >= 1 summing to 2**24; probability of a byte = frequency / 2**24
    62+5k   16m   block index, one entry per block: payload offset u64 (from the end of the
                  header), payload length u32 (a positive multiple of 4), CRC-32 u32 of that
                  payload; the offsets are the running sums of the lengths (block i starts
                  where block i - 1 ends)
    62+5k+16m 4   CRC-32 of header bytes [0, 62+5k+16m)
    66+5k+16m ... the payloads: block i is constriction 0.5 RangeEncoder output (32-bit words)
                  coding its bytes as indices into the model's byte values under
                  Categorical(frequencies / 2**24, perfect=True), a fresh coder per block.

Version 1, 70 + 5k header bytes then one payload::

    0       8     magic (as above)
    8       2     format version (1)
    10      1     model kind (1)
    11      1     model precision in bits (24)
    12      8     original length n in bytes
    20      8     payload length in bytes (a multiple of 4)
    28      4     CRC-32 of the payload
    32      32    SHA-256 of the original bytes
    64      2     k
    66      5k    k model entries, as in version 2
    66+5k   4     CRC-32 of header bytes [0, 66+5k)
    70+5k   ...   payload: one RangeEncoder output for all n bytes. Empty when n = 0 or k = 1.

Reading checks, in order, all before a single output byte exists: magic, version, header
length (a version-2 index of m entries must fit in the file before it is read, and m must be
ceil(n / B)), header CRC, header consistency (the model; the index's offsets and lengths,
which must add up to the file's size exactly; that each payload can hold its bytes at the
model's shortest code length, see :mod:`infoloss.coding.range`), truncation and trailing
bytes, the caller's size limit; version 1 also checks its payload CRC here, version 2 each
block's CRC before that block is decoded. While decoding, the decoder stops as soon as it
would read past a payload; at the end the SHA-256 of the decoded bytes must match before the
output is moved into place (the last block is withheld until then).
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar, Literal, NoReturn, Protocol, cast

import numpy as np

from .._typing import ArrayLike
from .._validate import InputError
from .blocks import BlockModel, BlockPool, read_at
from .range import (
    TOTAL,
    BoundedDecoder,
    Encoder,
    PayloadExhausted,
    apply_floor,
    capacity_symbols,
    count_bytes,
    quantise,
)

MAGIC = b"\x89ILC\r\n\x1a\n"
VERSION = 2  # written by default
VERSIONS = (1, 2)  # read
MODEL_ORDER0 = 1
PRECISION = 24
CHUNK = (
    1 << 20
)  # bytes read at a time, and version 2's block length B: a block's int32 symbols (4 MiB) stay in cache
MAX_BLOCK_BYTES = 1 << 26  # the largest B a version-2 file may declare (a block is decoded whole, in memory)

_FIXED = struct.Struct("<8sHBBQQI32sH")  # version 1, magic .. k: 66 bytes
_FIXED_V2 = struct.Struct("<8sHBBQII32sH")  # version 2, magic .. k: 62 bytes
_ENTRY = np.dtype([("byte", "u1"), ("frequency", "<u4")])  # 5 bytes, packed
_BLOCK = np.dtype([("offset", "<u8"), ("length", "<u4"), ("crc", "<u4")])  # 16 bytes
_CRC = struct.Struct("<I")
HEADER_MAX = _FIXED.size + 256 * _ENTRY.itemsize + _CRC.size  # version 1; version 2 adds 16 bytes a block


#: ``progress(phase, done_bytes, total_bytes)``, called as each pass advances.
Progress = Callable[[str, int, int], object]


class Source(Protocol):
    """What the writer reads: ``size`` bytes named ``name``, as uint8 arrays of ``CHUNK`` bytes (the
    last one shorter) from the start per pass, or any part by offset (from any process)."""

    name: str
    size: int

    def chunks(self) -> Iterator[np.ndarray]: ...

    def read(self, offset: int, length: int) -> Any: ...  # a bytes-like object of at most length bytes

    def current_size(self) -> int: ...


class Sink(Protocol):
    """Where the decoder puts the original bytes: written and read back by offset, from any process."""

    def write(self, offset: int, data: np.ndarray) -> None: ...

    def read(self, offset: int, length: int) -> Any: ...  # a bytes-like object


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
    block_crcs: list[int]  # CRC-32 of each CHUNK of the data, in order (the second pass compares)


@dataclass(frozen=True)
class Header:
    """The fields of a version-1 header (see the module docstring)."""

    length: int
    payload_bytes: int
    payload_crc: int
    sha256: bytes
    byte_values: np.ndarray  # uint8, increasing
    frequencies: np.ndarray  # int64, sum TOTAL (empty only for empty data)
    version: ClassVar[Literal[1]] = 1

    @property
    def size(self) -> int:
        return _FIXED.size + _ENTRY.itemsize * len(self.byte_values) + _CRC.size

    def pack(self) -> bytes:
        body = _FIXED.pack(
            MAGIC,
            1,
            MODEL_ORDER0,
            PRECISION,
            self.length,
            self.payload_bytes,
            self.payload_crc,
            self.sha256,
            len(self.byte_values),
        ) + _entries(self.byte_values, self.frequencies)
        return body + _CRC.pack(zlib.crc32(body))


@dataclass(frozen=True)
class HeaderV2:
    """The fields of a version-2 header: the model once, then the block index."""

    length: int
    block_bytes: int
    sha256: bytes
    byte_values: np.ndarray  # uint8, increasing
    frequencies: np.ndarray  # int64, sum TOTAL (empty only for empty data)
    blocks: np.ndarray  # _BLOCK entries: offset, length, crc
    version: ClassVar[Literal[2]] = 2

    @property
    def size(self) -> int:
        return (
            _FIXED_V2.size
            + _ENTRY.itemsize * len(self.byte_values)
            + _BLOCK.itemsize * len(self.blocks)
            + _CRC.size
        )

    @property
    def payload_bytes(self) -> int:
        return int(self.blocks["length"].sum(dtype=np.int64)) if len(self.blocks) else 0

    def block_counts(self) -> np.ndarray:
        """Original bytes in each block: B, ..., B, and the rest in the last."""
        counts = np.full(len(self.blocks), self.block_bytes, dtype=np.int64)
        if len(counts):
            counts[-1] = self.length - self.block_bytes * (len(counts) - 1)
        return counts

    def pack(self) -> bytes:
        body = (
            _FIXED_V2.pack(
                MAGIC,
                2,
                MODEL_ORDER0,
                PRECISION,
                self.length,
                self.block_bytes,
                len(self.blocks),
                self.sha256,
                len(self.byte_values),
            )
            + _entries(self.byte_values, self.frequencies)
            + np.ascontiguousarray(self.blocks, dtype=_BLOCK).tobytes()
        )
        return body + _CRC.pack(zlib.crc32(body))


def _entries(byte_values: np.ndarray, frequencies: np.ndarray) -> bytes:
    entries = np.empty(len(byte_values), dtype=_ENTRY)
    entries["byte"] = byte_values
    entries["frequency"] = frequencies
    return entries.tobytes()


def block_count(length: int, block_bytes: int, k: int) -> int:
    """m = ceil(n / B) blocks, none when there is nothing to code (n = 0, or one byte value)."""
    return 0 if length == 0 or k < 2 else -(-length // block_bytes)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def scan(source: Source, progress: Progress | None = None, workers: int | None = None) -> Scan:
    """Count bytes and hash ``source`` (anything with ``chunks()`` and ``size``) in one pass.

    With ``workers`` (None: as :class:`~infoloss.coding.blocks.BlockPool` decides, from the
    size) above 1, the blocks are counted on that many processes while this one hashes them
    in order; a source whose size changes meanwhile is refused.
    """
    blocks = -(-source.size // CHUNK)
    with BlockPool(None, workers, blocks, source.size) as pool:
        if pool.forked:
            return _scan_blocks(source, pool, blocks, progress)
    counts = np.zeros(256, dtype=np.int64)
    sha, done, block_crcs = hashlib.sha256(), 0, []
    for chunk in source.chunks():
        # .data: the array's buffer (NumPy's stubs call an array a Buffer only on Python >= 3.12).
        sha.update(chunk.data)
        block_crcs.append(zlib.crc32(chunk.data))
        counts += count_bytes(chunk)
        done += chunk.size
        _report(progress, "scan", done, source.size)
    return Scan(counts=counts, length=done, sha256=sha.digest(), block_crcs=block_crcs)


def _scan_blocks(source: Source, pool: BlockPool, blocks: int, progress: Progress | None) -> Scan:
    """The scan on every core: blocks counted by any process, hashed here in order."""
    counts = np.zeros(256, dtype=np.int64)
    sha, done, block_crcs = hashlib.sha256(), 0, []

    def read_block(number: int) -> Any:
        return source.read(number * CHUNK, CHUNK)

    for number, (block_counts, crc, length) in enumerate(pool.counted(read_block, blocks)):
        if length != min(CHUNK, source.size - number * CHUNK):
            _raise_changed(source)
        sha.update(read_block(number))
        counts += block_counts
        block_crcs.append(crc)
        done += length
        _report(progress, "scan", done, source.size)
    return Scan(counts=counts, length=done, sha256=sha.digest(), block_crcs=block_crcs)


@dataclass(frozen=True)
class Plan:
    """What the first pass over the data decided: its scan, the model as coded, the predicted rates."""

    seen: Scan
    byte_values: np.ndarray  # uint8, increasing
    frequencies: np.ndarray  # int64 (sum TOTAL), one per byte value
    figures: dict[str, Any]


def plan(
    source: Source,
    *,
    model: ArrayLike | None,
    floor: float | None,
    progress: Progress | None,
    workers: int | None = None,
) -> Plan:
    """Scan ``source`` (on ``workers`` processes) and fix the model (its own bytes', or ``model``);
    refuse unmodelled bytes.

    Nothing is written yet: every problem with the data or the model is raised before any output exists.
    """
    seen = scan(source, progress, workers)
    probabilities = _model_probabilities(seen, model, floor)
    frequencies = quantise(probabilities) if probabilities is not None else np.zeros(256, np.int64)
    unmodelled = (seen.counts > 0) & (frequencies == 0)
    if unmodelled.any():
        _raise_unmodelled(source, unmodelled)
    byte_values = np.flatnonzero(frequencies).astype(np.uint8)
    figures = dict(
        original_bytes=seen.length,
        model="fitted" if model is None else "given",
        **_figures(seen, frequencies),
    )
    return Plan(seen, byte_values, frequencies[byte_values], figures)


def write(
    source: Source,
    planned: Plan,
    out: BinaryIO,
    *,
    progress: Progress | None,
    version: int = VERSION,
    workers: int | None = None,
) -> Header | HeaderV2:
    """Code ``source`` as ``planned`` into the seekable ``out`` (at its start); return the header.

    ``version`` 2 codes blocks of ``CHUNK`` bytes on ``workers`` processes
    (:class:`~infoloss.coding.blocks.BlockPool`): the payloads are written as they come, in
    order, after room for the header, which is written last. Version 1 codes the whole input
    with one coder, in this process. Raises InputError if ``source`` changed since the scan.
    """
    seen, byte_values, frequencies = planned.seen, planned.byte_values, planned.frequencies
    coded = bool(seen.length) and len(byte_values) > 1
    header: Header | HeaderV2
    if version == 1:
        payload = _encode(source, seen, byte_values, frequencies, progress) if coded else b""
        header = Header(
            length=seen.length,
            payload_bytes=len(payload),
            payload_crc=zlib.crc32(payload),
            sha256=seen.sha256,
            byte_values=byte_values,
            frequencies=frequencies,
        )
        out.write(header.pack())
        out.write(payload)
        return header
    index = np.zeros(block_count(seen.length, CHUNK, len(byte_values)) if coded else 0, _BLOCK)
    header = HeaderV2(
        length=seen.length,
        block_bytes=CHUNK,
        sha256=seen.sha256,
        byte_values=byte_values,
        frequencies=frequencies,
        blocks=index,
    )
    out.write(bytes(header.size))  # room for the header, whose index is known at the end
    if coded:
        _encode_blocks(source, seen, BlockModel(byte_values, frequencies), index, out, workers, progress)
    out.seek(0)
    out.write(header.pack())
    out.seek(0, io.SEEK_END)
    return header


def _figures(seen: Scan, frequencies: np.ndarray) -> dict[str, float | None]:
    """H(p), H(p, q) and D(p || q) in bits per byte: p the data's bytes, q the model as coded."""
    if not seen.length:
        return {"entropy": None, "cross_entropy": None, "kl_divergence": None}
    from ..measures import cross_entropy, entropy, kl_divergence

    counts, coded = seen.counts.astype(np.float64), frequencies.astype(np.float64)
    return {
        "entropy": float(entropy(counts, base=2, normalize=True)),
        "cross_entropy": float(cross_entropy(counts, coded, base=2, normalize=True)),
        "kl_divergence": float(kl_divergence(counts, coded, base=2, normalize=True)),
    }


def _encode_blocks(
    source: Source,
    seen: Scan,
    model: BlockModel,
    index: np.ndarray,
    out: BinaryIO,
    workers: int | None,
    progress: Progress | None,
) -> None:
    """Version 2: each CHUNK of ``source`` coded on its own (in parallel) and written to ``out``
    in order; ``index`` filled in. Each block's bytes are checked against the scan's CRC-32."""
    block_bytes = CHUNK

    def read_block(number: int) -> Any:
        start = number * block_bytes
        return source.read(start, min(block_bytes, seen.length - start))

    with BlockPool(model, workers, len(index), seen.length) as pool:
        offset = 0
        for number, (payload, crc, input_crc, input_length) in enumerate(pool.encode(read_block, len(index))):
            expected = min(block_bytes, seen.length - number * block_bytes)
            if input_length != expected or input_crc != seen.block_crcs[number]:
                _raise_changed(source)
            index[number] = (offset, len(payload), crc)
            offset += len(payload)
            out.write(payload)
            _report(progress, "encode", min((number + 1) * block_bytes, seen.length), seen.length)
    if source.current_size() != seen.length:
        _raise_changed(source)


def _raise_changed(source: Source) -> NoReturn:
    raise InputError("changed while it was being compressed; nothing was written", argument=source.name)


def _encode(
    source: Source, seen: Scan, byte_values: np.ndarray, frequencies: np.ndarray, progress: Progress | None
) -> memoryview:
    """Version 1: the whole input through one coder."""
    model = BlockModel(byte_values, frequencies)
    encoder = Encoder()
    done = 0
    for number, chunk in enumerate(source.chunks()):
        if number >= len(seen.block_crcs) or zlib.crc32(chunk.data) != seen.block_crcs[number]:
            _raise_changed(source)
        encoder.encode(model.symbols(chunk), model.probabilities, perfect=True)
        done += chunk.size
        _report(progress, "encode", done, seen.length)
    if done != seen.length:
        _raise_changed(source)
    words = encoder.words()
    del encoder  # free the coder's buffer before the header and the write
    return words.astype("<u4", copy=False).data.cast("B")  # no copy on little-endian


def _model_probabilities(seen: Scan, model: ArrayLike | None, floor: float | None) -> np.ndarray | None:
    """The order-0 model as 256 probabilities (floored), or None for empty data and no model."""
    if model is None:
        if not seen.length:
            apply_floor(np.ones(1), floor)  # the floor is checked even when there is nothing to code
            return None
        weights = seen.counts.astype(np.float64)
    else:
        weights = _checked_model(model)
    return apply_floor(weights / weights.sum(), floor)


def _checked_model(model: ArrayLike) -> np.ndarray:
    try:
        weights = np.asarray(model, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputError(
            f"must be 256 byte counts or probabilities, could not read it as numbers ({error})",
            argument="model",
        ) from None
    if weights.shape != (256,):
        raise InputError(
            f"must hold one weight per byte value, shape (256,), got shape {weights.shape}", argument="model"
        )
    bad = np.flatnonzero(~(np.isfinite(weights) & (weights >= 0)))
    if bad.size:
        raise InputError(
            f"= {weights[bad[0]]!r}; byte weights must be finite and >= 0",
            argument="model",
            index=(int(bad[0]),),
            value=float(weights[bad[0]]),
        )
    if weights.sum() <= 0:
        raise InputError("is all zeros; it must give some byte a positive weight", argument="model")
    return weights


def _raise_unmodelled(source: Source, unmodelled: np.ndarray) -> NoReturn:
    offset = 0
    for chunk in source.chunks():
        hits = np.flatnonzero(unmodelled[chunk])
        if hits.size:
            position = offset + int(hits[0])
            value = int(chunk[hits[0]])
            raise InputError(
                f"byte {value} (0x{value:02x}, {bytes([value])!r}) at offset {position} of {source.name} "
                "has probability 0 under the model (it never occurs in the model's data), so it cannot "
                "be coded",
                argument=None,
                value=value,
                hint="pass a floor probability (floor=1e-6, or --floor 1e-6) to give every byte value at least "
                "that much",
            )
        offset += chunk.size
    _raise_changed(source)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def read(
    stream: BinaryIO, size: int, name: str, *, max_output: int | None = None
) -> tuple[Header | HeaderV2, bytes | BinaryIO]:
    """Parse and check the header (and a version-1 payload); nothing is decoded yet.

    ``stream`` is positioned at the start of the file, whose total size is ``size``; the
    header is read only as far as ``size`` allows (a version-2 block index only once it is
    known to fit), and a version-1 payload is read whole and checked; version 2's blocks are
    read one by one by :func:`decoded_blocks`. ``max_output``: refuse a file that announces
    more original bytes. Returns ``(header, payload)``: the payload bytes (version 1) or
    ``stream`` (version 2).
    """
    header = _read_header(stream, size, name)
    if max_output is not None and header.length > max_output:
        raise FormatError(
            f"{name} announces {header.length:,} original bytes, more than the limit of {max_output:,}; "
            "refusing to decode it",
            argument=None,
            value=header.length,
            hint="raise the limit (max_output=, --max-size) if you trust the file",
        )
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
    if header.version == 2:
        return header, stream
    payload = stream.read(header.payload_bytes)
    if len(payload) != header.payload_bytes:
        raise FormatError(
            f"{name} is truncated: the payload is {len(payload)} of {header.payload_bytes} bytes"
        )
    if zlib.crc32(payload) != header.payload_crc:
        raise FormatError(
            f"{name} has a corrupted payload (payload checksum mismatch); refusing to decode it"
        )
    return header, payload


def decode_into(
    header: Header | HeaderV2,
    payload: bytes | BinaryIO,
    sink: Sink,
    name: str,
    *,
    progress: Progress | None = None,
    workers: int | None = None,
) -> None:
    """Write the original bytes into ``sink`` (at their offsets); FormatError unless the SHA-256 matches.

    ``payload`` as :func:`read` returns it. Version-2 blocks are decoded on ``workers``
    processes (:class:`~infoloss.coding.blocks.BlockPool`), each checked against its CRC first
    and written into ``sink`` by the process that decoded it; this process hashes them in
    order. On an error ``sink`` holds a partial or wrong output: the caller discards it
    (:func:`~infoloss.coding.files.decompress_file` removes ``TARGET.part``).
    """
    sha, done = hashlib.sha256(), 0
    if header.length and len(header.byte_values) == 1:
        blocks: Generator[int, None, None] = _constant_blocks(header, sink)
    elif header.version == 1:
        # read() returns a version-1 payload as bytes, a version-2 one as the stream its blocks are read from.
        blocks = _blocks(header, cast(bytes, payload), sink, name)
    else:
        blocks = _blocks_v2(header, cast(BinaryIO, payload), sink, name, workers)
    # closing(): an error or an interrupt here (the progress callback may raise) ends the block
    # pool's processes now; left to the garbage collector, they would end at interpreter exit
    with closing(blocks):
        for size in blocks:
            sha.update(sink.read(done, size))
            done += size
            _report(progress, "decode", done, header.length)
    if done != header.length or sha.digest() != header.sha256:
        raise FormatError(
            f"{name} decodes to bytes whose SHA-256 differs from the original's; refusing to write them"
        )


def _read_header(stream: BinaryIO, size: int, name: str) -> Header | HeaderV2:
    head = stream.read(len(MAGIC))
    if head != MAGIC:
        if not head:
            raise FormatError(f"{name} is empty (0 bytes), not an infoloss compressed file")
        if len(head) < len(MAGIC) and MAGIC.startswith(head):
            raise FormatError(
                f"{name} is truncated: {len(head)} bytes, shorter than the {_FIXED_V2.size + 4}-byte header"
            )
        raise FormatError(
            f"{name} is not an infoloss compressed file: it starts with {head.hex(' ')}, "
            f"not the magic bytes {MAGIC.hex(' ')}"
        )
    version_bytes = stream.read(2)
    if len(version_bytes) < 2:
        raise FormatError(f"{name} is truncated inside its header ({size} bytes)")
    (version,) = struct.unpack("<H", version_bytes)
    if version not in VERSIONS:
        raise FormatError(
            f"{name} is in compressed format version {version}; this infoloss reads versions "
            f"{' and '.join(map(str, VERSIONS))} (the file was written by another infoloss version, or its header "
            "is damaged)"
        )
    fixed = _FIXED if version == 1 else _FIXED_V2
    rest = stream.read(fixed.size - 10)
    if len(rest) < fixed.size - 10:
        raise FormatError(f"{name} is truncated inside its header ({size} bytes)")
    body = head + version_bytes + rest
    if version == 1:
        _, _, kind, precision, length, payload_bytes, payload_crc, sha, k = fixed.unpack(body)
        blocks = 0
    else:
        _, _, kind, precision, length, block_bytes, blocks, sha, k = fixed.unpack(body)
    if k > 256:
        raise FormatError(f"{name} has a corrupted header (it lists {k} byte values; at most 256 exist)")
    if version == 2:
        _check_block_layout(name, size, length, block_bytes, blocks, k)
    rest_size = _ENTRY.itemsize * k + _BLOCK.itemsize * blocks + _CRC.size
    table = stream.read(rest_size)
    if len(table) < rest_size:
        raise FormatError(f"{name} is truncated inside its header ({size} bytes)")
    body += table[: -_CRC.size]
    if zlib.crc32(body) != _CRC.unpack(table[-_CRC.size :])[0]:
        raise FormatError(f"{name} has a corrupted header (header checksum mismatch); refusing to decode it")
    entries = np.frombuffer(body, dtype=_ENTRY, count=k, offset=fixed.size)
    byte_values, frequencies = entries["byte"].copy(), entries["frequency"].astype(np.int64)
    header: Header | HeaderV2
    if version == 1:
        header = Header(length, payload_bytes, payload_crc, sha, byte_values, frequencies)
    else:
        index = np.frombuffer(
            body, dtype=_BLOCK, count=blocks, offset=fixed.size + _ENTRY.itemsize * k
        ).copy()
        header = HeaderV2(length, block_bytes, sha, byte_values, frequencies, index)
    _check_consistent(header, kind, precision, name)
    return header


def _check_block_layout(name: str, size: int, length: int, block_bytes: int, blocks: int, k: int) -> None:
    """Version 2, before the index is read: B in range, m = ceil(n / B), and m entries fit in the file."""
    if not 1 <= block_bytes <= MAX_BLOCK_BYTES:
        raise FormatError(
            f"{name} has an inconsistent header: block length {block_bytes:,} "
            f"(at least 1, at most {MAX_BLOCK_BYTES:,})"
        )
    expected = block_count(length, block_bytes, k)
    if blocks != expected:
        raise FormatError(
            f"{name} has an inconsistent header: {blocks:,} blocks where {length:,} bytes of "
            f"{k} byte values in blocks of {block_bytes:,} make {expected:,}"
        )
    # Each block's entry takes 16 header bytes and its payload at least 4 more.
    needed = _FIXED_V2.size + _ENTRY.itemsize * k + (_BLOCK.itemsize + 4) * blocks + _CRC.size
    if needed > size:
        raise FormatError(
            f"{name} is truncated: its header announces {blocks:,} blocks, which need at least "
            f"{needed:,} bytes, but the file has {size:,}"
        )


def _check_consistent(header: Header | HeaderV2, kind: int, precision: int, name: str) -> None:
    """Fields that passed the CRC but make no sense: a writer bug or a forged file."""
    problems: list[str] = []
    if kind != MODEL_ORDER0:
        problems.append(f"unknown model kind {kind}")
    if precision != PRECISION:
        problems.append(f"model precision {precision} bits (expected {PRECISION})")
    k = len(header.byte_values)
    model_ok = not k or not (
        np.any(np.diff(header.byte_values.astype(np.int64)) <= 0)
        or np.any(header.frequencies < 1)
        or int(header.frequencies.sum()) != TOTAL
    )
    if not model_ok:
        problems.append("the model table is not increasing byte values with frequencies summing to 2**24")
    if header.length and not k:
        problems.append(f"{header.length} bytes but an empty model")
    if header.version == 1:
        if header.payload_bytes % 4 or ((header.length == 0 or k == 1) and header.payload_bytes):
            problems.append(f"payload length {header.payload_bytes}")
        if header.length and k > 1 and not header.payload_bytes:
            problems.append(f"{header.length} bytes of {k} byte values but an empty payload")
        if model_ok and not problems:
            capacity = capacity_symbols(header.payload_bytes // 4, header.frequencies)
            if capacity is not None and header.length > capacity:
                problems.append(
                    f"it announces {header.length:,} bytes, but a {header.payload_bytes}-byte payload holds at "
                    f"most {capacity:,} under its model (each byte costs at least the shortest code length)"
                )
    elif len(header.blocks):
        problems += _index_problems(header, model_ok and not problems)
    if problems:
        raise FormatError(f"{name} has an inconsistent header: {'; '.join(problems)}")


def _index_problems(header: HeaderV2, model_ok: bool) -> list[str]:
    """Version 2: the offsets are the running sums of the lengths, every length a positive
    multiple of 4, and each block's payload can hold its bytes under the model."""
    lengths = header.blocks["length"].astype(np.int64)
    offsets = header.blocks["offset"]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    bad = np.flatnonzero((lengths < 4) | (lengths % 4 != 0))
    if bad.size:
        return [
            f"block {int(bad[0])} has payload length {int(lengths[bad[0]])} (a positive multiple of 4 is needed)"
        ]
    bad = np.flatnonzero(offsets != starts.astype(np.uint64))
    if bad.size:
        return [
            f"block {int(bad[0])} starts at payload offset {int(offsets[bad[0]]):,}, not {int(starts[bad[0]]):,} "
            "where the block before it ends"
        ]
    if model_ok:
        # Every block costs at least the shortest code length per byte: the least payload it needs.
        capacities = capacity_symbols(lengths // 4, header.frequencies)
        assert capacities is not None, "blocks exist only for k >= 2 byte values (_check_block_layout)"
        bad = np.flatnonzero(header.block_counts() > capacities)
        if bad.size:
            i = int(bad[0])
            return [
                f"block {i} holds {int(header.block_counts()[i]):,} bytes, but its {int(lengths[i])}-byte payload "
                f"holds at most {int(capacities[i]):,} under the model (each byte costs at least the shortest "
                "code length)"
            ]
    return []


def _blocks(header: Header, payload: bytes, sink: Sink, name: str) -> Generator[int, None, None]:
    """Version 1: one bounded decoder over the whole payload, CHUNK bytes at a time into ``sink``;
    yields each part's size once it is written."""
    remaining, offset = header.length, 0
    if not remaining:
        return
    words = np.frombuffer(payload, dtype="<u4").astype(np.uint32, copy=False)
    decoder = BoundedDecoder(words, header.byte_values, header.frequencies)
    while remaining:
        count = min(CHUNK, remaining)
        try:
            sink.write(offset, decoder.decode(count))
        except PayloadExhausted as error:
            raise FormatError(f"{name}'s payload {error.reason}; refusing to decode it") from None
        except Exception as error:  # noqa: BLE001 - constriction reports damaged data by raising
            raise FormatError(f"{name} has a payload that cannot be decoded ({error})") from None
        remaining -= count
        offset += count
        yield count


def _blocks_v2(
    header: HeaderV2, stream: BinaryIO, sink: Sink, name: str, workers: int | None
) -> Generator[int, None, None]:
    """Version 2: each block's payload read by offset and decoded into ``sink`` by the pool;
    yields each block's size, in order, once it is written."""
    if not len(header.blocks):
        return
    counts = header.block_counts().tolist()
    offsets, lengths, crcs = (header.blocks[field].tolist() for field in ("offset", "length", "crc"))
    read_at = _reader(stream, header.size)
    block_bytes = header.block_bytes

    def read_payload(number: int) -> Any:
        return read_at(offsets[number], lengths[number])

    def write_block(number: int, data: np.ndarray) -> None:
        sink.write(number * block_bytes, data)

    model = BlockModel(header.byte_values, header.frequencies)
    with BlockPool(model, workers, len(counts), header.length) as pool:
        for number, status in enumerate(pool.decode(read_payload, lengths, crcs, counts, write_block)):
            if status is not None:
                kind, text = status
                if kind == "truncated":
                    raise FormatError(
                        f"{name} is truncated: block {number}'s payload is {text} of {lengths[number]} bytes"
                    )
                raise FormatError(f"{name}'s block {number} {text}; refusing to decode it")
            yield counts[number]


def _reader(stream: BinaryIO, start: int) -> Callable[[int, int], Any]:
    """``read(offset, length)``: bytes of ``stream`` from ``start + offset``, readable from any process
    (:func:`~infoloss.coding.blocks.read_at` of the file, or a view of an in-memory stream's buffer)."""
    getbuffer = getattr(stream, "getbuffer", None)
    if getbuffer is not None:
        buffer = getbuffer()
        return lambda offset, length: buffer[start + offset : start + offset + length]
    descriptor = stream.fileno()
    return lambda offset, length: read_at(descriptor, length, start + offset)


def _constant_blocks(header: Header | HeaderV2, sink: Sink) -> Generator[int, None, None]:
    """One byte value: the output is that byte, ``length`` times (no payload)."""
    remaining, offset = header.length, 0
    block = np.full(min(CHUNK, remaining), header.byte_values[0], dtype=np.uint8)
    while remaining:
        count = min(CHUNK, remaining)
        sink.write(offset, block[:count])
        remaining -= count
        offset += count
        yield count


def _report(progress: Progress | None, phase: str, done: int, total: int) -> None:
    if progress is not None:
        progress(phase, done, total)
