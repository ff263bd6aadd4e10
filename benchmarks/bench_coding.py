"""Throughput and size of `infoloss code compress` (order-0 range coding) against gzip, bzip2, xz.

Targets (issue 5), on a 100 MB file with an order-0 model, one core:
  compress >= 50 MB/s, decompress >= 20 MB/s, output within 0.01 % of the order-0 entropy bound.

Two inputs, generated or gathered deterministically in a temporary directory:
  zipf  100 MB of i.i.d. bytes from a Zipf(1.1)-like distribution over all 256 values, in a
        shuffled order (seed 0): order-0 coding is optimal here, so it is the fair test of the
        coder; dictionary/BWT compressors cannot find structure that is not there.
  text  up to 100 MB of real text: the Python sources (*.py) of this interpreter's standard
        library and installed packages, concatenated in sorted path order. Order-0 coding
        ignores context, so gzip/bzip2/xz are expected to win by far; the row shows how much
        of a text file's redundancy is beyond an order-0 model.

Each infoloss operation runs in a fresh child process (the library API that the CLI calls:
infoloss.coding.compress_file / decompress_file), reporting wall and CPU seconds and its peak
RSS (after a tiny warm-up call, so one-time imports are not timed); each external tool runs
single-threaded on the same file (xz with -6 -T1). Round trips are
verified byte for byte. Run: python benchmarks/bench_coding.py [--size-mb 100] [--skip-external]
Label handling: python benchmarks/bench_coding.py --labels 1000000 (`infoloss code --p-file` on
one CSV row of 10^6 labels; target under 2 s, measured here, never asserted in the tests).

The compressor as a user times it (native-speed issue): python benchmarks/bench_coding.py --whole-process
[--before /tmp/before] [--repeat 5]. 20,000,000 bytes drawn i.i.d. from a Dirichlet(0.3)
distribution over the 256 byte values (seed 0); each `infoloss code compress` / `decompress`
is a whole process (start-up and imports included), writing a file that does not exist yet
(removed before each run, untimed), timed by wall clock and by its CPU time
(its own and its helper processes'), with its peak RSS, median of the repeats: format version 2
with the defaults (both directions on every core: this process and forked helpers), and
version 1 / one process (-j 1) beside it. Targets: compress >= 60 MB/s, decompress >= 35 MB/s
(wall). The commands run with Python's bytecode cache (``PYTHONPYCACHEPREFIX``, a temporary
folder filled by one untimed run), as an installed package has it (pip compiles at install):
``PYTHONDONTWRITEBYTECODE=1`` in the environment would otherwise recompile every infoloss module
in every process (``--no-bytecode-cache`` keeps the environment as it is, and says so).
Then the decoder in process (no start-up), version 1 against the tree before the redesign
(``--before``: a checkout of commit 0c40178 with its extension built) on the same file:
single-block decoding within 5 % of before (median CPU time of the repeats, both measured in
this run).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_WHOLE_COMPRESS_MBS = 60.0
TARGET_WHOLE_DECOMPRESS_MBS = 35.0
TARGET_COMPRESS_MBS = 50.0
TARGET_DECOMPRESS_MBS = 20.0
TARGET_OVERHEAD_PERCENT = 0.01

CHILD = r"""
import json, sys, time
from infoloss import coding
operation, source, target = sys.argv[1:4]
coding.decompress(coding.compress(b"warm up: import everything the first call imports"))
wall, cpu = time.perf_counter(), time.process_time()
if operation == "compress":
    coding.compress_file(source, target, force=True)
