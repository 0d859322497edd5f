/// Gated recurrent unit over [batch, steps, features] sequences (batch first, row-major), the
/// lighter recurrent cell: two gates and no cell state. With a learned initial state h0 (starting
/// at zero). Output, `returnSequences` and `repeatsInput` as LSTM's.
///
///     z = σ(W_z x + R_z h + b_z)            update gate
///     r = σ(W_r x + R_r h + b_r)            reset gate
///     n = tanh(W_n x + b_n + r ⊙ (R_n h + b_Rn))
///     h' = (1 − z) ⊙ n + z ⊙ h
///
/// The reset gate scales the recurrent product after it is computed (PyTorch's GRU, ONNX's
/// linear_before_reset = 1), so one GEMM per step gives all three recurrent terms.
/// Parameters, in order: W [3·units, features], R [3·units, units], b [3·units], b_Rn [units],
/// h0 [units]; gate blocks in the order z, r, n (ONNX's). Like LSTM, the input projections of
/// all steps are one GEMM, and the recurrence runs batch-parallel in chunks whose per-step GEMMs
/// stay on the calling thread.
final class GRU: RecurrentLayer {
    let steps, features, units: Int
    let returnSequences: Bool
    let repeatsInput: Bool
    private var w, r, b, rb, h0, dw, dr, db, drb, dh0: UnsafeMutablePointer<Float>!

    init(steps: Int, features: Int, units: Int, returnSequences: Bool, repeatsInput: Bool = false) {
        self.steps = steps
        self.features = features
        self.units = units
        self.returnSequences = returnSequences
        self.repeatsInput = repeatsInput
    }

    var inputSize: Int { repeatsInput ? features : steps * features }
    var outputSize: Int { returnSequences ? steps * units : units }
    var parameterCount: Int { 3 * units * (features + units + 1) + 2 * units }
    var gemmFlopsPerSample: Int { 2 * 3 * units * ((repeatsInput ? 1 : steps) * features + steps * units) }

    /// Scratch, time-major: x (for a repeated input: the input-side gate gradients summed over
    /// the steps, [batch, 3·units]), gates (z, r, n), the recurrent products (their n part
    /// replaced by R_n h + b_Rn, then by the recurrent-side gradients in backward), hidden states,
    /// input-side gate gradients, hidden-state gradients, dx (none for a repeated input); then
    /// [batch, units] each: the carried gradient and h0 per sample.
    private struct Regions {
        let x, gates, recurrent, hidden, dGates, dHidden, dx, dhNext, hInitial: UnsafeMutablePointer<Float>
    }

    private func regions(_ s: UnsafeMutablePointer<Float>, batch: Int) -> Regions {
        let tb = steps * batch, g3 = 3 * units
        let x = s, gates = x + inputScratch(batch: batch), recurrent = gates + tb * g3, hidden = recurrent + tb * g3
        let dGates = hidden + tb * units, dHidden = dGates + tb * g3, dx = dHidden + tb * units
        let dhNext = dx + (repeatsInput ? 0 : tb * features), hInitial = dhNext + batch * units
        return Regions(x: x, gates: gates, recurrent: recurrent, hidden: hidden, dGates: dGates, dHidden: dHidden, dx: dx,
                       dhNext: dhNext, hInitial: hInitial)
    }

    private func inputScratch(batch: Int) -> Int { repeatsInput ? batch * 3 * units : steps * batch * features }

    func scratchCount(batch: Int) -> Int {
        inputScratch(batch: batch) + steps * batch * ((repeatsInput ? 0 : features) + 11 * units) + 2 * batch * units
    }

