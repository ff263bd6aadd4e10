"""infoloss: entropy, cross-entropy and KL divergence, as measures, losses and code lengths.

Importing infoloss imports NumPy and array-api-compat only; PyTorch, JAX and Dask are used
when you pass their arrays. Submodules: ``infoloss.losses`` (losses from logits),
``infoloss.coding`` (code lengths and compression), ``infoloss.nn`` (PyTorch modules and the
fused large-vocabulary losses).
"""

from . import losses  # torch.nn.functional's names on every backend; never imports torch
from ._xp import log_softmax, logsumexp, softmax
from .measures import Decomposition, cross_entropy, decompose, entropy, js_divergence, kl_divergence

__all__ = [
    "entropy",
    "cross_entropy",
    "kl_divergence",
    "js_divergence",
    "decompose",
    "Decomposition",
    "softmax",
    "log_softmax",
    "logsumexp",
    "losses",
]
__version__ = "0.1.0"
