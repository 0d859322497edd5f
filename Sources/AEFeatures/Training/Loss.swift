/// Reconstruction losses. Training minimises the mean over every element of the batch.
/// Binary cross-entropy is always computed from the logits (the input of the final sigmoid),
/// max(z,0) − z·t + log(1 + e^−|z|), which never takes the log of 0 and has gradient σ(z) − t.
public enum LossFunction: String, Codable, CaseIterable, Sendable {
    case mse
    case bce

    /// The per-element errors: target[i] becomes the error of output[i] against it, (y − t)² for
    /// MSE, the cross-entropy of the logit output[i] for BCE (the targets are not needed once
    /// their errors exist). With the switch outside the loops, each loop vectorises.
    func overwriteWithErrors(_ target: UnsafeMutablePointer<Float>, output: UnsafePointer<Float>, count: Int) {
        switch self {
        case .mse: for i in 0..<count { target[i] = LossFunction.squaredError(output[i], target[i]) }
        case .bce: for i in 0..<count { target[i] = LossFunction.crossEntropy(logit: output[i], target[i]) }
        }
    }

    @inline(__always)
    static func squaredError(_ y: Float, _ t: Float) -> Float { (y - t) * (y - t) }

    @inline(__always)
    static func crossEntropy(logit z: Float, _ t: Float) -> Float {
        Swift.max(z, 0) - z * t + FastMath.log(1 + FastMath.exp(-Swift.abs(z)))
    }

    /// Mean loss over `count` elements; writes dLoss/doutput into `gradient`.
    func lossAndGradient(output: UnsafePointer<Float>, target: UnsafePointer<Float>, count: Int,
                         gradient: UnsafeMutablePointer<Float>) -> Double {
        let invN = 1 / Float(count)
        switch self {
        case .mse:
            for i in 0..<count { gradient[i] = 2 * invN * (output[i] - target[i]) }
        case .bce:
            for i in 0..<count {
                let z = output[i], e = FastMath.exp(-Swift.abs(z))
                gradient[i] = invN * ((z >= 0 ? 1 : e) / (1 + e) - target[i])
            }
        }
        // Errors a block at a time into a stack buffer, each block summed in Float and the blocks
        // in Double: every loop here vectorises, and long batches keep their precision.
        let block = 1024
        var total: Double = 0
        withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { errors in
            var start = 0
            while start < count {
                let n = Swift.min(block, count - start)
                let errors = errors.baseAddress!
                errors.update(from: target + start, count: n)
                overwriteWithErrors(errors, output: output + start, count: n)
                total += Double(Vector.sum(n, errors))
                start += n
            }
        }
        return total * Double(invN)
    }
}

extension LossFunction {
    /// How many of `network`'s layers run before the loss: all but the final sigmoid for binary
    /// cross-entropy, which is taken on the logits (training, scoring and the ONNX scorer alike).
    func layersBeforeLoss(_ network: Network) -> Int { self == .bce ? network.layers.count - 1 : network.layers.count }
}
