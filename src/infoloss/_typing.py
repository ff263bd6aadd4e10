"""Type aliases for the annotations (none of them exists at run time as anything but ``Any``).

infoloss computes on whatever array library it is given (NumPy, PyTorch, JAX, CuPy, Dask,
array-api-strict) through the array API standard. The standard defines no static type that
all of those arrays share (``array_api_compat`` types them as ``Any`` too), so an array is
annotated ``Array`` and an array namespace ``Namespace``: the names say what a parameter holds,
and the checker treats them as ``Any``. Scalars, options, shapes and results that are not
arrays get their real types.
"""

from __future__ import annotations

from typing import Any, TypeAlias

#: An array of any supported backend (``numpy.ndarray``, ``torch.Tensor``, ``jax.Array``, ...).
Array: TypeAlias = Any
#: What the public functions accept where they say "array-like": an array of any backend, a
#: Python sequence (nested lists of numbers) or, where documented, a mapping of outcomes.
ArrayLike: TypeAlias = Any
#: An array API namespace: ``array_api_compat.array_namespace(x)`` (or ``numpy`` itself).
Namespace: TypeAlias = Any
#: A dtype object of any backend (``numpy.dtype``, ``torch.dtype``, ...).
DType: TypeAlias = Any
