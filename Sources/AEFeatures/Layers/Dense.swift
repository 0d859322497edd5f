/// Fully connected layer: y = x · Wᵀ + b.
/// W is stored [outputSize, inputSize] row-major (the PyTorch and ONNX Gemm transB=1 layout),
/// followed by b [outputSize].
final class Dense: Layer {
    let inputSize: Int
    let outputSize: Int
    let initialisation: WeightInitialisation
    private(set) var weight: UnsafeMutablePointer<Float>!
    private(set) var bias: UnsafeMutablePointer<Float>!
    private(set) var weightGradient: UnsafeMutablePointer<Float>!
    private(set) var biasGradient: UnsafeMutablePointer<Float>!

    init(inputSize: Int, outputSize: Int, initialisation: WeightInitialisation) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.initialisation = initialisation
    }

    var gemmFlopsPerSample: Int { 2 * inputSize * outputSize }
    var parameterCount: Int { outputSize * inputSize + outputSize }

    func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
              state: UnsafeMutablePointer<Float>) {
        weight = parameters
        bias = parameters + outputSize * inputSize
        weightGradient = gradients
        biasGradient = gradients + outputSize * inputSize
    }

    func initialize(_ rng: inout RandomSource) {
        initialisation.fill(weight, count: outputSize * inputSize, fanIn: inputSize, fanOut: outputSize, rng: &rng)
        bias.update(repeating: 0, count: outputSize)
    }

    // x [batch, in] -> y [batch, out]
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        Bias.broadcast(bias, into: y, rows: batch, columns: outputSize)
        BLAS.gemm(transB: true, m: batch, n: outputSize, k: inputSize, x, weight, beta: 1, y)
    }

    // dW += dyᵀ x ; db += Σ_rows dy ; dx = dy W
    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        BLAS.gemm(transA: true, m: outputSize, n: inputSize, k: batch, dy, x, beta: 1, weightGradient)
        Bias.accumulateGradient(dy, rows: batch, columns: outputSize, into: biasGradient)
        if let dx {
            BLAS.gemm(m: batch, n: inputSize, k: outputSize, dy, weight, dx)
        }
    }
}
