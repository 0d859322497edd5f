/*
 * aefeatures.h — the C API of libaefeatures: fit autoencoders, extract features, score anomalies.
 *
 * This header is the contract. Conventions that hold for every function unless its comment says
 * otherwise:
 *
 * Status.    Every function that can fail returns an aef_status. AEF_OK is 0; on any other
 *            value aef_last_error() gives a one-line message saying what was wrong. No function
 *            aborts, traps or throws across this boundary on bad input.
 * Data.      Samples are row-major float32: n_samples consecutive samples of sample_size values
 *            each (sample_size = the product of the spec's input_shape). Data must be finite:
 *            NaN or ±Inf anywhere is AEF_ERR_INVALID_ARGUMENT. Raw units go in and come out;
 *            the model's fitted scaling is applied inside.
 * Outputs.   Results go into caller-allocated buffers. Each such call takes the buffer's
 *            capacity in elements and fails with AEF_ERR_BUFFER_TOO_SMALL (writing nothing) if
 *            it is too small; aef_model_output_size() tells the size needed beforehand.
 * Ownership. The library never takes ownership of a caller's pointer and keeps none after the
 *            call returns. Handles it returns are owned by the caller and released with
 *            aef_model_free(). Strings it returns (aef_version, aef_last_error,
 *            aef_status_string) are owned by the library; do not free them.
 * NULL.      A NULL where a pointer is required is AEF_ERR_NULL_ARGUMENT. Pointers that may be
 *            NULL say so.
 * Threads.   Functions taking `const aef_model *` (inference, queries, save, export) may run on
 *            one model from any number of threads at once; each call uses its own workspace.
 *            aef_model_fit, aef_model_partial_fit and aef_model_calibrate_threshold mutate the
 *            model and need it alone:
 *            a fit started while inference, save or export runs on the model, and inference, save
 *            or export started while a fit runs (including from its progress callback), return
 *            AEF_ERR_BUSY at once without
 *            waiting and without touching the model (aef_model_is_fitted, _threshold and _history
 *            too). Size and spec queries never conflict.
 *            Different models are independent. aef_last_error is per thread.
 * Batches.   A row's results depend on the other rows of the call only through float32 rounding:
 *            OpenBLAS picks kernels and blocking by each call's shape and by the CPU, and some of
 *            its kernels (Haswell's and Zen's in 0.3.21) round a row differently by its position
 *            in the call. So the same row in another batch (another size, position or Spark
 *            partition) may differ in its last bits, within this bound, for data the model's
 *            scaling brings to order one (as minmax and standard scaling do to data like the
 *            training data; with scaling "none" the bound grows with the inputs' magnitude):
 *              features and reconstructions: |a - b| <= 1e-5 * max(1, the row's largest |a_j|);
 *              scores s:                     |a - b| <= 1e-5 * (s + sqrt(s)).
 *            Labels can therefore differ only for rows whose score is that close to the threshold.
 *            The same rows in the same call with the same thread count on the same machine give
 *            identical bits. Models of Dense layers only (the dense, denoising, sparse,
 *            contractive, variational and adversarial variants: no convolution, no recurrence)
 *            infer by the library's own kernels alone, whose sums run in one order per row: there
 *            a row's features, reconstruction and reconstruction or standardized score have the
 *            same bits in any batch on the same machine (a combined score keeps the bound: it
 *            ranks training codes by a GEMM). For other models bit-exact batch invariance is not
 *            offered: it would mean one row per GEMM call (README, "Numerical contract").
 * Machines.  Training is reproducible bit for bit on one machine kind: the same seed, thread
 *            count, OpenBLAS build and core, vector-kernel build (all three in aef_blas_info) and
 *            library version give identical weights and model bytes. Another CPU kind (or kernel
 *            build, AEF_FORCE_ISA) rounds differently, so its weights differ in the last bits and
 *            grow apart over training; its inference on the same model file stays within the
 *            batch bound above.
 * Model files. Every later version of this library loads the files of every earlier one: a file
 *            of a format version it knows (format 1 so far) loads and computes the outputs it
 *            computed when written: within the batch bound above on any machine and version, bit
 *            for bit on the same machine kind with the same library version. A file of a newer or
 *            unknown format version is AEF_ERR_CORRUPT_MODEL, its message naming the version;
 *            nothing is guessed. Tests/golden keeps a model of every variant per format version
 *            with its outputs, and the tests check them.
 */
