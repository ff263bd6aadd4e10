"""PyTorch modules: ``torch.nn.Module`` loss wrappers with PyTorch's class names.

Needs PyTorch (``pip install torch``); ``import infoloss`` itself never imports it.
"""

try:
    import torch  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "infoloss.nn needs PyTorch, which is not installed: pip install torch "
        "(or pip install 'infoloss[torch]')"
    ) from error

from .linear import LinearCrossEntropyLoss, LinearJSDivLoss, LinearKLDivLoss
from .modules import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    DistillationJSLoss,
    DistillationKLLoss,
    KLDivLoss,
    NLLLoss,
)

__all__ = [
    "CrossEntropyLoss",
    "NLLLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "KLDivLoss",
    "DistillationKLLoss",
    "DistillationJSLoss",
    "LinearCrossEntropyLoss",
    "LinearKLDivLoss",
    "LinearJSDivLoss",
]
