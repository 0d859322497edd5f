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
#include "aefeatures.h"
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

#define ROWS 256
#define WIDTH 12
#define CODE 3

static const char *SPEC =
    "{\"input_shape\":[4,3],\"hidden_units\":[16],\"code_size\":3,\"batch_norm\":true,"
    "\"training\":{\"epochs\":3,\"batch_size\":32}}";

static void die(const char *what) {
    fprintf(stderr, "reliability: %s (last error: %s)\n", what, aef_last_error());
    exit(1);
}

static aef_model *fit_model(const char *spec, const float *x, size_t rows, uint64_t seed) {
    aef_model *m = NULL;
    if (aef_model_create(spec, &m) != AEF_OK) die("create failed");
    if (aef_model_fit(m, x, rows, WIDTH, NULL, 0, &seed, NULL, NULL) != AEF_OK) die("fit failed");
    return m;
}

/* The model's bytes; the caller frees them. */
static unsigned char *model_bytes(const aef_model *m, size_t *size) {
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

/* ---- kill-save ---- */

static unsigned char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    rewind(f);
    unsigned char *bytes = malloc(*size ? *size : 1);
    if (fread(bytes, 1, *size, f) != *size) die("short read");
    fclose(f);
    return bytes;
}

static _Noreturn void save_loop(const char *path, const char *a, const char *b) {
    aef_model *models[2] = {NULL, NULL};
    if (aef_model_load(a, &models[0]) != AEF_OK || aef_model_load(b, &models[1]) != AEF_OK) die("cannot load A and B");
    printf("ready\n");
    fflush(stdout);
    for (unsigned long i = 0;; i++) {
        if (aef_model_save(models[i % 2], path) != AEF_OK) die("save failed");
    }
}

static int kill_save(int trials, const char *dir, const char *self) {
    /* A and B: two fitted models large enough (~0.5 MB) that a save takes a while. */
    static float x[ROWS * WIDTH];
    make_data(x, ROWS, WIDTH, 5);
    const char *spec = "{\"input_shape\":[12],\"hidden_units\":[4096,24],\"code_size\":3,\"training\":{\"epochs\":1}}";
    char path[512], pa[512], pb[512];
    snprintf(path, sizeof path, "%s/target.aef", dir);
    snprintf(pa, sizeof pa, "%s/a.aef", dir);
    snprintf(pb, sizeof pb, "%s/b.aef", dir);
    size_t sizes[2];
    unsigned char *bytes[2];
    for (int i = 0; i < 2; i++) {
        aef_model *m = fit_model(spec, x, ROWS, (uint64_t)i + 1);
        bytes[i] = model_bytes(m, &sizes[i]);
        aef_model_free(m);
    }
    if (write_file(pa, bytes[0], sizes[0]) || write_file(pb, bytes[1], sizes[1]) || write_file(path, bytes[0], sizes[0]))
        die("cannot write the reference models");
    srand((unsigned)time(NULL));
    int lost = 0, seen[2] = {0, 0};
    for (int t = 0; t < trials; t++) {
        int out[2];
        if (pipe(out) != 0) die("pipe failed");
        pid_t child = fork();
        if (child == 0) {
            dup2(out[1], STDOUT_FILENO);
            close(out[0]);
            execl(self, self, "save-loop", path, pa, pb, (char *)NULL);
            _exit(127);
        }
        close(out[1]);
        char ready[8] = {0};
        if (read(out[0], ready, 6) != 6 || strncmp(ready, "ready", 5) != 0) die("the saving child did not start");
        close(out[0]);
        struct timespec pause = {0, (long)(rand() % 20000) * 1000}; /* 0-20 ms: several saves in flight */
        nanosleep(&pause, NULL);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);

        size_t size = 0;
        unsigned char *now = read_file(path, &size);
        aef_model *loaded = NULL;
        int which = -1;
        for (int i = 0; i < 2 && now; i++)
            if (size == sizes[i] && memcmp(now, bytes[i], size) == 0) which = i;
        if (which < 0 || aef_model_load(path, &loaded) != AEF_OK) {
            lost++;
            fprintf(stderr, "kill-save: trial %d left %s unusable (%zu bytes)\n", t, path, size);
        } else {
            seen[which]++;
        }
        aef_model_free(loaded);
        free(now);
    }
    /* A killed save leaves its temporary file behind (it never reaches the rename); count and remove them. */
    int leftovers = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strstr(e->d_name, ".target.aef.tmp-") == e->d_name) {
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
            leftovers++;
        }
    }
    if (d) closedir(d);
    printf("kill-save: %d SIGKILLs during saves: the path held model A %d times, model B %d times, "
           "anything else %d times; %d temporary files of killed saves removed\n", trials, seen[0], seen[1], lost, leftovers);
    unlink(path);
    unlink(pa);
    unlink(pb);
    free(bytes[0]);
    free(bytes[1]);
    return lost != 0;
}

