/// Inference through a variational head: the Dense that outputs [mu | logvar] and the
/// Reparameterize after it, whose inference output is mu. Only mu's units are computed, straight
/// into the code: half the head's weights read per call, which is much of a batch of one's time
/// after the first layer. Network.forward runs it only for callers that keep no [mu | logvar]
/// (keepsHead false: encode and reconstruct); scoring's KL term reads logvar, and
/// latentDistribution stops before the Reparameterize.
struct VariationalMean {
    let dense: Dense
    let size: Int
    /// Layers the group covers: the Dense and the Reparameterize.
    let count = 2

    /// The group starting at layers[start] when it is a per-row Dense followed by a
    /// Reparameterize, both before `end`; otherwise nil.
    init?(_ layers: [Layer], at start: Int, end: Int) {
        guard start + 1 < end, let dense = layers[start] as? Dense, dense.steps == 1,
              let head = layers[start + 1] as? Reparameterize else { return nil }
        (self.dense, size) = (dense, head.size)
    }

    /// mu = the first `size` units of x·Wᵀ + b, W packed in `packed` (Dense.packWeights).
    func forward(_ x: UnsafePointer<Float>, _ mu: UnsafeMutablePointer<Float>, batch: Int, packed: UnsafePointer<Float>) {
        dense.infer(x, mu, rows: batch, packed: packed, scale: nil, shift: dense.bias, activation: .identity, computing: size)
    }
}
