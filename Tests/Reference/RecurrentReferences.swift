import AEFeatures
import Glibc

// The recurrent layers of ReferenceKernels.swift's `Reference`, one sample and one step at a time.

// MARK: LSTM, step by step from the equations

extension Reference {
    /// x [batch, steps, features] → hidden states [batch, steps, units]; parameters W [4u, f],
    /// R [4u, u], b [4u] in gate order i, o, f, c, then the initial states h0 [u], c0 [u], then with
    /// `peephole` P [3u] in order i, o, f (i and f see c_{t−1}, o sees c_t).
    static func lstm(x: [Double], parameters p: [Double], batch: Int, steps: Int, features: Int, units: Int,
                     peephole: Bool = false) -> [Double] {
        let u = units
        func w(_ gate: Int, _ j: Int, _ k: Int) -> Double { p[(gate * u + j) * features + k] }
        func r(_ gate: Int, _ j: Int, _ k: Int) -> Double { p[4 * u * features + (gate * u + j) * u + k] }
        func b(_ gate: Int, _ j: Int) -> Double { p[4 * u * features + 4 * u * u + gate * u + j] }
        func sigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
        var out = [Double](repeating: 0, count: batch * steps * u)
        for n in 0..<batch {
            let initial = 4 * u * features + 4 * u * u + 4 * u
            var h = Array(p[initial..<(initial + u)]), c = Array(p[(initial + u)..<(initial + 2 * u)])
            for t in 0..<steps {
                var next = h
                for j in 0..<u {
                    var a = (0..<4).map { b($0, j) }
                    for gate in 0..<4 {
                        for k in 0..<features { a[gate] += w(gate, j, k) * x[(n * steps + t) * features + k] }
                        for k in 0..<u { a[gate] += r(gate, j, k) * h[k] }
                    }
                    let peepholes = 4 * u * features + 4 * u * u + 6 * u
                    func peep(_ gate: Int) -> Double { peephole ? p[peepholes + gate * u + j] : 0 }
                    let previous = c[j]
                    c[j] = sigmoid(a[2] + peep(2) * previous) * previous + sigmoid(a[0] + peep(0) * previous) * tanh(a[3])
                    next[j] = sigmoid(a[1] + peep(1) * c[j]) * tanh(c[j])
                }
                h = next
                for j in 0..<u { out[(n * steps + t) * u + j] = h[j] }
            }
        }
        return out
    }
}

// MARK: GRU, step by step from the equations

extension Reference {
    /// x [batch, steps, features] → hidden states [batch, steps, units]; parameters W [3u, f],
    /// R [3u, u], b [3u] in gate order z, r, n, then b_Rn [u] and the initial state h0 [u]:
    /// n = tanh(W_n x + b_n + r ⊙ (R_n h + b_Rn)), h' = (1 − z) ⊙ n + z ⊙ h.
    static func gru(x: [Double], parameters p: [Double], batch: Int, steps: Int, features: Int, units: Int) -> [Double] {
        let u = units
        func w(_ gate: Int, _ j: Int, _ k: Int) -> Double { p[(gate * u + j) * features + k] }
        func r(_ gate: Int, _ j: Int, _ k: Int) -> Double { p[3 * u * features + (gate * u + j) * u + k] }
        let biases = 3 * u * features + 3 * u * u
        func sigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
        var out = [Double](repeating: 0, count: batch * steps * u)
        for n in 0..<batch {
            var h = Array(p[(biases + 4 * u)..<(biases + 5 * u)])
            for t in 0..<steps {
                var next = h
                for j in 0..<u {
                    var input = (0..<3).map { p[biases + $0 * u + j] }, recurrent = [0.0, 0.0, p[biases + 3 * u + j]]
                    for gate in 0..<3 {
                        for k in 0..<features { input[gate] += w(gate, j, k) * x[(n * steps + t) * features + k] }
                        for k in 0..<u { recurrent[gate] += r(gate, j, k) * h[k] }
                    }
                    let z = sigmoid(input[0] + recurrent[0]), reset = sigmoid(input[1] + recurrent[1])
                    let candidate = tanh(input[2] + reset * recurrent[2])
                    next[j] = (1 - z) * candidate + z * h[j]
                }
                h = next
                for j in 0..<u { out[(n * steps + t) * u + j] = h[j] }
            }
        }
        return out
    }
}

// MARK: Convolutional LSTM, step by step from the equations

extension Reference {
    /// x [batch, steps, H, W, C] (or with `repeatsInput` one map [batch, H, W, C] read at every
    /// step) → hidden states [batch, steps, H, W, F]; parameters Wx [4F, kh, kw, C], bx [4F],
    /// Wh [4F, kh, kw, F], bh [4F], gate blocks i, o, f, c; 'same' convolutions, zero initial states.
    static func convLSTM(x: [Double], parameters p: [Double], batch: Int, steps: Int, height: Int, width: Int,
                         channels: Int, filters: Int, kernel: (Int, Int), repeatsInput: Bool = false) -> [Double] {
        let f = filters, positions = height * width, state = positions * f
        func geometry(_ inputChannels: Int) -> Conv {
            Conv(batch: 1, height: height, width: width, channels: inputChannels, filters: 4 * f, kernel: kernel,
                 stride: (1, 1), dilation: (1, 1), pad: ((kernel.0 - 1) / 2, (kernel.1 - 1) / 2), output: (height, width))
        }
        let input = geometry(channels), recurrent = geometry(f)
        let wxCount = 4 * f * kernel.0 * kernel.1 * channels, whCount = 4 * f * kernel.0 * kernel.1 * f
        let wx = Array(p[0..<wxCount]), bx = Array(p[wxCount..<(wxCount + 4 * f)])
        let wh = Array(p[(wxCount + 4 * f)..<(wxCount + 4 * f + whCount)]), bh = Array(p[(wxCount + 4 * f + whCount)...])
        func sigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
        let frame = positions * channels
        var out: [Double] = []
        for n in 0..<batch {
            var h = [Double](repeating: 0, count: state), c = h
            for t in 0..<steps {
                let start = repeatsInput ? n * frame : (n * steps + t) * frame
                let z = zip(convForward(input, x: Array(x[start..<(start + frame)]), w: wx, b: bx),
                            convForward(recurrent, x: h, w: wh, b: bh)).map { $0 + $1 }
                for position in 0..<positions {
                    for j in 0..<f {
                        let a = position * 4 * f, k = position * f + j
                        c[k] = sigmoid(z[a + 2 * f + j]) * c[k] + sigmoid(z[a + j]) * tanh(z[a + 3 * f + j])
                        h[k] = sigmoid(z[a + f + j]) * tanh(c[k])
                    }
                }
                out += h
            }
        }
        return out
    }
}
