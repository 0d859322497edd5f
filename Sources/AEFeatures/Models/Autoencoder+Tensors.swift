// The Autoencoder's Tensor conveniences, sampling, labels and threshold calibration: thin
// wrappers over the buffer-based calls in Autoencoder.swift, with the same checks.

extension Autoencoder {
    // MARK: Tensor conveniences

    @discardableResult
    public func fit(_ x: Tensor, validation: Tensor? = nil, seed: UInt64? = nil,
                    progress: ((EpochReport) -> Bool)? = nil) throws -> TrainingHistory {
        try checkShape(x, name: "training data")
        if let validation { try checkShape(validation, name: "validation data") }
        return try x.scalars.withUnsafeBufferPointer { data in
            guard let validation else { return try fit(data, rows: x.sampleCount, seed: seed, progress: progress) }
            return try validation.scalars.withUnsafeBufferPointer { held in
                try fit(data, rows: x.sampleCount, validation: (held, validation.sampleCount), seed: seed, progress: progress)
            }
        }
    }

    public func encode(_ x: Tensor) throws -> Tensor {
        try map(x, outputShape: [codeSize], encode)
    }

    public func reconstruct(_ x: Tensor) throws -> Tensor {
        try map(x, outputShape: spec.inputShape, reconstruct)
    }

    public func anomalyScores(_ x: Tensor) throws -> [Float] {
        try map(x, outputShape: [], anomalyScores).scalars
    }

    public func featureErrors(_ x: Tensor) throws -> Tensor {
        try map(x, outputShape: spec.inputShape, featureErrors)
    }

    /// Reconstructions from codes [n, codeSize].
    public func decode(_ codes: Tensor) throws -> Tensor {
        guard codes.shape.count == 2, codes.shape[1] == codeSize else {
            throw AEError.invalidInput("codes have shape \(codes.shape); expected [n, \(codeSize)]")
        }
        var output = [Float](repeating: 0, count: codes.sampleCount * inputSize)
        try codes.scalars.withUnsafeBufferPointer { z in
            try output.withUnsafeMutableBufferPointer { try decode(z, rows: codes.sampleCount, into: $0) }
        }
        return try Tensor(shape: [codes.sampleCount] + spec.inputShape, scalars: output)
    }

    /// `count` samples from the prior through the decoder, in the input's units (`count` x
    /// `inputSize`): N(0, I) for a variational model, the adversarial prior for an adversarial one.
    public func sample(count: Int, seed: UInt64, into output: UnsafeMutableBufferPointer<Float>) throws {
        guard spec.variationalSettings != nil || spec.adversarialSettings != nil else {
            throw AEError.invalidInput("sampling needs a variational or adversarial model")
        }
        guard count > 0, count <= Int.max / Swift.max(1, inputSize) else { throw AEError.invalidInput("count must be positive, got \(count)") }
        var rng = RandomSource(seed: seed, stream: .sampling)
        let prior = spec.adversarialSettings
        let z = (0..<(count * codeSize)).map { _ in prior?.draw(&rng) ?? rng.normal() }
        try z.withUnsafeBufferPointer { try decode($0, rows: count, into: output) }
    }

    public func sample(count: Int, seed: UInt64) throws -> Tensor {
        var output = [Float](repeating: 0, count: Swift.max(0, count) * inputSize)
        try output.withUnsafeMutableBufferPointer { try sample(count: count, seed: seed, into: $0) }
        return try Tensor(shape: [count] + spec.inputShape, scalars: output)
    }

    /// mu and log-variance of q(z|x) per row (each `rows` x `codeSize`) for a variational model.
    public func latentDistribution(_ x: Tensor) throws -> (mean: Tensor, logVariance: Tensor) {
        guard spec.variationalSettings != nil else { throw AEError.invalidInput("latentDistribution needs a variational model") }
        return try usage.shared { try latentDistributionShared(x) }
    }

    private func latentDistributionShared(_ x: Tensor) throws -> (mean: Tensor, logVariance: Tensor) {
        try checkShape(x, name: "input")
        let rows = x.sampleCount, size = codeSize
        var mean = [Float](repeating: 0, count: rows * size), logVariance = mean
        try x.scalars.withUnsafeBufferPointer { data in
            try mean.withUnsafeMutableBufferPointer { m in
                try logVariance.withUnsafeMutableBufferPointer { try latentDistributionShared(data, rows: rows, mean: m, logVariance: $0) }
            }
        }
        return (try Tensor(shape: [rows, size], scalars: mean), try Tensor(shape: [rows, size], scalars: logVariance))
    }

    /// mu and log-variance of q(z|x) for `rows` rows of `x` into `mean` and `logVariance` (each
    /// `rows` x `codeSize`), for a variational model.
    public func latentDistribution(_ x: UnsafeBufferPointer<Float>, rows: Int, mean: UnsafeMutableBufferPointer<Float>,
                                   logVariance: UnsafeMutableBufferPointer<Float>) throws {
        guard spec.variationalSettings != nil else { throw AEError.invalidInput("latentDistribution needs a variational model") }
        try usage.shared { try latentDistributionShared(x, rows: rows, mean: mean, logVariance: logVariance) }
    }

