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

    init(channels: Int, positions: Int = 1) {
        self.channels = channels
        self.positions = positions
    }

    var inputSize: Int { channels * positions }
    var outputSize: Int { channels * positions }
    var parameterCount: Int { 2 * channels }
    var stateCount: Int { 2 * channels }
    /// xhat for every value, then four per-channel rows: 1/sqrt(var + eps), two
    /// accumulators and the folded scale gamma/sqrt(var + eps).
    func scratchCount(batch: Int) -> Int { batch * inputSize + 4 * channels }

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
        let xhat = scratch, invStd = scratch + rows * c, mean = invStd + c
        // Channels are independent: each thread takes a block of them over all rows (blocks of 16
        // floats, one cache line, so no two threads write the same line), and every sum runs
        // over the rows in order, so the result does not depend on the thread count.
        Parallel.forRanges(c, alignment: 16, grain: Swift.max(16, Parallel.grain / Swift.max(1, rows))) { part in
            let first = part.lowerBound, n = part.count
            let x = x + first, y = y + first, xhat = xhat + first, invStd = invStd + first, mean = mean + first
            let gamma = gamma + first, beta = beta + first
            let runningMean = runningMean + first, runningVariance = runningVariance + first
            // Two passes (mean, then centred squares) for accuracy; invStd holds the sums meanwhile.
            mean.update(repeating: 0, count: n)
            for r in 0..<rows { let xr = x + r * c; for j in 0..<n { mean[j] += xr[j] } }
            let invRows = 1 / Float(rows)
            for j in 0..<n { mean[j] *= invRows }
            invStd.update(repeating: 0, count: n)
            for r in 0..<rows {
                let xr = x + r * c, hr = xhat + r * c
                for j in 0..<n { let d = xr[j] - mean[j]; hr[j] = d; invStd[j] += d * d }
            }
            let unbiased = rows > 1 ? Float(rows) / Float(rows - 1) : 1
            for j in 0..<n {
                let variance = invStd[j] * invRows
                runningMean[j] = (1 - momentum) * runningMean[j] + momentum * mean[j]
                runningVariance[j] = (1 - momentum) * runningVariance[j] + momentum * variance * unbiased
                invStd[j] = 1 / (variance + epsilon).squareRoot()
            }
            for r in 0..<rows {
                let hr = xhat + r * c, yr = y + r * c
                for j in 0..<n { hr[j] *= invStd[j]; yr[j] = gamma[j] * hr[j] + beta[j] }
            }
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
        let rows = batch * positions, c = channels
        let xhat = scratch, invStd = scratch + rows * c, sd = invStd + c, sdx = sd + c, k = sdx + c
        let invRows = 1 / Float(rows)
        // Blocks of channels per thread, as in forward.
        Parallel.forRanges(c, alignment: 16, grain: Swift.max(16, Parallel.grain / Swift.max(1, rows))) { part in
            let first = part.lowerBound, n = part.count
            let dy = dy + first, xhat = xhat + first, invStd = invStd + first, gamma = gamma + first
            let sd = sd + first, sdx = sdx + first, k = k + first
            let gammaGradient = gammaGradient + first, betaGradient = betaGradient + first
            sd.update(repeating: 0, count: n)
            sdx.update(repeating: 0, count: n)
            for r in 0..<rows {
                let dr = dy + r * c, hr = xhat + r * c
                for j in 0..<n { sd[j] += dr[j]; sdx[j] += dr[j] * hr[j] }
            }
            for j in 0..<n { gammaGradient[j] += sdx[j]; betaGradient[j] += sd[j] }
            guard let dx = dx.map({ $0 + first }) else { return }
            // Fold per-channel constants so the row loop is a short multiply-add chain.
            for j in 0..<n {
                k[j] = gamma[j] * invStd[j]
                sd[j] = k[j] * sd[j] * invRows
                sdx[j] = k[j] * sdx[j] * invRows
            }
            for r in 0..<rows {
                let dr = dy + r * c, hr = xhat + r * c, out = dx + r * c
                for j in 0..<n { out[j] = k[j] * dr[j] - sd[j] - hr[j] * sdx[j] }
            }
        }
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
