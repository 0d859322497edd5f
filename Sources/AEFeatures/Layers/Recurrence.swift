/// A recurrent layer (LSTM, GRU): what a Bidirectional pair needs of it.
protocol RecurrentLayer: Layer {
    var steps: Int { get }
    var features: Int { get }
    var units: Int { get }
    var returnSequences: Bool { get }
    /// One ONNX node for `directions` (one layer, or a forward and backward pair) over the
    /// time-major `input`; the names of Y [T, dirs, N, units] and Y_h [dirs, N, units].
    static func onnxNode(_ graph: inout ONNXGraph, input: String, directions: [Self]) -> (sequence: String, last: String)
}

/// What the recurrent layers share: the batch-major ↔ time-major copies and the batch-parallel
/// walk over the steps.
enum Recurrence {
    /// [batch, steps, width] <-> [steps, batch, width]
    static func transpose(_ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>, steps: Int, batch: Int,
                          width: Int, toTimeMajor: Bool) {
        for n in 0..<batch {
            for t in 0..<steps {
                let batchMajor = (n * steps + t) * width, timeMajor = (t * batch + n) * width
                if toTimeMajor { (target + timeMajor).update(from: source + batchMajor, count: width) }
                else { (target + batchMajor).update(from: source + timeMajor, count: width) }
            }
        }
    }

    /// Runs body(step, first sample, samples) over every step (last to first when `backwards`)
    /// for chunks of the batch, a thread per contiguous part of the batch. A chunk's per-step GEMM
    /// (chunk × gates·units × units) stays under 2^18 multiply-adds, OpenBLAS's threshold for
    /// running on the calling thread. Chunk boundaries depend on the batch and the layer's size
    /// only, so results do not depend on the thread count.
    static func forEachChunk(steps: Int, batch: Int, units: Int, gates: Int, backwards: Bool = false,
                             _ body: (Int, Int, Int) -> Void) {
        let chunk = Swift.min(batch, Swift.max(8, (1 << 18) / (gates * units * units)))
        Parallel.forRanges(batch, alignment: chunk, grain: chunk) { samples in
            let order = backwards ? stride(from: steps - 1, through: 0, by: -1) : stride(from: 0, through: steps - 1, by: 1)
            for t in order {
                for first in stride(from: samples.lowerBound, to: samples.upperBound, by: chunk) {
                    body(t, first, Swift.min(chunk, samples.upperBound - first))
                }
            }
        }
    }
}
