/* Compiled per-block kernels of the NumPy fast path (src/infoloss/measures/_fast.py).

   One pass over a block of rows (a C-contiguous (rows, n) float64 or float32 array, and a
   second one of the same shape for the two-argument measures) gives, per row,

       entropy        sum p log p           cross_entropy   sum p log q
       kl_divergence  sum p log(p / q)      js_divergence   sum p log(2p / (p + q)) + q log(2q / (p + q))
       decompose      sum p log(p / q) and sum p log p, from one read of the data

   accumulated in double, plus per row the sums of p (and q), and the smallest entry of the
   whole block. The conventions (which entries count, what is +-inf) are those of the NumPy
   block functions _entropy_block, _cross_entropy_block, _kl_block and _js_block in
   measures/_fast.py, entry by entry; keep the two in step. In short:

   * p = 0 contributes 0: the argument of the log is raised to the smallest normal number
     TINY (as np.fmax(x, tiny): a NaN argument becomes TINY too), or, for cross-entropy, is
     q + [p == 0]. p > 0 = q gives +inf (KL) or -inf (sum p log q). p == q gives a ratio of
     exactly 1, so KL(p, p) is exactly 0.
   * JS takes x / m as (x / (p + q)) * 2: (p + q) / 2 underflows for a subnormal entry beside
     a zero, p + q never does.
   * KL and JS terms are accurate when p / q is near 1: the rounding error of the ratio is
     added back from its exact residual (see RESIDUAL), and JS also adds back the rounding of
     p + q (see JS_ROW).
   * KL: a row whose total is +inf or NaN, or with a p != 0 whose ratio p / q is not a normal
     number (it overflowed or underflowed), is redone entry by entry, as _exact_kl_row.
   * The minimum is NaN when an entry is NaN, so "minimum >= 0" rejects NaN and negative
     entries (a NaN entry makes its row sum NaN, which is what is tested: a row holding both
     +inf and -inf reports NaN as well, equally rejected). A +inf entry shows in its row sum.

   Built twice by setup.py: as infoloss.measures._kernels (the compiler's baseline instruction set) and,
   on x86-64, as infoloss.measures._kernels_avx2 from _kernels_avx2.c (with -mavx2 -mfma), which
   measures/_fast.py imports only when NumPy reports AVX2 and FMA3. With glibc on x86-64
   (INFOLOSS_LIBMVEC) the log calls are vectorised with libmvec (_ZGVdN4v_log, _ZGVdN8v_logf
   under AVX2, _ZGVbN2v_log, _ZGVbN4v_logf otherwise): the compiler needs -fopenmp-simd for
   the declarations below and -fno-math-errno to call them. No -ffast-math: NaN and inf must
   keep their IEEE meaning. Elsewhere the loops are plain C and libm. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <string.h>

#ifndef INFOLOSS_KERNELS_NAME
#define INFOLOSS_KERNELS_NAME _kernels
#endif
#define INFOLOSS_STR_(x) #x
#define INFOLOSS_STR(x) INFOLOSS_STR_(x)
#define INFOLOSS_CAT_(a, b) a##b
#define INFOLOSS_CAT(a, b) INFOLOSS_CAT_(a, b)

#ifdef INFOLOSS_LIBMVEC
/* glibc's math.h declares these SIMD variants only under -ffast-math; declare them here. */
#pragma omp declare simd notinbranch
extern double log(double x);
#pragma omp declare simd notinbranch
extern float logf(float x);
/* A SIMD loop with these reduction clauses (the reductions may be reordered across lanes). */
#define OMP_SIMD(clauses) _Pragma(INFOLOSS_STR(omp simd clauses))
#else
#define OMP_SIMD(clauses) /* plain loops: no pragma for the compiler to warn about */
#endif

/* The exact residual p - q r of a quotient r = fl(p / q), in ELEM: one fused multiply-add where
   the hardware has it (the AVX2 build, aarch64), else Dekker's product (float64) or double
   arithmetic (float32, where q r is exact in double). log(p / q) = log(r) + log(p / (q r)), and
   p log(p / (q r)) = p (e / (q r)) to first order = e (as q r = p to rounding): adding e to
   p log(r) removes the rounding of the ratio, the one error that matters when p / q is near 1
   (SciPy's rel_entr takes log1p((p - q) / q) there for the same reason, gh-20710). */
