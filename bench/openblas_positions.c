/* Why inference is not bit-exactly batch-invariant: one cblas_sgemm over a batch of identical rows,
 * called the way the library's Dense layer calls it (row-major x·Wᵀ). Prints, per layer shape, the
 * positions in the batch whose results differ in any bit from position 0's. On OpenBLAS 0.3.21's
 * Haswell and Zen kernels some positions differ; on others none do. Then what the way around it
 * would cost: 1024 rows through a 784 -> 256 layer in one call, in calls of 8 rows (the widest
 * fixed block Haswell's kernels happened to round alike) and one row per call.
 *
 *     make openblas-positions; OPENBLAS_CORETYPE=Haswell build/openblas-positions 32
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Best of 20 runs: 1024 rows through inputs -> units, `block` rows per sgemm call. */
static double layer_seconds(int inputs, int units, int block, const float *x, const float *w, float *y) {
    double best = 1e30;
    for (int run = 0; run < 20; run++) {
        double start = seconds();
        for (int r = 0; r < 1024; r += block)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, block, units, inputs, 1, x + (size_t)r * inputs, inputs,
                        w, inputs, 0, y + (size_t)r * units, units);
        double elapsed = seconds() - start;
        if (elapsed < best) best = elapsed;
    }
    return best;
}

int main(int argc, char **argv) {
    int batch = argc > 1 ? atoi(argv[1]) : 32;
    if (batch < 1) batch = 32;
    static const int shapes[][2] = {{784, 64}, {784, 256}, {64, 32}, {12, 100}, {100, 50}, {300, 50}};
    long differing_total = 0;
    printf("OpenBLAS core %s, %d thread(s), batch %d\n", openblas_get_corename(), openblas_get_num_threads(), batch);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int inputs = shapes[s][0], units = shapes[s][1];
        float *x = malloc(sizeof(float) * batch * inputs), *w = malloc(sizeof(float) * units * inputs);
        float *y = malloc(sizeof(float) * batch * units);
        srand(1 + (unsigned)s);
        for (int i = 0; i < inputs; i++) x[i] = (float)rand() / RAND_MAX * 2 - 1;
        for (int r = 1; r < batch; r++) memcpy(x + (size_t)r * inputs, x, sizeof(float) * inputs);
        for (int i = 0; i < units * inputs; i++) w[i] = (float)rand() / RAND_MAX * 2 - 1;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, units, inputs, 1, x, inputs, w, inputs, 0, y, units);
        printf("  %4d -> %4d: positions differing from position 0:", inputs, units);
        int any = 0;
        for (int r = 1; r < batch; r++) {
            int differing = 0;
            for (int j = 0; j < units; j++) differing += memcmp(&y[(size_t)r * units + j], &y[j], sizeof(float)) != 0;
            if (differing) { printf(" %d", r); any = 1; differing_total += differing; }
        }
        printf("%s\n", any ? "" : " none");
        free(x); free(w); free(y);
    }
    printf("%ld values differ from the same row's result at position 0\n", differing_total);

    float *x = calloc((size_t)1024 * 784, sizeof(float)), *w = calloc((size_t)256 * 784, sizeof(float));
    float *y = calloc((size_t)1024 * 256, sizeof(float));
    for (int i = 0; i < 1024 * 784; i++) x[i] = (float)(i % 13) / 13;
    for (int i = 0; i < 256 * 784; i++) w[i] = (float)(i % 7) / 7 - 0.5f;
    double whole = layer_seconds(784, 256, 1024, x, w, y);
    printf("1024 rows, 784 -> 256: one call %.2f ms; calls of 8 rows %.2fx that; one row per call %.2fx\n",
           1e3 * whole, layer_seconds(784, 256, 8, x, w, y) / whole, layer_seconds(784, 256, 1, x, w, y) / whole);
    free(x); free(w); free(y);
    return 0;
}