#ifndef AEFEATURES_H
#define AEFEATURES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this header. The ABI version changes only when a binary built against an older
 * header could break; compare AEF_ABI_VERSION with aef_abi_version() at start-up. */
#define AEF_VERSION_MAJOR 0
#define AEF_VERSION_MINOR 1
#define AEF_VERSION_PATCH 0
#define AEF_VERSION_STRING "0.1.0"
#define AEF_ABI_VERSION 1

/* What every function returning aef_status reports. AEF_OK and AEF_CANCELLED are the two
 * outcomes that leave a usable result (only aef_model_fit can return AEF_CANCELLED: the caller
 * asked for it); every AEF_ERR_* value is a failure, with aef_last_error() saying why. Values are
 * fixed by the ABI: new ones are only ever appended. */
typedef enum aef_status {
    AEF_OK = 0,
    AEF_ERR_NULL_ARGUMENT = 1,    /* a required pointer was NULL */
    AEF_ERR_INVALID_ARGUMENT = 2, /* wrong sizes or shapes, empty or non-finite data, bad value */
    AEF_ERR_INVALID_SPEC = 3,     /* the JSON spec does not parse or a field is out of range */
    AEF_ERR_NOT_FITTED = 4,       /* the call needs a fitted model */
    AEF_ERR_DIVERGED = 5,         /* training loss became NaN/Inf; the model keeps its last good weights */
    AEF_ERR_BUFFER_TOO_SMALL = 6, /* an output buffer's capacity is below the size needed */
    AEF_ERR_IO = 7,               /* a file could not be read or written */
    AEF_ERR_CORRUPT_MODEL = 8,    /* model bytes are truncated, corrupted, foreign or of another version */
    AEF_ERR_INTERNAL = 9,         /* a bug in the library; please report the message */
    AEF_CANCELLED = 10,           /* not an error: the progress callback stopped fit; the model is
                                     fitted with the epochs completed so far */
    AEF_ERR_BUSY = 11             /* fit and another call overlapped on one model (see Threads):
                                     the call was refused, nothing changed; retry when fit returns */
} aef_status;

/* What an output buffer holds, for aef_model_output_size. */
typedef enum aef_output {
    AEF_OUTPUT_FEATURES = 0,       /* aef_model_transform: n_samples x code_size */
    AEF_OUTPUT_RECONSTRUCTION = 1, /* aef_model_reconstruct, aef_model_decode: n_samples x sample_size */
    AEF_OUTPUT_SCORES = 2,         /* aef_model_score: n_samples */
    AEF_OUTPUT_FEATURE_ERRORS = 3, /* aef_model_feature_errors: n_samples x sample_size */
    AEF_OUTPUT_LABELS = 4          /* aef_model_predict: n_samples */
} aef_output;

/* Which ONNX graph aef_model_export_onnx writes. The first three take one input "input"
 * [N, sample_size] of raw float32 rows (N symbolic; the fitted scaling is part of the graph), the
 * decoder one input "codes" [N, code_size]; each computes exactly what the matching inference
 * call computes (no dropout or noise; a variational code is its mean). */
typedef enum aef_onnx_graph {
    AEF_ONNX_ENCODER = 0,     /* output "features" [N, code_size], as aef_model_transform */
    AEF_ONNX_AUTOENCODER = 1, /* output "reconstruction" [N, sample_size], as aef_model_reconstruct */
    AEF_ONNX_SCORER = 2,      /* output "score" [N], as aef_model_score */
    AEF_ONNX_DECODER = 3      /* "codes" -> "reconstruction" [N, sample_size] in input units, as
                                 aef_model_decode: a variational or adversarial model's generator
                                 (refused, as decode, for an unpooling decoder) */
} aef_onnx_graph;

