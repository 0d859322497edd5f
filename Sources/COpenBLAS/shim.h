// The only C header the engine sees: OpenBLAS's CBLAS interface (Debian: libopenblas-dev).
#ifndef AEF_COPENBLAS_SHIM_H
#define AEF_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
