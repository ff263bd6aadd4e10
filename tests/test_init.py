"""The package's top level: subpackages load on first attribute access, and nothing else does.

A regression test for ``import infoloss; infoloss.coding`` raising AttributeError (the README
lists it) — each check runs in a fresh interpreter, so no earlier import can hide the defect.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import infoloss

SUBPACKAGES = ["losses", "coding", "estimate", "explore", "plot", "demo", "examples", "special", "measures"]


def _fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_subpackage_is_an_attribute_after_a_bare_import(name):
    out = _fresh(
        f"import infoloss, sys; m = infoloss.{name}; print(m.__name__, 'infoloss.{name}' in sys.modules)"
    )
    assert out == f"infoloss.{name} True"


@pytest.mark.parametrize("name", ["entropy", "kl_divergence", "Decomposition", "set_num_threads", "softmax"])
def test_top_level_functions_load_their_module_at_first_use(name):
    out = _fresh(
        f"import infoloss, sys; print(infoloss.{name}.__module__, '{name}' in dir(infoloss)); "
        f"from infoloss import {name}; print({name} is infoloss.{name})"
    )
    module = {"softmax": "infoloss.special", "set_num_threads": "infoloss.measures._fast"}.get(
        name, "infoloss.measures"
    )
    assert out.split() == [module, "True", "True"]


def test_nn_is_an_attribute_too():
    assert _fresh("import infoloss; print(infoloss.nn.CrossEntropyLoss.__name__)") == "CrossEntropyLoss"


def test_the_bare_import_loads_no_subpackage_and_no_framework():
    out = _fresh(
        "import infoloss, sys; heavy = ['torch', 'jax', 'scipy', 'matplotlib', 'pandas', 'infoloss.coding', "
        "'infoloss.measures', 'infoloss.special', "
        "'infoloss.losses', 'infoloss.estimate', 'infoloss.nn', 'infoloss.cli']; "
        "print([m for m in heavy if m in sys.modules])"
    )
    assert out == "[]"


def test_the_first_numpy_calls_load_none_of_numpys_lazy_submodules():
    # NumPy arrays are computed in NumPy's own namespace: array-api-compat's NumPy wrapper
    # star-imports NumPy, loading f2py, testing, ma... (0.15 s at a command's first call).
    out = _fresh(
        "import sys, numpy as np, infoloss; p = np.array([0.5, 0.25, 0.25]); q = np.full(3, 1 / 3); "
        "infoloss.entropy(p); infoloss.kl_divergence(p, q, normalize=True); infoloss.js_divergence([1, 0], [0, 1]); "
        "infoloss.special.log_softmax(np.zeros((2, 3))); "
        "print([m for m in ('array_api_compat.numpy', 'numpy.f2py', 'numpy.testing', 'numpy.ma') if m in sys.modules])"
    )
    assert out == "[]"


def test_small_measures_start_no_thread_pool():
    # The pool's module (concurrent.futures, with logging) is imported when a large call needs it:
    # the compressor's figures and every command's first small measure do not wait for it.
    out = _fresh(
        "import sys, numpy as np, infoloss; infoloss.entropy(np.full(256, 1 / 256)); "
        "print('concurrent.futures' in sys.modules, 'numpy.typing' in sys.modules); "
        "infoloss.set_num_threads(2); infoloss.entropy(np.full((64, 1 << 16), 2.0**-16)); "
        "print('concurrent.futures' in sys.modules)"
    )
    assert out.split() == ["False", "False", "True"]


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'codings'"):
        infoloss.codings  # noqa: B018 - the access is the test


def test_dir_lists_the_subpackages_and_every_public_name_exists():
    listed = dir(infoloss)
    assert set(SUBPACKAGES) <= set(listed)
    for name in infoloss.__all__:
        assert getattr(infoloss, name) is not None, name


def test_python_dash_m_is_the_command():
    out = _fresh(
        "import runpy, sys; sys.argv = ['infoloss', '--version']; runpy.run_module('infoloss', run_name='__main__')"
    )
    assert "infoloss" in out and infoloss.__version__ in out
