"""The byte compressor's public face: bytes in memory, files on disk, and their safety rules.

* Inputs are bytes-like objects (``compress``/``decompress``) or regular files
  (``compress_file``/``decompress_file``/``byte_counts``): a FIFO, a device (``/dev/zero``), a
  directory or a link to one is refused from ``fstat`` of the opened descriptor, before a byte
  is read (so a FIFO never blocks and ``/dev/zero`` never streams forever), and a size limit
  (``max_size``) is checked the same way.
* Outputs are written to ``TARGET.part`` and renamed onto ``TARGET`` only after every check
  passed, so ``TARGET`` never holds a partial or wrong file. The ``.part`` file is created
  with ``os.open(..., 0o666)``, so the kernel applies the umask (no ``os.umask`` round trip,
  which would change the mode of files other threads create meanwhile); it is removed on any
  error or interruption (the CLI turns SIGTERM into one), and a ``.part`` left by a killed run
  is removed by the next one (one that another process is still writing is locked with
  ``flock`` and refused).
* ``decompress_file`` refuses, before writing, a file that announces more bytes than
  ``max_output`` or than the destination's filesystem has free; ``decompress`` refuses more
  than ``max_output`` (default: this machine's physical memory).
"""

from __future__ import annotations

import errno
import io
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._typing import ArrayLike
from .._validate import InputError, InputTypeError, check_integer
from . import container
from .blocks import read_at, write_at

try:
    import fcntl  # POSIX: a .part file being written is locked, so a second run can tell it from a stale one
except ImportError:  # pragma: no cover - Windows: no locks; a .part found is taken as stale
    fcntl = None  # type: ignore[assignment]  # the module, or None where the platform has none
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # POSIX flags; 0 where the platform has none
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

#: A bytes-like object: ``bytes``, ``bytearray``, ``memoryview``, a uint8 array.
BytesLike = bytes | bytearray | memoryview | np.ndarray
#: A file's path.
StrPath = str | os.PathLike[str]

__all__ = [
    "byte_counts",
    "compress",
    "decompress",
    "compress_file",
    "decompress_file",
    "CompressionStats",
    "DecompressionStats",
]


class TargetExistsError(InputError, FileExistsError):
    """The output exists and ``force`` was not given (both an InputError and a FileExistsError)."""


