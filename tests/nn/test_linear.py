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
    per_token = F.cross_entropy(
        logits, flat, ignore_index=IGNORE, reduction="none", label_smoothing=label_smoothing
    )
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
    b = (
        (torch.randn(vocab, generator=g, dtype=torch.float64) * 0.3).to(dtype).requires_grad_()
        if bias
        else None
    )
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
SHAPES = [
    ((37,), 8, 29, 8),
    ((4, 9), 6, 131, 5),
    ((16,), 5, 64, 16),
    ((7,), 3, 11, 1),
    ((2, 3, 5), 4, 70, None),
]
OPTIONS = list(
    itertools.product(
        ["mean", "sum", "none"], ["none", "some", "all"], [0.0, 0.1], [0.0, 1e-3], [None, 2.5], [True, False]
    )
)


@pytest.mark.parametrize("case", range(len(OPTIONS)))
def test_parity_grid_float32(case):
    reduction, ignore, smoothing, z_loss, softcap, bias = OPTIONS[case]
    batch_shape, width, vocab, chunk = SHAPES[case % len(SHAPES)]
    hidden, weight, b, target = make_problem(batch_shape, width, vocab, bias=bias, ignore=ignore, seed=case)
    options = dict(reduction=reduction, label_smoothing=smoothing, z_loss=z_loss, softcap=softcap)
    got = fused.linear_cross_entropy(hidden, weight, target, linear_bias=b, chunk_size=chunk, **options)
    want = reference_cross_entropy(hidden, weight, target, b, **options)
    assert got.dtype == torch.float32 and got.shape == want.shape
    assert_close_rel(got, want, 1e-5)
    upstream = torch.rand(want.shape, generator=torch.Generator().manual_seed(case)) + 0.5
    for g_got, g_want in zip(
        grads_of(got, (hidden, weight, b), upstream), grads_of(want, (hidden, weight, b), upstream)
    ):
        if ignore == "all" and reduction != "none":
            assert not g_got.any()
        assert_close_rel(g_got, g_want, 1e-5)


def test_all_ignored_mean_is_zero_with_zero_gradients():
    # Deliberate difference from PyTorch, whose mean over no tokens is NaN.
    hidden, weight, b, target = make_problem((5,), 4, 9, ignore="all")
    loss = fused.linear_cross_entropy(hidden, weight, target, linear_bias=b)
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
    got = fused.linear_cross_entropy(hidden, weight, target, linear_bias=b, chunk_size=7, **options)
    assert got.dtype == dtype
    # Reference in float32 on the same (rounded) inputs; the tolerance is the dtype's.
    leaves = [t.detach().float().requires_grad_() for t in (hidden, weight, b)]
    want = reference_cross_entropy(*leaves[:2], target, leaves[2], **options)
    tol = 2e-2 if dtype == torch.bfloat16 else 3e-3
    assert_close_rel(got.float(), want, tol)
    upstream = torch.ones(want.shape)
    g_got = grads_of(got.float(), (hidden, weight, b), upstream)
    g_want = grads_of(want, leaves, upstream)
    for a, e in zip(g_got, g_want):
        assert a.dtype == dtype
        assert_close_rel(a.float(), e, 3 * tol)


def test_float64_is_exact_to_rounding():
    hidden, weight, b, target = make_problem((23,), 5, 17, dtype=torch.float64, seed=4)
    options = dict(reduction="mean", label_smoothing=0.2, z_loss=1e-2, softcap=1.5)
    got = fused.linear_cross_entropy(hidden, weight, target, linear_bias=b, chunk_size=4, **options)
    want = reference_cross_entropy(hidden, weight, target, b, **options)
    assert_close_rel(got, want, 1e-12)
    for a, e in zip(grads_of(got, (hidden, weight, b), 1.0), grads_of(want, (hidden, weight, b), 1.0)):
        assert_close_rel(a, e, 1e-12)


