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

/// Contractive penalty: weight · mean over the batch of ‖∂h/∂x‖²_F for the code h = f(W x + b),
/// f elementwise, x the code layer's input. With J = diag(f′(a)) W the norm is
/// Σ_j f′(a_j)² · S_j, S_j = Σ_i W_ji², so both the value and its gradient are exact and cheap:
///   ∂P/∂a_j  = weight/B · 2 f′(a_j) f″(a_j) S_j      (flows back through the dense layer)
///   ∂P/∂W_ji += weight/B · 2 Σ_b f′(a_bj)² · W_ji     (direct term)
struct ContractivePenalty {
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

/// The VAE's KL(q(z|x) ‖ N(0, I)) = −½ Σ_j (1 + logvar_j − mu_j² − e^logvar_j) per sample, on the
/// head [mu | logvar] (2·size values per sample). Training minimises the mean over values of the
/// reconstruction loss, so the KL enters divided by the values per sample, `inputSize`: the
/// objective is then the ELBO per value, recon + weight · KL, averaged over the batch.
struct KLDivergence {
    let weight: Float
    let size: Int
    let inputSize: Int

    /// Per-sample KL (not yet weighted).
    @inline(__always)
    func sampleKL(_ head: UnsafePointer<Float>) -> Float {
        var kl: Float = 0
        for j in 0..<size {
            let mu = head[j], logvar = head[size + j]
            kl += -0.5 * (1 + logvar - mu * mu - FastMath.exp(logvar))
        }
        return kl
    }

    /// weight / inputSize times each sample's KL, i.e. the term the score adds per sample.
    func scoreTerm(_ head: UnsafePointer<Float>) -> Float { weight * sampleKL(head) / Float(inputSize) }

    /// Adds the gradient into `gradient` (same layout as `head`); returns the batch-mean penalty.
    func apply(head: UnsafePointer<Float>, batch: Int, factor: Float, gradient: UnsafeMutablePointer<Float>) -> Double {
        let scale = factor * weight / Float(batch * inputSize)
        var total: Double = 0
        for r in 0..<batch {
            let h = head + r * 2 * size, g = gradient + r * 2 * size
            total += Double(sampleKL(h))
            for j in 0..<size {
                g[j] += scale * h[j]
                g[size + j] += scale * 0.5 * (FastMath.exp(h[size + j]) - 1)
            }
        }
        return Double(scale) * total
    }
}
