"""The measures' backend paths (measures/_torch.py, _jax.py, _dask.py) against SciPy, finite
differences and the generic path, and their errors against the eager NumPy checks."""

from __future__ import annotations

import dask
import dask.array as da
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st
import torch

import infoloss as il
from infoloss import InputError, _array
from infoloss.measures import _dispatch, _jax, _torch
from tests.backends import jax_float64  # noqa: F401 - autouse fixture: JAX in float64

MEASURES = ["entropy", "cross_entropy", "kl_divergence", "js_divergence"]


def distributions(rng, shape, zeros=0.0, axis=-1):
    x = rng.random(shape)
    x[rng.random(shape) < zeros] = 0.0
    return x / x.sum(axis=axis, keepdims=True)


def scipy_value(name, p, q, axis=-1):
    if name == "entropy":
        return st.entropy(p, axis=axis)
    if name == "cross_entropy":
        return -np.sum(sp.xlogy(p, q), axis=axis)
    if name == "kl_divergence":
        return st.entropy(p, q, axis=axis)
    m = (p + q) / 2
    return (st.entropy(p, m, axis=axis) + st.entropy(q, m, axis=axis)) / 2


def call(name, p, q, **options):
    return getattr(il, name)(p, **options) if name == "entropy" else getattr(il, name)(p, q, **options)


@pytest.fixture(params=["numpy kernel", "device-generic"])
def torch_path(request, monkeypatch):
    """CPU tensors through the NumPy kernel, and the forward a CUDA tensor takes (run on CPU)."""
    monkeypatch.setattr(_torch, "NUMPY_ON_CPU", request.param == "numpy kernel")
    return request.param


# --------------------------------------------------------------------------------------------
# PyTorch
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MEASURES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("axis", [-1, 0])
def test_torch_values(torch_path, name, dtype, axis):
    rng = np.random.default_rng(3)
    p, q = distributions(rng, (5, 7), 0.2, axis), distributions(rng, (5, 7), 0.0, axis)
    got = call(
        name, torch.tensor(p, dtype=dtype), torch.tensor(q, dtype=dtype), axis=axis, keepdims=True, base=2
    )
    assert (
        isinstance(got, torch.Tensor)
        and got.dtype == dtype
        and got.shape == ((1, 7) if axis == 0 else (5, 1))
    )
    rtol = 1e-12 if dtype == torch.float64 else 2e-5
    expected = np.expand_dims(scipy_value(name, p, q, axis) / np.log(2), axis)
    np.testing.assert_allclose(
        got.numpy(), expected, rtol=rtol, atol=1e-7 if dtype == torch.float32 else 1e-15
    )


