import AEFKernels

/// The vector kernels (Sources/AEFKernels) in use: one build per instruction set, the widest the
/// CPU has chosen on first use, or the one the environment variable AEF_FORCE_ISA names
/// (`baseline`, `avx2`, `avx512`) if the CPU has it.
enum Kernels {
    static let active: aefk_table = aefk_kernels().pointee

    /// The table of every instruction set this CPU runs, baseline first (tests check each).
    static var supported: [aefk_table] {
        [AEFK_ISA_BASELINE, AEFK_ISA_AVX2, AEFK_ISA_AVX512].compactMap { aefk_kernels_for($0)?.pointee }
    }
}

/// Which build of the vector kernels this process uses: "baseline", "avx2" or "avx512".
public enum KernelInfo {
    public static var instructionSet: String { String(cString: Kernels.active.name) }
}
