"""A corpus of hostile inputs for ``infoloss code compress`` / ``decompress``, generated on demand.

``python -m tests.fuzz.corpus_coding DIR`` writes the files into DIR and prints one line per
case; :func:`generate` returns the cases for the tests (``tests/fuzz/test_corpus_coding.py``),
which run each in a subprocess under a memory limit and expect one line on stderr, exit
status 2 and no output file. Forged files carry correct CRCs (recomputed here), so the
checksums cannot be what stops them: only the header's consistency checks, the payload's
word count and the size limits can.

Cases: decompression bombs (2^62 claimed bytes with one byte value, with two byte values;
payloads that the decoder would run past), a truncation at every header field boundary, a
flipped bit in every header field and in the payload, huge or impossible headers, and
non-regular inputs (links to ``/dev/zero``, FIFOs) for every file argument; the same
for format version 2, with forged block counts and block indexes.
"""

from __future__ import annotations

import os
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infoloss import coding
from infoloss.coding.container import _FIXED, Header
from infoloss.coding.range import TOTAL, capacity_symbols


@dataclass(frozen=True)
class Case:
    """One hostile run: ``infoloss code ARGS``; ``message`` is expected in the one-line error."""

    name: str
    args: tuple[str, ...]
    message: str
    output: str  # the path that must not exist afterwards (nor OUTPUT.part)


def forge(length: int, byte_values, frequencies, payload: bytes = b"", sha256: bytes = bytes(32)) -> bytes:
    """A version-1 file with these fields and correct header and payload CRCs."""
    header = Header(
        length=length,
        payload_bytes=len(payload),
        payload_crc=zlib.crc32(payload),
        sha256=sha256,
        byte_values=np.asarray(byte_values, dtype=np.uint8),
        frequencies=np.asarray(frequencies, dtype=np.int64),
    )
    return header.pack() + payload


def _with_crc(blob: bytearray, k: int) -> bytes:
    """``blob`` with its header CRC recomputed after a field was changed."""
    end = _FIXED.size + 5 * k
    struct.pack_into("<I", blob, end, zlib.crc32(bytes(blob[:end])))
    return bytes(blob)