#if defined(__FMA__) || defined(FP_FAST_FMA)
#define RESIDUAL_double(p, q, r) fma(-(q), (r), (p))
#else
static inline double
residual_dekker(double p, double q, double r)
{
    const double split = 134217729.0; /* 2^27 + 1 */
    double t = split * q, qh = t - (t - q), ql = q - qh;
    t = split * r;
    double rh = t - (t - r), rl = r - rh;
    double product = q * r;
    double error = ((qh * rh - product) + qh * rl + ql * rh) + ql * rl; /* q r = product + error */
    return (p - product) - error;
}
#define RESIDUAL_double(p, q, r) residual_dekker((p), (q), (r))
#endif
#if defined(__FMA__) || defined(FP_FAST_FMAF)
#define RESIDUAL_float(p, q, r) ((double)fmaf(-(q), (r), (p)))
#else
#define RESIDUAL_float(p, q, r) ((double)(p) - (double)(q) * (double)(r))
#endif
#define RESIDUAL_(ELEM) RESIDUAL_##ELEM
#define RESIDUAL(ELEM) RESIDUAL_(ELEM)

/* The row loops. ELEM is double or float; LOG is log or logf; TINY the smallest normal ELEM
   (a variable, see DEFINE_BLOCK).
   Each loop adds the row's term into `total` and its entries into `sum_p` (`sum_q`), all in
   double, and keeps the smallest entries in `min_p`, `min_q`. */
#define ENTROPY_ROW(ELEM, LOG, TINY)                                                  \
    OMP_SIMD(reduction(+ : total, sum_p) reduction(min : min_p))          \
    for (Py_ssize_t i = 0; i < n; i++) {                                              \
        ELEM pi = p[i];                                                               \
        ELEM x = pi > TINY ? pi : TINY; /* np.fmax(p, tiny) */                        \
        total += (double)pi * (double)LOG(x);                                         \
        sum_p += pi;                                                                  \
        min_p = pi < min_p ? pi : min_p;                                              \
    }

#define CROSS_ENTROPY_ROW(ELEM, LOG, TINY)                                            \
    OMP_SIMD(reduction(+ : total, sum_p, sum_q) reduction(min : min_p, min_q)) \
    for (Py_ssize_t i = 0; i < n; i++) {                                              \
        ELEM pi = p[i], qi = q[i];                                                    \
        ELEM x = qi + (pi == 0 ? (ELEM)1 : (ELEM)0); /* log(q + [p == 0]) */          \
        total += (double)pi * (double)LOG(x);                                         \
        sum_p += pi;                                                                  \
        sum_q += qi;                                                                  \
        min_p = pi < min_p ? pi : min_p;                                              \
        min_q = qi < min_q ? qi : min_q;                                              \
    }

/* p log(p / q) = p log(r) + e (see RESIDUAL). `extreme` counts the p != 0 whose ratio is not
   a normal number >= TINY (it underflowed, or p or q is NaN or negative): their rows are
   redone exactly, as are rows whose total is +inf or NaN (some p > 0 = q, or a ratio that
   overflowed). With DECOMPOSE the same loop
   also adds p log p into `total_h` (entropy and KL from one read of the data). */
#define KL_TERMS(ELEM, LOG, TINY)                                                     \
        ELEM pi = p[i], qi = q[i];                                                    \
        ELEM r = pi / qi;             /* exactly 1 where p == q */                    \
        ELEM rc = r > TINY ? r : TINY; /* np.fmax(p / q, tiny): 0 and 0 / 0 -> tiny */ \
        double e = pi > 0 ? RESIDUAL(ELEM)(pi, qi, r) : 0.0;                          \
        total += (double)pi * (double)LOG(rc) + e;                                    \
        extreme += ((pi != 0) & !(r >= TINY)) ? (ELEM)1 : (ELEM)0; /* also NaN, negative */ \
        sum_p += pi;                                                                  \
        sum_q += qi;                                                                  \
        min_p = pi < min_p ? pi : min_p;                                              \
        min_q = qi < min_q ? qi : min_q;

#define KL_ROW(ELEM, LOG, TINY)                                                       \
    OMP_SIMD(reduction(+ : total, sum_p, sum_q, extreme) reduction(min : min_p, min_q)) \
    for (Py_ssize_t i = 0; i < n; i++) {                                              \
        KL_TERMS(ELEM, LOG, TINY)                                                     \
    }

