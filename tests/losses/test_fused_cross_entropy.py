"""losses.cross_entropy on PyTorch: the memory-saving path (gradient in the forward pass, issue 14)
and the small-batch fast path, against torch.nn.functional."""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import infoloss.losses as losses  # noqa: E402
from infoloss import InputError  # noqa: E402


@pytest.fixture
def fused_always(monkeypatch):
    """Every input whose gradient is needed takes the fused path (also these small ones)."""
    monkeypatch.setattr(losses, "FUSED_MIN_ELEMENTS", 1)


def reference(
    z,
    y,
    *,
    weight=None,
    ignore_index=-100,
    reduction="mean",
    label_smoothing=0.0,
    z_loss=0.0,
    softcap=None,
    mask=None,
):
    """PyTorch's own ops: F.cross_entropy of (capped) logits plus the z-loss of the kept elements,
    with 'mean' over the kept weight, mask as ignored elements."""
    capped = z if softcap is None else softcap * torch.tanh(z / softcap)
    if y.dtype == torch.int64:
        if mask is not None:
            y = torch.where(mask, y, ignore_index)
        per = F.cross_entropy(
            capped, y, weight, ignore_index=ignore_index, reduction="none", label_smoothing=label_smoothing
        )
        kept = y != ignore_index
        divisor = kept.sum() if weight is None else weight[torch.where(kept, y, 0)][kept].sum()
    else:
        per = F.cross_entropy(capped, y, weight, reduction="none", label_smoothing=label_smoothing)
        kept = torch.ones(len(y), dtype=torch.bool) if mask is None else mask
        per = torch.where(kept, per, 0.0)
        divisor = kept.sum()
    per = per + z_loss * torch.where(kept, torch.logsumexp(capped, 1) ** 2, 0.0)
    if reduction == "none":
        return per
    return per.sum() if reduction == "sum" else per.sum() / divisor


OPTIONS = [
    dict(weight=weight, label_smoothing=ls, reduction=reduction, z_loss=zl, softcap=cap)
    for weight, ls, reduction, zl, cap in itertools.product(
        (False, True), (0.0, 0.2), ("mean", "sum", "none"), (0.0, 1e-2), (None, 3.0)
    )
]


@pytest.mark.parametrize("kind", ["index", "probs"])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_fused_matches_torch_values_and_gradients(fused_always, kind, options):
    g = torch.Generator().manual_seed(3)
    n, c = 11, 7
    z = (3 * torch.randn(n, c, generator=g, dtype=torch.float64)).requires_grad_(True)
    if kind == "index":
        y = torch.randint(0, c, (n,), generator=g)
        y[[2, 5]] = -100  # ignored elements
    else:
        y = torch.softmax(torch.randn(n, c, generator=g, dtype=torch.float64), 1)
    options = dict(
        options, weight=torch.rand(c, generator=g, dtype=torch.float64) + 0.1 if options["weight"] else None
    )
    loss = losses.cross_entropy(z, y, **options)
    assert "LogitsLoss" in type(loss.grad_fn).__name__ or options["reduction"] == "none"
    want = reference(z, y, **options)
    torch.testing.assert_close(loss, want, rtol=1e-12, atol=1e-12)
    upstream = torch.rand(want.shape, generator=g, dtype=torch.float64) + 0.5  # not 1: scales the buffer
    (got,) = torch.autograd.grad(loss, z, upstream)
    (expected,) = torch.autograd.grad(want, z, upstream)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    if kind == "index":
        assert torch.all(got[[2, 5]] == 0)


def test_fused_mask_3d_and_float32(fused_always):
    g = torch.Generator().manual_seed(4)
    z = torch.randn(2, 5, 3, generator=g, requires_grad=True)  # (N, C, d1), classes on axis 1
    y = torch.randint(0, 5, (2, 3), generator=g)
    mask = torch.tensor([[True, False, True], [True, True, False]])
    loss = losses.cross_entropy(z, y, mask=mask, label_smoothing=0.1)
    assert "LogitsLoss" in type(loss.grad_fn).__name__
    rows, targets = z.movedim(1, -1).reshape(-1, 5), y.reshape(-1)
    want = reference(rows, targets, mask=mask.reshape(-1), label_smoothing=0.1)
    torch.testing.assert_close(loss, want)
    torch.testing.assert_close(torch.autograd.grad(loss, z)[0], torch.autograd.grad(want, z)[0])


