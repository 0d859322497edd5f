/* The bad-input matrix: every entry point of include/aefeatures.h with NULL in each pointer position,
 * zero, "negative" (wrapped) and overflowing sizes, NaN and ±Inf in each data argument, mismatched
 * widths, unfitted and wrong-kind models, malformed and absurd specs, hostile files, and the
 * free-and-recreate patterns the API permits. Every case must return its documented status with a
 * message, and nothing may crash. Prints "bad-input matrix: N cases, F failed". */
#define _POSIX_C_SOURCE 200809L
#include "bad_inputs.h"
#include "data.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cases, failed;

void expect(aef_status got, aef_status expected, const char *call, const char *file, int line) {
    cases++;
    int message_ok = expected == AEF_OK || aef_last_error()[0] != '\0';
    if (got != expected || !message_ok) {
        failed++;
        printf("FAIL %s:%d: %s returned %s, expected %s%s (last error: %s)\n", file, line, call, aef_status_string(got),
               aef_status_string(expected), message_ok ? "" : ", and left no message", aef_last_error());
    }
}

static const char *VAE = "{\"variant\":\"variational\",\"input_shape\":[12],\"hidden_units\":[8],\"code_size\":3,"
                         "\"training\":{\"epochs\":2}}";

aef_model *model_of(const char *spec, const float *x) {
    aef_model *m = NULL;
    if (aef_model_create(spec, &m) != AEF_OK) return NULL;
    if (x && aef_model_fit(m, x, ROWS, WIDTH, NULL, 0, NULL, NULL, NULL) != AEF_OK) {
        aef_model_free(m);
        return NULL;
    }
    return m;
}

/* The functions shaped (model, x, n, width, out, capacity) with float output. */
typedef aef_status (*rows_fn)(const aef_model *, const float *, size_t, size_t, float *, size_t);

