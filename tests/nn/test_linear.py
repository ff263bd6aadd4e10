"""Fused linear losses (infoloss.nn.functional) against the unfused PyTorch computation.

References are torch.nn.functional on materialised logits ``hidden @ weight.T + bias``; the
z-loss and softcap terms, which PyTorch lacks, are written out plainly:
softcap: ``z -> cap * tanh(z / cap)`` before everything; z-loss: ``+ c * logsumexp(z)**2`` per
non-ignored token.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F

from infoloss.nn import functional as fused
from infoloss.nn.linear import LinearCrossEntropyLoss, LinearJSDivLoss, LinearKLDivLoss

IGNORE = -100


def reference_cross_entropy(hidden, weight, target, bias, *, reduction, label_smoothing, z_loss, softcap):
    """Unfused: materialise the logits, then F.cross_entropy plus the hand-written extra terms."""
    logits = hidden @ weight.T
    if bias is not None:
        logits = logits + bias
    if softcap is not None:
        logits = softcap * torch.tanh(logits / softcap)
    logits = logits.reshape(-1, weight.shape[0])
    flat = target.reshape(-1)
    per_token = F.cross_entropy(logits, flat, ignore_index=IGNORE, reduction="none", label_smoothing=label_smoothing)
    kept = flat != IGNORE
    per_token = per_token + z_loss * torch.logsumexp(logits, dim=-1) ** 2 * kept
    if reduction == "none":
        return per_token.reshape(target.shape)
    if reduction == "sum":
        return per_token.sum()
    return per_token.sum() / kept.sum() if kept.any() else per_token.sum() * 0


def make_problem(batch_shape, width, vocab, *, dtype=torch.float32, bias=True, ignore="some", seed=0):
    g = torch.Generator().manual_seed(seed)
    hidden = torch.randn(*batch_shape, width, generator=g, dtype=torch.float64).to(dtype).requires_grad_()
    weight = (torch.randn(vocab, width, generator=g, dtype=torch.float64) * 0.7).to(dtype).requires_grad_()
    b = (torch.randn(vocab, generator=g, dtype=torch.float64) * 0.3).to(dtype).requires_grad_() if bias else None
    target = torch.randint(0, vocab, batch_shape, generator=g)
    if ignore == "some":
        target.view(-1)[::3] = IGNORE
    elif ignore == "all":
        target.fill_(IGNORE)
    return hidden, weight, b, target


def grads_of(loss, tensors, upstream):
    inputs = [t for t in tensors if t is not None]
    return torch.autograd.grad((loss * upstream).sum(), inputs)


def assert_close_rel(actual, expected, rtol):
    """Relative to the size of the expected tensor: |a - e| <= rtol * max(|e|, tiny)."""
    scale = expected.detach().abs().max().clamp_min(1e-30)
    err = (actual.detach().double() - expected.detach().double()).abs().max()
    assert err <= rtol * scale, f"max error {float(err):.3g} > {rtol:g} x {float(scale):.3g}"
    assert torch.isfinite(actual).all()


# Shapes: (batch shape, D, V, chunk). N not a multiple of the chunk, V not a multiple of the
# Triton tile (64 on CPU) or of anything, a 3-D hidden, a single chunk, chunk of one row.
SHAPES = [((37,), 8, 29, 8), ((4, 9), 6, 131, 5), ((16,), 5, 64, 16), ((7,), 3, 11, 1), ((2, 3, 5), 4, 70, None)]
OPTIONS = list(itertools.product(["mean", "sum", "none"], ["none", "some", "all"], [0.0, 0.1], [0.0, 1e-3], [None, 2.5], [True, False]))


@pytest.mark.parametrize("case", range(len(OPTIONS)))
def test_parity_grid_float32(case):
    reduction, ignore, smoothing, z_loss, softcap, bias = OPTIONS[case]
    batch_shape, width, vocab, chunk = SHAPES[case % len(SHAPES)]
    hidden, weight, b, target = make_problem(batch_shape, width, vocab, bias=bias, ignore=ignore, seed=case)
    options = dict(reduction=reduction, label_smoothing=smoothing, z_loss=z_loss, softcap=softcap)
    got = fused.linear_cross_entropy(hidden, weight, target, b, chunk_size=chunk, **options)
    want = reference_cross_entropy(hidden, weight, target, b, **options)
    assert got.dtype == torch.float32 and got.shape == want.shape
    assert_close_rel(got, want, 1e-5)
    upstream = torch.rand(want.shape, generator=torch.Generator().manual_seed(case)) + 0.5
    for g_got, g_want in zip(grads_of(got, (hidden, weight, b), upstream), grads_of(want, (hidden, weight, b), upstream)):
        if ignore == "all" and reduction != "none":
            assert not g_got.any()
        assert_close_rel(g_got, g_want, 1e-5)


def test_all_ignored_mean_is_zero_with_zero_gradients():
    # Deliberate difference from PyTorch, whose mean over no tokens is NaN.
    hidden, weight, b, target = make_problem((5,), 4, 9, ignore="all")
    loss = fused.linear_cross_entropy(hidden, weight, target, b)
    assert torch.isnan(F.cross_entropy(hidden @ weight.T + b, target))
    assert float(loss.detach()) == 0.0
    loss.backward()
    for t in (hidden, weight, b):
        assert t.grad is not None and not t.grad.any()


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_reduced_precision_matches_float32_reference(dtype, reduction):
    hidden, weight, b, target = make_problem((33,), 16, 50, dtype=dtype, seed=3)
    options = dict(reduction=reduction, label_smoothing=0.05, z_loss=1e-3, softcap=4.0)
    got = fused.linear_cross_entropy(hidden, weight, target, b, chunk_size=7, **options)
    assert got.dtype == dtype
    # Reference in float32 on the same (rounded) inputs; the tolerance is the dtype's.
    leaves = [t.detach().float().requires_grad_() for t in (hidden, weight, b)]
    want = reference_cross_entropy(*leaves[:2], target, leaves[2], **options)
    tol = 2e-2 if dtype == torch.bfloat16 else 3e-3
    assert_close_rel(got.float(), want, tol)
    upstream = torch.ones(want.shape)
    g_got = grads_of(got.float(), (hidden, weight, b), upstream)
    g_want = grads_of(want, leaves, upstream)
    for a, e, leaf in zip(g_got, g_want, (hidden, weight, b)):
        assert a.dtype == dtype
        assert_close_rel(a.float(), e, 3 * tol)


def test_float64_is_exact_to_rounding():
    hidden, weight, b, target = make_problem((23,), 5, 17, dtype=torch.float64, seed=4)
    options = dict(reduction="mean", label_smoothing=0.2, z_loss=1e-2, softcap=1.5)
    got = fused.linear_cross_entropy(hidden, weight, target, b, chunk_size=4, **options)
    want = reference_cross_entropy(hidden, weight, target, b, **options)
    assert_close_rel(got, want, 1e-12)
    for a, e in zip(grads_of(got, (hidden, weight, b), 1.0), grads_of(want, (hidden, weight, b), 1.0)):
        assert_close_rel(a, e, 1e-12)


def test_gradients_match_finite_differences():
    hidden, weight, b, target = make_problem((6,), 3, 7, dtype=torch.float64, seed=5)
    options = dict(chunk_size=4, label_smoothing=0.1, z_loss=0.01, softcap=2.0)

    def per_token(h, w, bias):
        return fused.linear_cross_entropy(h, w, target, bias, reduction="none", **options)

    # 'none' recomputes in backward, so it supports the repeated backward passes of gradcheck.
    assert torch.autograd.gradcheck(per_token, (hidden, weight, b))
    # 'mean' hands out the gradients taken in the forward pass once: central differences by hand.
    loss = fused.linear_cross_entropy(hidden, weight, target, b, **options)
    analytic = torch.autograd.grad(loss, (hidden, weight, b))
    step = 1e-6
    with torch.no_grad():
        for tensor, grad in zip((hidden, weight, b), analytic):
            for index in [(0,) * tensor.ndim, tuple(n - 1 for n in tensor.shape)]:
                original = tensor[index].item()
                tensor[index] = original + step
                up = fused.linear_cross_entropy(hidden, weight, target, b, **options)
                tensor[index] = original - step
                down = fused.linear_cross_entropy(hidden, weight, target, b, **options)
                tensor[index] = original
                assert abs(float((up - down) / (2 * step)) - float(grad[index])) < 1e-7


def test_return_lse_is_logsumexp_of_capped_logits():
    hidden, weight, b, target = make_problem((2, 5), 4, 12, seed=6)
    loss, lse = fused.linear_cross_entropy(hidden, weight, target, b, softcap=3.0, return_lse=True, chunk_size=3)
    logits = 3.0 * torch.tanh((hidden @ weight.T + b) / 3.0)
    assert lse.shape == target.shape and not lse.requires_grad
    torch.testing.assert_close(lse, torch.logsumexp(logits, -1).detach(), rtol=1e-6, atol=1e-6)


def test_backward_scales_stored_gradients_and_refuses_a_second_pass():
    hidden, weight, b, target = make_problem((9,), 4, 13, seed=7)
    loss = fused.linear_cross_entropy(hidden, weight, target, b, chunk_size=4)
    (3.0 * loss).backward(retain_graph=True)
    want = reference_cross_entropy(hidden, weight, target, b, reduction="mean", label_smoothing=0.0, z_loss=0.0, softcap=None)
    expected = torch.autograd.grad(3.0 * want, (hidden, weight, b))
    for t, e in zip((hidden, weight, b), expected):
        assert_close_rel(t.grad, e, 1e-5)
    with pytest.raises(RuntimeError, match="one backward pass"):
        loss.backward()


def test_only_the_inputs_that_need_gradients_get_them():
    hidden, weight, b, target = make_problem((9,), 4, 13, seed=8)
    frozen = weight.detach()
    loss = fused.linear_cross_entropy(hidden, frozen, target, None)
    loss.backward()
    want = torch.autograd.grad(F.cross_entropy(hidden @ frozen.T, target), hidden)[0]
    assert_close_rel(hidden.grad, want, 1e-5)
    with torch.no_grad():
        value = fused.linear_cross_entropy(hidden, weight, target, b)
    assert not value.requires_grad
    assert_close_rel(value, F.cross_entropy(hidden @ weight.T + b, target), 1e-5)


def test_matches_infoloss_losses_cross_entropy():
    # The unfused loss of the losses module (issue 3), which has the same z_loss/softcap options.
    from infoloss import losses

    for reduction in ("mean", "none"):
        hidden, weight, b, target = make_problem((21,), 6, 19, seed=9)
        options = dict(reduction=reduction, label_smoothing=0.1, z_loss=1e-3, softcap=2.0)
        got = fused.linear_cross_entropy(hidden, weight, target, b, chunk_size=5, **options)
        want = losses.cross_entropy(hidden @ weight.T + b, target, **options)
        assert_close_rel(got, want, 1e-5)
        upstream = torch.ones(want.shape)
        for a, e in zip(grads_of(got, (hidden, weight, b), upstream), grads_of(want, (hidden, weight, b), upstream)):
            assert_close_rel(a, e, 1e-5)


# --------------------------------------------------------------------------------------------
# Distillation
# --------------------------------------------------------------------------------------------


def reference_distill(student_logits, teacher_logits, *, kind, beta=0.5, temperature=1.0):
    """Per-token divergences from materialised logits, via F.kl_div (log-space targets)."""
    log_s = torch.log_softmax(student_logits / temperature, -1)
    log_t = torch.log_softmax(teacher_logits / temperature, -1)
    if kind == "forward":
        return F.kl_div(log_s, log_t, reduction="none", log_target=True).sum(-1)
    if kind == "reverse":
        return F.kl_div(log_t, log_s, reduction="none", log_target=True).sum(-1)
    mixture = torch.log(beta * log_t.exp() + (1 - beta) * log_s.exp())
    return (beta * F.kl_div(mixture, log_t, reduction="none", log_target=True).sum(-1)
            + (1 - beta) * F.kl_div(mixture, log_s, reduction="none", log_target=True).sum(-1))


DISTILL = list(itertools.product(["forward", "reverse", "js"], ["mean", "sum", "none"], ["logits", "hidden"]))


@pytest.mark.parametrize("case", range(len(DISTILL)))
def test_distillation_parity(case):
    kind, reduction, teacher_form = DISTILL[case]
    temperature, beta = (2.0, 0.3) if case % 2 else (1.0, 0.5)
    scaled = case % 3 == 0
    hidden, weight, b, target = make_problem((4, 5), 6, 23, seed=20 + case)
    mask = target != IGNORE
    g = torch.Generator().manual_seed(case)
    teacher_hidden = torch.randn(4, 5, 9, generator=g).requires_grad_()
    teacher_weight = torch.randn(23, 9, generator=g)
    teacher_logits = teacher_hidden @ teacher_weight.T
    common = dict(bias=b, temperature=temperature, scale_by_temperature=scaled, mask=mask, reduction=reduction,
                  chunk_size=6)
    teacher = (teacher_logits,) if teacher_form == "logits" else (teacher_hidden, teacher_weight)
    if kind == "js":
        got = fused.linear_js_div(hidden, weight, *teacher, beta=beta, **common)
    else:
        got = fused.linear_kl_div(hidden, weight, *teacher, direction=kind, **common)
    per_token = reference_distill(hidden @ weight.T + b, teacher_logits.detach(), kind=kind, beta=beta, temperature=temperature)
    per_token = per_token * mask * (temperature**2 if scaled else 1.0)
    want = {"none": per_token, "sum": per_token.sum(), "mean": per_token.sum() / mask.sum()}[reduction]
    assert_close_rel(got, want, 1e-5)
    upstream = torch.rand(want.shape, generator=g) + 0.5
    for a, e in zip(grads_of(got, (hidden, weight, b), upstream), grads_of(want, (hidden, weight, b), upstream)):
        assert_close_rel(a, e, 1e-5)
    assert teacher_hidden.grad is None  # the teacher is a fixed target


@pytest.mark.parametrize("kind", ["forward", "reverse", "js"])
def test_distillation_matches_infoloss_losses(kind):
    # The unfused distillation losses of infoloss.losses (issue 3): same names and meanings.
    from infoloss import losses

    hidden, weight, b, target = make_problem((3, 7), 5, 17, seed=40)
    mask = target != IGNORE
    teacher = torch.randn(3, 7, 17, generator=torch.Generator().manual_seed(41))
    options = dict(temperature=1.5, mask=mask)
    if kind == "js":
        got = fused.linear_js_div(hidden, weight, teacher, bias=b, beta=0.25, chunk_size=4, **options)
        want = losses.distillation_js(hidden @ weight.T + b, teacher, beta=0.25, axis=-1, **options)
    else:
        got = fused.linear_kl_div(hidden, weight, teacher, bias=b, direction=kind, chunk_size=4, **options)
        want = losses.distillation_kl(hidden @ weight.T + b, teacher, direction=kind, axis=-1, **options)
    assert_close_rel(got, want, 1e-5)
    for a, e in zip(grads_of(got, (hidden, weight, b), 1.0), grads_of(want, (hidden, weight, b), 1.0)):
        assert_close_rel(a, e, 1e-5)


def test_js_is_zero_for_identical_teacher_and_bounded_by_log2():
    hidden, weight, b, _ = make_problem((12,), 4, 15, seed=30)
    same = fused.linear_js_div(hidden, weight, (hidden @ weight.T + b).detach(), bias=b, reduction="none")
    assert same.abs().max() < 1e-6
    far = fused.linear_js_div(hidden * 50, weight, -(hidden @ weight.T).detach() * 50, reduction="none")
    assert (far <= torch.log(torch.tensor(2.0)) + 1e-6).all() and (far > 0.5).all()


def test_module_forms_match_functional():
    hidden, weight, b, target = make_problem((10,), 4, 12, seed=31)
    teacher = torch.randn(10, 12)
    assert torch.equal(LinearCrossEntropyLoss(z_loss=1e-3)(hidden, weight, target, b),
                       fused.linear_cross_entropy(hidden, weight, target, b, z_loss=1e-3))
    assert torch.equal(LinearKLDivLoss(direction="reverse", temperature=2.0)(hidden, weight, teacher, bias=b),
                       fused.linear_kl_div(hidden, weight, teacher, bias=b, direction="reverse", temperature=2.0))
    mask = target != IGNORE
    assert torch.equal(LinearJSDivLoss(beta=0.2)(hidden, weight, teacher, mask=mask),
                       fused.linear_js_div(hidden, weight, teacher, beta=0.2, mask=mask))


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, error, message",
    [
        (dict(weight=torch.randn(12, 5)), ValueError, r"hidden size mismatch.*\(10, 4\).*\(12, 5\)"),
        (dict(target=torch.zeros(9, dtype=torch.long)), ValueError, r"target has shape \(9,\).*\(10,\)"),
        (dict(target=torch.zeros(10)), TypeError, r"integer class indices.*float32"),
        (dict(target=torch.tensor([0, 1, 2, 12, 0, 0, 0, 0, 0, 0])), ValueError, r"target\[3\] = 12 .*\[0, 12\)"),
        (dict(chunk_size=0), ValueError, r"chunk_size must be an int >= 1 or None \(rows per chunk\), got chunk_size=0"),
        (dict(chunk_size=-3), ValueError, r"chunk_size=-3"),
        (dict(chunk_size=2.5), TypeError, r"chunk_size=2.5"),
        (dict(bias=torch.randn(11)), ValueError, r"bias must have shape \(12,\)"),
        (dict(hidden=torch.randn(10, 4, dtype=torch.float64)), TypeError, r"float64.*float32"),
        (dict(reduction="batchmean"), ValueError, r"reduction must be one of"),
        (dict(label_smoothing=1.5), ValueError, r"label_smoothing must be a finite number in \[0, 1\]"),
        (dict(z_loss=-1.0), ValueError, r"z_loss must be a finite number >= 0"),
        (dict(softcap=0.0), ValueError, r"softcap must be a finite number in \[1e-15, 1000000000000000.0\] or None"),
    ],
)
def test_bad_input_is_a_clear_error(change, error, message):
    args = dict(hidden=torch.randn(10, 4), weight=torch.randn(12, 4), target=torch.zeros(10, dtype=torch.long), bias=None)
    options = {k: change.pop(k) for k in list(change) if k not in args}
    args.update(change)
    with pytest.raises(error, match=message):
        fused.linear_cross_entropy(args["hidden"], args["weight"], args["target"], args["bias"], **options)


def test_distillation_bad_input():
    h, w = torch.randn(5, 3), torch.randn(7, 3)
    with pytest.raises(ValueError, match="teacher logits have 8 classes"):
        fused.linear_kl_div(h, w, torch.randn(5, 8))
    with pytest.raises(ValueError, match="same leading"):
        fused.linear_kl_div(h, w, torch.randn(4, 7))
    with pytest.raises(ValueError, match="teacher_weight has 6 rows"):
        fused.linear_js_div(h, w, torch.randn(5, 2), torch.randn(6, 2))
    with pytest.raises(ValueError, match="temperature must be a finite number in"):
        fused.linear_kl_div(h, w, torch.randn(5, 7), temperature=0)
    with pytest.raises(ValueError, match="direction must be"):
        fused.linear_kl_div(h, w, torch.randn(5, 7), direction="both")
    with pytest.raises(ValueError, match=r"beta must be a finite number in"):
        fused.linear_js_div(h, w, torch.randn(5, 7), beta=2)
    with pytest.raises(ValueError, match=r"beta must be a finite number in \(0, 1\)"):
        fused.linear_js_div(h, w, torch.randn(5, 7), beta=0.0)
    with pytest.raises(ValueError, match="mask must be a boolean tensor of shape \\(5,\\)"):
        fused.linear_kl_div(h, w, torch.randn(5, 7), mask=torch.ones(5))


# --------------------------------------------------------------------------------------------
# Peak memory and the Triton kernel (each in a fresh interpreter)
# --------------------------------------------------------------------------------------------


def run_python(code, **env):
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
        env={**os.environ, **env}, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_peak_memory_stays_far_below_the_logits():
    # N x V float32 logits would take 4096 * 65536 * 4 B = 1 GiB (2 GiB with their gradient).
    out = run_python(
        """
        import torch
        from infoloss.nn.functional import linear_cross_entropy

        def status(field):
            for line in open("/proc/self/status"):
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024

        g = torch.Generator().manual_seed(0)
        n, d, v = 4096, 16, 65536
        hidden = torch.randn(n, d, generator=g).requires_grad_()
        weight = torch.randn(v, d, generator=g).requires_grad_()
        target = torch.randint(0, v, (n,), generator=g)
        linear_cross_entropy(hidden[:8], weight[:64].detach(), target[:8] % 64)  # load code paths
        base = status("VmRSS")
        open("/proc/self/clear_refs", "w").write("5")  # reset the high-water mark
        loss = linear_cross_entropy(hidden, weight, target, label_smoothing=0.1, z_loss=1e-4)
        loss.backward()
        assert torch.isfinite(loss) and weight.grad.shape == weight.shape
        print(status("VmHWM") - base)
        """
    )
    peak = int(out.strip().splitlines()[-1])
    assert peak < 2**30 // 4, f"peak extra RSS {peak / 2**20:.0f} MiB >= 256 MiB"


TRITON_CHECK = """
    import itertools, torch, torch.nn.functional as F
    from infoloss.ops.cross_entropy import linear_cross_entropy_op

    def reference(h, w, y, b, reduction, eps, c, cap):
        z = h @ w.T + b
        z = cap * torch.tanh(z / cap) if cap else z
        per = F.cross_entropy(z, y, reduction="none", label_smoothing=eps) + c * torch.logsumexp(z, -1) ** 2 * (y != -100)
        return {"none": per, "sum": per.sum(), "mean": per.sum() / (y != -100).sum()}[reduction]

    g = torch.Generator().manual_seed(0)
    n, d, v = 11, 6, 83  # V not a multiple of the 64-wide interpreter tile, N not of the chunk
    h = torch.randn(n, d, generator=g, requires_grad=True)
    w = torch.randn(v, d, generator=g, requires_grad=True)
    b = torch.randn(v, generator=g, requires_grad=True)
    y = torch.randint(0, v, (n,), generator=g)
    y[::4] = -100
    for reduction, eps, c, cap in [("mean", 0.0, 0.0, None), ("sum", 0.1, 1e-3, 2.5), ("none", 0.2, 1e-2, 3.0)]:
        got, lse = linear_cross_entropy_op(h, w, y, b, reduction=reduction, label_smoothing=eps, z_loss=c,
                                           softcap=cap, chunk_size=4, kernel="triton", return_lse=True)
        want = reference(h, w, y, b, reduction, eps, c, cap)
        up = torch.rand(want.shape, generator=g) + 0.5
        for a, e in zip((got,) + torch.autograd.grad((got * up).sum(), (h, w, b)),
                        (want,) + torch.autograd.grad((want * up).sum(), (h, w, b))):
            err = float((a - e).abs().max() / e.abs().max())
            assert err < 1e-5, (reduction, err)
    print("ok")
"""


def test_triton_kernel_in_interpreter_mode():
    # No GPU in CI: Triton's interpreter runs the same kernel on CPU tensors.
    assert run_python(TRITON_CHECK, TRITON_INTERPRET="1").strip().endswith("ok")


def test_non_contiguous_inputs():
    g = torch.Generator().manual_seed(50)
    hidden = torch.randn(8, 5, 3, generator=g).transpose(0, 1).requires_grad_()  # (5, 8, 3), strided
    weight = torch.randn(3, 40, generator=g).t().requires_grad_()  # (40, 3), column-major
    target = torch.randint(0, 40, (8, 5), generator=g).t()
    got = fused.linear_cross_entropy(hidden, weight, target, chunk_size=3)
    want = F.cross_entropy((hidden @ weight.T).reshape(-1, 40), target.reshape(-1))
    assert_close_rel(got, want, 1e-5)
    for a, e in zip(grads_of(got, (hidden, weight), 1.0), grads_of(want, (hidden, weight), 1.0)):
        assert_close_rel(a, e, 1e-5)
