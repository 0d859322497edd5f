/// Transposed 2-D convolution (1-D is height 1), the adjoint of a Conv2D: its forward pass is a
/// convolution's input-gradient pass and vice versa.
///   col [batch·Hin·Win, patch] = x · W;  y = col2im(col) + b
/// `geometry` is that of the convolution from this layer's output ([Hout, Wout, filters]) back to
/// its input, so `geometry.output*` are this layer's input size and `geometry.channels` its
/// filters. W is stored [inputChannels, kernelHeight, kernelWidth, filters] (ONNX ConvTranspose
/// wants [inputChannels, filters, kh, kw]), followed by b [filters].
final class ConvTranspose2D: Layer {
    let geometry: ConvGeometry
    let inputChannels: Int
    let initialization: WeightInitialization
    private var weight, bias, weightGradient, biasGradient: UnsafeMutablePointer<Float>!

    init(geometry: ConvGeometry, inputChannels: Int, initialization: WeightInitialization) {
        self.geometry = geometry
        self.inputChannels = inputChannels
        self.initialization = initialization
    }

    var filters: Int { geometry.channels }
    var inputSize: Int { geometry.outputPositions * inputChannels }
    var outputSize: Int { geometry.inputSize }
    var gemmFlopsPerSample: Int { 2 * geometry.outputPositions * geometry.patchSize * inputChannels }
    var parameterCount: Int { inputChannels * geometry.patchSize + filters }
    func scratchCount(batch: Int) -> Int { batch * geometry.outputPositions * geometry.patchSize }

    func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
              state: UnsafeMutablePointer<Float>) {
        weight = parameters; bias = parameters + inputChannels * geometry.patchSize
        weightGradient = gradients; biasGradient = gradients + inputChannels * geometry.patchSize
    }

    func initialize(_ rng: inout RandomSource) {
        let area = geometry.kernelHeight * geometry.kernelWidth
        initialization.fill(weight, count: inputChannels * geometry.patchSize, fanIn: area * inputChannels,
                            fanOut: geometry.patchSize, rng: &rng)
        bias.update(repeating: 0, count: filters)
    }

    // x [batch, Hin, Win, inputChannels] -> y [batch, Hout, Wout, filters]
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        let rows = batch * geometry.outputPositions
        BLAS.gemm(m: rows, n: geometry.patchSize, k: inputChannels, x, weight, scratch)
        geometry.col2im(scratch, batch: batch, into: y)
        Bias.add(bias, to: y, rows: batch * geometry.inputHeight * geometry.inputWidth, columns: filters)
    }

    // dcol = im2col(dy) ; dW += xᵀ dcol ; db += Σ dy ; dx = dcol · Wᵀ
    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        let rows = batch * geometry.outputPositions
        geometry.im2col(dy, batch: batch, into: scratch)
        WeightGradient.accumulate(m: inputChannels, n: geometry.patchSize, k: rows, x, scratch, into: weightGradient)
        Bias.accumulateGradient(dy, rows: batch * geometry.inputHeight * geometry.inputWidth, columns: filters,
                                into: biasGradient)
        guard let dx else { return }
        BLAS.gemm(transB: true, m: rows, n: inputChannels, k: geometry.patchSize, scratch, weight, dx)
    }

    // ONNX: ConvTranspose on [N, inputChannels, Hin, Win] with the pads of the convolution it
    // inverts; output_padding adds the rows and columns that convolution's stride skipped.
    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value {
        let g = geometry
        let input = graph.image(x, channels: inputChannels, height: g.outputHeight, width: g.outputWidth)
        let w = graph.constant("weight", dims: [inputChannels, filters, g.kernelHeight, g.kernelWidth],
                               g.channelsFirstKernels(weight, count: inputChannels))
        let b = graph.constant("bias", dims: [filters], copying: bias)
        let y = graph.node("ConvTranspose", [input, w, b],
                           g.onnxAttributes(dilations: true) + [("output_padding", .ints(g.transposeOutputPadding))])
        return .init(name: y, layout: .image(channels: filters, height: g.inputHeight, width: g.inputWidth))
    }
}
