/* The kernels of aefk_kernels.h written once for a vector width. Each kernels_<isa>.c defines
 * AEF_WIDTH (floats per register), AEF_ROWS and AEF_BACKWARD_ROWS (samples a register block of the
 * LSTM step's forward and backward products holds), AEF_DENSE_ROWS and AEF_DENSE_PANELS (rows
 * and 16-unit panels a register block of the dense kernel holds), AEF_OUTER_ROWS (rows of c a
 * register block of the outer-product sums holds, two registers wide), AEF_NAME(x) (the suffixed
 * name) and the target attribute around its #include of this file. */
#include <stddef.h>
#include "aefk_kernels.h"

/* Clang's extended vectors: a scalar cast to one is a broadcast. */
typedef float vf __attribute__((ext_vector_type(AEF_WIDTH)));
typedef int vi __attribute__((ext_vector_type(AEF_WIDTH)));

#define INLINE static inline __attribute__((always_inline))

INLINE vf splat(float s) { return (vf)s; }
INLINE vf load(const float *p) { vf v; __builtin_memcpy(&v, p, sizeof v); return v; }
INLINE void store(float *p, vf v) { __builtin_memcpy(p, &v, sizeof v); }
/* The first n < AEF_WIDTH lanes; the rest zero (loads) or untouched (stores). Masked moves where
 * the instruction set has them (the lanes past n are neither read nor written, so a part at the
 * end of a buffer cannot fault); lane by lane, a loop per call, on baseline x86-64. */
#if AEF_WIDTH == 16 && !defined(AEF_AVX512_SHAPES_ON_AVX2) /* Tests/kernels: no AVX-512 instructions there */
INLINE vf load_part(const float *p, long n) { return __builtin_ia32_loadups512_mask(p, splat(0), (unsigned short)((1u << n) - 1)); }
INLINE void store_part(float *p, vf v, long n) { __builtin_ia32_storeups512_mask(p, v, (unsigned short)((1u << n) - 1)); }
#elif AEF_WIDTH == 8
typedef float v8sf __attribute__((vector_size(32)));
INLINE vi first_lanes(long n) { return (vi){0, 1, 2, 3, 4, 5, 6, 7} < (vi)(int)n; }
INLINE vf load_part(const float *p, long n) { return __builtin_ia32_maskloadps256((const v8sf *)p, first_lanes(n)); }
INLINE void store_part(float *p, vf v, long n) { __builtin_ia32_maskstoreps256((v8sf *)p, first_lanes(n), v); }
#else
INLINE vf load_part(const float *p, long n) { vf v = splat(0); for (long i = 0; i < n; i++) v[i] = p[i]; return v; }
INLINE void store_part(float *p, vf v, long n) { for (long i = 0; i < n; i++) p[i] = v[i]; }
#endif
INLINE vf load_n(const float *p, long n) { return n == AEF_WIDTH ? load(p) : load_part(p, n); }
INLINE void store_n(float *p, vf v, long n) { if (n == AEF_WIDTH) store(p, v); else store_part(p, v, n); }
INLINE vf choose(vi mask, vf a, vf b) { return (vf)((mask & (vi)a) | (~mask & (vi)b)); }

#if AEF_WIDTH == 16
/* Half a register, 8 lanes (ymm), for 8 or fewer filters: Zen 4 runs two 256-bit multiply-adds
 * per cycle but one 512-bit one, so along a masked 16-lane register they would waste half. */
typedef float vh __attribute__((ext_vector_type(8)));
typedef int vhi __attribute__((ext_vector_type(8)));
typedef float v8sf_half __attribute__((vector_size(32)));
INLINE vhi first_lanes_half(long n) { return (vhi){0, 1, 2, 3, 4, 5, 6, 7} < (vhi)(int)n; }
INLINE vh load_half(const float *p, long n) {
    if (n == 8) { vh v; __builtin_memcpy(&v, p, sizeof v); return v; }
    return __builtin_ia32_maskloadps256((const v8sf_half *)p, first_lanes_half(n));
}
INLINE void store_half(float *p, vh v, long n) {
    if (n == 8) __builtin_memcpy(p, &v, sizeof v); else __builtin_ia32_maskstoreps256((v8sf_half *)p, first_lanes_half(n), v);
}
/* Adjacent output positions a direct convolution's register block holds: 32 registers take 8
 * positions of two filter registers; 16 only 4. */
#define POSITION_BLOCK 8
#else
#define POSITION_BLOCK 4
#endif

/* Cephes' expf (relative error below 2e-7, saturating at -87.3 and 88) of `count` vectors in
 * place (count a constant once inlined): FastMath.exp's reduction and polynomial, its last terms
 * as one Horner chain, so the two can differ in the last bit. Each line runs over all the vectors before
 * the next, so their long dependency chains interleave: the LSTM cell update is bound by the
 * latency of its transcendentals, not by their arithmetic. */
INLINE void vexp_n(const int count, vf *x) {
    const vf magic = splat(12582912.0f); /* 1.5·2^23: adding it rounds to an integer in the low bits */
    vf shifted[count], r[count], p[count];
    for (int q = 0; q < count; q++) x[q] = __builtin_elementwise_max(__builtin_elementwise_min(x[q], splat(88.0f)), splat(-87.3f));
    for (int q = 0; q < count; q++) shifted[q] = x[q] * 1.44269504f + magic;
    for (int q = 0; q < count; q++) r[q] = (x[q] - (shifted[q] - magic) * 0.693359375f) - (shifted[q] - magic) * -2.1219444e-4f;
    for (int q = 0; q < count; q++) p[q] = splat(1.98756915e-4f) * r[q] + 1.39819995e-3f;
    for (int q = 0; q < count; q++) p[q] = p[q] * r[q] + 8.3334519e-3f;
    for (int q = 0; q < count; q++) p[q] = p[q] * r[q] + 4.1665796e-2f;
    for (int q = 0; q < count; q++) p[q] = p[q] * r[q] + 1.66666655e-1f;
    for (int q = 0; q < count; q++) p[q] = p[q] * r[q] + 5.00000012e-1f;
    for (int q = 0; q < count; q++) p[q] = p[q] * r[q] + 1.0f;
    for (int q = 0; q < count; q++) p[q] = p[q] * r[q] + 1.0f;
    for (int q = 0; q < count; q++) x[q] = p[q] * (vf)((((vi)shifted[q] - (vi)magic) + 127) << 23);
}
INLINE vf vexp(vf x) { vexp_n(1, &x); return x; }
/* 1 / d from the approximate reciprocal and one Newton step (relative error about 1e-7), where the
 * instruction set has one: a division is several times slower. */
INLINE vf reciprocal(vf d) {
#if AEF_WIDTH == 8
    vf r = __builtin_ia32_rcpps256(d);
    return r * (2.0f - d * r);
#elif AEF_WIDTH == 16 && !defined(AEF_AVX512_SHAPES_ON_AVX2) /* Tests/kernels: no AVX-512 instructions there */
    vf r = __builtin_ia32_rcp14ps512_mask(d, splat(0), (unsigned short)0xffff);
    return r * (2.0f - d * r);
#else
    return 1.0f / d;
#endif
}
/* σ of `count` vectors in place, interleaved as vexp_n. */
INLINE void vsigmoid_n(const int count, vf *x) {
    for (int q = 0; q < count; q++) x[q] = -x[q];
    vexp_n(count, x);
    for (int q = 0; q < count; q++) x[q] = reciprocal(1.0f + x[q]);
}
INLINE vf vsigmoid(vf x) { vsigmoid_n(1, &x); return x; }
INLINE vf vtanh(vf x) { return 2.0f * vsigmoid(2.0f * x) - 1.0f; }

/* ---- Direct convolution ------------------------------------------------------------------- */

/* The taps of one output position that fall inside the input, as spans of adjacent values in
 * both input and weights: first kernel position, length in floats, input offset. */
typedef struct { long k, length, offset; } span;

INLINE long spans_of(const aefk_conv_shape *s, long b, long oh, long ow, span *out) {
    long count = 0, c = s->channels, left = ow * s->stride_width - s->pad_left;
    for (long kh = 0; kh < s->kernel_height; kh++) {
        long ih = oh * s->stride_height - s->pad_top + kh * s->dilation_height;
        if (ih < 0 || ih >= s->input_height) continue;
        long row = (b * s->input_height + ih) * s->input_width;
        if (s->dilation_width == 1) {
            long first = left < 0 ? -left : 0, end = s->input_width - left;
            if (end > s->kernel_width) end = s->kernel_width;
            if (first < end) out[count++] = (span){kh * s->kernel_width + first, (end - first) * c, (row + left + first) * c};
        } else {
            for (long kw = 0; kw < s->kernel_width; kw++) {
                long iw = left + kw * s->dilation_width;
                if (iw >= 0 && iw < s->input_width) out[count++] = (span){kh * s->kernel_width + kw, c, (row + iw) * c};
            }
        }
    }
    return count;
}

