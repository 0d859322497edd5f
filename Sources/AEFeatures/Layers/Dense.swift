import AEFKernels

/// Fully connected layer: y = x · Wᵀ + b.
/// W is stored [units, inputs] row-major (the PyTorch and ONNX Gemm transB=1 layout), followed by
/// b [units]. With `steps` > 1 it is time-distributed: a sample of `steps` rows of `inputs` values
/// maps row by row to `steps` rows of `units`, with the same weights.
///
/// Tied weights: a decoder layer `tied` to the encoder layer that maps the other way owns only
/// its bias and uses that layer's W transposed (y = x · W_enc + b), adding its weight gradient
/// into the encoder layer's: half the weights, the classic regularizer.
///
/// Training multiplies by OpenBLAS (the weight gradient through WeightGradient); inference by
/// the dense kernel (aefk_kernels.h) on weights packed once per model (PackedInference), which
/// sums each value in one order whatever the batch and spends no call on repacking
/// (docs/design-measurements.md, "Dense inference").
final class Dense: PackedInference {
    /// Values in and out per row; a sample is `steps` rows.
    let inputs, units, steps: Int
    let initialization: WeightInitialization
    /// The encoder layer (inputs = this layer's units, units = its inputs) whose weights this one
    /// uses transposed; nil when it owns its weights.
    let tied: Dense?
    private var ownWeight, ownWeightGradient: UnsafeMutablePointer<Float>!
    private(set) var bias: UnsafeMutablePointer<Float>!
    private(set) var biasGradient: UnsafeMutablePointer<Float>!

    let kernels: aefk_table

    init(inputSize: Int, outputSize: Int, steps: Int = 1, initialization: WeightInitialization, tiedTo tied: Dense? = nil,
         kernels: aefk_table = Kernels.active) {
        precondition(tied.map { $0.inputs == outputSize && $0.units == inputSize && $0.tied == nil && steps == 1 } ?? true,
                     "a tied layer mirrors an untied per-row layer")
        inputs = inputSize
        units = outputSize
        self.steps = steps
        self.initialization = initialization
        self.tied = tied
        self.kernels = kernels
    }

    /// The weights: [units, inputs], or for a tied layer its encoder's [inputs, units].
    var weight: UnsafeMutablePointer<Float>! { tied?.weight ?? ownWeight }
    var weightGradient: UnsafeMutablePointer<Float>! { tied?.weightGradient ?? ownWeightGradient }
    /// Whether `weight` is stored [units, inputs] (Gemm's transB = 1); false for a tied layer.
    var weightIsTransposed: Bool { tied == nil }

    var inputSize: Int { steps * inputs }
    var outputSize: Int { steps * units }
    var gemmFlopsPerSample: Int { 2 * steps * inputs * units }
    var parameterCount: Int { (tied == nil ? units * inputs : 0) + units }
    /// The packed weights of inference, whatever the batch.
    func scratchCount(batch: Int) -> Int { aefk_dense_packed_count(units, inputs) }

