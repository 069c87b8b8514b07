// exp and log over arrays, vectorised: one branch-free algorithm per function, compiled for
// AVX-512, AVX2 and the baseline instruction set (chosen once at run time) with contraction of
// multiplies and adds into FMAs switched off, so every path computes the same roundings: the
// same bits on every x86-64 CPU (glibc's exp and log pick FMA or non-FMA code by CPU).
// Accuracy (VectorMathTests, against an 80-bit reference): below 1 ulp for both.
#include "CKernels.h"
#include "dispatch.h"
#include <string.h>

#pragma clang fp contract(off)
#if defined(__FAST_MATH__)
#error "vmath.c must be compiled without -ffast-math: its bits depend on every rounding (and no -ffp-contract=fast)"
#endif

static inline __attribute__((always_inline)) uint64_t bits_of(double x) { uint64_t b; memcpy(&b, &x, sizeof b); return b; }
static inline __attribute__((always_inline)) double double_of(uint64_t b) { double x; memcpy(&x, &b, sizeof x); return x; }

// ln 2 = LN2_HI + LN2_LO, LN2_HI with 32 significant bits (k LN2_HI is exact for |k| < 2^21).
#define LN2_HI 0x1.62e42feep-1
#define LN2_LO 0x1.a39ef35793c76p-33
#define INV_LN2 0x1.71547652b82fep+0
#define ROUND_SHIFT 0x1.8p52 /* adding and subtracting it rounds |t| < 2^51 to an integer */

/// a + b = *sum + *error exactly, *sum the rounded sum (Knuth's branch-free TwoSum).
static inline __attribute__((always_inline)) void two_sum(double a, double b, double *sum, double *error)
{
    double s = a + b, bb = s - a;
    *sum = s;
    *error = (a - (s - bb)) + (b - bb);
}

/// e^x: x = k ln 2 + r with k = round(x / ln 2), |r| <= ln 2 / 2 (Cody & Waite's two-part
/// reduction; r's own rounding error kept as r_lo), e^r = 1 + (r + (r_lo + r² c(r))) with c the
/// Taylor series of (e^r - 1 - r) / r² to r^11 (truncation < 5e-18 relative), then times 2^k as
/// two exact powers of two (so results down in the subnormals round once).
static inline __attribute__((always_inline)) double exp_one(double x)
{
    double xc = x < -746.0 ? -746.0 : (x > 710.0 ? 710.0 : x); // e^-746 rounds to 0, e^710 to inf
    double kd = (xc * INV_LN2 + ROUND_SHIFT) - ROUND_SHIFT;
    double hi = xc - kd * LN2_HI;       // exact
    double lo = -(kd * LN2_LO);
    double r, r_lo;
    two_sum(hi, lo, &r, &r_lo);         // r + r_lo = hi + lo exactly
    double c = 0x1.6124613a86d09p-33;
    c = c * r + 0x1.1eed8eff8d898p-29;
    c = c * r + 0x1.ae64567f544e4p-26;
    c = c * r + 0x1.27e4fb7789f5cp-22;
    c = c * r + 0x1.71de3a556c734p-19;
    c = c * r + 0x1.a01a01a01a01ap-16;
    c = c * r + 0x1.a01a01a01a01ap-13;
    c = c * r + 0x1.6c16c16c16c17p-10;
    c = c * r + 0x1.1111111111111p-7;
    c = c * r + 0x1.5555555555555p-5;
    c = c * r + 0x1.5555555555555p-3;
    c = c * r + 0x1.0p-1;
    double p = 1.0 + (r + (r_lo + (r * r) * c));
    // k = kd, -1077 ... 1024, from the bits of kd + ROUND_SHIFT (integer operations only, which
    // every vector unit has), split into two halves within the normal exponents.
    int64_t k = (int64_t)(bits_of(kd + ROUND_SHIFT) - bits_of(ROUND_SHIFT));
    int64_t k1 = (int64_t)((uint64_t)(k + 2048) >> 1) - 1024, k2 = k - k1;
    double y = p * double_of((uint64_t)(k1 + 1023) << 52) * double_of((uint64_t)(k2 + 1023) << 52);
    return x != x ? x : y;
}

#define SQRT2 0x1.6a09e667f3bcdp+0

