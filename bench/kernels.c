/* Rates of the vector kernels (Sources/AEFKernels) on one thread, for every build the CPU runs,
 * on W1's, W2's and W3's shapes: `make bench-kernels`. Compiled with the kernels' own sources at -O2,
 * as a release build of the package compiles them. The dense kernel is set beside OpenBLAS's sgemm
 * (sgemv for one row) on the same product, also on one thread, and so are the outer-product sums. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cblas.h>
#include "aefk_kernels.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static float *filled(long n) {
    float *p = malloc((size_t)n * sizeof *p);
    for (long i = 0; i < n; i++) p[i] = ((float)rand() / (float)RAND_MAX - 0.5f) * 0.2f;
    return p;
}

static void lstm(const aefk_table *t, long rows) {
    /* A chunk of `rows` samples through one step of W3's 64-unit LSTM, as the layer calls it
     * (16 in training and batch inference, 1 for a batch of one). */
    long units = 64, calls = 800000 / rows;
    float *h = filled(rows * units), *r = filled(4 * units * units), *gates = filled(rows * 4 * units);
    float *inputs = filled(rows * 4 * units), *previous = filled(rows * units), *c = filled(rows * units);
    float *out = filled(rows * units), *dh = filled(rows * units), *dc = filled(rows * units), *dg = filled(rows * 4 * units);
    float *packed = malloc((size_t)aefk_lstm_packed_count(units, units) * sizeof *packed);
    aefk_lstm_pack(r, units, units, packed);
    aefk_lstm_step step = {rows, units, NULL, 0, 0, NULL, h, packed, NULL, previous, gates, c, out, NULL, 0, NULL, 0, 0};
    if (rows == 1) step.gates = NULL, step.bias = inputs; /* a batch of one keeps no gates */
    double flops = 2.0 * (double)(rows * units * 4 * units) * (double)calls, start = now();
    for (long i = 0; i < calls; i++) {
        if (step.gates) memcpy(gates, inputs, (size_t)(rows * 4 * units) * sizeof *gates);
        step.descending = (int)(i % 2); /* as the layer alternates it step by step */
        t->lstm_step_forward(&step);
    }
    double forward = now() - start;
    start = now();
    for (long i = 0; i < calls; i++) t->lstm_step_backward(rows, units, r, NULL, gates, c, previous, out, dh, dc, dg);
    double backward = now() - start;
    printf("%-8s LSTM step, %2ld x 64 units: forward %5.1f GFLOP/s (%.2f us), backward %5.1f GFLOP/s (%.2f us)\n", t->name, rows,
           flops / forward / 1e9, forward / (double)calls * 1e6, flops / backward / 1e9, backward / (double)calls * 1e6);
}

static void dense(const aefk_table *t, long rows, long units, long inputs, int half_zeros) {
    /* y = x·Wᵀ + b, as W1's layers run in inference (the kernel) and in training (sgemm); with
     * half_zeros, half the inputs (at random) are 0, as in a Fashion-MNIST image, which a row
     * computed alone skips. */
    long calls = 2000000000 / (2 * rows * units * inputs) + 1;
    float *x = filled(rows * inputs), *w = filled(units * inputs), *b = filled(units), *y = filled(rows * units);
    if (half_zeros)
        for (long i = 0; i < rows * inputs; i++) x[i] = rand() % 2 ? x[i] : 0;
    float *packed = malloc((size_t)aefk_dense_packed_count(units, inputs) * sizeof *packed);
    aefk_dense_pack(w, inputs, 1, units, inputs, packed);
    aefk_dense call = {rows, inputs, x, inputs, packed, NULL, b, AEFK_ACTIVATION_IDENTITY, 0, units, y, units};
    double flops = 2.0 * (double)(rows * units * inputs) * (double)calls, start = now();
    for (long i = 0; i < calls; i++) t->dense_forward(&call);
    double kernel = now() - start;
    start = now();
    for (long i = 0; i < calls; i++) {
        if (rows == 1) {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)units, (int)inputs, 1, w, (int)inputs, x, 1, 0, y, 1);
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)units, (int)inputs, 1, x, (int)inputs, w,
                        (int)inputs, 0, y, (int)units);
        }
    }
    double blas = now() - start;
    printf("%-8s dense %4ld x %3ld -> %3ld%s: %5.1f GFLOP/s (%.2f us), OpenBLAS %s %5.1f GFLOP/s (%.2f us)\n", t->name, rows,
           inputs, units, half_zeros ? ", half zeros" : "", flops / kernel / 1e9, kernel / (double)calls * 1e6, rows == 1 ? "sgemv" : "sgemm",
           flops / blas / 1e9, blas / (double)calls * 1e6);
    free(x), free(w), free(b), free(y), free(packed);
}

