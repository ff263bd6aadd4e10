"""The structured errors: their fields, their pickling, and one rule per scalar option.

Every input error of infoloss is an :class:`infoloss.InputError` (a ``ValueError``) or an
:class:`infoloss.InputTypeError` (a ``TypeError``) with the fields ``argument``, ``index``,
``value``, ``reason`` and ``hint``. The command line formats its messages from those fields,
and the errors travel through Dask tasks and worker processes, so they must pickle with them.
"""

from __future__ import annotations

import pickle

import dask
import dask.array as da
import numpy as np
import pytest

import infoloss as il
from infoloss import _validate


def raised_by(function, *args, **kwargs) -> il.InfolossError:
    with pytest.raises(il.InfolossError) as raised:
        function(*args, **kwargs)
    return raised.value


# --------------------------------------------------------------------------------------------
# The fields of each kind of error
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call,cls,argument,index,value,message",
    [
        (
            lambda: il.entropy([[0.5, 0.5], [0.5, -0.5]]),
            il.InputError,
            "p",
            (1, 1),
            -0.5,
            "p[1, 1] = -0.5 is negative; probabilities must be finite and >= 0",
        ),
        (
            lambda: il.kl_divergence([0.5, 0.5], {"a": 1.0}),
            il.InputTypeError,
            "p",
            None,
            "[0.5, 0.5]",
            "p is a list but another argument is a mapping; pass label -> probability mappings for both, "
            "or arrays/sequences for both",
        ),
        (
            lambda: il.entropy({"rain": 0.5, "snow": float("nan")}),
            il.InputError,
            "p",
            "snow",
            float("nan"),
            "p['snow'] is NaN; probabilities must be finite and >= 0",
        ),
        (
            lambda: il.entropy(np.array([[0.5, 0.5], [0.5, 0.4]]).T, axis=0),
            il.InputError,
            "p",
            (":", 1),
            0.9,
            "p[:, 1] sums to 0.9 along axis 0, not 1 (tolerance 1.5e-08 for float64); "
            "pass normalize=True to rescale counts or weights",
        ),
        (
            lambda: il.entropy([[1.0, 1.0], [0.0, 0.0]], normalize=True),
            il.InputError,
            "p",
            (1, ":"),
            0.0,
            "p[1, :] sums to 0 along axis 1; normalize=True cannot rescale an all-zero slice",
        ),
        (
            lambda: il.entropy([0.5, 0.4]),
            il.InputError,
            "p",
            None,
            0.9,
            "p sums to 0.9 along axis 0, not 1 (tolerance 1.5e-08 for float64); "
            "pass normalize=True to rescale counts or weights",
        ),
        (
            lambda: il.entropy([0.5, 0.5], axis=3),
            il.InputError,
            "axis",
            None,
            3,
            "axis=3 is out of range for p with 1 dimension(s), shape (2,)",
        ),
        (
            lambda: il.entropy([0.5, 0.5], axis="1"),
            il.InputTypeError,
            "axis",
            None,
            "1",
            "axis must be an int, got axis='1'",
        ),
        (
            lambda: il.entropy(np.zeros((2, 0))),
            il.InputError,
            "p",
            None,
            (2, 0),
            "p has an empty axis 1 (shape (2, 0)); a distribution needs at least one entry",
        ),
        (
            lambda: il.cross_entropy({"a": 1.0}, {"a": "1"}),
            il.InputTypeError,
            "q",
            "a",
            "1",
            "q['a'] = '1' is not a number; mapping values must be real numbers",
        ),
        (
            lambda: il.entropy(np.array([0.5 + 0j, 0.5])),
            il.InputTypeError,
            "p",
            None,
            "complex128",
            "p must hold real numbers, got an array of dtype complex128",
        ),
        (
            lambda: il.softmax([1.0, 2.0], temperature=0),
            il.InputError,
            "temperature",
            None,
            0,
            "temperature must be a finite number > 0, got temperature=0",
        ),
        (lambda: il.logsumexp(["a"]), il.InputTypeError, "z", None, "['a']", None),
    ],
)
def test_fields(call, cls, argument, index, value, message):
    error = raised_by(call)
    assert type(error) is cls
    # repr: NaN values compare unequal
    assert repr((error.argument, error.index, error.value)) == repr((argument, index, value))
    if message is not None:
        assert str(error) == message
    assert error.reason and error.reason in str(error)
    assert str(error).startswith(error.location)


def test_shape_mismatch_names_both_arguments():
    error = raised_by(il.kl_divergence, np.full((2, 3), 1 / 3), np.full((2, 4), 0.25))
    assert type(error) is il.InputError
    assert error.argument is None and error.value == ((2, 3), (2, 4))
    assert str(error).startswith("shape mismatch: p has shape (2, 3) and q has shape (2, 4)")


