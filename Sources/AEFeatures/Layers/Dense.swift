/// Fully connected layer: y = x · Wᵀ + b.
/// W is stored [units, inputs] row-major (the PyTorch and ONNX Gemm transB=1 layout), followed by
/// b [units]. With `steps` > 1 it is time-distributed: a sample of `steps` rows of `inputs` values
/// maps row by row to `steps` rows of `units`, with the same weights.
final class Dense: Layer {
    /// Values in and out per row; a sample is `steps` rows.
    let inputs, units, steps: Int
    let initialisation: WeightInitialisation
    private(set) var weight: UnsafeMutablePointer<Float>!
    private(set) var bias: UnsafeMutablePointer<Float>!
    private(set) var weightGradient: UnsafeMutablePointer<Float>!
    private(set) var biasGradient: UnsafeMutablePointer<Float>!

    init(inputSize: Int, outputSize: Int, steps: Int = 1, initialisation: WeightInitialisation) {
        inputs = inputSize
        units = outputSize
        self.steps = steps
        self.initialisation = initialisation
    }

    var inputSize: Int { steps * inputs }
    var outputSize: Int { steps * units }
    var gemmFlopsPerSample: Int { 2 * steps * inputs * units }
    var parameterCount: Int { units * inputs + units }

    func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
              state: UnsafeMutablePointer<Float>) {
        weight = parameters
        bias = parameters + units * inputs
        weightGradient = gradients
        biasGradient = gradients + units * inputs
    }

    func initialize(_ rng: inout RandomSource) {
        initialisation.fill(weight, count: units * inputs, fanIn: inputs, fanOut: units, rng: &rng)
        bias.update(repeating: 0, count: units)
    }

    // x [batch·steps, inputs] -> y [batch·steps, units]
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        Bias.broadcast(bias, into: y, rows: batch * steps, columns: units)
        BLAS.gemm(transB: true, m: batch * steps, n: units, k: inputs, x, weight, beta: 1, y)
    }

    // dW += dyᵀ x ; db += Σ_rows dy ; dx = dy W
    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        BLAS.gemm(transA: true, m: units, n: inputs, k: batch * steps, dy, x, beta: 1, weightGradient)
        Bias.accumulateGradient(dy, rows: batch * steps, columns: units, into: biasGradient)
        if let dx {
            BLAS.gemm(m: batch * steps, n: inputs, k: units, dy, weight, dx)
        }
    }

    // ONNX: Gemm(x, W, b, transB=1) on [N, inputs]; time-distributed, MatMul(x, Wᵀ) + b on [T, N, inputs].
    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value {
        let b = graph.constant("bias", dims: [units], copying: bias)
        if steps == 1 {
            let input = graph.flat(x)
            let w = graph.constant("weight", dims: [units, inputs], copying: weight)
            return .init(name: graph.node("Gemm", [input, w, b], [("transB", .int(1))]), layout: .flat(units))
        }
        var transposed = [Float](repeating: 0, count: units * inputs)
        for u in 0..<units { for i in 0..<inputs { transposed[i * units + u] = weight[u * inputs + i] } }
        let w = graph.constant("weight", dims: [inputs, units], transposed)
        let input = graph.sequence(x, steps: steps, features: inputs)
        let product = graph.node("MatMul", [input, w])
        return .init(name: graph.node("Add", [product, b]), layout: .sequence(steps: steps, features: units))
    }
}
