"""Demonstrations on real data: ``infoloss.demo.digits()`` (``infoloss demo digits``).

:func:`digits` shows, on scikit-learn's handwritten digits, that training on KL and on
cross-entropy is the same, tries the entropy-scaled learning rate, codes the labels at the
classifier's cross-entropy and draws the predicted ``Q`` against the one-hot ``P``. Needs the
extra ``infoloss[demo]`` (scikit-learn, torch; matplotlib for the PNG figures).
"""

from .digits import DigitsReport, MissingExtraError, digits

__all__ = ["digits", "DigitsReport", "MissingExtraError"]
