"""Label handling of `infoloss measure`: one row of N labels, from CSV and JSON, must be linear.

Target (hostile-input issue): a 10^6-label row in under 2 s. Each row of the table is one
`infoloss measure --p-file FILE --counts --json` (a CSV with a header of N labels and one row
of counts, or a JSON object of N labels), run in a fresh child process through the command's
entry point; the time is measured inside the child from after the imports (startup is not the
reader's cost) to the end of the command, with its peak RSS. Beside it, in the same run and
the same child, the bare parse of the same file (``csv.reader``/``json.loads``) as the
reference, and the time per label, which stays flat when handling is linear (quadratic label
handling took 0.8/2.2/6.4 s for 10k/20k/40k CSV labels before).

Then, as a user times it, `infoloss code --p-file row.csv --counts` on one CSV row of 10^6
labelled counts as a whole process (start-up, reading, the Huffman code, the table's first
100 rows and the summary), beside `infoloss --help` (the start-up alone), with peak RSS;
target under 2 s wall.

Run: python benchmarks/bench_cli.py [--sizes 10000,20000,40000,200000,1000000] [--repeat 3] [--code-labels 1000000]
The median of the repeats is printed. Timings on a shared machine are disturbed by its load:
the CPU seconds (the child's own) show the work itself; the target is judged on wall time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET_S = 2.0

CHILD = r"""
import csv, io, json, sys, time
from click.testing import CliRunner
from infoloss.cli.main import main
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
start = time.perf_counter()
if path.endswith(".json"):
    json.loads(text)
else:
    list(csv.reader(io.StringIO(text, newline="")))
bare = time.perf_counter() - start
CliRunner().invoke(main, ["measure", "--p", "1,1", "--counts"])  # warm up: imports, thread pool
start, cpu = time.perf_counter(), time.process_time()
result = CliRunner().invoke(main, ["measure", "--p-file", path, "--counts", "--json"])
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
assert result.exit_code == 0, result.output[-500:]
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"wall": wall, "cpu": cpu, "bare": bare, "rss_mb": peak / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,20000,40000,200000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--code-labels", type=int, default=1_000_000, help="labels of the `infoloss code` row (0: skip)"
    )
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    print(f"infoloss measure --p-file FILE --counts --json, one row of N labels; median of {args.repeat}")
    print(
        f"{'file':<6}{'labels':>10}{'seconds':>10}{'CPU s':>8}{'us/label':>10}{'bare parse s':>14}{'x bare':>8}"
        f"{'peak MB':>9}  target {TARGET_S:g} s"
    )
    with tempfile.TemporaryDirectory() as directory:
        for n in sizes:
            labels = [f"label{i}" for i in range(n)]
            files = {
                "csv": (
                    Path(directory) / f"wide{n}.csv",
                    ",".join(labels) + "\n" + ",".join(["1"] * n) + "\n",
                ),
                "json": (Path(directory) / f"wide{n}.json", json.dumps(dict.fromkeys(labels, 1))),
            }
            for kind, (path, text) in files.items():
                path.write_text(text, encoding="utf-8")
                runs = [
                    json.loads(
                        subprocess.run(
                            [sys.executable, "-c", CHILD, str(path)],
                            capture_output=True,
                            text=True,
                            check=True,
                        ).stdout
                    )
                    for _ in range(args.repeat)
                ]
                wall = statistics.median(r["wall"] for r in runs)
                cpu = statistics.median(r["cpu"] for r in runs)
                bare = statistics.median(r["bare"] for r in runs)
                rss = max(r["rss_mb"] for r in runs)
                verdict = ("met" if wall < TARGET_S else "MISSED") if n >= 1_000_000 else ""
                print(
                    f"{kind:<6}{n:>10,}{wall:>10.3f}{cpu:>8.3f}{1e6 * wall / n:>10.2f}{bare:>14.3f}{wall / bare:>8.1f}"
                    f"{rss:>9.0f}  {verdict}"
                )
    if args.code_labels:
        _bench_code_labels(args.code_labels, args.repeat)


def _bench_code_labels(count: int, repeat: int) -> None:
    """`infoloss code --p-file` on one row of ``count`` labelled counts, whole process."""
    import os

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_coding import _median_run  # one way of timing whole processes (GNU time for the peak RSS)

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "row.csv"
        weights = [str(1 + (7919 * i) % 999) for i in range(count)]
        path.write_text(
            ",".join(f"s{i}" for i in range(count)) + "\n" + ",".join(weights) + "\n", encoding="utf-8"
        )
        command = [sys.executable, "-m", "infoloss"]
        startup = _median_run([*command, "--help"], repeat)
        whole = _median_run([*command, "code", "--p-file", str(path), "--counts"], repeat)
    verdict = "met" if whole["wall"] < TARGET_S else "MISSED"
    print(
        f"\ninfoloss code --p-file (one row of {count:,} labels) --counts, whole process, median of {repeat}: "
        f"{whole['wall']:.2f} s wall, {whole['cpu']:.2f} s CPU, peak RSS {whole['rss_mb']:.0f} MB "
        f"(target < {TARGET_S:g} s wall: {verdict}); start-up alone (infoloss --help) {startup['wall']:.2f} s wall, "
        f"{startup['cpu']:.2f} s CPU; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
