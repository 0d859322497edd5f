/* The bad-input matrix: every entry point of include/aefeatures.h with NULL in each pointer position,
 * zero, "negative" (wrapped) and overflowing sizes, NaN and ±Inf in each data argument, mismatched
 * widths, unfitted and wrong-kind models, malformed and absurd specs, hostile files, and the
 * free-and-recreate patterns the API permits. Every case must return its documented status with a
 * message, and nothing may crash. Prints "bad-input matrix: N cases, F failed". */
#define _POSIX_C_SOURCE 200809L
#include "aefeatures.h"
#include "data.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cases, failed;

static void expect(aef_status got, aef_status expected, const char *call, int line) {
    cases++;
    int message_ok = expected == AEF_OK || aef_last_error()[0] != '\0';
    if (got != expected || !message_ok) {
        failed++;
        printf("FAIL line %d: %s returned %s, expected %s%s (last error: %s)\n", line, call, aef_status_string(got),
               aef_status_string(expected), message_ok ? "" : ", and left no message", aef_last_error());
    }
}
#define EXPECT(call, status) expect((call), (status), #call, __LINE__)

#define ROWS 64
#define WIDTH 12
#define CODE 3
#define HUGE_ROWS ((size_t)1 << 40)           /* n x width x 4 bytes still fits in size_t */
#define OVERFLOW_ROWS (SIZE_MAX / WIDTH + 1)  /* n x width overflows */
#define NEGATIVE ((size_t)-1)                 /* what -1 becomes through size_t */

static const char *SPEC = "{\"input_shape\":[12],\"hidden_units\":[8],\"code_size\":3,\"training\":{\"epochs\":2}}";
static const char *VAE = "{\"variant\":\"variational\",\"input_shape\":[12],\"hidden_units\":[8],\"code_size\":3,"
                         "\"training\":{\"epochs\":2}}";

