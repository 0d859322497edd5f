import AEFKernels

/// Direct convolution, for layers where im2col feeds the GEMM badly: a thin input (1 channel:
/// a GEMM with k = kernel area) or few filters (1 filter: im2col writes kernel area × channels
/// floats per output value only for a matrix-vector product to read them back). Each output
/// position reads its patch straight from the input instead.
///
/// Weights W are [filters, kernel position, channels] (Conv2D's layout); the forward pass also
/// uses them as [kernel position, channels, filters] (`transposed`). Each output position is a
/// sum over its taps of small matrix-vector products; the inside taps of a kernel row form one
/// span of kernel width × channels adjacent values in both input and weights. The loops (the
/// vector kernels' conv_* in Sources/AEFKernels) run along filters or along the span, whichever
/// vectorises, and keep sums in registers; this file keeps the threading and the summing order.
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

    /// The shape as the vector kernels take it.
    var kernelShape: aefk_conv_shape {
        aefk_conv_shape(input_height: inputHeight, input_width: inputWidth, channels: channels,
                       kernel_height: kernelHeight, kernel_width: kernelWidth,
                       stride_height: strideHeight, stride_width: strideWidth,
                       dilation_height: dilationHeight, dilation_width: dilationWidth,
                       pad_top: padTop, pad_left: padLeft, output_height: outputHeight, output_width: outputWidth)
    }

    /// Multiply-adds below which a direct convolution runs on its caller alone.
    static let splitWork = 1 << 16

    /// y[b, o, :] = f(bias + Σ_k W_k · x[b, in(o, k), :]), split over the batch's output rows (a
    /// position's sums do not depend on the split, so one sample's rows spread over the threads
    /// too); f runs on each part's rows right after the convolution, while they are in cache
    /// (FusedConvolution; training passes the identity and keeps its Activation layer).
    func directForward(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, transposed: UnsafePointer<Float>,
                       bias: UnsafePointer<Float>, filters: Int, batch: Int, into y: UnsafeMutablePointer<Float>,
                       activation: ActivationFunction = .identity, kernels: aefk_table = Kernels.active) {
        var shape = kernelShape
        let rowSize = outputWidth * filters, rowWork = rowSize * patchSize
        Parallel.forRanges(batch * outputHeight, grain: Swift.max(1, ConvGeometry.splitWork / Swift.max(1, rowWork))) { rows in
            kernels.conv_forward(&shape, x, weight, transposed, bias, filters, rows.lowerBound, rows.count, y)
            guard activation != .identity else { return }
            let part = y + rows.lowerBound * rowSize
            kernels.activation_forward(activation.kernelCode, rows.count * rowSize, part, part)
        }
    }

    /// dx[b, in(o, k), :] = Σ W_kᵀ · dy[b, o, :]
    func directInputGradient(_ dy: UnsafePointer<Float>, weight: UnsafePointer<Float>, filters: Int, batch: Int,
                             into dx: UnsafeMutablePointer<Float>, kernels: aefk_table = Kernels.active) {
        var shape = kernelShape
        Parallel.forRanges(batch, grain: 1) { samples in
            kernels.conv_input_gradient(&shape, dy, weight, filters, samples.lowerBound, samples.count, dx)
        }
    }

    /// dW += Σ_{b, o, k} dy[b, o, :] ⊗ x[b, in(o, k), :], accumulated per group of samples in
    /// `partials` (in whichever layout puts the longer axis innermost), then added in order.
    func directWeightGradient(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, filters: Int, batch: Int,
                              partials: UnsafeMutablePointer<Float>, into weightGradient: UnsafeMutablePointer<Float>,
                              kernels: aefk_table = Kernels.active) {
        let c = channels, area = kernelArea, size = filters * area * c
        let group = ConvGeometry.directGroup, groups = (batch + group - 1) / group
        let natural = c >= filters
        var shape = kernelShape
        Parallel.forRanges(groups, grain: 1) { range in
            for g in range {
                let sum = partials + g * size
                sum.update(repeating: 0, count: size)
                kernels.conv_weight_gradient(&shape, x, dy, filters, g * group, Swift.min(batch, (g + 1) * group) - g * group,
                                             natural ? 1 : 0, sum)
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
}
