/* The dense kernel of the AVX-512 build's shapes (kernels_avx512_shapes.c: 16-wide vectors, 6 rows
 * x 2 panels, 12-panel single rows) against a double reference, on any AVX2 machine: every block
 * path (whole blocks, the panel left over, single rows across 12, 4, 2 and 1 panels, units past a
 * panel's last register) and callers' unit ranges split at multiples of 32. The Swift tests run
 * the real AVX-512 build only where the CPU has it. `make check-kernel-shapes`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "aefk_kernels.h"

extern const aefk_table aefk_table_avx512_shapes;

static float uniform(void) { return (float)rand() / (float)RAND_MAX - 0.5f; }

int main(void) {
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        printf("check-kernel-shapes: skipped, the CPU lacks AVX2/FMA\n");
        return 0;
    }
    static const long shapes[][3] = {{1, 9, 211}, {7, 13, 37}, {53, 30, 5}, {50, 3, 100}, {13, 17, 16},
                                     {12, 5, 32}, {6, 8, 48},  {1, 784, 256}, {25, 64, 400}, {1, 3, 1}, {2, 7, 33}};
    long checked = 0, bad = 0;
    for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        long rows = shapes[s][0], inputs = shapes[s][1], units = shapes[s][2];
        float *x = malloc((size_t)(rows * inputs) * sizeof(float)), *w = malloc((size_t)(units * inputs) * sizeof(float));
        float *shift = malloc((size_t)units * sizeof(float)), *scale = malloc((size_t)units * sizeof(float));
        float *y = malloc((size_t)(rows * units) * sizeof(float));
        float *packed = malloc((size_t)aefk_dense_packed_count(units, inputs) * sizeof(float));
        for (long i = 0; i < rows * inputs; i++) x[i] = uniform();
        for (long i = 0; i < units * inputs; i++) w[i] = uniform();
        for (long i = 0; i < units; i++) shift[i] = uniform(), scale[i] = uniform() + 1;
        aefk_dense_pack(w, inputs, 1, units, inputs, packed);
        for (int scaled = 0; scaled < 2; scaled++) {
            for (long split = 0; split <= units; split += 32) {
                for (long i = 0; i < rows * units; i++) y[i] = NAN;
                aefk_dense first = {rows, inputs, x, inputs, packed, scaled ? scale : NULL, shift,
                                    AEFK_ACTIVATION_IDENTITY, 0, split, y, units};
                aefk_dense second = first;
                second.first_unit = split, second.end_unit = units;
                if (split > 0) aefk_table_avx512_shapes.dense_forward(&first);
                if (split < units) aefk_table_avx512_shapes.dense_forward(&second);
                for (long r = 0; r < rows; r++) {
                    for (long u = 0; u < units; u++) {
                        double sum = 0;
                        for (long k = 0; k < inputs; k++) sum += (double)x[r * inputs + k] * w[u * inputs + k];
                        double expected = sum * (scaled ? scale[u] : 1) + shift[u], got = y[r * units + u];
                        checked++;
                        if (!(fabs(got - expected) <= 1e-5 * fmax(1, fabs(expected)) * sqrt((double)inputs))) {
                            if (bad++ < 5)
                                printf("%ld x %ld -> %ld, units split at %ld: y[%ld, %ld] = %g, expected %g\n", rows, inputs,
                                       units, split, r, u, got, expected);
                        }
                    }
                }
            }
        }
        free(x), free(w), free(shift), free(scale), free(y), free(packed);
    }
    printf("check-kernel-shapes: dense kernel of the AVX-512 shapes, %ld values, %ld wrong\n", checked, bad);
    return bad != 0;
}
