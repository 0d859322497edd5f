/// Inverted dropout: in training each value is kept with probability 1 − rate and scaled by
/// 1 / (1 − rate), so inference is the identity. The mask (0 or the scale) is kept in scratch.
final class Dropout: Layer {
    let size: Int
    let rate: Float

    init(size: Int, rate: Float) {
        self.size = size
        self.rate = rate
    }

    var inputSize: Int { size }
    var outputSize: Int { size }
    func scratchCount(batch: Int) -> Int { batch * size }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        let n = batch * size
        guard phase == .training, rate > 0 else {
            y.update(from: x, count: n)
            return
        }
        let keep = 1 / (1 - rate)
        for i in 0..<n {
            scratch[i] = rng.uniform() < rate ? 0 : keep
            y[i] = x[i] * scratch[i]
        }
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        guard let dx else { return }
        let n = batch * size
        if rate > 0 {
            for i in 0..<n { dx[i] = dy[i] * scratch[i] }
        } else {
            dx.update(from: dy, count: n)
        }
    }

    // Inference is the identity: nothing in ONNX.
    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value { x }
}
