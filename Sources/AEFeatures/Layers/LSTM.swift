import AEFKernels

/// Long short-term memory over [batch, steps, features] sequences (batch first, row-major), with
/// learned initial states h0 and c0 (starting at zero, so an untrained layer starts from zero
/// states as usual). Output: every step's hidden state [batch, steps, units] (`returnSequences`) or
/// the last one [batch, units]. With `repeatsInput` the input is one [batch, features] vector fed
/// at every step (a seq2seq decoder reading the code): its projection is computed once, and its
/// gradients come from the gate gradients summed over the steps.
///
/// Parameters, in order: W [4·units, features] (input weights), R [4·units, units] (recurrent),
/// b [4·units], h0 [units], c0 [units]; gate blocks in the order i, o, f, c (input, output, forget, cell candidate) — ONNX's
/// order. The forget-gate bias starts at 1. With `peephole` also P [3·units] (order i, o, f, ONNX's
/// P), starting at zero: the input and forget gates also see c_{t−1}, the output gate c_t
/// (i = σ(… + P_i ⊙ c_{t−1}), f = σ(… + P_f ⊙ c_{t−1}), o = σ(… + P_o ⊙ c_t)).
///
/// In training the input projections of all steps are one GEMM up front. Each step is one call of the vector
/// kernel lstm_step_forward (Sources/AEFKernels): for a block of samples it sums h_{t−1} · Rᵀ for
/// the four gates in registers, with R packed once per pass so it streams from cache, and
/// applies the cell update before moving on; its backward twin computes the gate gradients and
/// dh_{t−1} = dGates · R the same way. Every other step runs those sums in the reverse order
/// (`descending`), so a step starts on the part of R the step before read last, still in L1.
/// (A per-step sgemm of about 16 × 64 × 256 spent more time in OpenBLAS's dispatch and packing
/// than in arithmetic.) Internally the sequence is time-major,
/// so each step's rows are contiguous. The recurrence runs batch-parallel: samples are
/// independent, so each thread takes its own chunks of the batch through every step.
final class LSTM: RecurrentLayer, PackedInference {
    let steps, features, units: Int
    let returnSequences: Bool
    let repeatsInput: Bool
    let peephole: Bool
    /// The vector kernels of the steps (tests pass each instruction set's).
    let kernels: aefk_table
    private var w, r, b, h0, c0, p, dw, dr, db, dh0, dc0, dp: UnsafeMutablePointer<Float>!

    init(steps: Int, features: Int, units: Int, returnSequences: Bool, repeatsInput: Bool = false, peephole: Bool = false,
         kernels: aefk_table = Kernels.active) {
        self.kernels = kernels
        self.steps = steps
        self.features = features
        self.units = units
        self.returnSequences = returnSequences
        self.repeatsInput = repeatsInput
        self.peephole = peephole
    }

    var inputSize: Int { repeatsInput ? features : steps * features }
    var outputSize: Int { returnSequences ? steps * units : units }
    var parameterCount: Int { 4 * units * (features + units + 1) + (peephole ? 5 : 2) * units }
    var gemmFlopsPerSample: Int { 2 * 4 * units * ((repeatsInput ? 1 : steps) * features + steps * units) }

    /// Scratch, time-major: x (for a repeated input: the gate gradients summed over the steps,
    /// [batch, 4·units]), gate activations, cell states, hidden states, gate gradients,
    /// hidden-state gradients, dx (none for a repeated input); then [batch, units] each: two
    /// carries and h0, c0 per sample; then R packed for the step kernel.
    private struct Regions {
        let x, gates, cells, hidden, dGates, dHidden, dx, dhNext, dcNext, hInitial, cInitial, packed: UnsafeMutablePointer<Float>
    }