static aef_model *model_of(const char *spec, const float *x) {
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

static void spec_matrix(void) {
    printf("specs:\n");
    aef_model *m = (aef_model *)&cases;
    EXPECT(aef_model_create(NULL, &m), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_create(SPEC, NULL), AEF_ERR_NULL_ARGUMENT);
    const char *invalid[] = {
        "", " ", "{", "}", "[]", "null", "42", "\"text\"", "{\"input_shape\":[12],", "{\"input_shape\":[12]}}",
        "{input_shape:[12]}", "{'input_shape':[12]}",         /* wrong types */
        "{\"input_shape\":12,\"code_size\":2}", "{\"input_shape\":\"12\",\"code_size\":2}",
        "{\"input_shape\":[12],\"code_size\":\"2\"}", "{\"input_shape\":[12],\"code_size\":2.5}",
        "{\"input_shape\":[12],\"code_size\":true}", "{\"input_shape\":[12],\"code_size\":null}",
        "{\"input_shape\":[[12]],\"code_size\":2}", "{\"input_shape\":[12],\"hidden_units\":8}",
        "{\"input_shape\":[12],\"code_size\":2,\"training\":[]}", "{\"input_shape\":[12],\"code_size\":2,\"training\":{\"epochs\":\"5\"}}",
        "{\"input_shape\":[12],\"code_size\":2,\"variant\":7}", "{\"input_shape\":[12],\"code_size\":2,\"variant\":\"quantum\"}",
        "{\"input_shape\":[12],\"code_size\":2,\"activation\":\"swish\"}", "{\"input_shape\":[12],\"code_size\":2,\"batch_norm\":1}",
        "{\"variant\":\"conv2d\",\"input_shape\":[4,3,1],\"conv_blocks\":{\"filters\":4}}",
        "{\"variant\":\"conv2d\",\"input_shape\":[4,3,1],\"conv_blocks\":[{\"filters\":\"many\",\"kernel\":2}]}",
        /* out of range and absurd sizes */
        "{\"input_shape\":[],\"code_size\":2}", "{\"input_shape\":[0],\"code_size\":2}", "{\"input_shape\":[-12],\"code_size\":2}",
        "{\"input_shape\":[12],\"code_size\":-1}", "{\"input_shape\":[12],\"code_size\":0}",
        "{\"input_shape\":[1e300],\"code_size\":2}", "{\"input_shape\":[12],\"code_size\":1e999}",
        "{\"input_shape\":[18446744073709551616],\"code_size\":2}", "{\"input_shape\":[9223372036854775807],\"code_size\":2}",
        "{\"input_shape\":[65536,65536,65536],\"code_size\":2}", "{\"input_shape\":[16777216],\"hidden_units\":[16777216],\"code_size\":2}",
        "{\"input_shape\":[100000],\"hidden_units\":[100000],\"code_size\":2}",
        "{\"input_shape\":[12],\"hidden_units\":[8,0],\"code_size\":2}",
        "{\"input_shape\":[12],\"code_size\":2,\"dropout\":1.5}", "{\"input_shape\":[12],\"code_size\":2,\"dropout\":-0.1}",
        "{\"input_shape\":[12],\"code_size\":2,\"batch_norm\":\"inside\"}", "{\"input_shape\":[12],\"code_size\":2,\"input_dropout\":1}",
        "{\"input_shape\":[12],\"code_size\":2,\"noise\":{\"type\":\"uniform\",\"level\":-1}}",
        "{\"input_shape\":[12],\"code_size\":2,\"noise\":{\"type\":\"poisson\",\"level\":0}}",
        "{\"input_shape\":[12],\"hidden_units\":[8],\"code_size\":2,\"decoder_units\":[4],\"tied_weights\":true}",
        "{\"input_shape\":[12],\"code_size\":2,\"peephole\":true}",
        "{\"variant\":\"seq2seq\",\"input_shape\":[4,3],\"hidden_units\":[5],\"cell\":\"gru\",\"peephole\":true}",
        "{\"variant\":\"conv2d\",\"input_shape\":[8,8],\"conv_decoder\":\"unpool\",\"conv_blocks\":[{\"filters\":2,\"kernel\":3,\"pool\":2,\"pool_type\":\"average\"}]}",
        "{\"variant\":\"convlstm\",\"input_shape\":[4,6,6],\"conv_blocks\":[{\"filters\":2,\"kernel\":3,\"pool\":2}]}",
        "{\"variant\":\"adversarial\",\"input_shape\":[12],\"code_size\":2,\"adversarial\":{\"generator_learning_rate\":-1}}",
        "{\"input_shape\":[12],\"code_size\":2,\"score\":\"zscore\"}",
        "{\"input_shape\":[12],\"code_size\":1025,\"score\":\"combined\"}",
        "{\"input_shape\":[12],\"code_size\":2,\"training\":{\"learning_rate_schedule\":{\"type\":\"step\",\"factor\":0}}}",
        "{\"input_shape\":[12],\"code_size\":2,\"training\":{\"learning_rate_schedule\":{\"type\":\"plateau\",\"patience\":-1}}}",
        "{\"input_shape\":[12],\"code_size\":2,\"training\":{\"epochs\":0}}", "{\"input_shape\":[12],\"code_size\":2,\"training\":{\"epochs\":-3}}",
        "{\"input_shape\":[12],\"code_size\":2,\"training\":{\"batch_size\":0}}",
        "{\"input_shape\":[12],\"code_size\":2,\"training\":{\"learning_rate\":0}}",
        "{\"input_shape\":[12],\"code_size\":2,\"training\":{\"learning_rate\":1e999}}",
        "{\"input_shape\":[12],\"code_size\":2,\"training\":{\"validation_split\":1}}",
        "{\"variant\":\"conv2d\",\"input_shape\":[4,3,1],\"conv_blocks\":[{\"filters\":4,\"kernel\":0}]}",
        "{\"variant\":\"conv2d\",\"input_shape\":[4,3,1],\"conv_blocks\":[{\"filters\":16777216,\"kernel\":3}]}",
        "{\"variant\":\"seq2seq\",\"input_shape\":[4,3],\"hidden_units\":[100000000]}",
        /* unknown fields, misspellings, trailing garbage */
        "{\"input_shape\":[12],\"code_size\":2,\"codesize\":3}", "{\"input_shape\":[12],\"code_size\":2} trailing",
    };
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        m = (aef_model *)&cases;
        aef_status s = aef_model_create(invalid[i], &m);
        expect(s, AEF_ERR_INVALID_SPEC, invalid[i], __LINE__);
        cases++;
        if (m != NULL) failed++, printf("FAIL: out_model not NULL after a refused spec %s\n", invalid[i]);
        if (s == AEF_OK) aef_model_free(m);
        /* aef_spec_defaults refuses it too, unless only the built layers show the fault (sizes,
         * geometry), which it documents it leaves to aef_model_create: then it reports JSON. */
        char filled[4096];
        size_t needed = 0;
        aef_status d = aef_spec_defaults(invalid[i], filled, sizeof filled, &needed);
        cases++;
        if (d != AEF_ERR_INVALID_SPEC && !(d == AEF_OK && filled[0] == '{'))
            failed++, printf("FAIL: aef_spec_defaults gave %d for %s\n", (int)d, invalid[i]);
    }
    char filled[64];
    size_t needed = 0;
    EXPECT(aef_spec_defaults(NULL, filled, sizeof filled, &needed), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_spec_defaults(SPEC, filled, sizeof filled, NULL), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_spec_defaults(SPEC, filled, 1, &needed), AEF_ERR_BUFFER_TOO_SMALL);
    /* The two documented lenient cases: a trailing comma, and a repeated key's first value. */
    size_t width = 0;
    EXPECT(aef_model_create("{\"input_shape\":[12],\"code_size\":2,}", &m), AEF_OK);
    aef_model_free(m);
    EXPECT(aef_model_create("{\"input_shape\":[12],\"input_shape\":[13],\"code_size\":2}", &m), AEF_OK);
    EXPECT(aef_model_sample_size(m, &width), AEF_OK);
    cases++;
    if (width != 12) failed++, printf("FAIL: a repeated key gave width %zu, not its first value 12\n", width);
    aef_model_free(m);
    /* Deep nesting, a huge string and invalid UTF-8: refused, without exhausting the stack. */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = '\0';
    EXPECT(aef_model_create(deep, &m), AEF_ERR_INVALID_SPEC);
    memset(deep, '{', depth);
    deep[depth] = '\0';
    EXPECT(aef_model_create(deep, &m), AEF_ERR_INVALID_SPEC);
    free(deep);
    size_t length = 10 << 20;
    char *long_text = malloc(length + 32);
    strcpy(long_text, "{\"variant\":\"");
    memset(long_text + 12, 'x', length);
    strcpy(long_text + 12 + length, "\"}");
    EXPECT(aef_model_create(long_text, &m), AEF_ERR_INVALID_SPEC);
    free(long_text);
    EXPECT(aef_model_create("{\"input_shape\":[12],\"variant\":\"\xc3\x28\"}", &m), AEF_ERR_INVALID_ARGUMENT);
}

