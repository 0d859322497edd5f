/// Zero-initialized Float storage with a stable address for the lifetime of the object.
/// Layers and workspaces keep raw pointers into these, so they must never move or grow.
final class FloatBuffer {
    let base: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        self.count = count
        // At least one element, so `base` is always a valid pointer; on a cache-line boundary,
        // so packed weights (at the start of a scratch) load whole lines: the LSTM step of one
        // sample ran 1.37 us with them 16 bytes off, 0.99 us aligned (W3's R, AVX-512).
        base = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: Swift.max(count, 1))
        base.initialize(repeating: 0, count: Swift.max(count, 1))
    }

    deinit { base.deallocate() }

    var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: base, count: count) }
    var array: [Float] { Array(buffer) }

    /// Sets every value to 0; a large buffer (a network's gradients, zeroed before every
    /// training batch) in blocks over the engine's threads.
    func zero() {
        Parallel.forRanges(count, alignment: 16, grain: 1 << 16) { part in
            (base + part.lowerBound).update(repeating: 0, count: part.count)
        }
    }

    /// Floats per vector of the flat loops over whole buffers (SIMD4: the baseline x86-64 width).
    static let vectorWidth = 4

    /// `count` rounded up to whole vectors, so such loops need no scalar tail.
    static func paddedToVectors(_ count: Int) -> Int { (count + vectorWidth - 1) / vectorWidth * vectorWidth }
}
