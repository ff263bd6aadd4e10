"""The bad-input table (issue 2): one test per row, on every backend where it applies.

Each error must be a ValueError or TypeError whose message names the argument, the position
and the offending value, raised before any math runs. With ``validate=False`` (or while
tracing, see test_measures.py) the value checks are skipped entirely.
"""

from __future__ import annotations

import math
import re

import dask.array as da
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st
import torch

import infoloss as il
from infoloss import _validate as _checks, measures
from infoloss.measures import _torch as _torch_measures
from tests.backends import BACKENDS, jax_float64, to_backend, to_float64  # noqa: F401 (jax_float64: autouse fixture)

GOOD = [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]


def evaluated(result):
    """The values of any backend's result (a Dask graph raises its checks' error here)."""
    if isinstance(result, measures.Decomposition):
        return [to_float64(value) for value in result]
    return to_float64(result)


def with_entry(value, row=1, column=2):
    bad = np.array(GOOD)
    bad[row, column] = value
    return bad


@pytest.fixture
def math_calls(monkeypatch):
    """Record calls of the generic path's arithmetic, to show none happens on bad input."""
    calls = []
    for name in ("xlogy", "log_ratio_term"):
        original = getattr(measures, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(measures, name, spy)
    return calls


# --------------------------------------------------------------------------------------------
# Entries: negative, NaN, infinite
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_negative_probability(backend):
    with pytest.raises(ValueError, match=r"^p\[1, 2\] = -0\.25 is negative"):
        evaluated(il.entropy(to_backend(backend, with_entry(-0.25))))
    with pytest.raises(ValueError, match=r"^q\[1, 2\] = -0\.25 is negative"):
        evaluated(il.kl_divergence(to_backend(backend, GOOD), to_backend(backend, with_entry(-0.25))))


@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_probability(backend):
    with pytest.raises(ValueError, match=r"^p\[0, 1\] is NaN"):
        evaluated(il.cross_entropy(to_backend(backend, with_entry(np.nan, 0, 1)), to_backend(backend, GOOD)))
    with pytest.raises(ValueError, match=r"^q\[0, 1\] is NaN"):
        evaluated(il.js_divergence(to_backend(backend, GOOD), to_backend(backend, with_entry(np.nan, 0, 1))))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_probability(backend, value):
    expected = r"^p\[1, 0\] is infinite \(inf\)" if value > 0 else r"^p\[1, 0\] (is infinite \(-inf\)|= -inf)"
    with pytest.raises(ValueError, match=expected):
        evaluated(il.entropy(to_backend(backend, with_entry(value, 1, 0))))


def test_bad_entries_in_mappings_and_sequences_name_the_label_or_index():
    with pytest.raises(ValueError, match=r"^p\['snow'\] = -0\.37 is negative"):
        il.entropy({"rain": 0.5, "snow": -0.37, "hail": 0.87})
    with pytest.raises(ValueError, match=r"^q\['b'\] is NaN"):
        il.kl_divergence({"a": 1.0}, {"a": 1.0, "b": float("nan")})
    with pytest.raises(ValueError, match=r"^q\[1\] is infinite"):
        il.cross_entropy([0.5, 0.5], [0.5, float("inf")])


# --------------------------------------------------------------------------------------------
# Rows that do not sum to 1, with a tolerance by dtype
# --------------------------------------------------------------------------------------------


def sum_in_message(message) -> float:
    return float(re.search(r"sums to (\S+) along", message).group(1))


@pytest.mark.parametrize("backend", BACKENDS)
def test_row_not_summing_to_one(backend):
    bad = with_entry(0.4)  # row 1 sums to 0.6
    with pytest.raises(ValueError, match=r"^p\[1, :\] sums to .* along axis 1, not 1") as raised:
        evaluated(il.entropy(to_backend(backend, bad)))
    assert sum_in_message(str(raised.value)) == pytest.approx(0.6, rel=1e-12)
    assert "normalize=True" in str(raised.value)
    # along axis 0 the slice is a column, and q is named when q is the culprit
    columns = np.array(GOOD).T.copy()
    columns[2, 1] += 0.5
    with pytest.raises(ValueError, match=r"^q\[:, 1\] sums to .* along axis 0") as raised:
        evaluated(
            il.kl_divergence(to_backend(backend, np.array(GOOD).T), to_backend(backend, columns), axis=0)
        )
    assert sum_in_message(str(raised.value)) == pytest.approx(1.5, rel=1e-12)


def test_row_sum_in_a_1d_sequence():
    with pytest.raises(ValueError, match=r"^p sums to 0\.9 along axis 0, not 1"):
        il.entropy([0.5, 0.4])


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "dtype,passes,fails",
    [("float64", 1e-10, 1e-6), ("float32", 1e-5, 1e-2)],
)
def test_sum_tolerance_by_dtype(backend, dtype, passes, fails):
    def off_by(delta):
        return to_backend(backend, [[0.25, 0.25, 0.5 + delta], [0.5, 0.5, 0.0]], dtype)

    for name in ("entropy", "kl_divergence"):
        function = getattr(il, name)
        args = (off_by(passes),) if name == "entropy" else (off_by(passes), off_by(passes))
        # within tolerance: accepted and computed as given (entropy), 0 for KL(p || p)
        rows = np.array([[0.25, 0.25, 0.5 + passes], [0.5, 0.5, 0.0]]).astype(dtype).astype(np.float64)
        want = sp.entr(rows).sum(axis=-1) if name == "entropy" else np.zeros(2)
        np.testing.assert_allclose(
            to_float64(function(*args)),
            want,
            rtol=1e-6 if dtype == "float32" else 1e-14,
            atol=1e-7 if dtype == "float32" else 1e-15,
        )
        args = (off_by(fails),) if name == "entropy" else (off_by(0.0), off_by(fails))
        with pytest.raises(
            ValueError, match=rf"^[pq]\[0, :\] sums to .* \(tolerance .* for {dtype}\)"
        ) as raised:
            evaluated(function(*args))
        assert sum_in_message(str(raised.value)) == pytest.approx(1 + fails, rel=1e-6)


