"""Fuzzing the losses from logits (Hypothesis): class-index and probability targets, masks,
ignore_index rows, rows and classes of -inf logits, extreme temperatures; torch, JAX and NumPy.

Asserted on every example: a finite loss for valid input, NaN-free gradients, a zero gradient on
rows that count for nothing, and agreement with torch.nn.functional (values; gradients on the
counted rows) and between the backends and the fused and composed paths.

Bounded and deterministic by default (derandomized, a dozen examples per test: about a
minute on 2 cores); ``HYPOTHESIS_PROFILE=long`` (tests/fuzz/conftest.py) runs many more, with
random seeds.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

from infoloss import losses
from infoloss.nn import functional as fused

INF = float("inf")
if os.environ.get("HYPOTHESIS_PROFILE") == "long":  # ./dev fuzz: the profile's many random examples
    fuzz = settings(deadline=None)
else:  # each example runs torch, JAX and NumPy with gradients: a dozen keeps CI's fuzz run bounded
    fuzz = settings(max_examples=12, derandomize=True, deadline=None)


@pytest.fixture(autouse=True)
def _jax_float64():
    with jax.enable_x64(True):
        yield


finite_logit = st.floats(-30, 30, allow_nan=False, width=64)


@st.composite
def index_problems(draw):
    """Logits (N, C) with -inf classes and whole -inf rows (those rows are ignored or masked),
    targets with ignore_index rows, and an optional mask."""
    n, c = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    z = np.array(draw(st.lists(finite_logit, min_size=n * c, max_size=n * c))).reshape(n, c)
    minus_inf = np.array(draw(st.lists(st.booleans(), min_size=n * c, max_size=n * c))).reshape(n, c)
    z = np.where(minus_inf & (draw(st.floats(0, 1)) < 0.5), -INF, z)
    target = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    ignored = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))) if draw(st.booleans()) else None
    counted = ~ignored if mask is None else ~ignored & mask
    dead_rows = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))) & ~counted
    z[dead_rows] = -INF  # a row of -inf logits that counts for nothing
    z[np.arange(n), target] = np.where(
        counted, np.nan_to_num(z[np.arange(n), target], neginf=0.0), z[np.arange(n), target]
    )  # a counted target's logit is finite
    target = np.where(ignored, -100, target)
    options = draw(
        st.sampled_from([{}, {"label_smoothing": 0.1}, {"reduction": "sum"}, {"reduction": "none"}])
    )
    if options.get("label_smoothing"):  # smoothing puts mass on every class: counted rows finite
        z[counted] = np.nan_to_num(z[counted], neginf=-50.0)
    return z, target, mask, counted, options


@fuzz
@given(index_problems())
def test_cross_entropy_with_class_indices(problem):
    z, target, mask, counted, options = problem
    reference_target = np.where(counted, target, -100)
    # PyTorch's reference on the counted rows (its gradient is NaN on -inf rows it ignores)
    clean = torch.tensor(np.where(counted[:, None], z, 0.0), requires_grad=True)
    expected = F.cross_entropy(clean, torch.tensor(reference_target), **options)
    if not counted.any() and options.get("reduction", "mean") == "mean":
        expected = clean.sum() * 0  # the documented difference: 0 with a zero gradient, not NaN
    (expected_grad,) = torch.autograd.grad(expected.sum(), clean)

    leaf = torch.tensor(z, requires_grad=True)
    got = losses.cross_entropy(
        leaf, torch.tensor(target), mask=None if mask is None else torch.tensor(mask), **options
    )
    (grad,) = torch.autograd.grad(got.sum(), leaf)
    assert torch.isfinite(got).all() and torch.isfinite(grad).all()
    assert torch.all(grad[torch.tensor(~counted)] == 0)
    torch.testing.assert_close(got, expected.detach(), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-9, atol=1e-12)

    jax_mask = None if mask is None else jnp.asarray(mask)
    value, jax_grad = jax.value_and_grad(
        lambda a: losses.cross_entropy(a, jnp.asarray(target), mask=jax_mask, **options).sum()
    )(jnp.asarray(z))
    np.testing.assert_allclose(float(value), float(got.sum()), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(jax_grad), grad.numpy(), rtol=1e-9, atol=1e-12)
    numpy_value = losses.cross_entropy(z, target, mask=mask, **options)
    np.testing.assert_allclose(np.asarray(numpy_value), got.detach().numpy(), rtol=1e-10, atol=1e-12)


@st.composite
def probability_problems(draw):
    n, c = draw(st.integers(1, 5)), draw(st.integers(2, 6))
    z = np.array(draw(st.lists(finite_logit, min_size=n * c, max_size=n * c))).reshape(n, c)
    weights = np.array(draw(st.lists(st.floats(0, 1), min_size=n * c, max_size=n * c))).reshape(n, c)
    weights[:, 0] += 0.1  # every row a distribution
    p = weights / weights.sum(1, keepdims=True)
    z = np.where(
        (p == 0) & (np.array(draw(st.lists(st.booleans(), min_size=n * c, max_size=n * c))).reshape(n, c)),
        -INF,
        z,
    )  # a masked class where the target has no mass
    mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    z[~mask & np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))] = -INF  # dead padding rows
    return z, p, mask


@fuzz
@given(probability_problems())
def test_cross_entropy_with_probability_targets(problem):
    z, p, mask = problem
    log_q = torch.log_softmax(torch.tensor(np.where(mask[:, None], z, 0.0)), 1).numpy()
    per = -np.where(p > 0, p * np.where(np.isinf(log_q), 0.0, log_q), 0.0).sum(1)
    expected = per[mask].mean() if mask.any() else 0.0
    leaf = torch.tensor(z, requires_grad=True)
    got = losses.cross_entropy(leaf, torch.tensor(p), mask=torch.tensor(mask))
    (grad,) = torch.autograd.grad(got, leaf)
    assert torch.isfinite(got) and torch.isfinite(grad).all()
    assert torch.all(grad[torch.tensor(~mask)] == 0)
    assert float(got) == pytest.approx(float(expected), rel=1e-10, abs=1e-12)
    if mask.any() and np.isfinite(z[mask]).all():  # F.cross_entropy's soft-label path: NaN on -inf logits
        kept = torch.tensor(z[mask], requires_grad=True)
        reference = F.cross_entropy(kept, torch.tensor(p[mask]), reduction="sum") / mask.sum()
        (reference_grad,) = torch.autograd.grad(reference, kept)
        torch.testing.assert_close(grad[torch.tensor(mask)], reference_grad, rtol=1e-9, atol=1e-12)
    value, jax_grad = jax.value_and_grad(
        lambda a: losses.cross_entropy(a, jnp.asarray(p), mask=jnp.asarray(mask))
    )(jnp.asarray(z))
    np.testing.assert_allclose(float(value), float(got), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(jax_grad), grad.numpy(), rtol=1e-9, atol=1e-12)


TEMPERATURES = [1e-15, 1e-3, 0.5, 1.0, 3.0, 100.0, 1e4]


@st.composite
def distillation_problems(draw):
    n, c = draw(st.integers(1, 5)), draw(st.integers(2, 6))
    s = np.array(draw(st.lists(finite_logit, min_size=n * c, max_size=n * c))).reshape(n, c)
    t = np.array(draw(st.lists(finite_logit, min_size=n * c, max_size=n * c))).reshape(n, c)
    excluded = np.array(draw(st.lists(st.booleans(), min_size=n * c, max_size=n * c))).reshape(n, c)
    excluded[:, 0] = False  # the teacher keeps at least one class
    t = np.where(excluded, -INF, t)  # classes the teacher rules out
    mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    dead = ~mask & np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    s[dead], t[dead] = -INF, -INF  # padding rows of -inf
    mode = draw(st.sampled_from(["forward", "js"]))
    return s, t, mask, mode, draw(st.sampled_from(TEMPERATURES))


@fuzz
@given(distillation_problems())
def test_distillation(problem):
    s, t, mask, mode, temperature = problem

    def loss(student, teacher, m):
        if mode == "js":
            return losses.distillation_js(student, teacher, mask=m, temperature=temperature, beta=0.3)
        return losses.distillation_kl(student, teacher, mask=m, temperature=temperature)

    results = {}
    for path in ("fused", "composed"):
        leaf = torch.tensor(s, requires_grad=True)
        value = loss(leaf, torch.tensor(t, requires_grad=path == "composed"), torch.tensor(mask))
        (grad,) = torch.autograd.grad(value, leaf)
        assert torch.isfinite(value) and torch.isfinite(grad).all(), path
        assert torch.all(grad[torch.tensor(~mask)] == 0), path
        assert float(value) >= -1e-12 * max(1.0, temperature**2)
        results[path] = (float(value), grad.numpy())
    value, jax_grad = jax.value_and_grad(lambda a: loss(a, jnp.asarray(t), jnp.asarray(mask)))(jnp.asarray(s))
    results["jax"] = (float(value), np.asarray(jax_grad))
    assert np.all(results["jax"][1][~mask] == 0)
    reference_value, reference_grad = results["composed"]
    scale = max(abs(reference_value), 1e-300)
    for path, (v, g) in results.items():
        assert v == pytest.approx(reference_value, rel=1e-8, abs=1e-12 * max(scale, temperature**2)), path
        np.testing.assert_allclose(
            g, reference_grad, rtol=1e-7, atol=1e-10 * max(1.0, temperature), err_msg=path
        )


@st.composite
def linear_problems(draw):
    n, d, v = draw(st.integers(1, 9)), draw(st.integers(0, 4)), draw(st.integers(1, 7))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    hidden, weight = (
        torch.randn(n, d, generator=g, dtype=torch.float64),
        torch.randn(v, d, generator=g, dtype=torch.float64),
    )
    bias = torch.randn(v, generator=g, dtype=torch.float64)
    target = torch.randint(0, v, (n,), generator=g)
    target[torch.rand(n, generator=g) < draw(st.floats(0, 1))] = -100
    options = draw(
        st.sampled_from([{}, {"label_smoothing": 0.2}, {"reduction": "none"}, {"reduction": "sum"}])
    )
    return hidden, weight, bias, target, options, draw(st.integers(1, 4))


@fuzz
@given(linear_problems())
def test_linear_cross_entropy_equals_the_unfused_loss(problem):
    hidden, weight, bias, target, options, chunk = problem
    leaves = [x.clone().requires_grad_() for x in (hidden, weight, bias)]
    got = fused.linear_cross_entropy(*leaves[:2], target, linear_bias=leaves[2], chunk_size=chunk, **options)
    got_grads = torch.autograd.grad(got.sum(), leaves)
    ref_leaves = [x.clone().requires_grad_() for x in (hidden, weight, bias)]
    expected = F.cross_entropy(ref_leaves[0] @ ref_leaves[1].T + ref_leaves[2], target, **options)
    if (target == -100).all() and options.get("reduction", "mean") == "mean":
        expected = sum(x.sum() for x in ref_leaves) * 0  # 0 with zero gradients, not NaN
    expected_grads = torch.autograd.grad(expected.sum(), ref_leaves)
    torch.testing.assert_close(got, expected.detach(), rtol=1e-10, atol=1e-12)
    for a, e in zip(got_grads, expected_grads):
        torch.testing.assert_close(a, e, rtol=1e-9, atol=1e-12)
