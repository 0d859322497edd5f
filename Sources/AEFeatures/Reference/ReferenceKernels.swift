import Glibc

/// Naive loop kernels in Double, written straight from the definitions with no BLAS, no folding
/// and no reuse of the fast paths' helpers. Tests check these against finite differences, then
/// check every fast Float kernel against these.
enum Reference {
    // MARK: Dense  y = x Wᵀ + b, W [out, in]

    static func denseForward(x: [Double], w: [Double], b: [Double], batch: Int, inputs: Int, outputs: Int) -> [Double] {
        var y = [Double](repeating: 0, count: batch * outputs)
        for r in 0..<batch {
            for j in 0..<outputs {
                var s = b[j]
                for i in 0..<inputs { s += x[r * inputs + i] * w[j * inputs + i] }
                y[r * outputs + j] = s
            }
        }
        return y
    }

    static func denseBackward(x: [Double], w: [Double], dy: [Double], batch: Int, inputs: Int, outputs: Int)
        -> (dx: [Double], dw: [Double], db: [Double]) {
        var dx = [Double](repeating: 0, count: batch * inputs)
        var dw = [Double](repeating: 0, count: outputs * inputs)
        var db = [Double](repeating: 0, count: outputs)
        for r in 0..<batch {
            for j in 0..<outputs {
                let g = dy[r * outputs + j]
                db[j] += g
                for i in 0..<inputs {
                    dw[j * inputs + i] += g * x[r * inputs + i]
                    dx[r * inputs + i] += g * w[j * inputs + i]
                }
            }
        }
        return (dx, dw, db)
    }

    // MARK: BatchNorm in training mode over rows of `channels`

    static let batchNormEpsilon = 1e-5

    static func batchNormForward(x: [Double], gamma: [Double], beta: [Double], rows: Int, channels: Int) -> [Double] {
        var y = x
        for j in 0..<channels {
            let column = (0..<rows).map { x[$0 * channels + j] }
            let mean = column.reduce(0, +) / Double(rows)
            let variance = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(rows)
            for r in 0..<rows {
                y[r * channels + j] = gamma[j] * (x[r * channels + j] - mean) / (variance + batchNormEpsilon).squareRoot() + beta[j]
            }
        }
        return y
    }

    /// The textbook chain rule through mean and variance, term by term.
    static func batchNormBackward(x: [Double], gamma: [Double], dy: [Double], rows: Int, channels: Int)
        -> (dx: [Double], dgamma: [Double], dbeta: [Double]) {
        var dx = x, dgamma = [Double](repeating: 0, count: channels), dbeta = dgamma
        let n = Double(rows)
        for j in 0..<channels {
            let column = (0..<rows).map { x[$0 * channels + j] }
            let mean = column.reduce(0, +) / n
            let variance = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n
            let std = (variance + batchNormEpsilon).squareRoot()
            let g = (0..<rows).map { dy[$0 * channels + j] }
            var dVariance = 0.0, dMean = 0.0
            for r in 0..<rows {
                let xhat = (column[r] - mean) / std
                dgamma[j] += g[r] * xhat
                dbeta[j] += g[r]
                let dxhat = g[r] * gamma[j]
                dVariance += dxhat * (column[r] - mean) * -0.5 * pow(variance + batchNormEpsilon, -1.5)
                dMean += -dxhat / std
            }
            dMean += dVariance * column.map { -2 * ($0 - mean) }.reduce(0, +) / n
            for r in 0..<rows {
                dx[r * channels + j] = g[r] * gamma[j] / std + dVariance * 2 * (column[r] - mean) / n + dMean / n
            }
        }
        return (dx, dgamma, dbeta)
    }

    // MARK: Activations, from their definitions in terms of the input

    static func activation(_ f: ActivationFunction, _ x: Double) -> Double {
        switch f {
        case .identity: return x
        case .relu: return max(x, 0)
        case .leakyRelu: return x > 0 ? x : 0.01 * x
        case .elu: return x > 0 ? x : exp(x) - 1
        case .sigmoid: return 1 / (1 + exp(-x))
        case .tanh: return Glibc.tanh(x)
        }
    }

