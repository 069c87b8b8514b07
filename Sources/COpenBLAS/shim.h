// The only C surface of model-collapse: OpenBLAS's CBLAS interface (which also declares the
// OpenBLAS extensions openblas_set_num_threads, openblas_get_num_threads, openblas_get_config and
// openblas_get_corename) and the reference LAPACKE interface. Debian ships LAPACKE separately
// from libopenblas, hence two libraries in module.modulemap.
#ifndef COLLAPSE_COPENBLAS_SHIM_H
#define COLLAPSE_COPENBLAS_SHIM_H
#include <cblas.h>
#include <lapacke.h>
// glibc's mallopt, for CollapseCore's ProcessTuning (large sample buffers reused, not re-mmapped).
#include <malloc.h>
#endif