def test_fused_bfloat16_computes_in_float32(fused_always):
    g = torch.Generator().manual_seed(9)
    z = (3 * torch.randn(20, 300, generator=g)).bfloat16().requires_grad_(True)
    y = torch.randint(0, 300, (20,), generator=g)
    loss = losses.cross_entropy(z, y, label_smoothing=0.1)
    assert loss.dtype == torch.bfloat16 and "LogitsLoss" in type(loss.grad_fn).__name__
    (grad,) = torch.autograd.grad(loss, z)
    exact = z.detach().float().requires_grad_(True)
    want = F.cross_entropy(exact, y, label_smoothing=0.1)
    torch.testing.assert_close(loss.float(), want, rtol=8e-3, atol=0)  # bfloat16 rounding of the result
    torch.testing.assert_close(grad.float(), torch.autograd.grad(want, exact)[0], rtol=8e-3, atol=1e-6)


def test_fused_masked_classes_and_ignored_rows_of_minus_inf(fused_always):
    # -inf logits (masked classes) with zero target probability: finite loss, NaN-free gradient;
    # an ignored row of -inf: zero gradient. Softcap keeps -inf masked.
    z = torch.tensor([[0.0, 1.0, -torch.inf], [-torch.inf] * 3, [2.0, -torch.inf, 0.5]], requires_grad=True)
    p = torch.tensor([[0.3, 0.7, 0.0], [1 / 3] * 3, [0.5, 0.0, 0.5]])
    mask = torch.tensor([True, False, True])
    for softcap in (None, 2.0):
        loss = losses.cross_entropy(z, p, mask=mask, softcap=softcap)
        (grad,) = torch.autograd.grad(loss, z)
        assert torch.isfinite(loss) and not torch.isnan(grad).any() and torch.all(grad[1] == 0)
        assert grad[0, 2] == 0 and grad[2, 1] == 0
        capped = z.detach() if softcap is None else softcap * torch.tanh(z.detach() / softcap)
        finite = torch.where(torch.isinf(z), -1e4, capped)  # a very negative logit: the same softmax
        want = reference(finite, p, mask=mask)
        torch.testing.assert_close(loss, want)
    y = torch.tensor([1, -100, 0])
    loss = losses.cross_entropy(z, y)
    (grad,) = torch.autograd.grad(loss, z)
    assert torch.isfinite(loss) and torch.all(grad[1] == 0) and not torch.isnan(grad).any()


def test_fused_all_ignored_mean_is_zero_with_zero_gradient(fused_always):
    z = torch.randn(3, 4, requires_grad=True)
    loss = losses.cross_entropy(z, torch.full((3,), -100))
    assert float(loss.detach()) == 0.0
    assert torch.all(torch.autograd.grad(loss, z)[0] == 0)


def test_second_backward_is_a_clear_error(fused_always):
    z = torch.randn(4, 6, requires_grad=True)
    loss = losses.cross_entropy(z, torch.tensor([0, 1, 2, 3]))
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="one backward pass"):
        loss.backward()


def test_create_graph_gives_second_derivatives_by_the_plain_path(fused_always):
    g = torch.Generator().manual_seed(5)
    z = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 3, -100, 1, 2])
    for reduction in ("mean", "none"):
        loss = losses.cross_entropy(z, y, reduction=reduction, label_smoothing=0.1)
        assert "LogitsLoss" in type(loss.grad_fn).__name__ or reduction == "none"
        upstream = torch.ones_like(loss)
        (grad,) = torch.autograd.grad(loss, z, upstream, create_graph=True)
        (second,) = torch.autograd.grad(grad.square().sum(), z)
        want = F.cross_entropy(z, y, reduction=reduction, label_smoothing=0.1)
        (want_grad,) = torch.autograd.grad(want, z, upstream, create_graph=True)
        (want_second,) = torch.autograd.grad(want_grad.square().sum(), z)
        torch.testing.assert_close(grad, want_grad)
        torch.testing.assert_close(second, want_second)


