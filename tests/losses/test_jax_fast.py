"""JAX eager losses checked on the host (small CPU arrays): the same errors and bit-for-bit the
same values as the device-side check (the program's extremes) and the general eager path."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

from infoloss import InputError, _array, losses  # noqa: E402
from infoloss.losses import _jax_fast  # noqa: E402

PATHS = ("host", "device", "general")


def _outcome(call: Callable[..., Any], path: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    """What ``call(validate=True)`` gives on one path: ('value', array, what decided it: 'host'
    when the host's checks passed, 'extremes' when the program's extremes did, else 'general')
    or the error's type, text and fields."""
    verdicts: list[bool] = []

    def recorded(check: Callable[..., bool]) -> Callable[..., bool]:
        def checked(*args: Any, **kwargs: Any) -> bool:
            verdicts.append(check(*args, **kwargs))
            return verdicts[-1]

        return checked

    with monkeypatch.context() as patch:
        patch.setattr(_jax_fast, "_KERNELS", {})
        patch.setattr(_jax_fast, "HOST_CHECKS", {k: recorded(v) for k, v in _jax_fast.HOST_CHECKS.items()})
        if path == "device":  # every array counts as large: the program's extremes decide
            patch.setattr(_array, "HOST_CHECK_MAX_ENTRIES", 0)
        elif path == "general":
            patch.setattr(_jax_fast, "call", lambda *args: NotImplemented)
        try:
            result = call(validate=True)
        except Exception as error:  # noqa: BLE001 - compared field by field below
            fields = tuple(repr(getattr(error, f, None)) for f in ("argument", "index", "value", "hint"))
            return ("error", type(error), str(error), *fields)
        with_extremes = any(key[-1] for key in _jax_fast._KERNELS)
    decided_by = "host" if verdicts == [True] else ("extremes" if with_extremes else "general")
    return ("value", np.asarray(result), decided_by)