else:
    coding.decompress_file(source, target, force=True)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec.
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"wall": wall, "cpu": cpu, "rss_mb": peak / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=100.0, help="input size in MB (1e6 bytes)")
    parser.add_argument("--skip-external", action="store_true", help="skip gzip/bzip2/xz")
    parser.add_argument(
        "--labels",
        type=int,
        default=0,
        metavar="N",
        help="instead: time `infoloss code --p-file` on one CSV row of N labelled counts",
    )
    parser.add_argument(
        "--whole-process",
        action="store_true",
        help="instead: `infoloss code compress/decompress` as whole processes, 20 MB Dirichlet(0.3)",
    )
    parser.add_argument("--before", metavar="TREE", help="with --whole-process: the tree before the redesign")
    parser.add_argument("--repeat", type=int, default=5, help="with --whole-process: runs of each (median)")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="with --whole-process: run the commands in this environment as it is (no bytecode cache "
        "if PYTHONDONTWRITEBYTECODE is set)",
    )
    args = parser.parse_args()
    if args.whole_process:
        _bench_whole_process(args.repeat, args.before, cache=not args.no_bytecode_cache)
        return
    if args.labels:
        _bench_labels(args.labels)
        return
    size = int(args.size_mb * 1e6)
    print(
        f"infoloss.coding benchmark: {size / 1e6:g} MB inputs; python {sys.version.split()[0]}, "
        f"numpy {np.__version__}, constriction {_version('constriction')}, {os.cpu_count()} CPUs "
        f"(load {os.getloadavg()[0]:.1f})"
    )
    with tempfile.TemporaryDirectory(prefix="bench_coding_") as folder:
        folder = Path(folder)
        inputs = {
            "zipf": _zipf_file(folder / "zipf.bin", size),
            "text": _text_file(folder / "text.txt", size),
        }
        verdicts = [
            _bench_one(name, path, folder, external=not args.skip_external) for name, path in inputs.items()
        ]
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
        for line in verdicts:
            print(line)


