/// Inference through a direct Conv2D together with the Activation right after it: each thread
/// applies the activation to its own output rows of the convolution as soon as they are written,
/// in the same parallel region, instead of a second pass over the whole output on one thread
/// (W2's first layer: 12,544 ELUs per sample). The values are the two layers' own, bit for bit.
/// Training keeps the layers separate (backward needs each output).
struct FusedConvolution {
    let convolution: Conv2D
    let activation: ActivationFunction
    /// Layers the group covers, the Conv2D first.
    let count = 2

    /// The group starting at layers[start] when it is a direct Conv2D followed by an Activation,
    /// both before `end`; otherwise nil.
    init?(_ layers: [Layer], at start: Int, end: Int) {
        guard start + 1 < end, let convolution = layers[start] as? Conv2D, convolution.direct,
              let activation = layers[start + 1] as? Activation else { return nil }
        (self.convolution, self.activation) = (convolution, activation.function)
    }

    /// y = f(conv(x)), the transposed weights in `packed` (Conv2D.packWeights).
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, packed: UnsafeMutablePointer<Float>) {
        convolution.inferPacked(x, y, batch: batch, scratch: packed, activation: activation)
    }
}