@pytest.mark.parametrize("name", MEASURES)
def test_torch_gradients_match_finite_differences(torch_path, name):
    rng = np.random.default_rng(4)
    p = torch.tensor(distributions(rng, (3, 4)), requires_grad=True)
    q = torch.tensor(distributions(rng, (3, 4)), requires_grad=True)
    arguments = (p,) if name == "entropy" else (p, q)

    def measure(*a):
        return (
            il.entropy(a[0], validate=False) if name == "entropy" else getattr(il, name)(*a, validate=False)
        )

    assert torch.autograd.gradcheck(measure, arguments, eps=1e-7, atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("name", MEASURES)
def test_torch_gradients_at_zeros_are_the_generic_paths(torch_path, name):
    """Entries with p = 0 (and q = 0): NaN-free gradients, the same as the generic code's."""
    p = np.array([[0.0, 0.5, 0.5, 0.0], [0.25, 0.25, 0.5, 0.0]])
    q = np.array([[0.0, 0.25, 0.5, 0.25], [0.5, 0.25, 0.25, 0.0]])
    grads = []
    for generic in (False, True):
        leaves = [torch.tensor(p, requires_grad=True), torch.tensor(q, requires_grad=True)]
        if generic:
            with _dispatch.generic_only():
                value = call(name, *leaves)
        else:
            value = call(name, *leaves)
        (value * torch.tensor([1.0, 2.0], dtype=torch.float64)).sum().backward()
        grads.append([leaf.grad for leaf in leaves[: 1 if name == "entropy" else 2]])
    for ours, generic in zip(*grads):
        assert not torch.isnan(ours).any()
        np.testing.assert_allclose(ours.numpy(), generic.numpy(), rtol=1e-12, atol=1e-15)


def test_torch_result_and_gradient_follow_the_input():
    p = torch.tensor([0.2, 0.8], dtype=torch.float32)
    q = torch.tensor([0.5, 0.5], dtype=torch.float32, requires_grad=True)
    value = il.kl_divergence(p, q)
    assert value.dtype == torch.float32 and value.requires_grad and value.shape == ()
    value.backward()
    assert q.grad.dtype == torch.float32
    np.testing.assert_allclose(q.grad.numpy(), [-0.4, -1.6], rtol=1e-6)
    assert not il.kl_divergence(p, q.detach()).requires_grad
    with torch.no_grad():
        assert not il.kl_divergence(p, q).requires_grad


@pytest.mark.parametrize("axis", [-1, 0])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_torch_errors_are_the_eager_numpy_ones(torch_path, axis, requires_grad):
    rng = np.random.default_rng(5)
    q = distributions(rng, (4, 6), 0.0, axis)
    cases = [
        distributions(rng, (4, 6), 0.0, axis) * 1.5,
        np.where(np.arange(24).reshape(4, 6) == 13, np.nan, q),
        np.where(np.arange(24).reshape(4, 6) == 9, -0.1, q),
    ]
    for p in cases:
        with pytest.raises(InputError) as expected:
            il.kl_divergence(p, q, axis=axis)
        with pytest.raises(InputError) as got:
            il.kl_divergence(torch.tensor(p), torch.tensor(q, requires_grad=requires_grad), axis=axis)
        assert str(got.value) == str(expected.value)
        assert got.value.index == expected.value.index


def test_torch_second_derivative_with_create_graph(torch_path):
    p = torch.tensor([0.2, 0.8], dtype=torch.float64)
    q = torch.tensor([0.5, 0.5], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(il.kl_divergence(p, q), q, create_graph=True)
    np.testing.assert_allclose(grad.detach().numpy(), [-0.4, -1.6], rtol=1e-12)
    grad.sum().backward()  # d2 KL / dq2 = diag(p / q**2)
    np.testing.assert_allclose(q.grad.numpy(), [0.8, 3.2], rtol=1e-12)


# --------------------------------------------------------------------------------------------
# JAX
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*MEASURES, "decompose"])
def test_jax_eager_is_the_jitted_program(name):
    rng = np.random.default_rng(6)
    p, q = distributions(rng, (4, 5), 0.2), distributions(rng, (4, 5))
    jp, jq = jnp.asarray(p), jnp.asarray(q)
    _jax._program.cache_clear()
    eager = call(name, jp, jq, base=2)
    traced = jax.jit(
        lambda a, b: tuple(call(name, a, b, base=2)) if name == "decompose" else call(name, a, b, base=2)
    )
    jitted = traced(jp, jq)
    if name == "decompose":
        eager = tuple(eager)
        for e, j in zip(eager, jitted):
            assert isinstance(e, jax.Array)
            np.testing.assert_array_equal(np.asarray(e), np.asarray(j))
    else:
        assert isinstance(eager, jax.Array) and eager.dtype == jnp.float64
        np.testing.assert_array_equal(np.asarray(eager), np.asarray(jitted))
        np.testing.assert_allclose(np.asarray(eager), scipy_value(name, p, q) / np.log(2), rtol=1e-12)
    # one program per measure and options; the same shape again compiles nothing new
    call(name, jp * 1.0, jq)
    assert _jax._program.cache_info().currsize == 1  # base is applied outside the program


@pytest.mark.parametrize("checked_on_host", [True, False])
def test_jax_eager_compiles_once_per_shape(checked_on_host, monkeypatch):
    """Small arrays run the program without checks (checked on the host), large ones the
    program with them: either compiles once per shape."""
    if not checked_on_host:
        monkeypatch.setattr(_array, "HOST_CHECK_MAX_ENTRIES", 0)
    rng = np.random.default_rng(7)
    _jax._program.cache_clear()
    for _ in range(3):
        il.kl_divergence(jnp.asarray(distributions(rng, (3, 4))), jnp.asarray(distributions(rng, (3, 4))))
    assert _jax._program.cache_info().currsize == 1
    program = _jax._program("kl_divergence", 1, (1, 1), False, False, not checked_on_host, True)  # (clamped)
    assert program._cache_size() == 1