@pytest.mark.parametrize(
    "backend,dtype,passes,fails",
    [
        ("numpy", "float16", 1e-2, 0.1),
        ("torch", "float16", 1e-2, 0.1),
        ("torch", "bfloat16", 0.05, 0.25),
        ("jax", "bfloat16", 0.05, 0.25),
    ],
)
def test_sum_tolerance_half_precision(backend, dtype, passes, fails):
    def off_by(delta):
        return to_backend(backend, [0.25, 0.25, 0.5 + delta], dtype)

    accepted = to_float64(il.entropy(off_by(passes)))  # within the dtype's own tolerance
    rounded = to_float64(off_by(passes))
    assert accepted == pytest.approx(sp.entr(rounded).sum(), rel=1e-2)  # half precision's rounding
    with pytest.raises(ValueError, match=rf"^p sums to .* \(tolerance .* for {dtype}\)"):
        il.entropy(off_by(fails))


# --------------------------------------------------------------------------------------------
# Shapes and axes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_shape_mismatch(backend):
    p = to_backend(backend, GOOD)
    q = to_backend(backend, [[0.25, 0.25, 0.25, 0.25]])
    with pytest.raises(ValueError, match=r"shape mismatch: p has shape \(2, 3\) and q has shape \(1, 4\)"):
        il.kl_divergence(p, q)
    with pytest.raises(
        ValueError,
        match=r"shape mismatch: p has shape \(2, 3\) and q has shape \(4,\); "
        r"they need the same length along axis 1$",
    ):
        il.cross_entropy(p, to_backend(backend, [0.25] * 4))
    # axis 0 of the broadcast shape (2, 3) is missing from q of shape (3,): q is no column
    with pytest.raises(ValueError, match=r"along axis 0 \(q has only 1 dimension\(s\), without that axis\)"):
        il.cross_entropy(p, to_backend(backend, [0.2, 0.3, 0.5]), axis=0)
    three_rows = to_backend(backend, [[1.0, 0.0, 0.0]] * 3)
    with pytest.raises(
        ValueError, match=r"p has shape \(2, 3\) and q has shape \(3, 3\), which do not broadcast"
    ):
        il.js_divergence(p, three_rows)


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_axis(backend):
    with pytest.raises(ValueError, match=r"^p has an empty axis 1 \(shape \(2, 0\)\)"):
        il.entropy(to_backend(backend, np.zeros((2, 0))))
    with pytest.raises(ValueError, match=r"^p has an empty axis 0 \(shape \(0,\)\)"):
        il.entropy([])
    with pytest.raises(ValueError, match=r"empty axis"):
        il.entropy({})


