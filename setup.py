"""Builds the optional compiled kernels of the NumPy fast path; the metadata is in pyproject.toml.

Two extension modules from one source (src/infoloss/measures/_kernels.c): ``infoloss.measures._kernels`` for the
compiler's baseline instruction set and, on x86-64, ``infoloss.measures._kernels_avx2`` (AVX2 + FMA),
chosen at import time from NumPy's CPU feature detection, so no CPU meets an instruction it
lacks. On x86-64 Linux with glibc the log calls are vectorised with glibc's libmvec. A third,
``infoloss.estimate._count_kernels`` (src/infoloss/estimate/_count_kernels.c), counts samples for
``infoloss.estimate``. All are optional: without a working compiler the package installs and runs
on its NumPy code.
"""

import platform
import sys

from setuptools import Extension, setup


def kernel_extensions() -> list:
    x86_64 = platform.machine().lower() in ("x86_64", "amd64")
    libmvec = sys.platform.startswith("linux") and x86_64 and platform.libc_ver()[0] == "glibc"
    if sys.platform == "win32":
        flags = []  # MSVC: its default optimisation; no GCC-style options
    else:
        # No -ffast-math: NaN and inf must keep their meaning (validation relies on them).
        flags = ["-O3", "-fno-math-errno", "-fno-trapping-math"]
    macros, libraries = [], []
    if libmvec:
        flags.append("-fopenmp-simd")
        macros.append(("INFOLOSS_LIBMVEC", "1"))
        libraries = ["mvec", "m"]
    common = dict(define_macros=macros, libraries=libraries, optional=True,
                  depends=["src/infoloss/measures/_kernels.c"])
    extensions = [Extension("infoloss.measures._kernels", ["src/infoloss/measures/_kernels.c"],
                            extra_compile_args=flags, **common)]
    if x86_64 and sys.platform != "win32":
        extensions.append(Extension("infoloss.measures._kernels_avx2", ["src/infoloss/measures/_kernels_avx2.c"],
                                    extra_compile_args=flags + ["-mavx2", "-mfma"], **common))
    # infoloss.estimate's counting kernels (integer scatter and hashing: no libm, no SIMD build).
    extensions.append(Extension("infoloss.estimate._count_kernels", ["src/infoloss/estimate/_count_kernels.c"],
                                extra_compile_args=[f for f in flags if f != "-fopenmp-simd"], optional=True,
                                depends=["src/infoloss/estimate/_count_kernels.c"]))
    return extensions


setup(ext_modules=kernel_extensions())
