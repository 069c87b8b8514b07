// Philox4x32-10 (Salmon et al., SC'11) in bulk. One kernel, compiled three times with different
// target attributes, chosen once at run time. The per-lane arithmetic is plain C the compiler
// vectorises: 32 x 32 -> 64-bit products (vpmuludq), shifts and xors. Checked against Swift's
// scalar Philox4x32.block, itself checked against the Random123 known-answer vectors.
#include "CKernels.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
#define LANES 16 /* blocks per step: four groups */

static inline __attribute__((always_inline)) void
philox_lanes(uint64_t *out, uint64_t first_group, size_t groups, uint32_t h0, uint32_t h1, uint32_t key0, uint32_t key1)
{
    uint32_t k0[10], k1[10];
    k0[0] = key0;
    k1[0] = key1;
    for (int r = 1; r < 10; r++) {
        k0[r] = k0[r - 1] + PHILOX_W0;
        k1[r] = k1[r - 1] + PHILOX_W1;
    }
    size_t g = 0;
    for (; g + LANES / 4 <= groups; g += LANES / 4) {
        uint64_t c0[LANES], c1[LANES], c2[LANES], c3[LANES];
        uint64_t block0 = (first_group + g) << 2;
        for (int l = 0; l < LANES; l++) {
            uint64_t block = block0 + (uint64_t)l;
            c0[l] = (uint32_t)block;
            c1[l] = (uint32_t)(block >> 32);
            c2[l] = h0;
            c3[l] = h1;
        }
        for (int r = 0; r < 10; r++) {
            for (int l = 0; l < LANES; l++) {
                uint64_t p0 = (uint64_t)PHILOX_M0 * c0[l];
                uint64_t p1 = (uint64_t)PHILOX_M1 * c2[l];
                uint64_t n0 = (p1 >> 32) ^ c1[l] ^ k0[r];
                uint64_t n2 = (p0 >> 32) ^ c3[l] ^ k1[r];
                c1[l] = p1 & 0xFFFFFFFFu;
                c3[l] = p0 & 0xFFFFFFFFu;
                c0[l] = n0;
                c2[l] = n2;
            }
        }
        for (int q = 0; q < LANES / 4; q++) {
            uint64_t *o = out + (g + (size_t)q) * 8;
            for (int l = 0; l < 4; l++) {
                int lane = q * 4 + l;
                o[l] = c0[lane] | (c1[lane] << 32);
                o[4 + l] = c2[lane] | (c3[lane] << 32);
            }
        }
    }
    for (; g < groups; g++) { // the last one to three groups, one at a time
        uint64_t *o = out + g * 8;
        for (int l = 0; l < 4; l++) {
            uint64_t block = ((first_group + g) << 2) + (uint64_t)l;
            uint32_t a0 = (uint32_t)block, a1 = (uint32_t)(block >> 32), a2 = h0, a3 = h1;
            for (int r = 0; r < 10; r++) {
                uint64_t p0 = (uint64_t)PHILOX_M0 * a0;
                uint64_t p1 = (uint64_t)PHILOX_M1 * a2;
                uint32_t n0 = (uint32_t)(p1 >> 32) ^ a1 ^ k0[r];
                uint32_t n2 = (uint32_t)(p0 >> 32) ^ a3 ^ k1[r];
                a1 = (uint32_t)p1;
                a3 = (uint32_t)p0;
                a0 = n0;
                a2 = n2;
            }
            o[l] = (uint64_t)a0 | ((uint64_t)a1 << 32);
            o[4 + l] = (uint64_t)a2 | ((uint64_t)a3 << 32);
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512dq,avx512vl")))
static void philox_avx512(uint64_t *out, uint64_t first, size_t groups, uint32_t h0, uint32_t h1, uint32_t k0, uint32_t k1)
{
    philox_lanes(out, first, groups, h0, h1, k0, k1);
}

__attribute__((target("avx2")))
static void philox_avx2(uint64_t *out, uint64_t first, size_t groups, uint32_t h0, uint32_t h1, uint32_t k0, uint32_t k1)
{
    philox_lanes(out, first, groups, h0, h1, k0, k1);
}
#endif

static void philox_generic(uint64_t *out, uint64_t first, size_t groups, uint32_t h0, uint32_t h1, uint32_t k0, uint32_t k1)
{
    philox_lanes(out, first, groups, h0, h1, k0, k1);
}

typedef void (*philox_kernel)(uint64_t *, uint64_t, size_t, uint32_t, uint32_t, uint32_t, uint32_t);

static int chosen_path(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) return 2;
    if (__builtin_cpu_supports("avx2")) return 1;
#endif
    return 0;
}

static int path_index(void)
{
    static int cached = -1; // a benign race: every thread computes the same value
    int p = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (p < 0) {
        p = chosen_path();
        __atomic_store_n(&cached, p, __ATOMIC_RELAXED);
    }
    return p;
}

void collapse_philox4x32_fill(uint64_t *out, uint64_t first_group, size_t groups,
                              uint32_t counter_high0, uint32_t counter_high1, uint32_t key0, uint32_t key1)
{
    switch (path_index()) {
#if defined(__x86_64__)
    case 2: philox_avx512(out, first_group, groups, counter_high0, counter_high1, key0, key1); return;
    case 1: philox_avx2(out, first_group, groups, counter_high0, counter_high1, key0, key1); return;
#endif
    default: philox_generic(out, first_group, groups, counter_high0, counter_high1, key0, key1); return;
    }
}

const char *collapse_philox4x32_path(void)
{
    static const char *names[] = {"generic", "avx2", "avx512"};
    return names[path_index()];
}
