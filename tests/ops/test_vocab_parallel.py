"""Vocabulary-parallel cross-entropy over torch.distributed (gloo, 2 CPU processes).

Each rank holds a slice of the vocabulary (uneven: 15 and 14 of 29 classes); the losses and
gradients must equal the single-process F.cross_entropy on the full logits (plus the written-out
z-loss and softcap terms), with and without class weights, and the backward must not communicate.
"""

from __future__ import annotations

import itertools
import json
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from infoloss._validate import InputError
from infoloss.nn import functional as fused

WORLD = 2
VOCAB, WIDTH, ROWS = 29, 6, 11
SPLIT = [15, 14]
IGNORE = -100
CASES = list(
    itertools.product(["mean", "sum", "none"], [0.0, 0.1], [(0.0, None), (1e-3, 2.5)], [False, True])
)


def reference(logits, target, *, reduction, label_smoothing, z_loss, softcap, weight):
    if softcap is not None:
        logits = softcap * torch.tanh(logits / softcap)
    per = F.cross_entropy(
        logits, target, weight=weight, ignore_index=IGNORE, reduction="none", label_smoothing=label_smoothing
    )
    kept = target != IGNORE
    per = per + z_loss * torch.logsumexp(logits, -1) ** 2 * kept  # the z-loss is not weighted
    divisor = kept.sum() if weight is None else (weight[target.clamp_min(0)] * kept).sum()
    return {"none": per, "sum": per.sum(), "mean": per.sum() / divisor}[reduction]


def problem(seed):
    g = torch.Generator().manual_seed(seed)
    hidden = torch.randn(ROWS, WIDTH, generator=g, dtype=torch.float64)
    weight = torch.randn(VOCAB, WIDTH, generator=g, dtype=torch.float64)
    bias = torch.randn(VOCAB, generator=g, dtype=torch.float64)
    target = torch.randint(0, VOCAB, (ROWS,), generator=g)
    target[::4] = IGNORE
    target[1] = SPLIT[0] - 1  # the last class of rank 0 and the first of rank 1 as targets
    target[2] = SPLIT[0]
    upstream = torch.rand(ROWS, generator=g, dtype=torch.float64) + 0.5
    class_weight = torch.rand(VOCAB, generator=g, dtype=torch.float64) * 2
    class_weight[3] = 0.0  # a class that counts for nothing
    return hidden, weight, bias, target, upstream, class_weight


def close(a, b, what):
    err = float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))
    assert err < 1e-10, f"{what}: relative error {err:.3g}"


def run_case(rank, index, case):
    """One case on this rank; raises AssertionError on a mismatch."""
    reduction, smoothing, (z_loss, softcap), weighted = case
    lo, hi = sum(SPLIT[:rank]), sum(SPLIT[: rank + 1])
    hidden, weight, bias, target, upstream, class_weight = problem(index)
    options = dict(
        reduction=reduction,
        label_smoothing=smoothing,
        z_loss=z_loss,
        softcap=softcap,
        weight=class_weight if weighted else None,
    )
    up = upstream if reduction == "none" else torch.tensor(1.7, dtype=torch.float64)

    # Sharded logits.
    full = (hidden @ weight.T + bias).requires_grad_()
    want = reference(full, target, **options)
    (want_grad,) = torch.autograd.grad((want * up).sum(), full)
    shard = full.detach()[:, lo:hi].clone().requires_grad_()
    got = fused.vocab_parallel_cross_entropy(shard, target, **options)
    close(got, want, "logits value")
    calls = []
    original = dist.all_reduce

    def counting_all_reduce(*args, **kwargs):
        calls.append("all_reduce")
        return original(*args, **kwargs)

    dist.all_reduce = counting_all_reduce
    try:
        (got_grad,) = torch.autograd.grad((got * up).sum(), shard)
    finally:
        dist.all_reduce = original
    assert not calls, "the sharded-logits backward communicated"
    close(got_grad, want_grad[:, lo:hi], "logits grad")

    # Sharded weight (and bias), replicated hidden; chunk of 4 rows (11 = 4 + 4 + 3).
    leaves = [t.clone().requires_grad_() for t in (hidden, weight, bias)]
    want = reference(leaves[0] @ leaves[1].T + leaves[2], target, **options)
    want_grads = torch.autograd.grad((want * up).sum(), leaves)
    h = hidden.clone().requires_grad_()
    w = weight[lo:hi].clone().requires_grad_()
    b = bias[lo:hi].clone().requires_grad_()
    got = fused.vocab_parallel_linear_cross_entropy(h, w, target, linear_bias=b, chunk_size=4, **options)
    close(got, want, "linear value")
    got_grads = torch.autograd.grad((got * up).sum(), (h, w, b))
    close(got_grads[0], want_grads[0], "linear grad hidden")
    close(got_grads[1], want_grads[1][lo:hi], "linear grad weight")
    close(got_grads[2], want_grads[2][lo:hi], "linear grad bias")


