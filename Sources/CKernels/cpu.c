// Which vector instruction set the kernels of this module use on this CPU (chosen once), and how
// many CPUs this process may run on.
#define _GNU_SOURCE
#include "CKernels.h"
#if defined(__linux__)
#include <sched.h>
#endif

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

int collapse_affinity_cpu_count(void)
{
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
    return 0;
}
