"""Independent blocks coded on every core: the model of one file, and a pool of worker processes.

Format version 2 (:mod:`~infoloss.coding.container`) cuts the data into blocks of
``block_bytes`` original bytes, each coded by its own range coder under the file's one model,
so blocks encode and decode independently. constriction's coder holds the GIL while it
works, so threads would take turns; :class:`BlockPool` uses worker processes instead, forked
from the caller where the platform allows it (POSIX, when no other thread runs: no imports to
repeat, a few milliseconds to start), else started from a fork server or spawned. The results
come back in block order, with at most two blocks per worker in flight (memory stays a few
blocks, whatever the file's size).

Workers ignore SIGINT, SIGTERM and SIGHUP (the calling process decides what a signal means,
at a block boundary, and then shuts the pool down) and, on Linux, die with the calling
process (``PR_SET_PDEATHSIG``), so a killed command leaves no orphans behind.

The coding itself is :func:`encode_block` / :func:`decode_block`, the same functions in a
worker and in the calling process (a single worker, or fewer than two blocks, runs inline).
"""

from __future__ import annotations

import collections
import os
import signal
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .range import TOTAL, BoundedDecoder, Encoder, PayloadExhausted

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor
    from multiprocessing.context import BaseContext

__all__ = ["BlockModel", "BlockPool", "encode_block", "decode_block", "default_workers"]

IN_FLIGHT_PER_WORKER = 2  # blocks submitted ahead per worker: keeps every core busy, memory bounded
PARALLEL_FROM = (
    2 << 20
)  # by default, workers start only for this many bytes and more (a start costs ~1 block)


@dataclass(frozen=True)
class BlockModel:
    """The file's order-0 model as the coder uses it: byte values (increasing) and 24-bit frequencies."""

    byte_values: np.ndarray  # uint8
    frequencies: np.ndarray  # int64, summing to 2**24
    probabilities: np.ndarray = field(init=False, repr=False)
    to_symbol: np.ndarray = field(init=False, repr=False)
    identity: bool = field(init=False)

    def __post_init__(self) -> None:
        to_symbol = np.zeros(256, dtype=np.int32)
        to_symbol[self.byte_values] = np.arange(len(self.byte_values), dtype=np.int32)
        object.__setattr__(self, "probabilities", self.frequencies / TOTAL)
        object.__setattr__(self, "to_symbol", to_symbol)
        # Byte values 0..k-1: a byte is its own symbol index, no lookup needed either way.
        object.__setattr__(self, "identity", int(self.byte_values[-1]) == len(self.byte_values) - 1)


def encode_block(model: BlockModel, data: bytes | memoryview | np.ndarray) -> tuple[bytes, int]:
    """One block's payload (constriction range-coder words, little-endian) and its CRC-32.

    >>> model = BlockModel(np.array([97, 98], np.uint8), np.array([3 << 22, 1 << 22]))
    >>> payload, crc = encode_block(model, b"aaab" * 8)
    >>> len(payload) % 4 == 0, decode_block(model, payload, crc, 32).tobytes() == b"aaab" * 8
    (True, True)
    """
    chunk = np.frombuffer(data, dtype=np.uint8)
    symbols = chunk.astype(np.int32) if model.identity else np.take(model.to_symbol, chunk)
    encoder = Encoder()
    encoder.encode(symbols, model.probabilities, perfect=True)
    payload = encoder.words().astype("<u4", copy=False).tobytes()
    return payload, zlib.crc32(payload)


def decode_block(model: BlockModel, payload: bytes, crc: int, count: int) -> np.ndarray | str:
    """The ``count`` original bytes of one block (uint8), or the reason it cannot be decoded.

    A reason (a ``str``, so that a worker never has to send an exception back) when the
    payload's CRC-32 is not ``crc``, when the decoder would read past the payload's end
    (:class:`~infoloss.coding.range.BoundedDecoder`), or when constriction refuses the data.
    """
    if zlib.crc32(payload) != crc:
        return "has a corrupted payload (block checksum mismatch)"
    words = np.frombuffer(payload, dtype="<u4").astype(np.uint32, copy=False)
    try:
        return BoundedDecoder(words, model.byte_values, model.frequencies).decode(count)
    except PayloadExhausted as error:
        return str(error.reason)
    except Exception as error:  # noqa: BLE001 - constriction reports damaged data by raising
        return f"cannot be decoded ({error})"


