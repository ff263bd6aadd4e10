"""infoloss.coding: Huffman codes, range coding under a model, the compressed file format.

References are independent of the code under test: brute force over all Kraft-feasible length
profiles (Kraft-McMillan: the optimal prefix code is the cheapest feasible profile), NumPy's
``-log2 q`` sums, torch.nn.functional.cross_entropy, and byte-for-byte comparison.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from infoloss import coding, cross_entropy, entropy
from infoloss.coding.container import MAGIC
from infoloss.coding.range import TOTAL, quantise
from tests.coding.formats import layout, resign

SEED_P = [1 / 2, 1 / 4, 1 / 8, 1 / 8]


def _distribution(draw, size_min=2, size_max=12, zeros=True):
    size = draw(st.integers(size_min, size_max))
    weights = draw(st.lists(st.floats(1e-6, 1.0), min_size=size, max_size=size))
    if zeros:
        mask = draw(st.lists(st.booleans(), min_size=size, max_size=size))
        weights = [0.0 if off else w for w, off in zip(weights, mask)]
        if sum(1 for w in weights if w > 0) < size_min:
            weights[:size_min] = [1.0] * size_min
    total = math.fsum(weights)
    return [w / total for w in weights]


distributions = st.composite(_distribution)


def _is_prefix_free(words) -> bool:
    words = sorted(words)
    return all(not b.startswith(a) for a, b in itertools.pairwise(words))


# --------------------------------------------------------------------------------------------
# Huffman codes
# --------------------------------------------------------------------------------------------


def test_seed_002_huffman_averages_entropy():
    code = coding.huffman_code(SEED_P)
    assert code == {0: "0", 1: "10", 2: "110", 3: "111"}
    assert coding.expected_length(code, SEED_P) == 1.75
    assert coding.expected_length(code, SEED_P) == pytest.approx(entropy(SEED_P, base=2), abs=1e-15)
    assert coding.code_lengths(code) == {0: 1, 1: 2, 2: 3, 3: 3}


@settings(max_examples=150, deadline=None)
@given(distributions())
def test_kraft_equality_prefix_free_and_entropy_bounds(p):
    code = coding.huffman_code(p)
    assert set(code) == {i for i, value in enumerate(p) if value > 0}
    assert coding.kraft_sum(code) == 1.0
    assert _is_prefix_free(code.values())
    length, h = coding.expected_length(code, p), entropy(p, base=2)
    assert h - 1e-12 <= length < h + 1


_PROFILES = {n: np.array(list(itertools.product(range(1, n), repeat=n))) for n in range(2, 7)}
_FEASIBLE = {n: profiles[(2.0**-profiles).sum(axis=1) <= 1] for n, profiles in _PROFILES.items()}


@pytest.mark.parametrize("n", range(2, 7))
def test_huffman_is_optimal_against_brute_force(n):
    rng = np.random.default_rng(n)
    for concentration in (0.2, 1.0, 5.0):
        for _ in range(8):
            p = rng.dirichlet(np.full(n, concentration))
            p = np.maximum(p, 1e-9)
            p /= p.sum()
            best = float((_FEASIBLE[n] @ p).min())  # cheapest Kraft-feasible length profile
            assert coding.expected_length(coding.huffman_code(p), p) == pytest.approx(best, rel=1e-12)


def test_ties_are_deterministic_and_give_the_shallow_code():
    p = [0.4, 0.2, 0.2, 0.1, 0.1]  # two optimal profiles: (2,2,2,3,3) and (1,2,3,4,4)
    code = coding.huffman_code(p)
    assert code == {0: "00", 1: "01", 2: "10", 3: "110", 4: "111"}
    assert all(coding.huffman_code(list(p)) == code for _ in range(3))
    assert coding.huffman_code([0.2] * 5) == {0: "00", 1: "01", 2: "10", 3: "110", 4: "111"}
    for n in range(2, 40):  # equal probabilities: lengths never decrease along the input
        lengths = list(coding.code_lengths(coding.huffman_code([1 / n] * n)).values())
        assert lengths == sorted(lengths) and max(lengths) - min(lengths) <= 1


def test_one_symbol_alphabet_gets_code_0():
    assert coding.huffman_code([1.0]) == {0: "0"}
    assert coding.huffman_code({"x": 1.0, "y": 0.0}) == {"x": "0"}
    assert coding.expected_length({"x": "0"}, {"x": 1.0}) == 1.0
    assert coding.kraft_sum({"x": "0"}) == 0.5


def test_zero_probability_symbols_get_no_codeword():
    code = coding.huffman_code({"a": 0.5, "b": 0.0, "c": 0.5})
    assert code == {"a": "0", "c": "1"}
    assert coding.expected_length(code, {"a": 0.5, "b": 0.25, "c": 0.25}) == math.inf
    assert cross_entropy([0.5, 0.25, 0.25], [0.5, 0.0, 0.5], base=2) == math.inf  # same convention


@settings(max_examples=60, deadline=None)
@given(distributions(zeros=False), st.data())
def test_code_for_dyadic_q_costs_cross_entropy_under_p(p, data):
    # A complete dyadic q: lengths of a Huffman code of anything, q_i = 2^-l_i.
    lengths = coding.code_lengths(coding.huffman_code(data.draw(distributions(len(p), len(p), zeros=False))))
    q = [2.0 ** -lengths[i] for i in range(len(p))]
    code = coding.huffman_code(q)
    assert all(len(code[i]) == lengths[i] for i in range(len(p)))  # Huffman of dyadic q: -log2 q
    assert coding.expected_length(code, p) == pytest.approx(cross_entropy(p, q, base=2), rel=1e-12)


def test_mappings_counts_and_labels_keep_their_order():
    code = coding.huffman_code({"z": 3, "a": 1, "m": 1, "q": 0}, normalize=True)
    assert list(code) == ["z", "a", "m"]
    assert code == {"z": "0", "a": "10", "m": "11"}
    assert coding.expected_length(code, {"z": 3, "a": 1, "m": 1}, normalize=True) == pytest.approx(1.4)


def test_kraft_sum_of_lengths_and_codes():
    assert coding.kraft_sum([1, 2, 3]) == 0.875
    assert coding.kraft_sum({"a": 1, "b": 1}) == 1.0
    assert coding.kraft_sum([1, 1, 1]) == 1.5  # no prefix code has these lengths


def test_torch_input():
    import torch

    assert coding.huffman_code(torch.tensor(SEED_P, dtype=torch.float64)) == {
        0: "0",
        1: "10",
        2: "110",
        3: "111",
    }


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: coding.huffman_code([0.5, 0.6]), ValueError, "sums to"),
        (lambda: coding.huffman_code([0.5, -0.1, 0.6]), ValueError, r"p\[1\].*negative"),
        (lambda: coding.huffman_code([[0.5, 0.5], [0.5, 0.5]]), ValueError, "1-D"),
        (lambda: coding.kraft_sum({"a": "01x"}), ValueError, r"code\['a'\]"),
        (lambda: coding.kraft_sum([1, -2]), ValueError, r"code\[1\]"),
        (lambda: coding.code_lengths(["0", "1"]), TypeError, "mapping"),
        (lambda: coding.expected_length({0: "0"}, [0.5, 0.6]), ValueError, "sums to"),
    ],
)
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --------------------------------------------------------------------------------------------
# Arithmetic (range) coding under a model
# --------------------------------------------------------------------------------------------


def _reference_bits(x, table):
    """sum -log2 q_i(x_i), computed here with NumPy."""
    table = np.atleast_2d(np.asarray(table, dtype=np.float64))
    rows = np.zeros(len(x), dtype=int) if table.shape[0] == 1 else np.arange(len(x))
    return float(-np.log2(table[rows, np.asarray(x, dtype=int)]).sum()) if len(x) else 0.0


def _within_bound(bits, ideal, n):
    # At most two 32-bit words of flush, plus the 24-bit model's rounding (~1e-4 bit/symbol).
    return bits <= ideal + 64 + 1e-3 * n


@st.composite
def models_and_messages(draw):
    size = draw(st.integers(1, 8))
    style = draw(st.sampled_from(["plain", "skewed", "tiny"]))
    weights = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=size, max_size=size)))
    if style == "skewed" and size > 1:
        weights[1:] *= 1e-7
    if style == "tiny" and size > 1:
        weights[-1] = 1e-300  # positive, far below the coder's 2^-24 resolution
    q = weights / weights.sum()
    n = draw(st.integers(0, 200))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.choice(size, size=n, p=q)
    if n and draw(st.booleans()):
        x[rng.integers(n)] = size - 1  # make sure the rarest symbol occurs sometimes
    per_position = draw(st.booleans())
    if per_position:
        rows = rng.dirichlet(np.ones(size), size=n) if size > 1 else np.ones((n, 1))
        rows[np.arange(n), x] += 1e-3  # every coded symbol possible
        q = rows / rows.sum(axis=1, keepdims=True)
    return x, q


@settings(max_examples=150, deadline=None)
@given(models_and_messages())
def test_round_trip_and_size_bound(case):
    x, q = case
    message = coding.arithmetic_encode(x, q)
    assert message.length == len(x)
    assert message.ideal_bits == pytest.approx(_reference_bits(x, q), rel=1e-12, abs=1e-12)
    assert _within_bound(message.bits, message.ideal_bits, len(x))
    decoded = coding.arithmetic_decode(message, q)
    assert decoded.dtype == np.int64
    np.testing.assert_array_equal(decoded, x)


@pytest.mark.parametrize("n", [0, 1])
def test_length_zero_and_one(n):
    q = [0.3, 0.7]
    message = coding.arithmetic_encode([1] * n, q)
    assert message.bits == (0 if n == 0 else 32)
    assert message.ideal_bits == (0.0 if n == 0 else pytest.approx(-math.log2(0.7)))
    assert coding.arithmetic_decode(message, q).tolist() == [1] * n


def test_one_symbol_alphabet_costs_nothing():
    message = coding.arithmetic_encode([0] * 1000, [1.0])
    assert (message.bits, message.ideal_bits) == (0, 0.0)
    assert coding.arithmetic_decode(message, [1.0]).tolist() == [0] * 1000


def test_size_tracks_information_content_closely():
    rng = np.random.default_rng(1)
    q = rng.dirichlet(np.ones(50))
    x = rng.choice(50, size=20_000, p=q)
    message = coding.arithmetic_encode(x, q)
    ideal = _reference_bits(x, q)
    assert ideal - 1 <= message.bits <= ideal + 64 + 2e-4 * len(x)


def test_classifier_predictions_code_in_n_times_cross_entropy_bits():
    import torch

    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(3000, 10, generator=generator, dtype=torch.float64) * 2
    labels = torch.multinomial(torch.softmax(logits * 0.8, dim=1), 1, generator=generator).squeeze(1)
    predicted = torch.softmax(logits, dim=1)  # a torch tensor goes in as is
    message = coding.arithmetic_encode(labels, predicted)
    reference = torch.nn.functional.cross_entropy(logits, labels, reduction="sum").item() / math.log(2)
    assert message.ideal_bits == pytest.approx(reference, rel=1e-9)
    assert reference - 1 <= message.bits <= reference + 64 + 1e-3 * len(labels)
    np.testing.assert_array_equal(coding.arithmetic_decode(message, predicted), labels.numpy())


def test_labels_with_a_mapping_model():
    q = {"sun": 0.5, "rain": 0.25, "snow": 0.25}
    symbols = ["sun", "snow", "sun", "rain"]
    message = coding.arithmetic_encode(symbols, q)
    assert message.ideal_bits == 6.0
    assert coding.arithmetic_decode(message, q) == symbols
    assert coding.ideal_code_length(symbols, q) == 6.0


def test_zero_probability_is_an_error_naming_position_and_symbol():
    with pytest.raises(ValueError, match=r"symbols\[2\] = 2 has probability 0 under q,.*floor"):
        coding.arithmetic_encode([0, 1, 2, 0], [0.5, 0.5, 0.0])
    rows = [[0.5, 0.5], [1.0, 0.0], [0.2, 0.8]]
    with pytest.raises(ValueError, match=r"symbols\[1\] = 1 has probability 0 under q\[1\]"):
        coding.arithmetic_encode([0, 1, 1], rows)
    with pytest.raises(ValueError, match=r"symbols\[1\] = 'b' has probability 0"):
        coding.arithmetic_encode(["a", "b"], {"a": 1.0, "b": 0.0})
    assert coding.ideal_code_length([0, 2], [0.5, 0.5, 0.0]) == math.inf


def test_floor_makes_every_symbol_codable():
    q, floor = [0.5, 0.5, 0.0], 1e-6
    x = [0, 2, 1, 2]
    message = coding.arithmetic_encode(x, q, floor=floor)
    floored = np.maximum(q, floor) / np.maximum(q, floor).sum()
    assert message.ideal_bits == pytest.approx(_reference_bits(x, floored), rel=1e-12)
    assert _within_bound(message.bits, message.ideal_bits, len(x))
    assert coding.arithmetic_decode(message, q, floor=floor).tolist() == x


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: coding.arithmetic_encode([0, 3], [0.5, 0.5]), ValueError, r"symbols\[1\] = 3 is outside"),
        (lambda: coding.arithmetic_encode([0, -1], [0.5, 0.5]), ValueError, r"symbols\[1\] = -1"),
        (lambda: coding.arithmetic_encode([0, 0.5], [0.5, 0.5]), TypeError, r"symbols\[1\]"),
        (lambda: coding.arithmetic_encode([[0]], [0.5, 0.5]), ValueError, "1-D"),
        (lambda: coding.arithmetic_encode([0, 1], [[0.5, 0.5]] * 3), ValueError, "3 per-position"),
        (
            lambda: coding.arithmetic_encode(["x"], {"a": 1.0}),
            ValueError,
            r"symbols\[0\] = 'x' is not a label",
        ),
        (lambda: coding.arithmetic_encode([0], [0.5, 0.5], floor=0), ValueError, "floor"),
        (lambda: coding.arithmetic_encode([0], [0.5, 0.6]), ValueError, "sums to"),
        (lambda: coding.arithmetic_encode([0], np.full((1, 1, 2), 0.5)), ValueError, "2-D"),
        (lambda: coding.arithmetic_decode(b"", [0.5, 0.5]), TypeError, "Compressed"),
    ],
)
def test_arithmetic_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_coder_probabilities_match_the_coder_on_tiny_probabilities():
    # Per-position rows with many coded symbols below 2^-24: the coder charges them its own
    # weight (1 or 2 units of 2^-24), far from -log2 q; one unit off on any of them would show
    # as about a bit each, so 64 bits of slack over 20000 symbols pins the rule down.
    rng = np.random.default_rng(5)
    q = rng.dirichlet(np.full(10, 0.05), size=20000) + 1e-13
    q /= q.sum(axis=1, keepdims=True)
    symbols = np.concatenate([[rng.choice(10, p=row) for row in q[:100]], np.argmin(q[100:], axis=1)])
    message = coding.arithmetic_encode(symbols, q)
    used = coding.coder_probabilities(q)
    assert used.shape == q.shape and used.dtype == np.float64
    assert 0 <= message.bits - coding.ideal_code_length(symbols, used) <= 64
    assert abs(message.bits - message.ideal_bits) > 10000  # the unquantised ideal is far off
    weights = used * TOTAL
    np.testing.assert_array_equal(weights, np.round(weights))
    assert weights.min() >= 1
    np.testing.assert_array_equal(weights.sum(axis=1), TOTAL)


def test_coder_probabilities_match_the_coder_on_mid_weights_and_one_fixed_model():
    # Coded symbols of about 1000 units with random fractional parts: one unit off costs
    # 1.4e-3 bit, over 60000 symbols about 90 bits: beyond the 64-bit slack.
    rng = np.random.default_rng(6)
    n = 60000
    small = (1000 + rng.random(n)) / TOTAL
    q = np.stack([small, rng.random(n), rng.random(n)], axis=1)
    q[:, 1:] *= (1 - small)[:, None] / q[:, 1:].sum(axis=1, keepdims=True)
    symbols = np.zeros(n, dtype=np.int64)
    message = coding.arithmetic_encode(symbols, q)
    assert 0 <= message.bits - coding.ideal_code_length(symbols, coding.coder_probabilities(q)) <= 64
    # One fixed model (constriction's non-lazy model, same rule), symbols of 1e-9 and 3e-8.
    fixed = np.array([1e-9, 3e-8, 0.25, 0.0])
    fixed[3] = 1 - fixed.sum()
    symbols = rng.choice(2, size=30000)
    message = coding.arithmetic_encode(symbols, fixed)
    used = coding.coder_probabilities(fixed)
    assert used.shape == (4,) and (used[:2] * TOTAL).tolist() == [1.0, 1.0]
    assert 0 <= message.bits - coding.ideal_code_length(symbols, used) <= 64


def test_coder_probabilities_options_and_labels():
    q = [3.0, 1.0, 0.0]
    floored = coding.coder_probabilities(q, normalize=True, floor=1e-3)
    symbols = [0, 1, 2, 2, 0]
    message = coding.arithmetic_encode(symbols, q, normalize=True, floor=1e-3)
    assert 0 <= message.bits - coding.ideal_code_length(symbols, floored) <= 64
    assert floored[2] == pytest.approx(1e-3 / 1.001, rel=1e-3)  # max(p, floor) renormalised
    by_label = coding.coder_probabilities({"a": 0.75, "b": 0.25})
    assert by_label == dict(zip("ab", coding.coder_probabilities([0.75, 0.25]).tolist()))
    assert coding.coder_probabilities([1.0]).tolist() == [1.0]
    with pytest.raises(ValueError, match="floor"):
        coding.coder_probabilities(q, normalize=True, floor=2)


# --------------------------------------------------------------------------------------------
# Byte compressor and its file format
# --------------------------------------------------------------------------------------------


def _skewed_bytes(n, seed=0, exponent=1.2, values=256):
    rng = np.random.default_rng(seed)
    w = 1.0 / np.arange(1, values + 1) ** exponent
    return rng.choice(values, size=n, p=w / w.sum()).astype(np.uint8).tobytes()


@pytest.mark.parametrize(
    "data",
    [b"", b"a", b"\x00" * 5000, bytes(range(256)) * 4, b"abracadabra" * 37, _skewed_bytes(50_001)],
    ids=["empty", "one-byte", "one-symbol", "all-bytes", "text", "skewed-odd-length"],
)
@pytest.mark.parametrize("version", [1, 2])
def test_compress_round_trip(data, version):
    blob = coding.compress(data, format_version=version)
    assert blob.startswith(MAGIC) and layout(blob)["version"] == version
    assert coding.decompress(blob) == data


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([1, 2]), st.integers(1, 64))
def test_compress_round_trip_hypothesis(data, version, block_bytes):
    import infoloss.coding.container as container

    original, container.CHUNK = container.CHUNK, block_bytes  # many version-2 blocks
    try:
        blob = coding.compress(data, format_version=version)
    finally:
        container.CHUNK = original
    assert coding.decompress(blob) == data


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_version_2_blocks_decode_the_same_on_any_number_of_workers(workers, monkeypatch):
    import infoloss.coding.container as container

    data = _skewed_bytes(30_001)
    monkeypatch.setattr(container, "CHUNK", 4096)  # 8 blocks
    blob = coding.compress(data, workers=workers)
    assert layout(blob)["blocks"] == 8
    assert blob == coding.compress(data, workers=1)  # the workers change nothing in the output
    assert coding.decompress(blob, workers=workers) == data
    assert coding.decompress(coding.compress(data, format_version=1), workers=workers) == data


def test_version_2_index_is_as_documented():
    import infoloss.coding.container as container

    data = _skewed_bytes(2 * container.CHUNK + 5)
    blob = coding.compress(data)
    where = layout(blob)
    n, block_bytes, blocks = struct.unpack_from("<QII", blob, 12)
    assert (n, block_bytes, blocks) == (len(data), container.CHUNK, 3)
    index = np.frombuffer(
        blob[where["index"] : where["header_crc"]],
        dtype=[("offset", "<u8"), ("length", "<u4"), ("crc", "<u4")],
    )
    assert index["offset"].tolist() == [0, int(index["length"][0]), int(index["length"][:2].sum())]
    assert where["header_size"] + int(index["length"].sum()) == len(blob)
    payload = blob[where["header_size"] :]
    for offset, length, crc in index.tolist():
        assert zlib.crc32(payload[offset : offset + length]) == crc
    # Each block decodes alone with the model: independent coders.
    k = where["k"]
    entries = np.frombuffer(blob[62 : 62 + 5 * k], dtype=[("byte", "u1"), ("frequency", "<u4")])
    from infoloss.coding.blocks import BlockModel, decode_block

    model = BlockModel(entries["byte"].copy(), entries["frequency"].astype(np.int64))
    offset, length, crc = index.tolist()[2]
    assert decode_block(model, payload[offset : offset + length], crc, 5).tobytes() == data[-5:]


def test_bad_format_version_and_workers_are_named():
    with pytest.raises(ValueError, match="format_version"):
        coding.compress(b"abc", format_version=3)
    with pytest.raises(TypeError, match="workers"):
        coding.compress(b"abc", workers=1.5)
    with pytest.raises(ValueError, match="workers"):
        coding.decompress(coding.compress(b"abc"), workers=0)


def test_byte_counts_match_numpy(tmp_path):
    data = _skewed_bytes(12_345, seed=3)
    expected = np.bincount(np.frombuffer(data, np.uint8), minlength=256)
    np.testing.assert_array_equal(coding.byte_counts(data), expected)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    np.testing.assert_array_equal(coding.byte_counts(path), expected)


def test_quantised_model_sums_to_2_24_and_keeps_every_byte():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(256, 0.05))
    p[::7] = 0
    p[3] = 1e-12  # far below 2^-24: still gets a frequency of 1
    p /= p.sum()
    f = quantise(p)
    assert f.sum() == TOTAL
    assert np.array_equal(f > 0, p > 0)
    assert quantise(np.eye(256)[5]).tolist() == (np.eye(256, dtype=int)[5] * TOTAL).tolist()


def test_payload_is_n_times_entropy(tmp_path):
    data = _skewed_bytes(200_000, seed=1)
    source, target = tmp_path / "data.bin", tmp_path / "data.ilc"
    source.write_bytes(data)
    stats = coding.compress_file(source, target)
    counts = np.bincount(np.frombuffer(data, np.uint8), minlength=256)
    p = counts[counts > 0] / len(data)
    h = float(-(p * np.log2(p)).sum())
    assert stats.entropy == pytest.approx(h, rel=1e-12)
    assert stats.kl_divergence < 1e-6
    assert stats.compressed_bytes == target.stat().st_size == stats.header_bytes + stats.payload_bytes
    assert len(data) * h / 8 <= stats.payload_bytes <= len(data) * stats.cross_entropy / 8 * 1.0001 + 8
    assert stats.overhead < 1e-3


def test_other_model_grows_the_output_by_the_kl(tmp_path):
    data, other = _skewed_bytes(200_000, seed=1, exponent=1.2), _skewed_bytes(200_000, seed=2, exponent=1.6)
    source = tmp_path / "data.bin"
    source.write_bytes(data)
    own = coding.compress_file(source, tmp_path / "own.ilc")
    cross = coding.compress_file(source, tmp_path / "cross.ilc", model=coding.byte_counts(other), floor=1e-7)
    assert cross.model == "given" and own.model == "fitted"
    assert cross.entropy == own.entropy
    assert cross.cross_entropy == pytest.approx(cross.entropy + cross.kl_divergence, rel=1e-12)
    assert cross.kl_divergence > 0.05
    growth = cross.payload_bits_per_byte - own.payload_bits_per_byte
    assert growth == pytest.approx(cross.kl_divergence - own.kl_divergence, abs=1e-3)
    coding.decompress_file(tmp_path / "cross.ilc", tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == data


def test_unmodelled_byte_is_an_error_naming_offset_unless_floored():
    model = coding.byte_counts(b"hell")
    with pytest.raises(
        ValueError, match=r"byte 111 \(0x6f, b'o'\) at offset 4 of data has probability 0.*floor"
    ):
        coding.compress(b"hello", model=model)
    assert coding.decompress(coding.compress(b"hello", model=model, floor=1e-6)) == b"hello"


@pytest.mark.parametrize(
    "model, floor, match",
    [
        (np.ones(255), None, r"shape \(256,\)"),
        (-np.ones(256), None, r"model\[0\]"),
        (np.zeros(256), None, "all zeros"),
        (np.ones(256), 1.5, "floor"),
    ],
)
def test_bad_model_or_floor(model, floor, match):
    with pytest.raises(ValueError, match=match):
        coding.compress(b"abc", model=model, floor=floor)


FORMATS = ["v1", "v2", "v2-blocks"]  # every damage test runs on each


def _blob(format_name="v1"):
    import infoloss.coding.container as container

    data = b"the quick brown fox jumps over the lazy dog " * 3
    if format_name == "v2-blocks":
        original, container.CHUNK = container.CHUNK, 40  # 4 blocks
        try:
            blob = coding.compress(data)
        finally:
            container.CHUNK = original
        assert layout(blob)["blocks"] == 4
        return blob
    return coding.compress(data, format_version=1 if format_name == "v1" else 2)


@pytest.mark.parametrize("format_name", FORMATS)
def test_every_truncation_is_refused(format_name):
    blob = _blob(format_name)
    for cut in range(len(blob)):
        with pytest.raises(coding.FormatError, match=r"truncated|empty"):
            coding.decompress(blob[:cut])


@pytest.mark.parametrize("format_name", FORMATS)
def test_every_flipped_bit_is_refused(format_name):
    blob = _blob(format_name)
    for position in range(len(blob)):
        for bit in range(8):
            damaged = bytearray(blob)
            damaged[position] ^= 1 << bit
            with pytest.raises(coding.FormatError):
                coding.decompress(bytes(damaged))


@pytest.mark.parametrize("format_name", FORMATS)
def test_wrong_magic_version_and_trailing_bytes_are_named(format_name):
    blob = _blob(format_name)
    with pytest.raises(coding.FormatError, match="not an infoloss compressed file"):
        coding.decompress(b"PK\x03\x04" + blob[4:])
    with pytest.raises(coding.FormatError, match="not an infoloss compressed file"):
        coding.decompress(b"hello, world, this is plain text")
    newer = blob[:8] + struct.pack("<H", 3) + blob[10:]
    with pytest.raises(coding.FormatError, match="format version 3; this infoloss reads versions 1 and 2"):
        coding.decompress(newer)
    with pytest.raises(coding.FormatError, match="1 unexpected byte"):
        coding.decompress(blob + b"\x00")
    with pytest.raises(coding.FormatError, match="empty"):
        coding.decompress(b"")


@pytest.mark.parametrize("format_name", FORMATS)
def test_consistent_checksums_but_wrong_content_is_refused(format_name):
    # Re-sign a damaged payload (valid CRCs): the SHA-256 of the decoded bytes still catches it.
    blob = bytearray(_blob(format_name))
    blob[layout(blob)["header_size"]] ^= 0xFF
    with pytest.raises(coding.FormatError, match=r"SHA-256|cannot be decoded|exhausted"):
        coding.decompress(resign(blob))


@pytest.mark.parametrize("format_name", FORMATS)
@pytest.mark.parametrize(
    "field",
    [
        "length",
        "kind",
        "precision",
        "k",
        "entry",
        "block-length",
        "block-count",
        "block-offset",
        "block-payload-length",
        "payload-length",
    ],
)
def test_every_resigned_header_field_change_is_refused(format_name, field):
    # Header CRC (and payload CRCs) recomputed after the change: only the consistency checks,
    # the decoder's word count or the SHA-256 can stop it; never a wrong output.
    blob = _blob(format_name)
    where = layout(blob)
    if field not in where["fields"]:
        pytest.skip(f"{format_name} has no field {field}")
    for delta in (1, 2, 0x80):
        damaged = bytearray(blob)
        damaged[where["fields"][field]] ^= delta
        if format_name == "v2" and field == "block-length":
            # One block: any B >= n describes the same file, so it may decode, but only to the original.
            with contextlib.suppress(coding.FormatError):
                assert coding.decompress(resign(damaged, where)) == coding.decompress(blob)
            continue
        with pytest.raises(coding.FormatError):
            coding.decompress(resign(damaged, where))


@pytest.mark.parametrize("version", [1, 2])
def test_files_no_overwrite_without_force_and_nothing_written_on_failure(tmp_path, version):
    source, target = tmp_path / "a.txt", tmp_path / "a.ilc"
    source.write_bytes(b"some text " * 100)
    target.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="force"):
        coding.compress_file(source, target, format_version=version)
    assert target.read_bytes() == b"keep me"
    coding.compress_file(source, target, force=True, format_version=version)
    with pytest.raises(ValueError, match="input file itself"):
        coding.compress_file(source, source, force=True)

    damaged = tmp_path / "bad.ilc"
    blob = bytearray(target.read_bytes())
    blob[-1] ^= 1
    damaged.write_bytes(bytes(blob))
    with pytest.raises(coding.FormatError):
        coding.decompress_file(damaged, tmp_path / "out.txt")
    assert sorted(os.listdir(tmp_path)) == ["a.ilc", "a.txt", "bad.ilc"]  # no output, no temporary
    stats = coding.decompress_file(target, tmp_path / "out.txt")
    assert (tmp_path / "out.txt").read_bytes() == source.read_bytes()
    assert stats.original_bytes == 1000


@pytest.mark.parametrize("version", [1, 2])
def test_empty_file(tmp_path, version):
    source = tmp_path / "empty"
    source.write_bytes(b"")
    stats = coding.compress_file(source, tmp_path / "empty.ilc", format_version=version)
    assert stats.original_bytes == 0 and stats.payload_bytes == 0 and stats.entropy is None
    assert stats.bits_per_byte is None
    coding.decompress_file(tmp_path / "empty.ilc", tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == b""


@pytest.mark.parametrize("version, workers", [(1, None), (2, 1), (2, 2)])
def test_progress_reports_every_phase(tmp_path, monkeypatch, version, workers):
    import infoloss.coding.container as container

    monkeypatch.setattr(container, "CHUNK", 1000)
    data = _skewed_bytes(4500)
    (tmp_path / "d").write_bytes(data)
    calls = []
    coding.compress_file(
        tmp_path / "d",
        tmp_path / "d.ilc",
        progress=lambda *a: calls.append(a),
        format_version=version,
        workers=workers,
    )
    coding.decompress_file(
        tmp_path / "d.ilc", tmp_path / "e", progress=lambda *a: calls.append(a), workers=workers
    )
    assert [c for c in calls if c[0] == "scan"][-1] == ("scan", 4500, 4500)
    assert [c[1] for c in calls if c[0] == "encode"] == [1000, 2000, 3000, 4000, 4500]
    assert [c[1] for c in calls if c[0] == "decode"] == [1000, 2000, 3000, 4000, 4500]
    assert (tmp_path / "e").read_bytes() == data


def _heap_huffman_lengths(weights):
    """Reference: the textbook heap construction with the documented tie rules (leaves before
    subtrees, later leaves first, older subtrees first), written independently of the library."""
    import heapq

    n = len(weights)
    heap = [(w, 0, -i, i) for i, w in enumerate(weights)]
    heapq.heapify(heap)
    parent, node = {}, n
    while len(heap) > 1:
        w1, *_, a = heapq.heappop(heap)
        w2, *_, b = heapq.heappop(heap)
        parent[a] = parent[b] = node
        heapq.heappush(heap, (w1 + w2, 1, node, node))
        node += 1

    def depth(v):
        d = 0
        while v in parent:
            v, d = parent[v], d + 1
        return d

    return [depth(i) for i in range(n)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([1.0, 2.0, 3.0, 0.5, 0.25, 1e-3, 7.0]), min_size=2, max_size=40))
def test_two_queue_construction_equals_the_heap_with_its_tie_rules(weights):
    from infoloss.coding.huffman import _huffman_lengths

    assert _huffman_lengths(np.array(weights)).tolist() == _heap_huffman_lengths(weights)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from([1.0, 2.0, 3.0, 4.0, 0.5]), st.floats(1e-30, 1e30)),
        min_size=2,
        max_size=600,
    )
)
def test_vectorised_rounds_equal_the_heap_on_long_inputs(weights):
    # Long runs of ties (many pairs per round) mixed with weights spanning 60 decades (one pair per round).
    from infoloss.coding.huffman import _huffman_lengths

    assert _huffman_lengths(np.array(weights)).tolist() == _heap_huffman_lengths(weights)


def test_array_forms_give_the_same_code():
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.full(3000, 0.3))
    p[[5, 17]] = 0.0
    p /= p.sum()
    code = coding.huffman_code(p)
    lengths = coding.huffman_lengths(p)
    assert lengths.dtype == np.int64 and lengths[5] == lengths[17] == 0
    assert {i: len(w) for i, w in code.items()} == {i: int(n) for i, n in enumerate(lengths) if n}
    assert coding.canonical_code(lengths) == code
    assert coding.canonical_code(lengths, symbols=[17, 3, 2999]) == {3: code[3], 2999: code[2999]}
    assert coding.expected_length(lengths, p) == coding.expected_length(code, p)
    assert coding.kraft_sum(lengths) == coding.kraft_sum(code) == 1.0
    assert coding.kraft_sum(lengths.tolist()) == 1.0
    # q's code under p: a symbol p can emit but q gave no codeword costs infinitely many bits.
    q = np.r_[0.5, 0.5, 0.0]
    assert coding.expected_length(coding.huffman_lengths(q), [0.25, 0.25, 0.5]) == math.inf
    assert coding.expected_length(coding.huffman_lengths(q), [0.25, 0.75, 0.0]) == 1.0


def test_canonical_code_is_deflates_and_checks_its_input():
    # RFC 1951 sec. 3.2.2's example: lengths (3, 3, 3, 3, 3, 2, 4, 4) for A..H.
    words = coding.canonical_code([3, 3, 3, 3, 3, 2, 4, 4])
    assert list(words.values()) == ["010", "011", "100", "101", "110", "00", "1110", "1111"]
    with pytest.raises(ValueError, match=r"Kraft sum 1\.5 > 1"):
        coding.canonical_code([1, 1, 1])
    with pytest.raises(ValueError, match=r"code\[1\]"):
        coding.canonical_code(np.array([1, -1]))
    with pytest.raises(ValueError, match="symbols = 7"):
        coding.canonical_code([1, 1], symbols=[7])
    with pytest.raises(ValueError, match="has 2 lengths but p has 3 symbols"):
        coding.expected_length([1, 1], [0.5, 0.25, 0.25])
    assert coding.kraft_sum([0, 1]) == 0.5  # 0: no codeword


def test_codes_deeper_than_63_bits():
    p = np.array([2.0**-i for i in range(1, 90)] + [2.0**-89])  # lengths 1 .. 89, 89
    code = coding.huffman_code(p)
    assert [len(code[i]) for i in range(len(p))] == [*range(1, 90), 89]
    assert coding.kraft_sum(code) == 1.0 and _is_prefix_free(code.values())
    assert code[88] == "1" * 88 + "0" and code[89] == "1" * 89


def test_forged_compressed_length_is_refused_before_decoding():
    message = coding.arithmetic_encode([0, 1, 0, 0], [0.5, 0.5])
    forged = coding.Compressed(data=message.data, length=10**12, ideal_bits=message.ideal_bits)
    with pytest.raises(ValueError, match="announces 1000000000000 symbols"):
        coding.arithmetic_decode(forged, [0.5, 0.5])


def test_public_names_resolve_lazily_from_their_modules():
    import infoloss.coding as package
    from infoloss.coding import container, files, huffman, range as range_module

    assert set(package.__all__) == set(package._HOMES)
    modules = {"container": container, "files": files, "huffman": huffman, "range": range_module}
    for name, home in package._HOMES.items():
        assert getattr(package, name) is getattr(modules[home], name)
        assert name in getattr(modules[home], "__all__", [name])
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        package.nothing  # noqa: B018 - the attribute access is what raises


def test_workers_start_safely_while_other_threads_run(monkeypatch):
    # With another thread alive, workers are not forked from this process (a lock held by that
    # thread would stay held in the child); they come from a fork server and give the same bytes.
    import threading

    import infoloss.coding.container as container
    from infoloss.coding import blocks

    monkeypatch.setattr(container, "CHUNK", 4096)
    data = _skewed_bytes(20_000)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert blocks._context().get_start_method() != "fork"
        blob = coding.compress(data, workers=2)
        assert coding.decompress(blob, workers=2) == data
    finally:
        stop.set()
        thread.join()
    assert blob == coding.compress(data, workers=1)
    # Forking is back once this process runs one thread again (earlier tests may have left the
    # measures' thread pool running, and then it is not).
    assert (blocks._context().get_start_method() == "fork") == (threading.active_count() == 1)


# Written by infoloss before format version 2 existed (the tree of commit 0c40178), from the text below.
_OLD_VERSION_1_FILE = bytes.fromhex(
    "89494c430d0a1a0a01000118b4000000000000006400000000000000c420c0222c78397f82325b348786a8bd97b8b887"
    "2d65c29ea8e136ac8ab26251b62fea711c0020343333002c5bb00500615bb00500625bb00500635bb00500645bb00500"
    "6511111100665bb00500675bb0050068b6600b00695bb005006a5bb005006b5bb005006c5bb005006d5bb005006e5bb0"
    "05006f6cc11600705bb00500715bb0050072b6600b00735bb0050074b6600b0075b6600b00765bb00500775bb0050078"
    "5bb00500795bb005007a5bb00500a40d0dedb525c4d1c6075384c80fa28d08b319d6b53ed1db6348f8a9260510a63255"
    "6acc09eab65fa94fb935f99059607a717a3b6d82d5ab47f89d6defa0081f0d1c5ff6ce2027b54cd51fcc69ee31f7c8ca"
    "174dd97aa815a9add57baad3ca41d1cb9b6d03c7bbd2"
)


def test_a_file_written_before_version_2_still_decodes_and_version_1_is_still_written_the_same():
    text = b"the quick brown fox jumps over the lazy dog, " * 4
    assert layout(_OLD_VERSION_1_FILE)["version"] == 1
    assert coding.decompress(_OLD_VERSION_1_FILE) == text
    assert coding.compress(text, format_version=1) == _OLD_VERSION_1_FILE