/* Whether every tap of output column ow falls inside the input's width. */
INLINE int inside_width(const aefk_conv_shape *s, long ow) {
    long left = ow * s->stride_width - s->pad_left;
    return left >= 0 && left + (s->kernel_width - 1) * s->dilation_width < s->input_width;
}

/* Runs STEP(positions, n, position) over the output positions of output rows first..<first+count
 * (row r is sample r / output_height's row r % output_height), in order: POSITION_BLOCK or four
 * adjacent positions of a row at once where all their taps are inside the width, so they share
 * the spans of the first, one at a time elsewhere; `position` is the first one's index over the
 * whole batch, `n` its spans' count (written into `spans`). */
#define FOR_EACH_POSITION_BLOCK(s, first, count, spans, STEP)                                          \
    for (long r = (first); r < (first) + (count); r++) {                                                \
        long b = r / (s)->output_height, oh = r % (s)->output_height, position = r * (s)->output_width;  \
        for (long ow = 0; ow < (s)->output_width;) {                                                     \
            long n = spans_of((s), b, oh, ow, (spans));                                                  \
            long last = ow + POSITION_BLOCK - 1;                                                         \
            if (last < (s)->output_width && inside_width((s), ow) && inside_width((s), last)) {          \
                STEP(POSITION_BLOCK, n, position);                                                       \
                ow += POSITION_BLOCK, position += POSITION_BLOCK;                                        \
            } else if (ow + 4 <= (s)->output_width && inside_width((s), ow) && inside_width((s), ow + 3)) { \
                STEP(4, n, position);                                                                    \
                ow += 4, position += 4;                                                                  \
            } else {                                                                                     \
                STEP(1, n, position);                                                                    \
                ow += 1, position += 1;                                                                  \
            }                                                                                            \
        }                                                                                                \
    }

/* Filters f..<f+lanes of conv_forward_positions' outputs along one register (`lanes` of it) of
 * type VEC, loaded and stored by LOAD_N and STORE_N. */
#define DEFINE_CONV_FORWARD_FILTER_VECTOR(NAME, VEC, LOAD_N, STORE_N)                                                        \
    INLINE void NAME(const int positions, const aefk_conv_shape *s, const float *x, const float *transposed,                 \
                     const float *bias, long filters, const span *spans, long n, long shift, long out_shift, long f,           \
                     long lanes, float *out) {                                                                               \
        long c = s->channels;                                                                                                  \
        VEC sum[POSITION_BLOCK];                                                                                               \
        for (int q = 0; q < positions; q++) sum[q] = LOAD_N(bias + f, lanes);                                                 \
        for (long p = 0; p < n; p++) {                                                                                         \
            const float *patch = x + spans[p].offset, *w = transposed + spans[p].k * c * filters + f;                          \
            for (long j = 0; j < spans[p].length; j++, w += filters) {                                                         \
                VEC w0 = LOAD_N(w, lanes);                                                                                     \
                for (int q = 0; q < positions; q++) sum[q] += (VEC)patch[j + q * shift] * w0;                                  \
            }                                                                                                                  \
        }                                                                                                                      \
        for (int q = 0; q < positions; q++) STORE_N(out + q * out_shift + f, sum[q], lanes);                                   \
    }
DEFINE_CONV_FORWARD_FILTER_VECTOR(conv_forward_filter_vector, vf, load_n, store_n)
#if AEF_WIDTH == 16
DEFINE_CONV_FORWARD_FILTER_VECTOR(conv_forward_filter_half, vh, load_half, store_half)
#endif

/* `positions` (1, 4 or POSITION_BLOCK, a constant once inlined) outputs whose taps fall at the same
 * kernel positions, `shift` floats apart in the input and `out_shift` in the output (adjacent
 * along a row, or down a column): each weight register, loaded once per tap, serves every
 * position, and each output's sum stays in a register, in tap order (so a position gives the
 * same bits whether it runs alone or in a block). */
INLINE void conv_forward_positions(const int positions, const aefk_conv_shape *s, const float *x, const float *weight,
                                   const float *transposed, const float *bias, long filters, const span *spans, long n,
                                   long shift, long out_shift, float *out) {
    long c = s->channels, row_stride = s->kernel_height * s->kernel_width * c, f = 0;
    /* Many filters: registers along the filters. */
    for (; f + 2 * AEF_WIDTH <= filters; f += 2 * AEF_WIDTH) {
        vf sum[POSITION_BLOCK][2];
        for (int q = 0; q < positions; q++) sum[q][0] = load(bias + f), sum[q][1] = load(bias + f + AEF_WIDTH);
        for (long p = 0; p < n; p++) {
            const float *patch = x + spans[p].offset, *w = transposed + spans[p].k * c * filters + f;
            for (long j = 0; j < spans[p].length; j++, w += filters) {
                vf w0 = load(w), w1 = load(w + AEF_WIDTH);
                for (int q = 0; q < positions; q++) {
                    vf a = splat(patch[j + q * shift]);
                    sum[q][0] += a * w0;
                    sum[q][1] += a * w1;
                }
            }
        }
        for (int q = 0; q < positions; q++) store(out + q * out_shift + f, sum[q][0]), store(out + q * out_shift + f + AEF_WIDTH, sum[q][1]);
    }
    for (; f + AEF_WIDTH <= filters; f += AEF_WIDTH) conv_forward_filter_vector(positions, s, x, transposed, bias, filters, spans, n, shift, out_shift, f, AEF_WIDTH, out);
    /* Half a register of filters or more left: one register along them, masked; on AVX-512, 4 to
     * 8 (W2's 16 -> 8 layer) along a half register. A build without masked moves goes on below. */
#if AEF_WIDTH == 16
    if (filters - f >= 4 && filters - f <= 8) {
        conv_forward_filter_half(positions, s, x, transposed, bias, filters, spans, n, shift, out_shift, f, filters - f, out);
        f = filters;
    }
#endif
    if (AEF_WIDTH >= 8 && filters - f >= AEF_WIDTH / 2) {
        conv_forward_filter_vector(positions, s, x, transposed, bias, filters, spans, n, shift, out_shift, f, filters - f, out);
        f = filters;
    }
    /* Few filters (or the last few): dot products along the patch, one register per position
     * over all its spans, summed across lanes once at the end. */
    for (; f < filters; f++) {
        vf sum[POSITION_BLOCK];
        float rest[POSITION_BLOCK];
        for (int q = 0; q < positions; q++) sum[q] = splat(0), rest[q] = 0;
        for (long p = 0; p < n; p++) {
            const float *w = weight + f * row_stride + spans[p].k * c, *patch = x + spans[p].offset;
            long i = 0;
            for (; i + AEF_WIDTH <= spans[p].length; i += AEF_WIDTH) {
                vf w0 = load(w + i);
                for (int q = 0; q < positions; q++) sum[q] += w0 * load(patch + q * shift + i);
            }
            for (; i < spans[p].length; i++) {
                for (int q = 0; q < positions; q++) rest[q] += w[i] * patch[q * shift + i];
            }
        }
        for (int q = 0; q < positions; q++) {
            float total = bias[f];
            for (int l = 0; l < AEF_WIDTH; l++) total += sum[q][l];
            out[q * out_shift + f] = total + rest[q];
        }
    }
}

/* conv_forward_positions for a block of `block` positions (POSITION_BLOCK, 4 or 1), each size a
 * constant in its own call so that its loops unroll. */
INLINE void conv_forward_block(long block, const aefk_conv_shape *s, const float *x, const float *weight,
                               const float *transposed, const float *bias, long filters, const span *spans, long n,
                               long shift, long out_shift, float *out) {
    if (block == POSITION_BLOCK) conv_forward_positions(POSITION_BLOCK, s, x, weight, transposed, bias, filters, spans, n, shift, out_shift, out);
    else if (block == 4) conv_forward_positions(4, s, x, weight, transposed, bias, filters, spans, n, shift, out_shift, out);
    else conv_forward_positions(1, s, x, weight, transposed, bias, filters, spans, n, shift, out_shift, out);
}

