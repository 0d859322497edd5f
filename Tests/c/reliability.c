/* Reliability checks of libaefeatures through its C ABI, one per subcommand (see `make check-reliability`):
 *
 *   stress THREADS ROUNDS   half the threads run inference on one shared model, the other half create,
 *                           fit, save, load and free their own; every result must equal the
 *                           single-threaded one bit for bit (run it under ThreadSanitizer too)
 *   soak CYCLES             create/fit/transform/save/load/free cycles; resident memory must stay flat
 *   kill-save TRIALS DIR    a child saves two models alternately over one path and is SIGKILLed at
 *                           random moments; the path must always load as one of the two, complete
 *   fingerprint THREADS     fits with a fixed seed and prints a hash of the model's bytes (the
 *                           Makefile compares two runs: same seed and threads, same bits)
 *   save-loop PATH A B      (used by kill-save) saves the models of files A and B over PATH forever
 *   save-failures DIR       saves that cannot complete (file-size limit, full disk, read-only
 *                           directory) over a saved model: AEF_ERR_IO naming the cause, the old
 *                           file intact byte for byte, no temporary file left
 *   save-limited PATH B N   (used by save-failures) saves model file B over PATH with writes
 *                           limited to N bytes per file (RLIMIT_FSIZE)
 *
 * Each prints one summary line and exits non-zero on any failure. */
#define _POSIX_C_SOURCE 200809L
#include "reliability.h"
#include "data.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

_Noreturn void die(const char *what) {
    fprintf(stderr, "reliability: %s (last error: %s)\n", what, aef_last_error());
    exit(1);
}

aef_model *fit_model(const char *spec, const float *x, size_t rows, uint64_t seed) {
    aef_model *m = NULL;
    if (aef_model_create(spec, &m) != AEF_OK) die("create failed");
    if (aef_model_fit(m, x, rows, WIDTH, NULL, 0, &seed, NULL, NULL) != AEF_OK) die("fit failed");
    return m;
}

/* The model's bytes; the caller frees them. */
unsigned char *model_bytes(const aef_model *m, size_t *size) {
    if (aef_model_save_buffer(m, NULL, 0, size) != AEF_OK) die("save_buffer (size) failed");
    unsigned char *bytes = malloc(*size);
    if (!bytes || aef_model_save_buffer(m, bytes, *size, size) != AEF_OK) die("save_buffer failed");
    return bytes;
}

/* ---- stress ---- */

struct shared {
    const aef_model *model;
    const float *x;
    const float *features;       /* single-threaded transform of x */
    const unsigned char *bytes;  /* single-threaded fit's model bytes */
    size_t size;
    int rounds;
};

struct job {
    struct shared *shared;
    int index;
    int mismatches;
    int calls;
};

static void *inference_job(void *arg) {
    struct job *job = arg;
    struct shared *s = job->shared;
    float *features = malloc(sizeof(float) * ROWS * CODE);
    for (int r = 0; r < s->rounds * 20; r++, job->calls++) {
        if (aef_model_transform(s->model, s->x, ROWS, WIDTH, features, ROWS * CODE) != AEF_OK ||
            memcmp(features, s->features, sizeof(float) * ROWS * CODE) != 0)
            job->mismatches++;
    }
    free(features);
    return NULL;
}

static void *owner_job(void *arg) {
    struct job *job = arg;
    struct shared *s = job->shared;
    char path[64];
    snprintf(path, sizeof path, "/tmp/aef-stress-%d-%d.aef", (int)getpid(), job->index);
    float *features = malloc(sizeof(float) * ROWS * CODE);
    for (int r = 0; r < s->rounds; r++, job->calls++) {
        aef_model *m = fit_model(SPEC, s->x, ROWS, 7), *loaded = NULL;
        size_t size = 0;
        unsigned char *bytes = model_bytes(m, &size);
        job->mismatches += size != s->size || memcmp(bytes, s->bytes, size) != 0;
        free(bytes);
        if (aef_model_save(m, path) != AEF_OK || aef_model_load(path, &loaded) != AEF_OK ||
            aef_model_transform(loaded, s->x, ROWS, WIDTH, features, ROWS * CODE) != AEF_OK ||
            memcmp(features, s->features, sizeof(float) * ROWS * CODE) != 0)
            job->mismatches++;
        aef_model_free(loaded);
        aef_model_free(m);
    }
    unlink(path);
    free(features);
    return NULL;
}