    func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
              state: UnsafeMutablePointer<Float>) {
        let weights = tied == nil ? units * inputs : 0
        ownWeight = tied == nil ? parameters : nil
        ownWeightGradient = tied == nil ? gradients : nil
        bias = parameters + weights
        biasGradient = gradients + weights
    }

    func initialize(_ rng: inout RandomSource) {
        if tied == nil { initialization.fill(weight, count: units * inputs, fanIn: inputs, fanOut: units, rng: &rng) }
        bias.update(repeating: 0, count: units)
    }

    // x [batch·steps, inputs] -> y [batch·steps, units]
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        if phase == .inference {
            packWeights(into: scratch)
            return inferPacked(x, y, batch: batch, scratch: scratch)
        }
        Bias.broadcast(bias, into: y, rows: batch * steps, columns: units)
        BLAS.gemm(transB: weightIsTransposed, m: batch * steps, n: units, k: inputs, x, weight, beta: 1, y)
    }

    func packWeights(into scratch: UnsafeMutablePointer<Float>) {
        // W[u, k] is weight[u·inputs + k], or a tied layer's weight[k·units + u].
        aefk_dense_pack(weight, weightIsTransposed ? inputs : 1, weightIsTransposed ? 1 : units, units, inputs, scratch)
    }

    func inferPacked(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                     scratch: UnsafeMutablePointer<Float>) {
        infer(x, y, rows: batch * steps, packed: scratch, scale: nil, shift: bias, activation: .identity)
    }

    /// y = f((x·Wᵀ)·scale + shift) for `rows` rows by the dense kernel, W packed in `packed`
    /// (scale nil: 1), for the first `computing` units only (y's rows that wide). Many rows split
    /// by rows over the threads, few by units (a batch of one reads the whole matrix, so its units
    /// are the work to share); the kernel's sums do not depend on the split.
    func infer(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, packed: UnsafePointer<Float>,
               scale: UnsafePointer<Float>?, shift: UnsafePointer<Float>, activation: ActivationFunction, computing: Int? = nil) {
        let units = computing ?? self.units
        let call = aefk_dense(rows: rows, inputs: inputs, x: x, x_stride: inputs, packed: packed, scale: scale, shift: shift,
                              activation: activation.kernelCode, first_unit: 0, end_unit: units, y: y, y_stride: units)
        let kernels = self.kernels
        if rows >= 12 * Parallel.threadCount {
            Parallel.forRanges(rows, alignment: 6, grain: Swift.max(6, BLAS.splitWork / Swift.max(1, units * inputs))) { part in
                var share = call
                (share.rows, share.x, share.y) = (part.count, x + part.lowerBound * inputs, y + part.lowerBound * units)
                kernels.dense_forward(&share)
            }
        } else {
            Parallel.forRanges(units, alignment: 32, grain: Swift.max(32, BLAS.splitMatrixVectorWork / Swift.max(1, rows * inputs))) { part in
                var share = call
                (share.first_unit, share.end_unit) = (part.lowerBound, part.upperBound)
                kernels.dense_forward(&share)
            }
        }
    }

    // dW += dyᵀ x (tied: dW_enc += xᵀ dy) ; db += Σ_rows dy ; dx = dy W (tied: dy W_encᵀ)
    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        let rows = batch * steps
        if weightIsTransposed {
            WeightGradient.accumulate(m: units, n: inputs, k: rows, dy, x, into: weightGradient, kernels: kernels)
        } else {
            WeightGradient.accumulate(m: inputs, n: units, k: rows, x, dy, into: weightGradient, kernels: kernels)
        }
        Bias.accumulateGradient(dy, rows: rows, columns: units, into: biasGradient)
        if let dx {
            BLAS.gemm(transB: !weightIsTransposed, m: rows, n: inputs, k: units, dy, weight, dx)
        }
    }

    // ONNX: Gemm(x, W, b, transB=1) on [N, inputs] (tied: the encoder's W with transB=0);
    // time-distributed, MatMul(x, Wᵀ) + b on [T, N, inputs].
    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value {
        let b = graph.constant("bias", dims: [units], copying: bias)
        if steps == 1 {
            let input = graph.flat(x)
            let dims = weightIsTransposed ? [units, inputs] : [inputs, units]
            let w = graph.constant("weight", dims: dims, copying: weight)
            return .init(name: graph.node("Gemm", [input, w, b], [("transB", .int(weightIsTransposed ? 1 : 0))]),
                         layout: .flat(units))
        }
        var transposed = [Float](repeating: 0, count: units * inputs)
        for u in 0..<units { for i in 0..<inputs { transposed[i * units + u] = weight[u * inputs + i] } }
        let w = graph.constant("weight", dims: [inputs, units], transposed)
        let input = graph.sequence(x, steps: steps, features: inputs)
        let product = graph.node("MatMul", [input, w])
        return .init(name: graph.node("Add", [product, b]), layout: .sequence(steps: steps, features: units))
    }
}
