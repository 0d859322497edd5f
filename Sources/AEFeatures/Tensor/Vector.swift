/// Short vector kernels in 8-float blocks (the blocks keep two SSE or one AVX register of
/// independent sums in flight, which the compiler does not do for a float reduction by itself:
/// it may not reassociate the additions).
enum Vector {
    /// Σ x[i] over 0..<n, in 8 running sums then the tail.
    @inline(__always)
    static func sum(_ n: Int, _ x: UnsafePointer<Float>) -> Float {
        var i = 0
        var sums = SIMD8<Float>()
        while i + 8 <= n { sums += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self); i += 8 }
        var total = sums.sum()
        while i < n { total += x[i]; i += 1 }
        return total
    }

    /// Whether no value is NaN or ±Inf. Long inputs (an inference call's batch) are split over
    /// the threads: one core alone does not reach the memory's bandwidth.
    static func allFinite(_ n: Int, _ x: UnsafePointer<Float>) -> Bool {
        let block = 1 << 16
        guard n >= 2 * block, Parallel.threadCount > 1 else { return !hasNonFinite(n, x) }
        var found = [Bool](repeating: false, count: (n + block - 1) / block)
        found.withUnsafeMutableBufferPointer { found in
            Parallel.forRanges(n, alignment: block, grain: block) { range in
                found[range.lowerBound / block] = hasNonFinite(range.count, x + range.lowerBound)
            }
        }
        return !found.contains(true)
    }

    /// One branch-free pass over the exponent bits, which vectorises (the per-element isFinite
    /// search is several times slower).
    private static func hasNonFinite(_ n: Int, _ x: UnsafePointer<Float>) -> Bool {
        let bits = UnsafeBufferPointer(start: UnsafeRawPointer(x).assumingMemoryBound(to: UInt32.self), count: n)
        var saturated: UInt32 = 0
        for word in bits { saturated |= (word & 0x7f80_0000) == 0x7f80_0000 ? 1 : 0 }
        return saturated != 0
    }
}