def _bench_whole_process(repeat: int, before: str | None, *, cache: bool = True) -> None:
    """The native-speed issue's compressor figures (see the module docstring)."""
    print(
        f"infoloss code compress/decompress, whole processes, 20,000,000 bytes Dirichlet(0.3); python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs (affinity {len(os.sched_getaffinity(0))}), load "
        f"{os.getloadavg()[0]:.1f}; median of {repeat}"
    )

    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.full(256, 0.3))
    data = rng.choice(256, size=20_000_000, p=probabilities).astype(np.uint8)
    size = data.size
    command = [sys.executable, "-m", "infoloss"]
    with tempfile.TemporaryDirectory(prefix="bench_whole_") as folder:
        folder = Path(folder)
        environment = dict(os.environ)
        if cache:
            environment.pop("PYTHONDONTWRITEBYTECODE", None)
            environment["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
            print("  with a bytecode cache (PYTHONPYCACHEPREFIX, filled by one untimed run of each command)")
        else:
            print(
                f"  environment as it is: PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}"
            )
        source = folder / "dirichlet.bin"
        data.tofile(source)
        startup = _median_run([*command, "--help"], repeat, environment)
        print(
            f"  infoloss --help: {startup['wall']:.3f} s wall, {startup['cpu']:.3f} s CPU, "
            f"peak RSS {startup['rss_mb']:.0f} MB"
        )
        print(
            f"{'format':<22}{'operation':<12}{'wall s':>8}{'CPU s':>8}{'MB/s wall':>11}{'MB/s CPU':>10}{'peak MB':>9}"
            f"{'output bytes':>14}  target"
        )
        rows = {}
        for label, options, dec_options in (
            ("v2, default", [], []),
            ("v1, one process", ["--format-version", "1", "-j", "1"], ["-j", "1"]),
            ("v2, one process", ["-j", "1"], ["-j", "1"]),
        ):
            packed, restored = folder / "d.ilc", folder / "d.out"
            enc = _median_run(
                [*command, "code", "compress", str(source), "-o", str(packed), "-f", *options],
                repeat,
                environment,
                fresh=packed,
            )
            out_size = packed.stat().st_size
            dec = _median_run(
                [*command, "code", "decompress", str(packed), "-o", str(restored), "-f", *dec_options],
                repeat,
                environment,
                fresh=restored,
            )
            if not _same(source, restored):
                raise SystemExit(f"{label}: ROUND TRIP FAILED")
            rows[label] = (enc, dec)
            for operation, result, target in (
                ("compress", enc, TARGET_WHOLE_COMPRESS_MBS),
                ("decompress", dec, TARGET_WHOLE_DECOMPRESS_MBS),
            ):
                rate = size / result["wall"] / 1e6
                passed = "PASS" if rate >= target else "MISS"
                verdict = f">= {target:g}: {passed}" if label == "v2, default" else ""
                print(
                    f"{label:<22}{operation:<12}{result['wall']:>8.3f}{result['cpu']:>8.3f}{rate:>11.1f}"
                    f"{size / result['cpu'] / 1e6:>10.1f}{result['rss_mb']:>9.0f}"
                    f"{out_size if operation == 'compress' else size:>14,}  {verdict}"
                )
        v2, v1 = rows["v2, default"], rows["v1, one process"]
        print(
            f"v2 default vs v1 one process (wall): compress {v1[0]['wall'] / v2[0]['wall']:.2f}x, "
            f"decompress {v1[1]['wall'] / v2[1]['wall']:.2f}x faster"
        )
        _bench_decoder_in_process(source, repeat, before)
    print(
        f"load average at the end: {os.getloadavg()[0]:.1f} (the machine is shared: wall times include waiting "
        "for a core; CPU times show the work)"
    )


DECODER_CHILD = r"""
import json, os, sys, time
from infoloss import coding
data = open(sys.argv[1], "rb").read()
repeat, options = int(sys.argv[2]), json.loads(sys.argv[3])
blob = coding.compress(data, **options.get("compress", {}))
coding.decompress(coding.compress(b"warm up: import everything the first call imports"))
cpus, walls = [], []
def cpu_seconds():  # this process and the helpers it has waited for
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system
for _ in range(repeat):
    wall, cpu = time.perf_counter(), cpu_seconds()
    assert coding.decompress(blob, **options.get("decompress", {})) == data
    walls.append(time.perf_counter() - wall)
    cpus.append(cpu_seconds() - cpu)
print(json.dumps({"cpu": sorted(cpus)[len(cpus) // 2], "wall": sorted(walls)[len(walls) // 2]}))
"""


def _bench_decoder_in_process(source: Path, repeat: int, before: str | None) -> None:
    """Single-block (version 1) decoding in process, against the tree before the redesign."""
    variants = [
        ("after, v1 (one coder)", None, {"compress": {"format_version": 1}}),
        ("after, v2, one process", None, {"decompress": {"workers": 1}}),
        ("after, v2, every core", None, {}),
    ]
    if before:
        variants.insert(0, ("before (0c40178), v1", str(Path(before) / "src"), {}))
    print(f"decoder in process (no start-up), {source.stat().st_size:,} bytes, median of {repeat}:")
    results = {}
    for label, path, options in variants:
        environment = dict(os.environ)
        if path:
            environment["PYTHONPATH"] = path
        done = subprocess.run(
            [sys.executable, "-c", DECODER_CHILD, str(source), str(repeat), json.dumps(options)],
            capture_output=True,
            text=True,
            env=environment,
            check=True,
        )
        results[label] = json.loads(done.stdout.strip().splitlines()[-1])
        size = source.stat().st_size
        print(
            f"  {label:<26} CPU {results[label]['cpu']:.3f} s ({size / results[label]['cpu'] / 1e6:.1f} MB/s), "
            f"wall {results[label]['wall']:.3f} s ({size / results[label]['wall'] / 1e6:.1f} MB/s)"
        )
    if before:
        reference = results["before (0c40178), v1"]["cpu"]
        for label in results:
            if label.startswith("after"):
                ratio = results[label]["cpu"] / reference
                verdict = f" (<= 1.05: {'PASS' if ratio <= 1.05 else 'MISS'})" if "v1" in label else ""
                print(f"  {label} / before, CPU: {ratio:.3f}{verdict}")
                if "every core" in label:
                    wall = results[label]["wall"] / results["before (0c40178), v1"]["wall"]
                    print(f"  {label} / before, wall: {wall:.3f}")


def _median_run(
    command: list[str], repeat: int, environment: dict | None = None, *, fresh: Path | None = None
) -> dict:
    """Median wall and CPU seconds (the process and its worker processes) and the peak RSS of ``command``.

    ``fresh``: a file removed before each run (untimed), so that the command writes it anew, as
    a first compress or decompress does; replacing an existing file costs more on ext4 (its
    ``auto_da_alloc`` allocates the new file's blocks at the rename: up to 30 ms for 20 MB here).

    Run under GNU time (``/usr/bin/time``) where it exists: Linux carries ``ru_maxrss`` over
    from the parent across fork and exec, so the small ``time`` process measures the peak of
    the command alone (the largest of its processes); elsewhere the peak is not shown.
    """
    walls, cpus, peaks = [], [], []
    gnu_time = shutil.which("time") if Path("/usr/bin/time").exists() else None
    if environment is not None and "PYTHONPYCACHEPREFIX" in environment:
        subprocess.run(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment
        )  # fill the cache
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        for _ in range(repeat):
            if fresh is not None:
                fresh.unlink(missing_ok=True)
            prefix = ["/usr/bin/time", "-q", "-o", report.name, "-f", "%U %S %M"] if gnu_time else []
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(
                prefix + command,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env=environment,
            )
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if done.returncode != 0:
                raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()}")
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            if gnu_time:
                report.seek(0)
                peaks.append(int(report.read().split()[-1]) / 1024)
    return {
        "wall": sorted(walls)[repeat // 2],
        "cpu": sorted(cpus)[repeat // 2],
        "rss_mb": max(peaks) if peaks else float("nan"),
    }


def _bench_labels(count: int) -> None:
    """`infoloss code --p-file row.csv --counts` with ``count`` labels (target: 10^6 in < 2 s).

    Whole process, wall clock, median of 3; the reference is `infoloss code --help` in the same
    run (the start-up and imports), so the difference is the reading, the code and the table
    (its first 1000 rows; the summary covers every symbol). Also the library alone
    (coding.huffman_code on the same counts, in this process).
    """
    rng = np.random.default_rng(0)
    weights = rng.integers(1, 1000, size=count)
    with tempfile.TemporaryDirectory(prefix="bench_labels_") as folder:
        path = Path(folder) / "row.csv"
        path.write_text(
            ",".join(f"s{i}" for i in range(count)) + "\n" + ",".join(map(str, weights.tolist())) + "\n"
        )
        command = [sys.executable, "-m", "infoloss", "code"]
        startup = _median_wall([*command, "--help"])
        whole = _median_wall([*command, "--p-file", str(path), "--counts"])
    from infoloss import coding

    counts = weights.astype(np.float64)
    p = counts / counts.sum()
    parts = {}
    for name, call in [
        (
            "huffman_lengths",
            lambda: parts.setdefault("lengths", coding.huffman_lengths(counts, normalize=True)),
        ),
        ("expected_length", lambda: coding.expected_length(parts["lengths"], p)),
        ("kraft_sum", lambda: coding.kraft_sum(parts["lengths"])),
        ("canonical_code (1000 rows)", lambda: coding.canonical_code(parts["lengths"], symbols=range(1000))),
        ("huffman_code (every word)", lambda: coding.huffman_code(counts, normalize=True)),
    ]:
        cpu = time.process_time()
        call()
        print(f"  library {name}: CPU {time.process_time() - cpu:.3f} s")
    print(
        f"{count:,} labels: infoloss code --p-file {whole[0]:.2f} s wall, {whole[1]:.2f} s CPU (start-up alone "
        f"{startup[0]:.2f} s wall, {startup[1]:.2f} s CPU, so {whole[1] - startup[1]:.2f} s CPU of work; target "
        f"< 2 s wall on an idle machine); load {os.getloadavg()[0]:.1f} (a loaded machine: compare CPU times)"
    )


def _median_wall(command: list[str], repeats: int = 3) -> tuple[float, float]:
    """(median wall, median CPU) seconds of ``command`` run ``repeats`` times."""
    times, cpus = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(command, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        print(f"  {' '.join(command[-3:])}: wall {times[-1]:.2f} s, CPU {cpus[-1]:.2f} s")
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return sorted(times)[len(times) // 2], sorted(cpus)[len(cpus) // 2]


def _bench_one(name: str, path: Path, folder: Path, *, external: bool) -> str:
    data_size = path.stat().st_size
    counts = np.zeros(256, dtype=np.int64)
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 24):
            counts += np.bincount(np.frombuffer(chunk, dtype=np.uint8), minlength=256)
    p = counts[counts > 0] / data_size
    entropy_bits = float(-(p * np.log2(p)).sum())  # order-0 entropy, computed here independently
    bound_bytes = data_size * entropy_bits / 8
    print(
        f"\n== {name}: {data_size:,} bytes, {np.count_nonzero(counts)} distinct byte values, "
        f"order-0 entropy {entropy_bits:.5f} bits/byte, bound {bound_bytes:,.0f} bytes"
    )

    packed, restored = folder / f"{name}.ilc", folder / f"{name}.restored"
    enc = _child("compress", path, packed)
    dec = _child("decompress", packed, restored)
    same = _same(path, restored)
    out_size = packed.stat().st_size
    overhead = 100 * (out_size / bound_bytes - 1)
    for file in (packed, restored):
        file.unlink()
    print(
        f"{'method':<32} {'bytes':>13} {'bits/byte':>9} {'vs bound':>10} {'compress MB/s':>17} "
        f"{'decompress MB/s':>17}  ok  notes"
    )
    print(f"{'':<32} {'':>13} {'':>9} {'':>10} {'cpu':>8} {'wall':>8} {'cpu':>8} {'wall':>8}")
    _print_row(
        data_size,
        bound_bytes,
        {
            "method": "infoloss (order-0 range coder)",
            "bytes": out_size,
            "enc": enc,
            "dec": dec,
            "ok": same,
            "notes": f"peak RSS {enc['rss_mb']:.0f}/{dec['rss_mb']:.0f} MB",
        },
    )
    if external:
        for tool, flags in (("gzip", ["-9"]), ("bzip2", ["-9"]), ("xz", ["-6", "-T1"])):
            if shutil.which(tool):
                _print_row(data_size, bound_bytes, _external(tool, flags, path, folder))

    # One core: throughput from the process's CPU time (the machine may be shared); wall beside it.
    checks = [
        ("compress", data_size / enc["cpu"] / 1e6, data_size / enc["wall"] / 1e6, TARGET_COMPRESS_MBS),
        ("decompress", data_size / dec["cpu"] / 1e6, data_size / dec["wall"] / 1e6, TARGET_DECOMPRESS_MBS),
    ]
    parts = []
    for label, cpu_rate, wall_rate, target in checks:
        parts.append(
            f"{label} {cpu_rate:.1f} MB/s per CPU-second, {wall_rate:.1f} MB/s wall "
            f"(>= {target:g}: {'PASS' if cpu_rate >= target else 'MISS'} on CPU time, "
            f"{'PASS' if wall_rate >= target else 'MISS'} on wall time)"
        )
    passed = overhead <= TARGET_OVERHEAD_PERCENT
    parts.append(
        f"size {overhead:+.5f} % over the order-0 bound "
        f"(<= {TARGET_OVERHEAD_PERCENT:g} %: {'PASS' if passed else 'MISS'})"
    )
    return f"{name}: " + "; ".join(parts) + ("" if same else "; ROUND TRIP FAILED")


def _print_row(data_size: int, bound_bytes: float, row: dict) -> None:
    enc, dec, out = row["enc"], row["dec"], row["bytes"]
    mbs = [data_size / seconds / 1e6 for seconds in (enc["cpu"], enc["wall"], dec["cpu"], dec["wall"])]
    print(
        f"{row['method']:<32} {out:>13,} {8 * out / data_size:>9.4f} {100 * (out / bound_bytes - 1):>+9.4f}% "
        + " ".join(f"{rate:>8.1f}" for rate in mbs)
        + f"  {'yes' if row['ok'] else 'NO!'} {row['notes']}",
        flush=True,
    )


def _child(operation: str, source: Path, target: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, operation, str(source), str(target)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _external(tool: str, flags: list[str], path: Path, folder: Path) -> dict:
    packed, restored = folder / f"{path.name}.{tool}", folder / f"{path.name}.{tool}.out"
    enc = _timed([tool, *flags, "-c", str(path)], packed)
    dec = _timed([tool, "-d", "-c", str(packed)], restored)
    row = {
        "method": f"{tool} {' '.join(flags)}",
        "bytes": packed.stat().st_size,
        "enc": enc,
        "dec": dec,
        "ok": _same(path, restored),
        "notes": "",
    }
    packed.unlink()
    restored.unlink()
    return row


def _timed(command: list[str], output: Path) -> dict:
    """Wall seconds and the child's CPU seconds (user + system) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(output, "wb") as out:
        subprocess.run(command, stdout=out, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}


def _zipf_file(path: Path, size: int) -> Path:
    rng = np.random.default_rng(0)
    weights = 1.0 / np.arange(1, 257) ** 1.1
    probabilities = weights / weights.sum()
    order = rng.permutation(256).astype(np.uint8)  # which byte value gets which rank
    cumulative = np.cumsum(probabilities)
    cumulative[-1] = 1.0
    with open(path, "wb") as out:
        for start in range(0, size, 1 << 24):
            count = min(1 << 24, size - start)
            ranks = np.searchsorted(cumulative, rng.random(count), side="right")
            out.write(order[ranks].tobytes())
    return path


def _text_file(path: Path, size: int) -> Path:
    roots = sorted({sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"]})
    written = 0
    with open(path, "wb") as out:
        for root in roots:
            for source in sorted(Path(root).rglob("*.py")):
                if written >= size:
                    break
                try:
                    text = source.read_bytes()[: size - written]
                except OSError:
                    continue
                out.write(text)
                written += len(text)
    print(f"text: {written:,} bytes of *.py from {', '.join(roots)}")
    return path


def _same(a: Path, b: Path) -> bool:
    with open(a, "rb") as x, open(b, "rb") as y:
        while True:
            chunk_x, chunk_y = x.read(1 << 24), y.read(1 << 24)
            if chunk_x != chunk_y:
                return False
            if not chunk_x:
                return True


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    main()
