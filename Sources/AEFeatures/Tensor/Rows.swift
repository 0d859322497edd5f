/// Rows of a caller's row-major matrix, read where they lie: all of them in order, or the ones
/// `indices` picks (a validation split). Fitting and inference copy only a batch at a time, so
/// a fit never holds a second copy of its training data.
struct Rows {
    let base: UnsafePointer<Float>
    let width: Int
    /// The rows in view, in order; nil for all `count` rows of `base`.
    let indices: [Int]?
    let count: Int

    /// All `count` rows of `base`.
    init(_ base: UnsafePointer<Float>, count: Int, width: Int) {
        (self.base, self.count, self.width, indices) = (base, count, width, nil)
    }

    /// The rows of `base` listed in `indices`, in that order.
    init(_ base: UnsafePointer<Float>, width: Int, indices: [Int]) {
        (self.base, self.count, self.width, self.indices) = (base, indices.count, width, indices)
    }

    /// The k-th row in view.
    @inline(__always)
    func row(_ k: Int) -> UnsafePointer<Float> { base + (indices?[k] ?? k) * width }

    /// Copies the rows `range` (positions in view) to `destination`, one after another.
    func copy(_ range: Range<Int>, to destination: UnsafeMutablePointer<Float>) {
        guard let indices else {
            return destination.update(from: base + range.lowerBound * width, count: range.count * width)
        }
        for (k, index) in indices[range].enumerated() {
            (destination + k * width).update(from: base + index * width, count: width)
        }
    }
}
