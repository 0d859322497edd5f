/// Inference through a Dense layer together with the BatchNorm and/or activation right after it:
/// the dense kernel adds the bias (folded with the normalization's running statistics) and
/// applies the activation to each sum on its way out of the registers, into the group's output —
/// instead of a bias broadcast, a product, a normalization pass and an activation pass. Training
/// keeps the layers separate (backward needs each output).
struct FusedDense {
    let dense: Dense
    let normalization: BatchNorm?
    let activation: ActivationFunction
    /// Layers the group covers, the Dense first.
    let count: Int

    /// The group starting at layers[start] when it is a per-row Dense followed by a BatchNorm
    /// over its units, an Activation, or both, all before `end`; otherwise nil.
    init?(_ layers: [Layer], at start: Int, end: Int) {
        guard let dense = layers[start] as? Dense, dense.steps == 1 else { return nil }
        var next = start + 1
        var normalization: BatchNorm?
        if next < end, let norm = layers[next] as? BatchNorm, norm.positions == 1 {
            normalization = norm
            next += 1
        }
        var activation = ActivationFunction.identity
        if next < end, let layer = layers[next] as? Activation {
            activation = layer.function
            next += 1
        }
        guard next - start > 1 else { return nil }
        (self.dense, self.normalization, self.activation, count) = (dense, normalization, activation, next - start)
    }

    /// The normalization's running statistics and the Dense's bias folded into one scale and
    /// shift per unit, written to `folded` (2 · units floats); nothing without a normalization.
    /// They change only with the weights, so Network.forward keeps them with the packed weights.
    func fold(into folded: UnsafeMutablePointer<Float>) {
        guard let normalization else { return }
        let units = dense.units, bias = dense.bias!, scale = folded, shift = folded + units
        normalization.foldRunningStatistics(scale: scale, shift: shift)
        for j in 0..<units { shift[j] += bias[j] * scale[j] }
    }

    /// y = f((x·Wᵀ + b)·scale + shift), W packed in `packed` (Dense.packWeights), the scale and
    /// shift folded in `folded` (fold(into:)).
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 packed: UnsafePointer<Float>, folded: UnsafePointer<Float>) {
        let units = dense.units
        guard normalization != nil else {
            return dense.infer(x, y, rows: batch, packed: packed, scale: nil, shift: dense.bias, activation: activation)
        }
        dense.infer(x, y, rows: batch, packed: packed, scale: folded, shift: folded + units, activation: activation)
    }
}
