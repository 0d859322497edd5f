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
    /// summed in float per 1024 values and in double across them, so long batches keep their precision.
    func lossAndGradient(output: UnsafePointer<Float>, target: UnsafePointer<Float>, count: Int,
                         gradient: UnsafeMutablePointer<Float>, kernels: aefk_table = Kernels.active) -> Double {
        let invN = 1 / Float(count)
        return kernels.loss_gradient(kernelLoss, count, output, target, invN, gradient) * Double(invN)
    }

    private var kernelLoss: aefk_loss { self == .mse ? AEFK_LOSS_MSE : AEFK_LOSS_BCE }
}

extension LossFunction {
    /// How many of `network`'s layers run before the loss: all but the final sigmoid for binary
    /// cross-entropy, which is taken on the logits (training, scoring and the ONNX scorer alike).
    func layersBeforeLoss(_ network: Network) -> Int { self == .bce ? network.layers.count - 1 : network.layers.count }
}