def test_inplace_backward_reuses_the_logits_storage(fused_always):
    g = torch.Generator().manual_seed(6)
    z = torch.randn(6, 9, generator=g, requires_grad=True)
    y = torch.randint(0, 9, (6,), generator=g)
    want_loss = F.cross_entropy(z, y)
    (want,) = torch.autograd.grad(want_loss, z)
    pointer = z.data_ptr()
    loss = losses.cross_entropy(z, y, inplace_backward=True)
    torch.testing.assert_close(loss, want_loss)
    torch.testing.assert_close(z.detach(), want)  # overwritten by the gradient, as documented
    loss.backward()
    assert z.grad.data_ptr() == pointer
    torch.testing.assert_close(z.grad, want)


def test_inplace_backward_through_a_layer_and_an_op_that_saved_the_logits(fused_always):
    g = torch.Generator().manual_seed(7)
    h = torch.randn(5, 3, generator=g, requires_grad=True)
    w = torch.randn(8, 3, generator=g)
    y = torch.randint(0, 8, (5,), generator=g)
    seen = []
    logits = h @ w.T
    logits.register_hook(lambda grad: seen.append(grad.data_ptr()))
    pointer = logits.data_ptr()
    losses.cross_entropy(logits, y, inplace_backward=True).backward()
    assert seen == [pointer]
    torch.testing.assert_close(h.grad, torch.autograd.grad(F.cross_entropy(h @ w.T, y), h)[0])
    # An op that saved its output (exp) cannot backward through logits that were overwritten.
    x = torch.randn(5, 8, generator=g, requires_grad=True)
    saved = torch.exp(x)
    loss = losses.cross_entropy(saved, y, inplace_backward=True)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
    # create_graph needs the logits, which are gone
    z = torch.randn(5, 8, generator=g, requires_grad=True)
    loss = losses.cross_entropy(z, y, inplace_backward=True)
    with pytest.raises(RuntimeError, match="differentiate twice"):
        torch.autograd.grad(torch.autograd.grad(loss, z, create_graph=True)[0].sum(), z)


def test_plain_path_where_no_gradient_or_under_transforms(fused_always):
    z = torch.randn(4, 5, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3])
    with torch.no_grad():
        assert losses.cross_entropy(z, y).grad_fn is None
    assert (
        "LogitsLoss" not in type(losses.cross_entropy(z.detach(), y, inplace_backward=True).grad_fn).__name__
    )
    loss, _ = losses.cross_entropy(z, y, return_entropy=True)
    assert "LogitsLoss" not in type(loss.grad_fn).__name__
    grad = torch.func.grad(lambda a: losses.cross_entropy(a, y))(z.detach())
    torch.testing.assert_close(grad, torch.func.grad(lambda a: F.cross_entropy(a, y))(z.detach()))
    per_row = torch.func.vmap(torch.func.grad(lambda a, t: losses.cross_entropy(a, t)))(z.detach(), y)
    torch.testing.assert_close(per_row, torch.func.vmap(torch.func.grad(F.cross_entropy))(z.detach(), y))


