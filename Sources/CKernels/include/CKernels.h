// Small C kernels that need instruction sets Swift cannot select per function.
#ifndef COLLAPSE_CKERNELS_H
#define COLLAPSE_CKERNELS_H

#include <stdint.h>
#include <stddef.h>

/// Writes `groups` consecutive groups of Philox4x32-10 output, starting at group `first_group`,
/// to `out` (8 words per group): group g holds blocks 4g ... 4g+3, counter (block index as
/// (c0, c1) = low and high 32 bits, c2 = counter_high0, c3 = counter_high1), key (key0, key1);
/// its words are the low words (c0 | c1 << 32) of the four blocks, then their high words
/// (c2 | c3 << 32). Exactly the words of `Philox4x32.group` in Swift, computed with AVX-512 or
/// AVX2 when the CPU has them (integer arithmetic: the same bits on every path).
void collapse_philox4x32_fill(uint64_t *out, uint64_t first_group, size_t groups,
                              uint32_t counter_high0, uint32_t counter_high1,
                              uint32_t key0, uint32_t key1);

/// Which path `collapse_philox4x32_fill` takes on this CPU: "avx512", "avx2" or "generic".
const char *collapse_philox4x32_path(void);

/// The number of CPUs in this process's affinity mask (what a cpuset, `taskset` or a cluster
/// scheduler's binding leaves it), or 0 when the system cannot say.
int collapse_affinity_cpu_count(void);

/// A spin-wait hint to the CPU (x86 `pause`: yields the core's pipeline to its sibling and eases
/// the memory traffic of a busy-wait loop); nothing elsewhere.
static inline void collapse_spin_pause(void)
{
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}

/// The vector instruction set the kernels of this module use on this CPU, chosen once at first use:
/// 2 = AVX-512 (F, DQ, VL), 1 = AVX2, 0 = generic C.
int collapse_vector_path(void);

/// y[i] = e^x[i] (`collapse_vexp_path`) or log x[i] (`collapse_vlog_path`) for i < n, on
/// `path` (0 generic, 1 AVX2, 2 AVX-512 as `collapse_vector_path`; -1: this CPU's widest).
/// Every path gives the same bits (no fused multiply-adds). `y` is `x` or does not overlap it. Returns the path
/// taken, or -1 (nothing written) when this CPU lacks the path's instructions.
int collapse_vexp_path(int path, const double *x, double *y, size_t n);
int collapse_vlog_path(int path, const double *x, double *y, size_t n);

/// The log-sum-exp reduction of a mixture's log-terms, for rows t < count whose K terms lie
/// component-major: term (t, k) at terms[k * stride + t]. Per row, with M the first largest term
/// (NaN never is) and S the sum of exp(term - M) over the other components in component order:
/// lse[t] = M + log(1 + S) (-inf when no term exceeds -inf), and, when resp is not NULL, row t of
/// the count x K row-major resp gets exp(term_k - M) / (1 + S) (1 / (1 + S) for M's component;
/// all on `fallback` when lse is -inf). exp and log as collapse_vexp_path / collapse_vlog_path.
/// `scratch` holds collapse_reduce_components_scratch(K) numbers. Same bits on every path;
/// returns the path taken, or -1 (nothing written) when this CPU lacks it.
int collapse_reduce_components_path(int path, const double *terms, size_t K, size_t stride, size_t count, double *lse,
                                    double *resp, size_t fallback, double *scratch);
size_t collapse_reduce_components_scratch(size_t K);

/// The largest d for which `collapse_mixture_log_terms_path` works (above it BLAS is faster).
#define COLLAPSE_SMALL_MIXTURE_DIMENSION 8

/// One mixture component's log-terms for rows start ..< start + count of data held as its d x n
/// transpose (`columns`, coordinate l of row i at columns[l * n + i]), 1 <= d <= 8:
/// out[t * stride] = offset - q/2 with q = sum_j y_j², y_j = sum_{l <= j} W[l * d + j] (x_l - mean_l)
/// (l ascending; W = L⁻ᵀ row-major, upper triangular), q = +inf when NaN. No fused multiply-adds:
/// the same bits on every path. Returns the path taken, or -1 (nothing written) when d is out of
/// range or this CPU lacks the path.
int collapse_mixture_log_terms_path(int path, const double *columns, size_t n, size_t d, size_t start, size_t count,
                                    const double *mean, const double *whitener, double offset, double *out,
                                    size_t stride);

/// Passes over the rows of a row-major n x d matrix x, vectorised across columns, on `path` (as
/// for collapse_vexp_path; every path gives the same bits as the scalar loop, rows in order, no
/// fused multiply-adds). Buffers do not overlap. Each returns the path taken, or -1 (nothing
/// written) when this CPU lacks it.
/// - collapse_column_sums_path: sums[j] += x[i d + j] for i = 0, 1, ..., n - 1 in turn.
/// - collapse_centre_rows_path: out[i d + j] = x[i d + j] - mean[j], then residue[j] += that value
///   (rows in order).
/// - collapse_scale_add_rows_path: x[i d + j] = offset[j] + scale * x[i d + j], in place.
int collapse_column_sums_path(int path, const double *x, size_t n, size_t d, double *sums);
int collapse_centre_rows_path(int path, const double *x, size_t n, size_t d, const double *mean, double *out,
                              double *residue);
int collapse_scale_add_rows_path(int path, double *x, size_t n, size_t d, const double *offset, double scale);
/// Row by row (row-major n x d x, `to` a permutation of 0 ..< d, `scratch` d numbers): the row's
/// entry k moves to entry to[k], becoming offset[to[k]] + scale * entry (the arithmetic of
/// collapse_scale_add_rows_path), or staying as it is when offset is NULL.
void collapse_scatter_rows(double *x, size_t n, size_t d, const int64_t *to, const double *offset, double scale,
                           double *scratch);

#endif
