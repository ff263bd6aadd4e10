"""Tests for infoloss.losses: parity with torch.nn.functional and optax, textbook identities,
distillation, gradients, bad input, tracing.

References are ``torch.nn.functional`` (values and input gradients from PyTorch's own kernels),
optax, hand compositions of PyTorch ops for what PyTorch lacks, ``infoloss.kl_divergence`` /
``js_divergence``/``entropy`` on the softmaxes, and finite differences (``torch.autograd.gradcheck``,
``jax.test_util.check_grads``). NumPy and array-api-strict have no autograd: their values are
compared; gradients are compared on PyTorch and JAX inputs.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
import zlib

import array_api_strict as xs
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F
from jax.test_util import check_grads

import infoloss as il
from infoloss import losses

BACKENDS = ["numpy", "torch", "jax", "array_api_strict"]
DTYPES = ["float32", "float64"]
RTOL = {"float32": 1e-6, "float64": 1e-12}


@pytest.fixture(autouse=True)
def _jax_float64():
    """JAX is float32-only unless x64 is on; enable it for each test only (a context)."""
    with jax.enable_x64(True):
        yield


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def to_backend(backend, x, dtype="float64"):
    """``x`` on ``backend``; floating arrays in ``dtype``, integers as int64, booleans as bool."""
    x = np.asarray(x)
    if x.dtype.kind == "f":
        x = x.astype(dtype)
    elif x.dtype.kind in "iu":
        x = x.astype(np.int64)
    if backend == "numpy":
        return x
    if backend == "torch":
        return torch.asarray(x)
    if backend == "jax":
        return jnp.asarray(x)
    return xs.asarray(x)


def to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, xs._array_object.Array):
        return np.asarray(x._array)
    return np.asarray(x)


def assert_close(actual, expected, dtype, what=""):
    """Relative to the scale of ``expected``: ``rtol`` 1e-6 (float32) or 1e-12 (float64)."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    rtol = RTOL[dtype]
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * max(scale, 1e-300), err_msg=what)


def random_probs(rng, shape, axis, zero_fraction=0.25):
    x = np.where(rng.random(shape) < zero_fraction, 0.0, rng.random(shape))
    reduced = list(shape)
    reduced[axis] = 1
    np.put_along_axis(x, rng.integers(0, shape[axis], size=reduced), 0.5 + rng.random(reduced), axis=axis)
    return x / x.sum(axis=axis, keepdims=True)


def run_ours(backend, fn, arrays, grad_name, dtype, cotangent, **options):
    """Value (and the gradient w.r.t. ``grad_name`` for torch/JAX) of ``fn`` on ``backend``."""
    converted = {k: (None if v is None else to_backend(backend, v, dtype)) for k, v in arrays.items()}
    if backend == "torch":
        x = converted[grad_name].requires_grad_(True)
        out = fn(**converted, **options)
        (grad,) = torch.autograd.grad((out * torch.asarray(cotangent, dtype=out.dtype)).sum(), x)
        return out.detach().numpy(), grad.numpy()
    if backend == "jax":

        def f(x):
            return fn(**{**converted, grad_name: x}, **options)

        out, vjp = jax.vjp(f, converted[grad_name])
        (grad,) = vjp(jnp.asarray(cotangent, dtype=out.dtype))
        return np.asarray(out), np.asarray(grad)
    return to_numpy(fn(**converted, **options)), None


def torch_reference(fn, arrays, grad_name, dtype, cotangent, **options):
    tensors = {
        k: (
            None
            if v is None
            else torch.asarray(
                np.asarray(v).astype(dtype) if np.asarray(v).dtype.kind == "f" else np.asarray(v)
            )
        )
        for k, v in arrays.items()
    }
    x = tensors[grad_name].requires_grad_(True)
    out = fn(**tensors, **options)
    (grad,) = torch.autograd.grad((out * torch.asarray(cotangent, dtype=out.dtype)).sum(), x)
    return out.detach().numpy(), grad.numpy()


def check_parity(ours_fn, torch_fn, arrays, grad_name, options, torch_options=None, expect_nan_mean=False):
    """Ours on every backend and dtype == PyTorch's (values; gradients on torch and JAX)."""
    rng = np.random.default_rng(0)
    for dtype in DTYPES:
        ref_value, ref_grad = torch_reference(
            torch_fn, arrays, grad_name, dtype, 1.0, **(torch_options or options)
        )
        cotangent = rng.normal(size=ref_value.shape) if ref_value.ndim else np.asarray(1.0)
        ref_value, ref_grad = torch_reference(
            torch_fn, arrays, grad_name, dtype, cotangent, **(torch_options or options)
        )
        if expect_nan_mean:  # the documented difference: PyTorch gives NaN, we give 0 and a zero gradient
            assert np.isnan(ref_value)
            ref_value, ref_grad = np.zeros_like(ref_value), np.zeros_like(ref_grad)
        for backend in BACKENDS:
            value, grad = run_ours(backend, ours_fn, arrays, grad_name, dtype, cotangent, **options)
            what = f"{backend} {dtype} {options}"
            assert value.dtype == np.dtype(dtype), what
            assert_close(value, ref_value, dtype, what)
            if grad is not None:
                assert_close(grad, ref_grad, dtype, "gradient " + what)


# --------------------------------------------------------------------------------------------
# Parity with torch.nn.functional over a randomised grid of options
# --------------------------------------------------------------------------------------------

SHAPES = [(4,), (5, 4), (3, 4, 2), (2, 3, 2, 2)]
CE_GRID = list(
    itertools.product(
        SHAPES,
        ["index", "probs"],
        [False, True],
        ["absent", "present", "all"],
        [0.0, 0.2],
        ["mean", "sum", "none"],
        [-100, 1],
    )
)
CE_CASES = [CE_GRID[i] for i in np.random.default_rng(7).choice(len(CE_GRID), size=40, replace=False)]
# every probability-target case ignores ignore_index: drop the duplicates that differ only there
CE_CASES += [(s, "index", True, "all", 0.2, "mean", -100) for s in SHAPES[:2]]