/* An autoencoder: spec, weights, fitted scaler, anomaly threshold and training history. Opaque. */
typedef struct aef_model aef_model;

/* ---- Library ------------------------------------------------------------------------------ */

/* Library version, e.g. "0.1.0". Never NULL; static storage. Thread-safe. */
const char *aef_version(void);

/* ABI version of the loaded library; equals AEF_ABI_VERSION when header and library agree. */
uint32_t aef_abi_version(void);

/* The OpenBLAS doing the math, the kernel core it picked for this CPU and the build of the
 * library's own vector kernels, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell
 * MAX_THREADS=64; core Haswell; kernels avx2". The kernels (direct convolution, pooling,
 * activations, the LSTM step, the losses, Adam) are built for baseline x86-64, AVX2/FMA and
 * AVX-512; the widest the CPU has is used, or the one the environment variable AEF_FORCE_ISA names ("baseline", "avx2",
 * "avx512") when the CPU has it (read once, at the library's first use; an unknown or unsupported
 * name is ignored). Builds differ from each other by float32 rounding only, within the batch
 * bound of "Batches." above. Core and kernels are the "machine kind" of "Machines." above:
 * bit-for-bit results hold between processes that report the same. OpenBLAS picks its core when
 * it loads, from OPENBLAS_CORETYPE or else cpuid; on a CPU newer than the OpenBLAS it falls back
 * to Prescott's SSE3 kernels (Debian's 0.3.21 on Emerald Rapids: training 3.5x slower). The aef
 * tools and the Python binding set OPENBLAS_CORETYPE, when unset, to "SkylakeX" on CPUs with
 * AVX-512 (F, CD, BW, DQ, VL) and "Haswell" on CPUs with AVX2 and FMA; a C host should do the same
 * before its process starts. Never NULL; static storage. Thread-safe. */
const char *aef_blas_info(void);

/* Message of the last failing call on this thread ("" if none yet). Never NULL. Owned by the
 * library and valid until the next aef_ call on the same thread. */
const char *aef_last_error(void);

/* Constant name of a status ("AEF_ERR_NULL_ARGUMENT", ...; "unknown status" otherwise).
 * Never NULL; static storage. Thread-safe. */
const char *aef_status_string(aef_status status);

/* Threads the library uses for its math. n_threads >= 1; 0 means all cores. The default is the
 * count OpenBLAS loaded with (OPENBLAS_NUM_THREADS, else OMP_NUM_THREADS, else all cores). A host
 * with its own thread pool can set 1. Applies process-wide; call it while no other aef_ call runs.
 * The threads are the library's own pool (started on first use, kept for the process; a child
 * after fork() starts its own), which also splits the large matrix products: at its first math
 * call the library sets OpenBLAS to one thread (openblas_set_num_threads(1)), because OpenBLAS's
 * idle workers spin for about 0.1 s after each call and took a quarter of the cores from the
 * library's own loops. A host that calls the same OpenBLAS itself therefore gets single-threaded
 * products unless it sets OpenBLAS's thread count again (the library's results stay correct). */
aef_status aef_set_num_threads(int n_threads);

/* Threads currently in use, into *out_threads. */
aef_status aef_get_num_threads(int *out_threads);

/* ---- Models ------------------------------------------------------------------------------- */

/* Creates an unfitted model from a JSON spec (NUL-terminated UTF-8; docs/spec.md lists every
 * field with its default). The parser is lenient in two ways: a trailing comma is accepted, and
 * a key repeated within one object takes its first value. On success *out_model is a new handle
 * to free with aef_model_free; on failure it is set to NULL. */
aef_status aef_model_create(const char *spec_json, aef_model **out_model);

