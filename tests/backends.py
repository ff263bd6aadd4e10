"""Shared test helpers: the array backends under test (convert in, convert back out) and
random distributions with zeros."""

from __future__ import annotations

import array_api_strict as xs
import dask.array as da
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

BACKENDS = ["numpy", "torch", "jax", "dask", "array_api_strict"]


@pytest.fixture(autouse=True)
def jax_float64():
    """JAX computes in float32 unless x64 is on; the references are float64."""
    with jax.enable_x64(True):
        yield


def to_backend(backend, x, dtype="float64"):
    """``x`` as a ``dtype`` array of ``backend``."""
    x = np.asarray(x, dtype=np.float64)
    if backend == "numpy":
        return x.astype(dtype)
    if backend == "torch":
        return torch.asarray(x).to(getattr(torch, dtype))
    if backend == "jax":
        return jnp.asarray(x, dtype=getattr(jnp, dtype))
    if backend == "dask":
        return da.from_array(x.astype(dtype), chunks=2)  # several chunks along every axis
    if backend == "array_api_strict":
        return xs.asarray(x, dtype=getattr(xs, dtype))
    raise AssertionError(backend)


def to_float64(result) -> np.ndarray:
    """Any backend's result as a float64 NumPy array, for comparison with SciPy."""
    if isinstance(result, torch.Tensor):
        return result.detach().to(torch.float64).numpy()
    if isinstance(result, da.Array):
        result = result.compute()
    if type(result).__module__.startswith("array_api_strict"):
        result = np.from_dlpack(result)
    return np.asarray(result, dtype=np.float64)


def distributions(shape, seed=0, dtype=np.float64, normalized=True):
    """p with ~20% zeros, q with zeros only where p is zero too (finite KL); rows nonzero.

    ``normalized=False`` gives counts (p) and small weights (q) instead of distributions.
    """
    rng = np.random.default_rng(seed)
    p = rng.random(shape)
    zeros = rng.random(shape) < 0.2
    zeros[..., 0] = False
    p[zeros] = 0
    q = rng.random(shape)
    q[zeros & (rng.random(shape) < 0.5)] = 0
    if normalized:
        p, q = p / p.sum(-1, keepdims=True), q / q.sum(-1, keepdims=True)
    else:
        p, q = 100 * p, 0.01 * q
    return p.astype(dtype), q.astype(dtype)