def test_mixed_kinds():
    torch = pytest.importorskip("torch")
    error = raised_by(il.kl_divergence, np.array([0.5, 0.5]), torch.tensor([0.5, 0.5]))
    assert type(error) is il.InputTypeError
    assert "p is a numpy.ndarray, q is a torch.Tensor" in error.reason
    assert error.hint == "convert them to one kind first, e.g. torch.as_tensor(q) or numpy.asarray(q)"


def test_errors_are_value_and_type_errors():
    assert issubclass(il.InputError, ValueError) and issubclass(il.InputError, il.InfolossError)
    assert issubclass(il.InputTypeError, TypeError) and issubclass(il.InputTypeError, il.InfolossError)


# --------------------------------------------------------------------------------------------
# Each API suggests its own fix
# --------------------------------------------------------------------------------------------


def test_the_hint_comes_from_the_caller():
    rows = np.array([[0.5, 0.4], [0.5, 0.5]])
    for hint in (_validate.MEASURE_HINT, _validate.LOSS_HINT, "pass --counts"):
        with pytest.raises(il.InputError) as raised:
            _validate.check_distribution(np, rows, "target", 1, normalize=False, hint=hint)
        assert raised.value.hint == hint
        assert str(raised.value).endswith(f"; {hint}")
        assert str(raised.value).startswith("target[0, :] sums to 0.9")
    assert "normalize" not in _validate.LOSS_HINT and "validate=False" in _validate.LOSS_HINT
    error = raised_by(il.entropy, [0.5, 0.4])
    assert error.hint == _validate.MEASURE_HINT
    other = error.with_hint("pass --counts")
    assert (type(other), other.argument, other.index, other.value, other.reason) == (
        type(error),
        error.argument,
        error.index,
        error.value,
        error.reason,
    )
    assert str(other).endswith("; pass --counts")


# --------------------------------------------------------------------------------------------
# Pickling, also out of a Dask worker process
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: il.entropy([[0.5, 0.5], [0.5, -0.5]]),
        lambda: il.entropy({"rain": 0.5, "snow": float("nan")}),
        lambda: il.entropy([0.5, 0.5], axis=True),
        lambda: il.kl_divergence(np.full((2, 3), 1 / 3), np.full((2, 4), 0.25)),
        lambda: il.softmax([1.0], temperature="hot"),
    ],
)
def test_errors_pickle_with_their_fields(call):
    error = raised_by(call)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    fields = ("argument", "index", "value", "reason", "hint")
    assert repr([getattr(copy, f) for f in fields]) == repr([getattr(error, f) for f in fields])
    assert str(copy) == str(error) and copy.args == error.args


def _checked_block(block):
    _validate.check_distribution(np, block, "p", 1, normalize=False, hint=_validate.MEASURE_HINT)
    return block[:, :1]


def test_error_raised_in_a_dask_worker_process_keeps_its_fields():
    rows = np.full((4, 3), 1 / 3)
    rows[3] = [0.5, 0.6, -0.1]
    lazy = da.from_array(rows, chunks=(2, 3)).map_blocks(_checked_block, chunks=(2, 1), dtype=float)
    with dask.config.set(num_workers=1), pytest.raises(il.InputError) as raised:
        lazy.compute(scheduler="processes")  # the error is pickled back from the worker
    error = raised.value
    # the block holds rows 2 and 3: the worker saw row 1 of its block
    assert (error.argument, error.index, error.value) == ("p", (1, 2), -0.1)
    assert error.hint == "probabilities must be finite and >= 0"


# --------------------------------------------------------------------------------------------
# The scalar checks agree everywhere: the same bad value gives the same exception class, and
# an error whose .argument is the option, in every public function that takes the option.
# The reference is the option's rule in _validate; a value that rule accepts is not bad.
# --------------------------------------------------------------------------------------------

BAD_VALUES = {
    "str": "2",
    "bool": True,
    "nan": float("nan"),
    "inf": float("inf"),
    "zero": 0,
    "minus_one": -1,
    "huge_int": 2**2000,
}

RULES = {
    "temperature": _validate.check_temperature,
    "base": _validate.check_base,
    "beta": lambda v: _validate.check_real("beta", v, low=0, high=1, low_open=True, high_open=True),
    "floor": lambda v: _validate.check_real("floor", v, low=0, high=1, low_open=True, high_open=True),
    "chunk_size": _validate.check_chunk_size,
    "label_smoothing": lambda v: _validate.check_fraction("label_smoothing", v),
    "z_loss": lambda v: _validate.check_real("z_loss", v, low=0),
    "softcap": lambda v: _validate.check_real("softcap", v, low=0, low_open=True, allow_none=True),
    "reduction": lambda v: _validate.check_choice("reduction", v, ("none", "mean", "sum")),
}


