import AEFeatures
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

// MARK: Convolutions and resampling, channels-last [batch, H, W, C], straight from the definitions

extension Reference {
    struct Conv {
        var batch, height, width, channels, filters: Int
        var kernel: (Int, Int), stride: (Int, Int), dilation: (Int, Int), pad: (Int, Int), output: (Int, Int)

        func input(_ b: Int, _ h: Int, _ w: Int, _ c: Int) -> Int { ((b * height + h) * width + w) * channels + c }
        func out(_ b: Int, _ h: Int, _ w: Int, _ f: Int) -> Int { ((b * output.0 + h) * output.1 + w) * filters + f }
        func weight(_ f: Int, _ kh: Int, _ kw: Int, _ c: Int) -> Int { ((f * kernel.0 + kh) * kernel.1 + kw) * channels + c }

        /// Calls body(output index, input index, weight index) for every term of every output.
        func forEachTerm(_ body: (Int, Int, Int) -> Void) {
            for b in 0..<batch { for oh in 0..<output.0 { for ow in 0..<output.1 { for f in 0..<filters {
                for kh in 0..<kernel.0 { for kw in 0..<kernel.1 {
                    let ih = oh * stride.0 - pad.0 + kh * dilation.0, iw = ow * stride.1 - pad.1 + kw * dilation.1
                    guard ih >= 0, ih < height, iw >= 0, iw < width else { continue }
                    for c in 0..<channels { body(out(b, oh, ow, f), input(b, ih, iw, c), weight(f, kh, kw, c)) }
                } }
            } } } }
        }
    }

    /// y = conv(x, W) + b, W [filters, kh, kw, channels].
    static func convForward(_ s: Conv, x: [Double], w: [Double], b: [Double]) -> [Double] {
        var y = (0..<(s.batch * s.output.0 * s.output.1 * s.filters)).map { b[$0 % s.filters] }
        s.forEachTerm { o, i, k in y[o] += x[i] * w[k] }
        return y
    }

    static func convBackward(_ s: Conv, x: [Double], w: [Double], dy: [Double]) -> (dx: [Double], dw: [Double], db: [Double]) {
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count)
        var db = [Double](repeating: 0, count: s.filters)
        for (o, g) in dy.enumerated() { db[o % s.filters] += g }
        s.forEachTerm { o, i, k in dx[i] += dy[o] * w[k]; dw[k] += dy[o] * x[i] }
        return (dx, dw, db)
    }

    /// Transposed convolution as the scatter it is: every input value spreads over its window
    /// of the output. `s` is the geometry of the convolution from this layer's output back to its
    /// input, so `s.output` is the input size; W [inputChannels = s.filters, kh, kw, filters = s.channels].
    static func convTransposeForward(_ s: Conv, x: [Double], w: [Double], b: [Double]) -> [Double] {
        var y = (0..<(s.batch * s.height * s.width * s.channels)).map { b[$0 % s.channels] }
        s.forEachTerm { o, i, k in y[i] += x[o] * w[k] }
        return y
    }

    static func convTransposeBackward(_ s: Conv, x: [Double], w: [Double], dy: [Double]) -> (dx: [Double], dw: [Double], db: [Double]) {
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count)
        var db = [Double](repeating: 0, count: s.channels)
        for (i, g) in dy.enumerated() { db[i % s.channels] += g }
        s.forEachTerm { o, i, k in dx[o] += dy[i] * w[k]; dw[k] += dy[i] * x[o] }
        return (dx, dw, db)
    }

    /// Max or average pooling; windows clipped to the input (padded cells ignored).
    static func pool(_ s: Conv, max: Bool, x: [Double]) -> [Double] {
        var y = [Double](repeating: max ? -.infinity : 0, count: s.batch * s.output.0 * s.output.1 * s.channels)
        var counts = [Double](repeating: 0, count: y.count)
        for b in 0..<s.batch { for oh in 0..<s.output.0 { for ow in 0..<s.output.1 { for c in 0..<s.channels {
            let o = ((b * s.output.0 + oh) * s.output.1 + ow) * s.channels + c
            for kh in 0..<s.kernel.0 { for kw in 0..<s.kernel.1 {
                let ih = oh * s.stride.0 - s.pad.0 + kh, iw = ow * s.stride.1 - s.pad.1 + kw
                guard ih >= 0, ih < s.height, iw >= 0, iw < s.width else { continue }
                let v = x[s.input(b, ih, iw, c)]
                if max { y[o] = Swift.max(y[o], v) } else { y[o] += v; counts[o] += 1 }
            } }
        } } } }
        return max ? y : zip(y, counts).map { $0 / $1 }
    }

    /// Max unpooling: each value of `x` (shaped like the pool of `encoderInput`) goes where its
    /// window's first maximum in `encoderInput` lies; zeros elsewhere.
    static func unpool(_ s: Conv, encoderInput e: [Double], x: [Double]) -> [Double] {
        var y = [Double](repeating: 0, count: e.count)
        for b in 0..<s.batch { for oh in 0..<s.output.0 { for ow in 0..<s.output.1 { for c in 0..<s.channels {
            var winner: Int? = nil
            for kh in 0..<s.kernel.0 { for kw in 0..<s.kernel.1 {
                let ih = oh * s.stride.0 - s.pad.0 + kh, iw = ow * s.stride.1 - s.pad.1 + kw
                guard ih >= 0, ih < s.height, iw >= 0, iw < s.width else { continue }
                let i = s.input(b, ih, iw, c)
                if winner == nil || e[i] > e[winner!] { winner = i }
            } }
            y[winner!] = x[((b * s.output.0 + oh) * s.output.1 + ow) * s.channels + c]
        } } } }
        return y
    }

    static func upsample(_ x: [Double], batch: Int, height: Int, width: Int, channels: Int, factors: (Int, Int)) -> [Double] {
        var y: [Double] = []
        for b in 0..<batch { for h in 0..<(height * factors.0) { for w in 0..<(width * factors.1) { for c in 0..<channels {
            y.append(x[((b * height + h / factors.0) * width + w / factors.1) * channels + c])
        } } } }
        return y
    }
}

// MARK: Variational code

extension Reference {
    /// Batch-mean of weight/inputSize · KL(N(mu, e^logvar) ‖ N(0, I)), head [mu | logvar] per row.
    static func kl(_ head: [Double], batch: Int, size: Int, weight: Double, inputSize: Int) -> (penalty: Double, gradient: [Double]) {
        var penalty = 0.0
        var gradient = [Double](repeating: 0, count: head.count)
        let scale = weight / Double(batch * inputSize)
        for r in 0..<batch {
            for j in 0..<size {
                let mu = head[r * 2 * size + j], logvar = head[r * 2 * size + size + j]
                penalty += -0.5 * (1 + logvar - mu * mu - exp(logvar)) * scale
                gradient[r * 2 * size + j] = scale * mu
                gradient[r * 2 * size + size + j] = scale * 0.5 * (exp(logvar) - 1)
            }
        }
        return (penalty, gradient)
    }
}