def test_gradients_match_finite_differences():
    hidden, weight, b, target = make_problem((6,), 3, 7, dtype=torch.float64, seed=5)
    options = dict(chunk_size=4, label_smoothing=0.1, z_loss=0.01, softcap=2.0)

    def per_token(h, w, bias):
        return fused.linear_cross_entropy(h, w, target, linear_bias=bias, reduction="none", **options)

    # 'none' recomputes in backward, so it supports the repeated backward passes of gradcheck.
    assert torch.autograd.gradcheck(per_token, (hidden, weight, b))
    # 'mean' hands out the gradients taken in the forward pass once: central differences by hand.
    loss = fused.linear_cross_entropy(hidden, weight, target, linear_bias=b, **options)
    analytic = torch.autograd.grad(loss, (hidden, weight, b))
    step = 1e-6
    with torch.no_grad():
        for tensor, grad in zip((hidden, weight, b), analytic):
            for index in [(0,) * tensor.ndim, tuple(n - 1 for n in tensor.shape)]:
                original = tensor[index].item()
                tensor[index] = original + step
                up = fused.linear_cross_entropy(hidden, weight, target, linear_bias=b, **options)
                tensor[index] = original - step
                down = fused.linear_cross_entropy(hidden, weight, target, linear_bias=b, **options)
                tensor[index] = original
                assert abs(float((up - down) / (2 * step)) - float(grad[index])) < 1e-7


def test_return_lse_is_logsumexp_of_capped_logits():
    hidden, weight, b, target = make_problem((2, 5), 4, 12, seed=6)
    _, lse = fused.linear_cross_entropy(
        hidden, weight, target, linear_bias=b, softcap=3.0, return_lse=True, chunk_size=3
    )
    logits = 3.0 * torch.tanh((hidden @ weight.T + b) / 3.0)
    assert lse.shape == target.shape and not lse.requires_grad
    torch.testing.assert_close(lse, torch.logsumexp(logits, -1).detach(), rtol=1e-6, atol=1e-6)


def test_backward_scales_stored_gradients_and_refuses_a_second_pass():
    hidden, weight, b, target = make_problem((9,), 4, 13, seed=7)
    loss = fused.linear_cross_entropy(hidden, weight, target, linear_bias=b, chunk_size=4)
    (3.0 * loss).backward(retain_graph=True)
    want = reference_cross_entropy(
        hidden, weight, target, b, reduction="mean", label_smoothing=0.0, z_loss=0.0, softcap=None
    )
    expected = torch.autograd.grad(3.0 * want, (hidden, weight, b))
    for t, e in zip((hidden, weight, b), expected):
        assert_close_rel(t.grad, e, 1e-5)
    with pytest.raises(RuntimeError, match="one backward pass"):
        loss.backward()


def test_only_the_inputs_that_need_gradients_get_them():
    hidden, weight, b, target = make_problem((9,), 4, 13, seed=8)
    frozen = weight.detach()
    loss = fused.linear_cross_entropy(hidden, frozen, target)
    loss.backward()
    want = torch.autograd.grad(F.cross_entropy(hidden @ frozen.T, target), hidden)[0]
    assert_close_rel(hidden.grad, want, 1e-5)
    with torch.no_grad():
        value = fused.linear_cross_entropy(hidden, weight, target, linear_bias=b)
    assert not value.requires_grad
    assert_close_rel(value, F.cross_entropy(hidden @ weight.T + b, target), 1e-5)


def test_matches_infoloss_losses_cross_entropy():
    # The unfused loss of the losses module (issue 3), which has the same z_loss/softcap options.
    from infoloss import losses

    for reduction in ("mean", "none"):
        hidden, weight, b, target = make_problem((21,), 6, 19, seed=9)
        options = dict(reduction=reduction, label_smoothing=0.1, z_loss=1e-3, softcap=2.0)
        got = fused.linear_cross_entropy(hidden, weight, target, linear_bias=b, chunk_size=5, **options)
        want = losses.cross_entropy(hidden @ weight.T + b, target, **options)
        assert_close_rel(got, want, 1e-5)
        upstream = torch.ones(want.shape)
        for a, e in zip(
            grads_of(got, (hidden, weight, b), upstream), grads_of(want, (hidden, weight, b), upstream)
        ):
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
    return beta * F.kl_div(mixture, log_t, reduction="none", log_target=True).sum(-1) + (1 - beta) * F.kl_div(
        mixture, log_s, reduction="none", log_target=True
    ).sum(-1)


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
    common = dict(
        linear_bias=b,
        temperature=temperature,
        scale_by_temperature=scaled,
        mask=mask,
        reduction=reduction,
        chunk_size=6,
    )
    teacher = (teacher_logits,) if teacher_form == "logits" else (teacher_hidden, teacher_weight)
    if kind == "js":
        got = fused.linear_js_div(hidden, weight, *teacher, beta=beta, **common)
    else:
        got = fused.linear_kl_div(hidden, weight, *teacher, direction=kind, **common)
    per_token = reference_distill(
        hidden @ weight.T + b, teacher_logits.detach(), kind=kind, beta=beta, temperature=temperature
    )
    per_token = per_token * mask * (temperature**2 if scaled else 1.0)
    want = {"none": per_token, "sum": per_token.sum(), "mean": per_token.sum() / mask.sum()}[reduction]
    assert_close_rel(got, want, 1e-5)
    upstream = torch.rand(want.shape, generator=g) + 0.5
    for a, e in zip(
        grads_of(got, (hidden, weight, b), upstream), grads_of(want, (hidden, weight, b), upstream)
    ):
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
        got = fused.linear_js_div(hidden, weight, teacher, linear_bias=b, beta=0.25, chunk_size=4, **options)
        want = losses.distillation_js(hidden @ weight.T + b, teacher, beta=0.25, axis=-1, **options)
    else:
        got = fused.linear_kl_div(
            hidden, weight, teacher, linear_bias=b, direction=kind, chunk_size=4, **options
        )
        want = losses.distillation_kl(hidden @ weight.T + b, teacher, direction=kind, axis=-1, **options)
    assert_close_rel(got, want, 1e-5)
    for a, e in zip(grads_of(got, (hidden, weight, b), 1.0), grads_of(want, (hidden, weight, b), 1.0)):
        assert_close_rel(a, e, 1e-5)


