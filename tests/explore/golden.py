"""Golden values for the page's JavaScript math (src/infoloss/explore/core.mjs), from infoloss.

``golden()`` computes every number the page shows with the library (measures in bits and nats,
Huffman codewords and expected lengths, softmax with temperature) and with independent
references where the library has no such function (PyTorch's autograd for the gradient of the
cross-entropy loss, a Python SplitMix64 written from Vigna's reference for the sample button).
tests/explore/test_core_js.py compares it with the committed tests/explore/js/golden.json and
runs ``node --test tests/explore/js``, which checks core.mjs against that file to 1e-12.

Regenerate the file after a deliberate change with
``INFOLOSS_WRITE_GOLDEN=1 .venv/bin/python -m pytest -q -p no:xdist tests/explore/test_core_js.py``.
"""

from __future__ import annotations

import math

import numpy as np

import infoloss
from infoloss import coding

MASK64 = (1 << 64) - 1


def golden() -> dict:
    """Every case of the golden file, as JSON-ready Python (Infinity as the string "Infinity")."""
    return {
        "distributions": [_measure_case(p, q) for p, q in _distribution_pairs()],
        "huffman": [_huffman_case(p) for p in _huffman_inputs()],
        "softmax": _softmax_cases(),
        "logits": _logits_cases(),
        "splitmix64": _splitmix_cases(),
        "samples": _sample_cases(),
    }


def splitmix64(seed: int):
    """SplitMix64 outputs (S. Vigna, splitmix64.c): state += golden gamma, then two xor-multiplies."""
    state = seed & MASK64
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        yield z ^ (z >> 31)


def sample(p, n: int, seed: int) -> list[int]:
    """n inverse-CDF draws from p: u = (top 53 bits) / 2^53 times the cumulative total."""
    cumulative = list(np.cumsum(np.asarray(p, dtype=np.float64)))  # sequential sums, like the page's
    total = cumulative[-1]
    last = max(i for i, v in enumerate(p) if v > 0)
    draws, out = splitmix64(seed), []
    for _ in range(n):
        u = (next(draws) >> 11) / 2.0**53 * total
        i = 0
        while i < last and not u < cumulative[i]:
            i += 1
        out.append(i)
    return out


# --------------------------------------------------------------------------------------------


def _number(value: float):
    value = float(value)
    return value if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")


def _distribution_pairs():
    rng = np.random.default_rng(11)
    pairs = []
    for k in list(range(2, 17)) * 2:
        p, q = rng.random(k), rng.random(k)
        p[rng.random(k) < 0.25] = 0  # zeros in p: 0 log 0 = 0
        q[rng.random(k) < 0.15] = 0  # zeros in q, some where p > 0: infinite CE and KL
        p[rng.integers(k)] += 0.1
        q[rng.integers(k)] += 0.1
        pairs.append((p / p.sum(), q / q.sum()))
    dyadic, uniform = [1 / 2, 1 / 4, 1 / 8, 1 / 8], [1 / 4] * 4
    pairs += [
        (dyadic, uniform),
        (dyadic, [1 / 8, 1 / 8, 1 / 4, 1 / 2]),
        ([0.14, 0.37, 0.03, 0.46], [0.15, 0.35, 0.04, 0.46]),
        ([0.8, 0.1, 0.1], [0.2, 0.2, 0.6]),
        ([1.0, 0.0], [0.0, 1.0]),  # disjoint supports: JS = ln 2, CE and KL infinite
        ([0.3, 0.7], [0.3, 0.7]),  # p = q: KL exactly 0
        ([1e-300, 1 - 1e-300], [0.5, 0.5]),
    ]
    return [(list(map(float, p)), list(map(float, q))) for p, q in pairs]


def _measure_case(p, q) -> dict:
    case = {"p": p, "q": q}
    for unit, base in (("nats", None), ("bits", 2)):
        case[unit] = {
            "entropyP": _number(infoloss.entropy(p, base=base)),
            "entropyQ": _number(infoloss.entropy(q, base=base)),
            "crossEntropy": _number(infoloss.cross_entropy(p, q, base=base)),
            "klPQ": _number(infoloss.kl_divergence(p, q, base=base)),
            "klQP": _number(infoloss.kl_divergence(q, p, base=base)),
            "js": _number(infoloss.js_divergence(p, q, base=base)),
        }
    code_p, code_q = coding.huffman_code(p), coding.huffman_code(q)
    case["codeP"] = [code_p.get(i) for i in range(len(p))]
    case["codeQ"] = [code_q.get(i) for i in range(len(q))]
    case["huffmanPLengthBits"] = _number(coding.expected_length(code_p, p))
    case["huffmanQLengthBits"] = _number(coding.expected_length(code_q, p))
    return case


