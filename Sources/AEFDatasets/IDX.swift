import AEFeatures
import CZlib
import Foundation

/// Readers for the data the examples, benchmarks and demo use. Not part of the engine.
public enum DatasetError: Error, CustomStringConvertible {
    case missing(String)
    case malformed(String)

    public var description: String {
        switch self {
        case .missing(let m): return m
        case .malformed(let m): return m
        }
    }
}

/// The IDX format of (Fashion-)MNIST: a big-endian magic (0x0000 08 D), D big-endian sizes, then
/// unsigned bytes. Reads plain or gzipped files.
public enum IDX {
    /// Returns the dimensions and the bytes.
    public static func read(path: String) throws -> (dimensions: [Int], bytes: [UInt8]) {
        guard let file = gzopen(path, "rb") else { throw DatasetError.missing("cannot open \(path)") }
        defer { gzclose(file) }
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if n < 0 { throw DatasetError.malformed("\(path): not a readable gzip or IDX file") }
            if n == 0 { break }
            data += chunk[0..<Int(n)]
        }
        return try parse(data, name: path)
    }

    public static func parse(_ data: [UInt8], name: String) throws -> (dimensions: [Int], bytes: [UInt8]) {
        guard data.count >= 4, data[0] == 0, data[1] == 0, data[2] == 0x08, (1...4).contains(data[3]) else {
            throw DatasetError.malformed("\(name): not an unsigned-byte IDX file")
        }
        let rank = Int(data[3])
        guard data.count >= 4 + 4 * rank else { throw DatasetError.malformed("\(name): truncated header") }
        let dimensions = (0..<rank).map { d in
            (0..<4).reduce(0) { $0 << 8 | Int(data[4 + 4 * d + $1]) }
        }
        let count = dimensions.reduce(1, *)
        guard data.count == 4 + 4 * rank + count else {
            throw DatasetError.malformed("\(name): header promises \(count) values, file holds \(data.count - 4 - 4 * rank)")
        }
        return (dimensions, Array(data[(4 + 4 * rank)...]))
    }
}

/// Fashion-MNIST from Debian's package `dataset-fashion-mnist`.
public struct FashionMNIST {
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// Images as [n, 784] with pixels scaled to [0, 1], and their labels 0...9.
    public let images: Tensor
    public let labels: [Int]

    public enum Split: String { case train, test }

    /// Loads the first `limit` images of a split (all when nil).
    public init(split: Split, limit: Int? = nil, directory: String = FashionMNIST.defaultDirectory) throws {
        let prefix = split == .train ? "train" : "t10k"
        let imagePath = "\(directory)/\(prefix)-images-idx3-ubyte.gz"
        guard FileManager.default.fileExists(atPath: imagePath) else {
            throw DatasetError.missing("Fashion-MNIST not found at \(directory): apt-get install dataset-fashion-mnist")
        }
        let (dims, pixels) = try IDX.read(path: imagePath)
        let (labelDims, labelBytes) = try IDX.read(path: "\(directory)/\(prefix)-labels-idx1-ubyte.gz")
        guard dims.count == 3, labelDims.count == 1, dims[0] == labelDims[0] else {
            throw DatasetError.malformed("\(directory): image and label files do not match")
        }
        let n = min(limit ?? dims[0], dims[0]), size = dims[1] * dims[2]
        images = try Tensor(shape: [n, size], scalars: pixels[0..<(n * size)].map { Float($0) / 255 })
        labels = labelBytes[0..<n].map(Int.init)
    }
}