def test_js_is_zero_for_identical_teacher_and_bounded_by_log2():
    hidden, weight, b, _ = make_problem((12,), 4, 15, seed=30)
    same = fused.linear_js_div(
        hidden, weight, (hidden @ weight.T + b).detach(), linear_bias=b, reduction="none"
    )
    assert same.abs().max() < 1e-6
    far = fused.linear_js_div(hidden * 50, weight, -(hidden @ weight.T).detach() * 50, reduction="none")
    assert (far <= torch.log(torch.tensor(2.0)) + 1e-6).all() and (far > 0.5).all()


def test_module_forms_match_functional():
    hidden, weight, b, target = make_problem((10,), 4, 12, seed=31)
    teacher = torch.randn(10, 12)
    module = LinearCrossEntropyLoss(4, 12, bias=True, z_loss=1e-3, chunk_size=3)
    with torch.no_grad():
        module.linear.weight.copy_(weight)
        module.linear.bias.copy_(b)
    assert torch.equal(
        module(hidden, target),
        fused.linear_cross_entropy(hidden, weight, target, linear_bias=b, z_loss=1e-3, chunk_size=3),
    )
    assert torch.equal(
        LinearKLDivLoss(direction="reverse", temperature=2.0)(hidden, weight, teacher, linear_bias=b),
        fused.linear_kl_div(hidden, weight, teacher, linear_bias=b, direction="reverse", temperature=2.0),
    )
    mask = target != IGNORE
    assert torch.equal(
        LinearJSDivLoss(beta=0.2)(hidden, weight, teacher, mask=mask),
        fused.linear_js_div(hidden, weight, teacher, beta=0.2, mask=mask),
    )


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, error, message",
    [
        (
            dict(weight=torch.randn(12, 5)),
            ValueError,
            r"hidden size mismatch: input has shape \(10, 4\).*\(12, 5\)",
        ),
        (dict(target=torch.zeros(9, dtype=torch.long)), ValueError, r"target has shape \(9,\).*\(10,\)"),
        (dict(target=torch.zeros(10)), TypeError, r"integer class indices.*float32"),
        (
            dict(target=torch.tensor([0, 1, 2, 12, 0, 0, 0, 0, 0, 0])),
            ValueError,
            r"target\[3\] = 12 .*\[0, 12\)",
        ),
        (
            dict(chunk_size=0),
            ValueError,
            r"chunk_size must be an int >= 1 or None \(rows per chunk\), got chunk_size=0",
        ),
        (dict(chunk_size=-3), ValueError, r"chunk_size=-3"),
        (dict(chunk_size=2.5), TypeError, r"chunk_size=2.5"),
        (dict(bias=torch.randn(11)), ValueError, r"linear_bias must have shape \(12,\)"),
        (
            dict(class_weight=torch.ones(11)),
            ValueError,
            r"weight must have shape \(12,\), one entry per class",
        ),
        (dict(class_weight=torch.ones(12, 1)), ValueError, r"weight must have shape \(V,\)"),
        (dict(class_weight=torch.ones(12, dtype=torch.long)), TypeError, r"weight must be float32"),
        (dict(class_weight=-torch.ones(12)), ValueError, r"weight"),
        (dict(options="chunked"), TypeError, r"options must be None or a torch.nn.LinearCrossEntropyOptions"),
        (dict(hidden=torch.randn(10, 4, dtype=torch.float64)), TypeError, r"float64.*float32"),
        (dict(reduction="batchmean"), ValueError, r"reduction must be one of"),
        (dict(label_smoothing=1.5), ValueError, r"label_smoothing must be a finite number in \[0, 1\]"),
        (dict(z_loss=-1.0), ValueError, r"z_loss must be a finite number >= 0"),
        (
            dict(softcap=0.0),
            ValueError,
            r"softcap must be a finite number in \[1e-15, 1000000000000000.0\] or None",
        ),
    ],
)
def test_bad_input_is_a_clear_error(change, error, message):
    args = dict(
        hidden=torch.randn(10, 4),
        weight=torch.randn(12, 4),
        target=torch.zeros(10, dtype=torch.long),
        bias=None,
    )
    options = {k: change.pop(k) for k in list(change) if k not in args}
    if "class_weight" in options:
        options["weight"] = options.pop("class_weight")
    args.update(change)
    with pytest.raises(error, match=message):
        fused.linear_cross_entropy(
            args["hidden"], args["weight"], args["target"], linear_bias=args["bias"], **options
        )


