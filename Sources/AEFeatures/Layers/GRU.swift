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
        WeightInitialisation.glorot.fill(w, count: 3 * units * features, fanIn: features, fanOut: 3 * units, rng: &rng)
        WeightInitialisation.glorot.fill(r, count: 3 * units * units, fanIn: units, fanOut: 3 * units, rng: &rng)
        b.update(repeating: 0, count: 5 * units)  // b, b_Rn and h0
    }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        let s = regions(scratch, batch: batch), h = units, g3 = 3 * units
        if repeatsInput {
            Bias.broadcast(b, into: s.gates, rows: batch, columns: g3)
            BLAS.gemm(transB: true, m: batch, n: g3, k: features, x, w, beta: 1, s.gates)
            for t in 1..<Swift.max(steps, 1) { (s.gates + t * batch * g3).update(from: s.gates, count: batch * g3) }
        } else {
            Recurrence.transpose(x, s.x, steps: steps, batch: batch, width: features, toTimeMajor: true)
            Bias.broadcast(b, into: s.gates, rows: steps * batch, columns: g3)
            BLAS.gemm(transB: true, m: steps * batch, n: g3, k: features, s.x, w, beta: 1, s.gates)
        }
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
        if returnSequences {
            Recurrence.transpose(s.hidden, y, steps: steps, batch: batch, width: h, toTimeMajor: false)
        } else {
            y.update(from: s.hidden + (steps - 1) * batch * h, count: batch * h)
        }
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        let s = regions(scratch, batch: batch), h = units, g3 = 3 * units
        if returnSequences {
            Recurrence.transpose(dy, s.dHidden, steps: steps, batch: batch, width: h, toTimeMajor: true)
        } else {
            s.dHidden.update(repeating: 0, count: steps * batch * h)
            (s.dHidden + (steps - 1) * batch * h).update(from: dy, count: batch * h)
        }
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
        let rows = steps * batch
        BLAS.gemm(transA: true, m: g3, n: h, k: batch, s.recurrent, s.hInitial, beta: 1, dr)
        if steps > 1 {
            BLAS.gemm(transA: true, m: g3, n: h, k: (steps - 1) * batch, s.recurrent + batch * g3, s.hidden, beta: 1, dr)
        }
        for i in 0..<rows { for j in 0..<h { drb[j] += s.recurrent[i * g3 + 2 * h + j] } }
        Bias.accumulateGradient(s.dGates, rows: rows, columns: g3, into: db)
        if repeatsInput {
            // Every step read the same x: dW = (Σ_t dGates_t)ᵀ x and dx = (Σ_t dGates_t) W.
            let sums = s.x
            sums.update(from: s.dGates, count: batch * g3)
            for t in 1..<Swift.max(steps, 1) {
                let step = s.dGates + t * batch * g3
                for i in 0..<(batch * g3) { sums[i] += step[i] }
            }
            BLAS.gemm(transA: true, m: g3, n: features, k: batch, sums, x, beta: 1, dw)
            if let dx { BLAS.gemm(m: batch, n: features, k: g3, sums, w, dx) }
            return
        }
        BLAS.gemm(transA: true, m: g3, n: features, k: rows, s.dGates, s.x, beta: 1, dw)
        guard let dx else { return }
        BLAS.gemm(m: rows, n: features, k: g3, s.dGates, w, s.dx)
        Recurrence.transpose(s.dx, dx, steps: steps, batch: batch, width: features, toTimeMajor: false)
    }

    // ONNX: GRU (linear_before_reset = 1) on [T, N, features]; outputs as LSTM's.
    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value {
        let repeated = repeatsInput ? RepeatVector(steps: steps, units: features).exportONNX(&graph, x) : x
        let input = graph.sequence(repeated, steps: steps, features: features)
        let (sequence, last) = GRU.onnxNode(&graph, input: input, directions: [self])
        let axes = graph.constant("axes", int64: [returnSequences ? 1 : 0])
        let y = graph.node("Squeeze", [returnSequences ? sequence : last, axes])
        return .init(name: y, layout: returnSequences ? .sequence(steps: steps, features: units) : .flat(units))
    }

    /// One ONNX GRU node for `directions` (this layer, or a bidirectional pair); ONNX's B is
    /// [input biases | recurrent biases], here [b | 0, 0, b_Rn].
    static func onnxNode(_ graph: inout ONNXGraph, input: String, directions: [GRU]) -> (sequence: String, last: String) {
        let count = directions.count, h = directions[0].units, f = directions[0].features
        func stacked(_ part: (GRU) -> [Float]) -> [Float] { directions.flatMap(part) }
        let w = graph.constant("W", dims: [count, 3 * h, f], stacked { ONNXGraph.values($0.w, 3 * h * f) })
        let r = graph.constant("R", dims: [count, 3 * h, h], stacked { ONNXGraph.values($0.r, 3 * h * h) })
        let b = graph.constant("B", dims: [count, 6 * h], stacked {
            ONNXGraph.values($0.b, 3 * h) + [Float](repeating: 0, count: 2 * h) + ONNXGraph.values($0.rb, h)
        })
        let batch = graph.batchSize(ofSequence: input)
        let prefix = graph.constant("directions", int64: [count]), suffix = graph.constant("units", int64: [h])
        let stateShape = graph.node("Concat", [prefix, batch, suffix], [("axis", .int(0))])
        let h0 = graph.constant("h0", dims: [count, 1, h], stacked { ONNXGraph.values($0.h0, h) })
        let initialH = graph.node("Expand", [h0, stateShape])
        let y = graph.fresh("Y"), yh = graph.fresh("Y_h")
        graph.node("GRU", [input, w, r, b, "", initialH], outputs: [y, yh],
                   [("hidden_size", .int(h)), ("linear_before_reset", .int(1)),
                    ("direction", .string(count == 2 ? "bidirectional" : "forward"))])
        return (y, yh)
    }
}
