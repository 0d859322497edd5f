import XCTest
import AEFKernels
@testable import AEFeatures

/// The outer-product-sum kernel behind weight gradients (C += Aᵀ·B over many rows), every
/// instruction set this CPU runs, and WeightGradient.accumulate's thread split.
final class WeightGradientTests: XCTestCase {
    /// (rows, m, n): one row; 12-row blocks, then 4-row and single rows (29 = 2·12 + 4 + 1); one
    /// and two registers of columns with partial lanes (28, 33, 17 on every width); several
    /// 256-row chunks; a one-wide product.
    static let shapes = [(1, 29, 28), (300, 29, 28), (600, 13, 64), (257, 25, 33), (5, 2, 1), (513, 40, 17)]

    private static func random(_ count: Int, _ data: inout TestData) -> [Float] { data.uniform(count).map(Float.init) }

    /// Against a Double sum within 1e-5 of the terms' absolute sum (a value's rows are summed in
    /// 256-row chunks, so its error grows with the chunk, not with all the rows); and c's rows
    /// split in two give the bits of the whole.
    func testKernelsMatchReference() {
        for kernels in Kernels.supported {
            for (rows, m, n) in Self.shapes {
                let name = "\(String(cString: kernels.name)) \(rows) rows -> \(m)x\(n)"
                var data = TestData(seed: UInt64(rows * 100 + m))
                let a = Self.random(rows * m, &data), b = Self.random(rows * n, &data), start = Self.random(m * n, &data)
                func run(_ parts: [Range<Int>]) -> [Float] {
                    var c = start
                    a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
                        for part in parts {
                            var sums = aefk_outer_product_sums(rows: rows, columns: n, first: part.lowerBound, end: part.upperBound,
                                                               a: a.baseAddress, a_stride: m, b: b.baseAddress, b_stride: n,
                                                               c: c.baseAddress, c_stride: n)
                            withUnsafePointer(to: &sums) { kernels.outer_product_sums($0) }
                        }
                    } } }
                    return c
                }
                let whole = run([0..<m]), split = run([0..<(m / 2 + 1), (m / 2 + 1)..<m])
                XCTAssertEqual(split, whole, "\(name): split at \(m / 2 + 1)")
                for i in 0..<m { for j in 0..<n {
                    var sum = Double(start[i * n + j]), size = abs(sum)
                    for r in 0..<rows {
                        let term = Double(a[r * m + i]) * Double(b[r * n + j])
                        sum += term
                        size += abs(term)
                    }
                    XCTAssertEqual(Double(whole[i * n + j]), sum, accuracy: 1e-5 * Swift.max(1, size), "\(name): c[\(i), \(j)]")
                } }
            }
        }
    }

    /// WeightGradient.accumulate over 1-3 threads: the same bits (the kernel on AVX-512, sgemm
    /// elsewhere), equal to the kernel called on all of c's rows at once where it runs.
    func testSplitOverThreadsGivesTheSameBits() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        let (rows, m, n) = (7168, 64, 28)  // an LSTM's gate gradients over 28 steps of 256 samples, 16 units
        var data = TestData(seed: 31)
        let a = Self.random(rows * m, &data), b = Self.random(rows * n, &data), start = Self.random(m * n, &data)
        for kernels in Kernels.supported {
            var results: [[Float]] = []
            for threads in [1, 2, 3] {
                Parallel.threadCount = threads
                var c = start
                WeightGradient.accumulate(m: m, n: n, k: rows, a, b, into: &c, kernels: kernels)
                results.append(c)
            }
            let name = String(cString: kernels.name)
            XCTAssertEqual(results[1], results[0], "\(name), 2 threads")
            XCTAssertEqual(results[2], results[0], "\(name), 3 threads")
            guard kernels.isa == AEFK_ISA_AVX512 else { continue }
            var c = start
            a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
                var sums = aefk_outer_product_sums(rows: rows, columns: n, first: 0, end: m, a: a.baseAddress, a_stride: m,
                                                   b: b.baseAddress, b_stride: n, c: c.baseAddress, c_stride: n)
                kernels.outer_product_sums(&sums)
            } } }
            XCTAssertEqual(results[0], c, "\(name): the kernel on all rows")
        }
    }
}
