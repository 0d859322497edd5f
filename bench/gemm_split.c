/* How to split a product over the engine's thread pool (Sources/AEFKernels/pool.c), against
 * OpenBLAS's own threads, on W1's and W3's shapes: `make bench-gemm-split` (2 threads).
 * The pool's parts are blocks of C's rows or of its columns, each one single-threaded sgemm, as
 * BLAS.gemm runs them. OpenBLAS's own threads are measured first, before the pool exists. */
#define _POSIX_C_SOURCE 199309L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "aefk_pool.h"

extern void openblas_set_num_threads(int);

typedef struct {
    int m, n, k, trans_a, trans_b, along_rows;
    const float *a, *b;
    float *c;
} product;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void block(const product *p, int r0, int r1, int c0, int c1) {
    const float *a = p->trans_a ? p->a + r0 : p->a + (long)r0 * p->k;
    const float *b = p->trans_b ? p->b + (long)c0 * p->k : p->b + c0;
    cblas_sgemm(CblasRowMajor, p->trans_a ? CblasTrans : CblasNoTrans, p->trans_b ? CblasTrans : CblasNoTrans, r1 - r0,
                c1 - c0, p->k, 1, a, p->trans_a ? p->m : p->k, b, p->trans_b ? p->k : p->n, 0,
                p->c + (long)r0 * p->n + c0, p->n);
}

static void half(void *context, long part) {
    const product *p = context;
    int length = p->along_rows ? p->m : p->n, middle = (length / 2 + 15) / 16 * 16;
    int start = part == 0 ? 0 : middle, end = part == 0 ? middle : length;
    if (p->along_rows) block(p, start, end, 0, p->n); else block(p, 0, p->m, start, end);
}

/* GFLOP/s of `mode` (0 OpenBLAS's threads, 1 pool by rows, 2 pool by columns) over 0.3 s. */
static double rate(product *p, int mode) {
    long calls = 0;
    double start = now(), elapsed;
    do {
        if (mode == 0) block(p, 0, p->m, 0, p->n);
        else { p->along_rows = mode == 1; aefk_parallel(2, half, p, 1); }
        calls++;
    } while ((elapsed = now() - start) < 0.3);
    return 2.0 * p->m * p->n * p->k * (double)calls / elapsed / 1e9;
}

int main(void) {
    static const int shapes[][5] = {/* m, n, k, transA, transB */
        {256, 256, 784, 0, 1}, {256, 784, 256, 0, 0}, {256, 784, 256, 1, 0}, {784, 256, 256, 1, 0},
        {7168, 256, 28, 0, 1}, {256, 64, 7168, 1, 0}};
    enum { SHAPES = sizeof shapes / sizeof shapes[0] };
    double rates[SHAPES][3];
    product p[SHAPES];
    for (int s = 0; s < SHAPES; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *a = malloc(sizeof(float) * (size_t)m * k), *b = malloc(sizeof(float) * (size_t)k * n);
        for (long i = 0; i < (long)m * k; i++) a[i] = (float)rand() / (float)RAND_MAX;
        for (long i = 0; i < (long)k * n; i++) b[i] = (float)rand() / (float)RAND_MAX;
        p[s] = (product){m, n, k, shapes[s][3], shapes[s][4], 0, a, b, malloc(sizeof(float) * (size_t)m * n)};
    }
    openblas_set_num_threads(2);
    for (int s = 0; s < SHAPES; s++) rates[s][0] = rate(&p[s], 0);
    openblas_set_num_threads(1);
    for (int s = 0; s < SHAPES; s++) for (int mode = 1; mode < 3; mode++) rates[s][mode] = rate(&p[s], mode);
    printf("m x n x k (op(A) m x k)   OpenBLAS 2 threads   pool by rows   pool by columns   (GFLOP/s)\n");
    for (int s = 0; s < SHAPES; s++)
        printf("%4d x %4d x %4d%s%s %12.1f %16.1f %15.1f\n", p[s].m, p[s].n, p[s].k, p[s].trans_a ? " Aᵀ" : "   ",
               p[s].trans_b ? " Bᵀ" : "   ", rates[s][0], rates[s][1], rates[s][2]);
    return 0;
}
