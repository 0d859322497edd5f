/* Tests of every entry point of include/aefeatures.h and its documented error paths, from C.
 * Prints one line per failed check and closes with "N passed, N failed".
 * AEF_TEST_QUICK=1 (used under valgrind) shrinks the byte-by-byte corruption sweeps. */
#define _POSIX_C_SOURCE 200809L
#include "aefeatures.h"
#include "data.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (cond) {                                                             \
            passed++;                                                           \
        } else {                                                                \
            failed++;                                                           \
            printf("FAIL %s:%d: %s -- ", __FILE__, __LINE__, #cond);            \
            printf(__VA_ARGS__);                                                \
            printf(" (last error: %s)\n", aef_last_error());                    \
        }                                                                       \
    } while (0)

/* A status check that also requires a non-empty message for errors. */
#define CHECK_STATUS(call, expected)                                                         \
    do {                                                                                     \
        aef_status got_ = (call);                                                            \
        CHECK(got_ == (expected), "%s returned %s, expected %s", #call, aef_status_string(got_), \
              aef_status_string(expected));                                                  \
        if ((expected) != AEF_OK && (expected) != AEF_CANCELLED)                             \
            CHECK(strlen(aef_last_error()) > 0, "no message after %s", #call);               \
    } while (0)

#define ROWS 400
#define WIDTH 12
#define CODE 3

static const char *SPEC =
    "{\"input_shape\":[4,3],\"hidden_units\":[16],\"code_size\":3,\"batch_norm\":true,"
    "\"training\":{\"epochs\":6,\"batch_size\":32}}";

static int memeq_floats(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

static aef_model *fitted_model(const float *x) {
    aef_model *m = NULL;
    uint64_t seed = 7;
    if (aef_model_create(SPEC, &m) != AEF_OK) return NULL;
    if (aef_model_fit(m, x, ROWS, WIDTH, NULL, 0, &seed, NULL, NULL) != AEF_OK) {
        aef_model_free(m);
        return NULL;
    }
    return m;
}

static void test_library(void) {
    CHECK(aef_abi_version() == AEF_ABI_VERSION, "abi %u", aef_abi_version());
    CHECK(strcmp(aef_version(), AEF_VERSION_STRING) == 0, "version %s", aef_version());
    CHECK(strcmp(aef_status_string(AEF_ERR_NULL_ARGUMENT), "AEF_ERR_NULL_ARGUMENT") == 0, "status name");
    CHECK(strcmp(aef_status_string(AEF_CANCELLED), "AEF_CANCELLED") == 0, "status name");
    CHECK(strcmp(aef_status_string(AEF_ERR_BUSY), "AEF_ERR_BUSY") == 0, "status name");
    CHECK(strcmp(aef_status_string((aef_status)1234), "unknown status") == 0, "unknown status name");
    CHECK(aef_last_error() != NULL, "last error is never NULL");
    CHECK(strncmp(aef_blas_info(), "OpenBLAS", 8) == 0 && strstr(aef_blas_info(), "; core ") != NULL, "blas info %s",
          aef_blas_info());

    int threads = 0;
    CHECK_STATUS(aef_set_num_threads(1), AEF_OK);
    CHECK_STATUS(aef_get_num_threads(&threads), AEF_OK);
    CHECK(threads == 1, "threads %d", threads);
    CHECK_STATUS(aef_set_num_threads(0), AEF_OK);
    CHECK_STATUS(aef_get_num_threads(&threads), AEF_OK);
    CHECK(threads >= 1, "threads %d", threads);
    CHECK_STATUS(aef_set_num_threads(-1), AEF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(aef_get_num_threads(NULL), AEF_ERR_NULL_ARGUMENT);
}

static void test_create(void) {
    aef_model *m = (aef_model *)1;
    CHECK_STATUS(aef_model_create(NULL, &m), AEF_ERR_NULL_ARGUMENT);
    CHECK(m == (aef_model *)1 || m == NULL, "out untouched or NULL");
    CHECK_STATUS(aef_model_create(SPEC, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_create("{\"input_shape\":[12],\"code_size\":0}", &m), AEF_ERR_INVALID_SPEC);
    CHECK(m == NULL, "out set to NULL on failure");
    CHECK(strstr(aef_last_error(), "code_size") != NULL, "message names the field: %s", aef_last_error());
    CHECK_STATUS(aef_model_create("{\"input_shape\":[12],\"code_size\":2,\"trainig\":{}}", &m), AEF_ERR_INVALID_SPEC);
    CHECK(strstr(aef_last_error(), "trainig") != NULL, "unknown field named: %s", aef_last_error());
    CHECK_STATUS(aef_model_create("{\"input_shape\":[12],", &m), AEF_ERR_INVALID_SPEC);
    CHECK_STATUS(aef_model_create("{\"input_shape\":[12],\"code_size\":2,\"training\":{\"learning_rate\":-1}}", &m),
                 AEF_ERR_INVALID_SPEC);
    CHECK_STATUS(aef_model_create("\xff\xfe", &m), AEF_ERR_INVALID_ARGUMENT);
    const char *variants[] = {
        "{\"variant\":\"dense\",\"input_shape\":[12],\"code_size\":2}",
        "{\"variant\":\"denoising\",\"input_shape\":[12],\"code_size\":2}",
        "{\"variant\":\"sparse\",\"input_shape\":[12],\"code_size\":2}",
        "{\"variant\":\"contractive\",\"input_shape\":[12],\"code_size\":2}",
        "{\"variant\":\"seq2seq\",\"input_shape\":[4,3],\"hidden_units\":[5]}",
        "{\"variant\":\"variational\",\"input_shape\":[12],\"code_size\":2}",
        "{\"variant\":\"adversarial\",\"input_shape\":[12],\"code_size\":2}",
        "{\"variant\":\"conv1d\",\"input_shape\":[12],\"conv_blocks\":[{\"filters\":4,\"kernel\":3,\"pool\":2}]}",
        "{\"variant\":\"conv2d\",\"input_shape\":[4,3],\"code_size\":2,\"conv_blocks\":[{\"filters\":4,\"kernel\":[2,3],\"pool\":[2,1]}]}",
    };
    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++) {
        CHECK_STATUS(aef_model_create(variants[i], &m), AEF_OK);
        aef_model_free(m);
    }
    CHECK_STATUS(aef_model_create("{\"variant\":\"conv2d\",\"input_shape\":[4,3],\"conv_blocks\":[{\"filters\":4,"
                                  "\"kernel\":5,\"padding\":\"valid\"}]}", &m), AEF_ERR_INVALID_SPEC);
    CHECK(strstr(aef_last_error(), "conv_blocks[0]") != NULL, "shape error names the block: %s", aef_last_error());
    aef_model_free(NULL); /* a no-op */
}

static void test_unfitted(void) {
    aef_model *m = NULL;
    float x[WIDTH] = {0}, out[WIDTH], threshold;
    int fitted = -1;
    size_t n = 99;
    CHECK_STATUS(aef_model_create(SPEC, &m), AEF_OK);
    CHECK_STATUS(aef_model_is_fitted(m, &fitted), AEF_OK);
    CHECK(fitted == 0, "fitted %d", fitted);
    CHECK_STATUS(aef_model_transform(m, x, 1, WIDTH, out, WIDTH), AEF_ERR_NOT_FITTED);
    CHECK_STATUS(aef_model_score(m, x, 1, WIDTH, out, WIDTH), AEF_ERR_NOT_FITTED);
    CHECK_STATUS(aef_model_threshold(m, &threshold), AEF_ERR_NOT_FITTED);
    CHECK_STATUS(aef_model_decode(m, x, 1, CODE, out, WIDTH), AEF_ERR_NOT_FITTED);
    CHECK_STATUS(aef_model_history(m, NULL, NULL, 0, &n), AEF_OK);
    CHECK(n == 0, "epochs %zu", n);
    CHECK_STATUS(aef_model_sample_size(m, &n), AEF_OK);
    CHECK(n == WIDTH, "sample size %zu", n);
    CHECK_STATUS(aef_model_code_size(m, &n), AEF_OK);
    CHECK(n == CODE, "code size %zu", n);
    CHECK_STATUS(aef_model_sample_size(NULL, &n), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_code_size(m, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_is_fitted(m, NULL), AEF_ERR_NULL_ARGUMENT);
    aef_model_free(m);
}

struct progress_log {
    int calls, stop_at;
    double last_loss, last_validation;
};

static int on_epoch(void *user, int epoch, int epochs, double loss, double validation_loss) {
    struct progress_log *log = user;
    log->calls++;
    log->last_loss = loss;
    log->last_validation = validation_loss;
    (void)epochs;
    return log->stop_at > 0 && epoch >= log->stop_at;
}

/* A progress callback that calls the model being fitted, which the header says is refused. */
struct reentry {
    aef_model *model;
    const float *x;
    aef_status transform, save_buffer, is_fitted, fit;
};

static int call_back_into_the_model(void *user, int epoch, int epochs, double loss, double validation_loss) {
    struct reentry *r = user;
    float features[CODE];
    size_t size = 0;
    int fitted = 0;
    uint64_t seed = 1;
    r->transform = aef_model_transform(r->model, r->x, 1, WIDTH, features, CODE);
    r->save_buffer = aef_model_save_buffer(r->model, NULL, 0, &size);
    r->is_fitted = aef_model_is_fitted(r->model, &fitted);
    r->fit = aef_model_fit(r->model, r->x, ROWS, WIDTH, NULL, 0, &seed, NULL, NULL);
    (void)epoch, (void)epochs, (void)loss, (void)validation_loss;
    return 0;
}

static void test_fit_needs_the_model_alone(const float *x) {
    aef_model *m = NULL;
    CHECK_STATUS(aef_model_create(SPEC, &m), AEF_OK);
    struct reentry r = {m, x, AEF_OK, AEF_OK, AEF_OK, AEF_OK};
    CHECK_STATUS(aef_model_fit(m, x, ROWS, WIDTH, NULL, 0, NULL, call_back_into_the_model, &r), AEF_OK);
    CHECK(r.transform == AEF_ERR_BUSY && r.save_buffer == AEF_ERR_BUSY && r.is_fitted == AEF_ERR_BUSY &&
          r.fit == AEF_ERR_BUSY, "calls during fit: %s %s %s %s", aef_status_string(r.transform),
          aef_status_string(r.save_buffer), aef_status_string(r.is_fitted), aef_status_string(r.fit));
    float features[ROWS * CODE];
    CHECK_STATUS(aef_model_transform(m, x, ROWS, WIDTH, features, ROWS * CODE), AEF_OK); /* free again after fit */
    aef_model_free(m);
}

/* The model's file bytes, malloc'd (the caller frees them), and their count in *size. */
static unsigned char *model_bytes(const aef_model *m, size_t *size) {
    aef_model_save_buffer(m, NULL, 0, size);
    unsigned char *bytes = malloc(*size);
    aef_model_save_buffer(m, bytes, *size, size);
    return bytes;
}

/* partial_fit: two passes over all rows are aef_model_fit's two epochs, bit for bit; bad input
 * is refused with fit's statuses and leaves the model as it was. */
static void test_partial_fit(const float *x) {
    const char *spec = "{\"input_shape\":[12],\"hidden_units\":[8],\"code_size\":3,\"dropout\":0.1,"
                       "\"training\":{\"epochs\":2,\"batch_size\":32}}";
    aef_model *whole = NULL, *passes = NULL;
    uint64_t seed = 9;
    CHECK_STATUS(aef_model_create(spec, &whole), AEF_OK);
    CHECK_STATUS(aef_model_create(spec, &passes), AEF_OK);
    CHECK_STATUS(aef_model_fit(whole, x, ROWS, WIDTH, NULL, 0, &seed, NULL, NULL), AEF_OK);
    CHECK_STATUS(aef_model_partial_fit(passes, x, ROWS, WIDTH, &seed), AEF_OK);
    size_t epochs = 0;
    CHECK_STATUS(aef_model_history(passes, NULL, NULL, 0, &epochs), AEF_OK);
    CHECK(epochs == 1, "one pass is one epoch, got %zu", epochs);
    CHECK_STATUS(aef_model_partial_fit(passes, x, ROWS, WIDTH, NULL), AEF_OK);
    size_t a = 0, b = 0;
    unsigned char *fit_bytes = model_bytes(whole, &a), *pass_bytes = model_bytes(passes, &b);
    CHECK(a == b && memcmp(fit_bytes, pass_bytes, a) == 0, "two passes give fit's model byte for byte");
    free(fit_bytes);

    float *bad = malloc(sizeof(float) * ROWS * WIDTH);
    memcpy(bad, x, sizeof(float) * ROWS * WIDTH);
    bad[29] = NAN;
    CHECK_STATUS(aef_model_partial_fit(NULL, x, ROWS, WIDTH, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_partial_fit(passes, NULL, ROWS, WIDTH, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_partial_fit(passes, x, ROWS, WIDTH + 1, NULL), AEF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(aef_model_partial_fit(passes, x, 0, WIDTH, NULL), AEF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(aef_model_partial_fit(passes, bad, ROWS, WIDTH, NULL), AEF_ERR_INVALID_ARGUMENT);
    CHECK(strstr(aef_last_error(), "row 2, column 5") != NULL, "%s", aef_last_error());
    unsigned char *after = model_bytes(passes, &a);
    CHECK(a == b && memcmp(after, pass_bytes, a) == 0, "refused partial fits leave the model as it was");
    free(after);
    free(pass_bytes);
    free(bad);
    aef_model_free(whole);
    aef_model_free(passes);
}

static void test_fit(const float *x) {
    aef_model *m = NULL;
    float *bad = malloc(sizeof(float) * ROWS * WIDTH);
    float val[50 * WIDTH];
    uint64_t seed = 3;
    CHECK_STATUS(aef_model_create(SPEC, &m), AEF_OK);

    CHECK_STATUS(aef_model_fit(NULL, x, ROWS, WIDTH, NULL, 0, NULL, NULL, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_fit(m, NULL, ROWS, WIDTH, NULL, 0, NULL, NULL, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_fit(m, x, ROWS, WIDTH + 1, NULL, 0, NULL, NULL, NULL), AEF_ERR_INVALID_ARGUMENT);
    CHECK(strstr(aef_last_error(), "sample_size") != NULL, "%s", aef_last_error());
    CHECK_STATUS(aef_model_fit(m, x, 0, WIDTH, NULL, 0, NULL, NULL, NULL), AEF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(aef_model_fit(m, x, SIZE_MAX / 2, WIDTH, NULL, 0, NULL, NULL, NULL), AEF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(aef_model_fit(m, x, ROWS, WIDTH, NULL, 5, NULL, NULL, NULL), AEF_ERR_NULL_ARGUMENT);
    memcpy(bad, x, sizeof(float) * ROWS * WIDTH);
    bad[17] = NAN;
    CHECK_STATUS(aef_model_fit(m, bad, ROWS, WIDTH, NULL, 0, NULL, NULL, NULL), AEF_ERR_INVALID_ARGUMENT);
    CHECK(strstr(aef_last_error(), "row 1, column 5") != NULL, "%s", aef_last_error());
    bad[17] = INFINITY;
    CHECK_STATUS(aef_model_fit(m, bad, ROWS, WIDTH, NULL, 0, NULL, NULL, NULL), AEF_ERR_INVALID_ARGUMENT);
    memcpy(val, x, sizeof val);
    val[3] = -INFINITY;
    CHECK_STATUS(aef_model_fit(m, x, ROWS, WIDTH, val, 50, NULL, NULL, NULL), AEF_ERR_INVALID_ARGUMENT);
    int fitted = -1;
    CHECK_STATUS(aef_model_is_fitted(m, &fitted), AEF_OK);
    CHECK(fitted == 0, "rejected fits leave the model unfitted");

    /* With validation data and a callback that sees every epoch. */
    struct progress_log log = {0, 0, 0, 0};
    make_data(val, 50, WIDTH, 99);
    CHECK_STATUS(aef_model_fit(m, x, ROWS, WIDTH, val, 50, &seed, on_epoch, &log), AEF_OK);
    CHECK(log.calls == 6, "callback ran %d times", log.calls);
    CHECK(isfinite(log.last_validation) && isfinite(log.last_loss), "losses %g %g", log.last_loss, log.last_validation);
    size_t epochs = 0;
    double losses[10], validation[10];
    CHECK_STATUS(aef_model_history(m, NULL, NULL, 0, &epochs), AEF_OK);
    CHECK(epochs == 6, "epochs %zu", epochs);
    CHECK_STATUS(aef_model_history(m, losses, validation, 10, &epochs), AEF_OK);
    CHECK(losses[5] < losses[0], "loss falls: %g -> %g", losses[0], losses[5]);
    CHECK(validation[5] == log.last_validation, "history matches callback");
    CHECK_STATUS(aef_model_history(m, losses, validation, 3, &epochs), AEF_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(aef_model_history(m, losses, NULL, 10, &epochs), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_history(m, losses, validation, 10, NULL), AEF_ERR_NULL_ARGUMENT);

    /* Without validation: NaN validation losses. Cancelling after epoch 2. */
    log = (struct progress_log){0, 2, 0, 0};
    CHECK_STATUS(aef_model_fit(m, x, ROWS, WIDTH, NULL, 0, &seed, on_epoch, &log), AEF_CANCELLED);
    CHECK(log.calls == 2 && isnan(log.last_validation), "calls %d validation %g", log.calls, log.last_validation);
    CHECK_STATUS(aef_model_history(m, losses, validation, 10, &epochs), AEF_OK);
    CHECK(epochs == 2 && isnan(validation[1]), "cancelled history %zu", epochs);
    CHECK_STATUS(aef_model_is_fitted(m, &fitted), AEF_OK);
    CHECK(fitted == 1, "a cancelled fit leaves a fitted model");

    /* Same seed, same weights; another seed, other weights. */
    float a[ROWS * CODE], b[ROWS * CODE];
    CHECK_STATUS(aef_model_fit(m, x, ROWS, WIDTH, NULL, 0, &seed, NULL, NULL), AEF_OK);
    CHECK_STATUS(aef_model_transform(m, x, ROWS, WIDTH, a, ROWS * CODE), AEF_OK);
    CHECK_STATUS(aef_model_fit(m, x, ROWS, WIDTH, NULL, 0, &seed, NULL, NULL), AEF_OK);
    CHECK_STATUS(aef_model_transform(m, x, ROWS, WIDTH, b, ROWS * CODE), AEF_OK);
    CHECK(memeq_floats(a, b, ROWS * CODE), "same seed gives identical features");
    seed = 4;
    CHECK_STATUS(aef_model_fit(m, x, ROWS, WIDTH, NULL, 0, &seed, NULL, NULL), AEF_OK);
    CHECK_STATUS(aef_model_transform(m, x, ROWS, WIDTH, b, ROWS * CODE), AEF_OK);
    CHECK(!memeq_floats(a, b, ROWS * CODE), "another seed gives other features");
    aef_model_free(m);

    /* Divergence: a value whose square overflows, with no scaling to tame it. */
    CHECK_STATUS(aef_model_create("{\"input_shape\":[12],\"code_size\":2,\"scaling\":\"none\","
                                  "\"output_activation\":\"identity\",\"training\":{\"epochs\":2}}", &m), AEF_OK);
    memcpy(bad, x, sizeof(float) * ROWS * WIDTH);
    bad[5] = 3e38f;
    CHECK_STATUS(aef_model_fit(m, bad, ROWS, WIDTH, NULL, 0, NULL, NULL, NULL), AEF_ERR_DIVERGED);
    CHECK_STATUS(aef_model_is_fitted(m, &fitted), AEF_OK);
    CHECK(fitted == 0, "diverged in epoch 1: still unfitted");
    aef_model_free(m);
    free(bad);
}

static void test_inference(aef_model *m, const float *x) {
    size_t n = 0;
    CHECK_STATUS(aef_model_output_size(m, AEF_OUTPUT_FEATURES, ROWS, &n), AEF_OK);
    CHECK(n == ROWS * CODE, "features %zu", n);
    CHECK_STATUS(aef_model_output_size(m, AEF_OUTPUT_RECONSTRUCTION, ROWS, &n), AEF_OK);
    CHECK(n == ROWS * WIDTH, "reconstruction %zu", n);
    CHECK_STATUS(aef_model_output_size(m, AEF_OUTPUT_SCORES, ROWS, &n), AEF_OK);
    CHECK(n == ROWS, "scores %zu", n);
    CHECK_STATUS(aef_model_output_size(m, AEF_OUTPUT_FEATURE_ERRORS, ROWS, &n), AEF_OK);
    CHECK(n == ROWS * WIDTH, "feature errors %zu", n);
    CHECK_STATUS(aef_model_output_size(m, AEF_OUTPUT_LABELS, ROWS, &n), AEF_OK);
    CHECK(n == ROWS, "labels %zu", n);
    CHECK_STATUS(aef_model_output_size(m, (aef_output)42, ROWS, &n), AEF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(aef_model_output_size(m, AEF_OUTPUT_FEATURES, SIZE_MAX, &n), AEF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(aef_model_output_size(m, AEF_OUTPUT_FEATURES, ROWS, NULL), AEF_ERR_NULL_ARGUMENT);

    static float features[ROWS * CODE], recon[ROWS * WIDTH], scores[ROWS], errors[ROWS * WIDTH];
    static int32_t labels[ROWS];
    CHECK_STATUS(aef_model_transform(m, x, ROWS, WIDTH, features, ROWS * CODE), AEF_OK);
    CHECK_STATUS(aef_model_transform(m, x, ROWS, WIDTH, features, ROWS * CODE - 1), AEF_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(aef_model_transform(m, x, ROWS, WIDTH, NULL, ROWS * CODE), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_transform(NULL, x, ROWS, WIDTH, features, ROWS * CODE), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_transform(m, NULL, ROWS, WIDTH, features, ROWS * CODE), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_transform(m, x, ROWS, 5, features, ROWS * CODE), AEF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(aef_model_transform(m, x, 0, WIDTH, features, ROWS * CODE), AEF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(aef_model_transform(m, x, SIZE_MAX, WIDTH, features, ROWS * CODE), AEF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(aef_model_transform(m, x, (SIZE_MAX / WIDTH) + 2, WIDTH, features, SIZE_MAX), AEF_ERR_INVALID_ARGUMENT);
    int in_range = 1;
    for (size_t i = 0; i < ROWS * CODE; i++) in_range &= features[i] > 0 && features[i] < 1;
    CHECK(in_range, "sigmoid code in (0, 1)");

    CHECK_STATUS(aef_model_reconstruct(m, x, ROWS, WIDTH, recon, ROWS * WIDTH), AEF_OK);
    CHECK_STATUS(aef_model_reconstruct(m, x, ROWS, WIDTH, recon, 3), AEF_ERR_BUFFER_TOO_SMALL);
    double abs_error = 0, spread = 0;
    for (size_t i = 0; i < ROWS * WIDTH; i++) {
        abs_error += fabs(recon[i] - x[i]);
        spread += fabs(x[i] - x[i % WIDTH]);
    }
    CHECK(abs_error < 0.5 * spread, "reconstruction in raw units: mean |error| %g vs spread %g", abs_error / (ROWS * WIDTH),
          spread / (ROWS * WIDTH));

    static float decoded[ROWS * WIDTH];
    CHECK_STATUS(aef_model_decode(m, features, ROWS, CODE, decoded, ROWS * WIDTH), AEF_OK);
    CHECK(memeq_floats(decoded, recon, ROWS * WIDTH), "decode(transform(x)) equals reconstruct(x)");
    CHECK_STATUS(aef_model_decode(m, features, ROWS, WIDTH, decoded, ROWS * WIDTH), AEF_ERR_INVALID_ARGUMENT);
    CHECK(strstr(aef_last_error(), "code_size") != NULL, "%s", aef_last_error());
    CHECK_STATUS(aef_model_decode(m, features, ROWS, CODE, decoded, ROWS), AEF_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(aef_model_decode(m, NULL, ROWS, CODE, decoded, ROWS * WIDTH), AEF_ERR_NULL_ARGUMENT);

    CHECK_STATUS(aef_model_score(m, x, ROWS, WIDTH, scores, ROWS), AEF_OK);
    CHECK_STATUS(aef_model_score(m, x, ROWS, WIDTH, scores, ROWS - 1), AEF_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(aef_model_feature_errors(m, x, ROWS, WIDTH, errors, ROWS * WIDTH), AEF_OK);
    CHECK_STATUS(aef_model_feature_errors(m, x, ROWS, WIDTH, errors, ROWS), AEF_ERR_BUFFER_TOO_SMALL);
    int consistent = 1;
    for (size_t r = 0; r < ROWS; r++) {
        double sum = 0;
        for (size_t j = 0; j < WIDTH; j++) sum += errors[r * WIDTH + j];
        consistent &= fabs(sum / WIDTH - scores[r]) <= 1e-5 * (1 + scores[r]);
    }
    CHECK(consistent, "scores are row means of the feature errors");

    float threshold = 0;
    CHECK_STATUS(aef_model_threshold(m, &threshold), AEF_OK);
    CHECK_STATUS(aef_model_threshold(m, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_predict(m, x, ROWS, WIDTH, labels, ROWS), AEF_OK);
    CHECK_STATUS(aef_model_predict(m, x, ROWS, WIDTH, labels, 1), AEF_ERR_BUFFER_TOO_SMALL);
    int flagged = 0, agree = 1;
    for (size_t r = 0; r < ROWS; r++) {
        flagged += labels[r];
        agree &= labels[r] == (scores[r] > threshold);
    }
    CHECK(agree, "labels follow the threshold");
    CHECK(flagged >= ROWS / 20 && flagged <= ROWS / 5, "about 10%% of training rows flagged: %d", flagged);

    /* A threshold calibrated on rows known to be normal: a quarter of them score above it. */
    float calibrated = 0;
    CHECK_STATUS(aef_model_calibrate_threshold(m, x, ROWS, WIDTH, 0.25, &calibrated), AEF_OK);
    CHECK_STATUS(aef_model_threshold(m, &threshold), AEF_OK);
    CHECK(threshold == calibrated, "the calibrated threshold is the model's: %g vs %g", threshold, calibrated);
    CHECK_STATUS(aef_model_predict(m, x, ROWS, WIDTH, labels, ROWS), AEF_OK);
    int above = 0;
    agree = 1;
    for (size_t r = 0; r < ROWS; r++) {
        above += scores[r] > calibrated;
        agree &= labels[r] == (scores[r] > calibrated);
    }
    CHECK(agree, "labels follow the calibrated threshold");
    CHECK(abs(above - ROWS / 4) <= 1, "a quarter of the calibration rows score above it: %d of %d", above, ROWS);

    float nan_row[WIDTH] = {0};
    nan_row[WIDTH - 1] = NAN;
    CHECK_STATUS(aef_model_score(m, nan_row, 1, WIDTH, scores, ROWS), AEF_ERR_INVALID_ARGUMENT);

    size_t needed = 0;
    CHECK_STATUS(aef_model_spec_json(m, NULL, 0, &needed), AEF_OK);
    CHECK(needed > 10, "spec size %zu", needed);
    char *json = malloc(needed);
    CHECK_STATUS(aef_model_spec_json(m, json, needed - 1, &needed), AEF_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(aef_model_spec_json(m, json, needed, &needed), AEF_OK);
    CHECK(json[needed - 1] == '\0' && strstr(json, "\"code_size\" : 3") != NULL, "spec text: %.80s", json);
    CHECK(strstr(json, "\"learning_rate\"") != NULL, "defaults filled in");
    CHECK_STATUS(aef_model_spec_json(m, json, needed, NULL), AEF_ERR_NULL_ARGUMENT);
    /* The spec read back creates the same model. */
    aef_model *copy = NULL;
    CHECK_STATUS(aef_model_create(json, &copy), AEF_OK);
    aef_model_free(copy);
    free(json);
}

/* The defaults of a spec without a model: the same text a created model reports. */
static void test_spec_defaults(void) {
    const char *sparse = "{\"variant\":\"sparse\",\"input_shape\":[12],\"code_size\":3}";
    size_t needed = 0, from_model = 0;
    CHECK_STATUS(aef_spec_defaults(sparse, NULL, 0, &needed), AEF_OK);
    char *json = malloc(needed), *expected = malloc(needed + 1);
    CHECK_STATUS(aef_spec_defaults(sparse, json, needed - 1, &needed), AEF_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(aef_spec_defaults(sparse, json, needed, &needed), AEF_OK);
    CHECK(strstr(json, "\"sparsity\"") != NULL && strstr(json, "\"learning_rate\"") != NULL,
          "the sparse defaults are filled in: %.120s", json);
    aef_model *m = NULL;
    CHECK_STATUS(aef_model_create(sparse, &m), AEF_OK);
    CHECK_STATUS(aef_model_spec_json(m, expected, needed + 1, &from_model), AEF_OK);
    CHECK(from_model == needed && strcmp(json, expected) == 0, "aef_spec_defaults gives what the model reports");
    aef_model_free(m);
    CHECK_STATUS(aef_spec_defaults("{\"input_shape\":[12]}", json, needed, &needed), AEF_ERR_INVALID_SPEC);
    CHECK(strstr(aef_last_error(), "code_size") != NULL, "the error names the field: %s", aef_last_error());
    CHECK_STATUS(aef_spec_defaults(NULL, json, needed, &needed), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_spec_defaults(sparse, json, needed, NULL), AEF_ERR_NULL_ARGUMENT);
    free(json);
    free(expected);
}

/* A convolutional model over the 4 x 3 view of each row, through the same calls. */
static void test_conv(const float *x) {
    aef_model *m = NULL, *copy = NULL;
    static float a[ROWS * 24], b[ROWS * 24];
    size_t code = 0, size = 0;
    CHECK_STATUS(aef_model_create("{\"variant\":\"conv2d\",\"input_shape\":[4,3,1],\"batch_norm\":true,"
                                  "\"conv_decoder\":\"transpose\",\"training\":{\"epochs\":3},"
                                  "\"conv_blocks\":[{\"filters\":4,\"kernel\":[2,3],\"pool\":[2,1]}]}", &m), AEF_OK);
    CHECK_STATUS(aef_model_code_size(m, &code), AEF_OK);
    CHECK(code == 2 * 3 * 4, "feature-map code of 2x3x4, got %zu", code);
    CHECK_STATUS(aef_model_fit(m, x, ROWS, WIDTH, NULL, 0, NULL, NULL, NULL), AEF_OK);
    CHECK_STATUS(aef_model_transform(m, x, ROWS, WIDTH, a, ROWS * code), AEF_OK);
    CHECK_STATUS(aef_model_save_buffer(m, NULL, 0, &size), AEF_OK);
    unsigned char *bytes = malloc(size);
    CHECK_STATUS(aef_model_save_buffer(m, bytes, size, &size), AEF_OK);
    CHECK_STATUS(aef_model_load_buffer(bytes, size, &copy), AEF_OK);
    CHECK_STATUS(aef_model_transform(copy, x, ROWS, WIDTH, b, ROWS * code), AEF_OK);
    CHECK(memeq_floats(a, b, ROWS * code), "conv model round trip bit-identical");
    free(bytes);
    aef_model_free(copy);
    aef_model_free(m);
}

/* A variational model: sampling, and its refusal on other models. */
static void test_variational(const float *x, aef_model *plain) {
    aef_model *m = NULL;
    static float a[50 * WIDTH], b[50 * WIDTH];
    CHECK_STATUS(aef_model_create("{\"variant\":\"variational\",\"input_shape\":[12],\"hidden_units\":[16],"
                                  "\"code_size\":2,\"training\":{\"epochs\":3}}", &m), AEF_OK);
    CHECK_STATUS(aef_model_sample(m, 50, 1, a, 50 * WIDTH), AEF_ERR_NOT_FITTED);
    CHECK_STATUS(aef_model_fit(m, x, ROWS, WIDTH, NULL, 0, NULL, NULL, NULL), AEF_OK);
    CHECK_STATUS(aef_model_sample(m, 50, 1, a, 50 * WIDTH), AEF_OK);
    CHECK_STATUS(aef_model_sample(m, 50, 1, b, 50 * WIDTH), AEF_OK);
    CHECK(memeq_floats(a, b, 50 * WIDTH), "same seed, same samples");
    int finite = 1;
    for (size_t i = 0; i < 50 * WIDTH; i++) finite &= isfinite(a[i]);
    CHECK(finite, "samples are finite");
    CHECK_STATUS(aef_model_sample(m, 50, 1, a, 10), AEF_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(aef_model_sample(m, 0, 1, a, 50 * WIDTH), AEF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(aef_model_sample(m, 50, 1, NULL, 50 * WIDTH), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_sample(plain, 5, 1, a, 50 * WIDTH), AEF_ERR_INVALID_ARGUMENT);
    static float mu[ROWS * 2], logvar[ROWS * 2], features[ROWS * 2];
    CHECK_STATUS(aef_model_latent_distribution(m, x, ROWS, WIDTH, mu, logvar, ROWS * 2), AEF_OK);
    CHECK_STATUS(aef_model_transform(m, x, ROWS, WIDTH, features, ROWS * 2), AEF_OK);
    CHECK(memeq_floats(mu, features, ROWS * 2), "features are the posterior means");
    CHECK_STATUS(aef_model_latent_distribution(m, x, ROWS, WIDTH, mu, NULL, ROWS * 2), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_latent_distribution(m, x, ROWS, WIDTH, mu, logvar, ROWS), AEF_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(aef_model_latent_distribution(plain, x, ROWS, WIDTH, mu, logvar, ROWS * CODE), AEF_ERR_INVALID_ARGUMENT);
    aef_model_free(m);
    CHECK_STATUS(aef_model_create("{\"variant\":\"adversarial\",\"input_shape\":[12],\"code_size\":2,"
                                  "\"adversarial\":{\"prior\":\"uniform\"},\"training\":{\"epochs\":2}}", &m), AEF_OK);
    CHECK_STATUS(aef_model_fit(m, x, ROWS, WIDTH, NULL, 0, NULL, NULL, NULL), AEF_OK);
    CHECK_STATUS(aef_model_sample(m, 50, 2, a, 50 * WIDTH), AEF_OK);
    aef_model_free(m);
}

/* Writes bytes to a file; returns 0 on success. */
static void test_persistence(aef_model *m, const float *x) {
    static float before[ROWS * WIDTH], after[ROWS * WIDTH];
    char path[] = "/tmp/aef-test-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    aef_model *loaded = NULL;

    CHECK_STATUS(aef_model_save(m, path), AEF_OK);
    CHECK_STATUS(aef_model_load(path, &loaded), AEF_OK);
    int fitted = 0;
    CHECK_STATUS(aef_model_is_fitted(loaded, &fitted), AEF_OK);
    CHECK(fitted == 1, "loaded model is fitted");
    CHECK_STATUS(aef_model_score(m, x, ROWS, WIDTH, before, ROWS), AEF_OK);
    CHECK_STATUS(aef_model_score(loaded, x, ROWS, WIDTH, after, ROWS), AEF_OK);
    CHECK(memeq_floats(before, after, ROWS), "scores bit-identical after a file round trip");
    CHECK_STATUS(aef_model_reconstruct(m, x, ROWS, WIDTH, before, ROWS * WIDTH), AEF_OK);
    CHECK_STATUS(aef_model_reconstruct(loaded, x, ROWS, WIDTH, after, ROWS * WIDTH), AEF_OK);
    CHECK(memeq_floats(before, after, ROWS * WIDTH), "reconstructions bit-identical");
    float t1, t2;
    aef_model_threshold(m, &t1);
    aef_model_threshold(loaded, &t2);
    CHECK(t1 == t2, "threshold kept");
    size_t e1 = 0, e2 = 0;
    aef_model_history(m, NULL, NULL, 0, &e1);
    aef_model_history(loaded, NULL, NULL, 0, &e2);
    CHECK(e1 == e2 && e1 > 0, "history kept");
    aef_model_free(loaded);

    CHECK_STATUS(aef_model_save(NULL, path), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_save(m, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_save(m, "/nonexistent-dir/model.aef"), AEF_ERR_IO);
    CHECK_STATUS(aef_model_save(m, "/tmp/"), AEF_ERR_IO);
    CHECK_STATUS(aef_model_load("/nonexistent-dir/model.aef", &loaded), AEF_ERR_IO);
    CHECK(loaded == NULL, "out NULL on failure");
    CHECK_STATUS(aef_model_load("/tmp", &loaded), AEF_ERR_IO);
    CHECK_STATUS(aef_model_load(path, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_load(NULL, &loaded), AEF_ERR_NULL_ARGUMENT);

    /* In memory. */
    size_t size = 0;
    CHECK_STATUS(aef_model_save_buffer(m, NULL, 0, &size), AEF_OK);
    unsigned char *bytes = malloc(size), *copy = malloc(size);
    CHECK_STATUS(aef_model_save_buffer(m, bytes, size - 1, &size), AEF_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(aef_model_save_buffer(m, bytes, size, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_save_buffer(m, bytes, size, &size), AEF_OK);
    CHECK_STATUS(aef_model_load_buffer(bytes, size, &loaded), AEF_OK);
    CHECK_STATUS(aef_model_score(loaded, x, ROWS, WIDTH, after, ROWS), AEF_OK);
    CHECK_STATUS(aef_model_score(m, x, ROWS, WIDTH, before, ROWS), AEF_OK);
    CHECK(memeq_floats(before, after, ROWS), "scores bit-identical after a buffer round trip");
    size_t size2 = 0;
    unsigned char *bytes2 = malloc(size);
    CHECK_STATUS(aef_model_save_buffer(loaded, bytes2, size, &size2), AEF_OK);
    CHECK(size2 == size && memcmp(bytes, bytes2, size) == 0, "re-saved bytes identical");
    free(bytes2);
    aef_model_free(loaded);
    CHECK_STATUS(aef_model_load_buffer(NULL, size, &loaded), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_load_buffer(bytes, size, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_load_buffer(bytes, SIZE_MAX, &loaded), AEF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(aef_model_load_buffer(bytes, 0, &loaded), AEF_ERR_CORRUPT_MODEL);
    CHECK_STATUS(aef_model_save_buffer(m, bytes, SIZE_MAX, &size), AEF_OK); /* "plenty of room" */

    /* Every truncation and single-byte corruption is refused without a crash. */
    int quick = getenv("AEF_TEST_QUICK") != NULL;
    size_t step = quick ? size / 40 + 1 : 1, refused = 0, tried = 0;
    for (size_t cut = 0; cut < size; cut += step, tried++) {
        aef_status s = aef_model_load_buffer(bytes, cut, &loaded);
        refused += s == AEF_ERR_CORRUPT_MODEL && loaded == NULL;
        if (s == AEF_OK) aef_model_free(loaded);
    }
    CHECK(refused == tried, "truncations refused: %zu of %zu", refused, tried);
    refused = tried = 0;
    for (size_t i = 0; i < size; i += step, tried++) {
        memcpy(copy, bytes, size);
        copy[i] ^= 0x5A;
        aef_status s = aef_model_load_buffer(copy, size, &loaded);
        refused += s == AEF_ERR_CORRUPT_MODEL;
        if (s == AEF_OK) aef_model_free(loaded);
    }
    CHECK(refused == tried, "corruptions refused: %zu of %zu", refused, tried);
    CHECK_STATUS(aef_model_load_buffer("hello, world, not a model at all, but long enough to pass the size check",
                                       73, &loaded), AEF_ERR_CORRUPT_MODEL);
    memcpy(copy, bytes, size);
    copy[8] = 2; /* a future format version */
    CHECK_STATUS(aef_model_load_buffer(copy, size, &loaded), AEF_ERR_CORRUPT_MODEL);
    CHECK(strstr(aef_last_error(), "version") != NULL, "%s", aef_last_error());

    /* A corrupt file on disk; and a failed save leaves the previous model in place. */
    memcpy(copy, bytes, size);
    copy[size / 2] ^= 1;
    CHECK(write_file(path, copy, size) == 0, "wrote corrupt file");
    CHECK_STATUS(aef_model_load(path, &loaded), AEF_ERR_CORRUPT_MODEL);
    CHECK(write_file(path, bytes, size / 3) == 0, "wrote truncated file");
    CHECK_STATUS(aef_model_load(path, &loaded), AEF_ERR_CORRUPT_MODEL);
    CHECK(write_file(path, "", 0) == 0, "wrote empty file");
    CHECK_STATUS(aef_model_load(path, &loaded), AEF_ERR_CORRUPT_MODEL);
    CHECK_STATUS(aef_model_save(m, path), AEF_OK);
    CHECK_STATUS(aef_model_load(path, &loaded), AEF_OK);
    aef_model_free(loaded);

    /* An unfitted model saves and loads as unfitted. */
    aef_model *fresh = NULL;
    CHECK_STATUS(aef_model_create(SPEC, &fresh), AEF_OK);
    CHECK_STATUS(aef_model_save(fresh, path), AEF_OK);
    CHECK_STATUS(aef_model_load(path, &loaded), AEF_OK);
    CHECK_STATUS(aef_model_is_fitted(loaded, &fitted), AEF_OK);
    CHECK(fitted == 0, "unfitted round trip");
    aef_model_free(loaded);
    aef_model_free(fresh);

    unlink(path);
    free(bytes);
    free(copy);
}

/* ---- ONNX export: to a path and to a buffer, and its errors. ---- */

static void test_onnx(aef_model *m) {
    const char *path = "/tmp/aef_test_capi.onnx";
    aef_onnx_graph graphs[] = {AEF_ONNX_ENCODER, AEF_ONNX_AUTOENCODER, AEF_ONNX_SCORER, AEF_ONNX_DECODER};
    size_t sizes[4] = {0};
    for (int g = 0; g < 4; g++) {
        size_t size = 0;
        CHECK_STATUS(aef_model_export_onnx_buffer(m, graphs[g], NULL, 0, &size), AEF_OK);
        CHECK(size > 1000, "graph %d: %zu bytes", g, size);
        unsigned char *bytes = malloc(size), *file = malloc(size + 1);
        CHECK_STATUS(aef_model_export_onnx_buffer(m, graphs[g], bytes, size - 1, &size), AEF_ERR_BUFFER_TOO_SMALL);
        CHECK_STATUS(aef_model_export_onnx_buffer(m, graphs[g], bytes, size, &size), AEF_OK);
        /* ONNX is protobuf: field 1 (ir_version, varint) = 8 comes first. */
        CHECK(bytes[0] == 0x08 && bytes[1] == 8, "ir_version 8 leads the bytes: %02x %02x", bytes[0], bytes[1]);
        CHECK_STATUS(aef_model_export_onnx(m, graphs[g], path), AEF_OK);
        FILE *f = fopen(path, "rb");
        size_t read = f ? fread(file, 1, size + 1, f) : 0;
        if (f) fclose(f);
        CHECK(read == size && memcmp(bytes, file, size) == 0, "graph %d: the file holds the buffer's bytes", g);
        sizes[g] = size;
        free(bytes);
        free(file);
    }
    CHECK(sizes[1] > sizes[0], "the autoencoder graph holds more weights than the encoder");
    CHECK(sizes[1] > sizes[3], "the autoencoder graph holds more weights than the decoder");

    size_t size = 0;
    CHECK_STATUS(aef_model_export_onnx(NULL, AEF_ONNX_ENCODER, path), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_export_onnx(m, AEF_ONNX_ENCODER, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_export_onnx(m, (aef_onnx_graph)7, path), AEF_ERR_INVALID_ARGUMENT);
    CHECK(strstr(aef_last_error(), "AEF_ONNX_ENCODER") != NULL, "%s", aef_last_error());
    CHECK_STATUS(aef_model_export_onnx(m, AEF_ONNX_ENCODER, "/nonexistent-dir/model.onnx"), AEF_ERR_IO);
    CHECK_STATUS(aef_model_export_onnx(m, AEF_ONNX_ENCODER, "/tmp/"), AEF_ERR_IO);
    CHECK_STATUS(aef_model_export_onnx_buffer(m, AEF_ONNX_ENCODER, NULL, 0, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_export_onnx_buffer(NULL, AEF_ONNX_ENCODER, NULL, 0, &size), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_export_onnx_buffer(m, (aef_onnx_graph)-1, NULL, 0, &size), AEF_ERR_INVALID_ARGUMENT);

    /* An unfitted model exports nothing and leaves an existing file alone. */
    aef_model *fresh = NULL;
    CHECK_STATUS(aef_model_create(SPEC, &fresh), AEF_OK);
    CHECK(write_file(path, "previous", 8) == 0, "wrote a placeholder");
    CHECK_STATUS(aef_model_export_onnx(fresh, AEF_ONNX_SCORER, path), AEF_ERR_NOT_FITTED);
    CHECK_STATUS(aef_model_export_onnx_buffer(fresh, AEF_ONNX_SCORER, NULL, 0, &size), AEF_ERR_NOT_FITTED);
    char kept[16] = {0};
    FILE *f = fopen(path, "rb");
    size_t read = f ? fread(kept, 1, sizeof kept - 1, f) : 0;
    if (f) fclose(f);
    CHECK(read == 8 && strcmp(kept, "previous") == 0, "placeholder intact: '%s'", kept);
    aef_model_free(fresh);
    unlink(path);
}

/* ---- Concurrency: 8 threads of inference on one model, and per-thread error messages. ---- */

struct worker {
    const aef_model *model;
    const float *x;
    const float *expected;
    int matches;
    int error_was_empty;
};

static void *infer_worker(void *arg) {
    struct worker *w = arg;
    w->error_was_empty = aef_last_error()[0] == '\0';
    static __thread float features[ROWS * CODE];
    w->matches = 1;
    for (int i = 0; i < 20; i++) {
        if (aef_model_transform(w->model, w->x, ROWS, WIDTH, features, ROWS * CODE) != AEF_OK) w->matches = 0;
        if (!memeq_floats(features, w->expected, ROWS * CODE)) w->matches = 0;
    }
    return NULL;
}

static void test_concurrency(aef_model *m, const float *x) {
    static float expected[ROWS * CODE];
    CHECK_STATUS(aef_model_transform(m, x, ROWS, WIDTH, expected, ROWS * CODE), AEF_OK);
    aef_model_transform(m, x, ROWS, 1, expected, 0); /* leaves a message on this thread only */
    pthread_t threads[8];
    struct worker workers[8];
    for (int i = 0; i < 8; i++) {
        workers[i] = (struct worker){m, x, expected, 0, 0};
        pthread_create(&threads[i], NULL, infer_worker, &workers[i]);
    }
    int all_match = 1, all_empty = 1;
    for (int i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        all_match &= workers[i].matches;
        all_empty &= workers[i].error_was_empty;
    }
    CHECK(all_match, "8 threads of inference match the single-threaded features");
    CHECK(all_empty, "error messages are per thread");
}

int main(void) {
    static float x[ROWS * WIDTH];
    make_data(x, ROWS, WIDTH, 1);
    test_library();
    test_create();
    test_spec_defaults();
    test_partial_fit(x);
    test_unfitted();
    test_fit(x);
    test_fit_needs_the_model_alone(x);
    test_conv(x);
    aef_model *m = fitted_model(x);
    CHECK(m != NULL, "fitted model");
    if (m) {
        test_inference(m, x);
        test_variational(x, m);
        test_persistence(m, x);
        test_onnx(m);
        test_concurrency(m, x);
        aef_model_free(m);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
