/* aefeatures from C: fit a dense autoencoder, extract features, score anomalies, save, reload,
 * and check the reloaded model gives identical outputs.
 *   make examples        (builds libaefeatures.so, this program, and runs it)
 * or, after `make install`:  cc example.c $(pkg-config --cflags --libs aefeatures) */
#include <aefeatures.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROWS 2000
#define WIDTH 16
#define ANOMALIES 20

/* Prints the failing call's status and message, and exits. */
static void check(aef_status status, const char *what) {
    if (status != AEF_OK) {
        fprintf(stderr, "%s failed: %s: %s\n", what, aef_status_string(status), aef_last_error());
        exit(1);
    }
}

/* Normal rows lie near a 2-D surface; the last ANOMALIES rows are off it. */
static void make_data(float *x) {
    srand(1);
    for (int r = 0; r < ROWS; r++) {
        double a = rand() / (double)RAND_MAX, b = rand() / (double)RAND_MAX;
        for (int j = 0; j < WIDTH; j++) {
            double v = sin(a * 3 + j * 0.4) * 10 + b * j + 0.1 * (rand() / (double)RAND_MAX);
            if (r >= ROWS - ANOMALIES) v = 20 * (rand() / (double)RAND_MAX) - 10;
            x[r * WIDTH + j] = (float)v;
        }
    }
}

static int progress(void *user, int epoch, int epochs, double loss, double validation_loss) {
    (void)user;
    if (epoch % 5 == 0) printf("  epoch %d/%d  loss %.5f  validation %.5f\n", epoch, epochs, loss, validation_loss);
    return 0; /* continue */
}

int main(void) {
    static float x[ROWS * WIDTH];
    make_data(x);

    const char *spec = "{\"variant\":\"denoising\",\"input_shape\":[16],\"hidden_units\":[32],\"code_size\":2,"
                       "\"noise\":{\"type\":\"gaussian\",\"level\":0.02},\"contamination\":0.01,"
                       "\"training\":{\"epochs\":40,\"batch_size\":64,\"validation_split\":0.1}}";
    aef_model *model = NULL;
    check(aef_model_create(spec, &model), "aef_model_create");
    printf("aefeatures %s: fitting a denoising autoencoder 16-32-2-32-16 on %d rows\n", aef_version(), ROWS);
    uint64_t seed = 42;
    check(aef_model_fit(model, x, ROWS, WIDTH, NULL, 0, &seed, progress, NULL), "aef_model_fit");

    /* Features: ask for the size, then fill a buffer of our own. */
    size_t n_features = 0, n_scores = 0;
    check(aef_model_output_size(model, AEF_OUTPUT_FEATURES, ROWS, &n_features), "aef_model_output_size");
    check(aef_model_output_size(model, AEF_OUTPUT_SCORES, ROWS, &n_scores), "aef_model_output_size");
    float *features = malloc(n_features * sizeof *features);
    float *scores = malloc(n_scores * sizeof *scores);
    int32_t *labels = malloc(ROWS * sizeof *labels);
    check(aef_model_transform(model, x, ROWS, WIDTH, features, n_features), "aef_model_transform");
    check(aef_model_score(model, x, ROWS, WIDTH, scores, n_scores), "aef_model_score");
    check(aef_model_predict(model, x, ROWS, WIDTH, labels, ROWS), "aef_model_predict");
    printf("row 0 features: %.4f %.4f\n", features[0], features[1]);

    int caught = 0, flagged = 0;
    for (int r = 0; r < ROWS; r++) {
        flagged += labels[r];
        if (r >= ROWS - ANOMALIES) caught += labels[r];
    }
    float threshold = 0;
    check(aef_model_threshold(model, &threshold), "aef_model_threshold");
    printf("threshold %.5f: %d rows flagged, %d of the %d planted anomalies among them\n", threshold, flagged, caught,
           ANOMALIES);

    /* Save, reload, compare. */
    const char *path = "example-model.aef";
    check(aef_model_save(model, path), "aef_model_save");
    aef_model *reloaded = NULL;
    check(aef_model_load(path, &reloaded), "aef_model_load");
    float *features2 = malloc(n_features * sizeof *features2), *scores2 = malloc(n_scores * sizeof *scores2);
    check(aef_model_transform(reloaded, x, ROWS, WIDTH, features2, n_features), "aef_model_transform");
    check(aef_model_score(reloaded, x, ROWS, WIDTH, scores2, n_scores), "aef_model_score");
    int identical = memcmp(features, features2, n_features * sizeof *features) == 0 &&
                    memcmp(scores, scores2, n_scores * sizeof *scores) == 0;
    printf("reloaded model from %s: outputs %s\n", path, identical ? "identical" : "DIFFERENT");
    remove(path);

    free(features); free(scores); free(labels); free(features2); free(scores2);
    aef_model_free(reloaded);
    aef_model_free(model);
    return identical && caught >= ANOMALIES / 2 ? 0 : 1;
}