def _huffman_inputs():
    rng = np.random.default_rng(12)
    inputs = [[1 / k] * k for k in range(2, 17)]  # all ties
    inputs += [[0.25, 0.25, 0.25, 0.125, 0.125], [0.2, 0.2, 0.2, 0.2, 0.1, 0.1], [0.1, 0.2, 0.3, 0.4]]
    inputs += [[0.0, 1.0], [0.5, 0.0, 0.5], [0.4, 0.2, 0.2, 0.1, 0.1]]
    for k in range(2, 17):
        counts = rng.integers(0, 4, size=k).astype(float)  # small counts: many equal weights
        counts[rng.integers(k)] += 1
        inputs.append(list(counts / counts.sum()))
    fib = [1.0, 1.0]
    while len(fib) < 16:
        fib.append(fib[-1] + fib[-2])
    inputs.append([f / sum(fib) for f in fib])  # the deepest tree: lengths up to 15
    return inputs


def _huffman_case(p) -> dict:
    code = coding.huffman_code(p)
    words = [code.get(i) for i in range(len(p))]
    return {
        "p": [float(v) for v in p],
        "words": words,
        "lengths": [len(w) if w else None for w in words],
        "expectedLengthBits": _number(coding.expected_length(code, p)),
    }


def _softmax_cases():
    rng = np.random.default_rng(13)
    cases = [
        ([1.0, 1.0, 3.0], 1.0),
        ([1.0, 1.0, 3.0], 2.0),
        ([1.0, 1.0, 4.0], 1.0),
        ([1000.0, 0.0, -1000.0], 1.0),
    ]
    cases.extend(
        (list(map(float, rng.normal(0, 4, size=k))), temperature)
        for k in range(2, 17, 2)
        for temperature in (0.25, 1.0, 3.7)
    )
    return [
        {
            "z": z,
            "temperature": t,
            "softmax": [float(v) for v in infoloss.softmax(z, temperature=t)],
            "logSoftmax": [float(v) for v in infoloss.log_softmax(z, temperature=t)],
        }
        for z, t in cases
    ]


def _logits_cases():
    """The loss and its gradient w.r.t. z: infoloss.losses for the value, torch autograd for both."""
    import torch

    rng = np.random.default_rng(14)
    cases = [([1.0, 1.0, 3.0], 1.0, [0.0, 0.0, 1.0], 0.0), ([2.0, 0.5, -1.0], 1.0, [0.7, 0.2, 0.1], 0.0)]
    for k in (2, 3, 5, 10, 16):
        z = list(map(float, rng.normal(0, 3, size=k)))
        target = np.eye(k)[rng.integers(k)].tolist() if k % 2 else list(rng.dirichlet(np.ones(k)))
        cases.append(
            (z, float(rng.choice([0.5, 1.0, 2.0])), [float(v) for v in target], float(rng.choice([0.0, 0.1])))
        )
    out = []
    for z, t, target, eps in cases:
        logits = torch.tensor(z, dtype=torch.float64, requires_grad=True)
        loss = torch.nn.functional.cross_entropy(
            (logits / t)[None], torch.tensor([target], dtype=torch.float64), label_smoothing=eps
        )
        loss.backward()
        library = infoloss.losses.cross_entropy(np.array(z) / t, np.array(target), label_smoothing=eps)
        assert math.isclose(float(library), loss.item(), rel_tol=1e-12), (z, t, target, eps)
        out.append(
            {
                "z": z,
                "temperature": t,
                "target": target,
                "smoothing": eps,
                "q": [float(v) for v in infoloss.softmax(z, temperature=t)],
                "loss": float(library),
                "gradient": logits.grad.tolist(),
            }
        )
    return out


def _splitmix_cases():
    cases = []
    for seed in (0, 1, 42, 1234567, MASK64):
        draws = splitmix64(seed)
        cases.append({"seed": str(seed), "outputs": [str(next(draws)) for _ in range(5)]})
    return cases


def _sample_cases():
    cases = []
    for p, n, seed in (
        ([0.5, 0.25, 0.125, 0.125], 200, 1),
        ([0.14, 0.37, 0.03, 0.46], 300, 7),
        ([0.0, 0.3, 0.0, 0.7], 100, 3),
        ([0.1] * 10, 100, 99),
    ):
        symbols = sample(p, n, seed)
        cases.append({"p": p, "n": n, "seed": seed, "symbols": symbols})
    return cases
