"""The Dask path's one read per chunk (measures/_dask.py on measures/_fast.chunk_parts): each
chunk's values, row sums and smallest entry from the kernel's pass, against SciPy and NumPy;
the checks built on them raise, at compute time, the eager NumPy check's error (the same
message, argument and position in the whole array), with the compiled kernels and without."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st

from infoloss import InputError
from infoloss.measures import _fast

from .test_backends import MEASURES, call, distributions, scipy_value


def _scipy_parts(name, p, q):
    """Per row, what ``chunk_parts`` computes, from SciPy (rows need not sum to 1: no checks)."""
    if name == "entropy":
        return (-np.sum(sp.xlogy(p, p), axis=-1),)
    if name == "cross_entropy":
        return (-np.sum(sp.xlogy(p, q), axis=-1),)
    if name == "kl_divergence":
        return (np.sum(sp.rel_entr(p, q), axis=-1),)
    if name == "js_divergence":
        m = (p + q) / 2
        return ((np.sum(sp.rel_entr(p, m), axis=-1) + np.sum(sp.rel_entr(q, m), axis=-1)) / 2,)
    return (-np.sum(sp.xlogy(p, p), axis=-1), np.sum(sp.rel_entr(p, q), axis=-1))  # decompose


@pytest.mark.parametrize("name", [*MEASURES, "decompose"])
@pytest.mark.parametrize("n", [6, 20_000], ids=["short rows", "long rows"])  # whole rows; cut in units
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_chunk_parts_are_scipys_values_and_numpys_sums(name, n, dtype):
    rng = np.random.default_rng(20)
    # parts of distributions: rows summing to anything, with zeros
    p = (rng.random((5, n)) * (rng.random((5, n)) > 0.2) * 3).astype(dtype)
    q = (rng.random((5, n)) + 0.01).astype(dtype)
    arrays = [p] if name == "entropy" else [p, q]
    parts = _fast.chunk_parts(name, arrays, threads=2)
    p64, q64 = p.astype(np.float64), q.astype(np.float64)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    for got, expected in zip(parts.values, _scipy_parts(name, p64, q64), strict=True):
        assert got.dtype == np.float64 and got.shape == (5,)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=0)
    for got, x in zip(parts.sums, arrays, strict=True):
        assert got.dtype == np.float64  # (float32 rows summed in float64: no overflow)
        np.testing.assert_allclose(got, x.astype(np.float64).sum(axis=-1), rtol=1e-13, atol=0)
    assert parts.smallest == min(float(x.min()) for x in arrays) == 0.0
    assert not parts.suspect()


def test_chunk_parts_values_are_the_unchecked_measures():
    """The values are exactly those of the NumPy fast path with validate=False (one code)."""
    rng = np.random.default_rng(21)
    for n in (9, 30_000):
        p, q = distributions(rng, (4, n), 0.1), distributions(rng, (4, n))
        for name in MEASURES:
            parts = _fast.chunk_parts(name, [p] if name == "entropy" else [p, q], threads=1)
            np.testing.assert_array_equal(parts.values[0], call(name, p, q, validate=False))


@pytest.mark.parametrize("n", [6, 20_000], ids=["short rows", "long rows"])
@pytest.mark.parametrize(
    "bad, smallest_is_nan, suspect",
    [(np.nan, True, True), (-1.0, False, True), (np.inf, False, True), (0.5, False, False)],
)
def test_chunk_parts_flag_bad_entries_without_raising(n, bad, smallest_is_nan, suspect):
    rng = np.random.default_rng(22)
    p, q = rng.random((3, n)), rng.random((3, n)) + 0.1
    q[2, n - 2] = bad  # in q, the last row: the flag covers every argument and row
    for name in ("cross_entropy", "kl_divergence", "js_divergence"):
        parts = _fast.chunk_parts(name, [p, q], threads=2)
        assert np.isnan(parts.smallest) == smallest_is_nan
        assert parts.suspect() == suspect
        if bad == -1.0:
            assert parts.smallest == -1.0


def test_chunk_parts_of_non_contiguous_views():
    rng = np.random.default_rng(23)
    p, q = distributions(rng, (8, 6), 0.2, axis=0), distributions(rng, (8, 6), 0.0, axis=0)
    parts = _fast.chunk_parts("kl_divergence", [p.T, q.T], threads=1)  # rows of the transpose
    np.testing.assert_allclose(parts.values[0], st.entropy(p, q, axis=0), rtol=1e-13)


@pytest.mark.parametrize("name", MEASURES)
@pytest.mark.parametrize("validate", [True, False])
def test_dask_one_long_row_in_chunks_is_scipys(name, validate):
    rng = np.random.default_rng(24)
    p, q = distributions(rng, 300_000, 0.05), distributions(rng, 300_000)
    for chunks in (300_000, 70_000):  # one chunk (its kernel threaded), several
        got = call(name, da.from_array(p, chunks=chunks), da.from_array(q, chunks=chunks), validate=validate)
        assert float(got.compute()) == pytest.approx(float(scipy_value(name, p, q)), rel=1e-13)


def _eager_and_lazy_errors(name, p, q, chunks, axis=-1, **options):
    """The eager error's text, and the text of the error the lazy graph raises at compute()."""
    with pytest.raises(InputError) as eager:
        call(name, p, q, axis=axis, **options)
    lazy = call(name, da.from_array(p, chunks=chunks), da.from_array(q, chunks=chunks), axis=axis, **options)
    with pytest.raises(InputError) as computed:
        lazy.compute(scheduler="sync")
    assert (computed.value.argument, computed.value.index) == (eager.value.argument, eager.value.index)
    np.testing.assert_equal(computed.value.value, eager.value.value)  # (NaN equals NaN here)
    return str(eager.value), str(computed.value)


