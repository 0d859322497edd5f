import Glibc

/// Sparsity penalty on the code activations h [batch, size].
/// KL: weight · Σ_j KL(ρ ‖ ρ̂_j) with ρ̂_j the batch mean of h_j (h must lie in (0, 1)); the
/// objective divides the KL weight by the input's values (`perInputValue`);
/// L1: weight · mean over the batch of Σ_j |h_j|.
public struct SparsityPenalty: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, CaseIterable, Sendable { case kl, l1 }
    public var kind: Kind
    /// ρ, the target mean activation (KL only).
    public var target: Float
    /// β for KL, λ for L1.
    public var weight: Float

    public init(kind: Kind, target: Float = 0.05, weight: Float? = nil) {
        self.kind = kind
        self.target = target
        self.weight = weight ?? SparsityPenalty.defaultWeight(kind)
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case kind = "type", target, weight }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownFields(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(Kind.self, forKey: .kind)
        target = try c.value(.target, default: 0.05)
        weight = try c.value(.weight, default: SparsityPenalty.defaultWeight(kind))
    }

    /// KL: β = 0.3 per input value, chosen on validation images (bench/sparse_weight.py): the
    /// classic β = 3 held a 500-unit code at its target but left it little of the image. L1: λ = 0.001.
    static func defaultWeight(_ kind: Kind) -> Float { kind == .kl ? 0.3 : 1e-3 }

    /// The penalty as the objective adds it. The reconstruction loss is a mean over the input's
    /// values, so a KL weight counts per value: β · Σ KL / values, which is β against the sum of
    /// squared errors per sample (as the classic formulation writes it) and keeps one β right
    /// for 12 inputs and for 784. Summed unscaled, the KL of a 500-unit code outweighed a
    /// 784-pixel reconstruction error a hundredfold and the codes carried little of the image.
    func perInputValue(_ values: Int) -> SparsityPenalty {
        guard kind == .kl else { return self }
        var scaled = self
        scaled.weight = weight / Float(values)
        return scaled
    }

    /// ρ̂ is kept away from 0 and 1 so the log terms stay finite.
    static let clampEpsilon: Float = 1e-6

    /// Adds dPenalty/dh into `gradient`; `means` is scratch of `size` floats. Returns the penalty.
    func apply(code h: UnsafePointer<Float>, batch: Int, size: Int,
               gradient: UnsafeMutablePointer<Float>, means: UnsafeMutablePointer<Float>) -> Double {
        let invB = 1 / Float(batch)
        switch kind {
        case .l1:
            var total: Double = 0
            for i in 0..<(batch * size) {
                total += Double(Swift.abs(h[i]))
                gradient[i] += weight * invB * (h[i] > 0 ? 1 : (h[i] < 0 ? -1 : 0))
            }
            return Double(weight) * total * Double(invB)
        case .kl:
            means.update(repeating: 0, count: size)
            for r in 0..<batch { let row = h + r * size; for j in 0..<size { means[j] += row[j] } }
            let rho = Double(target)
            var total: Double = 0
            for j in 0..<size {
                let m = Swift.min(Swift.max(means[j] * invB, SparsityPenalty.clampEpsilon),
                                  1 - SparsityPenalty.clampEpsilon)
                let rhoHat = Double(m)
                total += rho * log(rho / rhoHat) + (1 - rho) * log((1 - rho) / (1 - rhoHat))
                // dKL/dρ̂ · dρ̂/dh: the same for every sample of the batch.
                means[j] = weight * invB * Float(-rho / rhoHat + (1 - rho) / (1 - rhoHat))
            }
            for r in 0..<batch { let row = gradient + r * size; for j in 0..<size { row[j] += means[j] } }
            return Double(weight) * total
        }
    }
}

extension SparsityPenalty: CodePenalty, ObjectiveTerm {
    static let field = "sparsity"

    static func implied(by variant: ModelSpec.Variant) -> SparsityPenalty? { variant == .sparse ? SparsityPenalty(kind: .kl) : nil }

    func validate(in spec: ModelSpec) throws {
        func fail(_ field: String, _ rule: String, _ value: Any) throws -> Never {
            throw AEError.invalidSpec("field '\(field)' \(rule), got \(value)")
        }
        if !(weight >= 0 && weight.isFinite) { try fail("sparsity.weight", "must be finite and >= 0", weight) }
        guard kind == .kl else { return }
        if !(target > 0 && target < 1) { try fail("sparsity.target", "must be in (0, 1)", target) }
        if spec.codeSize == nil && (spec.variant == .seq2seq || spec.variant == .convlstm) {
            try fail("sparsity", "of type 'kl' needs a dense sigmoid code for \(spec.variant.rawValue) (the LSTM state lies in (-1, 1)): set code_size", "kl")
        }
        if spec.effectiveCodeActivation != .sigmoid {
            try fail(spec.codeSize == nil ? "activation" : "code_activation",
                     "must be 'sigmoid' for KL sparsity (code activations are rates in (0, 1))", spec.effectiveCodeActivation.rawValue)
        }
    }

    func term(in spec: ModelSpec, network: Network) -> any ObjectiveTerm { perInputValue(spec.inputSize) }

    /// On the code's output gradient, before the code activation's backward.
    func beforeBackward(ofLayer layer: Int, _ pass: ObjectivePass) -> Double {
        let code = pass.network.codeLayerIndex, workspace = pass.workspace
        guard layer == code else { return 0 }
        return apply(code: workspace.activations[code + 1].base, batch: pass.batch, size: pass.network.codeSize,
                     gradient: workspace.gradients[code + 1].base, means: workspace.penaltyScratch.base)
    }
}
