/* The C API's model files and buffers (save, load, corruption, atomic replacement) and ONNX
 * export. Part of test_capi (see test_capi.c). */
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

/* Writes bytes to a file; returns 0 on success. */
void test_persistence(aef_model *m, const float *x) {
    static float before[ROWS * WIDTH], after[ROWS * WIDTH];
    char path[] = "/tmp/aef-test-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    aef_model *loaded = NULL;

    CHECK_STATUS(aef_model_save(m, path), AEF_OK);
    CHECK_STATUS(aef_model_load(path, &loaded), AEF_OK);
    int fitted = 0;
    CHECK_STATUS(aef_model_is_fitted(loaded, &fitted), AEF_OK);
    CHECK(fitted == 1, "loaded model is fitted");
    CHECK_STATUS(aef_model_score(m, x, ROWS, WIDTH, before, ROWS), AEF_OK);
    CHECK_STATUS(aef_model_score(loaded, x, ROWS, WIDTH, after, ROWS), AEF_OK);
    CHECK(memeq_floats(before, after, ROWS), "scores bit-identical after a file round trip");
    CHECK_STATUS(aef_model_reconstruct(m, x, ROWS, WIDTH, before, ROWS * WIDTH), AEF_OK);
    CHECK_STATUS(aef_model_reconstruct(loaded, x, ROWS, WIDTH, after, ROWS * WIDTH), AEF_OK);
    CHECK(memeq_floats(before, after, ROWS * WIDTH), "reconstructions bit-identical");
    float t1, t2;
    aef_model_threshold(m, &t1);
    aef_model_threshold(loaded, &t2);
    CHECK(t1 == t2, "threshold kept");
    size_t e1 = 0, e2 = 0;
    aef_model_history(m, NULL, NULL, 0, &e1);
    aef_model_history(loaded, NULL, NULL, 0, &e2);
    CHECK(e1 == e2 && e1 > 0, "history kept");
    aef_model_free(loaded);

    CHECK_STATUS(aef_model_save(NULL, path), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_save(m, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_save(m, "/nonexistent-dir/model.aef"), AEF_ERR_IO);
    CHECK_STATUS(aef_model_save(m, "/tmp/"), AEF_ERR_IO);
    CHECK_STATUS(aef_model_load("/nonexistent-dir/model.aef", &loaded), AEF_ERR_IO);
    CHECK(loaded == NULL, "out NULL on failure");
    CHECK_STATUS(aef_model_load("/tmp", &loaded), AEF_ERR_IO);
    CHECK_STATUS(aef_model_load(path, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_load(NULL, &loaded), AEF_ERR_NULL_ARGUMENT);

    /* In memory. */
    size_t size = 0;
    CHECK_STATUS(aef_model_save_buffer(m, NULL, 0, &size), AEF_OK);
    unsigned char *bytes = malloc(size), *copy = malloc(size);
    CHECK_STATUS(aef_model_save_buffer(m, bytes, size - 1, &size), AEF_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(aef_model_save_buffer(m, bytes, size, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_save_buffer(m, bytes, size, &size), AEF_OK);
    CHECK_STATUS(aef_model_load_buffer(bytes, size, &loaded), AEF_OK);
    CHECK_STATUS(aef_model_score(loaded, x, ROWS, WIDTH, after, ROWS), AEF_OK);
    CHECK_STATUS(aef_model_score(m, x, ROWS, WIDTH, before, ROWS), AEF_OK);
    CHECK(memeq_floats(before, after, ROWS), "scores bit-identical after a buffer round trip");
    size_t size2 = 0;
    unsigned char *bytes2 = malloc(size);
    CHECK_STATUS(aef_model_save_buffer(loaded, bytes2, size, &size2), AEF_OK);
    CHECK(size2 == size && memcmp(bytes, bytes2, size) == 0, "re-saved bytes identical");
    free(bytes2);
    aef_model_free(loaded);
    CHECK_STATUS(aef_model_load_buffer(NULL, size, &loaded), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_load_buffer(bytes, size, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_load_buffer(bytes, SIZE_MAX, &loaded), AEF_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(aef_model_load_buffer(bytes, 0, &loaded), AEF_ERR_CORRUPT_MODEL);
    CHECK_STATUS(aef_model_save_buffer(m, bytes, SIZE_MAX, &size), AEF_OK); /* "plenty of room" */

    /* Every truncation and single-byte corruption is refused without a crash. */
    int quick = getenv("AEF_TEST_QUICK") != NULL;
    size_t step = quick ? size / 40 + 1 : 1, refused = 0, tried = 0;
    for (size_t cut = 0; cut < size; cut += step, tried++) {
        aef_status s = aef_model_load_buffer(bytes, cut, &loaded);
        refused += s == AEF_ERR_CORRUPT_MODEL && loaded == NULL;
        if (s == AEF_OK) aef_model_free(loaded);
    }
    CHECK(refused == tried, "truncations refused: %zu of %zu", refused, tried);
    refused = tried = 0;
    for (size_t i = 0; i < size; i += step, tried++) {
        memcpy(copy, bytes, size);
        copy[i] ^= 0x5A;
        aef_status s = aef_model_load_buffer(copy, size, &loaded);
        refused += s == AEF_ERR_CORRUPT_MODEL;
        if (s == AEF_OK) aef_model_free(loaded);
    }
    CHECK(refused == tried, "corruptions refused: %zu of %zu", refused, tried);
    CHECK_STATUS(aef_model_load_buffer("hello, world, not a model at all, but long enough to pass the size check",
                                       73, &loaded), AEF_ERR_CORRUPT_MODEL);
    memcpy(copy, bytes, size);
    copy[8] = 2; /* a future format version */
    CHECK_STATUS(aef_model_load_buffer(copy, size, &loaded), AEF_ERR_CORRUPT_MODEL);
    CHECK(strstr(aef_last_error(), "version") != NULL, "%s", aef_last_error());

    /* A corrupt file on disk; and a failed save leaves the previous model in place. */
    memcpy(copy, bytes, size);
    copy[size / 2] ^= 1;
    CHECK(write_file(path, copy, size) == 0, "wrote corrupt file");
    CHECK_STATUS(aef_model_load(path, &loaded), AEF_ERR_CORRUPT_MODEL);
    CHECK(write_file(path, bytes, size / 3) == 0, "wrote truncated file");
    CHECK_STATUS(aef_model_load(path, &loaded), AEF_ERR_CORRUPT_MODEL);
    CHECK(write_file(path, "", 0) == 0, "wrote empty file");
    CHECK_STATUS(aef_model_load(path, &loaded), AEF_ERR_CORRUPT_MODEL);
    CHECK_STATUS(aef_model_save(m, path), AEF_OK);
    CHECK_STATUS(aef_model_load(path, &loaded), AEF_OK);
    aef_model_free(loaded);

    /* An unfitted model saves and loads as unfitted. */
    aef_model *fresh = NULL;
    CHECK_STATUS(aef_model_create(SPEC, &fresh), AEF_OK);
    CHECK_STATUS(aef_model_save(fresh, path), AEF_OK);
    CHECK_STATUS(aef_model_load(path, &loaded), AEF_OK);
    CHECK_STATUS(aef_model_is_fitted(loaded, &fitted), AEF_OK);
    CHECK(fitted == 0, "unfitted round trip");
    aef_model_free(loaded);
    aef_model_free(fresh);

    unlink(path);
    free(bytes);
    free(copy);
}

/* ---- ONNX export: to a path and to a buffer, and its errors. ---- */

void test_onnx(aef_model *m) {
    const char *path = "/tmp/aef_test_capi.onnx";
    aef_onnx_graph graphs[] = {AEF_ONNX_ENCODER, AEF_ONNX_AUTOENCODER, AEF_ONNX_SCORER, AEF_ONNX_DECODER};
    size_t sizes[4] = {0};
    for (int g = 0; g < 4; g++) {
        size_t size = 0;
        CHECK_STATUS(aef_model_export_onnx_buffer(m, graphs[g], NULL, 0, &size), AEF_OK);
        CHECK(size > 1000, "graph %d: %zu bytes", g, size);
        unsigned char *bytes = malloc(size), *file = malloc(size + 1);
        CHECK_STATUS(aef_model_export_onnx_buffer(m, graphs[g], bytes, size - 1, &size), AEF_ERR_BUFFER_TOO_SMALL);
        CHECK_STATUS(aef_model_export_onnx_buffer(m, graphs[g], bytes, size, &size), AEF_OK);
        /* ONNX is protobuf: field 1 (ir_version, varint) = 8 comes first. */
        CHECK(bytes[0] == 0x08 && bytes[1] == 8, "ir_version 8 leads the bytes: %02x %02x", bytes[0], bytes[1]);
        CHECK_STATUS(aef_model_export_onnx(m, graphs[g], path), AEF_OK);
        FILE *f = fopen(path, "rb");
        size_t read = f ? fread(file, 1, size + 1, f) : 0;
        if (f) fclose(f);
        CHECK(read == size && memcmp(bytes, file, size) == 0, "graph %d: the file holds the buffer's bytes", g);
        sizes[g] = size;
        free(bytes);
        free(file);
    }
    CHECK(sizes[1] > sizes[0], "the autoencoder graph holds more weights than the encoder");
    CHECK(sizes[1] > sizes[3], "the autoencoder graph holds more weights than the decoder");

    size_t size = 0;
    CHECK_STATUS(aef_model_export_onnx(NULL, AEF_ONNX_ENCODER, path), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_export_onnx(m, AEF_ONNX_ENCODER, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_export_onnx(m, (aef_onnx_graph)7, path), AEF_ERR_INVALID_ARGUMENT);
    CHECK(strstr(aef_last_error(), "AEF_ONNX_ENCODER") != NULL, "%s", aef_last_error());
    CHECK_STATUS(aef_model_export_onnx(m, AEF_ONNX_ENCODER, "/nonexistent-dir/model.onnx"), AEF_ERR_IO);
    CHECK_STATUS(aef_model_export_onnx(m, AEF_ONNX_ENCODER, "/tmp/"), AEF_ERR_IO);
    CHECK_STATUS(aef_model_export_onnx_buffer(m, AEF_ONNX_ENCODER, NULL, 0, NULL), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_export_onnx_buffer(NULL, AEF_ONNX_ENCODER, NULL, 0, &size), AEF_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aef_model_export_onnx_buffer(m, (aef_onnx_graph)-1, NULL, 0, &size), AEF_ERR_INVALID_ARGUMENT);

    /* An unfitted model exports nothing and leaves an existing file alone. */
    aef_model *fresh = NULL;
    CHECK_STATUS(aef_model_create(SPEC, &fresh), AEF_OK);
    CHECK(write_file(path, "previous", 8) == 0, "wrote a placeholder");
    CHECK_STATUS(aef_model_export_onnx(fresh, AEF_ONNX_SCORER, path), AEF_ERR_NOT_FITTED);
    CHECK_STATUS(aef_model_export_onnx_buffer(fresh, AEF_ONNX_SCORER, NULL, 0, &size), AEF_ERR_NOT_FITTED);
    char kept[16] = {0};
    FILE *f = fopen(path, "rb");
    size_t read = f ? fread(kept, 1, sizeof kept - 1, f) : 0;
    if (f) fclose(f);
    CHECK(read == 8 && strcmp(kept, "previous") == 0, "placeholder intact: '%s'", kept);
    aef_model_free(fresh);
    unlink(path);
}
