/* The C API's training and inference calls: fit with callbacks and cancellation, partial_fit, and
 * every inference entry point with its errors. Part of test_capi (see test_capi.c). */
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

void test_fit_needs_the_model_alone(const float *x) {
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

/* partial_fit: two passes over all rows are aef_model_fit's two epochs, bit for bit; bad input
 * is refused with fit's statuses and leaves the model as it was. */
void test_partial_fit(const float *x) {
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

void test_fit(const float *x) {
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

void test_inference(aef_model *m, const float *x) {
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
