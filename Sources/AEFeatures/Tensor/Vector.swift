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
            let sum = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
                + scale * UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: sum, as: SIMD8<Float>.self)
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
            var sum = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
            for r in 0..<rows {
                sum += SIMD8(repeating: a[r]) * UnsafeRawPointer(m + r * stride + i).loadUnaligned(as: SIMD8<Float>.self)
            }
            UnsafeMutableRawPointer(y + i).storeBytes(of: sum, as: SIMD8<Float>.self)
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
        var i = 0
        var sums = SIMD8<Float>()
        while i + 8 <= n {
            sums += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var total = sums.sum()
        while i < n { total += x[i]; i += 1 }
        return total
    }

    /// Σ x[i] · y[i] over 0..<n
    @inline(__always)
    static func dot(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
        var i = 0
        var sums = SIMD8<Float>()
        while i + 8 <= n {
            sums += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
                * UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var total = sums.sum()
        while i < n { total += x[i] * y[i]; i += 1 }
        return total
    }
}
