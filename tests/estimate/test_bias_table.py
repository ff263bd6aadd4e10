"""The checked-in Monte-Carlo table (benchmarks/bench_estimate_bias.txt), asserted loosely.

Produced by ``python benchmarks/bench_estimate.py --bias --reps 50``: bias/RMSE in nats for
uniform and Zipf distributions, K in {10, 100, 1000}, N in {K/5, K, 10K}. The literature's
claims (Nemenman et al. 2002; Chao and Shen 2003; Vinck et al. 2012): when N <= K, NSB beats
the plug-in and Miller-Madow, and Chao-Shen does too once K is not tiny (K >= 100); every
estimator's bias shrinks as N grows.
"""

from pathlib import Path

import pytest

TABLE = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_estimate_bias.txt"


def _rows():
    lines = TABLE.read_text().splitlines()
    methods = lines[1].split()[4:]
    rows = []
    for line in lines[2:]:
        name, size, draws, truth, *cells = line.replace("/ ", "/").split()  # "-1.720/ 1.739"
        stats = {m: tuple(float(v) for v in c.split("/")) for m, c in zip(methods, cells)}
        rows.append((name, int(size), int(draws), float(truth), stats))
    return rows


def test_table_is_complete():
    rows = _rows()
    assert len(rows) == 18
    assert {(r[0], r[1], r[2]) for r in rows} == {
        (d, k, n) for d in ("uniform", "zipf") for k in (10, 100, 1000) for n in (k // 5, k, 10 * k)
    }


@pytest.mark.parametrize("method, smallest_k", [("nsb", 10), ("chao-shen", 100)])
def test_corrected_methods_beat_plugin_and_miller_madow_when_undersampled(method, smallest_k):
    for name, size, draws, _, stats in _rows():
        if draws <= size and size >= smallest_k:
            rmse = stats[method][1]
            assert rmse < stats["plugin"][1] and rmse < stats["miller-madow"][1], (name, size, draws, method)


def test_bias_shrinks_with_n():
    by_cell = {}
    for name, size, draws, _, stats in _rows():
        by_cell.setdefault((name, size), []).append((draws, stats))
    for cell, entries in by_cell.items():
        entries.sort()
        for method in entries[0][1]:
            assert abs(entries[-1][1][method][0]) < abs(entries[0][1][method][0]) + 0.01, (cell, method)


def test_plugin_is_biased_low_by_about_the_claim():
    # K = 1000 uniform, N = 200: about 1.7 nats below log K.
    (row,) = [r for r in _rows() if r[:3] == ("uniform", 1000, 200)]
    assert -1.8 < row[4]["plugin"][0] < -1.65
