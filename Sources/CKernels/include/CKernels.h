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

/// The vector instruction set the kernels of this module use on this CPU, chosen once at first use:
/// 2 = AVX-512 (F, DQ, VL), 1 = AVX2, 0 = generic C.
int collapse_vector_path(void);

#endif
