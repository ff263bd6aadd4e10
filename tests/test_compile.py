"""torch.compile(fullgraph=True, dynamic=True) of every measure and every loss: no warnings, no
graph breaks (``torch._dynamo.explain``), the eager values and gradients.

No warning filter here on purpose: array-api-compat's lookups are functools.lru_cache wrappers,
and Dynamo warns at each call to one it traces; infoloss's seam (``_array``) must not call them
on traced paths. "aot_eager" runs Dynamo and AOT autograd (the parts that trace infoloss's code)
without inductor's C++ build.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import infoloss as il
from infoloss import losses

_RNG = np.random.default_rng(14)


def _distributions(shape, zeros=False):
    x = _RNG.random(shape)
    if zeros:
        x[..., 0] = 0.0  # 0 log 0 entries on the traced path too
    return torch.tensor(x / x.sum(-1, keepdims=True))


def _cases():
    p, q = _distributions((3, 5), zeros=True), _distributions((3, 5))
    logits, other = torch.tensor(_RNG.normal(size=(4, 5))), torch.tensor(_RNG.normal(size=(4, 5)))
    labels = torch.tensor([0, 2, 4, 1])
    soft = torch.softmax(other, -1)
    return {
        "entropy": (lambda a: il.entropy(a), (p,)),
        "cross_entropy": (lambda a, b: il.cross_entropy(a, b, base=2), (p, q)),
        "kl_divergence": (lambda a, b: il.kl_divergence(a, b), (p, q)),
        "js_divergence": (lambda a, b: il.js_divergence(a, b), (p, q)),
        "kl_divergence normalize": (lambda a, b: il.kl_divergence(a * 3, b, normalize=True), (p, q)),
        "decompose": (lambda a, b: tuple(il.decompose(a, b)), (p, q)),
        "losses.cross_entropy": (
            lambda a, b: losses.cross_entropy(a, b, label_smoothing=0.1),
            (logits, labels),
        ),
        "losses.cross_entropy probs": (lambda a, b: losses.cross_entropy(a, b), (logits, soft)),
        "losses.cross_entropy z_loss softcap": (
            lambda a, b: losses.cross_entropy(a, b, z_loss=1e-3, softcap=5.0, return_entropy=True),
            (logits, labels),
        ),
        "losses.nll_loss": (lambda a, b: losses.nll_loss(torch.log_softmax(a, -1), b), (logits, labels)),
        "losses.binary_cross_entropy": (
            lambda a, b: losses.binary_cross_entropy(torch.sigmoid(a), b),
            (logits, torch.sigmoid(other)),
        ),
        "losses.binary_cross_entropy_with_logits": (
            lambda a, b: losses.binary_cross_entropy_with_logits(a, b),
            (logits, torch.sigmoid(other)),
        ),
        "losses.kl_div": (lambda a, b: losses.kl_div(torch.log_softmax(a, -1), b), (logits, soft)),
        "losses.distillation_kl": (
            lambda a, b: losses.distillation_kl(a, b, temperature=2.0),
            (logits, other),
        ),
        "losses.distillation_js": (lambda a, b: losses.distillation_js(a, b), (logits, other)),
    }


CASES = _cases()


def _flat(result):
    return result if isinstance(result, tuple) else (result,)


@pytest.mark.parametrize("name", list(CASES))
def test_compiles_without_warnings_or_graph_breaks(name):
    function, arguments = CASES[name]
    torch._dynamo.reset()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        explained = torch._dynamo.explain(function)(*arguments)
        torch._dynamo.reset()
        compiled = torch.compile(function, fullgraph=True, dynamic=True, backend="aot_eager")
        leaves = [a.clone().requires_grad_(a.is_floating_point()) for a in arguments]
        got = _flat(compiled(*leaves))
        sum(g.sum() for g in got).backward()
    messages = [f"{w.category.__name__}: {w.message}" for w in caught]
    assert messages == []
    assert explained.graph_break_count == 0, explained.break_reasons
    assert explained.graph_count == 1

    eager_leaves = [a.clone().requires_grad_(a.is_floating_point()) for a in arguments]
    expected = _flat(function(*eager_leaves))
    sum(e.sum() for e in expected).backward()
    for value, reference in zip(got, expected):
        np.testing.assert_allclose(value.detach().numpy(), reference.detach().numpy(), rtol=1e-12, atol=1e-15)
    for leaf, reference in zip(leaves, eager_leaves):
        if leaf.grad is not None or reference.grad is not None:
            assert torch.isfinite(leaf.grad).all()
            np.testing.assert_allclose(leaf.grad.numpy(), reference.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_dynamic_shapes_compile_once():
    """Other batch sizes and lengths reuse the one dynamic graph (no recompilation)."""
    torch._dynamo.reset()
    counts = torch._dynamo.testing.CompileCounter()
    compiled = torch.compile(
        lambda a, b: il.kl_divergence(a, b), fullgraph=True, dynamic=True, backend=counts
    )
    for rows, n in [(2, 3), (5, 7), (4, 11)]:
        p, q = _distributions((rows, n)), _distributions((rows, n))
        np.testing.assert_allclose(compiled(p, q).numpy(), il.kl_divergence(p, q).numpy(), rtol=1e-12)
    assert counts.frame_count == 1
