/// The shape arithmetic of a 2-D convolution over channels-last data, and the im2col/col2im
/// lowering that turns it into one GEMM. A sample is [height, width, channels] row-major; 1-D
/// layers are the height-1 case. Shared by Conv2D and ConvTranspose2D (whose geometry is that of
/// the convolution it is the adjoint of).
/// valid: no padding, output = floor((input − effective kernel) / stride) + 1;
/// same: zero padding so that output = ceil(input / stride), the odd pixel bottom/right.
public enum ConvolutionPadding: String, Codable, CaseIterable, Sendable { case valid, same }

struct ConvGeometry: Equatable {
    typealias Padding = ConvolutionPadding

    let inputHeight, inputWidth, channels: Int
    let kernelHeight, kernelWidth: Int
    let strideHeight, strideWidth: Int
    let dilationHeight, dilationWidth: Int
    let padTop, padLeft: Int
    let outputHeight, outputWidth: Int

    /// Throws a message (no field name; the caller adds it) when the kernel does not fit.
    init(input: (height: Int, width: Int, channels: Int), kernel: (Int, Int), stride: (Int, Int),
         dilation: (Int, Int), padding: Padding) throws {
        (inputHeight, inputWidth, channels) = input
        (kernelHeight, kernelWidth) = kernel
        (strideHeight, strideWidth) = stride
        (dilationHeight, dilationWidth) = dilation
        func axis(_ size: Int, _ k: Int, _ s: Int, _ d: Int) throws -> (output: Int, padBefore: Int) {
            let span = d * (k - 1) + 1
            switch padding {
            case .valid:
                guard span <= size else {
                    throw AEError.invalidSpec("kernel spans \(span) (with dilation) but the input is only \(size) wide; use padding 'same' or a smaller kernel")
                }
                return ((size - span) / s + 1, 0)
            case .same:
                let output = (size + s - 1) / s
                return (output, Swift.max(0, (output - 1) * s + span - size) / 2)
            }
        }
        (outputHeight, padTop) = try axis(input.height, kernel.0, stride.0, dilation.0)
        (outputWidth, padLeft) = try axis(input.width, kernel.1, stride.1, dilation.1)
    }

    var inputSize: Int { inputHeight * inputWidth * channels }
    /// Padding after the input: what the last window needs beyond it (0 when it fits).
    var padBottom: Int { Swift.max(0, (outputHeight - 1) * strideHeight + dilationHeight * (kernelHeight - 1) + 1 - inputHeight - padTop) }
    var padRight: Int { Swift.max(0, (outputWidth - 1) * strideWidth + dilationWidth * (kernelWidth - 1) + 1 - inputWidth - padLeft) }
    var outputPositions: Int { outputHeight * outputWidth }
    /// Values in one patch: kernel area times channels (a row of the im2col matrix).
    var patchSize: Int { kernelHeight * kernelWidth * channels }

    /// col[b, oh, ow, kh, kw, c] = x[b, oh·sh − padTop + kh·dh, ow·sw − padLeft + kw·dw, c], 0 outside.
    func im2col(_ x: UnsafePointer<Float>, batch: Int, into col: UnsafeMutablePointer<Float>) {
        Parallel.forRanges(batch, grain: Swift.max(1, Parallel.grain / Swift.max(1, outputPositions * patchSize))) { samples in
            for b in samples { forEachPatch(sample: b) { row, source in
                // Plain loops: most rows are a few channels long, too short for a memcpy call.
                let target = col + row
                if let source { for c in 0..<channels { target[c] = x[source + c] } }
                else { for c in 0..<channels { target[c] = 0 } }
            } }
        }
    }

    /// The adjoint of im2col: x = 0, then every patch value is added back where it came from.
    func col2im(_ col: UnsafePointer<Float>, batch: Int, into x: UnsafeMutablePointer<Float>) {
        x.update(repeating: 0, count: batch * inputSize)
        Parallel.forRanges(batch, grain: Swift.max(1, Parallel.grain / Swift.max(1, outputPositions * patchSize))) { samples in
            for b in samples { forEachPatch(sample: b) { row, source in
                guard let source else { return }
                let target = x + source, values = col + row
                for c in 0..<channels { target[c] += values[c] }
            } }
        }
    }

    /// Visits every (patch row offset in col, input offset or nil when padded) of one sample,
    /// one channel vector at a time.
    @inline(__always)
    private func forEachPatch(sample b: Int, _ body: (Int, Int?) -> Void) {
        var row = b * outputPositions * patchSize
        for oh in 0..<outputHeight {
            for ow in 0..<outputWidth {
                for kh in 0..<kernelHeight {
                    let ih = oh * strideHeight - padTop + kh * dilationHeight
                    for kw in 0..<kernelWidth {
                        let iw = ow * strideWidth - padLeft + kw * dilationWidth
                        let inside = ih >= 0 && ih < inputHeight && iw >= 0 && iw < inputWidth
                        body(row, inside ? ((b * inputHeight + ih) * inputWidth + iw) * channels : nil)
                        row += channels
                    }
                }
            }
        }
    }

    // MARK: ONNX

    /// kernel_shape, strides, pads [top, left, bottom, right] (and dilations) of Conv, ConvTranspose and the pools.
    func onnxAttributes(dilations: Bool) -> [(String, ONNXGraph.Attribute)] {
        var attributes: [(String, ONNXGraph.Attribute)] = [
            ("kernel_shape", .ints([kernelHeight, kernelWidth])), ("strides", .ints([strideHeight, strideWidth])),
            ("pads", .ints([padTop, padLeft, padBottom, padRight])),
        ]
        if dilations { attributes.append(("dilations", .ints([dilationHeight, dilationWidth]))) }
        return attributes
    }

    /// ConvTranspose's output_padding: the input rows/columns past the convolution's last window
    /// (ONNX's output size is stride·(in − 1) + span − pads + output_padding).
    var transposeOutputPadding: [Int] {
        [inputHeight - ((outputHeight - 1) * strideHeight + dilationHeight * (kernelHeight - 1) + 1 - padTop - padBottom),
         inputWidth - ((outputWidth - 1) * strideWidth + dilationWidth * (kernelWidth - 1) + 1 - padLeft - padRight)]
    }

    /// Kernels stored [count, kh, kw, channels] (this file's patch order) as ONNX's [count, channels, kh, kw].
    func channelsFirstKernels(_ weight: UnsafePointer<Float>, count: Int) -> [Float] {
        let area = kernelHeight * kernelWidth
        var result = [Float](repeating: 0, count: count * area * channels)
        for k in 0..<count {
            for p in 0..<area {
                for c in 0..<channels { result[(k * channels + c) * area + p] = weight[(k * area + p) * channels + c] }
            }
        }
        return result
    }
}