@pytest.mark.parametrize("normalize", [False, True])
def test_jax_errors_are_the_eager_numpy_ones(normalize):
    rng = np.random.default_rng(8)
    q = distributions(rng, (3, 4))
    for p in [
        distributions(rng, (3, 4)) * (1 if normalize else 2),
        np.where(np.arange(12).reshape(3, 4) == 5, np.nan, q),
        np.where(np.arange(12).reshape(3, 4) < 4, 0.0, q),
    ]:
        try:
            il.kl_divergence(p, q, normalize=normalize)
        except InputError as error:
            expected = str(error)
        else:
            expected = None
            np.testing.assert_allclose(
                np.asarray(il.kl_divergence(jnp.asarray(p), jnp.asarray(q), normalize=normalize)),
                il.kl_divergence(p, q, normalize=normalize),
                rtol=1e-12,
            )
            continue
        with pytest.raises(InputError) as got:
            il.kl_divergence(jnp.asarray(p), jnp.asarray(q), normalize=normalize)
        assert str(got.value) == expected


def test_jax_outer_jit_and_grad_run_no_eager_program(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the eager program ran under tracing")

    monkeypatch.setattr(_jax, "_program", refuse)
    p, q = jnp.asarray([0.2, 0.8]), jnp.asarray([0.5, 0.5])
    assert float(jax.jit(il.kl_divergence)(p, q)) == pytest.approx(
        st.entropy([0.2, 0.8], [0.5, 0.5]), rel=1e-12
    )
    np.testing.assert_allclose(
        np.asarray(jax.grad(lambda b: il.kl_divergence(p, b))(q)), [-0.4, -1.6], rtol=1e-12
    )


@pytest.mark.parametrize("name", MEASURES)
@pytest.mark.parametrize("close", [False, True], ids=["plain terms", "accurate terms"])
def test_jax_jit_values_and_gradients_match_scipy_and_finite_differences(name, close):
    """Under jit: values as SciPy's; gradients as central differences (also with p = 0 entries,
    NaN-free), whichever of the plain and the accurate terms the program takes."""
    rng = np.random.default_rng(16)
    p = distributions(rng, (3, 6), 0.25)
    q = p * (1 + 1e-3 * rng.standard_normal((3, 6))) + 1e-4 if close else distributions(rng, (3, 6))
    q = q / q.sum(axis=-1, keepdims=True)
    function = getattr(il, name)
    total = jax.jit(lambda a, b: jnp.sum(function(a) if name == "entropy" else function(a, b)))
    # (SciPy's JS of nearly equal rows keeps the rounding of its m = (p + q) / 2: 1e-9 there)
    np.testing.assert_allclose(
        float(total(jnp.asarray(p), jnp.asarray(q))),
        scipy_value(name, p, q).sum(),
        rtol=1e-9 if close and name == "js_divergence" else 1e-12,
    )
    for argument in (0, 1) if name != "entropy" else (0,):
        gradient = np.asarray(jax.jit(jax.grad(total, argnums=argument))(jnp.asarray(p), jnp.asarray(q)))
        assert np.isfinite(gradient).all()
        point = [p, q][argument]
        step = 1e-7
        for index in [(0, 0), (1, 3), (2, 5), *zip(*np.nonzero(point > 0))][:8]:
            if point[index] <= step:
                continue  # (a central difference needs both sides inside the domain)
            moved = [x.copy() for x in (p, q)]
            moved[argument][index] += step
            up = float(total(*map(jnp.asarray, moved)))
            moved[argument][index] -= 2 * step
            down = float(total(*map(jnp.asarray, moved)))
            assert gradient[index] == pytest.approx((up - down) / (2 * step), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("name", ["cross_entropy", "kl_divergence", "js_divergence"])
def test_jax_jit_gradients_at_zeros_are_the_generic_paths(name):
    """The closed-form derivatives at p = 0, q = 0 and both (and an underflowing ratio) are
    those of the generic path's terms, finite wherever the measure is."""
    p = jnp.asarray([[0.0, 0.3, 0.7, 0.0], [0.25, 0.25, 0.5, 0.0], [1e-200, 0.5, 0.5 - 1e-200, 0.0]])
    q = jnp.asarray([[0.2, 0.1, 0.7, 0.0], [0.25, 0.25, 0.25, 0.25], [0.5, 1e-200, 0.5 - 1e-200, 0.0]])

    def ours(a, b):
        return jnp.sum(getattr(il, name)(a, b, validate=False))

    def generic(a, b):
        return jnp.sum(_dispatch.generic_values(name, [a, b], axis=-1, keepdims=False, normalize=False))

    for argument in (0, 1):
        got = np.asarray(jax.jit(jax.grad(ours, argnums=argument))(p, q))
        expected = np.asarray(jax.grad(generic, argnums=argument)(p, q))
        assert np.isfinite(got).all()
        # (the generic path's d/dq at p = 0.5, q = 1e-200 overflows to -inf through p / q**2;
        # the closed form gives -p / q = -5e199)
        finite = np.isfinite(expected)
        np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-12, atol=1e-300)
        if name == "kl_divergence" and argument == 1:
            assert got[2, 1] == pytest.approx(-0.5 / 1e-200, rel=1e-15)


def test_jax_jit_takes_the_accurate_terms_where_the_plain_ones_fail():
    # each row is one case the plain terms cannot serve: nearly equal rows (KL 8.5e-28), a ratio
    # that underflows (p / q = 1e-400), and p > 0 = q (inf)
    p = jnp.asarray([[0.2671141599494014, 0.7328858400505986], [1e-200, 1.0 - 1e-200], [0.5, 0.5]])
    q = jnp.asarray([[0.2671141599493832, 0.7328858400506168], [1e200, 1.0], [1.0, 0.0]])
    got = np.asarray(jax.jit(lambda a, b: il.kl_divergence(a, b, validate=False))(p, q))
    expected = sp.rel_entr(np.asarray(p), np.asarray(q)).sum(axis=-1)
    assert got[0] == pytest.approx(expected[0], rel=0, abs=1e-29) and got[0] > 0
    assert got[1] == pytest.approx(expected[1], rel=1e-13) and got[2] == np.inf
    js = np.asarray(jax.jit(il.js_divergence)(p[:1], q[:1]))
    m = (np.asarray(p[:1]) + np.asarray(q[:1])) / 2
    true = (sp.rel_entr(p[:1], m).sum() + sp.rel_entr(q[:1], m).sum()) / 2  # log1p near 1: accurate
    assert js[0] == pytest.approx(float(true), rel=1e-6)
    # vmap turns the choice into a select: the same values
    np.testing.assert_array_equal(
        np.asarray(jax.vmap(lambda a, b: il.kl_divergence(a, b, validate=False))(p, q)), got
    )


# --------------------------------------------------------------------------------------------
# Dask
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*MEASURES, "decompose"])
@pytest.mark.parametrize("axis", [-1, 0])
@pytest.mark.parametrize("keepdims", [False, True])
def test_dask_values_chunk_by_chunk(name, axis, keepdims):
    rng = np.random.default_rng(9)
    p, q = distributions(rng, (7, 9), 0.2, axis), distributions(rng, (7, 9), 0.0, axis)
    dp, dq = da.from_array(p, chunks=(3, 4)), da.from_array(q, chunks=(4, 3))  # cut along both axes
    got = call(name, dp, dq, axis=axis, keepdims=keepdims)
    expected = call(name, p, q, axis=axis, keepdims=keepdims)
    if name == "decompose":
        got, expected = tuple(got), tuple(expected)
    else:
        got, expected = (got,), (expected,)
    for g, e in zip(got, expected):
        assert isinstance(g, da.Array) and g.shape == e.shape
        np.testing.assert_allclose(g.compute(), e, rtol=1e-13, atol=1e-16)