/* The spec `spec_json` with every default filled in, as NUL-terminated JSON (what
 * aef_model_spec_json would give for a model created from it), without creating a model: so a
 * host can show its users the defaults and check a spec cheaply. Give the required fields
 * (input_shape; code_size unless conv_blocks make the code) and any others; e.g.
 * {"variant":"sparse","input_shape":[784],"code_size":32} shows every sparse default. Fields are
 * checked as aef_model_create checks them (AEF_ERR_INVALID_SPEC, naming the field), except what
 * needs the layers built (layer geometry, parameter count, the combined score's code-size
 * bound), which only aef_model_create checks. *out_needed (required) gets the bytes needed
 * including the NUL; with buffer NULL this is a size query returning AEF_OK, otherwise capacity
 * (bytes) must be at least *out_needed. Thread-safe; spec_json is read, never kept. */
aef_status aef_spec_defaults(const char *spec_json, char *buffer, size_t capacity, size_t *out_needed);

/* Releases a model. NULL is a no-op. The handle must not be used afterwards, and no other call
 * on it may be running. */
void aef_model_free(aef_model *model);

/* Called after each epoch of aef_model_fit with the 1-based epoch, the planned number of
 * epochs, the mean training objective of the epoch and the validation loss (NaN without
 * validation data). Return 0 to continue, non-zero to stop: fit then returns AEF_CANCELLED.
 * Runs on the thread that called fit; calls on the same model from it return AEF_ERR_BUSY. */
typedef int (*aef_progress_fn)(void *user_data, int epoch, int epochs, double loss, double validation_loss);

/* Fits the model (from freshly initialised weights; a refit starts over) on x, n_samples x
 * sample_size. sample_size must equal the product of the spec's input_shape.
 *   validation, n_validation: explicit validation rows (same sample_size), or NULL and 0 to use
 *     the spec's training.validation_split (if any).
 *   seed: NULL to use the spec's seed, otherwise the seed for initialisation, the validation
 *     split, shuffling, dropout and noise. Same seed, thread count and machine kind give
 *     identical weights ("Machines." above).
 *   progress, user_data: optional epoch callback (may be NULL) and its opaque argument.
 * x and validation are read where they lie, a batch at a time (never copied whole, never
 * written, not kept after the call): they must stay valid and unchanged until fit returns,
 * including from the progress callback.
 * Blocks until training ends. On AEF_ERR_DIVERGED the model keeps the weights of its last
 * completed epoch, or its state before the call if the first epoch failed. */
aef_status aef_model_fit(aef_model *model, const float *x, size_t n_samples, size_t sample_size,
                         const float *validation, size_t n_validation, const uint64_t *seed,
                         aef_progress_fn progress, void *user_data);

/* One pass over x (n_samples x sample_size) in mini-batches, continuing the model's training:
 * for data larger than memory or arriving over time, call it once per chunk and repeat the
 * chunks for more epochs (each call counts as one epoch of the schedule and KL warm-up). On an
 * unfitted model the first call initialises the weights (seed: NULL for the spec's, as
 * aef_model_fit) and fits the scaling on its rows, which later calls keep: the first chunk
 * should span the data's range. Later calls continue the optimizer state (Adam's moments),
 * random streams and schedule of the earlier ones (seed is then ignored); after aef_model_fit or
 * loading a file the weights continue but the optimizer state starts anew (it is not saved).
 * Each call adds one epoch to the history and refits the score's statistics and the
 * contamination threshold on its own rows. validation_split and early stopping do not apply.
 * x is read, never kept. Errors as aef_model_fit, and bad input leaves the model as it was; on
 * AEF_ERR_DIVERGED the model keeps its state from before the call. Needs the model alone. */
aef_status aef_model_partial_fit(aef_model *model, const float *x, size_t n_samples, size_t sample_size,
                                 const uint64_t *seed);

/* Number of elements an output of `kind` needs for n_samples samples, into *out_count. */
aef_status aef_model_output_size(const aef_model *model, aef_output kind, size_t n_samples, size_t *out_count);

/* The inference calls below need a fitted model. x is n_samples x sample_size; `out` has room
 * for `capacity` elements. */

/* Features (the code layer): n_samples x code_size floats. */
aef_status aef_model_transform(const aef_model *model, const float *x, size_t n_samples, size_t sample_size,
                               float *out, size_t capacity);

