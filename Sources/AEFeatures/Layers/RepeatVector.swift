/// [batch, units] → [batch, steps, units]: the code handed to every decoder step.
final class RepeatVector: Layer {
    let steps, units: Int

    init(steps: Int, units: Int) {
        self.steps = steps
        self.units = units
    }

    var inputSize: Int { units }
    var outputSize: Int { steps * units }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        for n in 0..<batch { for t in 0..<steps { (y + (n * steps + t) * units).update(from: x + n * units, count: units) } }
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        guard let dx else { return }
        dx.update(repeating: 0, count: batch * units)
        for n in 0..<batch { for t in 0..<steps { for j in 0..<units { dx[n * units + j] += dy[(n * steps + t) * units + j] } } }
    }

    // ONNX: [N, units] → Unsqueeze → [1, N, units] → Expand → [steps, N, units], time-major.
    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value {
        let input = graph.flat(x), axes = graph.constant("axes", int64: [0])
        let unsqueezed = graph.node("Unsqueeze", [input, axes])
        let shape = graph.constant("shape", int64: [steps, 1, units])
        return .init(name: graph.node("Expand", [unsqueezed, shape]), layout: .sequence(steps: steps, features: units))
    }
}