def out_of_range_errors(rank):
    """Targets beyond the full vocabulary (29 classes): the error every rank raises, per form."""
    lo, hi = sum(SPLIT[:rank]), sum(SPLIT[: rank + 1])
    hidden, weight, bias, target, _, _ = problem(0)
    target = target.clone()
    target[3] = VOCAB + 2  # 31: beyond every rank's slice and the full vocabulary
    errors = {}
    calls = {
        "logits": lambda: fused.vocab_parallel_cross_entropy((hidden @ weight.T)[:, lo:hi], target),
        "linear": lambda: fused.vocab_parallel_linear_cross_entropy(
            hidden, weight[lo:hi], target, linear_bias=bias[lo:hi]
        ),
    }
    for name, call in calls.items():
        try:
            call()
            errors[name] = None
        except InputError as error:
            errors[name] = [error.argument, list(error.index), error.value, str(error)]
    return errors


def short_class_weight_error(rank):
    """Class weights of one rank's slice only (not the full vocabulary): the error message."""
    lo, hi = sum(SPLIT[:rank]), sum(SPLIT[: rank + 1])
    hidden, weight, _, target, _, class_weight = problem(0)
    try:
        fused.vocab_parallel_linear_cross_entropy(hidden, weight[lo:hi], target, weight=class_weight[lo:hi])
    except InputError as error:
        return [error.argument, str(error)]
    return None


def worker(rank, init_file, out_dir):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    results = {}
    try:
        for index, case in enumerate(CASES):
            try:
                run_case(rank, index, case)
                results[case_id(case)] = "ok"
            except AssertionError as error:
                results[case_id(case)] = str(error)
        results["out of range"] = out_of_range_errors(rank)
        results["short weight"] = short_class_weight_error(rank)
    finally:
        dist.destroy_process_group()
        with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
            json.dump(results, f)


def case_id(case):
    reduction, smoothing, (z_loss, softcap), weighted = case
    return f"{reduction}-smoothing{smoothing}-zloss{z_loss}-softcap{softcap}" + (
        "-weighted" if weighted else ""
    )


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Every case on two gloo processes, started once (a start costs seconds); each case is then
    its own test below, with its own failure message."""
    out_dir = tmp_path_factory.mktemp("vocab_parallel")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    mp.spawn(worker, args=(str(out_dir / "rendezvous"), str(out_dir)), nprocs=WORLD, join=True)
    return [json.loads((out_dir / f"rank{rank}.json").read_text()) for rank in range(WORLD)]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_vocab_parallel_matches_single_process(results, case):
    for rank in range(WORLD):
        assert results[rank][case_id(case)] == "ok", f"rank {rank}: {results[rank][case_id(case)]}"


@pytest.mark.parametrize("form", ["logits", "linear"])
def test_targets_beyond_the_full_vocabulary_are_refused_on_every_rank(results, form):
    """Like F.cross_entropy's ``0 <= target < C`` (C the full vocabulary), naming the position."""
    for rank in range(WORLD):
        error = results[rank]["out of range"][form]
        assert error is not None, f"rank {rank} accepted target 31 for 29 classes"
        argument, index, value, message = error
        assert (argument, index, value) == ("target", [3], VOCAB + 2)
        assert "target[3] = 31 is not a class index for 29 classes (in [0, 29))" in message


def test_class_weights_of_one_slice_are_refused(results):
    for rank in range(WORLD):
        error = results[rank]["short weight"]
        assert error is not None, f"rank {rank} accepted {SPLIT[rank]} class weights for 29 classes"
        assert error[0] == "weight"
        assert f"has {SPLIT[rank]} entries but the vocabulary has 29 classes" in error[1]
