import Glibc

/// Reconstruction losses. Training minimises the mean over every element of the batch.
/// Binary cross-entropy is always computed from the logits (the input of the final sigmoid),
/// max(z,0) − z·t + log(1 + e^−|z|), which never takes the log of 0 and has gradient σ(z) − t.
public enum LossFunction: String, Codable, CaseIterable, Sendable {
    case mse
    case bce

    /// The per-element error: (y − t)² for MSE; for BCE, `output` holds logits.
    @inline(__always)
    func elementError(output z: Float, target t: Float) -> Float {
        switch self {
        case .mse: let d = z - t; return d * d
        case .bce: return Swift.max(z, 0) - z * t + log1p(exp(-Swift.abs(z)))
        }
    }

    /// Mean loss over `count` elements; writes dLoss/doutput into `gradient`.
    func lossAndGradient(output: UnsafePointer<Float>, target: UnsafePointer<Float>, count: Int,
                         gradient: UnsafeMutablePointer<Float>) -> Double {
        let invN = 1 / Float(count)
        var total: Double = 0
        switch self {
        case .mse:
            var partial: Float = 0
            for i in 0..<count {
                let d = output[i] - target[i]
                partial += d * d
                gradient[i] = 2 * invN * d
                // Flush the Float partial sum often enough that long batches keep precision.
                if i & 1023 == 1023 { total += Double(partial); partial = 0 }
            }
            total += Double(partial)
        case .bce:
            for i in 0..<count {
                total += Double(elementError(output: output[i], target: target[i]))
                gradient[i] = invN * (stableSigmoid(output[i]) - target[i])
            }
        }
        return total * Double(invN)
    }
}
