"""Test helpers for the compressed format, written from the layout in ``infoloss.coding.container``'s
docstring (not from its code): where each field of a version-1 or version-2 file lies, forged
files with correct checksums, and re-signing a damaged file (every CRC recomputed), so that
only the consistency checks, the word counts and the SHA-256 can stop it."""

from __future__ import annotations

import struct
import zlib

import numpy as np

MAGIC = b"\x89ILC\r\n\x1a\n"
ENTRY = np.dtype([("byte", "u1"), ("frequency", "<u4")])
BLOCK = np.dtype([("offset", "<u8"), ("length", "<u4"), ("crc", "<u4")])


def layout(blob: bytes) -> dict:
    """Offsets of the fields of ``blob`` (a well-formed file of either version)."""
    version = struct.unpack_from("<H", blob, 8)[0]
    if version == 1:
        k = struct.unpack_from("<H", blob, 64)[0]
        end = 66 + 5 * k
        return {
            "version": 1,
            "k": k,
            "blocks": 0,
            "header_crc": end,
            "header_size": end + 4,
            "fields": {
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
                "header-crc": end,
            },
        }
    k, blocks = struct.unpack_from("<H", blob, 60)[0], struct.unpack_from("<I", blob, 24)[0]
    index = 62 + 5 * k
    end = index + 16 * blocks
    fields = {
        "magic": 0,
        "version": 8,
        "kind": 10,
        "precision": 11,
        "length": 12,
        "block-length": 20,
        "block-count": 24,
        "sha256": 28,
        "k": 60,
        "entry": 62,
        "header-crc": end,
    }
    if blocks:
        fields.update(
            {
                "block-offset": index,
                "block-payload-length": index + 8,
                "block-crc": index + 12,
                "last-block-crc": end - 4,
            }
        )
    return {
        "version": 2,
        "k": k,
        "blocks": blocks,
        "index": index,
        "header_crc": end,
        "header_size": end + 4,
        "fields": fields,
    }


def resign(blob, where: dict | None = None) -> bytes:
    """``blob`` with its payload CRC(s) and then its header CRC recomputed (after damage);
    ``where``: the layout of the file before a field of the layout itself was damaged."""
    blob = bytearray(blob)
    where = where or layout(blob)
    start = where["header_size"]
    if where["version"] == 1:
        struct.pack_into("<I", blob, 28, zlib.crc32(bytes(blob[start:])))
    else:
        index = np.frombuffer(bytes(blob[where["index"] : where["header_crc"]]), dtype=BLOCK).copy()
        for entry in index:
            offset, length = int(entry["offset"]), int(entry["length"])
            entry["crc"] = zlib.crc32(bytes(blob[start + offset : start + offset + length]))
        blob[where["index"] : where["header_crc"]] = index.tobytes()
    struct.pack_into("<I", blob, where["header_crc"], zlib.crc32(bytes(blob[: where["header_crc"]])))
    return bytes(blob)


def forge_v2(
    length: int,
    byte_values,
    frequencies,
    payloads=(),
    *,
    block_bytes: int = 1 << 20,
    sha256: bytes = bytes(32),
    blocks: int | None = None,
) -> bytes:
    """A version-2 file with these fields, the index of ``payloads`` and correct CRCs."""
    entries = np.empty(len(byte_values), dtype=ENTRY)
    entries["byte"], entries["frequency"] = byte_values, frequencies
    index = np.zeros(len(payloads), dtype=BLOCK)
    offset = 0
    for i, payload in enumerate(payloads):
        index[i] = (offset, len(payload), zlib.crc32(payload))
        offset += len(payload)
    body = (
        MAGIC
        + struct.pack(
            "<HBBQII32sH",
            2,
            1,
            24,
            length,
            block_bytes,
            len(payloads) if blocks is None else blocks,
            sha256,
            len(byte_values),
        )
        + entries.tobytes()
        + index.tobytes()
    )
    return body + struct.pack("<I", zlib.crc32(body)) + b"".join(payloads)
