/// Keeps the top-left [height, width] of channels-last [H, W, C] samples: lets a decoder whose
/// upsampling overshoots the input (28 → 7 → 2 → 8 → 32) end exactly at the input shape.
final class Crop2D: Layer {
    let inputHeight, inputWidth, channels: Int
    let height, width: Int

    init(input: (height: Int, width: Int, channels: Int), to size: (height: Int, width: Int)) {
        (inputHeight, inputWidth, channels) = input
        (height, width) = size
    }

    var inputSize: Int { inputHeight * inputWidth * channels }
    var outputSize: Int { height * width * channels }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        for b in 0..<batch {
            for h in 0..<height {
                (y + ((b * height + h) * width) * channels)
                    .update(from: x + ((b * inputHeight + h) * inputWidth) * channels, count: width * channels)
            }
        }
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        guard let dx else { return }
        dx.update(repeating: 0, count: batch * inputSize)
        for b in 0..<batch {
            for h in 0..<height {
                (dx + ((b * inputHeight + h) * inputWidth) * channels)
                    .update(from: dy + ((b * height + h) * width) * channels, count: width * channels)
            }
        }
    }

    // ONNX: Slice of the top-left height x width on [N, C, H, W].
    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value {
        let input = graph.image(x, channels: channels, height: inputHeight, width: inputWidth)
        let starts = graph.constant("starts", int64: [0, 0]), ends = graph.constant("ends", int64: [height, width])
        let axes = graph.constant("axes", int64: [2, 3])
        return .init(name: graph.node("Slice", [input, starts, ends, axes]),
                     layout: .image(channels: channels, height: height, width: width))
    }
}