#define DECOMPOSE_ROW(ELEM, LOG, TINY)                                                \
    OMP_SIMD(reduction(+ : total, total_h, sum_p, sum_q, extreme) reduction(min : min_p, min_q)) \
    for (Py_ssize_t i = 0; i < n; i++) {                                              \
        KL_TERMS(ELEM, LOG, TINY)                                                     \
        ELEM x = pi > TINY ? pi : TINY;                                               \
        total_h += (double)pi * (double)LOG(x);                                       \
    }

/* The p and q halves are summed apart and added at the end, so that JS(p, q) == JS(q, p)
   exactly (a contracted fma over the sum of both terms would not be symmetric). Each half is
   accurate as KL's terms are: x log(2x / (p + q)) = x log(2 s) + e_x with s = fl(x / m),
   m = fl(p + q) and e_x = x - m s, less x (p + q - m) / m for the rounding of m; over both
   halves that is m_err = p + q - m, found exactly by Knuth's TwoSum. */
#define JS_ROW(ELEM, LOG, TINY)                                                       \
    double total_q = 0.0, mixture_error = 0.0;                                        \
    OMP_SIMD(reduction(+ : total, total_q, mixture_error, sum_p, sum_q) reduction(min : min_p, min_q)) \
    for (Py_ssize_t i = 0; i < n; i++) {                                              \
        ELEM pi = p[i], qi = q[i];                                                    \
        ELEM mixture = pi + qi;                                                       \
        ELEM back = mixture - pi;                                                     \
        mixture_error += (double)((pi - (mixture - back)) + (qi - back));             \
        ELEM sp = pi / mixture, sq = qi / mixture; /* <= 1: no overflow */            \
        ELEM rp = sp * 2, rq = sq * 2;                                                \
        double ep = pi > 0 ? RESIDUAL(ELEM)(pi, mixture, sp) : 0.0;                   \
        double eq = qi > 0 ? RESIDUAL(ELEM)(qi, mixture, sq) : 0.0;                   \
        rp = rp > TINY ? rp : TINY;                                                   \
        rq = rq > TINY ? rq : TINY;                                                   \
        total += (double)pi * (double)LOG(rp) + ep;                                   \
        total_q += (double)qi * (double)LOG(rq) + eq;                                 \
        sum_p += pi;                                                                  \
        sum_q += qi;                                                                  \
        min_p = pi < min_p ? pi : min_p;                                              \
        min_q = qi < min_q ? qi : min_q;                                              \
    }                                                                                 \
    total = (total + total_q) - mixture_error;

/* KL of one row, entry by entry as SciPy's rel_entr, in double: p log(r) + e while the ratio
   r is a normal number, else p (log p - log q); 0 where p == 0, +inf where p > 0 = q, NaN for
   NaN or negative p. Only for the rows KL_ROW flags. Mirrors _exact_kl_row in measures/_fast.py. */
#define EXACT_KL_ROW()                                                                \
    do {                                                                              \
        double exact = 0.0;                                                           \
        for (Py_ssize_t i = 0; i < n; i++) {                                          \
            double pi = p[i], qi = q[i];                                              \
            if (pi == 0)                                                              \
                continue;                                                             \
            if (!(pi > 0) || !(qi >= 0)) {                                            \
                exact = NAN;                                                          \
                break;                                                                \
            }                                                                         \
            if (qi == 0) {                                                            \
                exact = INFINITY;                                                     \
                continue; /* a NaN later still makes the row NaN */                   \
            }                                                                         \
            double r = pi / qi;                                                       \
            if (r >= DBL_MIN && r < INFINITY)                                         \
                exact += pi * log(r) + fma(-qi, r, pi);                               \
            else                                                                      \
                exact += pi * (log(pi) - log(qi));                                    \
        }                                                                             \
        total = exact;                                                                \
    } while (0)

enum measure { ENTROPY, CROSS_ENTROPY, KL_DIVERGENCE, JS_DIVERGENCE, DECOMPOSE };

/* One block. totals[r] gets row r's sum (and, for DECOMPOSE, totals[rows + r] the sum of
   p log p); sums[r] (and sums[rows + r]) the row sums of p (and q) unless sums is NULL; the
   return value is the smallest entry (NaN if any is NaN). */
