/// A dense, row-major array of Float with a shape. The first dimension is the sample (batch) axis
/// wherever a tensor holds data; `scalars.count` always equals the product of `shape`.
public struct Tensor: Equatable, Sendable {
    public private(set) var shape: [Int]
    public var scalars: [Float]

    /// Throws if a dimension is negative or the scalar count does not match the shape.
    public init(shape: [Int], scalars: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw AEError.invalidInput("negative dimension in shape \(shape)")
        }
        let count = try Tensor.elementCount(shape)
        guard count == scalars.count else {
            throw AEError.invalidInput("shape \(shape) needs \(count) values, got \(scalars.count)")
        }
        self.shape = shape
        self.scalars = scalars
    }

    /// A zero-filled tensor.
    public init(zeros shape: [Int]) throws {
        try self.init(shape: shape, scalars: [Float](repeating: 0, count: Tensor.elementCount(shape)))
    }

    /// Number of samples (the first dimension); 0 for a scalar shape.
    public var sampleCount: Int { shape.first ?? 0 }
    /// Elements per sample: the product of every dimension but the first.
    public var sampleSize: Int { shape.dropFirst().reduce(1, *) }
    /// Shape of one sample.
    public var sampleShape: [Int] { Array(shape.dropFirst()) }

    /// Product of the dimensions, throwing instead of overflowing.
    static func elementCount(_ shape: [Int]) throws -> Int {
        var count = 1
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, d >= 0 else { throw AEError.invalidInput("shape \(shape) is too large") }
            count = product
        }
        return count
    }
}