def test_large_input_takes_the_fused_path_by_default():
    z = torch.randn(64, losses.FUSED_MIN_ELEMENTS // 64, requires_grad=True)
    y = torch.zeros(64, dtype=torch.long)
    assert "LogitsLoss" in type(losses.cross_entropy(z, y).grad_fn).__name__
    assert "LogitsLoss" not in type(losses.cross_entropy(z[:, :10], y).grad_fn).__name__


# --------------------------------------------------------------------------------------------
# The fast path (plain calls on (N, C) tensors): same values, same structured errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("validate", [True, False])
def test_fast_path_values_equal_torch(validate):
    g = torch.Generator().manual_seed(8)
    z = torch.randn(64, 10, generator=g, dtype=torch.float64)
    y = torch.randint(0, 10, (64,), generator=g)
    p = torch.softmax(torch.randn(64, 10, generator=g, dtype=torch.float64), 1)
    w = torch.rand(10, generator=g, dtype=torch.float64)
    u = torch.rand(64, 10, generator=g, dtype=torch.float64)
    for reduction in ("mean", "sum", "none"):
        options = dict(reduction=reduction, validate=validate)
        torch.testing.assert_close(
            losses.cross_entropy(z, y, **options), F.cross_entropy(z, y, reduction=reduction)
        )
        torch.testing.assert_close(
            losses.cross_entropy(z, y, w, label_smoothing=0.1, **options),
            F.cross_entropy(z, y, w, reduction=reduction, label_smoothing=0.1),
        )
        torch.testing.assert_close(
            losses.cross_entropy(z, p, **options), F.cross_entropy(z, p, reduction=reduction)
        )
        torch.testing.assert_close(
            losses.nll_loss(z, y, w, **options), F.nll_loss(z, y, w, reduction=reduction)
        )
        torch.testing.assert_close(
            losses.binary_cross_entropy(u, p, **options), F.binary_cross_entropy(u, p, reduction=reduction)
        )
        torch.testing.assert_close(
            losses.binary_cross_entropy_with_logits(z, p, **options),
            F.binary_cross_entropy_with_logits(z, p, reduction=reduction),
        )
    for reduction in ("sum", "batchmean", "none"):
        for log_target in (False, True):
            target = p.log() if log_target else p
            torch.testing.assert_close(
                losses.kl_div(z, target, reduction=reduction, log_target=log_target, validate=validate),
                F.kl_div(z, target, reduction=reduction, log_target=log_target),
            )
    torch.testing.assert_close(
        losses.kl_div(z, p, validate=validate), F.kl_div(z, p, reduction="sum") / z.numel()
    )


def test_fast_path_keeps_the_general_semantics():
    z = torch.randn(3, 4)
    # all ignored: 0, not PyTorch's NaN; ignored rows of -inf have no NaN
    assert float(losses.cross_entropy(z, torch.full((3,), -100))) == 0.0
    assert float(losses.cross_entropy(z, torch.full((3,), -100), validate=False)) == 0.0
    masked = torch.tensor([[0.0, -torch.inf, 1.0, 2.0]] * 3)
    p = torch.tensor([[0.5, 0.0, 0.25, 0.25]] * 3)
    assert torch.isfinite(losses.cross_entropy(masked, p))
    assert torch.isfinite(losses.cross_entropy(masked, p, validate=False))
    assert torch.isfinite(losses.kl_div(masked, p))
    assert (
        float(losses.binary_cross_entropy_with_logits(torch.tensor([[torch.inf]]), torch.tensor([[1.0]])))
        == 0.0
    )


def test_fast_path_errors_are_the_detailed_ones():
    z = torch.randn(4, 3)
    with pytest.raises(InputError) as error:
        losses.cross_entropy(z, torch.tensor([0, 1, 7, 2]))
    assert (error.value.argument, error.value.index, error.value.value) == ("target", (2,), 7)
    p = torch.tensor([[0.5, 0.5, 0.0]] * 3 + [[0.5, 0.2, 0.2]])
    with pytest.raises(InputError) as error:
        losses.cross_entropy(z, p)
    assert error.value.argument == "target" and error.value.index == (3, ":")
    with pytest.raises(InputError) as error:
        losses.cross_entropy(z, torch.tensor([0, 1, 2, 2]), torch.tensor([1.0, -1.0, 1.0]))
    assert (error.value.argument, error.value.index) == ("weight", (1,))
    with pytest.raises(InputError) as error:
        losses.binary_cross_entropy(torch.tensor([[0.5, 1.5]]), torch.tensor([[0.0, 1.0]]))
    assert (error.value.argument, error.value.index, error.value.value) == ("input", (0, 1), 1.5)
    with pytest.raises(InputError) as error:
        losses.kl_div(z, torch.tensor([[0.5, -0.5, 1.0]] * 4))
    assert (error.value.argument, error.value.index) == ("target", (0, 1))
    for _ in range(2):  # the options are cached after a first good call; a bad one is refused every time
        with pytest.raises(InputError, match="label_smoothing"):
            losses.cross_entropy(z, torch.tensor([0, 1, 2, 2]), label_smoothing=1.5)
        with pytest.raises(InputError, match="reduction"):
            losses.nll_loss(z, torch.tensor([0, 1, 2, 2]), reduction="avg")
    with pytest.raises(TypeError):
        losses.cross_entropy(z, torch.tensor([0, 1, 2, 2]), ignore_index=True)


def _general_cross_entropy(z, y, *args, **options):
    """The general path of losses.cross_entropy (a mask of all True: the fast path never takes it)."""
    return losses.cross_entropy(z, y, *args, mask=torch.ones(z.shape[0], dtype=torch.bool), **options)


@pytest.mark.parametrize("grad", [False, True])
@pytest.mark.parametrize("validate", [True, False])
@pytest.mark.parametrize("ignore_index", [-100, 2, 7])  # below the classes, a class, above them
def test_fast_path_with_ignored_elements_equals_the_general_path(grad, validate, ignore_index):
    """Ignored elements (some, all, ignore_index a class): the general path's values and, when a
    gradient is taken, its zero gradient for ignored rows, also rows of -inf logits."""
    g = torch.Generator().manual_seed(3)
    z = torch.randn(8, 5, generator=g, dtype=torch.float64)
    z[1] = -torch.inf  # an ignored row of -inf logits: F.cross_entropy's gradient there is NaN
    y = torch.randint(0, 5, (8,), generator=g)
    w = torch.rand(5, generator=g, dtype=torch.float64)
    some = torch.where(torch.arange(8) % 3 == 1, ignore_index, y)
    every = torch.full((8,), ignore_index)
    for target, weight, smoothing, reduction in itertools.product(
        (some, every), (None, w), (0.0, 0.1), ("mean", "sum", "none")
    ):
        options = dict(reduction=reduction, label_smoothing=smoothing, ignore_index=ignore_index)
        fast_z, general_z = (z.clone().requires_grad_(grad) for _ in range(2))
        fast = losses.cross_entropy(fast_z, target, weight, validate=validate, **options)
        general = _general_cross_entropy(general_z, target, weight, validate=validate, **options)
        torch.testing.assert_close(fast, general, rtol=1e-13, atol=0)
        assert not fast.isnan().any()
        if grad:
            fast.sum().backward()
            general.sum().backward()
            torch.testing.assert_close(fast_z.grad, general_z.grad, rtol=1e-13, atol=0)
            assert torch.all(fast_z.grad[1] == 0)
        nll_options = dict(reduction=reduction, ignore_index=ignore_index, validate=validate)
        fast_nll = losses.nll_loss(z, target, weight, **nll_options)
        general_nll = losses.nll_loss(z, target.int(), weight, **nll_options)  # int32: the general path
        torch.testing.assert_close(fast_nll, general_nll, rtol=1e-13, atol=0)


def _error_fields(function, *args, **options):
    """The error ``function(*args, **options)`` raises: its type, argument, index and message."""
    with pytest.raises((ValueError, TypeError, IndexError, RuntimeError)) as caught:
        function(*args, **options)
    error = caught.value
    return type(error), getattr(error, "argument", None), getattr(error, "index", None), str(error)


@pytest.mark.parametrize("grad", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2, 7])
def test_validating_out_of_range_targets_gives_the_general_paths_error(grad, ignore_index):
    """On the CPU PyTorch's kernel refuses the targets check_class_indices refuses (neither a class
    nor ignore_index): validating, the fast path then leaves the call to the general path, whose
    error names the position and value; without validation PyTorch's own error stands, on both."""
    g = torch.Generator().manual_seed(5)
    z = torch.randn(6, 5, generator=g, dtype=torch.float64).requires_grad_(grad)
    w = torch.rand(5, generator=g, dtype=torch.float64)
    for bad, weight, smoothing, reduction in itertools.product(
        (-1, 5, 2**40, -(2**63)), (None, w), (0.0, 0.1), ("mean", "sum", "none")
    ):
        y = torch.tensor([0, ignore_index, 1, bad, 4, 3])
        options = dict(reduction=reduction, label_smoothing=smoothing, ignore_index=ignore_index)
        fast = _error_fields(losses.cross_entropy, z, y, weight, **options)
        general = _error_fields(_general_cross_entropy, z, y, weight, **options)
        assert fast == general and fast[:3] == (InputError, "target", (3,))
        unchecked = _error_fields(losses.cross_entropy, z, y, weight, validate=False, **options)
        assert unchecked == _error_fields(_general_cross_entropy, z, y, weight, validate=False, **options)
        assert unchecked[0] is IndexError  # PyTorch's
        if abs(bad) < 2**31:  # int32 targets: nll_loss's general path
            nll_options = dict(reduction=reduction, ignore_index=ignore_index)
            fast = _error_fields(losses.nll_loss, z, y, weight, **nll_options)
            general = _error_fields(losses.nll_loss, z, y.int(), weight, **nll_options)
            assert fast == general and fast[:3] == (InputError, "target", (3,))


