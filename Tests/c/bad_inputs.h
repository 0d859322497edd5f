/* What the bad-input matrix (test_bad_inputs.c, bad_input_specs_and_files.c) shares: the EXPECT
 * check and its counters, sizes, the spec and the model helper. */
#ifndef AEF_BAD_INPUTS_H
#define AEF_BAD_INPUTS_H
#include "aefeatures.h"

#include <stddef.h>
#include <stdint.h>

extern int cases, failed;
void expect(aef_status got, aef_status expected, const char *call, const char *file, int line);
#define EXPECT(call, status) expect((call), (status), #call, __FILE__, __LINE__)

#define ROWS 64
#define WIDTH 12
#define CODE 3
#define HUGE_ROWS ((size_t)1 << 40)           /* n x width x 4 bytes still fits in size_t */
#define OVERFLOW_ROWS (SIZE_MAX / WIDTH + 1)  /* n x width overflows */
#define NEGATIVE ((size_t)-1)                 /* what -1 becomes through size_t */

#define SPEC "{\"input_shape\":[12],\"hidden_units\":[8],\"code_size\":3,\"training\":{\"epochs\":2}}"

/* test_bad_inputs.c: a model of `spec`, fitted on ROWS rows of x unless x is NULL; NULL on failure. */
aef_model *model_of(const char *spec, const float *x);
/* bad_input_specs_and_files.c */
void spec_matrix(void);
void file_matrix(const float *x);
#endif
