/* aefk_kernels.h — the innermost loops of aefeatures, built once per x86-64 instruction set and
 * chosen once per process by the CPU's features (cpuid). Internal to the library: the Swift engine
 * keeps the layer logic, shapes, threads and memory and calls these for the arithmetic.
 *
 * Instruction sets: baseline (SSE2, every x86-64), AVX2 with FMA, AVX-512F. The first use picks the
 * widest the CPU has, unless the environment variable AEF_FORCE_ISA names another one the CPU has
 * ("baseline", "avx2" or "avx512"); an unknown name or one the CPU lacks is ignored.
 *
 * Accuracy: every variant computes the same sums in the same order per output value, with fused
 * multiply-adds where the instruction set has them and the engine's polynomial exp (relative error
 * below 2e-7). Variants therefore differ from each other and from the naive reference by float32
 * rounding only: |a - b| <= 1e-5 * max(1, |reference|) per value for the inputs the tests use
 * (values of order one, sums of at most a few thousand products). A variant's result for a sample
 * never depends on the other samples of the call or on where the caller's ranges split the batch.
 *
 * Memory: every pointer is caller-owned; nothing is allocated. All counts are in floats or
 * elements, never bytes. Thread-safety: every kernel may run on many threads at once on disjoint
 * outputs; aefk_kernels() is safe to call from any thread.
 */
#ifndef AEF_KERNELS_H
#define AEF_KERNELS_H

typedef enum { AEFK_ISA_BASELINE = 0, AEFK_ISA_AVX2 = 1, AEFK_ISA_AVX512 = 2 } aefk_isa;

/* A convolution over channels-last samples [height, width, channels], as ConvGeometry has it. */
typedef struct {
    long input_height, input_width, channels;
    long kernel_height, kernel_width;
    long stride_height, stride_width, dilation_height, dilation_width;
    long pad_top, pad_left;
    long output_height, output_width;
} aefk_conv_shape;

/* Activation functions, in ActivationFunction's order (ELU's alpha 1, leaky ReLU's slope 0.01). */
typedef enum {
    AEFK_ACTIVATION_IDENTITY = 0, AEFK_ACTIVATION_RELU = 1, AEFK_ACTIVATION_LEAKY_RELU = 2,
    AEFK_ACTIVATION_ELU = 3, AEFK_ACTIVATION_SIGMOID = 4, AEFK_ACTIVATION_TANH = 5
} aefk_activation;

/* Floats aefk_lstm_pack writes for a [4·units, inputs] matrix. */
long aefk_lstm_packed_count(long units, long inputs);

/* Packs an LSTM weight matrix [4·units, inputs] (R: inputs = units; W: inputs = features; gate
 * blocks i, o, f, c; row-major) for lstm_step_forward: blocks of 16 units, then k, then gate, then
 * the 16 units (zero past `units`). Not dispatched: one layout. */
void aefk_lstm_pack(const float *weights, long units, long inputs, float *packed);

/* Floats aefk_dense_pack writes for a weight matrix of `units` rows of `inputs`. */
long aefk_dense_packed_count(long units, long inputs);

/* Packs a dense layer's weights W [units, inputs], W[u, k] = weights[u·unit_stride + k·input_stride]
 * (a layer's own [units, inputs]: inputs and 1; a tied layer's [inputs, units]: 1 and units), for
 * dense_forward: panels of 16 units, then k, then the 16 units (zero past `units`). Not
 * dispatched: one layout. */
void aefk_dense_pack(const float *weights, long unit_stride, long input_stride, long units, long inputs, float *packed);

/* A dense layer's inference with what follows it folded in, for units first_unit..<end_unit
 * (first_unit a multiple of 16) of `rows` rows: y[r, u] = f(Σ_k x[r, k]·W[u, k] · scale[u] + shift[u]). */
