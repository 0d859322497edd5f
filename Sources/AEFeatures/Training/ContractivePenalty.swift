/// Contractive penalty: weight · mean over the batch of ‖∂h/∂x‖²_F for the code h = f(W x + b),
/// f elementwise, x the code layer's input. With J = diag(f′(a)) W the norm is
/// Σ_j f′(a_j)² · S_j, S_j = Σ_i W_ji², so both the value and its gradient are exact and cheap:
///   ∂P/∂a_j  = weight/B · 2 f′(a_j) f″(a_j) S_j      (flows back through the dense layer)
///   ∂P/∂W_ji += weight/B · 2 Σ_b f′(a_bj)² · W_ji     (direct term)
struct ContractivePenalty: Equatable {
    let weight: Float

    /// `code` is h [batch, size]; adds ∂P/∂a into `preactivationGradient` and the direct term into
    /// the dense layer's weight gradient. `scratch` holds 2·size floats. Returns the penalty.
    func apply(code h: UnsafePointer<Float>, function: ActivationFunction, dense: Dense, batch: Int,
               preactivationGradient: UnsafeMutablePointer<Float>,
               scratch: UnsafeMutablePointer<Float>) -> Double {
        let size = dense.units, inputs = dense.inputs
        let rowNorms = scratch, slopeSquares = scratch + size
        for j in 0..<size {
            let w = dense.weight + j * inputs
            var s: Float = 0
            for i in 0..<inputs { s += w[i] * w[i] }
            rowNorms[j] = s
        }
        slopeSquares.update(repeating: 0, count: size)
        let scale = weight / Float(batch)
        var total: Double = 0
        for r in 0..<batch {
            let hr = h + r * size, gr = preactivationGradient + r * size
            for j in 0..<size {
                let d1 = function.derivative(output: hr[j])
                let d2 = function.secondDerivative(output: hr[j])
                slopeSquares[j] += d1 * d1
                gr[j] += scale * 2 * d1 * d2 * rowNorms[j]
            }
        }
        for j in 0..<size {
            total += Double(slopeSquares[j]) * Double(rowNorms[j])
            let k = scale * 2 * slopeSquares[j]
            let w = dense.weight + j * inputs, gw = dense.weightGradient + j * inputs
            for i in 0..<inputs { gw[i] += k * w[i] }
        }
        return Double(scale) * total
    }
}

/// In the spec a bare number, `"contractive_weight": 1e-4`.
extension ContractivePenalty: CodePenalty {
    static let field = "contractive_weight"

    init(from decoder: Decoder) throws { weight = try decoder.singleValueContainer().decode(Float.self) }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(weight)
    }

    static func implied(by variant: ModelSpec.Variant) -> ContractivePenalty? { variant == .contractive ? ContractivePenalty(weight: 1e-4) : nil }

    func validate(in spec: ModelSpec) throws {
        if !(weight >= 0 && weight.isFinite) { throw AEError.invalidSpec("field 'contractive_weight' must be finite and >= 0, got \(weight)") }
        if spec.codeSize == nil {
            throw AEError.invalidSpec("field 'contractive_weight' needs a dense code: set code_size for \(spec.variant.rawValue), got \(weight)")
        }
    }

    /// A dense code (validated) is `Dense → code activation`, the Dense just before the code.
    func term(in spec: ModelSpec, network: Network) -> any ObjectiveTerm {
        let code = network.codeLayerIndex
        guard let dense = network.layers[code - 1] as? Dense, let activation = network.layers[code] as? Activation else {
            preconditionFailure("a dense code is Dense then its activation")
        }
        return ContractiveTerm(penalty: self, dense: dense, function: activation.function)
    }
}

/// The contractive penalty on one network's code layer.
struct ContractiveTerm: ObjectiveTerm, @unchecked Sendable {
    let penalty: ContractivePenalty
    /// The code's Dense layer (a reference into the network the term was made for) and activation.
    let dense: Dense
    let function: ActivationFunction

    /// Once the code activation's backward has produced ∂/∂a, the penalty adds its share.
    func beforeBackward(ofLayer layer: Int, _ pass: ObjectivePass) -> Double {
        let code = pass.network.codeLayerIndex, workspace = pass.workspace
        guard layer == code - 1 else { return 0 }
        return penalty.apply(code: workspace.activations[code + 1].base, function: function, dense: dense, batch: pass.batch,
                             preactivationGradient: workspace.gradients[code].base, scratch: workspace.penaltyScratch.base)
    }
}