def _torch_inputs():
    torch = pytest.importorskip("torch")
    logits = torch.tensor([[0.5, -1.0, 2.0], [0.0, 0.3, -0.2]])
    return torch, logits


def _calls():
    """name -> (options it takes, function of the options that calls it on valid input)."""
    from infoloss import coding, losses

    p, q = [0.5, 0.25, 0.25], [0.25, 0.25, 0.5]

    def torch_call(function):
        def call(**options):
            torch, logits = _torch_inputs()
            return function(torch, logits, **options)

        return call

    def linear(function, teacher=False):
        def call(**options):
            torch, _ = _torch_inputs()
            from infoloss.nn import functional as F

            hidden, weight = torch.ones(2, 4) / 4, torch.eye(3, 4)
            other = torch.zeros(2, 3) if teacher else torch.tensor([0, 2])
            return getattr(F, function)(hidden, weight, other, **options)

        return call

    return {
        **{
            f"measures.{name}": (
                ("base",),
                (lambda f: lambda **o: f(p, q, **o) if f is not il.entropy else f(p, **o))(getattr(il, name)),
            )
            for name in ("entropy", "cross_entropy", "kl_divergence", "js_divergence", "decompose")
        },
        "special.softmax": (("temperature",), lambda **o: il.softmax([1.0, 2.0], **o)),
        "special.log_softmax": (("temperature",), lambda **o: il.log_softmax([1.0, 2.0], **o)),
        "losses.cross_entropy": (
            ("label_smoothing", "z_loss", "softcap", "reduction"),
            torch_call(lambda t, z, **o: losses.cross_entropy(z, t.tensor([0, 2]), **o)),
        ),
        "losses.nll_loss": (
            ("reduction",),
            torch_call(lambda t, z, **o: losses.nll_loss(t.log_softmax(z, -1), t.tensor([0, 2]), **o)),
        ),
        "losses.binary_cross_entropy": (
            ("reduction",),
            torch_call(lambda t, z, **o: losses.binary_cross_entropy(t.sigmoid(z), t.ones_like(z) / 2, **o)),
        ),
        "losses.binary_cross_entropy_with_logits": (
            ("reduction",),
            torch_call(lambda t, z, **o: losses.binary_cross_entropy_with_logits(z, t.ones_like(z) / 2, **o)),
        ),
        "losses.kl_div": (
            ("reduction",),
            torch_call(lambda t, z, **o: losses.kl_div(t.log_softmax(z, -1), t.softmax(-z, -1), **o)),
        ),
        "losses.distillation_kl": (
            ("temperature", "reduction"),
            torch_call(lambda t, z, **o: losses.distillation_kl(z, -z, **o)),
        ),
        "losses.distillation_js": (
            ("temperature", "beta", "reduction"),
            torch_call(lambda t, z, **o: losses.distillation_js(z, -z, **o)),
        ),
        "nn.functional.linear_cross_entropy": (
            ("chunk_size", "label_smoothing", "z_loss", "softcap", "reduction"),
            linear("linear_cross_entropy"),
        ),
        "nn.functional.linear_kl_div": (
            ("temperature", "chunk_size", "reduction"),
            linear("linear_kl_div", teacher=True),
        ),
        "nn.functional.linear_js_div": (
            ("temperature", "beta", "chunk_size", "reduction"),
            linear("linear_js_div", teacher=True),
        ),
        "coding.ideal_code_length": (("floor",), lambda **o: coding.ideal_code_length([0, 1, 2], p, **o)),
        "coding.coder_probabilities": (("floor",), lambda **o: coding.coder_probabilities(q, **o)),
        "coding.compress": (("floor",), lambda **o: coding.compress(b"abracadabra", **o)),
    }


CALLS = _calls()


def _cases():
    for function, (options, _) in CALLS.items():
        for option in options:
            for label, value in BAD_VALUES.items():
                try:
                    RULES[option](value)
                except il.InfolossError:
                    pass
                else:
                    continue  # the rule accepts it: not a bad value for this option
                yield pytest.param(function, option, label, id=f"{function}-{option}-{label}")


@pytest.mark.parametrize("function,option,label", list(_cases()))
def test_scalar_checks_agree_everywhere(function, option, label):
    value = BAD_VALUES[label]
    with pytest.raises(il.InfolossError) as expected:
        RULES[option](value)
    call = CALLS[function][1]
    with pytest.raises(il.InfolossError) as raised:
        call(**{option: value})
    error = raised.value
    assert type(error) is type(expected.value), f"{type(error).__name__}: {error}"
    assert error.argument == option, str(error)