def test_dask_one_long_row_in_chunks_is_exact():
    rng = np.random.default_rng(10)
    p, q = distributions(rng, 100_000), distributions(rng, 100_000)
    got = il.kl_divergence(da.from_array(p, chunks=7_000), da.from_array(q, chunks=7_000))
    assert got.shape == ()
    assert float(got.compute()) == pytest.approx(float(st.entropy(p, q)), rel=1e-14)


def test_dask_checks_run_at_compute_time_with_the_eager_message(monkeypatch):
    computed = []
    monkeypatch.setattr(
        dask, "compute", lambda *a, **k: computed.append(a) or (_ for _ in ()).throw(AssertionError)
    )
    rng = np.random.default_rng(11)
    q = distributions(rng, (6, 8))
    for p in [
        distributions(rng, (6, 8)) * 2,
        np.where(np.arange(48).reshape(6, 8) == 29, np.nan, q),
        np.where(np.arange(48).reshape(6, 8) == 30, -1.0, q),
        np.where(np.arange(48).reshape(6, 8) == 41, np.inf, q),
    ]:
        with pytest.raises(InputError) as expected:
            il.kl_divergence(p, q)
        lazy = il.kl_divergence(
            da.from_array(p, chunks=(4, 3)), da.from_array(q, chunks=(4, 3))
        )  # no pass yet
        with pytest.raises(InputError) as got:
            lazy.compute(scheduler="sync")
        assert str(got.value) == str(expected.value)
    assert computed == []  # nothing computed while building