def test_distillation_bad_input():
    h, w = torch.randn(5, 3), torch.randn(7, 3)
    with pytest.raises(ValueError, match="teacher logits have 8 classes"):
        fused.linear_kl_div(h, w, torch.randn(5, 8))
    with pytest.raises(ValueError, match="same leading"):
        fused.linear_kl_div(h, w, torch.randn(4, 7))
    with pytest.raises(ValueError, match="teacher_linear_weight has 6 rows"):
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
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
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

    def reference(h, w, y, b, reduction, eps, c, cap, cw):
        z = h @ w.T + b
        z = cap * torch.tanh(z / cap) if cap else z
        kept = y != -100
        per = F.cross_entropy(z, y, weight=cw, reduction="none", label_smoothing=eps)
        per = per + c * torch.logsumexp(z, -1) ** 2 * kept
        divisor = kept.sum() if cw is None else (cw[y.clamp_min(0)] * kept).sum()
        return {"none": per, "sum": per.sum(), "mean": per.sum() / divisor}[reduction]

    g = torch.Generator().manual_seed(0)
    n, d, v = 11, 6, 83  # V not a multiple of the 64-wide interpreter tile, N not of the chunk
    h = torch.randn(n, d, generator=g, requires_grad=True)
    w = torch.randn(v, d, generator=g, requires_grad=True)
    b = torch.randn(v, generator=g, requires_grad=True)
    y = torch.randint(0, v, (n,), generator=g)
    y[::4] = -100
    weights = torch.rand(v, generator=g) * 2
    cases = [("mean", 0.0, 0.0, None, None), ("sum", 0.1, 1e-3, 2.5, None), ("none", 0.2, 1e-2, 3.0, None),
             ("mean", 0.0, 0.0, None, weights), ("mean", 0.1, 1e-3, 2.5, weights), ("none", 0.2, 0.0, None, weights)]
    for reduction, eps, c, cap, cw in cases:
        got, lse = linear_cross_entropy_op(h, w, y, b, class_weight=cw, reduction=reduction, label_smoothing=eps,
                                           z_loss=c, softcap=cap, chunk_size=4, kernel="triton", return_lse=True)
        want = reference(h, w, y, b, reduction, eps, c, cap, cw)
        up = torch.rand(want.shape, generator=g) + 0.5
        for a, e in zip((got,) + torch.autograd.grad((got * up).sum(), (h, w, b)),
                        (want,) + torch.autograd.grad((want * up).sum(), (h, w, b))):
            err = float((a - e).abs().max() / e.abs().max())
            assert err < 1e-5, (reduction, eps, c, cap, cw is not None, err)
    print("ok")