def class_index_targets(rng, shape, n_classes, ignore, ignore_index):
    target = rng.integers(0, n_classes, size=shape)
    if ignore == "all":
        return np.full(shape, ignore_index)
    if ignore == "present":
        flat = target.reshape(-1)
        flat[rng.choice(flat.size, size=max(1, flat.size // 3), replace=False)] = ignore_index
    return target


@pytest.mark.parametrize("shape, kind, weighted, ignore, smoothing, reduction, ignore_index", CE_CASES)
def test_cross_entropy_parity(shape, kind, weighted, ignore, smoothing, reduction, ignore_index):
    rng = np.random.default_rng(
        zlib.crc32(repr((shape, kind, weighted, ignore, smoothing, reduction)).encode())
    )
    axis = 1 if len(shape) >= 2 else 0
    n_classes = shape[axis]
    index_shape = tuple(s for i, s in enumerate(shape) if i != axis)
    if kind == "index":
        target = class_index_targets(rng, index_shape, n_classes, ignore, ignore_index)
    else:
        target = random_probs(rng, shape, axis)
    arrays = {
        "input": 2 * rng.normal(size=shape),
        "target": target,
        "weight": rng.uniform(0.2, 2.0, n_classes) if weighted else None,
    }
    if kind == "probs":
        ignore_index = -100  # PyTorch refuses any other with probability targets (so do we)
    options = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=smoothing)
    all_ignored_mean = kind == "index" and np.all(target == ignore_index) and reduction == "mean"
    check_parity(
        losses.cross_entropy, F.cross_entropy, arrays, "input", options, expect_nan_mean=all_ignored_mean
    )


NLL_CASES = list(
    itertools.product(SHAPES[:3], [False, True], ["absent", "present", "all"], ["mean", "sum", "none"])
)


@pytest.mark.parametrize("shape, weighted, ignore, reduction", NLL_CASES[::2])
def test_nll_loss_parity(shape, weighted, ignore, reduction):
    rng = np.random.default_rng(len(shape) * 100 + weighted * 10 + len(ignore))
    axis = 1 if len(shape) >= 2 else 0
    n_classes = shape[axis]
    index_shape = tuple(s for i, s in enumerate(shape) if i != axis)
    log_q = rng.normal(size=shape)
    log_q = log_q - np.log(np.exp(log_q).sum(axis=axis, keepdims=True))
    arrays = {
        "input": log_q,
        "target": class_index_targets(rng, index_shape, n_classes, ignore, -100),
        "weight": rng.uniform(0.2, 2.0, n_classes) if weighted else None,
    }
    check_parity(
        losses.nll_loss,
        F.nll_loss,
        arrays,
        "input",
        dict(reduction=reduction),
        expect_nan_mean=bool(np.all(arrays["target"] == -100)) and reduction == "mean",
    )


BCE_CASES = list(
    itertools.product(
        [(6,), (3, 4), (2, 3, 4)], ["none", "full", "last"], [False, True], ["mean", "sum", "none"]
    )
)


@pytest.mark.slow
@pytest.mark.parametrize("shape, weight_kind, soft, reduction", BCE_CASES[::2])
def test_binary_cross_entropy_parity(shape, weight_kind, soft, reduction):
    rng = np.random.default_rng(len(shape) + 7 * len(weight_kind) + 3 * soft)
    target = rng.random(shape) if soft else (rng.random(shape) < 0.5).astype(np.float64)
    weight = {"none": None, "full": rng.uniform(0.2, 2, shape), "last": rng.uniform(0.2, 2, shape[-1:])}[
        weight_kind
    ]
    arrays = {"input": rng.uniform(0.02, 0.98, shape), "target": target, "weight": weight}
    check_parity(
        losses.binary_cross_entropy, F.binary_cross_entropy, arrays, "input", dict(reduction=reduction)
    )


@pytest.mark.parametrize("shape, weight_kind, soft, reduction", BCE_CASES[1::2])
@pytest.mark.parametrize("pos_weighted", [False, True])
def test_binary_cross_entropy_with_logits_parity(shape, weight_kind, soft, reduction, pos_weighted):
    rng = np.random.default_rng(len(shape) + 7 * len(weight_kind) + 3 * soft + pos_weighted)
    target = rng.random(shape) if soft else (rng.random(shape) < 0.5).astype(np.float64)
    weight = {"none": None, "full": rng.uniform(0.2, 2, shape), "last": rng.uniform(0.2, 2, shape[-1:])}[
        weight_kind
    ]
    pos_weight = rng.uniform(0.3, 3, shape[-1:]) if pos_weighted else None
    arrays = {
        "input": 3 * rng.normal(size=shape),
        "target": target,
        "weight": weight,
        "pos_weight": pos_weight,
    }
    check_parity(
        losses.binary_cross_entropy_with_logits,
        F.binary_cross_entropy_with_logits,
        arrays,
        "input",
        dict(reduction=reduction),
    )


KL_CASES = list(
    itertools.product([(5,), (3, 5), (2, 4, 3)], [False, True], ["mean", "sum", "none", "batchmean"])
)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")  # PyTorch's note on its 'mean'
@pytest.mark.parametrize("shape, log_target, reduction", KL_CASES)
def test_kl_div_parity(shape, log_target, reduction):
    rng = np.random.default_rng(len(shape) * 10 + log_target)
    axis = 1 if len(shape) >= 2 else 0
    log_q = rng.normal(size=shape)
    log_q = log_q - np.log(np.exp(log_q).sum(axis=axis, keepdims=True))
    p = random_probs(rng, shape, axis, zero_fraction=0.0 if log_target else 0.3)
    arrays = {"input": log_q, "target": np.log(p) if log_target else p}
    check_parity(losses.kl_div, F.kl_div, arrays, "input", dict(reduction=reduction, log_target=log_target))


@pytest.mark.slow
def test_axis_minus_one_matches_pytorch_on_moved_axis():
    rng = np.random.default_rng(3)
    z, y = rng.normal(size=(2, 3, 5)), rng.integers(0, 5, size=(2, 3))  # (B, T, C): classes last
    weight = rng.uniform(0.5, 1.5, 5)
    expected = F.cross_entropy(
        torch.tensor(z).permute(0, 2, 1),
        torch.tensor(y),
        torch.tensor(weight),
        reduction="none",
        label_smoothing=0.1,
    ).numpy()
    for backend in BACKENDS:
        got = losses.cross_entropy(
            to_backend(backend, z),
            to_backend(backend, y),
            to_backend(backend, weight),
            axis=-1,
            reduction="none",
            label_smoothing=0.1,
        )
        assert_close(to_numpy(got), expected, "float64", backend)
    log_q = torch.log_softmax(torch.tensor(z), -1)
    expected = F.nll_loss(log_q.permute(0, 2, 1), torch.tensor(y)).numpy()
    assert_close(to_numpy(losses.nll_loss(log_q, torch.tensor(y), axis=-1)), expected, "float64")
    assert_close(to_numpy(losses.nll_loss(log_q.numpy(), y, axis=2)), expected, "float64")


def test_kl_div_batchmean_with_axis_counts_distributions():
    rng = np.random.default_rng(4)
    p = random_probs(rng, (2, 3, 4), axis=-1)
    log_q = np.log(random_probs(rng, (2, 3, 4), axis=-1, zero_fraction=0))
    per_distribution = il.kl_divergence(p, np.exp(log_q), axis=-1)
    got = losses.kl_div(log_q, p, reduction="batchmean", axis=-1)
    assert float(got) == pytest.approx(float(np.mean(per_distribution)), rel=1e-12)
    # PyTorch's batchmean (axis=None) divides by input.shape[0] only
    assert float(losses.kl_div(log_q, p, reduction="batchmean")) == pytest.approx(
        float(np.sum(per_distribution)) / 2, rel=1e-12
    )


# --------------------------------------------------------------------------------------------
# Deliberate differences from PyTorch
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("smoothing, weighted", [(0.0, False), (0.1, True)])
def test_all_ignored_mean_is_zero_with_zero_gradient(backend, smoothing, weighted):
    z = np.random.default_rng(0).normal(size=(3, 4))
    y = np.full(3, -100)
    w = np.array([1.0, 2.0, 0.5, 1.0]) if weighted else None
    assert torch.isnan(F.cross_entropy(torch.tensor(z), torch.tensor(y), label_smoothing=smoothing))
    value, grad = run_ours(
        backend,
        losses.cross_entropy,
        {"input": z, "target": y, "weight": w},
        "input",
        "float64",
        1.0,
        label_smoothing=smoothing,
    )
    assert value == 0.0 and np.all(grad == 0.0)
    mask = np.zeros(3, dtype=bool)
    value, grad = run_ours(
        backend,
        losses.cross_entropy,
        {"input": z, "target": random_probs(np.random.default_rng(1), (3, 4), 1), "mask": mask},
        "input",
        "float64",
        1.0,
    )
    assert value == 0.0 and np.all(grad == 0.0)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_minus_inf_logits_give_finite_loss_and_nan_free_gradients(backend):
    """Masked classes (-inf logits) with zero target probability: PyTorch's soft-label path gives
    NaN (``0 * -inf``); ours 0, like the class-index path."""
    z = np.array([[0.5, -np.inf, 1.0, -np.inf], [2.0, 0.1, -np.inf, -1.0]])
    y = np.array([2, 0])
    p = np.array([[0.3, 0.0, 0.7, 0.0], [0.5, 0.5, 0.0, 0.0]])
    assert torch.isnan(F.cross_entropy(torch.tensor(z), torch.tensor(p)))
    index_value, index_grad = run_ours(
        backend, losses.cross_entropy, {"input": z, "target": y}, "input", "float64", 1.0
    )
    expected = F.cross_entropy(torch.tensor(z), torch.tensor(y)).item()
    assert index_value == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(index_grad).all()
    value, grad = run_ours(backend, losses.cross_entropy, {"input": z, "target": p}, "input", "float64", 1.0)
    # where p = 0 and z = -inf the term is 0; elsewhere PyTorch's log_softmax gives the terms
    log_q = torch.log_softmax(torch.tensor(z), 1).numpy()
    expected = -np.where(p > 0, p * np.where(np.isinf(log_q), 0, log_q), 0).sum(1).mean()
    # the same as F.cross_entropy over the classes each row can take (dropping the -inf ones)
    by_row = [
        F.cross_entropy(torch.tensor(z[i][np.isfinite(z[i])]), torch.tensor(p[i][np.isfinite(z[i])])).item()
        for i in range(2)
    ]
    assert expected == pytest.approx(np.mean(by_row), rel=1e-12)
    assert value == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(grad).all() and np.all(grad[np.isinf(z)] == 0)
    for fn in (
        lambda s, t: losses.distillation_kl(s, t),
        lambda s, t: losses.distillation_kl(s, t, direction="reverse"),
        lambda s, t: losses.distillation_js(s, t, beta=0.3),
    ):
        value, grad = run_ours(
            backend,
            lambda input, target, fn=fn: fn(input, target),
            {"input": z, "target": z + 0.5},
            "input",
            "float64",
            1.0,
        )
        # the teacher is the student shifted by a constant: the same distribution, divergence 0
        assert value == pytest.approx(0.0, abs=1e-15) and np.all(np.abs(grad) < 1e-15)
    value, grad = run_ours(
        backend, losses.kl_div, {"input": log_q, "target": p}, "input", "float64", 1.0, reduction="batchmean"
    )
    expected_kl = np.mean(
        [float(np.sum(p[i][p[i] > 0] * (np.log(p[i][p[i] > 0]) - log_q[i][p[i] > 0]))) for i in range(2)]
    )
    assert value == pytest.approx(expected_kl, rel=1e-12)
    np.testing.assert_allclose(grad, np.where(p > 0, -p / 2, 0.0), rtol=1e-12, atol=0)  # d/dlog_q = -p / N


# --------------------------------------------------------------------------------------------
# optax parity (JAX), and where optax's conventions differ
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_optax_softmax_cross_entropy():
    rng = np.random.default_rng(11)
    z, p = jnp.asarray(rng.normal(size=(4, 6))), jnp.asarray(random_probs(rng, (4, 6), -1))
    ours = losses.cross_entropy(z, p, axis=-1, reduction="none")
    np.testing.assert_allclose(ours, optax.softmax_cross_entropy(z, p), rtol=1e-12)
    # optax reduces nothing: PyTorch's default 'mean' is optax's output averaged
    np.testing.assert_allclose(
        losses.cross_entropy(z, p), jnp.mean(optax.softmax_cross_entropy(z, p)), rtol=1e-12
    )
    g_ours = jax.grad(lambda a: losses.cross_entropy(a, p, axis=-1, reduction="sum"))(z)
    g_optax = jax.grad(lambda a: optax.softmax_cross_entropy(a, p).sum())(z)
    np.testing.assert_allclose(g_ours, g_optax, rtol=1e-12, atol=1e-15)


def test_optax_integer_labels_and_class_axis_convention():
    rng = np.random.default_rng(12)
    z, y = jnp.asarray(rng.normal(size=(2, 3, 5))), jnp.asarray(rng.integers(0, 5, size=(2, 3)))
    expected = optax.softmax_cross_entropy_with_integer_labels(z, y)
    np.testing.assert_allclose(losses.cross_entropy(z, y, axis=-1, reduction="none"), expected, rtol=1e-12)
    # optax's classes are on the last axis; PyTorch's (our default) on axis 1: (2, 3, 5) with
    # (2, 3) targets is then a shape error, not a silent mismatch
    with pytest.raises(ValueError, match="class axis 1"):
        losses.cross_entropy(z, y, reduction="none")


@pytest.mark.slow
def test_optax_label_smoothing():
    rng = np.random.default_rng(13)
    z, y = jnp.asarray(rng.normal(size=(4, 5))), rng.integers(0, 5, size=4)
    smoothed = optax.smooth_labels(jax.nn.one_hot(y, 5, dtype=z.dtype), 0.2)
    expected = optax.softmax_cross_entropy(z, smoothed)
    np.testing.assert_allclose(
        losses.cross_entropy(z, jnp.asarray(y), label_smoothing=0.2, reduction="none"), expected, rtol=1e-12
    )
    one_hot = jax.nn.one_hot(y, 5, dtype=z.dtype)  # probability targets smooth the same way
    np.testing.assert_allclose(
        losses.cross_entropy(z, one_hot, label_smoothing=0.2, reduction="none"), expected, rtol=1e-12
    )


@pytest.mark.slow
def test_optax_sigmoid_binary_cross_entropy():
    rng = np.random.default_rng(14)
    x, t = jnp.asarray(3 * rng.normal(size=(3, 4))), jnp.asarray(rng.random((3, 4)))
    expected = optax.sigmoid_binary_cross_entropy(x, t)
    np.testing.assert_allclose(
        losses.binary_cross_entropy_with_logits(x, t, reduction="none"), expected, rtol=1e-12
    )
    g_ours = jax.grad(lambda a: losses.binary_cross_entropy_with_logits(a, t, reduction="sum"))(x)
    g_optax = jax.grad(lambda a: optax.sigmoid_binary_cross_entropy(a, t).sum())(x)
    np.testing.assert_allclose(g_ours, g_optax, rtol=1e-12)


@pytest.mark.slow
def test_optax_kl_divergence_conventions():
    rng = np.random.default_rng(15)
    log_q = jax.nn.log_softmax(jnp.asarray(rng.normal(size=(4, 5))))
    p = jnp.asarray(random_probs(rng, (4, 5), -1))
    per_example = optax.kl_divergence(log_q, p)  # same argument order as kl_div: (log q, p)
    # optax sums over the class axis per example; kl_div 'none' is elementwise (PyTorch)
    elementwise = losses.kl_div(log_q, p, reduction="none")
    assert elementwise.shape == (4, 5) and per_example.shape == (4,)
    np.testing.assert_allclose(elementwise.sum(-1), per_example, rtol=1e-12)
    np.testing.assert_allclose(losses.kl_div(log_q, p, reduction="batchmean"), per_example.mean(), rtol=1e-12)
    # with log targets optax gives NaN where p = 0 (0 * -inf); we give 0 there, as without them
    from_log = losses.kl_div(log_q, jnp.log(p), log_target=True, reduction="none").sum(-1)
    np.testing.assert_allclose(from_log, per_example, rtol=1e-12)
    optax_from_log = optax.losses.kl_divergence_with_log_targets(log_q, jnp.log(p))
    has_zero = np.asarray((p == 0).any(-1))
    assert has_zero.any() and np.isnan(np.asarray(optax_from_log)[has_zero]).all()
    np.testing.assert_allclose(
        np.asarray(from_log)[~has_zero], np.asarray(optax_from_log)[~has_zero], rtol=1e-12
    )
    # distillation_kl takes the teacher's probabilities second, like optax's targets
    np.testing.assert_allclose(
        losses.distillation_kl(log_q, p, teacher_format="probs", reduction="none"), per_example, rtol=1e-12
    )


# --------------------------------------------------------------------------------------------
# Identities on real numbers
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_cross_entropy_is_nll_of_log_softmax(backend):
    rng = np.random.default_rng(21)
    z, y = rng.normal(size=(6, 5)), rng.integers(0, 5, size=6)
    w = rng.uniform(0.5, 2, 5)
    ce_value, ce_grad = run_ours(
        backend, losses.cross_entropy, {"input": z, "target": y, "weight": w}, "input", "float64", 1.0
    )

    def nll_of_log_softmax(input, target, weight):
        return losses.nll_loss(il.log_softmax(input, axis=1), target, weight)

    nll_value, nll_grad = run_ours(
        backend, nll_of_log_softmax, {"input": z, "target": y, "weight": w}, "input", "float64", 1.0
    )
    assert ce_value == pytest.approx(float(nll_value), rel=1e-12)
    np.testing.assert_allclose(ce_grad, nll_grad, rtol=1e-12, atol=1e-15)
    # a blog post's scores (1, 1, 3) with true class 2: -log 0.7870 = 0.2395
    assert float(losses.cross_entropy(np.array([1.0, 1.0, 3.0]), np.array(2))) == pytest.approx(
        -math.log(0.78698604), rel=1e-7
    )


def test_binary_cross_entropy_is_two_class_cross_entropy():
    rng = np.random.default_rng(22)
    x, y = rng.normal(size=7), rng.integers(0, 2, size=7)
    two_class = np.stack([np.zeros(7), x], axis=1)  # softmax((0, x))[1] = sigmoid(x)
    expected = losses.cross_entropy(two_class, y, reduction="none")
    np.testing.assert_allclose(
        losses.binary_cross_entropy_with_logits(x, y.astype(float), reduction="none"), expected, rtol=1e-12
    )
    np.testing.assert_allclose(
        losses.binary_cross_entropy(1 / (1 + np.exp(-x)), y.astype(float), reduction="none"),
        expected,
        rtol=1e-12,
    )
    soft = rng.random(7)  # soft binary targets are two-class probability targets
    np.testing.assert_allclose(
        losses.binary_cross_entropy_with_logits(x, soft, reduction="none"),
        losses.cross_entropy(two_class, np.stack([1 - soft, soft], 1), reduction="none"),
        rtol=1e-12,
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_kl_div_and_soft_cross_entropy_differ_by_target_entropy(backend):
    """Same gradient in the logits; values differ by exactly the targets' entropy (the targets are fixed)."""
    rng = np.random.default_rng(23)
    z, p = rng.normal(size=(4, 5)), random_probs(rng, (4, 5), 1)
    ce_value, ce_grad = run_ours(
        backend, losses.cross_entropy, {"input": z, "target": p}, "input", "float64", 1.0, reduction="sum"
    )

    def kl_of_logits(input, target):
        return losses.kl_div(il.log_softmax(input, axis=1), target, reduction="sum")

    kl_value, kl_grad = run_ours(backend, kl_of_logits, {"input": z, "target": p}, "input", "float64", 1.0)
    np.testing.assert_allclose(ce_grad, kl_grad, rtol=1e-12, atol=1e-15)
    target_entropy = float(np.sum(il.entropy(p, axis=1)))
    assert float(ce_value) - float(kl_value) == pytest.approx(target_entropy, rel=1e-12)


# --------------------------------------------------------------------------------------------
# What PyTorch lacks: z-loss, softcap, entropy, soft-label mask
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numpy", "torch", "jax", "array_api_strict"])
def test_z_loss_softcap_entropy_match_hand_composition(backend):
    rng = np.random.default_rng(31)
    z, y = 5 * rng.normal(size=(6, 5)), rng.integers(0, 5, size=6)
    y[2] = -100
    cap, coefficient = 4.0, 1e-3

    def hand(z_t):
        capped = cap * torch.tanh(z_t / cap)
        per = (
            F.cross_entropy(capped, torch.tensor(y), reduction="none")
            + coefficient * torch.logsumexp(capped, 1) ** 2
        )
        loss = (per * torch.tensor(y != -100)).sum() / (y != -100).sum()
        entropy = -(capped.softmax(1) * capped.log_softmax(1)).sum(1)
        return loss, entropy

    z_t = torch.tensor(z, requires_grad=True)
    expected, expected_entropy = hand(z_t)
    (expected_grad,) = torch.autograd.grad(expected, z_t)

    def ours(input, target):
        return losses.cross_entropy(input, target, z_loss=coefficient, softcap=cap, return_entropy=True)[0]

    value, grad = run_ours(backend, ours, {"input": z, "target": y}, "input", "float64", 1.0)
    assert_close(value, expected.item(), "float64")
    if grad is not None:
        assert_close(grad, expected_grad.numpy(), "float64")
    _, entropy = losses.cross_entropy(
        to_backend(backend, z), to_backend(backend, y), softcap=cap, return_entropy=True
    )
    assert_close(to_numpy(entropy), expected_entropy.detach().numpy(), "float64")
    capped = cap * np.tanh(z / cap)
    assert_close(to_numpy(entropy), il.entropy(il.softmax(capped, axis=1), axis=1), "float64")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["index", "probs"])
def test_cross_entropy_options_gradients_against_finite_differences(kind):
    rng = np.random.default_rng(33)
    z = torch.tensor(3 * rng.normal(size=(4, 5)), requires_grad=True)
    target = torch.tensor([1, -100, 4, 0]) if kind == "index" else torch.tensor(random_probs(rng, (4, 5), 1))
    options = dict(
        weight=torch.tensor(rng.uniform(0.5, 2, 5)),
        label_smoothing=0.1,
        z_loss=1e-2,
        softcap=2.5,
        mask=torch.tensor([True, True, False, True]),
    )
    assert torch.autograd.gradcheck(lambda a: losses.cross_entropy(a, target, **options), (z,))
    assert torch.autograd.gradcheck(
        lambda a: losses.cross_entropy(a, target, return_entropy=True, reduction="none")[1], (z,)
    )
    jax_options = {
        k: (jnp.asarray(v.numpy()) if isinstance(v, torch.Tensor) else v) for k, v in options.items()
    }
    check_grads(
        lambda a: losses.cross_entropy(jnp.asarray(a), jnp.asarray(target.numpy()), **jax_options),
        (jnp.asarray(z.detach().numpy()),),
        order=1,
        modes=["rev"],
    )


def test_softcap_keeps_masked_classes_masked():
    z = np.array([[1.0, -np.inf, 30.0]])
    _, entropy = losses.cross_entropy(z, np.array([2]), softcap=5.0, return_entropy=True)
    q = il.softmax(5.0 * np.tanh(np.array([1.0, 30.0]) / 5.0))
    assert float(entropy[0]) == pytest.approx(float(il.entropy(q)), rel=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_mask_ignores_soft_labels_and_class_indices(backend):
    rng = np.random.default_rng(32)
    z, p, y = rng.normal(size=(5, 4)), random_probs(rng, (5, 4), 1), rng.integers(0, 4, size=5)
    keep = np.array([True, False, True, True, False])
    p_padded = p.copy()
    p_padded[~keep] = 0.0  # padding rows need not be distributions
    w = rng.uniform(0.5, 2, 4)
    b = lambda a: to_backend(backend, a)  # noqa: E731
    got = losses.cross_entropy(b(z), b(p_padded), b(w), mask=b(keep), label_smoothing=0.1)
    expected = F.cross_entropy(
        torch.tensor(z[keep]), torch.tensor(p[keep]), torch.tensor(w), label_smoothing=0.1
    )
    assert_close(to_numpy(got), expected.item(), "float64")
    got = losses.cross_entropy(b(z), b(y), b(w), mask=b(keep), reduction="none")
    expected = F.cross_entropy(
        torch.tensor(z), torch.tensor(np.where(keep, y, -100)), torch.tensor(w), reduction="none"
    )
    assert_close(to_numpy(got), expected.numpy(), "float64")
    got = losses.cross_entropy(b(z), b(y), b(w), mask=b(keep))
    expected = F.cross_entropy(torch.tensor(z[keep]), torch.tensor(y[keep]), torch.tensor(w))
    assert_close(to_numpy(got), expected.item(), "float64")


# --------------------------------------------------------------------------------------------
# Distillation
# --------------------------------------------------------------------------------------------


def hand_distillation(s, t, mode, temperature, beta=0.5):
    """The best hand composition of PyTorch ops: log_softmax on both sides + kl_div(log_target)."""
    log_s, log_t = F.log_softmax(s / temperature, -1), F.log_softmax(t / temperature, -1)
    if mode == "forward":
        per = F.kl_div(log_s, log_t, log_target=True, reduction="none").sum(-1)
    elif mode == "reverse":
        per = F.kl_div(log_t, log_s, log_target=True, reduction="none").sum(-1)
    else:
        log_m = torch.logsumexp(torch.stack([log_t + math.log(beta), log_s + math.log(1 - beta)]), 0)
        per = beta * F.kl_div(log_m, log_t, log_target=True, reduction="none").sum(-1) + (
            1 - beta
        ) * F.kl_div(log_m, log_s, log_target=True, reduction="none").sum(-1)
    return per * temperature**2


def distill(mode, beta=0.3):
    if mode == "js":
        return lambda input, target, **kw: losses.distillation_js(input, target, beta=beta, **kw)
    return lambda input, target, **kw: losses.distillation_kl(input, target, direction=mode, **kw)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["forward", "reverse", "js"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_distillation_matches_hand_composition(mode, reduction):
    rng = np.random.default_rng(41)
    s, t = 2 * rng.normal(size=(6, 7)), 2 * rng.normal(size=(6, 7))
    temperature = 2.5
    for dtype in DTYPES:
        s_t = torch.tensor(s.astype(dtype), requires_grad=True)
        per = hand_distillation(s_t, torch.tensor(t.astype(dtype)), mode, temperature, beta=0.3)
        expected = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
        cotangent = rng.normal(size=expected.shape)
        (expected_grad,) = torch.autograd.grad(
            (expected * torch.tensor(cotangent, dtype=per.dtype)).sum(), s_t
        )
        for backend in BACKENDS:
            value, grad = run_ours(
                backend,
                distill(mode),
                {"input": s, "target": t},
                "input",
                dtype,
                cotangent,
                temperature=temperature,
                reduction=reduction,
            )
            assert_close(value, expected.detach().numpy(), dtype, f"{backend} {dtype}")
            if grad is not None:
                assert_close(grad, expected_grad.numpy(), dtype, f"gradient {backend} {dtype}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_distillation_against_measures_and_teacher_formats(backend):
    rng = np.random.default_rng(42)
    s, t, T = rng.normal(size=(4, 6)), rng.normal(size=(4, 6)), 1.7
    q, p = il.softmax(s, temperature=T), il.softmax(t, temperature=T)
    b = lambda a: to_backend(backend, a)  # noqa: E731
    forward = np.mean(il.kl_divergence(p, q)) * T**2
    for teacher, fmt in [(t, "logits"), (il.log_softmax(t), "log_probs"), (il.softmax(t), "probs")]:
        got = losses.distillation_kl(b(s), b(teacher), temperature=T, teacher_format=fmt)
        assert_close(to_numpy(got), forward, "float64", fmt)
    reverse = losses.distillation_kl(
        b(s), b(t), temperature=T, direction="reverse", scale_by_temperature=False
    )
    assert_close(to_numpy(reverse), np.mean(il.kl_divergence(q, p)), "float64")
    js = losses.distillation_js(b(s), b(t), temperature=T, reduction="none", scale_by_temperature=False)
    assert_close(to_numpy(js), il.js_divergence(p, q), "float64")


def test_temperature_squared_scaling():
    rng = np.random.default_rng(43)
    s, t = torch.tensor(rng.normal(size=(3, 5)), requires_grad=True), torch.tensor(rng.normal(size=(3, 5)))
    for fn in (losses.distillation_kl, losses.distillation_js):
        scaled, plain = fn(s, t, temperature=3.0), fn(s, t, temperature=3.0, scale_by_temperature=False)
        assert scaled.item() == pytest.approx(9 * plain.item(), rel=1e-12)
        (g_scaled,), (g_plain,) = torch.autograd.grad(scaled, s), torch.autograd.grad(plain, s)
        torch.testing.assert_close(g_scaled, 9 * g_plain, rtol=1e-12, atol=0)


@pytest.mark.parametrize("mode", ["forward", "reverse", "js"])
def test_distillation_gradients_against_finite_differences(mode):
    rng = np.random.default_rng(44)
    s = torch.tensor(rng.normal(size=(3, 5)), requires_grad=True)
    t = torch.tensor(rng.normal(size=(3, 5)))
    mask = torch.tensor([True, False, True])
    assert torch.autograd.gradcheck(lambda a: distill(mode)(a, t, temperature=1.5, mask=mask), (s,))
    assert torch.autograd.gradcheck(lambda a: distill(mode)(a, t, temperature=1.5, reduction="none"), (s,))
    # the composed path (teacher needs a gradient too), and JAX
    t_grad = t.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: distill(mode)(a, b, temperature=1.5), (s, t_grad))
    check_grads(
        lambda a: distill(mode)(jnp.asarray(a), jnp.asarray(t.numpy()), temperature=1.5),
        (jnp.asarray(s.detach().numpy()),),
        order=1,
        modes=["rev"],
    )


def test_distillation_fused_path_equals_composed_path_with_mask_and_axis(monkeypatch):
    from infoloss.ops import _engine

    monkeypatch.setattr(_engine, "_LOGITS_CHUNK_ELEMENTS", 2000)  # chunks of 2 rows, the last one short
    rng = np.random.default_rng(45)
    s = rng.normal(size=(2, 5, 1000))  # (B, T, V) with classes last
    t = rng.normal(size=(2, 5, 1000))
    mask = np.array([[True, True, False, True, True], [False, True, True, True, False]])
    for mode in ("forward", "reverse", "js"):
        fused_s = torch.tensor(s, requires_grad=True)
        fused = distill(mode)(fused_s, torch.tensor(t), temperature=2.0, mask=torch.tensor(mask), axis=-1)
        fused.backward()
        composed_s = torch.tensor(s, requires_grad=True)
        composed = distill(mode)(
            composed_s, torch.tensor(t, requires_grad=True), temperature=2.0, mask=torch.tensor(mask), axis=-1
        )
        composed.backward()
        assert (
            "LogitsLoss" in type(fused.grad_fn).__name__
            and "LogitsLoss" not in type(composed.grad_fn).__name__
        )
        torch.testing.assert_close(fused, composed, rtol=1e-12, atol=0)
        torch.testing.assert_close(fused_s.grad, composed_s.grad, rtol=1e-10, atol=1e-15)
        assert torch.all(fused_s.grad[~torch.tensor(mask)] == 0)


def test_distillation_all_masked_is_zero_and_half_precision():
    s = torch.randn(3, 4, requires_grad=True)
    loss = losses.distillation_kl(s, torch.randn(3, 4), mask=torch.zeros(3, dtype=torch.bool))
    loss.backward()
    assert loss.item() == 0.0 and torch.all(s.grad == 0)
    half = losses.distillation_js(s.detach().to(torch.bfloat16), torch.randn(3, 4, dtype=torch.bfloat16))
    assert half.dtype == torch.bfloat16 and torch.isfinite(half)


# --------------------------------------------------------------------------------------------
# Bad input: clear errors naming argument, position and value
# --------------------------------------------------------------------------------------------

Z = np.zeros((3, 4))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: losses.cross_entropy(Z, np.array([0, 4, 1])),
            ValueError,
            r"target\[1\] = 4 is not a class index for 4 classes \(in \[0, 4\)\) nor ignore_index=-100",
        ),
        (
            lambda: losses.cross_entropy(Z, np.array([0, -1, 1])),
            ValueError,
            r"target\[1\] = -1 is not a class index",
        ),
        (lambda: losses.nll_loss(torch.zeros(3, 4), torch.tensor([0, 1, 9])), ValueError, r"target\[2\] = 9"),
        (
            lambda: losses.cross_entropy(Z, np.array([0.0, 1.0, 2.0])),
            TypeError,
            r"target has shape \(3,\), the shape of class indices, but floating dtype float64; class indices must be integers",
        ),
        (
            lambda: losses.cross_entropy(Z, np.full((3, 5), 0.2)),
            ValueError,
            r"target has shape \(3, 5\), but probability targets need input's shape \(3, 4\)",
        ),
        (
            lambda: losses.cross_entropy(Z, np.array([0, 1])),
            ValueError,
            r"target has shape \(2,\), but class-index targets need",
        ),
        (lambda: losses.cross_entropy(Z, np.full((3, 4), 0.3)), ValueError, r"target\[0, :\] sums to"),
        (
            lambda: losses.cross_entropy(Z, np.full((3, 4), 0.25), ignore_index=0),
            ValueError,
            r"ignore_index=0 applies to class-index targets only; to ignore elements with probability targets pass mask=",
        ),
        (
            lambda: losses.cross_entropy(Z, np.array([0, 1, 2]), np.array([1.0, 1.0, -1.0, 1.0])),
            ValueError,
            r"weight\[2\] = -1.0; weight entries must be finite and >= 0",
        ),
        (
            lambda: losses.cross_entropy(Z, np.array([0, 1, 2]), np.ones(3)),
            ValueError,
            r"weight must have shape \(4,\)",
        ),
        (
            lambda: losses.cross_entropy(Z, np.array([0, 1, 2]), reduction="avg"),
            ValueError,
            r"reduction=.avg.",
        ),
        (
            lambda: losses.cross_entropy(Z, np.array([0, 1, 2]), label_smoothing=1.5),
            ValueError,
            r"label_smoothing=1.5",
        ),
        (lambda: losses.cross_entropy(Z, np.array([0, 1, 2]), z_loss=-1.0), ValueError, r"z_loss=-1.0"),
        (lambda: losses.cross_entropy(Z, np.array([0, 1, 2]), softcap=0.0), ValueError, r"softcap=0.0"),
        (
            lambda: losses.cross_entropy(Z, np.array([0, 1, 2]), mask=np.ones(3)),
            TypeError,
            r"mask must be a boolean",
        ),
        (
            lambda: losses.cross_entropy(Z, np.array([0, 1, 2]), mask=np.ones(4, bool)),
            ValueError,
            r"mask must have the shape",
        ),
        (lambda: losses.cross_entropy(torch.zeros(3, 4), np.array([0, 1, 2])), TypeError, r"different kinds"),
        (lambda: losses.cross_entropy(Z, np.array([0, 1, 2]), axis=2), ValueError, r"axis=2 is out of range"),
        (
            lambda: losses.binary_cross_entropy(np.array([0.5, 1.5]), np.array([1.0, 0.0])),
            ValueError,
            r"input\[1\] = 1.5; input must hold probabilities in \[0, 1\]",
        ),
        (
            lambda: losses.binary_cross_entropy_with_logits(np.zeros(2), np.array([1.0, 2.0])),
            ValueError,
            r"target\[1\] = 2.0",
        ),
        (
            lambda: losses.binary_cross_entropy_with_logits(
                np.zeros(2), np.ones(2), pos_weight=np.array([-2.0])
            ),
            ValueError,
            r"pos_weight\[0\] = -2.0",
        ),
        (
            lambda: losses.binary_cross_entropy(np.zeros(2), np.ones(3)),
            ValueError,
            r"target must have input's shape \(2,\)",
        ),
        (lambda: losses.kl_div(np.zeros(3), -np.ones(3)), ValueError, r"target\[0\] = -1.0"),
        (lambda: losses.kl_div(np.zeros(3), np.ones(2)), ValueError, r"same shape"),
        (lambda: losses.kl_div(np.zeros(3), np.ones(3), reduction="batch"), ValueError, r"'batchmean'"),
        (
            lambda: losses.distillation_kl(Z, Z, temperature=0),
            ValueError,
            r"temperature must be a finite number in \[1e-15, 10000.0\] \(distillation temperature\), got temperature=0",
        ),
        (lambda: losses.distillation_js(Z, Z, temperature=-1.0), ValueError, r"got temperature=-1.0"),
        (
            lambda: losses.distillation_js(Z, Z, beta=1.0),
            ValueError,
            r"beta must be a finite number in \(0, 1\) \(the teacher's share of the mixture\), got beta=1.0",
        ),
        (lambda: losses.distillation_kl(Z, Z, direction="both"), ValueError, r"direction=.both."),
        (
            lambda: losses.distillation_kl(Z, Z, teacher_format="softmax"),
            ValueError,
            r"teacher_format=.softmax.",
        ),
        (
            lambda: losses.distillation_kl(Z, np.full((3, 4), 0.3), teacher_format="probs"),
            ValueError,
            r"teacher\[0, :\] sums to",
        ),
        (
            lambda: losses.distillation_kl(Z, np.zeros((3, 4)), teacher_format="log_probs"),
            ValueError,
            r"exp\(teacher\)\[0, :\] sums to 4.0",
        ),
        (
            lambda: losses.distillation_kl(Z, np.zeros((3, 5))),
            ValueError,
            r"student \(3, 4\) and teacher \(3, 5\)",
        ),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_validation_is_skipped_but_not_half_done_with_validate_false():
    got = losses.cross_entropy(Z, np.full((3, 4), 0.3), validate=False)  # unnormalised soft labels allowed
    assert float(got) == pytest.approx(1.2 * math.log(4), rel=1e-12)


# --------------------------------------------------------------------------------------------
# Tracing: jax.jit and torch.compile skip the value checks
# --------------------------------------------------------------------------------------------


def test_jax_jit_skips_value_checks():
    rng = np.random.default_rng(51)
    z, y = jnp.asarray(rng.normal(size=(4, 3))), jnp.asarray([0, 2, 1, -100])
    compiled = jax.jit(lambda a, b, w: losses.cross_entropy(a, b, w, label_smoothing=0.1))
    w = jnp.asarray([1.0, 2.0, 0.5])
    expected = F.cross_entropy(
        torch.tensor(np.asarray(z)),
        torch.tensor(np.asarray(y)),
        torch.tensor(np.asarray(w)),
        label_smoothing=0.1,
    )
    assert float(compiled(z, y, w)) == pytest.approx(expected.item(), rel=1e-12)
    compiled(z, y, -w)  # eager mode rejects negative weights; under jit the check is skipped
    with pytest.raises(ValueError, match="weight"):
        losses.cross_entropy(z, y, -w)
    distill = jax.jit(lambda a, b: losses.distillation_js(a, b, temperature=2.0, teacher_format="probs"))
    distill(z, z)  # not a distribution: rejected eagerly, unchecked under jit
    grad = jax.grad(lambda a: jax.jit(losses.distillation_kl)(a, z))(z)
    assert np.isfinite(np.asarray(grad)).all()


@pytest.mark.slow
def test_torch_compile_fullgraph_skips_value_checks():
    torch._dynamo.reset()
    rng = np.random.default_rng(52)
    z = torch.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    y, w = torch.tensor([0, 2, 1, -100]), torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    compiled = torch.compile(
        lambda a, b, c: losses.cross_entropy(a, b, c), fullgraph=True, backend="aot_eager"
    )
    got = compiled(z, y, w)
    expected = F.cross_entropy(z, y, w)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=0)
    compiled(z, y, -w)  # a negative weight is rejected eagerly only
    distill = torch.compile(
        lambda a, b: losses.distillation_kl(a, b, temperature=2.0), fullgraph=True, backend="aot_eager"
    )
    loss = distill(z, z.detach() * 2)
    loss.backward()
    torch.testing.assert_close(
        loss, hand_distillation(z, z.detach() * 2, "forward", 2.0).mean(), rtol=1e-12, atol=0
    )


# --------------------------------------------------------------------------------------------
# Imports: infoloss never imports torch
# --------------------------------------------------------------------------------------------


def test_importing_infoloss_and_losses_does_not_import_torch():
    code = (
        "import sys, infoloss, infoloss.losses; import numpy as np; "
        "infoloss.losses.cross_entropy(np.zeros((2, 3)), np.array([0, 1])); "
        "infoloss.losses.distillation_js(np.zeros((2, 3)), np.zeros((2, 3))); "
        "assert 'torch' not in sys.modules and 'jax' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