def _same_everywhere(call: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    """The default path's outcome (``call(validate=True)``), asserted equal to the device path's
    and the general path's: errors exactly (type, message, argument, index, value, hint);
    values checked on the host bit for bit those of ``validate=False`` (the same program), the
    others to rounding (the program that also returns the extremes lets XLA fuse them into the
    loss's reductions: 1 ulp apart seen; the general path runs op by op)."""
    host, device, general = (_outcome(call, path, monkeypatch) for path in PATHS)
    if host[0] == "error" or device[0] == "error" or general[0] == "error":
        assert host == device == general
        return host
    unchecked = np.asarray(call(validate=False))
    assert host[1].dtype == unchecked.dtype
    assert device[2] != "host" and general[2] == "general"
    assert host[1].tobytes() == unchecked.tobytes() or host[2] != "host"
    for other in (device[1], general[1]):
        assert other.dtype == host[1].dtype
        np.testing.assert_allclose(host[1], other, rtol=2e-6, atol=1e-7)
    return host


def _inputs(rows: int = 8, classes: int = 5) -> dict[str, Any]:
    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    logits = 3 * jax.random.normal(keys[0], (rows, classes))
    return {
        "z": logits,
        "y": jax.random.randint(keys[1], (rows,), 0, classes),
        "p": jax.nn.softmax(jax.random.normal(keys[2], (rows, classes))),
        "w": jax.random.uniform(keys[3], (classes,)) + 0.5,
        "mask": jnp.arange(rows) % 3 != 1,
    }


def _calls(x: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    """Every checked loss with a spread of options (the inputs possibly spoiled by the caller)."""
    z, y, p, w, mask = x["z"], x["y"], x["p"], x["w"], x["mask"]
    log_q = jax.nn.log_softmax(z, axis=-1)
    return {
        "ce index": lambda **k: losses.cross_entropy(z, y, axis=-1, **k),
        "ce index weight sum": lambda **k: losses.cross_entropy(
            z, y, weight=w, reduction="sum", axis=-1, **k
        ),
        "ce index smoothing none": lambda **k: losses.cross_entropy(
            z, y, label_smoothing=0.2, reduction="none", axis=-1, **k
        ),
        "ce index ignore 3": lambda **k: losses.cross_entropy(z, y, ignore_index=3, axis=-1, **k),
        "ce index mask": lambda **k: losses.cross_entropy(z, y, mask=mask, axis=-1, **k),
        "ce probs": lambda **k: losses.cross_entropy(z, p, axis=-1, **k),
        "ce probs weight smoothing": lambda **k: losses.cross_entropy(
            z, p, weight=w, label_smoothing=0.1, axis=-1, **k
        ),
        "ce probs mask": lambda **k: losses.cross_entropy(z, p, mask=mask, axis=-1, **k),
        "nll": lambda **k: losses.nll_loss(log_q, y, axis=-1, **k),
        "nll weight": lambda **k: losses.nll_loss(log_q, y, weight=w, axis=-1, **k),
        "kl batchmean": lambda **k: losses.kl_div(log_q, p, reduction="batchmean", **k),
        "kl log_target": lambda **k: losses.kl_div(log_q, jnp.log(p), reduction="sum", log_target=True, **k),
        "bce": lambda **k: losses.binary_cross_entropy(jax.nn.sigmoid(z), p, **k),
        "bce weight": lambda **k: losses.binary_cross_entropy(jax.nn.sigmoid(z), p, weight=w, **k),
        "bce logits": lambda **k: losses.binary_cross_entropy_with_logits(z, p, **k),
        "bce logits weights": lambda **k: losses.binary_cross_entropy_with_logits(
            z, p, weight=w, pos_weight=w, **k
        ),
    }


@pytest.mark.parametrize("name", sorted(_calls(_inputs())))
def test_valid_inputs_give_the_device_checks_value_bit_for_bit(name, monkeypatch):
    outcome = _same_everywhere(_calls(_inputs())[name], monkeypatch)
    assert outcome[0] == "value" and np.all(np.isfinite(outcome[1]))


# (input name, how to spoil it): each makes some check fail
SPOILED = {
    "index 9": ("y", lambda y: y.at[4].set(9)),
    "index -1": ("y", lambda y: y.at[2].set(-1)),
    "index -100 and 7": ("y", lambda y: y.at[0].set(-100).at[5].set(7)),
    "row sum 1.5": ("p", lambda p: p.at[2, 1].add(0.5)),
    "negative entry": ("p", lambda p: p.at[3].set(jnp.array([-0.25, 0.5, 0.25, 0.25, 0.25]))),
    "nan entry": ("p", lambda p: p.at[1, 1].set(jnp.nan)),
    "inf entry": ("p", lambda p: p.at[6, 0].set(jnp.inf)),
    "huge entry": ("p", lambda p: p.at[6, 0].set(3e38)),
    "negative weight": ("w", lambda w: w.at[2].set(-1.0)),
    "inf weight": ("w", lambda w: w.at[0].set(jnp.inf)),
    "nan weight": ("w", lambda w: w.at[4].set(jnp.nan)),
    "nan logits": ("z", lambda z: z.at[5, 2].set(jnp.nan)),
    "-inf logits": ("z", lambda z: z.at[5].set(-jnp.inf)),
}


@pytest.mark.parametrize("spoiled", sorted(SPOILED))
def test_bad_inputs_raise_the_general_paths_error(spoiled, monkeypatch):
    """Each spoiled input through every loss: the host path raises exactly what the device path
    and the general path raise (type, message, argument, index, value), or gives their value."""
    argument, spoil = SPOILED[spoiled]
    x = _inputs()
    x[argument] = spoil(x[argument])
    errors = 0
    for call in _calls(x).values():
        outcome = _same_everywhere(call, monkeypatch)
        errors += outcome[0] == "error"
    assert errors  # (each spoiling is caught by at least one loss)


def test_masked_rows_and_ignored_elements_may_hold_anything(monkeypatch):
    x = _inputs()
    x["p"] = x["p"].at[1].set(jnp.array([-5.0, jnp.nan, 9.0, 0.0, 0.0]))  # row 1 is masked out
    x["y"] = x["y"].at[4].set(-100).at[1].set(77)
    calls = _calls(x)
    for name in ("ce probs mask", "ce index mask"):
        assert _same_everywhere(calls[name], monkeypatch)[0] == "value"
    outcome = _same_everywhere(
        lambda **k: losses.cross_entropy(x["z"], x["y"].at[1].set(0), axis=-1, **k), monkeypatch
    )
    assert outcome[0] == "value"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_row_sums_at_the_tolerance_decide_as_the_general_path(dtype, monkeypatch):
    """Rows summing to 1 +- tolerance +- a few eps: accepted or refused exactly as the general
    path decides (the host's float64 sums leave the rows nearest the tolerance to it)."""
    with jax.enable_x64(dtype == "float64"):
        tolerance = math.sqrt(float(np.finfo(dtype).eps))
        eps = float(np.finfo(dtype).eps)
        z = jnp.zeros((3, 4), dtype)
        outcomes = set()
        for sign in (1, -1):
            for offset in (-64, -4, -1, 0, 1, 4, 64):
                excess = sign * (tolerance + offset * eps)
                row = np.array([0.25, 0.25, 0.25, 0.25 + excess], dtype)
                p = jnp.asarray(np.stack([row, np.full(4, 0.25, dtype), np.full(4, 0.25, dtype)]))

                def call(p: Any = p, **k: Any) -> Any:
                    return losses.cross_entropy(z, p, axis=-1, **k)

                outcomes.add(_same_everywhere(call, monkeypatch)[0])
        assert outcomes == {"value", "error"}


def test_small_cpu_arrays_are_checked_on_the_host_large_ones_in_the_program(monkeypatch):
    """Small float32/float64 arrays: checked on the host, the loss alone as the program;
    large arrays and probability targets narrower than float32: the program with the extremes."""
    x = _inputs()
    monkeypatch.setattr(_jax_fast, "_KERNELS", {})
    losses.cross_entropy(x["z"], x["y"], axis=-1)
    losses.cross_entropy(x["z"], x["p"], axis=-1)
    losses.kl_div(jax.nn.log_softmax(x["z"]), x["p"])
    assert [key[-1] for key in _jax_fast._KERNELS] == [
        False,
        False,
    ]  # (no extremes read; one for both targets)
    monkeypatch.setattr(_jax_fast, "_KERNELS", {})
    losses.cross_entropy(x["z"], x["p"].astype(jnp.bfloat16), axis=-1)
    assert [key[-1] for key in _jax_fast._KERNELS] == [True]
    monkeypatch.setattr(_jax_fast, "_KERNELS", {})
    monkeypatch.setattr(_array, "HOST_CHECK_MAX_ENTRIES", x["z"].size)  # z and y: more
    losses.cross_entropy(x["z"], x["y"], axis=-1)
    assert [key[-1] for key in _jax_fast._KERNELS] == [True]


def test_only_small_arrays_are_checked_on_the_host(monkeypatch):
    x = _inputs()
    assert _array.on_one_cpu([x["z"], x["y"]]) is True
    assert _array.on_one_cpu([jnp.zeros((_array.HOST_CHECK_MAX_ENTRIES + 1,))]) is False
    z16 = x["z"].astype(jnp.bfloat16)  # (any dtype: minima and maxima are exact)
    assert _array.on_one_cpu([z16, x["y"]]) is True
    outcome = _same_everywhere(lambda **k: losses.cross_entropy(z16, x["y"], axis=-1, **k), monkeypatch)
    assert outcome[0] == "value" and outcome[1].dtype == jnp.bfloat16


def test_mismatched_shapes_raise_the_general_paths_error(monkeypatch):
    x = _inputs()
    for call in (
        lambda **k: losses.cross_entropy(x["z"], x["p"][:, :3], axis=-1, **k),
        lambda **k: losses.cross_entropy(x["z"], x["y"][:5], axis=-1, **k),
        lambda **k: losses.cross_entropy(x["z"], x["p"], mask=x["mask"][:3], axis=-1, **k),
        lambda **k: losses.kl_div(x["z"], x["p"][:4], **k),
        lambda **k: losses.binary_cross_entropy_with_logits(x["z"], x["p"], weight=x["w"][:2], **k),
    ):
        assert _same_everywhere(call, monkeypatch)[0] == "error"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_huge_entries_are_refused_without_a_warning(dtype, monkeypatch):
    """Entries near the largest float: refused on every path, without a RuntimeWarning."""
    import warnings

    with jax.enable_x64(dtype == "float64"):
        big = float(np.finfo(dtype).max) / 2
        z = jnp.zeros((2, 4), dtype)
        p = jnp.asarray(np.array([[big, big, big, 0.0], [0.25, 0.25, 0.25, 0.25]], dtype))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            outcome = _same_everywhere(lambda **k: losses.cross_entropy(z, p, axis=-1, **k), monkeypatch)
        assert outcome[0] == "error" and outcome[1] is InputError and outcome[3] == repr("target")


def test_huge_entries_in_masked_rows_are_ignored_without_a_warning(monkeypatch):
    import warnings

    with jax.enable_x64(True):
        big = float(np.finfo("float64").max) / 2
        z = jnp.zeros((2, 4))
        p = jnp.asarray(np.array([[big, big, big, 0.0], [0.25, 0.25, 0.25, 0.25]]))
        mask = jnp.array([False, True])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            outcome = _same_everywhere(
                lambda **k: losses.cross_entropy(z, p, mask=mask, axis=-1, **k), monkeypatch
            )
        assert outcome[0] == "value" and outcome[2] == "host"
        assert float(outcome[1]) == pytest.approx(math.log(4), rel=1e-15)