def test_fast_path_leaves_out_of_range_targets_to_the_general_path_when_validating():
    """No extreme is read (no gradient, no weighted mean): PyTorch's kernel says it."""
    from infoloss.losses import _torch_fast

    z, y = torch.randn(4, 3), torch.tensor([0, 1, 3, -100])
    assert _torch_fast.cross_entropy(z, y, None, -100, "mean", 0.0, None, True) is NotImplemented
    assert _torch_fast.nll_loss(z, y, None, -100, "sum", None, True) is NotImplemented
    with pytest.raises(IndexError):
        _torch_fast.cross_entropy(z, y, None, -100, "mean", 0.0, None, False)


def test_validating_binary_cross_entropy_input_outside_the_unit_interval():
    """PyTorch's CPU kernel refuses input outside [0, 1] (NaN too): the fast path then leaves the
    call to the general path, whose error names the position and value."""
    from infoloss.losses import _torch_fast

    t = torch.full((2, 3), 0.5)
    for bad, reduction in itertools.product((-0.25, 1.5, torch.nan, torch.inf), ("mean", "sum", "none")):
        x = torch.tensor([[0.2, 0.4, 0.6], [0.8, bad, 0.0]])
        fast = _error_fields(losses.binary_cross_entropy, x, t, reduction=reduction)
        general = _error_fields(losses.binary_cross_entropy, x, t, torch.ones(3), reduction=reduction)
        assert fast == general and fast[:3] == (InputError, "input", (1, 1))  # (a weight: the general path)
        assert _torch_fast.binary_cross_entropy(x, t, False, reduction, True) is NotImplemented