def _split_row_errors(name, p, q, chunks):
    """As :func:`_eager_and_lazy_errors` where a bad row is cut into chunks: its reported sum is
    the chunks' sums added up, which may differ from NumPy's sum of the row in the last bit."""
    with pytest.raises(InputError) as eager:
        call(name, p, q)
    lazy = call(name, da.from_array(p, chunks=chunks), da.from_array(q, chunks=chunks))
    with pytest.raises(InputError) as computed:
        lazy.compute(scheduler="sync")
    assert (computed.value.argument, computed.value.index) == (eager.value.argument, eager.value.index)
    assert computed.value.value == pytest.approx(eager.value.value, rel=4e-16, abs=0)
    assert str(computed.value).replace(repr(computed.value.value), repr(eager.value.value)) == str(
        eager.value
    )
    return str(eager.value)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("axis", [-1, 0])
def test_dask_row_sum_errors_of_whole_rows_report_numpys_sum(dtype, axis):
    """A row in one chunk that does not sum to 1: its reported sum is the eager check's own,
    to the last digit (NumPy's pairwise sum in the input dtype, not the kernel's)."""
    rng = np.random.default_rng(25)
    n = 1000
    shape = (6, n) if axis == -1 else (n, 6)
    p = distributions(rng, shape, 0.1, axis).astype(dtype)
    q = distributions(rng, shape, 0.0, axis).astype(dtype)
    bad = p.copy()
    row = (4, slice(None)) if axis == -1 else (slice(None), 4)
    bad[row] = rng.random(n).astype(dtype) / (n / 3)  # sums to about 1.5, with many digits
    chunks = (2, n) if axis == -1 else (n, 2)  # whole rows, several blocks of them
    for name in ("entropy", "cross_entropy", "kl_divergence"):
        eager, lazy = _eager_and_lazy_errors(name, bad, q, chunks, axis=axis)
        assert lazy == eager
        assert ("p[4, :] sums to" if axis == -1 else "p[:, 4] sums to") in eager
    eager, lazy = _eager_and_lazy_errors("kl_divergence", p, bad, chunks, axis=axis)  # q's row
    assert lazy == eager and "q[" in eager


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dask_entry_errors_name_the_global_position(dtype):
    rng = np.random.default_rng(26)
    p, q = distributions(rng, (9, 50)).astype(dtype), distributions(rng, (9, 50)).astype(dtype)
    for where, bad in (((7, 33), np.nan), ((5, 48), -0.25), ((8, 21), np.inf)):
        for argument in ("p", "q"):
            cases = {"p": p.copy(), "q": q.copy()}
            cases[argument][where] = bad
            for name in ("cross_entropy", "kl_divergence", "js_divergence"):
                for options in ({}, {"normalize": True}):
                    eager, lazy = _eager_and_lazy_errors(
                        name, cases["p"], cases["q"], (4, 20), **options
                    )  # chunks cut rows and the distribution axis: the position is the whole array's
                    assert lazy == eager and f"{argument}[{where[0]}, {where[1]}]" in eager


