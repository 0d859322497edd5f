/* The dense, batch-normalization, outer-product and direct-convolution kernels of the AVX-512
 * build's shapes (kernels_avx512_shapes.c: 16-wide vectors, 6 rows x 2 panels, 12-panel single
 * rows, 12-row outer blocks, 8-position convolution blocks and half registers for 4 to 8 filters)
 * against a double reference, on any AVX2 machine. Dense: every block path (whole blocks,
 * the panel left over, single rows across 12, 4, 2 and 1 panels, units past a panel's last
 * register) and callers' unit ranges split at multiples of 32. Batch normalization: blocks of four
 * registers, one to three left, partial lanes, and channel ranges split at multiples of 16 (as
 * BatchNorm.swift splits them). Outer products: c's rows split at multiples of 5. Convolutions:
 * 3x3 kernels (stride 1 or 2, padded) over two samples, every output-row range split in two
 * (blocks along rows and down the edge columns, 1 to 37 filters). The Swift tests
 * run the real AVX-512 build only where the CPU has it. `make check-kernel-shapes`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "aefk_kernels.h"

extern const aefk_table aefk_table_avx512_shapes;

static float uniform(void) { return (float)rand() / (float)RAND_MAX - 0.5f; }

/* Float sums against double ones: within 1e-5 of the terms' absolute sum (cancellation, as in a
 * channel of two close values, leaves the float result that much less accurate). */
static int close_to(double got, double expected, double magnitude) { return fabs(got - expected) <= 1e-5 * fmax(1, magnitude); }

/* Forward then backward over channels split at `split`, against the formulas in double; returns
 * the number of wrong values. */
static long check_batch_norm(long rows, long channels, long split, long *checked) {
    size_t values = (size_t)(rows * channels) * sizeof(float), row = (size_t)channels * sizeof(float);
    float *x = malloc(values), *dy = malloc(values), *y = malloc(values), *xhat = malloc(values), *dx = malloc(values);
    float *gamma = malloc(row), *beta = malloc(row), *inv_std = malloc(row), *mean = malloc(row), *variance = malloc(row);
    float *dgamma = calloc((size_t)channels, sizeof(float)), *dbeta = calloc((size_t)channels, sizeof(float));
    for (long i = 0; i < rows * channels; i++) x[i] = 3 * uniform(), dy[i] = uniform();
    for (long j = 0; j < channels; j++) gamma[j] = uniform() + 1, beta[j] = uniform(), mean[j] = 0, variance[j] = 1;
    aefk_batch_norm norm = {.rows = rows, .channels = channels, .gamma = gamma, .beta = beta, .xhat = xhat, .inv_std = inv_std,
                            .x = x, .y = y, .running_mean = mean, .running_variance = variance, .momentum = 0.1f,
                            .epsilon = 1e-5f, .dy = dy, .dx = dx, .gamma_gradient = dgamma, .beta_gradient = dbeta};
    long ranges[2][2] = {{0, split}, {split, channels}}, bad = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int part = 0; part < 2; part++) {
            if (ranges[part][0] == ranges[part][1]) continue;
            norm.first = ranges[part][0], norm.end = ranges[part][1];
            (pass == 0 ? aefk_table_avx512_shapes.batch_norm_forward : aefk_table_avx512_shapes.batch_norm_backward)(&norm);
        }
    }
    for (long j = 0; j < channels; j++) {
        double sum = 0, size = 0, squares = 0, sum_dy = 0, size_dy = 0, sum_dy_xhat = 0, size_dy_xhat = 0;
        for (long r = 0; r < rows; r++) sum += x[r * channels + j], size += fabs(x[r * channels + j]);
        double m = sum / rows;
        for (long r = 0; r < rows; r++) squares += (x[r * channels + j] - m) * (x[r * channels + j] - m);
        double inv = 1 / sqrt(squares / rows + 1e-5);
        for (long r = 0; r < rows; r++) {
            double d = dy[r * channels + j], h = (x[r * channels + j] - m) * inv;
            sum_dy += d, size_dy += fabs(d), sum_dy_xhat += d * h, size_dy_xhat += fabs(d * h);
        }
        double variance_expected = 0.9 + 0.1 * squares / (rows - 1);
        bad += !close_to(mean[j], m * 0.1, size / rows * 0.1) + !close_to(variance[j], variance_expected, variance_expected)
             + !close_to(inv_std[j], inv, inv) + !close_to(dgamma[j], sum_dy_xhat, size_dy_xhat) + !close_to(dbeta[j], sum_dy, size_dy);
        *checked += 5;
        for (long r = 0; r < rows; r++, *checked += 2) {
            long at = r * channels + j;
            /* xhat's size before x − mean cancels: two close values in a channel leave it that inexact */
            double h = (x[at] - m) * inv, h_size = (fabs(x[at]) + fabs(m)) * inv, k = gamma[j] * inv / rows;
            bad += !close_to(y[at], gamma[j] * h + beta[j], fabs(gamma[j]) * h_size + fabs(beta[j]));
            bad += !close_to(dx[at], k * (rows * dy[at] - sum_dy - h * sum_dy_xhat),
                             fabs(k) * (rows * fabs(dy[at]) + size_dy + h_size * size_dy_xhat));
        }
    }
    if (bad) printf("batch norm, %ld rows x %ld channels split at %ld: %ld wrong values\n", rows, channels, split, bad);
    free(x), free(dy), free(y), free(xhat), free(dx), free(gamma), free(beta), free(inv_std), free(mean), free(variance);
    free(dgamma), free(dbeta);
    return bad;
}

