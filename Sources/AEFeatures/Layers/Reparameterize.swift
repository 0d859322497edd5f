/// The variational bottleneck: input [mu | logvar] (2·size values), output z (size values).
/// Training draws eps ~ N(0, I) and outputs z = mu + exp(logvar / 2) · eps (the
/// reparameterization trick, so gradients reach mu and logvar); inference outputs mu, the
/// features. eps is kept in scratch for backward.
final class Reparameterize: Layer {
    let size: Int

    init(size: Int) { self.size = size }

    var inputSize: Int { 2 * size }
    var outputSize: Int { size }
    func scratchCount(batch: Int) -> Int { batch * size }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        let size = size
        guard phase == .training else {
            for r in 0..<batch { (y + r * size).update(from: x + r * 2 * size, count: size) }
            return
        }
        rng.fillNormal(scratch, count: batch * size)
        Parallel.forRanges(batch, grain: Reparameterize.grainRows(size)) { rows in
            for r in rows {
                let mu = x + r * 2 * size, logvar = mu + size, z = y + r * size, eps = scratch + r * size
                for j in 0..<size { z[j] = mu[j] + FastMath.exp(0.5 * logvar[j]) * eps[j] }
            }
        }
    }

    // dmu = dz ; dlogvar = dz · eps · exp(logvar / 2) / 2
    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        guard let dx else { return }
        let size = size
        Parallel.forRanges(batch, grain: Reparameterize.grainRows(size)) { rows in
            for r in rows {
                let logvar = x + r * 2 * size + size, dz = dy + r * size, eps = scratch + r * size
                let dmu = dx + r * 2 * size, dlogvar = dmu + size
                for j in 0..<size {
                    dmu[j] = dz[j]
                    dlogvar[j] = dz[j] * eps[j] * 0.5 * FastMath.exp(0.5 * logvar[j])
                }
            }
        }
    }

    /// Rows worth a thread in a loop of exponentials over `size` values per row (about 2,000
    /// values: tens of microseconds against a hand-off's few).
    static func grainRows(_ size: Int) -> Int { Swift.max(1, 2048 / Swift.max(1, size)) }

    // ONNX: inference outputs mu, the first half of [mu | logvar]: a Slice.
    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value {
        let input = graph.flat(x)
        return .init(name: graph.slice(input, columns: 0..<size), layout: .flat(size))
    }
}
