"""Hostile and extreme input for the losses: rows that count for nothing have a zero gradient
whatever their logits, -inf teacher logits, extreme options, empty input.

References: torch.nn.functional on the rows that count, optax, finite differences, and the
unfused losses for the fused ones.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from infoloss import losses
from infoloss._validate import InputError
from infoloss.nn import functional as fused

INF = float("inf")
Z = [[-INF, -INF, -INF], [0.0, 1.0, 2.0]]  # row 0 counts for nothing
EXPECTED_GRAD_ROW_1 = torch.softmax(torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64), 0) - torch.tensor(
    [0.0, 0.0, 1.0], dtype=torch.float64
)


@pytest.fixture(autouse=True)
def _jax_float64():
    with jax.enable_x64(True):
        yield


CE_CASES = {
    "ignore_index": (np.array([-100, 2]), {}),
    "mask, index": (np.array([0, 2]), {"mask": np.array([False, True])}),
    "mask, probabilities": (
        np.array([[1 / 3, 1 / 3, 1 / 3], [0.0, 0.0, 1.0]]),
        {"mask": np.array([False, True])},
    ),
}
CE_OPTIONS = [{}, {"label_smoothing": 0.1}, {"z_loss": 1e-3, "softcap": 5.0}, {"return_entropy": True}]


@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("case", list(CE_CASES))
@pytest.mark.parametrize("options", CE_OPTIONS, ids=repr)
def test_uncounted_row_has_zero_gradient_whatever_its_logits(backend, case, options):
    target, extra = CE_CASES[case]
    wants_entropy = options.get("return_entropy", False)

    def loss_of(z, t, **kw):
        out = losses.cross_entropy(z, t, **kw, **options)
        return out[0] if wants_entropy else out

    if backend == "torch":
        z = torch.tensor(Z, dtype=torch.float64, requires_grad=True)
        value = loss_of(z, torch.asarray(target), **{k: torch.asarray(v) for k, v in extra.items()})
        (grad,) = torch.autograd.grad(value, z)
        value, grad = float(value.detach()), grad.numpy()
    else:
        kw = {k: jnp.asarray(v) for k, v in extra.items()}
        value, grad = jax.value_and_grad(lambda a: loss_of(a, jnp.asarray(target), **kw))(jnp.asarray(Z))
        value, grad = float(value), np.asarray(grad)
    assert np.all(grad[0] == 0), grad
    # the counted row: the same loss and gradient as F.cross_entropy on that row alone
    row = torch.tensor([Z[1]], dtype=torch.float64, requires_grad=True)
    ours_alone = losses.cross_entropy(row, torch.tensor([2]), **options)
    reference = ours_alone[0] if wants_entropy else ours_alone
    if not options:
        torch.testing.assert_close(reference, F.cross_entropy(row, torch.tensor([2])), rtol=1e-12, atol=0)
    (reference_grad,) = torch.autograd.grad(reference, row)
    assert value == pytest.approx(float(reference), rel=1e-12)
    np.testing.assert_allclose(grad[1], reference_grad.numpy()[0], rtol=1e-12, atol=1e-15)
    if not options:
        np.testing.assert_allclose(grad[1], EXPECTED_GRAD_ROW_1.numpy(), rtol=1e-12)


@pytest.mark.parametrize("fn", [losses.distillation_kl, losses.distillation_js])
@pytest.mark.parametrize("path", ["fused", "composed", "jax"])
def test_masked_distillation_row_has_zero_gradient(fn, path):
    teacher = [[-INF, -INF, -INF], [1.0, 0.5, 2.0]]
    mask = [False, True]
    if path == "jax":
        grad = np.asarray(
            jax.grad(lambda a: fn(a, jnp.asarray(teacher), mask=jnp.asarray(mask)))(jnp.asarray(Z))
        )
    else:
        z = torch.tensor(Z, dtype=torch.float64, requires_grad=True)
        t = torch.tensor(teacher, dtype=torch.float64, requires_grad=path == "composed")
        (grad,) = torch.autograd.grad(fn(z, t, mask=torch.tensor(mask)), z)
        grad = grad.numpy()
    assert np.all(grad[0] == 0) and np.isfinite(grad).all()
    alone = torch.tensor([Z[1]], dtype=torch.float64, requires_grad=True)
    (expected,) = torch.autograd.grad(fn(alone, torch.tensor([teacher[1]], dtype=torch.float64)), alone)
    np.testing.assert_allclose(grad[1], expected.numpy()[0], rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_linear_cross_entropy_all_ignored_with_minus_inf_bias(reduction):
    g = torch.Generator().manual_seed(0)
    h = torch.randn(3, 4, generator=g, requires_grad=True)
    w = torch.randn(5, 4, generator=g, requires_grad=True)
    b = torch.full((5,), -INF, requires_grad=True)
    loss = fused.linear_cross_entropy(
        h, w, torch.full((3,), -100), linear_bias=b, reduction=reduction, chunk_size=2
    )
    grads = torch.autograd.grad(loss.sum(), (h, w, b))
    assert torch.all(loss == 0)
    for grad in grads:
        assert torch.all(grad == 0), grad


def test_linear_cross_entropy_with_a_masked_class_matches_pytorch():
    """A -inf bias on one class (masked out of the vocabulary): the same loss and gradients as
    F.cross_entropy on the logits, ignored rows included."""
    g = torch.Generator().manual_seed(1)
    h, w = (
        torch.randn(6, 4, generator=g, dtype=torch.float64),
        torch.randn(5, 4, generator=g, dtype=torch.float64),
    )
    b = torch.tensor([0.0, -INF, 0.5, 0.0, -1.0], dtype=torch.float64)
    target = torch.tensor([-100, 0, -100, 3, 2, 4])
    for reduction in ("mean", "sum", "none"):
        leaves = [t.clone().requires_grad_() for t in (h, w)]
        got = fused.linear_cross_entropy(
            leaves[0], leaves[1], target, linear_bias=b, reduction=reduction, chunk_size=4
        )
        got_grads = torch.autograd.grad(got.sum(), leaves)
        ref_leaves = [t.clone().requires_grad_() for t in (h, w)]
        expected = F.cross_entropy(ref_leaves[0] @ ref_leaves[1].T + b, target, reduction=reduction)
        expected_grads = torch.autograd.grad(expected.sum(), ref_leaves)
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=0)
        for a, e in zip(got_grads, expected_grads):
            torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("fn", ["linear_kl_div", "linear_js_div"])
def test_linear_distillation_with_minus_inf_teacher_logit_equals_unfused(fn):
    g = torch.Generator().manual_seed(2)
    h, w = (
        torch.randn(4, 3, generator=g, dtype=torch.float64),
        torch.randn(6, 3, generator=g, dtype=torch.float64),
    )
    teacher = torch.randn(4, 6, generator=g, dtype=torch.float64)
    teacher[0, 2] = -INF
    teacher[3, :4] = -INF
    unfused = losses.distillation_kl if fn == "linear_kl_div" else losses.distillation_js
    leaf = h.clone().requires_grad_()
    got = getattr(fused, fn)(leaf, w, teacher, temperature=1.5, chunk_size=3)
    (got_grad,) = torch.autograd.grad(got, leaf)
    logits = (h @ w.T).requires_grad_()
    expected = unfused(logits, teacher, temperature=1.5)
    (expected_grad,) = torch.autograd.grad(expected, logits)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=0)
    torch.testing.assert_close(got_grad, expected_grad @ w, rtol=1e-10, atol=1e-14)
    # the composed (array) path gives the same number
    assert float(got) == pytest.approx(
        float(unfused((h @ w.T).numpy(), teacher.numpy(), temperature=1.5)), rel=1e-12
    )


def test_the_issue_case_minus_inf_teacher_logit():
    """Two tokens, a -inf teacher logit: every path gives the unfused value (0.4589 in the issue)."""
    student = torch.tensor([[0.5, -1.0, 2.0], [1.0, 0.0, -1.0]], dtype=torch.float64)
    teacher = torch.tensor([[1.0, -INF, 0.5], [0.0, 2.0, 1.0]], dtype=torch.float64)
    p = torch.softmax(teacher, 1)
    by_hand = (
        torch.where(p > 0, p * (torch.log_softmax(teacher, 1) - torch.log_softmax(student, 1)), 0)
        .sum(1)
        .mean()
    )
    eye = torch.eye(3, dtype=torch.float64)  # hidden = logits, weight = identity
    for value in (
        losses.distillation_kl(student, teacher),
        losses.distillation_kl(student.numpy(), teacher.numpy()),
        fused.linear_kl_div(student, eye, teacher),
    ):
        assert float(value) == pytest.approx(float(by_hand), rel=1e-12)


# --------------------------------------------------------------------------------------------
# Extreme options: a finite, correct value inside the documented range, a clear error outside
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("temperature", [1e-15, 1e-6, 1e3, 1e4])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_distillation_at_extreme_accepted_temperatures(temperature, dtype):
    g = torch.Generator().manual_seed(3)
    s, t = torch.randn(5, 7, generator=g, dtype=dtype), torch.randn(5, 7, generator=g, dtype=dtype)
    for path_teacher_grad in (False, True):
        leaf = s.clone().requires_grad_()
        loss = losses.distillation_kl(
            leaf, t.clone().requires_grad_(path_teacher_grad), temperature=temperature
        )
        (grad,) = torch.autograd.grad(loss, leaf)
        assert torch.isfinite(loss) and torch.isfinite(grad).all()
    # the small-T limit: T * (max s - s[argmax t]) per row, averaged (softmaxes become one-hot)
    if temperature <= 1e-6:
        s64, t64 = s.double(), t.double()
        expected = temperature * (s64.max(1).values - s64.gather(1, t64.argmax(1, keepdim=True))[:, 0]).mean()
        assert float(loss) == pytest.approx(float(expected), rel=1e-5)
    h = s.clone().requires_grad_()
    linear = fused.linear_kl_div(h, torch.eye(7, dtype=dtype), t, temperature=temperature)
    linear.backward()
    assert torch.isfinite(linear) and torch.isfinite(h.grad).all()
    if dtype == torch.float64 or temperature < 100:
        # float32 at T >= 100 is rounding-limited (relative error ~ T**2 * 1e-7), as PyTorch's
        # own composition is: only finiteness is asserted there
        assert float(linear) == pytest.approx(
            float(loss), rel=1e-4, abs=1e-12 if dtype == torch.float64 else 1e-6
        )


@pytest.mark.parametrize("temperature", [1e-300, 1e-40, 1e-16, 2e19, 1e30, 1e5])
def test_temperature_outside_the_range_is_a_clear_error(temperature):
    s = torch.zeros(2, 3)
    for call in (
        lambda: losses.distillation_kl(s, s, temperature=temperature),
        lambda: losses.distillation_js(s.numpy(), s.numpy(), temperature=temperature),
        lambda: fused.linear_kl_div(s, torch.eye(3), s, temperature=temperature),
        lambda: fused.linear_js_div(s, torch.eye(3), s, temperature=temperature),
    ):
        with pytest.raises(
            InputError, match=r"temperature must be a finite number in \[1e-15, 10000.0\]"
        ) as caught:
            call()
        assert caught.value.argument == "temperature"


@pytest.mark.parametrize("softcap", [1e-15, 1e-6])
def test_tiny_softcap_gives_finite_gradients(softcap):
    z = torch.tensor([[0.0, 1.0, -3.0], [2.0, 0.0, 1e-20]], requires_grad=True)
    loss = losses.cross_entropy(z, torch.tensor([1, 0]), softcap=softcap)
    (grad,) = torch.autograd.grad(loss, z)
    # the capped logits are within softcap of 0: the loss is log 3 to within ~2 softcap
    assert float(loss) == pytest.approx(np.log(3), abs=3 * softcap + 1e-6)
    assert torch.isfinite(grad).all()
    h = z.detach().clone().requires_grad_()
    linear = fused.linear_cross_entropy(h, torch.eye(3), torch.tensor([1, 0]), softcap=softcap)
    (h_grad,) = torch.autograd.grad(linear, h)
    assert torch.isfinite(h_grad).all() and float(linear) == pytest.approx(float(loss), rel=1e-6)
    for bad in (1e-300, 1e300):
        with pytest.raises(InputError, match="softcap"):
            losses.cross_entropy(z, torch.tensor([1, 0]), softcap=bad)


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
def test_bce_with_logits_at_infinite_logits_is_zero(backend):
    x, t = np.array([INF, -INF, 3.0]), np.array([1.0, 0.0, 1.0])
    to = {"numpy": np.asarray, "torch": torch.tensor, "jax": jnp.asarray}[backend]
    per = losses.binary_cross_entropy_with_logits(to(x), to(t), reduction="none")
    np.testing.assert_allclose(np.asarray(per), [0.0, 0.0, np.log1p(np.exp(-3.0))], rtol=1e-12, atol=0)
    if backend == "torch":
        leaf = torch.tensor(x, requires_grad=True)
        (grad,) = torch.autograd.grad(losses.binary_cross_entropy_with_logits(leaf, torch.tensor(t)), leaf)
        np.testing.assert_allclose(
            grad.numpy(), [0.0, 0.0, (torch.sigmoid(torch.tensor(3.0)).item() - 1) / 3], rtol=1e-6
        )
    if backend == "jax":
        grad = jax.grad(lambda a: losses.binary_cross_entropy_with_logits(a, jnp.asarray(t)))(jnp.asarray(x))
        assert np.all(np.asarray(grad)[:2] == 0)


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
@pytest.mark.parametrize(
    "fn", [losses.binary_cross_entropy, losses.binary_cross_entropy_with_logits, losses.kl_div]
)
def test_mean_over_empty_input_is_an_error_everywhere(backend, fn):
    empty = {"numpy": np.zeros, "torch": torch.zeros, "jax": jnp.zeros}[backend]((0, 3))
    with pytest.raises(InputError, match=r"input is empty \(shape \(0, 3\)\)"):
        fn(empty, empty)
    assert float(fn(empty, empty, reduction="sum")) == 0.0


def test_all_ignored_mean_stays_zero():
    z = torch.zeros(2, 3, requires_grad=True)
    assert float(losses.cross_entropy(z, torch.tensor([-100, -100]))) == 0.0


def test_ignore_index_beyond_int64_is_a_clear_error():
    for call in (
        lambda: losses.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), ignore_index=2**70),
        lambda: losses.nll_loss(torch.zeros(2, 3), torch.tensor([0, 1]), ignore_index=2**70),
        lambda: fused.linear_cross_entropy(
            torch.zeros(2, 3), torch.eye(3), torch.tensor([0, 1]), ignore_index=-(2**70)
        ),
    ):
        with pytest.raises(InputError, match="ignore_index must be an int in") as caught:
            call()
        assert caught.value.argument == "ignore_index"


def test_kl_div_batchmean_on_0d_input_is_the_sum_like_torch():
    log_q, p = torch.tensor(-1.0), torch.tensor(0.5)
    expected = F.kl_div(log_q, p, reduction="batchmean")
    assert float(expected) == pytest.approx(float(F.kl_div(log_q, p, reduction="sum")))
    for a, b in ((log_q, p), (log_q.numpy(), p.numpy()), (jnp.asarray(-1.0), jnp.asarray(0.5))):
        assert float(losses.kl_div(a, b, reduction="batchmean")) == pytest.approx(float(expected), rel=1e-7)


def test_linear_cross_entropy_with_no_classes_or_no_features():
    with pytest.raises(InputError, match=r"linear_weight has no rows \(shape \(0, 4\)\)") as caught:
        fused.linear_cross_entropy(torch.zeros(3, 4), torch.zeros(0, 4), torch.zeros(3, dtype=torch.long))
    assert caught.value.argument == "linear_weight"
    # D = 0: the logits are the bias; value and bias gradient as F.cross_entropy of the bias
    h, w = torch.zeros(3, 0, requires_grad=True), torch.zeros(5, 0, requires_grad=True)
    b = torch.tensor([0.5, -1.0, 2.0, 0.0, 1.0], requires_grad=True)
    y = torch.tensor([0, 2, -100])
    loss = fused.linear_cross_entropy(h, w, y, linear_bias=b)
    loss.backward()
    b_ref = b.detach().clone().requires_grad_()
    expected = F.cross_entropy(b_ref.expand(3, 5), y)
    expected.backward()
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=0)
    torch.testing.assert_close(b.grad, b_ref.grad, rtol=1e-6, atol=1e-7)
    assert h.grad.shape == (3, 0) and w.grad.shape == (5, 0)
