/// A bidirectional recurrent layer (LSTM or GRU): one reads the sequence forwards, a second (its
/// own weights) reads it backwards; their outputs are concatenated per step ([forward | backward],
/// 2·units), or, in last-state mode, their final states. Parameters: the forward layer's, then the
/// backward one's.
final class Bidirectional<Cell: RecurrentLayer>: Layer {
    let forwardLayer, backwardLayer: Cell

    /// Two layers of the same shape, not repeating their input.
    init(forward: Cell, backward: Cell) {
        precondition(forward.parameterCount == backward.parameterCount && forward.inputSize == backward.inputSize)
        (forwardLayer, backwardLayer) = (forward, backward)
    }

    private var steps: Int { forwardLayer.steps }
    private var units: Int { forwardLayer.units }
    private var sequences: Bool { forwardLayer.returnSequences }
    var inputSize: Int { forwardLayer.inputSize }
    var outputSize: Int { 2 * forwardLayer.outputSize }
    var parameterCount: Int { 2 * forwardLayer.parameterCount }
    var gemmFlopsPerSample: Int { 2 * forwardLayer.gemmFlopsPerSample }

    /// Each direction's scratch, then the reversed input (reused for its gradient) and each
    /// direction's output and output gradient.
    func scratchCount(batch: Int) -> Int {
        2 * forwardLayer.scratchCount(batch: batch) + batch * inputSize + 2 * batch * outputSize
    }

    private func regions(_ s: UnsafeMutablePointer<Float>, batch: Int)
        -> (forward: UnsafeMutablePointer<Float>, backward: UnsafeMutablePointer<Float>, reversed: UnsafeMutablePointer<Float>,
            outputs: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
        let inner = forwardLayer.scratchCount(batch: batch)
        let reversed = s + 2 * inner, outputs = reversed + batch * inputSize
        return (s, s + inner, reversed, outputs, outputs + batch * outputSize)
    }

    func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
              state: UnsafeMutablePointer<Float>) {
        let half = forwardLayer.parameterCount
        forwardLayer.bind(parameters: parameters, gradients: gradients, state: state)
        backwardLayer.bind(parameters: parameters + half, gradients: gradients + half, state: state)
    }

    func initialize(_ rng: inout RandomSource) {
        forwardLayer.initialize(&rng)
        backwardLayer.initialize(&rng)
    }

    /// Reverses the time axis of [batch, steps, width].
    private func reverse(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, batch: Int, width: Int) {
        for n in 0..<batch {
            for t in 0..<steps {
                (target + (n * steps + t) * width).update(from: source + (n * steps + steps - 1 - t) * width, count: width)
            }
        }
    }

    /// Per step (or once, for last states): [forward | backward] rows <-> the two directions'
    /// outputs, the backward one in its own (reversed) time order.
    private func interleave(_ combined: UnsafeMutablePointer<Float>, _ forward: UnsafeMutablePointer<Float>,
                            _ backward: UnsafeMutablePointer<Float>, batch: Int, split: Bool) {
        let u = units, rowsPerSample = sequences ? steps : 1
        for n in 0..<batch {
            for t in 0..<rowsPerSample {
                let row = combined + (n * rowsPerSample + t) * 2 * u
                let f = forward + (n * rowsPerSample + t) * u, b = backward + (n * rowsPerSample + rowsPerSample - 1 - t) * u
                if split { f.update(from: row, count: u); b.update(from: row + u, count: u) }
                else { row.update(from: f, count: u); (row + u).update(from: b, count: u) }
            }
        }
    }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        let s = regions(scratch, batch: batch), half = batch * forwardLayer.outputSize
        reverse(x, into: s.reversed, batch: batch, width: forwardLayer.features)
        forwardLayer.forward(x, s.outputs, batch: batch, scratch: s.forward, phase: phase, rng: &rng)
        backwardLayer.forward(s.reversed, s.outputs + half, batch: batch, scratch: s.backward, phase: phase, rng: &rng)
        interleave(y, s.outputs, s.outputs + half, batch: batch, split: false)
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        let s = regions(scratch, batch: batch), half = batch * forwardLayer.outputSize
        interleave(UnsafeMutablePointer(mutating: dy), s.gradients, s.gradients + half, batch: batch, split: true)
        forwardLayer.backward(x, s.outputs, s.gradients, dx, batch: batch, scratch: s.forward)
        // The reversed input is not needed after backward's GEMMs read it from the LSTM's own copy,
        // so its buffer takes the backward direction's input gradient.
        backwardLayer.backward(s.reversed, s.outputs + half, s.gradients + half, dx == nil ? nil : s.reversed,
                              batch: batch, scratch: s.backward)
        guard let dx else { return }
        let width = forwardLayer.features
        for n in 0..<batch {
            for t in 0..<steps {
                let target = dx + (n * steps + t) * width, source = s.reversed + (n * steps + steps - 1 - t) * width
                for k in 0..<width { target[k] += source[k] }
            }
        }
    }

    // ONNX: one bidirectional LSTM or GRU node; Y [T, 2, N, H] → [T, N, 2H] ([forward | backward] per
    // step, ONNX aligns the reverse direction's outputs with the input's time order, as here), or
    // Y_h [2, N, H] → [N, 2H] (the reverse direction's last state is the one after step 0).
    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value {
        let input = graph.sequence(x, steps: steps, features: forwardLayer.features)
        let (sequence, last) = Cell.onnxNode(&graph, input: input, directions: [forwardLayer, backwardLayer])
        if sequences {
            let perStep = graph.transpose(sequence, [0, 2, 1, 3])
            return .init(name: graph.reshape(perStep, [0, 0, 2 * units]), layout: .sequence(steps: steps, features: 2 * units))
        }
        let perSample = graph.transpose(last, [1, 0, 2])
        return .init(name: graph.reshape(perSample, [-1, 2 * units]), layout: .flat(2 * units))
    }
}

extension Bidirectional where Cell == LSTM {
    convenience init(steps: Int, features: Int, units: Int, returnSequences: Bool, peephole: Bool = false) {
        self.init(forward: LSTM(steps: steps, features: features, units: units, returnSequences: returnSequences, peephole: peephole),
                  backward: LSTM(steps: steps, features: features, units: units, returnSequences: returnSequences, peephole: peephole))
    }
}

extension Bidirectional where Cell == GRU {
    convenience init(steps: Int, features: Int, units: Int, returnSequences: Bool) {
        self.init(forward: GRU(steps: steps, features: features, units: units, returnSequences: returnSequences),
                  backward: GRU(steps: steps, features: features, units: units, returnSequences: returnSequences))
    }
}
