/// Convolutional LSTM (Shi et al., 2015) over sequences of feature maps [batch, steps, H, W, C]
/// (batch first, channels-last): an LSTM whose input and recurrent products are convolutions
/// (stride 1, 'same' padding), so its states are feature maps [H, W, filters]:
///   z_t = conv(x_t, Wx) + bx + conv(h_{t−1}, Wh) + bh      (blocks i, o, f, c of `filters` channels)
///   c_t = σ(z_f) ⊙ c_{t−1} + σ(z_i) ⊙ tanh(z_c),  h_t = σ(z_o) ⊙ tanh(c_t),  h_0 = c_0 = 0.
/// Output: every step's h [batch, steps, H, W, filters] (`returnSequences`) or the last one. With
/// `repeatsInput` the input is one map [batch, H, W, C] read at every step (a decoder reading the
/// code), and its convolution is computed once.
///
/// The two convolutions are Conv2D layers bound to the two halves of the parameters: the input
/// one (Wx [4·filters, kh, kw, C], bx [4·filters]) then the recurrent one (Wh [4·filters, kh, kw,
/// filters], bh [4·filters]); the input one runs over all steps at once (steps as samples). The
/// forget-gate bias starts at 1. ONNX has no ConvLSTM operator: models with it do not export.
final class ConvLSTM: Layer {
    let steps, height, width, channels, filters: Int
    let returnSequences, repeatsInput: Bool
    let inputConvolution, recurrentConvolution: Conv2D
    private var forgetBias: UnsafeMutablePointer<Float>!

    /// `direct` forces the convolutions' kernels (tests run both); nil lets Conv2D choose.
    init(steps: Int, height: Int, width: Int, channels: Int, filters: Int, kernel: (Int, Int),
         returnSequences: Bool, repeatsInput: Bool = false, direct: Bool? = nil) throws {
        (self.steps, self.height, self.width, self.channels, self.filters) = (steps, height, width, channels, filters)
        self.returnSequences = returnSequences
        self.repeatsInput = repeatsInput
        func convolution(reading inputChannels: Int) throws -> Conv2D {
            let geometry = try ConvGeometry(input: (height, width, inputChannels), kernel: kernel, stride: (1, 1),
                                            dilation: (1, 1), padding: .same)
            return Conv2D(geometry: geometry, filters: 4 * filters, initialization: .glorot, direct: direct)
        }
        inputConvolution = try convolution(reading: channels)
        recurrentConvolution = try convolution(reading: filters)
    }

    private var stateSize: Int { height * width * filters }
    private var gateSize: Int { 4 * stateSize }
    private var inputSamples: Int { repeatsInput ? 1 : steps }

    var inputSize: Int { inputSamples * height * width * channels }
    var outputSize: Int { (returnSequences ? steps : 1) * stateSize }
    var parameterCount: Int { inputConvolution.parameterCount + recurrentConvolution.parameterCount }
    var gemmFlopsPerSample: Int {
        inputSamples * inputConvolution.gemmFlopsPerSample + steps * recurrentConvolution.gemmFlopsPerSample
    }

    /// Scratch: per sample and step the activated gates, cell and hidden states, gate and hidden
    /// gradients ([batch, steps, …]); per sample one step's recurrent gates, previous hidden state,
    /// its gradient and the cell-state carry; for a repeated input its projection and gradient;
    /// then the two convolutions' own scratch.
    private struct Regions {
        let gates, cells, hidden, dGates, dHidden, stepGates, previous, dPrevious, dCell, projection, dProjection,
            inputScratch, recurrentScratch: UnsafeMutablePointer<Float>
    }

    private func regions(_ s: UnsafeMutablePointer<Float>, batch: Int) -> Regions {
        let sequence = batch * steps, repeated = repeatsInput ? batch * gateSize : 0
        let gates = s, cells = gates + sequence * gateSize, hidden = cells + sequence * stateSize
        let dGates = hidden + sequence * stateSize, dHidden = dGates + sequence * gateSize
        let stepGates = dHidden + sequence * stateSize, previous = stepGates + batch * gateSize
        let dPrevious = previous + batch * stateSize, dCell = dPrevious + batch * stateSize
        let projection = dCell + batch * stateSize, dProjection = projection + repeated
        let inputScratch = dProjection + repeated
        let recurrentScratch = inputScratch + inputConvolution.scratchCount(batch: batch * inputSamples)
        return Regions(gates: gates, cells: cells, hidden: hidden, dGates: dGates, dHidden: dHidden, stepGates: stepGates,
                       previous: previous, dPrevious: dPrevious, dCell: dCell, projection: projection,
                       dProjection: dProjection, inputScratch: inputScratch, recurrentScratch: recurrentScratch)
    }

    func scratchCount(batch: Int) -> Int {
        batch * steps * (2 * gateSize + 3 * stateSize) + batch * (gateSize + 3 * stateSize)
            + (repeatsInput ? 2 * batch * gateSize : 0)
            + inputConvolution.scratchCount(batch: batch * inputSamples) + recurrentConvolution.scratchCount(batch: batch)
    }