static void rows_matrix(rows_fn f, const char *name, aef_output kind, const aef_model *fitted, const aef_model *unfitted,
                        const float *x, size_t in_width) {
    static float bad[ROWS * WIDTH], out[ROWS * WIDTH];
    size_t need = 0;
    EXPECT(aef_model_output_size(fitted, kind, ROWS, &need), AEF_OK);
    printf("  %s\n", name);
    EXPECT(f(fitted, x, ROWS, in_width, out, need), AEF_OK);
    EXPECT(f(NULL, x, ROWS, in_width, out, need), AEF_ERR_NULL_ARGUMENT);
    EXPECT(f(fitted, NULL, ROWS, in_width, out, need), AEF_ERR_NULL_ARGUMENT);
    EXPECT(f(fitted, x, ROWS, in_width, NULL, need), AEF_ERR_NULL_ARGUMENT);
    EXPECT(f(fitted, x, 0, in_width, out, need), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(f(fitted, x, ROWS, 0, out, need), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(f(fitted, x, ROWS, in_width + 1, out, need), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(f(fitted, x, ROWS, in_width - 1, out, need), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(f(fitted, x, ROWS, NEGATIVE, out, need), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(f(fitted, x, NEGATIVE, in_width, out, need), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(f(fitted, x, OVERFLOW_ROWS, in_width, out, SIZE_MAX), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(f(fitted, x, HUGE_ROWS, in_width, out, need), AEF_ERR_BUFFER_TOO_SMALL);
    EXPECT(f(fitted, x, ROWS, in_width, out, need - 1), AEF_ERR_BUFFER_TOO_SMALL);
    EXPECT(f(fitted, x, ROWS, in_width, out, 0), AEF_ERR_BUFFER_TOO_SMALL);
    const float poison[] = {NAN, INFINITY, -INFINITY};
    const size_t where[] = {0, ROWS * in_width / 2, ROWS * in_width - 1};
    for (int p = 0; p < 3; p++)
        for (int w = 0; w < 3; w++) {
            memcpy(bad, x, sizeof(float) * ROWS * in_width);
            bad[where[w]] = poison[p];
            EXPECT(f(fitted, bad, ROWS, in_width, out, need), AEF_ERR_INVALID_ARGUMENT);
        }
    EXPECT(f(unfitted, x, ROWS, in_width, out, need), AEF_ERR_NOT_FITTED);
}

static aef_status predict_as_rows(const aef_model *m, const float *x, size_t n, size_t w, float *out, size_t cap) {
    return aef_model_predict(m, x, n, w, (int32_t *)out, cap);
}

static void data_matrix(const float *x) {
    aef_model *fitted = model_of(SPEC, x), *unfitted = model_of(SPEC, NULL), *vae = model_of(VAE, x);
    if (!fitted || !unfitted || !vae) {
        failed++;
        printf("FAIL: could not build the models\n");
        return;
    }
    printf("data entry points:\n");
    rows_matrix(aef_model_transform, "aef_model_transform", AEF_OUTPUT_FEATURES, fitted, unfitted, x, WIDTH);
    rows_matrix(aef_model_reconstruct, "aef_model_reconstruct", AEF_OUTPUT_RECONSTRUCTION, fitted, unfitted, x, WIDTH);
    rows_matrix(aef_model_score, "aef_model_score", AEF_OUTPUT_SCORES, fitted, unfitted, x, WIDTH);
    rows_matrix(aef_model_feature_errors, "aef_model_feature_errors", AEF_OUTPUT_FEATURE_ERRORS, fitted, unfitted, x, WIDTH);
    rows_matrix(predict_as_rows, "aef_model_predict", AEF_OUTPUT_LABELS, fitted, unfitted, x, WIDTH);
    rows_matrix(aef_model_decode, "aef_model_decode", AEF_OUTPUT_RECONSTRUCTION, fitted, unfitted, x, CODE);

    static float out[ROWS * WIDTH], other[ROWS * WIDTH], bad[ROWS * WIDTH];
    printf("  aef_model_latent_distribution, aef_model_sample\n");
    EXPECT(aef_model_latent_distribution(vae, x, ROWS, WIDTH, out, other, ROWS * CODE), AEF_OK);
    EXPECT(aef_model_latent_distribution(NULL, x, ROWS, WIDTH, out, other, ROWS * CODE), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_latent_distribution(vae, NULL, ROWS, WIDTH, out, other, ROWS * CODE), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_latent_distribution(vae, x, ROWS, WIDTH, NULL, other, ROWS * CODE), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_latent_distribution(vae, x, ROWS, WIDTH, out, NULL, ROWS * CODE), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_latent_distribution(vae, x, ROWS, WIDTH, out, other, ROWS * CODE - 1), AEF_ERR_BUFFER_TOO_SMALL);
    EXPECT(aef_model_latent_distribution(vae, x, ROWS, WIDTH + 1, out, other, ROWS * CODE), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_latent_distribution(vae, x, 0, WIDTH, out, other, ROWS * CODE), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_latent_distribution(vae, x, OVERFLOW_ROWS, WIDTH, out, other, SIZE_MAX), AEF_ERR_INVALID_ARGUMENT);
    memcpy(bad, x, sizeof bad);
    bad[7] = NAN;
    EXPECT(aef_model_latent_distribution(vae, bad, ROWS, WIDTH, out, other, ROWS * CODE), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_latent_distribution(fitted, x, ROWS, WIDTH, out, other, ROWS * CODE), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_sample(vae, ROWS, 1, out, ROWS * WIDTH), AEF_OK);
    EXPECT(aef_model_sample(NULL, ROWS, 1, out, ROWS * WIDTH), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_sample(vae, ROWS, 1, NULL, ROWS * WIDTH), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_sample(vae, 0, 1, out, ROWS * WIDTH), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_sample(vae, NEGATIVE, 1, out, SIZE_MAX), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_sample(vae, ROWS, 1, out, ROWS * WIDTH - 1), AEF_ERR_BUFFER_TOO_SMALL);
    EXPECT(aef_model_sample(fitted, ROWS, 1, out, ROWS * WIDTH), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_sample(unfitted, ROWS, 1, out, ROWS * WIDTH), AEF_ERR_NOT_FITTED);

    printf("  aef_model_output_size and queries\n");
    size_t n = 0;
    EXPECT(aef_model_output_size(NULL, AEF_OUTPUT_FEATURES, ROWS, &n), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_output_size(fitted, AEF_OUTPUT_FEATURES, ROWS, NULL), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_output_size(fitted, (aef_output)99, ROWS, &n), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_output_size(fitted, (aef_output)-1, ROWS, &n), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_output_size(fitted, AEF_OUTPUT_RECONSTRUCTION, OVERFLOW_ROWS, &n), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_sample_size(NULL, &n), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_sample_size(fitted, NULL), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_code_size(NULL, &n), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_code_size(fitted, NULL), AEF_ERR_NULL_ARGUMENT);
    int flag = 0;
    EXPECT(aef_model_is_fitted(NULL, &flag), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_is_fitted(fitted, NULL), AEF_ERR_NULL_ARGUMENT);
    float threshold = 0;
    EXPECT(aef_model_threshold(NULL, &threshold), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_threshold(fitted, NULL), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_threshold(unfitted, &threshold), AEF_ERR_NOT_FITTED);
    printf("  aef_model_partial_fit\n");
    EXPECT(aef_model_partial_fit(NULL, x, ROWS, WIDTH, NULL), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_partial_fit(fitted, NULL, ROWS, WIDTH, NULL), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_partial_fit(fitted, x, 0, WIDTH, NULL), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_partial_fit(fitted, x, ROWS, WIDTH + 1, NULL), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_partial_fit(fitted, x, OVERFLOW_ROWS, WIDTH, NULL), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_partial_fit(fitted, bad, ROWS, WIDTH, NULL), AEF_ERR_INVALID_ARGUMENT);
    printf("  aef_model_calibrate_threshold\n");
    float before = 0, after = 0;
    EXPECT(aef_model_threshold(fitted, &before), AEF_OK);
    EXPECT(aef_model_calibrate_threshold(NULL, x, ROWS, WIDTH, 0.01, &threshold), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_calibrate_threshold(fitted, NULL, ROWS, WIDTH, 0.01, &threshold), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_calibrate_threshold(unfitted, x, ROWS, WIDTH, 0.01, &threshold), AEF_ERR_NOT_FITTED);
    EXPECT(aef_model_calibrate_threshold(fitted, x, 0, WIDTH, 0.01, &threshold), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_calibrate_threshold(fitted, x, ROWS, WIDTH + 1, 0.01, &threshold), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_calibrate_threshold(fitted, x, OVERFLOW_ROWS, WIDTH, 0.01, &threshold), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_calibrate_threshold(fitted, bad, ROWS, WIDTH, 0.01, &threshold), AEF_ERR_INVALID_ARGUMENT);
    const double bad_rates[] = {0, 1, -0.5, 2, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_rates / sizeof bad_rates[0]; i++)
        EXPECT(aef_model_calibrate_threshold(fitted, x, ROWS, WIDTH, bad_rates[i], &threshold), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_threshold(fitted, &after), AEF_OK);
    cases++;
    if (after != before) { /* failed calibrations leave the threshold alone */
        failed++;
        printf("FAIL line %d: a failed calibration moved the threshold from %g to %g\n", __LINE__, before, after);
    }
    EXPECT(aef_model_calibrate_threshold(fitted, x, ROWS, WIDTH, 0.05, NULL), AEF_OK); /* out_threshold may be NULL */
    char text[8];
    EXPECT(aef_model_spec_json(NULL, text, sizeof text, &n), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_spec_json(fitted, text, sizeof text, NULL), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_spec_json(fitted, text, sizeof text, &n), AEF_ERR_BUFFER_TOO_SMALL);
    EXPECT(aef_model_spec_json(fitted, NULL, 100, &n), AEF_OK); /* buffer NULL: a size query, as documented */
    double loss[1], validation[1];
    EXPECT(aef_model_history(NULL, loss, validation, 1, &n), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_history(fitted, loss, validation, 1, NULL), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_history(fitted, loss, validation, 1, &n), AEF_ERR_BUFFER_TOO_SMALL);
    EXPECT(aef_model_history(fitted, NULL, validation, 100, &n), AEF_ERR_NULL_ARGUMENT);

    printf("  aef_model_fit\n");
    aef_model *m = model_of(SPEC, NULL);
    EXPECT(aef_model_fit(NULL, x, ROWS, WIDTH, NULL, 0, NULL, NULL, NULL), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_fit(m, NULL, ROWS, WIDTH, NULL, 0, NULL, NULL, NULL), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_fit(m, x, 0, WIDTH, NULL, 0, NULL, NULL, NULL), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_fit(m, x, ROWS, 0, NULL, 0, NULL, NULL, NULL), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_fit(m, x, ROWS, WIDTH + 1, NULL, 0, NULL, NULL, NULL), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_fit(m, x, NEGATIVE, WIDTH, NULL, 0, NULL, NULL, NULL), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_fit(m, x, OVERFLOW_ROWS, WIDTH, NULL, 0, NULL, NULL, NULL), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_fit(m, x, ROWS, WIDTH, NULL, 5, NULL, NULL, NULL), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_fit(m, x, ROWS, WIDTH, x, NEGATIVE, NULL, NULL, NULL), AEF_ERR_INVALID_ARGUMENT);
    const float poison[] = {NAN, INFINITY, -INFINITY};
    for (int p = 0; p < 3; p++) {
        memcpy(bad, x, sizeof bad);
        bad[ROWS * WIDTH - 1] = poison[p];
        EXPECT(aef_model_fit(m, bad, ROWS, WIDTH, NULL, 0, NULL, NULL, NULL), AEF_ERR_INVALID_ARGUMENT);
        EXPECT(aef_model_fit(m, x, ROWS, WIDTH, bad, ROWS, NULL, NULL, NULL), AEF_ERR_INVALID_ARGUMENT);
    }
    EXPECT(aef_model_is_fitted(m, &flag), AEF_OK);
    cases++;
    if (flag != 0) failed++, printf("FAIL: a model whose fits were all refused became fitted\n");
    aef_model_free(m);

    aef_model_free(fitted);
    aef_model_free(unfitted);
    aef_model_free(vae);
}

int main(void) {
    static float x[ROWS * WIDTH];
    make_data(x, ROWS, WIDTH, 1);
    data_matrix(x);
    spec_matrix();
    file_matrix(x);
    printf("bad-input matrix: %d cases, %d failed\n", cases, failed);
    return failed != 0;
}