/* Whether every tap of output row oh falls inside the input's height. */
INLINE int inside_height(const aefk_conv_shape *s, long oh) {
    long top = oh * s->stride_height - s->pad_top;
    return top >= 0 && top + (s->kernel_height - 1) * s->dilation_height < s->input_height;
}

/* The positions of each row inside the width go in blocks along the row (FOR_EACH_POSITION_BLOCK);
 * those of the columns at the edges (padding on the left or right) in blocks down the column,
 * over rows of one sample inside the height, whose taps fall at the same kernel positions. Alone,
 * a position's sum is one chain of dependent multiply-adds (W2's 16 -> 8 layer: 144 of them at
 * the multiply-add's latency, for 2 positions in 14 of every row). */
static void AEF_NAME(conv_forward)(const aefk_conv_shape *s, const float *x, const float *weight,
                                   const float *transposed, const float *bias, long filters, long first_row, long rows,
                                   float *y) {
    span spans[s->kernel_height * s->kernel_width];
    long shift = s->stride_width * s->channels, end = first_row + rows;
    for (long r = first_row; r < end; r++) {
        long b = r / s->output_height, oh = r % s->output_height, position = r * s->output_width;
        for (long ow = 0; ow < s->output_width;) {
            if (!inside_width(s, ow)) {
                ow++, position++;
                continue;
            }
            long n = spans_of(s, b, oh, ow, spans), block = 1;
            if (ow + POSITION_BLOCK <= s->output_width && inside_width(s, ow + POSITION_BLOCK - 1)) block = POSITION_BLOCK;
            else if (ow + 4 <= s->output_width && inside_width(s, ow + 3)) block = 4;
            conv_forward_block(block, s, x, weight, transposed, bias, filters, spans, n, shift, filters, y + position * filters);
            ow += block, position += block;
        }
    }
    long row_shift = s->stride_height * s->input_width * s->channels, out_row = s->output_width * filters;
    for (long ow = 0; ow < s->output_width; ow++) {
        if (inside_width(s, ow)) continue;
        for (long r = first_row; r < end;) {
            long b = r / s->output_height, oh = r % s->output_height, block = 1;
            long n = spans_of(s, b, oh, ow, spans);
            /* rows r..<r+block: one sample's, all inside the height */
            if (inside_height(s, oh)) {
                long down = 1;
                while (down < POSITION_BLOCK && r + down < end && oh + down < s->output_height && inside_height(s, oh + down)) down++;
                block = down == POSITION_BLOCK ? POSITION_BLOCK : down >= 4 ? 4 : 1;
            }
            conv_forward_block(block, s, x, weight, transposed, bias, filters, spans, n, row_shift, out_row,
                               y + (r * s->output_width + ow) * filters);
            r += block;
        }
    }
}

/* d[0..<length] += Σ_f gradient[f] · w[f · row_stride + 0..<length]: two registers along the
 * span at a time, then one, the last one partial (a span of 3 taps of 8 channels is 24 values:
 * one and a half AVX-512 registers). */
INLINE void add_filter_combination(long length, long filters, const float *gradient, const float *w, long row_stride,
                                   float *d) {
    long i = 0;
    for (; i + 2 * AEF_WIDTH <= length; i += 2 * AEF_WIDTH) {
        vf s0 = load(d + i), s1 = load(d + i + AEF_WIDTH);
        for (long f = 0; f < filters; f++) {
            vf g = splat(gradient[f]);
            s0 += g * load(w + f * row_stride + i);
            s1 += g * load(w + f * row_stride + i + AEF_WIDTH);
        }
        store(d + i, s0);
        store(d + i + AEF_WIDTH, s1);
    }
    for (; i < length; i += AEF_WIDTH) {
        long n = length - i < AEF_WIDTH ? length - i : AEF_WIDTH;
        vf s0 = load_n(d + i, n);
        for (long f = 0; f < filters; f++) s0 += splat(gradient[f]) * load_n(w + f * row_stride + i, n);
        store_n(d + i, s0, n);
    }
}

/* The input gradient of `positions` adjacent outputs (as conv_forward_positions), one after the
 * other: their spans overlap, so their sums cannot share registers. (Summing the union of the
 * spans once per register measured no faster on W2's layers: a position's work is small.) */
INLINE void conv_input_positions(const int positions, const aefk_conv_shape *s, const float *gradient,
                                 const float *weight, long filters, const span *spans, long n, long shift, float *dx) {
    long c = s->channels, row_stride = s->kernel_height * s->kernel_width * c;
    for (int q = 0; q < positions; q++) {
        for (long p = 0; p < n; p++)
            add_filter_combination(spans[p].length, filters, gradient + q * filters, weight + spans[p].k * c, row_stride,
                                   dx + spans[p].offset + q * shift);
    }
}

static void AEF_NAME(conv_input_gradient)(const aefk_conv_shape *s, const float *dy, const float *weight, long filters,
                                          long first, long count, float *dx) {
    long input_size = s->input_height * s->input_width * s->channels;
    span spans[s->kernel_height * s->kernel_width];
    long shift = s->stride_width * s->channels;
    for (long i = first * input_size; i < (first + count) * input_size; i++) dx[i] = 0;
#define STEP(positions, n, position) \
    conv_input_positions(positions, s, dy + (position) * filters, weight, filters, spans, n, shift, dx)
    FOR_EACH_POSITION_BLOCK(s, first * s->output_height, count * s->output_height, spans, STEP)
#undef STEP
}

/* sum[0..<n] += Σ_{q < positions} a[q · a_stride] · v[q · v_stride + 0..<n]: one load and store
 * of each sum register for all the positions. */
INLINE void add_products(const int positions, long n, const float *a, long a_stride, const float *v, long v_stride,
                         float *sum) {
    for (long i = 0; i < n; i += AEF_WIDTH) {
        long lanes = n - i < AEF_WIDTH ? n - i : AEF_WIDTH;
        vf total = load_n(sum + i, lanes);
        for (int q = 0; q < positions; q++) total += splat(a[q * a_stride]) * load_n(v + q * v_stride + i, lanes);
        store_n(sum + i, total, lanes);
    }
}

/* The weight gradient of `positions` (1 or 4) adjacent outputs whose taps fall at the same kernel
 * positions, `shift` floats apart in the input (as conv_forward_positions): each partial-sum
 * register is loaded and stored once for all of them. */
INLINE void conv_weight_positions(const int positions, const aefk_conv_shape *s, const float *x, const float *gradient,
                                  long filters, const span *spans, long n, long shift, int natural, float *partial) {
    long c = s->channels, row_stride = s->kernel_height * s->kernel_width * c;
    for (long p = 0; p < n; p++) {
        const float *patch = x + spans[p].offset;
        if (natural) {
            /* partial[f, k..] += Σ_q gradient_q[f] · patch_q */
            for (long f = 0; f < filters; f++)
                add_products(positions, spans[p].length, gradient + f, filters, patch, shift,
                             partial + f * row_stride + spans[p].k * c);
        } else {
            /* partial[k.., :] += Σ_q patch_q[j] · gradient_q */
            float *sum = partial + spans[p].k * c * filters;
            for (long j = 0; j < spans[p].length; j++, sum += filters)
                add_products(positions, filters, patch + j, shift, gradient, filters, sum);
        }
    }
}

static void AEF_NAME(conv_weight_gradient)(const aefk_conv_shape *s, const float *x, const float *dy, long filters,
                                           long first, long count, int natural, float *partial) {
    span spans[s->kernel_height * s->kernel_width];
    long shift = s->stride_width * s->channels;
#define STEP(positions, n, position) \
    conv_weight_positions(positions, s, x, dy + (position) * filters, filters, spans, n, shift, natural, partial)
    FOR_EACH_POSITION_BLOCK(s, first * s->output_height, count * s->output_height, spans, STEP)
#undef STEP
}

/* ---- Pooling ------------------------------------------------------------------------------- */

