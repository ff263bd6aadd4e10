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

from ._validate import InfolossError, InputError, InputTypeError
from .measures import Decomposition, cross_entropy, decompose, entropy, js_divergence, kl_divergence, set_num_threads
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
__version__ = "0.1.0"

# Subpackages imported on first attribute access (PEP 562), so ``import infoloss`` stays light
# and never imports torch; ``infoloss.nn`` raises its own ImportError without torch.
_SUBPACKAGES = frozenset({"losses", "coding", "nn", "estimate", "explore", "plot", "demo", "examples", "special", "measures"})


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'infoloss' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBPACKAGES)
