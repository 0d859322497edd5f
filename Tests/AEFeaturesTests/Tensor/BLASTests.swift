import XCTest
@testable import AEFeatures

final class BLASTests: XCTestCase {
    /// Every transpose combination, including the shapes routed to sgemv and sger, against loops.
    func testGemmMatchesNaiveProductForAllShapes() {
        var data = TestData(seed: 61)
        for (m, n, k) in [(3, 4, 5), (1, 4, 5), (3, 1, 5), (3, 4, 1), (1, 1, 5), (1, 4, 1), (3, 1, 1), (1, 1, 1)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    for beta: Float in [0, 1, 0.5] {
                        let a = data.uniform(m * k).map(Float.init), b = data.uniform(k * n).map(Float.init)
                        let start = data.uniform(m * n).map(Float.init)
                        var c = start
                        BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1.5, a, b, beta: beta, &c)
                        var expected = [Double](repeating: 0, count: m * n)
                        for i in 0..<m {
                            for j in 0..<n {
                                var sum = 0.0
                                for p in 0..<k {
                                    let av = transA ? a[p * m + i] : a[i * k + p], bv = transB ? b[j * k + p] : b[p * n + j]
                                    sum += Double(av) * Double(bv)
                                }
                                expected[i * n + j] = 1.5 * sum + Double(beta) * Double(start[i * n + j])
                            }
                        }
                        assertClose(c.map(Double.init), expected, absolute: 1e-5, "gemm \(m)x\(n)x\(k) tA \(transA) tB \(transB) beta \(beta)")
                    }
                }
            }
        }
    }

    /// The core the command-line tools and the Python binding give OpenBLAS follows the CPU's
    /// flags as Linux reports them.
    func testOpenBLASCoreForThisCPUFollowsTheVectorUnit() throws {
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let line = try XCTUnwrap(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") })
        let flags = Set(line.split(separator: ":")[1].split(separator: " ").map(String.init))
        let expected = flags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]) ? "SkylakeX"
            : flags.isSuperset(of: ["avx2", "fma"]) ? "Haswell" : nil
        XCTAssertEqual(BLASInfo.coreForThisCPU, expected)
        XCTAssertTrue(BLASInfo.description.contains("; core \(BLASInfo.core);"), BLASInfo.description)
    }
}

/// Products large enough to be split over the engine's threads (by rows when C is taller than
/// wide, else by columns; blocks of 16 and a remainder), matrix-vector products among them (one
/// row or one column of C), every transpose combination, against
/// a Double product, with 1, 2 and 3 threads.
final class SplitGemmTests: XCTestCase {
    func testSplitProductsMatchNaiveProduct() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        var data = TestData(seed: 67)
        for (m, n, k) in [(203, 61, 257), (45, 229, 331), (1, 613, 347), (509, 1, 389)] {
            // At least 3 times the split threshold: the split dimension makes 3 parts of at least it.
            XCTAssertGreaterThan(m * n * k, 3 * (m == 1 || n == 1 ? BLAS.splitMatrixVectorWork : BLAS.splitWork))
            let a = data.uniform(m * k).map(Float.init), b = data.uniform(k * n).map(Float.init), start = data.uniform(m * n).map(Float.init)
            for transA in [false, true] { for transB in [false, true] {
                var expected = [Double](repeating: 0, count: m * n)
                for i in 0..<m { for j in 0..<n {
                    var sum = 0.0
                    for p in 0..<k { sum += Double(transA ? a[p * m + i] : a[i * k + p]) * Double(transB ? b[j * k + p] : b[p * n + j]) }
                    expected[i * n + j] = 0.5 * sum + Double(start[i * n + j])
                } }
                for threads in [1, 2, 3] {
                    Parallel.threadCount = threads
                    var c = start
                    BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a, b, beta: 1, &c)
                    assertClose(c.map(Double.init), expected, absolute: 1e-4, "gemm \(m)x\(n)x\(k) tA \(transA) tB \(transB), \(threads) threads")
                }
            } }
        }
    }
}
