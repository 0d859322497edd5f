import COpenBLAS

/// Thin, row-major wrappers over CBLAS so call sites read like the maths they do.
enum BLAS {
    /// C[m,n] = alpha * op(A) * op(B) + beta * C, all row-major with natural leading dimensions.
    /// op(A) is m x k, op(B) is k x n.
    @inline(__always)
    static func gemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
        beta: Float = 0, _ c: UnsafeMutablePointer<Float>
    ) {
        // Degenerate shapes (a decoder convolution to one channel, a one-wide input) go to the
        // level-2 routines: sgemm's packing dominates when one dimension is 1. A vector operand
        // is contiguous whether or not it is marked transposed.
        if n == 1 {
            if transA {
                cblas_sgemv(CblasRowMajor, CblasTrans, blasint(k), blasint(m), alpha, a, blasint(m), b, 1, beta, c, 1)
            } else {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, blasint(m), blasint(k), alpha, a, blasint(k), b, 1, beta, c, 1)
            }
            return
        }
        if m == 1 {
            if transB {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, blasint(n), blasint(k), alpha, b, blasint(k), a, 1, beta, c, 1)
            } else {
                cblas_sgemv(CblasRowMajor, CblasTrans, blasint(k), blasint(n), alpha, b, blasint(n), a, 1, beta, c, 1)
            }
            return
        }
        if k == 1 {
            if beta == 0 { c.update(repeating: 0, count: m * n) } else if beta != 1 { scale(c, count: m * n, by: beta) }
            cblas_sger(CblasRowMajor, blasint(m), blasint(n), alpha, a, 1, b, 1, c, blasint(n))
            return
        }
        let lda = transA ? m : k
        let ldb = transB ? k : n
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(n))
    }

    /// Euclidean norm of n contiguous values.
    static func norm(_ x: UnsafePointer<Float>, count: Int) -> Float {
        cblas_snrm2(blasint(count), x, 1)
    }

    /// x *= alpha
    static func scale(_ x: UnsafeMutablePointer<Float>, count: Int, by alpha: Float) {
        cblas_sscal(blasint(count), alpha, x, 1)
    }

    /// Threads OpenBLAS uses for one call.
    static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }
}

/// The OpenBLAS build, the kernel core it picked for this CPU and the build of the engine's own
/// vector kernels: what bit-for-bit reproducibility depends on besides the seed and thread count.
public enum BLASInfo {
    public static let description: String = {
        let config = openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS"
        let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        return "\(config.split(separator: " ").joined(separator: " ")); core \(core); kernels \(KernelInfo.instructionSet)"
    }()
}

/// The number of threads the engine's math uses (OpenBLAS's pool). Process-wide.
public enum Threading {
    public static var threadCount: Int {
        get { BLAS.threadCount }
        set {
            BLAS.threadCount = newValue
            Parallel.threadCount = newValue
        }
    }
}
