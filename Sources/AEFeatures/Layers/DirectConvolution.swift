/// Direct convolution, for layers where im2col feeds the GEMM badly: a thin input (1 channel:
/// a GEMM with k = kernel area) or few filters (1 filter: im2col writes kernel area × channels
/// floats per output value only for a matrix-vector product to read them back). Each output
/// position reads its patch straight from the input instead.
///
/// Weights W are [filters, kernel position, channels] (Conv2D's layout); the forward pass also
/// uses them as [kernel position, channels, filters] (`transposed`). Each output position is a
/// sum over its taps of small matrix-vector products; the inside taps of a kernel row form one
/// span of kernel width × channels adjacent values in both input and weights. The loops run
/// along filters or along the span, whichever vectorises, and keep sums in registers.
extension ConvGeometry {
    var kernelArea: Int { kernelHeight * kernelWidth }

    /// Samples per partial weight gradient: the partials are summed in a fixed order, so the
    /// gradient does not depend on the thread count.
    static let directGroup = 16

    /// Floats of scratch the direct kernels need for a batch: the transposed weights (forward)
    /// or the partial weight gradients (backward), the latter after the former's place.
    func directScratchCount(filters: Int, batch: Int) -> Int {
        (1 + (batch + ConvGeometry.directGroup - 1) / ConvGeometry.directGroup) * filters * kernelArea * channels
    }

    /// transposed[k, c, f] = weight[f, k, c]
    func transposeKernels(_ weight: UnsafePointer<Float>, filters: Int, into transposed: UnsafeMutablePointer<Float>) {
        let area = kernelArea, c = channels
        for f in 0..<filters { for k in 0..<area { for j in 0..<c { transposed[(k * c + j) * filters + f] = weight[(f * area + k) * c + j] } } }
    }

    /// y[b, o, :] = bias + Σ_k W_k · x[b, in(o, k), :]
    func directForward(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, transposed: UnsafePointer<Float>,
                       bias: UnsafePointer<Float>, filters: Int, batch: Int, into y: UnsafeMutablePointer<Float>) {
        let c = channels, rowStride = kernelArea * c
        Parallel.forRanges(batch, grain: 1) { samples in
            for b in samples { forEachPosition(sample: b) { position, oh, ow in
                let out = y + position * filters
                out.update(from: bias, count: filters)
                forEachSpan(sample: b, oh: oh, ow: ow) { k, span, input in
                    let patch = x + input
                    if filters >= 8 {
                        Vector.addCombination(filters, rows: span, patch, transposed + k * c * filters, stride: filters, out)
                    } else {
                        for f in 0..<filters { out[f] += Vector.dot(span, weight + f * rowStride + k * c, patch) }
                    }
                }
            } }
        }
    }

    /// dx[b, in(o, k), :] = Σ W_kᵀ · dy[b, o, :]
    func directInputGradient(_ dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                             filters: Int, batch: Int, into dx: UnsafeMutablePointer<Float>) {
        let c = channels, rowStride = kernelArea * c
        Parallel.forRanges(batch, grain: 1) { samples in
            (dx + samples.lowerBound * inputSize).update(repeating: 0, count: samples.count * inputSize)
            for b in samples { forEachPosition(sample: b) { position, oh, ow in
                let gradient = dy + position * filters
                forEachSpan(sample: b, oh: oh, ow: ow) { k, span, input in
                    Vector.addCombination(span, rows: filters, gradient, weight + k * c, stride: rowStride, dx + input)
                }
            } }
        }
    }

    /// dW += Σ_{b, o, k} dy[b, o, :] ⊗ x[b, in(o, k), :], accumulated per group of samples in
    /// `partials` (in whichever layout puts the longer axis innermost), then added in order.
    func directWeightGradient(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, filters: Int, batch: Int,
                              partials: UnsafeMutablePointer<Float>, into weightGradient: UnsafeMutablePointer<Float>) {
        let c = channels, area = kernelArea, rowStride = area * c, size = filters * rowStride
        let group = ConvGeometry.directGroup, groups = (batch + group - 1) / group
        let natural = c >= filters
        Parallel.forRanges(groups, grain: 1) { range in
            for g in range {
                let sum = partials + g * size
                sum.update(repeating: 0, count: size)
                for b in (g * group)..<Swift.min(batch, (g + 1) * group) { forEachPosition(sample: b) { position, oh, ow in
                    let gradient = dy + position * filters
                    forEachSpan(sample: b, oh: oh, ow: ow) { k, span, input in
                        let patch = x + input
                        if natural {
                            for f in 0..<filters { Vector.axpy(span, gradient[f], patch, sum + f * rowStride + k * c) }
                        } else {
                            for j in 0..<span { Vector.axpy(filters, patch[j], gradient, sum + (k * c + j) * filters) }
                        }
                    }
                } }
            }
        }
        for g in 0..<groups {
            let sum = partials + g * size
            if natural {
                for i in 0..<size { weightGradient[i] += sum[i] }
            } else {
                for f in 0..<filters { for k in 0..<area { for j in 0..<c {
                    weightGradient[(f * area + k) * c + j] += sum[(k * c + j) * filters + f]
                } } }
            }
        }
    }

    /// body(output position, oh, ow) for every output position of sample b, in order.
    @inline(__always)
    private func forEachPosition(sample b: Int, _ body: (Int, Int, Int) -> Void) {
        var position = b * outputPositions
        for oh in 0..<outputHeight {
            for ow in 0..<outputWidth { body(position, oh, ow); position += 1 }
        }
    }

    /// The taps of output (oh, ow) that fall inside the input, as spans: body(first kernel
    /// position, span length in values, input offset). Without width dilation the inside taps of
    /// a kernel row are adjacent in both the input and the weights (kernel width × channels
    /// values), so they make one span; padded taps are skipped.
    @inline(__always)
    private func forEachSpan(sample b: Int, oh: Int, ow: Int, _ body: (Int, Int, Int) -> Void) {
        let left = ow * strideWidth - padLeft
        for kh in 0..<kernelHeight {
            let ih = oh * strideHeight - padTop + kh * dilationHeight
            guard ih >= 0 && ih < inputHeight else { continue }
            let row = (b * inputHeight + ih) * inputWidth
            if dilationWidth == 1 {
                let first = Swift.max(0, -left), end = Swift.min(kernelWidth, inputWidth - left)
                if first < end { body(kh * kernelWidth + first, (end - first) * channels, (row + left + first) * channels) }
            } else {
                for kw in 0..<kernelWidth {
                    let iw = left + kw * dilationWidth
                    if iw >= 0 && iw < inputWidth { body(kh * kernelWidth + kw, channels, (row + iw) * channels) }
                }
            }
        }
    }
}
