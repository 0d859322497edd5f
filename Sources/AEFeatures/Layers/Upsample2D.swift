/// Nearest-neighbour upsampling of channels-last [H, W, C] samples by integer factors
/// (1-D is height 1): y[i, j, c] = x[i / fh, j / fw, c]. Backward sums each block of dy.
final class Upsample2D: Layer {
    let height, width, channels: Int
    let factorHeight, factorWidth: Int

    init(height: Int, width: Int, channels: Int, factors: (Int, Int)) {
        self.height = height
        self.width = width
        self.channels = channels
        precondition(factors.0 >= 1 && factors.1 >= 1, "upsampling factors are products of strides")
        (factorHeight, factorWidth) = factors
    }

    var inputSize: Int { height * width * channels }
    var outputSize: Int { inputSize * factorHeight * factorWidth }

    /// Output rows come in groups of factorHeight per input row: the first is built pixel by
    /// pixel, the others are copies of it. Samples split over the threads.
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        let rowLength = width * factorWidth * channels
        Parallel.forRanges(batch, grain: Swift.max(1, Parallel.grain / outputSize)) { samples in
            for inputRow in samples.lowerBound * height..<samples.upperBound * height {
                let source = x + inputRow * width * channels, first = y + inputRow * factorHeight * rowLength
                for iw in 0..<width {
                    let pixel = source + iw * channels
                    for k in 0..<factorWidth {
                        let target = first + (iw * factorWidth + k) * channels
                        for c in 0..<channels { target[c] = pixel[c] }
                    }
                }
                for r in 1..<factorHeight { (first + r * rowLength).update(from: first, count: rowLength) }
            }
        }
    }

    /// dx[i, j] = Σ over its block of dy, added in the block's raster order.
    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        guard let dx else { return }
        let rowLength = width * factorWidth * channels
        Parallel.forRanges(batch, grain: Swift.max(1, Parallel.grain / outputSize)) { samples in
            for inputRow in samples.lowerBound * height..<samples.upperBound * height {
                let target = dx + inputRow * width * channels
                for r in 0..<factorHeight {
                    let source = dy + (inputRow * factorHeight + r) * rowLength
                    for iw in 0..<width {
                        let sum = target + iw * channels
                        for k in 0..<factorWidth {
                            let gradient = source + (iw * factorWidth + k) * channels
                            if r == 0 && k == 0 {
                                for c in 0..<channels { sum[c] = gradient[c] }
                            } else {
                                for c in 0..<channels { sum[c] += gradient[c] }
                            }
                        }
                    }
                }
            }
        }
    }

    // ONNX: Resize, nearest with asymmetric coordinates and floor: out[i] = in[floor(i / factor)].
    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value {
        let input = graph.image(x, channels: channels, height: height, width: width)
        let scales = graph.constant("scales", dims: [4], [1, 1, Float(factorHeight), Float(factorWidth)])
        let y = graph.node("Resize", [input, "", scales], [("mode", .string("nearest")),
                                                           ("coordinate_transformation_mode", .string("asymmetric")),
                                                           ("nearest_mode", .string("floor"))])
        return .init(name: y, layout: .image(channels: channels, height: height * factorHeight, width: width * factorWidth))
    }
}