static void AEF_NAME(max_pool_forward)(const aefk_conv_shape *s, const float *x, long first_row, long rows, float *y,
                                       unsigned *winners) {
    long c = s->channels, input_size = s->input_height * s->input_width * c;
    long window[s->kernel_height * s->kernel_width];
    vi lane;
    for (int l = 0; l < AEF_WIDTH; l++) lane[l] = l;
    for (long r = first_row; r < first_row + rows; r++) {
        long b = r / s->output_height, oh = r % s->output_height, out = r * s->output_width * c;
        const float *sample = x + b * input_size;
        for (long ow = 0; ow < s->output_width; ow++, out += c) {
            long n = 0; /* offsets of the window's in-bounds pixels within the sample */
            for (long kh = 0; kh < s->kernel_height; kh++) {
                long ih = oh * s->stride_height - s->pad_top + kh;
                if (ih < 0 || ih >= s->input_height) continue;
                for (long kw = 0; kw < s->kernel_width; kw++) {
                    long iw = ow * s->stride_width - s->pad_left + kw;
                    if (iw >= 0 && iw < s->input_width) window[n++] = (ih * s->input_width + iw) * c;
                }
            }
            if (!winners) {
                /* Inference: the maxima alone, the last register partial. */
                for (long j = 0; j < c; j += AEF_WIDTH) {
                    long lanes = c - j < AEF_WIDTH ? c - j : AEF_WIDTH;
                    vf best = load_n(sample + window[0] + j, lanes);
                    for (long w = 1; w < n; w++) {
                        vf value = load_n(sample + window[w] + j, lanes);
                        best = choose(value > best, value, best);
                    }
                    store_n(y + out + j, best, lanes);
                }
                continue;
            }
            long j = 0;
            /* Running max and winner per lane, updated by selects: branches on the data mispredict. */
            for (; j + AEF_WIDTH <= c; j += AEF_WIDTH) {
                vf best = load(sample + window[0] + j);
                vi winner = lane + (int)(window[0] + j);
                for (long w = 1; w < n; w++) {
                    vf value = load(sample + window[w] + j);
                    vi better = value > best;
                    winner = (better & (lane + (int)(window[w] + j))) | (~better & winner);
                    best = choose(better, value, best);
                }
                store(y + out + j, best);
                __builtin_memcpy(winners + out + j, &winner, sizeof winner);
            }
            for (; j < c; j++) {
                float best = sample[window[0] + j];
                unsigned winner = (unsigned)(window[0] + j);
                for (long w = 1; w < n; w++) {
                    float value = sample[window[w] + j];
                    winner = value > best ? (unsigned)(window[w] + j) : winner;
                    best = value > best ? value : best;
                }
                y[out + j] = best;
                winners[out + j] = winner;
            }
        }
    }
}

/* ---- Activations ---------------------------------------------------------------------------- */

INLINE vf activate(aefk_activation function, vf v) {
    vf zero = splat(0);
    switch (function) {
    case AEFK_ACTIVATION_IDENTITY: return v;
    case AEFK_ACTIVATION_RELU: return choose(v > zero, v, zero);
    case AEFK_ACTIVATION_LEAKY_RELU: return choose(v > zero, v, 0.01f * v);
    case AEFK_ACTIVATION_ELU: return choose(v > zero, v, vexp(v) - 1.0f);
    case AEFK_ACTIVATION_SIGMOID: return vsigmoid(v);
    case AEFK_ACTIVATION_TANH: return vtanh(v);
    }
    return v;
}

/* dy · f′ from y = f(x) */
INLINE vf differentiate(aefk_activation function, vf y, vf dy) {
    vf zero = splat(0);
    switch (function) {
    case AEFK_ACTIVATION_IDENTITY: return dy;
    case AEFK_ACTIVATION_RELU: return choose(y > zero, dy, zero);
    case AEFK_ACTIVATION_LEAKY_RELU: return choose(y > zero, dy, 0.01f * dy);
    case AEFK_ACTIVATION_ELU: return choose(y > zero, dy, dy * (y + 1.0f));
    case AEFK_ACTIVATION_SIGMOID: return dy * y * (1.0f - y);
    case AEFK_ACTIVATION_TANH: return dy * (1.0f - y * y);
    }
    return dy;
}

/* f of four registers in place, their exps interleaved (vexp_n): the same arithmetic per value
 * as activate. Only for ELU, sigmoid and tanh. */
INLINE void activate_exp_4(aefk_activation function, vf *v) {
    vf e[4];
    switch (function) {
    case AEFK_ACTIVATION_ELU:
        for (int q = 0; q < 4; q++) e[q] = v[q];
        vexp_n(4, e);
        for (int q = 0; q < 4; q++) v[q] = choose(v[q] > splat(0), v[q], e[q] - 1.0f);
        return;
    case AEFK_ACTIVATION_TANH:
        for (int q = 0; q < 4; q++) v[q] = 2.0f * v[q];
        vsigmoid_n(4, v);
        for (int q = 0; q < 4; q++) v[q] = 2.0f * v[q] - 1.0f;
        return;
    default:
        vsigmoid_n(4, v);
    }
}

/* The switch inside the loop is loop-invariant: the compiler makes one loop per function. The
 * exp-based functions take four registers per iteration with their exps interleaved (one
 * register's exp is a chain of about ten dependent operations: ELU at batch 1, W2's 12,544
 * values, ran at its latency); the others two, whose independent chains overlap by themselves. */
static void AEF_NAME(activation_forward)(aefk_activation function, long count, const float *x, float *y) {
    long i = 0;
    if (function == AEFK_ACTIVATION_ELU || function == AEFK_ACTIVATION_SIGMOID || function == AEFK_ACTIVATION_TANH) {
        for (; i + 4 * AEF_WIDTH <= count; i += 4 * AEF_WIDTH) {
            vf v[4];
            for (int q = 0; q < 4; q++) v[q] = load(x + i + q * AEF_WIDTH);
            activate_exp_4(function, v);
            for (int q = 0; q < 4; q++) store(y + i + q * AEF_WIDTH, v[q]);
        }
    }
    for (; i + 2 * AEF_WIDTH <= count; i += 2 * AEF_WIDTH) {
        vf a = activate(function, load(x + i)), b = activate(function, load(x + i + AEF_WIDTH));
        store(y + i, a);
        store(y + i + AEF_WIDTH, b);
    }
    for (; i + AEF_WIDTH <= count; i += AEF_WIDTH) store(y + i, activate(function, load(x + i)));
    if (i < count) store_part(y + i, activate(function, load_part(x + i, count - i)), count - i);
}

static void AEF_NAME(activation_backward)(aefk_activation function, long count, const float *y, const float *dy,
                                          float *dx) {
    long i = 0;
    for (; i + AEF_WIDTH <= count; i += AEF_WIDTH) store(dx + i, differentiate(function, load(y + i), load(dy + i)));
    if (i < count) store_part(dx + i, differentiate(function, load_part(y + i, count - i), load_part(dy + i, count - i)), count - i);
}

/* ---- Reconstruction losses ------------------------------------------------------------------ */

/* log(1 + e) for e in [0, 1]: 2·atanh(s) with s = e / (2 + e) ≤ 1/3, its series to s^15 (the
 * first term left out is below 1e-9). */
INLINE vf vlog1p_unit(vf e) {
    vf s = e / (2.0f + e), s2 = s * s;
    vf p = splat(2.0f / 15.0f);
    p = p * s2 + 2.0f / 13.0f;
    p = p * s2 + 2.0f / 11.0f;
    p = p * s2 + 2.0f / 9.0f;
    p = p * s2 + 2.0f / 7.0f;
    p = p * s2 + 2.0f / 5.0f;
    p = p * s2 + 2.0f / 3.0f;
    return s * (p * s2 + 2.0f);
}

/* The errors of outputs y against targets t, and (when gradient is set) dLoss/dy · 1/scale. */
INLINE vf loss_values(aefk_loss loss, vf y, vf t, vf *gradient) {
    if (loss == AEFK_LOSS_MSE) {
        vf d = y - t;
        if (gradient) *gradient = 2.0f * d;
        return d * d;
    }
    vf zero = splat(0), e = vexp(choose(y > zero, -y, y)); /* e^−|z|, never above 1 */
    if (gradient) *gradient = choose(y >= zero, splat(1), e) / (1.0f + e) - t; /* exact 0 when saturated */
    return choose(y > zero, y, zero) - y * t + vlog1p_unit(e);
}

static void AEF_NAME(loss_errors)(aefk_loss loss, long count, const float *output, float *target) {
    long i = 0;
    for (; i + AEF_WIDTH <= count; i += AEF_WIDTH) store(target + i, loss_values(loss, load(output + i), load(target + i), (vf *)0));
    if (i < count)
        store_part(target + i, loss_values(loss, load_part(output + i, count - i), load_part(target + i, count - i), (vf *)0), count - i);
}

