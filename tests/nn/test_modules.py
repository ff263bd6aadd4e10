"""Tests for the torch.nn.Module wrappers in infoloss.nn: parity with torch.nn's classes of the
same name (values and gradients), buffers, options, and the distillation modules."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from infoloss import losses, nn


def _grad(loss, x):
    (g,) = torch.autograd.grad(loss, x)
    return g


@pytest.mark.parametrize(
    "ours, theirs, make",
    [
        (
            nn.CrossEntropyLoss(
                torch.tensor([1.0, 2.0, 0.5, 1.0], dtype=torch.float64), ignore_index=1, label_smoothing=0.1
            ),
            torch.nn.CrossEntropyLoss(
                torch.tensor([1.0, 2.0, 0.5, 1.0], dtype=torch.float64), ignore_index=1, label_smoothing=0.1
            ),
            lambda g: (
                torch.randn(5, 4, 3, dtype=torch.float64, generator=g),
                torch.randint(0, 4, (5, 3), generator=g),
            ),
        ),
        (
            nn.NLLLoss(reduction="sum"),
            torch.nn.NLLLoss(reduction="sum"),
            lambda g: (
                torch.randn(5, 4, dtype=torch.float64, generator=g).log_softmax(1),
                torch.randint(0, 4, (5,), generator=g),
            ),
        ),
        (
            nn.BCELoss(torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64)),
            torch.nn.BCELoss(torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64)),
            lambda g: (
                torch.rand(4, 3, dtype=torch.float64, generator=g) * 0.9 + 0.05,
                torch.rand(4, 3, dtype=torch.float64, generator=g),
            ),
        ),
        (
            nn.BCEWithLogitsLoss(
                pos_weight=torch.tensor([2.0, 0.5, 1.0], dtype=torch.float64), reduction="none"
            ),
            torch.nn.BCEWithLogitsLoss(
                pos_weight=torch.tensor([2.0, 0.5, 1.0], dtype=torch.float64), reduction="none"
            ),
            lambda g: (
                torch.randn(4, 3, dtype=torch.float64, generator=g),
                torch.rand(4, 3, dtype=torch.float64, generator=g),
            ),
        ),
        (
            nn.KLDivLoss(reduction="batchmean", log_target=True),
            torch.nn.KLDivLoss(reduction="batchmean", log_target=True),
            lambda g: (
                torch.randn(4, 5, dtype=torch.float64, generator=g).log_softmax(1),
                torch.randn(4, 5, dtype=torch.float64, generator=g).log_softmax(1),
            ),
        ),
    ],
)
def test_modules_match_torch_nn(ours, theirs, make):
    generator = torch.Generator().manual_seed(0)
    x, target = make(generator)
    x.requires_grad_(True)
    expected, got = theirs(x, target), ours(x, target)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-15)
    cotangent = torch.randn(expected.shape, dtype=expected.dtype, generator=generator)
    torch.testing.assert_close(
        _grad((got * cotangent).sum(), x), _grad((expected * cotangent).sum(), x), rtol=1e-12, atol=1e-15
    )


def test_buffers_follow_the_module():
    module = nn.BCEWithLogitsLoss(torch.ones(3), pos_weight=torch.full((3,), 2.0))
    assert set(module.state_dict()) == {"weight", "pos_weight"}
    module = module.to(torch.float64)
    assert module.weight.dtype == torch.float64 and module.pos_weight.dtype == torch.float64
    assert set(nn.CrossEntropyLoss().state_dict()) == set()  # no weight: no buffer saved


def test_cross_entropy_module_options_and_mask():
    z, y = torch.randn(6, 5, dtype=torch.float64, requires_grad=True), torch.randint(0, 5, (6,))
    module = nn.CrossEntropyLoss(axis=-1, z_loss=1e-4, softcap=30.0, return_entropy=True)
    loss, entropy = module(z, y)
    expected = losses.cross_entropy(z, y, axis=-1, z_loss=1e-4, softcap=30.0)
    torch.testing.assert_close(loss, expected, rtol=1e-12, atol=0)
    assert entropy.shape == (6,)
    keep = torch.tensor([True, False, True, True, True, False])
    masked = nn.CrossEntropyLoss()(z, y, keep)
    torch.testing.assert_close(masked, F.cross_entropy(z[keep], y[keep]), rtol=1e-12, atol=0)
    assert "z_loss=0.0001" in repr(module) and "softcap=30.0" in repr(module)


@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_distillation_kl_module(direction):
    s = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    t = torch.randn(4, 6, dtype=torch.float64)
    module = nn.DistillationKLLoss(direction=direction, temperature=2.0)
    log_s, log_t = F.log_softmax(s / 2, 1), F.log_softmax(t / 2, 1)
    pair = (log_s, log_t) if direction == "forward" else (log_t, log_s)
    expected = F.kl_div(*pair, log_target=True, reduction="batchmean") * 4
    got = module(s, t)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=0)
    torch.testing.assert_close(_grad(got, s), _grad(expected, s), rtol=1e-10, atol=1e-15)
    assert repr(module) == (
        f"DistillationKLLoss(direction='{direction}', temperature=2.0)"
        if direction == "reverse"
        else "DistillationKLLoss(temperature=2.0)"
    )


def test_distillation_js_module_and_teacher_probs():
    s = torch.randn(3, 5, dtype=torch.float64)
    t = torch.randn(3, 5, dtype=torch.float64)
    module = nn.DistillationJSLoss(teacher_format="probs", scale_by_temperature=False, reduction="none")
    p, q = t.softmax(1), s.softmax(1)
    m = (p + q) / 2
    expected = 0.5 * (p * (p / m).log()).sum(1) + 0.5 * (q * (q / m).log()).sum(1)
    torch.testing.assert_close(module(s, p), expected, rtol=1e-12, atol=1e-15)
    assert math.isclose(float(nn.DistillationJSLoss()(s, t, torch.zeros(3, dtype=torch.bool))), 0.0)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: nn.DistillationKLLoss(temperature=0.0), "temperature=0.0"),
        (lambda: nn.DistillationKLLoss(direction="sideways"), "direction='sideways'"),
        (lambda: nn.DistillationJSLoss(beta=0.0), "beta=0.0"),
        (lambda: nn.DistillationJSLoss(teacher_format="odds"), "teacher_format='odds'"),
    ],
)
def test_distillation_modules_check_options_at_construction(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_modules_train_a_model():
    """A tiny classifier trained with the module reaches a low loss (gradients flow through)."""
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = (x @ torch.tensor([[2.0, -1.0, 0.0], [0.0, 2.0, -2.0], [1.0, 0.0, 1.0]])).argmax(
        1
    )  # linearly separable
    model = torch.nn.Linear(3, 3)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.5)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.05)
    first = float(criterion(model(x), y).detach())
    for _ in range(200):
        optimiser.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimiser.step()
    assert float(loss.detach()) < first / 2
    assert np.mean((model(x).argmax(1) == y).numpy()) > 0.9


def test_infoloss_nn_without_torch_says_how_to_install():
    code = (
        "import sys; sys.modules['torch'] = None  # as if torch were not installed\n"
        "import infoloss\n"
        "try:\n    import infoloss.nn\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert "pip install torch" in out
