/// Decorrelation of the code units (DeCov, Cogswell et al., 2016): with C the batch covariance of
/// the code h [batch, size], the penalty weight · ½ Σ_{j≠k} C_jk² pushes the units to carry
/// different information. Its gradient, the mean's share vanishing because centred values sum to 0:
///   ∂P/∂h_bj = weight · (2/B) Σ_{k≠j} C_jk (h_bk − m_k).
/// In the spec, `"decorrelation": {"weight": w}` (default 0.01); it applies to any code.
struct DecorrelationPenalty: CodePenalty, ObjectiveTerm, Equatable {
    static let field = "decorrelation"
    var weight: Float

    enum CodingKeys: String, CodingKey, CaseIterable { case weight }

    init(weight: Float) { self.weight = weight }

    init(from decoder: Decoder) throws {
        try decoder.rejectUnknownFields(CodingKeys.self)
        weight = try decoder.container(keyedBy: CodingKeys.self).value(.weight, default: 0.01)
    }

    static func implied(by variant: ModelSpec.Variant) -> DecorrelationPenalty? { nil }

    func validate(in spec: ModelSpec) throws {
        if !(weight >= 0 && weight.isFinite) { throw AEError.invalidSpec("field 'decorrelation.weight' must be finite and >= 0, got \(weight)") }
    }

    func term(in spec: ModelSpec, network: Network) -> any ObjectiveTerm { self }

    /// On the code's output gradient, before the code activation's backward.
    func beforeBackward(ofLayer layer: Int, _ pass: ObjectivePass) -> Double {
        let code = pass.network.codeLayerIndex, workspace = pass.workspace
        guard layer == code else { return 0 }
        return apply(code: workspace.activations[code + 1].base, batch: pass.batch, size: pass.network.codeSize,
                     gradient: workspace.gradients[code + 1].base)
    }

    /// Adds ∂P/∂h into `gradient` [batch, size]; returns P.
    func apply(code h: UnsafePointer<Float>, batch: Int, size: Int, gradient: UnsafeMutablePointer<Float>) -> Double {
        guard batch > 1 else { return 0 }
        var means = [Double](repeating: 0, count: size), covariance = [Double](repeating: 0, count: size * size)
        for b in 0..<batch { for j in 0..<size { means[j] += Double(h[b * size + j]) } }
        for j in 0..<size { means[j] /= Double(batch) }
        for b in 0..<batch {
            let row = h + b * size
            for j in 0..<size {
                let dj = Double(row[j]) - means[j]
                for k in 0..<size { covariance[j * size + k] += dj * (Double(row[k]) - means[k]) }
            }
        }
        var penalty = 0.0
        for j in 0..<size {
            covariance[j * size + j] = 0  // the variances are not penalized
            for k in 0..<size {
                covariance[j * size + k] /= Double(batch)
                penalty += covariance[j * size + k] * covariance[j * size + k]
            }
        }
        let scale = Double(weight) * 2 / Double(batch)
        for b in 0..<batch {
            let row = h + b * size, g = gradient + b * size
            for j in 0..<size {
                var sum = 0.0
                for k in 0..<size { sum += covariance[j * size + k] * (Double(row[k]) - means[k]) }
                g[j] += Float(scale * sum)
            }
        }
        return Double(weight) * 0.5 * penalty
    }
}
