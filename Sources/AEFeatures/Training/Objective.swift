/// What training minimises for one batch: the reconstruction loss plus the optional sparsity,
/// contractive or KL (variational) terms on the code. `evaluate` runs the forward and backward passes and leaves
/// the gradient of the whole objective in the parameter block's gradient region.
struct Objective {
    let loss: LossFunction
    let sparsity: SparsityPenalty?
    let contractive: ContractivePenalty?
    let kl: KLDivergence?
    /// The KL warm-up factor of the current epoch, in (0, 1].
    var klFactor: Float = 1

    /// Binary cross-entropy is taken on the logits, so the final sigmoid layer is skipped in training.
    func lossLayerCount(_ network: Network) -> Int {
        loss == .bce ? network.layers.count - 1 : network.layers.count
    }

    /// Input in `workspace.activations[0]`; `target` is the clean input (the input buffer itself
    /// when nothing corrupted it). Adds into the gradients (the caller zeroes them); returns the
    /// batch objective.
    func evaluate(_ network: Network, _ workspace: Workspace, target: UnsafePointer<Float>, batch: Int,
                  rng: inout RandomSource) -> Double {
        let top = lossLayerCount(network)
        network.forward(workspace, batch: batch, layers: 0..<top, phase: .training, rng: &rng)
        var total = loss.lossAndGradient(
            output: workspace.activations[top].base, target: target,
            count: batch * network.outputSize, gradient: workspace.gradients[top].base)

        let codeIndex = network.codeLayerIndex
        let code = workspace.activations[codeIndex + 1].base
        let klFactor = self.klFactor
        network.backward(workspace, batch: batch, layers: 0..<top, beforeLayer: { i in
            if i == codeIndex, let sparsity {
                total += sparsity.apply(code: code, batch: batch, size: network.codeSize,
                                        gradient: workspace.gradients[i + 1].base,
                                        means: workspace.penaltyScratch.base)
            }
            // The code activation's backward has produced ∂/∂a; the penalty adds its share.
            if i == codeIndex - 1, let contractive, let dense = network.layers[i] as? Dense,
               let activation = network.layers[codeIndex] as? Activation {
                total += contractive.apply(code: code, function: activation.function, dense: dense, batch: batch,
                                           preactivationGradient: workspace.gradients[i + 1].base,
                                           scratch: workspace.penaltyScratch.base)
            }
        }, afterLayer: { i in
            // The reparameterization's backward has written ∂/∂[mu | logvar]; the KL adds its share.
            if i == codeIndex, let kl {
                total += kl.apply(head: workspace.activations[i].base, batch: batch, factor: klFactor,
                                  gradient: workspace.gradients[i].base)
            }
        })
        return total
    }
}