/* ---- save-failures ---- */

/* Temporary files of saves over `name` left in dir (removed as they are counted). */
static int remove_temporaries(const char *dir, const char *name) {
    char prefix[256];
    snprintf(prefix, sizeof prefix, ".%s.tmp-", name);
    int found = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strstr(e->d_name, prefix) == e->d_name) {
            char p[2048];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
            found++;
        }
    }
    if (d) closedir(d);
    return found;
}

/* After a save that had to fail with `status` and `message`: 0 if it was AEF_ERR_IO naming `cause`,
 * the path still holds `old` byte for byte and loads, and no temporary file remains. */
static int check_failed_save(const char *label, aef_status status, const char *message, const char *dir,
                             const char *name, const unsigned char *old, size_t old_size, const char *cause) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int bad = 0;
    if (status != AEF_ERR_IO || !strstr(message, cause)) {
        fprintf(stderr, "save-failures: %s: %s \"%s\", expected AEF_ERR_IO naming \"%s\"\n", label,
                aef_status_string(status), message, cause);
        bad = 1;
    }
    size_t size = 0;
    unsigned char *now = read_file(path, &size);
    aef_model *loaded = NULL;
    if (!now || size != old_size || memcmp(now, old, old_size) != 0 || aef_model_load(path, &loaded) != AEF_OK) {
        fprintf(stderr, "save-failures: %s: the model saved before is damaged\n", label);
        bad = 1;
    }
    aef_model_free(loaded);
    free(now);
    int temporaries = remove_temporaries(dir, name);
    if (temporaries) {
        fprintf(stderr, "save-failures: %s: %d temporary files left behind\n", label, temporaries);
        bad = 1;
    }
    if (!bad) printf("  %s: AEF_ERR_IO (%s); the model saved before intact, no temporary file left\n", label, message);
    return bad;
}

/* The child of the file-size case: writes beyond `limit` bytes fail with EFBIG (SIGXFSZ ignored). */
static int save_limited(const char *path, const char *model_file, long limit) {
    aef_model *m = NULL;
    if (aef_model_load(model_file, &m) != AEF_OK) die("cannot load the model to save");
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit cap = {(rlim_t)limit, (rlim_t)limit};
    if (setrlimit(RLIMIT_FSIZE, &cap) != 0) die("setrlimit failed");
    aef_status status = aef_model_save(m, path);
    printf("%d %s\n", (int)status, aef_last_error());
    aef_model_free(m);
    return 0;
}