static double AEF_NAME(loss_gradient)(aefk_loss loss, long count, const float *output, const float *target, float scale,
                                      float *gradient) {
    double total = 0;
    for (long start = 0; start < count; start += 1024) {
        long end = start + 1024 < count ? start + 1024 : count, i = start;
        vf sums = splat(0), g;
        for (; i + AEF_WIDTH <= end; i += AEF_WIDTH) {
            sums += loss_values(loss, load(output + i), load(target + i), &g);
            store(gradient + i, scale * g);
        }
        float block = 0;
        if (i < end) { /* the padding lanes of a partial load have errors too (BCE's log 2): left out */
            vf errors = loss_values(loss, load_part(output + i, end - i), load_part(target + i, end - i), &g);
            for (long lane = 0; lane < end - i; lane++) block += errors[lane];
            store_part(gradient + i, scale * g, end - i);
        }
        for (int lane = 0; lane < AEF_WIDTH; lane++) block += sums[lane];
        total += block;
    }
    return total;
}

/* ---- Column sums and batch normalization ---------------------------------------------------- */

#define COLUMN_VECTORS 4 /* column registers one pass over the rows carries (for_each_column_block's cases) */

/* Lane count of register q of a block whose last register holds `lanes` columns. */
#define COLUMN_LANES(q) ((q) == vectors - 1 ? lanes : AEF_WIDTH)

/* Channels j0..<j0 + (vectors − 1)·W + lanes (vectors a constant once inlined), every sum in a
 * register: the mean, the centred squares, then xhat and y. */
INLINE void norm_forward_block(const int vectors, long j0, long lanes, const void *args) {
    const aefk_batch_norm *b = args;
    const long c = b->channels;
    const float inv_rows = 1.0f / (float)b->rows, unbiased = b->rows > 1 ? (float)b->rows / (float)(b->rows - 1) : 1.0f;
    vf mean[COLUMN_VECTORS], squares[COLUMN_VECTORS], inv_std[COLUMN_VECTORS], gamma[COLUMN_VECTORS], beta[COLUMN_VECTORS];
    for (int q = 0; q < vectors; q++) mean[q] = squares[q] = splat(0);
    for (long r = 0; r < b->rows; r++)
        for (int q = 0; q < vectors; q++) mean[q] += load_n(b->x + r * c + j0 + q * AEF_WIDTH, COLUMN_LANES(q));
    for (int q = 0; q < vectors; q++) mean[q] *= inv_rows;
    for (long r = 0; r < b->rows; r++)
        for (int q = 0; q < vectors; q++) {
            vf d = load_n(b->x + r * c + j0 + q * AEF_WIDTH, COLUMN_LANES(q)) - mean[q];
            squares[q] += d * d;
        }
    for (int q = 0; q < vectors; q++) {
        long j = j0 + q * AEF_WIDTH, n = COLUMN_LANES(q);
        vf variance = squares[q] * inv_rows;
        store_n(b->running_mean + j, (1 - b->momentum) * load_n(b->running_mean + j, n) + b->momentum * mean[q], n);
        store_n(b->running_variance + j, (1 - b->momentum) * load_n(b->running_variance + j, n) + b->momentum * variance * unbiased, n);
        inv_std[q] = 1.0f / __builtin_elementwise_sqrt(variance + b->epsilon);
        store_n(b->inv_std + j, inv_std[q], n);
        gamma[q] = load_n(b->gamma + j, n);
        beta[q] = load_n(b->beta + j, n);
    }
    for (long r = 0; r < b->rows; r++)
        for (int q = 0; q < vectors; q++) {
            long at = r * c + j0 + q * AEF_WIDTH, n = COLUMN_LANES(q);
            vf xhat = (load_n(b->x + at, n) - mean[q]) * inv_std[q];
            store_n(b->xhat + at, xhat, n);
            store_n(b->y + at, gamma[q] * xhat + beta[q], n);
        }
}

INLINE void norm_backward_block(const int vectors, long j0, long lanes, const void *args) {
    const aefk_batch_norm *b = args;
    const long c = b->channels;
    const float inv_rows = 1.0f / (float)b->rows;
    vf sum_dy[COLUMN_VECTORS], sum_dy_xhat[COLUMN_VECTORS], k[COLUMN_VECTORS];
    for (int q = 0; q < vectors; q++) sum_dy[q] = sum_dy_xhat[q] = splat(0);
    for (long r = 0; r < b->rows; r++)
        for (int q = 0; q < vectors; q++) {
            long at = r * c + j0 + q * AEF_WIDTH, n = COLUMN_LANES(q);
            vf dy = load_n(b->dy + at, n);
            sum_dy[q] += dy;
            sum_dy_xhat[q] += dy * load_n(b->xhat + at, n);
        }
    for (int q = 0; q < vectors; q++) {
        long j = j0 + q * AEF_WIDTH, n = COLUMN_LANES(q);
        store_n(b->gamma_gradient + j, load_n(b->gamma_gradient + j, n) + sum_dy_xhat[q], n);
        store_n(b->beta_gradient + j, load_n(b->beta_gradient + j, n) + sum_dy[q], n);
        /* per-channel constants folded, so the row loop is a short multiply-add chain */
        k[q] = load_n(b->gamma + j, n) * load_n(b->inv_std + j, n);
        sum_dy[q] = k[q] * sum_dy[q] * inv_rows;
        sum_dy_xhat[q] = k[q] * sum_dy_xhat[q] * inv_rows;
    }
    if (!b->dx) return;
    for (long r = 0; r < b->rows; r++)
        for (int q = 0; q < vectors; q++) {
            long at = r * c + j0 + q * AEF_WIDTH, n = COLUMN_LANES(q);
            store_n(b->dx + at, k[q] * load_n(b->dy + at, n) - sum_dy[q] - load_n(b->xhat + at, n) * sum_dy_xhat[q], n);
        }
}

INLINE void column_sums_block(const int vectors, long j0, long lanes, const void *args) {
    const aefk_column_sums *s = args;
    vf sum[COLUMN_VECTORS];
    for (int q = 0; q < vectors; q++) sum[q] = splat(0);
    for (long r = 0; r < s->rows; r++)
        for (int q = 0; q < vectors; q++) sum[q] += load_n(s->m + r * s->stride + j0 + q * AEF_WIDTH, COLUMN_LANES(q));
    for (int q = 0; q < vectors; q++) {
        long j = j0 + q * AEF_WIDTH, n = COLUMN_LANES(q);
        store_n(s->sums + j, load_n(s->sums + j, n) + sum[q], n);
    }
}
#undef COLUMN_LANES

/* Runs `block` (inlined) over columns first..<end, COLUMN_VECTORS whole registers at a time, then
 * the one to COLUMN_VECTORS registers left, the last of them partial where the count ends there. */
INLINE void for_each_column_block(long first, long end, const void *args,
                                  void (*block)(int vectors, long j0, long lanes, const void *args)) {
    long j0 = first;
    for (; j0 + COLUMN_VECTORS * AEF_WIDTH <= end; j0 += COLUMN_VECTORS * AEF_WIDTH) block(COLUMN_VECTORS, j0, AEF_WIDTH, args);
    long left = end - j0, vectors = (left + AEF_WIDTH - 1) / AEF_WIDTH, lanes = left - (vectors - 1) * AEF_WIDTH;
    switch (vectors) {
    case 1: block(1, j0, lanes, args); break;
    case 2: block(2, j0, lanes, args); break;
    case 3: block(3, j0, lanes, args); break;
    case 4: block(4, j0, lanes, args); break;
    default: break; /* none left */
    }
}

static void AEF_NAME(column_sums)(const aefk_column_sums *s) { for_each_column_block(s->first, s->end, s, column_sums_block); }

static void AEF_NAME(batch_norm_forward)(const aefk_batch_norm *b) { for_each_column_block(b->first, b->end, b, norm_forward_block); }

static void AEF_NAME(batch_norm_backward)(const aefk_batch_norm *b) { for_each_column_block(b->first, b->end, b, norm_backward_block); }

/* ---- Adam ----------------------------------------------------------------------------------- */

INLINE vf adam_values(const aefk_adam *a, long i, long n, float *p, const float *g, float *m, float *v) {
    vf gi = load_n(g + i, n);
    vf mi = a->beta1 * load_n(m + i, n) + (1.0f - a->beta1) * gi;
    vf vi = a->beta2 * load_n(v + i, n) + (1.0f - a->beta2) * gi * gi;
    store_n(m + i, mi, n);
    store_n(v + i, vi, n);
    return load_n(p + i, n) - a->step_size * mi / (__builtin_elementwise_sqrt(vi) / a->correction2 + a->epsilon);
}

