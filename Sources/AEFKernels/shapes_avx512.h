/* The AVX-512 build's vector width and register blocks (kernel_bodies.h), shared with the test
 * that compiles the same blocks for AVX2 (Tests/kernels/kernels_avx512_shapes.c). */
#define AEF_WIDTH 16
#define AEF_ROWS 4
#define AEF_DENSE_ROWS 6
#define AEF_DENSE_PANELS 2
#define AEF_OUTER_ROWS 12
#define AEF_BACKWARD_ROWS 6