static int stress(int threads, int rounds) {
    static float x[ROWS * WIDTH], features[ROWS * CODE];
    make_data(x, ROWS, WIDTH, 1);
    aef_model *m = fit_model(SPEC, x, ROWS, 7);
    if (aef_model_transform(m, x, ROWS, WIDTH, features, ROWS * CODE) != AEF_OK) die("transform failed");
    struct shared s = {m, x, features, NULL, 0, rounds};
    s.bytes = model_bytes(m, &s.size);
    pthread_t *ids = calloc((size_t)threads, sizeof *ids);
    struct job *jobs = calloc((size_t)threads, sizeof *jobs);
    for (int i = 0; i < threads; i++) {
        jobs[i] = (struct job){&s, i, 0, 0};
        if (pthread_create(&ids[i], NULL, i % 2 ? owner_job : inference_job, &jobs[i]) != 0) die("pthread_create failed");
    }
    int mismatches = 0, inferences = 0, fits = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(ids[i], NULL);
        mismatches += jobs[i].mismatches;
        *(i % 2 ? &fits : &inferences) += jobs[i].calls;
    }
    printf("stress: %d threads, %d inference calls on one shared model and %d create/fit/save/load/free cycles "
           "alongside: %d results differ from the single-threaded ones\n", threads, inferences, fits, mismatches);
    free((void *)s.bytes);
    free(ids);
    free(jobs);
    aef_model_free(m);
    return mismatches != 0;
}

/* ---- soak ---- */

static long resident_kib(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2) die("cannot read /proc/self/statm");
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int soak(int cycles) {
    static float x[64 * WIDTH], features[64 * CODE];
    make_data(x, 64, WIDTH, 3);
    const char *spec = "{\"input_shape\":[12],\"hidden_units\":[8],\"code_size\":3,\"training\":{\"epochs\":1,\"batch_size\":16}}";
    long settled = 0;
    for (int c = 0; c < cycles; c++) {
        if (c == cycles / 10) settled = resident_kib(); /* after allocator pools and thread pools have grown */
        aef_model *m = fit_model(spec, x, 64, (uint64_t)c), *loaded = NULL;
        size_t size = 0;
        unsigned char *bytes = model_bytes(m, &size);
        if (aef_model_load_buffer(bytes, size, &loaded) != AEF_OK) die("load_buffer failed");
        if (aef_model_transform(loaded, x, 64, WIDTH, features, 64 * CODE) != AEF_OK) die("transform failed");
        free(bytes);
        aef_model_free(loaded);
        aef_model_free(m);
    }
    long end = resident_kib(), growth = end - settled;
    printf("soak: %d create/fit/save/load/transform/free cycles; resident %ld KiB after %d cycles, %ld KiB at the end "
           "(growth %ld KiB, limit 2048)\n", cycles, settled, cycles / 10, end, growth);
    return growth > 2048;
}

/* ---- fingerprint ---- */

static int fingerprint(int threads) {
    static float x[ROWS * WIDTH];
    make_data(x, ROWS, WIDTH, 2);
    if (aef_set_num_threads(threads) != AEF_OK) die("set_num_threads failed");
    const char *specs[] = {
        SPEC,
        "{\"variant\":\"variational\",\"input_shape\":[12],\"hidden_units\":[16],\"code_size\":2,\"training\":{\"epochs\":3}}",
        "{\"variant\":\"seq2seq\",\"input_shape\":[4,3],\"hidden_units\":[8],\"code_size\":3,\"training\":{\"epochs\":2}}",
        "{\"variant\":\"conv2d\",\"input_shape\":[4,3,1],\"code_size\":2,\"conv_blocks\":[{\"filters\":4,\"kernel\":2}],"
        "\"training\":{\"epochs\":2}}",
    };
    uint64_t hash = 1469598103934665603ull; /* FNV-1a over every model's bytes */
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        aef_model *m = fit_model(specs[i], x, ROWS, 11);
        size_t size = 0;
        unsigned char *bytes = model_bytes(m, &size);
        for (size_t j = 0; j < size; j++) hash = (hash ^ bytes[j]) * 1099511628211ull;
        free(bytes);
        aef_model_free(m);
    }
    printf("%016llx\n", (unsigned long long)hash);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "stress") == 0) return stress(atoi(argv[2]), atoi(argv[3]));
    if (argc == 3 && strcmp(argv[1], "soak") == 0) return soak(atoi(argv[2]));
    if (argc == 4 && strcmp(argv[1], "kill-save") == 0) return kill_save(atoi(argv[2]), argv[3], argv[0]);
    if (argc == 5 && strcmp(argv[1], "save-loop") == 0) save_loop(argv[2], argv[3], argv[4]);
    if (argc == 3 && strcmp(argv[1], "fingerprint") == 0) return fingerprint(atoi(argv[2]));
    if (argc == 3 && strcmp(argv[1], "save-failures") == 0) return save_failures(argv[2], argv[0]);
    if (argc == 5 && strcmp(argv[1], "save-limited") == 0) return save_limited(argv[2], argv[3], atol(argv[4]));
    fprintf(stderr, "usage: %s stress THREADS ROUNDS | soak CYCLES | kill-save TRIALS DIR | fingerprint THREADS | "
            "save-failures DIR\n", argv[0]);
    return 2;
}