@pytest.mark.parametrize("validate", [True, False])
def test_fast_path_refuses_a_z_loss_of_none_or_false(validate):
    """A falsy z_loss that is no number is refused as on the general path (not taken for 0)."""
    z, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    for z_loss in (None, False):
        with pytest.raises(TypeError) as error:
            losses.cross_entropy(z, y, z_loss=z_loss, validate=validate)
        assert error.value.argument == "z_loss"


def test_fast_path_takes_ignored_elements_when_no_gradient_is_taken():
    """Without a gradient an ignored element needs no extra pass: the fast path returns the loss
    (and a 'mean' over no kept element goes to the general path, which gives 0)."""
    from infoloss.losses import _torch_fast

    z = torch.randn(6, 4)
    y = torch.tensor([0, 3, -100, 1, -100, 2])
    options = dict(ignore_index=-100, reduction="mean", label_smoothing=0.0, axis=None)
    loss = _torch_fast.cross_entropy(z, y, None, validate=False, **options)
    assert loss is not NotImplemented
    torch.testing.assert_close(loss, F.cross_entropy(z, y))
    everything = torch.full((6,), -100)
    assert _torch_fast.cross_entropy(z, everything, None, validate=False, **options) is NotImplemented
    assert float(losses.cross_entropy(z, everything, validate=False)) == 0.0
    # ignore_index a class, validating: the extremes are in range, PyTorch ignores those elements
    in_class = dict(options, ignore_index=1)
    loss = _torch_fast.cross_entropy(z, y.clamp(min=0), None, validate=True, **in_class)
    assert loss is not NotImplemented
    torch.testing.assert_close(loss, F.cross_entropy(z, y.clamp(min=0), ignore_index=1))
    # a gradient will be taken: an ignored element sends the call to the general path
    assert _torch_fast.cross_entropy(z.requires_grad_(), y, None, validate=False, **options) is NotImplemented