    private func latentDistributionShared(_ x: UnsafeBufferPointer<Float>, rows: Int, mean: UnsafeMutableBufferPointer<Float>,
                                          logVariance: UnsafeMutableBufferPointer<Float>) throws {
        guard isFitted else { throw AEError.notFitted }
        try checkData(x, rows: rows, name: "input")
        try checkOutput(mean, rows: rows, width: codeSize)
        try checkOutput(logVariance, rows: rows, width: codeSize)
        let size = codeSize, head = network.codeLayerIndex
        network.infer(Rows(x.baseAddress!, count: rows, width: inputSize), layers: 0..<head, scaler: scaler) { start, n, ws in
            for r in 0..<n {
                let values = ws.activations[head].base + r * 2 * size
                for j in 0..<size {
                    mean[(start + r) * size + j] = values[j]
                    logVariance[(start + r) * size + j] = values[size + j]
                }
            }
        }
    }

    /// The anomaly rule, for scores from `anomalyScores`: above the fitted threshold.
    public func isAnomaly(score: Float) throws -> Bool {
        guard let threshold else { throw AEError.notFitted }
        return Scoring.isAnomaly(score: score, threshold: threshold)
    }

    /// 1 where the score exceeds the fitted threshold, else 0.
    public func predictAnomalies(_ x: Tensor) throws -> [Int] {
        try checkShape(x, name: "input")
        var labels = [Int32](repeating: 0, count: x.sampleCount)
        try x.scalars.withUnsafeBufferPointer { data in
            try labels.withUnsafeMutableBufferPointer { try predictAnomalies(data, rows: x.sampleCount, into: $0) }
        }
        return labels.map(Int.init)
    }

    /// 1 into `output` for each row whose score exceeds the fitted threshold, else 0; scores and
    /// threshold come from the same fit.
    public func predictAnomalies(_ x: UnsafeBufferPointer<Float>, rows: Int, into output: UnsafeMutableBufferPointer<Int32>) throws {
        try usage.shared {
            guard let threshold else { throw AEError.notFitted }
            guard output.count == rows, output.baseAddress != nil else {
                throw AEError.invalidInput("output has room for \(output.count) labels; \(rows) rows need \(rows)")
            }
            var scores = [Float](repeating: 0, count: rows)
            try scores.withUnsafeMutableBufferPointer { try anomalyScores(x, rows: rows, into: $0) }
            for i in 0..<rows { output[i] = Scoring.isAnomaly(score: scores[i], threshold: threshold) ? 1 : 0 }
        }
    }

    /// Sets the anomaly threshold from held-out rows known to be normal (not the training rows,
    /// whose scores the fit made small) so that normal rows like them score above it with
    /// probability at most `falsePositiveRate` (and at least that less 1/(rows + 1)): the k-th
    /// smallest of their scores, k = ⌈(rows + 1)(1 − rate)⌉ (split conformal calibration). The
    /// new threshold replaces the contamination quantile of the fit and is saved with the model.
    /// Returns it.
    /// - Throws: `AEError.notFitted`; `AEError.invalidInput` for a rate outside (0, 1), fewer
    ///   than 1/rate − 1 rows (99 for 1%), or empty, misshapen or non-finite rows (the threshold
    ///   is then unchanged); `AEError.busy` while any other call uses the model.
    @discardableResult
    public func calibrateThreshold(normal x: UnsafeBufferPointer<Float>, rows: Int, falsePositiveRate: Float) throws -> Float {
        try usage.exclusive {
            guard isFitted else { throw AEError.notFitted }
            guard falsePositiveRate > 0, falsePositiveRate < 1 else {
                throw AEError.invalidInput("false positive rate must be in (0, 1), got \(falsePositiveRate)")
            }
            try checkData(x, rows: rows, name: "normal rows")
            var scores = [Float](repeating: 0, count: rows)
            scores.withUnsafeMutableBufferPointer { rowScores(Rows(x.baseAddress!, count: rows, width: inputSize), into: $0) }
            let calibrated = try Scoring.calibratedThreshold(scores: scores, falsePositiveRate: falsePositiveRate)
            threshold = calibrated
            return calibrated
        }
    }

    @discardableResult
    public func calibrateThreshold(normal x: Tensor, falsePositiveRate: Float) throws -> Float {
        try checkShape(x, name: "normal rows")
        return try x.scalars.withUnsafeBufferPointer { try calibrateThreshold(normal: $0, rows: x.sampleCount, falsePositiveRate: falsePositiveRate) }
    }

    /// The threshold and history of the last fit, read together (nil before the first fit).
    /// - Throws: `AEError.busy` while another thread fits the model.
    public func fittedState() throws -> (threshold: Float?, history: TrainingHistory?) {
        try usage.shared { (threshold, history) }
    }
}
