/* Chooses the kernel table once per process: the widest instruction set cpuid reports, or the
 * one AEF_FORCE_ISA names if the CPU has it. */
#include <stdlib.h>
#include <string.h>
#include "aefk_kernels.h"

extern const aefk_table aefk_table_baseline, aefk_table_avx2, aefk_table_avx512;

static int supported(aefk_isa isa) {
    __builtin_cpu_init();
    switch (isa) {
    case AEFK_ISA_BASELINE: return 1;
    case AEFK_ISA_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case AEFK_ISA_AVX512: return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return 0;
}

const aefk_table *aefk_kernels_for(aefk_isa isa) {
    if (!supported(isa)) return NULL;
    switch (isa) {
    case AEFK_ISA_BASELINE: return &aefk_table_baseline;
    case AEFK_ISA_AVX2: return &aefk_table_avx2;
    case AEFK_ISA_AVX512: return &aefk_table_avx512;
    }
    return NULL;
}

static const aefk_table *choose(void) {
    const char *forced = getenv("AEF_FORCE_ISA");
    static const struct { const char *name; aefk_isa isa; } names[] = {
        {"baseline", AEFK_ISA_BASELINE}, {"avx2", AEFK_ISA_AVX2}, {"avx512", AEFK_ISA_AVX512}};
    if (forced) {
        for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (strcmp(forced, names[i].name) == 0 && supported(names[i].isa)) return aefk_kernels_for(names[i].isa);
        }
    }
    for (int isa = AEFK_ISA_AVX512; isa >= AEFK_ISA_BASELINE; isa--) {
        if (supported((aefk_isa)isa)) return aefk_kernels_for((aefk_isa)isa);
    }
    return &aefk_table_baseline;
}

const aefk_table *aefk_kernels(void) {
    /* Racing first calls compute the same answer and store it atomically. */
    static const aefk_table *chosen;
    const aefk_table *table = __atomic_load_n(&chosen, __ATOMIC_ACQUIRE);
    if (!table) {
        table = choose();
        __atomic_store_n(&chosen, table, __ATOMIC_RELEASE);
    }
    return table;
}

const char *aefk_openblas_core_for_cpu(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    return NULL;
}

long aefk_lstm_packed_count(long units, long inputs) { return (units + 15) / 16 * inputs * 4 * 16; }

typedef float v4 __attribute__((ext_vector_type(4), aligned(4)));

/* packed[block][k][gate][lane] = weights[(gate·units + block·16 + lane)·inputs + k]. Inference
 * packs at every call, so whole 4 x 4 tiles are transposed in registers (four times the scalar
 * rate); the k past the last tile and units past `units` (zeros) go one element at a time. */
void aefk_lstm_pack(const float *weights, long units, long inputs, float *packed) {
    long whole = inputs - inputs % 4;
    for (long block = 0; block < (units + 15) / 16; block++) {
        for (long gate = 0; gate < 4; gate++) {
            for (long lane = 0; lane < 16; lane += 4) {
                long unit = block * 16 + lane;
                const float *row = weights + (gate * units + unit) * inputs;
                float *out = packed + block * inputs * 64 + gate * 16 + lane;
                long k = 0;
                for (; unit + 4 <= units && k < whole; k += 4) {
                    v4 a = *(const v4 *)(row + k), b = *(const v4 *)(row + inputs + k);
                    v4 c = *(const v4 *)(row + 2 * inputs + k), d = *(const v4 *)(row + 3 * inputs + k);
                    v4 abLow = __builtin_shufflevector(a, b, 0, 4, 1, 5), abHigh = __builtin_shufflevector(a, b, 2, 6, 3, 7);
                    v4 cdLow = __builtin_shufflevector(c, d, 0, 4, 1, 5), cdHigh = __builtin_shufflevector(c, d, 2, 6, 3, 7);
                    *(v4 *)(out + k * 64) = __builtin_shufflevector(abLow, cdLow, 0, 1, 4, 5);
                    *(v4 *)(out + (k + 1) * 64) = __builtin_shufflevector(abLow, cdLow, 2, 3, 6, 7);
                    *(v4 *)(out + (k + 2) * 64) = __builtin_shufflevector(abHigh, cdHigh, 0, 1, 4, 5);
                    *(v4 *)(out + (k + 3) * 64) = __builtin_shufflevector(abHigh, cdHigh, 2, 3, 6, 7);
                }
                for (; k < inputs; k++) {
                    for (long i = 0; i < 4; i++) out[k * 64 + i] = unit + i < units ? row[i * inputs + k] : 0;
                }
            }
        }
    }
}

long aefk_dense_packed_count(long units, long inputs) { return (units + 15) / 16 * 16 * inputs; }

/* packed[panel][k][lane] = W[panel·16 + lane, k]. Packed once per model and weights (inference
 * keeps the packs), so plain loops: each weight row read along k. */
void aefk_dense_pack(const float *weights, long unit_stride, long input_stride, long units, long inputs, float *packed) {
    for (long panel = 0; panel < (units + 15) / 16; panel++) {
        for (long lane = 0; lane < 16; lane++) {
            long unit = panel * 16 + lane;
            float *out = packed + panel * inputs * 16 + lane;
            for (long k = 0; k < inputs; k++) out[k * 16] = unit < units ? weights[unit * unit_stride + k * input_stride] : 0;
        }
    }
}

void aefk_prefetch(const void *address, long bytes) {
    for (long offset = 0; offset < bytes; offset += 64) __builtin_prefetch((const char *)address + offset, 0, 3);
}
