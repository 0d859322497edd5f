import AEFKernels

/// A recurrent layer (LSTM, GRU): what a Bidirectional pair needs of it.
protocol RecurrentLayer: Layer {
    var steps: Int { get }
    var features: Int { get }
    var units: Int { get }
    var returnSequences: Bool { get }
    /// The input is one [batch, features] vector read at every step (a seq2seq decoder reading the code).
    var repeatsInput: Bool { get }
    /// One ONNX node for `directions` (one layer, or a forward and backward pair) over the
    /// time-major `input`; the names of Y [T, dirs, N, units] and Y_h [dirs, N, units].
    static func onnxNode(_ graph: inout ONNXGraph, input: String, directions: [Self]) -> (sequence: String, last: String)
}

/// What the recurrent layers share: the batch-major ↔ time-major copies and the batch-parallel
/// walk over the steps.
enum Recurrence {
    /// [batch, steps, width] <-> [steps, batch, width], the samples split over the threads (a
    /// copy on the caller alone is a stretch the other threads wait through).
    static func transpose(_ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>, steps: Int, batch: Int,
                          width: Int, toTimeMajor: Bool) {
        Parallel.forRanges(batch, grain: Swift.max(1, Parallel.grain / Swift.max(1, steps * width))) { samples in
            for n in samples {
                for t in 0..<steps {
                    let batchMajor = (n * steps + t) * width, timeMajor = (t * batch + n) * width
                    if toTimeMajor { (target + timeMajor).update(from: source + batchMajor, count: width) }
                    else { (target + batchMajor).update(from: source + timeMajor, count: width) }
                }
            }
        }
    }

    /// Runs body(step, first sample, samples) over every step (last to first when `backwards`)
    /// for chunks of the batch, a thread per contiguous part of the batch. A chunk's per-step work
    /// (chunk × gates·units × units multiply-adds) stays under 2^18: the GRU's per-step sgemm stays
    /// below BLAS.gemm's split threshold, so it runs on the chunk's thread; the LSTM's step kernel
    /// keeps a call's gates and states in L1/L2. Chunk boundaries depend on the batch and the
    /// layer's size only, so results do not depend on the thread count.
    static func forEachChunk(steps: Int, batch: Int, units: Int, gates: Int, backwards: Bool = false,
                             _ body: (Int, Int, Int) -> Void) {
        let chunk = chunkSize(batch: batch, units: units, gates: gates)
        Parallel.forRanges(batch, alignment: chunk, grain: chunk) { samples in
            let order = backwards ? stride(from: steps - 1, through: 0, by: -1) : stride(from: 0, through: steps - 1, by: 1)
            for t in order {
                for first in stride(from: samples.lowerBound, to: samples.upperBound, by: chunk) {
                    body(t, first, Swift.min(chunk, samples.upperBound - first))
                }
            }
        }
    }

    /// Runs body(first sample, samples) for the same chunks, each once (the body loops over the steps).
    static func forEachChunk(batch: Int, units: Int, gates: Int, _ body: (Int, Int) -> Void) {
        let chunk = chunkSize(batch: batch, units: units, gates: gates)
        Parallel.forRanges(batch, alignment: chunk, grain: chunk) { samples in
            for first in stride(from: samples.lowerBound, to: samples.upperBound, by: chunk) {
                body(first, Swift.min(chunk, samples.upperBound - first))
            }
        }
    }

    private static func chunkSize(batch: Int, units: Int, gates: Int) -> Int {
        Swift.min(batch, Swift.max(8, (1 << 18) / (gates * units * units)))
    }

    /// Time-major gate pre-activations [steps·batch, gates] = x · Wᵀ + b: one GEMM over all steps
    /// (x copied time-major into `timeMajor` first, where backward finds it), or for a repeated
    /// input one projection copied to every step.
    static func projectInputs(_ x: UnsafePointer<Float>, timeMajor: UnsafeMutablePointer<Float>, weight w: UnsafePointer<Float>,
                              bias b: UnsafePointer<Float>, steps: Int, batch: Int, features: Int, gates: Int, repeated: Bool,
                              into out: UnsafeMutablePointer<Float>) {
        if repeated {
            Bias.broadcast(b, into: out, rows: batch, columns: gates)
            BLAS.gemm(transB: true, m: batch, n: gates, k: features, x, w, beta: 1, out)
            Parallel.forRanges(Swift.max(steps - 1, 0), grain: Swift.max(1, Parallel.grain / Swift.max(1, batch * gates))) { part in
                for t in part { (out + (t + 1) * batch * gates).update(from: out, count: batch * gates) }
            }
        } else {
            transpose(x, timeMajor, steps: steps, batch: batch, width: features, toTimeMajor: true)
            Bias.broadcast(b, into: out, rows: steps * batch, columns: gates)
            BLAS.gemm(transB: true, m: steps * batch, n: gates, k: features, timeMajor, w, beta: 1, out)
        }
    }