/* c += aᵀ·b over `rows` rows, c's rows split at `split` (whole 12-row blocks, the 4-row and single
 * rows after them, one or two registers of columns, partial lanes, several 256-row chunks),
 * against a double sum; returns the number of wrong values. */
static long check_outer_products(long rows, long m, long n, long split, long *checked) {
    float *a = malloc((size_t)(rows * m) * sizeof(float)), *b = malloc((size_t)(rows * n) * sizeof(float));
    float *c = malloc((size_t)(m * n) * sizeof(float)), *start = malloc((size_t)(m * n) * sizeof(float));
    for (long i = 0; i < rows * m; i++) a[i] = uniform();
    for (long i = 0; i < rows * n; i++) b[i] = uniform();
    for (long i = 0; i < m * n; i++) c[i] = start[i] = uniform();
    aefk_outer_product_sums sums = {rows, n, 0, split, a, m, b, n, c, n};
    if (split > 0) aefk_table_avx512_shapes.outer_product_sums(&sums);
    sums.first = split, sums.end = m;
    if (split < m) aefk_table_avx512_shapes.outer_product_sums(&sums);
    long bad = 0;
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++, (*checked)++) {
            double sum = start[i * n + j], size = fabs(sum);
            for (long r = 0; r < rows; r++) sum += (double)a[r * m + i] * b[r * n + j], size += fabs((double)a[r * m + i] * b[r * n + j]);
            bad += !close_to(c[i * n + j], sum, size);
        }
    if (bad) printf("outer products, %ld rows -> %ld x %ld split at %ld: %ld wrong values\n", rows, m, n, split, bad);
    free(a), free(b), free(c), free(start);
    return bad;
}

/* conv_forward over two samples of h x w x c, 3x3 kernels padded by 1 at `stride`, output rows
 * split at `split`, against a double reference; returns the number of wrong values. */
static long check_conv(long h, long w, long c, long filters, long stride, long split, long *checked) {
    long oh = (h - 1) / stride + 1, ow = (w - 1) / stride + 1, batch = 2, taps = 9 * c;
    aefk_conv_shape s = {h, w, c, 3, 3, stride, stride, 1, 1, 1, 1, oh, ow};
    float *x = malloc((size_t)(batch * h * w * c) * sizeof(float)), *weight = malloc((size_t)(filters * taps) * sizeof(float));
    float *transposed = malloc((size_t)(filters * taps) * sizeof(float)), *bias = malloc((size_t)filters * sizeof(float));
    float *y = malloc((size_t)(batch * oh * ow * filters) * sizeof(float));
    for (long i = 0; i < batch * h * w * c; i++) x[i] = uniform();
    for (long f = 0; f < filters; f++) {
        bias[f] = uniform();
        for (long k = 0; k < taps; k++) weight[f * taps + k] = uniform(), transposed[k * filters + f] = weight[f * taps + k];
    }
    for (long i = 0; i < batch * oh * ow * filters; i++) y[i] = NAN;
    long rows = batch * oh, bad = 0;
    if (split > 0) aefk_table_avx512_shapes.conv_forward(&s, x, weight, transposed, bias, filters, 0, split, y);
    if (split < rows) aefk_table_avx512_shapes.conv_forward(&s, x, weight, transposed, bias, filters, split, rows - split, y);
    for (long r = 0; r < rows; r++) {
        for (long o = 0; o < ow; o++) {
            for (long f = 0; f < filters; f++) {
                double sum = bias[f], size = fabs(bias[f]);
                for (long kh = 0; kh < 3; kh++) {
                    long ih = (r % oh) * stride - 1 + kh;
                    for (long kw = 0; kw < 3 && ih >= 0 && ih < h; kw++) {
                        long iw = o * stride - 1 + kw;
                        if (iw < 0 || iw >= w) continue;
                        for (long j = 0; j < c; j++) {
                            double term = (double)weight[f * taps + (kh * 3 + kw) * c + j] * x[(((r / oh) * h + ih) * w + iw) * c + j];
                            sum += term, size += fabs(term);
                        }
                    }
                }
                double got = y[(r * ow + o) * filters + f];
                (*checked)++;
                if (!close_to(got, sum, size) && bad++ < 5)
                    printf("conv %ldx%ldx%ld -> %ld, stride %ld, rows split at %ld: y[%ld, %ld, %ld] = %g, expected %g\n", h, w, c,
                           filters, stride, split, r, o, f, got, sum);
            }
        }
    }
    free(x), free(weight), free(transposed), free(bias), free(y);
    return bad;
}

