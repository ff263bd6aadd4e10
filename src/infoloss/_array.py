"""The backend seam: array namespaces, tracing, dtype policy and the NaN-free log helpers.

Everything numerical in infoloss is written once against the Python array API standard,
through ``xp = array_namespace(...)`` from ``array-api-compat`` (for NumPy arrays, NumPy 2's own
namespace, which is the standard's). The standard has no
``logsumexp``, ``softmax`` or ``xlogy``, and ``array-api-compat``'s torch namespace re-exports
all of torch, so code that calls ``xp.logsumexp`` works on torch and fails on NumPy. The
helpers here are written in standard calls only, with native fast paths where a backend has an
equivalent that is at least as exact (``torch.logsumexp``, ``jax.nn.log_softmax``).

Gradients: ``where(p > 0, p * log(p), 0)`` has a NaN gradient at p = 0 in both PyTorch and
JAX, because the untaken branch's gradient (``0 * inf``) still flows. The cure is the double
``where``: make the argument safe first, then select (see :func:`xlogy`).
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Sequence
from typing import Any

import array_api_compat
import numpy as np

from ._typing import Array, DType, Namespace

# --------------------------------------------------------------------------------------------
# Namespaces, conversion, dtypes
# --------------------------------------------------------------------------------------------


def array_namespace(*named_arrays: tuple[str, Any]) -> Namespace:
    """The array namespace shared by ``(name, array)`` pairs, or a TypeError naming them.

    ``array_api_compat.array_namespace`` already refuses mixed kinds; this wraps it so the
    message says which argument is which kind and how to fix it.
    """
    from ._validate import InputTypeError  # _validate imports this module

    arrays = [a for _, a in named_arrays]
    if all(isinstance(a, (np.ndarray, np.generic)) for a in arrays):
        # NumPy 2's own namespace is the array API standard's. array-api-compat's NumPy wrapper
        # is built by a star import of NumPy, which loads every lazy submodule (f2py, testing,
        # ma, random...): 0.15 s at a process's first call, most of a short command's run.
        return np
    if all(is_torch_array(a) for a in arrays):
        # torch.compile traces this call: array-api-compat's lookups are functools.lru_cache
        # wrappers, which Dynamo warns about (and traces through); torch's namespace is a
        # module constant.
        from array_api_compat import torch as torch_namespace

        return torch_namespace
    try:
        return array_api_compat.array_namespace(*arrays)
    except TypeError:
        kinds = ", ".join(f"{name} is {_kind(a)}" for name, a in named_arrays)
        # Several arguments are at fault: the last one is named as the one to convert.
        raise InputTypeError(
            f"arguments are arrays of different kinds ({kinds})",
            argument=None,
            value=kinds,
            hint=f"convert them to one kind first, e.g. torch.as_tensor({named_arrays[-1][0]}) or "
            f"numpy.asarray({named_arrays[-1][0]})",
        ) from None


def _kind(a: object) -> str:
    module = type(a).__module__.split(".")[0]
    return f"a {module}.{type(a).__name__}"


def is_array(x: object) -> bool:
    return is_torch_array(x) or array_api_compat.is_array_api_obj(x)


def is_numpy(x: object) -> bool:
    return type(x) is np.ndarray or (not is_torch_array(x) and array_api_compat.is_numpy_array(x))


def is_dask(x: object) -> bool:
    return not is_torch_array(x) and array_api_compat.is_dask_array(x)


# The predicates below replace array-api-compat's on paths that torch.compile traces: those are
# functools.lru_cache wrappers, and Dynamo warns at every call to one ("Dynamo detected a call
# to a functools.lru_cache-wrapped function"). A type's module is a constant to Dynamo.


def is_torch_array(x: object) -> bool:
    """A torch tensor (also a Parameter, or a tensor subclass), without importing torch."""
    return any(
        kind.__module__.partition(".")[0] == "torch" and kind.__name__ == "Tensor" for kind in type(x).__mro__
    )


def is_jax_array(x: object) -> bool:
    """A JAX array or tracer, without importing JAX."""
    return type(x).__module__.partition(".")[0] in ("jax", "jaxlib")


#: Up to this many entries in all (a 64x256 batch), JAX arrays on one CPU device are checked on
#: the host with NumPy (their zero-copy view: :func:`on_one_cpu`): a few microseconds, where a
#: check in the program makes the call wait for its result, and so for JAX's CPU worker thread
#: (XLA runs a program of 1000 flops or more there; asleep after a few microseconds without
#: work, it takes 10-50 us to wake). Larger arrays are checked in the program.
HOST_CHECK_MAX_ENTRIES = 16384
#: JAX shardings seen, and whether their arrays live on one CPU device.
_ONE_CPU_SHARDINGS: dict[Any, bool] = {}


def on_one_cpu(values: Sequence[Any]) -> bool:
    """JAX arrays all on one CPU device, with at most :data:`HOST_CHECK_MAX_ENTRIES` entries in
    all: ``np.asarray`` then reads each without a copy (nor a wait: it waits only for pending
    writes to it), so small inputs are checked on the host."""
    entries = 0
    for value in values:
        sharding = value.sharding
        on_cpu = _ONE_CPU_SHARDINGS.get(sharding)
        if on_cpu is None:
            devices = sharding.device_set
            on_cpu = len(devices) == 1 and next(iter(devices)).platform == "cpu"
            if len(_ONE_CPU_SHARDINGS) < 256:
                _ONE_CPU_SHARDINGS[sharding] = on_cpu
        if not on_cpu:
            return False
        entries += value.size
    return entries <= HOST_CHECK_MAX_ENTRIES


def loaded(module: str, attribute: str) -> Any:
    """``module.attribute`` if that module is imported and has it, else None, importing nothing.

    Two reasons for None, both meaning "nothing can be an instance of it yet": the module was
    never imported, or another thread (a Dask worker's, say) is still importing it and has not
    reached the definition. ``attribute`` may be dotted (``"core.Tracer"``).
    """
    found: Any = sys.modules.get(module)
    for part in attribute.split("."):
        found = getattr(found, part, None)
    return found


def device(x: Array) -> Any:
    """The device of an array (``x.device`` for torch tensors; array-api-compat's otherwise)."""
    if is_torch_array(x):
        return x.device
    return array_api_compat.device(x)


def is_tracing(x: object) -> bool:
    """True under ``jax.jit``/``jax.grad`` tracing, ``torch.compile`` or ``torch.func``.

    No eager checks then: their ``bool(...)`` would fail on tracers and batched tensors.
    """
    module = type(x).__module__
    if module.startswith("jax"):
        import jax

        return isinstance(x, jax.core.Tracer)
    if is_torch_array(x):
        import torch

        return is_torch_tracing(torch, x)
    return False


def is_torch_tracing(torch: Any, x: Array) -> bool:
    """:func:`is_tracing` for a tensor ``x`` (``torch`` the imported module), without the type
    tests: the losses' per-call fast paths use it."""
    # torch.func.vmap forbids data-dependent control flow, also under a nested
    # torch.func.grad; like jax.grad's tracers, any torch.func-wrapped tensor skips the
    # checks. There is no public query for that, so the private one is used if present.
    is_wrapped = getattr(torch._C._functorch, "is_functorch_wrapped_tensor", None)
    return bool(torch.compiler.is_compiling()) or (is_wrapped is not None and bool(is_wrapped(x)))


def to_numpy(x: Array) -> np.ndarray:
    """A NumPy copy of any supported array, for error messages and the CLI (never hot paths)."""
    if is_numpy(x):
        return x
    if is_torch_array(x):
        return x.detach().cpu().numpy()
    if is_dask(x):
        return np.asarray(x.compute())
    try:
        return np.from_dlpack(x)
    except Exception:  # noqa: BLE001 - backends without usable DLPack, e.g. on another device
        return np.asarray(x)


def reduced_precision(dtype: DType) -> bool:
    """float16 and bfloat16 are computed in float32 and returned in their own dtype."""
    name = str(dtype)
    return "float16" in name  # float16 and bfloat16, whatever the backend calls its dtype objects


def default_float(xp: Namespace, x: Array) -> DType:
    """The namespace's default real floating dtype on ``x``'s device (float32 on JAX/torch)."""
    try:
        info = xp.__array_namespace_info__()
        return info.default_dtypes(device=device(x))["real floating"]
    except (AttributeError, TypeError):
        return xp.float64


def floating(xp: Namespace, x: Array, *, name: str | None = None) -> tuple[Array, DType]:
    """``x`` as a real floating array in which to compute, and the dtype to return in.

    Integer and boolean input (counts, one-hot rows) is computed in the default float dtype;
    float16/bfloat16 in float32 and returned as the input dtype. Any other dtype (complex)
    raises InputTypeError naming ``name``.
    """
    dtype = x.dtype
    if is_numpy(x) and str(dtype) == "bfloat16":  # ml_dtypes' bfloat16 (NumPy's isdtype refuses it)
        return x.astype(np.float32), dtype
    if xp.isdtype(dtype, "real floating"):
        if reduced_precision(dtype):
            return xp.astype(x, xp.float32), dtype
        return x, dtype
    if xp.isdtype(dtype, ("integral", "bool")):
        target = default_float(xp, x)
        return xp.astype(x, target), target
    from ._validate import InputTypeError  # _validate imports this module

    reason = "must hold real numbers" if name else "expected real numbers"
    raise InputTypeError(f"{reason}, got an array of dtype {dtype}", argument=name, value=str(dtype))


# --------------------------------------------------------------------------------------------
# The math, in standard calls (xp already resolved, floating input)
# --------------------------------------------------------------------------------------------


def stop_gradient(xp: Namespace, x: Array) -> Array:
    """Treat ``x`` as a constant under autograd (used for the max shift of logsumexp)."""
    if is_torch_array(x):
        return x.detach()
    if type(x).__module__.startswith("jax"):
        import jax

        return jax.lax.stop_gradient(x)
    return x


def _logsumexp(xp: Namespace, z: Array, *, axis: int = -1, keepdims: bool = False) -> Array:
    """``m + log1p(sum_{j != k} exp(z_j - m))``, ``m = z_k`` the row maximum (first one).

    Writing ``log(sum exp(z - m))`` would add the max's term ``exp(0) = 1`` before the log and
    lose every contribution below 1 ulp of 1: ``logsumexp([0, -40])`` would be 0.0 instead of
    4.2e-18. Leaving the max's term out and taking ``log1p`` of the rest keeps them (SciPy's
    ``logsumexp`` does the same since 1.15). ``m`` is selected with a one-hot ``where`` rather
    than ``max`` so that its gradient goes to that one entry (``max`` splits it between ties),
    which makes the gradient exactly ``softmax(z)``; a row of ``-inf`` gives ``-inf`` with a
    zero gradient. The same on every backend (``torch.logsumexp`` and ``jax.nn.logsumexp``
    add the 1 first).
    """
    if is_torch_array(z):
        return _torch_logsumexp(z, axis, keepdims)
    ndim = z.ndim
    axis = axis % ndim
    n = z.shape[axis]
    shape = [1] * ndim
    shape[axis] = n
    positions = xp.reshape(xp.arange(n, device=device(z)), tuple(shape))
    is_max = positions == xp.argmax(z, axis=axis, keepdims=True)
    zero = xp.zeros_like(z)
    top = xp.sum(xp.where(is_max, z, zero), axis=axis, keepdims=True)
    finite = xp.isfinite(top)
    shift = xp.where(finite, top, xp.zeros_like(top))
    rest = xp.sum(xp.where(is_max, zero, xp.exp(z - shift)), axis=axis, keepdims=True)
    out = xp.where(finite, shift + xp.log1p(rest), stop_gradient(xp, top))
    return out if keepdims else xp.squeeze(out, axis=axis)


def _torch_logsumexp(z: Array, axis: int, keepdims: bool) -> Array:
    """:func:`_logsumexp` in torch's own calls (the array-API form costs about 2x more there):
    ``torch.max`` along a dim sends the gradient to the one index it returns."""
    import torch

    top, index = torch.max(z, dim=axis, keepdim=True)
    finite = torch.isfinite(top)
    shift = torch.where(finite, top, torch.zeros_like(top))
    rest = torch.exp(z - shift).scatter(axis, index, 0.0).sum(dim=axis, keepdim=True)
    out = torch.where(finite, shift + torch.log1p(rest), top.detach())
    return out if keepdims else out.squeeze(axis)


def _log_softmax(xp: Namespace, z: Array, *, axis: int = -1) -> Array:
    if is_torch_array(z):
        import torch

        return torch.log_softmax(z, dim=axis)
    if type(z).__module__.startswith("jax"):
        import jax

        return jax.nn.log_softmax(z, axis=axis)
    shift = _finite_max(xp, z, axis)
    shifted = z - shift
    with np.errstate(divide="ignore"):
        return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def _softmax(xp: Namespace, z: Array, *, axis: int = -1) -> Array:
    if is_torch_array(z):
        import torch

        return torch.softmax(z, dim=axis)
    if type(z).__module__.startswith("jax"):
        import jax

        return jax.nn.softmax(z, axis=axis)
    shifted = xp.exp(z - _finite_max(xp, z, axis))
    return shifted / xp.sum(shifted, axis=axis, keepdims=True)


def _finite_max(xp: Namespace, z: Array, axis: int) -> Array:
    """Row max with keepdims, replaced by 0 where it is ±inf, and outside autograd.

    An all ``-inf`` row would otherwise give ``-inf - -inf = nan``.
    """
    shift = stop_gradient(xp, xp.max(z, axis=axis, keepdims=True))
    return xp.where(xp.isfinite(shift), shift, xp.zeros_like(shift))


def xlogy(xp: Namespace, x: Array, y: Array) -> Array:
    """``x * log(y)``, with 0 wherever ``x == 0`` (even if ``y`` is 0), NaN-free gradients.

    The double ``where``: ``y`` is replaced by 1 only where ``x == 0`` and ``log(y)`` is not
    finite, so neither the value nor the gradient there is ``inf``/``nan``. Where ``x == 0``
    and ``y > 0`` the product is left alone: it is 0 already, and its gradient with respect to
    ``x`` is ``log(y)`` (cross-entropy is linear in ``p``, finite at ``p = 0``), which an
    outer ``where(x == 0, 0, ...)`` would wrongly cut to 0.
    """
    undefined = (x == 0) & ~((y > 0) & (y < math.inf))
    safe_y = xp.where(undefined, xp.ones_like(y), y)
    with _ignore_log_zero(x):  # log(0) = -inf is intended: p > 0 with q = 0
        return x * xp.log(safe_y)


def log_ratio_term(xp: Namespace, p: Array, q: Array) -> Array:
    """``p * log(p / q)`` per entry, accurate to a few ulps: 0 where p == 0; +inf where p > 0 = q.

    As SciPy's ``rel_entr`` (gh-20710): where ``p / q`` is in (1/2, 2) the log is
    ``log1p((p - q) / q)`` (``p - q`` is exact there, so the term keeps its digits when p and
    q nearly agree, where ``log(p / q)`` would lose the ratio's rounding); where the ratio is
    a normal number, ``log(p / q)``; else (it overflowed or underflowed: ``p = 1e-200``,
    ``q = 1e200``) ``log p - log q``. Exactly 0 where ``p == q``. Each branch reads safe
    arguments where it is not taken, so gradients stay NaN-free (see :func:`xlogy`).

    >>> import numpy as np
    >>> float(log_ratio_term(np, np.asarray(1e-200), np.asarray(1e200)))
    -9.210340371976183e-198
    """
    zero = p == 0
    one = xp.ones_like(p)
    safe_p = xp.where(zero, one, p)
    safe_q = xp.where(zero, one, q)
    with _ignore_log_zero(p):  # q = 0: a ratio of inf and log(0) = -inf are intended
        ratio = safe_p / safe_q
        near = (ratio > 0.5) & (ratio < 2)
        normal = (ratio >= xp.finfo(p.dtype).smallest_normal) & (ratio < math.inf)
        near_p, near_q = xp.where(near, safe_p, one), xp.where(near, safe_q, one)
        close = xp.log1p((near_p - near_q) / near_q)
        plain = xp.log(xp.where(normal & ~near, ratio, one))
        far_p, far_q = xp.where(normal, one, safe_p), xp.where(normal, one, safe_q)
        apart = xp.log(far_p) - xp.log(far_q)
        log_ratio = xp.where(near, close, xp.where(normal, plain, apart))
        return xp.where(zero, xp.zeros_like(p), p * log_ratio)


def normalize(xp: Namespace, x: Array, axis: int) -> Array:
    """``x / sum(x)`` along ``axis``, also where the sum overflows or is subnormal.

    ``[1e308, 1e308]`` sums to inf, ``[3e38, 3e38]`` in float32 too: the rows are rescaled
    first where needed (:func:`rescaled`), and float32 rows are summed in float64 where the
    backend has it (a float32 sum of counts near 2**31 is off by many ulps).

    >>> import numpy as np
    >>> normalize(np, np.asarray([1e308, 1e308]), -1).tolist()
    [0.5, 0.5]
    """
    scaled, total = rescaled(xp, x, axis)
    out = scaled / total
    # A positive weight whose share is below the smallest subnormal number (1e-323 of 4) would
    # round to 0 and make KL +inf: it keeps the smallest positive share instead (also subnormal:
    # its term is within 1e-323 of the true one). NumPy's fast path needs no such step.
    smallest = xp.finfo(x.dtype).smallest_normal
    smallest_share = xp.asarray(smallest * xp.finfo(x.dtype).eps, dtype=x.dtype, device=device(x))
    return xp.where((out == 0) & (x > 0), smallest_share, out)


def rescaled(xp: Namespace, x: Array, axis: int) -> tuple[Array, Array]:
    """``(y, total)``: ``x`` divided per row by ``c`` and the row sums of ``y`` (kept dims).

    ``c`` is 1 (so ``y`` is ``x`` itself) where the row maximum ``m`` is a normal number and
    ``n m`` (``n`` entries) at most the reciprocal of the smallest normal number: then the sum
    and its reciprocal are normal numbers. Other rows are divided by ``m`` (in two steps of its
    square root, as XLA turns ``x / m`` into ``x * (1 / m)`` and flushes a subnormal ``1 / m``
    to 0), which leaves every entry at most 1 and the sum between 1 and ``n``. No sum can
    overflow (nor warn that it did); they are accumulated as :func:`row_sums` does.

    >>> import numpy as np
    >>> y, total = rescaled(np, np.asarray([1e308, 1e308]), -1)
    >>> y.tolist(), total.tolist()
    ([1.0, 1.0], [2.0])
    """
    smallest = xp.finfo(x.dtype).smallest_normal
    top = stop_gradient(xp, xp.max(x, axis=axis, keepdims=True))
    plain = (top >= smallest) & (top <= (1 / smallest) / x.shape[axis])
    root = xp.sqrt(top)
    root = xp.where(plain | ~((root > 0) & (root < math.inf)), xp.ones_like(root), root)
    scaled = (x / root) / root  # x itself where root = 1
    return scaled, row_sums(xp, scaled, axis)


def row_sums(xp: Namespace, x: Array, axis: int) -> Array:
    """Sums along ``axis`` (kept), accumulated in float64 for float32 ``x`` where the backend
    has float64 (not JAX without ``jax_enable_x64``, not torch on MPS), returned as ``x.dtype``.

    A float32 sum of n entries is off by up to n float32 ulps (rows of counts summing past
    2**31 lose digits that KL of nearly equal counts depends on); float64 keeps it to one.

    >>> import numpy as np
    >>> row_sums(np, np.full(3, 1e9, dtype=np.float32), 0).dtype
    dtype('float32')
    """
    if x.dtype == xp.float32 and has_float64(x):
        return xp.astype(xp.sum(x, axis=axis, keepdims=True, dtype=xp.float64), x.dtype)
    return xp.sum(x, axis=axis, keepdims=True)


def has_float64(x: Array) -> bool:
    """Whether ``x``'s backend (and device) computes in float64."""
    if array_api_compat.is_torch_array(x):
        return x.device.type != "mps"
    if array_api_compat.is_jax_array(x):
        import jax

        return bool(jax.config.read("jax_enable_x64"))  # type: ignore[no-untyped-call]  # jax leaves read() unannotated
    return True


def normalized_kl_terms(xp: Namespace, p: Array, q: Array, p_total: Array, q_total: Array) -> Array:
    """The terms ``t_i`` of ``KL(p / p_total || q / q_total) = sum_i t_i``, each ``>= 0``.

    With ``a = p / p_total``, ``b = q / q_total`` and ``r = a / b``, formed from the weights
    as ``(p / q) (q_total / p_total)``::

        t = a log r - a + b = b (r log r - r + 1)

    (the ``- a + b`` add up to 0 over a row). Unlike ``a log(a / b)``, no term is negative, so
    the row sum does not cancel, and neither form's sum depends to first order on the rounding
    of the normalised entries: KL of nearly proportional rows keeps its digits, and
    ``[1, 1e-320]`` against ``[4, 1e-323]`` gives 7.3e-320 (``b = 2.5e-324`` rounds to 0; the
    ratio is taken from the weights). Where ``r`` is in (1/2, 2) the term is
    ``b (r log r - (r - 1))`` (``r - 1`` exact); elsewhere ``a log r - a + b``, with
    ``log r = log p - log q + log(q_total / p_total)`` where ``r`` is not a normal number.
    ``t = b`` where ``p = 0``, ``+inf`` where ``p > 0 = q``. The totals must be positive normal
    numbers (see :func:`rescaled`); each branch reads safe arguments where it is not taken, so
    gradients stay NaN-free (see :func:`xlogy`).

    >>> import numpy as np
    >>> p, q = np.asarray([1.0, 1e-320]), np.asarray([4.0, 1e-323])
    >>> float(normalized_kl_terms(np, p, q, p.sum(keepdims=True), q.sum(keepdims=True)).sum())
    7.3057e-320
    """
    zero_p, zero_q = p == 0, q == 0
    one = xp.ones_like(p)
    safe_p, safe_q = xp.where(zero_p, one, p), xp.where(zero_q, one, q)
    scale = q_total / p_total
    a, b = p / p_total, q / q_total
    with _ignore_log_zero(p):
        ratio = (safe_p / safe_q) * scale
        near = (ratio > 0.5) & (ratio < 2)
        normal = (ratio >= xp.finfo(p.dtype).smallest_normal) & (ratio < math.inf)
        near_ratio = xp.where(near, ratio, one)
        close = b * (near_ratio * xp.log(near_ratio) - (near_ratio - 1))
        log_ratio = xp.where(
            normal, xp.log(xp.where(normal, ratio, one)), xp.log(safe_p) - xp.log(safe_q) + xp.log(scale)
        )
        apart = a * log_ratio - a + b
        terms = xp.where(near, close, apart)
        terms = xp.where(zero_p, b, terms)
        return xp.where(zero_q & ~zero_p, xp.full_like(terms, math.inf), terms)


def dominant_rest(xp: Namespace, x: Array, total: Array, axis: int) -> Array:
    """Per row (kept dims), the sum of the entries other than one above ``total / 2`` (if any).

    At most one entry of a row of non-negative weights exceeds half its sum, so this is
    ``total - x_max`` for a near-certain row, summed from the small entries (no cancellation),
    and ``total`` itself for other rows. See :func:`share_logs`.

    >>> import numpy as np
    >>> dominant_rest(np, np.asarray([1e12, 1.0, 3.0]), np.asarray([1e12 + 4]), -1).tolist()
    [4.0]
    """
    return xp.sum(xp.where(x > total / 2, xp.zeros_like(x), x), axis=axis, keepdims=True)


def share_logs(xp: Namespace, x: Array, total: Array, rest: Array) -> Array:
    """``log(x / total)`` per entry, accurate to a few ulps also for a share near 1; ``-inf`` at 0.

    ``log(c / S)`` of a dominant count takes the log of a share within an ulp of 1, where the
    share's rounding is all there is of the log: ``[1e6, 1e-3]`` would lose 8 digits. The entry
    above ``S / 2`` takes ``log1p(-rest / S)`` instead, with ``rest`` (:func:`dominant_rest`)
    the exact-to-rounding sum of the other entries; the others take ``log(x / S)``, or
    ``log x - log S`` where the share is not a normal number (so it keeps its digits, and its
    log is finite however small the share). Then ``-sum a log a`` (entropy)
    and ``-sum a log b`` (cross-entropy) of the shares are sums of non-negative terms each
    accurate to a few ulps. ``total`` and ``rest`` have kept dims; ``total`` must be a positive
    normal number (see :func:`rescaled`). Each branch reads safe arguments where it is not
    taken (NaN-free gradients, see :func:`xlogy`).

    >>> import numpy as np
    >>> x = np.asarray([1e6, 1e-3])
    >>> total = x.sum(keepdims=True)
    >>> float(share_logs(np, x, total, dominant_rest(np, x, total, -1))[0])
    -9.999999995e-10
    """
    zero = x == 0
    one, nothing = xp.ones_like(x), xp.zeros_like(x)
    safe = xp.where(zero, one, x)
    # a share below the smallest normal number (or flushed to 0) would lose digits: its log is
    # log x - log total instead, a difference of magnitude over 87 (float32; 708 in float64)
    # between terms of at most about that size, so accurate to a few ulps and finite for x > 0
    share = safe / total
    normal = share >= xp.finfo(x.dtype).smallest_normal
    logs = xp.log(xp.where(normal, share, safe)) - xp.where(normal, nothing, xp.log(total))
    # one log1p per row: rest = total where no entry is dominant (then unused; argument kept > -1/2)
    rest = xp.where(rest > total / 2, xp.zeros_like(rest), rest)
    close = xp.log1p(-rest / total)
    logs = xp.where(x > total / 2, close, logs)
    return xp.where(zero, xp.full_like(logs, -math.inf), logs)


def normalized_cross_entropy_terms(
    xp: Namespace, p: Array, q: Array, p_total: Array, q_log_shares: Array
) -> Array:
    """The terms ``-a log b`` of ``H(p / p_total, q / q_total)``, each ``>= 0`` (entropy: q = p).

    ``q_log_shares`` is :func:`share_logs` of ``q``; 0 where ``p = 0``, ``+inf`` where
    ``p > 0 = q``. Used by the generic path and by the NumPy fast path's rows where its
    identity ``(S_p log S_q - sum p log q) / S_p`` cancels.

    >>> import numpy as np
    >>> p = np.asarray([1e12, 1.0, 3.0])
    >>> total = p.sum(keepdims=True)
    >>> logs = share_logs(np, p, total, dominant_rest(np, p, total, -1))
    >>> float(normalized_cross_entropy_terms(np, p, p, total, logs).sum())
    1.1122824759727295e-10
    """
    # as xlogy: only a p = 0 facing q = 0 has its log replaced, so elsewhere the gradient with
    # respect to p keeps its -log b (cross-entropy is linear in p, finite at p = 0)
    undefined = (p == 0) & (q_log_shares == -math.inf)
    safe_logs = xp.where(undefined, xp.zeros_like(q_log_shares), q_log_shares)
    return 0.0 - (p / p_total) * safe_logs


def _ignore_log_zero(x: Array) -> contextlib.AbstractContextManager[Any]:
    """``np.errstate(divide='ignore', over='ignore')`` for NumPy-backed arrays; nothing for
    torch and JAX: log(0) = -inf and a ratio that overflows to inf are intended (and handled).

    ``torch.compile(fullgraph=True)`` cannot trace ``np.errstate``, and torch/JAX never warn.
    """
    if is_torch_array(x) or type(x).__module__.startswith("jax"):
        return contextlib.nullcontext()
    return np.errstate(divide="ignore", over="ignore")