    private func regions(_ s: UnsafeMutablePointer<Float>, batch: Int) -> Regions {
        let tb = steps * batch
        let x = s, gates = x + inputScratch(batch: batch), cells = gates + tb * 4 * units, hidden = cells + tb * units
        let dGates = hidden + tb * units, dHidden = dGates + tb * 4 * units, dx = dHidden + tb * units
        let dhNext = dx + (repeatsInput ? 0 : tb * features), dcNext = dhNext + batch * units
        let hInitial = dcNext + batch * units, cInitial = hInitial + batch * units, packed = cInitial + batch * units
        return Regions(x: x, gates: gates, cells: cells, hidden: hidden, dGates: dGates, dHidden: dHidden, dx: dx,
                       dhNext: dhNext, dcNext: dcNext, hInitial: hInitial, cInitial: cInitial, packed: packed)
    }

    private func inputScratch(batch: Int) -> Int { repeatsInput ? batch * 4 * units : steps * batch * features }

    func scratchCount(batch: Int) -> Int {
        let training = inputScratch(batch: batch) + steps * batch * ((repeatsInput ? 0 : features) + 11 * units)
            + 4 * batch * units + aefk_lstm_packed_count(units, units)
        return Swift.max(training, inferenceScratchCount(batch: batch))
    }