"""


@pytest.mark.slow
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


# --------------------------------------------------------------------------------------------
# Drop-in for PyTorch's F.linear_cross_entropy and nn.LinearCrossEntropyLoss
# --------------------------------------------------------------------------------------------

TORCH_GRID = list(
    itertools.product(["mean", "sum", "none"], [False, True], [None, -100, 5], [0.0, 0.15], [False, True])
)


def torch_problem(seed, *, ignore_index, bias, weighted, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    n, d, v = 13, 5, 29
    hidden = torch.randn(n, d, generator=g, dtype=dtype).requires_grad_()
    weight = torch.randn(v, d, generator=g, dtype=dtype).requires_grad_()
    b = torch.randn(v, generator=g, dtype=dtype).requires_grad_() if bias else None
    target = torch.randint(0, v, (n,), generator=g)
    target[::4] = -100 if ignore_index is None else ignore_index  # some rows ignored, never all
    class_weight = None
    if weighted:
        class_weight = (torch.rand(v, generator=g, dtype=dtype) * 2).index_fill_(0, torch.tensor([3]), 0.0)
    return hidden, weight, b, target, class_weight


@pytest.mark.parametrize("case", TORCH_GRID, ids=lambda c: "-".join(map(str, c)))
def test_parity_with_torch_linear_cross_entropy(case):
    reduction, weighted, ignore_index, smoothing, bias = case
    hidden, weight, b, target, class_weight = torch_problem(
        TORCH_GRID.index(case), ignore_index=ignore_index, bias=bias, weighted=weighted
    )
    options = dict(
        linear_bias=b,
        weight=class_weight,
        reduction=reduction,
        ignore_index=ignore_index,
        label_smoothing=smoothing,
    )
    got = fused.linear_cross_entropy(hidden, weight, target, chunk_size=4, **options)
    want = F.linear_cross_entropy(hidden, weight, target, options=None, **options)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert_close_rel(got, want, 1e-12)
    leaves = [t for t in (hidden, weight, b) if t is not None]
    upstream = torch.rand(want.shape, generator=torch.Generator().manual_seed(1), dtype=want.dtype) + 0.5
    for a, e in zip(grads_of(got, leaves, upstream), grads_of(want, leaves, upstream)):
        assert_close_rel(a, e, 1e-12)


@pytest.mark.parametrize("case", TORCH_GRID[::3], ids=lambda c: "-".join(map(str, c)))
def test_parity_with_torch_linear_cross_entropy_float32(case):
    reduction, weighted, ignore_index, smoothing, bias = case
    hidden, weight, b, target, class_weight = torch_problem(
        7, ignore_index=ignore_index, bias=bias, weighted=weighted, dtype=torch.float32
    )
    options = dict(
        linear_bias=b,
        weight=class_weight,
        reduction=reduction,
        ignore_index=ignore_index,
        label_smoothing=smoothing,
    )
    got = fused.linear_cross_entropy(hidden, weight, target, **options)
    want = F.linear_cross_entropy(hidden, weight, target, **options)
    assert_close_rel(got, want, 1e-5)
    leaves = [t for t in (hidden, weight, b) if t is not None]
    for a, e in zip(grads_of(got, leaves, 1.0), grads_of(want, leaves, 1.0)):
        assert_close_rel(a, e, 1e-5)


@pytest.mark.parametrize("case", TORCH_GRID, ids=lambda c: "-".join(map(str, c)))
def test_module_parity_with_torch_linear_cross_entropy_loss(case):
    reduction, weighted, ignore_index, smoothing, bias = case
    hidden, _, _, target, class_weight = torch_problem(
        TORCH_GRID.index(case), ignore_index=ignore_index, bias=bias, weighted=weighted
    )
    options = dict(
        bias=bias,
        dtype=torch.float64,
        reduction=reduction,
        weight=class_weight,
        ignore_index=ignore_index,
        label_smoothing=smoothing,
    )
    theirs = torch.nn.LinearCrossEntropyLoss(5, 29, **options)
    ours = LinearCrossEntropyLoss(5, 29, **options, chunk_size=4)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    ours.load_state_dict(theirs.state_dict())  # the same layer and class weights
    got, want = ours(hidden, target), theirs(hidden, target)
    assert_close_rel(got, want, 1e-12)
    upstream = torch.rand(want.shape, generator=torch.Generator().manual_seed(2), dtype=want.dtype) + 0.5
    mine = grads_of(got, [hidden, *ours.parameters()], upstream)
    reference = grads_of(want, [hidden, *theirs.parameters()], upstream)
    assert len(mine) == len(reference) == (3 if bias else 2)
    for a, e in zip(mine, reference):
        assert_close_rel(a, e, 1e-12)


def test_signature_is_torchs_with_extras_after():
    import inspect

    ours = list(inspect.signature(fused.linear_cross_entropy).parameters.values())
    theirs = list(inspect.signature(F.linear_cross_entropy).parameters.values())
    assert [(p.name, p.kind, p.default) for p in ours[: len(theirs)]] == [
        (p.name, p.kind, p.default) for p in theirs
    ]
    assert [p.name for p in ours[len(theirs) :]] == ["z_loss", "softcap", "chunk_size", "return_lse"]
    assert all(p.kind is p.KEYWORD_ONLY for p in ours[len(theirs) :])
    ours = list(inspect.signature(LinearCrossEntropyLoss).parameters.values())
    theirs = list(inspect.signature(torch.nn.LinearCrossEntropyLoss).parameters.values())
    assert [(p.name, p.kind, p.default) for p in ours[: len(theirs)]] == [
        (p.name, p.kind, p.default) for p in theirs
    ]
    for function in (fused.linear_kl_div, fused.linear_js_div, fused.vocab_parallel_linear_cross_entropy):
        names = list(inspect.signature(function).parameters)
        assert names[:2] == ["input", "linear_weight"] and "linear_bias" in names, function.__name__


def test_options_are_accepted_and_ignored():
    hidden, weight, b, target, class_weight = torch_problem(3, ignore_index=None, bias=True, weighted=True)
    plain = fused.linear_cross_entropy(hidden, weight, target, linear_bias=b, weight=class_weight)
    chunked = fused.linear_cross_entropy(
        hidden,
        weight,
        target,
        linear_bias=b,
        weight=class_weight,
        options=torch.nn.LinearCrossEntropyOptions(),
    )
    assert torch.equal(plain, chunked)


def test_zero_class_weights_give_a_zero_mean_with_zero_gradients():
    # Every kept target has weight 0: PyTorch's weighted mean is 0 / 0 = NaN; ours is 0, as for
    # an all-ignored batch.
    hidden, weight, b, target, _ = torch_problem(4, ignore_index=None, bias=True, weighted=False)
    class_weight = torch.ones(29, dtype=torch.float64)
    class_weight[target[target != -100]] = 0.0
    assert torch.isnan(F.linear_cross_entropy(hidden, weight, target, linear_bias=b, weight=class_weight))
    loss = fused.linear_cross_entropy(hidden, weight, target, linear_bias=b, weight=class_weight)
    assert float(loss.detach()) == 0.0
    for grad in torch.autograd.grad(loss, (hidden, weight, b)):
        assert not grad.any()


def test_class_weights_with_z_loss_and_softcap_match_infoloss_losses():
    from infoloss import losses

    hidden, weight, b, target, class_weight = torch_problem(5, ignore_index=None, bias=True, weighted=True)
    for reduction in ("mean", "none"):
        options = dict(
            weight=class_weight, reduction=reduction, label_smoothing=0.1, z_loss=1e-2, softcap=2.0
        )
        got = fused.linear_cross_entropy(hidden, weight, target, linear_bias=b, chunk_size=3, **options)
        want = losses.cross_entropy(hidden @ weight.T + b, target, **options)
        assert_close_rel(got, want, 1e-12)
        for a, e in zip(grads_of(got, (hidden, weight, b), 1.0), grads_of(want, (hidden, weight, b), 1.0)):
            assert_close_rel(a, e, 1e-12)


def test_module_owns_its_layer_and_refuses_what_it_cannot_do():
    module = LinearCrossEntropyLoss(4, 7, bias=True, weight=torch.ones(7), dtype=torch.float64)
    assert module.linear.weight.shape == (7, 4) and module.linear.weight.dtype == torch.float64
    assert module.linear.bias.shape == (7,) and torch.equal(module.weight, torch.ones(7))
    assert [name for name, _ in module.named_parameters()] == ["linear.weight", "linear.bias"]
    assert "num_classes=7" in repr(module)
    with pytest.raises(ValueError, match=r"out_features=.*K-dimensional loss is not supported"):
        LinearCrossEntropyLoss(4, 7, out_features=(3,))
    with pytest.raises(ValueError, match=r"weight must have shape \(7,\)"):
        LinearCrossEntropyLoss(4, 7, weight=torch.ones(6))
    with pytest.raises(ValueError, match="label_smoothing must be a finite number in"):
        LinearCrossEntropyLoss(4, 7, label_smoothing=2.0)
    with pytest.raises(ValueError, match="num_classes must be an int >= 1"):
        LinearCrossEntropyLoss(4, 0)
