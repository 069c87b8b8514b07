// Which vector instruction set the kernels of this module use on this CPU (chosen once).
#include "CKernels.h"

static int chosen_path(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) return 2;
    if (__builtin_cpu_supports("avx2")) return 1;
#endif
    return 0;
}

int collapse_vector_path(void)
{
    static int cached = -1; // a benign race: every thread computes the same value
    int p = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (p < 0) {
        p = chosen_path();
        __atomic_store_n(&cached, p, __ATOMIC_RELAXED);
    }
    return p;
}
