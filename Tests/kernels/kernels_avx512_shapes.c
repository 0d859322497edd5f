/* The AVX-512 build's code (16-float vectors, its register blocks: shapes_avx512.h) compiled for
 * AVX2, so that its blocking logic is tested on machines without AVX-512: kernels_avx512.c but for
 * the target and the names; the reciprocal is a division here (no AVX-512 instruction). */
#define AEF_AVX512_SHAPES_ON_AVX2 1
#include "../../Sources/AEFKernels/shapes_avx512.h"
#define AEF_ISA_ID AEFK_ISA_AVX512
#define AEF_ISA_NAME "avx512 shapes on avx2"
#define AEF_NAME(x) x##_avx512_shapes
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#include "../../Sources/AEFKernels/kernel_bodies.h"
#pragma clang attribute pop
