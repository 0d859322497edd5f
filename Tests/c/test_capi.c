/* Tests of every entry point of include/aefeatures.h and its documented error paths, from C.
 * Prints one line per failed check and closes with "N passed, N failed".
 * AEF_TEST_QUICK=1 (used under valgrind) shrinks the byte-by-byte corruption sweeps. */
#define _POSIX_C_SOURCE 200809L
#include "capi_checks.h"
#include "data.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int passed, failed;

int memeq_floats(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

aef_model *fitted_model(const float *x) {
    aef_model *m = NULL;
    uint64_t seed = 7;
    if (aef_model_create(SPEC, &m) != AEF_OK) return NULL;
    if (aef_model_fit(m, x, ROWS, WIDTH, NULL, 0, &seed, NULL, NULL) != AEF_OK) {
        aef_model_free(m);
        return NULL;
    }
    return m;
}

/* The model's file bytes, malloc'd (the caller frees them), and their count in *size. */
unsigned char *model_bytes(const aef_model *m, size_t *size) {
    aef_model_save_buffer(m, NULL, 0, size);
    unsigned char *bytes = malloc(*size);
    aef_model_save_buffer(m, bytes, *size, size);
    return bytes;
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
