/// Reconstruction errors. The error of one value is the model's loss term for it — squared error
/// for MSE, cross-entropy from the logit for BCE — in scaled units; a sample's anomaly score is
/// the mean over its values. The same numbers serve validation, scores and per-feature errors.
enum Scoring {
    /// Runs `network` on rows of input (scaled by `scaler`) and hands each chunk's per-value
    /// errors to `body(firstRow, chunkRows, errors, workspace)`.
    static func elementErrors(_ network: Network, _ loss: LossFunction, data x: Rows,
                              scaler: Scaler?,
                              body: (Int, Int, UnsafeMutablePointer<Float>, Workspace) -> Void) {
        let top = loss.layersBeforeLoss(network)
        let width = network.inputSize
        network.infer(x, layers: 0..<top, scaler: scaler, inputInWorkspace: true) { start, n, workspace in
            let output = workspace.activations[top].base, target = workspace.activations[0].base
            // The input buffer is not needed once the output exists; errors overwrite it.
            loss.overwriteWithErrors(target, output: output, count: n * width)
            body(start, n, target, workspace)
        }
    }

    /// The one anomaly rule: a row is an anomaly when its score is above the threshold.
    @inline(__always)
    static func isAnomaly(score: Float, threshold: Float) -> Bool { score > threshold }

    /// The anomaly score of each row, into `scores`: the mean of its per-value errors (each
    /// multiplied by `errorWeights`, when given: the standardized score), plus what the objective's
    /// terms add (a variational code's weighted KL per value, so the score is the negative ELBO per
    /// value, the quantity training minimises); with `codeDistances`, that combined with the code's distances from
    /// the training codes. `codes`, when given, receives each row's code (`codeSize` values).
    static func rowScores(_ network: Network, _ objective: Objective, data x: Rows,
                          scaler: Scaler?, errorWeights: [Float]? = nil, codeDistances: CodeDistances? = nil,
                          codes: UnsafeMutablePointer<Float>? = nil, into scores: UnsafeMutableBufferPointer<Float>) {
        let width = network.inputSize, code = network.codeLayerIndex, codeSize = network.codeSize
        elementErrors(network, objective.loss, data: x, scaler: scaler) { start, n, errors, workspace in
            for r in 0..<n {
                var sum: Float = 0
                if let errorWeights {
                    for j in 0..<width { sum += errors[r * width + j] * errorWeights[j] }
                } else {
                    for j in 0..<width { sum += errors[r * width + j] }
                }
                scores[start + r] = sum / Float(width)
                for term in objective.terms { scores[start + r] += term.scoreTerm(workspace, row: r, network: network) }
            }
            let chunkCodes = workspace.activations[code + 1].base
            codes?.advanced(by: start * codeSize).update(from: chunkCodes, count: n * codeSize)
            codeDistances?.apply(codes: chunkCodes, rows: n, scores: scores.baseAddress! + start)
        }
    }

    /// The standardized score's weights: 1 / (each value's mean error over the rows + a floor
    /// of 1e-4 times the mean over all values, so a value the training rows always reconstruct
    /// exactly cannot make any deviation there dominate).
    static func standardizingWeights(_ network: Network, _ loss: LossFunction, data: Rows, scaler: Scaler?) -> [Float] {
        let width = network.inputSize
        var means = [Double](repeating: 0, count: width)
        elementErrors(network, loss, data: data, scaler: scaler) { _, n, errors, _ in
            for r in 0..<n { for j in 0..<width { means[j] += Double(errors[r * width + j]) } }
        }
        for j in 0..<width { means[j] /= Double(data.count) }
        let floor = 1e-4 * means.reduce(0, +) / Double(width)
        return means.map { Float(1 / Swift.max($0 + floor, Double(Float.leastNormalMagnitude))) }
    }

    /// Mean per-value error over all rows (the validation loss).
    static func meanLoss(_ network: Network, _ loss: LossFunction, data: Rows,
                         scaler: Scaler?) -> Double {
        var total: Double = 0
        let count = network.inputSize
        elementErrors(network, loss, data: data, scaler: scaler) { _, n, errors, _ in
            for i in 0..<(n * count) { total += Double(errors[i]) }
        }
        return total / Double(data.count * count)
    }

    /// A threshold from the scores of n held-out normal rows that new normal rows like them exceed
    /// with probability at most `falsePositiveRate` and at least `falsePositiveRate − 1/(n + 1)`
    /// (split conformal): the k-th smallest score, k = ⌈(n + 1)(1 − rate)⌉. An interpolated
    /// quantile of few rows sits below the true one (37 rows at 1% flagged 2-5% of new normal rows).
    /// - Throws: `AEError.invalidInput` when k > n: fewer than 1/rate − 1 rows cannot bound the rate.
    static func calibratedThreshold(scores: [Float], falsePositiveRate rate: Float) throws -> Float {
        // Less a millionth, so that a rate like Float(0.01) = 0.0099999998 does not round k up.
        let n = scores.count, coverage = Double(n + 1) * (1 - Double(rate)) * (1 - 1e-6)
        let k = Int(coverage.rounded(.up))
        guard k <= n else {
            let needed = Int(((1 / Double(rate) - 1) * (1 - 1e-6)).rounded(.up))
            throw AEError.invalidInput("\(n) normal rows cannot calibrate a false-positive rate of \(rate): at least \(needed) are needed")
        }
        return scores.sorted()[Swift.max(k, 1) - 1]
    }

    /// The value below which `1 − contamination` of the scores lie (linear interpolation between
    /// order statistics, numpy's default percentile), as PyOD sets its threshold.
    static func threshold(scores: [Float], contamination: Float) -> Float {
        let sorted = scores.sorted()
        guard sorted.count > 1 else { return sorted.first ?? 0 }
        let position = Double(1 - contamination) * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down)), upper = Swift.min(lower + 1, sorted.count - 1)
        let fraction = Float(position - Double(lower))
        return sorted[lower] + fraction * (sorted[upper] - sorted[lower])
    }
}
