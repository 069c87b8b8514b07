// Private to CKernels: how a kernel is compiled once per instruction set and run on the path the
// CPU supports. Each kernel is defined by INSTANTIATE(DEFINE_x) as x_generic, x_avx2 and
// x_avx512 (the same C, so the same roundings when the file switches contraction off) and
// called through RUN_ON_PATH on the path resolve_path chose.
#ifndef COLLAPSE_CKERNELS_DISPATCH_H
#define COLLAPSE_CKERNELS_DISPATCH_H

#include "CKernels.h"

#if defined(__x86_64__)
#define INSTANTIATE(DEFINE)                                                                         \
    DEFINE(generic, )                                                                               \
    DEFINE(avx2, __attribute__((target("avx2"))))                                                   \
    DEFINE(avx512, __attribute__((target("avx512f,avx512dq,avx512vl"))))
#define RUN_ON_PATH(path, kernel, ...)                                                              \
    ((path) == 2 ? kernel##_avx512(__VA_ARGS__) : (path) == 1 ? kernel##_avx2(__VA_ARGS__) : kernel##_generic(__VA_ARGS__))
#else
#define INSTANTIATE(DEFINE) DEFINE(generic, )
#define RUN_ON_PATH(path, kernel, ...) kernel##_generic(__VA_ARGS__)
#endif

// The path to run for a requested one (-1: this CPU's widest), or -1 when this CPU lacks it.
static inline int resolve_path(int path)
{
    int widest = collapse_vector_path();
    if (path < 0) return widest;
    return path > widest ? -1 : path;
}

#endif