    func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
              state: UnsafeMutablePointer<Float>) {
        w = parameters; r = w + 3 * units * features; b = r + 3 * units * units; rb = b + 3 * units; h0 = rb + units
        dw = gradients; dr = dw + 3 * units * features; db = dr + 3 * units * units; drb = db + 3 * units; dh0 = drb + units
    }

    func initialize(_ rng: inout RandomSource) {
        WeightInitialization.glorot.fill(w, count: 3 * units * features, fanIn: features, fanOut: 3 * units, rng: &rng)
        WeightInitialization.glorot.fill(r, count: 3 * units * units, fanIn: units, fanOut: 3 * units, rng: &rng)
        b.update(repeating: 0, count: 5 * units)  // b, b_Rn and h0
    }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        let s = regions(scratch, batch: batch), h = units, g3 = 3 * units
        Recurrence.projectInputs(x, timeMajor: s.x, weight: w, bias: b, steps: steps, batch: batch, features: features,
                                 gates: g3, repeated: repeatsInput, into: s.gates)
        Bias.broadcast(h0, into: s.hInitial, rows: batch, columns: h)
        Recurrence.forEachChunk(steps: steps, batch: batch, units: units, gates: 3) { t, first, rows in
            let row = t * batch + first
            let gates = s.gates + row * g3, recurrent = s.recurrent + row * g3, hidden = s.hidden + row * h
            let previous = t > 0 ? hidden - batch * h : s.hInitial + first * h
            BLAS.gemm(transB: true, m: rows, n: g3, k: h, previous, r, recurrent)
            for n in 0..<rows {
                let a = gates + n * g3, q = recurrent + n * g3, out = hidden + n * h, before = previous + n * h
                for j in 0..<h {
                    let z = FastMath.sigmoid(a[j] + q[j]), reset = FastMath.sigmoid(a[h + j] + q[h + j])
                    let linear = q[2 * h + j] + rb[j]
                    let candidate = FastMath.tanh(a[2 * h + j] + reset * linear)
                    (a[j], a[h + j], a[2 * h + j], q[2 * h + j]) = (z, reset, candidate, linear)
                    out[j] = (1 - z) * candidate + z * before[j]
                }
            }
        }
        emitOutput(s.hidden, into: y, batch: batch)
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        let s = regions(scratch, batch: batch), h = units, g3 = 3 * units
        receiveOutputGradient(dy, into: s.dHidden, batch: batch)
        s.dhNext.update(repeating: 0, count: batch * h)
        Recurrence.forEachChunk(steps: steps, batch: batch, units: units, gates: 3, backwards: true) { t, first, rows in
            let row = t * batch + first
            let gates = s.gates + row * g3, recurrent = s.recurrent + row * g3, dGates = s.dGates + row * g3
            let dHidden = s.dHidden + row * h, dhNext = s.dhNext + first * h
            let previous = t > 0 ? s.hidden + (row - batch) * h : s.hInitial + first * h
            for n in 0..<rows {
                let a = gates + n * g3, q = recurrent + n * g3, da = dGates + n * g3, before = previous + n * h
                let carried = dhNext + n * h
                for j in 0..<h {
                    let z = a[j], reset = a[h + j], candidate = a[2 * h + j], linear = q[2 * h + j]
                    let dh = dHidden[n * h + j] + carried[j]
                    let dCandidate = dh * (1 - z) * (1 - candidate * candidate)
                    let dz = dh * (before[j] - candidate) * z * (1 - z)
                    let dReset = dCandidate * linear * reset * (1 - reset)
                    (da[j], da[h + j], da[2 * h + j]) = (dz, dReset, dCandidate)
                    // The recurrent side: the same z and r gradients, and the candidate's through r.
                    (q[j], q[h + j], q[2 * h + j]) = (dz, dReset, dCandidate * reset)
                    carried[j] = dh * z
                }
            }
            // dh_{t−1} = dh ⊙ z + [dz, dr, dn ⊙ r] · R (at t = 0: the gradient of the initial state)
            BLAS.gemm(m: rows, n: h, k: g3, recurrent, r, beta: 1, dhNext)
        }
        Bias.accumulateGradient(s.dhNext, rows: batch, columns: h, into: dh0)
        Recurrence.recurrentWeightGradient(s.recurrent, initial: s.hInitial, hidden: s.hidden, steps: steps, batch: batch,
                                           units: h, gates: g3, into: dr)
        for i in 0..<(steps * batch) { for j in 0..<h { drb[j] += s.recurrent[i * g3 + 2 * h + j] } }
        Bias.accumulateGradient(s.dGates, rows: steps * batch, columns: g3, into: db)
        Recurrence.inputGradients(s.dGates, x: x, timeMajor: s.x, dxTimeMajor: s.dx, weight: w, weightGradient: dw, dx: dx,
                                  steps: steps, batch: batch, features: features, gates: g3, repeated: repeatsInput)
    }

    /// One ONNX GRU node (linear_before_reset = 1) for `directions` (this layer, or a bidirectional
    /// pair); ONNX's B is [input biases | recurrent biases], here [b | 0, 0, b_Rn].
    static func onnxNode(_ graph: inout ONNXGraph, input: String, directions: [GRU]) -> (sequence: String, last: String) {
        let count = directions.count, h = directions[0].units, f = directions[0].features
        func stacked(_ part: (GRU) -> [Float]) -> [Float] { directions.flatMap(part) }
        let w = graph.constant("W", dims: [count, 3 * h, f], stacked { ONNXGraph.values($0.w, 3 * h * f) })
        let r = graph.constant("R", dims: [count, 3 * h, h], stacked { ONNXGraph.values($0.r, 3 * h * h) })
        let b = graph.constant("B", dims: [count, 6 * h], stacked {
            ONNXGraph.values($0.b, 3 * h) + [Float](repeating: 0, count: 2 * h) + ONNXGraph.values($0.rb, h)
        })
        let initialH = Recurrence.onnxInitialState(&graph, input: input, name: "h0", values: stacked { ONNXGraph.values($0.h0, h) },
                                                   directions: count, units: h)
        let y = graph.fresh("Y"), yh = graph.fresh("Y_h")
        graph.node("GRU", [input, w, r, b, "", initialH], outputs: [y, yh],
                   [("hidden_size", .int(h)), ("linear_before_reset", .int(1)),
                    ("direction", .string(count == 2 ? "bidirectional" : "forward"))])
        return (y, yh)
    }
}
