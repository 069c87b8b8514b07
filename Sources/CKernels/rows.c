// Passes over the rows of row-major n x d data (column sums, centring, adding a row vector),
// vectorised across columns. Swift compiles for baseline x86-64 and cannot prove its buffers do
// not overlap, so it runs these one scalar at a time; here `restrict` and the AVX2 / AVX-512
// paths of dispatch.h make them memory-bound. Each output element sees the same operations in
// the same order as the obvious scalar loop (rows in order; no fused multiply-adds): the same bits
// on every path and as the Swift definitions they replace (RowKernelTests).
#include "CKernels.h"
#include "dispatch.h"

#pragma clang fp contract(off)
#if defined(__FAST_MATH__)
#error "rows.c must be compiled without -ffast-math: its bits depend on every rounding (and no -ffp-contract=fast)"
#endif

#define DEFINE_ROWS(name, attributes)                                                               \
    attributes static void column_sums_##name(const double *restrict x, size_t n, size_t d,        \
                                              double *restrict sums)                               \
    {                                                                                               \
        for (size_t i = 0; i < n; i++) {                                                            \
            const double *restrict row = x + i * d;                                                 \
            for (size_t j = 0; j < d; j++) sums[j] += row[j];                                       \
        }                                                                                           \
    }                                                                                               \
    attributes static void centre_rows_##name(const double *restrict x, size_t n, size_t d,        \
                                              const double *restrict mean, double *restrict out,    \
                                              double *restrict residue)                            \
    {                                                                                               \
        for (size_t i = 0; i < n; i++) {                                                            \
            const double *restrict row = x + i * d;                                                 \
            double *restrict centred = out + i * d;                                                 \
            for (size_t j = 0; j < d; j++) {                                                        \
                double v = row[j] - mean[j];                                                        \
                centred[j] = v;                                                                     \
                residue[j] += v;                                                                    \
            }                                                                                       \
        }                                                                                           \
    }                                                                                               \
    attributes static void scale_add_rows_##name(double *restrict x, size_t n, size_t d,           \
                                                 const double *restrict offset, double scale)       \
    {                                                                                               \
        for (size_t i = 0; i < n; i++) {                                                            \
            double *restrict row = x + i * d;                                                       \
            for (size_t j = 0; j < d; j++) row[j] = offset[j] + scale * row[j];                     \
        }                                                                                           \
    }

// Moves each row's entries to their coordinates, adding the (scaled) offset on the way: for each
// row y (copied to scratch first), x[to[k]] = offset[to[k]] + scale * y[k] (offset NULL: y[k]).
// Scattered stores do not vectorise, so this one has the baseline path only.
static void scatter_rows(double *restrict x, size_t n, size_t d, const int64_t *restrict to,
                         const double *restrict offset, double scale, double *restrict scratch)
{
    for (size_t i = 0; i < n; i++) {
        double *restrict row = x + i * d;
        for (size_t k = 0; k < d; k++) scratch[k] = row[k];
        if (offset) {
            for (size_t k = 0; k < d; k++) row[to[k]] = offset[to[k]] + scale * scratch[k];
        } else {
            for (size_t k = 0; k < d; k++) row[to[k]] = scratch[k];
        }
    }
}

INSTANTIATE(DEFINE_ROWS)

void collapse_scatter_rows(double *x, size_t n, size_t d, const int64_t *to, const double *offset, double scale,
                           double *scratch)
{
    scatter_rows(x, n, d, to, offset, scale, scratch);
}

int collapse_column_sums_path(int path, const double *x, size_t n, size_t d, double *sums)
{
    if ((path = resolve_path(path)) < 0) return -1;
    RUN_ON_PATH(path, column_sums, x, n, d, sums);
    return path;
}

int collapse_centre_rows_path(int path, const double *x, size_t n, size_t d, const double *mean, double *out,
                              double *residue)
{
    if ((path = resolve_path(path)) < 0) return -1;
    RUN_ON_PATH(path, centre_rows, x, n, d, mean, out, residue);
    return path;
}

int collapse_scale_add_rows_path(int path, double *x, size_t n, size_t d, const double *offset, double scale)
{
    if ((path = resolve_path(path)) < 0) return -1;
    RUN_ON_PATH(path, scale_add_rows, x, n, d, offset, scale);
    return path;
}
