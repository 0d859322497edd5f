/* What the C API tests (test_capi.c, capi_fit.c, capi_files.c) share: the check macros and
 * their counters, the data sizes and spec, and the helpers and test functions each file gives. */
#ifndef AEF_CAPI_CHECKS_H
#define AEF_CAPI_CHECKS_H
#include "aefeatures.h"

#include <stdio.h>
#include <string.h>

extern int passed, failed;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (cond) {                                                             \
            passed++;                                                           \
        } else {                                                                \
            failed++;                                                           \
            printf("FAIL %s:%d: %s -- ", __FILE__, __LINE__, #cond);            \
            printf(__VA_ARGS__);                                                \
            printf(" (last error: %s)\n", aef_last_error());                    \
        }                                                                       \
    } while (0)

/* A status check that also requires a non-empty message for errors. */
#define CHECK_STATUS(call, expected)                                                         \
    do {                                                                                     \
        aef_status got_ = (call);                                                            \
        CHECK(got_ == (expected), "%s returned %s, expected %s", #call, aef_status_string(got_), \
              aef_status_string(expected));                                                  \
        if ((expected) != AEF_OK && (expected) != AEF_CANCELLED)                             \
            CHECK(strlen(aef_last_error()) > 0, "no message after %s", #call);               \
    } while (0)

#define ROWS 400
#define WIDTH 12
#define CODE 3

#define SPEC                                                                          \
    "{\"input_shape\":[4,3],\"hidden_units\":[16],\"code_size\":3,\"batch_norm\":true,"                 \
    "\"training\":{\"epochs\":6,\"batch_size\":32}}"

/* test_capi.c */
int memeq_floats(const float *a, const float *b, size_t n);
aef_model *fitted_model(const float *x);
unsigned char *model_bytes(const aef_model *m, size_t *size);
/* capi_fit.c */
void test_fit_needs_the_model_alone(const float *x);
void test_partial_fit(const float *x);
void test_fit(const float *x);
void test_inference(aef_model *m, const float *x);
/* capi_files.c */
void test_persistence(aef_model *m, const float *x);
void test_onnx(aef_model *m);
#endif
