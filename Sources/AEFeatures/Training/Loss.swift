import AEFKernels

/// Reconstruction losses. Training minimises the mean over every element of the batch.
/// Binary cross-entropy is always computed from the logits (the input of the final sigmoid),
/// max(z,0) − z·t + log(1 + e^−|z|), which never takes the log of 0 and has gradient σ(z) − t.
public enum LossFunction: String, Codable, CaseIterable, Sendable {
    case mse
    case bce

    /// The per-element errors: target[i] becomes the error of output[i] against it, (y − t)² for
    /// MSE, the cross-entropy of the logit output[i] for BCE (the targets are not needed once
    /// their errors exist). A vector kernel (Sources/AEFKernels; tests pass each build's).
    func overwriteWithErrors(_ target: UnsafeMutablePointer<Float>, output: UnsafePointer<Float>, count: Int,
                             kernels: aefk_table = Kernels.active) {
        kernels.loss_errors(kernelLoss, count, output, target)
    }

    /// Mean loss over `count` elements; writes dLoss/doutput into `gradient`. The errors are
    /// summed in float per 1024 values and in double across them, so long batches keep their
    /// precision. A long batch goes to the engine's threads in whole blocks of 1024, the
    /// threads' totals added in order (the split, like the GEMMs', depends on the thread count).
    func lossAndGradient(output: UnsafePointer<Float>, target: UnsafePointer<Float>, count: Int,
                         gradient: UnsafeMutablePointer<Float>, kernels: aefk_table = Kernels.active) -> Double {
        let invN = 1 / Float(count), block = 1024, loss = kernelLoss
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: (count + block - 1) / block) { totals in
            totals.initialize(repeating: 0)
            Parallel.forRanges(count, alignment: block, grain: 64 * block) { part in
                let start = part.lowerBound
                totals[start / block] = kernels.loss_gradient(loss, part.count, output + start, target + start, invN, gradient + start)
            }
            return totals.reduce(0, +) * Double(invN)
        }
    }

    private var kernelLoss: aefk_loss { self == .mse ? AEFK_LOSS_MSE : AEFK_LOSS_BCE }
}

extension LossFunction {
    /// How many of `network`'s layers run before the loss: all but the final sigmoid for binary
    /// cross-entropy, which is taken on the logits (training, scoring and the ONNX scorer alike).
    func layersBeforeLoss(_ network: Network) -> Int { self == .bce ? network.layers.count - 1 : network.layers.count }
}