def generate(directory) -> list[Case]:
    """Write every hostile file into ``directory``; the cases that use them."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def decompress_case(name: str, blob: bytes, message: str, *extra: str) -> None:
        path = directory / f"{name}.ilc"
        path.write_bytes(blob)
        output = directory / f"{name}.out"
        cases.append(Case(name, ("decompress", str(path), "-o", str(output), *extra), message, str(output)))

    # Bombs. One byte value: no payload, any length is consistent: the size limits stop it.
    decompress_case("bomb-2^62-one-value", forge(1 << 62, [65], [TOTAL]), "more than the limit")
    decompress_case(
        "bomb-2^62-one-value-no-limit",
        forge(1 << 62, [65], [TOTAL]),
        "free on the filesystem",
        "--max-size",
        str(1 << 63),
    )
    # Two byte values, one nearly certain: 4 payload bytes hold at most ~7e8 bytes, not 2^62.
    skewed = [TOTAL - 1, 1]
    decompress_case("bomb-2^62-two-values", forge(1 << 62, [97, 98], skewed, bytes(4)), "inconsistent header")
    # Exactly as many bytes as the payload could hold: consistent, so only the limit stops it.
    most = capacity_symbols(1, np.array(skewed))
    decompress_case(
        "bomb-at-capacity",
        forge(most, [97, 98], skewed, bytes(4)),
        "more than the limit",
        "--max-size",
        "64M",
    )
    # The rare byte value first: constriction's zero padding decodes it, 24 bits a time, so the
    # decoder runs past the payload within its first block and stops.
    rare_first = [1, TOTAL - 1]
    overrun = min(capacity_symbols(2, np.array(rare_first)), 50_000_000)
    decompress_case("overrun-two-values", forge(overrun, [97, 98], rare_first, bytes(8)), "exhausted")

    # A real file, then damaged: truncated at every header field boundary, a bit flipped in each field.
    data = b"the quick brown fox jumps over the lazy dog " * 40
    blob = coding.compress(data, format_version=1)  # the field offsets below are version 1's
    k = struct.unpack_from("<H", blob, 64)[0]
    header_size = _FIXED.size + 5 * k + 4
    boundaries = sorted(
        {
            0,
            1,
            7,
            8,
            9,
            10,
            11,
            12,
            20,
            28,
            32,
            63,
            64,
            65,
            66,
            66 + 5 * k - 1,
            66 + 5 * k,
            header_size - 1,
            header_size,
            header_size + 3,
            len(blob) - 1,
        }
    )
    for cut in boundaries:
        decompress_case(f"truncated-at-{cut}", blob[:cut], "truncated" if cut else "empty")
    fields = {
        "magic": 0,
        "version": 8,
        "kind": 10,
        "precision": 11,
        "length": 12,
        "payload-length": 20,
        "payload-crc": 28,
        "sha256": 32,
        "k": 64,
        "entry": 66,
        "header-crc": 66 + 5 * k,
        "payload": header_size + 1,
        "payload-end": len(blob) - 1,
    }
    for field, offset in fields.items():
        damaged = bytearray(blob)
        damaged[offset] ^= 0x10
        decompress_case(f"flipped-{field}", bytes(damaged), "")
    # The same fields changed with the header CRC recomputed: consistency checks must catch them.
    for field, offset, value in [
        ("length-x2", 12, struct.pack("<Q", 2 * len(data))),
        ("length-2^63", 12, struct.pack("<Q", 1 << 63)),
        ("kind-9", 10, b"\x09"),
        ("precision-16", 11, b"\x10"),
    ]:
        damaged = bytearray(blob)
        damaged[offset : offset + len(value)] = value
        decompress_case(f"resigned-{field}", _with_crc(damaged, k), "")

    # Huge or impossible headers.
    decompress_case("k-65535", blob[:64] + struct.pack("<H", 65535) + blob[66:], "corrupted header")
    decompress_case(
        "payload-2^63", _with_crc(bytearray(blob[:20] + struct.pack("<Q", 1 << 63) + blob[28:]), k), ""
    )
    decompress_case("magic-only", blob[:8] + bytes(1 << 16), "")
    decompress_case(
        "random-1MiB",
        np.random.default_rng(0).integers(0, 256, 1 << 20, dtype=np.uint8).tobytes(),
        "not an infoloss compressed file",
    )

    # Version 2 (block index): bombs, a block count the file cannot hold, an index that does not
    # add up, a block the decoder would run past, and a real file truncated and flipped.
    from tests.coding.formats import forge_v2, layout

    block = 1 << 20
    decompress_case("v2-bomb-2^62-one-value", forge_v2(1 << 62, [65], [TOTAL]), "more than the limit")
    decompress_case(
        "v2-blocks-2^32-1",
        forge_v2(block * ((1 << 32) - 1), [97, 98], skewed, [], block_bytes=block, blocks=(1 << 32) - 1),
        "truncated: its header announces",
    )
    decompress_case(
        "v2-block-count-mismatch",
        forge_v2(3 * block, [97, 98], skewed, [bytes(4)], block_bytes=block),
        "inconsistent header",
    )
    decompress_case(
        "v2-overrun",
        forge_v2(2 * block, [97, 98], rare_first, [bytes(8), bytes(8)], block_bytes=block),
        "exhausted",
    )
    blob2 = coding.compress(data)
    where = layout(blob2)
    cuts = {0, 9, 10, 24, 28, 62, where["index"], where["header_crc"], where["header_size"], len(blob2) - 1}
    for cut in sorted(cuts):
        decompress_case(f"v2-truncated-at-{cut}", blob2[:cut], "truncated" if cut else "empty")
    offsets = {**where["fields"], "payload": where["header_size"] + 1, "payload-end": len(blob2) - 1}
    for field, offset in offsets.items():
        damaged = bytearray(blob2)
        damaged[offset] ^= 0x10
        decompress_case(f"v2-flipped-{field}", bytes(damaged), "")

    # Non-regular inputs: links to /dev/zero and FIFOs, for every file argument.
    zero = directory / "zero.ilc"
    _symlink("/dev/zero", zero)
    cases.append(
        Case(
            "decompress-dev-zero",
            ("decompress", str(zero), "-o", str(directory / "z.out")),
            "not a regular file",
            str(directory / "z.out"),
        )
    )
    plain = directory / "plain.txt"
    plain.write_bytes(data)
    for name, args in [
        ("compress-dev-zero", (str(zero),)),
        ("model-dev-zero", (str(plain), "--model", str(zero))),
    ]:
        output = directory / f"{name}.ilc"
        cases.append(Case(name, ("compress", *args, "-o", str(output)), "not a regular file", str(output)))
    fifo = directory / "fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    for name, args in [
        ("compress-fifo", ("compress", str(fifo))),
        ("model-fifo", ("compress", str(plain), "--model", str(fifo))),
        ("decompress-fifo", ("decompress", str(fifo))),
    ]:
        output = directory / f"{name}.out"
        cases.append(Case(name, (*args, "-o", str(output)), "FIFO", str(output)))
    # An output that is not a regular file is never replaced, even with --force.
    cases.append(
        Case(
            "output-dev-null",
            ("compress", str(plain), "-o", "/dev/null", "--force"),
            "only a regular file is overwritten",
            str(directory / "never"),
        )
    )
    return cases


def _symlink(target: str, link: Path) -> None:
    if link.is_symlink():
        link.unlink()
    link.symlink_to(target)


if __name__ == "__main__":
    for case in generate(sys.argv[1] if len(sys.argv) > 1 else "hostile-coding"):
        print(f"{case.name:32} infoloss code {' '.join(case.args)}")