static void AEF_NAME(adam_step)(const aefk_adam *a, long count, float *p, const float *g, float *m, float *v) {
    long i = 0;
    for (; i + AEF_WIDTH <= count; i += AEF_WIDTH) store(p + i, adam_values(a, i, AEF_WIDTH, p, g, m, v));
    if (i < count) store_part(p + i, adam_values(a, i, count - i, p, g, m, v), count - i);
}

/* ---- Dense inference ------------------------------------------------------------------------ */

#define DENSE_PANEL 16                    /* units per packed panel (aefk_dense_pack) */
#define DENSE_VECTORS (DENSE_PANEL / AEF_WIDTH) /* registers per panel row */

/* Input k's products added to the sums of rows r0..<r0+rb times panels p0..<p0+pb (rb, pb
 * constants once inlined; rb·pb at most AEF_DENSE_ROWS·AEF_DENSE_PANELS): each weight register
 * loaded once for all rb rows. */
INLINE void dense_accumulate(const int rb, const int pb, vf *sum, const aefk_dense *d, long r0, long p0, long k) {
    const float *w = d->packed + p0 * DENSE_PANEL * d->inputs, *x = d->x + r0 * d->x_stride;
    vf weights[AEF_DENSE_ROWS * AEF_DENSE_PANELS * DENSE_VECTORS];
    for (int p = 0; p < pb; p++)
        for (int v = 0; v < DENSE_VECTORS; v++) weights[p * DENSE_VECTORS + v] = load(w + (p * d->inputs + k) * DENSE_PANEL + v * AEF_WIDTH);
    for (int r = 0; r < rb; r++) {
        vf a = splat(x[r * d->x_stride + k]);
        for (int i = 0; i < pb * DENSE_VECTORS; i++) sum[r * pb * DENSE_VECTORS + i] += a * weights[i];
    }
}

/* The finished sums out: scale, shift and activation on the way. */
INLINE void dense_store(const int rb, const int pb, const vf *sum, const aefk_dense *d, long r0, long p0) {
    for (int p = 0; p < pb; p++) {
        for (int v = 0; v < DENSE_VECTORS; v++) {
            long u = (p0 + p) * DENSE_PANEL + v * AEF_WIDTH, n = d->end_unit - u < AEF_WIDTH ? d->end_unit - u : AEF_WIDTH;
            if (n <= 0) continue;
            vf scale = d->scale ? load_n(d->scale + u, n) : splat(1), shift = load_n(d->shift + u, n);
            for (int r = 0; r < rb; r++) {
                vf value = sum[(r * pb + p) * DENSE_VECTORS + v];
                store_n(d->y + (r0 + r) * d->y_stride + u, activate(d->activation, (d->scale ? value * scale : value) + shift), n);
            }
        }
    }
}

/* Rows r0..<r0+rb times panels p0..<p0+pb: every sum in a register over the inputs listed in
 * `nonzero` (`count` of them, in order), or over all of them (count = inputs) when it is NULL. */
INLINE void dense_block(const int rb, const int pb, const aefk_dense *d, long r0, long p0, const unsigned short *nonzero,
                        long count) {
    vf sum[AEF_DENSE_ROWS * AEF_DENSE_PANELS * DENSE_VECTORS];
    for (int i = 0; i < rb * pb * DENSE_VECTORS; i++) sum[i] = splat(0);
    for (long i = 0; i < count; i++) dense_accumulate(rb, pb, sum, d, r0, p0, nonzero ? nonzero[i] : i);
    dense_store(rb, pb, sum, d, r0, p0);
}

/* One row across panels first..<end, in blocks as wide as the registers allow, then narrower
 * (one panel's sums alone would wait on the multiply-add latency); inputs as dense_block's. */
INLINE void dense_row(const aefk_dense *d, long r, long first, long end, const unsigned short *nonzero, long count) {
    enum { WIDE = AEF_DENSE_ROWS * AEF_DENSE_PANELS, FOUR = WIDE >= 4 ? 4 : 1 /* never more sums than WIDE's */ };
    long p = first;
    for (; p + WIDE <= end; p += WIDE) dense_block(1, WIDE, d, r, p, nonzero, count);
    for (; p + FOUR <= end; p += FOUR) dense_block(1, FOUR, d, r, p, nonzero, count);
    for (; p + 2 <= end; p += 2) dense_block(1, 2, d, r, p, nonzero, count);
    for (; p < end; p++) dense_block(1, 1, d, r, p, nonzero, count);
}

/* How many of x[0..<n] are ±0. */
INLINE long zero_count(const float *x, long n) {
    vi zeros = (vi)0;
    long k = 0;
    for (; k + AEF_WIDTH <= n; k += AEF_WIDTH) zeros -= load(x + k) == splat(0); /* true is -1 */
    long count = __builtin_reduce_add(zeros);
    for (; k < n; k++) count += x[k] == 0;
    return count;
}

#define DENSE_LISTED_INPUTS 4096 /* the most inputs a row's list of its nonzero ones covers */

/* Panels go by AEF_DENSE_PANELS over chunks of rows whose inputs stay in cache while the panels
 * pass; the panels left over one at a time. Rows left over (a batch of one among them) go one at
 * a time (dense_row), over their nonzero inputs only when at least a quarter are 0: a batch of
 * one reads the weights once, so skipping a zero input's weights is the saving (Fashion-MNIST's
 * pixels are half zeros; so is what a ReLU passes on). The sums are the same bits: they start at
 * +0, and x·w + s is s for x = ±0 and a finite w. The list is made without branches. */
static void AEF_NAME(dense_forward)(const aefk_dense *d) {
    enum { ROWS = AEF_DENSE_ROWS, PANELS = AEF_DENSE_PANELS, CHUNK = 2 * AEF_DENSE_ROWS };
    long first = d->first_unit / DENSE_PANEL, end = (d->end_unit + DENSE_PANEL - 1) / DENSE_PANEL;
    long whole = d->rows - d->rows % ROWS;
    for (long c0 = 0; c0 < whole; c0 += CHUNK) {
        long c1 = c0 + CHUNK < whole ? c0 + CHUNK : whole, p = first;
        for (; p + PANELS <= end; p += PANELS)
            for (long r0 = c0; r0 < c1; r0 += ROWS) dense_block(ROWS, PANELS, d, r0, p, NULL, d->inputs);
        for (; p < end; p++)
            for (long r0 = c0; r0 < c1; r0 += ROWS) dense_block(ROWS, 1, d, r0, p, NULL, d->inputs);
    }
    for (long r = whole; r < d->rows; r++) {
        const float *x = d->x + r * d->x_stride;
        if (d->inputs > DENSE_LISTED_INPUTS || 4 * zero_count(x, d->inputs) < d->inputs) {
            dense_row(d, r, first, end, NULL, d->inputs);
            continue;
        }
        unsigned short nonzero[DENSE_LISTED_INPUTS];
        long count = 0;
        for (long k = 0; k < d->inputs; k++) {
            nonzero[count] = (unsigned short)k;
            count += x[k] != 0;
        }
        dense_row(d, r, first, end, nonzero, count);
    }
}

/* ---- Sums of outer products ------------------------------------------------------------------ */

#define OUTER_CHUNK 256 /* rows summed from zero before they join c */

/* c[i0..<i0+rb, j0 + `vectors` registers (the last `lanes` wide)] += the sums over rows r0..<r1:
 * rb·vectors sums in registers, a row of b loaded once per row and a's values broadcast. */
INLINE void outer_block(const int rb, const int vectors, long r0, long r1, long i0, long j0, long lanes,
                        const aefk_outer_product_sums *s) {
    vf sum[AEF_OUTER_ROWS][2];
    for (int q = 0; q < rb; q++) for (int v = 0; v < vectors; v++) sum[q][v] = splat(0);
    for (long r = r0; r < r1; r++) {
        const float *a = s->a + r * s->a_stride + i0, *b = s->b + r * s->b_stride + j0;
        vf row[2];
        for (int v = 0; v < vectors; v++) row[v] = load_n(b + v * AEF_WIDTH, v == vectors - 1 ? lanes : AEF_WIDTH);
#pragma clang loop unroll(full) /* clang -O2 stops unrolling short of AVX-512's 12 rows: sums spill */
        for (int q = 0; q < rb; q++) {
            vf value = splat(a[q]);
            for (int v = 0; v < vectors; v++) sum[q][v] += value * row[v];
        }
    }
    for (int q = 0; q < rb; q++) for (int v = 0; v < vectors; v++) {
        float *c = s->c + (i0 + q) * s->c_stride + j0 + v * AEF_WIDTH;
        long n = v == vectors - 1 ? lanes : AEF_WIDTH;
        store_n(c, load_n(c, n) + sum[q][v], n);
    }
}

