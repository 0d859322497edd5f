import AEFeatures
import Foundation

/// Multinomial logistic regression (L2-regularised, mini-batch Adam) for judging features by how
/// well a linear classifier separates the classes with them. Features are standardised with the
/// training statistics first. Small and self-contained: the demo's downstream model.
struct SoftmaxRegression {
    private(set) var weights: [Float]  // [classes, features]
    private(set) var bias: [Float]
    private var mean: [Float], invStd: [Float]
    let classes: Int, features: Int

    init(features x: [Float], labels: [Int], classes: Int, epochs: Int = 30, l2: Float = 1e-4, seed: UInt64 = 0) {
        let n = labels.count, d = x.count / max(n, 1)
        self.classes = classes
        features = d
        weights = [Float](repeating: 0, count: classes * d)
        bias = [Float](repeating: 0, count: classes)
        mean = (0..<d).map { j in (0..<n).reduce(Float(0)) { $0 + x[$1 * d + j] } / Float(n) }
        invStd = [Float](repeating: 1, count: d)
        for j in 0..<d {
            let v = (0..<n).reduce(Float(0)) { let t = x[$1 * d + j] - mean[j]; return $0 + t * t } / Float(n)
            invStd[j] = v > 1e-12 ? 1 / v.squareRoot() : 1
        }
        let z = standardise(x)
        var m = [Float](repeating: 0, count: weights.count + classes), v = m
        var generator = RandomSource(seed: seed)
        var step = 0
        let batch = 128, lr: Float = 0.01
        var gradient = [Float](repeating: 0, count: weights.count + classes)
        var probabilities = [Float](repeating: 0, count: classes)
        for _ in 0..<epochs {
            let order = generator.permutation(n)
            for start in stride(from: 0, to: n, by: batch) {
                let rows = order[start..<min(start + batch, n)]
                for i in 0..<gradient.count { gradient[i] = 0 }
                for r in rows {
                    logits(z, row: r, into: &probabilities)
                    softmax(&probabilities)
                    probabilities[labels[r]] -= 1
                    for c in 0..<classes {
                        let g = probabilities[c] / Float(rows.count)
                        for j in 0..<d { gradient[c * d + j] += g * z[r * d + j] }
                        gradient[weights.count + c] += g
                    }
                }
                step += 1
                let c1 = 1 - pow(0.9, Float(step)), c2 = 1 - pow(0.999, Float(step))
                for i in 0..<gradient.count {
                    let g = gradient[i] + (i < weights.count ? l2 * weights[i] : 0)
                    m[i] = 0.9 * m[i] + 0.1 * g
                    v[i] = 0.999 * v[i] + 0.001 * g * g
                    let delta = lr * (m[i] / c1) / ((v[i] / c2).squareRoot() + 1e-8)
                    if i < weights.count { weights[i] -= delta } else { bias[i - weights.count] -= delta }
                }
            }
        }
    }

    /// Fraction of rows whose most probable class is the label.
    func accuracy(features x: [Float], labels: [Int]) -> Double {
        let z = standardise(x)
        var scores = [Float](repeating: 0, count: classes)
        var correct = 0
        for r in 0..<labels.count {
            logits(z, row: r, into: &scores)
            if scores.indices.max(by: { scores[$0] < scores[$1] }) == labels[r] { correct += 1 }
        }
        return Double(correct) / Double(labels.count)
    }

    /// For two classes: the logit of class 1 minus that of class 0 per row (a ranking score for AUROC).
    func decisionScores(features x: [Float]) -> [Float] {
        precondition(classes == 2, "decision scores are for binary problems")
        let z = standardise(x)
        var scores = [Float](repeating: 0, count: 2)
        return (0..<(x.count / features)).map { r in
            logits(z, row: r, into: &scores)
            return scores[1] - scores[0]
        }
    }

    private func standardise(_ x: [Float]) -> [Float] {
        var z = x
        for i in 0..<z.count { let j = i % features; z[i] = (z[i] - mean[j]) * invStd[j] }
        return z
    }

    private func logits(_ z: [Float], row: Int, into out: inout [Float]) {
        for c in 0..<classes {
            var s = bias[c]
            for j in 0..<features { s += weights[c * features + j] * z[row * features + j] }
            out[c] = s
        }
    }

    private func softmax(_ p: inout [Float]) {
        let top = p.max() ?? 0
        var total: Float = 0
        for i in 0..<p.count { p[i] = exp(p[i] - top); total += p[i] }
        for i in 0..<p.count { p[i] /= total }
    }
}
