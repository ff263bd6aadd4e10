"""One rule per loss option: the same value gives the same exception class and message in every
function that takes it (losses, fused linear losses, vocabulary-parallel forms, modules), and the
losses' errors suggest their own fixes (never ``normalize=True``, which no loss has).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from infoloss import losses, nn
from infoloss._validate import LOSS_HINT, InputError, InputTypeError
from infoloss.nn import functional as fused

H, W, Y = torch.randn(4, 3), torch.randn(5, 3), torch.tensor([0, 1, 4, -100])
LOGITS = H @ W.T


def cross_entropy_forms():
    """Every function taking cross_entropy's options, each called with ``**options``."""
    return {
        "losses.cross_entropy": lambda **o: losses.cross_entropy(LOGITS, Y, **o),
        "linear_cross_entropy": lambda **o: fused.linear_cross_entropy(H, W, Y, **o),
        # the options are checked before any communication: no process group is needed to fail
        "vocab_parallel_cross_entropy": lambda **o: fused.vocab_parallel_cross_entropy(LOGITS, Y, **o),
        "vocab_parallel_linear_cross_entropy": lambda **o: fused.vocab_parallel_linear_cross_entropy(
            H, W, Y, **o
        ),
        "nn.CrossEntropyLoss": lambda **o: nn.CrossEntropyLoss(**o)(LOGITS, Y),
        "nn.LinearCrossEntropyLoss": lambda **o: nn.LinearCrossEntropyLoss(3, 5, **o)(H, Y),
    }


BAD_CROSS_ENTROPY_OPTIONS = [
    (dict(label_smoothing=1.5), InputError),
    (dict(label_smoothing=-0.1), InputError),
    (dict(label_smoothing=float("nan")), InputError),
    (dict(label_smoothing="0.1"), InputTypeError),
    (dict(label_smoothing=True), InputTypeError),
    (dict(z_loss=-1e-4), InputError),
    (dict(z_loss=float("inf")), InputError),
    (dict(z_loss=None), InputTypeError),
    (dict(softcap=0.0), InputError),
    (dict(softcap=-3.0), InputError),
    (dict(softcap=1e-300), InputError),
    (dict(softcap="30"), InputTypeError),
    (dict(reduction="avg"), InputError),
    (dict(reduction=None), InputError),
    (dict(ignore_index=2**70), InputError),
    (dict(ignore_index=-2.5), InputTypeError),
    (dict(ignore_index="-100"), InputTypeError),
]


@pytest.mark.parametrize("options, error", BAD_CROSS_ENTROPY_OPTIONS, ids=lambda v: repr(v))
def test_cross_entropy_options_agree_everywhere(options, error):
    messages = {}
    for name, call in cross_entropy_forms().items():
        with pytest.raises(error) as caught:
            call(**options)
        assert type(caught.value) is error, name
        assert caught.value.argument == next(iter(options)), name
        messages[name] = str(caught.value)
    assert len(set(messages.values())) == 1, messages


@pytest.mark.parametrize(
    "options",
    [
        dict(label_smoothing=0.0),
        dict(label_smoothing=1),
        dict(z_loss=0),
        dict(softcap=1e-15),
        dict(softcap=30),
        dict(ignore_index=np.int64(-100)),
        dict(reduction="sum"),
    ],
    ids=lambda v: repr(v),
)
def test_accepted_cross_entropy_options_are_accepted_everywhere(options):
    for name, call in cross_entropy_forms().items():
        if name.startswith("vocab_parallel"):
            continue  # needs a process group past the checks (tests/ops/test_vocab_parallel.py)
        assert torch.isfinite(call(**options)).all(), name


def distillation_forms():
    teacher = torch.randn(4, 5)
    return {
        "distillation_kl": lambda **o: losses.distillation_kl(LOGITS, teacher, **o),
        "linear_kl_div": lambda **o: fused.linear_kl_div(H, W, teacher, **o),
        "nn.DistillationKLLoss": lambda **o: nn.DistillationKLLoss(**o)(LOGITS, teacher),
        "nn.LinearKLDivLoss": lambda **o: nn.LinearKLDivLoss(**o)(H, W, teacher),
    }, {
        "distillation_js": lambda **o: losses.distillation_js(LOGITS, teacher, **o),
        "linear_js_div": lambda **o: fused.linear_js_div(H, W, teacher, **o),
        "nn.DistillationJSLoss": lambda **o: nn.DistillationJSLoss(**o)(LOGITS, teacher),
        "nn.LinearJSDivLoss": lambda **o: nn.LinearJSDivLoss(**o)(H, W, teacher),
    }


@pytest.mark.parametrize(
    "options, error, family",
    [
        (dict(temperature=0), InputError, "both"),
        (dict(temperature=1e-300), InputError, "both"),
        (dict(temperature=2e19), InputError, "both"),
        (dict(temperature=float("inf")), InputError, "both"),
        (dict(temperature="2"), InputTypeError, "both"),
        (dict(reduction="batchmean"), InputError, "both"),
        (dict(direction="both"), InputError, "kl"),
        (dict(beta=0.0), InputError, "js"),
        (dict(beta=1.0), InputError, "js"),
        (dict(beta="half"), InputTypeError, "js"),
    ],
    ids=lambda v: repr(v),
)
def test_distillation_options_agree_everywhere(options, error, family):
    kl, js = distillation_forms()
    forms = {"kl": kl, "js": js, "both": {**kl, **js}}[family]
    messages = set()
    for name, call in forms.items():
        with pytest.raises(error) as caught:
            call(**options)
        assert type(caught.value) is error and caught.value.argument == next(iter(options)), name
        messages.add(str(caught.value))
    assert len(messages) == 1, messages


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: losses.cross_entropy(np.zeros((2, 3)), np.full((2, 3), 0.3)), "target"),
        (
            lambda: losses.distillation_kl(np.zeros((2, 3)), np.full((2, 3), 0.3), teacher_format="probs"),
            "teacher",
        ),
        (
            lambda: losses.distillation_js(np.zeros((2, 3)), np.zeros((2, 3)), teacher_format="log_probs"),
            "exp(teacher)",
        ),
        (lambda: nn.CrossEntropyLoss()(torch.zeros(2, 3), torch.full((2, 3), 0.3)), "target"),
    ],
)
def test_loss_errors_suggest_the_losses_fix(call, argument):
    with pytest.raises(InputError) as caught:
        call()
    error = caught.value
    assert error.argument == argument and error.index == (0, ":")
    assert error.hint == LOSS_HINT and "validate=False" in str(error)
    assert "normalize" not in str(error)
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error) and again.hint == LOSS_HINT


def test_bfloat16_probability_targets_use_their_own_tolerance():
    """A bfloat16 row sums to 1 only within bfloat16's rounding: checked with bfloat16's tolerance."""
    p = torch.softmax(torch.randn(64, 7), 1).to(torch.bfloat16)
    assert float((p.float().sum(1) - 1).abs().max()) > 3.5e-4  # would fail float32's tolerance
    loss = losses.cross_entropy(torch.randn(64, 7, dtype=torch.bfloat16), p)
    assert loss.dtype == torch.bfloat16 and torch.isfinite(loss)