typedef struct {
    long rows, inputs;
    const float *x;            /* row r at x + r·x_stride */
    long x_stride;
    const float *packed;       /* W packed by aefk_dense_pack */
    const float *scale;        /* [units], or NULL for 1 */
    const float *shift;        /* [units]: the bias, or the normalization's folded shift */
    aefk_activation activation;
    long first_unit, end_unit;
    float *y;                  /* row r at y + r·y_stride, unit u at its [u] */
    long y_stride;
} aefk_dense;

/* Reconstruction losses, in LossFunction's order. */
typedef enum { AEFK_LOSS_MSE = 0, AEFK_LOSS_BCE = 1 } aefk_loss;

/* Adam's constants for one step t: step_size = lr / (1 − β1^t), correction2 = √(1 − β2^t). */
typedef struct {
    float beta1, beta2, epsilon, step_size, correction2;
} aefk_adam;

/* One LSTM step for `rows` samples (H = units; gates, states and h_prev row-major, contiguous
 * rows). What row r's pre-activations start from, [4H]: bias + r·bias_stride when bias is given
 * (stride 0: one bias for every row), else gates' row on entry. That is x·Wᵀ + b when
 * packed_input is NULL, b alone when it is given (then x·Wᵀ is summed here, from row r at
 * x + r·x_stride, `features` values, or taken from input_products when that is given). gates
 * may be NULL with bias given (inference: the activated gates are not kept). */
typedef struct {
    long rows, units;
    const float *x;               /* read only with packed_input */
    long x_stride, features;
    const float *packed_input;    /* W packed by aefk_lstm_pack, or NULL */
    const float *h_prev;          /* [rows, H], or NULL: no h·Rᵀ terms (the start holds them) */
    const float *packed_recurrent; /* R packed by aefk_lstm_pack */
    const float *peephole;        /* [3H] (i, o, f) or NULL */
    const float *c_prev;          /* [rows, H] */
    float *gates, *cells, *hidden; /* [rows, 4H] (or NULL, see above), [rows, H], [rows, H] */
    float *input_products;        /* NULL, or the rows' x·Wᵀ [4H] as lstm_input_products left them, */
    long input_products_stride;   /* row r at input_products + r·input_products_stride */
    const float *bias;            /* NULL, or what the pre-activations start from (see above) */
    long bias_stride;
    /* 0: the h·Rᵀ sums run over h's values first to last; 1: last to first, and a row computed
     * alone takes its blocks of units last to first too. A recurrence alternates it step by step,
     * so a step reads packed R in the reverse order of the step before, and starts on what that
     * step left in L1 (R is 64 KB at H = 64, twice an L1). The sums' order, so the bits, depend
     * on it, but never on `rows` or the rows beside a row. */
    int descending;
} aefk_lstm_step;

/* Column sums of a row-major matrix (bias gradients): sums[j] += Σ_r m[r·stride + j] for columns
 * first..<end, each column's rows summed in order from zero, then added to sums[j]. */
typedef struct {
    long rows, stride, first, end;
    const float *m;
    float *sums;
} aefk_column_sums;

/* Sums of outer products over many rows (weight gradients: dy's and x's rows over every step of
 * a sequence): c[i, j] += Σ_r a[r, i]·b[r, j] for i in first..<end and j < columns. The rows go
 * in chunks of 256, each summed in order from zero and then added to c, so a value does not
 * depend on first and end or on the register blocks; chunking also bounds the rounding error of
 * a long sum (about 256 + rows/256 roundings, not rows). */
typedef struct {
    long rows, columns, first, end;
    const float *a;       /* row r's value i at a[r·a_stride + i] */
    long a_stride;
    const float *b;       /* row r's value j at b[r·b_stride + j] */
    long b_stride;
    float *c;             /* c[i·c_stride + j] */
    long c_stride;
} aefk_outer_product_sums;

/* Batch normalization's training passes (BatchNorm) over channels first..<end of `rows` rows of
 * `channels` values, row r's channel j at [r·channels + j]. Each channel's sums run over the rows
 * in order: its results do not depend on how the caller splits the channels. */
