/// Input corruption for denoising training, applied to the (scaled) input of each batch with
/// fresh noise every batch; the target stays the clean input. Never applied at inference.
public struct Corruption: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, CaseIterable, Sendable {
        /// x + level · N(0, 1)
        case gaussian
        /// x + level · U(0, 1): the reference study's positive-only noise
        case uniform
        /// each value set to 0 with probability `level`
        case masking
        /// each value, with probability `level`, set to 0 or 1 (even odds): the extremes of
        /// min-max scaled data
        case saltAndPepper = "salt_and_pepper"
        /// each value resampled as Poisson(level · max(x, 0)) / level: photon-count noise (low-dose
        /// medical images), `level` = λ counts per unit of intensity; the relative noise is
        /// 1 / √(λ·x), so a higher level is cleaner. For min-max scaled data.
        case poisson

        /// The level an absent `level` means: 0.1 of added noise; 0.2 of values hit; for
        /// Poisson 50 counts per unit, 0.1 noise around mid-intensity (0.5) like gaussian's.
        var defaultLevel: Float {
            switch self {
            case .gaussian, .uniform: return 0.1
            case .masking, .saltAndPepper: return 0.2
            case .poisson: return 50
            }
        }
    }
    public var kind: Kind
    public var level: Float

    public init(kind: Kind, level: Float) {
        self.kind = kind
        self.level = level
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case kind = "type", level }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownFields(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(Kind.self, forKey: .kind)
        level = try c.value(.level, default: kind.defaultLevel)
    }

    func apply(_ x: UnsafeMutablePointer<Float>, count: Int, rng: inout RandomSource) {
        switch kind {
        case .gaussian:
            for i in 0..<count { x[i] += level * rng.normal() }
        case .uniform:
            for i in 0..<count { x[i] += level * rng.uniform() }
        case .masking:
            for i in 0..<count where rng.uniform() < level { x[i] = 0 }
        case .saltAndPepper:
            for i in 0..<count where rng.uniform() < level { x[i] = rng.uniform() < 0.5 ? 0 : 1 }
        case .poisson:
            let lambda = Double(level)
            for i in 0..<count { x[i] = Float(rng.poisson(mean: lambda * Double(Swift.max(x[i], 0))) / lambda) }
        }
    }

    /// The range `level` must lie in, as the spec's error states it.
    var levelRange: (description: String, contains: (Float) -> Bool) {
        switch kind {
        case .gaussian, .uniform: return ("must be finite and >= 0", { $0 >= 0 && $0.isFinite })
        case .masking, .saltAndPepper: return ("must be in [0, 1]", { $0 >= 0 && $0 <= 1 })
        case .poisson: return ("must be finite and > 0", { $0 > 0 && $0.isFinite })
        }
    }
}
