import AEFKernels

/// 2-D convolution (1-D is height 1) over channels-last data, lowered to one GEMM by im2col:
///   col [batch·positions, patch] = im2col(x);  y [batch·positions, filters] = col · Wᵀ + b
/// or, with few input channels and filters, computed directly (DirectConvolution.swift).
/// W is stored [filters, kernelHeight, kernelWidth, inputChannels] (ONNX export transposes to
/// its [filters, channels, kh, kw]), followed by b [filters].
final class Conv2D: PackedInference {
    let geometry: ConvGeometry
    let filters: Int
    let initialization: WeightInitialization
    /// Direct kernels instead of im2col + GEMM when channels × filters ≤ 256: with so few the
    /// GEMM is a thin product whose im2col traffic costs more than its arithmetic (the
    /// measurements: docs/design-measurements.md).
    let direct: Bool
    /// The vector kernels the direct path runs (tests pass each instruction set's).
    let kernels: aefk_table
    private var weight, bias, weightGradient, biasGradient: UnsafeMutablePointer<Float>!

    /// `direct` nil chooses by the rule above; tests force each path.
    init(geometry: ConvGeometry, filters: Int, initialization: WeightInitialization, direct: Bool? = nil,
         kernels: aefk_table = Kernels.active) {
        self.kernels = kernels
        self.geometry = geometry
        self.filters = filters
        self.initialization = initialization
        self.direct = direct ?? (geometry.channels * filters <= 256)
    }

    var inputSize: Int { geometry.inputSize }
    var outputSize: Int { geometry.outputPositions * filters }
    var gemmFlopsPerSample: Int { 2 * geometry.outputPositions * geometry.patchSize * filters }
    var parameterCount: Int { filters * geometry.patchSize + filters }
    /// im2col: the patch matrix, kept from forward for the weight gradient, then reused for dcol.
    func scratchCount(batch: Int) -> Int {
        direct ? geometry.directScratchCount(filters: filters, batch: batch) : batch * geometry.outputPositions * geometry.patchSize
    }

    func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
              state: UnsafeMutablePointer<Float>) {
        weight = parameters; bias = parameters + filters * geometry.patchSize
        weightGradient = gradients; biasGradient = gradients + filters * geometry.patchSize
    }

    func initialize(_ rng: inout RandomSource) {
        let area = geometry.kernelHeight * geometry.kernelWidth
        initialization.fill(weight, count: filters * geometry.patchSize, fanIn: geometry.patchSize,
                            fanOut: area * filters, rng: &rng)
        bias.update(repeating: 0, count: filters)
    }

    // x [batch, H, W, C] -> y [batch, Ho, Wo, filters]
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        packWeights(into: scratch)
        inferPacked(x, y, batch: batch, scratch: scratch)
    }

    /// The direct kernels also read the weights transposed, [kh, kw, channels, filters], from the
    /// start of the scratch; im2col needs nothing packed.
    func packWeights(into scratch: UnsafeMutablePointer<Float>) {
        if direct { geometry.transposeKernels(weight, filters: filters, into: scratch) }
    }

    /// The forward pass (training's too: it keeps nothing else for backward) with the transposed
    /// weights already in `scratch`; the direct path can apply an activation as it goes
    /// (FusedConvolution).
    func inferPacked(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                     scratch: UnsafeMutablePointer<Float>) {
        inferPacked(x, y, batch: batch, scratch: scratch, activation: .identity)
    }

    func inferPacked(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                     scratch: UnsafeMutablePointer<Float>, activation: ActivationFunction) {
        if direct {
            return geometry.directForward(x, weight: weight, transposed: scratch, bias: bias, filters: filters, batch: batch, into: y,
                                          activation: activation, kernels: kernels)
        }
        precondition(activation == .identity, "only the direct path applies an activation")
        let rows = batch * geometry.outputPositions
        geometry.im2col(x, batch: batch, into: scratch)
        Bias.broadcast(bias, into: y, rows: rows, columns: filters)
        BLAS.gemm(transB: true, m: rows, n: filters, k: geometry.patchSize, scratch, weight, beta: 1, y)
    }

    // dW += dyᵀ col ; db += Σ dy ; dx = col2im(dy · W)
    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        let rows = batch * geometry.outputPositions
        Bias.accumulateGradient(dy, rows: rows, columns: filters, into: biasGradient)
        if direct {
            geometry.directWeightGradient(x, dy, filters: filters, batch: batch, partials: scratch + filters * geometry.patchSize,
                                          into: weightGradient, kernels: kernels)
            if let dx { geometry.directInputGradient(dy, weight: weight, filters: filters, batch: batch, into: dx, kernels: kernels) }
            return
        }
        WeightGradient.accumulate(m: filters, n: geometry.patchSize, k: rows, dy, scratch, into: weightGradient, kernels: kernels)
        guard let dx else { return }
        BLAS.gemm(m: rows, n: geometry.patchSize, k: filters, dy, weight, scratch)
        geometry.col2im(scratch, batch: batch, into: dx)
    }

    // ONNX: Conv on [N, C, H, W], weights transposed to [filters, C, kh, kw].
    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value {
        let g = geometry
        let input = graph.image(x, channels: g.channels, height: g.inputHeight, width: g.inputWidth)
        let w = graph.constant("weight", dims: [filters, g.channels, g.kernelHeight, g.kernelWidth],
                               g.channelsFirstKernels(weight, count: filters))
        let b = graph.constant("bias", dims: [filters], copying: bias)
        let y = graph.node("Conv", [input, w, b], g.onnxAttributes(dilations: true))
        return .init(name: y, layout: .image(channels: filters, height: g.outputHeight, width: g.outputWidth))
    }
}
