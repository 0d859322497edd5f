import AEFKernels

/// Weight gradients: C[m, n] += Aᵀ · B for A [k, m] and B [k, n], row-major, the k rows being a
/// batch's samples (or a sequence's samples times steps) and m, n a layer's outputs and inputs.
enum WeightGradient {
    /// On the AVX-512 kernels the outer_product_sums kernel, its rows of C split over the threads;
    /// elsewhere OpenBLAS's sgemm. Neither operand needs packing there, and sgemm's packing is what
    /// narrow, long products spend their time on (`make bench-kernels`, one thread, 2-core Zen 4:
    /// an LSTM's 7,168 x 256 gate gradients times its 28 inputs 77-88 GFLOP/s against sgemm's
    /// 45-59, W1's 256 x 784 layer 99-107 against 95-102). The AVX2 build's register block, a
    /// third as wide, is slower than sgemm on most of these shapes, so it does not take them.
    /// Each value sums its rows in chunks of 256 in order whatever the split: the result does not
    /// depend on the thread count.
    static func accumulate(m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                           into c: UnsafeMutablePointer<Float>, kernels: aefk_table = Kernels.active) {
        guard kernels.isa == AEFK_ISA_AVX512, m > 1, n > 1, k > 1 else {
            return BLAS.gemm(transA: true, m: m, n: n, k: k, a, b, beta: 1, c)
        }
        Parallel.forRanges(m, alignment: 4, grain: Swift.max(4, BLAS.splitWork / Swift.max(1, n * k))) { part in
            var sums = aefk_outer_product_sums(rows: k, columns: n, first: part.lowerBound, end: part.upperBound,
                                               a: a, a_stride: m, b: b, b_stride: n, c: c, c_stride: n)
            kernels.outer_product_sums(&sums)
        }
    }
}
