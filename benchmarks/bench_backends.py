# ruff: noqa: B023  (each timing lambda is called within the loop iteration that makes it)
"""Benchmark: infoloss on PyTorch (CPU, and CUDA where present), JAX and Dask against the best
hand-written code on the same backend, measured in one run.

Parts (``--part``, default all):
  measures   each measure against the fastest hand composition on torch (forward and
             forward + backward; peak extra memory: VmHWM in a fresh process per case), JAX
             (eager vs the user's own ``jax.jit``; under ``jax.jit`` and ``jit(grad)`` against
             the fastest hand composition) and Dask (local scheduler and a 2-worker
             ``dask.distributed.LocalCluster``; also ``normalize=True`` against ``x / x.sum()``)
  losses     each loss at 64x10, 1024x1000 and 8192x32000 against ``torch.nn.functional`` and
             optax (time, peak memory), validation on and off

Time: the two implementations run alternately after a warm-up; the table gives the median of
the repeats and the ratio of medians (ours / reference), which PASS/MISS judges against the
target printed beside it.

Run: python benchmarks/bench_backends.py [--part measures,losses] [--repeat N]
     [--backends torch,jax,dask] [--jax-rows all|eager] [--dask-schedulers all|local|cluster]
     (measures part)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np


def median_seconds(function, *, repeat, warmup=1, gap=0.0):
    """The median wall time of ``repeat`` calls of ``function()``, after ``warmup`` calls; with
    ``gap``, each call after that many seconds of busy Python (other work between calls)."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        while time.perf_counter() - start < gap:
            pass
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compare(label, ours, reference, *, repeat, target, warmup=1):
    """Time ``ours`` and ``reference`` alternately; print one row with the ratio and PASS/MISS."""
    ours_times, reference_times = [], []
    for _ in range(warmup):
        ours(), reference()
    for _ in range(repeat):
        for function, times in ((ours, ours_times), (reference, reference_times)):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
    ours_median, reference_median = statistics.median(ours_times), statistics.median(reference_times)
    ratio = ours_median / reference_median
    verdict = "PASS" if ratio <= target else "MISS"
    print(
        f"{label:<58} {_format_seconds(ours_median):>10} {_format_seconds(reference_median):>10} "
        f"{ratio:6.2f}x  (target {target:.2f}x) {verdict}"
    )
    return ratio