    func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
              state: UnsafeMutablePointer<Float>) {
        w = parameters; r = w + 4 * units * features; b = r + 4 * units * units; h0 = b + 4 * units; c0 = h0 + units
        dw = gradients; dr = dw + 4 * units * features; db = dr + 4 * units * units; dh0 = db + 4 * units; dc0 = dh0 + units
        p = peephole ? c0 + units : nil
        dp = peephole ? dc0 + units : nil
    }

    func initialize(_ rng: inout RandomSource) {
        WeightInitialization.glorot.fill(w, count: 4 * units * features, fanIn: features, fanOut: 4 * units, rng: &rng)
        WeightInitialization.glorot.fill(r, count: 4 * units * units, fanIn: units, fanOut: 4 * units, rng: &rng)
        b.update(repeating: 0, count: 4 * units)
        (b + 2 * units).update(repeating: 1, count: units)  // forget gate
        h0.update(repeating: 0, count: (peephole ? 5 : 2) * units)  // h0, c0 and the peepholes
    }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        if phase == .inference {
            packWeights(into: scratch)
            return inferPacked(x, y, batch: batch, scratch: scratch)
        }
        let s = regions(scratch, batch: batch), h = units, g4 = 4 * units
        Recurrence.projectInputs(x, timeMajor: s.x, weight: w, bias: b, steps: steps, batch: batch, features: features,
                                 gates: g4, repeated: repeatsInput, into: s.gates)
        Bias.broadcast(h0, into: s.hInitial, rows: batch, columns: h)
        Bias.broadcast(c0, into: s.cInitial, rows: batch, columns: h)
        aefk_lstm_pack(r, h, h, s.packed)
        Recurrence.forEachChunk(steps: steps, batch: batch, units: units, gates: 4) { t, first, rows in
            let row = t * batch + first
            let gates = s.gates + row * g4, cells = s.cells + row * h, hidden = s.hidden + row * h
            var step = aefk_lstm_step(rows: rows, units: h, x: nil, x_stride: 0, features: 0, packed_input: nil,
                                      h_prev: t > 0 ? hidden - batch * h : s.hInitial + first * h, packed_recurrent: s.packed,
                                      peephole: p, c_prev: t > 0 ? cells - batch * h : s.cInitial + first * h,
                                      gates: gates, cells: cells, hidden: hidden, input_products: nil, input_products_stride: 0,
                                      bias: nil, bias_stride: 0, descending: Int32(t % 2))
            kernels.lstm_step_forward(&step)
        }
        emitOutput(s.hidden, into: y, batch: batch)
    }

    private func inferenceScratchCount(batch: Int) -> Int {
        aefk_lstm_packed_count(units, units) + aefk_lstm_packed_count(units, features) + 4 * batch * units
            + (repeatsInput ? batch * 4 * units : 4 * units + (LSTM.fewRows - 1) * steps * 4 * units)
    }

    /// A chunk of fewer samples than this (the widest kernel build's row block, AVX-512's 4) has
    /// the x·Wᵀ of all its steps computed first: its steps sum one sample at a time, and would
    /// each read W whole per sample (W3 at batch 1: 28 KB of W beside R's 64 KB at every step).
    static let fewRows = 4

    /// R and (unless the input is repeated) W packed for the step kernel, then h0·Rᵀ + b: the
    /// start of the inference scratch. The first step's h·Rᵀ is the same for every sample and
    /// call, so it is summed here once per weights rather than at every call (a step of W3's
    /// batch-of-one call is mostly reading R).
    func packWeights(into scratch: UnsafeMutablePointer<Float>) {
        aefk_lstm_pack(r, units, units, scratch)
        guard !repeatsInput else { return }  // its first step adds h0·Rᵀ to each sample's own x·Wᵀ + b
        let packedInput = scratch + aefk_lstm_packed_count(units, units)
        aefk_lstm_pack(w, units, features, packedInput)
        let initial = packedInput + aefk_lstm_packed_count(units, features)
        initial.update(from: b, count: 4 * units)
        BLAS.gemm(transB: true, m: 1, n: 4 * units, k: units, h0, r, beta: 1, initial)
    }

    /// Inference keeps two states per sample rather than every step's gates, cells and hidden
    /// states: each chunk of the batch goes through all the steps while its states stay in cache,
    /// the step kernel summing x_t·Wᵀ itself (W and R as packWeights left them), so there is no
    /// projection GEMM over all steps and nothing per step is written but the output. A repeated
    /// input is projected once, as in training; a chunk of few samples has its x·Wᵀ computed
    /// ahead (`fewRows`), into one region: only a batch's last chunk can be that short.
    func inferPacked(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                     scratch: UnsafeMutablePointer<Float>) {
        let h = units, g4 = 4 * units
        let packedRecurrent = scratch, packedInput = packedRecurrent + aefk_lstm_packed_count(h, h)
        let initial = packedInput + aefk_lstm_packed_count(h, features)  // h0·Rᵀ + b (packWeights)
        let allStates = initial + (repeatsInput ? 0 : g4)  // [2 slots][h, c][batch, H]
        let projected = allStates + 4 * batch * h  // a repeated input's x·Wᵀ + b [batch, 4H], computed once
        let ahead = projected  // or a short chunk's x·Wᵀ, [sample, step, 4H]
        if repeatsInput {
            Bias.broadcast(b, into: projected, rows: batch, columns: g4)
            BLAS.gemm(transB: true, m: batch, n: g4, k: features, x, w, beta: 1, projected)
        }
        let xStride = repeatsInput ? features : steps * features
        Recurrence.forEachChunk(batch: batch, units: units, gates: 4) { first, rows in
            let computedAhead = !repeatsInput && rows < LSTM.fewRows
            func slot(_ i: Int) -> UnsafeMutablePointer<Float> { allStates + i % 2 * 2 * batch * h + first * h }  // cells at + batch·H
            if repeatsInput { Bias.broadcast(h0, into: slot(0), rows: rows, columns: h) }  // else in `initial`
            Bias.broadcast(c0, into: slot(0) + batch * h, rows: rows, columns: h)
            // Computed ahead, the x·Wᵀ of steps come in blocks of steps, produced by another
            // thread while this one runs the steps (a pipeline: W3's batch of one spent about a
            // sixth of its call on them); each step prefetches the next step's sums, which
            // otherwise arrive from the other core's cache one miss at a time.
            var inputs = InputsAhead(x: x + first * xStride, xStride: xStride, features: features, packedInput: packedInput,
                                     products: ahead, rows: rows, steps: steps, units: h, kernels: kernels)
            Parallel.pipeline(blocks: computedAhead ? InputsAhead.block(ofStep: steps - 1) + 1 : 0,
                              produce: InputsAhead.produce, work: &inputs) { ready in
                for t in 0..<steps {
                    if computedAhead {
                        let k = InputsAhead.block(ofStep: t)
                        if InputsAhead.blockStart(k) == t { ready(k) }
                        for n in 0..<rows where t + 1 < steps { aefk_prefetch(ahead + (n * steps + t + 1) * g4, g4 * 4) }
                    }
                    let previous = slot(t), next = slot(t + 1)
                    let last = t == steps - 1 && !returnSequences
                    var step = aefk_lstm_step(rows: rows, units: h, x: x + first * xStride + (repeatsInput ? 0 : t * features),
                                              x_stride: xStride, features: features, packed_input: repeatsInput ? nil : packedInput,
                                              h_prev: t == 0 && !repeatsInput ? nil : previous,
                                              packed_recurrent: packedRecurrent, peephole: p,
                                              c_prev: previous + batch * h, gates: nil, cells: next + batch * h,
                                              hidden: last ? y + first * h : next, input_products: computedAhead ? ahead + t * g4 : nil,
                                              input_products_stride: steps * g4,
                                              bias: repeatsInput ? projected + first * g4 : t == 0 ? initial : b,
                                              bias_stride: repeatsInput ? g4 : 0,
                                              descending: Int32(t % 2))
                    kernels.lstm_step_forward(&step)
                    if returnSequences {
                        for n in 0..<rows { (y + ((first + n) * steps + t) * h).update(from: next + n * h, count: h) }
                    }
                }
            }
        }
    }

    /// A short chunk's x·Wᵀ for all its steps, [sample, step, 4H] from `products`, in blocks of
    /// steps that inferPacked's pipeline hands to another thread: plain values, so the two threads
    /// share no reference count. The blocks are steps 0, 1, 2..<fewRows, then fewRows at a time:
    /// the calling thread produces step 0 itself before the other arrives, and short blocks first
    /// get the other ahead soonest.
    private struct InputsAhead {
        let x: UnsafePointer<Float>  // the chunk's first sample
        let xStride, features: Int
        let packedInput: UnsafeMutablePointer<Float>
        let products: UnsafeMutablePointer<Float>
        let rows, steps, units: Int
        let kernels: aefk_table

        static func blockStart(_ k: Int) -> Int { k < 3 ? k : (k - 2) * LSTM.fewRows }
        static func block(ofStep t: Int) -> Int { t < 2 ? t : t < LSTM.fewRows ? 2 : 2 + t / LSTM.fewRows }

        static let produce: aefk_task = { work, k in
            let inputs = work!.assumingMemoryBound(to: InputsAhead.self).pointee, g4 = 4 * inputs.units
            let start = blockStart(k), count = Swift.min(inputs.steps, blockStart(k + 1)) - start
            for n in 0..<inputs.rows {  // sample n's steps start..<start+count: rows of x one step's features apart
                var block = aefk_lstm_step(rows: count, units: inputs.units, x: inputs.x + n * inputs.xStride + start * inputs.features,
                                           x_stride: inputs.features, features: inputs.features, packed_input: inputs.packedInput,
                                           h_prev: nil, packed_recurrent: nil, peephole: nil, c_prev: nil, gates: nil, cells: nil,
                                           hidden: nil, input_products: inputs.products + (n * inputs.steps + start) * g4,
                                           input_products_stride: g4, bias: nil, bias_stride: 0, descending: 0)
                inputs.kernels.lstm_input_products(&block)
            }
        }
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        let s = regions(scratch, batch: batch), h = units, g4 = 4 * units
        receiveOutputGradient(dy, into: s.dHidden, batch: batch)
        s.dhNext.update(repeating: 0, count: 2 * batch * h)  // dhNext and dcNext
        Recurrence.forEachChunk(steps: steps, batch: batch, units: units, gates: 4, backwards: true) { t, first, rows in
            let row = t * batch + first
            let cells = s.cells + row * h
            let previousCells = t > 0 ? cells - batch * h : s.cInitial + first * h
            // Also leaves dh_{t−1} = dGates_t · R in dhNext (at t = 0: the gradient of the initial state).
            kernels.lstm_step_backward(rows, h, r, p, s.gates + row * g4, cells, previousCells, s.dHidden + row * h,
                                              s.dhNext + first * h, s.dcNext + first * h, s.dGates + row * g4)
        }
        // h0 and c0 are shared by every sample: their gradients sum over the batch.
        Bias.accumulateGradient(s.dhNext, rows: batch, columns: h, into: dh0)
        Bias.accumulateGradient(s.dcNext, rows: batch, columns: h, into: dc0)
        if peephole { accumulatePeepholeGradients(s, batch: batch) }
        Recurrence.recurrentWeightGradient(s.dGates, initial: s.hInitial, hidden: s.hidden, steps: steps, batch: batch,
                                           units: h, gates: g4, into: dr, kernels: kernels)
        Bias.accumulateGradient(s.dGates, rows: steps * batch, columns: g4, into: db)
        Recurrence.inputGradients(s.dGates, x: x, timeMajor: s.x, dxTimeMajor: s.dx, weight: w, weightGradient: dw, dx: dx,
                                  steps: steps, batch: batch, features: features, gates: g4, repeated: repeatsInput, kernels: kernels)
    }

    /// dP_i += Σ dz_i ⊙ c_{t−1}, dP_f += Σ dz_f ⊙ c_{t−1}, dP_o += Σ dz_o ⊙ c_t over steps and
    /// samples, after the (batch-parallel) recurrence: one thread, a fixed order.
    private func accumulatePeepholeGradients(_ s: Regions, batch: Int) {
        let h = units, g4 = 4 * units
        for t in 0..<steps {
            for n in 0..<batch {
                let da = s.dGates + (t * batch + n) * g4, c = s.cells + (t * batch + n) * h
                let previous = t > 0 ? c - batch * h : s.cInitial + n * h
                for j in 0..<h {
                    dp[j] += da[j] * previous[j]
                    dp[h + j] += da[h + j] * c[j]
                    dp[2 * h + j] += da[2 * h + j] * previous[j]
                }
            }
        }
    }

    /// One ONNX LSTM node for `directions` (this layer, or a bidirectional pair) over the time-major
    /// `input`; returns the names of Y [T, dirs, N, H] and Y_h [dirs, N, H]. The stored gate order
    /// i, o, f, c is ONNX's; ONNX's B is [input bias | recurrent bias] and this layer has one bias,
    /// so the recurrent half is 0. The learned h0 and c0 are broadcast to initial_h/initial_c [dirs, N, H].
    static func onnxNode(_ graph: inout ONNXGraph, input: String, directions: [LSTM]) -> (sequence: String, last: String) {
        let count = directions.count, h = directions[0].units, f = directions[0].features
        func stacked(_ part: (LSTM) -> [Float]) -> [Float] { directions.flatMap(part) }
        let w = graph.constant("W", dims: [count, 4 * h, f], stacked { ONNXGraph.values($0.w, 4 * h * f) })
        let r = graph.constant("R", dims: [count, 4 * h, h], stacked { ONNXGraph.values($0.r, 4 * h * h) })
        let b = graph.constant("B", dims: [count, 8 * h],
                               stacked { ONNXGraph.values($0.b, 4 * h) + [Float](repeating: 0, count: 4 * h) })
        let initialH = Recurrence.onnxInitialState(&graph, input: input, name: "h0", values: stacked { ONNXGraph.values($0.h0, h) },
                                                   directions: count, units: h)
        let initialC = Recurrence.onnxInitialState(&graph, input: input, name: "c0", values: stacked { ONNXGraph.values($0.c0, h) },
                                                   directions: count, units: h)
        let peepholes = directions[0].peephole ? [graph.constant("P", dims: [count, 3 * h], stacked { ONNXGraph.values($0.p, 3 * h) })] : []
        let y = graph.fresh("Y"), yh = graph.fresh("Y_h")
        graph.node("LSTM", [input, w, r, b, "", initialH, initialC] + peepholes, outputs: [y, yh],
                   [("hidden_size", .int(h)), ("direction", .string(count == 2 ? "bidirectional" : "forward"))])
        return (y, yh)
    }
}
