/* The reliability checks of saving: kill-save (SIGKILL during saves) and save-failures (saves
 * that cannot complete). Part of the reliability program (see reliability.c). */
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

_Noreturn void save_loop(const char *path, const char *a, const char *b) {
    aef_model *models[2] = {NULL, NULL};
    if (aef_model_load(a, &models[0]) != AEF_OK || aef_model_load(b, &models[1]) != AEF_OK) die("cannot load A and B");
    printf("ready\n");
    fflush(stdout);
    for (unsigned long i = 0;; i++) {
        if (aef_model_save(models[i % 2], path) != AEF_OK) die("save failed");
    }
}

int kill_save(int trials, const char *dir, const char *self) {
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
int save_limited(const char *path, const char *model_file, long limit) {
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

int save_failures(const char *dir, const char *self) {
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
