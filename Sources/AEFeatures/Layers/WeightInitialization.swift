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
    static func accumulateGradient(_ dy: UnsafePointer<Float>, rows: Int, columns: Int, into g: UnsafeMutablePointer<Float>) {
        Parallel.forRanges(columns, alignment: 16, grain: Swift.max(16, Parallel.grain / Swift.max(1, rows))) { part in
            let g = g + part.lowerBound, n = part.count
            for r in 0..<rows {
                let row = dy + r * columns + part.lowerBound
                for j in 0..<n { g[j] += row[j] }
            }
        }
    }
}