#define DEFINE_BLOCK(NAME, ELEM, LOG, TINY)                                           \
    static double NAME(enum measure measure, const ELEM *P, const ELEM *Q,            \
                       Py_ssize_t rows, Py_ssize_t n, double *totals, double *sums)   \
    {                                                                                 \
        /* The clamp's bound is read through a volatile: were it a constant, GCC would     \
           rewrite log(x > TINY ? x : TINY) as x > TINY ? log(x) : log(TINY) and so call     \
           the vector log on the 0 or NaN the clamp is there to avoid, which sends the      \
           whole vector down libmvec's slow path (measured: 2x the time with 5% zeros). */  \
        const ELEM tiny = *(volatile const ELEM *)&TINY;                              \
        double smallest = INFINITY;                                                   \
        int unordered = 0;                                                            \
        for (Py_ssize_t row = 0; row < rows; row++) {                                 \
            const ELEM *p = P + row * n;                                              \
            const ELEM *q = Q ? Q + row * n : NULL;                                   \
            double total = 0.0, total_h = 0.0, sum_p = 0.0, sum_q = 0.0;              \
            ELEM extreme = 0;                                                         \
            ELEM min_p = (ELEM)INFINITY, min_q = (ELEM)INFINITY;                      \
            switch (measure) {                                                        \
            case ENTROPY:                                                             \
                ENTROPY_ROW(ELEM, LOG, tiny)                                          \
                break;                                                                \
            case CROSS_ENTROPY:                                                       \
                CROSS_ENTROPY_ROW(ELEM, LOG, tiny)                                    \
                break;                                                                \
            case KL_DIVERGENCE:                                                       \
                KL_ROW(ELEM, LOG, tiny)                                               \
                if (extreme || !(total < INFINITY))                                   \
                    EXACT_KL_ROW();                                    \
                break;                                                                \
            case DECOMPOSE:                                                           \
                DECOMPOSE_ROW(ELEM, LOG, tiny)                                        \
                if (extreme || !(total < INFINITY))                                   \
                    EXACT_KL_ROW();                                    \
                totals[rows + row] = total_h;                                         \
                break;                                                                \
            case JS_DIVERGENCE: {                                                     \
                JS_ROW(ELEM, LOG, tiny)                                               \
                break;                                                                \
            }                                                                         \
            }                                                                         \
            totals[row] = total;                                                      \
            if (sums) {                                                               \
                sums[row] = sum_p;                                                    \
                if (Q)                                                                \
                    sums[rows + row] = sum_q;                                         \
            }                                                                         \
            /* The min reductions skip NaN; a NaN entry makes its row sum NaN. */     \
            unordered |= isnan(sum_p) || isnan(sum_q);                                \
            if (min_p < smallest)                                                     \
                smallest = min_p;                                                     \
            if (Q && min_q < smallest)                                                \
                smallest = min_q;                                                     \
        }                                                                             \
        return unordered ? NAN : smallest;                                            \
    }

static const double tiny_float64 = DBL_MIN; /* the smallest normal numbers, as np.finfo.tiny */
static const float tiny_float32 = FLT_MIN;

DEFINE_BLOCK(block_float64, double, log, tiny_float64)
DEFINE_BLOCK(block_float32, float, logf, tiny_float32)

/* ---------------------------------------------------------------------------------------
   Python interface: measure(p, [q,] totals, sums) -> smallest entry, as a float.
   p, q: C-contiguous 2-D buffers, both float64 ('d') or both float32 ('f'), same shape.
   totals: writable float64 buffer of at least `rows` entries (2 * rows for decompose); sums: None, or a writable
   float64 buffer of at least rows (entropy) or 2 * rows entries. The GIL is released for the
   loop, so two threads run two blocks in parallel.
   --------------------------------------------------------------------------------------- */

