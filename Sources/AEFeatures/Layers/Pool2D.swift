import AEFKernels

/// Max or average pooling over channels-last [H, W, C] samples (1-D is height 1), with separate
/// window and stride. "valid" windows must tile the input exactly (checked at spec time), "same"
/// pads so that output = ceil(input / stride); padded positions never win a max and are not
/// counted in an average (as Keras).
public enum PoolingKind: String, Codable, CaseIterable, Sendable { case max, average }

final class Pool2D: Layer {
    typealias Kind = PoolingKind

    let kind: Kind
    /// Window geometry: the kernel is the window, channels pass through one by one.
    let geometry: ConvGeometry
    /// Set by the MaxUnpool2D that reads this pool's winners: ONNX export then also emits them.
    var isUnpooled = false
    /// The vector kernels of max pooling (tests pass each instruction set's).
    let kernels: aefk_table

    init(kind: Kind, geometry: ConvGeometry, kernels: aefk_table = Kernels.active) {
        self.kind = kind
        self.geometry = geometry
        self.kernels = kernels
    }

    var inputSize: Int { geometry.inputSize }
    var outputSize: Int { geometry.outputPositions * geometry.channels }
    /// Max: the offset of each output's winner within its sample, kept for backward as a UInt32
    /// in the Float scratch (a Float's value would round offsets past 2^24).
    func scratchCount(batch: Int) -> Int { kind == .max ? batch * outputSize : 0 }

    /// Calls body(output offset, input offsets of the window's in-bounds pixels) per output pixel.
    @inline(__always)
    private func forEachWindow(samples: Range<Int>, _ body: (Int, UnsafeBufferPointer<Int>) -> Void) {
        let g = geometry
        // On the stack: no allocation per call.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: g.kernelHeight * g.kernelWidth) { window in
            for b in samples {
                for oh in 0..<g.outputHeight {
                    for ow in 0..<g.outputWidth {
                        var count = 0
                        for kh in 0..<g.kernelHeight {
                            let ih = oh * g.strideHeight - g.padTop + kh
                            guard ih >= 0 && ih < g.inputHeight else { continue }
                            for kw in 0..<g.kernelWidth {
                                let iw = ow * g.strideWidth - g.padLeft + kw
                                guard iw >= 0 && iw < g.inputWidth else { continue }
                                window[count] = ((b * g.inputHeight + ih) * g.inputWidth + iw) * g.channels
                                count += 1
                            }
                        }
                        body(((b * g.outputHeight + oh) * g.outputWidth + ow) * g.channels,
                             UnsafeBufferPointer(rebasing: window[0..<count]))
                    }
                }
            }
        }
    }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
                 scratch: UnsafeMutablePointer<Float>, phase: Phase, rng: inout RandomSource) {
        let channels = geometry.channels
        if kind == .max {
            // The vector kernel: running max (and winner per channel, for backward or an unpooling
            // layer) updated by selects, split over the batch's output rows.
            var shape = geometry.kernelShape
            let winners = phase == .inference && !isUnpooled ? nil : UnsafeMutableRawPointer(scratch).assumingMemoryBound(to: UInt32.self)
            let rowWork = Swift.max(1, geometry.outputWidth * geometry.kernelHeight * geometry.kernelWidth * channels)
            return Parallel.forRanges(batch * geometry.outputHeight, grain: Swift.max(1, Parallel.grain / rowWork)) { rows in
                kernels.max_pool_forward(&shape, x, rows.lowerBound, rows.count, y, winners)
            }
        }
        let work = Swift.max(1, outputSize * geometry.kernelHeight * geometry.kernelWidth)
        // Samples are independent: split the batch across threads.
        Parallel.forRanges(batch, grain: Swift.max(1, Parallel.grain / work)) { samples in
            forEachWindow(samples: samples) { out, window in
                let first = window[0]
                for c in 0..<channels { y[out + c] = x[first + c] }
                for offset in window.dropFirst() { for c in 0..<channels { y[out + c] += x[offset + c] } }
                let scale = 1 / Float(window.count)
                for c in 0..<channels { y[out + c] *= scale }
            }
        }
    }

    func backward(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, batch: Int, scratch: UnsafeMutablePointer<Float>) {
        guard let dx else { return }
        let channels = geometry.channels
        // Each sample's gradient is its own: split the batch like forward.
        Parallel.forRanges(batch, grain: Swift.max(1, Parallel.grain / Swift.max(1, inputSize + outputSize))) { samples in
            (dx + samples.lowerBound * inputSize).update(repeating: 0, count: samples.count * inputSize)
            switch kind {
            case .max:
                let allWinners = UnsafeMutableRawPointer(scratch).assumingMemoryBound(to: UInt32.self)
                for b in samples {
                    let winners = allWinners + b * outputSize, gradient = dy + b * outputSize, sample = dx + b * inputSize
                    for i in 0..<outputSize { sample[Int(winners[i])] += gradient[i] }
                }
            case .average:
                forEachWindow(samples: samples) { out, window in
                    let scale = 1 / Float(window.count)
                    for offset in window { for c in 0..<channels { dx[offset + c] += dy[out + c] * scale } }
                }
            }
        }
    }

    // ONNX: MaxPool or AveragePool (count_include_pad 0, its default) on [N, C, H, W]; an
    // unpooled MaxPool also outputs its Indices for the MaxUnpool.
    func exportONNX(_ graph: inout ONNXGraph, _ x: ONNXGraph.Value) -> ONNXGraph.Value {
        let g = geometry
        let input = graph.image(x, channels: g.channels, height: g.inputHeight, width: g.inputWidth)
        let y: String
        if isUnpooled {
            y = graph.fresh("maxpool")
            let indices = graph.fresh("switches")
            graph.node("MaxPool", [input], outputs: [y, indices], g.onnxAttributes(dilations: false))
            graph.poolIndices[ObjectIdentifier(self)] = indices
        } else {
            y = graph.node(kind == .max ? "MaxPool" : "AveragePool", [input], g.onnxAttributes(dilations: false))
        }
        return .init(name: y, layout: .image(channels: g.channels, height: g.outputHeight, width: g.outputWidth))
    }
}
