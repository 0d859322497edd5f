/// Per-feature affine input scaling fitted on the training rows and stored with the model:
/// scaled = (x − offset) · factor. A constant feature gets factor 1, so it maps to 0.
public struct Scaler: Codable, Equatable, Sendable {
    public var offset: [Float]
    public var factor: [Float]

    init(offset: [Float], factor: [Float]) {
        self.offset = offset
        self.factor = factor
    }

    /// Fits min-max (to [0, 1]) or standardization (zero mean, unit variance) statistics.
    /// Returns nil for `.none`.
    init?(kind: ModelSpec.Scaling, data x: Rows) {
        let rows = x.count, columns = x.width
        switch kind {
        case .none:
            return nil
        case .minmax:
            var lo = [Float](repeating: .infinity, count: columns)
            var hi = [Float](repeating: -.infinity, count: columns)
            for r in 0..<rows {
                let row = x.row(r)
                for j in 0..<columns { lo[j] = Swift.min(lo[j], row[j]); hi[j] = Swift.max(hi[j], row[j]) }
            }
            offset = lo
            factor = (0..<columns).map { hi[$0] > lo[$0] ? 1 / (hi[$0] - lo[$0]) : 1 }
        case .standard:
            var mean = [Double](repeating: 0, count: columns)
            var squares = [Double](repeating: 0, count: columns)
            for r in 0..<rows {
                let row = x.row(r)
                for j in 0..<columns { mean[j] += Double(row[j]) }
            }
            for j in 0..<columns { mean[j] /= Double(rows) }
            for r in 0..<rows {
                let row = x.row(r)
                for j in 0..<columns { let d = Double(row[j]) - mean[j]; squares[j] += d * d }
            }
            offset = mean.map(Float.init)
            factor = squares.map { s in
                let std = (s / Double(rows)).squareRoot()
                return std > 0 ? Float(1 / std) : 1
            }
        }
    }

    func apply(_ x: UnsafeMutablePointer<Float>, rows: Int) {
        map(x, rows: rows) { value, offset, factor in (value - offset) * factor }
    }

    func invert(_ x: UnsafeMutablePointer<Float>, rows: Int) {
        map(x, rows: rows) { value, offset, factor in value / factor + offset }
    }

    private func map(_ x: UnsafeMutablePointer<Float>, rows: Int, _ f: (Float, Float, Float) -> Float) {
        let n = offset.count
        offset.withUnsafeBufferPointer { o in
            factor.withUnsafeBufferPointer { k in
                for r in 0..<rows {
                    let row = x + r * n
                    for j in 0..<n { row[j] = f(row[j], o[j], k[j]) }
                }
            }
        }
    }
}
