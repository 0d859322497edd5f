/// Nearest-neighbour upsampling of channels-last [H, W, C] samples by integer factors
/// (1-D is height 1): y[i, j, c] = x[i / fh, j / fw, c]. Backward sums each block of dy.
final class Upsample2D: Layer {
    let height, width, channels: Int
    let factorHeight, factorWidth: Int

    init(height: Int, width: Int, channels: Int, factors: (Int, Int)) {
        self.height = height
        self.width = width
        self.channels = channels
        (factorHeight, factorWidth) = factors
    }

    var inputSize: Int { height * width * channels }
    var outputSize: Int { inputSize * factorHeight * factorWidth }

    /// Calls body(input offset, output offset) for every output pixel.
    @inline(__always)
    private func forEachPixel(batch: Int, _ body: (Int, Int) -> Void) {
        let outHeight = height * factorHeight, outWidth = width * factorWidth
        for b in 0..<batch {
            for oh in 0..<outHeight {
                for ow in 0..<outWidth {
                    body(((b * height + oh / factorHeight) * width + ow / factorWidth) * channels,
                         ((b * outHeight + oh) * outWidth + ow) * channels)
                }
            }
        }
    }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        forEachPixel(batch: batch) { source, target in (y + target).update(from: x + source, count: channels) }
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        guard let dx else { return }
        dx.update(repeating: 0, count: batch * inputSize)
        forEachPixel(batch: batch) { source, target in
            for c in 0..<channels { dx[source + c] += dy[target + c] }
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