typedef struct {
    long rows, channels, first, end;
    const float *gamma, *beta;             /* [channels] */
    float *xhat;                           /* [rows, channels]: (x − mean)·inv_std; forward writes, backward reads */
    float *inv_std;                        /* [channels]: 1/√(variance + ε); forward writes, backward reads */
    const float *x;                        /* forward: the input */
    float *y;                              /* forward: γ·xhat + β */
    float *running_mean, *running_variance; /* forward: moved by `momentum` towards the batch's (unbiased variance) */
    float momentum, epsilon;
    const float *dy;                       /* backward: the output's gradient */
    float *dx;                             /* backward: the input's gradient (overwritten), or NULL */
    float *gamma_gradient, *beta_gradient; /* backward: Σ dy·xhat and Σ dy added in */
} aefk_batch_norm;

typedef struct {
    aefk_isa isa;
    const char *name;    /* "baseline", "avx2", "avx512" */

    /* Direct convolution of output rows first_row..<first_row+rows over the batch (row r is
     * sample r / output_height's row r % output_height; ConvGeometry.directForward):
     * y[b, o, :] = bias + Σ_k W_k · x[b, in(o, k), :]. weight is [filters, kh, kw, channels],
     * transposed the same values as [kh, kw, channels, filters]. A position's sums do not depend on
     * the rows around it, so a batch of one can be split over threads by rows. */
    void (*conv_forward)(const aefk_conv_shape *shape, const float *x, const float *weight, const float *transposed,
                         const float *bias, long filters, long first_row, long rows, float *y);
    /* dx[b] = Σ W_kᵀ · dy[b, o, :] for samples first..<first+count (their dx is overwritten). */
    void (*conv_input_gradient)(const aefk_conv_shape *shape, const float *dy, const float *weight, long filters,
                                long first, long count, float *dx);
    /* partial += Σ_{b, o, k} dy[b, o, :] ⊗ x[b, in(o, k), :] over samples first..<first+count, in the
     * layout [filters, kh, kw, channels] when `natural`, else [kh, kw, channels, filters]. */
    void (*conv_weight_gradient)(const aefk_conv_shape *shape, const float *x, const float *dy, long filters,
                                 long first, long count, int natural, float *partial);

    /* Max pooling of output rows first_row..<first_row+rows over the batch (as conv_forward; Pool2D):
     * y[b, o, c] = the window's largest value (padding never wins; the first of equal values does),
     * winners[b, o, c] = its offset within sample b's input, unless winners is NULL (inference).
     * The shape's kernel is the window; dilation is not used. */
    void (*max_pool_forward)(const aefk_conv_shape *shape, const float *x, long first_row, long rows, float *y,
                             unsigned *winners);

    /* y[i] = f(x[i]) for i < count (tanh as 2σ(2x) − 1: absolute error about 1e-7). */
    void (*activation_forward)(aefk_activation function, long count, const float *x, float *y);
    /* dx[i] = dy[i] · f′ written in terms of the output y[i], for i < count. */
    void (*activation_backward)(aefk_activation function, long count, const float *y, const float *dy, float *dx);

    /* Reconstruction errors: target[i] becomes the error of output[i] against it, (y − t)² for
     * MSE, the cross-entropy of the logit z = output[i], max(z, 0) − z·t + log(1 + e^−|z|), for BCE. */
    void (*loss_errors)(aefk_loss loss, long count, const float *output, float *target);
    /* gradient[i] = scale · dError/dOutput[i] (2(y − t), or σ(z) − t); returns Σ errors, summed
     * in float over each 1024 values and in double across them. */
    double (*loss_gradient)(aefk_loss loss, long count, const float *output, const float *target, float scale,
                            float *gradient);

    /* Column sums (aefk_column_sums), the columns' sums in registers over all rows. */
    void (*column_sums)(const aefk_column_sums *sums);
    /* Sums of outer products (aefk_outer_product_sums): a register block of c's rows and columns
     * over each chunk of rows, neither operand packed (a GEMM's packing dominates when both are
     * narrow and the rows many). */
    void (*outer_product_sums)(const aefk_outer_product_sums *sums);
    /* Batch normalization's training forward (aefk_batch_norm): the mean, the variance from the
     * centred squares (a second pass, for accuracy), then xhat, y and the running statistics. */
    void (*batch_norm_forward)(const aefk_batch_norm *norm);
    /* Its backward: dγ += Σ dy·xhat, dβ += Σ dy and, when dx is set,
     * dx = γ·inv_std/N · (N·dy − Σdy − xhat·Σ(dy·xhat)). */
    void (*batch_norm_backward)(const aefk_batch_norm *norm);

    /* Adam's step for count values (aefk_adam): m = β1·m + (1 − β1)·g, v = β2·v + (1 − β2)·g²,
     * p −= step_size · m / (√v / correction2 + ε). */
    void (*adam_step)(const aefk_adam *adam, long count, float *p, const float *g, float *m, float *v);

    /* A dense layer's inference (aefk_dense). Each value's sum runs over k in order from 0, one
     * multiply-add at a time, whatever the rows and units around it: a row's result does not
     * depend on its batch or on how the caller splits rows or units. A row computed alone skips
     * its zero inputs when a quarter or more are 0, which leaves the same bits for finite weights
     * (a sum starts at +0, and adding x·w for x = ±0 leaves it as it is). */
    void (*dense_forward)(const aefk_dense *dense);

    /* One LSTM step (aefk_lstm_step): z = [x·Wᵀ] + h_prev · Rᵀ summed in registers, plus the
     * start (bias or gates), then i, o, f = σ, c̃ = tanh, c = f ⊙ c_prev + i ⊙ c̃, h = o ⊙ tanh(c);
     * gates [rows, 4H], when given, leaves holding the activated i, o, f, c̃. With peepholes i, f
     * also see P ⊙ c_prev and o sees P ⊙ c. Per row the sums run in one order (the x terms, then
     * the h terms as `descending` says), whatever `rows`. */
    void (*lstm_step_forward)(const aefk_lstm_step *step);
    /* The x·Wᵀ sums of lstm_step_forward computed ahead, bit for bit the same, for step->rows rows
     * (x, x_stride, features, packed_input, units) into step->input_products: a step then reads
     * them instead of W, which a chunk of few samples would otherwise read whole per sample. */
    void (*lstm_input_products)(const aefk_lstm_step *step);
    /* The step's backward: from the activated gates, c, c_prev and dh = d_hidden + dh_next, writes
     * d_gates [rows, 4H] (pre-activation gradients), replaces dc_next with dc ⊙ f (+ peephole terms)
     * and dh_next with d_gates · R (R natural, [4H, H]). */
    void (*lstm_step_backward)(long rows, long units, const float *r, const float *peephole, const float *gates,
                               const float *cells, const float *c_prev, const float *d_hidden, float *dh_next,
                               float *dc_next, float *d_gates);
} aefk_table;

/* The table in use: chosen on the first call (cpuid and AEF_FORCE_ISA), the same ever after. */
const aefk_table *aefk_kernels(void);

/* The table of one instruction set, or NULL when this CPU cannot run it (tests run every one). */
const aefk_table *aefk_kernels_for(aefk_isa isa);

/* Asks the CPU to bring [address, address + bytes) into this core's caches ahead of reading it
 * (data another thread has just written sits in that thread's core until then). */
void aefk_prefetch(const void *address, long bytes);

/* The OpenBLAS core (an OPENBLAS_CORETYPE value) whose sgemm kernels use this CPU's widest vector
 * unit: "SkylakeX" with AVX-512 F, CD, BW, DQ and VL (what those kernels execute), "Haswell" with
 * AVX2 and FMA, NULL on older CPUs. OpenBLAS's own choice is the same class on the CPUs it knows;
 * on a CPU newer than the OpenBLAS it falls back to Prescott's SSE3 kernels (0.3.21 on Emerald
 * Rapids: sgemm 5.5x slower). bindings/python/aefeatures/_native.py restates this rule. */
const char *aefk_openblas_core_for_cpu(void);

#endif