/* Fills the file system holding `dir` until a write fails with ENOSPC. */
static int fill_file_system(const char *dir) {
    char path[2048];
    snprintf(path, sizeof path, "%s/filler", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    static char block[4096];
    ssize_t n;
    while ((n = write(fd, block, sizeof block)) > 0) {}
    int full = n < 0 && errno == ENOSPC;
    while (full && write(fd, block, 1) > 0) {}
    close(fd);
    return full ? 0 : -1;
}

static int save_failures(const char *dir, const char *self) {
    static float x[ROWS * WIDTH];
    make_data(x, ROWS, WIDTH, 9);
    aef_model *a = fit_model(SPEC, x, ROWS, 1), *b = fit_model(SPEC, x, ROWS, 2);
    size_t a_size = 0;
    unsigned char *a_bytes = model_bytes(a, &a_size);
    if (strlen(dir) > 512) die("the directory's path is too long");
    char path[1024], b_file[1024];
    snprintf(path, sizeof path, "%s/model.aef", dir);
    snprintf(b_file, sizeof b_file, "%s/b.aef", dir);
    if (aef_model_save(a, path) != AEF_OK || aef_model_save(b, b_file) != AEF_OK) die("cannot save the models");
    int failures = 0, cases = 0;

    /* 1. A file-size limit (RLIMIT_FSIZE, the EFBIG a quota or ulimit gives): needs no privileges. */
    char limit[32], command[4096], line[1024] = {0};
    snprintf(limit, sizeof limit, "%zu", a_size / 2);
    snprintf(command, sizeof command, "'%s' save-limited '%s' '%s' %s", self, path, b_file, limit);
    FILE *child = popen(command, "r");
    if (!child || !fgets(line, sizeof line, child) || pclose(child) != 0) die("the size-limited save did not run");
    line[strcspn(line, "\n")] = 0;
    char *message = strchr(line, ' ');
    failures += check_failed_save("file-size limit", (aef_status)atoi(line), message ? message + 1 : "", dir,
                                  "model.aef", a_bytes, a_size, "File too large");
    cases++;

    /* 2 and 3. A full disk (ENOSPC) and a read-only file system (EROFS): a small tmpfs, which needs root. */
    char mounted[1024];
    snprintf(mounted, sizeof mounted, "%s/small-fs", dir);
    mkdir(mounted, 0755);
    const char *no_mount = geteuid() != 0 ? "not root" : NULL;
    if (!no_mount && mount("tmpfs", mounted, "tmpfs", 0, "size=256k") != 0) no_mount = strerror(errno);
    if (!no_mount) {
        char inside[2048];
        snprintf(inside, sizeof inside, "%s/model.aef", mounted);
        if (aef_model_save(a, inside) != AEF_OK || fill_file_system(mounted) != 0) die("cannot fill the small file system");
        aef_status status = aef_model_save(b, inside);
        char copy[1024];
        snprintf(copy, sizeof copy, "%s", aef_last_error());
        failures += check_failed_save("full disk", status, copy, mounted, "model.aef", a_bytes, a_size,
                                      "No space left on device");
        if (mount(NULL, mounted, NULL, MS_REMOUNT | MS_RDONLY, NULL) != 0) die("cannot remount read-only");
        status = aef_model_save(b, inside);
        snprintf(copy, sizeof copy, "%s", aef_last_error());
        failures += check_failed_save("read-only file system", status, copy, mounted, "model.aef", a_bytes, a_size,
                                      "Read-only file system");
        cases += 2;
        if (umount(mounted) != 0) die("cannot unmount the small file system");
    } else {
        /* Without root: a directory without write permission stands in for the read-only case. */
        fprintf(stderr, "save-failures: full disk NOT TESTED: cannot mount a small tmpfs (%s)\n", no_mount);
        char ro[1024];
        snprintf(ro, sizeof ro, "%s/read-only", dir);
        mkdir(ro, 0755);
        char inside[2048];
        snprintf(inside, sizeof inside, "%s/model.aef", ro);
        if (aef_model_save(a, inside) != AEF_OK || chmod(ro, 0555) != 0) die("cannot prepare the read-only directory");
        aef_status status = aef_model_save(b, inside);
        char copy[1024];
        snprintf(copy, sizeof copy, "%s", aef_last_error());
        failures += check_failed_save("read-only directory", status, copy, ro, "model.aef", a_bytes, a_size,
                                      "Permission denied");
        cases++;
        chmod(ro, 0755);
        unlink(inside);
        rmdir(ro);
    }
    rmdir(mounted);
    unlink(path);
    unlink(b_file);
    free(a_bytes);
    aef_model_free(a);
    aef_model_free(b);
    printf("save-failures: %d of %d failing saves reported AEF_ERR_IO and left the saved model intact\n",
           cases - failures, cases);
    return failures != 0;
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