/* c's rows first..<end for one chunk of rows and `vectors` registers of columns: whole blocks of
 * AEF_OUTER_ROWS rows, then of 4, then single rows. */
INLINE void outer_rows(const int vectors, long r0, long r1, long j0, long lanes, const aefk_outer_product_sums *s) {
    long i = s->first;
    for (; i + AEF_OUTER_ROWS <= s->end; i += AEF_OUTER_ROWS) outer_block(AEF_OUTER_ROWS, vectors, r0, r1, i, j0, lanes, s);
    for (; i + 4 <= s->end; i += 4) outer_block(4, vectors, r0, r1, i, j0, lanes, s);
    for (; i < s->end; i++) outer_block(1, vectors, r0, r1, i, j0, lanes, s);
}

/* Chunk by chunk, so a chunk of a and b (256 rows) stays in cache while every block reads it. */
static void AEF_NAME(outer_product_sums)(const aefk_outer_product_sums *s) {
    for (long r0 = 0; r0 < s->rows; r0 += OUTER_CHUNK) {
        long r1 = r0 + OUTER_CHUNK < s->rows ? r0 + OUTER_CHUNK : s->rows;
        for (long j0 = 0; j0 < s->columns; j0 += 2 * AEF_WIDTH) {
            long left = s->columns - j0;
            if (left > AEF_WIDTH) outer_rows(2, r0, r1, j0, left < 2 * AEF_WIDTH ? left - AEF_WIDTH : AEF_WIDTH, s);
            else outer_rows(1, r0, r1, j0, left, s);
        }
    }
}

/* ---- LSTM step ------------------------------------------------------------------------------ */

#define PACK 16 /* units per packed block (aefk_lstm_pack) */

/* sum[r][c][g] += Σ_k v[(r0 + r) · stride + k] · M[g·units + j0 + c·AEF_WIDTH + lane, k] over
 * k < inputs (k from last to first when `descending`), M packed. */
INLINE void lstm_add_products(const int rb, const int vectors, vf sum[][2][4], long r0, long j0, long inputs,
                              const float *v, long stride, const float *packed, int descending) {
    const float *p[2];
    for (int c = 0; c < vectors; c++) {
        long j = j0 + c * AEF_WIDTH;
        p[c] = packed + (j / PACK) * inputs * 4 * PACK + j % PACK;
    }
    long step = descending ? -1 : 1;
    for (long i = 0, k = descending ? inputs - 1 : 0; i < inputs; i++, k += step) {
        for (int r = 0; r < rb; r++) {
            vf value = splat(v[(r0 + r) * stride + k]);
            for (int c = 0; c < vectors; c++) {
                for (int g = 0; g < 4; g++) sum[r][c][g] += value * load(p[c] + k * 4 * PACK + g * PACK);
            }
        }
    }
}

/* Rows r0..<r0+rb for `vectors` vectors of units from j0 (the last one `lanes` wide; rb and
 * vectors constants once inlined): the four gates' input and recurrent sums in registers, then
 * the cell update, all before the next block. Every sum runs over k in the same order whatever
 * the block, so a row's result does not depend on the rows beside it. */
INLINE void lstm_forward_block(const int rb, const int vectors, long r0, long j0, long lanes, const aefk_lstm_step *s) {
    long units = s->units;
    /* what row r's pre-activations start from: start + r·start_stride (aefk_lstm_step) */
    const float *start = s->bias ? s->bias : s->gates;
    long start_stride = s->bias ? s->bias_stride : 4 * units;
    vf sum[AEF_ROWS][2][4];
    if (s->input_products) {
        for (int r = 0; r < rb; r++) for (int c = 0; c < vectors; c++) for (int g = 0; g < 4; g++) {
            long j = j0 + c * AEF_WIDTH;
            sum[r][c][g] = load_n(s->input_products + (r0 + r) * s->input_products_stride + g * units + j, c == vectors - 1 ? lanes : AEF_WIDTH);
        }
    } else {
        for (int r = 0; r < rb; r++) for (int c = 0; c < vectors; c++) for (int g = 0; g < 4; g++) sum[r][c][g] = splat(0);
        if (s->packed_input) lstm_add_products(rb, vectors, sum, r0, j0, s->features, s->x, s->x_stride, s->packed_input, 0);
    }
    if (s->h_prev) lstm_add_products(rb, vectors, sum, r0, j0, units, s->h_prev, units, s->packed_recurrent, s->descending);
    /* Both stages' transcendentals for all rb rows and vectors at once: i, f and 2·candidate
     * (tanh z = 2σ(2z) − 1), then o and 2·c_t (each exp is a chain of dependent operations; one
     * batch per stage overlaps them all). Entry q = r·vectors + c. */
    vf previous[2 * AEF_ROWS], first[6 * AEF_ROWS], second[4 * AEF_ROWS], pi[2], po[2], pf[2];
    long column[2], width[2]; /* vector c: its first unit and how many lanes it holds */
    for (int c = 0; c < vectors; c++) {
        long j = column[c] = j0 + c * AEF_WIDTH, n = width[c] = c == vectors - 1 ? lanes : AEF_WIDTH;
        const float *peephole = s->peephole;
        pi[c] = peephole ? load_n(peephole + j, n) : splat(0);
        po[c] = peephole ? load_n(peephole + units + j, n) : splat(0);
        pf[c] = peephole ? load_n(peephole + 2 * units + j, n) : splat(0);
    }
    for (int r = 0; r < rb; r++) for (int c = 0; c < vectors; c++) {
        int q = r * vectors + c;
        long j = column[c], n = width[c];
        const float *a = start + (r0 + r) * start_stride + j;
        previous[q] = load_n(s->c_prev + (r0 + r) * units + j, n);
        first[3 * q] = sum[r][c][0] + load_n(a, n) + pi[c] * previous[q];
        first[3 * q + 1] = sum[r][c][2] + load_n(a + 2 * units, n) + pf[c] * previous[q];
        first[3 * q + 2] = 2.0f * (sum[r][c][3] + load_n(a + 3 * units, n));
    }
    vsigmoid_n(3 * rb * vectors, first);
    for (int r = 0; r < rb; r++) for (int c = 0; c < vectors; c++) {
        int q = r * vectors + c;
        long j = column[c], n = width[c];
        vf i = first[3 * q], f = first[3 * q + 1], candidate = 2.0f * first[3 * q + 2] - 1.0f;
        vf cell = f * previous[q] + i * candidate;
        second[2 * q] = sum[r][c][1] + load_n(start + (r0 + r) * start_stride + j + units, n) + po[c] * cell;
        second[2 * q + 1] = 2.0f * cell;
        if (s->gates) {
            float *a = s->gates + (r0 + r) * 4 * units + j;
            store_n(a, i, n);
            store_n(a + 2 * units, f, n);
            store_n(a + 3 * units, candidate, n);
        }
        store_n(s->cells + (r0 + r) * units + j, cell, n);
    }
    vsigmoid_n(2 * rb * vectors, second);
    for (int r = 0; r < rb; r++) for (int c = 0; c < vectors; c++) {
        int q = r * vectors + c;
        long j = column[c], n = width[c];
        vf o = second[2 * q];
        if (s->gates) store_n(s->gates + (r0 + r) * 4 * units + j + units, o, n);
        store_n(s->hidden + (r0 + r) * units + j, o * (2.0f * second[2 * q + 1] - 1.0f), n);
    }
}

/* The x·Wᵀ sums of lstm_forward_block for its rows and units, stored instead of used. */
INLINE void lstm_input_block(const int rb, const int vectors, long r0, long j0, long lanes, const aefk_lstm_step *s) {
    vf sum[AEF_ROWS][2][4];
    for (int r = 0; r < rb; r++) for (int c = 0; c < vectors; c++) for (int g = 0; g < 4; g++) sum[r][c][g] = splat(0);
    lstm_add_products(rb, vectors, sum, r0, j0, s->features, s->x, s->x_stride, s->packed_input, 0);
    for (int r = 0; r < rb; r++) for (int c = 0; c < vectors; c++) for (int g = 0; g < 4; g++) {
        float *out = s->input_products + (r0 + r) * s->input_products_stride + g * s->units + j0 + c * AEF_WIDTH;
        store_n(out, sum[r][c][g], c == vectors - 1 ? lanes : AEF_WIDTH);
    }
}

