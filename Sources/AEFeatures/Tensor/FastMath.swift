/// Scalar math written so that loops calling it auto-vectorise: straight-line arithmetic,
/// selects instead of branches, and bit patterns instead of library calls (glibc's expf is a
/// call per element, which stops the vectoriser).
enum FastMath {
    /// e^x with relative error below 2e-7 (Cephes' expf: x = n·ln2 + r with |r| ≤ ln2/2, a
    /// degree-6 polynomial for e^r, then 2^n through the exponent bits). Saturates to 0 below
    /// −87.3 and to e^88 ≈ 1.7e38 above 88, so it never returns inf or NaN for finite input.
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        var v = x < 88 ? x : 88
        v = v > -87.3 ? v : -87.3
        // Adding 1.5·2^23 rounds to an integer held in the low mantissa bits.
        let magic: Float = 12_582_912
        let shifted = v * 1.442_695_04 + magic
        let n = shifted - magic
        let r = (v - n * 0.693_359_375) - n * -2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_6e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        p = p * r * r + r + 1
        let exponent = Int32(bitPattern: shifted.bitPattern &- magic.bitPattern) &+ 127
        return p * Float(bitPattern: UInt32(bitPattern: exponent << 23))
    }

    /// 1 / (1 + e^−x); exact 0 and 1 are approached, never overflowed past.
    @inline(__always)
    static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    /// tanh x = 2σ(2x) − 1: absolute error about 1e-7, which is all an activation needs.
    @inline(__always)
    static func tanh(_ x: Float) -> Float { 2 * sigmoid(2 * x) - 1 }
}