@pytest.mark.parametrize(
    "axis,error,pattern",
    [
        (2, ValueError, r"axis=2 is out of range for p with 2 dimension\(s\), shape \(2, 3\)"),
        (-3, ValueError, r"axis=-3 is out of range for p"),
        (1.0, TypeError, r"axis must be an int, got axis=1\.0"),
        (None, TypeError, r"axis must be an int, got axis=None"),
        (True, TypeError, r"axis must be an int, got axis=True"),
    ],
)
def test_bad_axis(axis, error, pattern):
    with pytest.raises(error, match=pattern):
        il.entropy(np.array(GOOD), axis=axis)


def test_scalar_is_not_a_distribution():
    with pytest.raises(ValueError, match=r"^p must have at least one dimension"):
        il.entropy(np.float64(1.0))


# --------------------------------------------------------------------------------------------
# normalize=True with an all-zero slice
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_all_zero_row_with_normalize(backend):
    counts = to_backend(backend, [[3.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match=r"^p\[1, :\] sums to 0 along axis 1; normalize=True cannot rescale"):
        to_float64(il.entropy(counts, normalize=True))  # Dask raises at compute time
    with pytest.raises(ValueError, match=r"^q\[1, :\] sums to 0"):
        to_float64(il.kl_divergence(to_backend(backend, [[1.0, 1.0, 1.0]] * 2), counts, normalize=True))
    with pytest.raises(ValueError, match=r"^p\[1, 2\] = -1\.0 is negative"):  # normalize still checks signs
        to_float64(il.entropy(to_backend(backend, [[3.0, 1.0, 0.0], [1.0, 1.0, -1.0]]), normalize=True))


# --------------------------------------------------------------------------------------------
# Kinds and types
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "p_kind,q_kind,p_name,q_name",
    [
        ("numpy", "torch", "numpy.ndarray", "torch.Tensor"),
        ("torch", "jax", "torch.Tensor", "jax"),
        ("array_api_strict", "numpy", "array_api_strict", "numpy.ndarray"),
        ("jax", "numpy", "jax", "numpy.ndarray"),
    ],
)
def test_mixing_array_kinds(p_kind, q_kind, p_name, q_name):
    p, q = to_backend(p_kind, GOOD), to_backend(q_kind, GOOD)
    with pytest.raises(TypeError, match=r"different kinds") as raised:
        il.kl_divergence(p, q)
    message = str(raised.value)
    assert re.search(rf"p is a {re.escape(p_name)}", message), message
    assert re.search(rf"q is a {re.escape(q_name)}", message), message


@pytest.mark.parametrize("value", ["0.5", None, [0.5], 0.5j, True])
def test_mapping_values_not_numbers(value):
    with pytest.raises(TypeError, match=rf"^q\['b'\] = {re.escape(repr(value))} is not a number"):
        il.cross_entropy({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": value})


def test_mapping_beside_a_sequence():
    with pytest.raises(TypeError, match=r"^q is a list but another argument is a mapping"):
        il.kl_divergence({"a": 1.0}, [1.0])


def test_sequence_of_non_numbers():
    with pytest.raises(TypeError, match=r"^p must be an array, a sequence of numbers .*'rain'"):
        il.entropy(["rain", "snow"])


def test_complex_array_is_refused():
    with pytest.raises(TypeError, match=r"real numbers.*complex"):
        il.entropy(np.array([0.5 + 0j, 0.5]))


@pytest.mark.parametrize(
    "base,error",
    [
        (1, ValueError),
        (0, ValueError),
        (-2, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ("2", TypeError),
        (True, TypeError),
        ([2], TypeError),
    ],
)
def test_bad_base(base, error):
    with pytest.raises(error, match=rf"base=.*{re.escape(repr(base))}$"):
        il.entropy([0.5, 0.5], base=base)


def test_good_bases():
    assert il.entropy([0.5, 0.5], base=np.float32(2)) == 1.0
    assert il.entropy([0.25] * 4, base=np.int64(4)) == pytest.approx(1.0, rel=1e-15)


# --------------------------------------------------------------------------------------------
# Nothing is computed on bad input; validate=False skips the checks entirely
# --------------------------------------------------------------------------------------------


BAD_INPUTS = {
    "negative": (with_entry(-0.25), GOOD, {}),
    "nan": (with_entry(np.nan), GOOD, {}),
    "sum": (with_entry(0.4), GOOD, {}),
    "zero_row": ([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]], GOOD, {"normalize": True}),
    "q_negative": (GOOD, with_entry(-0.25), {}),
}


MEASURE_NAMES = ["entropy", "cross_entropy", "kl_divergence", "js_divergence", "decompose"]


def arguments(name, p, q):
    """``(p,)`` for entropy, ``(p, q)`` for the others."""
    return (p,) if name == "entropy" else (p, q)


@pytest.mark.parametrize(
    "name,case",
    [
        (name, case)
        for name in MEASURE_NAMES
        for case in BAD_INPUTS
        if not (name == "entropy" and case == "q_negative")
    ],
)
def test_nothing_computed_on_bad_input(math_calls, name, case, monkeypatch):
    # the device-generic torch path (a CPU tensor's NumPy kernel fuses checks and math in one pass)
    monkeypatch.setattr(_torch_measures, "NUMPY_ON_CPU", False)
    p, q, kwargs = BAD_INPUTS[case]
    function = getattr(il, name)
    with pytest.raises(il.InputError):
        function(*arguments(name, torch.tensor(p), torch.tensor(q)), **kwargs)
    assert math_calls == []
    function(*arguments(name, torch.tensor(GOOD), torch.tensor(GOOD)))
    assert math_calls  # the spy does see the arithmetic of good input


def test_lazy_dask_input_is_checked_in_its_graph(monkeypatch):
    bad = da.from_array(with_entry(-0.25), chunks=1)
    lazy = il.entropy(bad)  # nothing computed here: the checks are tasks of the result's graph
    with pytest.raises(ValueError, match=r"^p\[1, 2\] = -0\.25"):
        lazy.compute()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # log of a negative entry: NaN, as asked
def test_validate_false_accepts_what_validation_refuses(backend):
    p, q = to_backend(backend, with_entry(0.4)), to_backend(backend, with_entry(-0.25))
    p_np, q_np = with_entry(0.4), with_entry(-0.25)
    with np.errstate(invalid="ignore"):
        # the plain formulas on the given values (log of a negative q is NaN)
        want = {
            "entropy": sp.entr(p_np).sum(-1),
            "cross_entropy": -(p_np * np.log(q_np)).sum(-1),
            "kl_divergence": sp.rel_entr(p_np, q_np).sum(-1)[:1],
        }  # row 1: log of a negative ratio
    for name in MEASURE_NAMES:
        function = getattr(il, name)
        with pytest.raises(il.InputError):
            evaluated(function(*arguments(name, p, q)))
        got = function(*arguments(name, p, q), validate=False)
        if name in want:
            np.testing.assert_allclose(
                to_float64(got)[: len(want[name])], want[name], rtol=1e-14, equal_nan=True
            )
        elif name == "decompose":
            np.testing.assert_allclose(to_float64(got.entropy), want["entropy"], rtol=1e-14)
        else:  # js on row 0 (both rows valid there); row 1 holds a negative q
            from scipy.spatial.distance import jensenshannon

            assert to_float64(got)[0] == pytest.approx(jensenshannon(p_np[0], q_np[0]) ** 2, rel=1e-12)


# NumPy's fast path validates inside its own pass; the other backends go through _checks.
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "numpy"])
def test_validate_false_never_calls_the_checks(backend, monkeypatch):
    calls = []
    monkeypatch.setattr(_checks, "check_distribution", lambda *a, **k: calls.append(a))
    p, q = to_backend(backend, with_entry(0.4)), to_backend(backend, GOOD)
    evaluated(il.kl_divergence(p, q))
    # by default the bad row is found (the torch, JAX and Dask paths check in their own pass,
    # then call the generic check for its message; here the spy lets it through)
    assert calls
    calls.clear()
    for name in MEASURE_NAMES:
        evaluated(getattr(il, name)(*arguments(name, p, q), validate=False))
    assert calls == []


def test_validate_false_computes_the_plain_formula():
    rng = np.random.default_rng(0)
    good = rng.dirichlet(np.ones(5), size=3)
    for name in ("entropy", "cross_entropy", "kl_divergence", "js_divergence"):
        function = getattr(il, name)
        args = (good,) if name == "entropy" else (good, good[::-1].copy())
        np.testing.assert_array_equal(function(*args, validate=False), function(*args))
    # weights that do not sum to 1 are used as they are, neither rescaled nor refused
    weights = np.array([0.5, 0.6, 0.0])
    assert il.entropy(weights, validate=False) == pytest.approx(sp.entr(weights).sum(), rel=1e-15)
    assert il.entropy(weights, validate=False, normalize=True) == pytest.approx(
        sp.entr(weights / weights.sum()).sum(), rel=1e-15
    )
    # structure is still checked: there is nothing sensible to compute
    with pytest.raises(ValueError, match="shape mismatch"):
        il.kl_divergence([0.5, 0.5], [1.0], validate=False)


def test_tensors_that_require_grad_are_still_checked():
    # eager autograd is not tracing: the checks run (only torch.func/compile/jit skip them)
    with pytest.raises(ValueError, match=r"^p sums to 1\.1"):
        il.entropy(torch.tensor([0.5, 0.6], requires_grad=True))
    with pytest.raises(ValueError, match=r"^q\[0\] = -0\.5 is negative"):
        il.kl_divergence(jnp.asarray([0.5, 0.5]), jnp.asarray([-0.5, 1.5]))


def test_positions_are_exact_in_large_numpy_inputs():
    """Bad entries deep inside large arrays (NumPy checks them block by block)."""
    rng = np.random.default_rng(1)
    long_rows = rng.dirichlet(np.ones(70_000), size=3)
    long_rows[2, 65_432] = -1e-3
    with pytest.raises(ValueError, match=r"^p\[2, 65432\] = -0\.001 is negative"):
        il.entropy(long_rows)
    one_row = rng.dirichlet(np.ones(200_001))
    one_row[150_000] = np.nan
    with pytest.raises(ValueError, match=r"^q\[150000\] is NaN"):
        il.kl_divergence(rng.dirichlet(np.ones(200_001)), one_row)
    short_rows = rng.dirichlet(np.ones(40), size=5000).astype(np.float32)
    short_rows[4000, 7] += 0.01
    with pytest.raises(ValueError, match=r"^p\[4000, :\] sums to 1\.0(09|1)\d* along axis 1.*float32"):
        il.cross_entropy(short_rows, short_rows)
    counts = np.ones((5000, 40))
    counts[3999] = 0
    with pytest.raises(ValueError, match=r"^q\[3999, :\] sums to 0 along axis 1; normalize=True"):
        il.js_divergence(np.ones((5000, 40)), counts, normalize=True)


# --------------------------------------------------------------------------------------------
# Hostile input: masked arrays, ml_dtypes bfloat16, huge integers, sparse and meta tensors
# --------------------------------------------------------------------------------------------


def test_masked_arrays_are_refused_naming_the_argument():
    masked = np.ma.masked_array([0.5, 0.3, 0.2], mask=[False, False, True])
    with pytest.raises(
        il.InputTypeError, match=r"^q is a numpy masked array.*q\.filled\(0\).*q\.compressed\(\)"
    ) as raised:
        il.kl_divergence(np.array([0.5, 0.3, 0.2]), masked)
    assert raised.value.argument == "q"
    with pytest.raises(il.InputTypeError, match=r"^p is a numpy masked array"):
        il.kl_divergence(masked, masked)
    # the suggested fix works: masked entries count as 0, then rescaled
    filled = il.entropy(masked.filled(0), normalize=True)
    assert filled == pytest.approx(sp.entr(np.array([0.5, 0.3]) / 0.8).sum(), rel=1e-15)


@pytest.mark.parametrize("module", ["numpy.ma", "torch", "jax"])
def test_a_module_still_being_imported_elsewhere_breaks_no_type_test(monkeypatch, module):
    # A Dask worker's thread can be half-way through `import numpy.ma` (or torch, or jax) when a
    # task checks its arguments: the module is in sys.modules but defines no class yet.
    import sys
    import types

    monkeypatch.setitem(sys.modules, module, types.ModuleType(module))
    assert il.entropy(np.array([0.5, 0.5]), base=2) == 1.0
    loss = il.losses.cross_entropy(np.array([[0.0, 0.0]]), np.array([1]))
    assert loss == pytest.approx(math.log(2), rel=1e-15)


def test_ml_dtypes_bfloat16_is_computed_in_float32_and_returned_in_bfloat16():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    p = np.array([[0.25, 0.25, 0.5], [0.5, 0.25, 0.25]], dtype=ml_dtypes.bfloat16)
    q = np.array([[0.5, 0.25, 0.25], [0.25, 0.25, 0.5]], dtype=ml_dtypes.bfloat16)
    got = il.kl_divergence(p, q)
    assert got.dtype == ml_dtypes.bfloat16
    want = st.entropy(p.astype(np.float64), q.astype(np.float64), axis=-1)
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=2**-8)  # bfloat16's rounding
    # bfloat16's own tolerance (sqrt(2^-7) = 0.088), not float32's
    off = np.array([0.25, 0.25, 0.53], dtype=ml_dtypes.bfloat16)
    assert float(il.entropy(off)) == pytest.approx(float(sp.entr(off.astype(np.float64)).sum()), rel=2**-8)
    with pytest.raises(il.InputError, match=r"^p sums to 1\.25 .*tolerance 0\.088 for bfloat16"):
        il.entropy(np.array([0.25, 0.5, 0.5], dtype=ml_dtypes.bfloat16))
    # beside float64 the result is float64
    assert il.kl_divergence(p, q.astype(np.float64)).dtype == np.float64


