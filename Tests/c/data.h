/* Shared by the C tests: test rows built from 2 hidden factors (so an autoencoder can learn
 * them), and writing bytes to a file. */
#ifndef AEF_TEST_DATA_H
#define AEF_TEST_DATA_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

static inline void make_data(float *x, size_t rows, size_t width, unsigned seed) {
    uint64_t s = seed * 2654435761u + 1;
    for (size_t r = 0; r < rows; r++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        float a = (float)((s >> 33) % 1000) / 1000.0f;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        float b = (float)((s >> 33) % 1000) / 1000.0f;
        for (size_t j = 0; j < width; j++) x[r * width + j] = 50.0f * a * (float)(j % 4) + 20.0f * b * (float)(j % 3) + 5.0f;
    }
}
/* 0 when all `size` bytes reached `path`, else -1. */
static inline int write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = fwrite(data, 1, size, f);
    return fclose(f) == 0 && n == size ? 0 : -1;
}
#endif