def default_workers() -> int:
    """Worker processes used when none is asked for: the measures' setting (``set_num_threads``,
    ``INFOLOSS_NUM_THREADS``, ``OMP_NUM_THREADS``, else the CPUs this process may use)."""
    from ..measures._fast import num_threads

    return num_threads()


class BlockPool:
    """Runs ``encode_block`` / ``decode_block`` of one model over many blocks, results in order.

    ``workers`` processes (None: :func:`default_workers`, and only when the data holds
    ``PARALLEL_FROM`` bytes or more: starting a worker costs about as much as coding a block);
    with one worker, or fewer than two blocks, everything runs in the calling process. Use as a
    context manager; :meth:`encode` and :meth:`decode` yield one result per block, in order, as
    they are ready.
    """

    def __init__(self, model: BlockModel, workers: int | None, blocks: int, size: int) -> None:
        self.model = model
        if workers is None:
            workers = default_workers() if size >= PARALLEL_FROM else 1
        self.workers = max(1, min(workers, blocks))
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> BlockPool:
        if self.workers > 1:
            from concurrent.futures import ProcessPoolExecutor

            import constriction  # noqa: F401 - imported before the fork: no worker imports it again

            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=_context(), initializer=_start_worker, initargs=(self.model,)
            )
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        return False

    def encode(self, blocks: Iterable[bytes | memoryview | np.ndarray]) -> Iterator[tuple[bytes, int]]:
        """``(payload, crc)`` of each block of original bytes in ``blocks`` (an iterable of bytes)."""
        return self._ordered(_encode_task, ((block,) for block in blocks))

    def decode(self, blocks: Iterable[tuple[bytes, int, int]]) -> Iterator[np.ndarray | str]:
        """``decode_block``'s result for each ``(payload, crc, count)`` in ``blocks``."""
        return self._ordered(_decode_task, blocks)

    def _ordered(self, task: Callable[..., Any], arguments: Iterable[tuple[Any, ...]]) -> Iterator[Any]:
        if self._executor is None:
            inline = _INLINE[task]
            for item in arguments:
                yield inline(self.model, *item)
            return
        pending: collections.deque[Future[Any]] = collections.deque()
        limit = IN_FLIGHT_PER_WORKER * self.workers
        for item in arguments:
            pending.append(self._executor.submit(task, *item))
            if len(pending) >= limit:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


# --------------------------------------------------------------------------------------------
# The worker side: the model is sent once, when the worker starts
# --------------------------------------------------------------------------------------------

_MODEL: BlockModel | None = None


def _start_worker(model: BlockModel) -> None:
    global _MODEL
    _MODEL = model
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no prctl: workers end with the pool
            pass


def _encode_task(data: bytes) -> tuple[bytes, int]:
    return encode_block(_worker_model(), data)


def _decode_task(payload: bytes, crc: int, count: int) -> np.ndarray | str:
    return decode_block(_worker_model(), payload, crc, count)


def _worker_model() -> BlockModel:
    assert _MODEL is not None, "the pool's initializer (_start_worker) sets the model before any task"
    return _MODEL


_INLINE: dict[Callable[..., Any], Callable[..., Any]] = {
    _encode_task: encode_block,
    _decode_task: decode_block,
}


def _context() -> BaseContext:
    """How workers start: forked (POSIX but macOS) when this process runs one thread, so they
    inherit the imports and start in milliseconds; otherwise from a fork server (a lock held by
    another thread at the fork would stay held in the child forever), or spawned (Windows, macOS)."""
    import multiprocessing
    import threading

    methods = multiprocessing.get_all_start_methods()
    if os.name == "posix" and sys.platform != "darwin":
        if threading.active_count() == 1:
            return multiprocessing.get_context("fork")
        if "forkserver" in methods:
            return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")
