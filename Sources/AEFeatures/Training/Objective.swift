/// What training minimises for one batch: the reconstruction loss plus the terms on the code
/// (code penalties such as sparsity or the contractive penalty, a variational code's KL).
/// `evaluate` runs the forward and backward passes and leaves the gradient of the whole objective
/// in the parameter block's gradient region.
struct Objective {
    let loss: LossFunction
    let terms: [any ObjectiveTerm]
    /// The KL warm-up factor of the current epoch, in (0, 1].
    var warmup: Float = 1

    /// Input in `workspace.activations[0]`; `target` is the clean input (the input buffer itself
    /// when nothing corrupted it). Adds into the gradients (the caller zeroes them); returns the
    /// batch objective.
    func evaluate(_ network: Network, _ workspace: Workspace, target: UnsafePointer<Float>, batch: Int,
                  rng: inout RandomSource) -> Double {
        let top = loss.layersBeforeLoss(network)
        network.forward(workspace, batch: batch, layers: 0..<top, phase: .training, rng: &rng)
        var total = loss.lossAndGradient(
            output: workspace.activations[top].base, target: target,
            count: batch * network.outputSize, gradient: workspace.gradients[top].base)
        let pass = ObjectivePass(network: network, workspace: workspace, batch: batch, warmup: warmup)
        network.backward(workspace, batch: batch, layers: 0..<top, beforeLayer: { i in
            for term in terms { total += term.beforeBackward(ofLayer: i, pass) }
        }, afterLayer: { i in
            for term in terms { total += term.afterBackward(ofLayer: i, pass) }
        })
        return total
    }
}
