"""The compressor's safety rules: bytes-like input only, regular files only, size limits,
bounded decoding, TARGET.part handling and file modes that never touch the process umask."""

from __future__ import annotations

import fcntl
import os
import signal
import stat
import subprocess
import sys
import time
from collections import namedtuple

import numpy as np
import pytest

from infoloss import InputError, InputTypeError, coding
from infoloss.coding import files
from infoloss.coding.range import TOTAL, capacity_symbols
from tests.coding.formats import forge_v2, layout, resign
from tests.fuzz.corpus_coding import forge


def _skewed_bytes(n, seed=0):
    rng = np.random.default_rng(seed)
    w = 1.0 / np.arange(1, 257) ** 1.2
    return rng.choice(256, size=n, p=w / w.sum()).astype(np.uint8).tobytes()


@pytest.mark.parametrize("value", ["notes.txt", b"x".decode()])
def test_a_str_is_not_taken_for_a_file_name(value, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_bytes(b"secret")
    with pytest.raises(InputTypeError, match=r"data must be bytes-like.*compress_file") as raised:
        coding.compress(value)
    assert raised.value.argument == "data"
    with pytest.raises(InputTypeError, match="blob must be bytes-like"):
        coding.decompress(value)
    with pytest.raises(InputTypeError, match="bytes-like"):
        coding.compress(3.5)


def test_bytes_like_inputs_all_work():
    data = b"abracadabra" * 20
    for form in (data, bytearray(data), memoryview(data), np.frombuffer(data, np.uint8)):
        assert coding.decompress(coding.compress(form)) == data


def test_only_regular_files_are_read(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "zero").symlink_to("/dev/zero")
    (tmp_path / "ok").write_bytes(b"abc")
    for path, kind in [(fifo, "FIFO"), (tmp_path / "zero", "character device"), (tmp_path, "directory")]:
        with pytest.raises(InputError, match=kind):
            coding.compress_file(path, tmp_path / "out.ilc")  # returns at once: nothing is read
        with pytest.raises(InputError, match=kind):
            coding.byte_counts(path)
        with pytest.raises(InputError, match=kind):
            coding.decompress_file(path, tmp_path / "out")
    with pytest.raises(InputError, match="no such file"):
        coding.compress_file(tmp_path / "missing", tmp_path / "out.ilc")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "ok", "zero"]


def test_size_limits_are_checked_before_reading(tmp_path):
    (tmp_path / "big").write_bytes(b"x" * 1000)
    with pytest.raises(InputError, match="1,000 bytes, more than the limit of 999") as raised:
        coding.compress_file(tmp_path / "big", tmp_path / "big.ilc", max_size=999)
    assert raised.value.value == 1000
    with pytest.raises(InputError, match="more than the limit"):
        coding.byte_counts(tmp_path / "big", max_size=10)
    coding.compress_file(tmp_path / "big", tmp_path / "big.ilc", max_size=1000)
    with pytest.raises(coding.FormatError, match="more than the limit of 999"):
        coding.decompress_file(tmp_path / "big.ilc", tmp_path / "back", max_output=999)
    assert not (tmp_path / "back").exists()
    coding.decompress_file(tmp_path / "big.ilc", tmp_path / "back", max_output=1000)
    assert (tmp_path / "back").read_bytes() == b"x" * 1000


def test_free_space_is_checked_before_writing(tmp_path, monkeypatch):
    coding.compress_file(_write(tmp_path / "a", b"hello world" * 100), tmp_path / "a.ilc")
    filesystem = namedtuple("filesystem", "f_bavail f_frsize")  # 1,099 blocks of 1 byte free
    monkeypatch.setattr(os, "statvfs", lambda path: filesystem(1099, 1))
    with pytest.raises(InputError, match="1,100 original bytes, more than the 1,099 bytes free"):
        coding.decompress_file(tmp_path / "a.ilc", tmp_path / "back")
    assert not (tmp_path / "back").exists() and not (tmp_path / "back.part").exists()