    static func activationDerivative(_ f: ActivationFunction, _ x: Double) -> Double {
        switch f {
        case .identity: return 1
        case .relu: return x > 0 ? 1 : 0
        case .leakyRelu: return x > 0 ? 1 : 0.01
        case .elu: return x > 0 ? 1 : exp(x)
        case .sigmoid: let s = 1 / (1 + exp(-x)); return s * (1 - s)
        case .tanh: let t = Glibc.tanh(x); return 1 - t * t
        }
    }

    static func activationSecondDerivative(_ f: ActivationFunction, _ x: Double) -> Double {
        switch f {
        case .identity, .relu, .leakyRelu: return 0
        case .elu: return x > 0 ? 0 : exp(x)
        case .sigmoid: let s = 1 / (1 + exp(-x)); return s * (1 - s) * (1 - 2 * s)
        case .tanh: let t = Glibc.tanh(x); return -2 * t * (1 - t * t)
        }
    }

    // MARK: Losses: mean over all elements

    static func mse(_ y: [Double], _ t: [Double]) -> (loss: Double, gradient: [Double]) {
        let n = Double(y.count)
        let loss = zip(y, t).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / n
        return (loss, zip(y, t).map { 2 * ($0 - $1) / n })
    }

    /// −[t log σ(z) + (1 − t) log(1 − σ(z))], written the direct (unstable) way on purpose.
    static func bceFromLogits(_ z: [Double], _ t: [Double]) -> (loss: Double, gradient: [Double]) {
        let n = Double(z.count)
        let p = z.map { 1 / (1 + exp(-$0)) }
        let loss = zip(p, t).map { -($1 * log($0) + (1 - $1) * log(1 - $0)) }.reduce(0, +) / n
        return (loss, zip(p, t).map { ($0 - $1) / n })
    }

    // MARK: Penalties on the code h [batch, size]

    static func klSparsity(_ h: [Double], batch: Int, size: Int, rho: Double, beta: Double) -> (penalty: Double, gradient: [Double]) {
        var penalty = 0.0
        var gradient = [Double](repeating: 0, count: h.count)
        for j in 0..<size {
            let rhoHat = (0..<batch).map { h[$0 * size + j] }.reduce(0, +) / Double(batch)
            penalty += rho * log(rho / rhoHat) + (1 - rho) * log((1 - rho) / (1 - rhoHat))
            for r in 0..<batch { gradient[r * size + j] = beta * (-rho / rhoHat + (1 - rho) / (1 - rhoHat)) / Double(batch) }
        }
        return (beta * penalty, gradient)
    }

    static func l1Sparsity(_ h: [Double], batch: Int, weight: Double) -> (penalty: Double, gradient: [Double]) {
        (weight * h.map(abs).reduce(0, +) / Double(batch),
         h.map { weight * ($0 > 0 ? 1 : ($0 < 0 ? -1 : 0)) / Double(batch) })
    }

    /// weight/B · Σ_b ‖J_b‖²_F with J_b[j][i] = f′(a_bj) W_ji formed explicitly, and its gradients
    /// with respect to the code layer's input, weights and bias.
    static func contractive(x: [Double], w: [Double], b: [Double], f: ActivationFunction, batch: Int,
                            inputs: Int, outputs: Int, weight: Double)
        -> (penalty: Double, dx: [Double], dw: [Double], db: [Double]) {
        let a = denseForward(x: x, w: w, b: b, batch: batch, inputs: inputs, outputs: outputs)
        var penalty = 0.0
        var da = [Double](repeating: 0, count: a.count)
        var dw = [Double](repeating: 0, count: w.count)
        let k = weight / Double(batch)
        for r in 0..<batch {
            for j in 0..<outputs {
                let d1 = activationDerivative(f, a[r * outputs + j])
                let d2 = activationSecondDerivative(f, a[r * outputs + j])
                for i in 0..<inputs {
                    let jacobian = d1 * w[j * inputs + i]
                    penalty += k * jacobian * jacobian
                    // ∂(J²)/∂a = 2 J · f″ W ; ∂(J²)/∂W (direct) = 2 J · f′
                    da[r * outputs + j] += k * 2 * jacobian * d2 * w[j * inputs + i]
                    dw[j * inputs + i] += k * 2 * jacobian * d1
                }
            }
        }
        let through = denseBackward(x: x, w: w, dy: da, batch: batch, inputs: inputs, outputs: outputs)
        return (penalty, through.dx, zip(dw, through.dw).map { $0 + $1 }, through.db)
    }
}
