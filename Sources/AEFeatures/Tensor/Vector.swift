/// Short vector kernels in 8-float blocks (the blocks keep two SSE or one AVX register of
/// independent sums in flight, which the compiler does not do for a float reduction by itself:
/// it may not reassociate the additions).
enum Vector {
    /// y[0..<n] += a · x[0..<n]
    @inline(__always)
    static func axpy(_ n: Int, _ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        var i = 0
        let scale = SIMD8<Float>(repeating: a)
        while i + 8 <= n {
            let sum = load(y + i)
                + scale * load(x + i)
            store(sum, y + i)
            i += 8
        }
        while i < n { y[i] += a * x[i]; i += 1 }
    }

    /// y[0..<n] += Σ_r a[r] · m[r · stride ..< r · stride + n], each 8-value block of y summed in
    /// registers over all rows: one load and store of y per block rather than per row.
    @inline(__always)
    static func addCombination(_ n: Int, rows: Int, _ a: UnsafePointer<Float>, _ m: UnsafePointer<Float>, stride: Int,
                               _ y: UnsafeMutablePointer<Float>) {
        var i = 0
        while i + 8 <= n {
            var sum = load(y + i)
            for r in 0..<rows {
                sum += SIMD8(repeating: a[r]) * load(m + r * stride + i)
            }
            store(sum, y + i)
            i += 8
        }
        while i < n {
            var sum = y[i]
            for r in 0..<rows { sum += a[r] * m[r * stride + i] }
            y[i] = sum
            i += 1
        }
    }

    /// Σ x[i] over 0..<n
    @inline(__always)
    static func sum(_ n: Int, _ x: UnsafePointer<Float>) -> Float {
        blockedSum(n, block: { load(x + $0) }, single: { x[$0] })
    }

    /// Σ x[i] · y[i] over 0..<n
    @inline(__always)
    static func dot(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
        blockedSum(n, block: { load(x + $0) * load(y + $0) }, single: { x[$0] * y[$0] })
    }

    /// Σ over 0..<n of the terms `block` gives 8 at a time from an index, then `single` for the tail.
    @inline(__always)
    /// Whether no value is NaN or ±Inf: one branch-free pass over the exponent bits, which
    /// vectorises (the per-element isFinite search is several times slower).
    static func allFinite(_ n: Int, _ x: UnsafePointer<Float>) -> Bool {
        let bits = UnsafeBufferPointer(start: UnsafeRawPointer(x).assumingMemoryBound(to: UInt32.self), count: n)
        var saturated: UInt32 = 0
        for word in bits { saturated |= (word & 0x7f80_0000) == 0x7f80_0000 ? 1 : 0 }
        return saturated == 0
    }

    private static func blockedSum(_ n: Int, block: (Int) -> SIMD8<Float>, single: (Int) -> Float) -> Float {
        var i = 0
        var sums = SIMD8<Float>()
        while i + 8 <= n { sums += block(i); i += 8 }
        var total = sums.sum()
        while i < n { total += single(i); i += 1 }
        return total
    }

    @inline(__always)
    private static func load(_ x: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(x).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    private static func store(_ value: SIMD8<Float>, _ x: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(x).storeBytes(of: value, as: SIMD8<Float>.self)
    }
}
