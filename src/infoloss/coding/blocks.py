"""Independent blocks coded on every core: the model of one file, and the processes that code it.

Format version 2 (:mod:`~infoloss.coding.container`) cuts the data into blocks of
``block_bytes`` original bytes, each coded by its own range coder under the file's one model,
so blocks encode and decode independently. constriction's coder holds the GIL while it
works, so threads would take turns; :class:`BlockPool` uses processes instead:

* **Forked helpers** (POSIX but macOS, when the calling process runs one thread: a lock held
  by another thread at the fork would stay held in the child forever). The calling process
  and ``workers - 1`` children forked from it take block numbers in turn from one shared
  counter (a ``lockf``-locked word in an anonymous file), so a process that gets more CPU on a
  shared machine codes more blocks, and the calling process codes blocks too instead of
  waiting. The children inherit the open files and the memory: each reads its own blocks by
  offset (``os.pread`` of the input file, or a view of the bytes in memory) instead of
  receiving them, and a decoder writes its blocks straight into the output at their offset
  (``os.pwrite`` into ``TARGET.part``, or a shared anonymous mapping), sending back only a
  status; an encoder sends its payload back through its own pipe (a few structs and the
  payload bytes, no pickling). Forking costs a few milliseconds, and no import is repeated.
* **A process pool** otherwise (a fork server, or spawned processes on macOS and Windows),
  which receives each block's bytes and sends the result back; the calling process reads and
  writes the blocks.

Either way the results come back to the caller in block order. Helpers ignore SIGINT,
SIGTERM and SIGHUP (the calling process decides what a signal means, at a block boundary, and
then ends them) and, on Linux, die with the calling process (``PR_SET_PDEATHSIG``), so a killed
command leaves no orphans behind.

The coding itself is :func:`encode_block` / :func:`decode_block`, the same functions in every
process (one worker, or fewer than two blocks, runs everything in the calling process).
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import struct
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .. import _array
from .._threads import environment_threads
from .range import TOTAL, BoundedDecoder, Encoder, PayloadExhausted, count_bytes

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor
    from multiprocessing.context import BaseContext

__all__ = [
    "BlockModel",
    "BlockPool",
    "encode_block",
    "decode_block",
    "default_workers",
    "read_at",
    "write_at",
]

IN_FLIGHT_PER_WORKER = 2  # process pool: blocks submitted ahead per worker (every core busy, memory bounded)
PIPE_BYTES = 1 << 20  # a helper's result pipe holds this much (an encoded 1 MiB block, mostly)
# By default, helpers start only for this many bytes and more (a start costs about one block).
PARALLEL_FROM = 2 << 20

#: A block's original bytes, read by whichever process codes it: ``read_block(number)``.
ReadBlock = Callable[[int], Any]
#: Writes block ``number``'s decoded bytes where they belong: ``write_block(number, data)``.
WriteBlock = Callable[[int, np.ndarray], None]
#: What encoding block ``number`` gives: ``(payload, payload CRC-32, input CRC-32, input length)``.
Encoded = tuple[bytes, int, int, int]
#: What decoding a block gives: None (written), ``("damaged", reason)`` or ``("truncated", bytes read)``.
Status = tuple[str, str] | None
#: What scanning a block gives: its 256 byte counts (int64), CRC-32 and length.
Counted = tuple[np.ndarray, int, int]


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

    def symbols(self, data: np.ndarray) -> np.ndarray:
        """int32 symbol indices of uint8 ``data`` (the byte's rank among the model's byte values)."""
        return data.astype(np.int32) if self.identity else np.take(self.to_symbol, data)


def encode_block(model: BlockModel, data: bytes | memoryview | np.ndarray) -> tuple[bytes, int]:
    """One block's payload (constriction range-coder words, little-endian) and its CRC-32.

    >>> model = BlockModel(np.array([97, 98], np.uint8), np.array([3 << 22, 1 << 22]))
    >>> payload, crc = encode_block(model, b"aaab" * 8)
    >>> len(payload) % 4 == 0, decode_block(model, payload, crc, 32).tobytes() == b"aaab" * 8
    (True, True)
    """
    encoder = Encoder()
    encoder.encode(model.symbols(np.frombuffer(data, dtype=np.uint8)), model.probabilities, perfect=True)
    payload = encoder.words().astype("<u4", copy=False).tobytes()
    return payload, zlib.crc32(payload)


def decode_block(model: BlockModel, payload: bytes | memoryview, crc: int, count: int) -> np.ndarray | str:
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


def read_at(descriptor: int, length: int, offset: int) -> bytes:
    """Up to ``length`` bytes of an open file from ``offset`` (fewer only at its end): ``os.pread``,
    which leaves the file's position alone (POSIX: helpers share the open file); elsewhere
    (Windows, where no helper shares it) by seeking."""
    parts = []
    while length:
        if hasattr(os, "pread"):
            part = os.pread(descriptor, length, offset)
        else:  # pragma: no cover - Windows
            os.lseek(descriptor, offset, os.SEEK_SET)
            part = os.read(descriptor, length)
        if not part:
            break
        parts.append(part)
        offset, length = offset + len(part), length - len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def write_at(descriptor: int, data: memoryview, offset: int) -> None:
    """Write all of ``data`` into an open file at ``offset`` (``os.pwrite``, as :func:`read_at`)."""
    while data:
        if hasattr(os, "pwrite"):
            written = os.pwrite(descriptor, data, offset)
        else:  # pragma: no cover - Windows
            os.lseek(descriptor, offset, os.SEEK_SET)
            written = os.write(descriptor, data)
        data, offset = data[written:], offset + written


def default_workers() -> int:
    """Processes used when none is asked for: the measures' setting (``set_num_threads``,
    ``INFOLOSS_NUM_THREADS``, ``OMP_NUM_THREADS``, else the CPUs this process may use)."""
    # Not loaded: nobody called set_num_threads, and loading the measures would only cost start-up.
    num_threads = _array.loaded("infoloss.measures._fast", "num_threads")
    return num_threads() if num_threads is not None else environment_threads()


class BlockPool:
    """Codes the blocks of one model on ``workers`` processes (the caller's included); results in order.

    ``workers`` None: :func:`default_workers`, and only when the data holds ``PARALLEL_FROM``
    bytes or more (starting a process costs about as much as coding a block); with one
    worker, or fewer than two blocks, everything runs in the calling process. Use as a
    context manager: leaving it (normally, on an error or on an interrupt) ends every helper.
    """

    def __init__(self, model: BlockModel | None, workers: int | None, blocks: int, size: int) -> None:
        self.model = model  # None: a pool that only counts (:meth:`counted`)
        if workers is None:
            workers = default_workers() if size >= PARALLEL_FROM else 1
        self.workers = max(1, min(workers, blocks))
        self._executor: ProcessPoolExecutor | None = None
        self._team: _Team | None = None

    def __enter__(self) -> BlockPool:
        if self.workers > 1:
            import constriction  # noqa: F401 - imported before the helpers start: none imports it again

            if _can_fork():
                self._team = _Team(self.workers - 1)
            elif self.model is not None:  # a pool that only counts counts here: cheaper than sending blocks
                from concurrent.futures import ProcessPoolExecutor

                self._executor = ProcessPoolExecutor(
                    self.workers, mp_context=_context(), initializer=_start_worker, initargs=(self.model,)
                )
        return self

    @property
    def forked(self) -> bool:
        """Blocks are coded by this process and forked helpers (not by one process, nor a process pool)."""
        return self._team is not None

    def __exit__(self, *exc: object) -> Literal[False]:
        if self._team is not None:
            self._team.close(kill=exc[0] is not None, last=True)
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        return False

    def encode(self, read_block: ReadBlock, count: int) -> Iterator[Encoded]:
        """``(payload, payload CRC, input CRC, input length)`` of blocks ``0 .. count - 1``, in order.

        ``read_block(number)`` gives a block's original bytes; it runs in the process that
        encodes the block, so the input's CRC-32 and length come back to check that the data
        did not change since they were first read.
        """
        model = self.model
        assert model is not None, "a pool that codes has a model"

        def encode(number: int) -> Encoded:
            data = read_block(number)
            payload, crc = encode_block(model, data)
            return payload, crc, zlib.crc32(data), len(data)

        if self._executor is not None:
            return self._pooled_encode(read_block, count)
        return self._ordered(encode, count, _ENCODED)

    def decode(
        self,
        read_payload: ReadBlock,
        lengths: Sequence[int],
        crcs: Sequence[int],
        counts: Sequence[int],
        write_block: WriteBlock,
    ) -> Iterator[Status]:
        """Decode every block into ``write_block``; the :data:`Status` of each, in block order.

        ``read_payload(number)`` gives block ``number``'s payload, which should hold
        ``lengths[number]`` bytes (fewer: the file was cut meanwhile), have the CRC-32
        ``crcs[number]`` and decode to ``counts[number]`` bytes. Both callbacks run in the
        process that decodes the block.
        """
        model = self.model
        assert model is not None, "a pool that codes has a model"

        def decode(number: int) -> Status:
            payload = read_payload(number)
            if len(payload) != lengths[number]:
                return ("truncated", str(len(payload)))
            result = decode_block(model, payload, crcs[number], counts[number])
            if isinstance(result, str):
                return ("damaged", result)
            write_block(number, result)
            return None

        if self._executor is not None:
            return self._pooled_decode(read_payload, lengths, crcs, counts, write_block)
        return self._ordered(decode, len(counts), _STATUS)

    def counted(self, read_block: ReadBlock, count: int) -> Iterator[Counted]:
        """``(byte counts, CRC-32, length)`` of blocks ``0 .. count - 1``, in order (the scan's
        work, shared like the coding; with a process pool, all in this process: counting a
        block costs less than sending it)."""

        def counts(number: int) -> Counted:
            data = read_block(number)
            return count_bytes(np.frombuffer(data, dtype=np.uint8)), zlib.crc32(data), len(data)

        if self._executor is not None:
            return (counts(number) for number in range(count))
        return self._ordered(counts, count, _COUNTED)

    # ----------------------------------------------------------------------------------------

    def _ordered(self, task: Callable[[int], Any], count: int, codec: _Codec) -> Iterator[Any]:
        if self._team is None or count < 2:
            for number in range(count):
                yield task(number)
            return
        yield from self._team.run(task, count, codec)

    def _pooled_encode(self, read_block: ReadBlock, count: int) -> Iterator[Encoded]:
        inputs: collections.deque[tuple[int, int]] = collections.deque()

        def arguments() -> Iterator[tuple[bytes]]:
            for number in range(count):
                data = bytes(read_block(number))  # sent to the pool: a copy the source cannot reuse
                inputs.append((zlib.crc32(data), len(data)))
                yield (data,)

        for payload, crc in self._submitted(_encode_task, arguments()):
            yield (payload, crc, *inputs.popleft())

    def _pooled_decode(
        self,
        read_payload: ReadBlock,
        lengths: Sequence[int],
        crcs: Sequence[int],
        counts: Sequence[int],
        write_block: WriteBlock,
    ) -> Iterator[Status]:
        short: dict[int, int] = {}

        def arguments() -> Iterator[tuple[bytes, int, int]]:
            for number in range(len(counts)):
                payload = bytes(read_payload(number))
                if len(payload) != lengths[number]:
                    short[number] = len(payload)
                yield payload, crcs[number], counts[number]

        for number, result in enumerate(self._submitted(_decode_task, arguments())):
            if number in short:
                yield ("truncated", str(short[number]))
            elif isinstance(result, str):
                yield ("damaged", result)
            else:
                write_block(number, result)
                yield None

    def _submitted(self, task: Callable[..., Any], arguments: Iterator[tuple[Any, ...]]) -> Iterator[Any]:
        assert self._executor is not None
        pending: collections.deque[Future[Any]] = collections.deque()
        limit = IN_FLIGHT_PER_WORKER * self.workers
        for item in arguments:
            pending.append(self._executor.submit(task, *item))
            if len(pending) >= limit:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


# --------------------------------------------------------------------------------------------
# Forked helpers: a shared block counter, one result pipe per helper
# --------------------------------------------------------------------------------------------


class WorkerError(RuntimeError):
    """A helper process failed in a way that is not a property of the data (it was killed, or
    its system call failed); an ``OSError`` of a helper is raised as that ``OSError``."""


@dataclass(frozen=True)
class _Codec:
    """How a task's result crosses a pipe: ``pack(result) -> bytes`` and ``unpack(bytes) -> result``."""

    pack: Callable[[Any], bytes]
    unpack: Callable[[memoryview], Any]


_ENCODED_HEAD = struct.Struct("<IIQ")  # payload CRC, input CRC, input length; then the payload


def _pack_encoded(result: Encoded) -> bytes:
    payload, crc, input_crc, input_length = result
    return _ENCODED_HEAD.pack(crc, input_crc, input_length) + payload


def _unpack_encoded(body: memoryview) -> Encoded:
    crc, input_crc, input_length = _ENCODED_HEAD.unpack_from(body)
    return bytes(body[_ENCODED_HEAD.size :]), crc, input_crc, input_length


def _pack_status(status: Status) -> bytes:
    return b"" if status is None else f"{status[0]}\0{status[1]}".encode()


def _unpack_status(body: memoryview) -> Status:
    if not len(body):
        return None
    kind, text = bytes(body).decode().split("\0", 1)
    return kind, text


_COUNTED_TAIL = struct.Struct("<IQ")  # after the 256 counts: CRC-32, length


def _pack_counted(result: Counted) -> bytes:
    counts, crc, length = result
    return counts.astype("<i8").tobytes() + _COUNTED_TAIL.pack(crc, length)


def _unpack_counted(body: memoryview) -> Counted:
    counts = np.frombuffer(body, dtype="<i8", count=256).astype(np.int64)
    crc, length = _COUNTED_TAIL.unpack_from(body, 256 * 8)
    return counts, crc, length


_ENCODED = _Codec(_pack_encoded, _unpack_encoded)
_COUNTED = _Codec(_pack_counted, _unpack_counted)
_STATUS = _Codec(_pack_status, _unpack_status)

# A message: block number, kind (0: the result, 1: an OSError, 2: another exception), body length.
_MESSAGE = struct.Struct("<IBQ")
_RESULT, _OS_ERROR, _ERROR = 0, 1, 2


class _Counter:
    """The next block number, shared by forked processes: 8 bytes of an anonymous file, taken
    under a POSIX record lock (``lockf``: held per process, so a parent and its forked child
    exclude each other, and released by the kernel if the holder dies)."""

    def __init__(self) -> None:
        if hasattr(os, "memfd_create"):
            self.fd = os.memfd_create("infoloss-blocks", os.MFD_CLOEXEC)
        else:  # pragma: no cover - POSIX without memfd (the BSDs): an unlinked temporary file
            import tempfile

            with tempfile.TemporaryFile() as spare:
                self.fd = os.dup(spare.fileno())
        self.limit = 0

    def reset(self, limit: int) -> None:
        self.limit = limit
        os.pwrite(self.fd, bytes(8), 0)

    def take(self) -> int | None:
        """The next block number for this process, or None when every block is taken."""
        import fcntl

        fcntl.lockf(self.fd, fcntl.LOCK_EX)
        try:
            number = int.from_bytes(os.pread(self.fd, 8, 0), "little")
            if number >= self.limit:
                return None
            os.pwrite(self.fd, (number + 1).to_bytes(8, "little"), 0)
            return number
        finally:
            fcntl.lockf(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self.fd)


class _Team:
    """``helpers`` processes forked per :meth:`run`, coding blocks beside the calling process."""

    def __init__(self, helpers: int) -> None:
        self.helpers = helpers
        self.counter = _Counter()
        self.children: dict[int, int] = {}  # pid -> read end of its result pipe

    def run(self, task: Callable[[int], Any], count: int, codec: _Codec) -> Iterator[Any]:
        """``task(number)`` for every block, in this process and in the helpers; results in order."""
        import select

        self.counter.reset(count)
        for _ in range(min(self.helpers, count - 1)):
            self._fork(task, codec)
        results: dict[int, Any] = {}
        poller = select.poll()
        readers = set(self.children.values())  # helpers' pipes not at their end yet
        for reader in readers:
            poller.register(reader, select.POLLIN)
        working = True  # this process still takes blocks
        for number in range(count):
            while number not in results:
                if not working and not readers:
                    raise WorkerError(f"a helper process ended before it sent block {number}")
                ready = poller.poll(0 if working else None) if readers else []
                if ready:
                    for reader, _ in ready:
                        if not self._receive(reader, codec, results):
                            poller.unregister(reader)
                            readers.discard(reader)
                    continue
                if working:
                    mine = self.counter.take()
                    if mine is None:
                        working = False
                    else:
                        results[mine] = task(mine)
            yield results.pop(number)
        self.close(kill=False)

    def _fork(self, task: Callable[[int], Any], codec: _Codec) -> None:
        reader, writer = os.pipe()
        _widen(writer)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the helper: never returns into the caller's stack
            status = 1
            try:
                os.close(reader)
                _become_helper(parent)
                while (number := self.counter.take()) is not None:
                    try:
                        message = _RESULT, codec.pack(task(number))
                    except OSError as error:
                        message = (
                            _OS_ERROR,
                            f"{error.errno}\0{error.strerror}\0{error.filename or ''}".encode(),
                        )
                    except BaseException as error:  # noqa: BLE001 - reported to the caller, which raises it
                        message = _ERROR, f"{type(error).__name__}: {error}".encode()
                    _write_all(writer, _MESSAGE.pack(number, message[0], len(message[1])) + message[1])
                    if message[0] != _RESULT:
                        break
                status = 0
            finally:
                os._exit(status)
        os.close(writer)
        self.children[pid] = reader

    def _receive(self, reader: int, codec: _Codec, results: dict[int, Any]) -> bool:
        """Read one message from a helper into ``results``; False at the end of its pipe."""
        head = _read_exactly(reader, _MESSAGE.size)
        if head is None:
            return False
        number, kind, length = _MESSAGE.unpack(head)
        body = _read_exactly(reader, length) if length else memoryview(b"")
        if body is None:
            raise WorkerError(f"a helper process ended while it sent block {number}")
        if kind == _OS_ERROR:
            code, text, filename = bytes(body).decode().split("\0")
            raise OSError(int(code), text, filename or None)
        if kind == _ERROR:
            raise WorkerError(f"a helper process failed on block {number}: {bytes(body).decode()}")
        results[number] = codec.unpack(body)
        return True

    def close(self, *, kill: bool, last: bool = False) -> None:
        """Wait for the helpers (they end when the blocks run out), or end them at once;
        ``last``: the team is done (its counter is closed too)."""
        for pid, reader in self.children.items():
            if kill:
                with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                    os.kill(pid, signal.SIGKILL)
            os.close(reader)
            os.waitpid(pid, 0)
        self.children.clear()
        if last:
            self.counter.close()


def _widen(pipe: int) -> None:
    """Room for a whole encoded block in the pipe (Linux: 1 MiB, the unprivileged limit), so that
    a helper does not wait for this process, busy with a block of its own, to read the last one."""
    import fcntl

    if hasattr(fcntl, "F_SETPIPE_SZ"):
        with contextlib.suppress(OSError):  # a lower system limit: the default size, and some waiting
            fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _become_helper(parent: int) -> None:
    """Signals are the calling process's business; die with it (Linux)."""
    _die_with_the_caller()
    if sys.platform.startswith("linux") and os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


def _die_with_the_caller() -> None:
    """A helper or pool worker ignores the signals the calling process handles and, on Linux,
    is killed when the calling process dies (``PR_SET_PDEATHSIG``): no orphans."""
    _ignore_signals()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no prctl: they end with their blocks
            pass


def _ignore_signals() -> None:
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> memoryview | None:
    """``size`` bytes from ``fd``, or None at its end (the writer exited)."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    done = 0
    while done < size:
        got = os.readv(fd, [view[done:]])
        if not got:
            return None
        done += got
    return view


def _can_fork() -> bool:
    """Forking is safe here: POSIX (not macOS, where system libraries are not fork-safe) and this
    process runs one thread (a lock held by another thread would stay held in the child)."""
    import threading

    return os.name == "posix" and sys.platform != "darwin" and threading.active_count() == 1


# --------------------------------------------------------------------------------------------
# The process pool's side: the model is sent once, when the worker starts
# --------------------------------------------------------------------------------------------

_MODEL: BlockModel | None = None


def _start_worker(model: BlockModel) -> None:
    global _MODEL
    _MODEL = model
    _die_with_the_caller()


def _encode_task(data: bytes) -> tuple[bytes, int]:
    return encode_block(_worker_model(), data)


def _decode_task(payload: bytes, crc: int, count: int) -> np.ndarray | str:
    return decode_block(_worker_model(), payload, crc, count)


def _worker_model() -> BlockModel:
    assert _MODEL is not None, "the pool's initializer (_start_worker) sets the model before any task"
    return _MODEL


def _context() -> BaseContext:
    """How pool workers start when forking here is not safe: from a fork server (POSIX), or
    spawned (Windows, macOS); forked where it is (then the helpers above are used instead)."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    if os.name == "posix" and sys.platform != "darwin":
        if _can_fork():
            return multiprocessing.get_context("fork")
        if "forkserver" in methods:
            return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")