    /// The input side's gradients from the time-major gate gradients: dW += dGatesᵀ · x and
    /// dx = dGates · W (batch-major). A repeated input was read at every step, so its gradients
    /// are summed over the steps first, into `timeMajor` ([batch, gates] there); otherwise
    /// `timeMajor` holds x as projectInputs left it and `dxTimeMajor` takes dx before its transpose.
    static func inputGradients(_ dGates: UnsafePointer<Float>, x: UnsafePointer<Float>, timeMajor: UnsafeMutablePointer<Float>,
                               dxTimeMajor: UnsafeMutablePointer<Float>, weight w: UnsafePointer<Float>,
                               weightGradient dw: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                               steps: Int, batch: Int, features: Int, gates: Int, repeated: Bool, kernels: aefk_table = Kernels.active) {
        if repeated {
            // Every step's [batch, gates] summed in step order: column sums of a [steps, batch·gates] matrix.
            let sums = timeMajor
            sums.update(repeating: 0, count: batch * gates)
            Bias.accumulateGradient(dGates, rows: steps, columns: batch * gates, into: sums, kernels: kernels)
            WeightGradient.accumulate(m: gates, n: features, k: batch, sums, x, into: dw, kernels: kernels)
            if let dx { BLAS.gemm(m: batch, n: features, k: gates, sums, w, dx) }
            return
        }
        WeightGradient.accumulate(m: gates, n: features, k: steps * batch, dGates, timeMajor, into: dw, kernels: kernels)
        guard let dx else { return }
        BLAS.gemm(m: steps * batch, n: features, k: gates, dGates, w, dxTimeMajor)
        transpose(dxTimeMajor, dx, steps: steps, batch: batch, width: features, toTimeMajor: false)
    }

    /// dR += Σ_t gᵀ_t h_{t−1} for the time-major recurrent-side gate gradients g: h_{−1} is the
    /// per-sample initial state, then the hidden states of the steps before.
    static func recurrentWeightGradient(_ g: UnsafePointer<Float>, initial: UnsafePointer<Float>, hidden: UnsafePointer<Float>,
                                        steps: Int, batch: Int, units: Int, gates: Int, into dr: UnsafeMutablePointer<Float>,
                                        kernels: aefk_table = Kernels.active) {
        WeightGradient.accumulate(m: gates, n: units, k: batch, g, initial, into: dr, kernels: kernels)
        if steps > 1 {
            WeightGradient.accumulate(m: gates, n: units, k: (steps - 1) * batch, g + batch * gates, hidden, into: dr,
                                      kernels: kernels)
        }
    }

    /// An ONNX initial state [dirs, N, units]: the learned [dirs, 1, units] values broadcast over
    /// the batch of the time-major `input`.
    static func onnxInitialState(_ graph: inout ONNXGraph, input: String, name: String, values: [Float], directions: Int,
                                 units: Int) -> String {
        let batch = graph.batchSize(ofSequence: input)
        let prefix = graph.constant("directions", int64: [directions]), suffix = graph.constant("units", int64: [units])
        let shape = graph.node("Concat", [prefix, batch, suffix], [("axis", .int(0))])
        return graph.node("Expand", [graph.constant(name, dims: [directions, 1, units], values), shape])
    }
}

extension RecurrentLayer {
    /// y from the time-major hidden states: every step's, batch-major (`returnSequences`), or the last step's.
    func emitOutput(_ hidden: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, batch: Int) {
        if returnSequences {
            Recurrence.transpose(hidden, y, steps: steps, batch: batch, width: units, toTimeMajor: false)
        } else {
            y.update(from: hidden + (steps - 1) * batch * units, count: batch * units)
        }
    }

    /// The time-major hidden-state gradients from dy: every step's, or the last step's (others zero).
    func receiveOutputGradient(_ dy: UnsafePointer<Float>, into dHidden: UnsafeMutablePointer<Float>, batch: Int) {
        if returnSequences {
            Recurrence.transpose(dy, dHidden, steps: steps, batch: batch, width: units, toTimeMajor: true)
        } else {
            dHidden.update(repeating: 0, count: steps * batch * units)
            (dHidden + (steps - 1) * batch * units).update(from: dy, count: batch * units)
        }
    }

    // ONNX: the layer's node on [T, N, features] (a repeated input expanded to that first, as
    // RepeatVector does); Y [T, 1, N, units] squeezed to the time-major sequence, or Y_h
    // [1, N, units] squeezed to the last state.
    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value {
        let repeated = repeatsInput ? RepeatVector(steps: steps, units: features).exportONNX(&graph, x) : x
        let input = graph.sequence(repeated, steps: steps, features: features)
        let (sequence, last) = Self.onnxNode(&graph, input: input, directions: [self])
        let axes = graph.constant("axes", int64: [returnSequences ? 1 : 0])
        let y = graph.node("Squeeze", [returnSequences ? sequence : last, axes])
        return .init(name: y, layout: returnSequences ? .sequence(steps: steps, features: units) : .flat(units))
    }
}
