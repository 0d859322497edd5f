/// Max unpooling, "unpooling with switches": each value goes back to the position its encoder
/// pool's maximum came from, every other position is zero. The switches are the pool's winners
/// from the same forward pass: the layer reads the pool's scratch (`readsScratchOf`), which the
/// workspace gives both layers as one buffer. So the decoder needs the encoder's pass over the
/// same rows; decoding codes alone has no switches and is refused by the model.
/// The pool's windows must not overlap (stride = window, checked when the network is built), so
/// every input position is the winner of at most one window and the scatter is a permutation.
final class MaxUnpool2D: Layer {
    let pool: Pool2D

    init(pool: Pool2D) {
        precondition(pool.kind == .max, "unpooling needs the switches of a max pool")
        self.pool = pool
        pool.isUnpooled = true
    }

    var inputSize: Int { pool.outputSize }
    var outputSize: Int { pool.inputSize }
    var readsScratchOf: Layer? { pool }

    private func switches(_ scratch: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(scratch).assumingMemoryBound(to: UInt32.self)
    }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        let winners = switches(scratch), inputs = inputSize, outputs = outputSize
        y.update(repeating: 0, count: batch * outputs)
        for b in 0..<batch {
            let source = x + b * inputs, target = y + b * outputs, sampleWinners = winners + b * inputs
            for i in 0..<inputs { target[Int(sampleWinners[i])] = source[i] }
        }
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        guard let dx else { return }
        let winners = switches(scratch), inputs = inputSize, outputs = outputSize
        for b in 0..<batch {
            let gradient = dy + b * outputs, sampleWinners = winners + b * inputs, target = dx + b * inputs
            for i in 0..<inputs { target[i] = gradient[Int(sampleWinners[i])] }
        }
    }

    // ONNX: MaxUnpool reading the Indices output of the pool's MaxPool (flat over N, C, H, W,
    // as MaxUnpool expects). With stride = window the inferred output size is the pool's input.
    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value {
        let g = pool.geometry
        guard let indices = graph.poolIndices[ObjectIdentifier(pool)] else {
            preconditionFailure("the encoder's pool must be exported before its unpooling")
        }
        let input = graph.image(x, channels: g.channels, height: g.outputHeight, width: g.outputWidth)
        let attributes = g.onnxAttributes(dilations: false)
        let y = graph.node("MaxUnpool", [input, indices], attributes)
        return .init(name: y, layout: .image(channels: g.channels, height: g.inputHeight, width: g.inputWidth))
    }
}