@dataclass(frozen=True)
class CompressionStats:
    """What :func:`compress_file` did; rates in bits per original byte.

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
        payload, predicted = self.payload_bits_per_byte, self.cross_entropy
        if payload is None or predicted is None:  # no original bytes
            return None
        return payload - predicted


@dataclass(frozen=True)
class DecompressionStats:
    """What :func:`decompress_file` did."""

    compressed_bytes: int
    original_bytes: int
    seconds: float


def byte_counts(source: BytesLike | StrPath, /, *, max_size: int | None = None) -> np.ndarray:
    """How often each byte value 0..255 occurs in ``source`` (bytes-like, or a regular file's path).

    The order-0 model of a file: pass it as ``model=`` to code another file with this one's
    byte frequencies. ``max_size`` refuses a larger file before reading it.

    >>> byte_counts(b"abracadabra")[[97, 98, 99, 100, 114]].tolist()
    [5, 2, 1, 1, 2]
    """
    if isinstance(source, (str, os.PathLike)):
        with _FileSource(source, "source", max_size) as data:
            return container.scan(data).counts
    return container.scan(_BytesSource(source, "source")).counts


def compress(
    data: BytesLike,
    /,
    *,
    model: ArrayLike | None = None,
    floor: float | None = None,
    format_version: int = 2,
    workers: int | None = None,
) -> bytes:
    """Compress bytes with a range coder under an order-0 byte model (see :func:`compress_file`).

    ``data`` is bytes-like (``bytes``, ``bytearray``, ``memoryview``, a uint8 array); a ``str``
    is refused rather than guessed to be a file name (use :func:`compress_file` for files).
    ``format_version`` and ``workers`` as for :func:`compress_file`.

    >>> text = b"abracadabra" * 100
    >>> packed = compress(text)
    >>> decompress(packed) == text
    True
    """
    _check_coding_options(format_version, workers)
    source = _BytesSource(data, "data")
    planned = container.plan(source, model=model, floor=floor, progress=None, workers=workers)
    out = io.BytesIO()
    container.write(source, planned, out, progress=None, version=format_version, workers=workers)
    return out.getvalue()


def decompress(blob: BytesLike, /, *, max_output: int | None = None, workers: int | None = None) -> bytes:
    """The original bytes of :func:`compress`'s output (either format version).

    Raises :class:`FormatError` if ``blob`` is damaged, forged or announces more than
    ``max_output`` bytes (default: the machine's physical memory), before decoding anything;
    decoding stops as soon as a payload is exhausted. ``workers`` as for :func:`decompress_file`.

    >>> decompress(compress(b"abc"), max_output=2)
    Traceback (most recent call last):
      ...
    infoloss.coding.container.FormatError: data announces 3 original bytes, more than the limit of 2; refusing to
    decode it; raise the limit (max_output=, --max-size) if you trust the file
    """
    check_integer("max_output", max_output, low=0, allow_none=True, meaning="the most bytes to restore")
    _check_coding_options(2, workers)
    source = _BytesSource(blob, "blob")
    view = source.view
    limit = _physical_memory() if max_output is None else max_output
    header, payload = container.read(io.BytesIO(view.data), view.size, "data", max_output=limit)
    if not header.length:
        return b""
    with _MemorySink(header.length) as sink:
        container.decode_into(header, payload, sink, "data", workers=workers)
        return sink.getvalue()


def compress_file(
    source: StrPath,
    target: StrPath,
    /,
    *,
    model: ArrayLike | None = None,
    floor: float | None = None,
    force: bool = False,
    progress: container.Progress | None = None,
    max_size: int | None = None,
    format_version: int = 2,
    workers: int | None = None,
) -> CompressionStats:
    """Compress the regular file ``source`` into ``target``; return sizes and predicted bit rates.

    The model is order-0 (each byte independent): by default the byte frequencies of
    ``source`` itself, so the payload approaches ``n H(p)`` bits, ``p`` the file's byte
    distribution. With ``model`` (256 byte counts or probabilities, e.g.
    ``byte_counts(other_file)``) it approaches ``n H(p, q) = n (H(p) + D(p || q))``: the output
    grows by exactly the KL divergence in bits per byte (the cross-entropy reading of a code
    built for the wrong distribution).

    Args:
      source, target: paths. ``source`` must be a regular file (not a FIFO or device);
        ``target`` is written (via ``target.part``) only when compression succeeded.
      model: 256 non-negative weights, normalised by their sum; None fits the file.
      floor: raise every byte's model probability to at least this (then renormalise), so
        bytes the model has never seen can be coded; without it such a byte is an error
        naming its offset.
      force: overwrite an existing ``target``.
      progress: optional callable ``progress(phase, done_bytes, total_bytes)``.
      max_size: refuse a ``source`` larger than this many bytes, before reading it.
      format_version: 2 (blocks of 1 MiB coded independently, decoded on every core) or 1 (one coder
        for the whole file, readable by infoloss before version 2 existed).
      workers: processes coding version-2 blocks at the same time, this one included; None: one
        per CPU (:func:`~infoloss.coding.blocks.default_workers`) for inputs of 2 MiB and more,
        else 1. The output is the same whatever the number.

    Returns:
      :class:`CompressionStats`: sizes, bits per byte, entropy, cross-entropy and KL in bits.
    """
    _check_coding_options(format_version, workers)
    start = time.perf_counter()
    with _FileSource(source, "source", max_size) as data:
        _check_target(data, target, force)
        planned = container.plan(data, model=model, floor=floor, progress=progress, workers=workers)
        with _output(target, force) as out:
            header = container.write(
                data, planned, out, progress=progress, version=format_version, workers=workers
            )
    return CompressionStats(
        **planned.figures,
        header_bytes=header.size,
        payload_bytes=header.payload_bytes,
        compressed_bytes=header.size + header.payload_bytes,
        seconds=time.perf_counter() - start,
    )


def decompress_file(
    source: StrPath,
    target: StrPath,
    /,
    *,
    force: bool = False,
    progress: container.Progress | None = None,
    max_output: int | None = None,
    max_size: int | None = None,
    workers: int | None = None,
) -> DecompressionStats:
    """Restore the file compressed by :func:`compress_file` (either format version).

    The header, the payload (each block's, in version 2) and the restored bytes are all
    checked (CRC-32, CRC-32, SHA-256);
    a truncated, corrupted, forged, foreign or newer-version file raises :class:`FormatError`
    and ``target`` is not written. Refused before anything is written: a file announcing more
    than ``max_output`` bytes or more than the free space of ``target``'s filesystem, and a
    ``source`` larger than ``max_size`` bytes (a version-1 payload is read into memory) or not a
    regular file. ``workers``: processes decoding version-2 blocks at the same time (None: as
    for :func:`compress_file`; 1: in this process).
    """
    check_integer("max_output", max_output, low=0, allow_none=True, meaning="the most bytes to restore")
    _check_coding_options(2, workers)
    start = time.perf_counter()
    with _FileSource(source, "source", max_size) as data:
        _check_target(data, target, force)
        header, payload = container.read(data.stream, data.size, data.name, max_output=max_output)
        _check_free_space(target, header.length, data.name)
        with _output(target, force) as out:
            container.decode_into(
                header, payload, _FileSink(out.fileno()), data.name, progress=progress, workers=workers
            )
    return DecompressionStats(
        compressed_bytes=data.size, original_bytes=header.length, seconds=time.perf_counter() - start
    )


def _check_coding_options(format_version: int, workers: int | None) -> None:
    check_integer("format_version", format_version, low=1, meaning="1 or 2")
    if format_version not in container.VERSIONS:
        raise InputError(
            f"must be 1 or 2, got format_version={format_version!r}",
            argument="format_version",
            value=format_version,
        )
    check_integer(
        "workers", workers, low=1, allow_none=True, meaning="processes coding blocks at the same time"
    )


# --------------------------------------------------------------------------------------------
# Sources: bytes-like objects and regular files, read in CHUNK-sized uint8 arrays
# --------------------------------------------------------------------------------------------


class _BytesSource:
    def __init__(self, data: Any, argument: str) -> None:  # anything: refused below unless bytes-like
        if isinstance(data, (str, os.PathLike)):
            raise InputTypeError(
                f"must be bytes-like (bytes, bytearray, memoryview, a uint8 array), got {type(data).__name__}",
                argument=argument,
                value=repr(data)[:60],
                hint="to compress a file, use compress_file(path, target); for text, pass text.encode()",
            )
        try:
            self.view = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
        except TypeError:
            raise InputTypeError(
                f"must be bytes-like (bytes, bytearray, memoryview, a uint8 array), got {type(data).__name__}",
                argument=argument,
            ) from None
        self.name, self.size = "data", self.view.size

    def chunks(self) -> Iterator[np.ndarray]:
        for start in range(0, self.size, container.CHUNK):
            yield self.view[start : start + container.CHUNK]

    def read(self, offset: int, length: int) -> np.ndarray:
        return self.view[offset : offset + length]

    def current_size(self) -> int:
        return self.size


class _FileSource:
    """A regular file opened once (checked with fstat before any read), read from the start per pass."""

    def __init__(self, path: StrPath, argument: str, max_size: int | None) -> None:
        check_integer("max_size", max_size, low=0, allow_none=True, meaning="the largest input in bytes")
        self.path, self.name, self.argument, self.max_size = Path(path), str(path), argument, max_size

    def __enter__(self) -> _FileSource:
        self.stream = _open_regular(self.path, self.argument)
        self.identity = os.fstat(self.stream.fileno())  # compared with the target's (same file?)
        self.size = self.identity.st_size
        if self.max_size is not None and self.size > self.max_size:
            self.stream.close()
            raise InputError(
                f"{self.name} is {self.size:,} bytes, more than the limit of {self.max_size:,}",
                value=self.size,
                hint="raise the limit (max_size=, --max-size) to read it",
            )
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        self.stream.close()
        return False

    def chunks(self) -> Iterator[np.ndarray]:
        """The file from its start in CHUNK-sized arrays (one buffer, reused), the last one shorter."""
        self.stream.seek(0)
        buffer = bytearray(container.CHUNK)
        view = memoryview(buffer)
        while True:
            count = 0
            while count < len(buffer):  # a read may return less than asked for before the end
                got = self.stream.readinto(view[count:])
                if not got:
                    break
                count += got
            if count:
                yield np.frombuffer(buffer, dtype=np.uint8, count=count)
            if count < len(buffer):
                return

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset`` (fewer at the end), by any process (``read_at``)."""
        return read_at(self.stream.fileno(), length, offset)

    def current_size(self) -> int:
        return os.fstat(self.stream.fileno()).st_size


# --------------------------------------------------------------------------------------------
# Sinks: where decoded blocks are written by offset, by whichever process decoded them
# --------------------------------------------------------------------------------------------


class _FileSink:
    """An open output file, written by offset (``os.pwrite``: forked helpers share it) and read back."""

    def __init__(self, descriptor: int) -> None:
        self.descriptor = descriptor

    def write(self, offset: int, data: np.ndarray) -> None:
        # .data: the array's buffer (NumPy types an array as a Buffer only on Python >= 3.12).
        write_at(self.descriptor, data.data.cast("B"), offset)

    def read(self, offset: int, length: int) -> bytes:
        return read_at(self.descriptor, length, offset)


class _MemorySink:
    """``size`` bytes of shared anonymous memory (forked helpers write into the same pages)."""

    def __init__(self, size: int) -> None:
        import mmap

        self.memory = mmap.mmap(-1, size)  # MAP_SHARED | MAP_ANONYMOUS on POSIX

    def __enter__(self) -> _MemorySink:
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        self.memory.close()
        return False

    def write(self, offset: int, data: np.ndarray) -> None:
        self.memory[offset : offset + data.size] = data.data.cast("B")

    def read(self, offset: int, length: int) -> memoryview:
        return memoryview(self.memory)[offset : offset + length]

    def getvalue(self) -> bytes:
        return self.memory[:]


def _open_regular(path: Path, argument: str) -> io.FileIO:
    """``path`` opened for reading, or an error if it is not a regular file (checked on the descriptor).

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", argument=None) from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, not a file") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise InputError(
            f"{path} is {_kind(mode)}, not a regular file; only regular files are read "
            "(copy the data into a file first)",
            value=_kind(mode),
        )
    if _NONBLOCK:
        os.set_blocking(descriptor, True)
    return os.fdopen(descriptor, "rb", buffering=0)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on every platform
        return 1 << 40


# --------------------------------------------------------------------------------------------
# Targets: checks, free space, TARGET.part written and renamed
# --------------------------------------------------------------------------------------------


def _check_target(source: _FileSource, target_path: StrPath, force: bool) -> None:
    target = Path(target_path)
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        return
    if os.path.samestat(existing, source.identity):
        raise InputError(f"{target} is the input file itself; choose another output path")
    if stat.S_ISDIR(existing.st_mode):
        raise InputError(f"{target} is a directory, not a file")
    if not force:
        raise TargetExistsError(f"{target} already exists", hint="pass force=True (--force) to overwrite it")
    if not stat.S_ISREG(existing.st_mode):
        raise InputError(f"{target} is {_kind(existing.st_mode)}; only a regular file is overwritten")


def _check_free_space(target: StrPath, needed: int, name: str) -> None:
    directory = Path(target).resolve().parent
    # what shutil.disk_usage calls "free" (blocks an unprivileged process may use), without
    # importing shutil and, with it, bz2 and lzma (3 ms of every decompress's start-up)
    filesystem = os.statvfs(directory)
    free = filesystem.f_bavail * filesystem.f_frsize
    if needed > free:
        raise InputError(
            f"{name} announces {needed:,} original bytes, more than the {free:,} bytes free on the "
            f"filesystem of {directory}; refusing to start",
            value=needed,
            hint="free some space or restore it elsewhere (-o)",
        )


def part_path(target: StrPath) -> Path:
    """Where the output is written before it is renamed onto ``target``."""
    path = Path(target)
    return path.with_name(path.name + ".part")


@contextmanager
def _output(target_path: StrPath, force: bool) -> Iterator[io.BufferedWriter]:
    """Write to ``TARGET.part``; move it onto ``target`` only on success, remove it otherwise."""
    target, part = Path(target_path), part_path(target_path)
    descriptor = _create_part(part)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            yield stream
            if target.exists() and not force:
                raise TargetExistsError(
                    f"{target} already exists", hint="pass force=True (--force) to overwrite it"
                )
            os.replace(part, target)  # while the lock is held: no other run removes it meanwhile
    except BaseException:
        _unlink(part)
        raise


def _create_part(part: Path) -> int:
    """A new ``part`` file, locked; a stale one (left by a killed run) is removed first."""
    # O_RDWR: the decoder reads its blocks back (hashing them in order) from the file its helpers write.
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | _CLOEXEC | _NOFOLLOW | getattr(os, "O_BINARY", 0)
    for _ in range(3):
        try:
            descriptor = os.open(part, flags, 0o666)  # 0o666 & ~umask, applied by the kernel
        except FileExistsError:
            _remove_stale(part)
            continue
        if fcntl is not None:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return descriptor
    raise InputError(f"{part} keeps reappearing; another program is writing it")


def _remove_stale(part: Path) -> None:
    try:
        descriptor = os.open(part, os.O_RDONLY | _NONBLOCK | _CLOEXEC | _NOFOLLOW)
    except FileNotFoundError:
        return
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
        os.unlink(part)  # a symbolic link: remove the link itself, never what it points to
        return
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise InputError(f"{part} exists and is not a regular file; remove it or choose another output")
        try:
            if fcntl is not None:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                f"{part} is being written by another infoloss process; wait for it to finish "
                "or choose another output"
            ) from None
        os.unlink(part)
    finally:
        os.close(descriptor)


def _unlink(path: Path) -> None:
    with suppress(FileNotFoundError):
        os.unlink(path)