@pytest.mark.parametrize(
    "call,argument,index",
    [
        (lambda: il.entropy([10**400, 1], normalize=True), "p", (0,)),
        (lambda: il.kl_divergence([0.5, 0.5], [[0.5, 0.5], [1, 10**400]], normalize=True), "q", (1, 1)),
        (lambda: il.entropy({"a": 1, "b": 10**400}, normalize=True), "p", "b"),
        (lambda: il.kl_divergence(np.array([0.5, 0.5]), [10**400, 1]), "q", (0,)),
    ],
)
def test_integers_beyond_float64_are_a_clear_error(call, argument, index):
    with pytest.raises(il.InputError, match=r"is an integer too large for a float64") as raised:
        call()
    assert (raised.value.argument, raised.value.index) == (argument, index)


@pytest.mark.parametrize("base", [2**2000, 10**400, -(10**400)])
def test_huge_integer_base_is_a_clear_error(base):
    with pytest.raises(il.InputError, match=r"^base must be a finite number") as raised:
        il.entropy([0.5, 0.5], base=base)
    assert raised.value.argument == "base"


@pytest.mark.parametrize("name", MEASURE_NAMES)
def test_sparse_and_meta_tensors_are_refused(name):
    function = getattr(il, name)
    with pytest.raises(il.InputTypeError, match=r"^p is a sparse torch tensor .*p\.to_dense\(\)"):
        function(*arguments(name, torch.eye(2).to_sparse(), torch.full((2, 2), 0.5)))
    meta = torch.empty(2, 2, device="meta")
    culprit = "p" if name == "entropy" else "q"
    args = (meta,) if name == "entropy" else (torch.full((2, 2), 0.5), meta)
    for validate in (True, False):  # no values to compute with either
        with pytest.raises(il.InputTypeError, match=rf"^{culprit} is a torch tensor on the meta device"):
            function(*args, validate=validate)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("normalize", [False, True])
