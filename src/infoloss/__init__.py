"""infoloss: entropy, cross-entropy and KL divergence, as measures, losses and code lengths.

Importing infoloss imports NumPy and array-api-compat only; PyTorch, JAX and Dask are used
when you pass their arrays. The subpackages load on first use, as attributes:
``infoloss.losses`` (losses from logits, every backend), ``infoloss.coding`` (code lengths and
compression), ``infoloss.nn`` (PyTorch modules and the fused large-vocabulary losses),
``infoloss.estimate`` (entropy and divergences from samples), ``infoloss.explore`` (the
interactive page), ``infoloss.plot`` (matplotlib figures) and ``infoloss.demo``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._validate import InfolossError, InputError, InputTypeError

if TYPE_CHECKING:
    from .measures import (
        Decomposition,
        cross_entropy,
        decompose,
        entropy,
        js_divergence,
        kl_divergence,
        set_num_threads,
    )
    from .special import log_softmax, logsumexp, softmax

__all__ = [
    "entropy",
    "cross_entropy",
    "kl_divergence",
    "js_divergence",
    "decompose",
    "Decomposition",
    "set_num_threads",
    "softmax",
    "log_softmax",
    "logsumexp",
    "InfolossError",
    "InputError",
    "InputTypeError",
    "losses",
    "coding",
    "nn",
    "estimate",
    "explore",
    "plot",
    "demo",
    "examples",
    "special",
]
# ``__version__`` is the installed distribution's (pyproject.toml's, through the package metadata),
# read on first access like the subpackages: importlib.metadata costs ~0.1 s to import on a busy machine.

# Subpackages imported on first attribute access (PEP 562), so ``import infoloss`` stays light
# and never imports torch; ``infoloss.nn`` raises its own ImportError without torch.
_SUBPACKAGES = frozenset(
    {"losses", "coding", "nn", "estimate", "explore", "plot", "demo", "examples", "special", "measures"}
)


# The top-level functions load with their module at first use, as the subpackages do: a command
# that needs none of them (``infoloss code decompress``) does not load the measures' kernels.
_FUNCTIONS = {
    **dict.fromkeys(
        [
            "Decomposition",
            "cross_entropy",
            "decompose",
            "entropy",
            "js_divergence",
            "kl_divergence",
            "set_num_threads",
        ],
        "measures",
    ),
    **dict.fromkeys(["log_softmax", "logsumexp", "softmax"], "special"),
}


def __getattr__(name: str) -> Any:
    if name in _FUNCTIONS:
        value = getattr(importlib.import_module(f"{__name__}.{_FUNCTIONS[name]}"), name)
        globals()[name] = value
        return value
    if name == "__version__":
        version = globals()["__version__"] = _installed_version()
        return version
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'infoloss' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBPACKAGES | set(_FUNCTIONS) | {"__version__"})


def _installed_version() -> str:
    """The version in the installed ``infoloss`` distribution's metadata, else ``"0+unknown"``.

    The fallback is for a source tree imported without installing it (``PYTHONPATH=src``): a valid
    PEP 440 version that sorts below every release, so comparisons work and a checkout never
    passes for a release. Reference: PEP 440; ``importlib.metadata.version``.

    >>> import importlib.metadata
    >>> _installed_version() == importlib.metadata.version("infoloss")
    True
    """
    from importlib import metadata

    try:
        return metadata.version("infoloss")
    except metadata.PackageNotFoundError:
        return "0+unknown"