@pytest.mark.parametrize("validate", [True, False])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_fast_path_infinite_logits_with_logits_loss(validate, reduction):
    """Binary cross-entropy with logits: +-inf logits (with every kind of label) give the general
    path's values; finite ones its values and gradients."""
    from infoloss.losses import _torch_fast

    inf = torch.inf
    x = torch.tensor(
        [[inf, -inf, inf, -inf, 2.0, -1.0], [inf, -inf, 0.5, 3.0, -2.0, 0.0]], dtype=torch.float64
    )
    t = torch.tensor([[1.0, 0.0, 0.5, 0.5, 1.0, 0.0], [0.0, 1.0, 0.2, 0.9, 0.3, 1.0]], dtype=torch.float64)
    for rows in ([0], [1], [0, 1]):
        fast = losses.binary_cross_entropy_with_logits(
            x[rows], t[rows], reduction=reduction, validate=validate
        )
        general = losses.binary_cross_entropy_with_logits(
            x[rows], t[rows], reduction=reduction, validate=validate, axis=-1
        )
        torch.testing.assert_close(fast, general, rtol=1e-15, atol=0)
    if reduction != "none":
        direct = _torch_fast.binary_cross_entropy(x, t, logits=True, reduction=reduction, validate=validate)
        assert direct is NotImplemented  # an infinite logit: PyTorch's loss is NaN or inf
    finite = x[:, 4:].clone().requires_grad_()
    general_finite = finite.detach().clone().requires_grad_()
    fast = losses.binary_cross_entropy_with_logits(finite, t[:, 4:], reduction=reduction, validate=validate)
    general = losses.binary_cross_entropy_with_logits(
        general_finite, t[:, 4:], reduction=reduction, validate=validate, axis=-1
    )
    torch.testing.assert_close(fast, general, rtol=1e-15, atol=0)
    fast.sum().backward()
    general.sum().backward()
    torch.testing.assert_close(finite.grad, general_finite.grad, rtol=1e-15, atol=0)


@pytest.mark.parametrize("validate", [True, False])
def test_fast_path_minus_inf_logits_elementwise(validate):
    """'none' reductions with -inf logits (probability targets, kl_div, log-targets): the general
    path's finite values (0 log 0 = 0), where F.* gives NaN."""
    z = torch.tensor([[0.0, -torch.inf, 1.0], [2.0, 0.5, -1.0]], dtype=torch.float64)
    p = torch.tensor([[0.5, 0.0, 0.5], [0.2, 0.3, 0.5]], dtype=torch.float64)
    got = losses.cross_entropy(z, p, reduction="none", validate=validate)
    want = _general_cross_entropy(z, p, reduction="none", validate=validate)
    torch.testing.assert_close(got, want, rtol=1e-15, atol=0)
    assert torch.isfinite(got).all()
    log_q = torch.log_softmax(z, 1)
    for log_target in (False, True):
        target = p.log() if log_target else p
        got = losses.kl_div(log_q, target, reduction="none", log_target=log_target, validate=validate)
        want = losses.kl_div(
            log_q, target, reduction="none", log_target=log_target, validate=validate, axis=1
        )
        torch.testing.assert_close(got, want, rtol=1e-15, atol=0)
        assert not got.isnan().any()


