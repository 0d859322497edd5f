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
        for r in 0..<batch {
            let mu = x + r * 2 * size, logvar = mu + size, z = y + r * size, eps = scratch + r * size
            for j in 0..<size {
                if phase == .training {
                    eps[j] = rng.normal()
                    z[j] = mu[j] + FastMath.exp(0.5 * logvar[j]) * eps[j]
                } else {
                    z[j] = mu[j]
                }
            }
        }
    }

    // dmu = dz ; dlogvar = dz · eps · exp(logvar / 2) / 2
    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        guard let dx else { return }
        for r in 0..<batch {
            let logvar = x + r * 2 * size + size, dz = dy + r * size, eps = scratch + r * size
            let dmu = dx + r * 2 * size, dlogvar = dmu + size
            for j in 0..<size {
                dmu[j] = dz[j]
                dlogvar[j] = dz[j] * eps[j] * 0.5 * FastMath.exp(0.5 * logvar[j])
            }
        }
    }

    // ONNX: inference outputs mu, the first half of [mu | logvar]: a Slice.
    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value {
        let input = graph.flat(x)
        return .init(name: graph.slice(input, columns: 0..<size), layout: .flat(size))
    }
}