    func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
              state: UnsafeMutablePointer<Float>) {
        let split = inputConvolution.parameterCount
        forgetBias = parameters + split - 2 * filters  // bx's f block: Conv2D stores W, then b [i o f c]
        inputConvolution.bind(parameters: parameters, gradients: gradients, state: state)
        recurrentConvolution.bind(parameters: parameters + split, gradients: gradients + split, state: state)
    }

    func initialize(_ rng: inout RandomSource) {
        inputConvolution.initialize(&rng)
        recurrentConvolution.initialize(&rng)
        forgetBias.update(repeating: 1, count: filters)
    }

    /// Copies h_{t−1} of every sample (zeros at t = 0) into `previous`, contiguous for the convolution.
    private func gatherPrevious(_ s: Regions, step t: Int, batch: Int) {
        for b in 0..<batch {
            let target = s.previous + b * stateSize
            if t == 0 { target.update(repeating: 0, count: stateSize) }
            else { target.update(from: s.hidden + (b * steps + t - 1) * stateSize, count: stateSize) }
        }
    }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        let s = regions(scratch, batch: batch), f = filters, positions = height * width
        inputConvolution.forward(x, repeatsInput ? s.projection : s.gates, batch: batch * inputSamples,
                                 scratch: s.inputScratch, phase: phase, rng: &rng)
        for t in 0..<steps {
            gatherPrevious(s, step: t, batch: batch)
            recurrentConvolution.forward(s.previous, s.stepGates, batch: batch, scratch: s.recurrentScratch, phase: phase, rng: &rng)
            for b in 0..<batch {
                let row = b * steps + t, z = s.gates + row * gateSize, recurrent = s.stepGates + b * gateSize
                if repeatsInput { z.update(from: s.projection + b * gateSize, count: gateSize) }
                for k in 0..<gateSize { z[k] += recurrent[k] }
                let cells = s.cells + row * stateSize, hidden = s.hidden + row * stateSize
                for p in 0..<positions {
                    let a = z + p * 4 * f, c = cells + p * f, h = hidden + p * f
                    for j in 0..<(3 * f) { a[j] = FastMath.sigmoid(a[j]) }
                    for j in (3 * f)..<(4 * f) { a[j] = FastMath.tanh(a[j]) }
                    for j in 0..<f {
                        let previousCell: Float = t > 0 ? c[j - stateSize] : 0
                        c[j] = a[2 * f + j] * previousCell + a[j] * a[3 * f + j]
                        h[j] = a[f + j] * FastMath.tanh(c[j])
                    }
                }
            }
        }
        for b in 0..<batch {
            let first = returnSequences ? 0 : steps - 1, count = (steps - first) * stateSize
            (y + b * outputSize).update(from: s.hidden + (b * steps + first) * stateSize, count: count)
        }
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        let s = regions(scratch, batch: batch), f = filters, positions = height * width
        var rng = RandomSource(seed: 0)  // the convolutions draw no random numbers
        s.dHidden.update(repeating: 0, count: batch * steps * stateSize)
        for b in 0..<batch {
            let first = returnSequences ? 0 : steps - 1
            (s.dHidden + (b * steps + first) * stateSize).update(from: dy + b * outputSize, count: (steps - first) * stateSize)
        }
        s.dCell.update(repeating: 0, count: batch * stateSize)
        for t in (0..<steps).reversed() {
            for b in 0..<batch {
                let row = b * steps + t
                let z = s.gates + row * gateSize, dz = s.dGates + row * gateSize
                let cells = s.cells + row * stateSize, dHidden = s.dHidden + row * stateSize, dCell = s.dCell + b * stateSize
                for p in 0..<positions {
                    let a = z + p * 4 * f, da = dz + p * 4 * f, c = cells + p * f, dh = dHidden + p * f, dc = dCell + p * f
                    for j in 0..<f {
                        let i = a[j], o = a[f + j], forget = a[2 * f + j], candidate = a[3 * f + j]
                        let previousCell: Float = t > 0 ? c[j - stateSize] : 0
                        let tc = FastMath.tanh(c[j])
                        let dCellNow = dc[j] + dh[j] * o * (1 - tc * tc)
                        da[j] = dCellNow * candidate * i * (1 - i)
                        da[f + j] = dh[j] * tc * o * (1 - o)
                        da[2 * f + j] = dCellNow * previousCell * forget * (1 - forget)
                        da[3 * f + j] = dCellNow * i * (1 - candidate * candidate)
                        dc[j] = dCellNow * forget
                    }
                }
            }
            // The recurrent convolution's weight gradient needs its input's patches of this step.
            gatherPrevious(s, step: t, batch: batch)
            if !recurrentConvolution.direct {
                recurrentConvolution.forward(s.previous, s.stepGates, batch: batch, scratch: s.recurrentScratch,
                                             phase: .training, rng: &rng)
            }
            for b in 0..<batch { (s.stepGates + b * gateSize).update(from: s.dGates + (b * steps + t) * gateSize, count: gateSize) }
            recurrentConvolution.backward(s.previous, s.stepGates, s.stepGates, t > 0 ? s.dPrevious : nil, batch: batch,
                                          scratch: s.recurrentScratch)
            guard t > 0 else { continue }
            for b in 0..<batch {
                let target = s.dHidden + (b * steps + t - 1) * stateSize, source = s.dPrevious + b * stateSize
                for k in 0..<stateSize { target[k] += source[k] }
            }
        }
        if repeatsInput {
            // The map read at every step: its gate gradients sum over the steps.
            s.dProjection.update(repeating: 0, count: batch * gateSize)
            for b in 0..<batch {
                let target = s.dProjection + b * gateSize
                for t in 0..<steps {
                    let source = s.dGates + (b * steps + t) * gateSize
                    for k in 0..<gateSize { target[k] += source[k] }
                }
            }
        }
        inputConvolution.backward(x, s.gates, repeatsInput ? s.dProjection : s.dGates, dx, batch: batch * inputSamples,
                                  scratch: s.inputScratch)
    }

    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value {
        preconditionFailure("ONNX has no ConvLSTM operator; export refuses such models before reaching a layer")
    }
}