def _format_seconds(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def header(title):
    print(f"\n## {title}\n{'case':<58} {'infoloss':>10} {'reference':>10}  ratio")


# Each part is a function taking the parsed arguments; it prints its own table.
PARTS: dict = {}


# --------------------------------------------------------------------------------------------
# Part "measures": torch CPU, JAX CPU, Dask against the best hand composition on each
# --------------------------------------------------------------------------------------------

MEASURE_NAMES = ("entropy", "cross_entropy", "kl_divergence", "js_divergence")
TORCH_FORWARD_SIZE = 20_000_000  # the sizes: forward at 2e7, forward + backward at 4e6
TORCH_BACKWARD_SIZE = 4_000_000
JAX_SIZE = 20_000_000
DASK_SIZE, DASK_CHUNKS = 20_000_000, 10


def _torch_hand_compositions(torch):
    """The hand-written torch expressions for each measure (the fastest is the reference)."""
    import torch.nn.functional as F

    xlogy = torch.special.xlogy

    def js_by_kl_div(p, q):
        log_m = ((p + q) / 2).log()
        return (F.kl_div(log_m, p, reduction="sum") + F.kl_div(log_m, q, reduction="sum")) / 2

    def js_by_xlogy(p, q):
        m = (p + q) / 2
        return (xlogy(p, p).sum() + xlogy(q, q).sum() - 2 * xlogy(m, m).sum()) / 2

    return {
        "entropy": {
            "-xlogy(p, p).sum()": lambda p, q: -xlogy(p, p).sum(),
            "-(p * p.log()).sum()": lambda p, q: -(p * p.log()).sum(),
        },
        "cross_entropy": {
            "-xlogy(p, q).sum()": lambda p, q: -xlogy(p, q).sum(),
            "-(p * q.log()).sum()": lambda p, q: -(p * q.log()).sum(),
        },
        "kl_divergence": {
            "F.kl_div(q.log(), p, 'sum')": lambda p, q: F.kl_div(q.log(), p, reduction="sum"),
            "(xlogy(p, p) - xlogy(p, q)).sum()": lambda p, q: (xlogy(p, p) - xlogy(p, q)).sum(),
        },
        "js_divergence": {
            "F.kl_div(log m, p) + F.kl_div(log m, q)": js_by_kl_div,
            "xlogy terms": js_by_xlogy,
        },
    }


def _fastest(candidates, *arguments, repeat=3):
    """The name and function of the fastest candidate (timed alone, before the comparison)."""
    timed = {name: median_seconds(lambda f=f: f(*arguments), repeat=repeat) for name, f in candidates.items()}
    name = min(timed, key=timed.get)
    return name, candidates[name]


def _measure_distributions(rng, n):
    """Two distributions of ``n`` entries, ``p`` with 5% zeros (0 log 0 terms, as real ones have)."""
    p, q = rng.random(n), rng.random(n)
    p[rng.random(n) < 0.05] = 0.0
    return p / p.sum(), q / q.sum()


def _torch_measure_memory(name, size, backward, implementation):
    """In this (fresh) process: the peak RSS growth (bytes) of one call of ``implementation``
    (``"ours"``, a hand composition's label, or ``"calibration"``: ``torch.ones(size)``, which
    must come out at 8 bytes per entry), over the inputs already resident.

    Linux's VmHWM (peak resident set) is reset to the current RSS by writing 5 to
    /proc/self/clear_refs, so ``VmHWM - VmRSS`` after the call is what it added at its peak;
    torch returns large CPU buffers to the system when freed (mmap), so each counts while alive.
    """
    import numpy as np
    import torch
    from bench_losses import _rss

    import infoloss

    p, q = (torch.from_numpy(x) for x in _measure_distributions(np.random.default_rng(0), size))
    if implementation == "ours":
        function = getattr(infoloss, name)
    elif implementation != "calibration":
        function = _torch_hand_compositions(torch)[name][implementation]
    if implementation != "calibration":
        ours_entropy = implementation == "ours" and name == "entropy"
        call = (lambda a, b, f=function: f(a)) if ours_entropy else function  # (hands take p, q)
        wrt = 0 if name == "entropy" else 1  # the argument a model would produce (as the timing)
        small = [
            torch.from_numpy(x).requires_grad_(backward and i == wrt)
            for i, x in enumerate(_measure_distributions(np.random.default_rng(1), 4))
        ]
        warm = call(*small)  # lazy imports and first-call allocations happen here
        if backward:
            warm.backward()
        p.requires_grad_(backward and wrt == 0)
        q.requires_grad_(backward and wrt == 1)
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    before = _rss("VmRSS")
    if implementation == "calibration":
        block = torch.ones(size, dtype=torch.float64)
        del block
    else:
        value = call(p, q)
        if backward:
            value.backward()
    print(json.dumps({"peak_delta": _rss("VmHWM") - before, "inputs": p.numel() * p.element_size()}))


def _torch_peak_bytes(name, size, backward, implementation):
    """:func:`_torch_measure_memory` in a fresh Python process; its peak growth in bytes."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = (
        f"import sys; sys.path.insert(0, {here!r}); import bench_backends; "
        f"bench_backends._torch_measure_memory({name!r}, {size!r}, {backward!r}, {implementation!r})"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_delta"]


def _mib(n):
    return f"{n / 2**20:.0f} MiB"


def measures_part(args):
    """Each measure on torch CPU, JAX CPU and Dask against the best hand composition."""
    import numpy as np

    import infoloss

    rng = np.random.default_rng(0)

    def distributions(n):
        return _measure_distributions(rng, n)

    backends = args.backends.split(",") if args.backends else ["torch", "jax", "dask"]
    for backend in backends:
        if backend not in ("torch", "jax", "dask"):
            raise SystemExit(f"--backends: unknown backend {backend!r}; choose from torch, jax, dask")
    for backend, part in (("torch", _measures_torch), ("jax", _measures_jax), ("dask", _measures_dask)):
        if backend in backends:
            part(args, infoloss, distributions)


def _measures_torch(args, infoloss, distributions):
    import torch

    hands = _torch_hand_compositions(torch)
    header(
        f"measures, torch CPU float64 (forward at {TORCH_FORWARD_SIZE:.0e}, forward + backward at "
        f"{TORCH_BACKWARD_SIZE:.0e}; threads {torch.get_num_threads()})"
    )
    calibration = _torch_peak_bytes("entropy", TORCH_FORWARD_SIZE, False, "calibration")
    print(
        f"(peak memory: VmHWM - VmRSS around one call in a fresh process; calibration: "
        f"torch.ones({TORCH_FORWARD_SIZE:.0e}) float64 reads {calibration / (8 * TORCH_FORWARD_SIZE):.3f} "
        "x its 8 bytes per entry)"
    )
    p, q = (torch.from_numpy(x) for x in distributions(TORCH_FORWARD_SIZE))
    fastest_forward = {}
    for name in MEASURE_NAMES:
        ours = getattr(infoloss, name)
        call = (lambda a, b, f=ours: f(a)) if name == "entropy" else ours
        label, hand = _fastest(hands[name], p, q)
        fastest_forward[name] = label
        compare(
            f"{name} forward vs {label}",
            lambda: call(p, q),
            lambda: hand(p, q),
            repeat=args.repeat,
            target=1.0,
        )
    p = q = None  # (freed before the memory subprocesses)
    for name, label in fastest_forward.items():
        _print_torch_memory(name, TORCH_FORWARD_SIZE, False, label)
    p, q = (torch.from_numpy(x) for x in distributions(TORCH_BACKWARD_SIZE))
    for name in MEASURE_NAMES:
        ours = getattr(infoloss, name)
        call = (lambda a, b, f=ours: f(a)) if name == "entropy" else ours
        # the gradient of the argument a model would produce: p for entropy, q otherwise
        leaf_p, leaf_q = (
            p.clone().requires_grad_(name == "entropy"),
            q.clone().requires_grad_(name != "entropy"),
        )

        def step(function):
            leaf_p.grad = leaf_q.grad = None
            function(leaf_p, leaf_q).backward()

        label, hand = _fastest({k: (lambda f=f: step(f)) for k, f in hands[name].items()})
        compare(
            f"{name} forward + backward vs {label}", lambda: step(call), hand, repeat=args.repeat, target=1.0
        )
        _print_torch_memory(name, TORCH_BACKWARD_SIZE, True, label)


def _print_torch_memory(name, size, backward, label):
    """One row: peak extra memory of ours and of the hand composition ``label`` (fresh processes)."""
    ours, reference = (_torch_peak_bytes(name, size, backward, impl) for impl in ("ours", label))
    print(
        f"{name + (' forward + backward' if backward else ' forward') + ' peak extra memory':<58} "
        f"{_mib(ours):>10} {_mib(reference):>10} {ours / max(reference, 1):6.2f}x  "
        f"(vs {label}; inputs {_mib(size * 8)} each)"
    )
    sys.stdout.flush()


def _jax_hand_compositions(jnp):
    """Hand-written JAX expressions of each measure with 0 log 0 = 0 (the fastest is the reference)."""
    from jax.scipy.special import entr, rel_entr, xlogy

    def js_by_rel_entr(p, q):
        m = (p + q) / 2
        return (jnp.sum(rel_entr(p, m)) + jnp.sum(rel_entr(q, m))) / 2

    def js_by_xlogy(p, q):
        m = (p + q) / 2
        return (jnp.sum(xlogy(p, p)) + jnp.sum(xlogy(q, q)) - 2 * jnp.sum(xlogy(m, m))) / 2

    return {
        "entropy": {
            "sum(entr(p))": lambda p, q: jnp.sum(entr(p)),
            "-sum(xlogy(p, p))": lambda p, q: -jnp.sum(xlogy(p, p)),
        },
        "cross_entropy": {
            "-sum(xlogy(p, q))": lambda p, q: -jnp.sum(xlogy(p, q)),
            "-sum(where(p > 0, p log q, 0))": lambda p, q: -jnp.sum(jnp.where(p > 0, p * jnp.log(q), 0.0)),
        },
        "kl_divergence": {
            "sum(rel_entr(p, q))": lambda p, q: jnp.sum(rel_entr(p, q)),
            "sum(xlogy(p, p) - xlogy(p, q))": lambda p, q: jnp.sum(xlogy(p, p) - xlogy(p, q)),
            "sum(where(p > 0, p log(p / q), 0))": lambda p, q: jnp.sum(
                jnp.where(p > 0, p * jnp.log(p / q), 0.0)
            ),
        },
        "js_divergence": {"rel_entr(p, m) + rel_entr(q, m)": js_by_rel_entr, "xlogy terms": js_by_xlogy},
    }


def _measures_jax(args, infoloss, distributions):
    import jax
    import jax.numpy as jnp

    hands = _jax_hand_compositions(jnp)
    with jax.enable_x64(True):
        p, q = (jnp.asarray(x) for x in distributions(JAX_SIZE))
        # eager (the cached jitted program with its checks) against the user's jax.jit of the
        # same call (no checks), with and without normalize=True (weights: the rows times 1e3);
        # CPU seconds per call beside the wall time (2 shared cores: the load moves wall time)
        print(
            f"\n## measures, JAX CPU float64 at {JAX_SIZE:.0e}: eager vs the user's jax.jit "
            f"(load average {_load_average()})\n"
            f"{'case':<58} {'infoloss':>10} {'reference':>10}  ratio {'CPU ours':>10} {'CPU ref':>10}  ratio"
        )
        for normalize in (False, True):
            arrays = (p * 1e3, q * 1e3) if normalize else (p, q)
            for name in MEASURE_NAMES:
                ours = getattr(infoloss, name)
                call = (
                    (lambda a, b, f=ours, n=normalize: f(a, normalize=n))
                    if name == "entropy"
                    else (lambda a, b, f=ours, n=normalize: f(a, b, normalize=n))
                )
                jitted = jax.jit(call)
                _compare_with_cpu(
                    f"{name}{', normalize=True' if normalize else ''}: eager vs the user's jit",
                    lambda: call(*arrays).block_until_ready(),
                    lambda: jitted(*arrays).block_until_ready(),
                    time.process_time,
                    repeat=args.repeat,
                    target=1.2,
                )
        print(f"(load average {_load_average()})")
    _measures_jax_small(infoloss, jax, jnp)
    with jax.enable_x64(True):
        if args.jax_rows == "eager":
            return
        header(f"measures, JAX CPU float64 at {JAX_SIZE:.0e} (under jax.jit; jit of grad)")
        for name in MEASURE_NAMES:
            ours = getattr(infoloss, name)
            call = (lambda a, b, f=ours: f(a)) if name == "entropy" else ours
            jitted = jax.jit(call)
            candidates = {k: jax.jit(f) for k, f in hands[name].items()}
            label, hand = _fastest(
                {k: (lambda f=f: f(p, q).block_until_ready()) for k, f in candidates.items()}
            )
            compare(
                f"{name} jax.jit vs jax.jit of {label}",
                lambda: jitted(p, q).block_until_ready(),
                hand,
                repeat=args.repeat,
                target=1.0,
            )
            wrt = 0 if name == "entropy" else 1
            ours_grad = jax.jit(jax.grad(call, argnums=wrt))
            grads = {k: jax.jit(jax.grad(f, argnums=wrt)) for k, f in hands[name].items()}
            label, hand_grad = _fastest(
                {k: (lambda f=f: f(p, q).block_until_ready()) for k, f in grads.items()}
            )
            compare(
                f"{name} jit(grad) vs jit(grad) of {label}",
                lambda: ours_grad(p, q).block_until_ready(),
                hand_grad,
                repeat=args.repeat,
                target=1.0,
            )
        # normalize=True under jax.jit against the fastest hand composition of x / x.sum()
        weights = (p * 1e3, q * 1e3)
        for name in MEASURE_NAMES:
            ours = getattr(infoloss, name)
            jitted = jax.jit(
                (lambda a, b, f=ours: f(a, normalize=True))
                if name == "entropy"
                else (lambda a, b, f=ours: f(a, b, normalize=True))
            )
            candidates = {
                k: jax.jit(lambda a, b, f=f: f(a / a.sum(), b / b.sum())) for k, f in hands[name].items()
            }
            label, hand = _fastest(
                {k: (lambda f=f: f(*weights).block_until_ready()) for k, f in candidates.items()}
            )
            compare(
                f"{name}(normalize=True) jax.jit vs jax.jit of {label} of x / x.sum()",
                lambda: jitted(*weights).block_until_ready(),
                hand,
                repeat=args.repeat,
                target=1.0,
            )


SMALL_GAPS = (0.0, 30e-6)  # seconds of other Python work between calls: none, and a training loop's


def _measures_jax_small(infoloss, jax, jnp):
    """64x10 float32 (JAX's default dtype): eager against the user's jax.jit, medians of 3000
    calls made back to back and with 30 us of other work between calls. XLA runs a program of
    1000 flops or more on its CPU worker thread, which after a few microseconds without work
    falls asleep and takes 10-50 us to wake: back to back, the user's jit finds it awake; after
    any other work, both wait for it alike."""
    rng = np.random.default_rng(3)
    p, q = (jnp.asarray(rng.dirichlet(np.ones(10), 64).astype(np.float32)) for _ in range(2))
    gaps = "  ".join(f"{f'eager / jit, gap {g * 1e6:.0f} us':>30}" for g in SMALL_GAPS)
    print(
        f"\n## measures, JAX CPU float32 64x10: eager vs the user's jax.jit (target 1.2x; load average "
        f"{_load_average()})\n{'case':<40} {gaps}"
    )
    for normalize in (False, True):
        for name in MEASURE_NAMES:
            ours = getattr(infoloss, name)
            arguments = (p,) if name == "entropy" else (p, q)

            def call(*a, f=ours, n=normalize):
                return f(*a, axis=1, normalize=n)

            jitted = jax.jit(call)
            timing = {"repeat": 3000, "warmup": 300}
            cells = []
            for gap in SMALL_GAPS:
                eager = median_seconds(lambda: jax.block_until_ready(call(*arguments)), **timing, gap=gap)
                traced = median_seconds(lambda: jax.block_until_ready(jitted(*arguments)), **timing, gap=gap)
                cells.append(f"{_format_seconds(eager)} / {_format_seconds(traced)} {eager / traced:5.2f}x")
            label = f"{name}{', normalize=True' if normalize else ''}"
            print(f"{label:<40} " + "  ".join(f"{c:>30}" for c in cells))
            sys.stdout.flush()


def _measures_dask(args, infoloss, distributions):
    import dask.array as da

    hands = {
        "entropy": lambda p, q: (
            -(p * da.log(p)).sum()
        ),  # (p = 0 gives NaN: the reference is as fast as it gets)
        "cross_entropy": lambda p, q: -(p * da.log(q)).sum(),
        "kl_divergence": lambda p, q: (p * da.log(p / q)).sum(),
        "js_divergence": lambda p, q: (
            ((p * da.log(2 * p / (p + q))).sum() + (q * da.log(2 * q / (p + q))).sum()) / 2
        ),
    }
    import warnings

    warnings.filterwarnings("ignore", category=RuntimeWarning)  # the hand-written forms' log(0) at p = 0

    def rows(scheduler_label, cpu_clock, **compute_options):
        print(
            f"\n## measures, Dask {scheduler_label}: {DASK_SIZE:.0e} float64 in {DASK_CHUNKS} chunks, persisted"
            f"\n(load average at the start: {_load_average()}; CPU: the seconds of every thread and"
            f" worker process taken by one call, which another engineer's load disturbs less than wall time)"
            f"\n{'case':<58} {'infoloss':>10} {'reference':>10}  ratio  {'CPU ours':>10} {'CPU ref':>10}  ratio"
        )
        generator = da.random.default_rng(0)  # made on the workers (no data in the graph)
        p, q = (generator.random(DASK_SIZE, chunks=DASK_SIZE // DASK_CHUNKS) for _ in range(2))
        p = da.where(generator.random(DASK_SIZE, chunks=DASK_SIZE // DASK_CHUNKS) < 0.05, 0.0, p)
        weights = p.persist(), q.persist()  # for normalize=True: weights summing to about 1e7
        p, q = (x / x.sum() for x in weights)
        p, q = p.persist(), q.persist()
        for name in MEASURE_NAMES:
            ours = getattr(infoloss, name)
            call = (lambda a, b, f=ours, **k: f(a, **k)) if name == "entropy" else ours
            _compare_with_cpu(
                f"{name}(...).compute() vs hand-written",
                lambda: call(p, q).compute(**compute_options),
                lambda: hands[name](p, q).compute(**compute_options),
                cpu_clock,
                repeat=args.repeat,
                target=1.0,
            )
        # normalize=True against the same expressions of x / x.sum() (the distribution axis is cut
        # into the chunks: the row sums come from every chunk before the terms)
        for name in MEASURE_NAMES:
            ours = getattr(infoloss, name)
            call = (lambda a, b, f=ours, **k: f(a, **k)) if name == "entropy" else ours
            _compare_with_cpu(
                f"{name}(..., normalize=True) vs hand-written of x / x.sum()",
                lambda: call(*weights, normalize=True).compute(**compute_options),
                lambda: hands[name](*(x / x.sum() for x in weights)).compute(**compute_options),
                cpu_clock,
                repeat=args.repeat,
                target=1.0,
            )
        print(f"(load average at the end: {_load_average()})")

    if args.dask_schedulers in ("all", "local"):
        rows("local threaded scheduler", time.process_time)
    if args.dask_schedulers not in ("all", "cluster"):
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        print("(dask.distributed is not installed: no LocalCluster rows)")
        return
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        client.run(lambda: warnings.filterwarnings("ignore", category=RuntimeWarning))  # (as here)

        # the workers' CPU seconds (their processes' clocks) and this process's (the client)
        def cluster_cpu():
            return sum(client.run(time.process_time).values()) + time.process_time()

        rows("distributed LocalCluster(n_workers=2)", cluster_cpu)


def _compare_with_cpu(label, ours, reference, cpu_clock, *, repeat, target, warmup=1):
    """``compare`` that also reports the CPU seconds of each call (``cpu_clock()`` before and
    after, outside the wall-clock window), medians of the same alternating repeats."""
    times = {"ours": ([], []), "reference": ([], [])}
    for _ in range(warmup):
        ours(), reference()
    for _ in range(repeat):
        for key, function in (("ours", ours), ("reference", reference)):
            cpu = cpu_clock()
            start = time.perf_counter()
            function()
            wall = time.perf_counter() - start
            times[key][0].append(wall)
            times[key][1].append(cpu_clock() - cpu)
    (ours_wall, ours_cpu), (reference_wall, reference_cpu) = (
        (statistics.median(walls), statistics.median(cpus)) for walls, cpus in times.values()
    )
    ratio = ours_wall / reference_wall
    verdict = "PASS" if ratio <= target else "MISS"
    print(
        f"{label:<58} {_format_seconds(ours_wall):>10} {_format_seconds(reference_wall):>10} "
        f"{ratio:5.2f}x  {_format_seconds(ours_cpu):>10} {_format_seconds(reference_cpu):>10} "
        f"{ours_cpu / reference_cpu:5.2f}x  (target {target:.2f}x on wall time) {verdict}"
    )
    return ratio


def _load_average():
    """The 1, 5 and 15 minute load averages (``/proc/loadavg``), or '?' where there is none."""
    try:
        with open("/proc/loadavg") as file:
            return " ".join(file.read().split()[:3])
    except OSError:
        return "?"


PARTS["measures"] = measures_part


# --------------------------------------------------------------------------------------------
# Part "losses": each loss at 64x10, 1024x1000 and 8192x32000 against torch.nn.functional and
# optax, validation on and off (time); forward + backward time and peak memory (torch)
# --------------------------------------------------------------------------------------------

LOSS_SHAPES = ((64, 10), (1024, 1000), (8192, 32000))
SMALL_ADDED_TARGETS = {"on": 10e-6, "off": 3e-6}  # the bounds at 64x10, in seconds
LOSS_NAMES = (
    "cross_entropy",
    "cross_entropy_probs",
    "nll_loss",
    "kl_div",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
)


def _calls_for(shape, repeat):
    """Timed calls per implementation: many for the small batch (microseconds), few for the largest."""
    size = shape[0] * shape[1]
    return 3000 if size <= 1000 else (50 if size <= 2_000_000 else max(3, min(repeat, 5)))


def _torch_loss_inputs(torch, name, shape, requires_grad=False):
    generator = torch.Generator().manual_seed(0)
    rows, classes = shape
    logits = torch.randn(rows, classes, generator=generator).mul_(3)
    probs = torch.softmax(torch.randn(rows, classes, generator=generator), 1)
    if name in ("cross_entropy", "nll_loss"):
        first = logits if name == "cross_entropy" else torch.log_softmax(logits, 1)
        inputs = (first, torch.randint(0, classes, (rows,), generator=generator))
    elif name == "cross_entropy_probs":
        inputs = (logits, probs)
    elif name == "kl_div":
        inputs = (torch.log_softmax(logits, 1), probs)
    elif name == "binary_cross_entropy":
        inputs = (torch.sigmoid(logits), probs)
    else:
        inputs = (logits, probs)
    if requires_grad:
        inputs[0].requires_grad_(True)
    return inputs


def _torch_loss_pair(name):
    """(ours(a, b, validate), reference(a, b)) for a loss name."""
    import torch.nn.functional as F

    from infoloss import losses

    base = "cross_entropy" if name == "cross_entropy_probs" else name
    options = {"reduction": "batchmean"} if name == "kl_div" else {}
    ours_function, reference_function = getattr(losses, base), getattr(F, base)
    return (
        lambda a, b, validate: ours_function(a, b, validate=validate, **options),
        lambda a, b: reference_function(a, b, **options),
    )


def _jax_loss_pair(name):
    import optax

    from infoloss import losses

    pairs = {
        "cross_entropy": (
            losses.cross_entropy,
            lambda a, b: optax.softmax_cross_entropy_with_integer_labels(a, b).mean(),
        ),
        "cross_entropy_probs": (losses.cross_entropy, lambda a, b: optax.softmax_cross_entropy(a, b).mean()),
        "kl_div": (
            lambda a, b, **k: losses.kl_div(a, b, reduction="batchmean", **k),
            lambda a, b: optax.kl_divergence(a, b).sum() / a.shape[0],
        ),
        "binary_cross_entropy_with_logits": (
            losses.binary_cross_entropy_with_logits,
            lambda a, b: optax.sigmoid_binary_cross_entropy(a, b).mean(),
        ),
    }
    if name not in pairs:
        return None
    ours, reference = pairs[name]
    return (
        lambda a, b, validate: ours(a, b, validate=validate, **({"axis": -1} if "cross" in name else {})),
        reference,
    )


def _interleaved_medians(functions, calls):
    """Median seconds of each function, calls interleaved (one of each in turn), after a warm-up
    of a tenth as many calls (at least 2)."""
    for _ in range(max(2, calls // 10)):
        for function in functions:
            function()
    times = [[] for _ in functions]
    for _ in range(calls):
        for function, spent in zip(functions, times):
            start = time.perf_counter()
            function()
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


def _loss_time_row(label, ours_on, ours_off, reference, shape, calls, reference_name):
    on, off, ref = _interleaved_medians((ours_on, ours_off, reference), calls)
    if shape == LOSS_SHAPES[0]:
        added = {"on": on - ref, "off": off - ref}
        verdict = " ".join(
            f"{key} {added[key] * 1e6:+.1f} us (<= {SMALL_ADDED_TARGETS[key] * 1e6:.0f}) "
            f"{'PASS' if added[key] <= SMALL_ADDED_TARGETS[key] else 'MISS'}"
            for key in ("on", "off")
        )
    else:
        verdict = f"ratio on {on / ref:.2f}x, off {off / ref:.2f}x"
    print(
        f"{label:<44} {_format_seconds(on):>10} {_format_seconds(off):>10} {_format_seconds(ref):>10}  "
        f"{reference_name:<8} {verdict}"
    )
    sys.stdout.flush()


def _loss_memory(name, shape, implementation):
    """In a fresh process: peak RSS growth (bytes) of one forward + backward (as bench_losses.py)."""
    import torch
    from bench_losses import _rss

    ours, reference = _torch_loss_pair(name)
    import infoloss.ops.logits_cross_entropy  # noqa: F401 - lazy imports happen here, not below

    warm = _torch_loss_inputs(torch, name, (4, 3), requires_grad=True)
    (ours(*warm, True) if implementation == "ours" else reference(*warm)).backward()
    a, b = _torch_loss_inputs(torch, name, shape, requires_grad=True)
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset VmHWM (peak RSS) to the current RSS
    before = _rss("VmRSS")
    loss = ours(a, b, True) if implementation == "ours" else reference(a, b)
    loss.backward()
    print(json.dumps({"peak_delta": _rss("VmHWM") - before, "inputs": a.numel() * a.element_size()}))


def _memory_in_subprocess(name, shape, implementation):
    here = os.path.dirname(os.path.abspath(__file__))
    code = (
        f"import sys; sys.path.insert(0, {here!r}); import bench_backends; "
        f"bench_backends._loss_memory({name!r}, {tuple(shape)!r}, {implementation!r})"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def losses_part(args):
    import torch

    print(
        f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads, CPU, float32. Times: medians of "
        f"interleaved calls (ours with validation, without, the reference), in one run. "
        f"Load average {_load_average()}."
    )
    print(f"{'loss (forward)':<44} {'validate':>10} {'no check':>10} {'reference':>10}")
    shapes = LOSS_SHAPES[:1] if getattr(args, "small", False) else LOSS_SHAPES
    for shape in shapes:
        calls = _calls_for(shape, args.repeat)
        for name in LOSS_NAMES:
            a, b = _torch_loss_inputs(torch, name, shape)
            ours, reference = _torch_loss_pair(name)
            _loss_time_row(
                f"torch {name} {shape[0]}x{shape[1]}",
                lambda: ours(a, b, True),
                lambda: ours(a, b, False),
                lambda: reference(a, b),
                shape,
                calls,
                "F.*",
            )
    try:
        import jax
        import optax  # noqa: F401
    except ImportError:
        print("(jax/optax not installed: no JAX rows)")
    else:
        for shape in shapes:
            # (all of the small batch's calls, as for torch: JAX's times there are bimodal, its CPU
            # worker thread asleep or not when a program is dispatched; a few hundred calls
            # left the medians 20 us apart from run to run)
            calls = _calls_for(shape, args.repeat)
            for name in LOSS_NAMES:
                pair = _jax_loss_pair(name)
                if pair is None:
                    continue
                a, b = (jax.numpy.asarray(t.numpy()) for t in _torch_loss_inputs(torch, name, shape))
                ours, reference = pair
                _loss_time_row(
                    f"jax {name} {shape[0]}x{shape[1]} (eager)",
                    lambda: jax.block_until_ready(ours(a, b, True)),
                    lambda: jax.block_until_ready(ours(a, b, False)),
                    lambda: jax.block_until_ready(reference(a, b)),
                    shape,
                    calls,
                    "optax",
                )
    print(f"(load average {_load_average()} after the forward rows)")

    print(
        f"\n{'loss (forward + backward, torch)':<44} {'infoloss':>10} {'F.*':>10}  ratio   "
        f"{'peak MiB ours / F.*':>20} (x logits)"
    )
    for shape in shapes[1:]:
        for name in LOSS_NAMES:
            a, b = _torch_loss_inputs(torch, name, shape, requires_grad=True)
            ours, reference = _torch_loss_pair(name)

            def step(function):
                a.grad = None
                function().backward()

            on, ref = _interleaved_medians(
                (lambda: step(lambda: ours(a, b, True)), lambda: step(lambda: reference(a, b))),
                _calls_for(shape, args.repeat),
            )
            a = b = None  # free the inputs before the memory subprocesses
            memory = {impl: _memory_in_subprocess(name, shape, impl) for impl in ("ours", "reference")}
            logits = memory["ours"]["inputs"]
            peaks = {impl: memory[impl]["peak_delta"] for impl in memory}
            target = " (target <= 1.3x logits, time <= 1.0x)" if name.startswith("cross_entropy") else ""
            print(
                f"torch {name} {shape[0]}x{shape[1]:<14} {_format_seconds(on):>10} {_format_seconds(ref):>10} "
                f"{on / ref:5.2f}x  {peaks['ours'] / 2**20:9.0f} / {peaks['reference'] / 2**20:<9.0f} "
                f"({peaks['ours'] / logits:.2f} / {peaks['reference'] / logits:.2f}){target}"
            )
            sys.stdout.flush()


PARTS["losses"] = losses_part


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default=None, help="comma-separated parts (default: all)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--small", action="store_true", help="losses: the 64x10 batch only (the added-microseconds targets)"
    )
    parser.add_argument(
        "--backends", default=None, help="measures: comma-separated backends (torch,jax,dask; default: all)"
    )
    parser.add_argument(
        "--jax-rows",
        choices=("all", "eager"),
        default="all",
        help="measures: every JAX row, or only eager vs the user's jax.jit (with and without normalize=True)",
    )
    parser.add_argument(
        "--dask-schedulers",
        choices=("all", "local", "cluster"),
        default="all",
        help="measures: the Dask rows on the local threaded scheduler, the 2-worker LocalCluster, or both",
    )
    args = parser.parse_args()
    names = args.part.split(",") if args.part else list(PARTS)
    for name in names:
        if name not in PARTS:
            parser.error(f"--part: unknown part {name!r}; choose from {', '.join(PARTS)}")
        PARTS[name](args)


if __name__ == "__main__":
    main()
