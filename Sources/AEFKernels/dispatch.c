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

long aefk_lstm_packed_count(long units, long inputs) { return (units + 15) / 16 * inputs * 4 * 16; }

void aefk_lstm_pack(const float *weights, long units, long inputs, float *packed) {
    for (long block = 0; block < (units + 15) / 16; block++) {
        for (long k = 0; k < inputs; k++) {
            for (long gate = 0; gate < 4; gate++) {
                for (long lane = 0; lane < 16; lane++) {
                    long unit = block * 16 + lane;
                    *packed++ = unit < units ? weights[(gate * units + unit) * inputs + k] : 0;
                }
            }
        }
    }
}
