/* The kernels for baseline: 4 floats per register, 2 (forward) and 4 (backward) samples per register block.
 * SSE2, which every x86-64 has. */
#define AEF_WIDTH 4
#define AEF_ROWS 2
#define AEF_DENSE_ROWS 2
#define AEF_DENSE_PANELS 1
#define AEF_OUTER_ROWS 6
#define AEF_BACKWARD_ROWS 4
#define AEF_ISA_ID AEFK_ISA_BASELINE
#define AEF_ISA_NAME "baseline"
#define AEF_NAME(x) x##_baseline
#include "kernel_bodies.h"