def test_the_quick_host_check_never_passes_what_check_distribution_refuses(dtype, normalize):
    """distributions_pass (small arrays' host check): True only where check_distribution
    accepts, for rows near the tolerance, negative, NaN, infinite and huge entries and zero
    rows; and True for ordinary valid rows (else every call would pay the full checks)."""
    rng = np.random.default_rng(31)
    eps, tolerance = float(np.finfo(dtype).eps), _checks.sum_tolerance(np.dtype(dtype))
    rows = [rng.dirichlet(np.ones(6)) for _ in range(20)]
    for offset in (-64, -8, -2, 0, 2, 8, 64):
        for sign in (1, -1):
            row = np.full(6, 1 / 6)
            row[0] += sign * (tolerance + offset * eps)
            rows.append(row)
    for bad in (np.nan, np.inf, -0.25, -1e-30, float(np.finfo(dtype).max) / 2, 0.0):
        row = rng.dirichlet(np.ones(6))
        row[2] = bad
        rows.append(row)
    rows.append(np.zeros(6))
    passed = 0
    for row in rows:
        x = np.stack([row, np.full(6, 1 / 6)]).astype(dtype)
        quick = _checks.distributions_pass(x, 1, normalize=normalize)
        try:
            _checks.check_distribution(np, x, "p", 1, normalize=normalize)
            accepted = True
        except _checks.InputError:
            accepted = False
        assert accepted or not quick, row
        passed += quick
    assert passed >= 20  # (the ordinary rows pass)
