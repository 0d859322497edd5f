/* What the reliability checks (reliability.c, reliability_files.c) share: sizes, the spec, the
 * helpers of reliability.c and the file checks of reliability_files.c. */
#ifndef AEF_RELIABILITY_H
#define AEF_RELIABILITY_H
#include "aefeatures.h"

#include <stddef.h>
#include <stdint.h>

#define ROWS 256
#define WIDTH 12
#define CODE 3

#define SPEC                                                                          \
    "{\"input_shape\":[4,3],\"hidden_units\":[16],\"code_size\":3,\"batch_norm\":true,"                 \
    "\"training\":{\"epochs\":3,\"batch_size\":32}}"

/* reliability.c */
_Noreturn void die(const char *what);
aef_model *fit_model(const char *spec, const float *x, size_t rows, uint64_t seed);
unsigned char *model_bytes(const aef_model *m, size_t *size);
/* reliability_files.c */
_Noreturn void save_loop(const char *path, const char *a, const char *b);
int kill_save(int trials, const char *dir, const char *self);
int save_limited(const char *path, const char *model_file, long limit);
int save_failures(const char *dir, const char *self);
#endif