/* Runs `block` (lstm_forward_block or lstm_input_block, inlined) over all rows and units: whole
 * register blocks of AEF_ROWS rows, then the rows left over (a batch of one among them) one at a
 * time, two vectors of units per block (one vector's four sums alone would wait on the
 * multiply-add latency), the blocks last to first when `descending`: a row alone reads all of R
 * once per step, and so ends where the next step starts. */
INLINE void lstm_for_each_block(const aefk_lstm_step *s,
                                void (*block)(int rb, int vectors, long r0, long j0, long lanes, const aefk_lstm_step *s)) {
    long units = s->units, whole = s->rows - s->rows % AEF_ROWS;
    for (long j0 = 0; j0 < units; j0 += AEF_WIDTH) {
        long lanes = units - j0 < AEF_WIDTH ? units - j0 : AEF_WIDTH;
        for (long r0 = 0; r0 < whole; r0 += AEF_ROWS) block(AEF_ROWS, 1, r0, j0, lanes, s);
    }
    long pairs = units / (2 * AEF_WIDTH), rest = pairs * 2 * AEF_WIDTH;
    long blocks = pairs + (units - rest + AEF_WIDTH - 1) / AEF_WIDTH;
    for (long r0 = whole; r0 < s->rows; r0++) {
        for (long i = 0; i < blocks; i++) {
            long b = s->descending ? blocks - 1 - i : i, j0 = rest + (b - pairs) * AEF_WIDTH;
            if (b < pairs) block(1, 2, r0, b * 2 * AEF_WIDTH, AEF_WIDTH, s);
            else block(1, 1, r0, j0, units - j0 < AEF_WIDTH ? units - j0 : AEF_WIDTH, s);
        }
    }
}

static void AEF_NAME(lstm_step_forward)(const aefk_lstm_step *s) { lstm_for_each_block(s, lstm_forward_block); }

static void AEF_NAME(lstm_input_products)(const aefk_lstm_step *s) { lstm_for_each_block(s, lstm_input_block); }

/* d_hidden_next[r0..<r0+rb, j0..<j0+2W] = d_gates · R, summed over the 4H gate values in registers. */
INLINE void lstm_recurrent_gradient_block(const int rb, const int vectors, long r0, long j0, long units,
                                          const float *r, const float *d_gates, float *dh_next) {
    vf sum[AEF_BACKWARD_ROWS][2];
    for (int q = 0; q < rb; q++) for (int v = 0; v < vectors; v++) sum[q][v] = splat(0);
    for (long m = 0; m < 4 * units; m++) {
        const float *w = r + m * units + j0;
        for (int q = 0; q < rb; q++) {
            vf g = splat(d_gates[(r0 + q) * 4 * units + m]);
            for (int v = 0; v < vectors; v++) sum[q][v] += g * load(w + v * AEF_WIDTH);
        }
    }
    for (int q = 0; q < rb; q++) for (int v = 0; v < vectors; v++) store(dh_next + (r0 + q) * units + j0 + v * AEF_WIDTH, sum[q][v]);
}

/* All rows for `vectors` registers of units from j0: whole blocks of AEF_BACKWARD_ROWS, then the
 * rest as one block (a chunk of 16 rows leaves 4 on AVX-512: four single rows would each stream R
 * again for two multiply-adds per load). */
INLINE void lstm_recurrent_gradient_rows(const int vectors, long rows, long j0, long units, const float *r,
                                         const float *d_gates, float *dh_next) {
    long r0 = 0;
    for (; r0 + AEF_BACKWARD_ROWS <= rows; r0 += AEF_BACKWARD_ROWS)
        lstm_recurrent_gradient_block(AEF_BACKWARD_ROWS, vectors, r0, j0, units, r, d_gates, dh_next);
    switch (rows - r0) {
#if AEF_BACKWARD_ROWS > 5
    case 5: lstm_recurrent_gradient_block(5, vectors, r0, j0, units, r, d_gates, dh_next); break;
#endif
#if AEF_BACKWARD_ROWS > 4
    case 4: lstm_recurrent_gradient_block(4, vectors, r0, j0, units, r, d_gates, dh_next); break;
#endif
    case 3: lstm_recurrent_gradient_block(3, vectors, r0, j0, units, r, d_gates, dh_next); break;
    case 2: lstm_recurrent_gradient_block(2, vectors, r0, j0, units, r, d_gates, dh_next); break;
    case 1: lstm_recurrent_gradient_block(1, vectors, r0, j0, units, r, d_gates, dh_next); break;
    default: break; /* none left */
    }
}

static void AEF_NAME(lstm_step_backward)(long rows, long units, const float *r, const float *peephole,
                                         const float *gates, const float *cells, const float *c_prev,
                                         const float *d_hidden, float *dh_next, float *dc_next, float *d_gates) {
    /* The gate gradients of every row first: the product below needs whole rows of them. */
    for (long q = 0; q < rows; q++) {
        const float *a = gates + q * 4 * units;
        float *da = d_gates + q * 4 * units;
        for (long j0 = 0; j0 < units; j0 += AEF_WIDTH) {
            long lanes = units - j0 < AEF_WIDTH ? units - j0 : AEF_WIDTH, state = q * units + j0;
            vf i = load_n(a + j0, lanes), o = load_n(a + units + j0, lanes);
            vf f = load_n(a + 2 * units + j0, lanes), candidate = load_n(a + 3 * units + j0, lanes);
            vf tc = vtanh(load_n(cells + state, lanes));
            vf dh = load_n(d_hidden + state, lanes) + load_n(dh_next + state, lanes);
            vf d_output = dh * tc * o * (1.0f - o);
            vf dc = dh * o * (1.0f - tc * tc) + load_n(dc_next + state, lanes);
            if (peephole) dc += d_output * load_n(peephole + units + j0, lanes); /* c_t also reaches o */
            vf d_input = dc * candidate * i * (1.0f - i);
            vf d_forget = dc * load_n(c_prev + state, lanes) * f * (1.0f - f);
            store_n(da + j0, d_input, lanes);
            store_n(da + units + j0, d_output, lanes);
            store_n(da + 2 * units + j0, d_forget, lanes);
            store_n(da + 3 * units + j0, dc * i * (1.0f - candidate * candidate), lanes);
            vf carry = dc * f;
            if (peephole) carry += d_input * load_n(peephole + j0, lanes) + d_forget * load_n(peephole + 2 * units + j0, lanes);
            store_n(dc_next + state, carry, lanes);
        }
    }
    /* dh_next = d_gates · R */
    long j0 = 0;
    for (; j0 + 2 * AEF_WIDTH <= units; j0 += 2 * AEF_WIDTH) lstm_recurrent_gradient_rows(2, rows, j0, units, r, d_gates, dh_next);
    for (; j0 + AEF_WIDTH <= units; j0 += AEF_WIDTH) lstm_recurrent_gradient_rows(1, rows, j0, units, r, d_gates, dh_next);
    for (long q = 0; q < rows; q++) {
        for (long j = j0; j < units; j++) {
            float sum = 0;
            for (long m = 0; m < 4 * units; m++) sum += d_gates[q * 4 * units + m] * r[m * units + j];
            dh_next[q * units + j] = sum;
        }
    }
}

const aefk_table AEF_NAME(aefk_table) = {
    .isa = AEF_ISA_ID,
    .name = AEF_ISA_NAME,
    .conv_forward = AEF_NAME(conv_forward),
    .conv_input_gradient = AEF_NAME(conv_input_gradient),
    .conv_weight_gradient = AEF_NAME(conv_weight_gradient),
    .max_pool_forward = AEF_NAME(max_pool_forward),
    .activation_forward = AEF_NAME(activation_forward),
    .activation_backward = AEF_NAME(activation_backward),
    .loss_errors = AEF_NAME(loss_errors),
    .loss_gradient = AEF_NAME(loss_gradient),
    .column_sums = AEF_NAME(column_sums),
    .outer_product_sums = AEF_NAME(outer_product_sums),
    .batch_norm_forward = AEF_NAME(batch_norm_forward),
    .batch_norm_backward = AEF_NAME(batch_norm_backward),
    .adam_step = AEF_NAME(adam_step),
    .dense_forward = AEF_NAME(dense_forward),
    .lstm_step_forward = AEF_NAME(lstm_step_forward),
    .lstm_input_products = AEF_NAME(lstm_input_products),
    .lstm_step_backward = AEF_NAME(lstm_step_backward),
};
