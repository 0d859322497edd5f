import AEFKernels
import COpenBLAS

/// Thin, row-major wrappers over CBLAS so call sites read like the maths they do.
///
/// OpenBLAS runs single-threaded (each call on its caller) and the engine splits large products
/// over its own threads (Parallel): OpenBLAS's idle workers spin in sched_yield for about 0.1 s
/// after each call, and with the engine's own loops running meanwhile on the same cores that
/// spinning took a quarter of an LSTM epoch (docs/design-measurements.md). One pool, no spinning.
enum BLAS {
    /// C[m,n] = alpha * op(A) * op(B) + beta * C, all row-major with natural leading dimensions.
    /// op(A) is m x k, op(B) is k x n.
    @inline(__always)
    static func gemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
        beta: Float = 0, _ c: UnsafeMutablePointer<Float>
    ) {
        takeOverThreads()
        // Degenerate shapes (a decoder convolution to one channel, a one-wide input, one row)
        // go to the level-2 routines: sgemm's packing dominates when one dimension is 1. A
        // vector operand is contiguous whether or not it is marked transposed.
        if n == 1 {
            return matrixVector(a, rows: transA ? k : m, columns: transA ? m : k, transposed: transA, b, alpha: alpha, beta: beta, c)
        }
        if m == 1 {
            return matrixVector(b, rows: transB ? n : k, columns: transB ? k : n, transposed: !transB, a, alpha: alpha, beta: beta, c)
        }
        if k == 1 {
            if beta == 0 { c.update(repeating: 0, count: m * n) } else if beta != 1 { scale(c, count: m * n, by: beta) }
            cblas_sger(CblasRowMajor, blasint(m), blasint(n), alpha, a, 1, b, 1, c, blasint(n))
            return
        }
        let lda = transA ? m : k, ldb = transB ? k : n
        func product(rows: Range<Int>, columns: Range<Int>) {
            let aPart = transA ? a + rows.lowerBound : a + rows.lowerBound * k
            let bPart = transB ? b + columns.lowerBound * k : b + columns.lowerBound
            cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                        blasint(rows.count), blasint(columns.count), blasint(k), alpha, aPart, blasint(lda), bPart, blasint(ldb),
                        beta, c + rows.lowerBound * n + columns.lowerBound, blasint(n))
        }
        // Each thread takes a block of C's rows or columns, in multiples of 16 so OpenBLAS's
        // register tiles stay whole, and packs all of the other operand: the split copies the
        // smaller operand twice. Between equals, columns (`make bench-gemm-split`: W1's
        // 256 x 256 x 784 product 255 GFLOP/s by columns, 214 by rows, 248 on OpenBLAS's threads).
        let alongRows = m > n, length = alongRows ? m : n
        Parallel.forRanges(length, alignment: 16, grain: Swift.max(16, splitWork / Swift.max(1, (alongRows ? n : m) * k))) { part in
            if alongRows { product(rows: part, columns: 0..<n) } else { product(rows: 0..<m, columns: part) }
        }
    }

    /// y = alpha · op(M) · x + beta · y for M [rows, columns] row-major, op(M) = Mᵀ when
    /// `transposed`. Blocks of y's entries go to the pool's threads (OpenBLAS's sgemv runs
    /// single-threaded here): a layer's batch-1 product reads the whole weight matrix.
    private static func matrixVector(_ matrix: UnsafePointer<Float>, rows: Int, columns: Int, transposed: Bool,
                                     _ x: UnsafePointer<Float>, alpha: Float, beta: Float, _ y: UnsafeMutablePointer<Float>) {
        let outputs = transposed ? columns : rows
        Parallel.forRanges(outputs, alignment: 16, grain: Swift.max(16, splitMatrixVectorWork / Swift.max(1, transposed ? rows : columns))) { part in
            if transposed {
                cblas_sgemv(CblasRowMajor, CblasTrans, blasint(rows), blasint(part.count), alpha, matrix + part.lowerBound,
                            blasint(columns), x, 1, beta, y + part.lowerBound, 1)
            } else {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, blasint(part.count), blasint(columns), alpha,
                            matrix + part.lowerBound * columns, blasint(columns), x, 1, beta, y + part.lowerBound, 1)
            }
        }
    }

    /// Multiply-adds below which a matrix-vector product runs on its caller alone: it is bound by
    /// reading the matrix, so it pays a thread from a smaller size than a GEMM.
    static let splitMatrixVectorWork = 1 << 16

    /// Multiply-adds below which a product runs on its caller alone (a thread hand-off costs a
    /// few microseconds).
    static let splitWork = 1 << 20

    /// OpenBLAS's own thread count as it loaded (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS or the
    /// cores), read once before OpenBLAS is set to run every call on its caller.
    static let loadedThreadCount: Int = {
        let count = Int(openblas_get_num_threads())
        openblas_set_num_threads(1)
        return count
    }()

    @inline(__always)
    private static func takeOverThreads() { _ = loadedThreadCount }

    /// Euclidean norm of n contiguous values.
    static func norm(_ x: UnsafePointer<Float>, count: Int) -> Float {
        takeOverThreads()
        return cblas_snrm2(blasint(count), x, 1)
    }

    /// x *= alpha
    static func scale(_ x: UnsafeMutablePointer<Float>, count: Int, by alpha: Float) {
        takeOverThreads()
        cblas_sscal(blasint(count), alpha, x, 1)
    }

}

/// The OpenBLAS build, the kernel core it picked for this CPU and the build of the engine's own
/// vector kernels: what bit-for-bit reproducibility depends on besides the seed and thread count.
public enum BLASInfo {
    public static let description: String = {
        let config = openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS"
        return "\(config.split(separator: " ").joined(separator: " ")); core \(core); kernels \(KernelInfo.instructionSet)"
    }()

    /// The kernel core OpenBLAS picked when it loaded, e.g. "Haswell" (OPENBLAS_CORETYPE chooses it).
    public static let core: String = openblas_get_corename().map { String(cString: $0) } ?? "unknown"

    /// The core whose sgemm kernels use this CPU's widest vector unit, "SkylakeX" or "Haswell"
    /// (nil without AVX2): what OpenBLAS picks on the CPUs it knows; one newer than the OpenBLAS
    /// gets Prescott's SSE3 kernels instead (0.3.21 on Emerald Rapids: W1's epoch 4.1 s, not 1.2).
    public static let coreForThisCPU: String? = aefk_openblas_core_for_cpu().map { String(cString: $0) }
}

/// The number of threads the engine's math uses (its own pool; OpenBLAS runs single-threaded
/// on them). Process-wide.
public enum Threading {
    public static var threadCount: Int {
        get { Parallel.threadCount }
        set { Parallel.threadCount = newValue }
    }
}