int main(void) {
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        printf("check-kernel-shapes: skipped, the CPU lacks AVX2/FMA\n");
        return 0;
    }
    static const long shapes[][3] = {{1, 9, 211}, {7, 13, 37}, {53, 30, 5}, {50, 3, 100}, {13, 17, 16},
                                     {12, 5, 32}, {6, 8, 48},  {1, 784, 256}, {25, 64, 400}, {1, 3, 1}, {2, 7, 33}, {3, 5000, 40}};
    long checked = 0, bad = 0;
    for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        long rows = shapes[s][0], inputs = shapes[s][1], units = shapes[s][2];
        float *x = malloc((size_t)(rows * inputs) * sizeof(float)), *w = malloc((size_t)(units * inputs) * sizeof(float));
        float *shift = malloc((size_t)units * sizeof(float)), *scale = malloc((size_t)units * sizeof(float));
        float *y = malloc((size_t)(rows * units) * sizeof(float));
        float *packed = malloc((size_t)aefk_dense_packed_count(units, inputs) * sizeof(float));
        for (long i = 0; i < rows * inputs; i++) {  /* rows 0, 3, ...: 2/3 zeros; rows 2, 5, ...: all */
            long r = i / inputs, k = i % inputs;
            x[i] = r % 3 == 2 || (r % 3 == 0 && k % 3 != 0) ? (k % 2 ? -0.0f : 0.0f) : uniform();
        }
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
    static const long norm_shapes[][2] = {{5, 1}, {9, 16}, {7, 37}, {3, 64}, {11, 70}, {4, 133}, {2, 200}};
    long norm_checked = 0, norm_bad = 0;
    for (unsigned s = 0; s < sizeof norm_shapes / sizeof norm_shapes[0]; s++)
        for (long split = 0; split <= norm_shapes[s][1]; split += 16)
            norm_bad += check_batch_norm(norm_shapes[s][0], norm_shapes[s][1], split, &norm_checked);
    printf("check-kernel-shapes: batch-norm kernels of the AVX-512 shapes, %ld values, %ld wrong\n", norm_checked, norm_bad);
    static const long outer_shapes[][3] = {{1, 29, 28}, {300, 29, 28}, {600, 13, 64}, {257, 25, 33}, {5, 2, 1}, {513, 40, 17}};
    long outer_checked = 0, outer_bad = 0;
    for (unsigned s = 0; s < sizeof outer_shapes / sizeof outer_shapes[0]; s++)
        for (long split = 0; split <= outer_shapes[s][1]; split += 5)
            outer_bad += check_outer_products(outer_shapes[s][0], outer_shapes[s][1], outer_shapes[s][2], split, &outer_checked);
    printf("check-kernel-shapes: outer-product sums of the AVX-512 shapes, %ld values, %ld wrong\n", outer_checked, outer_bad);
    static const long conv_shapes[][5] = {{12, 11, 1, 16, 1}, {14, 14, 16, 8, 1}, {9, 13, 3, 5, 1}, {10, 10, 8, 12, 1},
                                          {11, 9, 2, 37, 1},  {7, 20, 5, 4, 1},   {13, 12, 3, 6, 2}, {17, 18, 2, 3, 1}};
    long conv_checked = 0, conv_bad = 0;
    for (unsigned s = 0; s < sizeof conv_shapes / sizeof conv_shapes[0]; s++) {
        long h = conv_shapes[s][0], stride = conv_shapes[s][4], rows = 2 * ((h - 1) / stride + 1);
        for (long split = 0; split <= rows; split += 3)
            conv_bad += check_conv(h, conv_shapes[s][1], conv_shapes[s][2], conv_shapes[s][3], stride, split, &conv_checked);
    }
    printf("check-kernel-shapes: direct convolutions of the AVX-512 shapes, %ld values, %ld wrong\n", conv_checked, conv_bad);
    return bad != 0 || norm_bad != 0 || outer_bad != 0 || conv_bad != 0;
}