static void file_matrix(const float *x) {
    printf("files and buffers:\n");
    aef_model *fitted = model_of(SPEC, x), *unfitted = model_of(SPEC, NULL), *m = NULL;
    char path[] = "/tmp/aef-bad-XXXXXX";
    close(mkstemp(path));
    EXPECT(aef_model_save(fitted, path), AEF_OK);
    EXPECT(aef_model_save(NULL, path), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_save(fitted, NULL), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_save(fitted, ""), AEF_ERR_IO);
    EXPECT(aef_model_save(fitted, "/tmp/"), AEF_ERR_IO);
    EXPECT(aef_model_save(fitted, "/nonexistent-dir/m.aef"), AEF_ERR_IO);
    EXPECT(aef_model_save(fitted, "/proc/version"), AEF_ERR_IO);
    EXPECT(aef_model_load(NULL, &m), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_load(path, NULL), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_load("", &m), AEF_ERR_IO);
    EXPECT(aef_model_load("/nonexistent-dir/m.aef", &m), AEF_ERR_IO);
    EXPECT(aef_model_load("/tmp", &m), AEF_ERR_IO);
    EXPECT(aef_model_load("/dev/zero", &m), AEF_ERR_IO);
    EXPECT(aef_model_load("/dev/null", &m), AEF_ERR_IO);
    EXPECT(aef_model_load("/proc/self/status", &m), AEF_ERR_CORRUPT_MODEL);
    EXPECT(aef_model_load("/etc/hostname", &m), AEF_ERR_CORRUPT_MODEL);

    size_t size = 0;
    EXPECT(aef_model_save_buffer(fitted, NULL, 0, &size), AEF_OK);
    unsigned char *bytes = malloc(size);
    EXPECT(aef_model_save_buffer(NULL, bytes, size, &size), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_save_buffer(fitted, bytes, size, NULL), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_save_buffer(fitted, NULL, size, &size), AEF_OK); /* a size query */
    EXPECT(aef_model_save_buffer(fitted, bytes, 0, &size), AEF_ERR_BUFFER_TOO_SMALL);
    EXPECT(aef_model_save_buffer(fitted, bytes, size, &size), AEF_OK);
    EXPECT(aef_model_load_buffer(NULL, size, &m), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_load_buffer(bytes, size, NULL), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_load_buffer(bytes, 0, &m), AEF_ERR_CORRUPT_MODEL);
    EXPECT(aef_model_load_buffer(bytes, NEGATIVE, &m), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_load_buffer(bytes, size - 1, &m), AEF_ERR_CORRUPT_MODEL);
    /* Header lengths claiming more than is there, with a valid checksum: refused before any allocation. */
    for (size_t field = 16; field < 56; field += 8) {
        unsigned char *copy = malloc(size);
        memcpy(copy, bytes, size);
        memset(copy + field, 0xff, 8);
        EXPECT(aef_model_load_buffer(copy, size, &m), AEF_ERR_CORRUPT_MODEL);
        free(copy);
    }

    printf("  ONNX export\n");
    const char *onnx = "/tmp/aef-bad-inputs.onnx";
    EXPECT(aef_model_export_onnx(NULL, AEF_ONNX_ENCODER, onnx), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_export_onnx(fitted, AEF_ONNX_ENCODER, NULL), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_export_onnx(fitted, (aef_onnx_graph)4, onnx), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_export_onnx(fitted, (aef_onnx_graph)-1, onnx), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_export_onnx(unfitted, AEF_ONNX_ENCODER, onnx), AEF_ERR_NOT_FITTED);
    EXPECT(aef_model_export_onnx(fitted, AEF_ONNX_ENCODER, "/nonexistent-dir/m.onnx"), AEF_ERR_IO);
    EXPECT(aef_model_export_onnx_buffer(fitted, AEF_ONNX_SCORER, NULL, 0, &size), AEF_OK);
    EXPECT(aef_model_export_onnx_buffer(NULL, AEF_ONNX_SCORER, NULL, 0, &size), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_export_onnx_buffer(fitted, AEF_ONNX_SCORER, NULL, 0, NULL), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_model_export_onnx_buffer(fitted, AEF_ONNX_SCORER, NULL, size, &size), AEF_OK); /* a size query */
    EXPECT(aef_model_export_onnx_buffer(fitted, AEF_ONNX_SCORER, bytes, 1, &size), AEF_ERR_BUFFER_TOO_SMALL);
    EXPECT(aef_model_export_onnx_buffer(fitted, (aef_onnx_graph)7, NULL, 0, &size), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_export_onnx_buffer(unfitted, AEF_ONNX_SCORER, NULL, 0, &size), AEF_ERR_NOT_FITTED);

    printf("  a decoder that unpools with the encoder's switches: no decoding from codes alone\n");
    static float unpool_rows[ROWS * 16], unpool_out[ROWS * 16];
    for (size_t i = 0; i < ROWS * 16; i++) unpool_rows[i] = (float)((i * 7919) % 101) / 101.0f;
    aef_model *unpool = NULL;
    EXPECT(aef_model_create("{\"variant\":\"conv2d\",\"input_shape\":[4,4],\"code_size\":3,\"conv_decoder\":\"unpool\","
                            "\"conv_blocks\":[{\"filters\":2,\"kernel\":3,\"pool\":2}],\"training\":{\"epochs\":1}}", &unpool), AEF_OK);
    EXPECT(aef_model_fit(unpool, unpool_rows, ROWS, 16, NULL, 0, NULL, NULL, NULL), AEF_OK);
    EXPECT(aef_model_reconstruct(unpool, unpool_rows, ROWS, 16, unpool_out, ROWS * 16), AEF_OK);
    EXPECT(aef_model_transform(unpool, unpool_rows, ROWS, 16, unpool_out, ROWS * 3), AEF_OK);
    EXPECT(aef_model_decode(unpool, unpool_out, ROWS, 3, unpool_rows, ROWS * 16), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_export_onnx_buffer(unpool, AEF_ONNX_AUTOENCODER, NULL, 0, &size), AEF_OK);
    EXPECT(aef_model_export_onnx_buffer(unpool, AEF_ONNX_DECODER, NULL, 0, &size), AEF_ERR_INVALID_ARGUMENT);
    aef_model_free(unpool);

    printf("  a convlstm model: no ONNX operator, every graph refused\n");
    aef_model *convlstm = NULL;
    EXPECT(aef_model_create("{\"variant\":\"convlstm\",\"input_shape\":[4,2,2],\"code_size\":2,"
                            "\"conv_blocks\":[{\"filters\":2,\"kernel\":3}],\"training\":{\"epochs\":1}}", &convlstm), AEF_OK);
    EXPECT(aef_model_fit(convlstm, unpool_rows, ROWS, 16, NULL, 0, NULL, NULL, NULL), AEF_OK);
    EXPECT(aef_model_score(convlstm, unpool_rows, ROWS, 16, unpool_out, ROWS), AEF_OK);
    EXPECT(aef_model_export_onnx_buffer(convlstm, AEF_ONNX_ENCODER, NULL, 0, &size), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_model_export_onnx(convlstm, AEF_ONNX_SCORER, onnx), AEF_ERR_INVALID_ARGUMENT);
    aef_model_free(convlstm);

    printf("  threads\n");
    int threads = 0;
    EXPECT(aef_set_num_threads(-1), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_set_num_threads(INT_MIN), AEF_ERR_INVALID_ARGUMENT);
    EXPECT(aef_get_num_threads(NULL), AEF_ERR_NULL_ARGUMENT);
    EXPECT(aef_get_num_threads(&threads), AEF_OK);

    printf("  lifetimes the API permits\n");
    aef_model_free(NULL);
    for (int round = 0; round < 3; round++) { /* free, then create again: new handles work */
        aef_model *again = model_of(SPEC, x);
        static float out[ROWS * CODE];
        EXPECT(again ? aef_model_transform(again, x, ROWS, WIDTH, out, ROWS * CODE) : AEF_ERR_INTERNAL, AEF_OK);
        aef_model_free(again);
    }
    EXPECT(aef_model_load(path, &m), AEF_OK); /* refit a loaded model, then a failed refit keeps it */
    EXPECT(aef_model_fit(m, x, ROWS, WIDTH, NULL, 0, NULL, NULL, NULL), AEF_OK);
    EXPECT(aef_model_fit(m, x, ROWS, CODE, NULL, 0, NULL, NULL, NULL), AEF_ERR_INVALID_ARGUMENT);
    int flag = 0;
    EXPECT(aef_model_is_fitted(m, &flag), AEF_OK);
    cases++;
    if (!flag) failed++, printf("FAIL: a refused refit unfitted the model\n");
    EXPECT(aef_model_save(m, path), AEF_OK); /* save over the file it was loaded from */
    aef_model_free(m);
    EXPECT(aef_model_load(path, &m), AEF_OK);
    EXPECT(aef_model_save(unfitted, "/nonexistent-dir/x.aef"), AEF_ERR_IO);
    aef_model_free(m);

    unlink(path);
    unlink(onnx);
    free(bytes);
    aef_model_free(fitted);
    aef_model_free(unfitted);
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
