import AEFKernels

/// Batch normalization over the last (channel) axis: a sample of `inputSize` floats is
/// `inputSize / channels` positions of `channels` values, so dense features (positions = 1) and
/// channels-last feature maps share one implementation.
/// Parameters: gamma [channels], beta [channels]. State: running mean, running variance.
/// Training normalizes with batch statistics and updates the running ones (momentum 0.1,
/// unbiased variance, as PyTorch); inference uses the running statistics.
final class BatchNorm: Layer {
    let channels: Int
    let positions: Int
    let epsilon: Float = 1e-5
    let momentum: Float = 0.1
    private var gamma, beta, gammaGradient, betaGradient: UnsafeMutablePointer<Float>!
    private var runningMean, runningVariance: UnsafeMutablePointer<Float>!

    let kernels: aefk_table

    init(channels: Int, positions: Int = 1, kernels: aefk_table = Kernels.active) {
        self.channels = channels
        self.positions = positions
        self.kernels = kernels
    }

    var inputSize: Int { channels * positions }
    var outputSize: Int { channels * positions }
    var parameterCount: Int { 2 * channels }
    var stateCount: Int { 2 * channels }
    /// xhat for every value, then two per-channel rows: 1/sqrt(var + eps) in training, the
    /// folded scale and shift in inference.
    func scratchCount(batch: Int) -> Int { batch * inputSize + 2 * channels }

    func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
              state: UnsafeMutablePointer<Float>) {
        gamma = parameters; beta = parameters + channels
        gammaGradient = gradients; betaGradient = gradients + channels
        runningMean = state; runningVariance = state + channels
    }

    func initialize(_ rng: inout RandomSource) {
        gamma.update(repeating: 1, count: channels)
        beta.update(repeating: 0, count: channels)
        runningMean.update(repeating: 0, count: channels)
        runningVariance.update(repeating: 1, count: channels)
    }

    // x, y [batch * positions, channels]
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        let rows = batch * positions, c = channels
        if phase == .inference {
            foldRunningStatistics(scale: scratch, shift: scratch + c)
            for r in 0..<rows {
                let xr = x + r * c, yr = y + r * c
                for j in 0..<c { yr[j] = xr[j] * scratch[j] + scratch[c + j] }
            }
            return
        }
        var norm = aefk_batch_norm()
        (norm.rows, norm.channels, norm.gamma, norm.beta) = (rows, c, UnsafePointer(gamma), UnsafePointer(beta))
        (norm.xhat, norm.inv_std, norm.x, norm.y) = (scratch, scratch + rows * c, x, y)
        (norm.running_mean, norm.running_variance, norm.momentum, norm.epsilon) = (runningMean, runningVariance, momentum, epsilon)
        runOverChannels(norm, kernels.batch_norm_forward)
    }

    /// The kernel over blocks of channels, one per thread: blocks of 16 floats (a cache line), so
    /// no two threads write the same line, and a channel's sums do not depend on the split.
    private func runOverChannels(_ norm: aefk_batch_norm, _ kernel: (UnsafePointer<aefk_batch_norm>?) -> Void) {
        Parallel.forRanges(channels, alignment: 16, grain: Swift.max(16, Parallel.grain / Swift.max(1, norm.rows))) { part in
            var share = norm
            (share.first, share.end) = (part.lowerBound, part.upperBound)
            kernel(&share)
        }
    }

    /// Inference as one affine map per channel, y = x·scale + shift, from the running statistics.
    func foldRunningStatistics(scale: UnsafeMutablePointer<Float>, shift: UnsafeMutablePointer<Float>,
                               bias: UnsafePointer<Float>? = nil) {
        // Eight channels a step: every inference call folds, and one scalar square root and
        // division per channel was a tenth of a batch-of-one dense encoder's call. Same bits
        // per channel as the scalar formula.
        func fold(_ j: Int, _ count: Int) {
            func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
                if count == 8 { return UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<Float>.self) }
                var v = SIMD8<Float>(repeating: 0)
                for l in 0..<count { v[l] = p[j + l] }
                return v
            }
            let s = load(gamma) / (load(runningVariance) + epsilon).squareRoot()
            var t = load(beta) - load(runningMean) * s
            if let bias { t += load(bias) * s }
            for l in 0..<count { (scale[j + l], shift[j + l]) = (s[l], t[l]) }
        }
        var j = 0
        while j + 8 <= channels { fold(j, 8); j += 8 }
        if j < channels { fold(j, channels - j) }
    }

    // dx = gamma·invStd/N · (N·dy − Σdy − xhat·Σ(dy·xhat)); dgamma += Σ dy·xhat; dbeta += Σ dy
    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        let rows = batch * positions
        var norm = aefk_batch_norm()
        (norm.rows, norm.channels, norm.gamma, norm.xhat, norm.inv_std) = (rows, channels, UnsafePointer(gamma), scratch, scratch + rows * channels)
        (norm.dy, norm.dx, norm.gamma_gradient, norm.beta_gradient) = (dy, dx, gammaGradient, betaGradient)
        runOverChannels(norm, kernels.batch_norm_backward)
    }

    // ONNX: BatchNormalization (inference form, running statistics) on [N, C] or [N, C, H, W];
    // a flat value with several positions is viewed as a [C, 1, positions] image.
    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value {
        let input: String, layout: ONNXGraph.Layout
        if case .image(channels, _, _) = x.layout {
            (input, layout) = (x.name, x.layout)
        } else if positions == 1 {
            (input, layout) = (graph.flat(x), .flat(channels))
        } else {
            layout = .image(channels: channels, height: 1, width: positions)
            input = graph.image(x, channels: channels, height: 1, width: positions)
        }
        let statistics = [("scale", gamma), ("shift", beta), ("mean", runningMean), ("variance", runningVariance)]
            .map { graph.constant($0.0, dims: [channels], copying: $0.1!) }
        let y = graph.node("BatchNormalization", [input] + statistics, [("epsilon", .float(epsilon))])
        return .init(name: y, layout: layout)
    }
}
