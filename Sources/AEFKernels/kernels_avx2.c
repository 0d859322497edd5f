/* The kernels for avx2: 8 floats per register, 2 (forward) and 4 (backward) samples per register block.
 * Only this file's functions use avx2,fma; dispatch.c calls them only where cpuid reports it. */
#define AEF_WIDTH 8
#define AEF_ROWS 2
#define AEF_DENSE_ROWS 6
#define AEF_DENSE_PANELS 1
#define AEF_OUTER_ROWS 6
#define AEF_BACKWARD_ROWS 4
#define AEF_ISA_ID AEFK_ISA_AVX2
#define AEF_ISA_NAME "avx2"
#define AEF_NAME(x) x##_avx2
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#include "kernel_bodies.h"
#pragma clang attribute pop