def test_dask_first_error_in_the_eager_order():
    """p's entries, then p's row sums, then q's: the eager order, whichever chunk holds them."""
    rng = np.random.default_rng(27)
    p, q = distributions(rng, (8, 30)), distributions(rng, (8, 30))
    p_bad_row, q_bad_entry = p.copy(), q.copy()
    p_bad_row[6] *= 1.5  # in the last block of rows
    q_bad_entry[0, 0] = np.nan  # in the first chunk
    assert _split_row_errors("kl_divergence", p_bad_row, q_bad_entry, (3, 7)).startswith("p[6, :] sums to")
    eager, lazy = _eager_and_lazy_errors("kl_divergence", p_bad_row, q_bad_entry, (3, 30))  # whole rows
    assert lazy == eager and eager.startswith("p[6, :] sums to")
    p_two = p.copy()
    p_two[6, 3], p_two[2, 29] = -1.0, np.nan  # the first in row-major order is reported
    eager, lazy = _eager_and_lazy_errors("kl_divergence", p_two, q, (3, 7))
    assert lazy == eager and "p[2, 29]" in eager


def test_dask_rows_past_the_largest_float_are_row_errors():
    """Finite entries whose row sum overflows: no entry error, the eager row error."""
    p = np.array([[0.5, 0.5, 0.0, 0.0], [1.7e308, 1.7e308, 0.0, 0.0]])
    q = np.full((2, 4), 0.25)
    eager, lazy = _eager_and_lazy_errors("kl_divergence", p, q, (1, 2))
    assert lazy == eager and "p[1, :]" in eager


def test_dask_nothing_is_computed_while_building(monkeypatch):
    computed = []
    monkeypatch.setattr(dask, "compute", lambda *a, **k: computed.append(a))
    rng = np.random.default_rng(28)
    p = da.from_array(distributions(rng, (6, 40)) * 2, chunks=(3, 40))  # invalid: caught at compute
    for name in MEASURES:
        call(name, p, p)
    assert computed == []


@pytest.mark.slow
def test_dask_chunks_on_a_distributed_local_cluster():
    """Two worker processes (their own threads setting: OMP_NUM_THREADS=1 by default): the
    values are SciPy's; the errors the eager ones, their positions in the whole array."""
    distributed = pytest.importorskip("dask.distributed")
    rng = np.random.default_rng(29)
    p, q = distributions(rng, (6, 400), 0.1), distributions(rng, (6, 400))
    bad = p.copy()
    bad[4, 250] = np.nan
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        for chunks in ((2, 400), (3, 150)):  # whole rows; rows cut in chunks
            dp, dq, dbad = (client.persist(da.from_array(x, chunks=chunks)) for x in (p, q, bad))
            for name in MEASURES:
                np.testing.assert_allclose(
                    call(name, dp, dq).compute(), scipy_value(name, p, q), rtol=1e-13, atol=0
                )
            for name in ("cross_entropy", "kl_divergence", "js_divergence"):
                for options in ({}, {"normalize": True}):
                    with pytest.raises(InputError) as eager:
                        call(name, bad, q, **options)
                    with pytest.raises(InputError) as computed:
                        call(name, dbad, dq, **options).compute()
                    assert str(computed.value) == str(eager.value)
                    assert computed.value.index == (4, 250)