def test_fast_path_probability_target_errors():
    """The fast path reads no maximum of probability targets (entries >= 0 with rows summing to 1
    are finite): a negative entry in a row summing to 1, or an infinite or NaN one, is still the
    general path's detailed error."""
    z = torch.randn(3, 3)
    for bad, index in (
        ([[0.5, 0.5, 0.0], [1.5, -0.5, 0.0], [0.2, 0.3, 0.5]], (1, 1)),
        ([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [torch.inf, 0.0, 0.0]], (2, 0)),
        ([[torch.nan, 0.5, 0.5], [0.2, 0.3, 0.5], [0.2, 0.3, 0.5]], (0, 0)),
    ):
        with pytest.raises(InputError) as error:
            losses.cross_entropy(z, torch.tensor(bad))
        assert (error.value.argument, error.value.index) == ("target", index)
    fine = torch.tensor([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    torch.testing.assert_close(losses.cross_entropy(z, fine), F.cross_entropy(z, fine))


def test_fast_path_leaves_torch_func_transforms_to_the_general_path():
    """Inside torch.func.vmap the fast path (which reads values) never runs: per-example losses
    over batched targets, including ignored ones, are the general path's."""
    z = torch.randn(4, 3)
    targets = torch.tensor([[0, 1, 2, 1], [2, -100, 0, 0]])
    got = torch.func.vmap(lambda t: losses.cross_entropy(z, t))(targets)
    want = torch.stack([losses.cross_entropy(z, t) for t in targets])
    torch.testing.assert_close(got, want)


# --------------------------------------------------------------------------------------------
# JAX eager calls: one cached jitted program, the same values and errors
# --------------------------------------------------------------------------------------------


def test_jax_eager_matches_optax_and_raises_the_detailed_errors():
    jax = pytest.importorskip("jax")
    optax = pytest.importorskip("optax")
    jnp = jax.numpy
    key = jax.random.PRNGKey(0)
    z = 3 * jax.random.normal(key, (16, 5))
    y = jax.random.randint(jax.random.PRNGKey(1), (16,), 0, 5)
    p = jax.nn.softmax(jax.random.normal(jax.random.PRNGKey(2), (16, 5)))
    for validate in (True, False):
        got = losses.cross_entropy(z, y, axis=-1, validate=validate)
        want = optax.softmax_cross_entropy_with_integer_labels(z, y).mean()
        assert float(got) == pytest.approx(float(want), rel=1e-6)
        got = losses.cross_entropy(z, p, axis=-1, label_smoothing=0.1, validate=validate)
        smoothed = optax.smooth_labels(p, 0.1)
        assert float(got) == pytest.approx(float(optax.softmax_cross_entropy(z, smoothed).mean()), rel=1e-6)
        got = losses.kl_div(jax.nn.log_softmax(z), p, reduction="batchmean", validate=validate)
        assert float(got) == pytest.approx(
            float(optax.kl_divergence(jax.nn.log_softmax(z), p).mean()), rel=1e-5
        )
        got = losses.binary_cross_entropy_with_logits(z, p, validate=validate)
        assert float(got) == pytest.approx(float(optax.sigmoid_binary_cross_entropy(z, p).mean()), rel=1e-6)
    ignored = y.at[3].set(-100)  # ignored elements are fine on the fast path
    want = optax.softmax_cross_entropy_with_integer_labels(z, jnp.where(ignored < 0, 0, ignored))
    assert float(losses.cross_entropy(z, ignored, axis=-1)) == pytest.approx(
        float(jnp.sum(jnp.where(ignored < 0, 0.0, want)) / 15), rel=1e-6
    )
    with pytest.raises(InputError) as error:
        losses.cross_entropy(z, y.at[4].set(9), axis=-1)
    assert (error.value.argument, error.value.index, error.value.value) == ("target", (4,), 9)
    with pytest.raises(InputError) as error:
        losses.cross_entropy(z, p.at[2, 1].add(0.5), axis=-1)
    assert error.value.argument == "target" and error.value.index == (2, ":")
    with pytest.raises(InputError) as error:
        losses.binary_cross_entropy(p.at[0, 3].set(1.5), p)
    assert (error.value.argument, error.value.index) == ("input", (0, 3))
    # under an outer jit the general (traced) path runs, unchanged
    jitted = jax.jit(lambda a, b: losses.cross_entropy(a, b, axis=-1))
    assert float(jitted(z, y)) == pytest.approx(float(losses.cross_entropy(z, y, axis=-1)), rel=1e-6)


def test_jax_eager_checks_float64_targets_in_float64():
    """With x64 enabled, the eager program's extremes are read in float64: a row summing to
    1 + 3e-8 (outside float64's tolerance 1.5e-8, but 1.0 once rounded to float32) is refused."""
    jax = pytest.importorskip("jax")
    if not hasattr(jax, "enable_x64"):
        pytest.skip("this jax has no enable_x64 context")
    import numpy as np

    with jax.enable_x64(True):
        z = jax.numpy.zeros((2, 3), jax.numpy.float64)
        p = jax.numpy.asarray(np.array([[0.5, 0.25, 0.25 + 3e-8], [0.2, 0.3, 0.5]]))
        with pytest.raises(InputError) as error:
            losses.cross_entropy(z, p, axis=-1)
        assert (error.value.argument, error.value.index) == ("target", (0, ":"))
        fine = p.at[0, 2].set(0.25)
        assert float(losses.cross_entropy(z, fine, axis=-1)) == pytest.approx(np.log(3), rel=1e-12)