def test_header_must_be_consistent_with_the_payload_before_decoding():
    skewed = np.array([TOTAL - 1, 1])
    most = capacity_symbols(1, skewed)
    assert 7e8 < most < 2e9  # 4 bytes at 8.6e-8 bits per byte: the format's largest legal ratio
    with pytest.raises(coding.FormatError, match=r"inconsistent header.*holds at most"):
        coding.decompress(forge(most + 1, [97, 98], skewed, bytes(4)))
    # Version 2: the same bound for each block, before anything is decoded (a 1-bit model:
    # one 32-bit word holds at most 32 + 64 bytes, not 200).
    blob = forge_v2(400, [97, 98], [1 << 23, 1 << 23], [bytes(100), bytes(4)], block_bytes=200)
    with pytest.raises(
        coding.FormatError, match=r"inconsistent header: block 1 holds 200 bytes.* at most 96"
    ):
        coding.decompress(blob)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"blocks": 3}, "3 blocks where .* make 2"),  # m must be ceil(n / B)
        ({"blocks": (1 << 32) - 1}, "blocks where"),
        ({"block_bytes": 0}, "block length 0"),
        ({"block_bytes": (1 << 26) + 1}, "block length"),
    ],
)
def test_version_2_block_layout_is_checked_before_the_index_is_read(fields, message):
    options = {"block_bytes": 1000} | fields
    with pytest.raises(coding.FormatError, match=message):
        coding.decompress(forge_v2(2000, [97, 98], [1 << 23, 1 << 23], [bytes(8), bytes(8)], **options))


def test_version_2_index_must_fit_the_file_and_add_up():
    # 10^9 blocks announced (consistent with n / B): refused from the file's size, before
    # 16 GB of index would be read or allocated.
    blob = forge_v2(10**9, [97, 98], [1 << 23, 1 << 23], [], block_bytes=1, blocks=10**9)
    with pytest.raises(coding.FormatError, match="truncated: its header announces 1,000,000,000 blocks"):
        coding.decompress(blob)
    import infoloss.coding.container as container

    original, container.CHUNK = container.CHUNK, 1000
    try:
        good = coding.compress(_skewed_bytes(3000), workers=1)  # 3 blocks
    finally:
        container.CHUNK = original
    where = layout(good)
    index = where["index"]
    shifted = bytearray(good)
    shifted[index : index + 8] = (4).to_bytes(8, "little")  # block 0 must start at offset 0
    with pytest.raises(coding.FormatError, match="block 0 starts at payload offset 4, not 0"):
        coding.decompress(resign(shifted, where))
    odd = bytearray(good)
    odd[index + 8 : index + 12] = (int.from_bytes(good[index + 8 : index + 12], "little") - 1).to_bytes(
        4, "little"
    )
    with pytest.raises(coding.FormatError, match="multiple of 4"):
        coding.decompress(resign(odd, where))
    gap = bytearray(good)  # block 1 starting 4 bytes late: the lengths no longer add up to the offsets
    gap[index + 16 : index + 24] = (int.from_bytes(good[index + 16 : index + 24], "little") + 4).to_bytes(
        8, "little"
    )
    with pytest.raises(coding.FormatError, match="block 1 starts at payload offset"):
        coding.decompress(resign(gap, where))


def test_the_decoder_stops_when_the_payload_is_exhausted():
    # Valid CRCs, a consistent header, a payload of zeros: the rare byte (first) decodes from the
    # zero padding at 24 bits a time, so the word count runs out within the first block.
    rare_first = np.array([1, TOTAL - 1])
    n = capacity_symbols(2, rare_first)
    start = time.perf_counter()
    with pytest.raises(coding.FormatError, match="exhausted"):
        coding.decompress(forge(n, [97, 98], rare_first, bytes(8)), max_output=n)
    # Version 2: each block has its own payload and its own count of words.
    block = 1 << 20
    with pytest.raises(coding.FormatError, match="block 0 is exhausted"):
        coding.decompress(forge_v2(2 * block, [97, 98], rare_first, [bytes(8), bytes(8)], block_bytes=block))
    assert time.perf_counter() - start < 30  # a hang guard, not a speed target


