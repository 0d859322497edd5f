import Glibc

/// A small, fast, seedable generator (xoshiro256**) seeded through SplitMix64.
/// One model seed derives independent streams for initialization, shuffling, dropout and noise,
/// so adding noise never changes the shuffle order and the same seed gives the same weights.
public struct RandomSource: RandomNumberGenerator {
    private var s0, s1, s2, s3: UInt64
    private var spareNormal: Float?

    public init(seed: UInt64) {
        var sm = seed
        func splitmix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(&sm); s1 = splitmix(&sm); s2 = splitmix(&sm); s3 = splitmix(&sm)
    }

    /// An independent stream for a named purpose.
    public init(seed: UInt64, stream: Stream) {
        self.init(seed: seed ^ (stream.rawValue &* 0xD1B5_4A32_D192_ED03))
    }

    public enum Stream: UInt64 { case initialization = 1, shuffle, dropout, noise, split, sampling, scoring }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    @inline(__always)
    public mutating func uniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Standard normal by the Box–Muller transform (pairs cached).
    public mutating func normal() -> Float {
        if let z = spareNormal { spareNormal = nil; return z }
        let (z, spare) = RandomSource.boxMuller(nonZeroUniform(), uniform())
        spareNormal = spare
        return z
    }

    /// `count` standard normals into `out`: the values, in order, of `count` calls of `normal()`,
    /// leaving the stream and the cached spare as those calls would. The uniforms are drawn in
    /// order; the transforms (a logarithm, a cosine and a sine per pair, most of the time) run
    /// over the engine's threads: a variational batch draws one per code value.
    mutating func fillNormal(_ out: UnsafeMutablePointer<Float>, count: Int) {
        var start = 0
        if count > 0, let z = spareNormal { spareNormal = nil; out[0] = z; start = 1 }
        let pairs = (count - start + 1) / 2
        guard pairs > 0 else { return }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * pairs) { u in
            for p in 0..<pairs { (u[2 * p], u[2 * p + 1]) = (nonZeroUniform(), uniform()) }
            Parallel.forRanges(pairs, grain: 256) { part in
                for p in part {
                    let (first, second) = RandomSource.boxMuller(u[2 * p], u[2 * p + 1])
                    out[start + 2 * p] = first
                    if start + 2 * p + 1 < count { out[start + 2 * p + 1] = second }
                }
            }
            if (count - start) % 2 == 1 { spareNormal = RandomSource.boxMuller(u[2 * pairs - 2], u[2 * pairs - 1]).1 }
        }
    }

    /// Uniform in (1e-7, 1): Box–Muller's first uniform, kept off the logarithm's pole.
    private mutating func nonZeroUniform() -> Float {
        var u = uniform()
        while u <= 1e-7 { u = uniform() }
        return u
    }

    private static func boxMuller(_ u1: Float, _ u2: Float) -> (Float, Float) {
        let r = (-2 * log(u1)).squareRoot()
        let theta = 2 * Float.pi * u2
        return (r * cos(theta), r * sin(theta))
    }

    /// Fisher–Yates shuffle of 0..<n.
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) {
                let j = Int(next() % UInt64(i + 1))
                p.swapAt(i, j)
            }
        }
        return p
    }
}

extension RandomSource {
    /// A Poisson(mean) count: multiplication of uniforms below mean 10 (Knuth), Hörmann's
    /// transformed rejection (PTRS, as numpy) above, so the cost stays flat for large means.
    /// Zero for a mean <= 0.
    public mutating func poisson(mean: Double) -> Double {
        guard mean > 0 else { return 0 }
        if mean < 10 {
            let limit = exp(-mean)
            var product = Double(uniform()), count = 0.0
            while product > limit { product *= Double(uniform()); count += 1 }
            return count
        }
        let root = mean.squareRoot(), logMean = log(mean)
        let b = 0.931 + 2.53 * root, a = -0.059 + 0.02483 * b
        let inverseAlpha = 1.1239 + 1.1328 / (b - 3.4), acceptBound = 0.9277 - 3.6224 / (b - 2)
        while true {
            let u = Double(uniform()) - 0.5, v = Double(uniform())
            let us = 0.5 - abs(u)
            let k = ((2 * a / us + b) * u + mean + 0.43).rounded(.down)
            if us >= 0.07 && v <= acceptBound { return k }
            if k < 0 || (us < 0.013 && v > us) { continue }
            if log(v) + log(inverseAlpha) - log(a / (us * us) + b) <= -mean + k * logMean - lgamma(k + 1) { return k }
        }
    }
}