/// log x: x = 2^e m with m in [sqrt(1/2), sqrt(2)), f = m - 1 (exact), s = f / (2 + f), and
/// log(1 + f) = 2 atanh(s) = f - (f²/2 - s (f²/2 + Q)) with Q = sum_j 2 s^(2j) / (2j + 1),
/// j = 1 ... 9 (|s| <= 0.172: truncation < 3e-17 relative); then e ln 2 in two parts, e LN2_HI + f
/// formed exactly (TwoSum) before the small terms join it: just below x = sqrt(1/2) 2^e, e ln 2
/// and log(1 + f) cancel into the result's binade (the simpler f - s (f - Q) form, rounded there,
/// reached 1.09 ulp).
static inline __attribute__((always_inline)) double log_one(double x)
{
    int subnormal = x < 0x1p-1022;      // also 0 and negatives, handled at the end
    double xs = subnormal ? x * 0x1p54 : x;
    uint64_t b = bits_of(xs);
    int64_t e = (int64_t)((b >> 52) & 0x7ff) - 1023 - (subnormal ? 54 : 0);
    double m = double_of((b & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
    int high = m > SQRT2;
    m = high ? m * 0.5 : m;
    e += high;
    double f = m - 1.0;
    double s = f / (2.0 + f);
    double z = s * s;
    double q = 0x1.af286bca1af28p-4;
    q = q * z + 0x1.e1e1e1e1e1e1ep-4;
    q = q * z + 0x1.1111111111111p-3;
    q = q * z + 0x1.3b13b13b13b14p-3;
    q = q * z + 0x1.745d1745d1746p-3;
    q = q * z + 0x1.c71c71c71c71cp-3;
    q = q * z + 0x1.2492492492492p-2;
    q = q * z + 0x1.999999999999ap-2;
    q = q * z + 0x1.5555555555555p-1;
    q = q * z;
    // e as a double (|e| < 1100) through the bits of 2^52 + 2048 + e: integer operations only.
    double ed = double_of(0x4330000000000000ULL + (uint64_t)(e + 2048)) - (0x1p52 + 2048.0);
    // log(1 + f) = f - (f²/2 - s (f²/2 + Q)): the rounding of s only enters a term ~f³/4.
    // f² = sq + sq_err exactly (Dekker's product without FMA: f split into 26-bit halves).
    double split = 0x1.0000002p+27 * f, fh = split - (split - f), fl = f - fh;
    double sq = f * f, sq_err = ((fh * fh - sq) + 2.0 * fh * fl) + fl * fl;
    double hfsq = 0.5 * sq;
    double correction = hfsq - ((s * (hfsq + q) + ed * LN2_LO) - 0.5 * sq_err);
    double head, tail;
    two_sum(ed * LN2_HI, f, &head, &tail); // ed LN2_HI is exact (|e| < 1100)
    double y = head + (tail - correction);
    y = x == __builtin_inf() ? x : y;
    y = x == 0.0 ? -__builtin_inf() : y;
    y = x < 0.0 ? __builtin_nan("") : y;
    return x != x ? x : y;
}

// y may be x itself (element i is read before it is written, and by nothing else), so the loops
// tell the vectoriser to ignore the possible aliasing; partial overlaps are not allowed.
#define DEFINE_PATH(name, attributes)                                                               \
    attributes static void exp_##name(const double *x, double *y, size_t n)                        \
    {                                                                                               \
        _Pragma("clang loop vectorize(assume_safety)")                                              \
        for (size_t i = 0; i < n; i++) y[i] = exp_one(x[i]);                                        \
    }                                                                                               \
    attributes static void log_##name(const double *x, double *y, size_t n)                        \
    {                                                                                               \
        _Pragma("clang loop vectorize(assume_safety)")                                              \
        for (size_t i = 0; i < n; i++) y[i] = log_one(x[i]);                                        \
    }

INSTANTIATE(DEFINE_PATH)

int collapse_vexp_path(int path, const double *x, double *y, size_t n)
{
    if ((path = resolve_path(path)) < 0) return -1;
    RUN_ON_PATH(path, exp, x, y, n);
    return path;
}

int collapse_vlog_path(int path, const double *x, double *y, size_t n)
{
    if ((path = resolve_path(path)) < 0) return -1;
    RUN_ON_PATH(path, log, x, y, n);
    return path;
}

// The reduction of a mixture's log-terms (see collapse_reduce_components_path in CKernels.h), on rows
// t < count (at most REDUCE_CHUNK) of K component-major rows. Loops over t are the innermost, so
// they vectorise; every operation on a row is the scalar one, in the same order, on every path.
#define REDUCE_CHUNK 256
static inline __attribute__((always_inline)) void
reduce_chunk(const double *terms, size_t K, size_t stride, size_t count, double *lse, double *resp, size_t fallback,
             double *e /* K * REDUCE_CHUNK */)
{
    double top[REDUCE_CHUNK], rest[REDUCE_CHUNK];
    int64_t arg[REDUCE_CHUNK];
    for (size_t t = 0; t < count; t++) {
        top[t] = -__builtin_inf();
        arg[t] = -1;
        rest[t] = 0.0;
    }
    // The first largest term (NaN never is).
    for (size_t k = 0; k < K; k++) {
        const double *row = terms + k * stride;
        for (size_t t = 0; t < count; t++) {
            int larger = row[t] > top[t];
            top[t] = larger ? row[t] : top[t];
            arg[t] = larger ? (int64_t)k : arg[t];
        }
    }
    for (size_t k = 0; k < K; k++) {
        const double *row = terms + k * stride;
        double *ek = e + k * REDUCE_CHUNK;
        for (size_t t = 0; t < count; t++) ek[t] = exp_one(row[t] - top[t]);
    }
    // The others' sum in component order; +0 for the largest leaves the bits of skipping it.
    for (size_t k = 0; k < K; k++) {
        const double *ek = e + k * REDUCE_CHUNK;
        for (size_t t = 0; t < count; t++) rest[t] += arg[t] == (int64_t)k ? 0.0 : ek[t];
    }
    for (size_t t = 0; t < count; t++) {
        double total = 1.0 + rest[t];
        double value = top[t] + log_one(total);
        lse[t] = arg[t] < 0 ? -__builtin_inf() : value;
        rest[t] = 1.0 / total; // now the scale
    }
    if (resp) {
        // In place over the exponentials (vectorised), then stored row-major (a transposition).
        for (size_t k = 0; k < K; k++) {
            double *ek = e + k * REDUCE_CHUNK;
            for (size_t t = 0; t < count; t++) {
                double r = arg[t] == (int64_t)k ? rest[t] : ek[t] * rest[t];
                ek[t] = arg[t] < 0 ? (k == fallback ? 1.0 : 0.0) : r;
            }
        }
        for (size_t t = 0; t < count; t++) {
            double *row = resp + t * K;
            for (size_t k = 0; k < K; k++) row[k] = e[k * REDUCE_CHUNK + t];
        }
    }
}

#define DEFINE_REDUCE(name, attributes)                                                              \
    attributes static void reduce_##name(const double *terms, size_t K, size_t stride, size_t count, \
                                         double *lse, double *resp, size_t fallback, double *e)      \
    {                                                                                                \
        for (size_t start = 0; start < count; start += REDUCE_CHUNK) {                               \
            size_t n = count - start < REDUCE_CHUNK ? count - start : REDUCE_CHUNK;                  \
            reduce_chunk(terms + start, K, stride, n, lse + start, resp ? resp + start * K : 0,      \
                         fallback, e);                                                               \
        }                                                                                            \
    }

INSTANTIATE(DEFINE_REDUCE)

int collapse_reduce_components_path(int path, const double *terms, size_t K, size_t stride, size_t count, double *lse,
                                    double *resp, size_t fallback, double *scratch)
{
    if ((path = resolve_path(path)) < 0) return -1;
    RUN_ON_PATH(path, reduce, terms, K, stride, count, lse, resp, fallback, scratch);
    return path;
}

size_t collapse_reduce_components_scratch(size_t K) { return K * REDUCE_CHUNK; }

// A mixture component's log-terms for small d (see collapse_mixture_log_terms_path in CKernels.h),
// a chunk of rows at a time: the centred coordinates, then each whitened coordinate y_j summed
// over l = 0 ... j in order, its square added to q; loops over rows innermost (vectorised).
#define TERMS_CHUNK 256
static inline __attribute__((always_inline)) void
terms_chunk(const double *columns, size_t n, size_t d, size_t start, size_t count, const double *mean,
            const double *w, double offset, double *out, size_t stride)
{
    double c[COLLAPSE_SMALL_MIXTURE_DIMENSION * TERMS_CHUNK], y[TERMS_CHUNK], q[TERMS_CHUNK];
    for (size_t l = 0; l < d; l++) {
        const double *x = columns + l * n + start;
        double *cl = c + l * TERMS_CHUNK, mu = mean[l];
        for (size_t t = 0; t < count; t++) cl[t] = x[t] - mu;
    }
    for (size_t t = 0; t < count; t++) q[t] = 0.0;
    for (size_t j = 0; j < d; j++) {
        double w0 = w[j]; // w[0 * d + j]
        for (size_t t = 0; t < count; t++) y[t] = w0 * c[t];
        for (size_t l = 1; l <= j; l++) {
            const double *cl = c + l * TERMS_CHUNK;
            double wl = w[l * d + j];
            for (size_t t = 0; t < count; t++) y[t] = y[t] + wl * cl[t];
        }
        for (size_t t = 0; t < count; t++) q[t] = q[t] + y[t] * y[t];
    }
    for (size_t t = 0; t < count; t++) {
        double qt = q[t] != q[t] ? __builtin_inf() : q[t]; // NaN only once entries overflowed
        out[t * stride] = offset - 0.5 * qt;
    }
}

#define DEFINE_TERMS(name, attributes)                                                               \
    attributes static void terms_##name(const double *columns, size_t n, size_t d, size_t start,      \
                                        size_t count, const double *mean, const double *w,           \
                                        double offset, double *out, size_t stride)                   \
    {                                                                                                \
        for (size_t done = 0; done < count; done += TERMS_CHUNK) {                                   \
            size_t m = count - done < TERMS_CHUNK ? count - done : TERMS_CHUNK;                      \
            terms_chunk(columns, n, d, start + done, m, mean, w, offset, out + done * stride, stride); \
        }                                                                                            \
    }

INSTANTIATE(DEFINE_TERMS)

int collapse_mixture_log_terms_path(int path, const double *columns, size_t n, size_t d, size_t start, size_t count,
                                    const double *mean, const double *whitener, double offset, double *out,
                                    size_t stride)
{
    if (d < 1 || d > COLLAPSE_SMALL_MIXTURE_DIMENSION || (path = resolve_path(path)) < 0) return -1;
    RUN_ON_PATH(path, terms, columns, n, d, start, count, mean, whitener, offset, out, stride);
    return path;
}