static void outer_products(const aefk_table *t, long rows, long m, long n) {
    /* c[m, n] += aᵀ·b over `rows` rows: a weight gradient of W3 (rows = 28 steps x 256 samples) or W1
     * (256 samples), the kernel beside OpenBLAS's sgemm on the same product. */
    long calls = 4000000000 / (2 * rows * m * n) + 1;
    float *a = filled(rows * m), *b = filled(rows * n), *c = filled(m * n);
    aefk_outer_product_sums sums = {rows, n, 0, m, a, m, b, n, c, n};
    double flops = 2.0 * (double)(rows * m * n) * (double)calls, start = now();
    for (long i = 0; i < calls; i++) t->outer_product_sums(&sums);
    double kernel = now() - start;
    start = now();
    for (long i = 0; i < calls; i++)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)n, (int)rows, 1, a, (int)m, b, (int)n, 1, c, (int)n);
    double blas = now() - start;
    printf("%-8s outer products %4ld rows -> %3ld x %3ld: %5.1f GFLOP/s (%.0f us), OpenBLAS sgemm %5.1f GFLOP/s (%.0f us)\n",
           t->name, rows, m, n, flops / kernel / 1e9, kernel / (double)calls * 1e6, flops / blas / 1e9, blas / (double)calls * 1e6);
    free(a), free(b), free(c);
}

static void convolutions(const aefk_table *t) {
    /* W2's four 3x3 'same' convolutions on a batch of 64. */
    static const long layers[][4] = {{28, 28, 1, 16}, {14, 14, 16, 8}, {14, 14, 8, 16}, {28, 28, 16, 1}};
    for (int l = 0; l < 4; l++) {
        long height = layers[l][0], width = layers[l][1], c = layers[l][2], f = layers[l][3], batch = 64, repeats = 20;
        aefk_conv_shape s = {height, width, c, 3, 3, 1, 1, 1, 1, 1, 1, height, width};
        float *x = filled(batch * height * width * c), *w = filled(f * 9 * c), *wt = filled(f * 9 * c), *b = filled(f);
        float *y = filled(batch * height * width * f), *dx = filled(batch * height * width * c), *dw = filled(f * 9 * c);
        double flops = 2.0 * (double)(batch * height * width * 9 * c * f) * (double)repeats, start = now();
        for (long i = 0; i < repeats; i++) t->conv_forward(&s, x, w, wt, b, f, 0, batch * height, y);
        double forward = now() - start;
        start = now();
        for (long i = 0; i < repeats; i++) t->conv_input_gradient(&s, y, w, f, 0, batch, dx);
        double input = now() - start;
        start = now();
        for (long i = 0; i < repeats; i++) t->conv_weight_gradient(&s, x, y, f, 0, batch, c >= f, dw);
        double weights = now() - start;
        printf("%-8s conv %2ld -> %2ld on %ldx%ld: forward %5.1f, dx %5.1f, dW %5.1f GFLOP/s\n", t->name, c, f, height, width,
               flops / forward / 1e9, flops / input / 1e9, flops / weights / 1e9);
    }
}

static void activations(const aefk_table *t) {
    static const char *names[] = {"identity", "relu", "leaky_relu", "elu", "sigmoid", "tanh"};
    long n = 1 << 16, repeats = 1000;
    float *x = filled(n), *y = filled(n);
    printf("%-8s activations, 10^9 values/s:", t->name);
    for (int f = 0; f < 6; f++) {
        double start = now();
        for (long i = 0; i < repeats; i++) t->activation_forward((aefk_activation)f, n, x, y);
        printf(" %s %.2f", names[f], (double)(n * repeats) / (now() - start) / 1e9);
    }
    printf("\n");
}

int main(void) {
    openblas_set_num_threads(1);
    printf("in use: %s\n", aefk_kernels()->name);
    for (int isa = AEFK_ISA_BASELINE; isa <= AEFK_ISA_AVX512; isa++) {
        const aefk_table *t = aefk_kernels_for((aefk_isa)isa);
        if (!t) continue;
        dense(t, 512, 256, 784, 0);
        dense(t, 512, 784, 256, 0);
        dense(t, 1, 256, 784, 0);
        dense(t, 1, 256, 784, 1);
        lstm(t, 16);
        lstm(t, 1);
        outer_products(t, 7168, 256, 28);
        outer_products(t, 7168, 256, 64);
        outer_products(t, 7168, 28, 64);
        outer_products(t, 256, 256, 784);
        outer_products(t, 256, 784, 256);
        outer_products(t, 256, 64, 256);
        outer_products(t, 256, 256, 64);
        convolutions(t);
        activations(t);
    }
    return 0;
}
