/* The bad-input matrix's specs (malformed, absurd, deeply nested) and files and buffers (hostile
 * bytes, truncations, paths). Part of test_bad_inputs (see test_bad_inputs.c). */
#define _POSIX_C_SOURCE 200809L
#include "bad_inputs.h"
#include "data.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void spec_matrix(void) {
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
        expect(s, AEF_ERR_INVALID_SPEC, invalid[i], __FILE__, __LINE__);
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

void file_matrix(const float *x) {
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
