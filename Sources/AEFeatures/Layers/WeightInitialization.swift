import AEFKernels

/// Uniform weight initialization: Glorot before saturating or linear activations, He before the
/// ReLU family. Fans count kernel positions for convolutions (fan in = kernel area · input
/// channels), as Keras and PyTorch do.
enum WeightInitialization {
    case glorot, he

    func fill(_ w: UnsafeMutablePointer<Float>, count: Int, fanIn: Int, fanOut: Int, rng: inout RandomSource) {
        let limit = (6 / Float(self == .glorot ? fanIn + fanOut : fanIn)).squareRoot()
        for i in 0..<count { w[i] = (2 * rng.uniform() - 1) * limit }
    }
}

/// The bias steps shared by Dense and the convolutions, on a [rows, columns] output whose
/// columns are the output units or channels.
enum Bias {
    // Large batches split over the engine's threads: by rows where each row is written whole,
    // by blocks of 16 columns (a cache line) where the rows are summed, each column's sum
    // keeping its order.

    /// y[r, j] = b[j] for every row: the start value a GEMM with beta = 1 then adds to.
    static func broadcast(_ b: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        Parallel.forRanges(rows, grain: Swift.max(1, Parallel.grain / Swift.max(1, columns))) { part in
            for r in part { (y + r * columns).update(from: b, count: columns) }
        }
    }

    /// y[r, j] += b[j] for every row.
    static func add(_ b: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        Parallel.forRanges(rows, grain: Swift.max(1, Parallel.grain / Swift.max(1, columns))) { part in
            for r in part {
                let row = y + r * columns
                for j in 0..<columns { row[j] += b[j] }
            }
        }
    }

    /// g[j] += Σ_r dy[r, j]
    static func accumulateGradient(_ dy: UnsafePointer<Float>, rows: Int, columns: Int, into g: UnsafeMutablePointer<Float>,
                                   kernels: aefk_table = Kernels.active) {
        let blockRows = Swift.max(1, Parallel.grain / Swift.max(1, columns))
        guard columns < 32 && rows >= 2 * blockRows else {
            // Each column's rows summed in registers by the vector kernel (an LSTM's gate
            // gradients: thousands of rows of 4H).
            return Parallel.forRanges(columns, alignment: 16, grain: Swift.max(16, Parallel.grain / Swift.max(1, rows))) { part in
                var sums = aefk_column_sums(rows: rows, stride: columns, first: part.lowerBound, end: part.upperBound, m: dy, sums: g)
                kernels.column_sums(&sums)
            }
        }
        // Too few columns to split (a convolution's few filters over many positions): fixed
        // blocks of rows, each summed apart, the block sums then added in order, so the result
        // does not depend on the thread count (nor on the instruction set: plain Swift).
        let blocks = (rows + blockRows - 1) / blockRows
        withUnsafeTemporaryAllocation(of: Float.self, capacity: blocks * columns) { sums in
            let sums = sums.baseAddress!
            sums.update(repeating: 0, count: blocks * columns)
            Parallel.forRanges(blocks, grain: 1) { part in
                for block in part {
                    sumFewColumns(dy, rows: block * blockRows..<Swift.min(rows, (block + 1) * blockRows), columns: columns,
                                  into: sums + block * columns)
                }
            }
            sumRows(sums, rows: 0..<blocks, stride: columns, count: columns, into: g)
        }
    }

    /// g[j] += Σ_{r in rows} m[r · columns + j] for few columns: row by row, each column's sum
    /// would be one chain of dependent adds through memory, so a strip of `lanes` rows is summed
    /// at a time (lanes · columns independent sums), its lanes folded at the end.
    private static func sumFewColumns(_ m: UnsafePointer<Float>, rows: Range<Int>, columns: Int, into g: UnsafeMutablePointer<Float>) {
        let lanes = Swift.max(1, 64 / columns), width = lanes * columns
        withUnsafeTemporaryAllocation(of: Float.self, capacity: width) { strip in
            let strip = strip.baseAddress!
            strip.update(repeating: 0, count: width)
            var r = rows.lowerBound
            while r + lanes <= rows.upperBound {
                let source = m + r * columns
                for j in 0..<width { strip[j] += source[j] }
                r += lanes
            }
            sumRows(strip, rows: 0..<lanes, stride: columns, count: columns, into: g)
            sumRows(m, rows: r..<rows.upperBound, stride: columns, count: columns, into: g)
        }
    }

    /// g[j] += Σ_{r in rows} m[r · stride + j] for j < count, row by row.
    @inline(__always)
    private static func sumRows(_ m: UnsafePointer<Float>, rows: Range<Int>, stride: Int, count: Int, into g: UnsafeMutablePointer<Float>) {
        for r in rows {
            let row = m + r * stride
            for j in 0..<count { g[j] += row[j] }
        }
    }
}