/* Reconstructions in the input's units: n_samples x sample_size floats. */
aef_status aef_model_reconstruct(const aef_model *model, const float *x, size_t n_samples, size_t sample_size,
                                 float *out, size_t capacity);

/* Reconstructions from codes: `codes` is n_samples x code_size (e.g. from aef_model_transform);
 * the decoder alone maps them to n_samples x sample_size floats in the input's units
 * (the size of AEF_OUTPUT_RECONSTRUCTION). A model whose decoder unpools with the encoder's
 * switches ("conv_decoder": "unpool") cannot decode codes alone: AEF_ERR_INVALID_ARGUMENT, as for
 * its AEF_ONNX_DECODER graph and aef_model_sample. */
aef_status aef_model_decode(const aef_model *model, const float *codes, size_t n_samples, size_t code_size,
                            float *out, size_t capacity);

/* n_samples draws from the prior of a fitted variational (N(0, I)) or adversarial (its spec's
 * prior) model, decoded to the input's units: n_samples x sample_size floats (the size of
 * AEF_OUTPUT_RECONSTRUCTION). The same seed gives the same draws. Other models give
 * AEF_ERR_INVALID_ARGUMENT. */
aef_status aef_model_sample(const aef_model *model, size_t n_samples, uint64_t seed, float *out, size_t capacity);

/* The mean and log-variance of q(z|x) of a fitted variational model: n_samples x code_size
 * floats each into `mean` and `log_variance` (the mean is also what aef_model_transform gives).
 * `capacity` is the room in each. Other models give AEF_ERR_INVALID_ARGUMENT. */
aef_status aef_model_latent_distribution(const aef_model *model, const float *x, size_t n_samples, size_t sample_size,
                                         float *mean, float *log_variance, size_t capacity);

/* Anomaly scores, one float per sample: the mean reconstruction error over the sample's values
 * in scaled units (squared error for loss "mse", cross-entropy for "bce"; with the spec's
 * "score": "standardized" each value's error is first divided by its mean on the training rows),
 * plus for a variational model beta * KL / sample_size (the negative ELBO per value); higher is
 * more anomalous. With "score": "combined", that standardized score, the Mahalanobis distance of
 * the sample's code from the training codes and its mean squared distance to the 2nd-6th nearest
 * training codes, each divided by three times its mean on the training rows, summed (unitless;
 * the training rows average 1). */
aef_status aef_model_score(const aef_model *model, const float *x, size_t n_samples, size_t sample_size,
                           float *out, size_t capacity);

/* Per-value reconstruction errors, not standardized (their row means are the "reconstruction"
 * scores, less the KL term of a variational model): n_samples x sample_size. */
aef_status aef_model_feature_errors(const aef_model *model, const float *x, size_t n_samples, size_t sample_size,
                                    float *out, size_t capacity);

/* 1 for samples scoring above the fitted threshold, else 0: n_samples int32 values. */
aef_status aef_model_predict(const aef_model *model, const float *x, size_t n_samples, size_t sample_size,
                             int32_t *out, size_t capacity);

/* ---- Queries ------------------------------------------------------------------------------ */

/* Values per sample (product of input_shape) and features per sample (code_size). */
aef_status aef_model_sample_size(const aef_model *model, size_t *out_size);
aef_status aef_model_code_size(const aef_model *model, size_t *out_size);

/* 1 if the model is fitted, else 0, into *out_fitted. */
aef_status aef_model_is_fitted(const aef_model *model, int *out_fitted);

/* The anomaly threshold (scores above it are anomalies). Needs a fitted model. */
aef_status aef_model_threshold(const aef_model *model, float *out_threshold);