@pytest.mark.parametrize("version", [1, 2])
def test_damaged_payload_with_resigned_crcs_never_yields_wrong_bytes(version, monkeypatch):
    # Damage the payload and re-sign it (every CRC valid): the word count or the SHA-256 refuses it.
    import infoloss.coding.container as container

    monkeypatch.setattr(container, "CHUNK", 1024)  # version 2: 5 blocks
    data = _skewed_bytes(5000)
    blob = coding.compress(data, format_version=version)
    header_size = layout(blob)["header_size"]
    rng = np.random.default_rng(1)
    for _ in range(30):
        damaged = bytearray(blob)
        damaged[header_size + int(rng.integers(len(blob) - header_size))] ^= 1 << int(rng.integers(8))
        with pytest.raises(coding.FormatError, match=r"SHA-256|exhausted|cannot be decoded"):
            coding.decompress(resign(damaged))


def test_modes_follow_the_umask_without_changing_it(tmp_path, monkeypatch):
    def forbidden(mask):
        raise AssertionError("os.umask was called: it changes the mode of every thread's new files")

    previous = os.umask(0o027)
    try:
        monkeypatch.setattr(os, "umask", forbidden)
        source = _write(tmp_path / "a", b"some bytes " * 50)
        coding.compress_file(source, tmp_path / "a.ilc")
        coding.decompress_file(tmp_path / "a.ilc", tmp_path / "b")
    finally:
        monkeypatch.undo()
        os.umask(previous)
    for name in ("a.ilc", "b"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o640


def test_a_stale_part_file_is_replaced_and_a_locked_one_refused(tmp_path):
    source = _write(tmp_path / "a", b"text " * 100)
    part = tmp_path / "a.ilc.part"
    part.write_bytes(b"left behind by a killed run")
    coding.compress_file(source, tmp_path / "a.ilc")
    assert not part.exists() and coding.decompress((tmp_path / "a.ilc").read_bytes()) == b"text " * 100
    part.symlink_to(source)  # a planted link: removed, never followed
    coding.compress_file(source, tmp_path / "a.ilc", force=True)
    assert not part.exists() and source.read_bytes() == b"text " * 100
    with open(part, "wb") as busy:  # another run is writing it
        fcntl.flock(busy, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(InputError, match="being written by another infoloss process"):
            coding.compress_file(source, tmp_path / "a.ilc", force=True)
        assert part.exists()


def test_sigterm_removes_the_part_file(tmp_path):
    data = _skewed_bytes(1 << 20)
    coding.compress_file(_write(tmp_path / "d", data), tmp_path / "d.ilc")
    # A child that decodes slowly (256 blocks, a pause after each: over 5 s), so the signal lands
    # mid-way even on a loaded machine; the command stops at the next block boundary.
    script = (
        "import time, sys; import infoloss.coding.container as c; c.CHUNK = 1 << 12; "
        "report = c._report; c._report = lambda *a: (time.sleep(0.02), report(*a)); "
        "from infoloss.cli.main import main; "
        "main(['code', 'decompress', sys.argv[1], '-o', sys.argv[2]], prog_name='infoloss')"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "d.ilc"), str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    part = tmp_path / "out.part"
    deadline = time.monotonic() + 60
    while not part.exists() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.005)
    assert part.exists(), child.communicate()
    child.send_signal(signal.SIGTERM)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.strip() == "Error: interrupted by SIGTERM; no partial output is left"
    assert not part.exists() and not (tmp_path / "out").exists()


def _write(path, data):
    path.write_bytes(data)
    return path


_SLOW_DECOMPRESS = (
    "import time, sys; import infoloss.coding.container as c; c.CHUNK = 1 << 14; "
    "report = c._report; c._report = lambda *a: (time.sleep(0.02), report(*a)); "
    "from infoloss.cli.main import main; "
    "main(['code', 'decompress', sys.argv[1], '-o', sys.argv[2], '-j', '2'], prog_name='infoloss')"
)


def _start_slow_decompress(tmp_path):
    """A child decompressing on two worker processes, slowly, in its own session; waits for OUT.part."""
    import infoloss.coding.container as container

    original, container.CHUNK = container.CHUNK, 1 << 14
    try:
        coding.compress_file(_write(tmp_path / "d", _skewed_bytes(1 << 21)), tmp_path / "d.ilc")  # 128 blocks
    finally:
        container.CHUNK = original
    child = subprocess.Popen(
        [sys.executable, "-c", _SLOW_DECOMPRESS, str(tmp_path / "d.ilc"), str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    part = tmp_path / "out.part"
    deadline = time.monotonic() + 60
    while not part.exists() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.005)
    assert part.exists(), child.communicate()
    return child, part


def _session_is_empty(session: int, wait: float = 30) -> bool:
    """No process is left in ``session`` (the child's process group) within ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.killpg(session, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(sys.platform != "linux", reason="worker processes die with their parent on Linux (prctl)")
def test_sigterm_with_worker_processes_removes_the_part_file_and_the_workers(tmp_path):
    child, part = _start_slow_decompress(tmp_path)
    child.send_signal(signal.SIGTERM)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.strip() == "Error: interrupted by SIGTERM; no partial output is left"
    assert not part.exists() and not (tmp_path / "out").exists()
    assert _session_is_empty(child.pid)


@pytest.mark.skipif(sys.platform != "linux", reason="worker processes die with their parent on Linux (prctl)")
def test_a_killed_command_leaves_no_worker_processes(tmp_path):
    child, _ = _start_slow_decompress(tmp_path)
    os.kill(child.pid, signal.SIGKILL)
    child.communicate(timeout=60)
    assert _session_is_empty(child.pid)  # the workers got SIGKILL when their parent died
    assert not (tmp_path / "out").exists()  # the .part stays (SIGKILL); the next run replaces it


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="helpers are forked on Linux")
@pytest.mark.parametrize("direction", ["encode", "decode"])
def test_the_calling_process_and_its_helpers_share_the_blocks(tmp_path, direction):
    _in_a_fresh_process(_helpers_share_the_blocks, tmp_path, direction)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="helpers are forked on Linux")
def test_a_helper_that_fails_is_an_error_and_leaves_no_output(tmp_path):
    _in_a_fresh_process(_a_failing_helper_leaves_no_output, tmp_path)


def _in_a_fresh_process(check, tmp_path, *args):
    """Runs ``check(tmp_path, *args)`` in a new interpreter and fails with its traceback.

    Helpers are forked only from a process that runs one thread, and earlier tests in this one
    may have left thread pools running (the measures', Dask's): here the process pool would
    code every block instead, and the checks below would see no helper at all.
    """
    call = f"{check.__name__}(pathlib.Path({str(tmp_path)!r}), *{args!r})"
    code = f"import pathlib, tests.coding.test_files as t; t.{call}"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def _helpers_share_the_blocks(tmp_path, direction):
    # Every block records the process that coded it (an O_APPEND file: the helpers are forked, so
    # a list in this process would not see their entries).
    import threading

    from infoloss.coding import blocks

    assert threading.active_count() == 1
    with pytest.MonkeyPatch.context() as monkeypatch:
        source, data = _multi_block_file(tmp_path, monkeypatch)
        log = tmp_path / "pids"
        function = "encode_block" if direction == "encode" else "decode_block"
        original = getattr(blocks, function)

        def recorded(*args):
            with open(log, "a") as out:
                out.write(f"{os.getpid()}\n")
            # Each process's block waits until the other has one too (else, on a busy machine, one
            # of them could code every block before the other is scheduled at all).
            _wait_for(lambda: len(set(log.read_text().split())) > 1)
            return original(*args)

        if direction == "decode":
            coding.compress_file(source, tmp_path / "d.ilc", workers=1)
        monkeypatch.setattr(blocks, function, recorded)
        if direction == "encode":
            coding.compress_file(source, tmp_path / "d.ilc", workers=2)
            monkeypatch.setattr(blocks, function, original)
        coding.decompress_file(tmp_path / "d.ilc", tmp_path / "back", workers=2)
        assert (tmp_path / "back").read_bytes() == data
        pids = log.read_text().split()
        assert len(pids) == 8 and str(os.getpid()) in pids and len(set(pids)) == 2  # one helper beside this
        assert (
            coding.compress(data, workers=2)
            == coding.compress(data, workers=1)
            == (tmp_path / "d.ilc").read_bytes()
        )


def _a_failing_helper_leaves_no_output(tmp_path):
    import errno

    from infoloss.coding import blocks

    with pytest.MonkeyPatch.context() as monkeypatch:
        source, data = _multi_block_file(tmp_path, monkeypatch)
        coding.compress_file(source, tmp_path / "d.ilc", workers=1)
        me = os.getpid()
        original = files._FileSink.write

        helped = tmp_path / "helped"

        def full_disk(self, offset, block):
            if os.getpid() != me:  # only the helper's writes fail
                helped.touch()
                raise OSError(errno.ENOSPC, "No space left on device", "back.part")
            _wait_for(helped.exists)  # the helper gets a block before this process takes them all
            original(self, offset, block)

        monkeypatch.setattr(files._FileSink, "write", full_disk)
        with pytest.raises(OSError, match="No space left on device") as raised:
            coding.decompress_file(tmp_path / "d.ilc", tmp_path / "back", workers=2)
        assert raised.value.errno == errno.ENOSPC
        assert not (tmp_path / "back").exists() and not (tmp_path / "back.part").exists()

        def killed(self, offset, block):  # a helper that dies (the OOM killer): an error, not a hang
            if os.getpid() != me:
                helped.touch()
                os._exit(9)
            _wait_for(helped.exists)
            original(self, offset, block)

        helped.unlink()
        monkeypatch.setattr(files._FileSink, "write", killed)
        with pytest.raises(blocks.WorkerError, match="helper process ended"):
            coding.decompress_file(tmp_path / "d.ilc", tmp_path / "back", workers=2)
        assert not (tmp_path / "back").exists() and not (tmp_path / "back.part").exists()
        monkeypatch.setattr(files._FileSink, "write", original)
        coding.decompress_file(tmp_path / "d.ilc", tmp_path / "back", workers=2)
        assert (tmp_path / "back").read_bytes() == data


def _multi_block_file(tmp_path, monkeypatch, blocks=8):
    import infoloss.coding.container as container

    monkeypatch.setattr(container, "CHUNK", 4096)
    data = _skewed_bytes(4096 * blocks - 7, seed=5)
    return _write(tmp_path / "d", data), data


@pytest.mark.parametrize("version, workers", [(1, 1), (2, 1), (2, 2)])
@pytest.mark.parametrize("change", ["overwrite", "append", "truncate"])
def test_a_source_changed_after_its_scan_is_refused(tmp_path, monkeypatch, version, workers, change):
    source, data = _multi_block_file(tmp_path, monkeypatch)

    def meddle(phase, done, total):
        if phase == "scan" and done == total:  # the model is fixed: now the bytes change
            with open(source, "r+b") as stream:
                if change == "overwrite":
                    stream.seek(5000)
                    stream.write(bytes([data[5000] ^ 1]))
                elif change == "append":
                    stream.seek(0, os.SEEK_END)
                    stream.write(data[:10])
                else:
                    stream.truncate(len(data) - 3)

    with pytest.raises(InputError, match="changed while it was being compressed; nothing was written"):
        coding.compress_file(
            source, tmp_path / "d.ilc", progress=meddle, format_version=version, workers=workers
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def _wait_for(condition, wait: float = 60) -> None:
    deadline = time.monotonic() + wait
    while not condition():
        assert time.monotonic() < deadline, "no helper process took a block"
        time.sleep(0.005)
