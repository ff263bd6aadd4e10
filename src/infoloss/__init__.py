"""infoloss: entropy, cross-entropy and KL divergence, as measures, losses and code lengths.

Importing infoloss imports NumPy and array-api-compat only; PyTorch, JAX and Dask are used
when you pass their arrays.
"""

from ._xp import log_softmax, logsumexp, softmax
from .measures import Decomposition, cross_entropy, decompose, entropy, js_divergence, kl_divergence
from . import losses  # noqa: E402 - the losses module (torch.nn.functional's names); never imports torch

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
]
__version__ = "0.1.0"
