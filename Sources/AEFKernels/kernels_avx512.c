/* The kernels for avx512: 16 floats per register, 4 (forward) and 6 (backward) samples per register block.
 * Only this file's functions use avx512f,avx2,fma; dispatch.c calls them only where cpuid reports it. */
#include "shapes_avx512.h"
#define AEF_ISA_ID AEFK_ISA_AVX512
#define AEF_ISA_NAME "avx512"
#define AEF_NAME(x) x##_avx512
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#include "kernel_bodies.h"
#pragma clang attribute pop