@pytest.mark.slow
def test_dask_on_a_distributed_local_cluster():
    distributed = pytest.importorskip("dask.distributed")
    rng = np.random.default_rng(12)
    p, q = distributions(rng, (8, 50)), distributions(rng, (8, 50))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        dp, dq = (client.persist(da.from_array(x, chunks=(4, 20))) for x in (p, q))
        np.testing.assert_allclose(il.kl_divergence(dp, dq).compute(), st.entropy(p, q, axis=-1), rtol=1e-13)
        counts = client.persist(da.from_array(p * 7.0, chunks=(4, 20)))  # normalize=True in the graph
        for name in ("entropy", "kl_divergence", "js_divergence"):
            np.testing.assert_allclose(
                call(name, counts, dq, normalize=True).compute(),
                call(name, p * 7.0, q, normalize=True),
                rtol=1e-13,
            )
        with pytest.raises(InputError, match=r"p\[3, :\] sums to"):
            il.kl_divergence(
                client.persist(da.from_array(np.where(np.arange(8)[:, None] == 3, p * 2, p), chunks=(4, 20))),
                dq,
            ).compute()


def test_dask_unknown_chunk_sizes_take_the_generic_path():
    p = da.from_array(np.array([0.25, 0.25, 0.5, 0.0]), chunks=2)
    kept = p[p >= 0]  # boolean indexing: chunk sizes unknown until computed
    assert np.isnan(kept.chunks[0][0])
    for validate in (True, False):
        value = il.entropy(kept, validate=validate)
        assert float(value.compute()) == pytest.approx(float(st.entropy([0.25, 0.25, 0.5])), rel=1e-14)
    with pytest.raises(il.InputError, match=r"sums to 1\.5"):
        il.entropy(p[p >= 0] * 1.5)


# normalize=True in the graph: counts and weights, cut along the reduced axis and across rows


def _counts(rng, shape, zeros=0.2):
    x = rng.random(shape) * rng.choice([1e-3, 1.0, 1e3], size=shape[:1] + (1,) * (len(shape) - 1))
    x[rng.random(shape) < zeros] = 0.0
    return x


def _values_of(name, value):
    return tuple(value) if name == "decompose" else (value,)


@pytest.mark.parametrize("name", [*MEASURES, "decompose"])
@pytest.mark.parametrize("axis", [-1, 0])
@pytest.mark.parametrize("chunks", [(3, 4), (2, 9), (7, 2)], ids=["both", "rows", "reduced"])
def test_dask_normalize_in_the_graph_is_numpys(monkeypatch, name, axis, chunks):
    computed = []
    monkeypatch.setattr(dask, "compute", lambda *a, **k: computed.append(a))
    rng = np.random.default_rng(13)
    p, q = _counts(rng, (7, 9)), _counts(rng, (7, 9), zeros=0.0) + 0.5
    lazy = call(
        name, da.from_array(p, chunks=chunks), da.from_array(q, chunks=chunks), axis=axis, normalize=True
    )
    assert computed == []  # no eager pass
    monkeypatch.undo()
    expected = call(name, p, q, axis=axis, normalize=True)
    for g, e in zip(_values_of(name, lazy), _values_of(name, expected)):
        assert isinstance(g, da.Array) and g.shape == e.shape
        np.testing.assert_allclose(g.compute(), e, rtol=1e-13, atol=0)


