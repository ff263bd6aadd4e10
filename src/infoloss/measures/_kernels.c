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
     TINY (as np.fmax(x, tiny): a NaN argument becomes TINY too), except that entropy's p > 0
     keeps its own log (a subnormal p too), or, for cross-entropy, is q + [p == 0]. p > 0 = q gives +inf (KL) or -inf (sum p log q). p == q gives a ratio of
     exactly 1, so KL(p, p) is exactly 0.
   * JS takes x / m as (x / (p + q)) * 2: (p + q) / 2 underflows for a subnormal entry beside
     a zero, p + q never does.
   * KL and JS terms are accurate when p / q is near 1: a first, plain loop omits the rounding
     of the ratio; rows where that could matter (a total small next to the row's mass) are
     read again by a loop that adds it back from its exact residual (see RESIDUAL; JS also
     adds back the rounding of p + q, see JS_ROW). Elsewhere the two agree to 4 ulps (KL) and
     16 ulps (JS), and the plain loop costs what the kernels cost before the residuals.
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
        ELEM x = pi > 0 ? pi : TINY; /* p = 0: log(tiny) * 0; subnormal p: its own log */ \
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

/* The KL loops come in two kinds. The plain one (KL_TERMS) adds p log(r) with r = fl(p / q):
   it omits the rounding of the ratio, at most eps p / 2 per term, so its total is within
   4 ulps of the accurate one wherever |total| >= sum p / 8 (ACCURATE_MARGIN; most rows:
   KL of two random distributions is about 0.5). Rows below that (nearly equal distributions,
   where that rounding is all there is of the terms) are read again by the accurate loop
   (KL_ACCURATE_ROW: p log(r) + e, see RESIDUAL). A p = 0 takes log(1) (0 / 0 included);
   `min_r`, the smallest ratio of the other entries, below TINY says one underflowed
   (p = 1e-200 against q = 1e200): such rows are redone exactly, as are rows whose total is
   +inf or NaN (some p > 0 = q, a ratio that overflowed, NaN or negative entries). Cheaper
   than counting those entries (measured: that count made the loop 10% slower). With
   DECOMPOSE the same loop also adds p log p into `total_h` (entropy and KL from one read of
   the data). _kl_block in measures/_fast.py applies the same rules. */
#define ACCURATE_MARGIN 0.125
#define JS_ACCURATE_MARGIN 0.03125 /* JS: within 16 ulps above (sum p + sum q) / 32 */

#define KL_TERMS(ELEM, LOG, TINY, ONE)                                                \
        ELEM pi = p[i], qi = q[i];                                                    \
        ELEM r = pi / qi;              /* exactly 1 where p == q */                   \
        ELEM rc = pi == 0 ? ONE : r;   /* p = 0 (also 0 / 0) contributes 0 log 1 */   \
        total += (double)pi * (double)LOG(rc);                                        \
        min_r = rc < min_r ? rc : min_r; /* below TINY: a ratio that underflowed */    \
        sum_p += pi;                                                                  \
        sum_q += qi;                                                                  \
        min_p = pi < min_p ? pi : min_p;                                              \
        min_q = qi < min_q ? qi : min_q;

/* Validated distributions (not normalised; the SCANLESS flag): q <= 1 + tolerance, so only a
   subnormal p can have a ratio that underflows, and the clamp to TINY changes its term by
   less than 1e-305 (as _extreme_ratios in measures/_fast.py says): this loop clamps instead
   of looking for such ratios, one instruction less per entry. */
#define KL_TERMS_CLAMPED(ELEM, LOG, TINY, ONE)                                        \
        ELEM pi = p[i], qi = q[i];                                                    \
        ELEM r = pi / qi;                                                             \
        ELEM rc = r > TINY ? r : TINY; /* np.fmax(p / q, tiny): 0 and 0 / 0 -> tiny */ \
        total += (double)pi * (double)LOG(rc);                                        \
        sum_p += pi;                                                                  \
        sum_q += qi;                                                                  \
        min_p = pi < min_p ? pi : min_p;                                              \
        min_q = qi < min_q ? qi : min_q;

#define KL_ROW(ELEM, LOG, TINY, ONE, TERMS)                                           \
    OMP_SIMD(reduction(+ : total, sum_p, sum_q) reduction(min : min_p, min_q, min_r)) \
    for (Py_ssize_t i = 0; i < n; i++) {                                              \
        TERMS(ELEM, LOG, TINY, ONE)                                                   \
    }

#define DECOMPOSE_ROW(ELEM, LOG, TINY, ONE, TERMS)                                    \
    OMP_SIMD(reduction(+ : total, total_h, sum_p, sum_q) reduction(min : min_p, min_q, min_r)) \
    for (Py_ssize_t i = 0; i < n; i++) {                                              \
        TERMS(ELEM, LOG, TINY, ONE)                                                   \
        ELEM x = pi > 0 ? pi : TINY;                                                  \
        total_h += (double)pi * (double)LOG(x);                                       \
    }

/* The accurate KL total of a row: p log(r) + e, e = p - q r the ratio's exact residual. */
#define KL_ACCURATE_ROW(ELEM, LOG, TINY)                                              \
    do {                                                                              \
        double accurate = 0.0;                                                        \
        OMP_SIMD(reduction(+ : accurate))                                             \
        for (Py_ssize_t i = 0; i < n; i++) {                                          \
            ELEM pi = p[i], qi = q[i];                                                \
            ELEM r = pi / qi;                                                         \
            ELEM rc = r > TINY ? r : TINY;                                            \
            double e = pi > 0 ? RESIDUAL(ELEM)(pi, qi, r) : 0.0;                      \
            accurate += (double)pi * (double)LOG(rc) + e;                             \
        }                                                                             \
        total = accurate;                                                             \
    } while (0)

/* After a plain KL loop: the exact row (extreme ratios, +inf or NaN), else the accurate one
   where the plain total could be off by more than 4 ulps (or always, with mode ACCURATE;
   mode PLAIN leaves that decision to the caller, for chunks of a long row). */
#define KL_FINISH(ELEM, LOG, TINY)                                                    \
    if (!(min_r >= TINY) || !(fabs(total) < INFINITY))                                \
        EXACT_KL_ROW();                                                               \
    else if (mode == ACCURATE || (mode == CHECKED && !(fabs(total) >= ACCURATE_MARGIN * sum_p))) \
        KL_ACCURATE_ROW(ELEM, LOG, TINY);

/* The p and q halves are summed apart and added at the end, so that JS(p, q) == JS(q, p)
   exactly (a contracted fma over the sum of both terms would not be symmetric). The plain
   loop (JS_ROW) takes x log(2 fl(x / m)) with m = fl(p + q); where its total is below
   (sum p + sum q) / 32 the row is read again by JS_ACCURATE_ROW, whose terms are accurate as
   KL's: x log(2x / (p + q)) = x log(2 s) + e_x with s = fl(x / m) and e_x = x - m s, less
   x (p + q - m) / m for the rounding of m; over both halves that is m_err = p + q - m, found
   exactly by Knuth's TwoSum. _js_block in measures/_fast.py applies the same rule. */
#define JS_ROW(ELEM, LOG, TINY)                                                       \
    double total_q = 0.0;                                                             \
    OMP_SIMD(reduction(+ : total, total_q, sum_p, sum_q) reduction(min : min_p, min_q)) \
    for (Py_ssize_t i = 0; i < n; i++) {                                              \
        ELEM pi = p[i], qi = q[i];                                                    \
        ELEM mixture = pi + qi;                                                       \
        ELEM rp = (pi / mixture) * 2, rq = (qi / mixture) * 2; /* <= 2: no overflow */ \
        rp = rp > TINY ? rp : TINY;                                                   \
        rq = rq > TINY ? rq : TINY;                                                   \
        total += (double)pi * (double)LOG(rp);                                        \
        total_q += (double)qi * (double)LOG(rq);                                      \
        sum_p += pi;                                                                  \
        sum_q += qi;                                                                  \
        min_p = pi < min_p ? pi : min_p;                                              \
        min_q = qi < min_q ? qi : min_q;                                              \
    }                                                                                 \
    total += total_q;                                                                 \
    if (mode == ACCURATE                                                              \
        || (mode == CHECKED && !(fabs(total) >= JS_ACCURATE_MARGIN * (sum_p + sum_q)))) \
        JS_ACCURATE_ROW(ELEM, LOG, TINY);

#define JS_ACCURATE_ROW(ELEM, LOG, TINY)                                              \
    do {                                                                              \
        double accurate_p = 0.0, accurate_q = 0.0, mixture_error = 0.0;               \
        OMP_SIMD(reduction(+ : accurate_p, accurate_q, mixture_error))                \
        for (Py_ssize_t i = 0; i < n; i++) {                                          \
            ELEM pi = p[i], qi = q[i];                                                \
            ELEM mixture = pi + qi;                                                   \
            ELEM back = mixture - pi;                                                 \
            mixture_error += (double)((pi - (mixture - back)) + (qi - back));         \
            ELEM sp = pi / mixture, sq = qi / mixture;                                \
            ELEM rp = sp * 2, rq = sq * 2;                                            \
            double ep = pi > 0 ? RESIDUAL(ELEM)(pi, mixture, sp) : 0.0;               \
            double eq = qi > 0 ? RESIDUAL(ELEM)(qi, mixture, sq) : 0.0;               \
            rp = rp > TINY ? rp : TINY;                                               \
            rq = rq > TINY ? rq : TINY;                                               \
            accurate_p += (double)pi * (double)LOG(rp) + ep;                          \
            accurate_q += (double)qi * (double)LOG(rq) + eq;                          \
        }                                                                             \
        total = (accurate_p + accurate_q) - mixture_error;                            \
    } while (0)

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

/* How KL and JS rows are finished (the optional last argument of the Python calls):
   CHECKED reads a row again accurately where the plain total could be off by more than a few
   ulps (the default; whole rows), PLAIN never (chunks of a long row: _fast.py decides per
   row, from the whole row's total), ACCURATE always. */
enum mode { PLAIN, CHECKED, ACCURATE };
#define SCANLESS 4 /* added to a mode: validated distributions, see KL_TERMS_CLAMPED */

/* One block. totals[r] gets row r's sum (and, for DECOMPOSE, totals[rows + r] the sum of
   p log p); sums[r] (and sums[rows + r]) the row sums of p (and q) unless sums is NULL; the
   return value is the smallest entry (NaN if any is NaN). */
#define DEFINE_BLOCK(NAME, ELEM, LOG, TINY)                                           \
    static double NAME(enum measure measure, enum mode mode, int scanless, const ELEM *P, const ELEM *Q, \
                       Py_ssize_t rows, Py_ssize_t n, double *totals, double *sums)   \
    {                                                                                 \
        /* The clamp's bound is read through a volatile: were it a constant, GCC would     \
           rewrite log(x > TINY ? x : TINY) as x > TINY ? log(x) : log(TINY) and so call     \
           the vector log on the 0 or NaN the clamp is there to avoid, which sends the      \
           whole vector down libmvec's slow path (measured: 2x the time with 5% zeros). */  \
        const ELEM tiny = *(volatile const ELEM *)&TINY;                              \
        const ELEM one = *(volatile const ELEM *)&ONE_##ELEM; /* likewise for log(1) */ \
        double smallest = INFINITY;                                                   \
        int unordered = 0;                                                            \
        for (Py_ssize_t row = 0; row < rows; row++) {                                 \
            const ELEM *p = P + row * n;                                              \
            const ELEM *q = Q ? Q + row * n : NULL;                                   \
            double total = 0.0, total_h = 0.0, sum_p = 0.0, sum_q = 0.0;              \
            ELEM min_p = (ELEM)INFINITY, min_q = (ELEM)INFINITY, min_r = (ELEM)INFINITY; \
            switch (measure) {                                                        \
            case ENTROPY:                                                             \
                ENTROPY_ROW(ELEM, LOG, tiny)                                          \
                break;                                                                \
            case CROSS_ENTROPY:                                                       \
                CROSS_ENTROPY_ROW(ELEM, LOG, tiny)                                    \
                break;                                                                \
            case KL_DIVERGENCE:                                                       \
                if (scanless) {                                                       \
                    KL_ROW(ELEM, LOG, tiny, one, KL_TERMS_CLAMPED)                    \
                } else {                                                              \
                    KL_ROW(ELEM, LOG, tiny, one, KL_TERMS)                            \
                }                                                                     \
                KL_FINISH(ELEM, LOG, tiny)                                            \
                break;                                                                \
            case DECOMPOSE:                                                           \
                if (scanless) {                                                       \
                    DECOMPOSE_ROW(ELEM, LOG, tiny, one, KL_TERMS_CLAMPED)             \
                } else {                                                              \
                    DECOMPOSE_ROW(ELEM, LOG, tiny, one, KL_TERMS)                     \
                }                                                                     \
                KL_FINISH(ELEM, LOG, tiny)                                            \
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
static const double ONE_double = 1.0;
static const float ONE_float = 1.0f;

DEFINE_BLOCK(block_float64, double, log, tiny_float64)
DEFINE_BLOCK(block_float32, float, logf, tiny_float32)

/* ---------------------------------------------------------------------------------------
   Python interface: measure(p, [q,] totals, sums[, mode]) -> smallest entry, as a float.
   mode (KL, JS, decompose): 0 plain, 1 checked (the default), 2 accurate; see enum mode; plus
   4 (SCANLESS) for validated distributions.
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
    int takes_mode = measure == KL_DIVERGENCE || measure == JS_DIVERGENCE || measure == DECOMPOSE;
    if (nargs != 3 + two && !(takes_mode && nargs == 4 + two)) {
        if (takes_mode)
            PyErr_Format(PyExc_TypeError, "expected %d or %d arguments, got %zd", 3 + two, 4 + two, nargs);
        else
            PyErr_Format(PyExc_TypeError, "expected %d arguments, got %zd", 3 + two, nargs);
        return NULL;
    }
    enum mode mode = CHECKED;
    int scanless = 0;
    if (nargs == 4 + two) {
        long value = PyLong_AsLong(args[3 + two]);
        if (value == -1 && PyErr_Occurred())
            return NULL;
        scanless = (value & SCANLESS) != 0;
        value &= ~SCANLESS;
        if (value < PLAIN || value > ACCURATE) {
            PyErr_SetString(PyExc_ValueError,
                            "mode must be 0 (plain), 1 (checked) or 2 (accurate), plus 4 (scanless)");
            return NULL;
        }
        mode = (enum mode)value;
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
        smallest = block_float64(measure, mode, scanless, p.buf, two ? q.buf : NULL, rows, n, totals.buf,
                                 have_sums ? sums.buf : NULL);
    else
        smallest = block_float32(measure, mode, scanless, p.buf, two ? q.buf : NULL, rows, n, totals.buf,
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