static int
get_input(PyObject *obj, Py_buffer *view, const char *name)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    const char *format = view->format;
    if (format[0] == '<' || format[0] == '=' || format[0] == '@')
        format++;
    if (view->ndim != 2 || (strcmp(format, "d") != 0 && strcmp(format, "f") != 0)) {
        PyErr_Format(PyExc_TypeError, "%s must be a 2-D float64 or float32 buffer", name);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static int
get_output(PyObject *obj, Py_buffer *view, Py_ssize_t entries, const char *name)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0)
        return -1;
    const char *format = view->format;
    if (format[0] == '<' || format[0] == '=' || format[0] == '@')
        format++;
    if (strcmp(format, "d") != 0 || view->len < entries * (Py_ssize_t)sizeof(double)) {
        PyErr_Format(PyExc_TypeError, "%s must be a float64 buffer of at least %zd entries",
                     name, entries);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *
run(enum measure measure, PyObject *const *args, Py_ssize_t nargs)
{
    int two = measure != ENTROPY;
    if (nargs != 3 + two) {
        PyErr_Format(PyExc_TypeError, "expected %d arguments, got %zd", 3 + two, nargs);
        return NULL;
    }
    Py_buffer p = {0}, q = {0}, totals = {0}, sums = {0};
    int have_q = 0, have_totals = 0, have_sums = 0;
    PyObject *result = NULL;
    if (get_input(args[0], &p, "p") < 0)
        return NULL;
    Py_ssize_t rows = p.shape[0], n = p.shape[1];
    int float64 = p.itemsize == 8;
    if (two) {
        if (get_input(args[1], &q, "q") < 0)
            goto done;
        have_q = 1;
        if (q.shape[0] != rows || q.shape[1] != n || q.itemsize != p.itemsize) {
            PyErr_SetString(PyExc_ValueError, "p and q must have the same shape and dtype");
            goto done;
        }
    }
    if (get_output(args[1 + two], &totals, (measure == DECOMPOSE ? 2 : 1) * rows, "totals") < 0)
        goto done;
    have_totals = 1;
    if (args[2 + two] != Py_None) {
        if (get_output(args[2 + two], &sums, (1 + two) * rows, "sums") < 0)
            goto done;
        have_sums = 1;
    }
    double smallest;
    Py_BEGIN_ALLOW_THREADS
    if (float64)
        smallest = block_float64(measure, p.buf, two ? q.buf : NULL, rows, n, totals.buf,
                                 have_sums ? sums.buf : NULL);
    else
        smallest = block_float32(measure, p.buf, two ? q.buf : NULL, rows, n, totals.buf,
                                 have_sums ? sums.buf : NULL);
    Py_END_ALLOW_THREADS
    result = PyFloat_FromDouble(smallest);
done:
    PyBuffer_Release(&p);
    if (have_q)
        PyBuffer_Release(&q);
    if (have_totals)
        PyBuffer_Release(&totals);
    if (have_sums)
        PyBuffer_Release(&sums);
    return result;
}

static PyObject *
entropy(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return run(ENTROPY, args, nargs);
}

static PyObject *
cross_entropy(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return run(CROSS_ENTROPY, args, nargs);
}

static PyObject *
kl_divergence(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return run(KL_DIVERGENCE, args, nargs);
}

static PyObject *
js_divergence(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return run(JS_DIVERGENCE, args, nargs);
}

static PyObject *
decompose(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return run(DECOMPOSE, args, nargs);
}

static PyMethodDef methods[] = {
    {"entropy", (PyCFunction)(void (*)(void))entropy, METH_FASTCALL,
     "entropy(p, totals, sums) -> smallest entry; totals[r] = sum p log p of row r"},
    {"cross_entropy", (PyCFunction)(void (*)(void))cross_entropy, METH_FASTCALL,
     "cross_entropy(p, q, totals, sums) -> smallest entry; totals[r] = sum p log q"},
    {"kl_divergence", (PyCFunction)(void (*)(void))kl_divergence, METH_FASTCALL,
     "kl_divergence(p, q, totals, sums) -> smallest entry; totals[r] = sum p log(p / q)"},
    {"js_divergence", (PyCFunction)(void (*)(void))js_divergence, METH_FASTCALL,
     "js_divergence(p, q, totals, sums) -> smallest entry; totals[r] = 2 JS of row r"},
    {"decompose", (PyCFunction)(void (*)(void))decompose, METH_FASTCALL,
     "decompose(p, q, totals, sums) -> smallest entry; totals[r] = sum p log(p / q), "
     "totals[rows + r] = sum p log p"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "infoloss.measures." INFOLOSS_STR(INFOLOSS_KERNELS_NAME),
    "Per-block kernels of infoloss's NumPy fast path (see _kernels.c).", -1, methods,
};

PyMODINIT_FUNC
INFOLOSS_CAT(PyInit_, INFOLOSS_KERNELS_NAME)(void)
{
    return PyModule_Create(&module);
}