@pytest.mark.parametrize(
    "name, p, q",
    [
        ("entropy", [1e6, 1e-3, 0.0, 2e-3], None),  # near-certain counts: the dominant share's log1p
        ("cross_entropy", [1e6, 1e-3, 3.0, 2e-3], [5e5, 2e-3, 1.0, 1e-3]),
        ("kl_divergence", [1.0, 1e-320, 2.0, 0.0], [4.0, 1e-323, 8.0, 0.0]),  # KL 7.3e-320 (identity cancels)
        ("kl_divergence", [1.0, 2.0, 3.0, 4.000000001], [2.0, 4.0, 6.0, 8.0]),  # nearly proportional
        ("kl_divergence", [1e308, 1e308, 5e307, 1.0], [1.0, 2.0, 3.0, 4.0]),  # p's sum past the largest float
        ("js_divergence", [1e-310, 3e-310, 0.0, 1e-311], [1.0, 0.0, 2.0, 3.0]),  # subnormal weights
        ("entropy", [1e300, 3e300, 2e300, 1e290], None),  # sums outside the identities' range
        ("cross_entropy", [1e-300, 3e-300, 2e-300, 0.0], [1e300, 2e300, 1e300, 5e299]),
    ],
)
def test_dask_normalize_extreme_rows_cut_in_chunks(name, p, q):
    p = np.asarray(p)
    q = p if q is None else np.asarray(q)
    expected = call(name, p, q, normalize=True)
    got = call(name, da.from_array(p, chunks=1), da.from_array(q, chunks=2), normalize=True).compute()
    assert float(got) == pytest.approx(float(expected), rel=1e-12, abs=0)


@pytest.mark.parametrize("name", MEASURES)
def test_dask_normalize_float32(name):
    rng = np.random.default_rng(14)
    p, q = (_counts(rng, (5, 40), zeros=z).astype(np.float32) + s for z, s in ((0.2, 0), (0, 0.1)))
    got = call(name, da.from_array(p, chunks=(2, 15)), da.from_array(q, chunks=(2, 15)), normalize=True)
    expected = call(name, p, q, normalize=True)
    assert got.dtype == expected.dtype == np.float32
    np.testing.assert_allclose(got.compute(), expected, rtol=2e-6)


@pytest.mark.parametrize("axis", [-1, 0])
def test_dask_normalize_errors_at_compute_time_are_numpys(monkeypatch, axis):
    rng = np.random.default_rng(15)
    q = _counts(rng, (6, 8), zeros=0.0) + 0.1
    good = _counts(rng, (6, 8))
    zero_row = good.copy()
    zero_row[(slice(None), 5) if axis == 0 else (4, slice(None))] = 0.0
    cases = [
        (zero_row, q),
        (good, np.where(np.arange(48).reshape(6, 8) == 29, np.nan, q)),
        (np.where(np.arange(48).reshape(6, 8) == 30, -1.0, good), q),
        (np.where(np.arange(48).reshape(6, 8) == 41, np.inf, good), q),
        (good, np.where(np.arange(48).reshape(6, 8) % 8 == 3, 0.0, q) * (np.arange(8) != 3)),
    ]
    for name in ("kl_divergence", "js_divergence", "entropy"):
        for p, q_case in cases:
            try:
                call(name, p, q_case, axis=axis, normalize=True)
            except InputError as error:
                expected = str(error)
            else:
                expected = None
            lazy = call(
                name,
                da.from_array(p, chunks=(4, 3)),
                da.from_array(q_case, chunks=(4, 3)),
                axis=axis,
                normalize=True,
            )
            if expected is None:
                lazy.compute(scheduler="sync")
                continue
            with pytest.raises(InputError) as got:
                lazy.compute(scheduler="sync")
            assert str(got.value) == expected