/* Sets the anomaly threshold from held-out rows known to be normal, x (n_samples x sample_size,
 * not the training rows: the fit made their scores small), so that normal rows like them score
 * above it with probability at most false_positive_rate and at least that less 1/(n_samples + 1):
 * the k-th smallest of their scores, k = ceil((n_samples + 1) * (1 - rate)) (split conformal
 * calibration). The rate is a fraction in (0, 1), e.g. 0.01 for 1%, which needs at least
 * 1/rate - 1 rows (99 for 1%; fewer give AEF_ERR_INVALID_ARGUMENT). The new threshold
 * replaces the fit's contamination quantile, is what aef_model_predict and aef_model_threshold
 * use from then on and is saved with the model; it is also written to *out_threshold unless that
 * is NULL. Needs a fitted model, and the model alone, as aef_model_fit does (AEF_ERR_BUSY
 * otherwise). x is read, never kept. On any error the threshold is unchanged. */
aef_status aef_model_calibrate_threshold(aef_model *model, const float *x, size_t n_samples, size_t sample_size,
                                         double false_positive_rate, float *out_threshold);

/* The spec with every default filled in, as NUL-terminated JSON. *out_needed (required) gets
 * the bytes needed including the NUL. With buffer NULL this is a size query returning AEF_OK;
 * otherwise capacity (bytes) must be at least *out_needed. */
aef_status aef_model_spec_json(const aef_model *model, char *buffer, size_t capacity, size_t *out_needed);

/* Training history of the last fit: per epoch the mean training objective into loss[] and the
 * validation loss into validation_loss[] (NaN where there was none). *out_epochs (required)
 * gets the number of epochs run (0 if unfitted). With loss and validation_loss both NULL this is
 * a size query; otherwise both must be non-NULL with room for `capacity` doubles each. */
aef_status aef_model_history(const aef_model *model, double *loss, double *validation_loss, size_t capacity,
                             size_t *out_epochs);

/* ---- Persistence -------------------------------------------------------------------------- */

/* Saves the model (fitted or not) to `path` atomically: the bytes go to a temporary file in the
 * same directory that is flushed and renamed over `path`, so `path` holds either its previous
 * content or the complete new model, even if the process dies mid-save. */
aef_status aef_model_save(const aef_model *model, const char *path);

/* Loads a model saved with aef_model_save into a new handle (*out_model; NULL on failure).
 * Truncated, corrupted, foreign or wrong-version files give AEF_ERR_CORRUPT_MODEL. */
aef_status aef_model_load(const char *path, aef_model **out_model);

/* The model in the file format, into a caller buffer. *out_needed (required) gets the size in
 * bytes. With buffer NULL this is a size query returning AEF_OK; otherwise capacity must be at
 * least *out_needed. */
aef_status aef_model_save_buffer(const aef_model *model, void *buffer, size_t capacity, size_t *out_needed);

/* A new model from `size` bytes written by aef_model_save_buffer or aef_model_save. The bytes
 * are only read during the call. */
aef_status aef_model_load_buffer(const void *data, size_t size, aef_model **out_model);

/* ---- ONNX export -------------------------------------------------------------------------- */
/* Models are written as ONNX IR version 8, opset 17 (onnxruntime 1.14 or later loads them),
 * self-contained (weights inside). The model must be fitted (AEF_ERR_NOT_FITTED otherwise); an
 * unknown `graph` is AEF_ERR_INVALID_ARGUMENT, and so is every graph of a "convlstm" model (ONNX
 * has no ConvLSTM operator) and the decoder graph of an unpooling one. Thread-safe like the other
 * const calls. */

/* Writes one graph to `path` atomically (temporary file renamed over it, as aef_model_save):
 * an existing file there is replaced whole or left as it was. AEF_ERR_IO if it cannot be written. */
aef_status aef_model_export_onnx(const aef_model *model, aef_onnx_graph graph, const char *path);

/* One graph's ONNX bytes into a caller buffer. *out_needed (required) gets the size in bytes.
 * With buffer NULL this is a size query returning AEF_OK; otherwise capacity must be at least
 * *out_needed (AEF_ERR_BUFFER_TOO_SMALL, nothing written). */
aef_status aef_model_export_onnx_buffer(const aef_model *model, aef_onnx_graph graph, void *buffer, size_t capacity,
                                        size_t *out_needed);

#ifdef __cplusplus
}
#endif

#endif /* AEFEATURES_H */
