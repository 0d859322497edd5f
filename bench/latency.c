/* Batch-1 latency through the C API: a model file's aef_model_transform (or, with `score`,
 * aef_model_score) on one row at a time, as an embedding host calls it (no Python in between).
 * Prints one JSON line: the median (p50) and 99th-percentile (p99) latency in microseconds over
 * `calls` timed calls, after 200 untimed ones; their 1st percentile (p1_us: the calls the machine disturbed least, the
 * figure to compare two builds by on a noisy machine); and the median over 500 calls each made
 * 1 ms after the last (p50_idle_us: an event-at-a-time host, whose threads have gone to sleep
 * between calls). The row is uniform in [0, 1).
 *
 *     make bench-latency; build/latency MODEL.aef [calls] [transform|score]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aefeatures.h"

static double microseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return 1e6 * (double)t.tv_sec + 1e-3 * (double)t.tv_nsec;
}

static int ascending(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const char *kind = argc >= 4 ? argv[3] : "transform";
    if (argc < 2 || argc > 4 || (strcmp(kind, "transform") != 0 && strcmp(kind, "score") != 0)) {
        fprintf(stderr, "usage: %s MODEL.aef [calls] [transform|score]\n", argv[0]);
        return 2;
    }
    int scoring = strcmp(kind, "score") == 0;
    aef_status (*infer)(const aef_model *, const float *, size_t, size_t, float *, size_t) =
        scoring ? aef_model_score : aef_model_transform;
    int calls = argc >= 3 ? atoi(argv[2]) : 20000;
    if (calls < 500) {
        fprintf(stderr, "calls must be at least 500\n");
        return 2;
    }
    aef_model *model = NULL;
    size_t inputs = 0, codes = 0;
    if (aef_model_load(argv[1], &model) != AEF_OK || aef_model_sample_size(model, &inputs) != AEF_OK ||
        aef_model_code_size(model, &codes) != AEF_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], aef_last_error());
        aef_model_free(model);
        return 1;
    }
    size_t outputs = scoring ? 1 : codes;
    float *row = malloc(inputs * sizeof *row), *code = malloc(outputs * sizeof *code);
    double *times = malloc((size_t)calls * sizeof *times);
    if (!row || !code || !times) return 1;
    srand(1);
    for (size_t i = 0; i < inputs; i++) row[i] = (float)rand() / ((float)RAND_MAX + 1.0f);
    for (int i = -200; i < calls; i++) {
        double start = microseconds();
        if (infer(model, row, 1, inputs, code, outputs) != AEF_OK) {
            fprintf(stderr, "%s: %s\n", kind, aef_last_error());
            return 1;
        }
        if (i >= 0) times[i] = microseconds() - start;
    }
    qsort(times, (size_t)calls, sizeof *times, ascending);
    double p1 = times[calls / 100], p50 = times[calls / 2], p99 = times[(size_t)(0.99 * calls)];
    enum { IDLE_CALLS = 500 };
    const struct timespec gap = {0, 1000000};
    for (int i = 0; i < IDLE_CALLS; i++) {
        nanosleep(&gap, NULL);
        double start = microseconds();
        if (infer(model, row, 1, inputs, code, outputs) != AEF_OK) return 1;
        times[i] = microseconds() - start;
    }
    qsort(times, IDLE_CALLS, sizeof *times, ascending);
    printf("{\"model\": \"%s\", \"call\": \"%s\", \"calls\": %d, \"p1_us\": %.2f, \"p50_us\": %.2f, \"p99_us\": %.2f, \"p50_idle_us\": %.2f}\n",
           argv[1], kind, calls, p1, p50, p99, times[IDLE_CALLS / 2]);
    free(row);
    free(code);
    free(times);
    aef_model_free(model);
    return 0;
}
