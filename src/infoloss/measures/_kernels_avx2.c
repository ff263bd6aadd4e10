/* The AVX2 + FMA build of _kernels.c, as the module infoloss.measures._kernels_avx2: setup.py compiles
   this file with -mavx2 -mfma (x86-64 only), and measures/_fast.py imports it only on a CPU that
   NumPy reports as having AVX2 and FMA3. All the code is in _kernels.c. */
#define INFOLOSS_KERNELS_NAME _kernels_avx2
#include "_kernels.c"
