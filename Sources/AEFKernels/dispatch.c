/* Chooses the kernel table once per process: the widest instruction set cpuid reports, or the
 * one AEF_FORCE_ISA names if the CPU has it. */
#include <stdlib.h>
#include <string.h>
#include "aef_kernels.h"

extern const aef_kernel_table aef_kernel_table_baseline, aef_kernel_table_avx2, aef_kernel_table_avx512;

static int supported(aef_isa isa) {
    __builtin_cpu_init();
    switch (isa) {
    case AEF_ISA_BASELINE: return 1;
    case AEF_ISA_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case AEF_ISA_AVX512: return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return 0;
}

const aef_kernel_table *aef_kernels_for(aef_isa isa) {
    if (!supported(isa)) return NULL;
    switch (isa) {
    case AEF_ISA_BASELINE: return &aef_kernel_table_baseline;
    case AEF_ISA_AVX2: return &aef_kernel_table_avx2;
    case AEF_ISA_AVX512: return &aef_kernel_table_avx512;
    }
    return NULL;
}

static const aef_kernel_table *choose(void) {
    const char *forced = getenv("AEF_FORCE_ISA");
    static const struct { const char *name; aef_isa isa; } names[] = {
        {"baseline", AEF_ISA_BASELINE}, {"avx2", AEF_ISA_AVX2}, {"avx512", AEF_ISA_AVX512}};
    if (forced) {
        for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (strcmp(forced, names[i].name) == 0 && supported(names[i].isa)) return aef_kernels_for(names[i].isa);
        }
    }
    for (int isa = AEF_ISA_AVX512; isa >= AEF_ISA_BASELINE; isa--) {
        if (supported((aef_isa)isa)) return aef_kernels_for((aef_isa)isa);
    }
    return &aef_kernel_table_baseline;
}

const aef_kernel_table *aef_kernels(void) {
    /* Racing first calls compute the same answer; a pointer store is atomic on x86-64. */
    static const aef_kernel_table *volatile chosen;
    if (!chosen) chosen = choose();
    return chosen;
}

long aef_lstm_packed_count(long units) { return (units + 15) / 16 * units * 4 * 16; }

void aef_lstm_pack_recurrent(const float *r, long units, float *packed) {
    for (long block = 0; block < (units + 15) / 16; block++) {
        for (long k = 0; k < units; k++) {
            for (long gate = 0; gate < 4; gate++) {
                for (long lane = 0; lane < 16; lane++) {
                    long unit = block * 16 + lane;
                    *packed++ = unit < units ? r[(gate * units + unit) * units + k] : 0;
                }
            }
        }
    }
}
